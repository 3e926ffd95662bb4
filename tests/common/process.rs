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

/// Sends `signal` ("TERM", "HUP", ...) to process `pid`.
pub fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}
