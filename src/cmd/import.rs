//! `kilowatch import`: history people already have (BMS meter exports) into the embedded store,
//! all or nothing, so a planner can analyse a year without live devices.
//!
//! CSV: a header `time,device,field,value`, then one reading per row: RFC 3339 time, a device
//! id from the config (which gives site, room, rack, role and category), a canonical field name
//! (`energy_kwh`, `active_power_w`, ...) and a number. Line protocol (`--lp`): points in the
//! canonical schema (measurement, tags including `device`, fields), millisecond timestamps.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kilowatch_store::{SqliteStore, import};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: crate::cmd::args::StoreArgs,
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
    let config = match args.store.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (input, (batches, problems, order)) = match (&args.csv, &args.lp) {
        (Some(csv), _) => {
            let file =
                std::fs::File::open(csv).with_context(|| format!("read '{}'", csv.display()))?;
            (
                csv.clone(),
                import::parse_csv_ordered(file, &csv.display().to_string(), &config),
            )
        }
        (None, Some(lp)) => {
            let text =
                std::fs::read_to_string(lp).with_context(|| format!("read '{}'", lp.display()))?;
            let (batches, problems) = import::parse_lp(
                &text,
                &lp.display().to_string(),
                &config,
                args.precision.into(),
            );
            (lp.clone(), (batches, problems, import::RowOrder::default()))
        }
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
    let path = args.store.store_path(&config);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create data directory '{}'", dir.display()))?;
    }
    let store = SqliteStore::open(&path)?;
    // Importing again corrects values: an imported reading replaces one at the same time.
    let n = store.write_replacing(&batches)?;
    println!(
        "imported {n} readings from {} into {}",
        input.display(),
        path.display()
    );
    // A repeated or out-of-order row is not an error, but a reader of the export should know.
    if order.duplicates > 0 {
        println!(
            "{} duplicate row(s): device, field and time already read, the last one kept ({} with a different value)",
            order.duplicates, order.conflicting
        );
    }
    if order.out_of_order > 0 {
        println!(
            "{} row(s) out of time order for their device and field: sorted",
            order.out_of_order
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    Ns,
    Us,
    Ms,
    S,
}

impl From<Precision> for import::Precision {
    fn from(p: Precision) -> import::Precision {
        match p {
            Precision::Ns => import::Precision::Ns,
            Precision::Us => import::Precision::Us,
            Precision::Ms => import::Precision::Ms,
            Precision::S => import::Precision::S,
        }
    }
}
