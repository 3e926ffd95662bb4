//! `kilowatch demo`: the simulated site, the collector and the embedded store in one process,
//! after a simulated past (`history`) so every screen and report has something to show.

mod history;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kilowatch_analyzer::pue::{self, Pue};
use kilowatch_core::clock::{Clock, Replay};
use kilowatch_core::config::Config;
use kilowatch_core::model::{Category, Field, Role};
use kilowatch_sim::{RunningSim, SimConfig};
use kilowatch_store::{ReadStore, Selector, SqliteStore, StatusStore, TimeRange};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON line per collection cycle instead of the live view.
    #[arg(long)]
    headless: bool,
    /// Stop after this long (e.g. "30s", "5m"); runs until Ctrl-C when omitted.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Keep the store and the generated `demo.toml` here (default: a temporary directory).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// How much past to simulate before going live: polled through the simulated devices'
    /// protocols at accelerated speed in seconds, with a daily cycle, a comatose server, a hot
    /// rack and a utility outage the UPS rode through. "0s" starts with an empty store.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    history: Duration,
    /// One poll of every device per this much simulated history.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    history_step: Duration,
    /// Simulate an estate of N sites (dc01…) that differ in size, cooling efficiency and PUE.
    #[arg(long, value_name = "N")]
    estate: Option<usize>,
    /// Poll interval, in real time.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Racks in the simulated hall.
    #[arg(long, default_value_t = 2)]
    racks: usize,
    /// Servers per rack.
    #[arg(long, default_value_t = 5)]
    servers_per_rack: usize,
    /// How the simulated servers are read: "snmp" (host agent and iDRAC MIB) or "redfish"
    /// (their BMC only, as in estates that turn SNMP off on servers).
    #[arg(long, value_name = "PROTOCOL", default_value = "snmp")]
    servers: super::sim::ServerProtocolArg,
    /// Make this simulated device fail (stop answering) after `--fail-after`, to see the alarms.
    #[arg(long)]
    fail_device: Option<String>,
    /// When `--fail-device` fails.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    fail_after: Duration,
    /// Also forward to InfluxDB or VictoriaMetrics (`vm://HOST:PORT`; see `kilowatch collect
    /// --help`).
    #[arg(long, visible_alias = "central")]
    influx: Option<String>,
    /// Serve self-monitoring of the InfluxDB path as Prometheus text at http://ADDR/metrics
    /// (e.g. 127.0.0.1:9901).
    #[arg(long, requires = "influx")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    lang: crate::cmd::args::LangArgs,
}

/// One line of `--headless` output.
#[derive(Debug, Serialize)]
pub struct Cycle {
    pub ts: i64,
    pub site: String,
    pub facility_power_w: Option<f64>,
    pub it_power_w: Option<f64>,
    /// Energy-based PUE from the start of the run to now, at the most downstream category.
    pub pue: Option<f64>,
    pub pue_label: Option<String>,
    pub facility_kwh: Option<f64>,
    pub it_kwh: Option<f64>,
    pub devices_up: usize,
    pub devices_total: usize,
}

impl Args {
    pub fn headless(&self) -> bool {
        self.headless
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let temp;
    let dir = match &args.data {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("create data directory '{}'", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().context("create a temporary data directory")?;
            temp.path().to_owned()
        }
    };
    let speed = args.speed.max(0.001);
    let live = if (speed - 1.0).abs() < f64::EPSILON {
        Clock::System
    } else {
        Clock::accelerated(speed)
    };
    // The past, replayed: the simulator and the collector share a clock the collector steps.
    let to = live.now_ms();
    let from = to - args.history.as_millis() as i64;
    let replay = (from < to).then(|| Replay::leak(from, live));
    let clock = replay.map_or(live, Clock::Replay);
    let community = std::env::var("KILOWATCH_SIM_COMMUNITY")
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("kw-{:016x}", fastrand_u64()));
    let one = SimConfig {
        racks: args.racks.max(1),
        servers_per_rack: args.servers_per_rack.max(1),
        speed,
        community: community.clone(),
        server_protocol: args.servers.into(),
        ..SimConfig::default()
    };
    let mut configs = match args.estate {
        Some(n) => one.estate(n.max(1)),
        None => vec![one],
    };
    // The outage happens at the first site; every site has its hot rack.
    for (i, c) in configs.iter_mut().enumerate() {
        let mut story = history::story(from, to, c.racks);
        if i > 0 {
            story.outage = None;
        }
        c.story = story;
    }
    let mut sims = Vec::with_capacity(configs.len());
    for c in configs {
        let site = c.site.clone();
        sims.push(
            RunningSim::start(c, clock)
                .await
                .with_context(|| format!("start the simulated site {site}"))?,
        );
    }

    // The community goes in a file beside the config, readable only by us; the config names it.
    let secret_path = dir.join("sim-community");
    kilowatch_core::secret::write_private(&secret_path, &community)
        .with_context(|| format!("write '{}'", secret_path.display()))?;
    let interval = humantime::format_duration(args.interval).to_string();
    let timeout =
        humantime::format_duration(args.interval.mul_f64(0.8).min(Duration::from_secs(2)))
            .to_string();
    let mut inventory = kilowatch_sim::estate_inventory(
        &sims,
        &format!("file:{}", secret_path.display()),
        "kilowatch.db",
        &interval,
        &timeout,
    );
    // The built-in rule sets, so the Alarms screen lists rule alerts (a failed device's after
    // a minute) and the demo's config shows how they are switched on.
    inventory.push_str(
        "\n[alerts]\nrule_sets = [\"device-down\", \"ashrae-a1\", \"breaker-80\", \"rack-budget\", \"ups\"]\n",
    );
    let config_path = dir.join("demo.toml");
    std::fs::write(&config_path, inventory)
        .with_context(|| format!("write '{}'", config_path.display()))?;
    let config = Config::load(&config_path).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("generated demo config is invalid:\n{}", lines.join("\n"))
    })?;

    let store = Arc::new(SqliteStore::open(&config.store.path)?);
    let cancel = CancellationToken::new();
    let metrics = match args.metrics_listen {
        Some(addr) => Some(
            std::net::TcpListener::bind(addr)
                .map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: {e}"))?,
        ),
        None => None,
    };
    let sink =
        crate::pipeline::influx_sink(args.influx.as_deref(), config.influx.as_ref(), &store, &dir)?;
    if let Some(id) = &args.fail_device
        && !sims.iter().any(|s| s.devices.iter().any(|d| &d.id == id))
    {
        anyhow::bail!("--fail-device: no simulated device '{id}'");
    }
    let (progress, swept) = tokio::sync::watch::channel(from);
    let backfill = replay.map(|replay| kilowatch_collector::schedule::Backfill {
        replay,
        from,
        step: args.history_step.max(Duration::from_secs(1)),
        progress,
    });
    let pipeline = crate::pipeline::start_after(
        &config,
        store.clone(),
        clock,
        cancel.clone(),
        sink,
        metrics,
        backfill,
    )?;
    if replay.is_some() {
        history::wait(swept, from, to).await;
    }
    let sims = Arc::new(sims);
    if let Some(id) = args.fail_device.clone() {
        let (sims, after) = (sims.clone(), args.fail_after);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            sims.iter().for_each(|s| _ = s.stop_device(&id));
            tracing::warn!(device = %id, "simulated device failed on request");
        });
    }
    if !args.headless {
        // The terminal UI on the simulated site; `q` stops everything.
        let lang = args.lang.lang(&config);
        let (snapshots, acks) = crate::cmd::tui::spawn_loader(
            Arc::new(config.clone()),
            store.clone(),
            Some(store.clone()),
            clock,
            lang,
            cancel.clone(),
        );
        if let Some(d) = args.duration {
            let stop = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                stop.cancel();
            });
        }
        // Returns on `q` or when the duration ends; either way the terminal is restored.
        kilowatch_tui::run(snapshots, acks, lang, cancel.clone()).await?;
        cancel.cancel();
        pipeline.finish().await;
        sims.iter().for_each(RunningSim::shutdown);
        return Ok(ExitCode::SUCCESS);
    }

    let started = clock.now_ms();
    let site = config
        .sites
        .first()
        .map(|s| s.id.clone())
        .unwrap_or_default();
    // Only the inventory's devices count: the collector's own health (device `kilowatch`,
    // with an InfluxDB sink) has a status row too.
    let devices: Arc<HashSet<String>> =
        Arc::new(config.devices.iter().map(|d| d.id.clone()).collect());
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut ticker = tokio::time::interval(args.interval);
    ticker.tick().await;
    let mut printed = false;
    loop {
        let stop = tokio::select! {
            _ = ticker.tick() => false,
            _ = tokio::signal::ctrl_c() => true,
            _ = sleep_until(deadline) => true,
        };
        if stop {
            break;
        }
        let now = clock.now_ms();
        let s = store.clone();
        let site_id = site.clone();
        let ids = devices.clone();
        let (cycle, answered) =
            tokio::task::spawn_blocking(move || summarize(&s, &site_id, started, now, &ids))
                .await??;
        // Until every device has answered once and energy can be integrated, there is no
        // honest PUE to print.
        if cycle.pue.is_none() || answered < devices.len() {
            continue;
        }
        let mut out = std::io::stdout().lock();
        if args.headless {
            serde_json::to_writer(&mut out, &cycle)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{}  facility {:>8.0} W  IT {:>8.0} W  {} = {:.3}  devices {}/{}",
                cycle.ts,
                cycle.facility_power_w.unwrap_or(f64::NAN),
                cycle.it_power_w.unwrap_or(f64::NAN),
                cycle.pue_label.as_deref().unwrap_or("PUE"),
                cycle.pue.unwrap_or(f64::NAN),
                cycle.devices_up,
                cycle.devices_total
            )?;
        }
        out.flush()?;
        printed = true;
    }
    if !printed {
        // Say why the output is empty rather than leave a script guessing.
        tracing::warn!(
            "no line printed: not every device had answered, or too few readings for a PUE yet; \
             give --duration more time or a shorter --interval"
        );
    }
    cancel.cancel();
    pipeline.finish().await;
    sims.iter().for_each(RunningSim::shutdown);
    Ok(ExitCode::SUCCESS)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The site now: latest facility and IT power, PUE from `from` to `now`, and the health of
/// `devices`; with how many of them have been polled at all (up or down).
pub fn summarize(
    store: &SqliteStore,
    site: &str,
    from: i64,
    now: i64,
    devices: &HashSet<String>,
) -> anyhow::Result<(Cycle, usize)> {
    let whole = TimeRange { from, to: now };
    let report = pue::site_pue(store, site, whole, pue::Options::default())?;
    // The most downstream category measured is the most honest one (pue.md §3).
    let best = [Category::Three, Category::Two, Category::One]
        .into_iter()
        .find(|c| report.it.contains_key(&c.number()));
    // Over the span every meter covers: a meter whose newest poll is not committed yet would
    // otherwise weigh less than the others in a window of seconds.
    // No PUE until they share a second: a ratio of energies over different spans is not one.
    let report = match best.map(|c| pue::shared_span(store, site, c, whole, 1_000)) {
        Some(Ok(Some(span))) => pue::site_pue(store, site, span, pue::Options::default())?,
        Some(Err(e)) => return Err(e.into()),
        _ => pue::SitePue {
            pue: Default::default(),
            ..report
        },
    };
    let (pue, pue_label) = match best.and_then(|c| report.pue.get(&c.number())) {
        Some(Pue::Value { pue, label, .. }) => (Some(*pue), Some(label.clone())),
        _ => (None, None),
    };
    let facility_power_w = latest_sum(store, site, Role::Facility, now)?;
    let it_power_w = match best {
        Some(c) => latest_sum(store, site, Role::It(c), now)?,
        None => None,
    };
    let status = store.device_status()?;
    let polled: Vec<bool> = status
        .iter()
        .filter(|d| devices.contains(&d.device))
        .map(|d| d.up)
        .collect();
    let cycle = Cycle {
        ts: now,
        site: site.to_owned(),
        facility_power_w,
        it_power_w,
        pue,
        pue_label,
        facility_kwh: report.facility.as_ref().map(|e| e.kwh),
        it_kwh: best.and_then(|c| report.it.get(&c.number())).map(|e| e.kwh),
        devices_up: polled.iter().filter(|up| **up).count(),
        devices_total: devices.len(),
    };
    Ok((cycle, polled.len()))
}

fn latest_sum(
    store: &SqliteStore,
    site: &str,
    role: Role,
    now: i64,
) -> anyhow::Result<Option<f64>> {
    let series = store.find(
        &Selector::field(Field::ActivePowerW)
            .tag("site", site)
            .tag("role", role.tag()),
    )?;
    let mut sum = None;
    for s in &series {
        if let Some(p) = store.latest(s, now)? {
            *sum.get_or_insert(0.0) += p.value;
        }
    }
    Ok(sum)
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
