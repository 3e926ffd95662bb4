//! Views: functions of the app state, one per screen, drawn into a frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Tabs, Wrap,
};

use crate::app::{App, Colouring, SCREENS, Screen, SortBy};
use crate::keymap::{HELP, Mode};
use crate::snapshot::{EIGHTY_PCT, INLET_MAX_C};
use crate::theme::Theme;

pub fn render(app: &App, theme: &Theme, f: &mut Frame) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let titles: Vec<&str> = SCREENS.iter().map(|s| s.title()).collect();
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
        Mode::Filter => format!("filter: {}▏ (Enter/Esc done)", app.filter),
        Mode::Normal => {
            "Tab screens · Enter drill down · Esc back · / filter · s sort · ? help · q quit"
                .to_owned()
        }
    };
    f.render_widget(Paragraph::new(hint), status);
    if app.help {
        help(f, body);
    }
}

pub fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.decimals$}"))
}

fn overview(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let header = Row::new([
        "site",
        "PUE 1h",
        "PUE today",
        "facility kW",
        "IT kW",
        "cooling kW",
        "UPS %",
        "alarms",
        "up",
    ])
    .style(theme.title());
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
    let widths = [
        Constraint::Min(8),
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(6),
    ];
    f.render_widget(
        Table::new(rows, widths).header(header).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Sites (PUE is energy-based)"),
        ),
        area,
    );
}

fn site(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(s) = app.snapshot.sites.get(app.site) else {
        return;
    };
    let by = match app.colouring {
        Colouring::Power => "power vs budget",
        Colouring::Inlet => "inlet temperature",
    };
    let mut lines = vec![Line::from(format!(
        "{} — racks coloured by {by} (c to switch)",
        s.name
    ))];
    let mut index = 0;
    for room in &s.rooms {
        lines.push(Line::styled(format!("room {}", room.id), theme.title()));
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
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title("Site")),
        area,
    );
}

fn rack(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(r) = app.selected_rack() else {
        f.render_widget(
            Paragraph::new("no rack selected: Enter on a rack in the Site screen"),
            area,
        );
        return;
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let mut rows = Vec::new();
    for p in &r.pdus {
        rows.push(Row::new(vec![
            p.device.clone(),
            "total".into(),
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
    let title = format!(
        "Rack {} — {} W of {} W budget, inlet {} °C",
        r.id,
        fmt(r.power_w, 0),
        fmt(r.budget_w, 0),
        fmt(r.inlet_c, 1)
    );
    let widths = [
        Constraint::Min(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(6),
    ];
    f.render_widget(
        Table::new(rows, widths)
            .header(
                Row::new(["PDU", "point", "power", "current", "of breaker"]).style(theme.title()),
            )
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
    f.render_widget(
        Table::new(
            servers,
            [
                Constraint::Min(12),
                Constraint::Length(6),
                Constraint::Length(8),
            ],
        )
        .header(Row::new(["server", "CPU", "power"]).style(theme.title()))
        .block(Block::default().borders(Borders::ALL).title("Servers")),
        bottom,
    );
}

fn devices(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let sort = match app.sort {
        SortBy::Id => "id",
        SortBy::State => "state",
        SortBy::PollMs => "poll time",
        SortBy::Age => "age",
    };
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
                Cell::from("up").style(theme.ok())
            } else {
                Cell::from("DOWN").style(theme.bad())
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
    let title = format!(
        "Devices: {} shown, sorted by {sort}{}",
        list.len(),
        if app.filter.is_empty() {
            String::new()
        } else {
            format!(", filter '{}'", app.filter)
        }
    );
    let widths = [
        Constraint::Min(14),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Min(10),
    ];
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(["device", "state", "poll", "age", "last error"]).style(theme.title()))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The rules' alerts (selectable, to acknowledge) above the alarms the view works out itself.
fn alarms(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let alerts = &app.snapshot.rule_alerts;
    let [top, detail, bottom] = Layout::vertical([
        Constraint::Length((alerts.len() as u16 + 3).clamp(4, area.height / 2)),
        Constraint::Length(4),
        Constraint::Min(4),
    ])
    .areas(area);
    rule_alerts(app, theme, f, top);
    let lines = match alerts.get(app.alert) {
        Some(a) => vec![
            Line::from(a.summary.clone()),
            Line::from(
                a.link
                    .as_deref()
                    .map(|l| format!("evidence: {l}"))
                    .unwrap_or_default(),
            ),
        ],
        None => vec![Line::from("no rule alerts pending or firing")],
    };
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Selected · a acknowledges"),
        ),
        detail,
    );
    let [upper, lower] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    derived_alarms(app, theme, f, upper);
    traps(app, theme, f, lower);
}

/// The newest traps, known or not: an unknown one is shown as it came (its OID and varbinds).
fn traps(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let now = app.snapshot.at;
    let rows = app.snapshot.traps.iter().map(|t| {
        let style = if t.effect.starts_with("raise") {
            theme.warn()
        } else {
            Style::default()
        };
        Row::new(vec![
            ago(now, t.at),
            t.source.clone(),
            t.what.clone(),
            t.summary.clone(),
        ])
        .style(style)
    });
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(16),
                Constraint::Length(24),
                Constraint::Min(20),
            ],
        )
        .header(Row::new(["when", "from", "trap", "summary"]).style(theme.title()))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!("Traps: last {}", app.snapshot.traps.len())),
        ),
        area,
    );
}

fn ago(now: i64, since: i64) -> String {
    let s = (now - since).max(0) / 1000;
    format!("{}m{}s ago", s / 60, s % 60)
}

fn rule_alerts(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let now = app.snapshot.at;
    let alerts = &app.snapshot.rule_alerts;
    let rows = alerts.iter().enumerate().map(|(i, a)| {
        let state = match (&a.acked_by, a.firing) {
            (Some(by), _) => format!("ack {by}"),
            (None, true) => "FIRING".to_owned(),
            (None, false) => "pending".to_owned(),
        };
        let style = if i == app.alert {
            theme.selected()
        } else if !a.firing || a.acked_by.is_some() {
            Style::default()
        } else if a.severity == "critical" {
            theme.bad()
        } else {
            theme.warn()
        };
        Row::new(vec![
            state,
            a.severity.clone(),
            a.rule.clone(),
            a.place.clone(),
            a.value.clone(),
            ago(now, a.since),
        ])
        .style(style)
    });
    let firing = alerts.iter().filter(|a| a.firing).count();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(9),
                Constraint::Min(16),
                Constraint::Min(16),
                Constraint::Length(14),
                Constraint::Length(12),
            ],
        )
        .header(
            Row::new(["state", "severity", "alert", "where", "value", "since"])
                .style(theme.title()),
        )
        .block(Block::default().borders(Borders::ALL).title(format!(
            "Rule alerts: {firing} firing, {} pending",
            alerts.len() - firing
        ))),
        area,
    );
}

fn derived_alarms(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let now = app.snapshot.at;
    let rows = app.snapshot.alarms.iter().map(|a| {
        Row::new(vec![a.subject.clone(), a.text.clone(), ago(now, a.since)]).style(if a.critical {
            theme.bad()
        } else {
            theme.warn()
        })
    });
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(12),
                Constraint::Min(20),
                Constraint::Length(12),
            ],
        )
        .header(Row::new(["subject", "alarm", "since"]).style(theme.title()))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!("Alarms: {} active", app.snapshot.alarms.len())),
        ),
        area,
    );
}

/// The collectors and their heartbeats: silent in red, behind or with devices down in amber.
fn fleet(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    use kilowatch_analyzer::fleet::State;
    let fleet = &app.snapshot.fleet;
    let rows = fleet.iter().map(|c| {
        let (state, style) = match c.state {
            State::Ok => ("ok", Style::default()),
            State::Degraded => ("degraded", theme.warn()),
            State::Behind => ("behind", theme.warn()),
            State::Silent => ("SILENT", theme.bad()),
        };
        let n = |v: Option<f64>| fmt(v, 0);
        Row::new(vec![
            c.collector.clone(),
            c.sites.clone(),
            state.to_owned(),
            format!("{:.0} s", c.heartbeat_age_s),
            format!("{}/{}", n(c.devices_up), n(c.devices_total)),
            n(c.outbox_points),
            n(c.outbox_oldest_s),
            c.reason.clone().unwrap_or_default(),
        ])
        .style(style)
    });
    let silent = fleet.iter().filter(|c| c.state == State::Silent).count();
    f.render_widget(
        Table::new(
            rows,
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
        )
        .header(
            Row::new([
                "collector",
                "sites",
                "state",
                "heartbeat",
                "devices",
                "outbox",
                "oldest s",
                "why",
            ])
            .style(theme.title()),
        )
        .block(Block::default().borders(Borders::ALL).title(format!(
            "Collectors: {} ({silent} silent) · heartbeats in this source",
            fleet.len()
        ))),
        area,
    );
}

fn trends(app: &App, f: &mut Frame, area: Rect) {
    let Some(s) = app.snapshot.sites.get(app.site) else {
        return;
    };
    let [a, b] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    chart(
        f,
        a,
        &s.pue_trend,
        &format!("{} hourly ({})", s.category, s.id),
    );
    chart(f, b, &s.kw_trend, "facility kW");
}

fn chart(f: &mut Frame, area: Rect, data: &[(f64, f64)], title: &str) {
    if data.is_empty() {
        f.render_widget(
            Paragraph::new("no data yet").block(
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

fn help(f: &mut Frame, area: Rect) {
    let w = area.width.min(56);
    let h = (HELP.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| Line::from(format!("{k:<18} {v}")))
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Keys (any key closes)"),
        ),
        r,
    );
}
