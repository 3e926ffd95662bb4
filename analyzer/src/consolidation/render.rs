//! The consolidation report rendered: JSON through serde, CSV through the `csv` crate, Markdown,
//! and one HTML document rendered from that Markdown with SVG charts in their sections. Nothing
//! here computes a figure; a site without readings reads "no data", and a negative saving says
//! which cost outweighs which saving.

use std::collections::BTreeMap;
use std::fmt::Write;

use kilowatch_core::i18n::Tr;

use super::{ConsolidationReport, NoDataPart, SitePlan};
use crate::report::{
    Chart, Series, bar_chart, chart_mark, csv_text, md_cell, md_head, page, zones_line,
};

/// Pretty JSON of the whole report.
pub fn to_json(r: &ConsolidationReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}

/// A negative saving explained from its parts in the reader's language, else empty: the
/// costs (the N+1 spare host, packed hosts drawing more) against the savings (idle servers off,
/// packing), each in facility kWh a year.
pub(crate) fn saving_note(s: &SitePlan, tr: &Tr) -> String {
    let p = s.saving_parts;
    if s.savings_note.is_none() {
        return String::new();
    }
    let kwh = |w: f64| format!("{:.0}", w * 8.76 * s.pue_used.unwrap_or(1.0));
    let mut costs = Vec::new();
    let mut savings = Vec::new();
    if p.spare_w > 0.0 {
        costs.push(tr.args("cons-part-spare", &[("kwh", &kwh(p.spare_w))]));
    }
    if p.packing_w < 0.0 {
        costs.push(tr.args("cons-part-packing-cost", &[("kwh", &kwh(-p.packing_w))]));
    } else if p.packing_w > 0.0 {
        savings.push(tr.args("cons-part-packing", &[("kwh", &kwh(p.packing_w))]));
    }
    if p.idle_off_w > 0.0 {
        savings.push(tr.args(
            "cons-part-idle",
            &[
                ("count", &s.idle_servers.to_string()),
                ("kwh", &kwh(p.idle_off_w)),
            ],
        ));
    }
    let and = tr.t("word-and");
    tr.args(
        "cons-negative",
        &[
            ("costs", &costs.join(&and)),
            (
                "savings",
                &if savings.is_empty() {
                    tr.t("cons-nothing-saved")
                } else {
                    savings.join(&and)
                },
            ),
        ],
    )
}

fn opt(v: Option<f64>, d: usize) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.d$}"))
}

/// Markdown in the reader's language: assumptions, idle servers, the plan per site, the
/// sensitivity, server profiles, site moves and, with a baseline, its verification.
pub fn to_markdown(r: &ConsolidationReport, tr: &Tr) -> String {
    markdown(r, tr, false)
}

/// The Markdown both outputs share; with `charts`, the places of the HTML charts are marked.
fn markdown(r: &ConsolidationReport, tr: &Tr, charts: bool) -> String {
    let mark = |k: &str| {
        if charts {
            chart_mark(k) + "\n"
        } else {
            String::new()
        }
    };
    let t = |k: &str| tr.t(k);
    let none = t("no-data");
    let no_data = |part: NoDataPart| r.no_data.iter().filter(move |n| n.part == part);
    let reason = |part: NoDataPart| {
        t(match part {
            NoDataPart::Plan => "cons-no-data-plan",
            NoDataPart::Moves => "cons-no-data-moves",
        })
    };
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
        "# {}\n\n{}\n\n{}\n\n## {}\n\n",
        t("report-consolidation-title"),
        tr.args("cons-window", &[("from", &r.from), ("to", &r.to)]),
        zones_line(
            tr,
            r.zones
                .iter()
                .map(|z| (z.site.as_str(), z.timezone.as_str()))
        ),
        t("cons-heading-assumptions")
    );
    for line in &assumptions {
        let _ = writeln!(out, "- {line}");
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}{}",
        t("cons-heading-idle"),
        mark("cpu"),
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
            md_cell(&i.device),
            md_cell(&i.site),
            md_cell(&i.reason),
            i.watts,
            i.kwh_per_year,
            opt(i.facility_kwh_per_year, 0),
            opt(i.hkd_per_year, 0),
            yes_no(i.confirmed)
        );
    }
    let _ = write!(
        out,
        "\n## {}\n\n{}{}{}",
        t("cons-heading-sites"),
        mark("before-after"),
        mark("savings"),
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
            t("cons-th-note"),
        ])
    );
    for s in &r.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {:.0} | {} | {} | {} |",
            md_cell(&s.site),
            s.hosts_before,
            s.idle_servers,
            s.hosts_after,
            s.lower_bound_hosts,
            s.it_kw_before,
            s.it_kw_after,
            opt(s.pue_used, 3),
            s.savings_kwh_per_year,
            opt(s.savings_hkd_per_year, 0),
            opt(s.savings_tco2e_per_year, 2),
            md_cell(&saving_note(s, tr))
        );
    }
    for n in no_data(NoDataPart::Plan) {
        let _ = writeln!(
            out,
            "| {} |{}| {} |",
            md_cell(&n.site),
            format!(" {none} |").repeat(10),
            reason(n.part)
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
        "\n## {}\n\n{}{}",
        t("cons-heading-servers"),
        mark("mem"),
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
    if r.servers.is_empty() {
        let _ = writeln!(out, "| {none} |{}", " |".repeat(10));
    }
    for p in &r.servers {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.0} | {} | {} |",
            md_cell(&p.device),
            md_cell(&p.site),
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
    for n in no_data(NoDataPart::Moves) {
        let _ = writeln!(
            out,
            "| {} |{}",
            md_cell(&n.site),
            format!(" {none} |").repeat(6)
        );
    }
    for n in no_data(NoDataPart::Moves) {
        let _ = writeln!(out, "\n- {}: {}", md_cell(&n.site), reason(n.part));
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

/// One HTML document: the Markdown's tables as HTML, with charts (IT power now and after,
/// savings by site, CPU and memory distributions) as inline SVG in their sections.
pub fn to_html(r: &ConsolidationReport, tr: &Tr) -> String {
    let sites: Vec<String> = r.sites.iter().map(|s| s.site.clone()).collect();
    let before_after = bar_chart(
        &sites,
        &[
            Series {
                name: tr.t("cons-legend-now"),
                values: r.sites.iter().map(|s| Some(s.it_kw_before)).collect(),
            },
            Series {
                name: tr.t("cons-legend-after"),
                values: r.sites.iter().map(|s| Some(s.it_kw_after)).collect(),
            },
        ],
        &tr.t("th-it-kw"),
        tr,
    );
    let savings = bar_chart(
        &sites,
        &[Series {
            name: String::new(),
            values: r
                .sites
                .iter()
                .map(|s| Some(s.savings_kwh_per_year / 1000.0))
                .collect(),
        }],
        &tr.t("chart-mwh-yr"),
        tr,
    );
    // A distribution of no server is no chart.
    let histogram_chart = |values: Vec<f64>| {
        if values.is_empty() {
            return Chart::Skipped(tr.t("chart-no-values"));
        }
        let bands = histogram(values.into_iter());
        let labels: Vec<String> = bands.iter().map(|(l, _)| l.clone()).collect();
        bar_chart(
            &labels,
            &[Series {
                name: String::new(),
                values: bands.iter().map(|(_, n)| Some(*n)).collect(),
            }],
            &tr.t("chart-servers"),
            tr,
        )
    };
    let cpu = histogram_chart(
        r.servers
            .iter()
            .map(|p| p.cpu_pct.at(r.assumptions.percentile))
            .collect(),
    );
    let mem = histogram_chart(
        r.servers
            .iter()
            .filter_map(|p| p.mem_pct.map(|m| m.p99))
            .collect(),
    );
    let figures = BTreeMap::from([
        (
            "before-after".to_owned(),
            before_after.figure(&tr.t("caption-it-before-after")),
        ),
        (
            "savings".to_owned(),
            savings.figure(&tr.t("caption-savings-by-site")),
        ),
        (
            "cpu".to_owned(),
            cpu.figure(&tr.args(
                "caption-servers-by-cpu",
                &[("p", &format!("{:.0}", r.assumptions.percentile * 100.0))],
            )),
        ),
        (
            "mem".to_owned(),
            mem.figure(&tr.t("caption-servers-by-mem")),
        ),
    ]);
    page(
        tr,
        &tr.t("report-consolidation-title"),
        &markdown(r, tr, true),
        &figures,
    )
}

/// One row per site: the contracted figures, for spreadsheets, through the `csv` crate (any
/// text quoted as it needs); a site without readings has "no data" in each figure and why in
/// `note`, as has a negative saving.
pub fn to_csv(r: &ConsolidationReport, tr: &Tr) -> Result<String, csv::Error> {
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
        "note",
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
            saving_note(s, tr),
        ])?;
    }
    let none = tr.t("no-data");
    for n in r.no_data.iter().filter(|n| n.part == NoDataPart::Plan) {
        let mut row = vec![n.site.clone()];
        row.resize(11, none.clone());
        row.push(tr.t("cons-no-data-plan"));
        w.write_record(row)?;
    }
    csv_text(w)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
