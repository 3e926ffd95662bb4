//! The PUE report rendered: JSON through serde, CSV through the `csv` crate, Markdown, and one
//! self-contained HTML file with SVG charts (plotters). Nothing here computes a figure.

use std::fmt::Write;

use kilowatch_core::i18n::Tr;

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
    let md_table = to_markdown(r, |_| String::new());
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
            daily_chart_svg(s),
            esc(&tr.t("caption-daily-pue")),
            esc(&s.label)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{} ({})</figcaption></figure>",
            breakdown_chart_svg(s),
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
fn breakdown_chart_svg(s: &SiteReport) -> String {
    let mut bars: Vec<(String, f64)> = vec![("IT".to_owned(), s.it_kwh)];
    for (name, p) in &s.breakdown.partial {
        bars.push((name.clone(), (p - 1.0) * s.it_kwh));
    }
    bars.push(("unmetered".to_owned(), s.breakdown.unmetered_kwh.max(0.0)));
    bar_chart_svg(&bars, "kWh")
}

/// Facility energy per month (kWh).
fn monthly_chart_svg(s: &SiteReport) -> String {
    let bars: Vec<(String, f64)> = s
        .monthly
        .iter()
        .map(|m| (m.month.clone(), m.facility_kwh))
        .collect();
    bar_chart_svg(&bars, "kWh")
}

/// One bar per label, in green.
pub(crate) fn bar_chart_svg(bars: &[(String, f64)], unit: &str) -> String {
    use plotters::style::{Color, GREEN};
    let labels: Vec<&str> = bars.iter().map(|(l, _)| l.as_str()).collect();
    let values: Vec<f64> = bars.iter().map(|(_, v)| *v).collect();
    grouped_bar_chart_svg(&labels, &[(values, GREEN.mix(0.7))], unit)
}

/// Two bars per label (before in grey, after in green), e.g. a site's IT power before and after
/// consolidation. `rows` are (label, before, after).
pub(crate) fn paired_bar_chart_svg(rows: &[(String, f64, f64)], unit: &str) -> String {
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
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text from an inventory or a status may hold a comma, a quote and a newline: the CSV
    /// still reads back field for field.
    #[test]
    fn csv_round_trips_text_with_a_comma_a_quote_and_a_newline() {
        let site = kilowatch_core::config::Site {
            id: "hk,1 \"main\"\nhall".into(),
            name: "x".into(),
            emission_factor_kg_per_kwh: None,
            tariff_hkd_per_kwh: None,
            timezone: kilowatch_core::calendar::TimeZone::UTC,
            rooms: Vec::new(),
            utility: None,
            years: Default::default(),
        };
        let mut s = SiteReport::no_data(
            &site,
            kilowatch_store::TimeRange {
                from: 0,
                to: 3_600_000,
            },
        );
        s.status = "data error: a, \"b\"\nc".into();
        s.events.push(super::super::MeterEvent {
            device: "pdu,\"7\"\n".into(),
            kind: EventKind::Glitch,
            from: "t0".into(),
            at: "t1".into(),
            kwh: 1.5,
        });
        let r = Report {
            from: String::new(),
            to: String::new(),
            sites: vec![s.clone()],
        };
        let text = to_csv(&r).unwrap_or_default();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let row = rows
            .records()
            .next()
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(&row[0], s.site.as_str());
        assert_eq!(&row[19], s.status.as_str());
        let text = events_csv(&r).unwrap_or_default();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let row = rows
            .records()
            .next()
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(&row[2], "pdu,\"7\"\n");
        assert_eq!(&row[3], "glitch");
    }
}
