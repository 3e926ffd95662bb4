//! Issue 17: profile keys for what real devices send, through `probe` with automatic detection
//! and the shipped profiles. The devices are hand-written recordings (`tests/data/snmprec/`)
//! served by snmpsim: a SiteBoss that states temperatures as text with their unit letter
//! (`text_number`, `fahrenheit_when.ends_with`), a Liebert UPS system whose environmental rows
//! are typed by well-known OIDs with an instance appended (`where_prefix`) and which serves only
//! the whole-degree column for some rows (`fallback`), and a ServersCheck gateway whose sensors
//! are scalar name/value pairs (`name_oid`), and an Eaton card serving XUPS-MIB beside UPS-MIB
//! whose vendor readings no finer than the standard's yield to it (`fallback` across modules).
#![cfg(feature = "peers")]

use std::process::Command;

/// `probe --json` without `--profile`: the rows, and what probe said on stderr.
fn probe(community: &str) -> (Vec<serde_json::Value>, String) {
    let at = std::env::var("KILOWATCH_TEST_SNMPSIM")
        .expect("KILOWATCH_TEST_SNMPSIM is not set: run scripts/test, which starts the peers");
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "probe",
            &format!("snmp://{community}@{at}"),
            "--json",
            "--timeout",
            "5s",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// (value, point) of every row of `field`.
fn rows_of(rows: &[serde_json::Value], field: &str) -> Vec<(f64, String)> {
    rows.iter()
        .filter(|r| r["field"] == field)
        .map(|r| {
            (
                (r["value"].as_f64().unwrap() * 1000.0).round() / 1000.0,
                r["tags"]["point"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// esPointValueStr "68 F" is 20 °C and "22.5 C" is 22.5 °C; "N/A" is no reading (not 0, and not a
/// warning), and the contact closure's "Open" is not a temperature.
#[test]
fn issue_17_temperatures_sent_as_text_are_read_in_celsius() {
    let (rows, stderr) = probe("text-readings-siteboss");
    assert!(
        stderr.contains("profile asentria-siteboss: sysObjectID"),
        "{stderr}"
    );
    let mut temps = rows_of(&rows, "temperature_c");
    temps.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        temps,
        vec![(20.0, "es1.1.1".to_owned()), (22.5, "es2.1.1".to_owned())],
        "{rows:?}"
    );
    assert_eq!(
        rows_of(&rows, "humidity_pct"),
        vec![(45.0, "es1.3.1".to_owned())]
    );
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// lgpEnvTemperatureDescrDegC holding `lgpEnvSupplyAirTemperature.1.1` selects the supply-air row
/// and `lgpEnvBatteryCabinetPoint.1.1` the cabinet's; `...4.1.1.30` is neither. The return-air
/// row has a tenths reading, so its whole-degree `fallback` stays silent; the supply-air row has
/// none, so its whole degrees are read.
#[test]
fn issue_17_rows_typed_by_an_oid_with_an_instance_are_selected_by_prefix() {
    let (rows, stderr) = probe("oid-typed-rows-liebert");
    assert!(
        stderr.contains("profile liebert-environmental: answers 1.3.6.1.4.1.476.1.42.3.4"),
        "{stderr}"
    );
    assert_eq!(
        rows_of(&rows, "supply_temp_c"),
        vec![(19.0, "supply_air2".to_owned())],
        "{rows:?}"
    );
    assert_eq!(
        rows_of(&rows, "temperature_c"),
        vec![(24.0, "battery_cabinet1".to_owned())],
        "{rows:?}"
    );
    assert_eq!(
        rows_of(&rows, "return_temp_c"),
        vec![(26.8, String::new())],
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r["value"].as_f64() != Some(99.0)),
        "{rows:?}"
    );
}

/// sensor1name "Rack A Temp" makes sensor1Value a temperature, sensor2name "Rack A Humid" a
/// humidity; "Flooding" and "Ping GW" are neither, and the absent slots 5 to 8 are no warning.
#[test]
fn issue_17_scalars_are_read_by_the_name_beside_them() {
    let (rows, stderr) = probe("name-value-scalars-serverscheck");
    assert!(
        stderr.contains("profile serverscheck-sensorgateway: sysObjectID"),
        "{stderr}"
    );
    assert_eq!(
        rows_of(&rows, "temperature_c"),
        vec![(23.5, "sensor1".to_owned())],
        "{rows:?}"
    );
    assert_eq!(
        rows_of(&rows, "humidity_pct"),
        vec![(41.2, "sensor2".to_owned())],
        "{rows:?}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// (value, point, source) of every row of `field`.
fn sources_of(rows: &[serde_json::Value], field: &str) -> Vec<(f64, String, String)> {
    rows.iter()
        .filter(|r| r["field"] == field)
        .map(|r| {
            (
                (r["value"].as_f64().unwrap() * 1000.0).round() / 1000.0,
                r["tags"]["point"].as_str().unwrap_or_default().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// eaton-xups is the device's own module (sysObjectID), rfc1628-ups comes after it; the first
/// module keeps a field at a point, except where its metric is a `fallback`: UPS-MIB's 88 %
/// charge and 5.2 A input line win over XUPS-MIB's 90 % and whole 5 A, XUPS-MIB's battery
/// current (3 A) is read because UPS-MIB serves none, and its runtime in seconds (600) stays
/// before UPS-MIB's minutes.
#[test]
fn issue_17_a_vendor_reading_yields_to_the_standard_mib_across_modules() {
    let (rows, stderr) = probe("fallback-across-modules-eaton");
    assert!(
        stderr.contains("profile eaton-xups: sysObjectID")
            && stderr.contains("profile rfc1628-ups: answers"),
        "{stderr}"
    );
    let upsmib = "1.3.6.1.2.1.33.1";
    assert_eq!(
        sources_of(&rows, "battery_charge_pct"),
        vec![(88.0, String::new(), format!("{upsmib}.2.4.0"))]
    );
    assert_eq!(
        sources_of(&rows, "runtime_s"),
        vec![(600.0, String::new(), "1.3.6.1.4.1.534.1.2.1.0".to_owned())]
    );
    let mut currents = sources_of(&rows, "current_a");
    currents.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        currents,
        vec![
            (
                3.0,
                "battery".to_owned(),
                "1.3.6.1.4.1.534.1.2.3.0".to_owned()
            ),
            (5.2, "in1".to_owned(), format!("{upsmib}.3.3.1.4.1")),
        ]
    );
}
