//! Wiring the collector to the store and the sink: batches flow one way, from the scheduler's
//! channel into the store's writer ([`kilowatch_store::writer`]), and from its outbox to a
//! remote engine ([`kilowatch_sink::Forwarder`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use kilowatch_collector::schedule::{self, Backfill, DeviceTask, Schedule};
use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::model::Batch;
use kilowatch_sink::influx::sink::InfluxSink;
use kilowatch_sink::influx::target::InfluxTarget;
use kilowatch_sink::{Forwarder, Options};
use kilowatch_store::SqliteStore;
use kilowatch_store::writer::{self, Retention};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The InfluxDB sink as the pipeline runs it.
pub type Sink = Forwarder<InfluxSink>;

/// The running collector, store writer and (optionally) InfluxDB sink.
#[derive(Debug)]
pub struct Pipeline {
    writer: JoinHandle<()>,
    sink: Option<JoinHandle<()>>,
    /// The device polling, replaced whole on a reload; its token is a child of the caller's.
    collector: (JoinHandle<()>, CancellationToken),
    /// Stops the heartbeat (and the sink, when there is one).
    heartbeat_stop: CancellationToken,
    /// Devices polled now, for the heartbeat.
    devices: Arc<AtomicUsize>,
    /// Alert rules and delivery, when the config has any; they end after the writer.
    alerting: Option<kilowatch_rules::Alerting>,
    cancel: CancellationToken,
    /// Kept for the next collector; dropped by `finish` so the writer sees the end.
    tx: mpsc::Sender<Batch>,
    clock: Clock,
}

fn spawn_collector(
    config: &Config,
    tasks: Vec<DeviceTask>,
    tx: mpsc::Sender<Batch>,
    clock: Clock,
    parent: &CancellationToken,
    backfill: Option<Backfill>,
) -> (JoinHandle<()>, CancellationToken) {
    let token = parent.child_token();
    let schedule = Schedule {
        max_concurrent_polls: config.collector.max_concurrent_polls,
        clock,
        backfill,
    };
    let handle = tokio::spawn(schedule::run(tasks, schedule, tx, token.clone()));
    (handle, token)
}

/// Starts the collector and the store writer, the InfluxDB sink fed from the outbox, and the
/// alert rules fed with what the writer committed. Stop it by cancelling `cancel`, then
/// [`Pipeline::finish`].
pub fn start(
    config: &Config,
    store: Arc<SqliteStore>,
    clock: Clock,
    cancel: CancellationToken,
    sink: Option<Sink>,
    metrics_listen: Option<std::net::TcpListener>,
) -> anyhow::Result<Pipeline> {
    start_after(config, store, clock, cancel, sink, metrics_listen, None)
}

/// As [`start`], first replaying `backfill` through the same collector, writer and rules.
pub fn start_after(
    config: &Config,
    store: Arc<SqliteStore>,
    clock: Clock,
    cancel: CancellationToken,
    sink: Option<Sink>,
    metrics_listen: Option<std::net::TcpListener>,
    backfill: Option<Backfill>,
) -> anyhow::Result<Pipeline> {
    let (tx, rx) = mpsc::channel::<Batch>(4096);
    let tasks = DeviceTask::all(config);
    store.reserve_series(tasks.iter().map(DeviceTask::samples_per_poll).sum());
    let collector = spawn_collector(config, tasks, tx.clone(), clock, &cancel, backfill);
    let retention = Retention {
        raw: config.store.retention,
        rollups: config.store.rollup_retention,
    };
    let (committed, alerting) = if kilowatch_rules::wanted(config) {
        let (tx, rx) = mpsc::channel(64);
        let traps = crate::traps::start(config, &cancel)?;
        let alerting = kilowatch_rules::start(config, store.clone(), clock, rx, traps)
            .context("alert receivers")?;
        (Some(tx), Some(alerting))
    } else {
        (None, None)
    };
    let writer = tokio::spawn(writer::run(rx, store.clone(), retention, clock, committed));
    // The sink stops only after the writer has committed the last batches, so its final
    // flush sees them.
    let devices = Arc::new(AtomicUsize::new(config.devices.len()));
    let watched = crate::metrics::Watched {
        collector: config.collector.name.clone(),
        sites: polled_sites(config),
        store: store.clone(),
        sink: sink.as_ref().map(|s| (s.name(), s.stats.clone())),
        clock,
        devices: devices.clone(),
        every: config.collector.interval,
    };
    // The heartbeat stops with the sink (after the writer), so the last one is forwarded.
    let heartbeat_stop = CancellationToken::new();
    tokio::spawn(crate::metrics::record(
        watched.clone(),
        heartbeat_stop.clone(),
    ));
    let sink = sink.map(|sink| {
        let token = heartbeat_stop.clone();
        if let Some(listener) = metrics_listen.and_then(|l| {
            l.set_nonblocking(true).ok()?;
            tokio::net::TcpListener::from_std(l).ok()
        }) {
            tokio::spawn(crate::metrics::serve(listener, watched, token.clone()));
        }
        tokio::spawn(async move {
            let target = sink.name();
            if let Err(e) = sink.run(token).await {
                tracing::error!(target = %target, error = %e, "sink stopped");
            }
        })
    });
    Ok(Pipeline {
        writer,
        sink,
        heartbeat_stop,
        devices,
        collector,
        alerting,
        cancel,
        tx,
        clock,
    })
}

impl Pipeline {
    /// Polls the devices of `config` from now on (SIGHUP). The current polls finish and are
    /// committed first; the store, its outbox and the InfluxDB sink carry on untouched.
    pub async fn reload(&mut self, config: &Config) {
        let (old, token) = &mut self.collector;
        token.cancel();
        let _ = old.await;
        let tasks = DeviceTask::all(config);
        self.devices.store(config.devices.len(), Ordering::Relaxed);
        self.collector = spawn_collector(
            config,
            tasks,
            self.tx.clone(),
            self.clock,
            &self.cancel,
            None,
        );
    }

    /// Waits for the writer to commit everything collected, then lets the sink flush. Cancel
    /// the token given to [`start`] first.
    pub async fn finish(self) {
        let Pipeline {
            writer,
            sink,
            heartbeat_stop,
            collector,
            alerting,
            tx,
            ..
        } = self;
        let _ = collector.0.await;
        drop(tx);
        let _ = writer.await;
        if let Some(a) = alerting {
            a.finish().await;
        }
        heartbeat_stop.cancel();
        if let Some(handle) = sink {
            let _ = handle.await;
        }
    }
}

/// The sites whose devices this collector polls, sorted and comma-separated.
fn polled_sites(config: &Config) -> String {
    let sites: std::collections::BTreeSet<&str> =
        config.devices.iter().map(|d| d.site.as_str()).collect();
    sites.into_iter().collect::<Vec<_>>().join(",")
}

/// The sink to the central engine: `--influx URL` over the config's `[influx]`. InfluxDB:
/// secrets from the config, else from KILOWATCH_INFLUX_TOKEN / KILOWATCH_INFLUX_PASSWORD;
/// VictoriaMetrics (`vm://`, `vm+https://`, the same line protocol through the same outbox):
/// a bearer token from the config's `token`, else KILOWATCH_VM_TOKEN. The outbox is enabled.
pub fn influx_sink(
    flag: Option<&str>,
    config: Option<&kilowatch_core::config::InfluxConfig>,
    store: &Arc<SqliteStore>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<Sink>> {
    let Some(url) = flag.or(config.map(|c| c.url.as_str())) else {
        return Ok(None);
    };
    let env = crate::cmd::env_secret;
    let victoria = kilowatch_sink::victoria::is_victoria_url(url);
    let token = config.and_then(|c| c.token.clone()).or_else(|| {
        env(if victoria {
            "KILOWATCH_VM_TOKEN"
        } else {
            "KILOWATCH_INFLUX_TOKEN"
        })
    });
    let password = (!victoria)
        .then(|| {
            config
                .and_then(|c| c.password.clone())
                .or_else(|| env("KILOWATCH_INFLUX_PASSWORD"))
        })
        .flatten();
    let target = InfluxTarget::parse(url, token, password).context("--influx")?;
    let engine = target.engine();
    if target.cleartext_over_network() {
        tracing::warn!(target = %target, "{engine} over plain http to another machine: its password or token and every reading cross the network in clear; use {} (with ?ca= for a site CA)", if victoria { "vm+https://" } else { "https://" });
    }
    store.enable_outbox(config.map_or(1 << 30, |c| c.max_outbox_bytes));
    let opts = Options::new(data_dir.join("influx-quarantine.lp"));
    let name = target.to_string();
    let sink = InfluxSink::new(target).with_context(|| format!("{engine} sink to {name}"))?;
    Ok(Some(Forwarder::new(sink, store.clone(), opts)))
}
