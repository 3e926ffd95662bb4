//! Issue 10: the systemd unit runs the collector as its own user, least privileged, with its
//! state under StateDirectory and /metrics on loopback only.

use crate::common;

use std::collections::HashMap;

/// `[Section]` → key → every value given (systemd keys may repeat).
fn unit() -> HashMap<String, HashMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kilowatch.service"),
    )
    .unwrap();
    let mut out: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        out.entry(section.clone())
            .or_default()
            .entry(k.to_owned())
            .or_default()
            .push(v.to_owned());
    }
    out
}

#[test]
fn the_unit_is_least_privileged_and_keeps_state_in_its_state_directory() {
    let u = unit();
    let service = &u["Service"];
    let one = |k: &str| -> &str {
        let v = service
            .get(k)
            .unwrap_or_else(|| panic!("[Service] lacks {k}"));
        v.last().unwrap()
    };
    for (k, want) in [
        ("User", "kilowatch"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("StateDirectory", "kilowatch"),
        ("UMask", "0077"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(k), want, "{k}");
    }
    let exec = one("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(args.get(1), Some(&"collect"), "{exec}");
    let after = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
    assert_eq!(
        after("--data"),
        Some("${STATE_DIRECTORY}"),
        "the store under StateDirectory"
    );
    if let Some(m) = after("--metrics-listen") {
        let m: std::net::SocketAddr = m.parse().unwrap();
        assert!(m.ip().is_loopback(), "/metrics on loopback only: {m}");
    }
    // The binary accepts exactly these arguments: it gets as far as reading the config.
    let out = std::process::Command::new(common::process::BIN)
        .args(&args[1..])
        .env("STATE_DIRECTORY", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/etc/kilowatch/site.toml"),
        "ExecStart's arguments parse: {err}"
    );
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    // Every path the service may write is its state directory (ProtectSystem=strict).
    assert!(service.get("ReadWritePaths").is_none());
    assert_eq!(
        u["Install"]["WantedBy"],
        vec!["multi-user.target".to_owned()]
    );
}

/// The unit stops the collector with SIGTERM: it must exit 0 having committed what it polled.
#[test]
fn the_collector_stops_cleanly_on_the_units_stop_signal() {
    use std::process::{Command, Stdio};
    let u = unit();
    let signal = u["Service"]["KillSignal"].last().unwrap().clone();
    assert_eq!(signal, "SIGTERM");
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.toml");
    let bin = common::process::BIN;
    let (sim, _) = common::process::sim_with_secret(dir.path(), &inv, "500ms");
    let data = dir.path().join("data");
    let collect = Command::new(bin)
        .args(["collect", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .env("KILOWATCH_SIM_COMMUNITY", common::process::FAULT_COMMUNITY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    common::process::kill(collect.id(), signal.trim_start_matches("SIG"));
    let started = std::time::Instant::now();
    let out = collect.wait_with_output().unwrap();
    drop(sim);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "stopped promptly"
    );
    common::process::assert_no_secret(&String::from_utf8_lossy(&out.stderr), &data);
    let store = kilowatch_store::SqliteStore::open(&data.join("kilowatch.db")).unwrap();
    let n = store.count_samples().unwrap();
    // 17 devices polled about five times each: hundreds of samples, all committed.
    assert!(n > 300, "{n} samples committed");
}

/// SIGHUP (the unit's reload): a broken inventory is refused with its problems while polling
/// goes on; a good one adds its devices; the InfluxDB outbox (InfluxDB is away here) keeps every
/// point across both.
#[test]
fn sighup_reloads_the_inventory_and_keeps_the_outbox() {
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let bin = common::process::BIN;
    let full = dir.path().join("full.toml");
    let (sim, text) = common::process::sim_with_secret(dir.path(), &full, "300ms");
    // The inventory without the environment sensor's block, to add it back by a reload.
    let blocks: Vec<&str> = text.split("\n[[devices]]\n").collect();
    let without: Vec<&str> = blocks
        .iter()
        .copied()
        .filter(|b| !b.starts_with("id = \"env-1\""))
        .collect();
    assert_eq!(
        without.len() + 1,
        blocks.len(),
        "the sim has an env-1 sensor"
    );
    let config = dir.path().join("site.toml");
    std::fs::write(&config, without.join("\n[[devices]]\n")).unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("collect.log");
    // Not 127.0.0.1, where the parallel tests bind: nobody takes this port meanwhile.
    let closed = std::net::TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let collect = Command::new(bin)
        .args(["collect", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .args(["--influx", &format!("http://{closed}?db=kilowatch")])
        .env("KILOWATCH_SIM_COMMUNITY", common::process::FAULT_COMMUNITY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = collect.id();
    let outbox = || -> (i64, i64) {
        let db = rusqlite::Connection::open(data.join("kilowatch.db")).unwrap();
        db.query_row(
            "SELECT count(*), coalesce(min(seq), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let env_samples = || -> usize {
        use kilowatch_store::{ReadStore, Selector, TimeRange};
        let store = kilowatch_store::SqliteStore::open(&data.join("kilowatch.db")).unwrap();
        let all = TimeRange {
            from: 0,
            to: i64::MAX,
        };
        let env = store
            .find(&Selector::default().tag("device", "env-1"))
            .unwrap();
        env.iter()
            .map(|s| store.read(s, all, None).unwrap().len())
            .sum()
    };
    std::thread::sleep(Duration::from_secs(2));
    let (rows0, first0) = outbox();
    assert!(rows0 > 0, "the outbox fills while InfluxDB is away");
    assert_eq!(env_samples(), 0);

    // A broken inventory: refused, named, and the old devices keep being polled.
    std::fs::write(&config, "[[devices]]\nid = 7\n").unwrap();
    common::process::kill(pid, "HUP");
    std::thread::sleep(Duration::from_secs(1));
    let refused = std::fs::read_to_string(&log).unwrap();
    assert!(refused.contains("reload refused"), "{refused}");
    let (rows1, first1) = outbox();
    assert!(
        rows1 > rows0 && first1 == first0,
        "still polling, outbox kept: {rows0} {rows1}"
    );

    // The whole inventory: env-1 is polled from now on.
    std::fs::write(&config, &text).unwrap();
    common::process::kill(pid, "HUP");
    std::thread::sleep(Duration::from_secs(2));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("reloaded the inventory"), "{log_text}");
    assert!(env_samples() > 0, "the added device is polled");
    let (rows2, first2) = outbox();
    assert!(
        rows2 > rows1 && first2 == first0,
        "outbox kept across the reload"
    );

    common::process::kill(pid, "TERM");
    let out = collect.wait_with_output().unwrap();
    drop(sim);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(out.status.success(), "{log_text}");
    common::process::assert_no_secret(&log_text, &data);
}

/// TLS is the documented default: plain HTTP to another machine is accepted, but said aloud.
#[test]
fn plain_http_to_another_machine_is_warned_about() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(&config, common::process::METERED_SITE).unwrap();
    let run = |url: &str| {
        let mut child = Command::new(common::process::BIN)
            .args(["collect", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--influx", url])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(800));
        common::process::kill(child.id(), "TERM");
        let _ = child.wait();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        err
    };
    let remote = run("http://192.0.2.10:8086?db=kw");
    assert!(remote.contains("plain http to another machine"), "{remote}");
    let local = run("http://127.0.0.1:9?db=kw");
    assert!(!local.contains("plain http"), "{local}");
}
