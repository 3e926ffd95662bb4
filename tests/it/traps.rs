//! Issue 20 item 4: the trap and inform listener against real net-snmp `snmptrap` and
//! `snmpinform` (Debian `snmp`, which scripts/test installs), plus a 10,000-trap storm.
#![cfg(feature = "peers")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kilowatch_collector::traps::encode::{self, Val};
use kilowatch_collector::traps::{TrapMap, TrapSettings, TrapStats, V3User, listen};
use kilowatch_core::config::{V3Auth, V3Priv, V3Security};
use kilowatch_core::event::{Severity, TrapEffect, TrapEvent};
use kilowatch_core::secret::Secret;
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

const COMMUNITY: &str = "kw-traps";
const ENGINE: &str = "0x80001f8880c0ffee0000000001";

struct Listener {
    addr: SocketAddr,
    rx: Receiver<TrapEvent>,
    stats: Arc<TrapStats>,
    cancel: CancellationToken,
    conf: tempfile::TempDir,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn start(queue: usize) -> Listener {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(queue);
    let stats = Arc::new(TrapStats::default());
    let cancel = CancellationToken::new();
    let settings = TrapSettings {
        communities: vec![Secret::new(COMMUNITY)],
        users: vec![V3User {
            user: "kw-trap".into(),
            security: V3Security::AuthPriv {
                protocol: V3Auth::Sha1,
                key: Secret::new("kwauthpass1"),
                cipher: V3Priv::Aes128,
                priv_key: Secret::new("kwprivpass1"),
            },
        }],
    };
    tokio::spawn(listen(
        socket,
        settings,
        Arc::new(TrapMap::builtin()),
        tx,
        stats.clone(),
        cancel.clone(),
    ));
    Listener {
        addr,
        rx,
        stats,
        cancel,
        conf: tempfile::tempdir().unwrap(),
    }
}

/// Runs a net-snmp command with no user config and numeric OIDs only; its exit success.
fn net_snmp(l: &Listener, tool: &str, args: &[&str]) -> bool {
    let out = Command::new(format!("/usr/bin/{tool}"))
        .env("SNMPCONFPATH", l.conf.path())
        .env("SNMP_PERSISTENT_DIR", l.conf.path())
        .env("MIBS", "")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (run scripts/test, which installs snmp)"));
    out.status.success()
}

async fn next(l: &mut Listener) -> TrapEvent {
    tokio::time::timeout(Duration::from_secs(1), l.rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within 1 s; counters {:?}", l.stats.snapshot()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmptrap_v2c_ups_on_battery_fires_within_a_second() {
    let mut l = start(16).await;
    let target = l.addr.to_string();
    let sent = Instant::now();
    assert!(net_snmp(
        &l,
        "snmptrap",
        &[
            "-v",
            "2c",
            "-c",
            COMMUNITY,
            &target,
            "",
            "1.3.6.1.2.1.33.2.1",
            "1.3.6.1.2.1.33.1.2.3.0",
            "i",
            "12",
            "1.3.6.1.2.1.33.1.2.2.0",
            "i",
            "45",
        ],
    ));
    let e = next(&mut l).await;
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert_eq!(e.source, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(e.version, "v2c");
    assert_eq!(e.trap_oid, "1.3.6.1.2.1.33.2.1");
    assert_eq!(e.name.as_deref(), Some("UPS-MIB::upsTrapOnBattery"));
    assert_eq!(
        e.effect,
        TrapEffect::Raise {
            alert: "ups_on_battery".into(),
            severity: Severity::Warning
        }
    );
    assert_eq!(e.summary, "UPS on battery for 45 s, 12 min of battery left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmptrap_v1_powernet_maps_and_takes_the_agent_addr() {
    let mut l = start(16).await;
    let target = l.addr.to_string();
    // PowerNet-MIB upsOnBattery (ENTERPRISE apc, 5), then powerRestored (9).
    for specific in ["5", "9"] {
        assert!(net_snmp(
            &l,
            "snmptrap",
            &[
                "-v",
                "1",
                "-c",
                COMMUNITY,
                &target,
                "1.3.6.1.4.1.318",
                "10.9.8.7",
                "6",
                specific,
                ""
            ],
        ));
    }
    let on = next(&mut l).await;
    assert_eq!(on.version, "v1");
    assert_eq!(on.trap_oid, "1.3.6.1.4.1.318.0.5");
    assert_eq!(on.source, IpAddr::V4(Ipv4Addr::new(10, 9, 8, 7)));
    assert_eq!(on.name.as_deref(), Some("PowerNet-MIB::upsOnBattery"));
    assert!(matches!(on.effect, TrapEffect::Raise { ref alert, .. } if alert == "ups_on_battery"));
    let off = next(&mut l).await;
    assert_eq!(off.name.as_deref(), Some("PowerNet-MIB::powerRestored"));
    assert_eq!(
        off.effect,
        TrapEffect::Clear {
            alert: "ups_on_battery".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmptrap_v3_auth_priv_with_its_engine_id_decodes() {
    let mut l = start(16).await;
    let target = l.addr.to_string();
    let v3 = |key: &str| {
        vec![
            "-v".to_string(),
            "3".into(),
            "-e".into(),
            ENGINE.into(),
            "-u".into(),
            "kw-trap".into(),
            "-l".into(),
            "authPriv".into(),
            "-a".into(),
            "SHA".into(),
            "-A".into(),
            key.into(),
            "-x".into(),
            "AES".into(),
            "-X".into(),
            "kwprivpass1".into(),
            target.clone(),
            "".into(),
            "1.3.6.1.2.1.33.2.1".into(),
        ]
    };
    let args = v3("kwauthpass1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(net_snmp(&l, "snmptrap", &args));
    let e = next(&mut l).await;
    assert_eq!(e.version, "v3");
    assert_eq!(e.name.as_deref(), Some("UPS-MIB::upsTrapOnBattery"));

    // The same user with a wrong key: rejected and counted, nothing queued.
    let bad = v3("not-the-key");
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    assert!(net_snmp(&l, "snmptrap", &bad));
    for _ in 0..100 {
        if l.stats.snapshot()[2] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(l.stats.snapshot()[2], 1, "{:?}", l.stats.snapshot());
    assert!(l.rx.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpinform_v2c_succeeds_only_because_we_ack() {
    let mut l = start(16).await;
    let target = l.addr.to_string();
    let inform = |l: &Listener, community: &str| {
        net_snmp(
            l,
            "snmpinform",
            &[
                "-v",
                "2c",
                "-c",
                community,
                "-t",
                "1",
                "-r",
                "0",
                &target,
                "",
                "1.3.6.1.4.1.318.0.9",
            ],
        )
    };
    assert!(inform(&l, COMMUNITY), "snmpinform saw no Response");
    let e = next(&mut l).await;
    assert!(e.inform);
    assert_eq!(e.name.as_deref(), Some("PowerNet-MIB::powerRestored"));
    assert_eq!(l.stats.snapshot()[5], 1);
    // A wrong community is neither queued nor acknowledged: snmpinform times out.
    assert!(!inform(&l, "guess"));
    assert_eq!(l.stats.snapshot()[2], 1, "{:?}", l.stats.snapshot());
    assert_eq!(l.stats.snapshot()[5], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmptrap_unknown_trap_is_kept_with_varbinds() {
    let mut l = start(16).await;
    let target = l.addr.to_string();
    assert!(net_snmp(
        &l,
        "snmptrap",
        &[
            "-v",
            "2c",
            "-c",
            COMMUNITY,
            &target,
            "",
            "1.3.6.1.4.1.99999.0.7",
            "1.3.6.1.4.1.99999.1.2.0",
            "s",
            "valve 3 stuck"
        ],
    ));
    let e = next(&mut l).await;
    assert_eq!(e.effect, TrapEffect::Unknown);
    assert_eq!(e.name, None);
    assert_eq!(e.trap_oid, "1.3.6.1.4.1.99999.0.7");
    assert!(
        e.varbinds
            .contains(&("1.3.6.1.4.1.99999.1.2.0".into(), "valve 3 stuck".into()))
    );
    assert!(e.summary.contains("valve 3 stuck"), "{}", e.summary);
}

/// Sends `n` pre-encoded traps at about `per_s` from a std socket; returns when all are sent.
fn send_paced(to: SocketAddr, n: usize, per_s: usize) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    for i in 0..n {
        let bytes = encode::v2c(
            COMMUNITY.as_bytes(),
            i as i32,
            false,
            i as u32,
            "1.3.6.1.2.1.33.2.1",
            &[("1.3.6.1.2.1.33.1.2.3.0", Val::Int(i as i64))],
        );
        socket.send_to(&bytes, to).unwrap();
        // Pace in batches of 10: sleep until this batch's slot.
        if i % 10 == 9 {
            let due = Duration::from_secs_f64((i + 1) as f64 / per_s as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn settle(stats: &TrapStats, done: impl Fn([u64; 6]) -> bool) {
    for _ in 0..1000 {
        if done(stats.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("counters stuck at {:?}", stats.snapshot());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_10000_in_10_s_loses_none_that_fit() {
    const N: usize = 10_000;
    let mut l = start(N).await;
    let before = rss_kib();
    let to = l.addr;
    let started = Instant::now();
    tokio::task::spawn_blocking(move || send_paced(to, N, 1_000))
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(9), "sent too fast: {took:?}");
    settle(&l.stats, |s| s[0] == N as u64).await;
    let [received, decoded, rejected, malformed, dropped, _] = l.stats.snapshot();
    assert_eq!(
        (received, decoded, rejected, malformed, dropped),
        (N as u64, N as u64, 0, 0, 0)
    );
    let mut queued = 0;
    while let Ok(e) = l.rx.try_recv() {
        assert_eq!(e.name.as_deref(), Some("UPS-MIB::upsTrapOnBattery"));
        queued += 1;
    }
    assert_eq!(queued, N);
    // 10,000 queued events of a few hundred bytes each, one 64 KiB buffer: far below 64 MiB.
    let grew = rss_kib().saturating_sub(before);
    assert!(grew < 64 * 1024, "RSS grew {grew} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_into_a_small_queue_counts_every_drop() {
    const N: usize = 1_000;
    const QUEUE: usize = 100;
    let mut l = start(QUEUE).await;
    let to = l.addr;
    tokio::task::spawn_blocking(move || send_paced(to, N, 2_000))
        .await
        .unwrap();
    settle(&l.stats, |s| s[0] == N as u64 && s[4] == (N - QUEUE) as u64).await;
    let [received, decoded, _, _, dropped, _] = l.stats.snapshot();
    assert_eq!(
        (received, decoded, dropped),
        (N as u64, N as u64, (N - QUEUE) as u64)
    );
    let mut queued = 0;
    while l.rx.try_recv().is_ok() {
        queued += 1;
    }
    assert_eq!(queued, QUEUE);
}
