//! The trends: hourly energy-based PUE and facility kW over the last week.
//!
//! The loader runs every few seconds, so each series is read once, already aggregated by the
//! store: a counter's hourly `last` (its hour's energy is the step from the previous hour's),
//! or, for a meter without a counter, its hourly mean power (kW × 1 h = kWh). Only complete
//! hours are shown; the current one is `pue_hour`.

use std::collections::BTreeMap;

use kilowatch_analyzer::pue::{self, Pue, Ratings};
use kilowatch_core::model::{Category, Field, Role, Timestamp};
use kilowatch_store::{Aggregate, ReadStore, Selector, SeriesRef, StoreError, TimeRange, Window};

pub(super) const HOUR: i64 = 3_600_000;
/// How far back the trends go.
pub(super) const TREND_HOURS: i64 = 7 * 24;
/// The facility kW trend's resolution.
const KW_EVERY: i64 = 15 * 60_000;

/// The complete hours of the trend window: (first hour's start, number of hours).
pub(super) fn hours(now: Timestamp) -> (Timestamp, usize) {
    let end = now.div_euclid(HOUR) * HOUR;
    (end - TREND_HOURS * HOUR, TREND_HOURS as usize)
}

/// kWh of one meter in each hour from `start`: from its counter where both hour ends have a
/// reading and the step is neither negative (a reset) nor beyond its rating (a spike), else
/// from its mean power.
fn meter_hours(
    store: &dyn ReadStore,
    counter: Option<&SeriesRef>,
    power: Option<&SeriesRef>,
    start: Timestamp,
    n: usize,
    max_kwh: Option<f64>,
) -> Result<Vec<Option<f64>>, StoreError> {
    let end = start + n as i64 * HOUR;
    let window = |aggregate| {
        Some(Window {
            every_ms: HOUR,
            aggregate,
        })
    };
    let index = |ts: Timestamp| usize::try_from((ts - start).div_euclid(HOUR)).ok();
    let mut out = vec![None; n];
    if let Some(c) = counter {
        // One hour more, for the first hour's starting reading.
        let range = TimeRange {
            from: start - HOUR,
            to: end,
        };
        let lasts: BTreeMap<Timestamp, f64> = store
            .read(c, range, window(Aggregate::Last))?
            .into_iter()
            .map(|p| (p.ts, p.value))
            .collect();
        for (ts, v) in &lasts {
            let (Some(i), Some(prev)) = (index(*ts), lasts.get(&(ts - HOUR))) else {
                continue;
            };
            let kwh = v - prev;
            if kwh >= 0.0
                && max_kwh.is_none_or(|m| kwh <= m)
                && let Some(o) = out.get_mut(i)
            {
                *o = Some(kwh);
            }
        }
    }
    if let Some(p) = power
        && out.iter().any(Option::is_none)
    {
        let range = TimeRange {
            from: start,
            to: end,
        };
        for m in store.read(p, range, window(Aggregate::Mean))? {
            if let Some(o) = index(m.ts).and_then(|i| out.get_mut(i))
                && o.is_none()
                && m.value >= 0.0
            {
                *o = Some(m.value / 1000.0);
            }
        }
    }
    Ok(out)
}

/// kWh of every metering point of `role` in each hour; `None` for an hour any of them lacks
/// (a partial sum would make a PUE that is not the site's), and for every hour when the role
/// has no meters.
fn role_hours(
    store: &dyn ReadStore,
    site: &str,
    role: Role,
    start: Timestamp,
    n: usize,
    ratings: &Ratings,
) -> Result<Vec<Option<f64>>, StoreError> {
    let sel = |field| {
        Selector::field(field)
            .tag("site", site)
            .tag("role", role.tag())
            .without("point")
    };
    let powers = store.find(&sel(Field::ActivePowerW))?;
    let counters = store.find(&sel(Field::EnergyKwh))?;
    let mut devices: Vec<&str> = powers
        .iter()
        .chain(&counters)
        .filter_map(|s| s.tag("device"))
        .collect();
    devices.sort_unstable();
    devices.dedup();
    let mut sum: Vec<Option<f64>> = vec![if devices.is_empty() { None } else { Some(0.0) }; n];
    for d in devices {
        let of = |list: &'_ [SeriesRef]| list.iter().find(|s| s.tag("device") == Some(d)).cloned();
        // As the cleaning rules: a step above 1.2 times the meter's rating is a spike.
        let max_kwh = ratings.get(d).map(|kw| kw * 1.2);
        let hours = meter_hours(
            store,
            of(&counters).as_ref(),
            of(&powers).as_ref(),
            start,
            n,
            max_kwh,
        )?;
        for (s, h) in sum.iter_mut().zip(hours) {
            *s = match (*s, h) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
    }
    Ok(sum)
}

/// (hour start, PUE) for each complete hour of the last week that has one: E_DC over E_IT of
/// the hour, refused where it cannot be physical (as every PUE the analyzer gives).
pub(super) fn hourly_pue(
    store: &dyn ReadStore,
    site: &str,
    cat: Category,
    now: Timestamp,
    ratings: &Ratings,
) -> Result<Vec<(f64, f64)>, StoreError> {
    let (start, n) = hours(now);
    let facility = role_hours(store, site, Role::Facility, start, n, ratings)?;
    let it = role_hours(store, site, Role::It(cat), start, n, ratings)?;
    let mut out = Vec::new();
    for (i, (f, t)) in facility.into_iter().zip(it).enumerate() {
        let from = start + i as i64 * HOUR;
        let range = TimeRange {
            from,
            to: from + HOUR,
        };
        if let (Some(f), Some(t)) = (f, t)
            && let Pue::Value { pue, .. } = pue::ratio(f, t, cat, range)
        {
            out.push((from as f64, pue));
        }
    }
    Ok(out)
}

/// (window start, facility kW) every 15 minutes over the last week, where every facility
/// meter has a reading in the window.
pub(super) fn facility_kw(
    store: &dyn ReadStore,
    site: &str,
    now: Timestamp,
) -> Result<Vec<(f64, f64)>, StoreError> {
    let series = store.find(
        &Selector::field(Field::ActivePowerW)
            .tag("site", site)
            .tag("role", Role::Facility.tag()),
    )?;
    let range = TimeRange {
        from: now - TREND_HOURS * HOUR,
        to: now,
    };
    let mut kw: BTreeMap<Timestamp, (usize, f64)> = BTreeMap::new();
    for s in &series {
        let window = Window {
            every_ms: KW_EVERY,
            aggregate: Aggregate::Mean,
        };
        for p in store.read(s, range, Some(window))? {
            let e = kw.entry(p.ts).or_default();
            e.0 += 1;
            e.1 += p.value / 1000.0;
        }
    }
    Ok(kw
        .into_iter()
        .filter(|(_, (n, _))| *n == series.len())
        .map(|(t, (_, v))| (t as f64, v))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_a_week_of_complete_hours() {
        let now = 1_000 * HOUR + 1_234;
        assert_eq!(hours(now), (1_000 * HOUR - 168 * HOUR, 168));
        assert_eq!(hours(1_000 * HOUR).0, 832 * HOUR);
    }
}
