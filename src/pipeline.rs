//! Wiring the collector to the store: batches flow one way, from the scheduler's channel into
//! embedded-store transactions.

use std::sync::Arc;
use std::time::Duration;

use kilowatch_collector::schedule::{self, DeviceTask, Schedule};
use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::model::Batch;
use kilowatch_store::SqliteStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most polls committed in one transaction.
const MAX_BATCHES_PER_WRITE: usize = 512;

/// Starts the collector and the store writer. The returned handle finishes after `cancel`
/// fires and every received batch has been written.
pub fn start(
    config: &Config,
    store: Arc<SqliteStore>,
    clock: Clock,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let (tx, rx) = mpsc::channel::<Batch>(4096);
    let tasks = DeviceTask::all(config);
    let schedule = Schedule {
        max_concurrent_polls: config.collector.max_concurrent_polls,
        clock,
    };
    let collector = tokio::spawn(schedule::run(tasks, schedule, tx, cancel));
    let retention = config.store.retention;
    tokio::spawn(async move {
        write_loop(rx, store, retention, clock).await;
        let _ = collector.await;
    })
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
