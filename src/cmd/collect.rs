//! `kilowatch collect --config FILE`: poll the inventory into the embedded store.

use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;

use kilowatch_core::clock::Clock;
use kilowatch_store::SqliteStore;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: crate::cmd::args::StoreArgs,
    /// Also forward to a central engine. InfluxDB: `http://HOST:PORT?db=NAME` (v1 /write,
    /// optional `rp=`, user as `http://USER@HOST...`) or `http://HOST:PORT?org=ORG&bucket=BUCKET`
    /// (v2); the token or password comes from KILOWATCH_INFLUX_TOKEN / KILOWATCH_INFLUX_PASSWORD.
    /// VictoriaMetrics: `vm://HOST:PORT[/PREFIX]` or `vm+https://HOST[:PORT][/PREFIX][?ca=PATH]`
    /// (a cluster: vminsert's `vm://HOST:8480/insert/0/influx`); a bearer token from
    /// KILOWATCH_VM_TOKEN. Never a credential in the URL.
    #[arg(long, visible_alias = "central")]
    influx: Option<String>,
    /// Serve self-monitoring of the InfluxDB path as Prometheus text at http://ADDR/metrics
    /// (e.g. 127.0.0.1:9901).
    #[arg(long, requires = "influx")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Poll only this site's devices (repeatable; overrides `collector.sites`), so one estate
    /// inventory serves a collector per site.
    #[arg(long = "site", value_name = "SITE")]
    sites: Vec<String>,
    /// Stamp readings on a clock this many times faster than real time, from now on: for
    /// accelerated soak runs against a simulator (a day of compaction and retention in
    /// minutes). Polling keeps the inventory's real interval.
    #[arg(long, default_value_t = 1.0, hide_default_value = true)]
    speed: f64,
    /// With --speed: the instant (RFC 3339) at which simulated and real time agree, so that
    /// processes given the same one share a clock (a collector pair and its simulator, `sim
    /// --speed-epoch`); default: this start.
    #[arg(long, value_name = "TIME", value_parser = parse_epoch, requires = "speed")]
    speed_epoch: Option<i64>,
    /// With --speed-epoch: the simulated time at that instant (default: the epoch itself), e.g.
    /// 2025-01-01T00:00:00+08:00 to replay a past year; give sim and collect the same one.
    #[arg(long, value_name = "TIME", value_parser = parse_epoch, requires = "speed_epoch")]
    sim_start: Option<i64>,
}

/// An RFC 3339 instant as ms since the Unix epoch.
pub(crate) fn parse_epoch(s: &str) -> Result<i64, String> {
    kilowatch_core::timefmt::parse_rfc3339(s).map_err(|e| e.to_string())
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = match args.store.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if !args.sites.is_empty()
        && let Err(code) = only_sites(&mut config, &args.sites)
    {
        return Ok(code);
    }
    narrow(&mut config);
    let store_path = args.store.store_path(&config);
    if let Some(dir) = store_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create data directory '{}'", dir.display()))?;
    }
    crate::cmd::auto::resolve(
        &mut config,
        store_path.parent().unwrap_or(std::path::Path::new(".")),
    )
    .await;
    let store = Arc::new(SqliteStore::open(&store_path)?);
    anyhow::ensure!(
        args.speed.is_finite() && args.speed > 0.0,
        "--speed must be a positive number"
    );
    let clock = if args.speed == 1.0 {
        Clock::System
    } else if let Some(epoch) = args.speed_epoch {
        Clock::accelerated_from(epoch, args.sim_start.unwrap_or(epoch), args.speed)
    } else {
        Clock::accelerated(args.speed)
    };
    let cancel = CancellationToken::new();
    let data_dir = store_path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_owned();
    let metrics = match args.metrics_listen {
        Some(addr) => Some(
            std::net::TcpListener::bind(addr)
                .map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: {e}"))?,
        ),
        None => None,
    };
    let sink = crate::pipeline::influx_sink(
        args.influx.as_deref(),
        config.influx.as_ref(),
        &store,
        &data_dir,
    )?;
    let mut pipeline =
        crate::pipeline::start(&config, store, clock, cancel.clone(), sink, metrics)?;
    tracing::info!(devices = config.devices.len(), store = %config.store.path.display(), "collecting");
    // Only what a reload compares is kept: the inventory itself was 5 MB at 10,000 devices, and
    // a reload reads it afresh.
    let running = Running {
        sites: args.sites.clone(),
        store: config.store.path.clone(),
        influx: config.influx.is_some(),
        data_dir: data_dir.clone(),
    };
    drop(config);
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = hup.recv() => reload(&args.store.config, &running, &mut pipeline).await,
        }
    }
    cancel.cancel();
    pipeline.finish().await;
    Ok(ExitCode::SUCCESS)
}

/// What a reload needs of the configuration the collector started with.
struct Running {
    /// `--site`, applied to every reload.
    sites: Vec<String>,
    store: std::path::PathBuf,
    influx: bool,
    data_dir: std::path::PathBuf,
}

/// SIGHUP: the inventory is read again; if it is valid, its devices are polled from now on,
/// otherwise every problem is logged and the running devices carry on. The store, the outbox and
/// the InfluxDB sink stay as they are (a new `[store]` or `[influx]` needs a restart).
async fn reload(
    path: &std::path::Path,
    running: &Running,
    pipeline: &mut crate::pipeline::Pipeline,
) {
    match kilowatch_core::config::Config::load(path) {
        Ok(mut new) => {
            if !running.sites.is_empty() && only_sites(&mut new, &running.sites).is_err() {
                tracing::error!(
                    "reload refused: a --site is no longer in the inventory; still polling the previous one"
                );
                return;
            }
            narrow(&mut new);
            crate::cmd::auto::resolve(&mut new, &running.data_dir).await;
            if new.store.path != running.store || new.influx.is_some() != running.influx {
                tracing::warn!("reload: [store] and [influx] changes take effect after a restart");
            }
            pipeline.reload(&new).await;
            tracing::warn!(devices = new.devices.len(), config = %path.display(), "reloaded the inventory");
        }
        Err(problems) => {
            for p in &problems {
                tracing::error!(problem = %p, "reload refused; still polling the previous inventory");
            }
        }
    }
}

/// `--site`: the sites must be in the inventory (exit 2 naming the one that is not).
fn only_sites(
    config: &mut kilowatch_core::config::Config,
    sites: &[String],
) -> Result<(), ExitCode> {
    if let Some(s) = sites
        .iter()
        .find(|s| !config.sites.iter().any(|k| &k.id == *s))
    {
        let known: Vec<&str> = config.sites.iter().map(|k| k.id.as_str()).collect();
        eprintln!(
            "--site {s}: no such site in {}; it has {}",
            config.path.display(),
            known.join(", ")
        );
        return Err(ExitCode::from(2));
    }
    config.collector.sites = sites.to_vec();
    Ok(())
}

/// Keeps this collector's devices: its sites', and its share among `collector.peers`.
fn narrow(config: &mut kilowatch_core::config::Config) {
    let others = kilowatch_collector::share::keep_mine(config);
    if others > 0 {
        tracing::info!(
            collector = %config.collector.name,
            polled = config.devices.len(),
            left_to_others = others,
            "polling this collector's share of the inventory"
        );
    }
}
