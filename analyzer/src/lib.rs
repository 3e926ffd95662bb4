//! Kilowatch's analyzer: energy per metering point and PUE, read through `ReadStore` only.

pub mod annual;
pub mod capacity;
pub mod clean;
pub mod consolidation;
pub mod energy;
pub mod fleet;
pub mod kpi;
pub mod pue;
pub mod report;
pub mod thermal;
