//! Server power models: linear, Fan et al., measured (SPECpower) curves, a typical curve for
//! servers without a power reading, least-squares fits and quantiles.

use serde::Serialize;

/// Linear model: P(u) = P_idle + (P_max − P_idle)·u.
pub(crate) fn linear_w(idle_w: f64, max_w: f64, u: f64) -> f64 {
    idle_w + (max_w - idle_w) * u
}

/// Fan, Weber & Barroso's curve: P_idle + (P_max − P_idle)(2u − u^r), r ≈ 1.4.
pub fn fan_w(idle_w: f64, max_w: f64, u: f64, r: f64) -> f64 {
    idle_w + (max_w - idle_w) * (2.0 * u - u.powf(r))
}

/// A measured power curve (load fraction → W), e.g. a SPECpower_ssj2008 result: piecewise-linear
/// between points, exact at each point, clamped at the ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PowerCurve {
    /// (load 0..=1, W), sorted by load.
    pub points: Vec<(f64, f64)>,
}

impl PowerCurve {
    pub fn new(mut points: Vec<(f64, f64)>) -> PowerCurve {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        PowerCurve { points }
    }

    pub fn watts(&self, u: f64) -> f64 {
        let p = &self.points;
        match p.iter().position(|(x, _)| *x >= u) {
            None => p.last().map_or(0.0, |l| l.1),
            Some(0) => p[0].1,
            Some(i) => {
                let ((x0, y0), (x1, y1)) = (p[i - 1], p[i]);
                if x1 == x0 {
                    y1
                } else {
                    y0 + (y1 - y0) * (u - x0) / (x1 - x0)
                }
            }
        }
    }
}

/// Ordinary least squares of y on x: (intercept, slope, R²). `None` for fewer than two distinct x.
pub(crate) fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let ss_tot: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let r2 = if ss_tot == 0.0 {
        1.0
    } else {
        1.0 - ss_res / ss_tot
    };
    Some((intercept, slope, r2))
}

/// The q-quantile (0..=1) by linear interpolation between order statistics (numpy's default,
/// R-7), so figures match what planners compute in a spreadsheet.
pub(crate) fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let h = (values.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (h - lo as f64))
}

/// A power model fitted to paired (CPU %, W) samples: W = idle_w + w_per_cpu_pct × CPU %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerFit {
    pub idle_w: f64,
    pub w_per_cpu_pct: f64,
    pub r2: f64,
    /// Root mean square of the residuals (W): how far single readings stray from the line.
    pub residual_rms_w: f64,
    pub samples: usize,
}

impl PowerFit {
    pub fn fit(points: &[(f64, f64)]) -> Option<PowerFit> {
        let (idle_w, w_per_cpu_pct, r2) = fit_line(points)?;
        let ss: f64 = points
            .iter()
            .map(|(x, y)| (y - idle_w - w_per_cpu_pct * x).powi(2))
            .sum();
        Some(PowerFit {
            idle_w,
            w_per_cpu_pct,
            r2,
            residual_rms_w: (ss / points.len() as f64).sqrt(),
            samples: points.len(),
        })
    }

    pub fn watts(&self, cpu_pct: f64) -> f64 {
        self.idle_w + self.w_per_cpu_pct * cpu_pct
    }
}

/// The fallback for a server with no power reading: a SPECpower-like curve as a share of full
/// power, from consolidation.md §1.1 for hardware of 2017–2022 — idle 0.20 (pooled median), 10 %
/// load 0.33 and 50 % load 0.54 (medians of the yearly medians), 100 % load 1.0 — scaled to the
/// server's rated power.
pub const TYPICAL_CURVE: [(f64, f64); 4] = [(0.0, 0.20), (0.1, 0.33), (0.5, 0.54), (1.0, 1.0)];

pub(crate) fn typical_curve(max_w: f64) -> PowerCurve {
    PowerCurve::new(TYPICAL_CURVE.iter().map(|(u, s)| (*u, s * max_w)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_line_recovers_a_known_power_model() {
        let pts: Vec<(f64, f64)> = (0..=10)
            .map(|i| (i as f64 * 10.0, 100.0 + 1.5 * i as f64 * 10.0))
            .collect();
        let (a, b, r2) = fit_line(&pts).unwrap();
        assert!((a - 100.0).abs() < 1e-9 && (b - 1.5).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        let mut v = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert!(
            (quantile(&mut v, 0.9).unwrap() - 9.1).abs() < 1e-12,
            "numpy's default (R-7)"
        );
    }

    #[test]
    fn residuals_and_the_typical_curve() {
        // Two readings at each load, 2 W either side of 100 W + 1.5 W/%: the line is exact and
        // every residual is 2 W.
        let pts: Vec<(f64, f64)> = (0..=10)
            .flat_map(|i| {
                let x = i as f64 * 10.0;
                [(x, 102.0 + 1.5 * x), (x, 98.0 + 1.5 * x)]
            })
            .collect();
        let f = PowerFit::fit(&pts).unwrap();
        assert!((f.idle_w - 100.0).abs() < 1e-9 && (f.w_per_cpu_pct - 1.5).abs() < 1e-12);
        assert!((f.residual_rms_w - 2.0).abs() < 1e-9, "{f:?}");
        assert!(f.r2 < 1.0);
        assert_eq!(f.samples, 22);
        // A 400 W server with no power reading: 80 W idle, 216 W at half load, 400 W at full.
        let c = typical_curve(400.0);
        assert_eq!(
            (c.watts(0.0), c.watts(0.5), c.watts(1.0)),
            (80.0, 216.0, 400.0)
        );
        assert!((c.watts(0.3) - (132.0 + (216.0 - 132.0) * 0.5)).abs() < 1e-9);
    }
}
