//! Wall time, or an accelerated simulation time shared by the simulator and the collector.
//!
//! The simulator's physics and the collector's sample stamps must use one time base, or energy
//! measured over a window would not match the energy the model produced in it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::model::Timestamp;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    /// Simulated time runs `speed` times faster than real time from `origin`.
    Accelerated {
        real_origin: Instant,
        sim_origin: Timestamp,
        speed: f64,
    },
    /// Set by a driver replaying history through the protocols (`demo`), then released to run
    /// as its inner clock: see [`Replay`].
    Replay(&'static Replay),
}

/// A clock held at times a driver sets, one poll sweep at a time, so a week of history goes
/// through the simulator and the collector in seconds with every reading on its step; once
/// released it reads its inner clock. Shared by reference because [`Clock`] is `Copy`: one is
/// leaked per process that replays, which is a few bytes.
#[derive(Debug)]
pub struct Replay {
    at: AtomicI64,
    then: Clock,
}

/// `Replay::at` once released.
const RELEASED: i64 = i64::MIN;

impl Replay {
    /// A replay clock reading `at` until released, then `then`.
    pub fn leak(at: Timestamp, then: Clock) -> &'static Replay {
        Box::leak(Box::new(Replay {
            at: AtomicI64::new(at),
            then,
        }))
    }

    pub fn set(&self, at: Timestamp) {
        self.at.store(at, Ordering::SeqCst);
    }

    /// From now on the clock reads its inner clock.
    pub fn release(&self) {
        self.at.store(RELEASED, Ordering::SeqCst);
    }

    /// The clock it reads once released.
    pub fn live(&self) -> Clock {
        self.then
    }

    pub fn released(&self) -> bool {
        self.at.load(Ordering::SeqCst) == RELEASED
    }
}

impl Clock {
    /// An accelerated clock starting now at the current wall time.
    pub fn accelerated(speed: f64) -> Clock {
        Clock::Accelerated {
            real_origin: Instant::now(),
            sim_origin: system_now_ms(),
            speed,
        }
    }

    /// An accelerated clock on which simulated and real time agreed at `epoch`: every process
    /// given the same epoch and speed reads the same simulated time (a collector pair and its
    /// simulator), whenever each started.
    pub fn accelerated_since(epoch: Timestamp, speed: f64) -> Clock {
        Clock::accelerated_from(epoch, epoch, speed)
    }

    /// As [`Clock::accelerated_since`], with simulated time reading `sim_at_epoch` at the real
    /// instant `epoch`: a past year replayed in minutes, on one clock for every process.
    pub fn accelerated_from(epoch: Timestamp, sim_at_epoch: Timestamp, speed: f64) -> Clock {
        let now = system_now_ms();
        Clock::Accelerated {
            real_origin: Instant::now(),
            sim_origin: sim_at_epoch + ((now - epoch) as f64 * speed) as i64,
            speed,
        }
    }

    pub fn now_ms(&self) -> Timestamp {
        match *self {
            Clock::System => system_now_ms(),
            Clock::Accelerated {
                real_origin,
                sim_origin,
                speed,
            } => sim_origin + (real_origin.elapsed().as_secs_f64() * 1000.0 * speed) as i64,
            Clock::Replay(r) => match r.at.load(Ordering::SeqCst) {
                RELEASED => r.then.now_ms(),
                at => at,
            },
        }
    }

    /// A replay clock that is still being stepped: its time jumps by design.
    pub fn replaying(&self) -> bool {
        matches!(self, Clock::Replay(r) if !r.released())
    }

    pub fn speed(&self) -> f64 {
        match *self {
            Clock::System => 1.0,
            Clock::Accelerated { speed, .. } => speed,
            Clock::Replay(r) => r.then.speed(),
        }
    }
}

fn system_now_ms() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_since_one_epoch_agree_whenever_they_start() {
        let epoch = system_now_ms() - 10_000;
        let a = Clock::accelerated_since(epoch, 60.0);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let b = Clock::accelerated_since(epoch, 60.0);
        let (ta, tb) = (a.now_ms(), b.now_ms());
        // Ten real seconds after the epoch at 60x: ten simulated minutes on, on both clocks.
        assert!(ta >= epoch + 600_000, "{ta}");
        assert!((ta - tb).abs() < 200, "{ta} vs {tb}");
    }

    #[test]
    fn a_replay_clock_reads_what_is_set_until_released() {
        let r = Replay::leak(1_000, Clock::System);
        let c = Clock::Replay(r);
        assert_eq!(c.now_ms(), 1_000);
        r.set(901_000);
        assert_eq!(c.now_ms(), 901_000);
        r.release();
        assert!((c.now_ms() - system_now_ms()).abs() < 1_000);
    }

    #[test]
    fn accelerated_clock_runs_faster() {
        let c = Clock::accelerated(1000.0);
        let a = c.now_ms();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = c.now_ms();
        assert!(b - a >= 20_000, "{}", b - a);
    }
}
