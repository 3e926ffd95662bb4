//! Comatose servers (consolidation.md §2): near-zero CPU and traffic over the window while the
//! server still draws power.

use serde::Serialize;

/// When a server counts as comatose. The domain note's project rule is p95 ≤ 5 % and p99 ≤ 10 %
/// with no network activity for 180 days; the window is configurable, and a finding over a shorter
/// window is reported as unconfirmed rather than hidden.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdleRule {
    pub cpu_p95_pct: f64,
    pub cpu_p99_pct: f64,
    pub net_bytes_per_s: f64,
    pub min_days: f64,
}

impl Default for IdleRule {
    fn default() -> IdleRule {
        IdleRule {
            cpu_p95_pct: 5.0,
            cpu_p99_pct: 10.0,
            net_bytes_per_s: 10_000.0,
            min_days: 30.0,
        }
    }
}

/// What was measured of one server over the window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evidence {
    pub cpu_p95_pct: f64,
    pub cpu_p99_pct: f64,
    /// Mean received + sent bytes/s over all interfaces; `None` without IF-MIB counters.
    pub net_bytes_per_s: Option<f64>,
    pub mean_w: f64,
    /// "measured" or how the watts were modelled.
    pub power_source: String,
    pub window_days: f64,
}

/// What a site's energy costs, for the yearly figures of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct SiteCosts {
    pub pue: Option<f64>,
    pub tariff_hkd_per_kwh: Option<f64>,
    pub emission_factor_kg_per_kwh: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdleServer {
    pub device: String,
    pub site: String,
    pub reason: String,
    pub cpu_p95_pct: f64,
    pub cpu_p99_pct: f64,
    pub net_bytes_per_s: Option<f64>,
    pub watts: f64,
    pub power_source: String,
    pub window_days: f64,
    /// False when the window is shorter than the rule's `min_days`: a candidate to re-check.
    pub confirmed: bool,
    /// IT energy a year at the mean power (× 8,760 h).
    pub kwh_per_year: f64,
    /// Facility energy a year: IT energy × the site's PUE, when known.
    pub facility_kwh_per_year: Option<f64>,
    /// Cost of the facility energy (of the IT energy when the PUE is unknown).
    pub hkd_per_year: Option<f64>,
    pub tco2e_per_year: Option<f64>,
}

/// The finding for one server, or `None` when it is not comatose.
pub(crate) fn idle_finding(
    device: &str,
    site: &str,
    e: &Evidence,
    rule: &IdleRule,
    costs: SiteCosts,
) -> Option<IdleServer> {
    let quiet_net = e.net_bytes_per_s.is_none_or(|b| b < rule.net_bytes_per_s);
    if e.cpu_p95_pct > rule.cpu_p95_pct
        || e.cpu_p99_pct > rule.cpu_p99_pct
        || !quiet_net
        || e.mean_w <= 0.0
    {
        return None;
    }
    let kwh = e.mean_w * 8760.0 / 1000.0;
    let facility = costs.pue.map(|p| p * kwh);
    let billed = facility.unwrap_or(kwh);
    let net = e
        .net_bytes_per_s
        .map_or("no network counters".to_owned(), |b| {
            format!("network {b:.0} B/s (< {:.0})", rule.net_bytes_per_s)
        });
    let confirmed = e.window_days >= rule.min_days;
    let mut reason = format!(
        "CPU p95 {:.1} % (≤ {}), p99 {:.1} % (≤ {}) and {net} over {:.1} days while drawing {:.0} W ({})",
        e.cpu_p95_pct,
        rule.cpu_p95_pct,
        e.cpu_p99_pct,
        rule.cpu_p99_pct,
        e.window_days,
        e.mean_w,
        e.power_source
    );
    if !confirmed {
        reason.push_str(&format!(
            "; the rule asks for {} days: confirm over a longer window",
            rule.min_days
        ));
    }
    Some(IdleServer {
        device: device.to_owned(),
        site: site.to_owned(),
        reason,
        cpu_p95_pct: e.cpu_p95_pct,
        cpu_p99_pct: e.cpu_p99_pct,
        net_bytes_per_s: e.net_bytes_per_s,
        watts: e.mean_w,
        power_source: e.power_source.clone(),
        window_days: e.window_days,
        confirmed,
        kwh_per_year: kwh,
        facility_kwh_per_year: facility,
        hkd_per_year: costs.tariff_hkd_per_kwh.map(|t| t * billed),
        tco2e_per_year: costs
            .emission_factor_kg_per_kwh
            .map(|f| f * billed / 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(p95: f64, p99: f64, net: Option<f64>, w: f64, days: f64) -> Evidence {
        Evidence {
            cpu_p95_pct: p95,
            cpu_p99_pct: p99,
            net_bytes_per_s: net,
            mean_w: w,
            power_source: "measured".into(),
            window_days: days,
        }
    }

    #[test]
    fn a_comatose_server_is_found_and_a_busy_one_is_not() {
        let rule = IdleRule::default();
        let costs = SiteCosts {
            pue: Some(1.5),
            tariff_hkd_per_kwh: Some(1.2),
            emission_factor_kg_per_kwh: Some(0.5),
        };
        let idle = idle_finding(
            "srv-07",
            "hk1",
            &evidence(1.2, 3.0, Some(300.0), 95.0, 40.0),
            &rule,
            costs,
        )
        .unwrap();
        // 95 W × 8,760 h = 832.2 kWh; × 1.5 = 1,248.3 kWh at the meter; × 1.2 HKD; × 0.5 kg.
        assert!((idle.kwh_per_year - 832.2).abs() < 1e-9);
        assert!((idle.facility_kwh_per_year.unwrap() - 1_248.3).abs() < 1e-9);
        assert!((idle.hkd_per_year.unwrap() - 1_497.96).abs() < 1e-6);
        assert!((idle.tco2e_per_year.unwrap() - 0.624_15).abs() < 1e-9);
        assert!(
            idle.confirmed && idle.reason.contains("CPU p95 1.2 %"),
            "{idle:?}"
        );
        let busy = |p95, p99, net| {
            idle_finding(
                "x",
                "hk1",
                &evidence(p95, p99, net, 250.0, 40.0),
                &rule,
                costs,
            )
        };
        assert!(busy(42.0, 60.0, Some(300.0)).is_none(), "busy CPU");
        assert!(busy(1.0, 2.0, Some(5e6)).is_none(), "busy network");
        assert!(busy(4.0, 35.0, None).is_none(), "nightly batch peaks (p99)");
        // Quiet over only 2 days: still listed, as a candidate to confirm.
        let short = idle_finding(
            "srv-07",
            "hk1",
            &evidence(1.2, 3.0, None, 95.0, 2.0),
            &rule,
            SiteCosts::default(),
        )
        .unwrap();
        assert!(
            !short.confirmed && short.reason.contains("confirm"),
            "{short:?}"
        );
        assert_eq!(short.hkd_per_year, None);
    }
}
