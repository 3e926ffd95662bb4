//! `kilowatch sim --config FILE`: serve a simulated site until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kilowatch_core::clock::Clock;
use kilowatch_sim::{RunningSim, SimConfig};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Simulator settings (TOML: site, racks, servers_per_rack, speed, port_base, community,
    /// slow_devices, slow_delay). Defaults are used for anything left out.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write a collector inventory for the simulated devices here.
    #[arg(long)]
    inventory: Option<PathBuf>,
    /// Serve an estate of N sites (ids dc01…) that differ in size, cooling efficiency (so
    /// PUE), rack budgets and cooling capacity, for consolidation planning.
    #[arg(long, value_name = "N")]
    estate: Option<usize>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config: SimConfig = match &args.config {
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .with_context(|| format!("read '{}'", path.display()))?;
            toml::from_str(&src).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => SimConfig::default(),
    };
    let clock = if (config.speed - 1.0).abs() < f64::EPSILON {
        Clock::System
    } else {
        Clock::accelerated(config.speed)
    };
    let configs = match args.estate {
        Some(n) => config.estate(n),
        None => vec![config],
    };
    let mut sims = Vec::new();
    for c in configs {
        let site = c.site.clone();
        sims.push(
            RunningSim::start(c, clock)
                .await
                .with_context(|| format!("start simulated site {site}"))?,
        );
    }
    for d in sims.iter().flat_map(|s| &s.devices) {
        println!("{:<20} {:<22} {}", d.id, d.profile, d.address);
    }
    if let Some(path) = &args.inventory {
        let inv = kilowatch_sim::estate_inventory(
            &sims,
            "env:KILOWATCH_SIM_COMMUNITY",
            "kilowatch.db",
            "10s",
            "2s",
        );
        std::fs::write(path, inv).with_context(|| format!("write '{}'", path.display()))?;
        println!(
            "inventory written to {} (set KILOWATCH_SIM_COMMUNITY to the sim's community)",
            path.display()
        );
    }
    println!("serving; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    for s in &sims {
        s.shutdown();
    }
    Ok(ExitCode::SUCCESS)
}
