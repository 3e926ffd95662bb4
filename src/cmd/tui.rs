//! `kilowatch tui`: the terminal UI on stored data (embedded store, live while `collect` runs,
//! or InfluxDB).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_store::{ReadStore, SqliteStore, StatusStore};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: crate::cmd::args::SourceArgs,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let cancel = CancellationToken::new();
    let snapshots = match &args.source.influx {
        Some(url) => {
            let reader = crate::cmd::influx_reader(url)?;
            spawn_loader(
                Arc::new(config),
                Arc::new(reader),
                None,
                Clock::System,
                cancel.clone(),
            )
        }
        None => {
            let store = Arc::new(SqliteStore::open(&crate::cmd::store_path(
                &config,
                args.source.store.data.as_deref(),
            ))?);
            spawn_loader(
                Arc::new(config),
                store.clone(),
                Some(store),
                Clock::System,
                cancel.clone(),
            )
        }
    };
    kilowatch_tui::run(snapshots, cancel.clone()).await?;
    cancel.cancel();
    Ok(ExitCode::SUCCESS)
}

/// Rebuilds the snapshot every couple of seconds off the UI loop, and sends it to the UI.
/// `status` is the embedded store's per-device poll status (last error, latency), when there is
/// one.
pub fn spawn_loader(
    config: Arc<Config>,
    store: Arc<dyn ReadStore>,
    status: Option<Arc<dyn StatusStore>>,
    clock: Clock,
    cancel: CancellationToken,
) -> mpsc::Receiver<kilowatch_tui::snapshot::Snapshot> {
    let (tx, rx) = mpsc::channel(2);
    let every = config.collector.interval.min(Duration::from_secs(2));
    let interval_ms = config.collector.interval.as_millis() as i64;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let (c, s, st) = (config.clone(), store.clone(), status.clone());
            let built = tokio::task::spawn_blocking(move || {
                let status = match st.map(|st| st.device_status()) {
                    Some(Ok(status)) => status,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "could not read the devices' poll status");
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                // Sample stamps follow the (possibly accelerated) clock, so staleness does too.
                let ms = (interval_ms as f64 * clock.speed()) as i64;
                kilowatch_tui::load::snapshot(&*s, &c, &status, clock.now_ms(), ms)
            })
            .await;
            match built {
                Ok(Ok(snap)) => {
                    if tx.send(snap).await.is_err() {
                        return;
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "could not read the store for the TUI"),
                Err(e) => tracing::warn!(error = %e, "TUI loader failed"),
            }
        }
    });
    rx
}
