//! Wiring the collector to the store: batches flow one way, from the scheduler's channel into
//! embedded-store transactions.

use std::sync::Arc;
use std::time::Duration;

use kilowatch_collector::schedule::{self, DeviceTask, Schedule};
use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::model::{Batch, Timestamp};
use kilowatch_store::SqliteStore;
use kilowatch_store::influx::sink::{InfluxSink, SinkOptions};
use kilowatch_store::influx::target::InfluxTarget;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most polls committed in one transaction.
const MAX_BATCHES_PER_WRITE: usize = 512;

/// The running collector, store writer and (optionally) InfluxDB sink.
#[derive(Debug)]
pub struct Pipeline {
    writer: JoinHandle<()>,
    sink: Option<(JoinHandle<()>, CancellationToken)>,
    /// The device polling, replaced whole on a reload; its token is a child of the caller's.
    collector: (JoinHandle<()>, CancellationToken),
    cancel: CancellationToken,
    /// Kept for the next collector; dropped by `finish` so the writer sees the end.
    tx: mpsc::Sender<Batch>,
    clock: Clock,
}

fn spawn_collector(
    config: &Config,
    tasks: Vec<DeviceTask>,
    tx: mpsc::Sender<Batch>,
    clock: Clock,
    parent: &CancellationToken,
) -> (JoinHandle<()>, CancellationToken) {
    let token = parent.child_token();
    let schedule = Schedule {
        max_concurrent_polls: config.collector.max_concurrent_polls,
        clock,
    };
    let handle = tokio::spawn(schedule::run(tasks, schedule, tx, token.clone()));
    (handle, token)
}

/// Starts the collector and the store writer, and the InfluxDB sink fed from the outbox.
/// Stop it by cancelling `cancel`, then [`Pipeline::finish`].
pub fn start(
    config: &Config,
    store: Arc<SqliteStore>,
    clock: Clock,
    cancel: CancellationToken,
    sink: Option<InfluxSink>,
    metrics_listen: Option<std::net::TcpListener>,
) -> Pipeline {
    let (tx, rx) = mpsc::channel::<Batch>(4096);
    let tasks = DeviceTask::all(config);
    store.reserve_series(tasks.iter().map(DeviceTask::samples_per_poll).sum());
    let collector = spawn_collector(config, tasks, tx.clone(), clock, &cancel);
    let retention = Retention {
        raw: config.store.retention,
        rollups: config.store.rollup_retention,
    };
    let writer_store = store.clone();
    let writer = tokio::spawn(write_loop(rx, writer_store, retention, clock));
    // The sink stops only after the writer has committed the last batches, so its final
    // flush sees them.
    let every = config.collector.interval;
    let sink = sink.map(|sink| {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let watched = crate::metrics::Watched {
            collector: config.collector.name.clone(),
            store: store.clone(),
            sink_name: sink.target().sink_name(),
            stats: sink.stats.clone(),
            clock,
        };
        tokio::spawn(crate::metrics::record(watched.clone(), every, stop.clone()));
        if let Some(listener) = metrics_listen.and_then(|l| {
            l.set_nonblocking(true).ok()?;
            tokio::net::TcpListener::from_std(l).ok()
        }) {
            tokio::spawn(crate::metrics::serve(listener, watched, stop.clone()));
        }
        let handle = tokio::spawn(async move {
            let target = sink.target().to_string();
            if let Err(e) = sink.run(token).await {
                tracing::error!(target = %target, error = %e, "InfluxDB sink stopped");
            }
        });
        (handle, stop)
    });
    Pipeline {
        writer,
        sink,
        collector,
        cancel,
        tx,
        clock,
    }
}

impl Pipeline {
    /// Polls the devices of `config` from now on (SIGHUP). The current polls finish and are
    /// committed first; the store, its outbox and the InfluxDB sink carry on untouched.
    pub async fn reload(&mut self, config: &Config) {
        let (old, token) = &mut self.collector;
        token.cancel();
        let _ = old.await;
        let tasks = DeviceTask::all(config);
        self.collector = spawn_collector(config, tasks, self.tx.clone(), self.clock, &self.cancel);
    }

    /// Waits for the writer to commit everything collected, then lets the sink flush. Cancel
    /// the token given to [`start`] first.
    pub async fn finish(self) {
        let Pipeline {
            writer,
            sink,
            collector,
            tx,
            ..
        } = self;
        let _ = collector.0.await;
        drop(tx);
        let _ = writer.await;
        if let Some((handle, stop)) = sink {
            stop.cancel();
            let _ = handle.await;
        }
    }
}

/// The InfluxDB sink: `--influx URL` over the config's `[influx]`; secrets from the config, else
/// from KILOWATCH_INFLUX_TOKEN / KILOWATCH_INFLUX_PASSWORD. The outbox is enabled.
pub fn influx_sink(
    flag: Option<&str>,
    config: Option<&kilowatch_core::config::InfluxConfig>,
    store: &Arc<SqliteStore>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<InfluxSink>> {
    let Some(url) = flag.or(config.map(|c| c.url.as_str())) else {
        return Ok(None);
    };
    let env = crate::cmd::env_secret;
    let token = config
        .and_then(|c| c.token.clone())
        .or_else(|| env("KILOWATCH_INFLUX_TOKEN"));
    let password = config
        .and_then(|c| c.password.clone())
        .or_else(|| env("KILOWATCH_INFLUX_PASSWORD"));
    let target =
        InfluxTarget::parse(url, token, password).map_err(|e| anyhow::anyhow!("--influx: {e}"))?;
    if target.cleartext_over_network() {
        tracing::warn!(target = %target, "InfluxDB over plain http to another machine: its password or token and every reading cross the network in clear; use https:// (with ?ca= for a site CA)");
    }
    store.enable_outbox(config.map_or(1 << 30, |c| c.max_outbox_bytes));
    let opts = SinkOptions::new(data_dir.join("influx-quarantine.lp"));
    InfluxSink::new(target, store.clone(), opts)
        .map(Some)
        .map_err(|e| anyhow::anyhow!(e))
}

/// How long each tier of the embedded store keeps its data (`None`: for ever).
#[derive(Debug, Clone, Copy)]
struct Retention {
    raw: Option<Duration>,
    rollups: Option<Duration>,
}

/// When the store's upkeep is due, and where retention cuts. The wall clock can jump (a bad NTP
/// server, a VM restored from a snapshot): upkeep then still runs every real minute, and the
/// retention cuts advance no faster than real time, so a clock two days ahead does not delete
/// two days of readings.
struct Upkeep {
    clock: Clock,
    retention: Retention,
    last: (Timestamp, std::time::Instant),
    raw: Option<Timestamp>,
    rollups: Option<Timestamp>,
}

/// One upkeep's times: the clock now, and the retention cuts.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Due {
    now: Timestamp,
    raw: Option<Timestamp>,
    rollups: Option<Timestamp>,
}

impl Upkeep {
    fn new(clock: Clock, retention: Retention) -> Upkeep {
        let now = clock.now_ms();
        let cut = |r: Option<Duration>| r.map(|r| now - r.as_millis() as i64);
        Upkeep {
            clock,
            retention,
            last: (now, std::time::Instant::now()),
            raw: cut(retention.raw),
            rollups: cut(retention.rollups),
        }
    }

    fn due(&mut self) -> Option<Due> {
        self.due_at(self.clock.now_ms(), std::time::Instant::now())
    }

    fn due_at(&mut self, now: Timestamp, real: std::time::Instant) -> Option<Due> {
        let (last, last_real) = self.last;
        let elapsed = real.duration_since(last_real);
        if now - last < 60_000 && elapsed < Duration::from_secs(60) {
            return None;
        }
        self.last = (now, real);
        // Clock time that really passed, with a minute of slack.
        let passed = (elapsed.as_secs_f64() * 1000.0 * self.clock.speed()) as i64;
        if (now - last - passed).abs() > 60_000 {
            tracing::warn!(
                jump_s = (now - last - passed) / 1000,
                "the wall clock jumped; retention advances with real time only"
            );
        }
        let advance = |prev: &mut Option<Timestamp>, r: Option<Duration>| {
            let want = now - r?.as_millis() as i64;
            let cut = prev.map_or(want, |p| want.min(p + passed + 60_000));
            *prev = Some(cut);
            Some(cut)
        };
        Some(Due {
            now,
            raw: advance(&mut self.raw, self.retention.raw),
            rollups: advance(&mut self.rollups, self.retention.rollups),
        })
    }
}

/// Batches kept in memory while the store refuses writes (disk full, I/O errors): about 20
/// samples each, so this is tens of MB at most. Past it the oldest go, logged and counted.
const MAX_PENDING_BATCHES: usize = 50_000;

async fn write_loop(
    rx: mpsc::Receiver<Batch>,
    store: Arc<SqliteStore>,
    retention: Retention,
    clock: Clock,
) {
    let writer = store.clone();
    let mut upkeep = Upkeep::new(clock, retention);
    // Once a minute: closed blocks go into chunks (five minutes after they close, so late and
    // retried polls usually land first), then retention.
    let after_write = move || {
        let Some(due) = upkeep.due() else {
            return;
        };
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            let before = kilowatch_store::samples::block_of(due.now - 300_000);
            if let Err(e) = s.compact(before) {
                tracing::error!(error = %e, "compacting the store failed; readings stay in the head");
            }
            if let Some(cut) = due.raw
                && let Err(e) = s.delete_before(cut)
            {
                tracing::error!(error = %e, "retention of raw readings failed");
            }
            if let Some(cut) = due.rollups
                && let Err(e) = s.delete_rollups_before(cut)
            {
                tracing::error!(error = %e, "retention of roll-ups failed");
            }
        });
    };
    commit_loop(
        rx,
        move |batches: &[Batch]| {
            let stored = writer.write(batches).map_err(|e| e.to_string())?;
            let polled: usize = batches.iter().map(|b| b.samples.len()).sum();
            if stored < polled {
                tracing::warn!(
                    not_stored = polled - stored,
                    "readings stamped with times already stored were not written (did the wall clock go back?); the stored ones are kept"
                );
            }
            Ok(())
        },
        after_write,
        RetryPolicy::default(),
    )
    .await;
}

#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    first: Duration,
    max: Duration,
    /// How long to keep retrying once the collector has stopped.
    at_shutdown: Duration,
    max_pending: usize,
    /// How long to wait for more polls before committing a small transaction.
    linger: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            first: Duration::from_millis(500),
            // Retries are cheap (a refused transaction): keep them frequent enough that a
            // freed disk is noticed within seconds.
            max: Duration::from_secs(5),
            at_shutdown: Duration::from_secs(10),
            max_pending: MAX_PENDING_BATCHES,
            linger: Duration::from_millis(100),
        }
    }
}

/// Commits batches in arrival order. A failed write keeps its batches and retries them with
/// backoff while new ones queue behind, so a full disk loses nothing until it clears (or until
/// the in-memory cap, past which the oldest are dropped and logged).
async fn commit_loop<W, A>(
    mut rx: mpsc::Receiver<Batch>,
    write: W,
    mut after_write: A,
    policy: RetryPolicy,
) where
    W: Fn(&[Batch]) -> Result<(), String> + Send + Sync + 'static,
    A: FnMut(),
{
    use tokio::time::Instant;
    let write = Arc::new(write);
    let mut pending: Vec<Batch> = Vec::new();
    let mut delay = policy.first;
    let mut failing_since: Option<Instant> = None;
    // While the store refuses writes: when to try again (arrivals do not hurry it).
    let mut retry_at: Option<Instant> = None;
    let mut closed_at: Option<Instant> = None;
    let mut dropped = 0usize;
    loop {
        if closed_at.is_none() {
            let n = match retry_at {
                // recv_many is cancel safe: a timeout loses no batch.
                Some(t) => {
                    tokio::time::timeout_at(t, rx.recv_many(&mut pending, MAX_BATCHES_PER_WRITE))
                        .await
                        .unwrap_or(usize::MAX)
                }
                // A backlog is written now; otherwise wait for polls and gather them briefly, so
                // one transaction per ~100 ms keeps commit cost per sample low.
                None if !pending.is_empty() => {
                    while let Ok(b) = rx.try_recv() {
                        pending.push(b);
                    }
                    usize::MAX
                }
                None => {
                    let n = rx.recv_many(&mut pending, MAX_BATCHES_PER_WRITE).await;
                    if n > 0
                        && pending.len() < MAX_BATCHES_PER_WRITE / 2
                        && !policy.linger.is_zero()
                    {
                        tokio::time::sleep(policy.linger).await;
                        while pending.len() < MAX_BATCHES_PER_WRITE {
                            match rx.try_recv() {
                                Ok(b) => pending.push(b),
                                Err(_) => break,
                            }
                        }
                    }
                    n
                }
            };
            if n == 0 {
                closed_at = Some(Instant::now());
            }
        }
        if pending.is_empty() {
            if closed_at.is_some() {
                return;
            }
            continue;
        }
        if let Some(t) = retry_at
            && Instant::now() < t
        {
            if closed_at.is_none() {
                continue;
            }
            tokio::time::sleep_until(t).await;
        }
        if pending.len() > policy.max_pending {
            let n = pending.len() - policy.max_pending;
            pending.drain(..n);
            dropped += n;
            tracing::error!(
                dropped_batches = n,
                total_dropped = dropped,
                "the embedded store has refused writes for too long: dropped the oldest uncommitted polls"
            );
        }
        let chunk: Vec<Batch> = pending
            .drain(..pending.len().min(MAX_BATCHES_PER_WRITE))
            .collect();
        let w = write.clone();
        let (chunk, result) = match tokio::task::spawn_blocking(move || {
            let r = w(&chunk);
            (chunk, r)
        })
        .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "store writer task failed");
                continue;
            }
        };
        match result {
            Ok(()) => {
                // As loud as the fault was, so whoever saw it sees it end.
                if let Some(since) = failing_since.take() {
                    tracing::warn!(
                        after_s = since.elapsed().as_secs(),
                        "embedded store writes recovered; kept polls committed"
                    );
                }
                retry_at = None;
                delay = policy.first;
                after_write();
            }
            Err(e) => {
                let kept = pending.len() + chunk.len();
                if failing_since.is_none() {
                    failing_since = Some(Instant::now());
                    tracing::error!(error = %e, "could not write to the embedded store; keeping polls in memory and retrying");
                } else {
                    tracing::warn!(error = %e, pending_batches = kept, retry_in_ms = delay.as_millis() as u64, "embedded store still refuses writes");
                }
                pending.splice(0..0, chunk);
                retry_at = Some(Instant::now() + delay);
                delay = (delay * 2).min(policy.max);
                if closed_at.is_some_and(|t| t.elapsed() > policy.at_shutdown) {
                    tracing::error!(lost_batches = pending.len(), error = %e, "stopping with polls the embedded store would not take");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::model::{Field, Sample, Series};
    use std::sync::Mutex;

    /// A clock two days ahead moves the retention cut by the real time that passed, not by two
    /// days; a clock an hour back still gets its upkeep every real minute.
    #[test]
    fn retention_cuts_advance_with_real_time_when_the_clock_jumps() {
        let day = Duration::from_secs(86_400);
        let retention = Retention {
            raw: Some(day),
            rollups: Some(day * 10),
        };
        let mut up = Upkeep::new(Clock::System, retention);
        let (t0, r0) = up.last;
        let minute = Duration::from_secs(60);
        // A minute later, on time: the cuts follow the clock.
        let d = up.due_at(t0 + 60_000, r0 + minute).unwrap();
        assert_eq!(d.raw, Some(t0 + 60_000 - 86_400_000));
        // Not yet due ten seconds later.
        assert_eq!(
            up.due_at(t0 + 70_000, r0 + minute + Duration::from_secs(10)),
            None
        );
        // Two days ahead after one more real minute: the cut moves a minute plus a minute's
        // slack, not two days.
        let d = up.due_at(t0 + 2 * 86_400_000, r0 + 2 * minute).unwrap();
        assert_eq!(d.raw, Some(t0 + 60_000 - 86_400_000 + 60_000 + 60_000));
        assert_eq!(d.rollups, Some(t0 - 10 * 86_400_000 + 60_000 + 120_000));
        // An hour back: still due once a real minute has passed, and the cut goes back with it.
        let back = t0 - 3_600_000;
        let d = up.due_at(back, r0 + 3 * minute).unwrap();
        assert_eq!(d.now, back);
        assert_eq!(d.raw, Some(back - 86_400_000));
    }

    fn batch(i: usize) -> Batch {
        Batch {
            device: format!("d{i}").into(),
            at: i as i64,
            poll: kilowatch_core::model::PollStatus::Ok,
            poll_ms: 1.0,
            samples: vec![Sample {
                series: Arc::new(Series::new(
                    Field::PowerW.measurement(),
                    vec![("device", format!("d{i}"))],
                )),
                field: Field::PowerW,
                value: i as f64,
            }],
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            first: Duration::from_millis(5),
            max: Duration::from_millis(20),
            at_shutdown: Duration::from_millis(200),
            max_pending: 1_000,
            linger: Duration::from_millis(1),
        }
    }

    /// The store refuses the first five writes (a full disk): every batch is committed once, in
    /// order, after it recovers.
    #[tokio::test]
    async fn a_refusing_store_loses_nothing_and_keeps_order() {
        let (tx, rx) = mpsc::channel(16);
        let committed = Arc::new(Mutex::new(Vec::new()));
        let fails = Arc::new(Mutex::new(5));
        let (c, f) = (committed.clone(), fails.clone());
        let loop_ = tokio::spawn(commit_loop(
            rx,
            move |b: &[Batch]| {
                let mut left = f.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    return Err("database or disk is full".into());
                }
                c.lock().unwrap().extend(b.iter().map(|b| b.at));
                Ok(())
            },
            || {},
            policy(),
        ));
        for i in 0..300 {
            tx.send(batch(i)).await.unwrap();
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
        drop(tx);
        loop_.await.unwrap();
        assert_eq!(*fails.lock().unwrap(), 0);
        assert_eq!(*committed.lock().unwrap(), (0..300).collect::<Vec<i64>>());
    }

    /// A store that never recovers: the loop still ends after its shutdown grace, and with a
    /// cap of 100 it drops the oldest, never the newest.
    #[tokio::test]
    async fn a_dead_store_is_bounded_and_ends() {
        let (tx, rx) = mpsc::channel(512);
        let tried = Arc::new(Mutex::new(Vec::new()));
        let t = tried.clone();
        let loop_ = tokio::spawn(commit_loop(
            rx,
            move |b: &[Batch]| {
                t.lock()
                    .unwrap()
                    .push(b.iter().map(|b| b.at).min().unwrap_or(-1));
                Err("disk I/O error".into())
            },
            || {},
            RetryPolicy {
                max_pending: 100,
                ..policy()
            },
        ));
        for i in 0..400 {
            tx.send(batch(i)).await.unwrap();
        }
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), loop_)
            .await
            .unwrap()
            .unwrap();
        let last_first = *tried.lock().unwrap().last().unwrap();
        assert!(last_first >= 300, "oldest kept at the end: {last_first}");
    }
}
