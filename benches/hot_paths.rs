//! Criterion benchmarks of the hot paths: SNMP response decoding, Modbus register decoding,
//! line-protocol encoding, store append and range read, and energy integration.
//!
//!   cargo bench --bench hot_paths
//!
//! Figures and the machine they were taken on are in BENCHMARKS.md.

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kilowatch_collector::decode::{Readings, RowSeries, decode};
use kilowatch_collector::plan::{Plan, PlanKind};
use kilowatch_collector::snmp_mux::{Op, encode};
use kilowatch_core::address::Address;
use kilowatch_core::config::Device;
use kilowatch_core::model::{Batch, Field, PollStatus, Sample, Series};
use kilowatch_core::profile::ProfileSet;
use kilowatch_store::{Point, ReadStore, Selector, SqliteStore, TimeRange};

fn device(profile: &str, url: &str) -> Device {
    let (address, _) = Address::parse(url).expect("a valid URL");
    Device {
        room: Some("hall-1".into()),
        rack: Some("r01".into()),
        ..Device::new("bench-1", "hk1", profile, address)
    }
}

fn plan(profile: &str, url: &str) -> Plan {
    let (profiles, _) = ProfileSet::load(&[]);
    Plan::compile(
        &device(profile, url),
        profiles.get(profile).expect("a built-in profile"),
    )
}

/// A 20-value GET of the benchmark PDU and the simulator agent's real answer to it.
fn snmp_exchange(p: &PlanKind) -> (Vec<Vec<u32>>, Vec<u8>) {
    let PlanKind::Snmp(p) = p else {
        unreachable!("an SNMP profile")
    };
    let oids: Vec<Vec<u32>> = p.gets.to_vec();
    let mut request = Vec::new();
    encode(&mut request, 1, b"public", 42, Op::Get(&oids));
    let mut mib = kilowatch_sim::snmp_agent::Mib::new();
    for (i, o) in oids.iter().enumerate() {
        mib.insert(
            o.clone(),
            kilowatch_sim::snmp_agent::Value::Integer(100 + i as i32),
        );
    }
    let reply = kilowatch_sim::snmp_agent::answer(&request, b"public", &mib).expect("an answer");
    (oids, reply)
}

fn snmp_decode(c: &mut Criterion) {
    let plan = plan("kilowatch-sim-bench", "snmp://127.0.0.1:161");
    let (oids, reply) = snmp_exchange(&plan.kind);
    let mut g = c.benchmark_group("snmp");
    g.throughput(Throughput::Elements(oids.len() as u64));
    g.bench_function("response_20_varbinds_to_samples", |b| {
        let mut rows = RowSeries::default();
        let mut out = Vec::with_capacity(32);
        let mut problems = Vec::new();
        b.iter(|| {
            let got = kilowatch_collector::snmp::decode_get_response(&reply, b"public", &oids)
                .expect("decodes");
            let readings = Readings::Snmp {
                gets: got.into_iter().map(|(_, v)| v).collect(),
                walks: Vec::new(),
            };
            out.clear();
            decode(&plan, &readings, &mut rows, &mut out, &mut problems);
            out.len()
        });
    });
    g.bench_function("request_20_varbinds_encode", |b| {
        let mut buf = Vec::with_capacity(512);
        b.iter(|| {
            encode(&mut buf, 1, b"public", 42, Op::Get(&oids));
            buf.len()
        });
    });
    g.finish();
}

fn modbus_decode(c: &mut Criterion) {
    let plan = plan("eastron-sdm630", "modbus://127.0.0.1:502/1");
    let PlanKind::Modbus(p) = &plan.kind else {
        unreachable!("a Modbus profile")
    };
    let blocks: Vec<Result<Vec<u16>, kilowatch_collector::ModbusException>> = p
        .blocks
        .iter()
        .map(|b| Ok((0..b.count).map(|i| 0x4366 ^ i).collect()))
        .collect();
    let readings = Readings::Modbus { blocks };
    let mut g = c.benchmark_group("modbus");
    g.bench_function("sdm630_registers_to_samples", |b| {
        let mut rows = RowSeries::default();
        let mut out = Vec::with_capacity(64);
        let mut problems = Vec::new();
        b.iter(|| {
            out.clear();
            problems.clear();
            decode(&plan, &readings, &mut rows, &mut out, &mut problems);
            out.len()
        });
    });
    g.finish();
}

/// `devices` polls of 20 samples each, as the collector sends them.
fn batches(devices: usize, at: i64) -> Vec<Batch> {
    polls(&outlets(devices), at)
}

/// The outlet series of `devices` PDUs, made once: the collector builds each device's series
/// with its plan and reuses them for every poll.
fn outlets(devices: usize) -> Vec<Vec<Arc<Series>>> {
    (0..devices)
        .map(|d| {
            (0..20)
                .map(|k| {
                    Arc::new(Series::new(
                        Field::PowerW.measurement(),
                        vec![
                            ("site", "hk1".to_owned()),
                            ("device", format!("pdu-{d:05}")),
                            ("point", format!("outlet{k}")),
                        ],
                    ))
                })
                .collect()
        })
        .collect()
}

fn polls(outlets: &[Vec<Arc<Series>>], at: i64) -> Vec<Batch> {
    outlets
        .iter()
        .enumerate()
        .map(|(d, series)| Batch {
            device: format!("pdu-{d:05}").into(),
            at,
            samples: series
                .iter()
                .enumerate()
                .map(|(k, s)| Sample {
                    series: s.clone(),
                    field: Field::PowerW,
                    value: 40.0 + ((d * 7 + k) % 180) as f64,
                })
                .collect(),
            poll: PollStatus::Ok,
            poll_ms: 1.0,
        })
        .collect()
}

fn line_protocol(c: &mut Criterion) {
    let input = batches(1000, 1_767_225_600_000);
    let mut g = c.benchmark_group("line_protocol");
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("encode_20k_samples", |b| {
        let mut out = String::with_capacity(2 << 20);
        b.iter(|| {
            out.clear();
            kilowatch_sink::influx::line_protocol::encode_batches(&input, &mut out).len()
        });
    });
    g.finish();
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(&dir.path().join("bench.db")).expect("opens");
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(20_000));
    let mut at = 1_767_225_600_000i64;
    // 1,000 devices' polls of 20 values, committed together as the collector does.
    let pdus = outlets(1000);
    g.bench_function("append_20k_samples", |b| {
        b.iter_batched_ref(
            || {
                at += 10_000;
                polls(&pdus, at)
            },
            |polls| store.write(polls).expect("writes"),
            criterion::BatchSize::LargeInput,
        );
    });
    // One series with a year of 5-minute readings, read back whole.
    let series = Arc::new(Series::new(
        Field::PowerW.measurement(),
        vec![("site", "hk1".to_owned()), ("device", "meter".to_owned())],
    ));
    let year: Vec<Batch> = (0..105_120i64)
        .map(|i| Batch {
            device: "meter".into(),
            at: i * 300_000,
            samples: vec![Sample {
                series: series.clone(),
                field: Field::PowerW,
                value: 50_000.0 + (i % 288) as f64,
            }],
            poll: PollStatus::Ok,
            poll_ms: 1.0,
        })
        .collect();
    for chunk in year.chunks(10_000) {
        store.write(chunk).expect("writes");
    }
    store.compact(i64::MAX).expect("compacts");
    let found = store
        .find(&Selector::field(Field::PowerW).tag("device", "meter"))
        .expect("finds");
    let range = TimeRange {
        from: 0,
        to: 105_120 * 300_000,
    };
    g.throughput(Throughput::Elements(105_120));
    g.bench_function(BenchmarkId::new("range_read", "105k_points"), |b| {
        b.iter(|| store.read(&found[0], range, None).expect("reads").len());
    });
    // One two-hour chunk of a meter polled every 10 s: 720 readings in tenths of a watt, with
    // a few milliseconds of jitter on one poll in ten.
    let block = 1_767_225_600_000i64;
    let points: Vec<Point> = (0..720i64)
        .map(|i| Point {
            ts: block + i * 10_000 + if i % 10 == 3 { 4 } else { 0 },
            value: (23_000 + (i * 37) % 200) as f64 * 0.1,
        })
        .collect();
    let mut chunk = Vec::new();
    kilowatch_store::chunk::encode(&points, block, &mut chunk);
    g.throughput(Throughput::Elements(720));
    g.bench_function(BenchmarkId::new("chunk_decode", "720_points"), |b| {
        let mut out = Vec::with_capacity(720);
        b.iter(|| {
            out.clear();
            kilowatch_store::chunk::decode(&chunk, block, None, &mut out).expect("decodes");
            out.len()
        });
    });
    g.bench_function(BenchmarkId::new("chunk_encode", "720_points"), |b| {
        let mut out = Vec::with_capacity(2048);
        b.iter(|| {
            out.clear();
            kilowatch_store::chunk::encode(&points, block, &mut out);
            out.len()
        });
    });
    g.finish();
}

/// One write of a small site (17 devices' polls) while InfluxDB has been down for a day: the
/// outbox holds 86,400 rows of 3 kB (a write a second). A write's cost should not grow with
/// the outage. (Rows of today's encoding are a tenth of that; 3 kB rows keep the figure
/// comparable with earlier runs.)
fn outage(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("outage.db");
    drop(SqliteStore::open(&path).expect("opens"));
    {
        // Rows go in directly, with the file marked as version 3 (no outbox totals yet), so
        // opening it counts them once as an upgrade would: a day of writes would take minutes.
        let mut conn = rusqlite::Connection::open(&path).expect("opens");
        let tx = conn.transaction().expect("begins");
        let lines = "x".repeat(3000);
        for i in 0..86_400i64 {
            tx.execute(
                "INSERT INTO outbox(ts, points, bytes, data) VALUES(?1, 20, 3000, ?2)",
                rusqlite::params![1_767_225_600_000 + i * 1000, lines],
            )
            .expect("inserts");
        }
        tx.execute("UPDATE meta SET value = 3 WHERE key = 'schema_version'", [])
            .expect("marks");
        tx.commit().expect("commits");
    }
    let store = SqliteStore::open(&path).expect("opens");
    store.enable_outbox(1 << 30);
    store.sink_cursor("influx").expect("registers");
    let pdus = outlets(17);
    let mut at = 1_767_312_000_000i64;
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(340));
    g.bench_function("append_340_samples_after_a_days_outage", |b| {
        b.iter_batched_ref(
            || {
                at += 1_000;
                polls(&pdus, at)
            },
            |polls| store.write(polls).expect("writes"),
            criterion::BatchSize::SmallInput,
        );
    });
    g.bench_function("outbox_stats_after_a_days_outage", |b| {
        b.iter(|| store.outbox_stats("influx").expect("counts").rows);
    });
    g.finish();
}

fn energy(c: &mut Criterion) {
    // A year of 1-minute power readings from one meter.
    let points: Vec<Point> = (0..525_600i64)
        .map(|i| Point {
            ts: i * 60_000,
            value: 40_000.0 + 5_000.0 * ((i % 1440) as f64 / 1440.0),
        })
        .collect();
    let range = TimeRange {
        from: 0,
        to: 525_600 * 60_000,
    };
    let mut g = c.benchmark_group("energy");
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function("integrate_a_year_of_minutes", |b| {
        b.iter(|| kilowatch_analyzer::energy::integrate_power(&points, range, 15 * 60_000).kwh);
    });
    g.finish();
}

/// Twenty rules (benches/rules-20.toml) over a cycle of 10,000 PDUs' polls, 20 samples each,
/// as the collector's alerting task sees them once the store has committed them.
fn rules(c: &mut Criterion) {
    const DEVICES: usize = 10_000;
    let mut inv = String::from(
        "[[sites]]\nid = \"hk1\"\n\n[[devices]]\nid = \"main\"\nsite = \"hk1\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/1\"\nrole = \"facility\"\n\n[[devices]]\nid = \"ups\"\nsite = \"hk1\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/2\"\nrole = \"it\"\ncategory = 1\n\n",
    );
    for d in 0..DEVICES {
        inv.push_str(&format!(
            "[[devices]]\nid = \"pdu-{d:05}\"\nsite = \"hk1\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/{}\"\n\n",
            d % 247 + 1
        ));
    }
    inv.push_str(include_str!("rules-20.toml"));
    let config = kilowatch_core::config::Config::from_str(
        &inv,
        "bench.toml",
        std::path::Path::new("."),
        std::iter::empty(),
    )
    .expect("bench inventory");
    assert_eq!(config.rules.len(), 20);
    let mut engine = kilowatch_rules::eval::Engine::new(&config, vec!["am".into()]);
    let outlets = outlets(DEVICES);
    let mut at = 0;
    let mut out = kilowatch_store::AlertChanges::default();
    // One cycle first: each device's rules are compiled on its first poll.
    for b in polls(&outlets, at) {
        engine.on_batch(&b, &mut out);
    }
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements((DEVICES * 20) as u64));
    g.sample_size(20);
    g.bench_function("20_rules_one_cycle_of_10000_devices", |b| {
        b.iter_batched(
            || {
                at += 10_000;
                polls(&outlets, at)
            },
            |batches| {
                for b in &batches {
                    engine.on_batch(b, &mut out);
                }
                out.outbox.clear();
                out.states.clear();
                out.log.clear();
            },
            criterion::BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(
    benches,
    rules,
    snmp_decode,
    modbus_decode,
    line_protocol,
    store,
    outage,
    energy
);
criterion_main!(benches);
