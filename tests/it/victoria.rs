//! Issue 21 (part 1): VictoriaMetrics as the central engine. Readings reach it through the
//! outbox and the same sink as InfluxDB (`--influx vm://...`), and `VictoriaReader` answers
//! `find`, `read` and `latest` as the embedded store does on the same data, so every report
//! gives the same figures from either (`--source vm://...`). The tests with a real
//! VictoriaMetrics (`victoria::vm::`) need the `peers` feature; a server answering garbage
//! needs nothing.

use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::common::process::{BIN, METERED_SITE};

/// A TCP server answering every request with `status` and an HTML page (a proxy's error page,
/// a web server on the wrong port); it keeps each request's head.
fn html_server(status: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // The head, then as much body as Content-Length says: answering and closing with
            // the body unread would reset the connection instead.
            let complete = |buf: &[u8]| {
                let text = String::from_utf8_lossy(buf);
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    return false;
                };
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                body.len() >= len
            };
            while !complete(&buf) {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
            log.lock().unwrap().push(head);
            let page = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1></body></html>\n";
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    (port, seen)
}

/// `kilowatch pue` on a metered site read from `source`.
fn pue_from(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let config = dir.join("site.toml");
    std::fs::write(&config, METERED_SITE).unwrap();
    Command::new(BIN)
        .args(["pue", "--from", "1h", "--json", "--config"])
        .arg(&config)
        .args(args)
        .env("KILOWATCH_VM_TOKEN", "vm-t0ken-Zq8")
        .output()
        .unwrap()
}

#[test]
fn a_server_answering_html_is_an_error_naming_the_target_not_empty_data() {
    let dir = tempfile::tempdir().unwrap();
    for status in ["200 OK", "502 Bad Gateway"] {
        let (port, seen) = html_server(status);
        let url = format!("vm://127.0.0.1:{port}");
        let out = pue_from(dir.path(), &["--source", &url]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{status}: accepted: {err}");
        assert_eq!(out.status.code(), Some(1), "{status}: {err}");
        assert!(out.stdout.is_empty(), "{status}: printed a report");
        assert!(
            err.contains(&format!("victoriametrics 127.0.0.1:{port}")),
            "{status}: the error names the target: {err}"
        );
        let why = if status.starts_with("200") {
            "not VictoriaMetrics JSON"
        } else {
            "HTTP 502"
        };
        assert!(
            err.contains(why) && err.contains("nginx"),
            "{status}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        // The token went as a bearer token, and only there.
        assert!(!err.contains("vm-t0ken-Zq8"), "{err}");
        let heads = seen.lock().unwrap().clone();
        assert!(
            heads.iter().any(|h| h.contains("/api/v1/series")
                && h.to_ascii_lowercase()
                    .contains("authorization: bearer vm-t0ken-zq8")),
            "{heads:?}"
        );
    }
    // A credential in the URL is refused without showing it; --source and --influx exclude
    // each other.
    let out = pue_from(dir.path(), &["--source", "vm://kw:hunter2@127.0.0.1:9"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("KILOWATCH_VM_TOKEN"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let out = pue_from(
        dir.path(),
        &[
            "--source",
            "vm://127.0.0.1:9",
            "--influx",
            "http://127.0.0.1:9?db=kw",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// Against a real VictoriaMetrics (scripts/test installs it).
#[cfg(feature = "peers")]
mod vm {
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::common::influxd::blocking;
    use crate::common::process::{self, BIN};
    use crate::common::victoria::Victoria;
    use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
    use kilowatch_sink::influx::sink::InfluxSink;
    use kilowatch_sink::influx::target::InfluxTarget;
    use kilowatch_sink::{Forwarder, Options as SinkOptions};
    use kilowatch_store::{
        Aggregate, Point, ReadStore, Selector, SeriesRef, SqliteStore, TimeRange, Window,
    };
    use tokio_util::sync::CancellationToken;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    const POLLS: i64 = 400;

    fn series(m: Measurement, tags: &[(&'static str, &str)]) -> Arc<Series> {
        Arc::new(Series::new(
            m,
            tags.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ))
    }

    /// When poll `i` was made: about a second apart, never on a round second, some on a
    /// window's first millisecond.
    fn at(i: i64) -> i64 {
        T0 + i * 1000 + (i * 137) % 900
    }

    /// Five series: a PDU with its total and one phase (the phase carries every label of the
    /// total and one more), a PDU without a rack (the tag absent), and a sensor; awkward tag
    /// values throughout. `pdu b` misses every tenth poll.
    fn batches() -> Vec<Batch> {
        let site = ("site", "hk dc,1");
        let a = series(
            Measurement::Power,
            &[site, ("device", "pdu=a \"x\""), ("rack", "räck 7")],
        );
        let a_l1 = series(
            Measurement::Power,
            &[
                site,
                ("device", "pdu=a \"x\""),
                ("rack", "räck 7"),
                ("point", "L1"),
            ],
        );
        let b = series(Measurement::Power, &[site, ("device", "pdu b")]);
        let c = series(Measurement::Environment, &[site, ("device", "env\\1")]);
        (0..POLLS)
            .map(|i| {
                let x = i as f64;
                let mut samples = vec![
                    Sample {
                        series: a.clone(),
                        field: Field::ActivePowerW,
                        value: 1000.0 + x * 0.25 + (x * 0.7).sin() * 40.0,
                    },
                    Sample {
                        series: a.clone(),
                        field: Field::EnergyKwh,
                        value: 5000.0 + x / 3.0,
                    },
                    Sample {
                        series: a_l1.clone(),
                        field: Field::ActivePowerW,
                        value: 300.0 + (i % 7) as f64 * 1.5,
                    },
                    Sample {
                        series: c.clone(),
                        field: Field::TemperatureC,
                        value: 21.5 - x / 7.0,
                    },
                ];
                if i % 10 != 3 {
                    samples.push(Sample {
                        series: b.clone(),
                        field: Field::ActivePowerW,
                        value: 200.0 + (i % 13) as f64 / 7.0,
                    });
                }
                Batch {
                    device: Arc::from("d"),
                    at: at(i),
                    samples,
                    poll: PollStatus::Ok,
                    poll_ms: 1.0,
                }
            })
            .collect()
    }

    /// Runs the sink to `url` until the outbox is empty; the readings it wrote.
    async fn drain(store: &Arc<SqliteStore>, url: &str, dir: &std::path::Path) -> u64 {
        let target = InfluxTarget::parse(url, None, None).unwrap();
        let name = target.sink_name();
        let mut opts = SinkOptions::new(dir.join("quarantine.lp"));
        opts.flush_interval = Duration::from_millis(50);
        opts.max_backoff = Duration::from_secs(2);
        let sink = Forwarder::new(InfluxSink::new(target).unwrap(), store.clone(), opts);
        let stats = sink.stats.clone();
        let cancel = CancellationToken::new();
        let run = tokio::spawn(sink.run(cancel.clone()));
        let deadline = Instant::now() + Duration::from_secs(120);
        while store.outbox_stats(&name).unwrap().rows > 0 {
            assert!(Instant::now() < deadline, "the outbox never drained");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cancel.cancel();
        run.await.unwrap().unwrap();
        assert!(
            !dir.join("quarantine.lp").exists(),
            "VictoriaMetrics refused readings"
        );
        stats
            .written_points
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Same times, values equal to VictoriaMetrics' precision (about 12 significant digits).
    fn same(what: &str, remote: &[Point], local: &[Point]) {
        let ts = |p: &[Point]| p.iter().map(|p| p.ts).collect::<Vec<_>>();
        assert_eq!(ts(remote), ts(local), "{what}: times");
        for (r, l) in remote.iter().zip(local) {
            let tol = 1e-10 * l.value.abs().max(1.0);
            assert!(
                (r.value - l.value).abs() <= tol,
                "{what} at {}: VictoriaMetrics {} vs embedded {}",
                r.ts,
                r.value,
                l.value
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_reader_answers_find_read_and_latest_as_the_embedded_store() {
        let vm = Victoria::start();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("kw.db")).unwrap());
        store.enable_outbox(1 << 30);
        let written = batches();
        store.write(&written).unwrap();
        let sent = drain(&store, &vm.url(), dir.path()).await;
        let total = store.count_samples().unwrap();
        assert_eq!(sent as i64, total);
        vm.flush();
        assert_eq!(
            vm.count(r#"{__name__=~".+"}"#) as i64,
            total,
            "samples lost"
        );

        blocking(|| {
            let remote = vm.reader();
            let local: &SqliteStore = &store;
            // find: the same series, keys, tags and order for every kind of selector.
            let selectors = [
                Selector::default(),
                Selector::field(Field::ActivePowerW),
                Selector::field(Field::ActivePowerW).tag("device", "pdu=a \"x\""),
                Selector::field(Field::ActivePowerW).without("point"),
                Selector::field(Field::ActivePowerW).without("rack"),
                Selector::field(Field::ActivePowerW).tag("point", "L1"),
                Selector::field(Field::ActivePowerW).tag("device", "no such pdu"),
                Selector::field(Field::TemperatureC).tag("device", "env\\1"),
                Selector {
                    measurement: Some(Measurement::Power),
                    ..Selector::default()
                },
                Selector {
                    field: Some(Field::EnergyKwh),
                    ..Selector::default()
                },
                Selector {
                    measurement: Some(Measurement::Cooling),
                    ..Selector::default()
                },
            ];
            for sel in &selectors {
                assert_eq!(
                    remote.find(sel).unwrap(),
                    local.find(sel).unwrap(),
                    "{sel:?}"
                );
            }
            let all: Vec<SeriesRef> = local.find(&Selector::default()).unwrap();
            assert_eq!(all.len(), 5, "{all:?}");
            let total_of_a = &local
                .find(&Selector::field(Field::ActivePowerW).without("point"))
                .unwrap()
                .into_iter()
                .find(|s| s.tag("rack").is_some())
                .unwrap();

            // read: raw and windowed, over the whole span, cut exactly at sample times
            // (half-open), empty, and past the data.
            let last = at(POLLS - 1);
            let ranges = [
                TimeRange {
                    from: T0 - 3_600_000,
                    to: last + 3_600_000,
                },
                TimeRange {
                    from: at(10),
                    to: at(200),
                },
                TimeRange {
                    from: at(10) + 1,
                    to: at(200) + 1,
                },
                TimeRange {
                    from: at(50),
                    to: at(50),
                },
                TimeRange {
                    from: last + 1,
                    to: last + 86_400_000,
                },
            ];
            for s in &all {
                for r in ranges {
                    let what = format!("{} {} {r:?}", s.key, s.field);
                    let raw = local.read(s, r, None).unwrap();
                    same(&what, &remote.read(s, r, None).unwrap(), &raw);
                    for every_ms in [7_000, 10_000, 60_000] {
                        for aggregate in [
                            Aggregate::Mean,
                            Aggregate::Min,
                            Aggregate::Max,
                            Aggregate::Last,
                        ] {
                            let w = Some(Window {
                                every_ms,
                                aggregate,
                            });
                            same(
                                &format!("{what} {aggregate:?}/{every_ms}"),
                                &remote.read(s, r, w).unwrap(),
                                &local.read(s, r, w).unwrap(),
                            );
                        }
                    }
                }
            }
            // The total's samples only, not its phase's (whose labels are a superset).
            let whole = ranges[0];
            assert_eq!(
                remote.read(total_of_a, whole, None).unwrap().len(),
                POLLS as usize
            );

            // latest: before the data, on and just after a sample, past the first lookback
            // (an hour), past the second (two days).
            for s in &all {
                for t in [
                    T0 - 1,
                    at(0),
                    at(123),
                    at(123) + 1,
                    last,
                    last + 2 * 3_600_000,
                    last + 5 * 86_400_000,
                ] {
                    same(
                        &format!("latest {} {} at {t}", s.key, s.field),
                        remote.latest(s, t).unwrap().as_slice(),
                        local.latest(s, t).unwrap().as_slice(),
                    );
                }
            }

            // A writer that passed `?db=` (an older `http://...?db=` URL) added a `db` label: the
            // series is the same one, its key as the embedded store would build it.
            let r = reqwest::blocking::Client::new()
                .post(format!("{}/write?db=kw&precision=ms", vm.http()))
                .body(format!(
                    "power,site=hk\\ dc\\,1,device=pdu\\ d active_power_w=5 {T0}\n"
                ))
                .send()
                .unwrap();
            assert!(r.status().is_success());
            vm.flush();
            let d = remote
                .find(&Selector::field(Field::ActivePowerW).tag("device", "pdu d"))
                .unwrap();
            assert_eq!(d.len(), 1, "{d:?}");
            assert_eq!(d[0].key, "power,device=pdu d,site=hk dc,1");
            assert!(d[0].tag("db").is_none());
            assert_eq!(
                remote.read(&d[0], whole, None).unwrap(),
                [Point { ts: T0, value: 5.0 }]
            );
        });
    }

    fn pue_json(
        config: &std::path::Path,
        data: &std::path::Path,
        extra: &[&str],
    ) -> serde_json::Value {
        let out = Command::new(BIN)
            .args(["pue", "--json", "--config"])
            .arg(config)
            .arg("--data")
            .arg(data)
            .args(extra)
            .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pue {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn close(what: &str, a: &serde_json::Value, b: &serde_json::Value, rel: f64) {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!(
            (a - b).abs() <= rel * a.abs().max(1e-12),
            "{what}: embedded {a}, VictoriaMetrics {b}"
        );
    }

    /// As a user runs it: `collect --influx vm://...` against the simulator for half a minute,
    /// stopped with SIGTERM, then `pue --source vm://...` gives each site's PUE and energies as
    /// `pue` on the embedded store does, and VictoriaMetrics holds every sample.
    #[test]
    fn collect_into_victoria_then_pue_from_it_equals_the_embedded_store() {
        let vm = Victoria::start();
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("kw.toml");
        let (sim, _) = process::sim(&["sim"], &inv, "1s");
        let data = dir.path().join("data");
        let log = dir.path().join("collect.log");
        let started = kilowatch_core::clock::Clock::System.now_ms();
        let mut collect = Command::new(BIN)
            .args(["collect", "--config"])
            .arg(&inv)
            .arg("--data")
            .arg(&data)
            .args(["--influx", &vm.url()])
            .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(36));
        process::kill(collect.id(), "TERM");
        let status = collect.wait().unwrap();
        drop(sim);
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(status.success(), "collect: {status:?}: {log}");
        vm.flush();

        let from = kilowatch_core::timefmt::format_rfc3339(started + 8_000);
        let to = kilowatch_core::timefmt::format_rfc3339(started + 32_000);
        let window = ["--from", from.as_str(), "--to", to.as_str()];
        let local = pue_json(&inv, &data, &window);
        let url = vm.url();
        let remote = pue_json(&inv, &data, &[&window[..], &["--source", &url]].concat());
        let (local, remote) = (local.as_array().unwrap(), remote.as_array().unwrap());
        assert!(!local.is_empty());
        assert_eq!(local.len(), remote.len());
        for (l, r) in local.iter().zip(remote) {
            let site = l["site"].as_str().unwrap();
            assert_eq!(l["site"], r["site"]);
            assert_eq!(
                (l["from"].clone(), l["to"].clone()),
                (r["from"].clone(), r["to"].clone())
            );
            assert!(l["facility"]["kwh"].as_f64().unwrap() > 0.0, "{site}: {l}");
            close(
                &format!("{site} E_DC kWh"),
                &l["facility"]["kwh"],
                &r["facility"]["kwh"],
                1e-9,
            );
            let cats = l["it"].as_object().unwrap();
            assert!(!cats.is_empty(), "{site}: no IT energy");
            assert_eq!(
                cats.keys().collect::<Vec<_>>(),
                r["it"].as_object().unwrap().keys().collect::<Vec<_>>()
            );
            for (cat, e) in cats {
                close(
                    &format!("{site} E_IT{cat} kWh"),
                    &e["kwh"],
                    &r["it"][cat]["kwh"],
                    1e-9,
                );
            }
            let pues = l["pue"].as_object().unwrap();
            assert!(!pues.is_empty(), "{site}: no PUE");
            for (cat, p) in pues {
                assert_eq!(p["status"], "value", "{site} PUE{cat}: {p}");
                assert_eq!(p["label"], r["pue"][cat]["label"]);
                close(
                    &format!("{site} PUE{cat}"),
                    &p["pue"],
                    &r["pue"][cat]["pue"],
                    1e-4,
                );
            }
        }

        // Nothing lost: one field's samples, counted in both.
        let store = SqliteStore::open(&data.join("kilowatch.db")).unwrap();
        let everything = TimeRange {
            from: 0,
            to: i64::MAX,
        };
        let local_count: usize = store
            .find(&Selector::field(Field::ActivePowerW))
            .unwrap()
            .iter()
            .map(|s| store.read(s, everything, None).unwrap().len())
            .sum();
        assert!(local_count > 100, "only {local_count} samples collected");
        let remote_count =
            vm.count(r#"{__name__=~"(power|ups|cooling|environment|server|device|network|collector)_active_power_w"}"#);
        assert_eq!(remote_count, local_count, "active_power_w samples");
    }
}
