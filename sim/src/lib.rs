//! The simulated data centre: a physics model of one site behind real protocol servers on
//! loopback — SNMP v2c agents (UPS-MIB UPS, APC rPDU2 rack PDUs, HOST-RESOURCES + iDRAC servers,
//! an AKCP environment sensor), Modbus TCP servers (Eastron SDM630 meters, a CRAC unit) and,
//! when asked, the servers' BMCs over Redfish instead of SNMP.
//! The collector reads it with the same profiles it uses for real devices.

pub mod devices;
mod images;
pub mod latency;
pub mod modbus_server;
pub mod physics;
pub mod redfish_server;
mod register_image;
pub mod scale;
pub mod snmp_agent;
pub mod story;

pub use devices::{RunningSim, ServerProtocol, SimConfig, SimDevice, estate_inventory};
pub use latency::{Delay, Failure, Pace};
