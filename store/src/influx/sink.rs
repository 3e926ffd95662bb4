//! The InfluxDB sink: reads the durable outbox after its cursor, writes batches (gzip), and
//! advances the cursor only when InfluxDB acknowledged them.
//!
//! - 2xx: acknowledged; the cursor moves past the batch.
//! - 400/413/422 (the data itself is refused, e.g. a field type conflict): the batch goes to the
//!   quarantine file with the server's message, is counted as rejected, and the cursor moves on.
//! - 401/403/404 (credentials, database or bucket missing), 429, 5xx and network errors: nothing
//!   moves; the same batch is retried with exponential backoff and jitter. An operator-fixable
//!   error is logged at ERROR once per outage.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::target::InfluxTarget;
use crate::sqlite::OutboxRow;
use crate::{SqliteStore, StoreError};

#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Most line-protocol bytes in one request (before gzip).
    pub max_batch_bytes: usize,
    /// How often to look for new outbox rows when idle.
    pub flush_interval: Duration,
    pub gzip: bool,
    /// Rejected batches are appended here with the server's message.
    pub quarantine: PathBuf,
    pub request_timeout: Duration,
    pub max_backoff: Duration,
    /// After shutdown is requested, keep flushing for at most this long.
    pub shutdown_deadline: Duration,
}

impl SinkOptions {
    pub fn new(quarantine: PathBuf) -> SinkOptions {
        SinkOptions {
            max_batch_bytes: 1 << 20,
            flush_interval: Duration::from_secs(1),
            gzip: true,
            quarantine,
            request_timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            shutdown_deadline: Duration::from_secs(5),
        }
    }
}

/// Counters for self-monitoring (`/metrics` and `collector` samples).
#[derive(Debug, Default)]
pub struct SinkStats {
    pub written_points: AtomicU64,
    pub rejected_points: AtomicU64,
    pub retries: AtomicU64,
    /// Last successful write's latency, in microseconds.
    pub last_write_us: AtomicU64,
    pub healthy: AtomicBool,
}

#[derive(Debug)]
enum Outcome {
    Written,
    Rejected(String),
    Unavailable { reason: String, operator: bool },
}

#[derive(Debug)]
pub struct InfluxSink {
    target: InfluxTarget,
    store: Arc<SqliteStore>,
    client: reqwest::Client,
    opts: SinkOptions,
    pub stats: Arc<SinkStats>,
}

/// rustls needs a process-wide crypto provider; ring keeps the build free of a C toolchain step.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl InfluxSink {
    pub fn new(
        target: InfluxTarget,
        store: Arc<SqliteStore>,
        opts: SinkOptions,
    ) -> Result<InfluxSink, String> {
        install_tls_provider();
        let client = {
            let b = reqwest::Client::builder().timeout(opts.request_timeout);
            target
                .ca_certificates()?
                .into_iter()
                .fold(b, |b, ca| b.add_root_certificate(ca))
        }
        .build()
        .map_err(|e| format!("http client: {e}"))?;
        Ok(InfluxSink {
            target,
            store,
            client,
            opts,
            stats: Arc::new(SinkStats::default()),
        })
    }

    pub fn target(&self) -> &InfluxTarget {
        &self.target
    }

    /// Runs until `cancel` fires and the outbox is flushed (or the shutdown deadline passes).
    pub async fn run(self, cancel: CancellationToken) -> Result<(), StoreError> {
        let name = self.target.sink_name();
        let mut cursor = self.store.sink_cursor(&name)?;
        let mut attempt: u32 = 0;
        let mut stop_by: Option<Instant> = None;
        loop {
            if cancel.is_cancelled() && stop_by.is_none() {
                stop_by = Some(Instant::now() + self.opts.shutdown_deadline);
            }
            if stop_by.is_some_and(|t| Instant::now() >= t) {
                tracing::warn!(target = %self.target, "shutdown deadline reached; the rest stays in the outbox");
                return Ok(());
            }
            let rows = self.store.outbox_after(cursor, self.opts.max_batch_bytes)?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                if stop_by.is_some() {
                    return Ok(());
                }
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(self.opts.flush_interval) => {}
                }
                continue;
            };
            let points: i64 = rows.iter().map(|r| r.points).sum();
            let started = Instant::now();
            match self.send(&rows).await {
                Outcome::Written => {
                    if attempt > 0 {
                        tracing::info!(target = %self.target, "InfluxDB reachable again");
                    }
                    attempt = 0;
                    self.store.ack(&name, last)?;
                    cursor = last;
                    self.stats
                        .written_points
                        .fetch_add(points as u64, Ordering::Relaxed);
                    self.stats
                        .last_write_us
                        .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    self.stats.healthy.store(true, Ordering::Relaxed);
                }
                Outcome::Rejected(reason) => {
                    self.quarantine(&reason, &rows);
                    tracing::error!(target = %self.target, points, reason = %reason, file = %self.opts.quarantine.display(), "InfluxDB rejected a batch; moved to quarantine");
                    self.store.ack(&name, last)?;
                    cursor = last;
                    self.stats
                        .rejected_points
                        .fetch_add(points as u64, Ordering::Relaxed);
                }
                Outcome::Unavailable { reason, operator } => {
                    if attempt == 0 {
                        if operator {
                            tracing::error!(target = %self.target, reason = %reason, "InfluxDB refuses writes until its configuration is fixed; data waits in the outbox");
                        } else {
                            tracing::warn!(target = %self.target, reason = %reason, "InfluxDB unavailable; data waits in the outbox");
                        }
                    }
                    attempt = attempt.saturating_add(1);
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    self.stats.healthy.store(false, Ordering::Relaxed);
                    let wait = backoff(attempt, self.opts.max_backoff);
                    tokio::select! {
                        _ = cancel.cancelled(), if stop_by.is_none() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Writes `rows` in one request. Gzip streams them into the encoder: the rows are not first
    /// copied into one body (a megabyte a request).
    async fn send(&self, rows: &[OutboxRow]) -> Outcome {
        let mut req = self
            .client
            .post(self.target.write_url())
            .header("Content-Type", "text/plain; charset=utf-8");
        if let Some(auth) = self.target.authorization() {
            req = req.header("Authorization", auth);
        }
        req = if self.opts.gzip {
            let bytes: usize = rows.iter().map(|r| r.lines.len()).sum();
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(bytes / 4),
                flate2::Compression::fast(),
            );
            if rows
                .iter()
                .try_for_each(|r| gz.write_all(r.lines.as_bytes()))
                .is_err()
            {
                return Outcome::Unavailable {
                    reason: "gzip failed".into(),
                    operator: false,
                };
            }
            match gz.finish() {
                Ok(bytes) => req.header("Content-Encoding", "gzip").body(bytes),
                Err(e) => {
                    return Outcome::Unavailable {
                        reason: format!("gzip: {e}"),
                        operator: false,
                    };
                }
            }
        } else {
            req.body(rows.iter().map(|r| r.lines.as_str()).collect::<String>())
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Unavailable {
                    reason: without_url(e),
                    operator: false,
                };
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Outcome::Written;
        }
        let text = resp.text().await.unwrap_or_default();
        let reason = format!(
            "HTTP {}: {}",
            status.as_u16(),
            text.trim().chars().take(500).collect::<String>()
        );
        match status.as_u16() {
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

    fn quarantine(&self, reason: &str, rows: &[OutboxRow]) {
        let header = format!(
            "# {} rejected by {}: {}\n",
            now_rfc3339(),
            self.target,
            reason.replace('\n', " ")
        );
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.opts.quarantine)
            .and_then(|mut f| {
                f.write_all(header.as_bytes())?;
                rows.iter()
                    .try_for_each(|r| f.write_all(r.lines.as_bytes()))
            });
        if let Err(e) = written {
            tracing::error!(error = %e, file = %self.opts.quarantine.display(), "cannot write the quarantine file; the rejected batch is only in this log");
        }
    }
}

/// Exponential backoff from 250 ms, capped, with ±50 % jitter so many collectors do not retry
/// in step.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(250)
        .saturating_mul(1 << attempt.min(16))
        .min(max);
    base.mul_f64(0.5 + fastrand::f64())
}

/// reqwest errors print the URL, which carries no secret here, but keep messages short.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms} ms since epoch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(60);
        assert!(backoff(1, max) <= Duration::from_millis(750));
        assert!(backoff(30, max) <= Duration::from_secs(90));
        assert!(backoff(30, max) >= Duration::from_secs(30));
    }
}
