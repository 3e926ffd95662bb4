//! Kilowatch's remote engines. A [`Sink`] encodes stored readings for one target and sends a
//! body; the [`Forwarder`] runs the one loop every sink shares: read the embedded store's
//! outbox after the sink's cursor, encode, send, and advance the cursor only when the far side
//! acknowledged (retrying with backoff, quarantining what the target refuses as data).
//!
//! - [`influx`]: InfluxDB 1.x/2.x (and VictoriaMetrics' InfluxDB endpoint): line protocol, the
//!   sink, one-shot writes of computed figures, and reading back with InfluxQL.
//! - [`victoria`]: VictoriaMetrics as the central engine (`vm://`, `vm+https://`): written
//!   through the same sink, read back through its Prometheus API.
//!
//! The store knows nothing of sinks: it hands them readings in its own encoding, by series.

pub mod forward;
pub mod influx;
pub mod victoria;

use std::future::Future;

use bytes::Bytes;
use kilowatch_store::embedded::OutboxRow;

pub use forward::{Forwarder, Options, Stats};

/// One request body, encoded for the target and perhaps gzipped.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Bytes,
    pub gzip: bool,
}

/// What the far side said to one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged: the cursor moves past the body.
    Written,
    /// The data itself is refused (a field type conflict, a bad point): the body goes to the
    /// quarantine file with the reason, and the cursor moves on.
    Rejected(String),
    /// Nothing moves; the same body is retried. `operator`: only a person can fix it
    /// (credentials, a missing database), so it is logged at ERROR.
    Unavailable { reason: String, operator: bool },
}

/// A remote engine the outbox feeds.
pub trait Sink: Send + Sync + 'static {
    /// Why a reading cannot be carried to this target.
    type Refusal: std::error::Error;

    /// Names the target in logs and the sink's cursor in the outbox; never holds a credential.
    fn name(&self) -> String;

    /// The engine, as people call it in messages ("InfluxDB").
    fn engine(&self) -> &'static str;

    /// Appends the rows' readings in the target's wire format (text: line protocol today, and
    /// the other engines' import formats are text too); returns those it cannot carry.
    fn encode(&self, rows: &[OutboxRow], out: &mut String) -> Vec<Self::Refusal>;

    /// Sends one body.
    fn send(&self, body: &Body) -> impl Future<Output = Outcome> + Send;
}

/// rustls needs a process-wide crypto provider; ring keeps the build free of a C toolchain step.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
