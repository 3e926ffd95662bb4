//! Issue 20 end to end, through `kilowatch collect` as a user runs it: a simulated device fails
//! and comes back (`sim --fail-device`), rules fire and resolve, and a real Alertmanager and a
//! webhook receive each change once, across a collector killed mid-alert and an Alertmanager
//! down for a minute; traps from net-snmp's `snmptrap` become alerts within a second, and a
//! storm of 10,000 is counted, stored and held in bounded memory.
#![cfg(feature = "peers")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::alertmanager::{Alertmanager, Hook, Posted};
use crate::common::influxd::{Influxd, blocking, free_port};
use crate::common::process::{self, BIN};
use crate::common::smtp::Smtpd;

/// `kilowatch collect` running until dropped (SIGKILL) or [`Collector::stop`] (SIGTERM).
struct Collector {
    child: Child,
    log: PathBuf,
}

impl Collector {
    fn start(config: &Path, log: &Path) -> Collector {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(BIN)
            .args(["collect", "--config"])
            .arg(config)
            .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
            .env("KILOWATCH_TRAP_COMMUNITY", "kw-trap-c0mm")
            .env("KILOWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Collector {
            child,
            log: log.to_owned(),
        }
    }

    fn stop(mut self) -> String {
        process::kill(self.child.id(), "TERM");
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A simulated site whose `pdu-r01` fails `fail_after` into the run and answers again
/// `restore_after` later, polled every second with a 500 ms timeout, with `alerts` appended.
fn site(
    dir: &Path,
    fail_after: &str,
    restore_after: &str,
    alerts: &str,
) -> (process::Sim, PathBuf) {
    let inv = dir.join("kw.toml");
    let args = [
        "sim",
        "--fail-device",
        "pdu-r01",
        "--fail-after",
        fail_after,
        "--restore-after",
        restore_after,
    ];
    let (sim, text) = process::sim(&args, &inv, "1s");
    let text = text.replace("timeout = \"2s\"", "timeout = \"500ms\"");
    std::fs::write(&inv, format!("{text}\n{alerts}")).unwrap();
    (sim, inv)
}

/// The alert objects of every POST a hook got until `until` says stop or `within` passes.
fn collect_posts(
    hook: &Hook,
    within: Duration,
    mut until: impl FnMut(&[Posted]) -> bool,
) -> Vec<Posted> {
    let deadline = Instant::now() + within;
    let mut posts = Vec::new();
    while Instant::now() < deadline && !until(&posts) {
        if let Some(p) = hook.next(Duration::from_millis(200)) {
            posts.push(p);
        }
    }
    posts
}

/// (status, alertname) of every alert in every POST, in order.
fn statuses(posts: &[Posted], alertname: &str) -> Vec<String> {
    posts
        .iter()
        .flat_map(|p| p.body["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == alertname)
        .map(|a| a["status"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn rfc3339_ms(v: &serde_json::Value) -> i64 {
    let s = v.as_str().unwrap();
    let t: jiff::Timestamp = s.parse().unwrap();
    t.as_millisecond()
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The device-down alert reaches Alertmanager within one interval plus the rule's `for`, and
/// resolves within one interval of the device answering again; the collector killed (SIGKILL)
/// and restarted while it fires sends no duplicate: the webhook and Alertmanager's own
/// notifications show one firing and one resolved.
#[test]
fn device_down_fires_once_and_resolves_once_across_a_collector_restart() {
    let dir = tempfile::tempdir().unwrap();
    let am_hook = Hook::start();
    let am = Alertmanager::start(&am_hook.url());
    let hook = Hook::start();
    let smtpd = Smtpd::start();
    let alerts = format!(
        r#"
[alerts]
alertmanager = [{{ url = "{}" }}]
webhook = [{{ url = "{}" }}]
email = {{ smtp = "{}", from = "kilowatch@example.org", to = ["noc@example.org"] }}
resend = "2s"
external_url = "http://grafana.example/d/kilowatch"

[[rules]]
name = "pdu_down"
kind = "down"
for = "2s"
severity = "critical"
scope = {{ device = "pdu-r01" }}
"#,
        am.url(),
        hook.url(),
        smtpd.url()
    );
    let (_sim, inv) = site(dir.path(), "6s", "14s", &alerts);
    let log = dir.path().join("collect.log");
    let first = Collector::start(&inv, &log);

    // Firing: seen at Alertmanager within `for` (2 s) + one interval (1 s) + the poll's
    // timeout (0.5 s), with a second of slack for polling Alertmanager.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (seen, starts) = loop {
        assert!(
            Instant::now() < deadline,
            "pdu_down never reached Alertmanager:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        if let Some(a) = am
            .alerts()
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "pdu_down")
        {
            break (now_ms(), rfc3339_ms(&a["startsAt"]));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        seen - starts <= 2_000 + 1_000 + 500 + 1_000,
        "fired {} ms after the first failed poll",
        seen - starts
    );
    let a = am
        .alerts()
        .into_iter()
        .find(|a| a["labels"]["alertname"] == "pdu_down")
        .unwrap();
    for (k, v) in [
        ("device", "pdu-r01"),
        ("site", "sim"),
        ("rack", "r01"),
        ("severity", "critical"),
        ("rule", "pdu_down"),
    ] {
        assert_eq!(a["labels"][k], v, "label {k}: {a}");
    }
    assert_eq!(
        a["generatorURL"],
        "http://grafana.example/d/kilowatch?alert=pdu_down&device=pdu-r01"
    );

    // Killed outright while the alert fires, once every receiver has taken the firing
    // notification, and started again at once. (Killed while a receiver is taking it, the
    // notification is sent again after the restart: delivery is at least once.)
    let db = dir.path().join("kilowatch.db");
    let t0 = Instant::now();
    while rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.query_row("SELECT COUNT(*) FROM notify_outbox", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .unwrap_or(1)
        > 0
    {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "notifications not delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    process::kill(first.pid(), "KILL");
    drop(first);
    let second = Collector::start(&inv, &log);

    let posts = collect_posts(&hook, Duration::from_secs(40), |p| {
        statuses(p, "pdu_down").iter().any(|s| s == "resolved")
    });
    let resolved = posts
        .iter()
        .flat_map(|p| p.body["alerts"].as_array().cloned().unwrap_or_default())
        .find(|a| a["status"] == "resolved")
        .unwrap_or_else(|| panic!("no resolved notification: {posts:?}"));
    let arrived = now_ms();
    let ended = rfc3339_ms(&resolved["endsAt"]);
    // The device came back 14 s after it failed, and it failed at most one interval and a
    // timeout before the first failed poll (startsAt).
    let back_at_least = starts + 14_000 - 1_500;
    assert!(
        ended - back_at_least <= 1_000 + 500 + 1_500,
        "resolved {} ms after the device came back",
        ended - back_at_least
    );
    assert!(
        arrived - ended < 2_000,
        "resolved notification took {} ms",
        arrived - ended
    );
    // A little longer, to catch any duplicate the restart might send.
    let more = collect_posts(&hook, Duration::from_secs(4), |_| false);
    let all: Vec<Posted> = posts.into_iter().chain(more).collect();
    assert_eq!(
        statuses(&all, "pdu_down"),
        ["firing", "resolved"],
        "webhook got: {all:?}"
    );

    let am_posts = collect_posts(&am_hook, Duration::from_secs(3), |_| false);
    let am_sent: Vec<String> = am_posts
        .iter()
        .filter(|p| p.body["groupLabels"]["alertname"] == "pdu_down")
        .map(|p| p.body["status"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        am_sent,
        ["firing", "resolved"],
        "Alertmanager notified: {am_posts:?}"
    );
    assert!(
        !am.alerts()
            .iter()
            .any(|a| a["labels"]["alertname"] == "pdu_down"),
        "still active at Alertmanager: {:?}",
        am.alerts()
    );
    let log = second.stop();
    assert!(log.contains("restored pending and firing alerts"), "{log}");
    // The mail receiver got the same two, one mail each.
    let subjects: Vec<String> = smtpd.mails().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[FIRING:1] pdu_down")
            && subjects[1].starts_with("[RESOLVED] pdu_down"),
        "{subjects:?}"
    );

    // `publish` writes the history for the dashboards' annotation query, which then returns
    // the two changes as Grafana would show them.
    let influx = Influxd::start();
    let out = Command::new(BIN)
        .args(["publish", "--config"])
        .arg(&inv)
        .args(["--influx", &influx.url(), "--from", "1h"])
        .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "publish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("dashboards/provisioning/dashboards/kilowatch/kilowatch-power-chain.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let annotation = &dashboard["annotations"]["list"][0];
    let q = annotation["query"]
        .as_str()
        .unwrap()
        .replace("$site", "sim")
        .replace("$timeFilter", "time > now() - 1h");
    let rows = blocking(|| influx.reader().query(&q)).unwrap();
    let shown: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[1].as_str().unwrap().to_owned(),
                r[5].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("FIRING pdu_down".to_owned(), "pdu-r01".to_owned()),
            ("RESOLVED pdu_down".to_owned(), "pdu-r01".to_owned())
        ],
        "{rows:?}"
    );
    assert_eq!(annotation["titleColumn"], "title");
    assert!(
        rows[0][2].as_str().unwrap().contains("pdu-r01"),
        "text: {rows:?}"
    );
}

/// Alertmanager down for 60 s while a device fails and comes back: the firing and the resolved
/// notification wait in the outbox and both arrive, in order, once it is back.
#[test]
fn notifications_made_while_alertmanager_is_down_arrive_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let am_hook = Hook::start();
    let mut am = Alertmanager::start(&am_hook.url());
    let alerts = format!(
        r#"
[alerts]
alertmanager = [{{ url = "{}" }}]
heartbeat = "2s"

[[rules]]
name = "pdu_down"
kind = "down"
for = "1s"
scope = {{ device = "pdu-r01" }}
"#,
        am.url()
    );
    // Alertmanager goes down about 5 s in; the PDU fails at 12 s and is back at 30 s.
    let (_sim, inv) = site(dir.path(), "12s", "18s", &alerts);
    let log = dir.path().join("collect.log");
    let collector = Collector::start(&inv, &log);
    std::thread::sleep(Duration::from_secs(4));
    am.stop();
    let down_at = Instant::now();
    let db = dir.path().join("kilowatch.db");
    // Both changes are made, and queued, while it is down.
    let queued = |status: &str| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM alert_log WHERE rule='pdu_down' AND status=?1",
            [status],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0)
    };
    while queued("resolved") == 0 {
        assert!(
            down_at.elapsed() < Duration::from_secs(55),
            "no resolve while Alertmanager was down"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(queued("firing"), 1);
    let outbox = |conn: &rusqlite::Connection| {
        conn.query_row("SELECT COUNT(*) FROM notify_outbox", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(
        outbox(&rusqlite::Connection::open(&db).unwrap()),
        2,
        "firing and resolved wait in the outbox"
    );
    std::thread::sleep(Duration::from_secs(60).saturating_sub(down_at.elapsed()));
    am.restart();
    // Alertmanager logs each alert it receives, active or resolved.
    let deadline = Instant::now() + Duration::from_secs(30);
    let received = loop {
        let got: Vec<String> = am
            .log_since_restart()
            .lines()
            .filter(|l| l.contains("Received alert") && l.contains("pdu_down"))
            .map(|l| {
                if l.contains("[resolved]") {
                    "resolved".into()
                } else {
                    "active".into()
                }
            })
            .collect();
        if got.len() >= 2 || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        received,
        ["active", "resolved"],
        "Alertmanager log:\n{}",
        am.log()
    );
    // The dead-man heartbeat is firing again too, named by the collector.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !am.alerts().iter().any(|a| {
        a["labels"]["alertname"] == "KilowatchHeartbeat" && a["labels"]["collector"].is_string()
    }) {
        assert!(Instant::now() < deadline, "no heartbeat: {:?}", am.alerts());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        outbox(&rusqlite::Connection::open(&db).unwrap()),
        0,
        "the outbox is empty once delivered"
    );
    let log = collector.stop();
    assert_eq!(
        log.matches("could not deliver alerts").count(),
        1,
        "one error for the outage, not one per retry:\n{log}"
    );
    assert!(log.contains("receiver is back"), "{log}");
}

/// A sent trap: `snmptrap` (net-snmp) as a UPS would send it.
fn snmptrap(port: u16, args: &[&str]) {
    let out = Command::new("snmptrap")
        .args([
            "-v",
            "2c",
            "-c",
            "kw-trap-c0mm",
            &format!("127.0.0.1:{port}"),
            "",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "snmptrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const UPS_ON_BATTERY: &str = "1.3.6.1.2.1.33.2.1";
const UPS_ALARM_REMOVED: &str = "1.3.6.1.2.1.33.2.4";

fn traps_site(dir: &Path, port: u16, am: &str, queue: usize) -> (process::Sim, PathBuf) {
    let inv = dir.join("kw.toml");
    let (sim, text) = process::sim(&["sim"], &inv, "1s");
    let text = format!(
        r#"{text}
[alerts]
alertmanager = [{{ url = "{am}" }}]

[traps]
listen = "127.0.0.1:{port}"
communities = ["env:KILOWATCH_TRAP_COMMUNITY"]
queue = {queue}
"#
    );
    std::fs::write(&inv, text).unwrap();
    (sim, inv)
}

/// Waits for the collector to log that its trap listener is up.
fn wait_for_listener(log: &Path) {
    let t0 = Instant::now();
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains("trap listener started")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no trap listener:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A UPS-MIB on-battery trap is a firing alert at Alertmanager within a second; the alarm
/// removed trap that ends it resolves it.
#[test]
fn an_on_battery_trap_is_firing_at_alertmanager_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let am_hook = Hook::start();
    let am = Alertmanager::start(&am_hook.url());
    let port = free_port();
    let (_sim, inv) = traps_site(dir.path(), port, &am.url(), 1000);
    let log = dir.path().join("collect.log");
    let collector = Collector::start(&inv, &log);
    wait_for_listener(&log);
    snmptrap(
        port,
        &[
            UPS_ON_BATTERY,
            "1.3.6.1.2.1.33.1.2.2.0",
            "i",
            "42",
            "1.3.6.1.2.1.33.1.2.3.0",
            "i",
            "17",
        ],
    );
    let sent = Instant::now();
    let alert = loop {
        if let Some(a) = am
            .alerts()
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "ups_on_battery")
        {
            break a;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "no alert:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "trap to Alertmanager took {took:?}"
    );
    assert_eq!(alert["labels"]["source"], "snmp-trap");
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("42") && summary.contains("17"),
        "summary: {summary}"
    );
    // upsTrapAlarmEntryRemoved with upsAlarmDescr = upsAlarmOnBattery ends it.
    snmptrap(
        port,
        &[
            UPS_ALARM_REMOVED,
            "1.3.6.1.2.1.33.1.6.2.1.2.1",
            "o",
            "1.3.6.1.2.1.33.1.6.3.2",
        ],
    );
    let t0 = Instant::now();
    while am
        .alerts()
        .iter()
        .any(|a| a["labels"]["alertname"] == "ups_on_battery")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "not resolved: {:?}",
            am.alerts()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = collector.stop();
    let conn = rusqlite::Connection::open(dir.path().join("kilowatch.db")).unwrap();
    let effects: Vec<String> = conn
        .prepare("SELECT effect FROM trap_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        effects,
        ["raise ups_on_battery", "clear ups_on_battery"],
        "{log}"
    );
}

/// One v2c trap datagram as `snmptrap` encodes it, caught on a socket of our own.
fn captured_trap(trap_oid: &str) -> Vec<u8> {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    snmptrap(
        sock.local_addr().unwrap().port(),
        &[trap_oid, "1.3.6.1.2.1.1.5.0", "s", "storm"],
    );
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).unwrap();
    buf[..n].to_vec()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 10,000 traps in 10 s, into a queue of 10,000: every one is counted, stored in the trap log
/// and shown, none dropped; the collector's memory stays bounded. Unknown traps are kept.
#[test]
fn a_storm_of_ten_thousand_traps_is_counted_and_kept_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let am_hook = Hook::start();
    let am = Alertmanager::start(&am_hook.url());
    let port = free_port();
    let (_sim, inv) = traps_site(dir.path(), port, &am.url(), 10_000);
    let log = dir.path().join("collect.log");
    let collector = Collector::start(&inv, &log);
    wait_for_listener(&log);
    // An enterprise trap no map knows: kept as unknown, never dropped.
    let datagram = captured_trap("1.3.6.1.4.1.99999.0.7");
    let before = rss_kb(collector.pid());
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let t0 = Instant::now();
    let mut peak = before;
    for i in 0..10_000u32 {
        // 1,000 per second, in bursts of 100.
        if i % 100 == 0 {
            let due = Duration::from_millis(u64::from(i));
            std::thread::sleep(due.saturating_sub(t0.elapsed()));
            peak = peak.max(rss_kb(collector.pid()));
        }
        sock.send_to(&datagram, ("127.0.0.1", port)).unwrap();
    }
    let count = || {
        rusqlite::Connection::open(dir.path().join("kilowatch.db"))
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM trap_log WHERE effect='unknown'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
    };
    let t1 = Instant::now();
    while count() < 10_000 && t1.elapsed() < Duration::from_secs(20) {
        peak = peak.max(rss_kb(collector.pid()));
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = collector.stop();
    assert_eq!(count(), 10_000, "traps stored:\n{log}");
    let counts = log
        .lines()
        .rfind(|l| l.contains("trap listener counts"))
        .unwrap_or_default();
    for want in ["received=10000", "decoded=10000", "dropped=0"] {
        assert!(counts.contains(want), "{want} in: {counts}");
    }
    assert!(
        peak < before + 64 * 1024,
        "RSS grew from {before} kB to {peak} kB under the storm"
    );
}
