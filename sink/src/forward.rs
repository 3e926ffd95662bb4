//! The loop every sink shares: outbox rows after the sink's cursor → encoded body → sent →
//! cursor advanced, only when acknowledged.
//!
//! - [`Outcome::Written`]: the cursor moves past the body.
//! - [`Outcome::Rejected`]: the body goes to the quarantine file with the target's message, is
//!   counted as rejected, and the cursor moves on.
//! - [`Outcome::Unavailable`]: nothing moves; the same body is retried with exponential
//!   backoff and jitter. An operator-fixable error is logged at ERROR once per outage.
//! - Readings the sink cannot encode (not finite, a newline in a tag) are counted as rejected and
//!   the first few logged; the rest of the body goes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kilowatch_store::{SqliteStore, StoreError};
use tokio_util::sync::CancellationToken;

use crate::{Body, Outcome, Sink};

#[derive(Debug, Clone)]
pub struct Options {
    /// Most readings in one request (about a megabyte of line protocol).
    pub max_batch_points: usize,
    /// How often to look for new outbox rows when idle.
    pub flush_interval: Duration,
    pub gzip: bool,
    /// Rejected bodies are appended here with the target's message.
    pub quarantine: PathBuf,
    pub max_backoff: Duration,
    /// After shutdown is requested, keep flushing for at most this long.
    pub shutdown_deadline: Duration,
}

impl Options {
    pub fn new(quarantine: PathBuf) -> Options {
        Options {
            max_batch_points: 10_000,
            flush_interval: Duration::from_secs(1),
            gzip: true,
            quarantine,
            max_backoff: Duration::from_secs(60),
            shutdown_deadline: Duration::from_secs(5),
        }
    }
}

/// Counters for self-monitoring (`/metrics` and `collector` samples).
#[derive(Debug, Default)]
pub struct Stats {
    pub written_points: AtomicU64,
    pub rejected_points: AtomicU64,
    pub retries: AtomicU64,
    /// Last successful write's latency, in microseconds.
    pub last_write_us: AtomicU64,
    /// When the last write was acknowledged (for the collector's heartbeat).
    pub last_ok: std::sync::Mutex<Option<std::time::Instant>>,
    pub healthy: AtomicBool,
}

/// A sink fed from the store's outbox.
#[derive(Debug)]
pub struct Forwarder<S> {
    sink: S,
    store: Arc<SqliteStore>,
    opts: Options,
    pub stats: Arc<Stats>,
}

/// One request: the last outbox row it carries, its readings, and its body (`Bytes`, so a retry
/// sends the same buffer again). The plain text is kept for the quarantine file.
#[derive(Debug)]
struct Request {
    last: i64,
    points: u64,
    plain: String,
    body: std::io::Result<Body>,
}

impl<S: Sink> Forwarder<S> {
    pub fn new(sink: S, store: Arc<SqliteStore>, opts: Options) -> Forwarder<S> {
        Forwarder {
            sink,
            store,
            opts,
            stats: Arc::new(Stats::default()),
        }
    }

    /// The sink's name: its cursor in the outbox, and how logs name it.
    pub fn name(&self) -> String {
        self.sink.name()
    }

    /// Runs until `cancel` fires and the outbox is flushed (or the shutdown deadline passes).
    pub async fn run(self, cancel: CancellationToken) -> Result<(), StoreError> {
        let name = self.sink.name();
        let engine = self.sink.engine();
        let mut cursor = self.store.sink_cursor(&name)?;
        let mut attempt: u32 = 0;
        let mut stop_by: Option<Instant> = None;
        // Kept across retries: the same body is sent again, not read and compressed again.
        let mut pending: Option<Request> = None;
        loop {
            if cancel.is_cancelled() && stop_by.is_none() {
                stop_by = Some(Instant::now() + self.opts.shutdown_deadline);
            }
            if stop_by.is_some_and(|t| Instant::now() >= t) {
                tracing::warn!(target = %name, "shutdown deadline reached; the rest stays in the outbox");
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
            let started = Instant::now();
            let outcome = match &request.body {
                Ok(body) => self.sink.send(body).await,
                Err(e) => Outcome::Unavailable {
                    reason: format!("gzip: {e}"),
                    operator: false,
                },
            };
            match outcome {
                Outcome::Written => {
                    if attempt > 0 {
                        tracing::info!(target = %name, "{engine} reachable again");
                    }
                    attempt = 0;
                    cursor = request.last;
                    self.store.ack(&name, cursor)?;
                    self.stats
                        .written_points
                        .fetch_add(request.points, Ordering::Relaxed);
                    self.stats
                        .last_write_us
                        .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    *self.stats.last_ok.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(std::time::Instant::now());
                    self.stats.healthy.store(true, Ordering::Relaxed);
                }
                Outcome::Rejected(reason) => {
                    self.quarantine(&name, &reason, request.plain.as_bytes());
                    tracing::error!(target = %name, points = request.points, reason = %reason, file = %self.opts.quarantine.display(), "{engine} rejected a batch; moved to quarantine");
                    cursor = request.last;
                    self.store.ack(&name, cursor)?;
                    self.stats
                        .rejected_points
                        .fetch_add(request.points, Ordering::Relaxed);
                }
                Outcome::Unavailable { reason, operator } => {
                    if attempt == 0 {
                        if operator {
                            tracing::error!(target = %name, reason = %reason, "{engine} refuses writes until its configuration is fixed; data waits in the outbox");
                        } else {
                            tracing::warn!(target = %name, reason = %reason, "{engine} unavailable; data waits in the outbox");
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

    /// The rows after `cursor` and their body. This runs on the async thread: on tokio's
    /// blocking pool (a second thread allocating megabytes) the collector's RSS at 10,000
    /// devices grew by 3 MB, over its 64 MB budget (BENCHMARKS.md, soak).
    fn next_request(&self, cursor: i64) -> Result<Option<Request>, StoreError> {
        let rows = self
            .store
            .outbox_after(cursor, self.opts.max_batch_points)?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(None);
        };
        let points: i64 = rows.iter().map(|r| r.points).sum();
        let mut plain = String::with_capacity(points as usize * 100);
        let refused = self.sink.encode(&rows, &mut plain);
        drop(rows);
        if !refused.is_empty() {
            for e in refused.iter().take(3) {
                tracing::warn!(target = %self.sink.name(), error = %e, "a reading cannot be sent to {}", self.sink.engine());
            }
            self.stats
                .rejected_points
                .fetch_add(refused.len() as u64, Ordering::Relaxed);
        }
        let body = if self.opts.gzip {
            gzipped(plain.as_bytes()).map(|bytes| Body { bytes, gzip: true })
        } else {
            Ok(Body {
                bytes: Bytes::copy_from_slice(plain.as_bytes()),
                gzip: false,
            })
        };
        Ok(Some(Request {
            last,
            points: (points as u64).saturating_sub(refused.len() as u64),
            plain,
            body,
        }))
    }

    fn quarantine(&self, name: &str, reason: &str, body: &[u8]) {
        let header = format!(
            "# {} rejected by {name}: {}\n",
            now_ms(),
            reason.replace('\n', " ")
        );
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.opts.quarantine)
            .and_then(|mut f| {
                f.write_all(header.as_bytes())?;
                f.write_all(body)
            });
        if let Err(e) = written {
            tracing::error!(error = %e, file = %self.opts.quarantine.display(), "cannot write the quarantine file; the rejected batch is only in this log");
        }
    }
}

fn gzipped(plain: &[u8]) -> std::io::Result<Bytes> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(plain.len() / 4),
        flate2::Compression::fast(),
    );
    gz.write_all(plain)?;
    gz.finish().map(Bytes::from)
}

/// Exponential backoff from 250 ms, capped, with ±50 % jitter so many collectors do not retry
/// in step.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(250)
        .saturating_mul(1 << attempt.min(16))
        .min(max);
    base.mul_f64(0.5 + fastrand::f64())
}

fn now_ms() -> String {
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
