//! The InfluxDB sink: the outbox's readings as line protocol (millisecond timestamps) to
//! `/write` or `/api/v2/write` (VictoriaMetrics: `{prefix}/write`, the same sender and answers),
//! and what the answers mean for the [`Forwarder`]:
//!
//! - 2xx: acknowledged.
//! - 400/413/422 (the data itself is refused, e.g. a field type conflict): rejected, to
//!   quarantine.
//! - 401/403/404 (credentials, database or bucket missing): unavailable until an operator fixes
//!   it; 429, 5xx and network errors: unavailable, retried.
//!
//! [`Forwarder`]: crate::Forwarder

use std::time::Duration;

use kilowatch_store::embedded::{OutboxRow, Payload};

use super::InfluxError;
use super::client::{AsyncClient, transport};
use super::line_protocol::{EncodeError, encode_reading};
use super::target::InfluxTarget;
use crate::{Body, Outcome, Sink};

#[derive(Debug)]
pub struct InfluxSink {
    client: AsyncClient,
}

impl InfluxSink {
    /// A sink whose requests time out after 10 s.
    pub fn new(target: InfluxTarget) -> Result<InfluxSink, InfluxError> {
        InfluxSink::with_timeout(target, Duration::from_secs(10))
    }

    pub fn with_timeout(
        target: InfluxTarget,
        timeout: Duration,
    ) -> Result<InfluxSink, InfluxError> {
        Ok(InfluxSink {
            client: AsyncClient::new(target, timeout)?,
        })
    }

    pub fn target(&self) -> &InfluxTarget {
        &self.client.target
    }
}

impl Sink for InfluxSink {
    type Refusal = EncodeError;

    fn name(&self) -> String {
        self.client.target.sink_name()
    }

    fn engine(&self) -> &'static str {
        self.client.target.engine()
    }

    fn encode(&self, rows: &[OutboxRow], out: &mut String) -> Vec<EncodeError> {
        let mut refused = Vec::new();
        for row in rows {
            match &row.payload {
                Payload::Readings(readings) => {
                    for r in readings {
                        if let Err(e) = encode_reading(out, r) {
                            refused.push(e);
                        }
                    }
                }
                // Queued as line protocol by an older kilowatch: sent as it is.
                Payload::Lines(lines) => out.push_str(lines),
            }
        }
        refused
    }

    async fn send(&self, body: &Body) -> Outcome {
        let answer = match self.client.write(body.bytes.clone(), body.gzip).await {
            Ok(a) => a,
            Err(e) => {
                return Outcome::Unavailable {
                    reason: transport(e),
                    operator: false,
                };
            }
        };
        if answer.ok() {
            return Outcome::Written;
        }
        let reason = answer.describe();
        match answer.status {
            400 | 413 | 422 => Outcome::Rejected(reason),
            401 | 403 | 404 => Outcome::Unavailable {
                reason,
                operator: true,
            },
            _ => Outcome::Unavailable {
                reason,
                operator: false,
            },
        }
    }
}
