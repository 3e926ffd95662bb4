//! The capacity report rendered: JSON through serde, CSV through the `csv` crate, Markdown, and
//! one self-contained HTML file with an SVG chart (plotters). Nothing here computes a figure.

use std::fmt::Write;

use kilowatch_core::i18n::Tr;

use super::{CapacityReport, Stranded};
use crate::report::{csv_text, esc, paired_bar_chart_svg};

/// Pretty JSON of the whole report.
pub fn to_json(r: &CapacityReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}

/// Racks as CSV (the table planners sort and filter most), through the `csv` crate (any text
/// quoted as it needs).
pub fn to_csv(r: &CapacityReport) -> Result<String, csv::Error> {
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
    let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    for k in &r.racks {
        w.write_record([
            k.site.clone(),
            k.room.clone(),
            k.rack.clone(),
            f(k.budget_w),
            format!("{:.1}", k.peak_w),
            format!("{:.1}", k.p95_w),
            f(k.utilisation_pct),
            f(k.headroom_w),
            k.over_80_pct.to_string(),
        ])?;
    }
    csv_text(w)
}

/// One self-contained HTML file in the reader's language: rack power against budget as an
/// inline SVG chart, then the Markdown text preformatted so nothing is lost.
pub fn to_html(r: &CapacityReport, from: &str, to: &str, tr: &Tr) -> String {
    // A rack without a budget has no grey bar (non-finite values are left out of the chart).
    let racks: Vec<(String, f64, f64)> = r
        .racks
        .iter()
        .map(|k| (esc(&k.rack), k.budget_w.unwrap_or(f64::NAN), k.p95_w))
        .collect();
    let chart = if racks.is_empty() {
        String::new()
    } else {
        format!(
            "<figure>{}<figcaption>{}</figcaption></figure>\n",
            paired_bar_chart_svg(&racks, "W"),
            esc(&tr.t("caption-rack-power"))
        )
    };
    let title = tr.t("report-capacity-title");
    let body = format!(
        "<h1>{}</h1>\n{chart}<pre>{}</pre>\n",
        esc(&title),
        esc(&to_markdown(r, from, to, tr))
    );
    crate::report::document(tr, &title, &body)
}

/// A Markdown table's header row and rule, from its column names (already translated).
fn md_head<S: AsRef<str>>(cells: &[S]) -> String {
    let names: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
    format!(
        "| {} |\n|{}\n",
        names.join(" | "),
        " --- |".repeat(names.len())
    )
}

/// What a room's stranded capacity is, in the reader's language.
fn stranded(kind: Stranded, tr: &Tr) -> String {
    tr.t(match kind {
        Stranded::Power => "cap-stranded-power",
        Stranded::Cooling => "cap-stranded-cooling",
    })
}

/// Markdown in the reader's language: one table per part of the report, "—" where there is
/// no figure.
pub fn to_markdown(r: &CapacityReport, from: &str, to: &str, tr: &Tr) -> String {
    let t = |k: &str| tr.t(k);
    let f = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.1}"));
    let over = |b: bool| {
        if b {
            format!("**{}**", t("word-yes"))
        } else {
            t("word-no")
        }
    };
    let fits = |b: bool| t(if b { "word-true" } else { "word-false" });
    let mut out = format!(
        "# {}\n\n{}\n\n## {}\n\n{}",
        t("report-capacity-title"),
        tr.args("cap-intro", &[("from", from), ("to", to)]),
        t("cap-heading-racks"),
        md_head(&[
            t("th-site"),
            t("th-room"),
            t("th-rack"),
            t("cap-th-budget-w"),
            t("cap-th-peak-w"),
            "p95 W".into(),
            t("cap-th-use-pct"),
            t("cap-th-headroom-w"),
            "> 80 %".into(),
        ])
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
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {} | {} | {} | {:.0} |",
            b.device,
            b.point,
            b.peak_a,
            f(b.breaker_a),
            f(b.load_pct),
            over(b.over_80_pct),
            b.device_imbalance_pct
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
            "| {} | {} | {:.1} | {} | {} |",
            u.site,
            u.units,
            u.peak_load_pct_of_one_unit,
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
            "| {} | {:.0} | {} | {} | {} |",
            c.device,
            c.peak_heat_w,
            f(c.rated_w),
            f(c.utilisation_pct),
            f(c.mean_delta_t_c)
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
    for m in &r.rooms {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} | {}/{} | {}/{} | {} |",
            m.site,
            m.room,
            m.power_headroom_w,
            f(m.cooling_headroom_w),
            f(m.stranded_w),
            m.stranded_kind.map_or("—".to_owned(), |k| stranded(k, tr)),
            f(m.rci_hi_min),
            f(m.rci_hi_mean),
            f(m.rci_lo_min),
            f(m.rci_lo_mean),
            m.intakes
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
            racks: vec![RackCapacity {
                site: ODD.into(),
                room: "hall, 1".into(),
                rack: "r<\"01\">".into(),
                budget_w: Some(4000.0),
                peak_w: 3300.04,
                p95_w: 3000.0,
                utilisation_pct: Some(75.0),
                headroom_w: Some(700.0),
                over_80_pct: false,
            }],
            breakers: vec![],
            ups: vec![],
            cooling: vec![],
            rooms: vec![RoomCapacity {
                site: ODD.into(),
                room: "hall, 1".into(),
                power_headroom_w: 1000.0,
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
        }
    }

    /// Names from an inventory may hold a comma, a quote and a newline (issue 18): the CSV
    /// reads back field for field, where the hand-written one split them.
    #[test]
    fn issue_18_csv_round_trips_a_comma_a_quote_and_a_newline() {
        let text = to_csv(&report()).unwrap_or_default();
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
        let md = to_markdown(&report(), "a", "b", &Tr::new(Lang::En));
        assert!(
            md.contains("| 600.0 | power (cooling runs out first) |"),
            "{md}"
        );
    }

    #[test]
    fn the_html_charts_each_rack_against_its_budget_with_names_escaped() {
        let html = to_html(&report(), "a", "b", &Tr::new(Lang::En));
        assert!(
            html.contains("<svg") && html.contains("r&lt;\"01\"&gt;"),
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
        let zh = to_html(&report(), "a", "b", &Tr::new(Lang::ZhHk));
        assert!(
            zh.contains("<html lang=\"zh-HK\">") && zh.contains("<title>容量報告</title>"),
            "{zh}"
        );
    }
}
