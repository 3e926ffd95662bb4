//! A cumulative kWh counter cleaned in one pass. The result is small whatever the series'
//! length: which readings to drop, and the few steps whose energy is not the difference of
//! their readings (wraps, and the estimated intervals of resets and spikes). A window's energy
//! is then read from cumulative sums in O(log n), so a year's 365 days and 12 months cost no
//! more than the annual figure.

use std::collections::VecDeque;

use kilowatch_core::model::Timestamp;
use kilowatch_store::Point;

use super::{
    Event, EventKind, GAP_FACTOR, MAX_GLITCH_READINGS, MS_PER_HOUR, ROBUST_FACTOR, Rules,
    STUCK_STEPS, hours, local_interval, local_rate, moduli, ordered,
};

/// A step whose energy is not the difference of its readings.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fix {
    from: Timestamp,
    /// The step's end: the time of the kept reading it leads to.
    at: Timestamp,
    kwh: f64,
    estimated: bool,
}

/// A counter cleaned: the readings kept, and the few steps whose energy is not the difference
/// of their readings, with running sums over them. Read windows with [`CleanCounter::totals`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanCounter {
    /// The readings kept, oldest first.
    pub points: Vec<Point>,
    /// Steps with their own energy, by end time, with running sums: energy added over the
    /// readings' differences, estimated energy, estimated time (ms).
    fixes: Vec<Fix>,
    sums: Vec<(f64, f64, i64)>,
    pub events: Vec<Event>,
}

/// A window's figures from a cleaned counter.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub kwh: f64,
    pub estimated_kwh: f64,
    /// Time of the window with measured steps (ms).
    pub covered_ms: i64,
    /// The first and last reading's times, if any.
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl CleanCounter {
    /// Keeps `points` but `dropped` (sorted `[start, end)` index ranges) and builds the running
    /// sums over the fixes.
    fn finish(mut self, mut points: Vec<Point>, dropped: &[(usize, usize)]) -> CleanCounter {
        if !dropped.is_empty() {
            let (mut i, mut r) = (0usize, 0usize);
            points.retain(|_| {
                while dropped.get(r).is_some_and(|&(_, end)| end <= i) {
                    r += 1;
                }
                let keep = !dropped.get(r).is_some_and(|&(s, e)| s <= i && i < e);
                i += 1;
                keep
            });
        }
        self.fixes.sort_by_key(|f| f.at);
        let (mut add, mut est, mut est_ms) = (0.0, 0.0, 0i64);
        self.sums = self
            .fixes
            .iter()
            .map(|f| {
                let k = points.partition_point(|p| p.ts < f.at);
                let plain = match (k.checked_sub(1).and_then(|j| points.get(j)), points.get(k)) {
                    (Some(a), Some(b)) if b.ts == f.at => b.value - a.value,
                    _ => 0.0,
                };
                add += f.kwh - plain;
                if f.estimated {
                    est += f.kwh;
                    est_ms += f.at - f.from;
                }
                (add, est, est_ms)
            })
            .collect();
        self.points = points;
        self
    }

    /// Energy, estimated energy and estimated time up to `t`, from the first reading.
    fn cumulative(&self, t: Timestamp) -> (f64, f64, i64) {
        let points = &self.points;
        let Some(first) = points.first() else {
            return (0.0, 0.0, 0);
        };
        let k = points.partition_point(|p| p.ts < t);
        // Sums of the fixes ending at or before the reading `j`.
        let upto = |ts: Timestamp| {
            let n = self.fixes.partition_point(|f| f.at <= ts);
            n.checked_sub(1).map_or((0.0, 0.0, 0), |i| self.sums[i])
        };
        let at_reading = |j: usize| {
            let (add, est, ms) = upto(points[j].ts);
            (points[j].value - first.value + add, est, ms)
        };
        if k == 0 {
            return (0.0, 0.0, 0);
        }
        if k >= points.len() {
            return at_reading(points.len() - 1);
        }
        let (a, b) = (points[k - 1], points[k]);
        let (c, e, ms) = at_reading(k - 1);
        if b.ts == t {
            return at_reading(k);
        }
        // Inside the step from a to b: its share in proportion to time.
        let frac = (t - a.ts) as f64 / (b.ts - a.ts) as f64;
        match self.fixes.binary_search_by_key(&b.ts, |f| f.at) {
            Ok(i) => {
                let f = self.fixes[i];
                let est = if f.estimated { f.kwh * frac } else { 0.0 };
                let est_ms = if f.estimated { t - a.ts } else { 0 };
                (c + f.kwh * frac, e + est, ms + est_ms)
            }
            Err(_) => (c + (b.value - a.value) * frac, e, ms),
        }
    }

    /// The figures of `[from, to)`.
    pub fn totals(&self, from: Timestamp, to: Timestamp) -> Totals {
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
            return Totals::default();
        };
        let (c0, e0, m0) = self.cumulative(from);
        let (c1, e1, m1) = self.cumulative(to);
        let span = (to.min(last.ts) - from.max(first.ts)).max(0);
        Totals {
            kwh: c1 - c0,
            estimated_kwh: e1 - e0,
            covered_ms: (span - (m1 - m0)).max(0),
            first: Some(first.ts),
            last: Some(last.ts),
        }
    }
}

/// Cleans a counter (kWh readings, oldest first; readings sharing a time keep the first).
pub fn clean_counter(points: Vec<Point>, rules: &Rules<'_>) -> CleanCounter {
    let points = ordered(points);
    let (clean, dropped) = Counter::new(&points, rules).run();
    clean.finish(points, &dropped)
}

struct Counter<'p, 'r> {
    p: &'p [Point],
    rules: &'r Rules<'r>,
    /// The last few kept readings' indexes, newest last: enough to unwind a glitch.
    recent: VecDeque<usize>,
    out: CleanCounter,
    /// Indexes of readings to drop, as `[start, end)` ranges.
    dropped: Vec<(usize, usize)>,
    /// Rate (kWh/h) of the last measured, non-zero step: what the next step is compared with.
    last_rate: Option<f64>,
    /// Interval of the last measured step.
    last_dt: i64,
    /// Zero steps in a row just before the last kept reading, and where the flat run began.
    flat: usize,
    flat_from: usize,
}

const RECENT: usize = 2 * MAX_GLITCH_READINGS + 2;

impl<'p, 'r> Counter<'p, 'r> {
    fn new(p: &'p [Point], rules: &'r Rules<'r>) -> Self {
        Counter {
            p,
            rules,
            recent: VecDeque::with_capacity(RECENT + 1),
            out: CleanCounter::default(),
            dropped: Vec::new(),
            last_rate: None,
            last_dt: 0,
            flat: 0,
            flat_from: 0,
        }
    }

    fn keep(&mut self, i: usize) {
        self.recent.push_back(i);
        if self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }

    fn drop_range(&mut self, start: usize, end: usize) {
        if start < end {
            self.dropped.push((start, end));
        }
    }

    fn event(&mut self, from: Timestamp, at: Timestamp, kind: EventKind, kwh: f64) {
        self.out.events.push(Event {
            from,
            at,
            kind,
            kwh,
        });
    }

    /// Rate of the raw step from `p[i]` to `p[i + 1]`, when it goes up.
    fn raw_rate(&self, i: usize) -> Option<f64> {
        let (a, b) = (self.p.get(i)?, self.p.get(i + 1)?);
        let d = b.value - a.value;
        (b.ts > a.ts && d >= 0.0).then(|| d / hours(b.ts - a.ts))
    }

    /// Whether `d` kWh over `dt` ms is a step this meter can make. `i` is the raw step it stands
    /// for, whose neighbours set the robust rate.
    fn plausible(&self, d: f64, dt: i64, i: usize) -> bool {
        if d < 0.0 || dt <= 0 {
            return false;
        }
        let rate = d / hours(dt);
        if let Some(kw) = self.rules.max_kw {
            return rate <= kw * 1.2;
        }
        // Cheap first: within reach of the last step's or the next raw step's rate.
        let near = self
            .last_rate
            .into_iter()
            .chain(self.raw_rate(i + 1))
            .fold(0.0f64, f64::max);
        if rate <= ROBUST_FACTOR * near {
            return true;
        }
        match local_rate(self.p, i) {
            Some(r) if r > 0.0 => rate <= ROBUST_FACTOR * r,
            // Nothing around it counts: no basis for calling it implausible.
            _ => true,
        }
    }

    /// Estimated rate (kWh/h) over a hidden interval before raw step `i`: the mean of the last
    /// measured rate and the next raw step's, else the local median.
    fn estimate_rate(&self, i: usize) -> f64 {
        let next = self.raw_rate(i + 1).filter(|&r| {
            self.last_rate
                .is_none_or(|l| r <= ROBUST_FACTOR * l.max(1e-9))
        });
        match (self.last_rate, next) {
            (Some(a), Some(b)) => (a + b) / 2.0,
            (Some(r), None) | (None, Some(r)) => r,
            (None, None) => local_rate(self.p, i).unwrap_or(0.0),
        }
    }

    /// The step from kept `p[a]` to `p[b]`, measured: its energy the readings' difference, or
    /// `wrapped` when it passed the counter's modulus.
    fn measured_step(&mut self, a: usize, b: usize, wrapped: Option<f64>) {
        let (pa, pb) = (self.p[a], self.p[b]);
        let kwh = wrapped.unwrap_or(pb.value - pa.value);
        let dt = pb.ts - pa.ts;
        // Cadence is judged only when the step is clearly longer than the last one.
        if self.last_dt > 0
            && dt as f64 > GAP_FACTOR * self.last_dt as f64
            && dt as f64 > GAP_FACTOR * local_interval(self.p, b.saturating_sub(1))
        {
            self.event(pa.ts, pb.ts, EventKind::Gap, kwh);
        }
        if let Some(w) = wrapped {
            self.event(pa.ts, pb.ts, EventKind::Wrap, w);
            self.out.fixes.push(Fix {
                from: pa.ts,
                at: pb.ts,
                kwh: w,
                estimated: false,
            });
        }
        if kwh > 0.0 {
            self.last_rate = Some(kwh / hours(dt));
        }
        self.last_dt = dt;
        self.keep(b);
    }

    fn estimated_step(&mut self, a: usize, b: usize, kind: EventKind) {
        let (pa, pb) = (self.p[a], self.p[b]);
        let kwh = self.estimate_rate(b - 1) * hours(pb.ts - pa.ts);
        self.event(pa.ts, pb.ts, kind, kwh);
        self.out.fixes.push(Fix {
            from: pa.ts,
            at: pb.ts,
            kwh,
            estimated: true,
        });
        self.keep(b);
        self.flat = 0;
    }

    /// The cleaned counter without its readings yet, and the readings to drop.
    fn run(mut self) -> (CleanCounter, Vec<(usize, usize)>) {
        let n = self.p.len();
        if n == 0 {
            return (self.out, self.dropped);
        }
        self.keep(0);
        let mut i = 1;
        while i < n {
            i = self.regular_run(i);
            if i >= n {
                break;
            }
            let a = *self.recent.back().unwrap_or(&0);
            let (pa, pb) = (self.p[a], self.p[i]);
            let d = pb.value - pa.value;
            let dt = pb.ts - pa.ts;
            if d < 0.0 {
                if let Some(skip) = self.glitch_after_drop(a, i) {
                    i = skip;
                    continue;
                }
                if self.unwind_high_glitch(i) {
                    continue;
                }
                match self.wrap(a, i) {
                    Some(w) => {
                        self.measured_step(a, i, Some(w));
                        self.flat = 0;
                    }
                    None => self.estimated_step(a, i, EventKind::Reset),
                }
                i += 1;
                continue;
            }
            if d > 0.0 && !self.plausible(d, dt, i - 1) {
                if let Some(skip) = self.glitch_up(a, i) {
                    i = skip;
                    continue;
                }
                if !self.catch_up(a, i) {
                    self.estimated_step(a, i, EventKind::Spike);
                }
                i += 1;
                continue;
            }
            if d == 0.0 {
                if self.flat == 0 {
                    self.flat_from = a;
                }
                self.flat += 1;
                self.measured_step(a, i, None);
            } else {
                if !self.catch_up(a, i) {
                    self.measured_step(a, i, None);
                }
                self.flat = 0;
            }
            i += 1;
        }
        self.dropped.sort_unstable();
        (self.out, self.dropped)
    }

    /// Takes the steps from `i` on that are plainly regular: from the reading just before, no
    /// longer than three of the last step (so no gap), counting up at no more than the plausible
    /// factor over the last step's rate (and within the rating). Exactly what the full judgement
    /// would decide for them, in a few multiplications a reading, so a year of one-minute
    /// readings (with their poll jitter) costs little. Returns the first index it did not take.
    fn regular_run(&mut self, i: usize) -> usize {
        let (Some(rate), Some(&a)) = (self.last_rate, self.recent.back()) else {
            return i;
        };
        if a + 1 != i || self.flat != 0 || self.last_dt <= 0 {
            return i;
        }
        // The last step as (energy, interval), compared by cross-multiplying.
        let (mut last_d, mut last_dt) = (rate * hours(self.last_dt), self.last_dt);
        let rated = self.rules.max_kw.map(|kw| kw * 1.2 / MS_PER_HOUR);
        let mut j = i;
        while let (Some(pa), Some(pb)) = (self.p.get(j.wrapping_sub(1)), self.p.get(j)) {
            let (d, dt) = (pb.value - pa.value, pb.ts - pa.ts);
            let regular = d > 0.0
                && dt > 0
                && dt as f64 <= GAP_FACTOR * last_dt as f64
                && d * last_dt as f64 <= ROBUST_FACTOR * last_d * dt as f64
                && rated.is_none_or(|r| d <= r * dt as f64);
            if !regular {
                break;
            }
            (last_d, last_dt) = (d, dt);
            j += 1;
        }
        if j > i {
            self.last_rate = Some(last_d / hours(last_dt));
            self.last_dt = last_dt;
            for k in j.saturating_sub(RECENT).max(i)..j {
                self.keep(k);
            }
        }
        j
    }

    /// `p[i]` (and up to two after it) dipped below the last kept reading and the series comes
    /// back: drop them. Returns the index to go on from.
    fn glitch_after_drop(&mut self, a: usize, i: usize) -> Option<usize> {
        let pa = self.p[a];
        let back = (1..=MAX_GLITCH_READINGS).find_map(|m| {
            let c = *self.p.get(i + m)?;
            // Every reading of the dip sits below the last kept one.
            let dipped = (i..i + m).all(|k| self.p[k].value < pa.value);
            (dipped
                && c.value >= pa.value
                && self.plausible(c.value - pa.value, c.ts - pa.ts, i + m - 1))
            .then_some(i + m)
        })?;
        // A high glitch just before (the kept reading a) would also explain the drop; prefer
        // the reading further off its neighbours' line.
        if back == i + 1 && self.recent.len() >= 2 {
            let pp = self.p[self.recent[self.recent.len() - 2]];
            let (pb, pc) = (self.p[i], self.p[i + 1]);
            if pp.value <= pb.value {
                let off = |x: Point, l: Point, r: Point| {
                    let f = (x.ts - l.ts) as f64 / (r.ts - l.ts).max(1) as f64;
                    (x.value - (l.value + (r.value - l.value) * f)).abs()
                };
                if off(pa, pp, pb) > off(pb, pa, pc) {
                    return None; // unwind_high_glitch drops a instead
                }
            }
        }
        let pc = self.p[back];
        self.event(pa.ts, pc.ts, EventKind::Glitch, pc.value - pa.value);
        self.drop_range(i, back);
        self.measured_step(a, back, None);
        Some(back + 1)
    }

    /// The last kept readings (up to three) sit above `p[i]`, and the one before them does not:
    /// they were a glitch. Unwinds their steps so `p[i]` is judged against the reading before.
    fn unwind_high_glitch(&mut self, i: usize) -> bool {
        let pb = self.p[i];
        let r = &self.recent;
        let mut m = 0;
        while m < MAX_GLITCH_READINGS
            && r.len() > m + 1
            && self.p[r[r.len() - 1 - m]].value > pb.value
        {
            m += 1;
            let before = self.p[r[r.len() - 1 - m]];
            if before.value > pb.value
                || !self.plausible(pb.value - before.value, pb.ts - before.ts, i - 1)
            {
                continue;
            }
            // Only measured steps can be unwound; an estimated or wrapped one stays.
            if self.out.fixes.last().is_some_and(|f| f.at > before.ts) {
                return false;
            }
            let gone: Vec<usize> = self.recent.drain(self.recent.len() - m..).collect();
            for k in gone {
                self.drop_range(k, k + 1);
            }
            // Events of the unwound steps go with them.
            self.out.events.retain(|e| e.at <= before.ts);
            self.event(before.ts, pb.ts, EventKind::Glitch, pb.value - before.value);
            self.flat = 0;
            return true;
        }
        false
    }

    /// `p[i]` (and up to two after it) jumped above the trend and the series comes back: drop
    /// them. Returns the index to go on from.
    fn glitch_up(&mut self, a: usize, i: usize) -> Option<usize> {
        let pa = self.p[a];
        let back = (1..=MAX_GLITCH_READINGS).find_map(|m| {
            let c = *self.p.get(i + m)?;
            // Every reading of the excursion sits above where the series comes back to.
            let returned = (i..i + m).all(|k| self.p[k].value > c.value);
            (returned
                && c.value >= pa.value
                && self.plausible(c.value - pa.value, c.ts - pa.ts, i + m - 1))
            .then_some(i + m)
        })?;
        let pc = self.p[back];
        self.event(pa.ts, pc.ts, EventKind::Glitch, pc.value - pa.value);
        self.drop_range(i, back);
        self.measured_step(a, back, None);
        Some(back + 1)
    }

    /// A step ending a flat run of a counting meter: when it makes up for the run (its energy
    /// is plausible spread over the run and itself) it is spread over both; either way the run
    /// is named. Returns whether the step was taken.
    fn catch_up(&mut self, a: usize, i: usize) -> bool {
        if self.flat < STUCK_STEPS {
            return false;
        }
        let (start, pb) = (self.p[self.flat_from], self.p[i]);
        let counting = local_rate(self.p, i - 1).is_some_and(|r| r > 0.0);
        self.flat = 0;
        if !counting {
            return false;
        }
        let d = pb.value - self.p[a].value;
        let own = d / hours(pb.ts - self.p[a].ts);
        let spread = d / hours(pb.ts - start.ts);
        let reference = self.estimate_rate(i - 1);
        let caught_up = self.plausible(d, pb.ts - start.ts, i - 1)
            && spread <= 2.0 * reference
            && own > 2.0 * reference;
        if !caught_up {
            self.event(start.ts, self.p[a].ts, EventKind::Stuck, 0.0);
            return false;
        }
        // The flat readings go: one step from the run's start carries the energy.
        self.drop_range(self.flat_from + 1, i);
        self.event(start.ts, pb.ts, EventKind::Stuck, d);
        self.recent.clear();
        self.keep(self.flat_from);
        self.keep(i);
        self.last_rate = Some(spread);
        true
    }

    /// The step from `p[a]` down to `p[i]` as a wrap: at the profile's modulus, or at the
    /// smallest usual one that makes a step like its neighbours'. Never across a restart.
    fn wrap(&self, a: usize, i: usize) -> Option<f64> {
        let (pa, pb) = (self.p[a], self.p[i]);
        if self.rules.reboots.iter().any(|&r| r > pa.ts && r <= pb.ts) {
            return None;
        }
        let dt = pb.ts - pa.ts;
        let expected = self.estimate_rate(i - 1) * hours(dt);
        let fits = |w: f64| match self.rules.max_kw {
            _ if expected > 0.0 => w <= 3.0 * expected,
            Some(kw) => w <= kw * 1.2 * hours(dt),
            None => false,
        };
        if let Some(m) = self.rules.wrap_kwh {
            let w = pb.value + m - pa.value;
            // A wrap moves the counter past its top by less than half its range.
            return (w >= 0.0 && w < m / 2.0 && (expected == 0.0 || fits(w))).then_some(w);
        }
        let mut candidates: Vec<f64> = moduli().filter(|&m| m > pa.value).collect();
        candidates.sort_by(f64::total_cmp);
        candidates
            .into_iter()
            .map(|m| pb.value + m - pa.value)
            .find(|&w| w >= 0.0 && fits(w))
    }
}
