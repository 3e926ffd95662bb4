//! The PUE report planners hand on: per site and measured category, PUE with its label,
//! coverage and uncertainty interval, DCiE, the pPUE breakdown, CUE, CO2 and cost with the
//! factors used, what the meter data did (events summarised per meter and kind, every one
//! listed in JSON and CSV), and daily and monthly figures in the site's own calendar — as JSON,
//! CSV, Markdown or one self-contained HTML file with SVG charts. This module computes the report
//! as plain data; `render` turns it into each format.

use std::collections::BTreeMap;

use kilowatch_core::calendar::{self, CalendarError, Window};
use kilowatch_core::config::{Config, Site};
use kilowatch_core::model::{Category, Role};
use kilowatch_store::{ReadStore, StoreError, TimeRange};
use serde::Serialize;

use crate::energy::{self, Event, EventKind};
use crate::kpi;
use crate::pue::{self, Options, Pue};

mod charts;
mod html;
mod render;
pub use charts::{Chart, PALETTE, daily_chart};
pub(crate) use charts::{Series, bar_chart};
pub(crate) use html::{chart_mark, md_cell, md_head, page};
pub(crate) use render::{csv_text, esc, zones_line};
pub use render::{document, events_csv, to_csv, to_html, to_json, to_markdown};

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
    /// Sites whose meters read nothing in the window: no figure, and why.
    pub no_data: Vec<NoDataSite>,
}

/// A site the window has no readings of: listed with the reason, every figure absent (`null`
/// in JSON, "no data" in text), never zero.
#[derive(Debug, Clone, Serialize)]
pub struct NoDataSite {
    pub site: String,
    pub name: String,
    pub timezone: String,
    pub from: String,
    pub to: String,
    /// Always `null`: kept so a reader of `sites` and `no_data` finds the same key.
    pub pue: Option<f64>,
    pub reason: String,
    #[serde(skip)]
    pub kind: NoDataKind,
}

/// Which energy the window lacks (the renderers word it in the reader's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoDataKind {
    /// No IT meter read anything.
    #[default]
    It,
    /// IT meters read, the facility meters did not.
    Facility,
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
    /// `None` when no meter of the kind read anything that day.
    pub facility_kwh: Option<f64>,
    pub it_kwh: Option<f64>,
    pub pue: Option<f64>,
    #[serde(skip)]
    pub start_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// `None` when no meter of the kind read anything that month.
    pub facility_kwh: Option<f64>,
    pub it_kwh: Option<f64>,
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
    let mut no_data = Vec::new();
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
            no_data.push(NoDataSite::of(
                site,
                range,
                no_data_kind(store, site, range, opts)?,
            ));
        }
        sites.extend(reports);
        progress(n + 1, total);
    }
    let (from, to) = edges.unwrap_or_default();
    Ok(Report {
        from,
        to,
        sites,
        no_data,
    })
}

/// Why a site without a report has none: no IT meter read, or only the facility's did not.
fn no_data_kind(
    store: &dyn ReadStore,
    site: &Site,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<NoDataKind, StoreError> {
    for cat in [Category::One, Category::Two, Category::Three] {
        let meters = pue::role_energy(store, &site.id, Role::It(cat), range, opts)?;
        if measured(&meters).is_some() {
            return Ok(NoDataKind::Facility);
        }
    }
    Ok(NoDataKind::It)
}

impl NoDataSite {
    pub(crate) fn of(site: &Site, range: TimeRange, kind: NoDataKind) -> NoDataSite {
        let tz = &site.timezone;
        NoDataSite {
            site: site.id.clone(),
            name: site.name.clone(),
            timezone: calendar::zone_name(tz),
            from: calendar::format_local(tz, range.from),
            to: calendar::format_local(tz, range.to),
            pue: None,
            reason: match kind {
                NoDataKind::It => "no data: no IT energy in the window (no device with role = \"it\" has readings in it; a draft from `discover` has no roles yet)",
                NoDataKind::Facility => "no data: the IT meters read but no facility meter (role = \"facility\") has readings in the window",
            }
            .into(),
            kind,
        }
    }
}

/// The meters' energy summed (coverage the worst meter's), or `None` when none of them read
/// anything in the window: a meter without readings gives zero energy at zero coverage, which
/// is no measurement.
pub(crate) fn measured(meters: &[pue::MeterEnergy]) -> Option<energy::Energy> {
    if meters.iter().all(|m| m.energy.coverage <= 0.0) {
        return None;
    }
    energy::sum(&meters.iter().map(|m| m.energy.clone()).collect::<Vec<_>>())
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
    let e_dc = measured(&facility);
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
        let e = measured(&meters);
        others.extend(meters);
        e.map(|e| (name, e.kwh))
    })
    .collect();
    let mut out = Vec::new();
    for cat in [Category::One, Category::Two, Category::Three] {
        let mut it_w = pue::role_energy_windows(store, &site.id, Role::It(cat), &windows, opts)?;
        let it_sums = window_sums(&it_w);
        let it = std::mem::take(&mut it_w[0]);
        // A category without readings has no report; IT without facility energy has no PUE
        // (the caller lists the site as without data).
        let (Some(e_it), Some(e_dc)) = (measured(&it), e_dc.as_ref()) else {
            continue;
        };
        let (e_dc_kwh, est_dc) = (e_dc.kwh, e_dc.estimated_kwh);
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
                    co2_kg: ef.zip(dc).map(|(f, dc)| f * dc),
                    cost_hkd: tariff.zip(dc).map(|(t, dc)| t * dc),
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
                    pue: dc.zip(it).and_then(|(dc, it)| kpi::pue(dc, it)),
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
            coverage: e_dc.coverage.min(e_it.coverage),
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

/// The energy of a role's meters summed per window; `None` for a window none of them read.
fn window_sums(per_window: &[Vec<pue::MeterEnergy>]) -> Vec<Option<f64>> {
    per_window
        .iter()
        .map(|meters| measured(meters).map(|e| e.kwh))
        .collect()
}
