//! `report annual --year Y`: per site, every field of the EU data-centre data set (Delegated
//! Regulation (EU) 2024/1364) in the regulation's order, each *measured* from the meters,
//! *entered* in the inventory (`[[sites.years]]`) or *missing* — never invented — and the
//! ISO/IEC 30134 indicators computed from them (PUE, WUE, ERF, REF, CUE, CER, ITEUsv), each
//! saying which of its inputs were entered.

use std::collections::BTreeMap;

use kilowatch_core::calendar::{self, CalendarError, Window};
use kilowatch_core::config::{Config, Entered, Site};
use kilowatch_core::reporting::{DataSet, Measure};
use kilowatch_store::{ReadStore, StoreError, TimeRange};
use serde::Serialize;

use crate::kpi;
use crate::pue::Options;

mod measure;
mod render;
pub use measure::{Measured, Metered};
pub use render::{to_csv, to_html, to_json, to_markdown};

/// Coverage below which a measured total is not a year's figure (a meter fitted mid-year): an
/// entered value is preferred, and without one the field says how much of the year it covers.
const FULL_COVERAGE: f64 = 0.95;
/// Diesel: IPCC 2006 default 74,100 kg CO2/TJ at 43.0 TJ/Gg and 0.84 kg/L (2.68 kg/L).
const DIESEL_KG_CO2_PER_L: f64 = 2.68;

#[derive(Debug, thiserror::Error)]
pub enum AnnualError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("site '{site}': {source}")]
    Window {
        site: String,
        #[source]
        source: CalendarError,
    },
}

/// Where a value came from; every output carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Measured,
    Entered,
    /// Computed from other fields; `inputs` says whether any of them was entered.
    Calculated,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldValue {
    pub id: String,
    pub annex: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub label: String,
    pub unit: String,
    /// `null` when missing (with `note` saying why).
    pub value: Option<Value>,
    pub source: Source,
    /// For calculated fields: the sources of their inputs, e.g. ["measured", "entered"].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An ISO/IEC 30134 indicator beyond the data set's four.
#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub id: String,
    pub label: String,
    pub unit: String,
    pub value: Option<f64>,
    pub source: Source,
    pub inputs: Vec<Source>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Class {
    pub indicator: String,
    pub class: String,
    pub basis: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteYear {
    pub site: String,
    pub name: String,
    pub timezone: String,
    pub from: String,
    pub to: String,
    /// Every field of the data set, in the regulation's order.
    pub fields: Vec<FieldValue>,
    /// CUE, CER, ITEUsv, freshwater WUE (kpis.md).
    pub indicators: Vec<Indicator>,
    /// PUE and WUE classes (A–G) where the thresholds are known, with their status.
    pub classes: Vec<Class>,
    /// ITEUsv's monthly series: `(YYYY-MM, mean CPU %)`.
    pub monthly_cpu_pct: Vec<(String, Option<f64>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnnualReport {
    pub year: i32,
    pub regulation: String,
    pub eli: String,
    pub sites: Vec<SiteYear>,
}

pub fn annual_report(
    store: &dyn ReadStore,
    config: &Config,
    year: i32,
    opts: Options<'_>,
    mut progress: impl FnMut(usize, usize),
) -> Result<AnnualReport, AnnualError> {
    let dataset = DataSet::eu();
    let window =
        calendar::parse_window("", "", Some(&year.to_string()), None, 0).map_err(|source| {
            AnnualError::Window {
                site: String::new(),
                source,
            }
        })?;
    let mut sites = Vec::new();
    for (n, site) in config.sites.iter().enumerate() {
        sites.push(site_year(
            store, config, site, &dataset, &window, year, opts,
        )?);
        progress(n + 1, config.sites.len());
    }
    Ok(AnnualReport {
        year,
        regulation: dataset.regulation.citation.clone(),
        eli: dataset.regulation.eli.clone(),
        sites,
    })
}

fn site_year(
    store: &dyn ReadStore,
    config: &Config,
    site: &Site,
    dataset: &DataSet,
    window: &Window,
    year: i32,
    opts: Options<'_>,
) -> Result<SiteYear, AnnualError> {
    let tz = &site.timezone;
    let (from, to) = window.resolve(tz).map_err(|source| AnnualError::Window {
        site: site.id.clone(),
        source,
    })?;
    let range = TimeRange { from, to };
    let m = measure::measure(store, config, site, range, opts)?;
    let no_entries = BTreeMap::new();
    let entered = site.years.get(&year).unwrap_or(&no_entries);
    let mut fields: Vec<FieldValue> = Vec::with_capacity(dataset.fields.len());
    for f in &dataset.fields {
        let mut v = FieldValue {
            id: f.id.clone(),
            annex: f.annex.clone(),
            reference: f.reference.clone(),
            label: f.label.clone(),
            unit: f.unit.clone(),
            value: None,
            source: Source::Missing,
            inputs: Vec::new(),
            note: None,
        };
        let typed = entered.get(&f.id).map(|e| match e {
            Entered::Number(x) => Value::Number(*x),
            Entered::Text(s) => Value::Text(s.clone()),
        });
        let measured = f.measure.and_then(|k| measured_value(&m, k));
        match (measured, typed) {
            (Some((x, cov, note)), entry) if cov >= FULL_COVERAGE || entry.is_none() => {
                v.value = Some(Value::Number(x));
                v.source = Source::Measured;
                let mut n = note;
                if cov < FULL_COVERAGE {
                    n.push_str(&format!(
                        "; covers only {:.1} % of the year: not a full year's figure",
                        cov * 100.0
                    ));
                }
                if let Some(e) = entry {
                    n.push_str(&format!("; entered value {e:?} not used: metered"));
                }
                v.note = Some(n);
            }
            (_, Some(e)) => {
                v.value = Some(e);
                v.source = Source::Entered;
            }
            // (A measured value with no entry always takes the first arm.)
            (_, None) => {
                v.note = Some(missing_reason(f.measure, &f.id));
            }
        }
        fields.push(v);
    }
    derive_calculated(&mut fields, site, year, from);
    let indicators = indicators(&m, &fields, config, site, year, entered);
    let classes = classes(dataset, &fields, &indicators);
    Ok(SiteYear {
        site: site.id.clone(),
        name: site.name.clone(),
        timezone: calendar::zone_name(tz),
        from: calendar::format_local(tz, from),
        to: calendar::format_local(tz, to),
        fields,
        indicators,
        classes,
        monthly_cpu_pct: m.monthly_cpu.clone(),
    })
}

/// A measured value in the field's unit, its coverage and a note naming the meters.
fn measured_value(m: &Measured, k: Measure) -> Option<(f64, f64, String)> {
    let metered = |x: &Option<Metered>, what: &str| {
        x.as_ref().map(|x| {
            (
                x.value,
                x.coverage,
                format!("{what}: {}", x.meters.join(", ")),
            )
        })
    };
    let mean = |x: Option<f64>, what: &str| x.map(|x| (x, 1.0, what.to_owned()));
    match k {
        Measure::TotalEnergy => metered(&m.e_dc, "facility meters"),
        Measure::ItEnergy => m.e_it.as_ref().map(|(x, cat)| {
            (
                x.value,
                x.coverage,
                format!(
                    "category {} IT meters: {}",
                    cat.number(),
                    x.meters.join(", ")
                ),
            )
        }),
        Measure::OnsiteRenewable => metered(&m.onsite_renewable, "on-site generation meters"),
        Measure::WasteHeatReused => metered(&m.heat_reused, "heat meters (reuse)"),
        Measure::WaterInput => metered(&m.water, "water meters"),
        Measure::PotableWater => metered(&m.potable, "potable water meters"),
        Measure::WasteHeatTemperature => mean(
            m.reuse_supply_c,
            "yearly mean supply temperature of the heat-reuse meters",
        ),
        Measure::IntakeSetpoint => {
            mean(m.setpoint_c, "yearly mean of the cooling units' set points")
        }
        // Calculated from other fields below.
        Measure::RenewableEnergy | Measure::Pue | Measure::Wue | Measure::Erf | Measure::Ref => {
            None
        }
    }
}

fn missing_reason(k: Option<Measure>, id: &str) -> String {
    let role = match k {
        Some(Measure::TotalEnergy) => "no device with role = \"facility\" has readings",
        Some(Measure::ItEnergy) => "no device with role = \"it\" has readings",
        Some(Measure::OnsiteRenewable) => "no device with role = \"renewable\" has readings",
        Some(Measure::WasteHeatReused) => "no heat meter with role = \"heat_reuse\" has readings",
        Some(Measure::WaterInput) | Some(Measure::PotableWater) => {
            "no water meter (role = \"water\") has readings"
        }
        Some(Measure::WasteHeatTemperature) => "no heat-reuse meter reports a supply temperature",
        Some(Measure::IntakeSetpoint) => "no cooling unit reports its set point",
        _ => "",
    };
    if role.is_empty() {
        format!("not in the inventory: enter `{id}` under [[sites.years]]")
    } else {
        format!("{role}, and `{id}` is not entered under [[sites.years]]")
    }
}

fn number(fields: &[FieldValue], id: &str) -> Option<(f64, Source)> {
    fields
        .iter()
        .find(|f| f.id == id)
        .and_then(|f| match f.value {
            Some(Value::Number(x)) => Some((x, f.source)),
            _ => None,
        })
}

/// The data set's calculated fields: the reporting period, ERES-TOT and the four indicators.
fn derive_calculated(fields: &mut [FieldValue], site: &Site, year: i32, from: i64) {
    let get = |fields: &[FieldValue], id: &str| number(fields, id);
    let dc = get(fields, "total_energy_consumption");
    let it = get(fields, "it_energy_consumption");
    let ren_parts: Vec<(f64, Source)> = [
        "renewable_energy_goo",
        "renewable_energy_ppa",
        "renewable_energy_onsite",
    ]
    .iter()
    .filter_map(|id| get(fields, id))
    .collect();
    let ren_total = (!ren_parts.is_empty()).then(|| {
        (
            ren_parts.iter().map(|(x, _)| x).sum::<f64>(),
            ren_parts.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        )
    });
    let ratio = |a: Option<(f64, Source)>, b: Option<(f64, Source)>, scale: f64| match (a, b) {
        (Some((a, sa)), Some((b, sb))) if b > 0.0 => Some((a / b * scale, vec![sa, sb])),
        _ => None,
    };
    let water = get(fields, "total_water_input");
    let reuse = get(fields, "waste_heat_reused");
    for f in fields.iter_mut() {
        if f.source != Source::Missing {
            continue;
        }
        let computed: Option<(Value, Vec<Source>)> = match f.id.as_str() {
            "reporting_period" => Some((
                Value::Text(format!(
                    "{year} ({} to {}, {})",
                    calendar::format_local(&site.timezone, from),
                    year + 1,
                    calendar::zone_name(&site.timezone)
                )),
                Vec::new(),
            )),
            "renewable_energy_total" => ren_total.clone().map(|(x, s)| (Value::Number(x), s)),
            "pue" => match (dc, it) {
                (Some((d, sd)), Some((i, si))) => {
                    kpi::pue(d, i).map(|p| (Value::Number(p), vec![sd, si]))
                }
                _ => None,
            },
            "wue" => ratio(water, it, 1000.0).map(|(x, s)| (Value::Number(x), s)),
            "erf" => ratio(reuse, dc, 1.0).map(|(x, s)| (Value::Number(x), s)),
            "ref" => ratio(
                ren_total.as_ref().map(|(x, _)| (*x, Source::Calculated)),
                dc,
                1.0,
            )
            .map(|(x, mut s)| {
                // REF ≤ 1.00: on-site generation beyond the site's need does not count (kpis.md §4).
                s.splice(0..1, ren_total.clone().map(|(_, s)| s).unwrap_or_default());
                (Value::Number(x.min(1.0)), s)
            }),
            _ => None,
        };
        match computed {
            Some((value, inputs)) => {
                f.value = Some(value);
                f.source = Source::Calculated;
                f.inputs = inputs;
                f.note = None;
            }
            None if matches!(
                f.id.as_str(),
                "pue" | "wue" | "erf" | "ref" | "renewable_energy_total"
            ) =>
            {
                f.note = Some("not calculated: an input is missing (see the fields above)".into());
            }
            None => {}
        }
    }
}

fn indicators(
    m: &Measured,
    fields: &[FieldValue],
    config: &Config,
    site: &Site,
    year: i32,
    entered: &BTreeMap<String, Entered>,
) -> Vec<Indicator> {
    let get = |id: &str| number(fields, id);
    let it = get("it_energy_consumption");
    let dc = get("total_energy_consumption");
    let entered_num = |k: &str| match entered.get(k) {
        Some(Entered::Number(x)) => Some(*x),
        _ => None,
    };
    let mut out = Vec::new();
    let mut push =
        |id: &str, label: &str, unit: &str, v: Option<(f64, Vec<Source>)>, note: String| {
            let (value, inputs) = match v {
                Some((x, i)) => (Some(x), i),
                None => (None, Vec::new()),
            };
            out.push(Indicator {
                id: id.into(),
                label: label.into(),
                unit: unit.into(),
                value,
                source: if value.is_some() {
                    Source::Calculated
                } else {
                    Source::Missing
                },
                inputs,
                note,
            });
        };

    // WUE on freshwater (ISO/IEC 30134-9; the basis of the 2026 act's classes).
    let fresh = get("potable_water_input");
    let v = match (fresh, it) {
        (Some((w, sw)), Some((e, se))) if e > 0.0 => Some((w * 1000.0 / e, vec![sw, se])),
        _ => None,
    };
    let note = if v.is_some() {
        "potable (fresh) water input / IT energy, L/kWh (= m³/MWh)".to_owned()
    } else {
        "no data: needs potable water input and IT energy".to_owned()
    };
    push("wue_fresh", "WUE, freshwater", "L/kWh", v, note);

    // CUE (ISO/IEC 30134-8): grid electricity at the utility's factor for the year, plus fuel.
    let factor = match (&site.utility, site.emission_factor_kg_per_kwh) {
        (Some(u), _) => config.emission_factors.for_year(u, year).map(|f| {
            let basis = format!(
                "{} {} factor {:.3} kg/kWh{} ({})",
                f.utility,
                f.year,
                f.kg_per_kwh,
                if f.provisional {
                    ", provisional: the year's own is not in the table"
                } else {
                    ""
                },
                f.source
            );
            (f.kg_per_kwh, basis)
        }),
        (None, Some(ef)) => Some((
            ef,
            format!("site factor {ef:.3} kg/kWh (inventory; no utility named)"),
        )),
        (None, None) => None,
    };
    let onsite = get("renewable_energy_onsite");
    // Fuel: entered for the year, else measured from the generators' tank levels.
    let fuel = match (entered_num("generator_fuel_l"), &m.generator_fuel_l) {
        (Some(l), _) => Some((l, Source::Entered, "entered".to_owned())),
        (None, Some(t)) => Some((
            t.value,
            Source::Measured,
            format!(
                "measured from the tank levels of {} ({:.0} % of hours read)",
                t.meters.join(", "),
                t.coverage * 100.0
            ),
        )),
        (None, None) => None,
    };
    let fuel_l = fuel.as_ref().map(|(l, _, _)| *l);
    let fuel_factor = entered_num("fuel_kg_co2_per_l").unwrap_or(DIESEL_KG_CO2_PER_L);
    let (v, note) = match (dc, it, &factor) {
        (Some((d, sd)), Some((e, se)), Some((ef, basis))) if e > 0.0 => {
            let grid = (d - onsite.map_or(0.0, |(x, _)| x)).max(0.0);
            let kg = grid * ef + fuel_l.unwrap_or(0.0) * fuel_factor;
            let mut inputs = vec![sd, se];
            inputs.extend(onsite.map(|(_, s)| s));
            inputs.extend(fuel.as_ref().map(|(_, s, _)| *s));
            (
                Some((kg / e, inputs)),
                format!(
                    "{kg:.0} kg CO2e: grid electricity (E_DC less on-site renewable, {grid:.0} kWh) at {basis}{}",
                    match &fuel {
                        Some((l, _, how)) =>
                            format!("; generator fuel {l:.0} L ({how}) at {fuel_factor} kg/L"),
                        None => "; no generator fuel metered (role generator) or entered (generator_fuel_l)".into(),
                    }
                ),
            )
        }
        (_, _, None) => (
            None,
            "no data: the site names no utility (utility = \"CLP\") and no emission factor".into(),
        ),
        _ => (None, "no data: needs total and IT energy".into()),
    };
    push(
        "cue",
        "CUE, carbon usage effectiveness",
        "kg CO2e/kWh",
        v,
        note,
    );

    push(
        "generator_fuel_l",
        "Standby generator fuel burnt",
        "L",
        fuel.as_ref().map(|(l, s, _)| (*l, vec![*s])),
        match &fuel {
            Some((_, _, how)) => how.clone(),
            None => "no data: no tank level (role = \"generator\") and no generator_fuel_l entered"
                .into(),
        },
    );

    // CER (ISO/IEC 30134-7): heat the cooling removed over the energy it used.
    let v = match (&m.heat_removed, &m.cooling) {
        (Some(h), Some(c)) if c.value > 0.0 => {
            Some((h.value / c.value, vec![Source::Measured, Source::Measured]))
        }
        _ => None,
    };
    let note = match (&m.heat_removed, &m.cooling) {
        (Some(_), Some(_)) if v.is_some() => {
            "heat removed (role heat_removed) / cooling energy (role cooling)".to_owned()
        }
        (None, _) => {
            "no data: no heat meter with role = \"heat_removed\" on the cooling loop".to_owned()
        }
        _ => "no data: no cooling energy metered (role = \"cooling\")".to_owned(),
    };
    push("cer", "CER, cooling efficiency ratio", "", v, note);

    // ITEUsv (ISO/IEC 30134-5): mean CPU utilisation over servers, each over the year.
    let n = m.server_cpu.len();
    let v = (n > 0).then(|| {
        (
            m.server_cpu.iter().map(|(_, c)| c).sum::<f64>() / n as f64,
            vec![Source::Measured],
        )
    });
    let note = if n > 0 {
        format!(
            "{n} servers, each its mean CPU utilisation over the year (hourly means); CPU only, accelerators out of scope"
        )
    } else {
        "no data: no server reports cpu_util_pct".into()
    };
    push("iteusv", "ITEUsv, server utilisation", "%", v, note);

    // ERE (The Green Grid, non-standard): (E_DC − E_reuse) / E_IT.
    let reuse = get("waste_heat_reused");
    let v = match (dc, it, reuse) {
        (Some((d, sd)), Some((e, se)), Some((r, sr))) if e > 0.0 => {
            Some((kpi::erf_ere(d, e, r).1, vec![sd, se, sr]))
        }
        _ => None,
    };
    push(
        "ere",
        "ERE, energy reuse effectiveness (The Green Grid; not ISO)",
        "",
        v,
        "(E_DC − E_reuse) / E_IT".into(),
    );
    out
}

/// The PUE and WUE classes of the 2026 act, where its thresholds are in the data set: PUE from
/// the data set's PUE, WUE from freshwater WUE (the act's basis).
fn classes(dataset: &DataSet, fields: &[FieldValue], indicators: &[Indicator]) -> Vec<Class> {
    let pue = number(fields, "pue").map(|(x, _)| x);
    let wue = indicators
        .iter()
        .find(|i| i.id == "wue_fresh")
        .and_then(|i| i.value);
    [("pue", pue), ("wue", wue)]
        .into_iter()
        .filter_map(|(id, v)| {
            let v = v?;
            let bound = dataset
                .classes
                .iter()
                .filter(|c| c.indicator == id)
                .find(|c| v <= c.upper)?;
            Some(Class {
                indicator: id.to_uppercase(),
                class: bound.class.clone(),
                basis: format!(
                    "{}; provisional: the act was adopted by the Commission in 2026 but its entry into force is not confirmed{}",
                    bound.source,
                    if id == "wue" { "; WUE on freshwater input" } else { "" }
                ),
            })
        })
        .collect()
}
