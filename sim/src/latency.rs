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
