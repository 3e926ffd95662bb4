//! `kilowatch import`: history people already have (BMS meter exports) into the embedded store,
//! all or nothing, so a planner can analyse a year without live devices.
//!
//! CSV: a header `time,device,field,value`, then one reading per row: RFC 3339 time, a device
//! id from the config (which gives site, room, rack, role and category), a canonical field name
//! (`energy_kwh`, `active_power_w`, ...) and a number. Line protocol (`--lp`): points in the
//! canonical schema (measurement, tags including `device`, fields), millisecond timestamps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use kilowatch_core::config::Config;
use kilowatch_core::model::{Batch, Field, PollStatus, Sample, Series, Timestamp};
use kilowatch_core::timefmt::parse_rfc3339;
use kilowatch_store::SqliteStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The inventory file (TOML): devices named in the data must be in it.
    #[arg(long)]
    config: PathBuf,
    /// The data directory (store `kilowatch.db`); default: the config's `[store] path`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// CSV file with header `time,device,field,value`.
    #[arg(long)]
    csv: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let (batches, problems) = read_csv(&args.csv, &config)?;
    if !problems.is_empty() {
        for p in problems.iter().take(50) {
            eprintln!("{p}");
        }
        if problems.len() > 50 {
            eprintln!("... and {} more", problems.len() - 50);
        }
        eprintln!(
            "{}: {} bad row(s); nothing was imported",
            args.csv.display(),
            problems.len()
        );
        return Ok(ExitCode::from(2));
    }
    let path = crate::cmd::store_path(&config, args.data.as_deref());
    let store = SqliteStore::open(&path)?;
    let n = store.write(&batches)?;
    println!(
        "imported {n} readings from {} into {}",
        args.csv.display(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every row checked before anything is written: one problem per bad row, with its line.
fn read_csv(path: &Path, config: &Config) -> anyhow::Result<(Vec<Batch>, Vec<String>)> {
    let file = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("read '{file}'"))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    if header != ["time", "device", "field", "value"] {
        return Ok((
            Vec::new(),
            vec![format!(
                "{file}:1: header must be 'time,device,field,value', found '{}'",
                header.join(",")
            )],
        ));
    }
    let mut series: BTreeMap<(String, Field), Arc<Series>> = BTreeMap::new();
    let mut rows: BTreeMap<(Timestamp, String), Vec<Sample>> = BTreeMap::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("{file}:{line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut bad = |what: String| problems.push(format!("{file}:{line}: {what}"));
        if record.len() != 4 {
            bad(format!("expected 4 columns, found {}", record.len()));
            continue;
        }
        let ts = parse_rfc3339(&record[0]);
        let device = config.devices.iter().find(|d| d.id == record[1]);
        let field = Field::from_name(&record[2]);
        let value = record[3].parse::<f64>().ok().filter(|v| v.is_finite());
        match (ts, device, field, value) {
            (Ok(ts), Some(device), Some(field), Some(value)) => {
                let s = series
                    .entry((device.id.clone(), field))
                    .or_insert_with(|| Arc::new(device.series(field, None)))
                    .clone();
                rows.entry((ts, device.id.clone()))
                    .or_default()
                    .push(Sample {
                        series: s,
                        field,
                        value,
                    });
            }
            (ts, device, field, value) => {
                if let Err(e) = ts {
                    bad(format!("time: {e}"));
                }
                if device.is_none() {
                    bad(format!(
                        "device '{}' is not in {}",
                        &record[1],
                        config.path.display()
                    ));
                }
                if field.is_none() {
                    bad(format!(
                        "field '{}' is not a canonical field (e.g. energy_kwh, active_power_w)",
                        &record[2]
                    ));
                }
                if value.is_none() {
                    bad(format!("value '{}' is not a finite number", &record[3]));
                }
            }
        }
    }
    let batches = rows
        .into_iter()
        .map(|((at, device), samples)| Batch {
            device: Arc::from(device.as_str()),
            at,
            samples,
            poll: PollStatus::Ok,
            poll_ms: 0.0,
        })
        .collect();
    Ok((batches, problems))
}
