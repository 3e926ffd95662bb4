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

use bytes::Bytes;
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
        // Kept across retries: the same batch is sent again, not read and compressed again.
        let mut pending: Option<Request> = None;
        loop {
            if cancel.is_cancelled() && stop_by.is_none() {
                stop_by = Some(Instant::now() + self.opts.shutdown_deadline);
            }
            if stop_by.is_some_and(|t| Instant::now() >= t) {
                tracing::warn!(target = %self.target, "shutdown deadline reached; the rest stays in the outbox");
                return Ok(());
            }
            let request = match pending.take() {
                Some(r) => r,
                None => match self.next_request(cursor)? {
                    Some(r) => r,
                    None => {
                        if stop_by.is_some() {
                            return Ok(());
                        }
                        tokio::select! {
                            _ = cancel.cancelled() => {}
                            _ = tokio::time::sleep(self.opts.flush_interval) => {}
                        }
                        continue;
                    }
                },
            };
            let points = request.points();
            let started = Instant::now();
            match self.send(&request).await {
                Outcome::Written => {
                    if attempt > 0 {
                        tracing::info!(target = %self.target, "InfluxDB reachable again");
                    }
                    attempt = 0;
                    cursor = request.last();
                    self.store.ack(&name, cursor)?;
                    self.stats
                        .written_points
                        .fetch_add(points as u64, Ordering::Relaxed);
                    self.stats
                        .last_write_us
                        .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    self.stats.healthy.store(true, Ordering::Relaxed);
                }
                Outcome::Rejected(reason) => {
                    self.quarantine(&reason, &request.rows);
                    tracing::error!(target = %self.target, points, reason = %reason, file = %self.opts.quarantine.display(), "InfluxDB rejected a batch; moved to quarantine");
                    cursor = request.last();
                    self.store.ack(&name, cursor)?;
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
                    pending = Some(request);
                    let wait = backoff(attempt, self.opts.max_backoff);
                    tokio::select! {
                        _ = cancel.cancelled(), if stop_by.is_none() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// The rows after `cursor` and their request body. This runs on the async thread: on
    /// tokio's blocking pool (a second thread allocating megabytes) the collector's RSS at
    /// 10,000 devices grew by 3 MB, over its 64 MB budget (BENCHMARKS.md, soak).
    fn next_request(&self, cursor: i64) -> Result<Option<Request>, StoreError> {
        let rows = self.store.outbox_after(cursor, self.opts.max_batch_bytes)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let gzip = self.opts.gzip;
        let body = if gzip {
            gzipped(&rows)
        } else {
            Ok(plain(&rows))
        };
        Ok(Some(Request { rows, body, gzip }))
    }

    async fn send(&self, request: &Request) -> Outcome {
        let body = match &request.body {
            Ok(body) => body.clone(),
            Err(e) => {
                return Outcome::Unavailable {
                    reason: format!("gzip: {e}"),
                    operator: false,
                };
            }
        };
        let mut req = self
            .client
            .post(self.target.write_url())
            .header("Content-Type", "text/plain; charset=utf-8");
        if let Some(auth) = self.target.authorization() {
            req = req.header("Authorization", auth);
        }
        if request.gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        let resp = match req.body(body).send().await {
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

/// One write request: outbox rows and the body made of them (`Bytes`, so a retry sends the
/// same buffer again).
#[derive(Debug)]
struct Request {
    rows: Vec<OutboxRow>,
    body: std::io::Result<Bytes>,
    gzip: bool,
}

impl Request {
    fn last(&self) -> i64 {
        self.rows.last().map_or(0, |r| r.seq)
    }

    fn points(&self) -> i64 {
        self.rows.iter().map(|r| r.points).sum()
    }
}

/// The rows streamed into gzip: they are not first copied into one body.
fn gzipped(rows: &[OutboxRow]) -> std::io::Result<Bytes> {
    let bytes: usize = rows.iter().map(|r| r.lines.len()).sum();
    let mut gz =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes / 4), flate2::Compression::fast());
    for r in rows {
        gz.write_all(r.lines.as_bytes())?;
    }
    gz.finish().map(Bytes::from)
}

fn plain(rows: &[OutboxRow]) -> Bytes {
    Bytes::from(rows.iter().map(|r| r.lines.as_str()).collect::<String>())
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
