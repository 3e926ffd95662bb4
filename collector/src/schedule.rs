//! The scheduler: each device on its own interval, a global bound on concurrent polls, starts
//! spread over the interval. A slow or dead device only delays itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use kilowatch_core::clock::{Clock, Replay};
use kilowatch_core::config::{Config, Device};
use kilowatch_core::model::{Batch, Field, PollStatus, Sample, Series, Timestamp};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::decode::{RowSeries, decode};
use crate::plan::Plan;
use crate::{Driver, DriverError};

/// One device, ready to poll.
#[derive(Debug)]
pub struct DeviceTask {
    pub plan: Plan,
    pub driver: Driver,
    pub interval: Duration,
    health: Arc<Series>,
}

impl DeviceTask {
    pub fn new(device: &Device, config: &Config) -> Option<DeviceTask> {
        let profile = config.profiles.get(&device.profile)?;
        let plan = Plan::compile(device, profile);
        let mut driver = Driver::new(
            &device.address,
            device.auth.as_ref(),
            config.device_timeout(device),
        );
        if let Driver::Snmp(d) = &mut driver {
            d.set_limits(config.collector.snmp);
        }
        let health = plan.health_series(device.address.protocol());
        Some(DeviceTask {
            plan,
            driver,
            interval: config.device_interval(device),
            health,
        })
    }

    /// The series-and-field pairs a poll of this device brings, walks' rows aside: its plan's,
    /// and its health (poll time, up, errors).
    pub fn samples_per_poll(&self) -> usize {
        self.plan.fixed_samples() + 3
    }

    /// Builds every device of the config (all were validated, so every profile exists).
    /// Devices of one profile share its compiled requests and rules.
    pub fn all(config: &Config) -> Vec<DeviceTask> {
        let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut tasks: Vec<DeviceTask> = Vec::with_capacity(config.devices.len());
        for d in &config.devices {
            let Some(mut task) = DeviceTask::new(d, config) else {
                continue;
            };
            match first.get(d.profile.as_str()) {
                Some(i) => {
                    task.plan.share(&tasks[*i].plan);
                    if let Some(h) = Arc::get_mut(&mut task.health) {
                        h.share_own(&tasks[*i].health);
                    }
                }
                None => {
                    first.insert(&d.profile, tasks.len());
                }
            }
            tasks.push(task);
        }
        tasks
    }
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub max_concurrent_polls: usize,
    pub clock: Clock,
    /// History to replay before polling live (`demo`); `clock` must be its replay clock.
    pub backfill: Option<Backfill>,
}

/// Simulated history: every device polled once at each step from `from` until the replay
/// clock's live clock (an accelerated one moves on meanwhile), with the replay clock set to the
/// step, as fast as the devices answer; then the clock is released and live polling starts.
/// `progress` reports each step swept, and [`Backfill::DONE`] at the end.
#[derive(Debug, Clone)]
pub struct Backfill {
    pub replay: &'static Replay,
    pub from: Timestamp,
    pub step: Duration,
    pub progress: tokio::sync::watch::Sender<Timestamp>,
}

impl Backfill {
    pub const DONE: Timestamp = Timestamp::MAX;
}

/// Start slots are this long: at most 100 per interval.
const SLOT: Duration = Duration::from_millis(100);

/// Polls every device until `cancel` fires, sending one batch per poll.
///
/// Devices are grouped by interval and start slot, a timer wheel of 100 ms slots: one task and
/// one timer per group, and a device is plain data between its polls. The devices of a slot share
/// a timer wake-up and their replies come back together (at 10,000 devices, slots took a fifth
/// off the collector's CPU against first polls spread uniformly); a task per device also kept a
/// 1.4 KB future for every idle device, 15 MB at 10,000.
pub async fn run(
    mut tasks: Vec<DeviceTask>,
    schedule: Schedule,
    tx: mpsc::Sender<Batch>,
    cancel: CancellationToken,
) {
    // Every v1/v2c device shares one socket; if it cannot be bound, each binds its own.
    let shared = tasks
        .iter()
        .any(|t| matches!(&t.driver, Driver::Snmp(d) if d.community_based()));
    if shared && let Ok(mux) = crate::snmp_mux::SnmpMux::bind(false).await {
        for t in &mut tasks {
            if let Driver::Snmp(d) = &mut t.driver {
                d.share(mux.clone());
            }
        }
    }
    let context = Arc::new(Context {
        clock: schedule.clock,
        permits: Semaphore::new(schedule.max_concurrent_polls.max(1)),
        tx,
    });
    let mut pollers: Vec<Poller> = tasks.into_iter().map(Poller::new).collect();
    if let Some(b) = schedule.backfill {
        tokio::select! {
            _ = cancel.cancelled() => {}
            swept = backfill(&mut pollers, &b, &context) => if !swept { return },
        }
        b.replay.release();
        let _ = b.progress.send(Backfill::DONE);
    }
    let mut groups: HashMap<(Duration, Duration), Vec<Poller>> = HashMap::new();
    for poller in pollers {
        let task = &poller.task;
        let slots = (task.interval.as_millis() / SLOT.as_millis()).clamp(1, 100) as u32;
        let start = task.interval / slots * fastrand::u32(0..slots);
        groups
            .entry((task.interval, start))
            .or_default()
            .push(poller);
    }
    let mut handles = Vec::with_capacity(groups.len());
    for ((interval, start), mut pollers) in groups {
        pollers.shrink_to_fit();
        handles.push(tokio::spawn(run_group(
            pollers,
            interval,
            start,
            context.clone(),
            cancel.clone(),
        )));
    }
    for h in handles {
        let _ = h.await;
    }
}

/// Polls every device once per step of `b`, all at once within the poll bound; false when the
/// pipeline has gone. A device that does not answer costs its timeout at each step, as live.
async fn backfill(pollers: &mut Vec<Poller>, b: &Backfill, context: &Arc<Context>) -> bool {
    let step = (b.step.as_millis() as i64).max(1);
    let mut at = b.from;
    // A live clock faster than the sweeps would never be caught: at most four times the steps
    // the history had when it began, then live polling takes over from wherever that is.
    let mut left = ((b.replay.live().now_ms() - at) / step).max(0) * 4 + 16;
    while at < b.replay.live().now_ms() && left > 0 {
        left -= 1;
        b.replay.set(at);
        let mut sweep: FuturesUnordered<_> = pollers
            .drain(..)
            .map(|mut p| {
                // Each reading on its step: no grid carried over from the last one.
                p.expected = None;
                p.poll(context.clone())
            })
            .collect();
        while let Some(done) = sweep.next().await {
            match done {
                Some(p) => pollers.push(p),
                None => return false,
            }
        }
        let _ = b.progress.send(at);
        at += step;
    }
    for p in pollers.iter_mut() {
        p.expected = None;
    }
    true
}

/// What every poll shares.
struct Context {
    clock: Clock,
    /// Bounds the polls in flight across all devices.
    permits: Semaphore,
    tx: mpsc::Sender<Batch>,
}

/// Polls a group of devices of one interval, starting `start` into it, until `cancel` fires;
/// polls in flight then finish, so their readings are not lost.
async fn run_group(
    mut idle: Vec<Poller>,
    interval: Duration,
    start: Duration,
    context: Arc<Context>,
    cancel: CancellationToken,
) {
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(start) => {}
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut busy = FuturesUnordered::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {
                // A device whose last poll is still running (a slow one) skips this turn: it
                // only delays itself.
                for p in idle.drain(..) {
                    busy.push(p.poll(context.clone()));
                }
            }
            Some(done) = busy.next() => match done {
                Some(p) => idle.push(p),
                None => return, // the pipeline has gone
            },
        }
    }
    while busy.next().await.is_some() {}
}

/// Polls that start within this of their turn are stamped with their turn, as Prometheus does
/// (with the same 2 ms): readings then lie on a steady grid, whose timestamps store in a bit
/// each, and 2 ms is far below what any meter resolves in time. A late poll keeps its own time
/// and starts the grid again from there.
const STAMP_TOLERANCE_MS: f64 = 2.0;

fn stamp(clock: Clock, expected: &mut Option<Timestamp>, interval_ms: i64) -> Timestamp {
    let now = clock.now_ms();
    let tolerance = (STAMP_TOLERANCE_MS * clock.speed()).round() as i64;
    let at = match *expected {
        Some(e) if (now - e).abs() <= tolerance => e,
        _ => now,
    };
    *expected = Some(at + interval_ms);
    at
}

/// A device between polls: its plan and driver, and what it carries from poll to poll.
struct Poller {
    task: DeviceTask,
    rows: RowSeries,
    /// The time the next poll is due, for [`stamp`].
    expected: Option<Timestamp>,
    errors: u64,
    was_up: Option<bool>,
}

impl Poller {
    fn new(task: DeviceTask) -> Poller {
        Poller {
            task,
            rows: RowSeries::default(),
            expected: None,
            errors: 0,
            was_up: None,
        }
    }

    /// One poll: read, decode, send the batch. Gives the device back, or `None` once the
    /// pipeline has gone.
    async fn poll(mut self, context: Arc<Context>) -> Option<Poller> {
        let _permit = context.permits.acquire().await.ok()?;
        let clock = context.clock;
        let interval_ms =
            (self.task.interval.as_secs_f64() * 1000.0 * clock.speed()).round() as i64;
        let at = stamp(clock, &mut self.expected, interval_ms);
        let started = tokio::time::Instant::now();
        let task = &mut self.task;
        let result = task.driver.read(&task.plan.kind).await;
        // A tenth of a millisecond is finer than any poll needs (a LAN round trip takes a few),
        // and rounded it stores in about a byte, not eight.
        let poll_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let mut samples = Vec::new();
        let poll = match result {
            Ok(readings) => {
                let mut problems = Vec::new();
                decode(
                    &task.plan,
                    &readings,
                    &mut self.rows,
                    &mut samples,
                    &mut problems,
                );
                if problems.is_empty() {
                    PollStatus::Ok
                } else if samples.is_empty() {
                    PollStatus::Failed(problems.join("; "))
                } else {
                    PollStatus::Partial(problems.join("; "))
                }
            }
            Err(e) => PollStatus::Failed(e.to_string()),
        };
        let up = poll.is_up();
        if !up {
            self.errors += 1;
        }
        log_change(task, self.was_up, &poll);
        self.was_up = Some(up);
        for (field, value) in [
            (Field::PollMs, poll_ms),
            (Field::Up, if up { 1.0 } else { 0.0 }),
            (Field::Errors, self.errors as f64),
        ] {
            samples.push(Sample {
                series: task.health.clone(),
                field,
                value,
            });
        }
        let batch = Batch {
            device: task.plan.device.clone(),
            at,
            samples,
            poll,
            poll_ms,
        };
        context.tx.send(batch).await.ok()?;
        Some(self)
    }
}

/// Logs a change of state once, not every poll (STYLE.md §6).
fn log_change(task: &DeviceTask, was_up: Option<bool>, poll: &PollStatus) {
    let device = &*task.plan.device;
    match (was_up, poll) {
        (Some(true) | None, PollStatus::Failed(e)) => {
            tracing::warn!(device, target = %task.driver, error = %e, "device down");
        }
        (Some(false), p) if p.is_up() => tracing::info!(device, target = %task.driver, "device up"),
        (None, PollStatus::Ok) => tracing::debug!(device, target = %task.driver, "device up"),
        (_, PollStatus::Partial(e)) if was_up != Some(true) => {
            tracing::warn!(device, target = %task.driver, error = %e, "device partly readable");
        }
        _ => {}
    }
}

impl From<DriverError> for PollStatus {
    fn from(e: DriverError) -> PollStatus {
        PollStatus::Failed(e.to_string())
    }
}
