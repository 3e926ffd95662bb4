//! SNMP trap and inform receiver (issue 20): what devices tell us on their own, mapped to alerts.
//!
//! [`listen`] owns one UDP socket: each datagram is decoded ([`decode`]: v1, v2c and v3 traps,
//! v2c informs acknowledged), given a meaning by a [`TrapMap`] built from MIB-derived data files
//! (`config/traps/*.toml`, built into the binary) and offered to a bounded channel as a
//! [`kilowatch_core::event::TrapEvent`]. A trap no map knows is kept as
//! [`kilowatch_core::event::TrapEffect::Unknown`] with every varbind, never dropped; a full queue
//! is the only place an event is lost, and [`TrapStats`] counts it.

pub mod decode;
pub mod encode;
pub mod listener;
pub mod map;

pub use decode::{Credentials, Decoded, TrapError, V3User, Version, decode};
pub use listener::{TrapSettings, TrapStats, listen};
pub use map::{Meaning, TrapMap};

#[cfg(test)]
mod tests;
