//! The consolidation report rendered: JSON through serde, CSV through the `csv` crate, Markdown,
//! and one self-contained HTML file with SVG charts. Nothing here computes a figure.

use std::fmt::Write;

use super::ConsolidationReport;
use crate::report::{bar_chart_svg, csv_text, esc, paired_bar_chart_svg};

/// Pretty JSON of the whole report.
pub fn to_json(r: &ConsolidationReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}

fn opt(v: Option<f64>, d: usize) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.d$}"))
}

pub fn to_markdown(r: &ConsolidationReport) -> String {
    let a = &r.assumptions;
    let mut out = format!(
        "# Consolidation report\n\nWindow {} to {}.\n\n## Assumptions\n\n\
         - CPU sized on p{:.0} of `cpu_util_pct`, memory on p{:.0} of `mem_util_pct` (where stored), each as a share of the server it runs on; CPU % stands in for throughput (turbo and SMT make them diverge).\n\
         - Hosts used to at most {:.0} % of CPU and memory; N+1 spare host: {}.\n\
         - Target hosts: {}.\n\
         - Hosts racked within each rack's `power_budget_w` (at their sized demand) and `space_u` (default {} U); servers {} U unless `height_u` says otherwise.\n\
         - Comatose: CPU p95 ≤ {} % and p99 ≤ {} % and network < {} B/s, confirmed over ≥ {} days; switched off in the plan.\n\
         - Servers without power readings: typical SPECpower-like curve (idle 20 %, 10 % load 33 %, 50 % load 54 % of full power; consolidation.md §1.1) at `rated_power_w` or {:.0} W.\n\
         - Facility energy through each site's measured average PUE of its most downstream measured category (a marginal PUE would be lower for a site that stays open); 8,760 h/yr; tariff and emission factor per site from the inventory.\n\
         - Site moves: target power headroom from rack budgets, cooling from rated cooling capacity (taken as equal to power headroom when not rated), space from rack heights.\n",
        r.from,
        r.to,
        a.percentile * 100.0,
        a.mem_percentile * 100.0,
        a.headroom * 100.0,
        if a.n_plus_one { "yes" } else { "no" },
        a.new_host.as_ref().map_or(
            "servers like the site's own (one server = one host of capacity)".to_owned(),
            |h| format!(
                "a new model of {}× CPU and {}× memory of a current server, {:.0}–{:.0} W, {} U",
                h.cpu, h.mem, h.idle_w, h.max_w, h.height_u
            )
        ),
        a.rack_space_u,
        a.server_height_u,
        a.idle.cpu_p95_pct,
        a.idle.cpu_p99_pct,
        a.idle.net_bytes_per_s,
        a.idle.min_days,
        a.fallback_max_w,
    );
    out.push_str("\n## Idle servers\n\n| device | site | reason | W | kWh/yr (IT) | kWh/yr (facility) | HKD/yr | confirmed |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
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
            if i.confirmed { "yes" } else { "no" }
        );
    }
    out.push_str("\n## Sites\n\n| site | hosts before | idle off | after | lower bound | IT kW before | after | PUE used | saving kWh/yr | HKD/yr | t CO2e/yr |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
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
    out.push_str("\nPer-site figures the savings use:\n\n| site | PUE used | category | tariff HKD/kWh | emission factor kg/kWh |\n| --- | --- | --- | --- | --- |\n");
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
            "\n### {}\n\nPower after: {}. Packing: {}.",
            s.site, s.power_model, s.method
        );
        for n in &s.notes {
            let _ = writeln!(out, "- {n}");
        }
        for (d, why) in &s.unplaceable {
            let _ = writeln!(out, "- {d} stays as it is: {why}");
        }
        if !s.racks.is_empty() {
            out.push_str("\n| rack | hosts | W at sized load | W budget | U used | U |\n| --- | --- | --- | --- | --- | --- |\n");
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
    out.push_str("\n## Sensitivity: hosts needed by headroom left\n\n| site | 20 % | 30 % | 40 % |\n| --- | --- | --- | --- |\n");
    for s in &r.sites {
        let h: Vec<String> = s.sensitivity.iter().map(|(_, n)| n.to_string()).collect();
        let _ = writeln!(out, "| {} | {} |", s.site, h.join(" | "));
    }
    out.push_str("\n## Servers\n\n| device | site | CPU % p50 | p95 | p99 | max | mem % p99 | net B/s | mean W | power | own model (W = a + b·CPU%, R², RMS W) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
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
    out.push_str("\n## Site figures for moves\n\n| site | PUE | IT kW | power headroom kW | cooling headroom kW | space used U | space headroom U |\n| --- | --- | --- | --- | --- | --- | --- |\n");
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
    out.push_str("\n## Site moves (feasible first; saving = IT kW × (PUE from − PUE to) × 8,760 h; CO2e at each site's own grid factor, the moved load at the target's)\n\n| rank | from | to | saving kWh/yr | t CO2e/yr | feasible | binding constraint |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (i, m) in r.site_moves.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} | {} |",
            i + 1,
            m.from,
            m.to,
            m.savings_kwh_per_year,
            opt(m.savings_tco2e_per_year, 1),
            if m.feasible { "yes" } else { "no" },
            m.binding_constraint
        );
    }
    if let Some(v) = &r.verification {
        out.push_str("\n## Verification against the baseline\n\n| site | facility kW before | after | IT kW before | after | PUE before | after | measured saving kWh/yr | predicted | realised % | HKD/yr | t CO2e/yr |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
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
pub fn to_html(r: &ConsolidationReport, tr: &kilowatch_core::i18n::Tr) -> String {
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
            paired_bar_chart_svg(&before_after, "IT kW"),
            &tr.t("caption-it-before-after")
        ),
        figure(
            bar_chart_svg(&savings, "MWh/yr"),
            &tr.t("caption-savings-by-site")
        ),
        figure(
            bar_chart_svg(&cpu, "servers"),
            &tr.args(
                "caption-servers-by-cpu",
                &[("p", &format!("{:.0}", r.assumptions.percentile * 100.0))]
            )
        ),
        figure(
            bar_chart_svg(&mem, "servers"),
            &tr.t("caption-servers-by-mem")
        ),
        esc(&tr.t("heading-plan")),
        esc(&to_markdown(r))
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
