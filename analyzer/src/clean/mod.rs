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

mod counter;
mod power;

use kilowatch_core::model::Timestamp;
use kilowatch_store::Point;
use serde::Serialize;

pub use counter::{CleanCounter, Totals, clean_counter};
pub use power::{CleanPower, clean_power};

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

/// The points with strictly rising times and finite values (the first of a repeated time
/// kept): as a store returns them, untouched.
pub(crate) fn ordered(mut points: Vec<Point>) -> Vec<Point> {
    let fine =
        points.iter().all(|p| p.value.is_finite()) && points.windows(2).all(|w| w[0].ts < w[1].ts);
    if !fine {
        let mut last: Option<Timestamp> = None;
        points.retain(|p| {
            let keep = last.is_none_or(|l| p.ts > l) && p.value.is_finite();
            if keep {
                last = Some(p.ts);
            }
            keep
        });
    }
    points
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

    /// Energy over all of `pts` after cleaning, and the estimated part.
    fn energy(c: &CleanCounter, pts: &[Point]) -> (f64, f64) {
        let t = c.totals(pts[0].ts, pts[pts.len() - 1].ts);
        (t.kwh, t.estimated_kwh)
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn issue_16_a_reading_a_thousand_times_too_large_is_a_glitch_bridged() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        pts[20].value *= 1000.0;
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 47.0).abs() < 1e-6, "{kwh}");
        assert_eq!(kinds(&c.events), vec![EventKind::Glitch]);
        assert_eq!(est, 0.0);
    }

    #[test]
    fn a_dip_and_a_word_swap_are_glitches_in_either_direction() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        pts[10].value /= 1000.0;
        pts[30].value = 3.0;
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 47.0).abs() < 1e-6, "{kwh}");
        assert_eq!(kinds(&c.events), vec![EventKind::Glitch, EventKind::Glitch]);
        assert_eq!(est, 0.0, "glitches are bridged, not estimated");
    }

    #[test]
    fn a_swap_to_zero_is_a_reset_whose_hour_is_estimated_from_its_neighbours() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        for (k, q) in pts.iter_mut().enumerate().skip(20) {
            q.value = 75.0 + 150.0 * (k - 20) as f64; // swapped half-way through hour 19-20
        }
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 47.0).abs() < 1e-6, "{kwh}");
        assert_eq!(kinds(&c.events), vec![EventKind::Reset]);
        assert!((est - 150.0).abs() < 1e-6, "{est}");
    }

    #[test]
    fn wraps_are_found_at_16_bits_of_tenths_without_being_told() {
        let pts: Vec<Point> = (0..100)
            .map(|h| p(h * H, ((60_000 + 1_500 * h) % 65_536) as f64 * 0.1))
            .collect();
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 99.0).abs() < 1e-6, "{kwh}");
        assert_eq!(est, 0.0, "a wrap is exact");
        assert_eq!(c.events.len(), 3);
        assert!(c.events.iter().all(|e| e.kind == EventKind::Wrap));
    }

    #[test]
    fn a_jump_that_stays_is_a_spike_and_with_a_rating_a_smaller_one_too() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        for q in pts.iter_mut().skip(30) {
            q.value += 50_000.0;
        }
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 47.0).abs() < 1e-6, "{kwh}");
        assert!(
            (est - 150.0).abs() < 1e-6,
            "the spiked hour is estimated: {est}"
        );
        assert_eq!(kinds(&c.events), vec![EventKind::Spike]);

        let mut pts = hourly(48, 150.0, 120_000.0);
        for q in pts.iter_mut().skip(30) {
            q.value += 1_000.0; // 7.7 times the rate: plausible without a rating
        }
        let c = clean_counter(pts.clone(), &Rules::default());
        assert!(c.events.is_empty());
        let rated = Rules {
            max_kw: Some(400.0),
            ..Rules::default()
        };
        let c = clean_counter(pts.clone(), &rated);
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 47.0).abs() < 1e-6, "{kwh}");
        assert!((est - 150.0).abs() < 1e-6, "{est}");
        assert_eq!(kinds(&c.events), vec![EventKind::Spike]);
    }

    #[test]
    fn a_stuck_reading_that_catches_up_keeps_its_energy() {
        let mut pts = hourly(48, 150.0, 120_000.0);
        for k in 21..27 {
            pts[k].value = pts[20].value;
        }
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 150.0 * 47.0).abs() < 1e-6, "{kwh}");
        assert_eq!(kinds(&c.events), vec![EventKind::Stuck]);
        assert_eq!(c.events[0].kwh, 150.0 * 7.0);
        assert_eq!(est, 0.0, "a catch-up is measured energy");
    }

    #[test]
    fn gaps_are_judged_against_the_series_own_cadence() {
        // Hourly readings: no gaps. Three days missing: one gap, its energy kept.
        let pts = hourly(100, 150.0, 1000.0);
        assert!(
            clean_counter(pts.clone(), &Rules::default())
                .events
                .is_empty()
        );
        let pts: Vec<Point> = hourly(200, 150.0, 1000.0)
            .into_iter()
            .filter(|q| !(50 * H..122 * H).contains(&q.ts))
            .collect();
        let c = clean_counter(pts.clone(), &Rules::default());
        assert_eq!(kinds(&c.events), vec![EventKind::Gap]);
        assert!((energy(&c, &pts).0 - 150.0 * 199.0).abs() < 1e-6);
        // Hourly history then one-minute readings of the same counter: no gap at the seam.
        let mut pts = hourly(48, 60.0, 0.0);
        let end = pts[47];
        pts.extend((1..600).map(|m| p(end.ts + m * 60_000, end.value + m as f64)));
        assert!(
            clean_counter(pts.clone(), &Rules::default())
                .events
                .is_empty()
        );
    }

    #[test]
    fn polls_with_jitter_and_a_glitch_among_them_read_exactly() {
        // One-minute polls stamped up to 0.9 s late, 2.5 kWh a minute, one reading torn.
        let mut pts: Vec<Point> = (0..2000)
            .map(|m| p(m * 60_000 + (m * 7919 % 900), 10_000.0 + 2.5 * m as f64))
            .collect();
        pts[1234].value = 3.0;
        let c = clean_counter(pts.clone(), &Rules::default());
        let (kwh, est) = energy(&c, &pts);
        assert!((kwh - 2.5 * 1999.0).abs() < 1e-6, "{kwh}");
        assert_eq!((kinds(&c.events), est), (vec![EventKind::Glitch], 0.0));
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
        let c = clean_power(pts.clone(), &rules);
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
        let kept = &c.points;
        assert_eq!(kept.len(), pts.len() - 3);
        assert!(kept.iter().all(|q| q.value == 150_000.0));
    }

    proptest::proptest! {
        /// Hostile readings (any values, repeated and unordered times) never panic either rule,
        /// and a counter's cleaned steps are never negative, never overlap and stay in order.
        #[test]
        fn any_readings_clean_without_panic_and_steps_stay_sane(
            raw in proptest::collection::vec((0i64..5_000_000, proptest::prop_oneof![-1e9f64..1e9, proptest::num::f64::ANY]), 0..120),
            rated in proptest::option::of(0.001f64..1e6),
        ) {
            let mut pts: Vec<Point> = raw.iter().map(|&(ts, value)| p(ts, value)).collect();
            pts.sort_by_key(|q| q.ts);
            let rules = Rules { max_kw: rated, max_gap_ms: 900_000, ..Rules::default() };
            // Any value at all must not panic either rule.
            let _ = clean_counter(pts.clone(), &rules);
            let _ = clean_power(pts.clone(), &rules);
            // Values a device might send (hostile but not astronomical) give sane windows.
            pts.retain(|q| q.value.abs() <= 1e9);
            let c = clean_counter(pts.clone(), &rules);
            proptest::prop_assert!(c.points.windows(2).all(|w| w[0].ts < w[1].ts));
            // Every window's energy is finite and never negative.
            for (from, to) in [(0, 5_000_000), (1_000_000, 2_000_000), (4_999_000, 5_000_000)] {
                let t = c.totals(from, to);
                proptest::prop_assert!(t.kwh.is_finite() && t.kwh >= -1e-3, "{t:?}");
                proptest::prop_assert!(t.covered_ms >= 0 && t.covered_ms <= to - from);
            }
            let pw = clean_power(pts.clone(), &rules);
            proptest::prop_assert!(pw.points.len() <= pts.len());
        }
    }
}
