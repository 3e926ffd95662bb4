//! Kilowatch's terminal UI (ratatui): state, pure update and keymap, views as functions of state.
//! The loop owns the state; snapshots are built off the loop and arrive on a channel, so the UI
//! never blocks on I/O, and it redraws only when something changed.

pub mod app;
pub mod keymap;
pub mod load;
pub mod snapshot;
pub mod theme;
pub mod view;

use std::time::Duration;

use kilowatch_core::i18n::Lang;
use ratatui::crossterm::event::{Event, KeyEventKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::keymap::action;
use crate::snapshot::Snapshot;
use crate::theme::Theme;

/// Frames at most this often, whatever arrives.
const FRAME: Duration = Duration::from_millis(100);

/// Runs the UI until `q` (or `cancel`); snapshots arrive on `snapshots`; acknowledgements of
/// alerts, as (rule, subject), go to `acks` when the store takes them. Its texts are in `lang`.
pub async fn run(
    mut snapshots: mpsc::Receiver<Snapshot>,
    acks: Option<mpsc::Sender<(String, String)>>,
    lang: Lang,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let theme = Theme::from_env();
    let mut app = App::new(lang);
    // Terminal input is read on its own thread (crossterm's reads block) and sent here.
    let (keys_tx, mut keys) = mpsc::channel::<Event>(64);
    let stop_input = cancel.child_token();
    let input_stop = stop_input.clone();
    std::thread::spawn(move || {
        while !input_stop.is_cancelled() {
            match ratatui::crossterm::event::poll(Duration::from_millis(50)) {
                Ok(true) => match ratatui::crossterm::event::read() {
                    Ok(e) => {
                        if keys_tx.blocking_send(e).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
    let mut dirty = true;
    let mut tick = tokio::time::interval(FRAME);
    let result = loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break Ok(()),
            ev = keys.recv() => match ev {
                Some(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                    if let Some(a) = action(&k, app.mode) {
                        app.update(a);
                        dirty = true;
                    }
                    if let (Some(ack), Some(tx)) = (app.ack.take(), &acks) {
                        let _ = tx.try_send(ack);
                    }
                }
                Some(Event::Resize(..)) => dirty = true,
                None => break Ok(()),
                _ => {}
            },
            s = snapshots.recv() => if let Some(s) = s {
                app.set_snapshot(s);
                dirty = true;
            },
            _ = tick.tick() => {
                if dirty {
                    if let Err(e) = terminal.draw(|f| view::render(&app, &theme, f)) {
                        break Err(e);
                    }
                    dirty = false;
                }
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    stop_input.cancel();
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests {
    use kilowatch_core::i18n::{Lang, keys};

    /// Every message key the UI's sources name is in both catalogues: a missing one would be
    /// shown as the key itself.
    #[test]
    fn every_key_the_ui_names_is_in_both_catalogues() {
        let sources = [
            include_str!("app.rs"),
            include_str!("keymap.rs"),
            include_str!("load.rs"),
            include_str!("load/chain.rs"),
            include_str!("load/trend.rs"),
            include_str!("snapshot.rs"),
            include_str!("view/mod.rs"),
            include_str!("view/alarms.rs"),
            include_str!("view/overview.rs"),
            include_str!("view/site.rs"),
            include_str!("view/trends.rs"),
        ];
        let named: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.match_indices("\"tui-").map(move |(i, _)| &s[i + 1..]))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(named.len() > 80, "{}", named.len());
        for lang in Lang::ALL {
            let known = keys(lang);
            let missing: Vec<_> = named
                .iter()
                .filter(|k| !known.iter().any(|m| m == *k))
                .collect();
            assert!(missing.is_empty(), "{}: {missing:?}", lang.tag());
        }
    }
}
