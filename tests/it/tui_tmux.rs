//! Issue 6: `kilowatch demo` with its terminal UI, driven in tmux like an engineer over SSH:
//! the overview shows a plausible PUE, Tab reaches every screen, Enter on a rack shows its
//! PDUs, a simulated device that fails shows as down with an alarm within two poll intervals,
//! and `q` exits 0 with the terminal restored.
#![cfg(feature = "peers")]

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux(String);

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux: {e} (run scripts/test, which installs it)"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", &self.0])
    }

    fn keys(&self, keys: &str) {
        self.cmd(&["send-keys", "-t", &self.0, keys]);
        std::thread::sleep(Duration::from_millis(400));
    }

    /// Waits until the screen contains `text`, returning it.
    fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "'{text}' never appeared; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

#[test]
fn the_demo_tui_in_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("kw-{}", std::process::id());
    let exit = dir.path().join("exit");
    let cmd = format!(
        "KILOWATCH_LOG_FILE={}/tui.log {} demo --data {} --interval 1s --fail-device srv-r01-02 --fail-after 25s; echo EXIT=$? > {}; echo restored; sleep 60",
        dir.path().display(),
        env!("CARGO_BIN_EXE_kilowatch"),
        dir.path().display(),
        exit.display()
    );
    let tmux = Tmux(name.clone());
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);

    // Overview: an energy-based PUE once every meter has ten seconds of data.
    let start = Instant::now();
    let pue = loop {
        let s = tmux.screen();
        let value = s
            .lines()
            .find(|l| l.contains("│sim"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok());
        if let Some(v) = value {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "no PUE on the overview:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!((1.1..=2.5).contains(&pue), "PUE {pue}");
    let s = tmux.screen();
    assert!(s.contains("PUE3") && s.contains("17/17"), "{s}");

    // Tab reaches every screen, in order.
    for marker in [
        "racks coloured by",
        "Rack r01",
        "Devices:",
        "Alarms:",
        "PUE3 hourly (sim)",
        "Collectors: 1 (0 silent)",
        "Sites (PUE is energy-based)",
    ] {
        tmux.keys("Tab");
        tmux.wait_for(marker, Duration::from_secs(5));
    }
    // Enter on a rack (Overview → Site → Rack r02) shows its PDU and servers.
    tmux.keys("Enter");
    tmux.wait_for("racks coloured by", Duration::from_secs(5));
    tmux.keys("Right");
    tmux.keys("Enter");
    let s = tmux.wait_for("Rack r02", Duration::from_secs(5));
    assert!(s.contains("pdu-r02") && s.contains("srv-r02-01"), "{s}");

    // srv-r01-02 fails at 25 s: down on Devices and alarmed within two 1 s poll intervals
    // (plus the 2 s timeout that tells a failure from a slow answer).
    tmux.keys("Escape");
    tmux.keys("Escape");
    tmux.keys("Tab");
    tmux.keys("Tab");
    tmux.keys("Tab"); // Devices
    let failed_at = start + Duration::from_secs(25);
    while Instant::now() < failed_at {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Two 1 s intervals, the 0.8 s request timeout that tells failure from slowness, and one
    // 1 s snapshot refresh.
    let s = tmux.wait_for("DOWN", Duration::from_millis(2000 + 800 + 1000 + 1200));
    eprintln!(
        "down shown {:.1} s after the failure",
        failed_at.elapsed().as_secs_f64()
    );
    assert!(
        s.lines()
            .any(|l| l.contains("srv-r01-02") && l.contains("DOWN")),
        "{s}"
    );
    tmux.keys("Tab"); // Alarms
    let s = tmux.wait_for("srv-r01-02", Duration::from_secs(4));
    assert!(s.contains("down:"), "{s}");

    // q quits with status 0 and gives the terminal back.
    tmux.keys("q");
    let s = tmux.wait_for("restored", Duration::from_secs(15));
    assert!(!s.contains("Overview │"), "the UI is still on screen:\n{s}");
    assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "EXIT=0");
}
