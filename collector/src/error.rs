//! What a driver reports when a poll fails. Device faults (a Modbus exception, an SNMP
//! error-status) stay apart from transport faults (timeout, connection) and from replies that
//! are not what the protocol allows ([`Malformed`]), as tokio-modbus's two-layer `Result` does:
//! a caller retries a transport fault, reports a device fault, and distrusts a malformed peer.
//! Each variant keeps the numbers a caller acts on; none carries a secret.

use std::time::Duration;

use crate::dotted;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection: {0}")]
    Transport(#[source] std::io::Error),
    /// The device refused every block of the plan; the first refusal is kept.
    #[error(
        "read {} registers {start}..{}: device exception: {exception}",
        table_name(exception.function),
        last_register(*start, *count)
    )]
    ModbusException {
        exception: ModbusException,
        start: u16,
        count: u16,
    },
    /// The agent answered with a non-zero error-status (v1 `noSuchName` is not an error: it
    /// reads as a missing value).
    #[error(
        "device error: agent error-status {status} ({}) at varbind {index}{}",
        error_status_name(*status),
        at_oid(oid.as_deref())
    )]
    SnmpErrorStatus {
        status: u32,
        /// 1-based, as the agent sent it; 0 when it named no varbind.
        index: u32,
        /// The OID of that varbind, when the reply has it.
        oid: Option<Vec<u32>>,
    },
    #[error("malformed response: {0}")]
    Protocol(#[source] Malformed),
    #[error("no credentials: an SNMP or IPMI device needs an auth")]
    NoAuth,
    #[error("the device's auth is for another protocol")]
    AuthProtocol,
    #[error(transparent)]
    Redfish(#[from] crate::redfish::RedfishError),
    /// SNMPv3 USM refused us: wrong user, key, protocol or security level.
    #[error("authentication failed ({0:?}): check the v3 user, keys and protocols")]
    Auth(snmp2::v3::AuthErrorKind),
    /// The BMC refused our IPMI credentials during RAKP.
    #[error("authentication failed: {0}")]
    IpmiAuth(IpmiAuthFailure),
    /// The BMC does not offer the configured cipher suite's algorithms.
    #[error(
        "cipher suite {suite} refused by the BMC ({status}); set cipher_suite to one it offers (17 or 3)"
    )]
    IpmiCipherSuite { suite: u8, status: RmcpStatus },
    /// Session setup refused for another reason (out of sessions, ...).
    #[error("session setup: {step}: {status}")]
    IpmiSession {
        step: &'static str,
        status: RmcpStatus,
    },
    /// The BMC answered a command with a non-zero completion code.
    #[error(
        "device error: {command}: completion code {code:#04x} ({})",
        completion_name(*code)
    )]
    IpmiCompletion { command: &'static str, code: u8 },
}

/// Why RAKP failed. Never carries the password or a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IpmiAuthFailure {
    /// The BMC's RAKP 2 proof does not match our password, or it refused our RAKP 3 proof.
    #[error("wrong password for the BMC user")]
    WrongPassword,
    /// RAKP 2 refused the user name.
    #[error("user refused by the BMC ({0})")]
    UserRefused(RmcpStatus),
    #[error("privilege level refused by the BMC ({0}); lower 'privilege' in the auth")]
    Privilege(RmcpStatus),
}

/// An RMCP+ status code (IPMI 2.0 table 13-15), shown with its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmcpStatus(pub u8);

impl std::fmt::Display for RmcpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            0x01 => "insufficient resources to create a session",
            0x02 => "invalid session ID",
            0x03 => "invalid payload type",
            0x04 => "invalid authentication algorithm",
            0x05 => "invalid integrity algorithm",
            0x06 => "no matching authentication payload",
            0x07 => "no matching integrity payload",
            0x08 => "inactive session ID",
            0x09 => "invalid role",
            0x0a => "unauthorized role or privilege level requested",
            0x0b => "insufficient resources to create a session at the requested role",
            0x0c => "invalid name length",
            0x0d => "unauthorized name",
            0x0e => "unauthorized GUID",
            0x0f => "invalid integrity check value",
            0x10 => "invalid confidentiality algorithm",
            0x11 => "no cipher suite match with proposed security algorithms",
            0x12 => "illegal or unrecognized parameter",
            _ => "unknown status",
        };
        write!(f, "RMCP+ status {:#04x}: {name}", self.0)
    }
}

/// The name of an IPMI completion code (IPMI 2.0 table 5-2).
pub(crate) fn completion_name(code: u8) -> &'static str {
    match code {
        0x00 => "ok",
        0xc0 => "node busy",
        0xc1 => "invalid command",
        0xc2 => "command invalid for given LUN",
        0xc3 => "timeout while processing command",
        0xc4 => "out of space",
        0xc5 => "reservation cancelled or invalid",
        0xc6 => "request data truncated",
        0xc7 => "request data length invalid",
        0xc8 => "request data field length limit exceeded",
        0xc9 => "parameter out of range",
        0xca => "cannot return number of requested data bytes",
        0xcb => "requested sensor, data or record not present",
        0xcc => "invalid data field in request",
        0xcd => "command illegal for specified sensor or record type",
        0xce => "command response could not be provided",
        0xcf => "cannot execute duplicated request",
        0xd0 => "SDR repository in update mode",
        0xd1 => "device in firmware update mode",
        0xd2 => "BMC initialization in progress",
        0xd3 => "destination unavailable",
        0xd4 => "insufficient privilege level",
        0xd5 => "not supported in present state",
        0xd6 => "sub-function disabled or unavailable",
        0xff => "unspecified error",
        _ => "device-specific code",
    }
}

impl From<Malformed> for DriverError {
    fn from(m: Malformed) -> DriverError {
        DriverError::Protocol(m)
    }
}

/// A Modbus exception response: the device understood the request and refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Modbus exception {code} ({}) to function {function}", exception_name(*code))]
pub struct ModbusException {
    /// The function code of the request (3 holding, 4 input registers).
    pub function: u8,
    /// The exception code the device sent.
    pub code: u8,
}

/// A reply the protocol does not allow, or a peer we could not talk to properly.
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    #[error("asked for {asked} values, got {got}")]
    ValueCount { asked: usize, got: usize },
    #[error("asked for {count} registers at {start}, got {got}")]
    RegisterCount { start: u16, count: u16, got: usize },
    /// A walk that would never end.
    #[error("agent returned non-increasing OID {}", dotted(oid))]
    NonIncreasingOid { oid: Vec<u32> },
    #[error("table {} has more than {max} rows", dotted(column))]
    TooManyRows { column: Vec<u32>, max: usize },
    #[error("expected a Response, got {got:?}")]
    NotAResponse { got: snmp2::MessageType },
    #[error("reply carries another community")]
    OtherCommunity,
    #[error("OID component too large")]
    OidTooLarge,
    /// An OID snmp2 cannot encode; `reason` is asn1-rs's, whose error type is not re-exported.
    #[error("bad OID {}: {reason}", dotted(oid))]
    BadOid { oid: Vec<u32>, reason: String },
    /// The SNMP message did not decode.
    #[error("{0:?}")]
    Snmp(#[source] snmp2::Error),
    /// The Modbus frame did not decode, or did not match the request.
    #[error(transparent)]
    Modbus(tokio_modbus::Error),
    #[error("cannot resolve '{target}'")]
    Unresolvable { target: String },
    #[error("profile protocol does not match the address")]
    ProtocolMismatch,
    #[error("receive task stopped")]
    ReceiveStopped,
    #[error("no connection")]
    NoConnection,
    #[error("no session")]
    NoSession,
    /// An IPMI packet that fails its checks (framing, integrity, padding, checksums).
    #[error(transparent)]
    Ipmi(crate::ipmi::PacketError),
}

/// The register table a read function reads.
fn table_name(function: u8) -> &'static str {
    match function {
        3 => "holding",
        4 => "input",
        _ => "other",
    }
}

fn last_register(start: u16, count: u16) -> u32 {
    (u32::from(start) + u32::from(count)).saturating_sub(1)
}

/// The name of a Modbus exception code (Modbus Application Protocol v1.1b3, §7).
fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal function",
        2 => "illegal data address",
        3 => "illegal data value",
        4 => "server device failure",
        5 => "acknowledge",
        6 => "server device busy",
        8 => "memory parity error",
        10 => "gateway path unavailable",
        11 => "gateway target device failed to respond",
        _ => "unknown exception",
    }
}

/// The name of an SNMP error-status (RFC 3416 §3).
fn error_status_name(s: u32) -> &'static str {
    match s {
        1 => "tooBig",
        2 => "noSuchName",
        3 => "badValue",
        4 => "readOnly",
        5 => "genErr",
        6 => "noAccess",
        _ => "other",
    }
}

fn at_oid(oid: Option<&[u32]>) -> String {
    oid.map(|o| format!(" ({})", dotted(o))).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modbus_exception_names_its_code_and_function() {
        let e = DriverError::ModbusException {
            exception: ModbusException {
                function: 3,
                code: 2,
            },
            start: 30001,
            count: 12,
        };
        assert_eq!(
            e.to_string(),
            "read holding registers 30001..30012: device exception: Modbus exception 2 (illegal data address) to function 3"
        );
    }

    #[test]
    fn an_snmp_error_status_keeps_its_code_and_oid() {
        let e = DriverError::SnmpErrorStatus {
            status: 5,
            index: 1,
            oid: Some(vec![1, 3, 6, 1, 2, 1, 1, 3, 0]),
        };
        assert_eq!(
            e.to_string(),
            "device error: agent error-status 5 (genErr) at varbind 1 (1.3.6.1.2.1.1.3.0)"
        );
    }
}
