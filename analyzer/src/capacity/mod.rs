//! Capacity and thermal headroom from stored data: rack power against its budget, PDU breaker
//! load (80 % rule) and phase imbalance, UPS load against N and N+1, cooling load against
//! capacity, stranded capacity per room, and inlet compliance with RCI per room. This module
//! computes the report as plain data; `render` turns it into each format.

use std::collections::BTreeMap;
use std::fmt;

use kilowatch_core::config::{Config, Device};
use kilowatch_core::model::{Field, Role};
use kilowatch_store::{Aggregate, ReadStore, Selector, StoreError, TimeRange, Window};
use serde::Serialize;

use crate::thermal::{self, ALLOWABLE, RECOMMENDED};

mod render;
pub use render::{to_csv, to_html, to_json, to_markdown};

/// Power is compared on 5-minute means: a breaker or budget is about sustained load, not a
/// single sample.
const WINDOW_MS: i64 = 5 * 60_000;
/// The continuous-load limit for breakers and budgets.
const EIGHTY_PCT: f64 = 80.0;

/// A site's IANA zone, for the reports' headers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteZone {
    pub site: String,
    pub timezone: String,
}

/// Every figure below is built from readings in the window: where there were none it is
/// `None` (`null` in JSON, "no data" in text), never zero, and its record's `no_data` says why.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// The window, RFC 3339.
    pub from: String,
    pub to: String,
    pub zones: Vec<SiteZone>,
    pub racks: Vec<RackCapacity>,
    pub breakers: Vec<BreakerLoad>,
    pub ups: Vec<UpsCapacity>,
    pub cooling: Vec<CoolingCapacity>,
    pub rooms: Vec<RoomCapacity>,
    pub inlets: Vec<InletCompliance>,
    /// Temperature series whose place no device or inventory states (`temperature_c`): not
    /// inlets, so thermal compliance leaves them out, and says so when there is nothing else.
    pub unplaced_temperatures: usize,
    /// Inlet sensors in the store with no reading in the window (left out of `inlets`).
    pub inlets_without_data: usize,
}

/// The reason a figure has no value.
const NO_READINGS: &str = "no data: no readings in the window";

#[derive(Debug, Clone, Serialize)]
pub struct RackCapacity {
    pub site: String,
    pub room: String,
    pub rack: String,
    pub budget_w: Option<f64>,
    pub peak_w: Option<f64>,
    pub p95_w: Option<f64>,
    pub utilisation_pct: Option<f64>,
    pub headroom_w: Option<f64>,
    pub over_80_pct: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_data: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakerLoad {
    pub device: String,
    pub point: String,
    pub peak_a: Option<f64>,
    pub breaker_a: Option<f64>,
    pub load_pct: Option<f64>,
    pub over_80_pct: Option<bool>,
    /// Spread between the most and least loaded points of the device, % of the most loaded.
    pub device_imbalance_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_data: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpsCapacity {
    pub site: String,
    pub units: usize,
    /// Peak of the summed load, in % of one unit.
    pub peak_load_pct_of_one_unit: Option<f64>,
    /// Load fits in N units (all present) and in N−1 (one failed, N+1 redundancy).
    pub fits_n: Option<bool>,
    pub fits_n_minus_1: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_data: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoolingCapacity {
    pub device: String,
    pub peak_heat_w: Option<f64>,
    pub rated_w: Option<f64>,
    pub utilisation_pct: Option<f64>,
    /// Mean return − supply air temperature.
    pub mean_delta_t_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_data: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomCapacity {
    pub site: String,
    pub room: String,
    /// Budgets less peaks of the racks with readings; `None` when no rack in the room has any.
    pub power_headroom_w: Option<f64>,
    pub cooling_headroom_w: Option<f64>,
    /// Capacity of one kind that cannot be used because the other runs out first.
    pub stranded_w: Option<f64>,
    /// Which kind `stranded_w` is; `None` when the room has no rated cooling to compare with.
    pub stranded_kind: Option<Stranded>,
    /// RCI (high, low) in %: minimum and mean over 5-minute steps, with the intake count.
    pub rci_hi_min: Option<f64>,
    pub rci_hi_mean: Option<f64>,
    pub rci_lo_min: Option<f64>,
    pub rci_lo_mean: Option<f64>,
    /// Intake sensors with readings in the window (a count, 0 when none read).
    pub intakes: usize,
}

/// The kind of capacity a room strands: whichever headroom is smaller binds, and the other's
/// excess cannot be used. Serialised as the sentence reports have always shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Stranded {
    /// Power headroom is left over: cooling runs out first.
    #[serde(rename = "power (cooling runs out first)")]
    Power,
    /// Cooling headroom is left over: power runs out first.
    #[serde(rename = "cooling (power runs out first)")]
    Cooling,
}

impl Stranded {
    /// The kind and amount stranded for a room's power and cooling headroom: the smaller one
    /// binds, and the other's excess over it (a negative binding headroom counts as none) is
    /// stranded.
    pub(crate) fn of(power_headroom_w: f64, cooling_headroom_w: f64) -> (Stranded, f64) {
        if cooling_headroom_w < power_headroom_w {
            (
                Stranded::Power,
                power_headroom_w - cooling_headroom_w.max(0.0),
            )
        } else {
            (
                Stranded::Cooling,
                cooling_headroom_w - power_headroom_w.max(0.0),
            )
        }
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Stranded::Power => "power (cooling runs out first)",
            Stranded::Cooling => "cooling (power runs out first)",
        }
    }
}

impl fmt::Display for Stranded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InletCompliance {
    pub site: String,
    pub room: Option<String>,
    pub rack: Option<String>,
    pub device: String,
    pub sensor: String,
    #[serde(flatten)]
    pub compliance: thermal::Compliance,
}

/// 5-minute means by window start.
type Windows = BTreeMap<i64, f64>;

/// Every series matching `sel` (keyed by its `point`), as 5-minute means.
fn windowed(
    store: &dyn ReadStore,
    sel: &Selector,
    range: TimeRange,
) -> Result<Vec<(String, Windows)>, StoreError> {
    let w = Some(Window {
        every_ms: WINDOW_MS,
        aggregate: Aggregate::Mean,
    });
    store
        .find(sel)?
        .into_iter()
        .map(|s| {
            let key = s.tag("point").unwrap_or_default().to_owned();
            Ok((
                key,
                store
                    .read(&s, range, w)?
                    .into_iter()
                    .map(|p| (p.ts, p.value))
                    .collect(),
            ))
        })
        .collect()
}

fn p95(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(
        values[((values.len() as f64 * 0.95).ceil() as usize)
            .saturating_sub(1)
            .min(values.len() - 1)],
    )
}

pub fn capacity_report(
    store: &dyn ReadStore,
    config: &Config,
    range: TimeRange,
) -> Result<CapacityReport, StoreError> {
    let mut racks = Vec::new();
    let mut rooms = Vec::new();
    for site in &config.sites {
        for room in &site.rooms {
            let mut room_budget = 0.0;
            let mut room_peak: Option<f64> = None;
            for rack in &room.racks {
                // Rack power: the un-pointed power of every IT meter (PDU) in the rack, summed per window.
                let mut sum: BTreeMap<i64, f64> = BTreeMap::new();
                for d in config.devices.iter().filter(|d| {
                    d.rack.as_deref() == Some(rack.id.as_str())
                        && matches!(d.role, Some(Role::It(_)))
                }) {
                    let sel = Selector::field(Field::ActivePowerW)
                        .tag("device", &d.id)
                        .without("point");
                    for (_, series) in windowed(store, &sel, range)? {
                        for (t, v) in series {
                            *sum.entry(t).or_default() += v;
                        }
                    }
                }
                let mut values: Vec<f64> = sum.values().copied().collect();
                let peak = values.iter().copied().reduce(f64::max);
                let p = p95(&mut values);
                let util = rack.power_budget_w.zip(p).map(|(b, p)| p / b * 100.0);
                if let Some(peak) = peak {
                    room_budget += rack.power_budget_w.unwrap_or(0.0);
                    *room_peak.get_or_insert(0.0) += peak;
                }
                racks.push(RackCapacity {
                    site: site.id.clone(),
                    room: room.id.clone(),
                    rack: rack.id.clone(),
                    budget_w: rack.power_budget_w,
                    peak_w: peak,
                    p95_w: p,
                    utilisation_pct: util,
                    headroom_w: rack.power_budget_w.zip(peak).map(|(b, peak)| b - peak),
                    over_80_pct: util.map(|u| u > EIGHTY_PCT),
                    no_data: peak.is_none().then(|| NO_READINGS.to_owned()),
                });
            }
            // Cooling in the room: rated capacity minus peak heat removed.
            let coolers: Vec<&Device> = config
                .devices
                .iter()
                .filter(|d| {
                    d.site == site.id
                        && d.room.as_deref() == Some(room.id.as_str())
                        && d.rated_cooling_w.is_some()
                })
                .collect();
            // Rated capacity less the peak of the units that read anything.
            let mut cooling_headroom: Option<f64> = None;
            for d in &coolers {
                let peak = peak_of(
                    store,
                    &Selector::field(Field::CoolingPowerW).tag("device", &d.id),
                    range,
                )?;
                if let Some(peak) = peak {
                    *cooling_headroom.get_or_insert(0.0) += d.rated_cooling_w.unwrap_or(0.0) - peak;
                }
            }
            let power_headroom = room_peak.map(|p| room_budget - p);
            let stranded = power_headroom
                .zip(cooling_headroom)
                .map(|(p, c)| Stranded::of(p, c));
            let (rci_hi, rci_lo, intakes) = room_rci(store, &site.id, &room.id, range)?;
            rooms.push(RoomCapacity {
                site: site.id.clone(),
                room: room.id.clone(),
                power_headroom_w: power_headroom,
                cooling_headroom_w: cooling_headroom,
                stranded_w: stranded.map(|(_, w)| w),
                stranded_kind: stranded.map(|(k, _)| k),
                rci_hi_min: rci_hi.iter().copied().reduce(f64::min),
                rci_hi_mean: mean(&rci_hi),
                rci_lo_min: rci_lo.iter().copied().reduce(f64::min),
                rci_lo_mean: mean(&rci_lo),
                intakes,
            });
        }
    }

    let mut breakers = Vec::new();
    for d in config
        .devices
        .iter()
        .filter(|d| matches!(d.role, Some(Role::It(_))) && d.rack.is_some())
    {
        let currents = windowed(
            store,
            &Selector::field(Field::CurrentA).tag("device", &d.id),
            range,
        )?;
        let peaks: Vec<(String, Option<f64>)> = currents
            .into_iter()
            .filter(|(p, _)| !p.is_empty())
            .map(|(p, s)| (p, s.values().copied().reduce(f64::max)))
            .collect();
        let read: Vec<f64> = peaks.iter().filter_map(|(_, v)| *v).collect();
        let hi = read.iter().copied().reduce(f64::max);
        let lo = read.iter().copied().reduce(f64::min);
        // Between the points that read; no spread without a current at all.
        let imbalance = hi.zip(lo).map(|(hi, lo)| {
            if hi > 0.0 {
                (hi - lo) / hi * 100.0
            } else {
                0.0
            }
        });
        for (point, peak) in peaks {
            let load = d.breaker_a.zip(peak).map(|(b, peak)| peak / b * 100.0);
            breakers.push(BreakerLoad {
                device: d.id.clone(),
                point,
                peak_a: peak,
                breaker_a: d.breaker_a,
                load_pct: load,
                over_80_pct: load.map(|l| l > EIGHTY_PCT),
                device_imbalance_pct: imbalance.filter(|_| peak.is_some()),
                no_data: peak.is_none().then(|| NO_READINGS.to_owned()),
            });
        }
    }

    let mut ups = Vec::new();
    for site in &config.sites {
        let units: Vec<&Device> = config
            .devices
            .iter()
            .filter(|d| {
                d.site == site.id && d.role == Some(Role::It(kilowatch_core::model::Category::One))
            })
            .collect();
        if units.is_empty() {
            continue;
        }
        let mut sum: BTreeMap<i64, f64> = BTreeMap::new();
        for u in &units {
            for (_, series) in windowed(
                store,
                &Selector::field(Field::LoadPct)
                    .tag("device", &u.id)
                    .without("point"),
                range,
            )? {
                for (t, v) in series {
                    *sum.entry(t).or_default() += v;
                }
            }
        }
        let peak = sum.values().copied().reduce(f64::max);
        let n = units.len() as f64;
        ups.push(UpsCapacity {
            site: site.id.clone(),
            units: units.len(),
            peak_load_pct_of_one_unit: peak,
            fits_n: peak.map(|p| p < 100.0 * n),
            fits_n_minus_1: peak.map(|p| n > 1.0 && p < 100.0 * (n - 1.0)),
            no_data: peak.is_none().then(|| NO_READINGS.to_owned()),
        });
    }

    let mut cooling = Vec::new();
    for d in config
        .devices
        .iter()
        .filter(|d| d.role == Some(Role::Cooling))
    {
        let peak = peak_of(
            store,
            &Selector::field(Field::CoolingPowerW).tag("device", &d.id),
            range,
        )?;
        let supply = mean_of(
            store,
            &Selector::field(Field::SupplyTempC).tag("device", &d.id),
            range,
        )?;
        let ret = mean_of(
            store,
            &Selector::field(Field::ReturnTempC).tag("device", &d.id),
            range,
        )?;
        cooling.push(CoolingCapacity {
            device: d.id.clone(),
            peak_heat_w: peak,
            rated_w: d.rated_cooling_w,
            utilisation_pct: d
                .rated_cooling_w
                .zip(peak)
                .map(|(r, peak)| peak / r * 100.0),
            mean_delta_t_c: supply.zip(ret).map(|(s, r)| r - s),
            no_data: (peak.is_none() && supply.is_none() && ret.is_none())
                .then(|| NO_READINGS.to_owned()),
        });
    }

    let mut inlets = Vec::new();
    let mut inlets_without_data = 0;
    // Only rack-inlet air is held to ASHRAE's inlet ranges: a CPU, a PDU's board or a probe of
    // unknown place would make the compliance figures wrong, not fuller.
    for s in store.find(&Selector::field(Field::InletTempC))? {
        let temps: Vec<f64> = store
            .read(&s, range, None)?
            .into_iter()
            .map(|p| p.value)
            .collect();
        // A sensor that read nothing has no compliance (not 0 % of it).
        if temps.is_empty() {
            inlets_without_data += 1;
            continue;
        }
        inlets.push(InletCompliance {
            site: s.tag("site").unwrap_or_default().to_owned(),
            room: s.tag("room").map(str::to_owned),
            rack: s.tag("rack").map(str::to_owned),
            device: s.tag("device").unwrap_or_default().to_owned(),
            sensor: s.tag("point").unwrap_or_default().to_owned(),
            compliance: thermal::compliance(&temps),
        });
    }
    let unplaced_temperatures = store.find(&Selector::field(Field::TemperatureC))?.len();
    Ok(CapacityReport {
        from: kilowatch_core::timefmt::format_rfc3339(range.from),
        to: kilowatch_core::timefmt::format_rfc3339(range.to),
        zones: config
            .sites
            .iter()
            .map(|s| SiteZone {
                site: s.id.clone(),
                timezone: kilowatch_core::calendar::zone_name(&s.timezone),
            })
            .collect(),
        racks,
        breakers,
        ups,
        cooling,
        rooms,
        inlets,
        unplaced_temperatures,
        inlets_without_data,
    })
}

/// RCI per 5-minute step over the room's intake sensors.
fn room_rci(
    store: &dyn ReadStore,
    site: &str,
    room: &str,
    range: TimeRange,
) -> Result<(Vec<f64>, Vec<f64>, usize), StoreError> {
    let sensors = windowed(
        store,
        &Selector::field(Field::InletTempC)
            .tag("site", site)
            .tag("room", room),
        range,
    )?;
    let mut steps: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (_, series) in &sensors {
        for (t, v) in series {
            steps.entry(*t).or_default().push(*v);
        }
    }
    let (mut hi, mut lo) = (Vec::new(), Vec::new());
    for intakes in steps.values() {
        if let Some((h, l)) = thermal::rci(intakes, RECOMMENDED, ALLOWABLE[0].1) {
            hi.push(h);
            lo.push(l);
        }
    }
    let read = sensors.iter().filter(|(_, s)| !s.is_empty()).count();
    Ok((hi, lo, read))
}

/// The highest 5-minute mean, or `None` when no series read anything.
fn peak_of(
    store: &dyn ReadStore,
    sel: &Selector,
    range: TimeRange,
) -> Result<Option<f64>, StoreError> {
    Ok(windowed(store, sel, range)?
        .into_iter()
        .flat_map(|(_, s)| s.into_values())
        .reduce(f64::max))
}

fn mean_of(
    store: &dyn ReadStore,
    sel: &Selector,
    range: TimeRange,
) -> Result<Option<f64>, StoreError> {
    let values: Vec<f64> = windowed(store, sel, range)?
        .into_iter()
        .flat_map(|(_, s)| s.into_values())
        .collect();
    Ok(mean(&values))
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smaller headroom binds; the other's excess over it is stranded, and a binding
    /// headroom already below zero strands all of the other's.
    #[test]
    fn stranded_capacity_is_the_excess_over_the_binding_headroom() {
        assert_eq!(Stranded::of(1000.0, 400.0), (Stranded::Power, 600.0));
        assert_eq!(Stranded::of(1000.0, -200.0), (Stranded::Power, 1000.0));
        assert_eq!(Stranded::of(300.0, 500.0), (Stranded::Cooling, 200.0));
        assert_eq!(Stranded::of(-100.0, 500.0), (Stranded::Cooling, 500.0));
        assert_eq!(Stranded::of(500.0, 500.0), (Stranded::Cooling, 0.0));
    }

    #[test]
    fn stranded_kinds_serialise_to_the_sentences_reports_show() {
        for k in [Stranded::Power, Stranded::Cooling] {
            assert_eq!(
                serde_json::to_string(&k).unwrap_or_default(),
                format!("\"{k}\"")
            );
        }
    }
}
