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
    #[arg(long, required_unless_present = "lp", conflicts_with = "lp")]
    csv: Option<PathBuf>,
    /// InfluxDB line protocol in the canonical schema (tag `device` required, `point` optional).
    #[arg(long)]
    lp: Option<PathBuf>,
    /// Timestamp precision of the line protocol.
    #[arg(long, value_enum, default_value = "ns")]
    precision: Precision,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match crate::cmd::load_config(&args.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (input, (batches, problems)) = match (&args.csv, &args.lp) {
        (Some(csv), _) => (csv.clone(), read_csv(csv, &config)?),
        (None, Some(lp)) => (lp.clone(), read_lp(lp, &config, args.precision)?),
        (None, None) => anyhow::bail!("give --csv FILE or --lp FILE"),
    };
    if !problems.is_empty() {
        for p in problems.iter().take(50) {
            eprintln!("{p}");
        }
        if problems.len() > 50 {
            eprintln!("... and {} more", problems.len() - 50);
        }
        eprintln!(
            "{}: {} bad row(s); nothing was imported",
            input.display(),
            problems.len()
        );
        return Ok(ExitCode::from(2));
    }
    let path = crate::cmd::store_path(&config, args.data.as_deref());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create data directory '{}'", dir.display()))?;
    }
    let store = SqliteStore::open(&path)?;
    let n = store.write(&batches)?;
    println!(
        "imported {n} readings from {} into {}",
        input.display(),
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
    let batches = to_batches(rows);
    Ok((batches, problems))
}

/// Line protocol in the canonical schema: `measurement,device=ID[,point=P] field=value[,...] ts`.
/// Tags other than `device` and `point` are taken from the inventory, like CSV rows.
fn read_lp(
    path: &Path,
    config: &Config,
    precision: Precision,
) -> anyhow::Result<(Vec<Batch>, Vec<String>)> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("read '{file}'"))?;
    let mut series: BTreeMap<(String, Field, String), Arc<Series>> = BTreeMap::new();
    let mut rows: BTreeMap<(Timestamp, String), Vec<Sample>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut bad = |what: String| problems.push(format!("{file}:{line_no}: {what}"));
        let parts = split_unescaped(line, ' ');
        let [key, fields, ts] = parts.as_slice() else {
            bad("expected 'measurement,tags fields timestamp'".into());
            continue;
        };
        let key_parts = split_unescaped(key, ',');
        let measurement = unescape(&key_parts[0]);
        let mut tags = BTreeMap::new();
        for kv in &key_parts[1..] {
            match split_unescaped(kv, '=').as_slice() {
                [k, v] => {
                    tags.insert(unescape(k), unescape(v));
                }
                _ => bad(format!("tag '{kv}' is not key=value")),
            }
        }
        let Some(device) = tags
            .get("device")
            .and_then(|id| config.devices.iter().find(|d| &d.id == id))
        else {
            bad(format!(
                "tag device '{}' is not in {}",
                tags.get("device").map_or("", String::as_str),
                config.path.display()
            ));
            continue;
        };
        let at = match ts.parse::<i64>() {
            Ok(t) => precision.to_ms(t),
            Err(_) => {
                bad(format!("timestamp '{ts}' is not an integer"));
                continue;
            }
        };
        let point = tags.get("point").cloned().unwrap_or_default();
        for fv in split_unescaped(fields, ',') {
            let [k, v] = split_unescaped(&fv, '=')
                .try_into()
                .unwrap_or_else(|_| [String::new(), String::new()]);
            let Some(field) = Field::from_name(&unescape(&k)) else {
                bad(format!("field '{k}' is not a canonical field"));
                continue;
            };
            if field.measurement().name() != measurement {
                bad(format!(
                    "field '{k}' belongs to measurement '{}', not '{measurement}'",
                    field.measurement().name()
                ));
                continue;
            }
            let Some(value) = v
                .trim_end_matches('i')
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
            else {
                bad(format!("value '{v}' of '{k}' is not a number"));
                continue;
            };
            let s = series
                .entry((device.id.clone(), field, point.clone()))
                .or_insert_with(|| {
                    Arc::new(device.series(field, (!point.is_empty()).then_some(point.as_str())))
                })
                .clone();
            rows.entry((at, device.id.clone()))
                .or_default()
                .push(Sample {
                    series: s,
                    field,
                    value,
                });
        }
    }
    Ok((to_batches(rows), problems))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    Ns,
    Us,
    Ms,
    S,
}

impl Precision {
    fn to_ms(self, t: i64) -> i64 {
        match self {
            Precision::Ns => t / 1_000_000,
            Precision::Us => t / 1_000,
            Precision::Ms => t,
            Precision::S => t * 1000,
        }
    }
}

/// Splits at `sep` where it is neither escaped with a backslash nor inside double quotes.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut escaped, mut quoted) = (false, false);
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                cur.push(c);
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && chars
                .peek()
                .is_some_and(|n| [',', '=', ' ', '"', '\\'].contains(n))
        {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn to_batches(rows: BTreeMap<(Timestamp, String), Vec<Sample>>) -> Vec<Batch> {
    rows.into_iter()
        .map(|((at, device), samples)| Batch {
            device: Arc::from(device.as_str()),
            at,
            samples,
            poll: PollStatus::Ok,
            poll_ms: 0.0,
        })
        .collect()
}
