//! InfluxDB: line protocol, the write sink fed from the outbox, and the InfluxQL read side.

pub mod line_protocol;
pub mod query;
pub mod sink;
pub mod target;
