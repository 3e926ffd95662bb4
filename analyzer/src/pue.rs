//! PUE per ISO/IEC 30134-2: facility energy over IT energy, per measurement category, from
//! energies over a window — never a ratio of instantaneous powers (domain/pue.md §1, §3).

use std::collections::BTreeMap;

use kilowatch_core::model::{Category, Field, Role};
use kilowatch_store::{Point, ReadStore, Selector, SeriesRef, StoreError, TimeRange};
use serde::Serialize;

use crate::clean;
use crate::energy::{self, Energy};

#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Power samples further apart than this (and than three of the series' own intervals)
    /// are not bridged when integrating power.
    pub max_gap_ms: i64,
    /// Meter ratings (kW) by device id, from the inventory's `max_power_w`: a step or reading
    /// above 1.2 times the rating is a spike.
    pub ratings: &'a Ratings,
}

/// Meter ratings in kW by device id.
pub type Ratings = BTreeMap<String, f64>;

static NO_RATINGS: Ratings = BTreeMap::new();

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            max_gap_ms: 15 * 60 * 1000,
            ratings: &NO_RATINGS,
        }
    }
}

/// The inventory's meter ratings (`max_power_w`), in kW.
pub fn ratings(config: &kilowatch_core::config::Config) -> Ratings {
    config
        .devices
        .iter()
        .filter_map(|d| Some((d.id.clone(), d.max_power_w? / 1000.0)))
        .collect()
}

impl Options<'_> {
    fn rules<'r>(&self, series: &SeriesRef, reboots: &'r [i64]) -> clean::Rules<'r> {
        clean::Rules {
            max_kw: series
                .tag("device")
                .and_then(|d| self.ratings.get(d))
                .copied(),
            wrap_kwh: series.tag("wrap_at").and_then(|w| w.parse().ok()),
            reboots,
            max_gap_ms: self.max_gap_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeterEnergy {
    pub device: String,
    pub energy: Energy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Pue {
    Value {
        pue: f64,
        dcie_pct: f64,
        label: String,
    },
    /// PUE <= 1 or no IT energy: a metering or boundary error, never a result (pue.md §1).
    DataError { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SitePue {
    pub site: String,
    pub from: i64,
    pub to: i64,
    pub facility: Option<Energy>,
    pub facility_meters: Vec<MeterEnergy>,
    /// IT energy per measured category (1, 2, 3).
    pub it: BTreeMap<u8, Energy>,
    pub pue: BTreeMap<u8, Pue>,
}

/// Energy of one metering point: integrated power where the device reports power, else its
/// energy counter.
pub fn meter_energy(
    store: &dyn ReadStore,
    power: &SeriesRef,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<Energy, StoreError> {
    Ok(meter_energy_windows(store, power, &[range], opts)?
        .pop()
        .unwrap_or_else(|| energy::integrate_power(&[], range, opts.max_gap_ms)))
}

/// The context read beyond a set of windows: the gap bridged, and up to a day (a quarter of the
/// windows' span) so the cleaning rules see the readings around each edge.
fn margin(windows: &[TimeRange], gap: i64) -> i64 {
    let span = windows.iter().map(|w| w.to).max().unwrap_or(0)
        - windows.iter().map(|w| w.from).min().unwrap_or(0);
    gap.max((span / 4).min(86_400_000))
}

/// A series read once over every window, widened by `margin` at both ends.
fn read_wide(
    store: &dyn ReadStore,
    series: &SeriesRef,
    windows: &[TimeRange],
    margin: i64,
) -> Result<Vec<Point>, StoreError> {
    let (Some(from), Some(to)) = (
        windows.iter().map(|w| w.from).min(),
        windows.iter().map(|w| w.to).max(),
    ) else {
        return Ok(Vec::new());
    };
    let wide = TimeRange {
        from: from - margin,
        to: to + margin,
    };
    store.read(series, wide, None)
}

/// The points in `[from, to)`.
fn slice(points: &[Point], from: i64, to: i64) -> &[Point] {
    let a = points.partition_point(|p| p.ts < from);
    let b = points.partition_point(|p| p.ts < to);
    &points[a..b.max(a)]
}

/// [`meter_energy`] over several windows, reading each series once.
pub fn meter_energy_windows(
    store: &dyn ReadStore,
    power: &SeriesRef,
    windows: &[TimeRange],
    opts: Options<'_>,
) -> Result<Vec<Energy>, StoreError> {
    let powers = read_wide(store, power, windows, margin(windows, opts.max_gap_ms))?;
    let cleaned = clean::clean_power(powers, &opts.rules(power, &[]));
    let integrated = windows
        .iter()
        .map(|&w| energy::integrate_clean(&cleaned, w));
    // The same metering point's counter: exact whatever the poll gaps (pue.md §7.1), so it wins
    // whenever its resolution is fine enough for the window — a 0.1 kWh register over a
    // two-hour window of 2 kWh would be 5 % coarse, where integrated power is not.
    let mut sel = Selector::field(Field::EnergyKwh);
    for key in ["site", "device", "role"] {
        if let Some(v) = power.tag(key) {
            sel = sel.tag(key, v);
        }
    }
    let Some(counter) = store.find(&sel.without("point"))?.into_iter().next() else {
        return Ok(integrated.collect());
    };
    let counters = read_counter(store, &counter, windows, opts)?;
    Ok(windows
        .iter()
        .zip(integrated)
        .map(|(&w, integrated)| {
            let from_counter = energy::counter_energy(&counters, w);
            let resolution = resolution(slice(&counters.points, w.from, w.to));
            let fine = from_counter.kwh > 0.0 && resolution / from_counter.kwh < 0.001;
            if (fine && from_counter.coverage >= integrated.coverage * 0.99)
                || integrated.coverage == 0.0
            {
                from_counter
            } else {
                integrated
            }
        })
        .collect())
}

/// A counter's apparent resolution: the smallest positive step between its readings.
fn resolution(points: &[Point]) -> f64 {
    points
        .windows(2)
        .map(|w| w[1].value - w[0].value)
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min)
}

/// Energy from a metering point's `energy_kwh` counter, with the device's uptime telling
/// restarts from wraps.
pub fn counter_energy(
    store: &dyn ReadStore,
    counter: &SeriesRef,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<Energy, StoreError> {
    Ok(energy::counter_energy(
        &read_counter(store, counter, &[range], opts)?,
        range,
    ))
}

/// A counter read once over several windows and cleaned once, with its device's uptime telling
/// restarts from wraps.
fn read_counter(
    store: &dyn ReadStore,
    counter: &SeriesRef,
    windows: &[TimeRange],
    opts: Options<'_>,
) -> Result<clean::CleanCounter, StoreError> {
    let margin = margin(windows, opts.max_gap_ms);
    let uptime = match counter.tag("device") {
        Some(d) => store
            .find(&Selector::field(Field::UptimeS).tag("device", d))?
            .into_iter()
            .next(),
        None => None,
    };
    let reboots = match uptime {
        Some(u) => energy::reboots(&read_wide(store, &u, windows, margin)?),
        None => Vec::new(),
    };
    let points = read_wide(store, counter, windows, margin)?;
    Ok(clean::clean_counter(points, &opts.rules(counter, &reboots)))
}

/// Energy per device of every metering point of `role` in `site`: from its power where it
/// reports power (falling back to its counter), else from its energy counter alone (meters
/// imported from a BMS export often have only kWh readings).
pub fn role_energy(
    store: &dyn ReadStore,
    site: &str,
    role: Role,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<Vec<MeterEnergy>, StoreError> {
    Ok(role_energy_windows(store, site, role, &[range], opts)?
        .pop()
        .unwrap_or_default())
}

/// [`role_energy`] for each of several windows (a year's days and months), reading each series
/// once rather than once per window.
pub fn role_energy_windows(
    store: &dyn ReadStore,
    site: &str,
    role: Role,
    windows: &[TimeRange],
    opts: Options<'_>,
) -> Result<Vec<Vec<MeterEnergy>>, StoreError> {
    let power = store.find(
        &Selector::field(Field::ActivePowerW)
            .tag("site", site)
            .tag("role", role.tag()),
    )?;
    let counters = store.find(
        &Selector::field(Field::EnergyKwh)
            .tag("site", site)
            .tag("role", role.tag())
            .without("point"),
    )?;
    let mut out: Vec<Vec<MeterEnergy>> = vec![Vec::new(); windows.len()];
    let mut add = |device: &str, energies: Vec<Energy>| {
        for (o, energy) in out.iter_mut().zip(energies) {
            o.push(MeterEnergy {
                device: device.to_owned(),
                energy,
            });
        }
    };
    for s in &power {
        add(
            s.tag("device").unwrap_or_default(),
            meter_energy_windows(store, s, windows, opts)?,
        );
    }
    for c in &counters {
        let device = c.tag("device").unwrap_or_default();
        if power.iter().any(|p| p.tag("device") == Some(device)) {
            continue;
        }
        let clean = read_counter(store, c, windows, opts)?;
        add(
            device,
            windows
                .iter()
                .map(|&w| energy::counter_energy(&clean, w))
                .collect(),
        );
    }
    Ok(out)
}

/// The total of a counter `field` (water m³, heat kWh) over `range` for every meter of `role`
/// in `site`, cleaned as energy counters are (wraps, resets, spikes bridged and reported).
pub fn role_counter(
    store: &dyn ReadStore,
    site: &str,
    role: Role,
    field: Field,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<Vec<MeterEnergy>, StoreError> {
    let counters = store.find(
        &Selector::field(field)
            .tag("site", site)
            .tag("role", role.tag())
            .without("point"),
    )?;
    let mut out = Vec::new();
    for c in &counters {
        let clean = read_counter(store, c, &[range], opts)?;
        out.push(MeterEnergy {
            device: c.tag("device").unwrap_or_default().to_owned(),
            energy: energy::counter_energy(&clean, range),
        });
    }
    Ok(out)
}

/// PUE of `site` over `range` for every IT category that has meters.
pub fn site_pue(
    store: &dyn ReadStore,
    site: &str,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<SitePue, StoreError> {
    let facility_meters = role_energy(store, site, Role::Facility, range, opts)?;
    let facility = energy::sum(
        &facility_meters
            .iter()
            .map(|m| m.energy.clone())
            .collect::<Vec<_>>(),
    );
    let mut it = BTreeMap::new();
    let mut pue = BTreeMap::new();
    for cat in [Category::One, Category::Two, Category::Three] {
        let meters = role_energy(store, site, Role::It(cat), range, opts)?;
        let Some(e_it) = energy::sum(&meters.into_iter().map(|m| m.energy).collect::<Vec<_>>())
        else {
            continue;
        };
        let value = match &facility {
            None => Pue::DataError {
                reason: "no facility meter data".into(),
            },
            Some(f) => ratio(f.kwh, e_it.kwh, cat, range),
        };
        it.insert(cat.number(), e_it);
        pue.insert(cat.number(), value);
    }
    Ok(SitePue {
        site: site.to_owned(),
        from: range.from,
        to: range.to,
        facility,
        facility_meters,
        it,
        pue,
    })
}

/// E_DC / E_IT, refusing results that cannot be physical.
pub fn ratio(e_dc_kwh: f64, e_it_kwh: f64, cat: Category, range: TimeRange) -> Pue {
    if e_it_kwh <= 0.0 || !e_it_kwh.is_finite() {
        return Pue::DataError {
            reason: format!("IT energy is {e_it_kwh:.3} kWh"),
        };
    }
    let pue = e_dc_kwh / e_it_kwh;
    if pue <= 1.0 {
        return Pue::DataError {
            reason: format!(
                "PUE{} would be {pue:.3} (E_DC {e_dc_kwh:.3} kWh <= E_IT {e_it_kwh:.3} kWh): check meter roles and boundaries",
                cat.number()
            ),
        };
    }
    Pue::Value {
        pue,
        dcie_pct: 100.0 / pue,
        label: label(cat, range),
    }
}

/// "PUE2, interim, 30 days" — the category and period always travel with the value.
pub fn label(cat: Category, range: TimeRange) -> String {
    let days = (range.to - range.from) as f64 / 86_400_000.0;
    let period = if days >= 365.0 {
        "annual".to_owned()
    } else if days >= 1.0 {
        format!("interim, {} days", (days * 10.0).round() / 10.0)
    } else {
        format!("interim, {} min", (days * 1440.0).round())
    };
    format!("PUE{}, {period}", cat.number())
}

/// The part of `range` every facility and category-`cat` IT meter has samples for, so a short
/// window (a live view) cuts all meters at the same instants (pue.md §7.1). `None` when they
/// share less than ten seconds.
pub fn common_span(
    store: &dyn ReadStore,
    site: &str,
    cat: Category,
    range: TimeRange,
) -> Result<Option<TimeRange>, StoreError> {
    shared_span(store, site, cat, range, 10_000)
}

/// As [`common_span`], with the shortest span worth a figure (`min_ms`) chosen by the caller.
pub fn shared_span(
    store: &dyn ReadStore,
    site: &str,
    cat: Category,
    range: TimeRange,
    min_ms: i64,
) -> Result<Option<TimeRange>, StoreError> {
    let mut span = range;
    for role in [Role::Facility, Role::It(cat)] {
        let sel = Selector::field(Field::ActivePowerW)
            .tag("site", site)
            .tag("role", role.tag());
        for s in store.find(&sel)? {
            let points = store.read(&s, range, None)?;
            let (Some(first), Some(last)) = (points.first(), points.last()) else {
                return Ok(None);
            };
            span.from = span.from.max(first.ts);
            span.to = span.to.min(last.ts);
        }
    }
    Ok((span.to - span.from >= min_ms).then_some(span))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn ratio_refuses_unphysical_values() {
        let r = TimeRange { from: 0, to: DAY };
        assert!(
            matches!(ratio(150.0, 100.0, Category::Two, r), Pue::Value { pue, .. } if (pue - 1.5).abs() < 1e-12)
        );
        assert!(matches!(
            ratio(90.0, 100.0, Category::Two, r),
            Pue::DataError { .. }
        ));
        assert!(matches!(
            ratio(100.0, 100.0, Category::Two, r),
            Pue::DataError { .. }
        ));
        assert!(matches!(
            ratio(100.0, 0.0, Category::Two, r),
            Pue::DataError { .. }
        ));
    }

    #[test]
    fn dcie_is_inverse_of_pue_and_labels_name_category_and_period() {
        let Pue::Value {
            dcie_pct, label, ..
        } = ratio(
            160.0,
            100.0,
            Category::Three,
            TimeRange {
                from: 0,
                to: 30 * DAY,
            },
        )
        else {
            panic!("a value")
        };
        assert!((dcie_pct - 62.5).abs() < 1e-9);
        assert_eq!(label, "PUE3, interim, 30 days");
        assert_eq!(
            super::label(
                Category::One,
                TimeRange {
                    from: 0,
                    to: 365 * DAY
                }
            ),
            "PUE1, annual"
        );
    }
}
