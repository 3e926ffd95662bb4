//! Baselines and the before/after check auditors ask for: what each site measured over a
//! window before a consolidation, compared with a window after it.

use kilowatch_store::{ReadStore, StoreError, TimeRange};
use serde::{Deserialize, Serialize};

/// A site's mean power over a window, from its meters (energy over covered time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteMeasure {
    pub site: String,
    pub facility_kw: Option<f64>,
    /// IT power at the category the PUE is taken at.
    pub it_kw: Option<f64>,
    pub it_category: Option<u8>,
    pub pue: Option<f64>,
    /// Share of the window the facility meters covered.
    pub coverage: Option<f64>,
}

/// Measures `site` over `range`: facility and IT power and the PUE of the most downstream
/// category measured (the one savings at the racks go through).
pub fn measure(
    store: &dyn ReadStore,
    site: &str,
    range: TimeRange,
) -> Result<SiteMeasure, StoreError> {
    let r = crate::pue::site_pue(store, site, range, crate::pue::Options::default())?;
    let hours = (range.to - range.from) as f64 / 3_600_000.0;
    let kw = |e: &crate::energy::Energy| (e.coverage > 0.0).then(|| e.kwh / (hours * e.coverage));
    let cat = super::downstream_category(&r);
    Ok(SiteMeasure {
        site: site.to_owned(),
        facility_kw: r.facility.as_ref().and_then(kw),
        it_kw: cat.and_then(|(c, _)| r.it.get(&c.number())).and_then(kw),
        it_category: cat.map(|(c, _)| c.number()),
        pue: cat.map(|(_, p)| p),
        // No facility reading in the window is no coverage figure, not 0 %.
        coverage: r.facility.as_ref().map(|e| e.coverage).filter(|c| *c > 0.0),
    })
}

/// What `report consolidation --save-baseline` writes: the measured window and the savings the
/// plan predicted then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub from: String,
    pub to: String,
    pub sites: Vec<SiteMeasure>,
    /// Predicted facility savings per site (kWh/yr), from the plan made on this window.
    pub predicted_savings_kwh_per_year: Vec<(String, f64)>,
}

impl Baseline {
    pub fn from_report(r: &super::ConsolidationReport) -> Baseline {
        Baseline {
            from: r.from.clone(),
            to: r.to.clone(),
            sites: r.measured.clone(),
            predicted_savings_kwh_per_year: r
                .sites
                .iter()
                .map(|s| (s.site.clone(), s.savings_kwh_per_year))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub baseline_from: String,
    pub baseline_to: String,
    pub sites: Vec<SiteVerification>,
    /// How to read the figures (what was and was not adjusted).
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteVerification {
    pub site: String,
    pub facility_kw_before: f64,
    pub facility_kw_after: f64,
    pub it_kw_before: Option<f64>,
    pub it_kw_after: Option<f64>,
    pub pue_before: Option<f64>,
    pub pue_after: Option<f64>,
    /// (before − after) facility kW × 8,760 h: measured at the meters, nothing modelled.
    pub measured_savings_kwh_per_year: f64,
    pub predicted_savings_kwh_per_year: Option<f64>,
    /// Measured as a share of predicted (%).
    pub realised_pct: Option<f64>,
    pub savings_hkd_per_year: Option<f64>,
    pub savings_tco2e_per_year: Option<f64>,
}

/// Compares the measured sites of a later window with a baseline. Sites missing a facility
/// figure on either side are left out and named in the method text.
pub fn verify(
    baseline: &Baseline,
    now: &super::ConsolidationReport,
    config: &kilowatch_core::config::Config,
) -> Verification {
    let mut sites = Vec::new();
    let mut missing = Vec::new();
    for b in &baseline.sites {
        let a = now.measured.iter().find(|m| m.site == b.site);
        let (Some(fb), Some(fa)) = (b.facility_kw, a.and_then(|a| a.facility_kw)) else {
            missing.push(b.site.clone());
            continue;
        };
        let a = a.cloned();
        let saved = (fb - fa) * 8760.0;
        let predicted = baseline
            .predicted_savings_kwh_per_year
            .iter()
            .find(|(s, _)| *s == b.site)
            .map(|(_, v)| *v);
        let site = config.sites.iter().find(|s| s.id == b.site);
        sites.push(SiteVerification {
            site: b.site.clone(),
            facility_kw_before: fb,
            facility_kw_after: fa,
            it_kw_before: b.it_kw,
            it_kw_after: a.as_ref().and_then(|a| a.it_kw),
            pue_before: b.pue,
            pue_after: a.as_ref().and_then(|a| a.pue),
            measured_savings_kwh_per_year: saved,
            predicted_savings_kwh_per_year: predicted,
            realised_pct: predicted.filter(|p| *p != 0.0).map(|p| saved / p * 100.0),
            savings_hkd_per_year: site.and_then(|s| s.tariff_hkd_per_kwh).map(|t| t * saved),
            savings_tco2e_per_year: site
                .and_then(|s| s.emission_factor_kg_per_kwh)
                .map(|f| f * saved / 1000.0),
        });
    }
    let mut method = format!(
        "Mean facility power over the baseline window ({} to {}) against the report's window ({} to {}), each from energy over the time its meters covered, × 8,760 h. No adjustment for weather or workload growth (IPMVP Option C would regress on outdoor temperature): compare windows of the same season and length.",
        baseline.from, baseline.to, now.from, now.to
    );
    if !missing.is_empty() {
        method.push_str(&format!(
            " Left out for want of facility readings on one side: {}.",
            missing.join(", ")
        ));
    }
    Verification {
        baseline_from: baseline.from.clone(),
        baseline_to: baseline.to.clone(),
        sites,
        method,
    }
}
