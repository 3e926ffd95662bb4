//! Issue 10 faults: the wall clock jumps while the collector runs (a bad NTP server, a VM
//! restored from a snapshot). The collector runs under libfaketime (Debian `faketime`), whose
//! offset the test moves: an hour back, then two days forward. Polling keeps its period (timers
//! are monotonic), every reading made before a jump is still there afterwards (the readings
//! stamped an hour back never overwrite them), and retention (one day here) does not take the
//! jump forward as two days passing: it advances no faster than real time.
#![cfg(feature = "peers")]

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use kilowatch_core::model::Field;
use kilowatch_store::{ReadStore, Selector, SqliteStore, TimeRange};

const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

#[test]
fn clock_jumps_back_and_forward_lose_nothing_and_keep_the_poll_period() {
    assert!(
        std::path::Path::new(FAKETIME).exists(),
        "libfaketime is missing (scripts/test installs Debian's faketime)"
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.toml");
    let (_sim, text) = common::process::sim_with_secret(dir.path(), &inv, "250ms");
    // Raw readings are kept one day: a jump two days forward must not take that as licence.
    let text = text.replacen("[store]\n", "[store]\nretention = \"1d\"\n", 1);
    std::fs::write(&inv, text).unwrap();
    let offset = dir.path().join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("collect.log");
    let mut collect = Command::new(common::process::BIN)
        .args(["collect", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .env("KILOWATCH_SIM_COMMUNITY", common::process::FAULT_COMMUNITY)
        .env("LD_PRELOAD", FAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &offset)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t0 = kilowatch_core::clock::Clock::System.now_ms();
    std::thread::sleep(Duration::from_secs(4));
    std::fs::write(&offset, "-1h\n").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    std::fs::write(&offset, "+2d\n").unwrap();
    // Long enough for the collector's upkeep (compaction and retention) to run after the jump.
    std::thread::sleep(Duration::from_secs(5));
    common::process::kill(collect.id(), "TERM");
    let status = collect.wait().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}: {log_text}");
    assert!(!log_text.contains("panicked"), "{log_text}");
    assert!(
        log_text.contains("the wall clock jumped"),
        "the jump is reported: {log_text}"
    );
    common::process::assert_no_secret(&log_text, &data);

    let store = SqliteStore::open(&data.join("kilowatch.db")).unwrap();
    let ups = store
        .find(&Selector::field(Field::Up).tag("device", "ups-1"))
        .unwrap();
    assert_eq!(ups.len(), 1, "{ups:?}");
    let hour = 3_600_000;
    let band = |from: i64, to: i64| store.read(&ups[0], TimeRange { from, to }, None).unwrap();
    // Three bands of readings: now, an hour ago, two days ahead; each 4–5 s at 250 ms.
    let before = band(t0 - 60_000, t0 + 30_000);
    let back = band(t0 - hour - 60_000, t0 - hour + 30_000);
    let ahead = band(t0 + 47 * hour, t0 + 49 * hour);
    for (name, b, min) in [
        ("before", &before, 12),
        ("an hour back", &back, 12),
        ("two days ahead", &ahead, 12),
    ] {
        assert!(b.len() >= min, "{name}: {} readings", b.len());
        assert!(
            b.iter().all(|p| p.value == 1.0),
            "{name}: the UPS stayed up"
        );
        // The poll period held: no gap longer than a few periods inside a band.
        let worst = b.windows(2).map(|w| w[1].ts - w[0].ts).max().unwrap_or(0);
        assert!(worst < 1_000, "{name}: a {worst} ms gap");
    }
    assert!(
        before.len() >= 14,
        "the readings before the jumps are all still there: {}",
        before.len()
    );
}
