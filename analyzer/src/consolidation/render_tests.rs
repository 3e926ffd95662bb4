//! Tests of the consolidation report's renderings.
use super::super::*;

/// Heights of the filled bars of one colour in a plotters SVG (not the legend's 12-pixel
/// swatches).
fn bar_heights(svg: &str, fill: &str) -> Vec<f64> {
    let attr = |r: &str, name: &str| -> Option<f64> {
        r.split(&format!(" {name}=\""))
            .nth(1)?
            .split('"')
            .next()?
            .parse()
            .ok()
    };
    svg.split("<rect")
        .skip(1)
        .filter(|r| r.contains(&format!("fill=\"{fill}\"")))
        .filter(|r| attr(r, "width") != Some(12.0))
        .filter_map(|r| attr(r, "height"))
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
        saving_parts: SavingParts::default(),
        savings_note: None,
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
        zones: vec![],
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
        no_data: vec![],
    };
    let html = to_html(
        &r,
        &kilowatch_core::i18n::Tr::new(kilowatch_core::i18n::Lang::En),
    );
    assert!(
        html.contains("hk&lt;1&gt;") && !html.contains("hk<1>"),
        "site names are escaped"
    );
    let hex = |c: plotters::style::RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
    let (dark, mid) = (
        hex(crate::report::PALETTE[0]),
        hex(crate::report::PALETTE[1]),
    );
    // The charts in the order of their sections: CPU (idle servers), IT power now and after
    // and savings (sites), memory (servers).
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    assert_eq!(svgs.len(), 4, "{html}");
    let before = bar_heights(svgs[1], &dark);
    let after = bar_heights(svgs[1], &mid);
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
    let saved = bar_heights(svgs[2], &dark);
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert!((saved[0] / saved[1] - 3.0).abs() < 0.05, "{saved:?}");
    let cpu = bar_heights(svgs[0], &dark);
    assert_eq!(cpu.len(), 10, "{cpu:?}");
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
        zones: vec![],
        assumptions: PlanOptions::default(),
        servers: vec![],
        idle_servers: vec![],
        sites: vec![site("a,b", 2.0, 1.0, 8_760.0)],
        site_capacities: vec![],
        site_moves: vec![],
        measured: vec![],
        verification: None,
        no_data: vec![],
    };
    r.sites[0].savings_hkd_per_year = Some(12.0);
    let csv = to_csv(
        &r,
        &kilowatch_core::i18n::Tr::new(kilowatch_core::i18n::Lang::En),
    )
    .unwrap_or_default();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], "\"a,b\",10,1,4,3,2.000,1.000,1.8000,8760,12,,");
}

/// Site ids from an inventory may hold a comma, a quote and a newline (issue 18): the CSV
/// reads back field for field.
#[test]
fn issue_18_csv_round_trips_a_comma_a_quote_and_a_newline() {
    let odd = "Site \"A\", north\nwing";
    let r = ConsolidationReport {
        from: String::new(),
        to: String::new(),
        zones: vec![],
        assumptions: PlanOptions::default(),
        servers: vec![],
        idle_servers: vec![],
        sites: vec![site(odd, 2.0, 1.0, 8_760.0), site("b", 1.0, 1.0, 0.0)],
        site_capacities: vec![],
        site_moves: vec![],
        measured: vec![],
        verification: None,
        no_data: vec![],
    };
    let text = to_csv(
        &r,
        &kilowatch_core::i18n::Tr::new(kilowatch_core::i18n::Lang::En),
    )
    .unwrap_or_default();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let sites: Vec<String> = rows
        .records()
        .filter_map(Result::ok)
        .map(|row| row[0].to_owned())
        .collect();
    assert_eq!(sites, [odd, "b"], "{text}");
}
