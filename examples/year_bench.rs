//! Large-data benchmark for the PUE report: a year at 1-minute resolution for N metering points
//! (one facility meter, N−1 IT meters), written straight into an embedded store, then analysed.
//!
//!   cargo run --release --example year_bench -- write DIR [POINTS]
//!   KILOWATCH_BENCH_JITTER_MS=900 ... write DIR   (polls stamped up to 0.9 s late, as a real
//!   collector's are, so the cleaning rules see irregular intervals)
//!   /usr/bin/time -v cargo run --release --example year_bench -- analyse DIR [POINTS]
//!
//! The analysis reads one series (and one window) at a time, so its memory is bounded by the
//! longest series, not by the number of metering points.

use std::sync::Arc;
use std::time::Instant;

use kilowatch_analyzer::pue::Options;
use kilowatch_analyzer::report::pue_report;
use kilowatch_core::calendar::Window;
use kilowatch_core::config::Config;
use kilowatch_core::model::{Batch, Field, PollStatus, Sample};
use kilowatch_store::samples::block_of;
use kilowatch_store::{SqliteStore, TimeRange};

const START: i64 = 1_735_660_800_000; // 2025-01-01T00:00:00+08:00
const MINUTES: i64 = 365 * 24 * 60;

fn config(dir: &std::path::Path, points: usize) -> Config {
    let mut toml = String::from(
        "[store]\npath = \"kilowatch.db\"\n\n[[sites]]\nid = \"bench\"\ntimezone = \"Asia/Hong_Kong\"\n\n[[devices]]\nid = \"main\"\nsite = \"bench\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/1\"\nrole = \"facility\"\n",
    );
    for i in 1..points {
        toml.push_str(&format!(
            "\n[[devices]]\nid = \"pdu{i}\"\nsite = \"bench\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/{}\"\nrole = \"it\"\ncategory = 3\n",
            i % 247 + 1
        ));
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, toml).expect("write the bench config");
    Config::load_with_env(&path, std::iter::empty()).unwrap_or_else(|p| panic!("{p:?}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir) = (
        args.get(1).map(String::as_str),
        std::path::PathBuf::from(args.get(2).map_or(".", String::as_str)),
    );
    let points: usize = args.get(3).and_then(|p| p.parse().ok()).unwrap_or(200);
    std::fs::create_dir_all(&dir).expect("create the data directory");
    let config = config(&dir, points);
    let store = SqliteStore::open(&config.store.path).expect("open the store");
    match mode {
        Some("write") => {
            let series: Vec<_> = config
                .devices
                .iter()
                .map(|d| Arc::new(d.series(Field::EnergyKwh, None)))
                .collect();
            let mut kwh = vec![10_000.0f64; series.len()];
            let t = Instant::now();
            let mut compacting = 0.0;
            let mut batches = Vec::with_capacity(60);
            let jitter: i64 = std::env::var("KILOWATCH_BENCH_JITTER_MS")
                .ok()
                .and_then(|j| j.parse().ok())
                .unwrap_or(0);
            for m in 0..=MINUTES {
                let at = START + m * 60_000 + if jitter > 0 { m * 7919 % jitter } else { 0 };
                let samples = series
                    .iter()
                    .zip(kwh.iter_mut())
                    .enumerate()
                    .map(|(i, (s, k))| {
                        // IT meters draw 1–2 kW; the facility meter draws 1.5× their sum.
                        let it_kw = 1.0 + ((m + i as i64 * 37) % 1440) as f64 / 1440.0;
                        *k += if i == 0 {
                            1.5 * it_kw * (points - 1) as f64 / 60.0
                        } else {
                            it_kw / 60.0
                        };
                        Sample {
                            series: s.clone(),
                            field: Field::EnergyKwh,
                            // As the collector stores a meter's register of hundredths of a
                            // kWh: the integer times the profile's scale.
                            value: (*k * 100.0).round() * 0.01,
                        }
                    })
                    .collect();
                batches.push(Batch {
                    device: Arc::from("bench"),
                    at,
                    samples,
                    poll: PollStatus::Ok,
                    poll_ms: 0.0,
                });
                if batches.len() == 60 {
                    store.write(&batches).expect("write");
                    batches.clear();
                }
                // Closed blocks move into chunks once a simulated day, as the collector does.
                if m % 1440 == 0 {
                    let c = Instant::now();
                    store.compact(block_of(at)).expect("compact");
                    compacting += c.elapsed().as_secs_f64();
                }
            }
            store.write(&batches).expect("write");
            let c = Instant::now();
            store.compact(i64::MAX).expect("compact");
            compacting += c.elapsed().as_secs_f64();
            let rows = (MINUTES + 1) as f64 * series.len() as f64;
            let secs = t.elapsed().as_secs_f64();
            let f = store.footprint().expect("footprint");
            let file = std::fs::metadata(&config.store.path).map_or(0, |m| m.len());
            println!(
                "wrote {rows} samples in {secs:.1} s ({:.0} samples/s, of which compaction {compacting:.1} s); chunks {:.2} bytes/sample, file {:.2} bytes/sample",
                rows / secs,
                f.chunk_bytes as f64 / f.chunk_samples.max(1) as f64,
                file as f64 / rows
            );
        }
        Some("analyse") => {
            let t = Instant::now();
            let range = TimeRange {
                from: START,
                to: START + MINUTES * 60_000,
            };
            let report = pue_report(
                &store,
                &config,
                &Window::instants(range.from, range.to),
                Options::default(),
                |_, _| {},
            )
            .expect("analyse");
            let s = &report.sites[0];
            println!(
                "analysed {points} metering points over a year in {:.1} s: {} = {:.4}, E_DC {:.0} kWh, E_IT {:.0} kWh, coverage {:.4}",
                t.elapsed().as_secs_f64(),
                s.label,
                s.pue.unwrap_or(f64::NAN),
                s.facility_kwh,
                s.it_kwh,
                s.coverage
            );
        }
        _ => eprintln!("usage: year_bench write|analyse DIR [POINTS]"),
    }
}
