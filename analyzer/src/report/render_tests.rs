//! Tests of the PUE report's renderings (Markdown, HTML, CSV) in both languages.
use super::*;

/// A site's report with every figure set small, over `range`.
fn site_report(
    site: &kilowatch_core::config::Site,
    range: kilowatch_store::TimeRange,
) -> SiteReport {
    let _ = range;
    SiteReport {
        site: site.id.clone(),
        name: site.name.clone(),
        timezone: "UTC".into(),
        from: "2026-01-01".into(),
        to: "2026-01-02".into(),
        category: 1,
        label: "PUE1".into(),
        pue: None,
        pue_low: None,
        pue_high: None,
        dcie_pct: None,
        status: "ok".into(),
        facility_kwh: 15.0,
        it_kwh: 10.0,
        estimated_facility_kwh: 0.0,
        estimated_it_kwh: 0.0,
        coverage: 1.0,
        uncertainty_basis: String::new(),
        breakdown: crate::kpi::breakdown(15.0, 10.0, &[]),
        emission_factor_kg_per_kwh: None,
        co2_kg: None,
        cue_kg_per_kwh: None,
        tariff_hkd_per_kwh: None,
        cost_hkd: None,
        event_summary: Vec::new(),
        events: Vec::new(),
        daily: Vec::new(),
        monthly: Vec::new(),
    }
}

fn report(sites: Vec<SiteReport>) -> Report {
    Report {
        from: "2026-01-01".into(),
        to: "2026-01-02".into(),
        sites,
        no_data: Vec::new(),
    }
}

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
    let mut s = site_report(
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
    let r = report(vec![s.clone()]);
    let text = to_csv(&r, &Tr::new(kilowatch_core::i18n::Lang::En)).unwrap_or_default();
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

/// ASCII words of four letters or more in `text`, leaving out code spans (`…`), Fluent
/// placeholders ({ … }) and acronyms (two capitals or more: PUE, SPECpower, pPUE).
fn english_words(text: &str) -> std::collections::BTreeSet<String> {
    let (mut plain, mut code, mut var) = (String::new(), false, false);
    for c in text.chars() {
        match c {
            '`' => code = !code,
            '{' => var = true,
            '}' => var = false,
            c if !code && !var => plain.push(c),
            _ => {}
        }
        if code || var {
            plain.push(' ');
        }
    }
    plain
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 4 && w.chars().filter(char::is_ascii_uppercase).count() < 2)
        .map(str::to_owned)
        .collect()
}

/// The three reports' Markdown from small report values, in English and in zh-HK.
fn three_reports(tr: &Tr) -> [String; 3] {
    use crate::capacity::{CapacityReport, RackCapacity, RoomCapacity, Stranded, UpsCapacity};
    use crate::consolidation::{
        ConsolidationReport, IdleServer, PlanOptions, SiteCapacity, SiteMove, SitePlan,
        Verification,
    };
    let site = kilowatch_core::config::Site {
        id: "hk1".into(),
        name: "香港一號".into(),
        emission_factor_kg_per_kwh: Some(0.39),
        tariff_hkd_per_kwh: Some(1.2),
        timezone: kilowatch_core::calendar::TimeZone::UTC,
        rooms: Vec::new(),
        utility: None,
        years: Default::default(),
    };
    let mut s = site_report(
        &site,
        kilowatch_store::TimeRange {
            from: 0,
            to: 86_400_000,
        },
    );
    (s.pue, s.dcie_pct, s.co2_kg, s.cue_kg_per_kwh, s.cost_hkd) =
        (Some(1.5), Some(66.7), Some(10.0), Some(0.6), Some(30.0));
    s.emission_factor_kg_per_kwh = Some(0.39);
    s.tariff_hkd_per_kwh = Some(1.2);
    s.uncertainty_basis = "±2 %".into();
    s.estimated_it_kwh = 1.0;
    s.breakdown.partial = vec![("CRAC".into(), 1.3)];
    s.event_summary.push(super::super::EventSummary {
        device: "m1".into(),
        kind: EventKind::Reset,
        count: 1,
        first: "t0".into(),
        last: "t1".into(),
        kwh: 2.0,
    });
    let pue = report(vec![s]);
    let plan = SitePlan {
        site: "hk1".into(),
        hosts_before: 10,
        hosts_after: 4,
        idle_servers: 1,
        it_kw_before: 5.0,
        it_kw_after: 2.0,
        pue_used: Some(1.5),
        pue_category: Some(3),
        tariff_hkd_per_kwh: Some(1.2),
        emission_factor_kg_per_kwh: Some(0.39),
        savings_kwh_per_year: 1000.0,
        savings_hkd_per_year: Some(1200.0),
        savings_tco2e_per_year: Some(0.4),
        power_model: "—".into(),
        model: None,
        method: "—".into(),
        lower_bound_hosts: 3,
        unplaceable: vec![("db1".into(), "—".into())],
        racks: vec![crate::consolidation::RackUse {
            rack: "r1".into(),
            hosts: 4,
            power_w: 800.0,
            power_budget_w: Some(4000.0),
            space_u: 8.0,
            space_budget_u: 42.0,
        }],
        notes: vec![],
        sensitivity: vec![(0.2, 4), (0.3, 5), (0.4, 6)],
        saving_parts: crate::consolidation::SavingParts {
            idle_off_w: 100.0,
            packing_w: 0.0,
            spare_w: 300.0,
        },
        savings_note: Some("negative".into()),
    };
    let consolidation = ConsolidationReport {
        from: "2026-01-01".into(),
        to: "2026-02-01".into(),
        zones: vec![],
        assumptions: PlanOptions::default(),
        servers: vec![],
        idle_servers: vec![IdleServer {
            device: "s9".into(),
            site: "hk1".into(),
            reason: "—".into(),
            cpu_p95_pct: 1.0,
            cpu_p99_pct: 1.0,
            net_bytes_per_s: None,
            watts: 100.0,
            power_source: "—".into(),
            window_days: 31.0,
            confirmed: true,
            kwh_per_year: 876.0,
            facility_kwh_per_year: None,
            hkd_per_year: None,
            tco2e_per_year: None,
        }],
        sites: vec![plan],
        site_capacities: vec![SiteCapacity {
            site: "hk1".into(),
            pue: 1.5,
            it_kw: 5.0,
            rack_u_used: 20.0,
            power_headroom_kw: 10.0,
            space_headroom_u: 40.0,
            cooling_headroom_kw: 10.0,
            emission_factor_kg_per_kwh: None,
        }],
        site_moves: vec![SiteMove {
            from: "hk1".into(),
            to: "hk2".into(),
            savings_kwh_per_year: 5000.0,
            savings_tco2e_per_year: None,
            binding_constraint: "—".into(),
            feasible: false,
        }],
        measured: vec![],
        verification: Some(Verification {
            baseline_from: "a".into(),
            baseline_to: "b".into(),
            sites: vec![],
            method: "—".into(),
        }),
        no_data: vec![crate::consolidation::SiteNoData {
            site: "hk2".into(),
            part: crate::consolidation::NoDataPart::Plan,
            reason: "—".into(),
        }],
    };
    let capacity = CapacityReport {
        from: "2026-01-01".into(),
        to: "2026-02-01".into(),
        zones: vec![],
        racks: vec![RackCapacity {
            site: "hk1".into(),
            room: "1".into(),
            rack: "r1".into(),
            budget_w: Some(4000.0),
            peak_w: Some(3600.0),
            p95_w: Some(3400.0),
            utilisation_pct: Some(85.0),
            headroom_w: Some(600.0),
            over_80_pct: Some(true),
            no_data: None,
        }],
        breakers: vec![],
        ups: vec![UpsCapacity {
            site: "hk1".into(),
            units: 2,
            peak_load_pct_of_one_unit: None,
            fits_n: None,
            fits_n_minus_1: None,
            no_data: Some("—".into()),
        }],
        cooling: vec![],
        rooms: vec![RoomCapacity {
            site: "hk1".into(),
            room: "1".into(),
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
        unplaced_temperatures: 2,
        inlets_without_data: 1,
    };
    [
        to_markdown(&pue, |_| "hk1.svg".into(), tr),
        crate::consolidation::to_markdown(&consolidation, tr),
        crate::capacity::to_markdown(&capacity, tr),
    ]
}

/// The PUE, consolidation and capacity reports in zh-HK carry the Chinese catalogue's
/// headings, and no word of the English headings (nor of any other English text these
/// reports' keys hold) is left in them.
#[test]
fn the_three_markdown_reports_are_entirely_chinese_in_zh_hk() {
    use kilowatch_core::i18n::{Lang, keys};
    let (en, zh) = (Tr::new(Lang::En), Tr::new(Lang::ZhHk));
    let headings: [&[&str]; 3] = [
        &["report-pue-title", "window"],
        &[
            "report-consolidation-title",
            "cons-window",
            "cons-heading-assumptions",
            "cons-heading-idle",
            "cons-heading-sites",
            "cons-heading-sensitivity",
            "cons-heading-servers",
            "cons-heading-site-figures",
            "cons-heading-moves",
            "cons-heading-verification",
        ],
        &[
            "report-capacity-title",
            "cap-intro",
            "cap-heading-racks",
            "cap-heading-breakers",
            "cap-heading-ups",
            "cap-heading-cooling",
            "cap-heading-rooms",
            "cap-heading-inlets",
        ],
    ];
    let english = three_reports(&en);
    let chinese = three_reports(&zh);
    // Every text the reports' own keys hold in English.
    let all_en: std::collections::BTreeSet<String> = keys(Lang::En)
        .iter()
        .filter(|k| {
            ["pue-", "cons-", "cap-", "th-", "word-"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .flat_map(|k| english_words(&en.t(k)))
        .collect();
    for ((keys, en_md), zh_md) in headings.iter().zip(&english).zip(&chinese) {
        // (a) The main headings are the Chinese catalogue's.
        let title = zh.t(keys[0]);
        assert!(
            title
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
                && zh_md.starts_with(&format!("# {title}\n")),
            "{zh_md}"
        );
        for k in keys.iter().filter(|k| k.contains("heading")) {
            assert!(
                zh_md.contains(&format!("\n## {}\n", zh.t(k))),
                "{k}: {zh_md}"
            );
            assert!(
                en_md.contains(&format!("\n## {}\n", en.t(k))),
                "{k}: {en_md}"
            );
        }
        // (b) No English heading word is left.
        let heading_words: std::collections::BTreeSet<String> =
            keys.iter().flat_map(|k| english_words(&en.t(k))).collect();
        assert!(heading_words.contains("Window"), "{heading_words:?}");
        // Event kinds are data, named as in JSON and CSV in every language.
        let mut left = english_words(zh_md);
        left.remove(EventKind::Reset.name());
        let stale: Vec<_> = heading_words.intersection(&left).collect();
        assert!(stale.is_empty(), "{stale:?} in {zh_md}");
        let stale: Vec<_> = all_en.intersection(&left).collect();
        assert!(stale.is_empty(), "{stale:?} in {zh_md}");
        assert!(!english_words(en_md).is_disjoint(&all_en), "{en_md}");
    }
    // The HTML of the PUE report follows the reader's language too.
    let html = to_html(&report(vec![]), &zh);
    assert!(
        html.contains(&zh.t("heading-contents")) && !html.contains("Contents"),
        "{html}"
    );
}
