//! Wiring the collector to the store: batches flow one way, from the scheduler's channel into
//! embedded-store transactions.

use std::sync::Arc;
use std::time::Duration;

use kilowatch_collector::schedule::{self, DeviceTask, Schedule};
use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::model::Batch;
use kilowatch_store::SqliteStore;
use kilowatch_store::influx::sink::{InfluxSink, SinkOptions};
use kilowatch_store::influx::target::InfluxTarget;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most polls committed in one transaction.
const MAX_BATCHES_PER_WRITE: usize = 512;

/// The running collector, store writer and (optionally) InfluxDB sink.
#[derive(Debug)]
pub struct Pipeline {
    writer: JoinHandle<()>,
    sink: Option<(JoinHandle<()>, CancellationToken)>,
}

/// Starts the collector and the store writer, and the InfluxDB sink fed from the outbox.
/// Stop it by cancelling `cancel`, then [`Pipeline::finish`].
pub fn start(
    config: &Config,
    store: Arc<SqliteStore>,
    clock: Clock,
    cancel: CancellationToken,
    sink: Option<InfluxSink>,
    metrics_listen: Option<std::net::TcpListener>,
) -> Pipeline {
    let (tx, rx) = mpsc::channel::<Batch>(4096);
    let tasks = DeviceTask::all(config);
    let schedule = Schedule {
        max_concurrent_polls: config.collector.max_concurrent_polls,
        clock,
    };
    let collector = tokio::spawn(schedule::run(tasks, schedule, tx, cancel));
    let retention = config.store.retention;
    let writer_store = store.clone();
    let writer = tokio::spawn(async move {
        write_loop(rx, writer_store, retention, clock).await;
        let _ = collector.await;
    });
    // The sink stops only after the writer has committed the last batches, so its final
    // flush sees them.
    let every = config.collector.interval;
    let sink = sink.map(|sink| {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let watched = crate::metrics::Watched {
            store: store.clone(),
            sink_name: sink.target().sink_name(),
            stats: sink.stats.clone(),
            clock,
        };
        tokio::spawn(crate::metrics::record(watched.clone(), every, stop.clone()));
        if let Some(listener) = metrics_listen.and_then(|l| {
            l.set_nonblocking(true).ok()?;
            tokio::net::TcpListener::from_std(l).ok()
        }) {
            tokio::spawn(crate::metrics::serve(listener, watched, stop.clone()));
        }
        let handle = tokio::spawn(async move {
            let target = sink.target().to_string();
            if let Err(e) = sink.run(token).await {
                tracing::error!(target = %target, error = %e, "InfluxDB sink stopped");
            }
        });
        (handle, stop)
    });
    Pipeline { writer, sink }
}

impl Pipeline {
    /// Waits for the writer to commit everything collected, then lets the sink flush.
    pub async fn finish(self) {
        let _ = self.writer.await;
        if let Some((handle, stop)) = self.sink {
            stop.cancel();
            let _ = handle.await;
        }
    }
}

/// The InfluxDB sink: `--influx URL` over the config's `[influx]`; secrets from the config, else
/// from KILOWATCH_INFLUX_TOKEN / KILOWATCH_INFLUX_PASSWORD. The outbox is enabled.
pub fn influx_sink(
    flag: Option<&str>,
    config: Option<&kilowatch_core::config::InfluxConfig>,
    store: &Arc<SqliteStore>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<InfluxSink>> {
    let Some(url) = flag.or(config.map(|c| c.url.as_str())) else {
        return Ok(None);
    };
    let env = crate::cmd::env_secret;
    let token = config
        .and_then(|c| c.token.clone())
        .or_else(|| env("KILOWATCH_INFLUX_TOKEN"));
    let password = config
        .and_then(|c| c.password.clone())
        .or_else(|| env("KILOWATCH_INFLUX_PASSWORD"));
    let target =
        InfluxTarget::parse(url, token, password).map_err(|e| anyhow::anyhow!("--influx: {e}"))?;
    store.enable_outbox(config.map_or(1 << 30, |c| c.max_outbox_bytes));
    let opts = SinkOptions::new(data_dir.join("influx-quarantine.lp"));
    InfluxSink::new(target, store.clone(), opts)
        .map(Some)
        .map_err(|e| anyhow::anyhow!(e))
}

async fn write_loop(
    mut rx: mpsc::Receiver<Batch>,
    store: Arc<SqliteStore>,
    retention: Option<Duration>,
    clock: Clock,
) {
    let mut buf = Vec::with_capacity(MAX_BATCHES_PER_WRITE);
    let mut last_retention = clock.now_ms();
    while rx.recv_many(&mut buf, MAX_BATCHES_PER_WRITE).await > 0 {
        let batches = std::mem::take(&mut buf);
        let s = store.clone();
        let written = tokio::task::spawn_blocking(move || s.write(&batches)).await;
        match written {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "could not write batches to the embedded store")
            }
            Err(e) => tracing::error!(error = %e, "store writer task failed"),
        }
        let now = clock.now_ms();
        if let Some(r) = retention
            && now - last_retention > 60_000
        {
            last_retention = now;
            let s = store.clone();
            let before = now - r.as_millis() as i64;
            let _ = tokio::task::spawn_blocking(move || s.delete_before(before)).await;
        }
    }
}
