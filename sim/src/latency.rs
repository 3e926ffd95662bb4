//! How long a simulated device takes to answer.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    Fixed(Duration),
    /// Uniformly distributed between the two, drawn per request.
    Uniform(Duration, Duration),
}

impl Delay {
    pub fn sample(&self) -> Duration {
        match *self {
            Delay::Fixed(d) => d,
            Delay::Uniform(lo, hi) if hi > lo => lo + (hi - lo).mul_f64(fastrand::f64()),
            Delay::Uniform(lo, _) => lo,
        }
    }
}

impl From<Duration> for Delay {
    fn from(d: Duration) -> Delay {
        Delay::Fixed(d)
    }
}

/// Whether a simulated device has failed, switched from outside while it serves.
#[derive(Debug, Clone, Default)]
pub struct Failure(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Failure {
    pub fn set(&self, failed: bool) {
        self.0.store(failed, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn failed(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// How a simulated device answers: after a delay, or not at all while it has failed.
#[derive(Debug, Clone)]
pub struct Pace {
    pub delay: Delay,
    pub failure: Failure,
}

impl Pace {
    /// The delay of the next answer; `None` while the device has failed.
    pub fn sample(&self) -> Option<Duration> {
        (!self.failure.failed()).then(|| self.delay.sample())
    }
}

impl From<Delay> for Pace {
    fn from(delay: Delay) -> Pace {
        Pace {
            delay,
            failure: Failure::default(),
        }
    }
}

impl From<Duration> for Pace {
    fn from(d: Duration) -> Pace {
        Delay::from(d).into()
    }
}
