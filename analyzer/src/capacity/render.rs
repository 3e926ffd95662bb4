//! The capacity report rendered: JSON through serde, CSV through the `csv` crate, Markdown, and
//! one HTML document rendered from that Markdown with an SVG chart (plotters). Nothing here
//! computes a figure; a figure without readings reads "no data".

use std::collections::BTreeMap;
use std::fmt::Write;

use kilowatch_core::i18n::Tr;

use super::{CapacityReport, Stranded};
use crate::report::{Series, bar_chart, chart_mark, csv_text, md_cell, md_head, page, zones_line};

/// Pretty JSON of the whole report.
pub fn to_json(r: &CapacityReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}

/// Racks as CSV (the table planners sort and filter most), through the `csv` crate (any text
/// quoted as it needs); a figure without readings is "no data" in the reader's language.
pub fn to_csv(r: &CapacityReport, tr: &Tr) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "site",
        "room",
        "rack",
        "budget_w",
        "peak_w",
        "p95_w",
        "utilisation_pct",
        "headroom_w",
        "over_80_pct",
    ])?;
    let none = tr.t("no-data");
    let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    let read = |v: Option<f64>| v.map_or(none.clone(), |v| format!("{v:.1}"));
    for k in &r.racks {
        // Without readings, use and headroom have no value either; with them, an empty cell
        // is a rack without a budget.
        let (util, headroom) = if k.peak_w.is_none() {
            (none.clone(), none.clone())
        } else {
            (f(k.utilisation_pct), f(k.headroom_w))
        };
        w.write_record([
            k.site.clone(),
            k.room.clone(),
            k.rack.clone(),
            f(k.budget_w),
            read(k.peak_w),
            read(k.p95_w),
            util,
            headroom,
            k.over_80_pct.map_or(none.clone(), |b| b.to_string()),
        ])?;
    }
    csv_text(w)
}

/// One HTML document in the reader's language: the Markdown's tables as HTML, rack power
/// against budget as an inline SVG chart in the racks' section.
pub fn to_html(r: &CapacityReport, tr: &Tr) -> String {
    let labels: Vec<String> = r.racks.iter().map(|k| k.rack.clone()).collect();
    let series = [
        Series {
            name: tr.t("cap-legend-budget"),
            values: r.racks.iter().map(|k| k.budget_w).collect(),
        },
        Series {
            name: tr.t("cap-legend-p95"),
            values: r.racks.iter().map(|k| k.p95_w).collect(),
        },
    ];
    // A chart of budgets alone would show no reading: it needs one rack with readings.
    let chart = if r.racks.iter().any(|k| k.p95_w.is_some()) {
        bar_chart(&labels, &series, &tr.t("chart-w"), tr)
    } else {
        crate::report::Chart::Skipped(tr.t("chart-no-values"))
    };
    let figures = BTreeMap::from([(
        "racks".to_owned(),
        chart.figure(&tr.t("caption-rack-power")),
    )]);
    let md = markdown(r, tr, true);
    page(tr, &tr.t("report-capacity-title"), &md, &figures)
}

/// What a room's stranded capacity is, in the reader's language.
fn stranded(kind: Stranded, tr: &Tr) -> String {
    tr.t(match kind {
        Stranded::Power => "cap-stranded-power",
        Stranded::Cooling => "cap-stranded-cooling",
    })
}

/// Markdown in the reader's language: one table per part of the report, "no data" where the
/// window has no readings and "—" where a figure does not apply (no budget, no rating).
pub fn to_markdown(r: &CapacityReport, tr: &Tr) -> String {
    markdown(r, tr, false)
}

fn markdown(r: &CapacityReport, tr: &Tr, charts: bool) -> String {
    let t = |k: &str| tr.t(k);
    let none = t("no-data");
    let f = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.1}"));
    // A figure built from readings: "no data" without them.
    let m = |v: Option<f64>, d: usize| v.map_or(none.clone(), |v| format!("{v:.d$}"));
    let over = |b: Option<bool>| match b {
        Some(true) => format!("**{}**", t("word-yes")),
        Some(false) => t("word-no"),
        None => none.clone(),
    };
    let fits = |b: Option<bool>| match b {
        Some(b) => t(if b { "word-true" } else { "word-false" }),
        None => none.clone(),
    };
    let mut out = format!(
        "# {}\n\n{}\n\n{}\n\n## {}\n\n{}",
        t("report-capacity-title"),
        tr.args("cap-intro", &[("from", &r.from), ("to", &r.to)]),
        zones_line(
            tr,
            r.zones
                .iter()
                .map(|z| (z.site.as_str(), z.timezone.as_str()))
        ),
        t("cap-heading-racks"),
        if charts {
            chart_mark("racks") + "\n"
        } else {
            String::new()
        },
    );
    out.push_str(&md_head(&[
        t("th-site"),
        t("th-room"),
        t("th-rack"),
        t("cap-th-budget-w"),
        t("cap-th-peak-w"),
        "p95 W".into(),
        t("cap-th-use-pct"),
        t("cap-th-headroom-w"),
        "> 80 %".into(),
    ]));
    for k in &r.racks {
        let read = k.peak_w.is_some();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&k.site),
            md_cell(&k.room),
            md_cell(&k.rack),
            f(k.budget_w),
            m(k.peak_w, 0),
            m(k.p95_w, 0),
            if read {
                f(k.utilisation_pct)
            } else {
                none.clone()
            },
            if read { f(k.headroom_w) } else { none.clone() },
            over(k.over_80_pct)
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cap-heading-breakers"),
        md_head(&[
            t("th-device"),
            t("cap-th-point"),
            t("cap-th-peak-a"),
            t("cap-th-breaker-a"),
            t("cap-th-load-pct"),
            "> 80 %".into(),
            t("cap-th-imbalance"),
        ])
    );
    for b in &r.breakers {
        let read = b.peak_a.is_some();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&b.device),
            md_cell(&b.point),
            m(b.peak_a, 1),
            f(b.breaker_a),
            if read { f(b.load_pct) } else { none.clone() },
            over(b.over_80_pct),
            m(b.device_imbalance_pct, 0)
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cap-heading-ups"),
        md_head(&[
            t("th-site"),
            t("cap-th-units"),
            t("cap-th-ups-peak"),
            t("cap-th-fits-n"),
            t("cap-th-fits-n1"),
        ])
    );
    for u in &r.ups {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md_cell(&u.site),
            u.units,
            m(u.peak_load_pct_of_one_unit, 1),
            fits(u.fits_n),
            fits(u.fits_n_minus_1)
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cap-heading-cooling"),
        md_head(&[
            t("th-device"),
            t("cap-th-peak-heat-w"),
            t("cap-th-rated-w"),
            t("cap-th-use-pct"),
            t("cap-th-mean-dt"),
        ])
    );
    for c in &r.cooling {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md_cell(&c.device),
            m(c.peak_heat_w, 0),
            f(c.rated_w),
            if c.peak_heat_w.is_some() {
                f(c.utilisation_pct)
            } else {
                none.clone()
            },
            m(c.mean_delta_t_c, 1)
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cap-heading-rooms"),
        md_head(&[
            t("th-site"),
            t("th-room"),
            t("cap-th-power-headroom-w"),
            t("cap-th-cooling-headroom-w"),
            t("cap-th-stranded-w"),
            t("cap-th-stranded"),
            t("cap-th-rci-hi"),
            t("cap-th-rci-lo"),
            t("cap-th-intakes"),
        ])
    );
    for room in &r.rooms {
        let pair = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (None, None) => none.clone(),
            (a, b) => format!("{}/{}", m(a, 1), m(b, 1)),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&room.site),
            md_cell(&room.room),
            m(room.power_headroom_w, 0),
            m(room.cooling_headroom_w, 1),
            m(room.stranded_w, 1),
            room.stranded_kind.map_or(none.clone(), |k| stranded(k, tr)),
            pair(room.rci_hi_min, room.rci_hi_mean),
            pair(room.rci_lo_min, room.rci_lo_mean),
            // No intake read: the count is no figure of the room's air.
            if room.intakes == 0 {
                none.clone()
            } else {
                room.intakes.to_string()
            }
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cap-heading-inlets"),
        md_head(&[
            t("th-device"),
            t("cap-th-sensor"),
            t("cap-th-samples"),
            t("cap-th-recommended"),
            "A1 %".into(),
            "A2 %".into(),
            t("cap-th-below"),
            t("cap-th-above"),
            t("cap-th-worst-high"),
        ])
    );
    for i in &r.inlets {
        let c = &i.compliance;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            md_cell(&i.device),
            md_cell(&i.sensor),
            c.samples,
            c.recommended_pct,
            c.allowable_pct[0].1,
            c.allowable_pct[1].1,
            c.below_recommended_pct,
            c.above_recommended_pct,
            m(c.worst_high_c, 1)
        );
    }
    if r.inlets.is_empty() {
        // Both sentences from one message, so each language joins them its own way.
        let text = if r.unplaced_temperatures > 0 {
            tr.args(
                "cap-unplaced",
                &[("count", &r.unplaced_temperatures.to_string())],
            )
        } else {
            t("cap-no-inlets")
        };
        let _ = writeln!(out, "\n{text}");
    }
    if r.inlets_without_data > 0 {
        let _ = writeln!(
            out,
            "\n{}",
            tr.args(
                "cap-inlets-without-data",
                &[("count", &r.inlets_without_data.to_string())]
            )
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use kilowatch_core::i18n::Lang;

    const ODD: &str = "Site \"A\", north\nwing";

    fn report() -> CapacityReport {
        CapacityReport {
            from: "a".into(),
            to: "b".into(),
            zones: vec![],
            racks: vec![RackCapacity {
                site: ODD.into(),
                room: "hall, 1".into(),
                rack: "r<\"01\">".into(),
                budget_w: Some(4000.0),
                peak_w: Some(3300.04),
                p95_w: Some(3000.0),
                utilisation_pct: Some(75.0),
                headroom_w: Some(700.0),
                over_80_pct: Some(false),
                no_data: None,
            }],
            breakers: vec![],
            ups: vec![],
            cooling: vec![],
            rooms: vec![RoomCapacity {
                site: ODD.into(),
                room: "hall, 1".into(),
                power_headroom_w: Some(1000.0),
                cooling_headroom_w: Some(400.0),
                stranded_w: Some(600.0),
                stranded_kind: Some(Stranded::Power),
                rci_hi_min: None,
                rci_hi_mean: None,
                rci_lo_min: None,
                rci_lo_mean: None,
                intakes: 0,
            }],
            inlets: vec![],
            unplaced_temperatures: 0,
            inlets_without_data: 0,
        }
    }

    /// Names from an inventory may hold a comma, a quote and a newline (issue 18): the CSV
    /// reads back field for field, where the hand-written one split them.
    #[test]
    fn issue_18_csv_round_trips_a_comma_a_quote_and_a_newline() {
        let text = to_csv(&report(), &Tr::new(Lang::En)).unwrap_or_default();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let header = rows.headers().cloned().unwrap_or_default();
        assert_eq!(header.len(), 9);
        let all: Vec<csv::StringRecord> = rows.records().filter_map(Result::ok).collect();
        assert_eq!(all.len(), 1, "{text}");
        let row: Vec<&str> = all[0].iter().collect();
        assert_eq!(
            row,
            [
                ODD,
                "hall, 1",
                "r<\"01\">",
                "4000.0",
                "3300.0",
                "3000.0",
                "75.0",
                "700.0",
                "false"
            ]
        );
    }

    #[test]
    fn json_and_markdown_name_the_stranded_kind_as_before() {
        let json = to_json(&report()).unwrap_or_default();
        assert!(
            json.contains("\"stranded_kind\": \"power (cooling runs out first)\""),
            "{json}"
        );
        let md = to_markdown(&report(), &Tr::new(Lang::En));
        assert!(
            md.contains("| 600.0 | power (cooling runs out first) |"),
            "{md}"
        );
    }

    #[test]
    fn the_html_charts_each_rack_against_its_budget_with_names_escaped() {
        let html = to_html(&report(), &Tr::new(Lang::En));
        assert!(
            html.contains("<svg") && html.contains("r&lt;&quot;01&quot;&gt;"),
            "{html}"
        );
        assert!(
            !html.contains("r<\"01\">"),
            "the rack name is escaped: {html}"
        );
        // The shared document: print stylesheet, CJK font stack, the reader's language.
        assert!(
            html.contains("<html lang=\"en\">")
                && html.contains("@page")
                && html.contains("Noto Sans CJK")
                && html.contains("<title>Capacity report</title>"),
            "{html}"
        );
        let zh = to_html(&report(), &Tr::new(Lang::ZhHk));
        assert!(
            zh.contains("<html lang=\"zh-HK\">") && zh.contains("<title>容量報告</title>"),
            "{zh}"
        );
    }
}
