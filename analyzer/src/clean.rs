//! What real meter data does wrong, found and named before any energy is summed: glitches (a
//! reading that leaves its series' trend and comes back), spikes (a step above the meter's
//! rating, or many times its neighbouring rate, that stays), resets and meter swaps, wraps at a
//! known or inferred modulus, stuck readings, and gaps judged against the series' own cadence.
//!
//! The rules need no configuration; a meter's rating (`max_power_w`) makes the spike rule exact.
//! Every reading dropped and every step rejected becomes an [`Event`] with the energy it
//! affected, so a report can say what was done. A counter's cleaned steps keep the energy it
//! measured; the interval a reset or spike hides is *estimated* from the neighbouring rates
//! and marked so (domain/pue.md §7.2-7.3). The judgement of a step looks only at its
//! neighbours, so the common case (a smooth series) costs a few comparisons per reading.

use kilowatch_core::model::Timestamp;
use kilowatch_store::Point;
use serde::Serialize;

const MS_PER_HOUR: f64 = 3_600_000.0;
/// A step more than this many times its neighbours' rate is implausible (no rating known).
const ROBUST_FACTOR: f64 = 10.0;
/// Readings a glitch may last: longer excursions are real changes, or resets.
const MAX_GLITCH_READINGS: usize = 3;
/// A step longer than this many times the series' local interval is a gap.
const GAP_FACTOR: f64 = 3.0;
/// Steps either side that set a local rate or interval.
const NEIGHBOURS: usize = 12;
/// Zero steps in a row on a counting meter that make a stuck reading.
const STUCK_STEPS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A reading left the series' trend and came back: dropped, its neighbours bridged.
    Glitch,
    /// A step above the rating (or many times the neighbouring rate) that stayed: rejected,
    /// its interval estimated.
    Spike,
    /// The counter went back and stayed (restart, reset, meter swapped): its interval estimated.
    Reset,
    /// The counter passed its modulus; the step was bridged.
    Wrap,
    /// Readings further apart than the series' own cadence allows.
    Gap,
    /// The counter repeated one value while the meter normally counts.
    Stuck,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Glitch => "glitch",
            EventKind::Spike => "spike",
            EventKind::Reset => "reset",
            EventKind::Wrap => "wrap",
            EventKind::Gap => "gap",
            EventKind::Stuck => "stuck",
        }
    }
}

/// Something the data did, over `[from, at]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Event {
    pub from: Timestamp,
    pub at: Timestamp,
    pub kind: EventKind,
    /// Energy of the interval the event touched (kWh): bridged, estimated, wrapped, or caught
    /// up. For a glitch in power, the energy the bad reading would have added.
    pub kwh: f64,
}

/// How to judge one series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rules<'a> {
    /// The meter's rating (kW): a step above rating × Δt × 1.2 is a spike (pue.md §7.2).
    pub max_kw: Option<f64>,
    /// The counter's modulus in kWh, when its profile states it.
    pub wrap_kwh: Option<f64>,
    /// When the device restarted: a step down across a restart is a reset, never a wrap.
    pub reboots: &'a [Timestamp],
    /// Power samples further apart than this and than the series' own cadence allows are not
    /// bridged.
    pub max_gap_ms: i64,
}

/// One step of a cleaned counter: energy over `[from, to]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub from: Timestamp,
    pub to: Timestamp,
    pub kwh: f64,
    /// Estimated from neighbouring rates (the counter hid this interval).
    pub estimated: bool,
}

/// A counter cleaned: its steps, oldest first and never overlapping, and what was done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanCounter {
    pub steps: Vec<Step>,
    pub events: Vec<Event>,
}

/// Moduli a counter may wrap at when its profile does not say: 16, 32 and 48-bit registers in
/// units of 1, 0.1, 0.01 and 0.001 kWh, and decimal rollovers (99,999,999.9 kWh and the like).
fn moduli() -> impl Iterator<Item = f64> {
    let bits = [16u32, 32, 48]
        .into_iter()
        .flat_map(|b| [1.0, 0.1, 0.01, 0.001].map(|s| 2f64.powi(b as i32) * s));
    bits.chain((4..=12).map(|k| 10f64.powi(k)))
}

fn hours(dt: i64) -> f64 {
    dt as f64 / MS_PER_HOUR
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    Some(*m)
}

/// The points' local interval around step `i` (from `p[i]` to `p[i + 1]`): the larger of the
/// median intervals just before and just after, so the seam between an hourly history and
/// live one-minute data is not a gap.
fn local_interval(p: &[Point], i: usize) -> f64 {
    let dts = |r: std::ops::Range<usize>| {
        let mut v: Vec<f64> = r.map(|k| (p[k + 1].ts - p[k].ts) as f64).collect();
        median(&mut v)
    };
    let before = dts(i.saturating_sub(NEIGHBOURS / 2)..i);
    let after = dts((i + 1).min(p.len() - 1)..(i + 1 + NEIGHBOURS / 2).min(p.len() - 1));
    match (before, after) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b).unwrap_or(f64::INFINITY),
    }
}

/// A counter's robust local rate (kWh per hour) around step `i`: the median of the
/// non-negative rates of up to [`NEIGHBOURS`] steps either side, the step itself left out.
fn local_rate(p: &[Point], i: usize) -> Option<f64> {
    let lo = i.saturating_sub(NEIGHBOURS);
    let hi = (i + NEIGHBOURS).min(p.len().saturating_sub(2));
    let mut rates: Vec<f64> = (lo..=hi)
        .filter(|&k| k != i && k + 1 < p.len())
        .filter_map(|k| {
            let dt = p[k + 1].ts - p[k].ts;
            let d = p[k + 1].value - p[k].value;
            (dt > 0 && d >= 0.0).then(|| d / hours(dt))
        })
        .collect();
    if rates.len() < 3 {
        return None;
    }
    median(&mut rates)
}

/// Cleans a counter (kWh readings, oldest first) into steps. Readings sharing a time keep the
/// first.
pub fn clean_counter(points: &[Point], rules: &Rules<'_>) -> CleanCounter {
    let mut p: Vec<Point> = Vec::with_capacity(points.len());
    for &pt in points {
        if p.last().is_none_or(|l: &Point| pt.ts > l.ts) && pt.value.is_finite() {
            p.push(pt);
        }
    }
    Counter::new(&p, rules).run()
}

struct Counter<'p, 'r> {
    p: &'p [Point],
    rules: &'r Rules<'r>,
    /// Indexes of the readings kept, oldest first.
    kept: Vec<usize>,
    out: CleanCounter,
    /// Rate (kWh/h) of the last measured, non-zero step: what the next step is compared with.
    last_rate: Option<f64>,
    /// Interval of the last measured step.
    last_dt: i64,
    /// Zero steps in a row just before the last kept reading, and where the flat run began.
    flat: usize,
    flat_from: usize,
}

impl<'p, 'r> Counter<'p, 'r> {
    fn new(p: &'p [Point], rules: &'r Rules<'r>) -> Self {
        Counter {
            p,
            rules,
            kept: Vec::with_capacity(p.len()),
            out: CleanCounter {
                steps: Vec::with_capacity(p.len()),
                events: Vec::new(),
            },
            last_rate: None,
            last_dt: 0,
            flat: 0,
            flat_from: 0,
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

    fn push_measured(&mut self, a: usize, b: usize) {
        let (pa, pb) = (self.p[a], self.p[b]);
        let d = pb.value - pa.value;
        self.measured_step(pa.ts, pb.ts, d, b);
    }

    fn measured_step(&mut self, from: Timestamp, to: Timestamp, kwh: f64, b: usize) {
        let dt = to - from;
        // Cadence is judged only when the step is clearly longer than the last one.
        if self.last_dt > 0
            && dt as f64 > GAP_FACTOR * self.last_dt as f64
            && dt as f64 > GAP_FACTOR * local_interval(self.p, b.saturating_sub(1))
        {
            self.event(from, to, EventKind::Gap, kwh);
        }
        self.out.steps.push(Step {
            from,
            to,
            kwh,
            estimated: false,
        });
        if kwh > 0.0 {
            self.last_rate = Some(kwh / hours(dt));
        }
        self.last_dt = dt;
        self.kept.push(b);
    }

    fn estimated_step(&mut self, a: usize, b: usize, kind: EventKind) {
        let (pa, pb) = (self.p[a], self.p[b]);
        let kwh = self.estimate_rate(b - 1) * hours(pb.ts - pa.ts);
        self.event(pa.ts, pb.ts, kind, kwh);
        self.out.steps.push(Step {
            from: pa.ts,
            to: pb.ts,
            kwh,
            estimated: true,
        });
        self.kept.push(b);
        self.flat = 0;
    }

    fn run(mut self) -> CleanCounter {
        let n = self.p.len();
        if n == 0 {
            return self.out;
        }
        self.kept.push(0);
        let mut i = 1;
        while i < n {
            let a = *self.kept.last().unwrap_or(&0);
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
                if let Some(w) = self.wrap(a, i) {
                    self.event(pa.ts, pb.ts, EventKind::Wrap, w);
                    self.measured_step(pa.ts, pb.ts, w, i);
                    self.flat = 0;
                } else {
                    self.estimated_step(a, i, EventKind::Reset);
                }
                i += 1;
                continue;
            }
            if d > 0.0 && !self.plausible(d, dt, i - 1) {
                if let Some(skip) = self.glitch_up(a, i) {
                    i = skip;
                    continue;
                }
                if self.catch_up(a, i) {
                    i += 1;
                    continue;
                }
                self.estimated_step(a, i, EventKind::Spike);
                i += 1;
                continue;
            }
            if d == 0.0 {
                if self.flat == 0 {
                    self.flat_from = a;
                }
                self.flat += 1;
                self.push_measured(a, i);
            } else {
                if !self.catch_up(a, i) {
                    self.push_measured(a, i);
                }
                self.flat = 0;
            }
            i += 1;
        }
        self.out
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
        // A high glitch just before a (the kept reading) would also explain the drop; prefer the
        // reading further off its neighbours' line.
        if back == i + 1 && self.kept.len() >= 2 {
            let pp = self.p[self.kept[self.kept.len() - 2]];
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
        self.glitch(pa.ts, pc.ts, pc.value - pa.value);
        self.push_measured(a, back);
        Some(back + 1)
    }

    /// The last kept readings (up to three) sit above `p[i]`, and the one before them does not:
    /// they were a glitch. Unwinds their steps so `p[i]` is judged against the reading before.
    fn unwind_high_glitch(&mut self, i: usize) -> bool {
        let pb = self.p[i];
        let mut m = 0;
        while m < MAX_GLITCH_READINGS
            && self.kept.len() > m + 1
            && self.p[self.kept[self.kept.len() - 1 - m]].value > pb.value
        {
            m += 1;
            let before = self.p[self.kept[self.kept.len() - 1 - m]];
            if before.value <= pb.value
                && self.plausible(pb.value - before.value, pb.ts - before.ts, i - 1)
            {
                // Only measured steps can be unwound; an estimated or wrapped one stays.
                let n = self.out.steps.len();
                if n < m || self.out.steps[n - m..].iter().any(|s| s.estimated) {
                    return false;
                }
                self.out.steps.truncate(n - m);
                // Events of the unwound steps go with them.
                self.out.events.retain(|e| e.at <= before.ts);
                self.kept.truncate(self.kept.len() - m);
                self.glitch(before.ts, pb.ts, pb.value - before.value);
                self.flat = 0;
                return true;
            }
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
        self.glitch(pa.ts, pc.ts, pc.value - pa.value);
        self.push_measured(a, back);
        Some(back + 1)
    }

    fn glitch(&mut self, from: Timestamp, at: Timestamp, kwh: f64) {
        self.event(from, at, EventKind::Glitch, kwh);
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
        if !counting {
            self.flat = 0;
            return false;
        }
        let d = pb.value - self.p[a].value;
        let own = d / hours(pb.ts - self.p[a].ts);
        let spread = d / hours(pb.ts - start.ts);
        let reference = self.estimate_rate(i - 1);
        let caught_up = self.plausible(d, pb.ts - start.ts, i - 1)
            && spread <= 2.0 * reference
            && own > 2.0 * reference;
        self.flat = 0;
        if !caught_up {
            self.event(start.ts, self.p[a].ts, EventKind::Stuck, 0.0);
            return false;
        }
        // The flat steps give way to one step over the whole run.
        let zero_steps = self
            .out
            .steps
            .iter()
            .rev()
            .take_while(|s| s.from >= start.ts && s.kwh == 0.0 && !s.estimated)
            .count();
        self.out.steps.truncate(self.out.steps.len() - zero_steps);
        self.kept.truncate(self.kept.len() - zero_steps);
        self.event(start.ts, pb.ts, EventKind::Stuck, d);
        self.out.steps.push(Step {
            from: start.ts,
            to: pb.ts,
            kwh: d,
            estimated: false,
        });
        self.last_rate = Some(spread);
        self.kept.push(i);
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

/// Power readings (W, oldest first) cleaned: glitches and readings above the rating dropped,
/// and the times of readings that start a stretch too long to bridge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanPower {
    pub points: Vec<Point>,
    /// `ts` of each reading whose interval from the previous one is not bridged.
    pub breaks: Vec<Timestamp>,
    pub events: Vec<Event>,
}

/// Cleans power readings. A reading is a glitch when both neighbours agree with each other far
/// better than with it, and it is off them by more than half their level; a reading above 1.2
/// times the rating is a spike. A stretch is bridged when no longer than `max_gap_ms` or three
/// of the series' own intervals, and named a gap when longer than three.
pub fn clean_power(points: &[Point], rules: &Rules<'_>) -> CleanPower {
    let mut out = CleanPower {
        points: Vec::with_capacity(points.len()),
        ..CleanPower::default()
    };
    let max_w = rules.max_kw.map(|kw| kw * 1000.0 * 1.2);
    let mut raw: Vec<Point> = Vec::with_capacity(points.len());
    for &p in points {
        if raw.last().is_none_or(|l: &Point| p.ts > l.ts) && p.value.is_finite() {
            raw.push(p);
        }
    }
    for (j, &x) in raw.iter().enumerate() {
        let prev = out.points.last().copied();
        if let Some(limit) = max_w
            && x.value > limit
        {
            let kwh = prev.map_or(0.0, |a| {
                (x.value - a.value).abs() / 2.0 * hours(x.ts - a.ts) / 1000.0
            });
            out.events.push(Event {
                from: prev.map_or(x.ts, |a| a.ts),
                at: x.ts,
                kind: EventKind::Spike,
                kwh,
            });
            continue;
        }
        if let (Some(a), Some(&b)) = (prev, raw.get(j + 1)) {
            let (s1, s2) = (x.value - a.value, x.value - b.value);
            if s1 * s2 > 0.0 {
                let off = s1.abs().min(s2.abs());
                let level = a.value.abs().max(b.value.abs());
                if off > 4.0 * (b.value - a.value).abs() && off > 0.5 * level {
                    let line =
                        a.value + (b.value - a.value) * (x.ts - a.ts) as f64 / (b.ts - a.ts) as f64;
                    out.events.push(Event {
                        from: a.ts,
                        at: b.ts,
                        kind: EventKind::Glitch,
                        kwh: (x.value - line).abs() / 2.0 * hours(b.ts - a.ts) / 1000.0,
                    });
                    continue;
                }
            }
        }
        if let Some(a) = prev {
            let dt = x.ts - a.ts;
            let n = out.points.len();
            let last_dt = (n >= 2).then(|| out.points[n - 1].ts - out.points[n - 2].ts);
            let long = last_dt.is_none_or(|l| dt as f64 > GAP_FACTOR * l as f64);
            if long || dt > rules.max_gap_ms {
                let cadence = local_interval(&raw, j.saturating_sub(1));
                let gap = dt as f64 > GAP_FACTOR * cadence;
                if gap {
                    let kwh = (a.value + x.value) / 2.0 * hours(dt) / 1000.0;
                    out.events.push(Event {
                        from: a.ts,
                        at: x.ts,
                        kind: EventKind::Gap,
                        kwh,
                    });
                }
                if dt > rules.max_gap_ms && gap {
                    out.breaks.push(x.ts);
                }
            }
        }
        out.points.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn p(ts: i64, value: f64) -> Point {
        Point { ts, value }
    }

    /// Hourly readings of a meter using `kw` per hour from `start` kWh.
    fn hourly(n: usize, kw: f64, start: f64) -> Vec<Point> {
        (0..n)
            .map(|h| p(h as i64 * H, start + kw * h as f64))
            .collect()
    }

    fn total(c: &CleanCounter) -> f64 {
        c.steps.iter().map(|s| s.kwh).sum()
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn issue_16_a_reading_a_thousand_times_too_large_is_a_glitch_bridged() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        pts[20].value *= 1000.0;
        let c = clean_counter(&pts, &Rules::default());
        assert!((total(&c) - 150.0 * 47.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(kinds(&c.events), vec![EventKind::Glitch]);
        assert!(c.steps.iter().all(|s| !s.estimated));
    }

    #[test]
    fn a_dip_and_a_word_swap_are_glitches_in_either_direction() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        pts[10].value /= 1000.0;
        pts[30].value = 3.0;
        let c = clean_counter(&pts, &Rules::default());
        assert!((total(&c) - 150.0 * 47.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(kinds(&c.events), vec![EventKind::Glitch, EventKind::Glitch]);
    }

    #[test]
    fn a_swap_to_zero_is_a_reset_whose_hour_is_estimated_from_its_neighbours() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        for (k, q) in pts.iter_mut().enumerate().skip(20) {
            q.value = 75.0 + 150.0 * (k - 20) as f64; // swapped half-way through hour 19-20
        }
        let c = clean_counter(&pts, &Rules::default());
        assert!((total(&c) - 150.0 * 47.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(kinds(&c.events), vec![EventKind::Reset]);
        assert_eq!(c.steps.iter().filter(|s| s.estimated).count(), 1);
    }

    #[test]
    fn wraps_are_found_at_16_bits_of_tenths_without_being_told() {
        let pts: Vec<Point> = (0..100)
            .map(|h| p(h * H, ((60_000 + 1_500 * h) % 65_536) as f64 * 0.1))
            .collect();
        let c = clean_counter(&pts, &Rules::default());
        assert!((total(&c) - 150.0 * 99.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(c.events.len(), 3);
        assert!(c.events.iter().all(|e| e.kind == EventKind::Wrap));
    }

    #[test]
    fn a_jump_that_stays_is_a_spike_and_with_a_rating_a_smaller_one_too() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        for q in pts.iter_mut().skip(30) {
            q.value += 50_000.0;
        }
        let c = clean_counter(&pts, &Rules::default());
        assert!((total(&c) - 150.0 * 47.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(kinds(&c.events), vec![EventKind::Spike]);

        let mut pts = hourly(48, 150.0, 120_000.0);
        for q in pts.iter_mut().skip(30) {
            q.value += 1_000.0; // 7.7 times the rate: plausible without a rating
        }
        let c = clean_counter(&pts, &Rules::default());
        assert!(c.events.is_empty());
        let rated = Rules {
            max_kw: Some(400.0),
            ..Rules::default()
        };
        let c = clean_counter(&pts, &rated);
        assert!((total(&c) - 150.0 * 47.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(kinds(&c.events), vec![EventKind::Spike]);
    }

    #[test]
    fn a_stuck_reading_that_catches_up_keeps_its_energy() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        for k in 21..27 {
            pts[k].value = pts[20].value;
        }
        let c = clean_counter(&pts, &Rules::default());
        assert!((total(&c) - 150.0 * 47.0).abs() < 1e-6, "{}", total(&c));
        assert_eq!(kinds(&c.events), vec![EventKind::Stuck]);
        assert_eq!(c.events[0].kwh, 150.0 * 7.0);
    }

    #[test]
    fn gaps_are_judged_against_the_series_own_cadence() {
        // Hourly readings: no gaps. Three days missing: one gap, its energy kept.
        let pts = hourly(100, 150.0, 1000.0);
        assert!(clean_counter(&pts, &Rules::default()).events.is_empty());
        let pts: Vec<Point> = hourly(200, 150.0, 1000.0)
            .into_iter()
            .filter(|q| !(50 * H..122 * H).contains(&q.ts))
            .collect();
        let c = clean_counter(&pts, &Rules::default());
        assert_eq!(kinds(&c.events), vec![EventKind::Gap]);
        assert!((total(&c) - 150.0 * 199.0).abs() < 1e-6);
        // Hourly history then one-minute readings of the same counter: no gap at the seam.
        let mut pts = hourly(48, 60.0, 0.0);
        let end = pts[47];
        pts.extend((1..600).map(|m| p(end.ts + m * 60_000, end.value + m as f64)));
        assert!(clean_counter(&pts, &Rules::default()).events.is_empty());
    }

    #[test]
    fn power_glitches_and_over_rating_readings_are_dropped_and_gaps_named() {
        let mut pts: Vec<Point> = (0..600).map(|m| p(m * 60_000, 150_000.0)).collect();
        pts[100].value *= 1000.0;
        pts[200].value = 0.0;
        pts[300].value = 900_000.0;
        pts.retain(|q| !(400 * 60_000..412 * 60_000).contains(&q.ts));
        let rules = Rules {
            max_kw: Some(400.0),
            max_gap_ms: 15 * 60_000,
            ..Rules::default()
        };
        let c = clean_power(&pts, &rules);
        assert_eq!(
            kinds(&c.events),
            vec![
                EventKind::Spike,
                EventKind::Glitch,
                EventKind::Spike,
                EventKind::Gap
            ]
        );
        assert!(c.breaks.is_empty(), "13 minutes is bridged");
        assert!(c.points.iter().all(|q| q.value == 150_000.0));
    }

    proptest::proptest! {
        /// Hostile readings (any values, repeated and unordered times) never panic either rule,
        /// and a counter's cleaned steps are never negative, never overlap and stay in order.
        #[test]
        fn any_readings_clean_without_panic_and_steps_stay_sane(
            raw in proptest::collection::vec((0i64..5_000_000, proptest::num::f64::ANY), 0..120),
            rated in proptest::option::of(0.001f64..1e6),
        ) {
            let mut pts: Vec<Point> = raw.iter().map(|&(ts, value)| p(ts, value)).collect();
            pts.sort_by_key(|q| q.ts);
            let rules = Rules { max_kw: rated, max_gap_ms: 900_000, ..Rules::default() };
            let c = clean_counter(&pts, &rules);
            for w in c.steps.windows(2) {
                proptest::prop_assert!(w[0].to <= w[1].from);
            }
            for s in &c.steps {
                proptest::prop_assert!(s.kwh >= 0.0 && s.from < s.to, "{s:?}");
            }
            let pw = clean_power(&pts, &rules);
            proptest::prop_assert!(pw.points.len() <= pts.len());
        }
    }
}
