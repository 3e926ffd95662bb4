//! InfluxDB: line protocol, the write sink fed from the outbox, one-shot writes of computed
//! figures, and the InfluxQL read side.

pub mod line_protocol;
pub mod query;
pub mod sink;
pub mod target;
pub mod writer;
