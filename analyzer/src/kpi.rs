//! The KPIs around PUE, as pure functions of energies (domain/pue.md, kpis.md). Every ratio is
//! of energies over one window; sites and periods combine by summing numerators and
//! denominators, never by averaging ratios.

use serde::Serialize;

/// E_DC / E_IT; `None` when it cannot be a result (PUE ≤ 1 or no IT energy, pue.md §1).
pub fn pue(e_dc_kwh: f64, e_it_kwh: f64) -> Option<f64> {
    let p = e_dc_kwh / e_it_kwh;
    (e_it_kwh > 0.0 && p.is_finite() && p > 1.0).then_some(p)
}

/// DCiE in percent: 100 / PUE.
pub fn dcie_pct(pue: f64) -> f64 {
    100.0 / pue
}

/// Share of facility energy that is not IT: (PUE − 1) / PUE.
pub fn overhead_share(pue: f64) -> f64 {
    (pue - 1.0) / pue
}

/// Fleet or multi-period PUE: ΣE_DC / ΣE_IT over (E_DC, E_IT) pairs.
pub fn combined_pue(parts: &[(f64, f64)]) -> Option<f64> {
    let (dc, it) = parts
        .iter()
        .fold((0.0, 0.0), |(a, b), (d, i)| (a + d, b + i));
    pue(dc, it)
}

/// Energy reuse factor E_reuse / E_DC, and ERE = (E_DC − E_reuse) / E_IT (kpis.md §5).
pub fn erf_ere(e_dc_kwh: f64, e_it_kwh: f64, e_reuse_kwh: f64) -> (f64, f64) {
    (e_reuse_kwh / e_dc_kwh, (e_dc_kwh - e_reuse_kwh) / e_it_kwh)
}

/// CUE in kg CO2e per kWh of IT: Σ(E_s · EF_s) / E_IT, for energy sources with their factors.
pub fn cue(sources: &[(f64, f64)], e_it_kwh: f64) -> f64 {
    sources.iter().map(|(e, ef)| e * ef).sum::<f64>() / e_it_kwh
}

/// Partial PUE of one subsystem sharing the site's IT load: (E_IT + E_sub) / E_IT.
pub fn partial_pue(e_it_kwh: f64, e_subsystem_kwh: f64) -> f64 {
    (e_it_kwh + e_subsystem_kwh) / e_it_kwh
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    /// (subsystem, pPUE) for each metered subsystem.
    pub partial: Vec<(String, f64)>,
    /// The non-IT energy no sub-meter accounts for (E_DC − E_IT − Σ subsystems), kWh.
    pub unmetered_kwh: f64,
    /// Its share of PUE: unmetered / E_IT (so PUE = 1 + Σ(pPUE − 1) + this).
    pub unmetered_pue: f64,
}

/// pPUE per metered subsystem, and the residual that keeps PUE = 1 + Σ(pPUE_k − 1) exact.
pub fn breakdown(e_dc_kwh: f64, e_it_kwh: f64, subsystems: &[(&str, f64)]) -> Breakdown {
    let partial = subsystems
        .iter()
        .map(|(n, e)| ((*n).to_owned(), partial_pue(e_it_kwh, *e)))
        .collect();
    let metered: f64 = subsystems.iter().map(|(_, e)| e).sum();
    let unmetered_kwh = e_dc_kwh - e_it_kwh - metered;
    Breakdown {
        partial,
        unmetered_kwh,
        unmetered_pue: unmetered_kwh / e_it_kwh,
    }
}

/// A meter's relative standard uncertainty from its accuracy class (a % limit treated as a
/// rectangular distribution): a / √3, as a fraction.
pub fn class_uncertainty(accuracy_pct: f64) -> f64 {
    accuracy_pct / 100.0 / 3f64.sqrt()
}

/// Relative standard uncertainty of a sum of meters (energy, relative uncertainty) —
/// independent errors add in quadrature; correlated ones (same model or CT batch) add linearly.
pub fn sum_uncertainty(meters: &[(f64, f64)], correlated: bool) -> f64 {
    let total: f64 = meters.iter().map(|(e, _)| e).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let u = if correlated {
        meters.iter().map(|(e, u)| e * u).sum::<f64>()
    } else {
        meters
            .iter()
            .map(|(e, u)| (e * u).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    u / total
}

/// Relative standard uncertainty of PUE from those of E_DC and E_IT (first-order GUM).
pub fn pue_uncertainty(u_dc: f64, u_it: f64) -> f64 {
    (u_dc * u_dc + u_it * u_it).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn pue_md_t1_monthly_example() {
        let p = pue(950_000.0, 620_000.0).unwrap();
        assert!(near(p, 1.532_258_064_5, 1e-9), "{p}");
        assert_eq!(format!("{p:.2}"), "1.53");
        assert!(near(950_000.0 - 620_000.0, 330_000.0, 0.0));
        assert!(near(overhead_share(p), 330_000.0 / 950_000.0, 1e-12)); // ≈ 35 %
    }

    #[test]
    fn pue_md_t2_energy_reuse() {
        let (dc, it, reuse) = (1_250_000.0, 820_000.0, 210_000.0);
        let p = pue(dc, it).unwrap();
        assert!(near(p, 1.524_390_243_9, 1e-9));
        let (erf, ere) = erf_ere(dc, it, reuse);
        assert!(near(erf, 0.168, 1e-12));
        assert!(near(ere, 1.268_292_682_9, 1e-9));
        assert_eq!(format!("{ere:.2}"), "1.27");
        assert!(near(ere, (1.0 - erf) * p, 1e-12));
    }

    #[test]
    fn pue_md_t3_fleet_is_energy_weighted_within_the_facility_range() {
        // Two sites of different size: the fleet value lies between them and is not their mean.
        let sites = [(1_150.0, 1_000.0), (13_300.0, 10_000.0)];
        let fleet = combined_pue(&sites).unwrap();
        assert!(fleet > 1.15 && fleet < 1.33);
        assert!(!near(fleet, (1.15 + 1.33) / 2.0, 1e-3));
    }

    #[test]
    fn pue_md_t4_rounded_pue_bounds_it_energy() {
        let e_dc = 14_975_435.0; // MWh
        assert!(near(e_dc / 1.08, 13_866_143.5, 1.0));
        let (lo, hi) = (e_dc / 1.085, e_dc / 1.075);
        assert!(
            near(lo, 13_802_244.0, 1.0) && near(hi, 13_930_637.0, 1.0),
            "{lo} {hi}"
        );
    }

    #[test]
    fn pue_md_t5_periods_combine_by_energy_not_by_averaging() {
        assert!(near(
            combined_pue(&[(160.0, 100.0), (200.0, 100.0)]).unwrap(),
            1.80,
            1e-12
        ));
        let two = combined_pue(&[(160.0, 100.0), (200.0, 150.0)]).unwrap();
        assert!(near(two, 1.44, 1e-12));
        let mean = (160.0 / 100.0 + 200.0 / 150.0) / 2.0;
        assert!(near(mean, 1.4667, 1e-4) && !near(two, mean, 1e-3));
    }

    #[test]
    fn pue_md_7_5_uncertainty_example() {
        let u_dc = class_uncertainty(0.5);
        assert!(near(u_dc, 0.0029, 0.00005), "{u_dc}");
        let pdu = class_uncertainty(1.0);
        assert!(near(pdu, 0.0058, 0.00005));
        let meters: Vec<(f64, f64)> = (0..20).map(|_| (100.0, pdu)).collect();
        let independent = sum_uncertainty(&meters, false);
        let correlated = sum_uncertainty(&meters, true);
        assert!(near(independent, 0.0013, 0.00005), "{independent}");
        assert!(near(correlated, 0.0058, 0.00005));
        let (lo, hi) = (
            pue_uncertainty(u_dc, independent),
            pue_uncertainty(u_dc, correlated),
        );
        assert!(
            near(lo, 0.0032, 0.00005) && near(hi, 0.0065, 0.00005),
            "{lo} {hi}"
        );
        // For PUE 1.60: ± 0.005 to ± 0.010 (1 σ); worst-case bound 0.5 % + 1 % = 1.5 %.
        assert!(near(1.60 * lo, 0.005, 0.0005) && near(1.60 * hi, 0.010, 0.0005));
    }

    #[test]
    fn kpis_cue_is_cef_times_pue_for_all_grid_electricity() {
        let (e_dc, e_it, cef) = (1_500.0, 1_000.0, 0.39);
        assert!(near(
            cue(&[(e_dc, cef)], e_it),
            cef * pue(e_dc, e_it).unwrap(),
            1e-12
        ));
    }

    #[test]
    fn breakdown_identity_holds_with_the_unmetered_residual() {
        let b = breakdown(1_600.0, 1_000.0, &[("cooling", 450.0), ("lighting", 30.0)]);
        let sum: f64 = b.partial.iter().map(|(_, p)| p - 1.0).sum::<f64>() + b.unmetered_pue;
        assert!(near(1.0 + sum, 1.6, 1e-12));
        assert!(near(b.unmetered_kwh, 120.0, 1e-9));
        assert!(near(dcie_pct(1.6), 62.5, 1e-12));
    }
}
