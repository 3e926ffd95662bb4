//! Views: functions of the app state, one per screen, drawn into a frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Tabs, Wrap,
};

use kilowatch_core::i18n::Tr;

use crate::app::{App, Colouring, SCREENS, Screen, SortBy};
use crate::keymap::{Mode, help_lines};
use crate::snapshot::{EIGHTY_PCT, INLET_MAX_C};
use crate::theme::Theme;

mod alarms;
use alarms::alarms;

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
        Screen::Trends => trends(app, f, body),
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

fn overview(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-site",
            "tui-col-pue-hour",
            "tui-col-pue-today",
            "tui-col-facility-kw",
            "tui-col-it-kw",
            "tui-col-cooling-kw",
            "tui-col-ups-pct",
            "tui-col-alarms",
            "tui-col-up",
        ],
        [
            Constraint::Min(8),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    );
    let header = Row::new(headers).style(theme.title());
    let rows = app.snapshot.sites.iter().enumerate().map(|(i, s)| {
        let alarms = app
            .snapshot
            .alarms
            .iter()
            .filter(|a| a.subject.starts_with(&s.id) || a.subject.contains(&format!("({})", s.id)))
            .count();
        let up_style = if s.devices_up < s.devices_total {
            theme.bad()
        } else {
            theme.ok()
        };
        let row = Row::new(vec![
            Cell::from(s.id.clone()),
            Cell::from(format!("{} {}", fmt(s.pue_hour, 2), s.category)),
            Cell::from(fmt(s.pue_today, 2)),
            Cell::from(fmt(s.facility_kw, 1)),
            Cell::from(fmt(s.it_kw, 1)),
            Cell::from(fmt(s.cooling_kw, 1)),
            Cell::from(fmt(s.ups_load_pct, 0))
                .style(theme.by_share(s.ups_load_pct.map(|l| l / EIGHTY_PCT * 100.0))),
            Cell::from(alarms.to_string()).style(if alarms > 0 {
                theme.bad()
            } else {
                Style::default()
            }),
            Cell::from(format!("{}/{}", s.devices_up, s.devices_total)).style(up_style),
        ]);
        if i == app.site {
            row.style(theme.selected())
        } else {
            row
        }
    });
    f.render_widget(
        Table::new(rows, widths).header(header).block(
            Block::default()
                .borders(Borders::ALL)
                .title(tr.t("tui-overview-title")),
        ),
        area,
    );
}

fn site(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(s) = app.snapshot.sites.get(app.site) else {
        return;
    };
    let tr = &*app.tr;
    let by = tr.t(match app.colouring {
        Colouring::Power => "tui-site-by-power",
        Colouring::Inlet => "tui-site-by-inlet",
    });
    let mut lines = vec![Line::from(
        tr.args("tui-site-heading", &[("name", &s.name), ("by", &by)]),
    )];
    let mut index = 0;
    for room in &s.rooms {
        lines.push(Line::styled(
            tr.args("tui-site-room", &[("room", &room.id)]),
            theme.title(),
        ));
        let mut spans = Vec::new();
        for r in &room.racks {
            let (text, style) = match app.colouring {
                Colouring::Power => (
                    format!(" {} {}% ", r.id, fmt(r.load_pct(), 0)),
                    theme.by_share(r.load_pct().map(|l| l / EIGHTY_PCT * 100.0)),
                ),
                Colouring::Inlet => (
                    format!(" {} {}°C ", r.id, fmt(r.inlet_c, 1)),
                    theme.by_share(r.inlet_c.map(|t| t / INLET_MAX_C * 100.0)),
                ),
            };
            let style = if index == app.rack {
                style.patch(theme.selected())
            } else {
                style
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(" "));
            index += 1;
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Screen::Site.title(tr)),
        ),
        area,
    );
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

fn trends(app: &App, f: &mut Frame, area: Rect) {
    let Some(s) = app.snapshot.sites.get(app.site) else {
        return;
    };
    let tr = &*app.tr;
    let [a, b] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    chart(
        tr,
        f,
        a,
        &s.pue_trend,
        &tr.args(
            "tui-trend-pue",
            &[("category", &s.category), ("site", &s.id)],
        ),
    );
    chart(tr, f, b, &s.kw_trend, &tr.t("tui-trend-kw"));
}

fn chart(tr: &Tr, f: &mut Frame, area: Rect, data: &[(f64, f64)], title: &str) {
    if data.is_empty() {
        f.render_widget(
            Paragraph::new(tr.t("tui-chart-empty")).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(title.to_owned()),
            ),
            area,
        );
        return;
    }
    let (x0, x1) = (data[0].0, data[data.len() - 1].0.max(data[0].0 + 1.0));
    let (y0, y1) = data.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
        (lo.min(*y), hi.max(*y))
    });
    let pad = ((y1 - y0) * 0.1).max(0.01);
    let ds = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .data(data);
    let c = Chart::new(vec![ds])
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_owned()),
        )
        .x_axis(Axis::default().bounds([x0, x1]))
        .y_axis(
            Axis::default()
                .bounds([y0 - pad, y1 + pad])
                .labels([format!("{:.2}", y0 - pad), format!("{:.2}", y1 + pad)]),
        );
    f.render_widget(c, area);
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
}
