//! `kilowatch tui`: the terminal UI on stored data (embedded store, live while `collect` runs,
//! or InfluxDB).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::i18n::{Lang, Tr};
use kilowatch_store::{ReadStore, SqliteStore, StatusStore};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: crate::cmd::args::SourceArgs,
    #[command(flatten)]
    lang: crate::cmd::args::LangArgs,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let lang = args.lang.lang(&config);
    let cancel = CancellationToken::new();
    let (snapshots, acks) = match args.source.remote() {
        Some(url) => {
            let reader = crate::cmd::remote_reader(url)?;
            spawn_loader(
                Arc::new(config),
                Arc::from(reader),
                None,
                Clock::System,
                lang,
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
                lang,
                cancel.clone(),
            )
        }
    };
    kilowatch_tui::run(snapshots, acks, lang, cancel.clone()).await?;
    cancel.cancel();
    Ok(ExitCode::SUCCESS)
}

/// An acknowledgement from the UI: (rule, subject).
pub type Ack = (String, String);

/// Rebuilds the snapshot every couple of seconds off the UI loop, and sends it to the UI.
/// `status` is the embedded store's per-device poll status (last error, latency) and its
/// alerts, when there is one; the UI's acknowledgements then go to it through the returned
/// sender. The texts the snapshot carries (alarms, device errors) are in `lang`.
pub fn spawn_loader(
    config: Arc<Config>,
    store: Arc<dyn ReadStore>,
    status: Option<Arc<dyn StatusStore>>,
    clock: Clock,
    lang: Lang,
    cancel: CancellationToken,
) -> (
    mpsc::Receiver<kilowatch_tui::snapshot::Snapshot>,
    Option<mpsc::Sender<Ack>>,
) {
    let (tx, rx) = mpsc::channel(2);
    let acks = status.clone().map(|st| {
        let (ack_tx, mut ack_rx) = mpsc::channel::<Ack>(8);
        let by = std::env::var("USER").unwrap_or_else(|_| "tui".to_owned());
        tokio::spawn(async move {
            while let Some((rule, subject)) = ack_rx.recv().await {
                let (st, by) = (st.clone(), by.clone());
                let done = tokio::task::spawn_blocking(move || {
                    st.acknowledge(&rule, &subject, &by, clock.now_ms())
                })
                .await;
                if let Ok(Err(e)) = done {
                    tracing::warn!(error = %e, "could not record the acknowledgement");
                }
            }
        });
        ack_tx
    });
    let every = config.collector.interval.min(Duration::from_secs(2));
    let interval_ms = config.collector.interval.as_millis() as i64;
    let tr = Arc::new(Tr::new(lang));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let (c, s, st, tr) = (config.clone(), store.clone(), status.clone(), tr.clone());
            let built = tokio::task::spawn_blocking(move || {
                let status = match st.as_ref().map(|st| st.device_status()) {
                    Some(Ok(status)) => status,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "could not read the devices' poll status");
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                // Sample stamps follow the (possibly accelerated) clock, so staleness does too.
                let ms = (interval_ms as f64 * clock.speed()) as i64;
                let alerts = match st.as_ref().map(|st| st.alert_states()) {
                    Some(Ok(rows)) => rows,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "could not read the alerts");
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                let traps = st
                    .as_ref()
                    .and_then(|st| st.recent_traps(50).ok())
                    .unwrap_or_default();
                kilowatch_tui::load::snapshot_in(&*s, &c, &status, clock.now_ms(), ms, &tr).map(
                    |mut snap| {
                        snap.rule_alerts = rule_alerts(alerts);
                        snap.traps = traps
                            .into_iter()
                            .map(|t| kilowatch_tui::snapshot::TrapView {
                                at: t.at,
                                what: t.name.unwrap_or(t.trap_oid),
                                source: t.source,
                                effect: t.effect,
                                summary: t.summary,
                            })
                            .collect();
                        snap
                    },
                )
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
    (rx, acks)
}

/// The store's alert rows as the Alarms screen lists them: firing first, newest first; an
/// alert without a value has an empty one (the UI says "no data" in its language).
fn rule_alerts(rows: Vec<kilowatch_store::AlertRow>) -> Vec<kilowatch_tui::snapshot::RuleAlert> {
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|row| {
            let note: Option<kilowatch_rules::notify::Note> = serde_json::from_str(&row.note).ok();
            let label = |k: &str| note.as_ref().and_then(|n| n.labels.get(k)).cloned();
            let annotation = |k: &str| note.as_ref().and_then(|n| n.annotations.get(k)).cloned();
            let place = ["site", "rack", "device", "point"]
                .iter()
                .filter_map(|k| label(k))
                .collect::<Vec<_>>()
                .join(" / ");
            kilowatch_tui::snapshot::RuleAlert {
                firing: row.state == "firing",
                severity: label("severity").unwrap_or_default(),
                place,
                summary: annotation("summary").unwrap_or_default(),
                value: annotation("value").unwrap_or_default(),
                link: note.as_ref().and_then(|n| n.generator_url.clone()),
                since: row.since,
                acked_by: row.acked_by,
                rule: row.rule,
                subject: row.subject,
            }
        })
        .collect();
    out.sort_by(|a, b| b.firing.cmp(&a.firing).then(b.since.cmp(&a.since)));
    out
}
