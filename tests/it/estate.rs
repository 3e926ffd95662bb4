//! Issue 21: the estate. Collectors listed as peers split a site by rendezvous hashing, a
//! collector can be given one site of an estate inventory, and `kilowatch fleet` names a killed
//! collector silent within two heartbeats.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kilowatch_store::{SqliteStore, StatusStore};

use crate::common::process::{self, BIN};

/// A `kilowatch collect` killed when dropped.
struct Collect(Child);

impl Drop for Collect {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Collect {
    fn stop(mut self) {
        process::kill(self.0.id(), "TERM");
        let status = self.0.wait().unwrap();
        assert!(status.success(), "collect exited with {status}");
    }
}

/// `collect --config INV --data DATA ARGS` as collector `name`, with `peers` (TOML array) if any.
fn collect(inv: &Path, data: &Path, name: &str, peers: Option<&str>, args: &[&str]) -> Collect {
    let mut cmd = Command::new(BIN);
    cmd.args(["collect", "--config"])
        .arg(inv)
        .arg("--data")
        .arg(data)
        .args(args)
        .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
        .env("KILOWATCH_COLLECTOR__NAME", name)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(p) = peers {
        cmd.env("KILOWATCH_COLLECTOR__PEERS", p);
    }
    Collect(cmd.spawn().unwrap())
}

/// Runs `kilowatch ARGS` (the sim's community set, for commands that load its inventory) and
/// returns its stdout; a failure shows its stderr.
fn kw(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(BIN)
        .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kilowatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `args` as the `&OsStr`s [`kw`] takes.
macro_rules! os {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($a)),*] };
}

/// The devices a collector's store has polled (its heartbeat's own `kilowatch` aside).
fn polled(data: &Path) -> BTreeSet<String> {
    let store = SqliteStore::open(&data.join("kilowatch.db")).unwrap();
    store
        .device_status()
        .unwrap()
        .into_iter()
        .map(|d| d.device)
        .filter(|d| d != "kilowatch")
        .collect()
}

/// Device ids of `site` in the inventory text.
fn devices_of(text: &str, site: &str) -> BTreeSet<String> {
    let doc: toml::Table = toml::from_str(text).unwrap();
    doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["site"].as_str() == Some(site))
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Two sites in one estate inventory. `--site dc02` polls only dc02. On dc01, peers a and b
/// split the devices so each is polled by exactly one; with a third peer c added, a and b each
/// keep a subset of what they had (only c's share moved, and only to c) and the three still
/// cover every device once.
#[test]
fn peers_split_a_site_and_a_new_peer_takes_only_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("estate.toml");
    let (_sim, text) = process::sim(&["sim", "--estate", "2"], &inv, "1s");
    let dc01 = devices_of(&text, "dc01");
    let dc02 = devices_of(&text, "dc02");
    assert!(dc01.len() >= 10 && !dc02.is_empty(), "{dc01:?} {dc02:?}");

    let d = |n: &str| dir.path().join(n);
    let two = Some(r#"["a", "b"]"#);
    let three = Some(r#"["a", "b", "c"]"#);
    let site1 = ["--site", "dc01"];
    let running = vec![
        collect(&inv, &d("a2"), "a", two, &site1),
        collect(&inv, &d("b2"), "b", two, &site1),
        collect(&inv, &d("a3"), "a", three, &site1),
        collect(&inv, &d("b3"), "b", three, &site1),
        collect(&inv, &d("c3"), "c", three, &site1),
        collect(&inv, &d("only2"), "solo", None, &["--site", "dc02"]),
    ];
    std::thread::sleep(Duration::from_secs(8));
    running.into_iter().for_each(Collect::stop);

    assert_eq!(
        polled(&d("only2")),
        dc02,
        "--site dc02 polls dc02, all of it"
    );
    let (a2, b2) = (polled(&d("a2")), polled(&d("b2")));
    assert!(!a2.is_empty() && !b2.is_empty(), "{a2:?} {b2:?}");
    assert!(a2.is_disjoint(&b2), "a device polled twice: {a2:?} {b2:?}");
    assert_eq!(&a2 | &b2, dc01, "two peers cover the site");

    let (a3, b3, c3) = (polled(&d("a3")), polled(&d("b3")), polled(&d("c3")));
    assert!(
        a3.is_subset(&a2) && b3.is_subset(&b2),
        "a device moved between a and b"
    );
    assert_eq!(&(&a3 | &b3) | &c3, dc01, "three peers cover the site");
    assert!(a3.is_disjoint(&c3) && b3.is_disjoint(&c3) && a3.is_disjoint(&b3));
    assert_eq!(
        &(&a2 - &a3) | &(&b2 - &b3),
        c3,
        "c took exactly what a and b gave up"
    );
}

fn fleet(data: &Path) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(BIN)
        .args(["fleet", "--check", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fleet printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

/// A collector's heartbeat (every interval, 1 s here) carries its devices up and polled; once
/// it is killed, `fleet` calls it silent within two heartbeats and `--check` exits 1.
#[test]
fn fleet_shows_a_killed_collector_silent_within_two_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("kw.toml");
    let (_sim, text) = process::sim(&["sim"], &inv, "1s");
    let devices = devices_of(&text, "sim");
    let data = dir.path().join("data");
    let c = collect(&inv, &data, "dc-sim-1", None, &[]);
    std::thread::sleep(Duration::from_secs(5));

    let (code, json) = fleet(&data);
    assert_eq!(code, Some(0), "{json}");
    let row = &json[0];
    assert_eq!(row["collector"], "dc-sim-1", "{json}");
    assert_eq!(row["state"], "ok", "{json}");
    assert_eq!(row["sites"], "sim");
    assert_eq!(row["heartbeat_s"], 1.0);
    assert_eq!(row["devices_total"], devices.len() as f64, "{json}");
    assert_eq!(row["devices_up"], devices.len() as f64, "{json}");
    assert!(row["heartbeat_age_s"].as_f64().unwrap() <= 1.5, "{json}");

    process::kill(c.0.id(), "KILL");
    drop(c);
    // Two heartbeats and a half after the kill: the last one was at most at the kill.
    std::thread::sleep(Duration::from_millis(2500));
    let (code, json) = fleet(&data);
    assert_eq!(json[0]["state"], "silent", "{json}");
    assert_eq!(code, Some(1), "--check exits 1 with a silent collector");
}

#[cfg(feature = "peers")]
mod central {
    //! The same against a real VictoriaMetrics: a collector pair on one site, and a killed
    //! collector seen from the central engine by `fleet` and by vmalert through Alertmanager.

    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use std::ffi::OsStr;

    use super::{collect, devices_of, kw, process};
    use crate::common::alertmanager::{Alertmanager, Hook};
    use crate::common::victoria::Victoria;

    fn now_ms() -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }

    fn rfc3339(ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
    }

    fn fleet_central(vm: &Victoria) -> serde_json::Value {
        serde_json::from_slice(&kw(os!["fleet", "--json", "--source", &vm.url()])).unwrap()
    }

    /// `kilowatch pue --json` over `[from, to)` from `source` args; the one site's report.
    fn pue(inv: &Path, source: &[&str], from: i64, to: i64) -> serde_json::Value {
        pue_all(inv, source, from, to)[0].clone()
    }

    /// `kilowatch pue --json` over `[from, to)`: every site's report.
    fn pue_all(inv: &Path, source: &[&str], from: i64, to: i64) -> serde_json::Value {
        let (from, to) = (rfc3339(from), rfc3339(to));
        let mut args: Vec<&OsStr> = os!["pue", "--json", "--config", inv].to_vec();
        args.extend(source.iter().map(OsStr::new));
        args.extend(os!["--from", &from, "--to", &to]);
        serde_json::from_slice(&kw(&args)).unwrap()
    }

    /// Two collectors poll one site into one VictoriaMetrics (deduplicating at the poll
    /// interval) for a simulated hour: the simulator and both collectors run on one clock at
    /// 60x (`--speed-epoch`), a poll every simulated minute. Member a is killed for five
    /// simulated minutes and comes back. Central E_DC keeps ≥ 99 % coverage over the hour and
    /// equals what b alone measured (not doubled), a's own store shows the hole, and
    /// VictoriaMetrics keeps about one sample a minute, not two.
    #[test]
    fn a_pair_keeps_coverage_whole_and_energy_single_when_one_member_dies() {
        const SPEED: f64 = 60.0;
        // Queries for the last 30 s are answered as of 30 s ago by default: not for this count.
        let vm =
            Victoria::start_with(&["-dedup.minScrapeInterval=60s", "-search.latencyOffset=1s"]);
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("kw.toml");
        let epoch = now_ms();
        let shared = ["--speed", "60", "--speed-epoch", &rfc3339(epoch)];
        let sim_now = || epoch + ((now_ms() - epoch) as f64 * SPEED) as i64;
        let (_sim, _) = process::sim(&[&["sim"][..], &shared].concat(), &inv, "1s");
        let url = vm.url();
        let central = [&["--influx", &url][..], &shared].concat();
        let (da, db) = (dir.path().join("a"), dir.path().join("b"));
        let a = collect(&inv, &da, "pair-a", None, &central);
        let b = collect(&inv, &db, "pair-b", None, &central);
        std::thread::sleep(Duration::from_secs(4));
        let from = sim_now();
        std::thread::sleep(Duration::from_secs(25));
        process::kill(a.0.id(), "KILL");
        drop(a);
        let killed = sim_now();
        std::thread::sleep(Duration::from_secs(5));
        let a = collect(&inv, &da, "pair-a", None, &central);
        let back = sim_now();
        std::thread::sleep(Duration::from_secs(30));
        let to = sim_now();
        assert!(to - from >= 3_540_000, "an hour: {} s", (to - from) / 1000);
        std::thread::sleep(Duration::from_secs(2));
        a.stop();
        b.stop();
        vm.flush();

        let both = pue(&inv, &["--source", &vm.url()], from, to);
        let only_b = pue(&inv, &["--data", db.to_str().unwrap()], from, to);
        let only_a = pue(&inv, &["--data", da.to_str().unwrap()], from, to);
        let cov = |r: &serde_json::Value| r["facility"]["coverage"].as_f64().unwrap();
        let kwh = |r: &serde_json::Value| r["facility"]["kwh"].as_f64().unwrap();
        assert!(cov(&both) >= 0.99, "central coverage {}", cov(&both));
        let ratio = kwh(&both) / kwh(&only_b);
        assert!(
            (ratio - 1.0).abs() < 0.005,
            "central E_DC {} kWh vs b's own {} kWh",
            kwh(&both),
            kwh(&only_b)
        );
        // a was dead for (back - killed) of the window: its own store has that hole (its E_DC
        // still covers it, from the meter's energy counter, exact across gaps).
        let dead = (back - killed) as f64 / (to - from) as f64;
        let (f, t) = (rfc3339(from), rfc3339(to));
        let polls = |data: &Path| {
            let csv = kw(os![
                "store",
                "export",
                "--field",
                "active_power_w",
                "--tag",
                "role=facility",
                "--data",
                data,
                "--from",
                &f,
                "--to",
                &t
            ]);
            String::from_utf8_lossy(&csv).lines().skip(1).count() as f64
        };
        let (pa, pb) = (polls(&da), polls(&db));
        assert!(
            pa < pb * (1.0 - dead * 0.7),
            "a polled {pa} times, b {pb}, though a was dead for {dead:.2} of the window"
        );
        assert!(cov(&only_a) > 0.0);

        // VictoriaMetrics' dedup: one sample per simulated minute where both members sent one.
        let q = format!(
            "{}/api/v1/query?query=count_over_time(power_active_power_w{{role=\"facility\"}}[{}s])&time={}",
            vm.http(),
            (to - from) / 1000,
            to as f64 / 1000.0
        );
        let answer: serde_json::Value =
            serde_json::from_str(&reqwest::blocking::get(q).unwrap().text().unwrap()).unwrap();
        let count: f64 = answer["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .parse()
            .unwrap();
        let minutes = (to - from) as f64 / 60_000.0;
        assert!(
            count <= minutes * 1.15,
            "{count} samples in {minutes} simulated minutes: not deduplicated"
        );
        assert!(
            count >= minutes * 0.9,
            "{count} samples in {minutes} minutes"
        );
    }

    /// An estate of three simulated sites, a collector per site (`--site`), all writing to one
    /// VictoriaMetrics: `pue` over the central engine gives every site the PUE and energies of
    /// that site's own store (within 0.01 %), and the consolidation report's per-site PUE (the
    /// one its cross-site moves use) is the same central figure.
    #[test]
    fn estate_figures_from_victoriametrics_equal_each_sites_own_store() {
        let vm = Victoria::start();
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("estate.toml");
        let (_sim, _) = process::sim(&["sim", "--estate", "3"], &inv, "1s");
        let sites = ["dc01", "dc02", "dc03"];
        let data = |s: &str| dir.path().join(s);
        let running: Vec<_> = sites
            .iter()
            .map(|s| {
                collect(
                    &inv,
                    &data(s),
                    &format!("{s}-collector"),
                    None,
                    &["--site", s, "--influx", &vm.url()],
                )
            })
            .collect();
        std::thread::sleep(Duration::from_secs(5));
        let from = now_ms();
        std::thread::sleep(Duration::from_secs(25));
        let to = now_ms();
        std::thread::sleep(Duration::from_secs(2));
        running.into_iter().for_each(super::Collect::stop);
        vm.flush();

        let central = pue_all(&inv, &["--source", &vm.url()], from, to);
        let reports = central.as_array().unwrap();
        assert_eq!(reports.len(), 3, "{central}");
        let mut pue3 = std::collections::BTreeMap::new();
        for (i, site) in sites.iter().enumerate() {
            let c = &reports[i];
            assert_eq!(c["site"], *site);
            let own_all = pue_all(&inv, &["--data", data(site).to_str().unwrap()], from, to);
            let own_site = &own_all[i];
            assert_eq!(own_site["site"], *site, "{own_all}");
            let close = |what: &str, a: f64, b: f64| {
                assert!(
                    ((a - b) / b).abs() < 1e-4,
                    "{site} {what}: central {a} vs its own store {b}"
                );
            };
            let kwh = |r: &serde_json::Value| r["facility"]["kwh"].as_f64().unwrap();
            close("E_DC", kwh(c), kwh(own_site));
            let cats = c["pue"].as_object().unwrap();
            assert!(!cats.is_empty(), "{site}: no PUE centrally: {c}");
            for (cat, v) in cats {
                let a = v["pue"].as_f64().unwrap_or_else(|| panic!("{site}: {v}"));
                let b = own_site["pue"][cat]["pue"].as_f64().unwrap();
                close(&format!("PUE{cat}"), a, b);
                pue3.insert((site.to_string(), cat.clone()), a);
            }
        }

        let (f, t) = (rfc3339(from), rfc3339(to));
        let cons = kw(os![
            "report",
            "consolidation",
            "--format",
            "json",
            "--config",
            &inv,
            "--source",
            &vm.url(),
            "--from",
            &f,
            "--to",
            &t
        ]);
        let cons: serde_json::Value = serde_json::from_slice(&cons).unwrap();
        for plan in cons["sites"].as_array().unwrap() {
            let site = plan["site"].as_str().unwrap().to_owned();
            let cat = plan["pue_category"].to_string();
            let used = plan["pue_used"]
                .as_f64()
                .unwrap_or_else(|| panic!("{plan}"));
            let want = pue3[&(site.clone(), cat)];
            assert!(
                ((used - want) / want).abs() < 1e-9,
                "{site}: the plan uses PUE {used}, the central measurement is {want}"
            );
        }
        assert_eq!(cons["sites"].as_array().unwrap().len(), 3, "{cons}");
    }

    /// A collector forwarding to VictoriaMetrics shows `ok` in `fleet --source vm://`, and
    /// once killed, `silent` within two heartbeats; vmalert with the shipped rules
    /// (dashboards/vmalert/kilowatch-fleet.yml) fires KilowatchCollectorSilent to Alertmanager.
    #[test]
    fn a_killed_collector_is_silent_in_fleet_and_alerted_by_vmalert() {
        // VictoriaMetrics evaluates queries for "now" 30 s in the past by default
        // (-search.latencyOffset), which would delay vmalert's view by as much.
        let vm = Victoria::start_with(&["-search.latencyOffset=1s"]);
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("kw.toml");
        let (_sim, text) = process::sim(&["sim"], &inv, "1s");
        let n = devices_of(&text, "sim").len() as f64;
        let c = collect(
            &inv,
            &dir.path().join("data"),
            "dc-sim-7",
            None,
            &["--influx", &vm.url()],
        );
        std::thread::sleep(Duration::from_secs(6));
        let json = fleet_central(&vm);
        let row = &json[0];
        assert_eq!(row["collector"], "dc-sim-7", "{json}");
        assert_eq!(row["state"], "ok", "{json}");
        assert_eq!(row["devices_total"], n, "{json}");
        assert_eq!(row["devices_up"], n, "{json}");
        assert!(row["last_write_age_s"].as_f64().unwrap() < 3.0, "{json}");
        assert!(row["outbox_points"].as_f64().is_some(), "{json}");

        let hook = Hook::start();
        let am = Alertmanager::start(&hook.url());
        let vmalert_bin = Path::new(&crate::common::influxd::env("KILOWATCH_TEST_VICTORIA"))
            .with_file_name("vmalert");
        let rules =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards/vmalert/kilowatch-fleet.yml");
        let port = crate::common::influxd::free_port();
        // Killed on drop (a failed assertion too), like the collectors.
        let vmalert = super::Collect(
            Command::new(vmalert_bin)
                .arg(format!("-datasource.url={}", vm.http()))
                .arg(format!("-notifier.url={}", am.url()))
                .arg(format!("-rule={}", rules.display()))
                .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .arg("-evaluationInterval=1s")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("vmalert.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let vmalert_log =
            || std::fs::read_to_string(dir.path().join("vmalert.log")).unwrap_or_default();

        process::kill(c.0.id(), "KILL");
        drop(c);
        let killed = Instant::now();
        std::thread::sleep(Duration::from_millis(2500));
        let json = fleet_central(&vm);
        assert_eq!(json[0]["state"], "silent", "{json}");

        let fired = loop {
            let alerts = am.alerts();
            if let Some(a) = alerts
                .iter()
                .find(|a| a["labels"]["alertname"] == "KilowatchCollectorSilent")
            {
                break a.clone();
            }
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "no KilowatchCollectorSilent in Alertmanager: {alerts:?}\n{}",
                vmalert_log()
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        drop(vmalert);
        assert_eq!(fired["labels"]["collector"], "dc-sim-7", "{fired}");
        assert_eq!(fired["labels"]["sites"], "sim", "{fired}");
        assert_eq!(fired["labels"]["severity"], "critical", "{fired}");
    }
}
