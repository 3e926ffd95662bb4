//! `kilowatch pue --config FILE --from T --to T`: PUE and energy per metering point from the
//! embedded store.

use std::process::ExitCode;

use anyhow::Context;
use kilowatch_analyzer::pue::{self, Pue};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: crate::cmd::args::SourceArgs,
    #[command(flatten)]
    window: crate::cmd::window::WindowArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let window = args.window.window("24h")?;
    let store = args.source.open(&config)?;
    let ratings = pue::ratings(&config);
    let opts = pue::Options {
        ratings: &ratings,
        ..pue::Options::default()
    };
    let mut reports = Vec::new();
    for site in &config.sites {
        let range = crate::cmd::window::resolve(&window, &site.timezone)
            .with_context(|| format!("site '{}'", site.id))?;
        reports.push(pue::site_pue(&*store, &site.id, range, opts)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reports {
        println!("site {}", r.site);
        match &r.facility {
            Some(f) => println!(
                "  E_DC  {:>12.3} kWh  coverage {:>5.1} %",
                f.kwh,
                f.coverage * 100.0
            ),
            None => println!("  E_DC  no facility meter data"),
        }
        for (cat, e) in &r.it {
            println!(
                "  E_IT{cat} {:>12.3} kWh  coverage {:>5.1} %",
                e.kwh,
                e.coverage * 100.0
            );
        }
        for p in r.pue.values() {
            match p {
                Pue::Value {
                    pue,
                    dcie_pct,
                    label,
                } => println!("  {label}: {pue:.3} (DCiE {dcie_pct:.1} %)"),
                Pue::DataError { reason } => println!("  data error: {reason}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn parse_time(s: &str, relative_to: i64) -> anyhow::Result<i64> {
    if s == "now" {
        return Ok(relative_to);
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(relative_to - d.as_millis() as i64);
    }
    kilowatch_core::timefmt::parse_rfc3339(s)
        .map_err(|e| anyhow::anyhow!("'{s}' is neither a duration (\"24h\") nor a time: {e}"))
}
