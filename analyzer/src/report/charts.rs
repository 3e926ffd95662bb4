//! The reports' charts as SVG (plotters): the daily PUE trend, the energy breakdown, monthly
//! facility energy, and the bar charts the consolidation and capacity reports share.
//!
//! Every tick drawn carries its label (plotters' own key points thin bar labels to one in two
//! and print days as numbers since 1970, so the axes here place their own ticks); time axes
//! read calendar dates in the site's zone; each axis names its unit; a chart of two series has
//! a legend; the palette keeps apart in grey print (dark, mid and light, bars outlined). Data
//! that cannot make a chart gives a sentence saying why instead of an empty frame.

use std::ops::Range;

use kilowatch_core::i18n::Tr;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::SiteReport;

/// Dark, mid and light: about 25 %, 55 % and 85 % lightness, so each series keeps its own
/// grey when printed in black and white.
pub const PALETTE: [RGBColor; 3] = [
    RGBColor(0x1f, 0x3b, 0x73),
    RGBColor(0xc8, 0x6a, 0x1e),
    RGBColor(0xbf, 0xd7, 0xee),
];
/// Labels longer than this are cut with "…" (the tables give them in full).
const LABEL_CHARS: usize = 16;
/// About the width of one character of the 12-pixel label font.
const CHAR_PX: usize = 7;
const WIDTH: u32 = 680;

/// A chart, or why the data cannot make one (in the reader's language).
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Svg(String),
    Skipped(String),
}

impl Chart {
    /// The chart in a `<figure>` with its caption, or the reason in a paragraph, for an HTML
    /// section.
    pub(crate) fn figure(&self, caption: &str) -> String {
        use super::esc;
        match self {
            Chart::Svg(svg) => format!(
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                esc(caption)
            ),
            Chart::Skipped(why) => {
                format!("<p class=\"no-chart\">{}: {}</p>", esc(caption), esc(why))
            }
        }
    }
}

/// An axis whose ticks are exactly `at` (every one labelled by the chart's formatter).
#[derive(Debug, Clone)]
struct Ticks {
    lo: f64,
    hi: f64,
    at: Vec<f64>,
}

impl Ranged for Ticks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let share = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        self.at.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// `label` cut to [`LABEL_CHARS`].
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Whether `labels` must stand rotated to fit `slots` side by side, and the label area's
/// height for them.
fn label_layout(labels: &[String], slots: usize) -> (bool, u32) {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let slot_px = (WIDTH as usize - 90) / slots.max(1);
    if longest * CHAR_PX + 6 > slot_px {
        (true, (longest * CHAR_PX + 14) as u32)
    } else {
        (false, 34)
    }
}

/// The daily PUE trend, with the site's local dates on its axis; none for fewer than two days
/// with a PUE (a trend needs two points).
pub fn daily_chart(s: &SiteReport, tr: &Tr) -> Chart {
    let points: Vec<(f64, f64)> = s
        .daily
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.pue.map(|p| (i as f64, p)))
        .collect();
    if points.len() < 2 {
        return Chart::Skipped(tr.args("chart-no-trend", &[("days", &points.len().to_string())]));
    }
    let n = s.daily.len();
    // At most a dozen dated ticks: every k-th day, each with its date.
    let every = n.div_ceil(12).max(1);
    let at: Vec<f64> = (0..n).step_by(every).map(|i| i as f64).collect();
    let labels: Vec<String> = s.daily.iter().map(|d| d.day.clone()).collect();
    let (rotate, label_px) = label_layout(&labels, at.len());
    let (y0, y1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
        (a.min(*y), b.max(*y))
    });
    let pad = ((y1 - y0) * 0.1).max(0.02);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 240 + label_px)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let x = Ticks {
            lo: -0.5,
            hi: n as f64 - 0.5,
            at,
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(label_px + 18)
            .y_label_area_size(60)
            .build_cartesian_2d(x, (y0 - pad)..(y1 + pad))
        {
            let fmt = |v: &f64| {
                labels
                    .get(v.round().max(0.0) as usize)
                    .cloned()
                    .unwrap_or_default()
            };
            let _ = chart
                .configure_mesh()
                .x_label_formatter(&fmt)
                .x_label_style(axis_labels(rotate))
                .x_desc(tr.args("chart-date-zone", &[("zone", &s.timezone)]))
                .y_desc(s.label.as_str())
                .axis_desc_style(axis_titles())
                .max_light_lines(0)
                .draw();
            let ink = PALETTE[0];
            // A day without a PUE breaks the line rather than being drawn across.
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            for p in &points {
                match runs.last_mut() {
                    Some(run) if run.last().is_some_and(|q| p.0 - q.0 < 1.5) => run.push(*p),
                    _ => runs.push(vec![*p]),
                }
            }
            for run in runs {
                let _ = chart.draw_series(LineSeries::new(run, ink.stroke_width(2)));
            }
            let _ = chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, ink.filled())));
        }
        let _ = root.present();
    }
    Chart::Svg(svg)
}

/// The tick-label style: 12 px, turned upright to read bottom to top when labels are long.
fn axis_labels(rotate: bool) -> TextStyle<'static> {
    let style = ("sans-serif", 12).into_font().color(&BLACK);
    if rotate {
        style
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Right, VPos::Center))
    } else {
        style
    }
}

/// The axis titles' style, set apart: else they take the tick labels', turned with them.
fn axis_titles() -> TextStyle<'static> {
    ("sans-serif", 12).into_font().color(&BLACK)
}

/// IT, each metered subsystem and the unmetered rest, as bars (kWh).
pub(super) fn breakdown_chart(s: &SiteReport, tr: &Tr) -> Chart {
    let mut labels = vec![tr.t("chart-it")];
    let mut values = vec![Some(s.it_kwh)];
    for (name, p) in &s.breakdown.partial {
        labels.push(name.clone());
        values.push(Some((p - 1.0) * s.it_kwh));
    }
    labels.push(tr.t("chart-unmetered"));
    values.push(Some(s.breakdown.unmetered_kwh.max(0.0)));
    bar_chart(
        &labels,
        &[Series {
            name: String::new(),
            values,
        }],
        &tr.t("chart-kwh"),
        tr,
    )
}

/// Facility energy per local month (kWh); none for fewer than two months with readings.
pub(super) fn monthly_chart(s: &SiteReport, tr: &Tr) -> Chart {
    let measured = s
        .monthly
        .iter()
        .filter(|m| m.facility_kwh.is_some())
        .count();
    if measured < 2 {
        return Chart::Skipped(tr.args("chart-no-months", &[("months", &measured.to_string())]));
    }
    let labels: Vec<String> = s.monthly.iter().map(|m| m.month.clone()).collect();
    let values = s.monthly.iter().map(|m| m.facility_kwh).collect();
    bar_chart(
        &labels,
        &[Series {
            name: String::new(),
            values,
        }],
        &tr.t("chart-kwh"),
        tr,
    )
}

/// One series of a bar chart: its legend name and a value per label (`None`: no bar).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Side-by-side bars per label, one per series in the palette's order, every label under its
/// bars; a legend when there is more than one series. None when no series has a value.
pub(crate) fn bar_chart(labels: &[String], series: &[Series], unit: &str, tr: &Tr) -> Chart {
    let finite = |v: &Option<f64>| v.filter(|v| v.is_finite());
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().filter_map(finite))
        .collect();
    if labels.is_empty() || values.is_empty() {
        return Chart::Skipped(tr.t("chart-no-values"));
    }
    let legend = series.len() > 1;
    // Room above the tallest bar for the legend.
    let top = values.iter().copied().fold(0.0, f64::max).max(1e-9) * if legend { 1.4 } else { 1.1 };
    let bottom = values.iter().copied().fold(0.0, f64::min) * 1.1;
    let n = labels.len();
    let shown: Vec<String> = labels.iter().map(|l| short(l)).collect();
    let (rotate, label_px) = label_layout(&shown, n);
    let width = 0.7 / series.len().max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 230 + label_px)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let x = Ticks {
            lo: 0.0,
            hi: n as f64,
            at: (0..n).map(|i| i as f64 + 0.5).collect(),
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(label_px)
            .y_label_area_size(70)
            .build_cartesian_2d(x, bottom..top)
        {
            let fmt = |v: &f64| {
                shown
                    .get(v.floor().max(0.0) as usize)
                    .cloned()
                    .unwrap_or_default()
            };
            let _ = chart
                .configure_mesh()
                .disable_x_mesh()
                .x_label_formatter(&fmt)
                .x_label_style(axis_labels(rotate))
                .y_desc(unit)
                .axis_desc_style(axis_titles())
                .max_light_lines(0)
                .draw();
            for (k, s) in series.iter().enumerate() {
                let colour = PALETTE[k % PALETTE.len()];
                let bars = s.values.iter().enumerate().filter_map(|(i, v)| {
                    let v = finite(v)?;
                    let left = i as f64 + 0.15 + k as f64 * width;
                    Some([(left, 0.0), (left + width, v)])
                });
                let bars: Vec<[(f64, f64); 2]> = bars.collect();
                if let (Ok(a), true) = (
                    chart.draw_series(bars.iter().map(|r| Rectangle::new(*r, colour.filled()))),
                    legend,
                ) {
                    a.label(s.name.clone()).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                    });
                }
                // Outlines keep the light bars visible on white paper.
                let _ = chart.draw_series(
                    bars.iter()
                        .map(|r| Rectangle::new(*r, BLACK.stroke_width(1))),
                );
            }
            if legend {
                let _ = chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE)
                    .border_style(BLACK)
                    .draw();
            }
        }
        let _ = root.present();
    }
    Chart::Svg(svg)
}
