//! Issue 10 faults against the real binary: the data directory's disk fills up while the
//! collector runs. It keeps polling, says what is wrong, loses nothing (polls made while the disk
//! was full are committed once space returns), and stops cleanly; the community shows nowhere. The disk is a 3 MiB tmpfs, so
//! this needs root (scripts/test runs as root; it is a `peers` test for that reason).
#![cfg(feature = "peers")]

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "mounting a tmpfs needs root (scripts/test runs as root)"
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros until the file system refuses more.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
}

#[test]
fn a_full_disk_loses_no_poll_and_the_collector_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), "3m");
    let inv = dir.path().join("inv.toml");
    let bin = common::process::BIN;
    let (sim, _) = common::process::sim_with_secret(dir.path(), &inv, "300ms");
    let data = disk.0.join("data");
    let log = dir.path().join("collect.log");
    let mut collect = Command::new(bin)
        .args(["collect", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .env("KILOWATCH_SIM_COMMUNITY", common::process::FAULT_COMMUNITY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let filler = disk.0.join("filler");
    fill(&filler);
    let full_from = kilowatch_core::clock::Clock::System.now_ms();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        collect.try_wait().unwrap().is_none(),
        "the collector kept running on a full disk"
    );
    let during = std::fs::read_to_string(&log).unwrap();
    assert!(
        during.contains("could not write to the embedded store"),
        "the fault is reported: {during}"
    );
    std::fs::remove_file(&filler).unwrap();
    let full_to = kilowatch_core::clock::Clock::System.now_ms();
    std::thread::sleep(Duration::from_secs(3));
    common::process::kill(collect.id(), "TERM");
    let status = collect.wait().unwrap();
    drop(sim);
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status:?}: {after}");
    assert!(
        after.contains("writes recovered"),
        "recovery is reported: {after}"
    );
    common::process::assert_no_secret(&after, &data);

    // Every device's polls run on without a hole across the full-disk stretch.
    let store = kilowatch_store::SqliteStore::open(&data.join("kilowatch.db")).unwrap();
    use kilowatch_store::ReadStore;
    let health = store
        .find(&kilowatch_store::Selector::field(
            kilowatch_core::model::Field::Up,
        ))
        .unwrap();
    assert!(health.len() >= 10, "{} devices", health.len());
    for s in &health {
        let polls = store
            .read(
                s,
                kilowatch_store::TimeRange {
                    from: 0,
                    to: i64::MAX,
                },
                None,
            )
            .unwrap();
        let in_full: Vec<_> = polls
            .iter()
            .filter(|p| p.ts >= full_from && p.ts < full_to)
            .collect();
        assert!(
            in_full.len() >= 8,
            "{}: {} polls kept from the {} ms the disk was full",
            s.key,
            in_full.len(),
            full_to - full_from
        );
        let worst = polls.windows(2).map(|w| w[1].ts - w[0].ts).max().unwrap();
        assert!(worst < 1_500, "{}: a {worst} ms hole in the polls", s.key);
    }
}
