//! The Alarms screen: rule alerts (with acknowledgement), alarms derived from the readings, and
//! the traps received.

use super::*;

/// The rules' alerts (selectable, to acknowledge) above the alarms the view works out itself.
pub(super) fn alarms(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let alerts = &app.snapshot.rule_alerts;
    let [top, detail, bottom] = Layout::vertical([
        // At most half the screen; clamp's bounds cross on a tiny one.
        Constraint::Length((alerts.len() as u16 + 3).min(area.height / 2).max(4)),
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
                    .map(|l| tr.args("tui-alarms-evidence", &[("link", l)]))
                    .unwrap_or_default(),
            ),
        ],
        None => vec![Line::from(tr.t("tui-alarms-none"))],
    };
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(tr.t("tui-alarms-selected")),
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
    let tr = &*app.tr;
    let now = app.snapshot.at;
    let rows = app.snapshot.traps.iter().map(|t| {
        let style = if t.effect.starts_with("raise") {
            theme.warn()
        } else {
            Style::default()
        };
        Row::new(vec![
            ago(tr, now, t.at),
            t.source.clone(),
            t.what.clone(),
            t.summary.clone(),
        ])
        .style(style)
    });
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-when",
            "tui-col-from",
            "tui-col-trap",
            "tui-col-summary",
        ],
        [
            Constraint::Length(10),
            Constraint::Length(16),
            Constraint::Length(24),
            Constraint::Min(20),
        ],
    );
    let count = app.snapshot.traps.len().to_string();
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(tr.args("tui-traps-title", &[("count", &count)])),
            ),
        area,
    );
}

fn ago(tr: &Tr, now: i64, since: i64) -> String {
    let s = (now - since).max(0) / 1000;
    tr.args(
        "tui-ago",
        &[
            ("min", &(s / 60).to_string()),
            ("sec", &(s % 60).to_string()),
        ],
    )
}

fn rule_alerts(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let now = app.snapshot.at;
    let alerts = &app.snapshot.rule_alerts;
    let rows = alerts.iter().enumerate().map(|(i, a)| {
        let state = match (&a.acked_by, a.firing) {
            (Some(by), _) => tr.args("tui-alert-acked", &[("by", by)]),
            (None, true) => tr.t("tui-alert-firing"),
            (None, false) => tr.t("tui-alert-pending"),
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
            if a.value.is_empty() {
                tr.t("tui-no-data")
            } else {
                a.value.clone()
            },
            ago(tr, now, a.since),
        ])
        .style(style)
    });
    let firing = alerts.iter().filter(|a| a.firing).count();
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-state",
            "tui-col-severity",
            "tui-col-alert",
            "tui-col-where",
            "tui-col-value",
            "tui-col-since",
        ],
        [
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Min(16),
            Constraint::Min(16),
            Constraint::Length(14),
            Constraint::Length(12),
        ],
    );
    let title = tr.args(
        "tui-rule-alerts-title",
        &[
            ("firing", &firing.to_string()),
            ("pending", &(alerts.len() - firing).to_string()),
        ],
    );
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn derived_alarms(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let now = app.snapshot.at;
    let rows = app.snapshot.alarms.iter().map(|a| {
        Row::new(vec![
            a.subject.clone(),
            a.text.clone(),
            ago(tr, now, a.since),
        ])
        .style(if a.critical {
            theme.bad()
        } else {
            theme.warn()
        })
    });
    let (headers, widths) = columns(
        tr,
        ["tui-col-subject", "tui-col-alarm", "tui-col-since"],
        [
            Constraint::Min(12),
            Constraint::Min(20),
            Constraint::Length(12),
        ],
    );
    let count = app.snapshot.alarms.len().to_string();
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(tr.args("tui-alarms-title", &[("count", &count)])),
            ),
        area,
    );
}
