//! What devices tell us on their own (SNMP traps and informs), after mapping to meaning, and the
//! severities alerts and events share.

use std::net::IpAddr;

use crate::model::Timestamp;

/// How urgent an alert or event is; routes on Alertmanager's `severity` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a known trap means for alerting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapEffect {
    /// A condition began: raise the alert named `alert` (e.g. `ups_on_battery`) on the sender.
    Raise { alert: String, severity: Severity },
    /// A condition ended: resolve the sender's alert named `alert`.
    Clear { alert: String },
    /// Worth keeping and showing, not an alert (a self-test passed, a cold start).
    Notice { severity: Severity },
    /// No map knows this trap: kept and shown as it came, never dropped.
    Unknown,
}

/// One trap or inform as received and mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct TrapEvent {
    /// When it arrived (the listener's clock, ms).
    pub at: Timestamp,
    /// Who sent it: the UDP source, or a v1 trap's agent-addr when that is set.
    pub source: IpAddr,
    /// `v1`, `v2c` or `v3`; `inform` when it was an acknowledged inform.
    pub version: &'static str,
    pub inform: bool,
    /// snmpTrapOID.0, dotted; a v1 trap converted per RFC 3584 §3.1.
    pub trap_oid: String,
    /// The notification's MIB name (`UPS-MIB::upsTrapOnBattery`) when a map knows it.
    pub name: Option<String>,
    pub effect: TrapEffect,
    /// One line for people: the map's text, or the OID and varbinds of an unknown trap.
    pub summary: String,
    /// Every varbind as dotted OID and printable value, in order.
    pub varbinds: Vec<(String, String)>,
}
