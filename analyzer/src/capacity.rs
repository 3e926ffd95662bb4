//! Capacity and thermal headroom from stored data: rack power against its budget, PDU breaker
//! load (80 % rule) and phase imbalance, UPS load against N and N+1, cooling load against
//! capacity, stranded capacity per room, and inlet compliance with RCI per room.

use std::collections::BTreeMap;

use kilowatch_core::config::{Config, Device};
use kilowatch_core::model::{Field, Role};
use kilowatch_store::{Aggregate, ReadStore, Selector, StoreError, TimeRange, Window};
use serde::Serialize;

use crate::thermal::{self, ALLOWABLE, RECOMMENDED};

/// Power is compared on 5-minute means: a breaker or budget is about sustained load, not a
/// single sample.
const WINDOW_MS: i64 = 5 * 60_000;
/// The continuous-load limit for breakers and budgets.
const EIGHTY_PCT: f64 = 80.0;

#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    pub racks: Vec<RackCapacity>,
    pub breakers: Vec<BreakerLoad>,
    pub ups: Vec<UpsCapacity>,
    pub cooling: Vec<CoolingCapacity>,
    pub rooms: Vec<RoomCapacity>,
    pub inlets: Vec<InletCompliance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RackCapacity {
    pub site: String,
    pub room: String,
    pub rack: String,
    pub budget_w: Option<f64>,
    pub peak_w: f64,
    pub p95_w: f64,
    pub utilisation_pct: Option<f64>,
    pub headroom_w: Option<f64>,
    pub over_80_pct: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakerLoad {
    pub device: String,
    pub point: String,
    pub peak_a: f64,
    pub breaker_a: Option<f64>,
    pub load_pct: Option<f64>,
    pub over_80_pct: bool,
    /// Spread between the most and least loaded points of the device, % of the most loaded.
    pub device_imbalance_pct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpsCapacity {
    pub site: String,
    pub units: usize,
    /// Peak of the summed load, in % of one unit.
    pub peak_load_pct_of_one_unit: f64,
    /// Load fits in N units (all present) and in N−1 (one failed, N+1 redundancy).
    pub fits_n: bool,
    pub fits_n_minus_1: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoolingCapacity {
    pub device: String,
    pub peak_heat_w: f64,
    pub rated_w: Option<f64>,
    pub utilisation_pct: Option<f64>,
    /// Mean return − supply air temperature.
    pub mean_delta_t_c: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomCapacity {
    pub site: String,
    pub room: String,
    pub power_headroom_w: f64,
    pub cooling_headroom_w: Option<f64>,
    /// Capacity of one kind that cannot be used because the other runs out first.
    pub stranded_w: Option<f64>,
    pub stranded_kind: Option<String>,
    /// RCI (high, low) in %: minimum and mean over 5-minute steps, with the intake count.
    pub rci_hi_min: Option<f64>,
    pub rci_hi_mean: Option<f64>,
    pub rci_lo_min: Option<f64>,
    pub rci_lo_mean: Option<f64>,
    pub intakes: usize,
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

fn p95(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(values.len() - 1)]
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
            let mut room_peak = 0.0;
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
                let peak = values.iter().copied().fold(0.0, f64::max);
                let p = p95(&mut values);
                let util = rack.power_budget_w.map(|b| p / b * 100.0);
                room_budget += rack.power_budget_w.unwrap_or(0.0);
                room_peak += peak;
                racks.push(RackCapacity {
                    site: site.id.clone(),
                    room: room.id.clone(),
                    rack: rack.id.clone(),
                    budget_w: rack.power_budget_w,
                    peak_w: peak,
                    p95_w: p,
                    utilisation_pct: util,
                    headroom_w: rack.power_budget_w.map(|b| b - peak),
                    over_80_pct: util.is_some_and(|u| u > EIGHTY_PCT),
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
            let cooling_headroom = if coolers.is_empty() {
                None
            } else {
                let mut headroom = 0.0;
                for d in &coolers {
                    let peak = peak_of(
                        store,
                        &Selector::field(Field::CoolingPowerW).tag("device", &d.id),
                        range,
                    )?;
                    headroom += d.rated_cooling_w.unwrap_or(0.0) - peak;
                }
                Some(headroom)
            };
            let power_headroom = room_budget - room_peak;
            let (stranded, kind) = match cooling_headroom {
                Some(c) if c < power_headroom => (
                    Some(power_headroom - c.max(0.0)),
                    Some("power (cooling runs out first)".to_owned()),
                ),
                Some(c) => (
                    Some(c - power_headroom.max(0.0)),
                    Some("cooling (power runs out first)".to_owned()),
                ),
                None => (None, None),
            };
            let (rci_hi, rci_lo, intakes) = room_rci(store, &site.id, &room.id, range)?;
            rooms.push(RoomCapacity {
                site: site.id.clone(),
                room: room.id.clone(),
                power_headroom_w: power_headroom,
                cooling_headroom_w: cooling_headroom,
                stranded_w: stranded,
                stranded_kind: kind,
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
        let peaks: Vec<(String, f64)> = currents
            .into_iter()
            .filter(|(p, _)| !p.is_empty())
            .map(|(p, s)| (p, s.values().copied().fold(0.0, f64::max)))
            .collect();
        let (hi, lo) = peaks
            .iter()
            .fold((0.0f64, f64::INFINITY), |(h, l), (_, v)| {
                (h.max(*v), l.min(*v))
            });
        let imbalance = if hi > 0.0 {
            (hi - lo) / hi * 100.0
        } else {
            0.0
        };
        for (point, peak) in peaks {
            let load = d.breaker_a.map(|b| peak / b * 100.0);
            breakers.push(BreakerLoad {
                device: d.id.clone(),
                point,
                peak_a: peak,
                breaker_a: d.breaker_a,
                load_pct: load,
                over_80_pct: load.is_some_and(|l| l > EIGHTY_PCT),
                device_imbalance_pct: imbalance,
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
        let peak = sum.values().copied().fold(0.0, f64::max);
        let n = units.len() as f64;
        ups.push(UpsCapacity {
            site: site.id.clone(),
            units: units.len(),
            peak_load_pct_of_one_unit: peak,
            fits_n: peak < 100.0 * n,
            fits_n_minus_1: n > 1.0 && peak < 100.0 * (n - 1.0),
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
            utilisation_pct: d.rated_cooling_w.map(|r| peak / r * 100.0),
            mean_delta_t_c: supply.zip(ret).map(|(s, r)| r - s),
        });
    }

    let mut inlets = Vec::new();
    for s in store.find(&Selector::field(Field::TemperatureC))? {
        let temps: Vec<f64> = store
            .read(&s, range, None)?
            .into_iter()
            .map(|p| p.value)
            .collect();
        inlets.push(InletCompliance {
            site: s.tag("site").unwrap_or_default().to_owned(),
            room: s.tag("room").map(str::to_owned),
            rack: s.tag("rack").map(str::to_owned),
            device: s.tag("device").unwrap_or_default().to_owned(),
            sensor: s.tag("point").unwrap_or_default().to_owned(),
            compliance: thermal::compliance(&temps),
        });
    }
    Ok(CapacityReport {
        racks,
        breakers,
        ups,
        cooling,
        rooms,
        inlets,
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
        &Selector::field(Field::TemperatureC)
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
    Ok((hi, lo, sensors.len()))
}

fn peak_of(store: &dyn ReadStore, sel: &Selector, range: TimeRange) -> Result<f64, StoreError> {
    Ok(windowed(store, sel, range)?
        .into_iter()
        .flat_map(|(_, s)| s.into_values())
        .fold(0.0, f64::max))
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

pub fn to_json(r: &CapacityReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

/// Racks as CSV (the table planners sort and filter most).
pub fn to_csv(r: &CapacityReport) -> String {
    let mut out = String::from(
        "site,room,rack,budget_w,peak_w,p95_w,utilisation_pct,headroom_w,over_80_pct\n",
    );
    let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    for k in &r.racks {
        out.push_str(&format!(
            "{},{},{},{},{:.1},{:.1},{},{},{}\n",
            k.site,
            k.room,
            k.rack,
            f(k.budget_w),
            k.peak_w,
            k.p95_w,
            f(k.utilisation_pct),
            f(k.headroom_w),
            k.over_80_pct
        ));
    }
    out
}

/// One self-contained HTML file: the Markdown text preformatted.
pub fn to_html(r: &CapacityReport, from: &str, to: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kilowatch capacity report</title></head><body><pre>{}</pre></body></html>",
        crate::report::esc(&to_markdown(r, from, to))
    )
}

pub fn to_markdown(r: &CapacityReport, from: &str, to: &str) -> String {
    use std::fmt::Write;
    let f = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.1}"));
    let mut out = format!(
        "# Capacity report\n\nWindow: {from} to {to}. Loads are 5-minute means; the limit for continuous load is 80 %.\n\n## Racks\n\n| site | room | rack | budget W | peak W | p95 W | use % | headroom W | > 80 % |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    );
    for k in &r.racks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} |",
            k.site,
            k.room,
            k.rack,
            f(k.budget_w),
            k.peak_w,
            k.p95_w,
            f(k.utilisation_pct),
            f(k.headroom_w),
            if k.over_80_pct { "**yes**" } else { "no" }
        );
    }
    out.push_str("\n## PDU breakers\n\n| device | point | peak A | breaker A | load % | > 80 % | device imbalance % |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for b in &r.breakers {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {} | {} | {} | {:.0} |",
            b.device,
            b.point,
            b.peak_a,
            f(b.breaker_a),
            f(b.load_pct),
            if b.over_80_pct { "**yes**" } else { "no" },
            b.device_imbalance_pct
        );
    }
    out.push_str("\n## UPS\n\n| site | units | peak load (% of one unit) | fits N | fits N−1 (N+1) |\n| --- | --- | --- | --- | --- |\n");
    for u in &r.ups {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {} | {} |",
            u.site, u.units, u.peak_load_pct_of_one_unit, u.fits_n, u.fits_n_minus_1
        );
    }
    out.push_str("\n## Cooling\n\n| device | peak heat W | rated W | use % | mean ΔT °C |\n| --- | --- | --- | --- | --- |\n");
    for c in &r.cooling {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} |",
            c.device,
            c.peak_heat_w,
            f(c.rated_w),
            f(c.utilisation_pct),
            f(c.mean_delta_t_c)
        );
    }
    out.push_str("\n## Rooms\n\n| site | room | power headroom W | cooling headroom W | stranded W | stranded | RCI_HI min/mean % | RCI_LO min/mean % | intakes |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for m in &r.rooms {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} | {}/{} | {}/{} | {} |",
            m.site,
            m.room,
            m.power_headroom_w,
            f(m.cooling_headroom_w),
            f(m.stranded_w),
            m.stranded_kind.as_deref().unwrap_or("—"),
            f(m.rci_hi_min),
            f(m.rci_hi_mean),
            f(m.rci_lo_min),
            f(m.rci_lo_mean),
            m.intakes
        );
    }
    out.push_str("\n## Inlet temperatures (ASHRAE: recommended 18–27 °C)\n\n| device | sensor | samples | recommended % | A1 % | A2 % | below % | above % | worst high °C |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for i in &r.inlets {
        let c = &i.compliance;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            i.device,
            i.sensor,
            c.samples,
            c.recommended_pct,
            c.allowable_pct[0].1,
            c.allowable_pct[1].1,
            c.below_recommended_pct,
            c.above_recommended_pct,
            f(c.worst_high_c)
        );
    }
    out
}
