//! The Trends screen: hourly PUE and facility kW over the last week, on a time axis labelled
//! with the site's local dates and times.

use kilowatch_core::calendar::{self, TimeZone};

use super::*;

const HOUR: f64 = 3_600_000.0;
const WEEK: f64 = 7.0 * 24.0 * HOUR;

pub(super) fn trends(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(s) = app.snapshot.sites.get(app.site) else {
        return;
    };
    let tr = &*app.tr;
    let tz = s.timezone.clone().unwrap_or(TimeZone::UTC);
    let zone = calendar::zone_name(&tz);
    let [a, b] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let now = app.snapshot.at as f64;
    chart(
        tr,
        theme,
        f,
        a,
        &s.pue_trend,
        (now, HOUR, 2, &tz),
        &tr.args(
            "tui-trend-pue",
            &[("category", &s.category), ("site", &s.id), ("zone", &zone)],
        ),
    );
    chart(
        tr,
        theme,
        f,
        b,
        &s.kw_trend,
        (now, HOUR / 4.0, 1, &tz),
        &tr.t("tui-trend-kw"),
    );
}

/// `05-30 14:00`: a time on the axis, in the site's zone.
fn axis_label(tz: &TimeZone, ms: f64) -> String {
    let full = calendar::format_local(tz, ms as i64);
    match (full.get(5..10), full.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => full,
    }
}

/// The runs of `data` without a gap longer than 1.5 steps: each is drawn as its own line, so
/// a missing hour is a break, not a slope.
fn runs(data: &[(f64, f64)], step: f64) -> Vec<&[(f64, f64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=data.len() {
        if i == data.len() || data[i].0 - data[i - 1].0 > step * 1.5 {
            out.push(&data[start..i]);
            start = i;
        }
    }
    out
}

/// `(now, step, decimals, zone)`: the axis ends now; points further apart than `step` are a gap.
fn chart(
    tr: &Tr,
    theme: &Theme,
    f: &mut Frame,
    area: Rect,
    data: &[(f64, f64)],
    (now, step, decimals, tz): (f64, f64, usize, &TimeZone),
    title: &str,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title.to_owned());
    let (Some(first), Some(last)) = (data.first(), data.last()) else {
        f.render_widget(Paragraph::new(tr.t("tui-chart-empty")).block(block), area);
        return;
    };
    // The axis ends at the last whole step; a week's data spans exactly a week, so its labels
    // fall on whole hours (a day, 42 h, 56 h or 84 h apart).
    let x1 = ((now / step).floor() * step)
        .max(last.0)
        .max(first.0 + step);
    let x0 = if first.0 < x1 - 6.0 * 24.0 * HOUR {
        first.0.min(x1 - WEEK)
    } else {
        first.0
    };
    let (y0, y1) = data.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
        (lo.min(*y), hi.max(*y))
    });
    let pad = ((y1 - y0) * 0.1).max(0.01);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let datasets: Vec<Dataset> = runs(data, step)
        .into_iter()
        .map(|run| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(if run.len() == 1 {
                    GraphType::Scatter
                } else {
                    GraphType::Line
                })
                .style(theme.ok())
                .data(run)
        })
        .collect();
    // As many labels as fit at 16 columns each, spaced to divide the week evenly.
    let n = [8, 5, 4, 3, 2]
        .into_iter()
        .find(|n| usize::from(area.width / 16) >= *n)
        .unwrap_or(2);
    let x_labels: Vec<String> = (0..n)
        .map(|i| axis_label(tz, x0 + (x1 - x0) * i as f64 / (n - 1) as f64))
        .collect();
    let y_labels = [y0, (y0 + y1) / 2.0, y1].map(|v| format!("{v:.decimals$}"));
    f.render_widget(
        Chart::new(datasets)
            .block(block)
            .x_axis(Axis::default().bounds([x0, x1]).labels(x_labels))
            .y_axis(Axis::default().bounds([y0, y1]).labels(y_labels)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_hour_splits_the_line() {
        let d = [(0.0, 1.0), (1.0, 1.0), (3.0, 1.0), (4.0, 1.0), (9.0, 1.0)];
        let r = runs(&d, 1.0);
        assert_eq!(r.iter().map(|r| r.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(runs(&[], 1.0).is_empty());
    }

    #[test]
    fn axis_labels_are_local_dates_and_times() {
        let hk = calendar::zone("Asia/Hong_Kong").unwrap_or(TimeZone::UTC);
        // 2025-01-01T00:00:00Z is 08:00 in Hong Kong.
        assert_eq!(axis_label(&hk, 1_735_689_600_000.0), "01-01 08:00");
    }
}
