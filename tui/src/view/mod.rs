//! Views: functions of the app state, one per screen, drawn into a frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Tabs,
};

use kilowatch_core::i18n::Tr;

use crate::app::{App, Colouring, SCREENS, Screen, SortBy};
use crate::keymap::{Mode, help_lines};
use crate::snapshot::{EIGHTY_PCT, INLET_MAX_C};
use crate::theme::Theme;

mod alarms;
mod overview;
mod site;
mod trends;
use alarms::alarms;
use overview::overview;
use site::site;
use trends::trends;

pub fn render(app: &App, theme: &Theme, f: &mut Frame) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let tr = &*app.tr;
    let titles: Vec<String> = SCREENS.iter().map(|s| s.title(tr)).collect();
    let selected = SCREENS.iter().position(|s| *s == app.screen).unwrap_or(0);
    f.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(theme.selected()),
        tabs,
    );
    match app.screen {
        Screen::Overview => overview(app, theme, f, body),
        Screen::Site => site(app, theme, f, body),
        Screen::Rack => rack(app, theme, f, body),
        Screen::Devices => devices(app, theme, f, body),
        Screen::Alarms => alarms(app, theme, f, body),
        Screen::Trends => trends(app, theme, f, body),
        Screen::Fleet => fleet(app, theme, f, body),
    }
    let hint = match app.mode {
        Mode::Filter => tr.args("tui-hint-filter", &[("filter", &app.filter)]),
        Mode::Normal => tr.t("tui-hint-normal"),
    };
    f.render_widget(Paragraph::new(hint), status);
    if app.help {
        help(tr, f, body);
    }
}

/// How many terminal columns `s` takes (a CJK character takes two), as ratatui lays it out.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` padded with spaces to `columns` terminal columns (`format!("{s:<n}")` counts characters,
/// so a Chinese text would come out too wide).
pub fn pad(s: &str, columns: usize) -> String {
    format!("{s}{}", " ".repeat(columns.saturating_sub(width(s))))
}

fn u16_width(s: &str) -> u16 {
    u16::try_from(width(s)).unwrap_or(u16::MAX)
}

/// A table's header texts (catalogue `keys` in `tr`'s language) and its column widths, each
/// widened to its header's display width: the widths are chosen for the values, and a
/// translated header may be wider than the English one.
pub fn columns<const N: usize>(
    tr: &Tr,
    keys: [&str; N],
    widths: [Constraint; N],
) -> ([String; N], [Constraint; N]) {
    let headers = keys.map(|k| tr.t(k));
    let mut widths = widths;
    for (c, h) in widths.iter_mut().zip(&headers) {
        let w = u16_width(h);
        *c = match *c {
            Constraint::Length(n) => Constraint::Length(n.max(w)),
            Constraint::Min(n) => Constraint::Min(n.max(w)),
            other => other,
        };
    }
    (headers, widths)
}

pub fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.decimals$}"))
}

/// `s` cut to at most `columns` terminal columns at a space, ending in "…" when cut, so a
/// figure is shown whole or not at all (a word longer than the room is cut mid-word).
pub fn fit(s: &str, columns: usize) -> String {
    if width(s) <= columns {
        return s.to_owned();
    }
    if columns == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    let mut last_space = None;
    for c in s.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        // Room for the "…".
        if used + w + 1 > columns {
            break;
        }
        if c == ' ' {
            last_space = Some(out.len());
        }
        out.push(c);
        used += w;
    }
    if let Some(i) = last_space {
        out.truncate(i);
    }
    format!("{}…", out.trim_end())
}

fn rack(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let Some(r) = app.selected_rack() else {
        f.render_widget(Paragraph::new(tr.t("tui-rack-none")), area);
        return;
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let mut rows = Vec::new();
    for p in &r.pdus {
        rows.push(Row::new(vec![
            p.device.clone(),
            tr.t("tui-rack-total"),
            format!("{} kW", fmt(p.power_w.map(|w| w / 1000.0), 2)),
            String::new(),
            String::new(),
        ]));
        for (point, amps) in &p.currents {
            let load = p.breaker_a.map(|b| amps / b * 100.0);
            rows.push(
                Row::new(vec![
                    String::new(),
                    point.clone(),
                    String::new(),
                    format!("{amps:.1} A"),
                    format!("{}%", fmt(load, 0)),
                ])
                .style(theme.by_share(load.map(|l| l / EIGHTY_PCT * 100.0))),
            );
        }
    }
    let title = tr.args(
        "tui-rack-title",
        &[
            ("rack", &r.id),
            ("power", &fmt(r.power_w, 0)),
            ("budget", &fmt(r.budget_w, 0)),
            ("inlet", &fmt(r.inlet_c, 1)),
        ],
    );
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-pdu",
            "tui-col-point",
            "tui-col-power",
            "tui-col-current",
            "tui-col-of-breaker",
        ],
        [
            Constraint::Min(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(6),
        ],
    );
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(Block::default().borders(Borders::ALL).title(title)),
        top,
    );
    let servers = r.servers.iter().map(|s| {
        Row::new(vec![
            s.device.clone(),
            format!("{}%", fmt(s.cpu_pct, 0)),
            format!("{} W", fmt(s.power_w, 0)),
        ])
    });
    let (headers, widths) = columns(
        tr,
        ["tui-col-server", "tui-col-cpu", "tui-col-power"],
        [
            Constraint::Min(12),
            Constraint::Length(6),
            Constraint::Length(8),
        ],
    );
    f.render_widget(
        Table::new(servers, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(tr.t("tui-rack-servers")),
            ),
        bottom,
    );
}

fn devices(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let sort = tr.t(match app.sort {
        SortBy::Id => "tui-sort-id",
        SortBy::State => "tui-sort-state",
        SortBy::PollMs => "tui-sort-poll",
        SortBy::Age => "tui-sort-age",
    });
    let list = app.visible_devices();
    // Only the rows that fit are built: a site can have ten thousand devices.
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    let first = app
        .device
        .saturating_sub(height / 2)
        .min(list.len().saturating_sub(height));
    let rows = list
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, d)| {
            let state = if d.up {
                Cell::from(tr.t("tui-state-up")).style(theme.ok())
            } else {
                Cell::from(tr.t("tui-state-down")).style(theme.bad())
            };
            let row = Row::new(vec![
                Cell::from(d.id.clone()),
                state,
                Cell::from(format!("{:.0} ms", d.poll_ms)),
                Cell::from(format!("{:.0} s", d.age_s)),
                Cell::from(d.error.clone().unwrap_or_default()),
            ]);
            if i == app.device {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let count = list.len().to_string();
    let title = if app.filter.is_empty() {
        tr.args("tui-devices-title", &[("count", &count), ("sort", &sort)])
    } else {
        tr.args(
            "tui-devices-title-filtered",
            &[("count", &count), ("sort", &sort), ("filter", &app.filter)],
        )
    };
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-device",
            "tui-col-state",
            "tui-col-poll",
            "tui-col-age",
            "tui-col-last-error",
        ],
        [
            Constraint::Min(14),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Min(10),
        ],
    );
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The collectors and their heartbeats: silent in red, behind or with devices down in amber.
fn fleet(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    use kilowatch_analyzer::fleet::State;
    let tr = &*app.tr;
    let fleet = &app.snapshot.fleet;
    let rows = fleet.iter().map(|c| {
        let (state, style) = match c.state {
            State::Ok => ("tui-fleet-ok", Style::default()),
            State::Degraded => ("tui-fleet-degraded", theme.warn()),
            State::Behind => ("tui-fleet-behind", theme.warn()),
            State::Silent => ("tui-fleet-silent", theme.bad()),
        };
        let n = |v: Option<f64>| fmt(v, 0);
        Row::new(vec![
            c.collector.clone(),
            c.sites.clone(),
            tr.t(state),
            format!("{:.0} s", c.heartbeat_age_s),
            format!("{}/{}", n(c.devices_up), n(c.devices_total)),
            n(c.outbox_points),
            n(c.outbox_oldest_s),
            c.reason.clone().unwrap_or_default(),
        ])
        .style(style)
    });
    let silent = fleet.iter().filter(|c| c.state == State::Silent).count();
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-collector",
            "tui-col-sites",
            "tui-col-state",
            "tui-col-heartbeat",
            "tui-col-devices",
            "tui-col-outbox",
            "tui-col-oldest",
            "tui-col-why",
        ],
        [
            Constraint::Min(12),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Min(16),
        ],
    );
    let title = tr.args(
        "tui-fleet-title",
        &[
            ("count", &fleet.len().to_string()),
            ("silent", &silent.to_string()),
        ],
    );
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The keys, centred over the screen: as wide as its longest line (in display columns, so
/// a Chinese text is not cut off), at most the screen's width.
fn help(tr: &Tr, f: &mut Frame, area: Rect) {
    let entries = help_lines(tr);
    // The keys column: at least 18 columns wide, as it always was.
    let keys = entries
        .iter()
        .map(|(k, _)| width(k))
        .max()
        .unwrap_or(0)
        .max(18);
    let lines: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{} {v}", pad(k, keys)))
        .collect();
    let title = tr.t("tui-help-title");
    let inner = lines
        .iter()
        .map(|l| width(l))
        .chain([width(&title)])
        .max()
        .unwrap_or(0);
    let w = u16::try_from(inner + 2).unwrap_or(u16::MAX).min(area.width);
    let h = (u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2))
    .min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_character_is_two_columns_and_padding_counts_columns() {
        assert_eq!(width("機櫃 r01"), 8);
        assert_eq!(pad("機櫃", 6), "機櫃  ");
        assert_eq!(pad("rack", 6), "rack  ");
        assert_eq!(pad("收集器群", 4), "收集器群", "never cut");
    }

    #[test]
    fn fitting_cuts_at_a_space_never_inside_a_figure() {
        assert_eq!(fit("inlet 28.5 °C above", 30), "inlet 28.5 °C above");
        assert_eq!(fit("inlet 28.5 °C above", 12), "inlet 28.5…");
        assert_eq!(fit("inlet 28.5 °C above", 9), "inlet…");
        assert_eq!(fit("進風 28.5 °C", 9), "進風…");
        assert!(width(&fit("進風溫度過高", 7)) <= 7);
        assert_eq!(fit("abc", 0), "");
    }
}
