//! `kilowatch sim --config FILE` serves real protocols: `kilowatch probe` reads its UPS with the
//! profile chosen by sysObjectID, and its meter over Modbus.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sim_serves_devices_that_probe_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    std::fs::write(
        &cfg,
        "racks = 1\nservers_per_rack = 2\nport_base = 0\ncommunity = \"sim-cli\"\n",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["sim", "--config", cfg.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let mut addresses = std::collections::HashMap::new();
    for line in BufReader::new(child.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("serving") {
            break;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        addresses.insert(cols[0].to_owned(), cols[2].to_owned());
    }
    // 3 Modbus devices, UPS, 1 PDU, 2 servers, environment sensor.
    assert_eq!(addresses.len(), 8, "{addresses:?}");

    let ups = addresses["ups-1"].replace("snmp://", "snmp://sim-cli@");
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", &ups, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "active_power_w" && r["tags"].get("point").is_none());
    let w = total.expect("UPS output power")["value"].as_f64().unwrap();
    // Two servers draw between their idle (>= 95 W) and maximum (<= 365 W) power.
    assert!((190.0..=730.0).contains(&w), "{w}");

    let meter = &addresses["meter-main"];
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", meter, "--profile", "eastron-sdm630", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let facility = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "active_power_w" && r["tags"].get("point").is_none());
    let f = facility.expect("meter total power")["value"]
        .as_f64()
        .unwrap();
    assert!(f > w, "facility {f} W must exceed UPS output {w} W");

    // A wrong community gets no answer: a clear timeout, not a hang or a panic.
    let wrong = addresses["ups-1"].replace("snmp://", "snmp://wrong@");
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", &wrong, "--timeout", "300ms"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("timed out"), "{err}");
    assert!(!err.contains("sim-cli") && !err.contains("wrong@"), "{err}");
}
