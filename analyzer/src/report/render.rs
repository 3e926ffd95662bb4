//! The PUE report rendered: JSON through serde, CSV through the `csv` crate, Markdown, and one
//! self-contained HTML file with SVG charts (plotters). Nothing here computes a figure.

use std::fmt::Write;

use kilowatch_core::i18n::Tr;

use super::charts::{breakdown_chart_svg, daily_chart_svg, monthly_chart_svg};
use super::{EventKind, Report, SiteReport};

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

/// The text a CSV writer over a byte buffer wrote (every report's CSV ends here).
pub(crate) fn csv_text(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A Markdown table's header row and rule, from its column names (already in the reader's
/// language).
fn md_head<S: AsRef<str>>(cells: &[S]) -> String {
    let names: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
    format!(
        "| {} |\n|{}\n",
        names.join(" | "),
        " --- |".repeat(names.len())
    )
}

/// Markdown in the reader's language; `chart(site, category)` names the SVG file written
/// beside it for each trend.
pub fn to_markdown(r: &Report, chart: impl Fn(&SiteReport) -> String, tr: &Tr) -> String {
    let t = |k: &str| tr.t(k);
    let mut out = format!(
        "# {}\n\n{}\n\n",
        t("report-pue-title"),
        tr.args("window", &[("from", &r.from), ("to", &r.to)])
    );
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
        let _ = writeln!(out, "\n![{}]({})", t("pue-chart-alt"), chart(s));
    }
    out
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

/// One self-contained HTML file with inline SVG charts.
/// The stylesheet every HTML report shares: readable on screen, and printed (or turned into
/// PDF by Chromium) on A4 with running headers, tables kept whole, and a font stack that
/// carries Traditional Chinese (Noto Sans CJK, WenQuanYi, PingFang, Microsoft JhengHei).
const STYLE: &str = "body{font-family:'Noto Sans','Noto Sans CJK TC','Noto Sans CJK HK','WenQuanYi Micro Hei','WenQuanYi Zen Hei','PingFang HK','Microsoft JhengHei',sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.4}\
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #888;margin-top:2rem}h3{font-size:1.05rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #999;padding:.25rem .5rem;vertical-align:top}th{background:#eee;text-align:left}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.src-entered{font-style:italic}.src-missing{color:#a00}\
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}p.window{color:#333}\
@page{size:A4;margin:18mm 14mm}\
@media print{body{max-width:none;margin:0;font-size:10pt}nav{page-break-after:always}section{page-break-before:always}table,figure{page-break-inside:avoid}thead{display:table-header-group}a{color:inherit;text-decoration:none}}";

/// A complete HTML document in the reader's language around `body`.
pub fn document(tr: &Tr, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n{body}<footer><p>{}</p></footer>\n</body></html>\n",
        tr.lang().tag(),
        esc(title),
        esc(&tr.t("made-by"))
    )
}

pub fn to_html(r: &Report, tr: &Tr) -> String {
    let md_table = to_markdown(r, |_| String::new(), tr);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<h1>{}</h1><p class=\"window\">{}</p>",
        esc(&tr.t("report-pue-title")),
        esc(&tr.args("window", &[("from", &r.from), ("to", &r.to)]))
    );
    let _ = writeln!(
        out,
        "<table><thead><tr>{}</tr></thead><tbody>",
        [
            "col-site",
            "col-label",
            "col-pue",
            "col-interval",
            "col-dcie",
            "col-edc-kwh",
            "col-eit-kwh",
            "col-coverage"
        ]
        .iter()
        .map(|k| format!("<th>{}</th>", esc(&tr.t(k))))
        .collect::<String>()
    );
    for s in &r.sites {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1} %</td></tr>",
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
    out.push_str("</tbody></table>\n");
    for s in &r.sites {
        let _ = writeln!(
            out,
            "<section><h2>{} — {}</h2>",
            esc(&s.name),
            esc(&s.label)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{} ({})</figcaption></figure>",
            daily_chart_svg(s, tr),
            esc(&tr.t("caption-daily-pue")),
            esc(&s.label)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{} ({})</figcaption></figure>",
            breakdown_chart_svg(s, tr),
            esc(&tr.t("caption-breakdown")),
            esc(&s.label)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            monthly_chart_svg(s),
            esc(&tr.t("caption-monthly-energy"))
        );
        let _ = writeln!(
            out,
            "<table><thead><tr>{}</tr></thead>",
            [
                "col-month",
                "col-edc-kwh",
                "col-eit-kwh",
                "col-co2-kg",
                "col-cost-hkd"
            ]
            .iter()
            .map(|k| format!("<th>{}</th>", esc(&tr.t(k))))
            .collect::<String>()
        );
        for m in &s.monthly {
            let f = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                m.month,
                m.facility_kwh,
                m.it_kwh,
                f(m.co2_kg),
                f(m.cost_hkd)
            );
        }
        out.push_str("</table></section>\n");
    }
    // The notes (breakdown, factors, events) as preformatted text, so nothing is lost.
    let notes = md_table
        .split("\n## ")
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n## ");
    let _ = writeln!(
        out,
        "<section><h2>{}</h2><pre>## {}</pre></section>",
        esc(&tr.t("heading-notes")),
        esc(&notes)
    );
    document(tr, &tr.t("report-pue-title"), &out)
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
