//! Kilowatch's collector: device profiles compiled into plans, SNMP and Modbus drivers that can
//! only read, pure decoding into samples, and a scheduler that keeps one device's trouble from
//! delaying the others. It never touches storage: batches leave on a channel.

pub mod decode;
pub mod detect;
mod error;
pub mod ipmi;
pub mod modbus;
pub mod plan;
pub mod redfish;
pub mod schedule;
pub mod share;
pub mod snmp;
pub mod snmp_mux;
pub mod traps;

use std::fmt;
use std::time::Duration;

use kilowatch_core::address::Address;
use kilowatch_core::config::Auth;
use kilowatch_core::secret::Secret;

use crate::decode::Readings;
use crate::plan::PlanKind;

pub use error::{DriverError, IpmiAuthFailure, Malformed, ModbusException, RmcpStatus};

/// The protocol set is closed and small, so an enum dispatches (STYLE.md §3).
#[derive(Debug)]
pub enum Driver {
    Snmp(snmp::SnmpDriver),
    Modbus(modbus::ModbusDriver),
    Redfish(redfish::RedfishDriver),
    Ipmi(Box<ipmi::IpmiDriver>),
    /// A device that cannot be read as configured; every poll reports why.
    Unusable(Unusable),
}

/// Why a device cannot be read as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// An SNMP or IPMI device without credentials (of its protocol).
    NoAuth,
    /// Credentials for another protocol (the config check refuses this; `probe` cannot).
    OtherProtocol,
}

impl Driver {
    pub fn new(address: &Address, auth: Option<&Auth>, timeout: Duration) -> Driver {
        match address {
            Address::Ipmi { .. } => {
                match auth.and_then(|a| ipmi::IpmiDriver::new(address.socket(), a, timeout)) {
                    Some(d) => Driver::Ipmi(Box::new(d)),
                    None => Driver::Unusable(Unusable::NoAuth),
                }
            }
            Address::Snmp { .. } => match auth {
                Some(auth) if auth.protocol() != "snmp" => {
                    Driver::Unusable(Unusable::OtherProtocol)
                }
                None => Driver::Unusable(Unusable::NoAuth),
                Some(auth) => Driver::Snmp(snmp::SnmpDriver::new(
                    address.socket(),
                    auth.clone(),
                    timeout,
                )),
            },
            Address::Modbus { unit, framing, .. } => Driver::Modbus(modbus::ModbusDriver::new(
                address.socket(),
                *unit,
                *framing,
                timeout,
            )),
            Address::Redfish { tls, .. } => match auth {
                None => Driver::Redfish(redfish::RedfishDriver::new(
                    address.socket(),
                    *tls,
                    None,
                    timeout,
                )),
                Some(Auth::Redfish(a)) => Driver::Redfish(redfish::RedfishDriver::new(
                    address.socket(),
                    *tls,
                    Some(a.clone()),
                    timeout,
                )),
                Some(_) => Driver::Unusable(Unusable::OtherProtocol),
            },
        }
    }

    /// An SNMP driver from an explicit community (for `probe snmp://community@host`).
    pub fn snmp_v2c(address: &Address, community: Secret, timeout: Duration) -> Driver {
        Driver::Snmp(snmp::SnmpDriver::new(
            address.socket(),
            Auth::SnmpV2c { community },
            timeout,
        ))
    }

    pub async fn read(&mut self, plan: &PlanKind) -> Result<Readings, DriverError> {
        match (self, plan) {
            (Driver::Snmp(d), PlanKind::Snmp(p)) => d.read(p).await,
            (Driver::Modbus(d), PlanKind::Modbus(p)) => d.read(p).await,
            (Driver::Redfish(d), PlanKind::Redfish(p)) => d
                .read(p)
                .await
                .map(|(values, problems)| Readings::Redfish { values, problems }),
            (Driver::Ipmi(d), PlanKind::Ipmi(p)) => d.read(p).await,
            (Driver::Unusable(Unusable::NoAuth), _) => Err(DriverError::NoAuth),
            (Driver::Unusable(Unusable::OtherProtocol), _) => Err(DriverError::AuthProtocol),
            _ => Err(Malformed::ProtocolMismatch.into()),
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Driver::Snmp(d) => write!(f, "{d:?}"),
            Driver::Modbus(d) => write!(f, "{d:?}"),
            Driver::Redfish(d) => write!(f, "{d}"),
            Driver::Ipmi(d) => write!(f, "{d:?}"),
            Driver::Unusable(_) => f.write_str("unusable"),
        }
    }
}

impl Driver {
    /// Ends what the driver keeps open on the device (an IPMI session); for `probe` and shutdown.
    pub async fn close(&mut self) {
        if let Driver::Ipmi(d) = self {
            d.close().await;
        }
    }
}

/// An OID as people write it: `1.3.6.1.2.1.1.2.0`.
pub fn dotted(oid: &[u32]) -> String {
    oid.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}
