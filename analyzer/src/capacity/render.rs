//! The capacity report rendered: JSON through serde, CSV through the `csv` crate, Markdown, and
//! one self-contained HTML file with an SVG chart (plotters). Nothing here computes a figure.

use std::fmt::Write;

use super::CapacityReport;
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

/// One self-contained HTML file: rack power against budget as an inline SVG chart, then the
/// Markdown text preformatted so nothing is lost.
pub fn to_html(r: &CapacityReport, from: &str, to: &str) -> String {
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
            "<figure>{}<figcaption>Rack power, W: budget (grey) and p95 of 5-minute means (green)</figcaption></figure>",
            paired_bar_chart_svg(&racks, "W")
        )
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kilowatch capacity report</title></head><body>{chart}<pre>{}</pre></body></html>",
        esc(&to_markdown(r, from, to))
    )
}

/// Markdown: one table per part of the report, "—" where there is no figure.
pub fn to_markdown(r: &CapacityReport, from: &str, to: &str) -> String {
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
            m.stranded_kind.map_or("—", |k| k.text()),
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
    if r.inlets.is_empty() {
        out.push_str("\nNo data: no rack-inlet temperature was read in this window.");
        if r.unplaced_temperatures > 0 {
            let _ = write!(
                out,
                " {} temperature series do not say where they are measured (`temperature_c`); \
                 set `temperature_at = \"inlet\"` on the devices whose probes hang at rack inlets.",
                r.unplaced_temperatures
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

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
        let md = to_markdown(&report(), "a", "b");
        assert!(
            md.contains("| 600.0 | power (cooling runs out first) |"),
            "{md}"
        );
    }

    #[test]
    fn the_html_charts_each_rack_against_its_budget_with_names_escaped() {
        let html = to_html(&report(), "a", "b");
        assert!(
            html.contains("<svg") && html.contains("r&lt;\"01\"&gt;"),
            "{html}"
        );
        assert!(
            !html.contains("r<\"01\">"),
            "the rack name is escaped: {html}"
        );
    }
}
