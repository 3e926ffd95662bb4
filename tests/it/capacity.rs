//! Issue 5: the capacity report on the simulated site, checked against the physics model:
//! rack power within the model's range, UPS without redundancy, cooling ΔT, inlet compliance.

use crate::common;

use std::time::Duration;

use kilowatch_analyzer::capacity::capacity_report;
use kilowatch_store::TimeRange;

const MIN: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_of_the_simulated_site_matches_the_model() {
    let common::Collected {
        site,
        store,
        clock: _,
        start,
        batches: _,
    } = common::collected(600.0, "capacity", Duration::from_secs(8)).await;
    let range = TimeRange {
        from: start + 5 * MIN,
        to: start + 75 * MIN,
    };
    let r = tokio::task::block_in_place(|| capacity_report(&*store, &site.config, range).unwrap());

    // The model's rack power over the window bounds what the report found.
    let model = sim_model_rack_range(&site, range);
    assert_eq!(r.racks.len(), 2);
    for (k, (lo, hi)) in r.racks.iter().zip(model) {
        let peak = k.peak_w.unwrap();
        assert!(
            peak >= lo * 0.97 && peak <= hi * 1.03,
            "{}: peak {peak} outside model {lo}..{hi}",
            k.rack,
        );
        assert_eq!(k.budget_w, Some(4000.0));
        let util = k.utilisation_pct.unwrap();
        assert!((util - k.p95_w.unwrap() / 4000.0 * 100.0).abs() < 1e-9);
        assert!(
            k.over_80_pct == Some(false) && util > 10.0 && util < 80.0,
            "{util}"
        );
    }
    // One UPS: it carries the load, but there is no N+1.
    assert_eq!(r.ups.len(), 1);
    assert_eq!(
        (r.ups[0].fits_n, r.ups[0].fits_n_minus_1),
        (Some(true), Some(false))
    );
    // CRAC: return − supply = 8 + 6 × UPS load fraction in the model. The load follows the Hong
    // Kong day, so the expected mean comes from the model over the same window, not a fixed band.
    let dt = r.cooling[0].mean_delta_t_c.unwrap();
    let model_dt = sim_model_mean_delta_t(&site, range);
    assert!(
        (8.0..14.0).contains(&dt) && (dt - model_dt).abs() < 0.3,
        "ΔT {dt}, model {model_dt}"
    );
    assert!(r.cooling[0].utilisation_pct.unwrap() < 100.0);
    // Breakers: 16 A, PDU currents of a ~1.5 kW rack are far below 80 %.
    assert!(
        r.breakers
            .iter()
            .all(|b| b.breaker_a == Some(16.0) && b.over_80_pct == Some(false))
    );
    // Inlets sit at supply + 2..3 °C ≈ 20–21 °C: always recommended, RCI 100 %.
    assert!(!r.inlets.is_empty());
    for i in &r.inlets {
        assert_eq!(i.compliance.recommended_pct, 100.0, "{i:?}");
    }
    assert_eq!(r.rooms[0].rci_hi_min, Some(100.0));
    assert_eq!(r.rooms[0].rci_lo_min, Some(100.0));
    assert!(r.rooms[0].intakes >= 2);
}

/// The model's mean return − supply temperature over the window, sampled each simulated minute.
fn sim_model_mean_delta_t(site: &common::Site, range: TimeRange) -> f64 {
    let model =
        kilowatch_sim::physics::Model::new(site.sim.config.racks, site.sim.config.servers_per_rack);
    let minutes: Vec<f64> = (range.from..range.to)
        .step_by(MIN as usize)
        .map(|t| {
            let s = model.state(t);
            s.return_c - s.supply_c
        })
        .collect();
    minutes.iter().sum::<f64>() / minutes.len() as f64
}

/// (min, max) of each rack's model power over the window, sampled each simulated minute.
fn sim_model_rack_range(site: &common::Site, range: TimeRange) -> Vec<(f64, f64)> {
    let model =
        kilowatch_sim::physics::Model::new(site.sim.config.racks, site.sim.config.servers_per_rack);
    let mut out = vec![(f64::MAX, f64::MIN); site.sim.config.racks];
    let mut t = range.from;
    while t < range.to {
        for (i, w) in model.state(t).rack_w.iter().enumerate() {
            out[i] = (out[i].0.min(*w), out[i].1.max(*w));
        }
        t += MIN;
    }
    out
}

/// Issue 17: only rack-inlet air is held to ASHRAE's inlet ranges. A probe the inventory places
/// at the inlets (`temperature_at = "inlet"`) is; a probe of unknown place (`temperature_c`)
/// is not, and when nothing else is there the report says "no data" and why instead of a
/// compliance figure built from a hot-aisle or board temperature.
#[test]
fn thermal_compliance_uses_only_inlet_temperatures() {
    const SITE: &str = r#"
[auths.probes]
version = "v2c"
community = "env:KILOWATCH_TEST_COMMUNITY"

[[sites]]
id = "hk1"
timezone = "Asia/Hong_Kong"
[[sites.rooms]]
id = "hall-1"
[[sites.rooms.racks]]
id = "r01"

[[devices]]
id = "probe-inlet"
site = "hk1"
room = "hall-1"
rack = "r01"
profile = "akcp-sensorprobe"
address = "snmp://127.0.0.3:1"
auth = "probes"
temperature_at = "inlet"

[[devices]]
id = "probe-somewhere"
site = "hk1"
room = "hall-1"
profile = "akcp-sensorprobe"
address = "snmp://127.0.0.3:2"
auth = "probes"
"#;
    let run = |placed: bool| {
        let dir = tempfile::tempdir().unwrap();
        let site = if placed {
            SITE.to_owned()
        } else {
            SITE.replace("temperature_at = \"inlet\"\n", "")
        };
        let cfg = dir.path().join("site.toml");
        std::fs::write(&cfg, site).unwrap();
        // Four readings a minute apart: one of the inlet's four is above 27 °C; the other probe
        // reads 45 °C (hot aisle) throughout.
        let mut csv = String::from("time,device,field,value\n");
        for (i, inlet) in [22.0, 24.0, 26.0, 28.5].iter().enumerate() {
            let t = format!("2025-03-01T00:0{i}:00Z");
            csv.push_str(&format!("{t},probe-inlet,temperature_c,{inlet}\n"));
            csv.push_str(&format!("{t},probe-somewhere,temperature_c,45\n"));
        }
        let file = dir.path().join("t.csv");
        std::fs::write(&file, csv).unwrap();
        let (cfg, data) = (cfg.to_str().unwrap(), dir.path().to_str().unwrap());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .env("KILOWATCH_TEST_COMMUNITY", "test")
            .args(["import", "--config", cfg, "--data", data, "--csv"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = |format: &str| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_kilowatch"))
                .env("KILOWATCH_TEST_COMMUNITY", "test")
                .args(["report", "capacity", "--config", cfg, "--data", data])
                .args([
                    "--from",
                    "2025-03-01T00:00:00Z",
                    "--to",
                    "2025-03-01T01:00:00Z",
                ])
                .args(["--format", format])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        (report("json"), report("md"))
    };

    let (json, md) = run(true);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let inlets = r["inlets"].as_array().unwrap();
    assert_eq!(inlets.len(), 1, "only the placed probe: {inlets:?}");
    assert_eq!(inlets[0]["device"], "probe-inlet");
    let c = &inlets[0]; // the compliance figures sit beside the sensor's name
    assert_eq!(c["samples"], 4);
    assert!(
        (c["above_recommended_pct"].as_f64().unwrap() - 25.0).abs() < 1e-9,
        "{c}"
    );
    assert!(
        (c["worst_high_c"].as_f64().unwrap() - 28.5).abs() < 1e-9,
        "{c}"
    );
    assert_eq!(r["unplaced_temperatures"], 1);
    assert!(!md.contains("No data: no rack-inlet"), "{md}");

    let (json, md) = run(false);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(r["inlets"].as_array().unwrap().len(), 0, "{json}");
    assert_eq!(r["unplaced_temperatures"], 2);
    assert!(
        md.contains("No data: no rack-inlet temperature was read in this window.")
            && md.contains("2 temperature series do not say where they are measured"),
        "{md}"
    );
}
