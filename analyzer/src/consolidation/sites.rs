//! Savings through PUE and what-if moves of a whole site into another.

use serde::Serialize;

/// Yearly savings of a change in IT power at a site that stays open: (kWh_IT, kWh_DC) per year.
pub(crate) fn yearly_savings_kwh(before_w: f64, after_w: f64, pue: f64) -> (f64, f64) {
    let it = (before_w - after_w) / 1000.0 * 8760.0;
    (it, it * pue)
}

/// What a site offers or needs for a move (kW IT, rack units, cooling kW) and how efficient it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteCapacity {
    pub site: String,
    /// Measured PUE (energy-based) used for its facility energy.
    pub pue: f64,
    pub it_kw: f64,
    pub rack_u_used: f64,
    /// Headroom left for new load.
    pub power_headroom_kw: f64,
    pub space_headroom_u: f64,
    pub cooling_headroom_kw: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteMove {
    pub from: String,
    pub to: String,
    /// Facility energy saved per year: the closed site's whole E_DC minus the moved IT energy at
    /// the target's PUE.
    pub savings_kwh_per_year: f64,
    /// The tightest of power, space and cooling at the target (the one with the least slack).
    pub binding_constraint: String,
    pub feasible: bool,
}

/// Every move of a whole site into another, feasible ones first by savings.
pub fn rank_site_moves(sites: &[SiteCapacity]) -> Vec<SiteMove> {
    let mut moves = Vec::new();
    for a in sites {
        for b in sites.iter().filter(|b| b.site != a.site) {
            // Heat to remove at the target is the IT load moved (its own overhead excluded).
            let slack = [
                ("power", b.power_headroom_kw - a.it_kw, b.power_headroom_kw),
                (
                    "space",
                    b.space_headroom_u - a.rack_u_used,
                    b.space_headroom_u,
                ),
                (
                    "cooling",
                    b.cooling_headroom_kw - a.it_kw,
                    b.cooling_headroom_kw,
                ),
            ];
            let (binding, _, _) = slack
                .iter()
                .copied()
                .min_by(|x, y| (x.1 / x.2.max(1e-9)).total_cmp(&(y.1 / y.2.max(1e-9))))
                .unwrap_or(("power", 0.0, 0.0));
            let feasible = slack.iter().all(|(_, s, _)| *s >= 0.0);
            let savings = a.it_kw * a.pue * 8760.0 - a.it_kw * b.pue * 8760.0;
            moves.push(SiteMove {
                from: a.site.clone(),
                to: b.site.clone(),
                savings_kwh_per_year: savings,
                binding_constraint: if feasible {
                    binding.to_owned()
                } else {
                    format!("{binding} (insufficient at the target)")
                },
                feasible,
            });
        }
    }
    moves.sort_by(|x, y| {
        y.feasible
            .cmp(&x.feasible)
            .then(y.savings_kwh_per_year.total_cmp(&x.savings_kwh_per_year))
    });
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_without_cooling_headroom_is_not_a_move() {
        let site = |s: &str, pue: f64, it: f64, power: f64, cooling: f64| SiteCapacity {
            site: s.into(),
            pue,
            it_kw: it,
            rack_u_used: 100.0,
            power_headroom_kw: power,
            space_headroom_u: 500.0,
            cooling_headroom_kw: cooling,
        };
        let sites = [
            site("old", 2.0, 50.0, 10.0, 10.0),
            site("new", 1.3, 200.0, 300.0, 300.0),
            site("hot", 1.2, 100.0, 300.0, 20.0),
        ];
        let moves = rank_site_moves(&sites);
        let best = &moves[0];
        assert_eq!(
            (best.from.as_str(), best.to.as_str(), best.feasible),
            ("old", "new", true)
        );
        // 50 kW × (2.0 − 1.3) × 8,760 h.
        assert!((best.savings_kwh_per_year - 306_600.0).abs() < 1e-6);
        let to_hot = moves
            .iter()
            .find(|m| m.from == "old" && m.to == "hot")
            .unwrap();
        assert!(
            !to_hot.feasible && to_hot.binding_constraint.starts_with("cooling"),
            "{to_hot:?}"
        );
    }
}
