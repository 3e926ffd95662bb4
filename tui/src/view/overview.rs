//! The Overview: the sites table, then for the selected site its power chain, UPSs, the last
//! day's PUE and facility kW as sparklines, the top alarms and the hottest inlets. Panels
//! shrink (and lists get shorter) down to 80×24, and grow with the screen up to 240×70.

use ratatui::widgets::{Sparkline, SparklineBar};

use super::*;
use crate::snapshot::{SiteView, UpsView};

const HOUR: i64 = 3_600_000;
const QUARTER: i64 = 15 * 60_000;

pub(super) fn overview(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let sites = app.snapshot.sites.len();
    let compact = area.height < 30;
    let table_h = u16::try_from(sites.clamp(1, if compact { 3 } else { 8 })).unwrap_or(3) + 3;
    let Some(site) = app.snapshot.sites.get(app.site) else {
        sites_table(app, theme, f, area);
        return;
    };
    // Below this there is no room for panels: the table alone, as before.
    if area.height < table_h + 12 || area.width < 60 {
        sites_table(app, theme, f, area);
        return;
    }
    let chain_h = 8u16.max(
        u16::try_from(site.ups.len())
            .unwrap_or(u16::MAX)
            .saturating_add(3),
    );
    let chain_h = chain_h.min(if compact { 8 } else { 12 });
    let rest = area.height.saturating_sub(table_h + chain_h);
    // The lists take the rows their content needs (an alarm can wrap to two lines), the
    // sparklines the rest: a quiet site's tall screen is day curves, not empty boxes.
    let alarms = app.snapshot.rule_alerts.len() + app.snapshot.alarms.len();
    let inlets = site.hottest_inlets(usize::MAX).len() + 1;
    let needed = u16::try_from((2 * alarms).max(inlets).max(1)).unwrap_or(u16::MAX);
    let bottom_h = needed.saturating_add(2).clamp(5, (rest * 3 / 5).max(5));
    let spark_min = if compact { 4 } else { 6 };
    let [table, chain, sparks, bottom] = Layout::vertical([
        Constraint::Length(table_h),
        Constraint::Length(chain_h),
        Constraint::Min(spark_min),
        Constraint::Length(bottom_h),
    ])
    .areas(area);
    sites_table(app, theme, f, table);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(chain);
    power_chain(app, theme, f, left, site);
    ups(app, theme, f, right, &site.ups);
    sparklines(app, theme, f, sparks, site, compact);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(bottom);
    top_alarms(app, theme, f, left);
    hottest_inlets(app, theme, f, right, site);
}

fn sites_table(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
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
        // Narrow enough that every header stands whole at 80 columns.
        [
            Constraint::Min(6),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(5),
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

/// Each step's kW and what was lost since the step above it (and its share of that step);
/// where the panel is wide, a bar per step against the largest, to see the chain narrow.
fn power_chain(app: &App, theme: &Theme, f: &mut Frame, area: Rect, site: &SiteView) {
    let tr = &*app.tr;
    let no_data = tr.t("tui-no-data");
    let steps = site.chain.steps();
    let names = steps.map(|(key, _)| tr.t(key));
    let (headers, [name_w, kw_w, loss_w]) = columns(
        tr,
        ["tui-col-step", "tui-col-kw", "tui-col-loss-kw"],
        [
            Constraint::Length(u16_width(&names.iter().fold(String::new(), |w, n| {
                if width(n) > width(&w) { n.clone() } else { w }
            }))),
            Constraint::Length(9),
            Constraint::Length(15),
        ],
    );
    let fixed: u16 = [name_w, kw_w, loss_w]
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => n + 1,
            _ => 1,
        })
        .sum();
    let bar_w = usize::from(area.width.saturating_sub(2 + fixed));
    let largest = steps.iter().filter_map(|(_, kw)| *kw).fold(0.0, f64::max);
    // A small room's few kW need the second decimal for its losses to show.
    let decimals = if largest < 10.0 { 2 } else { 1 };
    let rows = steps
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, ((_, kw), name))| {
            let prev = i.checked_sub(1).and_then(|p| steps[p].1);
            let loss = match (i, site.chain.loss_before(i)) {
                (0, _) => String::new(),
                (_, Some(l)) => match prev.filter(|p| *p > 0.0) {
                    Some(p) => format!("{} ({} %)", num(l, decimals), num(l / p * 100.0, 1)),
                    None => num(l, decimals),
                },
                (_, None) => no_data.clone(),
            };
            let value = kw.map_or(no_data.clone(), |v| num(v, decimals));
            let style = if kw.is_some() {
                Style::default()
            } else {
                theme.muted()
            };
            let bar = match kw {
                Some(v) if bar_w >= 6 && largest > 0.0 => "█".repeat(
                    (v / largest * bar_w as f64)
                        .round()
                        .clamp(0.0, bar_w as f64) as usize,
                ),
                _ => String::new(),
            };
            Row::new(vec![
                Cell::from(name.clone()),
                Cell::from(value).style(style),
                Cell::from(loss),
                Cell::from(bar).style(theme.ok()),
            ])
        });
    let [h0, h1, h2] = headers;
    f.render_widget(
        Table::new(rows, [name_w, kw_w, loss_w, Constraint::Min(0)])
            .header(Row::new([h0, h1, h2, String::new()]).style(theme.title()))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(tr.args("tui-chain-title", &[("site", &site.id)])),
            ),
        area,
    );
}

fn ups(app: &App, theme: &Theme, f: &mut Frame, area: Rect, ups: &[UpsView]) {
    let tr = &*app.tr;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(tr.t("tui-ups-title"));
    if ups.is_empty() {
        f.render_widget(Paragraph::new(tr.t("tui-ups-none")).block(block), area);
        return;
    }
    let rows = ups.iter().map(|u| {
        // Runtime under ten minutes is the time to act; a battery at half or less, too.
        let runtime = match u.runtime_min {
            Some(m) if m < 10.0 => theme.bad(),
            Some(m) if m < 20.0 => theme.warn(),
            _ => Style::default(),
        };
        let device = if u.on_battery {
            tr.args("tui-ups-on-battery", &[("device", &u.device)])
        } else {
            u.device.clone()
        };
        Row::new(vec![
            Cell::from(device).style(if u.on_battery {
                theme.bad()
            } else {
                Style::default()
            }),
            Cell::from(fmt(u.runtime_min, 0)).style(runtime),
            Cell::from(fmt(u.battery_pct, 0))
                .style(theme.by_share(u.battery_pct.map(|b| (100.0 - b) * 2.0))),
            Cell::from(fmt(u.load_pct, 0))
                .style(theme.by_share(u.load_pct.map(|l| l / EIGHTY_PCT * 100.0))),
        ])
    });
    let (headers, widths) = columns(
        tr,
        [
            "tui-col-ups",
            "tui-col-runtime-min",
            "tui-col-battery-pct",
            "tui-col-load-pct",
        ],
        [
            Constraint::Min(6),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Length(4),
        ],
    );
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(block),
        area,
    );
}

/// `v` to `decimals` places, never "-0.0".
fn num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => s,
    }
}

/// `n` slots of `step` ms ending at `end`, each the mean of the points whose x falls in it.
fn slots(points: &[(f64, f64)], end: i64, step: i64, n: usize) -> Vec<Option<f64>> {
    let start = end - step * n as i64;
    let mut sums = vec![(0.0, 0usize); n];
    for (x, y) in points {
        let i = (*x as i64 - start).div_euclid(step);
        if let Some(s) = usize::try_from(i).ok().and_then(|i| sums.get_mut(i)) {
            s.0 += y;
            s.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(s, n)| (n > 0).then(|| s / n as f64))
        .collect()
}

/// `values` spread over `columns` bars (or merged, when there are more values than columns):
/// a wall screen's sparkline is as wide as the screen, whatever the sampling.
fn resample(values: &[Option<f64>], columns: usize) -> Vec<Option<f64>> {
    let (n, columns) = (values.len(), columns.max(1));
    (0..columns)
        .map(|c| {
            // The values under column c: at least one, so a stretched value repeats.
            let from = c * n / columns;
            let to = ((c + 1) * n / columns).max(from + 1).min(n);
            let some: Vec<f64> = values
                .get(from..to)
                .unwrap_or(&[])
                .iter()
                .flatten()
                .copied()
                .collect();
            (!some.is_empty()).then(|| some.iter().sum::<f64>() / some.len() as f64)
        })
        .collect()
}

/// A sparkline of `values` across `area`, from a baseline just under their minimum so a PUE
/// moving between 1.55 and 1.65 fills the height; gaps stay gaps.
fn spark(theme: &Theme, f: &mut Frame, area: Rect, values: &[Option<f64>]) {
    let bars = resample(values, usize::from(area.width));
    let (lo, hi) = bars
        .iter()
        .flatten()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = (hi - lo).max(1e-9);
    let data: Vec<SparklineBar> = bars
        .iter()
        .map(|v| SparklineBar::from(v.map(|v| 1 + ((v - lo) / span * 99.0).round() as u64)))
        .collect();
    f.render_widget(
        Sparkline::default()
            .data(data)
            .max(100)
            .style(theme.ok())
            .absent_value_style(theme.muted()),
        area,
    );
}

/// (min, max, last) of the values shown, formatted; `None` when there are none.
fn range_of(values: &[Option<f64>], decimals: usize) -> Option<[String; 3]> {
    let last = values.iter().rev().flatten().next()?;
    let min = values.iter().flatten().copied().fold(f64::MAX, f64::min);
    let max = values.iter().flatten().copied().fold(f64::MIN, f64::max);
    Some([min, max, *last].map(|v| format!("{v:.decimals$}")))
}

/// A sparkline's caption: "PUE3 hourly, 24 h: min 1.55 · max 1.68 · last 1.61" (`key`), or
/// when compact "PUE3 24 h: 1.61 (1.55–1.68)"; "no data" without values.
fn caption(tr: &Tr, key: &str, what: &str, range: Option<[String; 3]>, compact: bool) -> String {
    let range = match range {
        Some([min, max, last]) => {
            let args = [("min", min.as_str()), ("max", &max), ("last", &last)];
            if compact {
                let mut a = vec![("what", what)];
                a.extend(args);
                return tr.args("tui-spark-short", &a);
            }
            tr.args("tui-spark-range", &args)
        }
        None => tr.t("tui-no-data"),
    };
    tr.args(key, &[("category", what), ("range", &range)])
}

/// Hourly PUE and facility kW over the last 24 hours: stacked one line each when compact,
/// side by side in their own boxes otherwise.
fn sparklines(app: &App, theme: &Theme, f: &mut Frame, area: Rect, site: &SiteView, compact: bool) {
    let tr = &*app.tr;
    let hour_end = app.snapshot.at.div_euclid(HOUR) * HOUR;
    let pue = slots(&site.pue_trend, hour_end, HOUR, 24);
    let quarter_end = app.snapshot.at.div_euclid(QUARTER) * QUARTER + QUARTER;
    let kw = slots(&site.kw_trend, quarter_end, QUARTER, 96);
    let pue_title = caption(
        tr,
        "tui-spark-pue",
        &site.category,
        range_of(&pue, 2),
        compact,
    );
    let kw_title = caption(tr, "tui-spark-kw", "kW", range_of(&kw, 1), compact);
    if compact {
        let block = Block::default()
            .borders(Borders::ALL)
            .title(tr.t("tui-spark-title"));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let rows = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).split(inner);
        // One label width for both, so the two sparklines line up.
        let label_w = u16_width(&pue_title)
            .max(u16_width(&kw_title))
            .min(inner.width / 2);
        for ((row, title), values) in rows.iter().zip([&pue_title, &kw_title]).zip([&pue, &kw]) {
            let [label, line] =
                Layout::horizontal([Constraint::Length(label_w + 1), Constraint::Min(1)])
                    .areas(*row);
            f.render_widget(Paragraph::new(fit(title, usize::from(label_w))), label);
            spark(theme, f, line, values);
        }
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    for ((part, title), values) in [left, right]
        .into_iter()
        .zip([pue_title, kw_title])
        .zip([pue, kw])
    {
        let block = Block::default().borders(Borders::ALL).title(title);
        let inner = block.inner(part);
        f.render_widget(block, part);
        spark(theme, f, inner, &values);
    }
}

/// Rule alerts firing, then the alarms worked out from the readings, then rule alerts pending;
/// as many as fit, each cut at a word so no figure is half shown.
fn top_alarms(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let tr = &*app.tr;
    let s = &app.snapshot;
    let room = usize::from(area.height.saturating_sub(2));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    let rule = |a: &crate::snapshot::RuleAlert| {
        let (state, style) = match (a.firing, a.severity.as_str()) {
            (false, _) => (tr.t("tui-alert-pending"), Style::default()),
            (true, "critical") => (tr.t("tui-alert-firing"), theme.bad()),
            (true, _) => (tr.t("tui-alert-firing"), theme.warn()),
        };
        let text = format!("{state} {} {} · {}", a.severity, a.rule, a.place);
        Line::styled(fit(&text, inner_w), style)
    };
    // Firing rule alerts, then the alarms read off the devices, then alerts still pending.
    lines.extend(s.rule_alerts.iter().filter(|a| a.firing).map(rule));
    for a in &s.alarms {
        let text = format!("{}: {}", a.subject, a.text);
        let style = if a.critical {
            theme.bad()
        } else {
            theme.warn()
        };
        lines.push(Line::styled(fit(&text, inner_w), style));
    }
    lines.extend(s.rule_alerts.iter().filter(|a| !a.firing).map(rule));
    let total = lines.len();
    if total == 0 {
        lines.push(Line::styled(tr.t("tui-top-alarms-none"), theme.ok()));
    }
    lines.truncate(room);
    let title = tr.args(
        "tui-top-alarms-title",
        &[
            ("shown", &lines.len().min(total).to_string()),
            ("count", &total.to_string()),
        ],
    );
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The hottest rack inlets, coloured against ASHRAE's recommended 27 °C.
fn hottest_inlets(app: &App, theme: &Theme, f: &mut Frame, area: Rect, site: &SiteView) {
    let tr = &*app.tr;
    let n = usize::from(area.height.saturating_sub(3)).max(1);
    let hottest = site.hottest_inlets(n);
    let rows = hottest.iter().map(|(rack, c)| {
        let over = c - INLET_MAX_C;
        Row::new(vec![
            Cell::from((*rack).to_owned()),
            Cell::from(format!("{c:.1}")),
            Cell::from(format!("{over:+.1}")),
        ])
        .style(theme.by_share(Some(c / INLET_MAX_C * 100.0)))
    });
    let (headers, widths) = columns(
        tr,
        ["tui-col-rack", "tui-col-inlet-c", "tui-col-vs-limit"],
        [
            Constraint::Min(6),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    );
    let block = Block::default().borders(Borders::ALL).title(tr.args(
        "tui-inlets-title",
        &[("limit", &format!("{INLET_MAX_C:.0}"))],
    ));
    if hottest.is_empty() {
        f.render_widget(Paragraph::new(tr.t("tui-no-data")).block(block), area);
        return;
    }
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.title()))
            .block(block),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_average_what_falls_in_them_and_leave_gaps_empty() {
        let pts = [(0.0, 1.0), (10.0, 3.0), (25.0, 5.0)];
        assert_eq!(
            slots(&pts, 40, 10, 4),
            vec![Some(1.0), Some(3.0), Some(5.0), None]
        );
    }

    #[test]
    fn a_rounded_zero_has_no_sign() {
        assert_eq!(num(-0.004, 2), "0.00");
        assert_eq!(num(-0.02, 2), "-0.02");
        assert_eq!(num(250.0, 1), "250.0");
    }

    #[test]
    fn resampling_stretches_and_merges() {
        let v = [Some(1.0), None, Some(3.0)];
        assert_eq!(
            resample(&v, 6),
            vec![Some(1.0), Some(1.0), None, None, Some(3.0), Some(3.0)]
        );
        assert_eq!(
            resample(&[Some(1.0), Some(3.0), None, None], 2),
            vec![Some(2.0), None]
        );
    }
}
