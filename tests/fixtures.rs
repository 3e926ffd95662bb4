//! Issue 3 acceptance: every recorded device in `../shared/fixtures/snmp/`, served by snmpsim,
//! read with `kilowatch probe` and automatic profile selection. Every expected value of a
//! canonical metric must be read (the row whose `source` is the recorded OID) and match within
//! 0.5 %, unless `config/profiles/unsupported.toml` lists it with a reason.
#![cfg(feature = "peers")]
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::PathBuf;
use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

/// The fields a LibreNMS sensor class may land in, and the factor from its unit to ours.
fn canonical(class: &str) -> Option<(&'static [&'static str], f64)> {
    Some(match class {
        "power" => (&["active_power_w", "power_w", "apparent_power_va", "cooling_power_w"], 1.0),
        "power_consumed" => (&["energy_kwh"], 1.0),
        "current" => (&["current_a"], 1.0),
        "voltage" => (&["voltage_v"], 1.0),
        "frequency" => (&["frequency_hz"], 1.0),
        "power_factor" => (&["power_factor"], 1.0),
        "temperature" => (&["temperature_c", "supply_temp_c", "return_temp_c"], 1.0),
        "humidity" => (&["humidity_pct"], 1.0),
        "load" => (&["load_pct"], 1.0),
        "runtime" => (&["runtime_s"], 60.0),
        "charge" => (&["battery_charge_pct"], 1.0),
        _ => return None,
    })
}

fn unsupported() -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/profiles/unsupported.toml");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    t.get("value")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|v| {
                    assert!(!v["reason"].as_str().unwrap().trim().is_empty(), "unsupported value without a reason: {v}");
                    (v["fixture"].as_str().unwrap().to_owned(), v["oid"].as_str().unwrap().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_recorded_snmp_device_reads_its_expected_values() {
    let root = PathBuf::from(env("KILOWATCH_SHARED")).join("fixtures/snmp");
    let skip = unsupported();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    fixtures.sort();
    let mut failures = Vec::new();
    let (mut checked, mut listed) = (0, 0);
    for dir in &fixtures {
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let expected: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
        let url = format!("snmp://{name}@{}", env("KILOWATCH_TEST_SNMPSIM"));
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch")).args(["probe", &url, "--json", "--timeout", "5s"]).output().unwrap();
        let rows: Vec<serde_json::Value> = if out.status.success() {
            serde_json::from_slice(&out.stdout).unwrap()
        } else {
            failures.push(format!("{name}: probe failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            Vec::new()
        };
        for sensor in expected.get("sensor").and_then(|s| s.as_array()).into_iter().flatten() {
            let class = sensor["class"].as_str().unwrap();
            let Some((fields, factor)) = canonical(class) else { continue };
            let oid = sensor["oid"].as_str().unwrap();
            if skip.iter().any(|(f, o)| f == &name && (oid == o || oid.starts_with(&format!("{o}.")))) {
                listed += 1;
                continue;
            }
            let want = sensor["value"].as_float().or_else(|| sensor["value"].as_integer().map(|i| i as f64)).unwrap() * factor;
            let row = rows.iter().find(|r| r["source"] == oid && fields.contains(&r["field"].as_str().unwrap_or_default()));
            match row {
                None => failures.push(format!(
                    "{name}: {oid} ({class} '{}', {want}) is not read by any profile and not listed in unsupported.toml",
                    sensor["description"].as_str().unwrap_or_default()
                )),
                Some(r) => {
                    let got = r["value"].as_f64().unwrap();
                    let ok = if want == 0.0 { got.abs() < 1e-9 } else { ((got - want) / want).abs() <= 0.005 };
                    if !ok {
                        failures.push(format!("{name}: {oid} {}: read {got}, expected {want}", r["field"]));
                    }
                    checked += 1;
                }
            }
        }
    }
    eprintln!("{checked} values matched, {listed} listed as unsupported, {} failures", failures.len());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 0);
}
