//! The README's run command, end to end: `kilowatch demo --headless` on a machine with nothing
//! installed, and every other command pointed at the demo's `demo.toml`. A recognisable secret
//! must not appear in any output.

use std::process::{Command, Output};

const SECRET: &str = "S3CRET-kw-community-7f2a91";

fn kilowatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(args)
        .env("KILOWATCH_SIM_COMMUNITY", SECRET)
        .env("KILOWATCH_LOG", "debug")
        .output()
        .unwrap()
}

fn assert_no_secret(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(SECRET),
            "{what} printed the secret on {stream}:\n{text}"
        );
    }
}

/// With an InfluxDB sink the collector also records its own health (as device `kilowatch`);
/// the demo's device count is still the inventory's, not one more. InfluxDB is down here: the
/// sink keeps retrying and the demo goes on.
#[test]
fn demo_with_an_influx_sink_counts_only_the_inventory_devices() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/?db=kilowatch");
    let out = kilowatch(&[
        "demo",
        "--headless",
        "--interval",
        "500ms",
        "--duration",
        "8s",
        "--data",
        data,
        "--influx",
        &url,
    ]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inventory: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.path().join("demo.toml")).unwrap()).unwrap();
    let devices = inventory["devices"].as_array().unwrap().len() as u64;
    assert!(devices >= 10, "{devices} devices in demo.toml");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.trim().is_empty(), "no cycle printed in 8 s");
    for line in stdout.lines() {
        let l: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(l["devices_total"].as_u64(), Some(devices), "{l}");
        assert_eq!(l["devices_up"].as_u64(), Some(devices), "{l}");
    }
}

#[test]
fn headless_demo_prints_plausible_pue_with_all_devices_up_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = kilowatch(&["demo", "--headless", "--duration", "20s", "--data", data]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret("demo", &out);

    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.len() >= 5,
        "expected a line per 2 s cycle, got {}:\n{stdout}",
        lines.len()
    );
    for l in &lines {
        for key in [
            "ts",
            "site",
            "facility_power_w",
            "it_power_w",
            "pue",
            "devices_up",
            "devices_total",
        ] {
            assert!(l.get(key).is_some(), "missing '{key}' in {l}");
        }
        // Until every meter has readings over a common second there is no PUE yet (null);
        // that can only be the very first cycles.
        match l["pue"].as_f64() {
            Some(pue) => assert!((1.1..=2.5).contains(&pue), "pue {pue} in {l}"),
            None => assert!(
                l["ts"].as_i64() <= lines[1]["ts"].as_i64(),
                "no PUE after the first cycles: {l}"
            ),
        }
        assert_eq!(l["devices_up"], l["devices_total"], "{l}");
        assert!(l["devices_total"].as_u64().unwrap() >= 10);
        let (f, it) = (
            l["facility_power_w"].as_f64().unwrap(),
            l["it_power_w"].as_f64().unwrap(),
        );
        assert!(f > it && it > 0.0, "facility {f} W, IT {it} W");
    }

    // The demo leaves its config behind for every other command; it names the secret's file,
    // never the value.
    let config = dir.path().join("demo.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains(SECRET));
    assert!(text.contains("community = \"file:"));
    let config = config.to_str().unwrap();

    let check = kilowatch(&["check-config", config]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_no_secret("check-config", &check);

    let pue = kilowatch(&["pue", "--config", config, "--from", "1h", "--json"]);
    assert!(
        pue.status.success(),
        "{}",
        String::from_utf8_lossy(&pue.stderr)
    );
    assert_no_secret("pue", &pue);
    let report: serde_json::Value = serde_json::from_slice(&pue.stdout).unwrap();
    let p3 = &report[0]["pue"]["3"];
    assert_eq!(p3["status"], "value", "{report}");
    let v = p3["pue"].as_f64().unwrap();
    assert!((1.1..=2.5).contains(&v), "{v}");
    assert!(p3["label"].as_str().unwrap().starts_with("PUE3, interim"));
}

/// A headless demo too short for a PUE prints no line, and says so on stderr with what to
/// change, rather than exit with empty output and leave a script guessing.
#[test]
fn a_headless_demo_too_short_for_a_line_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = kilowatch(&[
        "demo",
        "--headless",
        "--history",
        "1h",
        "--duration",
        "1s",
        "--interval",
        "5s",
        "--data",
        data,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no line printed") && stderr.contains("--duration"),
        "{stderr}"
    );
}

#[test]
fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["demo", "sim", "collect", "probe", "pue", "check-config"] {
        assert!(help.contains(cmd), "--help does not mention {cmd}:\n{help}");
    }
}

#[test]
fn influxdb_away_shows_on_metrics_and_nothing_is_lost_from_the_store() {
    // Nothing listens on this port: every write fails, so the outbox must grow and say so. The
    // address is not 127.0.0.1, where every peer and collector of the parallel tests binds, so
    // the port cannot be taken by one of them in the meantime (it was, once: a /metrics server).
    let dead = std::net::TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["demo", "--headless", "--duration", "8s", "--interval", "1s"])
        .arg("--data")
        .arg(dir.path())
        .args([
            "--influx",
            &format!("http://{dead}?db=kw"),
            "--metrics-listen",
            &metrics.to_string(),
        ])
        .env("KILOWATCH_INFLUX_TOKEN", SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(6));
    let mut body = String::new();
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(metrics).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        s.read_to_string(&mut body).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let value = |name: &str| -> f64 {
        body.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{body}"))
    };
    assert!(value("kilowatch_outbox_queue_points") > 50.0, "{body}");
    assert!(value("kilowatch_outbox_retries") >= 1.0, "{body}");
    assert!(value("kilowatch_outbox_queue_age_s") > 1.0, "{body}");
    assert_eq!(value("kilowatch_outbox_dropped"), 0.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("InfluxDB unavailable"), "{stderr}");
    assert!(
        !stderr.contains(SECRET) && !body.contains(SECRET),
        "the token leaked"
    );
}

/// Issue 23: `demo` starts on a week of history, polled through the simulator's protocols on a
/// replay clock before going live, and the week tells its story: the hot rack's inlet over
/// ASHRAE's recommended 27 °C on most afternoons and no other rack's, a utility outage the UPS
/// rode through on battery (alarm raised and cleared, in the past), its battery then under
/// half, and the servers' daily cycle in the IT power.
#[test]
fn demo_starts_on_a_week_of_history_that_tells_a_story() {
    use kilowatch_core::model::Field;
    use kilowatch_store::{ReadStore, Selector, SqliteStore, TimeRange};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let out = kilowatch(&["demo", "--headless", "--duration", "2s", "--data", data]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret("demo", &out);
    const H: i64 = 3_600_000;
    let store = SqliteStore::open(&dir.path().join("kilowatch.db")).unwrap();

    // A week of readings: the facility meter's energy from seven days back, every ten minutes.
    let week = TimeRange {
        from: started - 7 * 24 * H - H,
        to: started + 60_000,
    };
    let energy = store
        .find(&Selector::field(Field::EnergyKwh).tag("role", "facility"))
        .unwrap();
    assert_eq!(energy.len(), 1, "{energy:?}");
    let points = store.read(&energy[0], week, None).unwrap();
    assert!(
        points.len() >= 1000,
        "a week at one poll per 10 min is 1,008 readings; got {}",
        points.len()
    );
    let first = points[0].ts;
    assert!(
        first <= started - 7 * 24 * H + 10 * 60_000,
        "history starts {} h before the run",
        (started - first) / H
    );
    // The servers' day: the racks' power at the busiest hour is well above the quietest.
    let racks = store
        .find(&Selector::field(Field::ActivePowerW).tag("role", "it3"))
        .unwrap();
    assert!(!racks.is_empty());
    let mut total: std::collections::BTreeMap<i64, f64> = Default::default();
    for s in &racks {
        for p in store.read(s, week, None).unwrap() {
            *total.entry(p.ts / (10 * 60_000)).or_default() += p.value;
        }
    }
    let (lo, hi) = total
        .values()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    assert!(hi > 1.2 * lo, "no daily cycle in IT power: {lo} .. {hi} W");

    let log = store.alert_log(week.from, week.to).unwrap();
    let events = |rule: &str, status: &str| -> Vec<&kilowatch_store::AlertEvent> {
        log.iter()
            .filter(|e| e.rule == rule && e.status == status)
            .collect()
    };
    let fired = events("ups_on_battery", "firing");
    let cleared = events("ups_on_battery", "resolved");
    assert_eq!(fired.len(), 1, "one outage: {log:#?}");
    assert_eq!(cleared.len(), 1, "cleared once: {log:#?}");
    let on_battery = cleared[0].at - fired[0].at;
    assert!(
        (10 * 60_000..=60 * 60_000).contains(&on_battery),
        "on battery for {} min",
        on_battery / 60_000
    );
    assert!(cleared[0].at < started, "the outage is in the past");
    assert!(
        !events("ups_battery_low", "firing").is_empty(),
        "the outage took the battery under half: {log:#?}"
    );
    let inlet = events("inlet_above_recommended", "firing");
    let hot: std::collections::BTreeSet<i64> = inlet
        .iter()
        .filter(|e| e.subject.contains("r02"))
        .map(|e| (e.at + 8 * H) / (24 * H))
        .collect();
    assert!(
        hot.len() >= 5,
        "the hot rack on {} days: {inlet:#?}",
        hot.len()
    );
    assert!(
        inlet.iter().all(|e| e.subject.contains("r02")),
        "only the hot rack runs hot: {inlet:#?}"
    );
}

/// `demo --estate 2 --history 1d`: two simulated sites, each with a day of history behind it,
/// so a report over the last day has a PUE for both; the sites differ in cooling, so in PUE.
#[test]
fn an_estate_demo_has_the_history_of_every_site() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = kilowatch(&[
        "demo",
        "--headless",
        "--estate",
        "2",
        "--history",
        "1d",
        "--duration",
        "2s",
        "--data",
        data,
    ]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.path().join("demo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "report", "pue", "--from", "1d", "--format", "json", "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut pue: std::collections::BTreeMap<String, f64> = Default::default();
    for s in report["sites"].as_array().unwrap() {
        if let Some(p) = s["pue"].as_f64() {
            pue.insert(s["site"].as_str().unwrap().to_owned(), p);
        }
    }
    assert_eq!(
        pue.keys().collect::<Vec<_>>(),
        ["dc01", "dc02"],
        "{report:#}"
    );
    assert!(pue.values().all(|p| (1.1..2.5).contains(p)), "{pue:?}");
    assert!((pue["dc01"] - pue["dc02"]).abs() > 0.02, "{pue:?}");
}
