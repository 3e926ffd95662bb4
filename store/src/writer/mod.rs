//! The store's writer: commits the collector's polls into the embedded store in arrival order,
//! keeps them in memory and retries while the store refuses writes (a full disk), and runs the
//! store's upkeep (compaction, retention) once a minute of real time.
//!
//! Invariants: polls are committed in the order they arrived; a refused write loses nothing
//! until the in-memory cap ([`commit`]), past which the oldest go, logged and counted; the wall
//! clock jumping moves retention cuts no faster than real time.

mod commit;

use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::model::{Batch, Timestamp};
use tokio::sync::mpsc;

use crate::SqliteStore;
use commit::{RetryPolicy, commit_loop};

/// How long each tier of the embedded store keeps its data (`None`: for ever).
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub raw: Option<Duration>,
    pub rollups: Option<Duration>,
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
    /// The clock was replaying history at the last upkeep: its jumps are by design.
    replayed: bool,
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
            replayed: clock.replaying(),
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
        let replayed = std::mem::replace(&mut self.replayed, self.clock.replaying());
        if (now - last - passed).abs() > 60_000 && !replayed && !self.replayed {
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

/// Commits what arrives on `rx` until it closes and everything is committed (or the store has
/// refused writes past the shutdown grace). Each committed chunk then goes to `committed` when
/// given (alert rules see a poll once it is durable); if that reader falls 64 chunks behind,
/// chunks are skipped for it, logged, never held back from the store.
pub async fn run(
    rx: mpsc::Receiver<Batch>,
    store: Arc<SqliteStore>,
    retention: Retention,
    clock: Clock,
    committed: Option<mpsc::Sender<Vec<Batch>>>,
) {
    let writer = store.clone();
    let mut upkeep = Upkeep::new(clock, retention);
    // Once a minute: closed blocks go into chunks (five minutes after they close, so late and
    // retried polls usually land first), then retention.
    let after_write = move |chunk: Vec<Batch>| {
        if let Some(tx) = &committed
            && let Err(mpsc::error::TrySendError::Full(skipped)) = tx.try_send(chunk)
        {
            tracing::warn!(
                polls = skipped.len(),
                "alert rules are behind: these polls were stored but not evaluated"
            );
        }
        let Some(due) = upkeep.due() else {
            return;
        };
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            let before = crate::samples::block_of(due.now - 300_000);
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
            let stored = writer.write(batches)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
