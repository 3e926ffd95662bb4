//! `kilowatch store stats|compact|export --data DIR`: look after the embedded store. These need
//! only the data directory, not the inventory, so no secret has to be resolvable to use them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kilowatch_core::model::Field;
use kilowatch_store::samples::block_of;
use kilowatch_store::{Aggregate, ReadStore, Selector, SqliteStore, TimeRange, Window};

use crate::cmd::pue::parse_time;

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Samples and bytes in each tier (head, chunks, five-minute roll-ups) and on disk.
    Stats {
        #[command(flatten)]
        store: Target,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move the readings of closed two-hour blocks from the head into compressed chunks now
    /// (the collector does this every minute on its own).
    Compact {
        #[command(flatten)]
        store: Target,
        /// Every reading, the open block's too (before a backup or a measurement).
        #[arg(long)]
        all: bool,
    },
    /// Print stored readings as CSV: `series,field,ts_ms,value`.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct Target {
    /// The data directory holding `kilowatch.db`.
    #[arg(long)]
    data: PathBuf,
}

impl Target {
    fn open(&self) -> anyhow::Result<SqliteStore> {
        let path = self.data.join("kilowatch.db");
        anyhow::ensure!(path.exists(), "no store at '{}'", path.display());
        Ok(SqliteStore::open(&path)?)
    }
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    store: Target,
    /// The field, e.g. `active_power_w`, `energy_kwh`, `up`.
    #[arg(long)]
    field: String,
    /// Only series with this tag (`key=value`); repeatable.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
    /// Window start: RFC 3339 time, or a duration before `--to` ("24h").
    #[arg(long, default_value = "24h")]
    from: String,
    /// Window end: RFC 3339 time, or "now".
    #[arg(long, default_value = "now")]
    to: String,
    /// Aggregate into windows of this length (e.g. "15m"); raw readings when omitted.
    #[arg(long, value_parser = humantime::parse_duration)]
    every: Option<std::time::Duration>,
    /// How `--every` aggregates.
    #[arg(long, value_enum, default_value = "mean")]
    aggregate: Agg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Agg {
    Mean,
    Min,
    Max,
    Last,
}

pub fn run(which: Which) -> anyhow::Result<ExitCode> {
    match which {
        Which::Stats { store, json } => stats(&store, json),
        Which::Compact { store, all } => {
            let s = store.open()?;
            let now = kilowatch_core::clock::Clock::System.now_ms();
            let before = if all { i64::MAX } else { block_of(now) };
            let moved = s.compact(before)?;
            println!("moved {moved} readings from the head into chunks");
            Ok(ExitCode::SUCCESS)
        }
        Which::Export(args) => export(&args),
    }
}

fn stats(target: &Target, json: bool) -> anyhow::Result<ExitCode> {
    let store = target.open()?;
    let f = store.footprint()?;
    let file: u64 = std::fs::read_dir(&target.data)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("kilowatch.db"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let samples = f.head_samples + f.chunk_samples;
    let per = |bytes: i64, n: i64| (n > 0).then(|| bytes as f64 / n as f64);
    if json {
        let v = serde_json::json!({
            "samples": samples,
            "head_samples": f.head_samples,
            "head_bytes": f.head_bytes,
            "chunk_samples": f.chunk_samples,
            "chunk_bytes": f.chunk_bytes,
            "chunk_bytes_per_sample": per(f.chunk_bytes, f.chunk_samples),
            "rollup_buckets": f.rollup_buckets,
            "rollup_bytes": f.rollup_bytes,
            "outbox_bytes": f.outbox_bytes,
            "file_bytes": file,
            "file_bytes_per_sample": per(file as i64, samples),
        });
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    let show = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.2}"));
    println!("tier        samples        bytes   bytes/sample");
    println!(
        "head     {:>10} {:>12} {:>14}",
        f.head_samples,
        f.head_bytes,
        show(per(f.head_bytes, f.head_samples))
    );
    println!(
        "chunks   {:>10} {:>12} {:>14}",
        f.chunk_samples,
        f.chunk_bytes,
        show(per(f.chunk_bytes, f.chunk_samples))
    );
    println!(
        "roll-ups {:>10} {:>12}   (five-minute buckets)",
        f.rollup_buckets, f.rollup_bytes
    );
    if f.outbox_bytes > 0 {
        println!(
            "outbox   {:>10} {:>12}   (queued for a sink)",
            "", f.outbox_bytes
        );
    }
    println!(
        "file     {:>10} {:>12} {:>14}",
        samples,
        file,
        show(per(file as i64, samples))
    );
    Ok(ExitCode::SUCCESS)
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let Some(field) = Field::from_name(&args.field) else {
        anyhow::bail!("--field: '{}' is not a field kilowatch stores", args.field);
    };
    let mut sel = Selector::field(field);
    for t in &args.tags {
        let (k, v) = t
            .split_once('=')
            .with_context(|| format!("--tag '{t}': expected KEY=VALUE"))?;
        sel = sel.tag(k, v);
    }
    let now = kilowatch_core::clock::Clock::System.now_ms();
    let to = parse_time(&args.to, now).context("--to")?;
    let from = parse_time(&args.from, to).context("--from")?;
    let window = args.every.map(|e| Window {
        every_ms: e.as_millis() as i64,
        aggregate: match args.aggregate {
            Agg::Mean => Aggregate::Mean,
            Agg::Min => Aggregate::Min,
            Agg::Max => Aggregate::Max,
            Agg::Last => Aggregate::Last,
        },
    });
    let store = args.store.open()?;
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record(["series", "field", "ts_ms", "value"])?;
    for s in store.find(&sel)? {
        for p in store.read(&s, TimeRange { from, to }, window)? {
            out.write_record([
                s.key.as_str(),
                field.name(),
                &p.ts.to_string(),
                &p.value.to_string(),
            ])?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
