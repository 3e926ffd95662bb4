//! Issue 7 on the simulated site: the comatose server the model plants is found (and the busy
//! ones are not), and the plan frees hosts and IT power.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::time::Duration;

use kilowatch_analyzer::consolidation::{PlanOptions, consolidation_report};
use kilowatch_core::clock::Clock;
use kilowatch_sim::SimConfig;
use kilowatch_store::TimeRange;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planted_comatose_server_is_found_and_hosts_are_freed() {
    let speed = 3600.0;
    let clock = Clock::accelerated(speed);
    let sim = SimConfig {
        speed,
        community: "plan".into(),
        ..SimConfig::default()
    };
    let site = common::site(sim, clock, "200ms", "1s", "").await;
    let store = common::store(site.dir.path());
    let start = clock.now_ms();
    common::collect(
        &site.config,
        clock,
        Duration::from_secs(8),
        Some(store.clone()),
    )
    .await;
    let range = TimeRange {
        from: start + 3_600_000,
        to: clock.now_ms(),
    };
    // The simulated servers are busy (p95 around half a host), so with the default 70 % headroom
    // and N+1 only the comatose server goes; allow full hosts without a spare to see packing.
    let opts = PlanOptions {
        headroom: 1.0,
        n_plus_one: false,
        ..PlanOptions::default()
    };
    let r = tokio::task::block_in_place(|| {
        consolidation_report(&*store, &site.config, range, &opts).unwrap()
    });
    // The model's r01 rack ends with a server at 1.5 % ± 0.5 % CPU (sim/src/physics.rs).
    let idle: Vec<&str> = r.idle_servers.iter().map(|i| i.device.as_str()).collect();
    assert_eq!(idle, vec!["srv-r01-05"], "{:?}", r.idle_servers);
    assert!(
        r.idle_servers[0].kwh_per_year > 95.0 * 8.76 * 0.9,
        "{:?}",
        r.idle_servers[0]
    );
    let s = &r.sites[0];
    assert_eq!(s.hosts_before, 10);
    // Nine busy servers remain; at most nine hosts, never fewer than the lower bound.
    assert!(
        s.hosts_after >= s.lower_bound_hosts && s.hosts_after <= 9,
        "{s:?}"
    );
    assert!(
        s.it_kw_after < s.it_kw_before && s.savings_kwh_per_year > 0.0,
        "{s:?}"
    );

    assert!(r.site_moves.is_empty(), "one site: nowhere to move");
    // More headroom left never needs fewer hosts.
    let hosts: Vec<usize> = s.sensitivity.iter().map(|(_, n)| *n).collect();
    assert!(hosts.windows(2).all(|w| w[0] <= w[1]), "{hosts:?}");
}

#[test]
fn report_consolidation_json_has_the_contracted_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "demo",
            "--headless",
            "--duration",
            "6s",
            "--speed",
            "3600",
            "--interval",
            "500ms",
            "--data",
            data,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let to = kilowatch_core::timefmt::format_rfc3339(last["ts"].as_i64().unwrap());
    let config = dir.path().join("demo.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "report",
            "consolidation",
            "--from",
            "5h",
            "--to",
            &to,
            "--data",
            data,
            "--format",
            "json",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for i in r["idle_servers"].as_array().unwrap() {
        assert!(
            i["device"].is_string() && i["reason"].is_string() && i["kwh_per_year"].is_number(),
            "{i}"
        );
    }
    let s = &r["sites"][0];
    for key in [
        "site",
        "hosts_before",
        "hosts_after",
        "it_kw_before",
        "it_kw_after",
        "savings_kwh_per_year",
        "savings_hkd_per_year",
        "savings_tco2e_per_year",
    ] {
        assert!(s.get(key).is_some(), "sites[0] lacks {key}: {s}");
    }
    assert!(r["site_moves"].is_array());

    let html = dir.path().join("consolidation.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "report",
            "consolidation",
            "--from",
            "5h",
            "--to",
            &to,
            "--data",
            data,
            "--format",
            "html",
            "--config",
        ])
        .arg(&config)
        .arg("--out")
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    let site = r["sites"][0]["site"].as_str().unwrap();
    assert!(
        page.contains("<svg") && page.contains("IT power by site") && page.contains(site),
        "{page}"
    );
}
