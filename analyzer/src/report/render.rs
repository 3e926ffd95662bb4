//! The PUE report rendered: JSON through serde, CSV through the `csv` crate, Markdown, and one
//! self-contained HTML file with SVG charts (plotters). Nothing here computes a figure.

use std::collections::BTreeMap;
use std::fmt::Write;

use kilowatch_core::i18n::Tr;

use super::charts::{Chart, breakdown_chart, daily_chart, monthly_chart};
use super::html::{chart_mark, md_cell, md_head, page};
use super::{EventKind, NoDataKind, Report, SiteReport};

/// Pretty JSON of the whole report, every event included.
pub fn to_json(r: &Report) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}

/// One row per site and category, then one per site without data ("no data" in each figure,
/// the reason in `status`), through the `csv` crate (any text quoted as it needs).
pub fn to_csv(r: &Report, tr: &Tr) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let head = [
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
    ];
    w.write_record(head)?;
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
    let none = tr.t("no-data");
    for n in &r.no_data {
        let mut row = vec![
            n.site.clone(),
            String::new(),
            String::new(),
            n.timezone.clone(),
            n.from.clone(),
            n.to.clone(),
        ];
        row.resize(head.len() - 1, none.clone());
        row.push(no_data_text(n, tr));
        w.write_record(row)?;
    }
    csv_text(w)
}

/// Why a site has no figure, in the reader's language.
fn no_data_text(n: &super::NoDataSite, tr: &Tr) -> String {
    tr.t(match n.kind {
        NoDataKind::It => "pue-no-data-it",
        NoDataKind::Facility => "pue-no-data-facility",
    })
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

/// The text a CSV writer over a byte buffer wrote (every report's CSV ends here).
pub(crate) fn csv_text(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Markdown in the reader's language; `chart(site, category)` names the SVG file written
/// beside it for each daily trend (a trend the data cannot draw is a sentence instead).
pub fn to_markdown(r: &Report, chart: impl Fn(&SiteReport) -> String, tr: &Tr) -> String {
    markdown(r, tr, &|i, kind, s| match kind {
        "daily" => match daily_chart(s, tr) {
            Chart::Svg(_) => format!("![{}]({})\n", tr.t("pue-chart-alt"), chart(s)),
            Chart::Skipped(why) => format!("{}: {why}\n", tr.t("caption-daily-pue")),
        },
        _ => {
            let _ = i;
            String::new()
        }
    })
}

/// A figure or number with its decimals, or "no data".
fn or_no_data(v: Option<f64>, d: usize, tr: &Tr) -> String {
    v.map_or_else(|| tr.t("no-data"), |v| format!("{v:.d$}"))
}

/// The Markdown both outputs share; `chart(index, kind, site)` is what stands where a chart goes.
fn markdown(r: &Report, tr: &Tr, chart: &dyn Fn(usize, &str, &SiteReport) -> String) -> String {
    let t = |k: &str| tr.t(k);
    let mut out = format!(
        "# {}\n\n{}\n\n{}\n\n",
        t("report-pue-title"),
        tr.args("window", &[("from", &r.from), ("to", &r.to)]),
        zones_line(
            tr,
            r.sites
                .iter()
                .map(|s| (s.site.as_str(), s.timezone.as_str()))
                .chain(
                    r.no_data
                        .iter()
                        .map(|n| (n.site.as_str(), n.timezone.as_str()))
                )
        )
    );
    let _ = write!(out, "## {}\n\n", t("heading-summary"));
    out.push_str(&md_head(&[
        t("th-site"),
        t("col-pue"),
        t("col-interval"),
        t("col-dcie"),
        t("col-edc-kwh"),
        t("col-eit-kwh"),
        t("pue-th-coverage"),
    ]));
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
            "| {} | {} | {i} | {} | {:.1} | {:.1} | {:.1} % |",
            md_cell(&s.site),
            md_cell(&p),
            s.dcie_pct.map_or("—".into(), |d| format!("{d:.1} %")),
            s.facility_kwh,
            s.it_kwh,
            s.coverage * 100.0
        );
    }
    let none = t("no-data");
    for n in &r.no_data {
        let _ = writeln!(
            out,
            "| {} | {none} | {none} | {none} | {none} | {none} | {none} |",
            md_cell(&n.site)
        );
    }
    for (i, s) in r.sites.iter().enumerate() {
        let _ = writeln!(out, "\n## {} — {}\n", s.name, s.label);
        for (name, p) in &s.breakdown.partial {
            let _ = writeln!(
                out,
                "- {}",
                tr.args("pue-ppue", &[("name", name), ("value", &format!("{p:.3}"))])
            );
        }
        let _ = writeln!(
            out,
            "- {}",
            tr.args(
                "pue-unmetered",
                &[
                    ("kwh", &format!("{:.1}", s.breakdown.unmetered_kwh)),
                    ("pue", &format!("{:+.3}", s.breakdown.unmetered_pue)),
                ]
            )
        );
        let line = match (s.emission_factor_kg_per_kwh, s.co2_kg, s.cue_kg_per_kwh) {
            (Some(ef), Some(co2), Some(cue)) => tr.args(
                "pue-co2",
                &[
                    ("co2", &format!("{co2:.1}")),
                    ("factor", &ef.to_string()),
                    ("cue", &format!("{cue:.3}")),
                ],
            ),
            _ => t("pue-co2-none"),
        };
        let _ = writeln!(out, "- {line}");
        let line = match (s.tariff_hkd_per_kwh, s.cost_hkd) {
            (Some(tariff), Some(c)) => tr.args(
                "pue-cost",
                &[
                    ("cost", &format!("{c:.2}")),
                    ("tariff", &tariff.to_string()),
                ],
            ),
            _ => t("pue-cost-none"),
        };
        let _ = writeln!(out, "- {line}");
        let _ = writeln!(
            out,
            "- {}",
            tr.args("pue-uncertainty", &[("basis", &s.uncertainty_basis)])
        );
        let _ = writeln!(
            out,
            "- {}",
            tr.args(
                "pue-site-window",
                &[("from", &s.from), ("to", &s.to), ("zone", &s.timezone)]
            )
        );
        if s.estimated_facility_kwh + s.estimated_it_kwh > 0.0 {
            let _ = writeln!(
                out,
                "- {}",
                tr.args(
                    "pue-estimated",
                    &[
                        ("edc", &format!("{:.1}", s.estimated_facility_kwh)),
                        ("eit", &format!("{:.1}", s.estimated_it_kwh)),
                    ]
                )
            );
        }
        if s.event_summary.is_empty() {
            let _ = writeln!(out, "- {}", t("pue-events-none"));
        }
        for e in &s.event_summary {
            let _ = writeln!(
                out,
                "- {}",
                tr.args(
                    "pue-event",
                    &[
                        ("kind", e.kind.name()),
                        ("device", &e.device),
                        ("count", &e.count.to_string()),
                        ("meaning", &t(event_meaning(e.kind))),
                        ("first", &e.first),
                        ("last", &e.last),
                        ("kwh", &format!("{:.1}", e.kwh)),
                    ]
                )
            );
        }
        let _ = write!(out, "\n{}", chart(i, "daily", s));
        let _ = write!(out, "\n{}", chart(i, "breakdown", s));
        let _ = write!(
            out,
            "\n### {}\n\n{}",
            t("pue-heading-monthly"),
            md_head(&[
                t("col-month"),
                t("col-edc-kwh"),
                t("col-eit-kwh"),
                t("col-co2-kg"),
                t("col-cost-hkd"),
            ])
        );
        for m in &s.monthly {
            // No readings is "no data"; a figure the site has no factor or tariff for is "—".
            let factor = |v: Option<f64>, set: bool| {
                if m.facility_kwh.is_none() {
                    none.clone()
                } else if set {
                    or_no_data(v, 0, tr)
                } else {
                    "—".into()
                }
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                m.month,
                or_no_data(m.facility_kwh, 1, tr),
                or_no_data(m.it_kwh, 1, tr),
                factor(m.co2_kg, s.emission_factor_kg_per_kwh.is_some()),
                factor(m.cost_hkd, s.tariff_hkd_per_kwh.is_some())
            );
        }
        let _ = write!(out, "\n{}", chart(i, "monthly", s));
    }
    for n in &r.no_data {
        let _ = writeln!(
            out,
            "\n## {} — {none}\n\n{}\n\n- {}",
            n.name,
            no_data_text(n, tr),
            tr.args(
                "pue-site-window",
                &[("from", &n.from), ("to", &n.to), ("zone", &n.timezone)]
            )
        );
    }
    out
}

/// "Time zones: hk1 Asia/Hong_Kong, ..." for a report's header.
pub(crate) fn zones_line<'a>(tr: &Tr, zones: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for (site, zone) in zones {
        let item = format!("{site} {zone}");
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    tr.args("zones", &[("list", &seen.join(", "))])
}

/// The catalogue key of what a report reader needs to know of an event kind.
fn event_meaning(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Glitch => "pue-event-glitch",
        EventKind::Spike => "pue-event-spike",
        EventKind::Reset => "pue-event-reset",
        EventKind::Wrap => "pue-event-wrap",
        EventKind::Gap => "pue-event-gap",
        EventKind::Stuck => "pue-event-stuck",
    }
}

/// The stylesheet every HTML report shares: readable on screen, and printed (or turned into
/// PDF by Chromium) on A4 with running headers, tables kept whole, and a font stack that
/// carries Traditional Chinese (Noto Sans CJK, WenQuanYi, PingFang, Microsoft JhengHei).
const STYLE: &str = "body{font-family:'Noto Sans','Noto Sans CJK TC','Noto Sans CJK HK','WenQuanYi Micro Hei','WenQuanYi Zen Hei','PingFang HK','Microsoft JhengHei',sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.4}\
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #888;margin-top:2rem}h3{font-size:1.05rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #999;padding:.25rem .5rem;vertical-align:top}th{background:#eee;text-align:left}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.src-entered{font-style:italic}.src-missing{color:#a00}\
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}p.window{color:#333}p.no-chart{font-style:italic;color:#333}nav ol ol{margin:0}svg{max-width:100%;height:auto}\
@page{size:A4;margin:18mm 14mm}\
@media print{body{max-width:none;margin:0;font-size:10pt}nav{page-break-after:always}section.site{page-break-before:always}table,figure{page-break-inside:avoid}thead{display:table-header-group}a{color:inherit;text-decoration:none}}";

/// A complete HTML document in the reader's language around `body`.
pub fn document(tr: &Tr, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n{body}<footer><p>{}</p></footer>\n</body></html>\n",
        tr.lang().tag(),
        esc(title),
        esc(&tr.t("made-by"))
    )
}

/// One self-contained HTML document: the Markdown's tables and notes as HTML, each site's
/// charts (inline SVG) in its section.
pub fn to_html(r: &Report, tr: &Tr) -> String {
    let mut figures = BTreeMap::new();
    for (i, s) in r.sites.iter().enumerate() {
        let label = format!(" ({})", s.label);
        figures.insert(
            format!("daily-{i}"),
            daily_chart(s, tr).figure(&(tr.t("caption-daily-pue") + &label)),
        );
        figures.insert(
            format!("breakdown-{i}"),
            breakdown_chart(s, tr).figure(&(tr.t("caption-breakdown") + &label)),
        );
        figures.insert(
            format!("monthly-{i}"),
            monthly_chart(s, tr).figure(&tr.t("caption-monthly-energy")),
        );
    }
    let md = markdown(r, tr, &|i, kind, _| chart_mark(&format!("{kind}-{i}")));
    page(tr, &tr.t("report-pue-title"), &md, &figures)
}

/// Text made safe inside HTML elements.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
