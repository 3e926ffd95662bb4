//! The PUE report planners hand on: per site and measured category, PUE with its label,
//! coverage and uncertainty interval, DCiE, the pPUE breakdown, CUE, CO2 and cost with the
//! factors used, counter events, and a daily PUE trend — as JSON, CSV, Markdown or one
//! self-contained HTML file with SVG charts.

use std::fmt::Write;

use kilowatch_core::config::Config;
use kilowatch_core::model::{Category, Role};
use kilowatch_core::timefmt::format_rfc3339;
use kilowatch_store::{ReadStore, StoreError, TimeRange};
use serde::Serialize;

use crate::energy::{self, CounterEvent};
use crate::kpi;
use crate::pue::{self, Options, Pue};

/// Default accuracies when the inventory states none (pue.md §7.4): revenue-grade boundary
/// meters ±2 %, UPS/PDU/sub-meter readings ±5 %. Reports say when they were assumed.
const DEFAULT_FACILITY_ACCURACY_PCT: f64 = 2.0;
const DEFAULT_OTHER_ACCURACY_PCT: f64 = 5.0;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub sites: Vec<SiteReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    pub site: String,
    pub name: String,
    pub category: u8,
    pub label: String,
    /// `None` with `status` explaining why when the data cannot give a PUE.
    pub pue: Option<f64>,
    /// 95 % interval (k = 2) from the meters' accuracies.
    pub pue_low: Option<f64>,
    pub pue_high: Option<f64>,
    pub dcie_pct: Option<f64>,
    pub status: String,
    pub facility_kwh: f64,
    pub it_kwh: f64,
    /// Share of the window with good data for the worse of the two terms, 0..=1.
    pub coverage: f64,
    pub uncertainty_basis: String,
    /// pPUE of each metered subsystem, and the unmetered residual.
    pub breakdown: kpi::Breakdown,
    pub emission_factor_kg_per_kwh: Option<f64>,
    pub co2_kg: Option<f64>,
    pub cue_kg_per_kwh: Option<f64>,
    pub tariff_hkd_per_kwh: Option<f64>,
    pub cost_hkd: Option<f64>,
    pub events: Vec<MeterEvent>,
    /// (day start, PUE of that day) for the trend chart.
    pub daily: Vec<(i64, Option<f64>)>,
    /// Per calendar month (Hong Kong time): facility energy, with its CO2 and cost.
    pub monthly: Vec<Month>,
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
    #[serde(flatten)]
    pub event: CounterEvent,
}

const DAY_MS: i64 = 86_400_000;
/// Hong Kong's offset from UTC: months and days are Hong Kong's.
const HK: i64 = 8 * 3_600_000;

/// Builds the report; `progress(done, total)` is called once per site and category.
pub fn pue_report(
    store: &dyn ReadStore,
    config: &Config,
    range: TimeRange,
    opts: Options,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, StoreError> {
    let mut sites = Vec::new();
    let total = config.sites.len();
    for (n, site) in config.sites.iter().enumerate() {
        let facility = pue::role_energy(store, &site.id, Role::Facility, range, opts)?;
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
        let u_term = |meters: &[pue::MeterEnergy], default: f64, assumed: &mut bool| {
            let parts: Vec<(f64, f64)> = meters
                .iter()
                .map(|m| {
                    let (a, guessed) = accuracy(&m.device, default);
                    *assumed |= guessed;
                    (m.energy.kwh, kpi::class_uncertainty(a))
                })
                .collect();
            kpi::sum_uncertainty(&parts, false)
        };
        let u_dc = u_term(&facility, DEFAULT_FACILITY_ACCURACY_PCT, &mut assumed);
        let subsystems: Vec<(&str, f64)> = [
            ("cooling", Role::Cooling),
            ("lighting", Role::Lighting),
            ("other", Role::Other),
        ]
        .into_iter()
        .filter_map(|(name, role)| {
            let meters = pue::role_energy(store, &site.id, role, range, opts).ok()?;
            energy::sum(&meters.into_iter().map(|m| m.energy).collect::<Vec<_>>())
                .map(|e| (name, e.kwh))
        })
        .collect();
        let mut events: Vec<MeterEvent> = facility
            .iter()
            .flat_map(|m| {
                m.energy.events.iter().map(|e| MeterEvent {
                    device: m.device.clone(),
                    event: *e,
                })
            })
            .collect();
        for cat in [Category::One, Category::Two, Category::Three] {
            let it = pue::role_energy(store, &site.id, Role::It(cat), range, opts)?;
            let Some(e_it) = energy::sum(&it.iter().map(|m| m.energy.clone()).collect::<Vec<_>>())
            else {
                continue;
            };
            let e_dc_kwh = e_dc.as_ref().map_or(0.0, |e| e.kwh);
            let u_it = u_term(&it, DEFAULT_OTHER_ACCURACY_PCT, &mut assumed);
            let value = kpi::pue(e_dc_kwh, e_it.kwh);
            let status = match pue::ratio(e_dc_kwh, e_it.kwh, cat, range) {
                Pue::Value { .. } => "ok".to_owned(),
                Pue::DataError { reason } => format!("data error: {reason}"),
            };
            let u = kpi::pue_uncertainty(u_dc, u_it);
            let ef = site.emission_factor_kg_per_kwh;
            let tariff = site.tariff_hkd_per_kwh;
            events.extend(it.iter().flat_map(|m| {
                m.energy.events.iter().map(|e| MeterEvent {
                    device: m.device.clone(),
                    event: *e,
                })
            }));
            let (monthly, daily) = monthly_and_daily(store, &site.id, cat, range, opts)?;
            let monthly = monthly
                .into_iter()
                .map(|(month, dc, it)| Month {
                    month,
                    facility_kwh: dc,
                    it_kwh: it,
                    co2_kg: ef.map(|f| f * dc),
                    cost_hkd: tariff.map(|t| t * dc),
                })
                .collect();
            sites.push(SiteReport {
                site: site.id.clone(),
                name: site.name.clone(),
                category: cat.number(),
                label: pue::label(cat, range),
                pue: value,
                pue_low: value.map(|p| p * (1.0 - 2.0 * u)),
                pue_high: value.map(|p| p * (1.0 + 2.0 * u)),
                dcie_pct: value.map(kpi::dcie_pct),
                status,
                facility_kwh: e_dc_kwh,
                it_kwh: e_it.kwh,
                coverage: e_dc.as_ref().map_or(0.0, |e| e.coverage.min(e_it.coverage)),
                uncertainty_basis: format!(
                    "95 % interval (k = 2) from meter accuracy classes{}: u(E_DC) {:.2} %, u(E_IT) {:.2} %",
                    if assumed { ", defaults assumed where the inventory states none (boundary ±2 %, others ±5 %)" } else { "" },
                    u_dc * 100.0,
                    u_it * 100.0
                ),
                breakdown: kpi::breakdown(e_dc_kwh, e_it.kwh, &subsystems),
                emission_factor_kg_per_kwh: ef,
                co2_kg: ef.map(|f| f * e_dc_kwh),
                cue_kg_per_kwh: ef.map(|f| kpi::cue(&[(e_dc_kwh, f)], e_it.kwh)),
                tariff_hkd_per_kwh: tariff,
                cost_hkd: tariff.map(|t| t * e_dc_kwh),
                events: events.clone(),
                daily,
                monthly,
            });
        }
        progress(n + 1, total);
    }
    Ok(Report {
        from: format_rfc3339(range.from),
        to: format_rfc3339(range.to),
        sites,
    })
}

/// Calendar months (UTC+8) inside the window, with their labels.
fn months(range: TimeRange) -> Vec<(String, TimeRange)> {
    let mut out = Vec::new();
    let mut start = range.from;
    while start < range.to && out.len() < 240 {
        let local = format_rfc3339(start + HK);
        let (y, m): (i64, i64) = (
            local[0..4].parse().unwrap_or(1970),
            local[5..7].parse().unwrap_or(1),
        );
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let next =
            kilowatch_core::timefmt::parse_rfc3339(&format!("{ny:04}-{nm:02}-01T00:00:00+08:00"))
                .unwrap_or(range.to);
        let w = TimeRange {
            from: start,
            to: next.min(range.to),
        };
        out.push((format!("{y:04}-{m:02}"), w));
        start = next;
    }
    out
}

/// Calendar days (UTC+8, Hong Kong) inside the window, each with its day start.
fn days(range: TimeRange) -> Vec<(i64, TimeRange)> {
    let mut day = (range.from + HK).div_euclid(DAY_MS) * DAY_MS - HK;
    let mut out = Vec::new();
    while day < range.to && out.len() < 400 {
        let w = TimeRange {
            from: day.max(range.from),
            to: (day + DAY_MS).min(range.to),
        };
        out.push((day, w));
        day += DAY_MS;
    }
    out
}

/// Facility and IT energy per calendar month, and PUE per calendar day: every series is read
/// once for all the windows.
#[allow(clippy::type_complexity)]
fn monthly_and_daily(
    store: &dyn ReadStore,
    site: &str,
    cat: Category,
    range: TimeRange,
    opts: Options,
) -> Result<(Vec<(String, f64, f64)>, Vec<(i64, Option<f64>)>), StoreError> {
    let months = months(range);
    let days = days(range);
    let windows: Vec<TimeRange> = months
        .iter()
        .map(|(_, w)| *w)
        .chain(days.iter().map(|(_, w)| *w))
        .collect();
    let sums = |role: Role| -> Result<Vec<f64>, StoreError> {
        Ok(pue::role_energy_windows(store, site, role, &windows, opts)?
            .iter()
            .map(|meters| meters.iter().map(|m| m.energy.kwh).sum())
            .collect())
    };
    let (dc, it) = (sums(Role::Facility)?, sums(Role::It(cat))?);
    let n = months.len();
    let monthly = months
        .into_iter()
        .enumerate()
        .map(|(i, (label, _))| (label, dc[i], it[i]))
        .collect();
    let daily = days
        .into_iter()
        .enumerate()
        .map(|(i, (day, _))| (day, kpi::pue(dc[n + i], it[n + i])))
        .collect();
    Ok((monthly, daily))
}

pub fn to_json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

pub fn to_csv(r: &Report) -> String {
    let mut out = String::from(
        "site,category,label,pue,pue_low,pue_high,dcie_pct,facility_kwh,it_kwh,coverage,co2_kg,cue_kg_per_kwh,cost_hkd,status\n",
    );
    let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for s in &r.sites {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            s.site,
            s.category,
            s.label,
            f(s.pue),
            f(s.pue_low),
            f(s.pue_high),
            f(s.dcie_pct),
            s.facility_kwh,
            s.it_kwh,
            s.coverage,
            f(s.co2_kg),
            f(s.cue_kg_per_kwh),
            f(s.cost_hkd),
            s.status.replace('"', "'")
        );
    }
    out
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
        for e in &s.events {
            let _ = writeln!(
                out,
                "- counter event on {}: {:?} at {}",
                e.device,
                e.event.kind,
                format_rfc3339(e.event.at)
            );
        }
        let _ = writeln!(out, "\n![daily PUE]({})", chart(s));
    }
    out
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

/// The daily PUE trend as an SVG document (plotters).
pub fn daily_chart_svg(s: &SiteReport) -> String {
    use plotters::prelude::*;
    let points: Vec<(f64, f64)> = s
        .daily
        .iter()
        .filter_map(|(t, p)| p.map(|p| (*t as f64 / DAY_MS as f64, p)))
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
