//! The binary in processes of its own: a simulated site serving until dropped, and signals.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kilowatch");

/// A site with a facility meter and a UPS output meter (IT category 1) on unreachable Modbus
/// addresses: enough for a valid inventory when a test brings its own data.
pub const METERED_SITE: &str = r#"
[[sites]]
id = "hk1"
timezone = "Asia/Hong_Kong"

[[devices]]
id = "main"
site = "hk1"
profile = "eastron-sdm630"
address = "modbus://127.0.0.1:1/1"
role = "facility"

[[devices]]
id = "ups"
site = "hk1"
profile = "apc-smart-ups-modbus"
address = "modbus://127.0.0.1:1/2"
role = "it"
category = 1
"#;

/// `kilowatch sim` serving until dropped.
pub struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kilowatch sim ARGS --inventory INV`, waits for the inventory, sets its poll interval
/// to `interval` and returns it with the running sim.
pub fn sim(args: &[&str], inventory: &Path, interval: &str) -> (Sim, String) {
    let child = Command::new(BIN)
        .args(args)
        .arg("--inventory")
        .arg(inventory)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let sim = Sim(child);
    let t0 = Instant::now();
    while !inventory.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(inventory)
        .unwrap()
        .replace("interval = \"10s\"", &format!("interval = \"{interval}\""));
    std::fs::write(inventory, &text).unwrap();
    (sim, text)
}

/// A community no log line, error or file may ever show (tests of faults pass it to the sim and
/// to the collector's `KILOWATCH_SIM_COMMUNITY`).
pub const FAULT_COMMUNITY: &str = "kw-fault-c0mm-9Zr";

/// As [`sim`], with the simulator answering only to [`FAULT_COMMUNITY`].
pub fn sim_with_secret(dir: &Path, inventory: &Path, interval: &str) -> (Sim, String) {
    let config = dir.join("sim-secret.toml");
    std::fs::write(&config, format!("community = \"{FAULT_COMMUNITY}\"\n")).unwrap();
    sim(
        &["sim", "--config", config.to_str().unwrap()],
        inventory,
        interval,
    )
}

/// Fails if the log or any file in `data` (the store, the outbox, quarantine) holds the secret.
pub fn assert_no_secret(log: &str, data: &Path) {
    assert!(
        !log.contains(FAULT_COMMUNITY),
        "the log shows the community:\n{log}"
    );
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(FAULT_COMMUNITY),
            "{} holds the community",
            path.display()
        );
    }
}

/// Sends `signal` ("TERM", "HUP", ...) to process `pid`.
pub fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}
