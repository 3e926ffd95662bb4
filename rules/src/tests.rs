//! The engine on polls built by hand, with its changes written to and read back from a real
//! embedded store, as the collector's alerting task does.

use std::sync::Arc;

use kilowatch_core::config::Config;
use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use kilowatch_store::{AlertChanges, SqliteStore};

use crate::eval::Engine;
use crate::notify::{Note, Status};

const SITE: &str = r#"
[[sites]]
id = "hk1"
[[sites.rooms]]
id = "hall"
[[sites.rooms.racks]]
id = "r01"
power_budget_w = 5000

[[devices]]
id = "main"
site = "hk1"
profile = "eastron-sdm630"
address = "modbus://127.0.0.1:1/1"
role = "facility"

[[devices]]
id = "pdu-a"
site = "hk1"
room = "hall"
rack = "r01"
profile = "eastron-sdm630"
address = "modbus://127.0.0.1:1/2"
role = "it"
category = 3
breaker_a = 16

[[devices]]
id = "pdu-b"
site = "hk1"
room = "hall"
rack = "r01"
profile = "eastron-sdm630"
address = "modbus://127.0.0.1:1/3"
role = "it"
category = 3
breaker_a = 32

[alerts]
rule_sets = ["breaker-80", "rack-budget"]
alertmanager = [{ url = "http://127.0.0.1:9" }]
webhook = [{ url = "http://127.0.0.1:9/hook" }]
"#;

fn config(rules: &str) -> Config {
    let dir = std::path::Path::new(".");
    Config::from_str(
        &format!("{SITE}\n{rules}"),
        "test.toml",
        dir,
        std::iter::empty(),
    )
    .unwrap_or_else(|p| panic!("{p:#?}"))
}

/// The test site with only these built-in rule sets (a TOML array).
fn with_rule_sets(sets: &str) -> Config {
    let site = SITE.replace(
        r#"rule_sets = ["breaker-80", "rack-budget"]"#,
        &format!("rule_sets = {sets}"),
    );
    Config::from_str(
        &site,
        "test.toml",
        std::path::Path::new("."),
        std::iter::empty(),
    )
    .unwrap_or_else(|p| panic!("{p:#?}"))
}

fn engine(c: &Config) -> Engine {
    Engine::new(c, vec!["am".into(), "hook".into()])
}

fn series(device: &str, m: Measurement, point: Option<&str>) -> Arc<Series> {
    let mut tags = vec![("site", "hk1".to_owned()), ("device", device.to_owned())];
    if let Some(p) = point {
        tags.push(("point", p.to_owned()));
    }
    Arc::new(Series::new(m, tags))
}

fn poll(device: &str, at: i64, samples: Vec<(Arc<Series>, Field, f64)>) -> Batch {
    Batch {
        device: Arc::from(device),
        at,
        samples: samples
            .into_iter()
            .map(|(series, field, value)| Sample {
                series,
                field,
                value,
            })
            .collect(),
        poll: PollStatus::Ok,
        poll_ms: 1.0,
    }
}

fn notes(ch: &AlertChanges, queue: &str) -> Vec<Note> {
    ch.outbox
        .iter()
        .filter(|(q, _)| q == queue)
        .map(|(_, n)| serde_json::from_str(n).unwrap())
        .collect()
}

const LOAD: &str = r#"
[[rules]]
name = "load_high"
kind = "threshold"
field = "load_pct"
above = 80
clear = 75
for = "30s"
severity = "critical"
summary = "{device} at {value} %, over {limit} %"
"#;

/// Pending for `for`, then firing once with the value and labels; inside the hysteresis band
/// it keeps firing; below `clear` it resolves once. Each receiver gets each change.
#[test]
fn a_threshold_waits_for_its_duration_and_clears_past_its_hysteresis() {
    let c = config(LOAD);
    let mut e = engine(&c);
    let s = series("pdu-a", Measurement::Ups, None);
    let mut ch = AlertChanges::default();
    let mut at = 0;
    let mut step = |e: &mut Engine, v: f64, ch: &mut AlertChanges| {
        at += 10_000;
        e.on_batch(&poll("pdu-a", at, vec![(s.clone(), Field::LoadPct, v)]), ch);
    };
    step(&mut e, 79.0, &mut ch);
    step(&mut e, 85.0, &mut ch); // t=20 s: pending
    step(&mut e, 86.0, &mut ch); // t=30 s: 10 s of 30
    assert!(ch.outbox.is_empty(), "fired before its 'for': {ch:?}");
    step(&mut e, 87.5, &mut ch); // t=40 s: still 20 s
    step(&mut e, 88.0, &mut ch); // t=50 s: 30 s held
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{ch:?}");
    assert_eq!(notes(&ch, "hook").len(), 1);
    let n = &fired[0];
    assert_eq!(n.status, Status::Firing);
    assert_eq!(n.starts_at, 20_000, "since the condition began");
    assert_eq!(n.labels["alertname"], "load_high");
    assert_eq!(n.labels["severity"], "critical");
    assert_eq!(n.labels["rack"], "r01");
    assert_eq!(n.annotations["summary"], "pdu-a at 88 %, over 80 %");
    ch = AlertChanges::default();
    step(&mut e, 78.0, &mut ch); // between clear (75) and limit (80): still firing
    step(&mut e, 90.0, &mut ch);
    assert!(ch.outbox.is_empty(), "{ch:?}");
    step(&mut e, 74.0, &mut ch);
    let resolved = notes(&ch, "am");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].status, Status::Resolved);
    assert_eq!(resolved[0].ends_at, Some(80_000));
    step(&mut e, 74.0, &mut ch);
    assert_eq!(notes(&ch, "am").len(), 1, "resolved once only");
}

/// A firing alert survives a restart through the store: the new engine does not notify it
/// again while it holds, and resolves it once when it ends.
#[test]
fn a_restart_restores_firing_alerts_without_notifying_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
    let c = config(LOAD);
    let s = series("pdu-a", Measurement::Ups, None);
    let feed = |e: &mut Engine, at: i64, v: f64| {
        let mut ch = AlertChanges::default();
        e.on_batch(
            &poll("pdu-a", at, vec![(s.clone(), Field::LoadPct, v)]),
            &mut ch,
        );
        store.apply_alert_changes(&ch).unwrap();
        ch
    };
    let mut first = engine(&c);
    feed(&mut first, 0, 90.0);
    assert_eq!(notes(&feed(&mut first, 30_000, 90.0), "am").len(), 1);
    drop(first);
    let rows = store.alert_states().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "firing");

    let mut second = engine(&c);
    let mut ch = AlertChanges::default();
    second.restore(rows, 40_000, &mut ch);
    assert!(ch.outbox.is_empty());
    assert_eq!(
        second.firing().count(),
        1,
        "restored alerts are renewed at Alertmanager"
    );
    assert!(
        feed(&mut second, 40_000, 91.0).outbox.is_empty(),
        "notified again"
    );
    let ch = feed(&mut second, 50_000, 70.0);
    let resolved = notes(&ch, "am");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].status, Status::Resolved);
    assert_eq!(
        resolved[0].starts_at, 0,
        "the original start survives the restart"
    );
    assert!(store.alert_states().unwrap().is_empty());
    let log = store.alert_log(0, i64::MAX).unwrap();
    let statuses: Vec<&str> = log.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["firing", "resolved"]);
}

/// breaker-80 takes each PDU's own breaker from the inventory: 13 A is over 80 % of 16 A but
/// not of 32 A.
#[test]
fn breaker_rule_uses_each_devices_rating() {
    let c = config("");
    let mut e = engine(&c);
    let mut ch = AlertChanges::default();
    for (d, at) in [
        ("pdu-a", 0),
        ("pdu-b", 0),
        ("pdu-a", 61_000),
        ("pdu-b", 61_000),
    ] {
        let s = series(d, Measurement::Power, Some("phase1"));
        e.on_batch(&poll(d, at, vec![(s, Field::CurrentA, 13.0)]), &mut ch);
    }
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].labels["device"], "pdu-a");
    assert_eq!(fired[0].labels["point"], "phase1");
    assert_eq!(fired[0].annotations["limit"], "12.8");
}

/// rack-budget sums the rack's devices' total power (not their outlets) against its budget.
#[test]
fn rack_budget_sums_the_racks_devices() {
    let c = config("");
    let mut e = engine(&c);
    let mut ch = AlertChanges::default();
    for at in [0, 61_000] {
        for (d, w) in [("pdu-a", 2_600.0), ("pdu-b", 2_600.0)] {
            let total = series(d, Measurement::Power, None);
            let outlet = series(d, Measurement::Power, Some("outlet1"));
            let samples = vec![
                (total, Field::ActivePowerW, w),
                (outlet, Field::ActivePowerW, 9_000.0),
            ];
            e.on_batch(&poll(d, at, samples), &mut ch);
        }
    }
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].labels["alertname"], "rack_over_budget");
    assert_eq!(fired[0].labels["rack"], "r01");
    assert_eq!(fired[0].annotations["value"], "5200");
    assert_eq!(fired[0].annotations["limit"], "5000");
}

/// A rate rule fires on a fast rise; an absence rule fires when a series stops and resolves
/// when it is back; a down rule names the poll's error.
#[test]
fn rate_absence_and_down_rules() {
    let c = config(
        r#"
[[rules]]
name = "heating_fast"
kind = "rate"
field = "temperature_c"
rise = 2.0
per = "1m"

[[rules]]
name = "no_temperature"
kind = "absent"
field = "temperature_c"
after = "1m"

[[rules]]
name = "pdu_down"
kind = "down"
scope = { device = "pdu-b" }
"#,
    );
    let mut e = engine(&c);
    let s = series("pdu-a", Measurement::Environment, Some("inlet"));
    let mut ch = AlertChanges::default();
    for (at, v) in [(0, 22.0), (60_000, 23.0), (120_000, 26.0)] {
        e.on_batch(
            &poll("pdu-a", at, vec![(s.clone(), Field::TemperatureC, v)]),
            &mut ch,
        );
    }
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].labels["alertname"], "heating_fast");
    assert_eq!(fired[0].annotations["value"], "3");

    ch = AlertChanges::default();
    e.tick(150_000, &mut ch);
    assert!(ch.outbox.is_empty(), "absent too early");
    e.tick(190_000, &mut ch);
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].labels["alertname"], "no_temperature");
    e.on_batch(
        &poll(
            "pdu-a",
            200_000,
            vec![(s.clone(), Field::TemperatureC, 26.0)],
        ),
        &mut ch,
    );
    assert_eq!(notes(&ch, "am").last().unwrap().status, Status::Resolved);

    ch = AlertChanges::default();
    let mut down = poll("pdu-b", 10, Vec::new());
    down.poll = PollStatus::Failed("timed out after 2s".into());
    e.on_batch(&down, &mut ch);
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].labels["device"], "pdu-b");
    assert!(
        fired[0].annotations["summary"].contains("timed out after 2s"),
        "{fired:?}"
    );
}

/// PUE drift: the site's PUE over the window (facility 3,400 W over IT 2,000 W: 1.7) is more
/// than 10 % over its 1.5 baseline; back at 1.5 for a window, it resolves.
#[test]
fn pue_drift_compares_the_windows_pue_with_the_sites_baseline() {
    let c = config(
        r#"
[[rules]]
name = "pue_drift"
kind = "pue_drift"
baseline = 1.5
tolerance_pct = 10
window = "1m"
scope = { site = "hk1" }
"#,
    );
    let mut e = engine(&c);
    let mut ch = AlertChanges::default();
    let feed = |e: &mut Engine, at: i64, facility: f64, ch: &mut AlertChanges| {
        for (d, w) in [("pdu-a", 1_000.0), ("pdu-b", 1_000.0), ("main", facility)] {
            let total = series(d, Measurement::Power, None);
            e.on_batch(&poll(d, at, vec![(total, Field::ActivePowerW, w)]), ch);
        }
    };
    for at in (0..=40_000).step_by(10_000) {
        feed(&mut e, at, 3_400.0, &mut ch);
    }
    assert!(
        ch.outbox.is_empty(),
        "judged before the window was covered: {ch:?}"
    );
    feed(&mut e, 50_000, 3_400.0, &mut ch);
    let fired = notes(&ch, "am");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].labels["site"], "hk1");
    assert_eq!(fired[0].annotations["value"], "1.7");
    assert_eq!(fired[0].annotations["limit"], "1.65");
    for at in (60_000..=130_000).step_by(10_000) {
        feed(&mut e, at, 3_000.0, &mut ch);
    }
    assert_eq!(notes(&ch, "am").last().unwrap().status, Status::Resolved);
}

/// A reload builds new plans, so the same series arrives under a new `Arc`: it is the same
/// subject (no second notification), and a partial poll that shifts samples loses nothing.
#[test]
fn a_series_under_a_new_arc_or_at_a_new_place_is_the_same_subject() {
    let c = config(LOAD);
    let mut e = engine(&c);
    let mut ch = AlertChanges::default();
    let load = series("pdu-a", Measurement::Ups, None);
    let other = series("pdu-a", Measurement::Ups, Some("bypass"));
    e.on_batch(
        &poll("pdu-a", 0, vec![(load.clone(), Field::LoadPct, 90.0)]),
        &mut ch,
    );
    e.on_batch(
        &poll("pdu-a", 30_000, vec![(load, Field::LoadPct, 90.0)]),
        &mut ch,
    );
    assert_eq!(notes(&ch, "am").len(), 1);
    // New plans: an equal series, a new allocation, first in the poll behind another one.
    let reloaded = series("pdu-a", Measurement::Ups, None);
    let samples = vec![
        (other.clone(), Field::LoadPct, 10.0),
        (reloaded.clone(), Field::LoadPct, 91.0),
    ];
    e.on_batch(&poll("pdu-a", 40_000, samples), &mut ch);
    assert_eq!(
        notes(&ch, "am").len(),
        1,
        "notified again after a reload: {ch:?}"
    );
    e.on_batch(
        &poll("pdu-a", 50_000, vec![(reloaded, Field::LoadPct, 70.0)]),
        &mut ch,
    );
    let all = notes(&ch, "am");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].status, Status::Resolved);
    assert_eq!(all[1].starts_at, 0);
}

/// The ASHRAE set holds rack-inlet air to the inlet ranges and nothing else: a 60 °C board
/// temperature of unknown place never fires an inlet alert, a 33 °C inlet fires both.
#[test]
fn ashrae_rules_watch_inlet_air_only() {
    let c = with_rule_sets(r#"["ashrae-a1"]"#);
    let mut e = engine(&c);
    let inlet = series("pdu-a", Measurement::Environment, Some("inlet"));
    let board = series("pdu-b", Measurement::Environment, Some("board"));
    let mut ch = AlertChanges::default();
    for k in 0..=6 {
        let at = k * 60_000;
        let a = vec![(inlet.clone(), Field::InletTempC, 33.0)];
        e.on_batch(&poll("pdu-a", at, a), &mut ch);
        let b = vec![(board.clone(), Field::TemperatureC, 60.0)];
        e.on_batch(&poll("pdu-b", at, b), &mut ch);
    }
    let mut fired: Vec<(String, String)> = notes(&ch, "am")
        .iter()
        .map(|n| (n.labels["alertname"].clone(), n.labels["device"].clone()))
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            ("inlet_above_recommended".to_owned(), "pdu-a".to_owned()),
            ("inlet_outside_a1".to_owned(), "pdu-a".to_owned()),
        ]
    );
}

/// The UPS set names a UPS whose own battery status (UPS-MIB, `status` at point `battery`) is
/// low or depleted; a normal battery, or a low code at another status point, is no alert.
#[test]
fn ups_rules_name_a_battery_the_ups_itself_reports_low() {
    let c = with_rule_sets(r#"["ups"]"#);
    let mut e = engine(&c);
    let battery = series("pdu-a", Measurement::Device, Some("battery"));
    let source = series("pdu-b", Measurement::Device, Some("output_source"));
    let mut ch = AlertChanges::default();
    let batch = |dev: &str, at: i64, s: &Arc<Series>, v: f64| {
        poll(dev, at, vec![(s.clone(), Field::Status, v)])
    };
    e.on_batch(&batch("pdu-a", 0, &battery, 2.0), &mut ch);
    e.on_batch(&batch("pdu-b", 0, &source, 3.0), &mut ch);
    assert!(notes(&ch, "am").is_empty(), "normal: no alert");
    e.on_batch(&batch("pdu-a", 60_000, &battery, 3.0), &mut ch);
    e.on_batch(&batch("pdu-b", 60_000, &source, 4.0), &mut ch);
    let fired: Vec<(String, String)> = notes(&ch, "am")
        .iter()
        .map(|n| (n.labels["alertname"].clone(), n.labels["device"].clone()))
        .collect();
    assert_eq!(
        fired,
        [("ups_battery_status_low".to_owned(), "pdu-a".to_owned())]
    );
}
