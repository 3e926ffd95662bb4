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
/// alerts, as (rule, subject), go to `acks` when the store takes them.
pub async fn run(
    mut snapshots: mpsc::Receiver<Snapshot>,
    acks: Option<mpsc::Sender<(String, String)>>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let theme = Theme::from_env();
    let mut app = App::default();
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
