//! One delivery task per receiver: it drains the receiver's queue in the store's notifier
//! outbox, oldest first, and deletes what the receiver took. While a receiver is away its
//! notifications wait in the store (across restarts) and are retried with backoff, so every one
//! arrives once it is back.
//!
//! Alertmanager forgets an alert that is not renewed before its `endsAt`, so the task for an
//! Alertmanager also re-sends every firing alert each `resend`, with the dead-man heartbeat.
//! Renewal and the queue share the task: a resolve queued after a renewal read the state is
//! delivered after that renewal, never overtaken by it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::model::Timestamp;
use kilowatch_store::SqliteStore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::notify::{Note, Receiver, Status};

/// Notifications per delivery.
const PER_DELIVERY: usize = 64;
/// Backoff between failed deliveries: first and longest.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(15);

/// What an Alertmanager's task renews, and how often.
#[derive(Debug, Clone)]
pub struct Renewal {
    pub every: Duration,
    /// The heartbeat's labels (`alertname=KilowatchHeartbeat`, `collector=...`), when on.
    pub heartbeat: Option<BTreeMap<String, String>>,
}

/// A receiver and the name of its queue.
#[derive(Debug)]
pub struct Outlet {
    pub queue: String,
    pub receiver: Receiver,
    pub renewal: Option<Renewal>,
}

/// Delivers `outlet`'s queue until `cancel`, then tries once more to empty it.
pub async fn run(
    outlet: Outlet,
    store: Arc<SqliteStore>,
    wake: Arc<Notify>,
    clock: Clock,
    cancel: CancellationToken,
) {
    let started = clock.now_ms();
    let mut retry = FIRST_RETRY;
    let mut failing = false;
    let mut next_renewal = tokio::time::Instant::now();
    loop {
        let stopping = cancel.is_cancelled();
        match drain(&outlet, &store, &clock).await {
            Ok(true) => {
                if failing {
                    tracing::warn!(receiver = %outlet.receiver.name(), "receiver is back; queued alerts delivered");
                }
                failing = false;
                retry = FIRST_RETRY;
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                if !failing {
                    tracing::error!(receiver = %outlet.receiver.name(), error = %e, "could not deliver alerts; they wait in the outbox and are retried");
                }
                failing = true;
                if stopping {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = cancel.cancelled() => {}
                }
                retry = (retry * 2).min(MAX_RETRY);
                continue;
            }
        }
        if stopping {
            return;
        }
        if let Some(r) = &outlet.renewal
            && tokio::time::Instant::now() >= next_renewal
        {
            next_renewal = tokio::time::Instant::now() + r.every;
            renew(&outlet.receiver, r, &store, &clock, started).await;
        }
        let until = if outlet.renewal.is_some() {
            next_renewal
        } else {
            tokio::time::Instant::now() + Duration::from_secs(3600)
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep_until(until) => {}
            _ = cancel.cancelled() => {}
        }
    }
}

/// Why a queue could not be drained this time; it is tried again.
#[derive(Debug, thiserror::Error)]
enum DrainError {
    #[error(transparent)]
    Store(#[from] kilowatch_store::StoreError),
    #[error(transparent)]
    Delivery(#[from] crate::notify::DeliveryError),
    #[error("the store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Delivers one batch of the queue: `Ok(true)` when there was one and it went (or was refused
/// for good and logged), `Ok(false)` when the queue is empty.
async fn drain(
    outlet: &Outlet,
    store: &Arc<SqliteStore>,
    clock: &Clock,
) -> Result<bool, DrainError> {
    let s = store.clone();
    let queue = outlet.queue.clone();
    let rows = tokio::task::spawn_blocking(move || s.queued_notes(&queue, PER_DELIVERY)).await??;
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(false);
    };
    let horizon = outlet.renewal.as_ref().map(|r| horizon(r, clock.now_ms()));
    let notes: Vec<Note> = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<Note>(&r.note).ok())
        .map(|mut n| {
            if n.status == Status::Firing {
                n.ends_at = n.ends_at.or(horizon);
            }
            n
        })
        .collect();
    if !notes.is_empty() {
        match outlet.receiver.deliver(&notes).await {
            Ok(()) => {}
            Err(e) if e.retryable() => return Err(e.into()),
            Err(e) => tracing::error!(
                receiver = %outlet.receiver.name(),
                error = %e,
                alerts = notes.len(),
                "the receiver refused these alerts; they are dropped from its queue (see alert history)"
            ),
        }
    }
    let s = store.clone();
    let queue = outlet.queue.clone();
    tokio::task::spawn_blocking(move || s.notes_delivered(&queue, last)).await??;
    Ok(true)
}

/// Until when a firing alert holds at Alertmanager unless renewed: four renewals, as
/// Prometheus does, so a lost renewal or two does not resolve it.
fn horizon(r: &Renewal, now: Timestamp) -> Timestamp {
    now + 4 * r.every.as_millis() as i64
}

/// Re-sends every firing alert, and the heartbeat.
async fn renew(
    receiver: &Receiver,
    r: &Renewal,
    store: &Arc<SqliteStore>,
    clock: &Clock,
    started: Timestamp,
) {
    let s = store.clone();
    let rows = match tokio::task::spawn_blocking(move || s.alert_states()).await {
        Ok(Ok(rows)) => rows,
        _ => return,
    };
    let now = clock.now_ms();
    let until = horizon(r, now);
    let mut notes: Vec<Note> = rows
        .iter()
        .filter(|row| row.state == "firing")
        .filter_map(|row| serde_json::from_str::<Note>(&row.note).ok())
        .map(|mut n| {
            n.ends_at = Some(until);
            n
        })
        .collect();
    if let Some(labels) = &r.heartbeat {
        notes.push(Note {
            status: Status::Firing,
            labels: labels.clone(),
            annotations: BTreeMap::from([(
                "summary".to_owned(),
                "Kilowatch is running and can reach Alertmanager. This alert always fires: route it to a dead-man's switch, whose silence then means the collector or its path to Alertmanager is down.".to_owned(),
            )]),
            starts_at: started,
            ends_at: Some(now + 3 * r.every.as_millis() as i64),
            generator_url: None,
        });
    }
    if notes.is_empty() {
        return;
    }
    if let Err(e) = receiver.deliver(&notes).await {
        tracing::debug!(receiver = %receiver.name(), error = %e, "renewal not delivered; the next one retries");
    }
}
