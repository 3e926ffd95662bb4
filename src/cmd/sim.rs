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
    /// Run the physics this many times faster than real time (overrides the config's `speed`).
    #[arg(long)]
    speed: Option<f64>,
    /// With a speed: the instant (RFC 3339) at which simulated and real time agree; give
    /// `collect --speed-epoch` the same one so the collector stamps on the simulator's clock.
    #[arg(long, value_name = "TIME", value_parser = super::collect::parse_epoch)]
    speed_epoch: Option<i64>,
    /// With --speed-epoch: the simulated time at that instant (default: the epoch itself), e.g.
    /// 2025-01-01T00:00:00+08:00 to replay a past year; give sim and collect the same one.
    #[arg(long, value_name = "TIME", value_parser = super::collect::parse_epoch, requires = "speed_epoch")]
    sim_start: Option<i64>,
    /// Write a collector inventory for the simulated devices here.
    #[arg(long)]
    inventory: Option<PathBuf>,
    /// Serve an estate of N sites (ids dc01…) that differ in size, cooling efficiency (so
    /// PUE), rack budgets and cooling capacity, for consolidation planning.
    #[arg(long, value_name = "N")]
    estate: Option<usize>,
    /// Serve N benchmark SNMP agents instead (20 values per GET each, one port each), plus the
    /// --scale-modbus servers and two site meters.
    #[arg(long, value_name = "N")]
    scale_snmp: Option<usize>,
    #[arg(long, value_name = "M", default_value_t = 0)]
    scale_modbus: usize,
    /// Serve N benchmark servers' BMCs over Redfish (sessions; with --response-ms, as slow as
    /// real BMCs: e.g. 1000..2000); can go with --scale-snmp or alone.
    #[arg(long, value_name = "N", default_value_t = 0)]
    scale_redfish: usize,
    /// How the simulated site's servers are read: "snmp" (host agent and iDRAC MIB) or
    /// "redfish" (their BMC only).
    #[arg(long, value_name = "PROTOCOL")]
    servers: Option<ServerProtocolArg>,
    /// At scale: answer delay of healthy devices, drawn uniformly per request (ms).
    #[arg(long, value_name = "MIN..MAX", default_value = "0.2..2", value_parser = parse_range)]
    response_ms: (f64, f64),
    /// At scale: share of devices that never answer.
    #[arg(long, default_value_t = 0.0)]
    dead_share: f64,
    /// At scale: share of devices that answer only after --slow-ms.
    #[arg(long, default_value_t = 0.0)]
    slow_share: f64,
    #[arg(long, default_value_t = 3000.0)]
    slow_ms: f64,
    /// Make this simulated device fail after --fail-after (an SNMP agent stops answering, a
    /// Modbus gateway answers with exceptions, a BMC with 503), to watch alerts fire.
    #[arg(long, value_name = "ID")]
    fail_device: Option<String>,
    /// When --fail-device fails, from the start.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    fail_after: std::time::Duration,
    /// How long after failing it answers again (default: never), to watch alerts resolve.
    #[arg(long, value_parser = humantime::parse_duration)]
    restore_after: Option<std::time::Duration>,
    /// At scale: first port (devices take consecutive ports); 0 lets the OS choose.
    #[arg(long, default_value_t = 0)]
    first_port: u16,
}

/// `--servers snmp|redfish`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServerProtocolArg {
    Snmp,
    Redfish,
}

impl From<ServerProtocolArg> for kilowatch_sim::ServerProtocol {
    fn from(p: ServerProtocolArg) -> kilowatch_sim::ServerProtocol {
        match p {
            ServerProtocolArg::Snmp => kilowatch_sim::ServerProtocol::Snmp,
            ServerProtocolArg::Redfish => kilowatch_sim::ServerProtocol::Redfish,
        }
    }
}

fn parse_range(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s.split_once("..").ok_or("expected MIN..MAX, e.g. 0.2..2")?;
    let (a, b): (f64, f64) = (
        a.trim()
            .parse()
            .map_err(|_| format!("'{a}' is not a number"))?,
        b.trim()
            .parse()
            .map_err(|_| format!("'{b}' is not a number"))?,
    );
    if !(a >= 0.0 && b >= a) {
        return Err("need 0 <= MIN <= MAX".into());
    }
    Ok((a, b))
}

async fn run_scale(
    args: &Args,
    n: usize,
    config: &SimConfig,
    clock: Clock,
) -> anyhow::Result<ExitCode> {
    for (name, v) in [
        ("--dead-share", args.dead_share),
        ("--slow-share", args.slow_share),
    ] {
        if !(0.0..=1.0).contains(&v) {
            anyhow::bail!("{name} must be between 0 and 1");
        }
    }
    let scale = kilowatch_sim::scale::ScaleConfig {
        snmp_devices: n,
        modbus_devices: args.scale_modbus,
        redfish_devices: args.scale_redfish,
        response_min_ms: args.response_ms.0,
        response_max_ms: args.response_ms.1,
        dead_share: args.dead_share,
        slow_share: args.slow_share,
        slow_ms: args.slow_ms,
        first_port: args.first_port,
        community: config.community.clone(),
        speed: config.speed,
    };
    let sim = kilowatch_sim::scale::RunningScale::start(scale, clock)
        .await
        .context("start the simulated devices (raise `ulimit -n` for thousands)")?;
    let (dead, slow) = sim.devices.iter().fold((0, 0), |(d, s), x| {
        (d + usize::from(x.dead), s + usize::from(x.slow))
    });
    println!("{} devices: {dead} silent, {slow} slow", sim.devices.len());
    serve(args.inventory.as_deref(), |c, s, i, t| {
        sim.inventory_toml(c, s, i, t)
    })
    .await?;
    sim.shutdown();
    Ok(ExitCode::SUCCESS)
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config: SimConfig = match &args.config {
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .with_context(|| format!("read '{}'", path.display()))?;
            toml::from_str(&src).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => SimConfig::default(),
    };
    if let Some(speed) = args.speed {
        config.speed = speed;
    }
    let clock = if (config.speed - 1.0).abs() < f64::EPSILON {
        Clock::System
    } else if let Some(epoch) = args.speed_epoch {
        Clock::accelerated_from(epoch, args.sim_start.unwrap_or(epoch), config.speed)
    } else {
        Clock::accelerated(config.speed)
    };
    if args.scale_snmp.is_some() || args.scale_redfish > 0 {
        return run_scale(&args, args.scale_snmp.unwrap_or(0), &config, clock).await;
    }
    if let Some(p) = args.servers {
        config.server_protocol = p.into();
    }
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
    let sims = std::sync::Arc::new(sims);
    if let Some(id) = args.fail_device.clone() {
        if !sims.iter().any(|s| s.devices.iter().any(|d| d.id == id)) {
            anyhow::bail!("--fail-device: no simulated device '{id}'");
        }
        let (sims, after, restore) = (sims.clone(), args.fail_after, args.restore_after);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            sims.iter().for_each(|s| _ = s.fail_device(&id, true));
            println!("{id} failed");
            if let Some(r) = restore {
                tokio::time::sleep(r).await;
                sims.iter().for_each(|s| _ = s.fail_device(&id, false));
                println!("{id} answers again");
            }
        });
    }
    serve(args.inventory.as_deref(), |c, s, i, t| {
        kilowatch_sim::estate_inventory(&sims, c, s, i, t)
    })
    .await?;
    for s in sims.iter() {
        s.shutdown();
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the collector inventory (community by reference, store, interval, timeout) when asked,
/// then serves until Ctrl-C.
async fn serve(
    inventory: Option<&std::path::Path>,
    text: impl FnOnce(&str, &str, &str, &str) -> String,
) -> anyhow::Result<()> {
    if let Some(path) = inventory {
        let inv = text("env:KILOWATCH_SIM_COMMUNITY", "kilowatch.db", "10s", "2s");
        std::fs::write(path, inv).with_context(|| format!("write '{}'", path.display()))?;
        println!(
            "inventory written to {} (set KILOWATCH_SIM_COMMUNITY to the sim's community)",
            path.display()
        );
    }
    println!("serving; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
