//! Kilowatch alerting: rules evaluated on polls as the collector commits them ([`eval`]), with
//! alert state kept in the embedded store so a restart neither loses a firing alert nor
//! notifies it twice, and delivery of every change through the store's notifier outbox to
//! Alertmanager, webhooks and mail ([`deliver`], [`notify`]).

pub mod builtin;
mod compile;
pub mod deliver;
pub mod eval;
pub mod note;
pub mod notify;
mod pue_drift;
pub mod run;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::event::TrapEvent;
use kilowatch_core::model::Batch;
use kilowatch_store::SqliteStore;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use notify::{AlertmanagerTarget, EmailTarget, Receiver, TargetError, WebhookTarget};

/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The running alerting: the evaluation task and one delivery task per receiver.
#[derive(Debug)]
pub struct Alerting {
    eval: JoinHandle<()>,
    deliveries: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

/// The receivers `config` names, each with its queue name.
fn outlets(config: &Config) -> Result<Vec<deliver::Outlet>, TargetError> {
    let Some(a) = &config.alerts else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for url in &a.alertmanagers {
        let receiver =
            Receiver::alertmanager(AlertmanagerTarget { url: url.clone() }, DELIVERY_TIMEOUT)?;
        let heartbeat = a.heartbeat.map(|_| {
            BTreeMap::from([
                ("alertname".to_owned(), "KilowatchHeartbeat".to_owned()),
                ("severity".to_owned(), "none".to_owned()),
                ("collector".to_owned(), config.collector.name.clone()),
            ])
        });
        out.push(deliver::Outlet {
            queue: format!("alertmanager {url}"),
            receiver,
            renewal: Some(deliver::Renewal {
                every: a.heartbeat.unwrap_or(a.resend).min(a.resend),
                heartbeat,
            }),
        });
    }
    for w in &a.webhooks {
        let target = WebhookTarget {
            url: w.url.clone(),
            bearer_token: w.token.clone(),
        };
        out.push(deliver::Outlet {
            queue: format!("webhook {}", w.url),
            receiver: Receiver::webhook(target, DELIVERY_TIMEOUT)?,
            renewal: None,
        });
    }
    if let Some(e) = &a.email {
        let target = EmailTarget {
            url: e.smtp.clone(),
            starttls: Default::default(),
            from: e.from.clone(),
            to: e.to.clone(),
            user: e.user.clone(),
            password: e.password.clone(),
        };
        out.push(deliver::Outlet {
            queue: format!("email {}", e.smtp),
            receiver: Receiver::email(target, DELIVERY_TIMEOUT)?,
            renewal: None,
        });
    }
    Ok(out)
}

/// Whether `config` asks for any alerting at all.
pub fn wanted(config: &Config) -> bool {
    config.alerts.is_some() || !config.rules.is_empty() || config.traps.is_some()
}

/// Starts evaluating `polls` (committed by the store's writer) and `traps`, and delivering.
/// Ends after `polls` closes: call [`Alerting::finish`].
pub fn start(
    config: &Config,
    store: Arc<SqliteStore>,
    clock: Clock,
    polls: mpsc::Receiver<Vec<Batch>>,
    traps: Option<mpsc::Receiver<TrapEvent>>,
) -> Result<Alerting, TargetError> {
    let outlets = outlets(config)?;
    let engine = eval::Engine::new(config, outlets.iter().map(|o| o.queue.clone()).collect());
    tracing::info!(
        rules = engine.rule_count(),
        receivers = outlets.len(),
        "alert rules on"
    );
    let stop = CancellationToken::new();
    let mut wake = Vec::new();
    let mut deliveries = Vec::new();
    for o in outlets {
        let w = Arc::new(Notify::new());
        wake.push(w.clone());
        deliveries.push(tokio::spawn(deliver::run(
            o,
            store.clone(),
            w,
            clock,
            stop.clone(),
        )));
    }
    let tick = config.collector.interval.min(Duration::from_secs(10));
    let eval = tokio::spawn(run::evaluate(
        engine, store, polls, traps, wake, clock, tick,
    ));
    Ok(Alerting {
        eval,
        deliveries,
        stop,
    })
}

impl Alerting {
    /// Waits for the last polls' evaluation, then for one last delivery attempt.
    pub async fn finish(self) {
        let _ = self.eval.await;
        self.stop.cancel();
        for d in self.deliveries {
            let _ = d.await;
        }
    }
}
