//! Issue 4: the InfluxDB sink and reader against real servers — InfluxDB 1.x (Debian's
//! `influxdb`) for `/write` and InfluxQL, VictoriaMetrics for `/api/v2/write`. Each test starts
//! its own server from the binaries `scripts/test` installs, because some stop and restart it.
#![cfg(feature = "peers")]

use crate::common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::influxd::{Influxd, blocking, env, free_port};
use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use kilowatch_sink::influx::line_protocol::{FieldValue, encode_point};
use kilowatch_sink::influx::sink::InfluxSink;
use kilowatch_sink::influx::target::InfluxTarget;
use kilowatch_sink::{Forwarder, Options as SinkOptions};
use kilowatch_store::{ReadStore, Selector, SqliteStore, TimeRange};
use tokio_util::sync::CancellationToken;

fn store(dir: &std::path::Path, cap: u64) -> Arc<SqliteStore> {
    let s = Arc::new(SqliteStore::open(&dir.join("kw.db")).unwrap());
    s.enable_outbox(cap);
    s
}

/// `n` polls of two devices with awkward tag values, one per second from `t0`.
fn batches(t0: i64, n: usize) -> Vec<Batch> {
    let a = Arc::new(Series::new(
        Measurement::Power,
        vec![
            ("site", "hk dc,1".into()),
            ("device", "pdu=a \"x\"".into()),
            ("rack", "räck 7".into()),
        ],
    ));
    let b = Arc::new(Series::new(
        Measurement::Environment,
        vec![("site", "hk dc,1".into()), ("device", "env\\1".into())],
    ));
    (0..n)
        .map(|i| Batch {
            device: Arc::from("d"),
            at: t0 + i as i64 * 1000,
            samples: vec![
                Sample {
                    series: a.clone(),
                    field: Field::ActivePowerW,
                    value: 1000.0 + i as f64 * 0.25,
                },
                Sample {
                    series: a.clone(),
                    field: Field::EnergyKwh,
                    value: 5000.0 + i as f64 / 3.0,
                },
                Sample {
                    series: b.clone(),
                    field: Field::TemperatureC,
                    value: 21.5 - i as f64 / 7.0,
                },
            ],
            poll: PollStatus::Ok,
            poll_ms: 1.0,
        })
        .collect()
}

/// Runs a sink until the outbox is empty (or `limit` passes).
async fn drain(store: &Arc<SqliteStore>, url: &str, limit: Duration) -> Arc<kilowatch_sink::Stats> {
    let target = InfluxTarget::parse(url, None, None).unwrap();
    let name = target.sink_name();
    let mut opts = SinkOptions::new(
        std::env::temp_dir().join(format!("kw-quarantine-{}.lp", std::process::id())),
    );
    opts.flush_interval = Duration::from_millis(100);
    opts.max_backoff = Duration::from_secs(2);
    let sink = Forwarder::new(InfluxSink::new(target).unwrap(), store.clone(), opts);
    let stats = sink.stats.clone();
    let cancel = CancellationToken::new();
    let run = tokio::spawn(sink.run(cancel.clone()));
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let s = store.outbox_stats(&name).unwrap();
        if s.rows == 0
            && stats
                .written_points
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    run.await.unwrap().unwrap();
    stats
}

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_reaches_influxdb_v1_with_exact_values_tags_and_times() {
    let influx = Influxd::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), 1 << 30);
    let written = batches(T0, 50);
    store.write(&written).unwrap();
    drain(&store, &influx.url(), Duration::from_secs(30)).await;

    blocking(|| check_v1(&influx, &written));
    // Aggregation windows are pushed down to InfluxDB and agree with the embedded store's.
    blocking(|| {
        use kilowatch_store::{Aggregate, Window};
        let reader = influx.reader();
        let sel = Selector::field(Field::ActivePowerW).tag("rack", "räck 7");
        let range = TimeRange {
            from: T0,
            to: T0 + 60_000,
        };
        for aggregate in [Aggregate::Mean, Aggregate::Max, Aggregate::Last] {
            let w = Some(Window {
                every_ms: 10_000,
                aggregate,
            });
            let remote = reader
                .read(&reader.find(&sel).unwrap()[0], range, w)
                .unwrap();
            let local = store.read(&store.find(&sel).unwrap()[0], range, w).unwrap();
            assert_eq!(remote.len(), 5, "{aggregate:?}: {remote:?}");
            for (r, l) in remote.iter().zip(&local) {
                assert_eq!(r.ts, l.ts, "{aggregate:?}");
                assert!(
                    (r.value - l.value).abs() < 1e-9,
                    "{aggregate:?}: {r:?} vs {l:?}"
                );
            }
        }
    });
    assert_eq!(influx.count(), 150);
}

fn check_v1(influx: &Influxd, written: &[Batch]) {
    let reader = influx.reader();
    let range = TimeRange {
        from: T0,
        to: T0 + 3_600_000,
    };
    for (field, tag, want_tags) in [
        (
            Field::ActivePowerW,
            ("rack", "räck 7"),
            vec![
                ("device", "pdu=a \"x\""),
                ("rack", "räck 7"),
                ("site", "hk dc,1"),
            ],
        ),
        (
            Field::TemperatureC,
            ("device", "env\\1"),
            vec![("device", "env\\1"), ("site", "hk dc,1")],
        ),
    ] {
        let found = reader
            .find(&Selector::field(field).tag(tag.0, tag.1))
            .unwrap();
        assert_eq!(found.len(), 1, "{field}: {found:?}");
        let got_tags: Vec<(&str, &str)> = found[0]
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got_tags, want_tags);
        let points = reader.read(&found[0], range, None).unwrap();
        let want: Vec<(i64, f64)> = written
            .iter()
            .flat_map(|b| {
                b.samples
                    .iter()
                    .filter(|s| s.field == field)
                    .map(move |s| (b.at, s.value))
            })
            .collect();
        let got: Vec<(i64, f64)> = points.iter().map(|p| (p.ts, p.value)).collect();
        assert_eq!(got, want, "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_write_api_reaches_victoriametrics() {
    kilowatch_sink::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut vm = Command::new(env("KILOWATCH_TEST_VICTORIA"))
        .args([
            format!("-httpListenAddr=127.0.0.1:{port}"),
            format!("-storageDataPath={}", dir.path().join("vm").display()),
            "-retentionPeriod=100y".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{base}/health"))
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "victoria-metrics did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = store(dir.path(), 1 << 30);
    let written = batches(T0, 20);
    store.write(&written).unwrap();
    let stats = drain(
        &store,
        &format!("{base}?org=ops&bucket=kw"),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        stats
            .written_points
            .load(std::sync::atomic::Ordering::Relaxed),
        60
    );
    // VictoriaMetrics names a line-protocol field `<measurement>_<field>` and keeps tags as labels.
    let _ = reqwest::get(format!("{base}/internal/force_flush")).await;
    let export = reqwest::get(format!(
        "{base}/api/v1/export?match[]={{__name__=\"power_active_power_w\"}}"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(export.lines().next().unwrap_or("{}")).unwrap();
    assert_eq!(line["metric"]["rack"], "räck 7");
    assert_eq!(line["metric"]["device"], "pdu=a \"x\"");
    let ts: Vec<i64> = line["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    let vals: Vec<f64> = line["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(ts, (0..20).map(|i| T0 + i * 1000).collect::<Vec<_>>());
    assert_eq!(
        vals,
        (0..20)
            .map(|i| 1000.0 + i as f64 * 0.25)
            .collect::<Vec<_>>()
    );
    let _ = vm.kill();
    let _ = vm.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influxdb_away_for_60_seconds_loses_nothing() {
    let mut influx = Influxd::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), 1 << 30);
    let target = InfluxTarget::parse(&influx.url(), None, None).unwrap();
    let mut opts = SinkOptions::new(dir.path().join("q.lp"));
    opts.flush_interval = Duration::from_millis(100);
    opts.max_backoff = Duration::from_secs(2);
    let sink = Forwarder::new(InfluxSink::new(target).unwrap(), store.clone(), opts);
    let stats = sink.stats.clone();
    let cancel = CancellationToken::new();
    let run = tokio::spawn(sink.run(cancel.clone()));

    // One poll of three samples every 100 ms for 70 s; InfluxDB is down from 5 s to 65 s.
    let started = Instant::now();
    let mut polls = 0;
    let mut stopped = false;
    let mut restarted = false;
    while started.elapsed() < Duration::from_secs(70) {
        store.write(&batches(T0 + polls * 100_000, 1)).unwrap();
        polls += 1;
        if !stopped && started.elapsed() > Duration::from_secs(5) {
            influx.stop();
            stopped = true;
        }
        if stopped && !restarted && started.elapsed() > Duration::from_secs(65) {
            influx.launch();
            restarted = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let name = InfluxTarget::parse(&influx.url(), None, None)
        .unwrap()
        .sink_name();
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.outbox_stats(&name).unwrap().rows > 0 {
        assert!(Instant::now() < deadline, "outbox never drained");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cancel.cancel();
    run.await.unwrap().unwrap();
    assert!(
        stats.retries.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the outage was not noticed"
    );
    assert_eq!(influx.count(), polls * 3, "samples lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_drops_exactly_the_oldest_and_counts_them() {
    // InfluxDB is not running yet; a 1 kB outbox (about 12 bytes a reading) holds only the
    // newest rows.
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), 1024);
    let all = batches(T0, 100);
    for b in &all {
        store.write(std::slice::from_ref(b)).unwrap();
    }
    let influx = Influxd::start();
    let name = InfluxTarget::parse(&influx.url(), None, None)
        .unwrap()
        .sink_name();
    let dropped = store.outbox_stats(&name).unwrap().dropped_points;
    assert!(dropped > 0 && dropped < 300, "dropped {dropped}");
    drain(&store, &influx.url(), Duration::from_secs(30)).await;
    assert_eq!(
        influx.count(),
        300 - dropped,
        "dropped count must equal what is missing"
    );
    // What is missing is exactly the oldest polls.
    let first = blocking(|| {
        let reader = influx.reader();
        let s = &reader.find(&Selector::field(Field::TemperatureC)).unwrap()[0];
        reader
            .read(
                s,
                TimeRange {
                    from: T0,
                    to: T0 + 1_000_000,
                },
                None,
            )
            .unwrap()[0]
            .ts
    });
    assert_eq!(
        (first - T0) / 1000 * 3,
        dropped,
        "the first kept poll follows exactly the dropped ones"
    );
}

/// Line protocol carries any string as a tag value or string field, except a newline in a tag.
#[test]
fn any_string_survives_influxdb_or_is_refused_clearly() {
    use proptest::prelude::*;
    let influx = Influxd::start();
    let client = reqwest::blocking::Client::new();
    let reader = influx.reader();
    kilowatch_sink::install_tls_provider();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 48,
        ..Default::default()
    });
    // The awkward strings that must be carried or refused explicitly, and random ones.
    let awkward = proptest::sample::select(vec![
        "a\\".to_owned(),
        "a\\b".to_owned(),
        "a\\,b".to_owned(),
        "x \"y\" = z, w".to_owned(),
        "\\\\".to_owned(),
        "tab\there".to_owned(),
        "emoji \u{26a1} \u{6a5f}\u{623f}".to_owned(),
    ]);
    let random =
        "(\\PC|[ ,=\"'\\\\\n])+".prop_filter("non-empty", |s: &String| !s.trim().is_empty());
    let strategy = prop_oneof![awkward, random];
    let case = std::sync::atomic::AtomicI64::new(0);
    runner
        .run(&strategy, |s| {
            let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let mut line = String::new();
            let ts = T0 + case * 1000;
            if let Err(e) = encode_point(
                &mut line,
                "prop",
                &[("k", &s)],
                &[("f", FieldValue::String(s.clone()))],
                ts,
            ) {
                {
                    let backslash = s.ends_with('\\')
                        || s.contains("\\,")
                        || s.contains("\\=")
                        || s.contains("\\ ");
                    prop_assert!(
                        s.contains('\n') || s.contains('\r') || backslash,
                        "refused {s:?}: {e}"
                    );
                    return Ok(());
                }
            }
            let r = client
                .post(format!(
                    "http://127.0.0.1:{}/write?db=kw&precision=ms",
                    influx.port
                ))
                .body(line.clone())
                .send()
                .unwrap();
            prop_assert!(
                r.status().is_success(),
                "{s:?} -> {line:?}: {}",
                r.text().unwrap_or_default()
            );
            let rows = reader
                .query(&format!(
                    "SELECT \"f\", \"k\" FROM \"prop\" WHERE time = {ts}ms"
                ))
                .unwrap();
            prop_assert_eq!(rows.len(), 1, "{:?}", line);
            prop_assert_eq!(
                rows[0][1].as_str(),
                Some(s.as_str()),
                "string field {:?}",
                line
            );
            prop_assert_eq!(
                rows[0][2].as_str(),
                Some(s.as_str()),
                "tag value {:?}",
                line
            );
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pue_from_influxdb_equals_pue_from_the_embedded_store() {
    use kilowatch_analyzer::pue;
    use kilowatch_core::clock::Clock;
    let influx = Influxd::start();
    let speed = 600.0;
    let clock = Clock::accelerated(speed);
    let sim = kilowatch_sim::SimConfig {
        speed,
        community: "pue-compare".into(),
        ..kilowatch_sim::SimConfig::default()
    };
    let site = common::site(sim, clock, "200ms", "1s", "").await;
    let store = store(site.dir.path(), 1 << 30);
    let start = clock.now_ms();
    common::collect(
        &site.config,
        clock,
        Duration::from_secs(6),
        Some(store.clone()),
    )
    .await;
    let end = clock.now_ms();
    drain(&store, &influx.url(), Duration::from_secs(60)).await;
    let range = TimeRange {
        from: start + 5 * 60_000,
        to: end - 2 * 60_000,
    };
    let embedded = pue::site_pue(&*store, "sim", range, pue::Options::default()).unwrap();
    let remote = blocking(|| {
        pue::site_pue(&influx.reader(), "sim", range, pue::Options::default()).unwrap()
    });
    for cat in [1u8, 3] {
        let (pue::Pue::Value { pue: a, .. }, pue::Pue::Value { pue: b, .. }) =
            (&embedded.pue[&cat], &remote.pue[&cat])
        else {
            panic!("PUE{cat}: {:?} vs {:?}", embedded.pue, remote.pue)
        };
        assert!(
            ((a - b) / a).abs() < 1e-6,
            "PUE{cat}: embedded {a}, InfluxDB {b}"
        );
    }
    // The TUI runs on InfluxDB too: device health from the collector's own samples.
    let snap = blocking(|| {
        kilowatch_tui::load::snapshot(&influx.reader(), &site.config, &[], end, 200 * 600).unwrap()
    });
    let s = &snap.sites[0];
    assert_eq!(
        (s.devices_up, s.devices_total),
        (17, 17),
        "{:?}",
        snap.devices
    );
    assert!(s.facility_kw.unwrap() > s.it_kw.unwrap());
    assert!(snap.alarms.is_empty(), "{:?}", snap.alarms);
}

#[test]
fn a_collector_killed_with_sigkill_loses_nothing_after_restart() {
    let mut influx = Influxd::start();
    let data = tempfile::tempdir().unwrap();
    let url = influx.url();
    let demo = |secs: &str| {
        Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args([
                "demo",
                "--headless",
                "--interval",
                "500ms",
                "--duration",
                secs,
                "--influx",
                &url,
            ])
            .arg("--data")
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Collect for a while, take InfluxDB away so the outbox fills, then SIGKILL the collector.
    let mut first = demo("120s");
    std::thread::sleep(Duration::from_secs(4));
    influx.stop();
    std::thread::sleep(Duration::from_secs(4));
    first.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.wait().unwrap();
    influx.launch();
    // A new run on the same data directory resumes from the durable cursor.
    let status = demo("6s").wait().unwrap();
    assert!(status.success());
    let store = SqliteStore::open(&data.path().join("kilowatch.db")).unwrap();
    let collected = store.count_samples().unwrap();
    assert!(collected > 100, "only {collected} samples collected");
    assert_eq!(
        influx.count(),
        collected,
        "InfluxDB must hold every collected sample"
    );

    // `kilowatch pue` gives the same figures from either store.
    let config = data.path().join("demo.toml");
    let pue = |extra: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(["pue", "--from", "1h", "--json", "--config"])
            .arg(&config)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let embedded = pue(&[]);
    let remote = pue(&["--influx", &url]);
    let (a, b) = (
        embedded[0]["pue"]["3"]["pue"].as_f64().unwrap(),
        remote[0]["pue"]["3"]["pue"].as_f64().unwrap(),
    );
    assert!(((a - b) / a).abs() < 1e-6, "embedded {a}, InfluxDB {b}");
}

/// Issue 10: InfluxDB over HTTPS with a site CA. Without `?ca=` the server is not trusted: nothing
/// is sent, the outbox keeps every point; with it, all of them arrive, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_site_ca_is_trusted_only_when_named() {
    let influx = Influxd::start_tls();
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), 1 << 30);
    let written = batches(T0, 50);
    store.write(&written).unwrap();
    let with_ca = influx.url();
    let without_ca = with_ca.split("&ca=").next().unwrap().to_owned();
    assert!(without_ca.starts_with("https://"), "{without_ca}");

    let stats = drain(&store, &without_ca, Duration::from_secs(3)).await;
    let name = InfluxTarget::parse(&with_ca, None, None)
        .unwrap()
        .sink_name();
    assert_eq!(
        stats
            .written_points
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "an untrusted certificate must not be accepted"
    );
    assert!(stats.retries.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert!(
        store.outbox_stats(&name).unwrap().rows > 0,
        "kept for later"
    );
    assert_eq!(influx.count(), 0);

    let stats = drain(&store, &with_ca, Duration::from_secs(20)).await;
    assert_eq!(store.outbox_stats(&name).unwrap().rows, 0);
    assert_eq!(
        stats
            .written_points
            .load(std::sync::atomic::Ordering::Relaxed),
        150
    );
    assert_eq!(influx.count(), 150, "every point, once");

    // A `ca` that is not a certificate is named as such.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e = InfluxTarget::parse(&format!("{without_ca}&ca={}", junk.display()), None, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("junk.pem") && e.contains("not a PEM certificate"),
        "{e}"
    );
}
