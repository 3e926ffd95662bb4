//! The consolidation report rendered: JSON through serde, CSV through the `csv` crate, Markdown,
//! and one self-contained HTML file with SVG charts. Nothing here computes a figure.

use std::fmt::Write;

use kilowatch_core::i18n::Tr;

use super::ConsolidationReport;
use crate::report::{bar_chart_svg, csv_text, esc, paired_bar_chart_svg};

/// Pretty JSON of the whole report.
pub fn to_json(r: &ConsolidationReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
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

fn opt(v: Option<f64>, d: usize) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.d$}"))
}

/// Markdown in the reader's language: assumptions, idle servers, the plan per site, the
/// sensitivity, server profiles, site moves and, with a baseline, its verification.
pub fn to_markdown(r: &ConsolidationReport, tr: &Tr) -> String {
    let t = |k: &str| tr.t(k);
    let yes_no = |b: bool| t(if b { "word-yes" } else { "word-no" });
    let a = &r.assumptions;
    let f0 = |v: f64| format!("{v:.0}");
    let target = match &a.new_host {
        None => t("cons-target-own"),
        Some(h) => tr.args(
            "cons-target-new",
            &[
                ("cpu", &h.cpu.to_string()),
                ("mem", &h.mem.to_string()),
                ("idle", &f0(h.idle_w)),
                ("max", &f0(h.max_w)),
                ("u", &h.height_u.to_string()),
            ],
        ),
    };
    let assumptions = [
        tr.args(
            "cons-assume-sizing",
            &[
                ("p", &f0(a.percentile * 100.0)),
                ("mem", &f0(a.mem_percentile * 100.0)),
            ],
        ),
        tr.args(
            "cons-assume-headroom",
            &[
                ("pct", &f0(a.headroom * 100.0)),
                ("spare", &yes_no(a.n_plus_one)),
            ],
        ),
        tr.args("cons-assume-target", &[("hosts", &target)]),
        tr.args(
            "cons-assume-racks",
            &[
                ("space", &a.rack_space_u.to_string()),
                ("height", &a.server_height_u.to_string()),
            ],
        ),
        tr.args(
            "cons-assume-comatose",
            &[
                ("p95", &a.idle.cpu_p95_pct.to_string()),
                ("p99", &a.idle.cpu_p99_pct.to_string()),
                ("net", &a.idle.net_bytes_per_s.to_string()),
                ("days", &a.idle.min_days.to_string()),
            ],
        ),
        tr.args("cons-assume-no-power", &[("watts", &f0(a.fallback_max_w))]),
        t("cons-assume-facility"),
        t("cons-assume-moves"),
    ];
    let mut out = format!(
        "# {}\n\n{}\n\n## {}\n\n",
        t("report-consolidation-title"),
        tr.args("cons-window", &[("from", &r.from), ("to", &r.to)]),
        t("cons-heading-assumptions")
    );
    for line in &assumptions {
        let _ = writeln!(out, "- {line}");
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cons-heading-idle"),
        md_head(&[
            t("th-device"),
            t("th-site"),
            t("cons-th-reason"),
            "W".into(),
            t("cons-th-kwh-yr-it"),
            t("cons-th-kwh-yr-facility"),
            t("th-hkd-yr"),
            t("cons-th-confirmed"),
        ])
    );
    for i in &r.idle_servers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} | {} | {} | {} |",
            i.device,
            i.site,
            i.reason,
            i.watts,
            i.kwh_per_year,
            opt(i.facility_kwh_per_year, 0),
            opt(i.hkd_per_year, 0),
            yes_no(i.confirmed)
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cons-heading-sites"),
        md_head(&[
            t("th-site"),
            t("cons-th-hosts-before"),
            t("cons-th-idle-off"),
            t("cons-th-hosts-after"),
            t("cons-th-lower-bound"),
            t("cons-th-it-kw-before"),
            t("cons-th-it-kw-after"),
            t("th-pue-used"),
            t("th-saving-kwh-yr"),
            t("th-hkd-yr"),
            t("th-tco2e-yr"),
        ])
    );
    for s in &r.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {:.0} | {} | {} |",
            s.site,
            s.hosts_before,
            s.idle_servers,
            s.hosts_after,
            s.lower_bound_hosts,
            s.it_kw_before,
            s.it_kw_after,
            opt(s.pue_used, 3),
            s.savings_kwh_per_year,
            opt(s.savings_hkd_per_year, 0),
            opt(s.savings_tco2e_per_year, 2)
        );
    }
    let _ = write!(
        out,
        "\n{}\n\n{}",
        t("cons-per-site"),
        md_head(&[
            t("th-site"),
            t("th-pue-used"),
            t("cons-th-category"),
            t("cons-th-tariff"),
            t("cons-th-emission-factor"),
        ])
    );
    for s in &r.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            s.site,
            opt(s.pue_used, 3),
            s.pue_category.map_or("—".to_owned(), |c| format!("PUE{c}")),
            opt(s.tariff_hkd_per_kwh, 3),
            opt(s.emission_factor_kg_per_kwh, 3)
        );
    }
    for s in &r.sites {
        let _ = writeln!(
            out,
            "\n### {}\n\n{}",
            s.site,
            tr.args(
                "cons-site-power",
                &[("model", &s.power_model), ("method", &s.method)]
            )
        );
        for n in &s.notes {
            let _ = writeln!(out, "- {n}");
        }
        for (d, why) in &s.unplaceable {
            let _ = writeln!(
                out,
                "- {}",
                tr.args("cons-stays", &[("device", d), ("why", why)])
            );
        }
        if !s.racks.is_empty() {
            let _ = write!(
                out,
                "\n{}",
                md_head(&[
                    t("th-rack"),
                    t("cons-th-hosts"),
                    t("cons-th-w-sized"),
                    t("cons-th-w-budget"),
                    t("cons-th-u-used"),
                    "U".into(),
                ])
            );
            for k in &s.racks {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | {} | {:.0} | {:.0} |",
                    k.rack,
                    k.hosts,
                    k.power_w,
                    opt(k.power_budget_w, 0),
                    k.space_u,
                    k.space_budget_u
                );
            }
        }
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cons-heading-sensitivity"),
        md_head(&[t("th-site"), "20 %".into(), "30 %".into(), "40 %".into()])
    );
    for s in &r.sites {
        let h: Vec<String> = s.sensitivity.iter().map(|(_, n)| n.to_string()).collect();
        let _ = writeln!(out, "| {} | {} |", s.site, h.join(" | "));
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cons-heading-servers"),
        md_head(&[
            t("th-device"),
            t("th-site"),
            "CPU % p50".into(),
            "p95".into(),
            "p99".into(),
            t("th-max"),
            t("cons-th-mem-p99"),
            t("cons-th-net"),
            t("cons-th-mean-w"),
            t("cons-th-power"),
            t("cons-th-own-model"),
        ])
    );
    for p in &r.servers {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.0} | {} | {} |",
            p.device,
            p.site,
            p.cpu_pct.p50,
            p.cpu_pct.p95,
            p.cpu_pct.p99,
            p.cpu_pct.max,
            opt(p.mem_pct.map(|m| m.p99), 1),
            opt(p.net_bytes_per_s, 0),
            p.mean_w,
            p.power_source,
            p.model.map_or("—".to_owned(), |m| format!(
                "{:.1} + {:.2}·CPU%, {:.2}, {:.1}",
                m.idle_w, m.w_per_cpu_pct, m.r2, m.residual_rms_w
            ))
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cons-heading-site-figures"),
        md_head(&[
            t("th-site"),
            t("col-pue"),
            t("th-it-kw"),
            t("cons-th-power-headroom-kw"),
            t("cons-th-cooling-headroom-kw"),
            t("cons-th-space-used-u"),
            t("cons-th-space-headroom-u"),
        ])
    );
    for c in &r.site_capacities {
        let _ = writeln!(
            out,
            "| {} | {:.3} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            c.site,
            c.pue,
            c.it_kw,
            c.power_headroom_kw,
            c.cooling_headroom_kw,
            c.rack_u_used,
            c.space_headroom_u
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}",
        t("cons-heading-moves"),
        md_head(&[
            t("cons-th-rank"),
            t("cons-th-from"),
            t("cons-th-to"),
            t("th-saving-kwh-yr"),
            t("th-tco2e-yr"),
            t("cons-th-feasible"),
            t("cons-th-binding"),
        ])
    );
    for (i, m) in r.site_moves.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} | {} |",
            i + 1,
            m.from,
            m.to,
            m.savings_kwh_per_year,
            opt(m.savings_tco2e_per_year, 1),
            yes_no(m.feasible),
            m.binding_constraint
        );
    }
    if let Some(v) = &r.verification {
        let _ = write!(
            out,
            "\n## {}\n\n{}",
            t("cons-heading-verification"),
            md_head(&[
                t("th-site"),
                t("cons-th-ver-facility-before"),
                t("cons-th-ver-facility-after"),
                t("cons-th-ver-it-before"),
                t("cons-th-ver-it-after"),
                t("cons-th-ver-pue-before"),
                t("cons-th-ver-pue-after"),
                t("cons-th-measured-saving"),
                t("cons-th-predicted"),
                t("cons-th-realised"),
                t("th-hkd-yr"),
                t("th-tco2e-yr"),
            ])
        );
        for s in &v.sites {
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.3} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} |",
                s.site,
                s.facility_kw_before,
                s.facility_kw_after,
                opt(s.it_kw_before, 3),
                opt(s.it_kw_after, 3),
                opt(s.pue_before, 3),
                opt(s.pue_after, 3),
                s.measured_savings_kwh_per_year,
                opt(s.predicted_savings_kwh_per_year, 0),
                opt(s.realised_pct, 1),
                opt(s.savings_hkd_per_year, 0),
                opt(s.savings_tco2e_per_year, 2)
            );
        }
        let _ = writeln!(out, "\n{}", v.method);
    }
    out
}

/// Servers per 10 % band of a utilisation figure.
fn histogram(values: impl Iterator<Item = f64>) -> Vec<(String, f64)> {
    let mut counts = [0.0; 10];
    for v in values {
        counts[((v / 10.0).floor().max(0.0) as usize).min(9)] += 1.0;
    }
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{}–{}", i * 10, i * 10 + 10), *n))
        .collect()
}

/// One self-contained HTML file: charts (IT power before and after, savings by site, CPU and
/// memory distributions) as inline SVG, then the full Markdown text so nothing is lost.
pub fn to_html(r: &ConsolidationReport, tr: &Tr) -> String {
    let before_after: Vec<(String, f64, f64)> = r
        .sites
        .iter()
        .map(|s| (esc(&s.site), s.it_kw_before, s.it_kw_after))
        .collect();
    let savings: Vec<(String, f64)> = r
        .sites
        .iter()
        .map(|s| (esc(&s.site), s.savings_kwh_per_year / 1000.0))
        .collect();
    let cpu = histogram(
        r.servers
            .iter()
            .map(|p| p.cpu_pct.at(r.assumptions.percentile)),
    );
    let mem = histogram(r.servers.iter().filter_map(|p| p.mem_pct.map(|m| m.p99)));
    let figure = |svg: String, caption: &str| {
        format!(
            "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
            esc(caption)
        )
    };
    let title = tr.t("report-consolidation-title");
    let body = format!(
        "<h1>{}</h1>\n{}{}{}{}<section><h2>{}</h2><pre>{}</pre></section>\n",
        esc(&title),
        figure(
            paired_bar_chart_svg(&before_after, &tr.t("th-it-kw")),
            &tr.t("caption-it-before-after")
        ),
        figure(
            bar_chart_svg(&savings, &tr.t("chart-mwh-yr")),
            &tr.t("caption-savings-by-site")
        ),
        figure(
            bar_chart_svg(&cpu, &tr.t("chart-servers")),
            &tr.args(
                "caption-servers-by-cpu",
                &[("p", &format!("{:.0}", r.assumptions.percentile * 100.0))]
            )
        ),
        figure(
            bar_chart_svg(&mem, &tr.t("chart-servers")),
            &tr.t("caption-servers-by-mem")
        ),
        esc(&tr.t("heading-plan")),
        esc(&to_markdown(r, tr))
    );
    crate::report::document(tr, &title, &body)
}

/// One row per site: the contracted figures, for spreadsheets, through the `csv` crate (any
/// text quoted as it needs).
pub fn to_csv(r: &ConsolidationReport) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "site",
        "hosts_before",
        "idle_servers",
        "hosts_after",
        "lower_bound_hosts",
        "it_kw_before",
        "it_kw_after",
        "pue_used",
        "savings_kwh_per_year",
        "savings_hkd_per_year",
        "savings_tco2e_per_year",
    ])?;
    let cell = |v: Option<f64>, d: usize| v.map_or(String::new(), |v| format!("{v:.d$}"));
    for s in &r.sites {
        w.write_record([
            s.site.clone(),
            s.hosts_before.to_string(),
            s.idle_servers.to_string(),
            s.hosts_after.to_string(),
            s.lower_bound_hosts.to_string(),
            format!("{:.3}", s.it_kw_before),
            format!("{:.3}", s.it_kw_after),
            cell(s.pue_used, 4),
            format!("{:.0}", s.savings_kwh_per_year),
            cell(s.savings_hkd_per_year, 0),
            cell(s.savings_tco2e_per_year, 3),
        ])?;
    }
    csv_text(w)
}

#[cfg(test)]
mod tests {
    use super::super::*;

    /// Heights of the filled rectangles of one colour in a plotters SVG.
    fn bar_heights(svg: &str, fill: &str) -> Vec<f64> {
        svg.split("<rect")
            .skip(1)
            .filter(|r| r.contains(&format!("fill=\"{fill}\"")))
            .filter_map(|r| {
                let h = r.split("height=\"").nth(1)?.split('"').next()?;
                h.parse().ok()
            })
            .collect()
    }

    fn site(name: &str, before: f64, after: f64, saved: f64) -> SitePlan {
        SitePlan {
            site: name.into(),
            hosts_before: 10,
            hosts_after: 4,
            idle_servers: 1,
            it_kw_before: before,
            it_kw_after: after,
            pue_used: Some(1.8),
            pue_category: Some(3),
            tariff_hkd_per_kwh: None,
            emission_factor_kg_per_kwh: None,
            savings_kwh_per_year: saved,
            savings_hkd_per_year: None,
            savings_tco2e_per_year: None,
            power_model: "test".into(),
            model: None,
            method: "test".into(),
            lower_bound_hosts: 3,
            unplaceable: vec![],
            racks: vec![],
            notes: vec![],
            sensitivity: vec![],
        }
    }

    #[test]
    fn the_html_report_draws_its_charts_to_scale() {
        let q = |p95: f64| Quantiles {
            mean: p95 / 2.0,
            p50: p95 / 2.0,
            p95,
            p99: p95,
            max: p95,
        };
        let server = |d: &str, p95: f64| ServerProfile {
            device: d.into(),
            site: "hk2".into(),
            rack: None,
            cpu_pct: q(p95),
            mem_pct: Some(q(55.0)),
            net_bytes_per_s: None,
            mean_w: 100.0,
            power_source: "measured".into(),
            model: None,
            idle: false,
        };
        let r = ConsolidationReport {
            from: "2026-01-01T00:00:00Z".into(),
            to: "2026-02-01T00:00:00Z".into(),
            assumptions: PlanOptions::default(),
            servers: vec![server("a", 3.0), server("b", 4.0), server("c", 45.0)],
            idle_servers: vec![],
            sites: vec![
                site("hk<1>", 10.0, 4.0, 30_000.0),
                site("hk2", 5.0, 5.0, 10_000.0),
            ],
            site_capacities: vec![],
            site_moves: vec![],
            measured: vec![],
            verification: None,
        };
        let html = to_html(
            &r,
            &kilowatch_core::i18n::Tr::new(kilowatch_core::i18n::Lang::En),
        );
        assert!(
            html.contains("hk&lt;1&gt;") && !html.contains("hk<1>"),
            "site names are escaped"
        );
        let before = bar_heights(&html, "#969696");
        let after = bar_heights(&html, "#28A03C");
        assert_eq!(
            (before.len(), after.len()),
            (2, 2),
            "one bar of each per site"
        );
        assert!(
            (after[0] / before[0] - 0.4).abs() < 0.02,
            "{before:?} {after:?}"
        );
        assert!((before[1] / before[0] - 0.5).abs() < 0.02, "{before:?}");
        assert!((after[1] - before[1]).abs() < 1.0, "{before:?} {after:?}");
        // Savings 30 and 10 MWh: bars 3 : 1. CPU p95 bands: two servers under 10 %, one at 40–50.
        let green = bar_heights(&html, "#00FF00");
        assert_eq!(green.len(), 2 + 10 + 10, "{green:?}");
        assert!((green[0] / green[1] - 3.0).abs() < 0.05, "{green:?}");
        let cpu = &green[2..12];
        assert!(
            (cpu[0] / cpu[4] - 2.0).abs() < 0.05 && cpu[1] == 0.0,
            "{cpu:?}"
        );
    }

    #[test]
    fn csv_has_one_row_per_site_with_quoted_names() {
        let mut r = ConsolidationReport {
            from: String::new(),
            to: String::new(),
            assumptions: PlanOptions::default(),
            servers: vec![],
            idle_servers: vec![],
            sites: vec![site("a,b", 2.0, 1.0, 8_760.0)],
            site_capacities: vec![],
            site_moves: vec![],
            measured: vec![],
            verification: None,
        };
        r.sites[0].savings_hkd_per_year = Some(12.0);
        let csv = to_csv(&r).unwrap_or_default();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1], "\"a,b\",10,1,4,3,2.000,1.000,1.8000,8760,12,");
    }

    /// Site ids from an inventory may hold a comma, a quote and a newline (issue 18): the CSV
    /// reads back field for field.
    #[test]
    fn issue_18_csv_round_trips_a_comma_a_quote_and_a_newline() {
        let odd = "Site \"A\", north\nwing";
        let r = ConsolidationReport {
            from: String::new(),
            to: String::new(),
            assumptions: PlanOptions::default(),
            servers: vec![],
            idle_servers: vec![],
            sites: vec![site(odd, 2.0, 1.0, 8_760.0), site("b", 1.0, 1.0, 0.0)],
            site_capacities: vec![],
            site_moves: vec![],
            measured: vec![],
            verification: None,
        };
        let text = to_csv(&r).unwrap_or_default();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let sites: Vec<String> = rows
            .records()
            .filter_map(Result::ok)
            .map(|row| row[0].to_owned())
            .collect();
        assert_eq!(sites, [odd, "b"], "{text}");
    }
}
