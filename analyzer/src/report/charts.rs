//! The report's charts as SVG (plotters): the daily PUE trend, the energy breakdown, monthly
//! facility energy, and the bar charts the consolidation and capacity reports share.

use kilowatch_core::i18n::Tr;

use super::SiteReport;

const DAY_MS: i64 = 86_400_000;

/// The daily PUE trend as an SVG document (plotters), its axis named in the reader's language.
pub fn daily_chart_svg(s: &SiteReport, tr: &Tr) -> String {
    use plotters::prelude::*;
    let points: Vec<(f64, f64)> = s
        .daily
        .iter()
        .filter_map(|d| d.pue.map(|p| (d.start_ms as f64 / DAY_MS as f64, p)))
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (x0, x1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| {
            (a.min(*x), b.max(*x))
        });
        let (y0, y1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
        let (x0, x1) = if points.is_empty() {
            (0.0, 1.0)
        } else {
            (x0, x1.max(x0 + 1.0))
        };
        let (y0, y1) = if points.is_empty() {
            (1.0, 2.0)
        } else {
            (y0 - 0.05, y1 + 0.05)
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, y0..y1)
        {
            let _ = chart
                .configure_mesh()
                .x_desc(tr.t("chart-day"))
                .y_desc(s.label.as_str())
                .draw();
            let _ = chart.draw_series(LineSeries::new(points.iter().copied(), &BLUE));
        }
        let _ = root.present();
    }
    svg
}

/// IT, each metered subsystem and the unmetered rest, as bars (kWh).
pub(super) fn breakdown_chart_svg(s: &SiteReport, tr: &Tr) -> String {
    let mut bars: Vec<(String, f64)> = vec![(tr.t("chart-it"), s.it_kwh)];
    for (name, p) in &s.breakdown.partial {
        bars.push((name.clone(), (p - 1.0) * s.it_kwh));
    }
    bars.push((tr.t("chart-unmetered"), s.breakdown.unmetered_kwh.max(0.0)));
    bar_chart_svg(&bars, "kWh")
}

/// Facility energy per month (kWh).
pub(super) fn monthly_chart_svg(s: &SiteReport) -> String {
    let bars: Vec<(String, f64)> = s
        .monthly
        .iter()
        .map(|m| (m.month.clone(), m.facility_kwh))
        .collect();
    bar_chart_svg(&bars, "kWh")
}

/// One bar per label, in green.
pub(crate) fn bar_chart_svg(bars: &[(String, f64)], unit: &str) -> String {
    use plotters::style::{Color, GREEN};
    let labels: Vec<&str> = bars.iter().map(|(l, _)| l.as_str()).collect();
    let values: Vec<f64> = bars.iter().map(|(_, v)| *v).collect();
    grouped_bar_chart_svg(&labels, &[(values, GREEN.mix(0.7))], unit)
}

/// Two bars per label (before in grey, after in green), e.g. a site's IT power before and after
/// consolidation. `rows` are (label, before, after).
pub(crate) fn paired_bar_chart_svg(rows: &[(String, f64, f64)], unit: &str) -> String {
    use plotters::style::{Color, RGBColor};
    let labels: Vec<&str> = rows.iter().map(|(l, _, _)| l.as_str()).collect();
    let before = rows.iter().map(|(_, b, _)| *b).collect();
    let after = rows.iter().map(|(_, _, a)| *a).collect();
    let series = [
        (before, RGBColor(150, 150, 150).to_rgba()),
        (after, RGBColor(40, 160, 60).to_rgba()),
    ];
    grouped_bar_chart_svg(&labels, &series, unit)
}

/// Side-by-side bars per label, one per series in its colour; non-finite values are left out.
fn grouped_bar_chart_svg(
    labels: &[&str],
    series: &[(Vec<f64>, plotters::style::RGBAColor)],
    unit: &str,
) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 260)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let top = series
            .iter()
            .flat_map(|(values, _)| values)
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.1;
        let n = labels.len().max(1);
        let width = 0.7 / series.len().max(1) as f64;
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)
        {
            let _ = chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|x| {
                    labels
                        .get(x.floor() as usize)
                        .map(|l| l.to_string())
                        .unwrap_or_default()
                })
                .y_desc(unit)
                .draw();
            let _ =
                chart.draw_series(series.iter().enumerate().flat_map(|(k, (values, colour))| {
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(move |(i, v)| {
                            let left = i as f64 + 0.15 + k as f64 * width;
                            Rectangle::new([(left, 0.0), (left + width, *v)], colour.filled())
                        })
                }));
        }
        let _ = root.present();
    }
    svg
}
