//! Issue 17: `kilowatch discover` over 200 targets on loopback (a simulated site of mixed kinds,
//! 180 benchmark agents of which 18 never answer, and 6 ports where nothing listens) writes a
//! draft inventory that `check-config` accepts and `collect` polls with no edit.

use std::process::{Command, Stdio};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_kilowatch");
/// The simulator's community (its default), named in its inventories as this variable.
const COMMUNITY: (&str, &str) = ("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim");

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kilowatch sim ARGS --inventory FILE` and waits for the inventory.
fn sim(args: &[&str], inventory: &std::path::Path) -> Kill {
    let child = Command::new(BIN)
        .args(args)
        .arg("--inventory")
        .arg(inventory)
        .env(COMMUNITY.0, COMMUNITY.1)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        if std::fs::read_to_string(inventory).is_ok_and(|t| t.contains("[[devices]]")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Kill(child)
}

/// The SNMP addresses (`host:port`) of an inventory.
fn snmp_targets(inventory: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(inventory)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("address = \"snmp://"))
        .map(|a| {
            a.trim_end_matches('"')
                .rsplit('@')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn issue_17_discover_finds_what_answers_and_writes_an_inventory_collect_polls() {
    let dir = tempfile::tempdir().unwrap();
    let (scale_inv, site_inv) = (dir.path().join("scale.toml"), dir.path().join("site.toml"));
    let _scale = sim(
        &["sim", "--scale-snmp", "180", "--dead-share", "0.1"],
        &scale_inv,
    );
    let _site = sim(&["sim"], &site_inv);
    let (bench, site) = (snmp_targets(&scale_inv), snmp_targets(&site_inv));
    assert_eq!(bench.len(), 180);
    assert!(
        site.len() >= 14,
        "the simulated site's SNMP devices: {site:?}"
    );
    // Ports where nothing listens: bound, noted, released.
    let silent: Vec<String> = (0..6)
        .map(|_| {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().to_string()
        })
        .collect();
    let targets: Vec<String> = bench
        .iter()
        .chain(site.iter().take(14))
        .chain(&silent)
        .cloned()
        .collect();
    assert_eq!(targets.len(), 200);
    let list = dir.path().join("targets.txt");
    std::fs::write(&list, format!("# what to scan\n{}\n", targets.join("\n"))).unwrap();

    let draft = dir.path().join("draft.toml");
    let out = Command::new(BIN)
        .args(["discover", &format!("@{}", list.display()), "--auths"])
        .arg(&scale_inv)
        .arg("--out")
        .arg(&draft)
        .env(COMMUNITY.0, COMMUNITY.1)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(&draft).unwrap();
    let devices: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("address = "))
        .collect();
    // 162 benchmark agents answer (18 are dead), every SNMP device of the site, no silent port.
    let answering = 162 + 14;
    assert_eq!(devices.len(), answering, "{stderr}\n{text}");
    for s in &silent {
        assert!(
            !text.contains(s.as_str()),
            "a silent port is in the draft: {s}"
        );
    }
    let profiles: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("profile = "))
        .collect();
    assert!(profiles.len() >= 3, "mixed kinds: {profiles:?}");
    assert!(
        stderr.contains(&format!("{answering} of 200 targets answered")),
        "{stderr}"
    );
    // Roles are never decided silently: only suggested, commented out.
    assert!(!text.lines().any(|l| l.starts_with("role = ")), "{text}");
    assert!(text.contains("# role = \"it\""), "{text}");

    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&draft)
        .env(COMMUNITY.0, COMMUNITY.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Collect the draft as written (a short interval through the environment, not an edit).
    let data = dir.path().join("data");
    let collect = Command::new(BIN)
        .args(["collect", "--config"])
        .arg(&draft)
        .arg("--data")
        .arg(&data)
        .env(COMMUNITY.0, COMMUNITY.1)
        .env("KILOWATCH_COLLECTOR__INTERVAL", "2s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let collect = Kill(collect);
    std::thread::sleep(std::time::Duration::from_secs(7));
    common::process::kill(collect.0.id(), "TERM");
    let mut collect = collect;
    let _ = collect.0.wait();
    let out = Command::new(BIN)
        .args(["store", "export", "--field", "up", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    let up: std::collections::BTreeSet<String> = csv
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",1"))
        .filter_map(|l| {
            l.split("device=")
                .nth(1)
                .map(|d| d.split([';', ',', ' ']).next().unwrap().to_owned())
        })
        .collect();
    // No roles yet, so no PUE: the report says so rather than printing a zero.
    let out = Command::new(BIN)
        .args([
            "report", "pue", "--from", "1h", "--format", "json", "--config",
        ])
        .arg(&draft)
        .arg("--data")
        .arg(&data)
        .env(COMMUNITY.0, COMMUNITY.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The site is listed among those without data, with why, and among no others.
    assert_eq!(
        report["sites"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    let row = &report["no_data"][0];
    assert!(row["pue"].is_null(), "{row}");
    assert!(
        row["reason"].as_str().unwrap().starts_with("no data"),
        "{row}"
    );
    assert_eq!(
        up.len(),
        answering,
        "devices polled up: {}\n{}",
        up.len(),
        csv.lines().take(5).collect::<Vec<_>>().join("\n")
    );
}
