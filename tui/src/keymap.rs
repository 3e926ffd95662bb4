//! Keys to actions: a pure function, tested without a terminal.

use kilowatch_core::i18n::Tr;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextScreen,
    PrevScreen,
    Up,
    Down,
    Left,
    Right,
    Enter,
    Back,
    StartFilter,
    Sort,
    Help,
    ToggleColouring,
    /// Acknowledge the selected alert (Alarms screen).
    Acknowledge,
    /// A character typed into the filter.
    Type(char),
    Backspace,
}

/// Whether keys go to the filter being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
}

pub fn action(key: &KeyEvent, mode: Mode) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if mode == Mode::Filter {
        return match key.code {
            KeyCode::Esc | KeyCode::Enter => Some(Action::Back),
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Char(c) => Some(Action::Type(c)),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Tab => Action::NextScreen,
        KeyCode::BackTab => Action::PrevScreen,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::Enter => Action::Enter,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('s') => Action::Sort,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('c') => Action::ToggleColouring,
        KeyCode::Char('a') => Action::Acknowledge,
        _ => return None,
    })
}

/// Every key, for the help overlay: (the keys, what they do), both as catalogue keys
/// (`i18n/<lang>/tui.ftl`).
pub const HELP: &[(&str, &str)] = &[
    ("tui-key-screens", "tui-help-screens"),
    ("tui-key-move", "tui-help-move"),
    ("tui-key-enter", "tui-help-enter"),
    ("tui-key-back", "tui-help-back"),
    ("tui-key-filter", "tui-help-filter"),
    ("tui-key-sort", "tui-help-sort"),
    ("tui-key-colour", "tui-help-colour"),
    ("tui-key-ack", "tui-help-ack"),
    ("tui-key-help", "tui-help-help"),
    ("tui-key-quit", "tui-help-quit"),
];

/// The help overlay's lines in `tr`'s language: (keys, what they do).
pub fn help_lines(tr: &Tr) -> Vec<(String, String)> {
    HELP.iter().map(|(k, v)| (tr.t(k), tr.t(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_and_arrow_keys_agree_and_filter_mode_captures_letters() {
        assert_eq!(
            action(&key(KeyCode::Char('j')), Mode::Normal),
            Some(Action::Down)
        );
        assert_eq!(
            action(&key(KeyCode::Down), Mode::Normal),
            Some(Action::Down)
        );
        assert_eq!(
            action(&key(KeyCode::Char('q')), Mode::Normal),
            Some(Action::Quit)
        );
        assert_eq!(
            action(&key(KeyCode::Char('q')), Mode::Filter),
            Some(Action::Type('q'))
        );
        assert_eq!(action(&key(KeyCode::Esc), Mode::Filter), Some(Action::Back));
        assert_eq!(
            action(
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                Mode::Filter
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            action(&key(KeyCode::BackTab), Mode::Normal),
            Some(Action::PrevScreen)
        );
    }
}
