//! The PUE report planners hand on: per site and measured category, PUE with its label,
//! coverage and uncertainty interval, DCiE, the pPUE breakdown, CUE, CO2 and cost with the
//! factors used, what the meter data did (events summarised per meter and kind, every one
//! listed in JSON and CSV), and daily and monthly figures in the site's own calendar — as JSON,
//! CSV, Markdown or one self-contained HTML file with SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write;

use kilowatch_core::calendar::{self, CalendarError, Window};
use kilowatch_core::config::{Config, Site};
use kilowatch_core::model::{Category, Role};
use kilowatch_store::{ReadStore, StoreError, TimeRange};
use serde::Serialize;

use crate::energy::{self, Event, EventKind};
use crate::kpi;
use crate::pue::{self, Options, Pue};

/// Default accuracies when the inventory states none (pue.md §7.4): revenue-grade boundary
/// meters ±2 %, UPS/PDU/sub-meter readings ±5 %. Reports say when they were assumed.
const DEFAULT_FACILITY_ACCURACY_PCT: f64 = 2.0;
const DEFAULT_OTHER_ACCURACY_PCT: f64 = 5.0;
/// Relative standard uncertainty of energy estimated across a hidden interval from the
/// neighbouring rates (a project choice: load rarely moves 10 % within one reading interval).
const ESTIMATE_UNCERTAINTY: f64 = 0.10;
/// Estimated shares beyond which a PUE is only indicative, and not reported (pue.md §7.3).
const INDICATIVE_SHARE: f64 = 0.05;
const REFUSED_SHARE: f64 = 0.20;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("site '{site}': {source}")]
    Window {
        site: String,
        #[source]
        source: CalendarError,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The first site's window (each site's own is in its report: a date is its local midnight).
    pub from: String,
    pub to: String,
    pub sites: Vec<SiteReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    pub site: String,
    pub name: String,
    /// The site's IANA zone: its window, days and months are local to it.
    pub timezone: String,
    pub from: String,
    pub to: String,
    pub category: u8,
    pub label: String,
    /// `None` with `status` explaining why when the data cannot give a PUE.
    pub pue: Option<f64>,
    /// 95 % interval (k = 2) from the meters' accuracies and the estimated energy.
    pub pue_low: Option<f64>,
    pub pue_high: Option<f64>,
    pub dcie_pct: Option<f64>,
    pub status: String,
    pub facility_kwh: f64,
    pub it_kwh: f64,
    /// Parts of `facility_kwh` and `it_kwh` estimated (intervals a reset or spike hid).
    pub estimated_facility_kwh: f64,
    pub estimated_it_kwh: f64,
    /// Share of the window with measured data for the worse of the two terms, 0..=1.
    pub coverage: f64,
    pub uncertainty_basis: String,
    /// pPUE of each metered subsystem, and the unmetered residual.
    pub breakdown: kpi::Breakdown,
    pub emission_factor_kg_per_kwh: Option<f64>,
    pub co2_kg: Option<f64>,
    pub cue_kg_per_kwh: Option<f64>,
    pub tariff_hkd_per_kwh: Option<f64>,
    pub cost_hkd: Option<f64>,
    /// What the meter data did, per meter and kind.
    pub event_summary: Vec<EventSummary>,
    /// Every event, in time order per meter.
    pub events: Vec<MeterEvent>,
    /// Local calendar days of the window.
    pub daily: Vec<Day>,
    /// Local calendar months: facility energy, with its CO2 and cost.
    pub monthly: Vec<Month>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// `2025-03-30`.
    pub day: String,
    /// The day's instants in the window (local time with offset): a DST day is 23 or 25 hours.
    pub from: String,
    pub to: String,
    pub facility_kwh: f64,
    pub it_kwh: f64,
    pub pue: Option<f64>,
    #[serde(skip)]
    pub start_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    pub facility_kwh: f64,
    pub it_kwh: f64,
    pub co2_kg: Option<f64>,
    pub cost_hkd: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeterEvent {
    pub device: String,
    pub kind: EventKind,
    /// The interval the event touched, in the site's local time.
    pub from: String,
    pub at: String,
    /// Energy of that interval (bridged, estimated, wrapped or caught up), kWh.
    pub kwh: f64,
}

/// The events of one kind on one meter: how many, the first and last, and the energy they
/// touched.
#[derive(Debug, Clone, Serialize)]
pub struct EventSummary {
    pub device: String,
    pub kind: EventKind,
    pub count: usize,
    pub first: String,
    pub last: String,
    pub kwh: f64,
}

/// Builds the report, resolving `window` in each site's zone; `progress(done, total)` is called
/// once per site.
pub fn pue_report(
    store: &dyn ReadStore,
    config: &Config,
    window: &Window,
    opts: Options<'_>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, ReportError> {
    let mut sites = Vec::new();
    let mut edges = None;
    let total = config.sites.len();
    for (n, site) in config.sites.iter().enumerate() {
        let (from, to) = window
            .resolve(&site.timezone)
            .map_err(|source| ReportError::Window {
                site: site.id.clone(),
                source,
            })?;
        edges.get_or_insert_with(|| {
            (
                calendar::format_local(&site.timezone, from),
                calendar::format_local(&site.timezone, to),
            )
        });
        let range = TimeRange { from, to };
        let reports = site_reports(store, config, site, range, opts)?;
        if reports.is_empty() {
            // No data is not zero: the site is listed, with why there is no figure.
            sites.push(SiteReport::no_data(site, range));
        }
        sites.extend(reports);
        progress(n + 1, total);
    }
    let (from, to) = edges.unwrap_or_default();
    Ok(Report { from, to, sites })
}

impl SiteReport {
    /// A site with no IT energy in the window: listed with the reason, every figure absent.
    fn no_data(site: &Site, range: TimeRange) -> SiteReport {
        let tz = &site.timezone;
        SiteReport {
            site: site.id.clone(),
            name: site.name.clone(),
            timezone: calendar::zone_name(tz),
            from: calendar::format_local(tz, range.from),
            to: calendar::format_local(tz, range.to),
            category: 0,
            label: "PUE".into(),
            pue: None,
            pue_low: None,
            pue_high: None,
            dcie_pct: None,
            status: "no data: no IT energy in the window (no device with role = \"it\" has readings; a draft from `discover` has no roles yet)".into(),
            facility_kwh: 0.0,
            it_kwh: 0.0,
            estimated_facility_kwh: 0.0,
            estimated_it_kwh: 0.0,
            coverage: 0.0,
            uncertainty_basis: String::new(),
            breakdown: kpi::breakdown(0.0, 0.0, &[]),
            emission_factor_kg_per_kwh: site.emission_factor_kg_per_kwh,
            co2_kg: None,
            cue_kg_per_kwh: None,
            tariff_hkd_per_kwh: site.tariff_hkd_per_kwh,
            cost_hkd: None,
            event_summary: Vec::new(),
            events: Vec::new(),
            daily: Vec::new(),
            monthly: Vec::new(),
        }
    }
}

/// One site's reports over `range`, one per measured IT category.
pub fn site_reports(
    store: &dyn ReadStore,
    config: &Config,
    site: &Site,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<Vec<SiteReport>, StoreError> {
    let tz = &site.timezone;
    let local = |t: i64| calendar::format_local(tz, t);
    // The whole window, then its local months and days: every series is read and cleaned once
    // for all of them.
    let months = calendar::months(tz, range.from, range.to, 240);
    let days = calendar::days(tz, range.from, range.to, 400);
    let windows: Vec<TimeRange> = std::iter::once(range)
        .chain(months.iter().chain(&days).map(|p| TimeRange {
            from: p.from,
            to: p.to,
        }))
        .collect();
    let mut facility_w = pue::role_energy_windows(store, &site.id, Role::Facility, &windows, opts)?;
    let dc_sums = window_sums(&facility_w);
    let facility = std::mem::take(&mut facility_w[0]);
    let e_dc = energy::sum(
        &facility
            .iter()
            .map(|m| m.energy.clone())
            .collect::<Vec<_>>(),
    );
    let accuracy = |device: &str, default: f64| {
        config
            .devices
            .iter()
            .find(|d| d.id == device)
            .and_then(|d| d.accuracy_pct)
            .map_or((default, true), |a| (a, false))
    };
    let mut assumed = false;
    // Each meter's measured energy carries its class; its estimated energy carries the
    // estimator's own uncertainty.
    let u_term = |meters: &[pue::MeterEnergy], default: f64, assumed: &mut bool| {
        let parts: Vec<(f64, f64)> = meters
            .iter()
            .flat_map(|m| {
                let (a, guessed) = accuracy(&m.device, default);
                *assumed |= guessed;
                let est = m.energy.estimated_kwh;
                [
                    (m.energy.kwh - est, kpi::class_uncertainty(a)),
                    (est, ESTIMATE_UNCERTAINTY),
                ]
            })
            .collect();
        kpi::sum_uncertainty(&parts, false)
    };
    let u_dc = u_term(&facility, DEFAULT_FACILITY_ACCURACY_PCT, &mut assumed);
    let mut others = Vec::new();
    let subsystems: Vec<(&str, f64)> = [
        ("cooling", Role::Cooling),
        ("lighting", Role::Lighting),
        ("other", Role::Other),
    ]
    .into_iter()
    .filter_map(|(name, role)| {
        let meters = pue::role_energy(store, &site.id, role, range, opts).ok()?;
        let e = energy::sum(&meters.iter().map(|m| m.energy.clone()).collect::<Vec<_>>());
        others.extend(meters);
        e.map(|e| (name, e.kwh))
    })
    .collect();
    let mut out = Vec::new();
    for cat in [Category::One, Category::Two, Category::Three] {
        let mut it_w = pue::role_energy_windows(store, &site.id, Role::It(cat), &windows, opts)?;
        let it_sums = window_sums(&it_w);
        let it = std::mem::take(&mut it_w[0]);
        let Some(e_it) = energy::sum(&it.iter().map(|m| m.energy.clone()).collect::<Vec<_>>())
        else {
            continue;
        };
        let e_dc_kwh = e_dc.as_ref().map_or(0.0, |e| e.kwh);
        let est_dc = e_dc.as_ref().map_or(0.0, |e| e.estimated_kwh);
        let u_it = u_term(&it, DEFAULT_OTHER_ACCURACY_PCT, &mut assumed);
        let share = |est: f64, total: f64| if total > 0.0 { est / total } else { 0.0 };
        let estimated_share = share(est_dc, e_dc_kwh).max(share(e_it.estimated_kwh, e_it.kwh));
        let mut value = kpi::pue(e_dc_kwh, e_it.kwh);
        let status = match pue::ratio(e_dc_kwh, e_it.kwh, cat, range) {
            Pue::DataError { reason } => format!("data error: {reason}"),
            Pue::Value { .. } if estimated_share > REFUSED_SHARE => {
                value = None;
                format!(
                    "not reported: {:.1} % of the energy is estimated (over {:.0} %)",
                    estimated_share * 100.0,
                    REFUSED_SHARE * 100.0
                )
            }
            Pue::Value { .. } if estimated_share > INDICATIVE_SHARE => format!(
                "indicative: {:.1} % of the energy is estimated",
                estimated_share * 100.0
            ),
            Pue::Value { .. } => "ok".to_owned(),
        };
        let u = kpi::pue_uncertainty(u_dc, u_it);
        let ef = site.emission_factor_kg_per_kwh;
        let tariff = site.tariff_hkd_per_kwh;
        let meters: Vec<&pue::MeterEnergy> = facility.iter().chain(&it).chain(&others).collect();
        let (event_summary, events) = events(&meters, &local);
        let n = months.len();
        let monthly = months
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (dc, it) = (dc_sums[1 + i], it_sums[1 + i]);
                Month {
                    month: p.label.clone(),
                    facility_kwh: dc,
                    it_kwh: it,
                    co2_kg: ef.map(|f| f * dc),
                    cost_hkd: tariff.map(|t| t * dc),
                }
            })
            .collect();
        let daily = days
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (dc, it) = (dc_sums[1 + n + i], it_sums[1 + n + i]);
                Day {
                    day: p.label.clone(),
                    from: calendar::format_local(tz, p.from),
                    to: calendar::format_local(tz, p.to),
                    facility_kwh: dc,
                    it_kwh: it,
                    pue: kpi::pue(dc, it),
                    start_ms: p.start,
                }
            })
            .collect();
        out.push(SiteReport {
            site: site.id.clone(),
            name: site.name.clone(),
            timezone: calendar::zone_name(tz),
            from: local(range.from),
            to: local(range.to),
            category: cat.number(),
            label: pue::label(cat, range),
            pue: value,
            pue_low: value.map(|p| p * (1.0 - 2.0 * u)),
            pue_high: value.map(|p| p * (1.0 + 2.0 * u)),
            dcie_pct: value.map(kpi::dcie_pct),
            status,
            facility_kwh: e_dc_kwh,
            it_kwh: e_it.kwh,
            estimated_facility_kwh: est_dc,
            estimated_it_kwh: e_it.estimated_kwh,
            coverage: e_dc.as_ref().map_or(0.0, |e| e.coverage.min(e_it.coverage)),
            uncertainty_basis: format!(
                "95 % interval (k = 2) from meter accuracy classes{}{}: u(E_DC) {:.2} %, u(E_IT) {:.2} %",
                if assumed { ", defaults assumed where the inventory states none (boundary ±2 %, others ±5 %)" } else { "" },
                if est_dc + e_it.estimated_kwh > 0.0 { ", and ±10 % on estimated energy" } else { "" },
                u_dc * 100.0,
                u_it * 100.0
            ),
            breakdown: kpi::breakdown(e_dc_kwh, e_it.kwh, &subsystems),
            emission_factor_kg_per_kwh: ef,
            co2_kg: ef.map(|f| f * e_dc_kwh),
            cue_kg_per_kwh: ef.map(|f| kpi::cue(&[(e_dc_kwh, f)], e_it.kwh)),
            tariff_hkd_per_kwh: tariff,
            cost_hkd: tariff.map(|t| t * e_dc_kwh),
            event_summary,
            events,
            daily,
            monthly,
        });
    }
    Ok(out)
}

/// Every event of the meters, and their summary per meter and kind.
fn events(
    meters: &[&pue::MeterEnergy],
    local: &impl Fn(i64) -> String,
) -> (Vec<EventSummary>, Vec<MeterEvent>) {
    let mut all: Vec<(&str, Event)> = Vec::new();
    for m in meters {
        let mut own: Vec<Event> = m.energy.events.clone();
        own.sort_by_key(|e| (e.at, e.kind));
        all.extend(own.into_iter().map(|e| (m.device.as_str(), e)));
    }
    let mut summary: BTreeMap<(&str, EventKind), (usize, i64, i64, f64)> = BTreeMap::new();
    for (device, e) in &all {
        let s = summary
            .entry((device, e.kind))
            .or_insert((0, e.from, e.at, 0.0));
        s.0 += 1;
        s.1 = s.1.min(e.from);
        s.2 = s.2.max(e.at);
        s.3 += e.kwh;
    }
    let summary = summary
        .into_iter()
        .map(|((device, kind), (count, first, last, kwh))| EventSummary {
            device: device.to_owned(),
            kind,
            count,
            first: local(first),
            last: local(last),
            kwh,
        })
        .collect();
    let list = all
        .into_iter()
        .map(|(device, e)| MeterEvent {
            device: device.to_owned(),
            kind: e.kind,
            from: local(e.from),
            at: local(e.at),
            kwh: e.kwh,
        })
        .collect();
    (summary, list)
}

/// The energy of a role's meters summed per window.
fn window_sums(per_window: &[Vec<pue::MeterEnergy>]) -> Vec<f64> {
    per_window
        .iter()
        .map(|meters| meters.iter().map(|m| m.energy.kwh).sum())
        .collect()
}

/// Pretty JSON of the whole report, every event included.
pub fn to_json(r: &Report) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}

/// One row per site and category, through the `csv` crate (any text quoted as it needs).
pub fn to_csv(r: &Report) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "site",
        "category",
        "label",
        "timezone",
        "from",
        "to",
        "pue",
        "pue_low",
        "pue_high",
        "dcie_pct",
        "facility_kwh",
        "it_kwh",
        "estimated_facility_kwh",
        "estimated_it_kwh",
        "coverage",
        "co2_kg",
        "cue_kg_per_kwh",
        "cost_hkd",
        "events",
        "status",
    ])?;
    let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for s in &r.sites {
        w.write_record([
            s.site.clone(),
            s.category.to_string(),
            s.label.clone(),
            s.timezone.clone(),
            s.from.clone(),
            s.to.clone(),
            f(s.pue),
            f(s.pue_low),
            f(s.pue_high),
            f(s.dcie_pct),
            s.facility_kwh.to_string(),
            s.it_kwh.to_string(),
            s.estimated_facility_kwh.to_string(),
            s.estimated_it_kwh.to_string(),
            s.coverage.to_string(),
            f(s.co2_kg),
            f(s.cue_kg_per_kwh),
            f(s.cost_hkd),
            s.events.len().to_string(),
            s.status.clone(),
        ])?;
    }
    csv_text(w)
}

/// Every meter event of the report, one per row (the full list behind the summaries).
pub fn events_csv(r: &Report) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["site", "category", "device", "kind", "from", "at", "kwh"])?;
    for s in &r.sites {
        for e in &s.events {
            w.write_record([
                s.site.as_str(),
                &s.category.to_string(),
                &e.device,
                e.kind.name(),
                &e.from,
                &e.at,
                &e.kwh.to_string(),
            ])?;
        }
    }
    csv_text(w)
}

fn csv_text(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Markdown; `chart(site, category)` names the SVG file written beside it for each trend.
pub fn to_markdown(r: &Report, chart: impl Fn(&SiteReport) -> String) -> String {
    let mut out = format!("# PUE report\n\nWindow: {} to {}\n\n", r.from, r.to);
    out.push_str("| site | PUE | 95 % interval | DCiE | E_DC kWh | E_IT kWh | coverage |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for s in &r.sites {
        let p = s
            .pue
            .map_or(s.status.clone(), |p| format!("{p:.3} ({})", s.label));
        let i = match (s.pue_low, s.pue_high) {
            (Some(a), Some(b)) => format!("{a:.3} – {b:.3}"),
            _ => "—".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {p} | {i} | {} | {:.1} | {:.1} | {:.1} % |",
            s.site,
            s.dcie_pct.map_or("—".into(), |d| format!("{d:.1} %")),
            s.facility_kwh,
            s.it_kwh,
            s.coverage * 100.0
        );
    }
    for s in &r.sites {
        let _ = writeln!(out, "\n## {} — {}\n", s.name, s.label);
        for (name, p) in &s.breakdown.partial {
            let _ = writeln!(out, "- pPUE {name}: {p:.3}");
        }
        let _ = writeln!(
            out,
            "- unmetered overhead: {:.1} kWh ({:+.3} of PUE)",
            s.breakdown.unmetered_kwh, s.breakdown.unmetered_pue
        );
        match (s.emission_factor_kg_per_kwh, s.co2_kg, s.cue_kg_per_kwh) {
            (Some(ef), Some(co2), Some(cue)) => {
                let _ = writeln!(
                    out,
                    "- CO2: {co2:.1} kg at {ef} kg/kWh; CUE {cue:.3} kg/kWh_IT"
                );
            }
            _ => out.push_str("- CO2 and CUE: no emission factor set for this site\n"),
        }
        match (s.tariff_hkd_per_kwh, s.cost_hkd) {
            (Some(t), Some(c)) => {
                let _ = writeln!(out, "- energy cost: HKD {c:.2} at HKD {t}/kWh");
            }
            _ => out.push_str("- cost: no tariff set for this site\n"),
        }
        let _ = writeln!(out, "- uncertainty: {}", s.uncertainty_basis);
        let _ = writeln!(out, "- window: {} to {} ({})", s.from, s.to, s.timezone);
        if s.estimated_facility_kwh + s.estimated_it_kwh > 0.0 {
            let _ = writeln!(
                out,
                "- estimated energy: E_DC {:.1} kWh, E_IT {:.1} kWh (intervals a meter reset or spike hid, from the neighbouring rates)",
                s.estimated_facility_kwh, s.estimated_it_kwh
            );
        }
        if s.event_summary.is_empty() {
            out.push_str(
                "- meter data: no glitches, spikes, resets, wraps, stuck readings or gaps\n",
            );
        }
        for e in &s.event_summary {
            let _ = writeln!(
                out,
                "- {} on {}: {} ({}); first {}, last {}; {:.1} kWh affected",
                e.kind.name(),
                e.device,
                e.count,
                event_meaning(e.kind),
                e.first,
                e.last,
                e.kwh
            );
        }
        let _ = writeln!(out, "\n![daily PUE]({})", chart(s));
    }
    out
}

/// What a report reader needs to know of an event kind.
fn event_meaning(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Glitch => "a reading off the trend and back: dropped, neighbours bridged",
        EventKind::Spike => {
            "a step above rating or trend that stayed: rejected, interval estimated"
        }
        EventKind::Reset => "the counter went back, a reset or meter swap: interval estimated",
        EventKind::Wrap => "the counter passed its modulus: bridged",
        EventKind::Gap => "readings further apart than the meter's cadence",
        EventKind::Stuck => "a reading repeated while the meter counts",
    }
}

/// One self-contained HTML file with inline SVG charts.
pub fn to_html(r: &Report) -> String {
    let md_table = to_markdown(r, |_| String::new());
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kilowatch PUE report</title>\n<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:right}</style></head><body>\n",
    );
    let _ = writeln!(
        out,
        "<h1>PUE report</h1><p>Window: {} to {}</p>",
        esc(&r.from),
        esc(&r.to)
    );
    out.push_str("<table><tr><th>site</th><th>label</th><th>PUE</th><th>95 % interval</th><th>DCiE</th><th>E_DC kWh</th><th>E_IT kWh</th><th>coverage</th></tr>\n");
    for s in &r.sites {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1} %</td></tr>",
            esc(&s.site),
            esc(&s.label),
            s.pue.map_or(esc(&s.status), |p| format!("{p:.3}")),
            match (s.pue_low, s.pue_high) {
                (Some(a), Some(b)) => format!("{a:.3} – {b:.3}"),
                _ => "—".into(),
            },
            s.dcie_pct.map_or("—".into(), |d| format!("{d:.1} %")),
            s.facility_kwh,
            s.it_kwh,
            s.coverage * 100.0
        );
    }
    out.push_str("</table>\n");
    for s in &r.sites {
        let _ = writeln!(out, "<h2>{} — {}</h2>", esc(&s.name), esc(&s.label));
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>Daily PUE ({})</figcaption></figure>",
            daily_chart_svg(s),
            esc(&s.label)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>Energy breakdown ({})</figcaption></figure>",
            breakdown_chart_svg(s),
            esc(&s.label)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>Monthly facility energy</figcaption></figure>",
            monthly_chart_svg(s)
        );
        out.push_str("<table><tr><th>month</th><th>E_DC kWh</th><th>E_IT kWh</th><th>CO2 kg</th><th>cost HKD</th></tr>\n");
        for m in &s.monthly {
            let f = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
                m.month,
                m.facility_kwh,
                m.it_kwh,
                f(m.co2_kg),
                f(m.cost_hkd)
            );
        }
        out.push_str("</table>\n");
    }
    // The notes (breakdown, factors, events) as preformatted text, so nothing is lost.
    let notes = md_table
        .split("\n## ")
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n## ");
    let _ = writeln!(
        out,
        "<h2>Notes</h2><pre>## {}</pre>\n</body></html>",
        esc(&notes)
    );
    out
}

const DAY_MS: i64 = 86_400_000;

/// The daily PUE trend as an SVG document (plotters).
pub fn daily_chart_svg(s: &SiteReport) -> String {
    use plotters::prelude::*;
    let points: Vec<(f64, f64)> = s
        .daily
        .iter()
        .filter_map(|d| d.pue.map(|p| (d.start_ms as f64 / DAY_MS as f64, p)))
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (x0, x1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| {
            (a.min(*x), b.max(*x))
        });
        let (y0, y1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
        let (x0, x1) = if points.is_empty() {
            (0.0, 1.0)
        } else {
            (x0, x1.max(x0 + 1.0))
        };
        let (y0, y1) = if points.is_empty() {
            (1.0, 2.0)
        } else {
            (y0 - 0.05, y1 + 0.05)
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, y0..y1)
        {
            let _ = chart
                .configure_mesh()
                .x_desc("day")
                .y_desc(s.label.as_str())
                .draw();
            let _ = chart.draw_series(LineSeries::new(points.iter().copied(), &BLUE));
        }
        let _ = root.present();
    }
    svg
}

/// IT, each metered subsystem and the unmetered rest, as bars (kWh).
pub fn breakdown_chart_svg(s: &SiteReport) -> String {
    let mut bars: Vec<(String, f64)> = vec![("IT".to_owned(), s.it_kwh)];
    for (name, p) in &s.breakdown.partial {
        bars.push((name.clone(), (p - 1.0) * s.it_kwh));
    }
    bars.push(("unmetered".to_owned(), s.breakdown.unmetered_kwh.max(0.0)));
    bar_chart_svg(&bars, "kWh")
}

/// Facility energy per month (kWh).
pub fn monthly_chart_svg(s: &SiteReport) -> String {
    let bars: Vec<(String, f64)> = s
        .monthly
        .iter()
        .map(|m| (m.month.clone(), m.facility_kwh))
        .collect();
    bar_chart_svg(&bars, "kWh")
}

/// One bar per label, in green.
pub fn bar_chart_svg(bars: &[(String, f64)], unit: &str) -> String {
    use plotters::style::{Color, GREEN};
    let labels: Vec<&str> = bars.iter().map(|(l, _)| l.as_str()).collect();
    let values: Vec<f64> = bars.iter().map(|(_, v)| *v).collect();
    grouped_bar_chart_svg(&labels, &[(values, GREEN.mix(0.7))], unit)
}

/// Two bars per label (before in grey, after in green), e.g. a site's IT power before and after
/// consolidation. `rows` are (label, before, after).
pub fn paired_bar_chart_svg(rows: &[(String, f64, f64)], unit: &str) -> String {
    use plotters::style::{Color, RGBColor};
    let labels: Vec<&str> = rows.iter().map(|(l, _, _)| l.as_str()).collect();
    let before = rows.iter().map(|(_, b, _)| *b).collect();
    let after = rows.iter().map(|(_, _, a)| *a).collect();
    let series = [
        (before, RGBColor(150, 150, 150).to_rgba()),
        (after, RGBColor(40, 160, 60).to_rgba()),
    ];
    grouped_bar_chart_svg(&labels, &series, unit)
}

/// Side-by-side bars per label, one per series in its colour; non-finite values are left out.
fn grouped_bar_chart_svg(
    labels: &[&str],
    series: &[(Vec<f64>, plotters::style::RGBAColor)],
    unit: &str,
) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 260)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let top = series
            .iter()
            .flat_map(|(values, _)| values)
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.1;
        let n = labels.len().max(1);
        let width = 0.7 / series.len().max(1) as f64;
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)
        {
            let _ = chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|x| {
                    labels
                        .get(x.floor() as usize)
                        .map(|l| l.to_string())
                        .unwrap_or_default()
                })
                .y_desc(unit)
                .draw();
            let _ =
                chart.draw_series(series.iter().enumerate().flat_map(|(k, (values, colour))| {
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(move |(i, v)| {
                            let left = i as f64 + 0.15 + k as f64 * width;
                            Rectangle::new([(left, 0.0), (left + width, *v)], colour.filled())
                        })
                }));
        }
        let _ = root.present();
    }
    svg
}

/// Text made safe inside HTML elements.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
