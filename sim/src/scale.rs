//! A simulated site at benchmark scale: thousands of SNMP agents and Modbus servers, each on its
//! own loopback port, answering after a delay drawn per request, with a share of devices that
//! never answer and a share that answer slowly. Each SNMP agent serves 20 values read by one
//! GET (sysUpTime and 19 APC rPDU2 outlet powers), so a peer reading the same OIDs (e.g.
//! snmp_exporter) does the same work, and says who it is (sysDescr, sysObjectID).

use std::net::SocketAddr;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use serde::Deserialize;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::Delay;
use crate::modbus_server::{self, Registers};
use crate::snmp_agent::{self, Mib, Value};

/// Outlet power column of PowerNet-MIB rPDU2OutletMeteredStatusTable (W).
pub const OUTLET_POWER: &str = "1.3.6.1.4.1.318.1.1.26.9.4.3.1.7";
/// sysObjectID of the benchmark PDU (under NET-SNMP-MIB netSnmpPlaypen).
pub const BENCH_OBJECT_ID: &str = "1.3.6.1.4.1.8072.9999.9999.1.1";
/// Values each SNMP device serves.
pub const VARBINDS: usize = 20;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScaleConfig {
    pub snmp_devices: usize,
    /// Modbus devices besides the site's two meters (facility and IT).
    pub modbus_devices: usize,
    /// Servers' BMCs over Redfish (issue 19), answering every request after the same delays.
    pub redfish_devices: usize,
    /// Answer delay of a healthy device, drawn uniformly per request (ms).
    pub response_min_ms: f64,
    pub response_max_ms: f64,
    /// Share of devices that never answer (bound, silent).
    pub dead_share: f64,
    /// Share of devices that answer after `slow_ms`.
    pub slow_share: f64,
    pub slow_ms: f64,
    /// First port (devices take consecutive ports); 0 lets the OS choose each.
    pub first_port: u16,
    pub community: String,
    pub speed: f64,
}

impl Default for ScaleConfig {
    fn default() -> ScaleConfig {
        ScaleConfig {
            snmp_devices: 1000,
            modbus_devices: 0,
            redfish_devices: 0,
            response_min_ms: 0.2,
            response_max_ms: 2.0,
            dead_share: 0.0,
            slow_share: 0.0,
            slow_ms: 3000.0,
            first_port: 0,
            community: "kilowatch-sim".into(),
            speed: 1.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScaleDevice {
    pub id: String,
    pub address: String,
    pub profile: &'static str,
    pub role: Option<&'static str>,
    pub dead: bool,
    pub slow: bool,
}

/// The running devices; they stop when this is dropped.
#[derive(Debug)]
pub struct RunningScale {
    pub config: ScaleConfig,
    pub devices: Vec<ScaleDevice>,
    cancel: CancellationToken,
}

impl Drop for RunningScale {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Which devices are dead or slow: spread evenly (every k-th), so any prefix of the devices
/// has about the same shares.
fn picked(i: usize, share: f64, offset: f64) -> bool {
    share > 0.0
        && ((i as f64 + offset) * share).floor() != ((i as f64 + offset + 1.0) * share).floor()
}

impl RunningScale {
    pub async fn start(config: ScaleConfig, clock: Clock) -> std::io::Result<RunningScale> {
        let cancel = CancellationToken::new();
        let started = clock.now_ms();
        let healthy = Delay::Uniform(
            Duration::from_secs_f64(config.response_min_ms.max(0.0) / 1000.0),
            Duration::from_secs_f64(config.response_max_ms.max(0.0) / 1000.0),
        );
        let slow = Delay::Fixed(Duration::from_secs_f64(config.slow_ms.max(0.0) / 1000.0));
        let mut port = config.first_port;
        let mut next_bind = || {
            let p = port;
            if port != 0 {
                port = port.saturating_add(1);
            }
            SocketAddr::from(([127, 0, 0, 1], p))
        };
        let mut devices = Vec::with_capacity(config.snmp_devices + config.modbus_devices + 2);
        let total_modbus = config.modbus_devices + 2;
        for m in 0..total_modbus {
            let listener = TcpListener::bind(next_bind()).await?;
            let addr = listener.local_addr()?;
            // The two site meters are always healthy: every site needs them.
            let dead = m >= 2 && picked(m - 2, config.dead_share, 0.0);
            let is_slow = m >= 2 && !dead && picked(m - 2, config.slow_share, 0.5);
            let (id, role) = match m {
                0 => ("meter-facility".to_owned(), Some("facility")),
                1 => ("meter-it".to_owned(), Some("it")),
                _ => (format!("meter-{:05}", m - 1), None),
            };
            if dead {
                tokio::spawn(hold_silently(listener, cancel.child_token()));
            } else {
                let kw = if m == 1 { 40.0 } else { 60.0 + (m % 7) as f64 };
                let image = move || meter_image(clock.now_ms(), started, kw);
                tokio::spawn(modbus_server::serve(
                    listener,
                    1,
                    image,
                    if is_slow { slow } else { healthy },
                    cancel.child_token(),
                ));
            }
            devices.push(ScaleDevice {
                id,
                address: format!("modbus://{addr}/1"),
                profile: "eastron-sdm630",
                role,
                dead,
                slow: is_slow,
            });
        }
        for i in 0..config.snmp_devices {
            let socket = UdpSocket::bind(next_bind()).await?;
            let addr = socket.local_addr()?;
            let dead = picked(i, config.dead_share, 0.0);
            let is_slow = !dead && picked(i, config.slow_share, 0.5);
            if dead {
                tokio::spawn(drain_silently(socket, cancel.child_token()));
            } else {
                let mib = move || pdu_mib(clock.now_ms(), started, i);
                tokio::spawn(snmp_agent::serve(
                    socket,
                    config.community.clone().into_bytes(),
                    mib,
                    if is_slow { slow } else { healthy },
                    cancel.child_token(),
                ));
            }
            devices.push(ScaleDevice {
                id: format!("pdu-{i:05}"),
                address: format!("snmp://{addr}"),
                profile: "kilowatch-sim-bench",
                role: None,
                dead,
                slow: is_slow,
            });
        }
        for i in 0..config.redfish_devices {
            let listener = TcpListener::bind(next_bind()).await?;
            let addr = listener.local_addr()?;
            let dead = picked(i, config.dead_share, 0.0);
            let is_slow = !dead && picked(i, config.slow_share, 0.5);
            if dead {
                tokio::spawn(hold_silently(listener, cancel.child_token()));
            } else {
                let read = move || bmc_reading(clock.now_ms(), started, i);
                let account = crate::redfish_server::Account {
                    user: crate::devices::BMC_USER.to_owned(),
                    password: config.community.clone(),
                    session_ttl: Duration::from_secs(600),
                };
                tokio::spawn(crate::redfish_server::serve(
                    listener,
                    read,
                    account,
                    if is_slow { slow } else { healthy },
                    cancel.child_token(),
                ));
            }
            devices.push(ScaleDevice {
                id: format!("bmc-{i:05}"),
                address: format!("redfish+http://{addr}"),
                profile: "redfish-dmtf",
                role: None,
                dead,
                slow: is_slow,
            });
        }
        Ok(RunningScale {
            config,
            devices,
            cancel,
        })
    }

    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// An inventory for the collector: one site, every device, the secret by reference.
    pub fn inventory_toml(
        &self,
        community_ref: &str,
        store_path: &str,
        interval: &str,
        timeout: &str,
    ) -> String {
        use std::fmt::Write;
        let mut s = format!(
            "# {} simulated devices at benchmark scale, written by kilowatch.\n[collector]\ninterval = {interval:?}\ntimeout = {timeout:?}\nmax_concurrent_polls = {}\n\n[store]\npath = {store_path:?}\n\n[auths.sim]\nversion = \"v2c\"\ncommunity = {community_ref:?}\n\n[auths.sim-bmc]\nversion = \"redfish\"\nuser = {:?}\npassword = {community_ref:?}\n\n[[sites]]\nid = \"scale\"\n\n",
            self.devices.len(),
            self.devices.len().max(1),
            crate::devices::BMC_USER
        );
        for d in &self.devices {
            let _ = writeln!(
                s,
                "[[devices]]\nid = {:?}\nsite = \"scale\"\nprofile = {:?}\naddress = {:?}",
                d.id, d.profile, d.address
            );
            if d.address.starts_with("snmp") {
                s.push_str("auth = \"sim\"\n");
            }
            if d.address.starts_with("redfish") {
                s.push_str("auth = \"sim-bmc\"\n");
            }
            match d.role {
                Some("it") => s.push_str("role = \"it\"\ncategory = 1\n"),
                Some(r) => {
                    let _ = writeln!(s, "role = {r:?}");
                }
                None => {}
            }
            s.push('\n');
        }
        s
    }
}

/// A benchmark server's BMC: 150–400 W following its CPU, which swings with the clock.
fn bmc_reading(now_ms: i64, started: i64, i: usize) -> crate::redfish_server::Reading {
    let t = (now_ms - started) as f64 / 60_000.0;
    let cpu = 30.0 + 25.0 * (t / 7.0 + i as f64).sin();
    let power_w = 150.0 + 2.5 * cpu + (i % 13) as f64;
    crate::redfish_server::Reading {
        power_w,
        cpu_pct: cpu,
        inlet_c: 22.0 + (i % 5) as f64 * 0.5,
        exhaust_c: 22.0 + 0.025 * power_w,
    }
}

/// Accepts connections and never answers (a device that hangs mid-conversation).
async fn hold_silently(listener: TcpListener, cancel: CancellationToken) {
    let mut held = Vec::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => held.push(stream),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
        }
    }
}

/// Reads and drops every datagram: no reply, and no ICMP "port unreachable" either.
async fn drain_silently(socket: UdpSocket, cancel: CancellationToken) {
    let mut buf = [0u8; 2048];
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = socket.recv_from(&mut buf) => {}
        }
    }
}

fn oid(s: &str) -> Vec<u32> {
    s.split('.').filter_map(|p| p.parse().ok()).collect()
}

/// sysUpTime and 19 outlet powers that move with time.
fn pdu_mib(now: i64, started: i64, device: usize) -> Mib {
    let mut m = Mib::new();
    // Who it is, so `probe` and `discover` can tell: net-snmp's playpen subtree
    // (NET-SNMP-MIB netSnmpPlaypen) is for experiments, as this device is.
    m.insert(
        oid("1.3.6.1.2.1.1.1.0"),
        Value::OctetString(b"Kilowatch simulator benchmark PDU".to_vec()),
    );
    m.insert(
        oid("1.3.6.1.2.1.1.2.0"),
        Value::ObjectId(oid(BENCH_OBJECT_ID)),
    );
    m.insert(
        oid("1.3.6.1.2.1.1.3.0"),
        Value::TimeTicks(((now - started).max(0) / 10) as u32),
    );
    let column = oid(OUTLET_POWER);
    let minute = (now / 60_000) as usize;
    for k in 1..VARBINDS as u32 {
        let mut o = column.clone();
        o.push(k);
        let w = 40 + (device * 7 + k as usize * 13 + minute) % 180;
        m.insert(o, Value::Integer(w as i32));
    }
    m
}

/// An SDM630 drawing about `kw` kW, its import register counting up since the start.
fn meter_image(now: i64, started: i64, kw: f64) -> Registers {
    let mut r = Registers::default();
    let t = &mut r.input;
    let hours = (now - started).max(0) as f64 / 3_600_000.0;
    for i in 0..3u16 {
        Registers::put_f32(t, 2 * i, 230.0);
        Registers::put_f32(t, 6 + 2 * i, (kw * 1000.0 / 3.0 / 230.0) as f32);
        Registers::put_f32(t, 12 + 2 * i, (kw * 1000.0 / 3.0) as f32);
    }
    Registers::put_f32(t, 52, (kw * 1000.0) as f32);
    Registers::put_f32(t, 56, (kw * 1000.0 / 0.97) as f32);
    Registers::put_f32(t, 62, 0.97);
    Registers::put_f32(t, 70, 50.0);
    Registers::put_f32(t, 30, 0.97);
    let kwh = 10_000.0 + kw * hours;
    Registers::put_f32(t, 72, kwh as f32);
    Registers::put_f32(t, 74, 0.0);
    Registers::put_f32(t, 342, kwh as f32);
    Registers::put_f32(t, 346, (kwh / 3.0) as f32);
    r
}

#[cfg(test)]
mod tests {
    use super::picked;

    #[test]
    fn shares_are_spread_evenly() {
        let dead = (0..1000).filter(|i| picked(*i, 0.1, 0.0)).count();
        assert_eq!(dead, 100);
        let first_hundred = (0..100).filter(|i| picked(*i, 0.1, 0.0)).count();
        assert_eq!(first_hundred, 10);
        assert_eq!((0..1000).filter(|i| picked(*i, 0.0, 0.0)).count(), 0);
    }
}
