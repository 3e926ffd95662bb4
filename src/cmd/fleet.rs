//! `kilowatch fleet --source URL`: the estate's collectors from their heartbeats in the central
//! engine (or one collector's own, from its embedded store with `--data`): which are silent,
//! which are behind on forwarding, which have devices down.

use std::process::ExitCode;

use kilowatch_analyzer::fleet::{Collector, State, collectors};
use kilowatch_store::ReadStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The central engine: `vm://HOST:PORT` (VictoriaMetrics) or an InfluxDB URL as for
    /// `collect --influx`.
    #[arg(long, conflicts_with = "data")]
    source: Option<String>,
    /// A collector's data directory (its own heartbeat only).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// A collector is silent when its newest heartbeat is older than this many of its
    /// heartbeat periods: two by default, so a collector killed just after a heartbeat shows
    /// silent within two heartbeats, and one whose heartbeat is a second late on its way
    /// through the outbox and the central engine does not.
    #[arg(long, default_value_t = 2.0)]
    silent_after: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Exit 1 when a collector is silent (for a cron job or a monitoring check).
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store: Box<dyn ReadStore> = match (&args.source, &args.data) {
        (Some(url), _) => crate::cmd::remote_reader(url)?,
        (None, Some(dir)) => {
            let path = dir.join("kilowatch.db");
            anyhow::ensure!(path.exists(), "no store at '{}'", path.display());
            Box::new(kilowatch_store::SqliteStore::open(&path)?)
        }
        (None, None) => anyhow::bail!("give --source URL (the central engine) or --data DIR"),
    };
    let now = kilowatch_core::clock::Clock::System.now_ms();
    let fleet = collectors(&*store, now, args.silent_after)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fleet)?);
    } else {
        print_table(&fleet);
    }
    let silent = fleet.iter().any(|c| c.state == State::Silent);
    Ok(if args.check && silent {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_table(fleet: &[Collector]) {
    if fleet.is_empty() {
        println!("no collector heartbeats in this source");
        return;
    }
    let n = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
    println!(
        "{:<20} {:<16} {:<9} {:>10} {:>9} {:>10} {:>10} {:>10}  why",
        "collector", "sites", "state", "heartbeat", "devices", "outbox", "oldest s", "write s"
    );
    for c in fleet {
        let state = match c.state {
            State::Ok => "ok",
            State::Degraded => "degraded",
            State::Behind => "behind",
            State::Silent => "SILENT",
        };
        println!(
            "{:<20} {:<16} {:<9} {:>8.0}s {:>9} {:>10} {:>10} {:>10}  {}",
            c.collector,
            c.sites,
            state,
            c.heartbeat_age_s,
            format!("{}/{}", n(c.devices_up), n(c.devices_total)),
            n(c.outbox_points),
            n(c.outbox_oldest_s),
            n(c.last_write_age_s),
            c.reason.as_deref().unwrap_or("")
        );
    }
}
