//! Issue 3 acceptance: every recorded device in `../shared/fixtures/snmp/`, served by snmpsim,
//! read with `kilowatch probe` and automatic profile selection. Every expected value of a
//! canonical metric must be read (the row whose `source` is the recorded OID) and match within
//! 0.5 %, unless `config/unsupported-values.toml` lists it with a reason.
#![cfg(feature = "peers")]

use std::path::PathBuf;
use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

/// The fields a LibreNMS sensor class may land in, and the factor from its unit to ours: every
/// typed field of the class's quantity and unit (its "temperature" includes dew points and set
/// points, its "runtime" the time on battery), as `scripts/measure-devices` counts them.
fn canonical(class: &str) -> Option<(&'static [&'static str], f64)> {
    Some(match class {
        "power" => (
            &[
                "active_power_w",
                "power_w",
                "apparent_power_va",
                // LibreNMS files reactive power (var) under its power class too.
                "reactive_power_var",
                "cooling_power_w",
            ],
            1.0,
        ),
        "power_consumed" => (
            &[
                "energy_kwh",
                "apparent_energy_kvah",
                "reactive_energy_kvarh",
            ],
            1.0,
        ),
        "current" => (&["current_a"], 1.0),
        "voltage" => (&["voltage_v"], 1.0),
        "frequency" => (&["frequency_hz"], 1.0),
        "power_factor" => (&["power_factor"], 1.0),
        "temperature" => (
            &[
                "temperature_c",
                "inlet_temp_c",
                "outlet_temp_c",
                "outdoor_temp_c",
                "supply_temp_c",
                "return_temp_c",
                "chw_supply_temp_c",
                "chw_return_temp_c",
                "dew_point_c",
                "setpoint_temp_c",
            ],
            1.0,
        ),
        "humidity" => (&["humidity_pct", "setpoint_humidity_pct"], 1.0),
        "load" => (&["load_pct", "cooling_output_pct"], 1.0),
        "runtime" => (&["runtime_s", "time_on_battery_s"], 60.0),
        "charge" => (&["battery_charge_pct"], 1.0),
        _ => return None,
    })
}

fn unsupported() -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/unsupported-values.toml");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    t.get("value")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|v| {
                    assert!(
                        !v["reason"].as_str().unwrap().trim().is_empty(),
                        "unsupported value without a reason: {v}"
                    );
                    (
                        v["fixture"].as_str().unwrap().to_owned(),
                        v["oid"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_recorded_snmp_device_reads_its_expected_values() {
    let root = PathBuf::from(env("KILOWATCH_SHARED")).join("fixtures/snmp");
    let skip = unsupported();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    fixtures.sort();
    let mut failures = Vec::new();
    let (mut checked, mut listed) = (0, 0);
    for dir in &fixtures {
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let expected: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
        let url = format!("snmp://{name}@{}", env("KILOWATCH_TEST_SNMPSIM"));
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(["probe", &url, "--json", "--timeout", "5s"])
            .output()
            .unwrap();
        let rows: Vec<serde_json::Value> = if out.status.success() {
            serde_json::from_slice(&out.stdout).unwrap()
        } else {
            failures.push(format!(
                "{name}: probe failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            Vec::new()
        };
        for sensor in expected
            .get("sensor")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            let class = sensor["class"].as_str().unwrap();
            let Some((fields, factor)) = canonical(class) else {
                continue;
            };
            let oid = sensor["oid"].as_str().unwrap();
            if skip
                .iter()
                .any(|(f, o)| f == &name && (oid == o || oid.starts_with(&format!("{o}."))))
            {
                listed += 1;
                continue;
            }
            let want = sensor["value"]
                .as_float()
                .or_else(|| sensor["value"].as_integer().map(|i| i as f64))
                .unwrap()
                * factor;
            let row = rows.iter().find(|r| {
                r["source"] == oid && fields.contains(&r["field"].as_str().unwrap_or_default())
            });
            match row {
                None => failures.push(format!(
                    "{name}: {oid} ({class} '{}', {want}) is not read by any profile and not listed in config/unsupported-values.toml",
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
    eprintln!(
        "{checked} values matched, {listed} listed as unsupported, {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0);
}

/// The profile that reads each Modbus map in `../shared/fixtures/modbus/`.
const MODBUS_PROFILES: &[(&str, &str)] = &[
    ("abb-b23-b24", "abb-b23"),
    ("apc-smart-ups-modbus", "apc-smart-ups-modbus"),
    ("eastron-sdm630-v2", "eastron-sdm630"),
    ("janitza-umg96rm-e", "janitza-umg96rm"),
    ("schneider-iem3255", "schneider-iem3000"),
    ("schneider-pm5560", "schneider-pm5500"),
    ("sunspec-model203-meter", "sunspec-meter-203"),
];

/// The fields a register of this unit (and name) may land in, and the factor to our unit.
/// Reactive power and energy, phase angles, efficiency, nameplate ratings ("nominal") and identity
/// registers are not canonical metrics.
fn canonical_register(unit: &str, name: &str) -> Option<(&'static [&'static str], f64)> {
    let lower = name.to_ascii_lowercase();
    if lower.contains("nominal") {
        return None;
    }
    Some(match unit {
        "V" => (&["voltage_v"], 1.0),
        "A" => (&["current_a"], 1.0),
        "W" => (&["active_power_w"], 1.0),
        "kW" => (&["active_power_w"], 1000.0),
        "VA" => (&["apparent_power_va"], 1.0),
        "kVA" => (&["apparent_power_va"], 1000.0),
        "Wh" => (&["energy_kwh"], 0.001),
        "kWh" => (&["energy_kwh"], 1.0),
        "Hz" => (&["frequency_hz"], 1.0),
        "degC" => (&["temperature_c", "inlet_temp_c", "outlet_temp_c"], 1.0),
        "s" => (&["runtime_s"], 1.0),
        // SunSpec power factor is in percent.
        "Pct" => (&["power_factor"], 0.01),
        "" if lower.contains("power_factor") || lower.contains("cos_phi") || lower == "pf" => {
            (&["power_factor"], 1.0)
        }
        "%" if lower.contains("charge") => (&["battery_charge_pct"], 1.0),
        "%" if lower.ends_with("power_pct") => (&["load_pct"], 1.0),
        _ => return None,
    })
}

#[test]
fn every_modbus_register_map_reads_its_expected_values() {
    let root = PathBuf::from(env("KILOWATCH_SHARED")).join("fixtures/modbus");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut maps: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    maps.sort();
    assert_eq!(
        maps.len(),
        MODBUS_PROFILES.len(),
        "a map without a profile: {maps:?}"
    );
    for path in maps {
        let fixture: toml::Table =
            toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = fixture["device"]["id"].as_str().unwrap();
        let unit = fixture["device"]["unit_id"].as_integer().unwrap();
        let profile = MODBUS_PROFILES
            .iter()
            .find(|(f, _)| *f == id)
            .unwrap_or_else(|| panic!("no profile for {id}"))
            .1;
        let url = format!("modbus://{}/{unit}", env("KILOWATCH_TEST_MODBUS"));
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args([
                "probe",
                &url,
                "--profile",
                profile,
                "--json",
                "--timeout",
                "5s",
            ])
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{id}: probe failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            continue;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("warning") {
            failures.push(format!("{id}: {stderr}"));
        }
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        for reg in fixture["registers"].as_array().unwrap() {
            let name = reg["name"].as_str().unwrap();
            let Some((fields, factor)) =
                canonical_register(reg.get("unit").and_then(|u| u.as_str()).unwrap_or(""), name)
            else {
                continue;
            };
            let source = format!(
                "{} {}",
                reg["table"].as_str().unwrap(),
                reg["address"].as_integer().unwrap()
            );
            let want = reg["example_value"]
                .as_float()
                .or_else(|| reg["example_value"].as_integer().map(|i| i as f64))
                .unwrap()
                * factor;
            match rows.iter().find(|r| {
                r["source"] == source.as_str()
                    && fields.contains(&r["field"].as_str().unwrap_or_default())
            }) {
                None => failures.push(format!(
                    "{id}: {name} ({source}) is not read by profile '{profile}'"
                )),
                Some(r) => {
                    let got = r["value"].as_f64().unwrap();
                    let ok = if want == 0.0 {
                        got.abs() < 1e-9
                    } else {
                        ((got - want) / want).abs() <= 1e-9
                    };
                    if !ok {
                        failures.push(format!("{id}: {name}: read {got}, expected {want}"));
                    }
                    checked += 1;
                }
            }
        }
    }
    eprintln!("{checked} register values matched");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
