//! Savings through PUE and what-if moves of a whole site into another.

use serde::Serialize;

/// Yearly savings of a change in IT power at a site that stays open: (kWh_IT, kWh_DC) per year.
pub(crate) fn yearly_savings_kwh(before_w: f64, after_w: f64, pue: f64) -> (f64, f64) {
    let it = (before_w - after_w) / 1000.0 * 8760.0;
    (it, it * pue)
}

/// The parts of a site's IT power saving (W; positive saves): the idle servers switched off,
/// the kept servers packed onto fewer hosts (less what the packed hosts draw), and the N+1
/// spare host, a cost. `idle_off_w + packing_w - spare_w` is the whole saving.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SavingParts {
    pub idle_off_w: f64,
    pub packing_w: f64,
    pub spare_w: f64,
}

impl SavingParts {
    /// The English sentence JSON carries for a negative saving (the text reports word it in
    /// the reader's language from the same parts).
    pub(crate) fn note(&self, idle_servers: usize) -> Option<String> {
        if self.idle_off_w + self.packing_w - self.spare_w >= 0.0 {
            return None;
        }
        let mut costs = Vec::new();
        let mut savings = Vec::new();
        if self.spare_w > 0.0 {
            costs.push(format!("the N+1 spare host ({:.0} W)", self.spare_w));
        }
        if self.packing_w < 0.0 {
            costs.push(format!(
                "the packed hosts drawing more than the servers they replace ({:.0} W)",
                -self.packing_w
            ));
        } else if self.packing_w > 0.0 {
            savings.push(format!(
                "packing onto fewer hosts ({:.0} W)",
                self.packing_w
            ));
        }
        if self.idle_off_w > 0.0 {
            savings.push(format!(
                "switching off {idle_servers} idle server(s) ({:.0} W)",
                self.idle_off_w
            ));
        }
        Some(format!(
            "negative: {} outweigh(s) {}",
            costs.join(" and "),
            if savings.is_empty() {
                "no saving".to_owned()
            } else {
                savings.join(" and ")
            }
        ))
    }
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
    /// Its grid emission factor (its utility's): energy a move brings here is emitted at it.
    pub emission_factor_kg_per_kwh: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteMove {
    pub from: String,
    pub to: String,
    /// Facility energy saved per year: the closed site's whole E_DC minus the moved IT energy at
    /// the target's PUE.
    pub savings_kwh_per_year: f64,
    /// CO2e saved a year: the closed site's emissions at its own factor less the moved load's
    /// at the target's PUE and the target's factor (CLP and HK Electric differ by half).
    pub savings_tco2e_per_year: Option<f64>,
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
            let co2 = match (a.emission_factor_kg_per_kwh, b.emission_factor_kg_per_kwh) {
                (Some(fa), Some(fb)) => Some(a.it_kw * 8760.0 * (a.pue * fa - b.pue * fb) / 1000.0),
                _ => None,
            };
            moves.push(SiteMove {
                from: a.site.clone(),
                to: b.site.clone(),
                savings_kwh_per_year: savings,
                savings_tco2e_per_year: co2,
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
            emission_factor_kg_per_kwh: None,
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

    #[test]
    fn a_move_across_utilities_is_emitted_at_the_destinations_factor() {
        // Same PUE at both: no energy saved, but HK Electric's 0.81 against CLP's 0.37 halves
        // the move's emissions one way and doubles them the other.
        let site = |s: &str, ef: f64| SiteCapacity {
            site: s.into(),
            pue: 1.6,
            it_kw: 40.0,
            rack_u_used: 100.0,
            power_headroom_kw: 500.0,
            space_headroom_u: 500.0,
            cooling_headroom_kw: 500.0,
            emission_factor_kg_per_kwh: Some(ef),
        };
        let moves = rank_site_moves(&[site("island", 0.81), site("kowloon", 0.37)]);
        let find = |from: &str| moves.iter().find(|m| m.from == from).unwrap();
        let (east, west) = (find("island"), find("kowloon"));
        assert_eq!(east.savings_kwh_per_year, 0.0);
        // 40 kW x 8,760 h x 1.6 x (0.81 - 0.37) kg/kWh = 246.7 t a year.
        let t = 40.0 * 8760.0 * 1.6 * (0.81 - 0.37) / 1000.0;
        assert!((east.savings_tco2e_per_year.unwrap() - t).abs() < 1e-9);
        assert!((west.savings_tco2e_per_year.unwrap() + t).abs() < 1e-9);
    }
}
