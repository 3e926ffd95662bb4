//! Thermal compliance at the IT inlet (domain/thermal.md): ASHRAE TC 9.9 envelopes, dew point,
//! the Rack Cooling Index, and the airflow / ΔT relations.

use serde::Serialize;

/// A dry-bulb range in °C.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub min_c: f64,
    pub max_c: f64,
}

impl Range {
    pub fn contains(&self, t: f64) -> bool {
        t >= self.min_c && t <= self.max_c
    }
}

/// ASHRAE recommended envelope (A1–A4, 2015 on): 18–27 °C.
pub const RECOMMENDED: Range = Range {
    min_c: 18.0,
    max_c: 27.0,
};

/// Allowable envelopes by class.
pub const ALLOWABLE: [(&str, Range); 4] = [
    (
        "A1",
        Range {
            min_c: 15.0,
            max_c: 32.0,
        },
    ),
    (
        "A2",
        Range {
            min_c: 10.0,
            max_c: 35.0,
        },
    ),
    (
        "A3",
        Range {
            min_c: 5.0,
            max_c: 40.0,
        },
    ),
    (
        "A4",
        Range {
            min_c: 5.0,
            max_c: 45.0,
        },
    ),
];

/// Dew point (°C) from dry-bulb and relative humidity, Magnus form (b 17.62, c 243.12 °C).
pub fn dew_point_c(t_c: f64, rh_pct: f64) -> f64 {
    let (b, c) = (17.62, 243.12);
    let g = (rh_pct / 100.0).ln() + b * t_c / (c + t_c);
    c * g / (b - g)
}

/// Rack Cooling Index (Herrlin), high and low side, in % for one time step of intake
/// temperatures; 100 % means no intake outside recommended, below 0 % is possible.
pub fn rci(intakes: &[f64], rec: Range, allowable: Range) -> Option<(f64, f64)> {
    if intakes.is_empty() {
        return None;
    }
    let n = intakes.len() as f64;
    let over: f64 = intakes.iter().map(|t| (t - rec.max_c).max(0.0)).sum();
    let under: f64 = intakes.iter().map(|t| (rec.min_c - t).max(0.0)).sum();
    let hi = (1.0 - over / (n * (allowable.max_c - rec.max_c))) * 100.0;
    let lo = (1.0 - under / (n * (rec.min_c - allowable.min_c))) * 100.0;
    Some((hi, lo))
}

/// Temperature rise (°F) of a rack's air for its power and airflow: Q[BTU/h] = 1.08·CFM·ΔT[°F].
pub fn rack_delta_t_f(kw: f64, cfm: f64) -> f64 {
    kw * 3412.0 / (1.08 * cfm)
}

/// Airflow (CFM) a rack needs to stay at a design ΔT (°F).
pub fn required_cfm(kw: f64, delta_t_f: f64) -> f64 {
    kw * 3412.0 / (1.08 * delta_t_f)
}

/// Share of samples in each band: recommended, allowable for each class, beyond A4.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compliance {
    pub samples: usize,
    pub recommended_pct: f64,
    /// (class, share inside that class's allowable range).
    pub allowable_pct: Vec<(String, f64)>,
    pub below_recommended_pct: f64,
    pub above_recommended_pct: f64,
    pub worst_high_c: Option<f64>,
    pub worst_low_c: Option<f64>,
}

pub fn compliance(temps: &[f64]) -> Compliance {
    let n = temps.len().max(1) as f64;
    let share =
        |f: &dyn Fn(f64) -> bool| temps.iter().filter(|t| f(**t)).count() as f64 / n * 100.0;
    Compliance {
        samples: temps.len(),
        recommended_pct: share(&|t| RECOMMENDED.contains(t)),
        allowable_pct: ALLOWABLE
            .iter()
            .map(|(c, r)| ((*c).to_owned(), share(&|t| r.contains(t))))
            .collect(),
        below_recommended_pct: share(&|t| t < RECOMMENDED.min_c),
        above_recommended_pct: share(&|t| t > RECOMMENDED.max_c),
        worst_high_c: temps.iter().copied().reduce(f64::max),
        worst_low_c: temps.iter().copied().reduce(f64::min),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thermal_md_dew_point_is_the_binding_limit_at_27c_60pct() {
        let td = dew_point_c(27.0, 60.0);
        assert!((td - 18.6).abs() < 0.05, "{td}");
        assert!(td > 15.0, "above the 15 °C recommended dew point");
    }

    #[test]
    fn thermal_md_calcspec_rack_airflow_example() {
        // 12 kW rack, 1,000 CFM: ΔT = 40,944 BTU/h / (1.08 × 1,000) = 37.9 °F.
        assert!((12.0 * 3412.0 - 40_944.0_f64).abs() < 1e-9);
        assert!((rack_delta_t_f(12.0, 1000.0) - 37.9).abs() < 0.05);
        // At a 20 °F design ΔT it needs 1,895 CFM.
        assert!((required_cfm(12.0, 20.0) - 1895.6).abs() < 0.5);
    }

    #[test]
    fn rci_by_hand() {
        let a1 = ALLOWABLE[0].1;
        // Four intakes: one 2 °C over 27 (of a 5 °C band), one 1.5 °C under 18 (of a 3 °C band).
        let (hi, lo) = rci(&[22.0, 29.0, 16.5, 25.0], RECOMMENDED, a1).unwrap();
        assert!((hi - (1.0 - 2.0 / (4.0 * 5.0)) * 100.0).abs() < 1e-12); // 90 %
        assert!((lo - (1.0 - 1.5 / (4.0 * 3.0)) * 100.0).abs() < 1e-12); // 87.5 %
        assert_eq!(rci(&[20.0, 26.0], RECOMMENDED, a1), Some((100.0, 100.0)));
        // Beyond allowable: RCI goes negative.
        assert!(rci(&[40.0], RECOMMENDED, a1).unwrap().0 < 0.0);
    }

    #[test]
    fn compliance_shares() {
        let c = compliance(&[17.0, 20.0, 26.0, 28.0, 33.0]);
        assert_eq!(c.recommended_pct, 40.0);
        assert_eq!(c.allowable_pct[0], ("A1".to_owned(), 80.0));
        assert_eq!(c.allowable_pct[1], ("A2".to_owned(), 100.0));
        assert_eq!(
            (c.below_recommended_pct, c.above_recommended_pct),
            (20.0, 40.0)
        );
        assert_eq!((c.worst_low_c, c.worst_high_c), (Some(17.0), Some(33.0)));
    }
}
