//! Issue 17: a device is read by what it answers, not only by what it is called. The devices are
//! hand-written recordings (`tests/data/snmprec/`) served by snmpsim: a UPS whose sysObjectID no
//! profile names but which speaks RFC 1628 UPS-MIB, and a device that speaks nothing we read.
#![cfg(feature = "peers")]

use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

fn probe(community: &str) -> std::process::Output {
    let url = format!("snmp://{community}@{}", env("KILOWATCH_TEST_SNMPSIM"));
    Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", &url, "--json", "--timeout", "5s"])
        .output()
        .unwrap()
}

/// `probe --json` of the gateway recording with one profile written for the test, named NAME.
fn probe_gateway_with(name: &str, profile: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{name}.toml")), profile).unwrap();
    let url = format!(
        "snmp://unknown-vendor-gateway@{}",
        env("KILOWATCH_TEST_SNMPSIM")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", &url, "--json", "--profile", name, "--profiles"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn issue_17_a_ups_of_an_unknown_vendor_is_read_through_the_ups_mib_it_answers() {
    let out = probe("unknown-vendor-ups");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("profile rfc1628-ups: answers 1.3.6.1.2.1.33.1"),
        "probe says which module matched and why: {stderr}"
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let value = |field: &str, source: &str| {
        rows.iter()
            .find(|r| r["field"] == field && r["source"] == source)
            .and_then(|r| r["value"].as_f64())
            .unwrap_or_else(|| panic!("no {field} from {source}: {rows:?}"))
    };
    // The recording's values through UPS-MIB's units (tenths of A and Hz, minutes).
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(
        value("active_power_w", "1.3.6.1.2.1.33.1.4.4.1.4.1"),
        950.0
    ));
    assert!(close(value("load_pct", "1.3.6.1.2.1.33.1.4.4.1.5.1"), 38.0));
    assert!(close(
        value("voltage_v", "1.3.6.1.2.1.33.1.4.4.1.2.1"),
        230.0
    ));
    assert!(close(value("current_a", "1.3.6.1.2.1.33.1.4.4.1.3.1"), 4.3));
    assert!(close(value("frequency_hz", "1.3.6.1.2.1.33.1.4.2.0"), 50.0));
    assert!(close(
        value("battery_charge_pct", "1.3.6.1.2.1.33.1.2.4.0"),
        95.0
    ));
    assert!(close(value("runtime_s", "1.3.6.1.2.1.33.1.2.3.0"), 2520.0));
    // Status enumerations are kept as codes, named by UPS-MIB's enumeration.
    let state = |source: &str| {
        let r = rows
            .iter()
            .find(|r| r["field"] == "status" && r["source"] == source)
            .unwrap_or_else(|| panic!("no status from {source}: {rows:?}"));
        (
            r["value"].as_f64().unwrap(),
            r["state"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(state("1.3.6.1.2.1.33.1.2.1.0"), (2.0, "normal".to_owned()));
    assert_eq!(state("1.3.6.1.2.1.33.1.4.1.0"), (3.0, "normal".to_owned()));
}

#[test]
fn issue_17_a_device_that_speaks_no_mib_we_read_is_still_named_unknown() {
    let out = probe("unknown-vendor-nothing");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no profile matches this device"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sysObjectID: 1.3.6.1.4.1.99999.9.1"),
        "{stderr}"
    );
}

/// A device speaking three modules (a standard MIB, a nested standard one, a vendor table) is
/// read through all three, and detection skips through what the device holds: a handful of
/// requests, not one per `detect` subtree of the 40-odd profiles.
#[test]
fn issue_17_detection_finds_every_module_in_a_few_requests() {
    let out = probe("unknown-vendor-gateway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for module in [
        "profile rfc1628-ups: answers 1.3.6.1.2.1.33.1",
        "profile entity-sensor: answers 1.3.6.1.2.1.99.1.1",
        "profile liebert-environmental: answers 1.3.6.1.4.1.476.1.42.3.4",
    ] {
        assert!(stderr.contains(module), "{module} missing: {stderr}");
    }
    let modules = stderr.lines().filter(|l| l.starts_with("profile ")).count();
    assert_eq!(modules, 3, "only the modules it answers: {stderr}");
    let requests: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("detection: ")?.strip_suffix(" requests"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("probe states the detection cost: {stderr}"));
    // One GET, then at most one GETNEXT per answered subtree and per gap between them.
    assert!(requests <= 1 + 2 * 3 + 1, "{requests} requests: {stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let value = |field: &str| {
        rows.iter()
            .find(|r| r["field"] == field)
            .and_then(|r| r["value"].as_f64())
            .unwrap_or_else(|| panic!("no {field}: {rows:?}"))
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(value("battery_charge_pct"), 88.0));
    assert!(close(value("temperature_c"), 24.1));
    assert!(close(value("return_temp_c"), 23.6));
}

/// ENTITY-SENSOR-MIB rows state their own SI prefix and decimal places: a kW, a mA and a
/// two-decimal reading come out in W, A and V, named by ENTITY-MIB, and the fan (rpm, no
/// canonical field) is not read as anything else.
#[test]
fn issue_17_entity_sensors_are_read_in_the_units_each_row_states() {
    let out = probe("unknown-vendor-entity-switch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("profile entity-sensor: answers 1.3.6.1.2.1.99.1.1"),
        "{stderr}"
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let read = |field: &str, idx: u32| {
        let source = format!("1.3.6.1.2.1.99.1.1.1.4.{idx}");
        rows.iter()
            .find(|r| r["field"] == field && r["source"] == source.as_str())
            .map(|r| {
                (
                    r["value"].as_f64().unwrap(),
                    r["tags"]["point"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("no {field} from {source}: {rows:?}"))
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let (t, name) = read("temperature_c", 1001);
    assert!(close(t, 25.3) && name.contains("Inlet Temp"), "{t} {name}");
    assert!(close(read("current_a", 1002).0, 1.52));
    assert!(close(read("active_power_w", 1003).0, 1350.0));
    assert!(close(read("voltage_v", 1004).0, 12.05));
    assert!(
        !rows
            .iter()
            .any(|r| r["source"] == "1.3.6.1.2.1.99.1.1.1.4.1005"),
        "the fan is not a canonical reading: {rows:?}"
    );
}

/// `profile = "auto"` in the inventory: `collect` detects the unknown-vendor UPS once, polls it
/// through UPS-MIB, and keeps what it detected beside the store so the next start does not ask.
#[test]
fn issue_17_collect_polls_an_auto_profile_device_and_detects_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("site.toml");
    std::fs::write(
        &inventory,
        format!(
            "[auths.ups]\nversion = \"v2c\"\ncommunity = \"env:KW_TEST_UPS_COMMUNITY\"\n\n\
             [[sites]]\nid = \"s1\"\n\n\
             [[devices]]\nid = \"ups-acme\"\nsite = \"s1\"\nprofile = \"auto\"\n\
             address = \"snmp://{}\"\nauth = \"ups\"\n",
            env("KILOWATCH_TEST_SNMPSIM")
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let run = || {
        let child = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(["collect", "--config"])
            .arg(&inventory)
            .arg("--data")
            .arg(&data)
            .env("KW_TEST_UPS_COMMUNITY", "unknown-vendor-ups")
            .env("KILOWATCH_COLLECTOR__INTERVAL", "1s")
            .env("KILOWATCH_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(4));
        crate::common::process::kill(child.id(), "TERM");
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = run();
    assert!(
        first.contains("detected") && first.contains("rfc1628-ups"),
        "{first}"
    );
    let cache = std::fs::read_to_string(data.join("detected.toml")).unwrap();
    assert!(cache.contains("rfc1628-ups"), "{cache}");
    let second = run();
    assert!(
        !second.contains(" detected"),
        "asked again despite the cache: {second}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "store",
            "export",
            "--field",
            "active_power_w",
            "--tag",
            "device=ups-acme",
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    let values: Vec<f64> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next()?.parse().ok())
        .collect();
    assert!(values.len() >= 4, "two runs of polls: {csv}");
    assert!(
        values.iter().all(|v| *v == 950.0),
        "UPS-MIB output power: {csv}"
    );
}

/// A sysObjectID sent as text is read as the OID it spells, so the family's profile matches.
#[test]
fn issue_17_a_sysobjectid_sent_as_text_still_names_the_profile() {
    let out = probe("text-sysobjectid");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("profile rfc1628-ups: sysObjectID 1.3.6.1.2.1.33.99"),
        "{stderr}"
    );
}

/// `valid_range`: a raw value outside the range the MIB gives real readings is no data.
#[test]
fn issue_17_values_outside_the_valid_range_are_no_data() {
    let rows = probe_gateway_with(
        "acme-gateway",
        r#"protocol = "snmp"
description = "Environment sensor, Acme gateway (test)"
[[metrics]]
field = "temperature_c"
walk = "1.3.6.1.4.1.99999.4.1.2"
scale = 0.1
point = "probe"
valid_range = [0, 1000]
"#,
    );
    let temps: Vec<(f64, &str)> = rows
        .iter()
        .filter(|r| r["field"] == "temperature_c")
        .map(|r| {
            (
                r["value"].as_f64().unwrap(),
                r["tags"]["point"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(temps.len(), 1, "{rows:?}");
    assert!(
        (temps[0].0 - 21.5).abs() < 1e-9 && temps[0].1 == "probe2",
        "{temps:?}"
    );
}

/// `fahrenheit_when`: a device that states temperatures in °C or °F as a setting says (one
/// setting for the device, or one per PDU above its sensor table) is read in °C either way.
#[test]
fn issue_17_temperatures_follow_the_unit_setting_the_device_states() {
    let rows = probe_gateway_with(
        "acme-units",
        r#"protocol = "snmp"
description = "Environment sensor, Acme gateway units (test)"
[[metrics]]
field = "temperature_c"
oid = "1.3.6.1.4.1.99999.4.1.4.1"
point = "probe"
fahrenheit_when = { oid = "1.3.6.1.4.1.99999.4.1.3.0", equals = [2] }

[[metrics]]
field = "temperature_c"
walk = "1.3.6.1.4.1.99999.4.1.6"
point = "pdu"
fahrenheit_when = { column = "1.3.6.1.4.1.99999.4.1.5", equals = [2] }
"#,
    );
    let at = |point: &str| {
        rows.iter()
            .find(|r| r["tags"]["point"] == point)
            .and_then(|r| r["value"].as_f64())
            .unwrap_or_else(|| panic!("no {point}: {rows:?}"))
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(at("probe"), 25.0), "77 °F is 25 °C: {rows:?}");
    assert!(close(at("pdu1.1"), 22.0), "PDU 1 states °C: {rows:?}");
    assert!(close(at("pdu2.1"), 20.0), "PDU 2 states °F: {rows:?}");
}
