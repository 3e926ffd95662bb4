//! Styles in one place. Colours are the 16 ANSI ones (readable on dark and light terminals,
//! following the terminal's palette), and none at all when NO_COLOR is set.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    colour: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        Theme {
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn plain() -> Theme {
        Theme { colour: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.colour {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Neutral, for what has no reading: neither good nor bad.
    pub fn muted(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// By how close a value is to its limit: < 80 % ok, < 100 % warn, beyond bad.
    pub fn by_share(&self, share_pct: Option<f64>) -> Style {
        match share_pct {
            Some(p) if p >= 100.0 => self.bad(),
            Some(p) if p >= 80.0 => self.warn(),
            Some(_) => self.ok(),
            None => Style::default(),
        }
    }
}
