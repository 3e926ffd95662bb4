//! The alerting task inside the collector: committed polls and traps go through the
//! [`Engine`]; what changed is written to the store in one transaction, and the receivers'
//! delivery tasks are woken. It ends when the store's writer ends (its channel closes).

use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::event::TrapEvent;
use kilowatch_core::model::Batch;
use kilowatch_store::{AlertChanges, SqliteStore};
use tokio::sync::{Notify, mpsc};

use crate::eval::Engine;

/// Traps taken from the queue per evaluation: a storm is written in a few transactions.
const TRAPS_PER_ROUND: usize = 2048;

/// Runs `engine` on `polls` and `traps` until `polls` closes; `wake` are the delivery tasks.
pub async fn evaluate(
    mut engine: Engine,
    store: Arc<SqliteStore>,
    mut polls: mpsc::Receiver<Vec<Batch>>,
    mut traps: Option<mpsc::Receiver<TrapEvent>>,
    wake: Vec<Arc<Notify>>,
    clock: Clock,
    tick: Duration,
) {
    let mut out = AlertChanges::default();
    match store.alert_states() {
        Ok(rows) => {
            if !rows.is_empty() {
                tracing::info!(alerts = rows.len(), "restored pending and firing alerts");
            }
            engine.restore(rows, clock.now_ms(), &mut out);
        }
        Err(e) => tracing::error!(error = %e, "could not read alert state; starting without it"),
    }
    let mut timer = tokio::time::interval(tick);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut trap_buf = Vec::with_capacity(TRAPS_PER_ROUND);
    loop {
        tokio::select! {
            chunk = polls.recv() => match chunk {
                Some(chunk) => {
                    for b in &chunk {
                        engine.on_batch(b, &mut out);
                    }
                }
                None => break,
            },
            n = next_traps(&mut traps, &mut trap_buf) => {
                if n == 0 {
                    traps = None;
                }
                for ev in trap_buf.drain(..) {
                    engine.on_trap(&ev, &mut out);
                }
            }
            _ = timer.tick() => engine.tick(clock.now_ms(), &mut out),
        }
        flush(&store, &mut out, &wake).await;
    }
    flush(&store, &mut out, &wake).await;
}

async fn next_traps(
    traps: &mut Option<mpsc::Receiver<TrapEvent>>,
    buf: &mut Vec<TrapEvent>,
) -> usize {
    match traps {
        Some(rx) => rx.recv_many(buf, TRAPS_PER_ROUND).await,
        None => std::future::pending().await,
    }
}

/// Writes the changes; a refused write keeps them for the next round (nothing is lost while
/// the store is busy or full, as long as the process lives).
async fn flush(store: &Arc<SqliteStore>, out: &mut AlertChanges, wake: &[Arc<Notify>]) {
    if out.is_empty() {
        return;
    }
    let changes = std::mem::take(out);
    let notify = !changes.outbox.is_empty();
    let s = store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = s.apply_alert_changes(&changes);
        (changes, r)
    })
    .await;
    match result {
        Ok((_, Ok(()))) => {
            if notify {
                for w in wake {
                    w.notify_one();
                }
            }
        }
        Ok((changes, Err(e))) => {
            tracing::error!(error = %e, "could not store alert changes; retrying with the next poll");
            merge(out, changes);
        }
        Err(e) => tracing::error!(error = %e, "alert store task failed"),
    }
}

/// Puts `earlier` back in front of what came since.
fn merge(out: &mut AlertChanges, mut earlier: AlertChanges) {
    let later = std::mem::take(out);
    earlier.states.extend(later.states);
    earlier.log.extend(later.log);
    earlier.outbox.extend(later.outbox);
    earlier.traps.extend(later.traps);
    *out = earlier;
}
