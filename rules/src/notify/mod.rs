//! Delivering alert changes to receivers: Prometheus Alertmanager (v2 API), a plain JSON
//! webhook, and SMTP mail.

use std::collections::BTreeMap;

use kilowatch_core::model::Timestamp;

/// Whether a notification says an alert began or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

/// One alert as receivers see it: Alertmanager's shape (labels identify it; annotations
/// describe it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    pub status: Status,
    /// `alertname`, `severity`, `rule`, and where: `site`, `room`, `rack`, `device`.
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `value`, ...
    pub annotations: BTreeMap<String, String>,
    /// When the condition began (ms).
    pub starts_at: Timestamp,
    /// When it ended (resolved); for a firing alert, until when it holds unless renewed.
    pub ends_at: Option<Timestamp>,
    /// A link to the evidence.
    pub generator_url: Option<String>,
}

pub mod alertmanager;
pub mod email;
mod http;
pub mod webhook;

use std::time::Duration;

pub use alertmanager::AlertmanagerTarget;
pub use email::{EmailTarget, Starttls};
pub use webhook::WebhookTarget;

impl Note {
    /// Alertmanager's fingerprint of the label set (`model.LabelSet.Fingerprint`: 64-bit FNV-1a
    /// over the labels sorted by name, each name and value followed by a 0xff byte), so an
    /// alert we send and the one Alertmanager lists or notifies carry the same identifier.
    pub fn fingerprint(&self) -> u64 {
        const OFFSET: u64 = 14_695_981_039_346_656_037;
        const PRIME: u64 = 1_099_511_628_211;
        const SEPARATOR: u8 = 0xff;
        let mut h = OFFSET;
        let mut add = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(PRIME);
            }
        };
        // A BTreeMap iterates in name order already.
        for (name, value) in &self.labels {
            add(name.as_bytes());
            add(&[SEPARATOR]);
            add(value.as_bytes());
            add(&[SEPARATOR]);
        }
        h
    }

    /// The fingerprint as Alertmanager prints it: 16 lowercase hex digits.
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint())
    }

    /// The `alertname` label, or "" when there is none.
    pub fn alertname(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
}

/// How long one delivery may take, connection included, unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where notifications go. The set is closed, so an enum does the dispatch (STYLE.md §3).
#[derive(Debug)]
pub enum Receiver {
    Alertmanager(alertmanager::Alertmanager),
    Webhook(webhook::Webhook),
    Email(email::Email),
}

impl Receiver {
    /// A Prometheus Alertmanager, through its v2 API.
    pub fn alertmanager(
        target: AlertmanagerTarget,
        timeout: Duration,
    ) -> Result<Receiver, TargetError> {
        alertmanager::Alertmanager::new(target, timeout).map(Receiver::Alertmanager)
    }

    /// Any HTTP endpoint that takes Alertmanager's webhook payload.
    pub fn webhook(target: WebhookTarget, timeout: Duration) -> Result<Receiver, TargetError> {
        webhook::Webhook::new(target, timeout).map(Receiver::Webhook)
    }

    /// Mail through an SMTP relay.
    pub fn email(target: EmailTarget, timeout: Duration) -> Result<Receiver, TargetError> {
        email::Email::new(target, timeout).map(Receiver::Email)
    }

    /// For logs and errors: the kind and where it goes, never a credential
    /// (`alertmanager http://127.0.0.1:9093`).
    pub fn name(&self) -> String {
        match self {
            Receiver::Alertmanager(r) => r.name(),
            Receiver::Webhook(r) => r.name(),
            Receiver::Email(r) => r.name(),
        }
    }

    /// Sends every note in one request (one POST, one mail). Nothing is sent for no notes.
    pub async fn deliver(&self, notes: &[Note]) -> Result<(), DeliveryError> {
        if notes.is_empty() {
            return Ok(());
        }
        match self {
            Receiver::Alertmanager(r) => r.deliver(notes).await,
            Receiver::Webhook(r) => r.deliver(notes).await,
            Receiver::Email(r) => r.deliver(notes).await,
        }
    }
}

/// A delivery that did not happen. Messages name the receiver and the operation, never a
/// credential.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver could not be reached or asked us to come back: connection refused or
    /// reset, timeout, TLS, HTTP 5xx, 408 or 429, SMTP 4xx. Retry the same notes later.
    #[error("{receiver}: {operation}: {reason}")]
    Unavailable {
        receiver: String,
        operation: &'static str,
        reason: String,
    },
    /// The receiver answered and refused the notes (HTTP 4xx, SMTP 5xx), or they could not
    /// be put into its format. Sending them again would be refused again.
    #[error("{receiver}: {operation}: rejected: {reason}")]
    Rejected {
        receiver: String,
        operation: &'static str,
        reason: String,
    },
}

impl DeliveryError {
    /// Whether the same notes may succeed later.
    pub fn retryable(&self) -> bool {
        matches!(self, DeliveryError::Unavailable { .. })
    }
}

/// Settings a receiver cannot be built from; `key` names the setting (`url`, `to`,
/// `password`) so config validation can point at its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TargetError {
    pub key: &'static str,
    pub message: String,
}

impl TargetError {
    fn new(key: &'static str, message: impl Into<String>) -> TargetError {
        TargetError {
            key,
            message: message.into(),
        }
    }
}

/// RFC 3339 in UTC with milliseconds (`2026-12-02T19:48:10.123Z`).
fn rfc3339(ms: Timestamp) -> String {
    kilowatch_core::timefmt::format_rfc3339(ms)
}

/// The wall-clock time now, in ms.
fn now_ms() -> Timestamp {
    kilowatch_core::clock::Clock::System.now_ms()
}

/// Text from a peer, for an error: trimmed, on one line, at most `max` characters.
fn excerpt(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A note as a rule would raise it: a device down at site hk1.
    pub fn firing(device: &str) -> Note {
        Note {
            status: Status::Firing,
            labels: BTreeMap::from([
                ("alertname".into(), "device_down".into()),
                ("severity".into(), "critical".into()),
                ("site".into(), "hk1".into()),
                ("device".into(), device.into()),
            ]),
            annotations: BTreeMap::from([
                ("summary".into(), format!("{device} does not answer")),
                ("value".into(), "0".into()),
            ]),
            // 2026-12-02T10:00:00.250Z
            starts_at: 1_796_205_600_250,
            ends_at: Some(1_796_209_200_000),
            generator_url: Some(format!("http://kilowatch.example/devices/{device}")),
        }
    }

    pub fn resolved(device: &str) -> Note {
        Note {
            status: Status::Resolved,
            // 2026-12-02T10:05:30.999Z
            ends_at: Some(1_796_205_930_999),
            ..firing(device)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn fingerprint_matches_alertmanager() {
        // Alertmanager 0.25 listed {alertname="device_down", device="pdu-a1", severity=
        // "critical", site="hk1"} with this fingerprint (GET /api/v2/alerts, by hand with curl).
        assert_eq!(firing("pdu-a1").fingerprint_hex(), "3a4218b7b291d4e6");
    }

    #[test]
    fn fingerprint_of_no_labels_is_the_fnv_offset() {
        let mut n = firing("x");
        n.labels.clear();
        assert_eq!(n.fingerprint(), 14_695_981_039_346_656_037);
    }

    #[test]
    fn excerpt_keeps_one_short_line() {
        assert_eq!(excerpt("  a\n b  ", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
