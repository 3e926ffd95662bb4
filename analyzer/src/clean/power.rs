//! Power readings (W) cleaned: glitches and readings above the rating dropped, and the stretches
//! too long to bridge named.

use kilowatch_core::model::Timestamp;
use kilowatch_store::Point;

use super::{Event, EventKind, GAP_FACTOR, Rules, hours, local_interval, ordered};

/// Power readings (W, oldest first) cleaned: the readings kept (glitches and readings above the
/// rating dropped), and the times of readings that start a stretch too long to bridge.
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
pub fn clean_power(points: Vec<Point>, rules: &Rules<'_>) -> CleanPower {
    let mut out = CleanPower::default();
    let mut dropped: Vec<usize> = Vec::new();
    // The last kept reading, and the interval before it.
    let mut prev: Option<Point> = None;
    let mut prev_dt: Option<i64> = None;
    let max_w = rules.max_kw.map(|kw| kw * 1000.0 * 1.2);
    let raw = ordered(points);
    for (j, &x) in raw.iter().enumerate() {
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
            dropped.push(j);
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
                    dropped.push(j);
                    continue;
                }
            }
        }
        if let Some(a) = prev {
            let dt = x.ts - a.ts;
            let long = prev_dt.is_none_or(|l| dt as f64 > GAP_FACTOR * l as f64);
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
        prev_dt = prev.map(|a| x.ts - a.ts);
        prev = Some(x);
    }
    let mut raw = raw;
    if !dropped.is_empty() {
        let (mut i, mut d) = (0usize, 0usize);
        raw.retain(|_| {
            let drop = dropped.get(d) == Some(&i);
            d += usize::from(drop);
            i += 1;
            !drop
        });
    }
    out.points = raw;
    out
}
