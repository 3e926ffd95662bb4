//! Energy of one metering point over a window: the trapezoid rule over power samples, or the
//! steps of a cumulative counter, both after [`crate::clean`] has named and set aside what the
//! data did wrong. Every figure carries its coverage, the energy it had to estimate, the gaps it
//! skipped and the events behind them.

use kilowatch_core::model::Timestamp;
use kilowatch_store::{Point, TimeRange};
use serde::Serialize;

use crate::clean::{CleanCounter, CleanPower, Rules};
pub use crate::clean::{Event, EventKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Trapezoid rule over `active_power_w`.
    IntegratedPower,
    /// Difference of an `energy_kwh` counter.
    Counter,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Energy {
    /// Measured and estimated energy together.
    pub kwh: f64,
    /// The part of `kwh` estimated from neighbouring rates (intervals a reset or spike hid).
    pub estimated_kwh: f64,
    /// Share of the window covered by measured data, 0..=1 (estimated stretches excluded).
    pub coverage: f64,
    pub method: Method,
    /// Stretches with no usable data (not bridged, or outside the samples).
    pub gaps: Vec<(Timestamp, Timestamp)>,
    /// Counter resets (restart, meter change): their intervals estimated.
    pub resets: usize,
    /// Counter wraps bridged modulo the counter's width.
    pub wraps: usize,
    /// What the data did inside the window, so a report can name it.
    pub events: Vec<Event>,
}

const MS_PER_HOUR: f64 = 3_600_000.0;

/// Integrates power (W) over `range` with the trapezoid rule. Two samples further apart than
/// `max_gap_ms` are not bridged: that stretch is a gap. Samples outside the range are used only
/// to interpolate the value at its edges.
pub fn integrate_power(points: &[Point], range: TimeRange, max_gap_ms: i64) -> Energy {
    integrate(points, range, &[], |dt| dt > max_gap_ms, Vec::new())
}

/// Integrates cleaned power over `range`: only the stretches [`crate::clean::clean_power`]
/// judged too long are left unbridged.
pub fn integrate_clean(power: &CleanPower, range: TimeRange) -> Energy {
    // Only the readings in the window, and one either side to interpolate its edges.
    let p = &power.points;
    let a = p.partition_point(|q| q.ts < range.from).saturating_sub(1);
    let b = (p.partition_point(|q| q.ts <= range.to) + 1).min(p.len());
    integrate(
        &p[a..b.max(a)],
        range,
        &power.breaks,
        |_| false,
        events_in(&power.events, range),
    )
}

fn integrate(
    points: &[Point],
    range: TimeRange,
    breaks: &[Timestamp],
    too_long: impl Fn(i64) -> bool,
    events: Vec<Event>,
) -> Energy {
    let span = (range.to - range.from).max(1) as f64;
    let mut wh_ms = 0.0; // W·ms
    let mut covered = 0i64;
    let mut gaps = Vec::new();
    let mut cursor = range.from; // end of what has been accounted for
    let mut next_break = 0;
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.ts <= range.from || a.ts >= range.to || b.ts <= a.ts {
            continue;
        }
        while breaks.get(next_break).is_some_and(|&t| t < b.ts) {
            next_break += 1;
        }
        let dt = b.ts - a.ts;
        if too_long(dt) || breaks.get(next_break) == Some(&b.ts) {
            continue;
        }
        let lo = a.ts.max(range.from);
        let hi = b.ts.min(range.to);
        let at = |t: Timestamp| a.value + (b.value - a.value) * (t - a.ts) as f64 / dt as f64;
        wh_ms += (at(lo) + at(hi)) / 2.0 * (hi - lo) as f64;
        covered += hi - lo;
        if lo > cursor {
            gaps.push((cursor, lo));
        }
        cursor = cursor.max(hi);
    }
    if cursor < range.to {
        gaps.push((cursor, range.to));
    }
    Energy {
        kwh: wh_ms / MS_PER_HOUR / 1000.0,
        estimated_kwh: 0.0,
        coverage: covered as f64 / span,
        method: Method::IntegratedPower,
        gaps,
        resets: 0,
        wraps: 0,
        events,
    }
}

/// The events touching `range`.
fn events_in(events: &[Event], range: TimeRange) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.at > range.from && e.from < range.to)
        .copied()
        .collect()
}

/// Energy of a cleaned counter over `range`: its steps inside,
/// and the share of each step that crosses an edge in proportion to time (its energy is exact,
/// only its timing is unknown: pue.md §7.3). Estimated steps count in `kwh` and
/// `estimated_kwh`, not in coverage.
pub fn counter_energy(counter: &CleanCounter, range: TimeRange) -> Energy {
    let span = (range.to - range.from).max(1) as f64;
    let t = counter.totals(range.from, range.to);
    let mut gaps = Vec::new();
    match (t.first, t.last) {
        (Some(first), Some(last)) if first < range.to && last > range.from => {
            if first > range.from {
                gaps.push((range.from, first));
            }
            if last < range.to {
                gaps.push((last, range.to));
            }
        }
        _ => gaps.push((range.from, range.to)),
    }
    let events = events_in(&counter.events, range);
    let count = |k: EventKind| events.iter().filter(|e| e.kind == k).count();
    Energy {
        kwh: t.kwh,
        estimated_kwh: t.estimated_kwh,
        coverage: t.covered_ms as f64 / span,
        method: Method::Counter,
        gaps,
        resets: count(EventKind::Reset),
        wraps: count(EventKind::Wrap),
        events,
    }
}

/// Energy from a cumulative kWh counter over `range`: [`crate::clean::clean_counter`] then
/// [`counter_energy`]. A step down is a wrap when it fits one (at the profile's modulus, or at a
/// usual one matching the neighbouring rate) and the device did not restart; otherwise a reset,
/// whose interval is estimated. No step is ever negative. `points` are oldest first.
pub fn counter_delta(points: &[Point], range: TimeRange, rules: &Rules<'_>) -> Energy {
    counter_energy(&crate::clean::clean_counter(points.to_vec(), rules), range)
}

/// Restart times of a device from its uptime samples: wherever uptime went backwards.
pub fn reboots(uptime: &[Point]) -> Vec<Timestamp> {
    uptime
        .windows(2)
        .filter(|w| w[1].value < w[0].value)
        .map(|w| w[1].ts)
        .collect()
}

/// Sums the energies of several meters of one role. Coverage is the worst meter's: a total is
/// only as complete as its least complete part.
pub fn sum(parts: &[Energy]) -> Option<Energy> {
    let first = parts.first()?;
    Some(Energy {
        kwh: parts.iter().map(|e| e.kwh).sum(),
        estimated_kwh: parts.iter().map(|e| e.estimated_kwh).sum(),
        coverage: parts
            .iter()
            .map(|e| e.coverage)
            .fold(f64::INFINITY, f64::min),
        method: first.method,
        gaps: parts.iter().flat_map(|e| e.gaps.iter().copied()).collect(),
        resets: parts.iter().map(|e| e.resets).sum(),
        wraps: parts.iter().map(|e| e.wraps).sum(),
        events: parts
            .iter()
            .flat_map(|e| e.events.iter().copied())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn issue_3_counter32_wrap_is_bridged_but_a_reboot_is_a_reset() {
        // A Counter32 of Wh: wraps at 4294967.296 kWh.
        let w = 4_294_967.296;
        let pts = vec![p(0, w - 1.0), p(H, 0.5), p(2 * H, 1.5)];
        let rules = Rules {
            wrap_kwh: Some(w),
            reboots: &[],
            max_kw: None,
            ..Rules::default()
        };
        let e = counter_delta(
            &pts,
            TimeRange { from: 0, to: 2 * H },
            &Rules {
                max_gap_ms: 2 * H,
                ..rules
            },
        );
        assert!((e.kwh - 2.5).abs() < 1e-6, "{}", e.kwh);
        assert_eq!((e.wraps, e.resets), (1, 0));
        // The same drop with the device restarted in between is a reset: skipped, counted.
        let rules = Rules {
            wrap_kwh: Some(w),
            reboots: &[H / 2],
            max_kw: None,
            ..Rules::default()
        };
        let e = counter_delta(
            &pts,
            TimeRange { from: 0, to: 2 * H },
            &Rules {
                max_gap_ms: 2 * H,
                ..rules
            },
        );
        // The hidden hour is estimated from the next hour's rate, and says so.
        assert!((e.kwh - 2.0).abs() < 1e-9, "{}", e.kwh);
        assert!((e.estimated_kwh - 1.0).abs() < 1e-9);
        assert_eq!((e.wraps, e.resets), (0, 1));
    }

    #[test]
    fn pue_md_t6_counter32_wrap_of_wh_is_plausible_and_accepted() {
        // Raw Wh 4,294,967,000 then 1,000 a minute later, on a 100 kW meter.
        let pts = vec![p(0, 4_294_967.0), p(60_000, 1.0)];
        let rules = Rules {
            wrap_kwh: Some(4_294_967.296),
            reboots: &[],
            max_kw: Some(100.0),
            ..Rules::default()
        };
        let e = counter_delta(
            &pts,
            TimeRange {
                from: 0,
                to: 60_000,
            },
            &Rules {
                max_gap_ms: 120_000,
                ..rules
            },
        );
        assert!((e.kwh - 1.296).abs() < 1e-6, "{}", e.kwh);
        let events: Vec<_> = e.events.iter().map(|e| (e.at, e.kind)).collect();
        assert_eq!(events, vec![(60_000, EventKind::Wrap)]);
    }

    #[test]
    fn pue_md_t7_a_drop_far_from_rollover_is_a_reset_never_negative_or_the_raw_value() {
        let pts = vec![p(0, 1_234.567), p(60_000, 0.012)];
        let rules = Rules {
            wrap_kwh: Some(4_294_967.296),
            reboots: &[],
            max_kw: Some(100.0),
            ..Rules::default()
        };
        let e = counter_delta(
            &pts,
            TimeRange {
                from: 0,
                to: 60_000,
            },
            &Rules {
                max_gap_ms: 120_000,
                ..rules
            },
        );
        // Nothing around it to estimate from: no energy, and the reset named.
        assert_eq!(e.kwh, 0.0);
        let events: Vec<_> = e.events.iter().map(|e| (e.at, e.kind)).collect();
        assert_eq!(events, vec![(60_000, EventKind::Reset)]);
    }

    #[test]
    fn issue_5_meter_swap_spike_and_gap_are_named() {
        // Normal 1 kWh/min steps on a 100 kW meter; a swap (new meter at 50), a spike of +500 kWh,
        // and a 30-minute gap.
        let pts = vec![
            p(0, 1000.0),
            p(60_000, 1001.0),
            p(120_000, 50.0), // meter swapped
            p(180_000, 51.0),
            p(240_000, 551.0), // spike: 500 kWh in a minute on a 100 kW meter
            p(300_000, 552.0),
            p(2_100_000, 582.0), // 30 minutes later: a gap
        ];
        let rules = Rules {
            wrap_kwh: None,
            reboots: &[],
            max_kw: Some(100.0),
            ..Rules::default()
        };
        let e = counter_delta(
            &pts,
            TimeRange {
                from: 0,
                to: 2_100_000,
            },
            &Rules {
                max_gap_ms: 15 * 60_000,
                ..rules
            },
        );
        // Measured: 0->1 min (1), 2->3 min (1), 4->5 min (1), and across the gap (30, exact);
        // the swapped and the spiked minute estimated at the neighbouring 1 kWh/min.
        assert!((e.kwh - 35.0).abs() < 1e-9, "{}", e.kwh);
        assert!((e.estimated_kwh - 2.0).abs() < 1e-9, "{}", e.estimated_kwh);
        let kinds: Vec<EventKind> = e.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Reset, EventKind::Spike, EventKind::Gap]
        );
    }

    #[test]
    fn reboots_are_where_uptime_goes_backwards() {
        let up = vec![p(0, 100.0), p(1000, 101.0), p(2000, 3.0), p(3000, 4.0)];
        assert_eq!(reboots(&up), vec![2000]);
    }

    proptest! {
        /// A counter sampled modulo its width at rates within a factor of two, with restarts
        /// at random samples: the energy is never negative, exact with every wrap bridged when
        /// nothing restarts, and otherwise off by no more than the restarted steps could hold.
        #[test]
        fn counter_deltas_are_never_negative_or_silently_lost(
            steps in proptest::collection::vec((10.0f64..20.0, proptest::bool::weighted(0.1)), 1..80),
        ) {
            let wrap = 1000.0;
            let mut raw = 990.0;
            let mut pts = vec![p(0, raw)];
            let mut restarts = Vec::new();
            for (i, (step, restart)) in steps.iter().enumerate() {
                let ts = (i as i64 + 1) * 60_000;
                if *restart {
                    raw = *step; // the meter starts again from zero and counts `step`
                    restarts.push(ts);
                } else {
                    raw = (raw + step) % wrap;
                }
                pts.push(p(ts, raw));
            }
            let range = TimeRange { from: 0, to: pts.last().map_or(0, |p| p.ts) };
            let e = counter_delta(&pts, range, &Rules { wrap_kwh: Some(wrap), reboots: &restarts, max_kw: None, max_gap_ms: 120_000 });
            let all: f64 = steps.iter().map(|(s, _)| s).sum();
            prop_assert!(e.kwh >= 0.0 && e.estimated_kwh <= e.kwh + 1e-9);
            if restarts.is_empty() {
                prop_assert!((e.kwh - all).abs() < 1e-6, "kwh {} all {}", e.kwh, all);
                prop_assert_eq!(e.estimated_kwh, 0.0);
            } else {
                let slack = 20.0 * 4.0 * restarts.len() as f64;
                prop_assert!((e.kwh - all).abs() <= slack + 1e-6, "kwh {} all {} slack {}", e.kwh, all, slack);
            }
            prop_assert!(e.resets <= restarts.len());
        }
    }

    fn p(ts: i64, value: f64) -> Point {
        Point { ts, value }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn constant_power_for_one_hour_is_its_kwh() {
        let pts: Vec<Point> = (0..=60).map(|m| p(m * 60_000, 1000.0)).collect();
        let e = integrate_power(&pts, TimeRange { from: 0, to: H }, 120_000);
        assert!((e.kwh - 1.0).abs() < 1e-12, "{}", e.kwh);
        assert!((e.coverage - 1.0).abs() < 1e-12);
        assert!(e.gaps.is_empty());
    }

    #[test]
    fn ramp_is_integrated_exactly_and_edges_interpolated() {
        // 0 W at t=0 rising to 2000 W at t=2h; window [0.5h, 1.5h] averages 1000 W -> 1 kWh.
        let pts = vec![p(0, 0.0), p(2 * H, 2000.0)];
        let e = integrate_power(
            &pts,
            TimeRange {
                from: H / 2,
                to: 3 * H / 2,
            },
            3 * H,
        );
        assert!((e.kwh - 1.0).abs() < 1e-12, "{}", e.kwh);
    }

    #[test]
    fn long_gap_is_reported_not_bridged() {
        let pts = vec![
            p(0, 1000.0),
            p(H / 4, 1000.0),
            p(3 * H / 4, 1000.0),
            p(H, 1000.0),
        ];
        let e = integrate_power(&pts, TimeRange { from: 0, to: H }, 20 * 60_000);
        assert!((e.kwh - 0.5).abs() < 1e-12, "{}", e.kwh);
        assert!((e.coverage - 0.5).abs() < 1e-12);
        assert_eq!(e.gaps, vec![(H / 4, 3 * H / 4)]);
    }

    #[test]
    fn counter_reset_is_skipped_and_counted() {
        let pts = vec![p(0, 100.0), p(H / 2, 101.0), p(H, 0.5), p(2 * H, 1.5)];
        let e = counter_delta(
            &pts,
            TimeRange { from: 0, to: 2 * H },
            &Rules {
                max_gap_ms: 2 * H,
                ..Rules::default()
            },
        );
        // The half hour the reset hid is estimated at the mean of its neighbours' rates.
        assert!((e.kwh - 2.75).abs() < 1e-12, "{}", e.kwh);
        assert!((e.estimated_kwh - 0.75).abs() < 1e-12);
        assert_eq!(e.resets, 1);
        assert!((e.coverage - 0.75).abs() < 1e-12);
    }
}
