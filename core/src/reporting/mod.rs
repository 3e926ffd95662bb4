//! Reference data for regulatory reporting: the EU data set's field list and the grid emission
//! factors, both kept as data files built into the binary.

pub mod dataset;
pub mod factors;

pub use dataset::{DataField, DataSet, FieldKind, Measure};
pub use factors::{ChosenFactor, EmissionFactor, FactorTable};
