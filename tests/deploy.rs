//! Issue 10: the systemd unit runs the collector as its own user, least privileged, with its
//! state under StateDirectory and /metrics on loopback only.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

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
    let metrics: std::net::SocketAddr = after("--metrics-listen").unwrap().parse().unwrap();
    assert!(
        metrics.ip().is_loopback(),
        "/metrics on loopback only: {metrics}"
    );
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
    let bin = env!("CARGO_BIN_EXE_kilowatch");
    let mut sim = Command::new(bin)
        .args(["sim", "--inventory"])
        .arg(&inv)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if inv.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&inv)
        .unwrap()
        .replace("interval = \"10s\"", "interval = \"500ms\"");
    std::fs::write(&inv, text).unwrap();
    let data = dir.path().join("data");
    let collect = Command::new(bin)
        .args(["collect", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let term = Command::new("kill")
        .args([
            format!("-{}", signal.trim_start_matches("SIG")),
            collect.id().to_string(),
        ])
        .status()
        .unwrap();
    assert!(term.success());
    let started = std::time::Instant::now();
    let out = collect.wait_with_output().unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
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
    let store = kilowatch_store::SqliteStore::open(&data.join("kilowatch.db")).unwrap();
    let n = store.count_samples().unwrap();
    // 17 devices polled about five times each: hundreds of samples, all committed.
    assert!(n > 300, "{n} samples committed");
}
