//! Consolidation planning (domain/consolidation.md): server power models, demand sizing, idle
//! servers, vector bin packing onto hosts with headroom and N+1, savings through PUE, and what-if
//! site moves with their binding constraint.

use serde::Serialize;

// ---- power models ----

/// Linear model: P(u) = P_idle + (P_max − P_idle)·u.
pub fn linear_w(idle_w: f64, max_w: f64, u: f64) -> f64 {
    idle_w + (max_w - idle_w) * u
}

/// Fan, Weber & Barroso's curve: P_idle + (P_max − P_idle)(2u − u^r), r ≈ 1.4.
pub fn fan_w(idle_w: f64, max_w: f64, u: f64, r: f64) -> f64 {
    idle_w + (max_w - idle_w) * (2.0 * u - u.powf(r))
}

/// A measured power curve (load fraction → W), e.g. a SPECpower_ssj2008 result: piecewise-linear
/// between points, exact at each point, clamped at the ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerCurve {
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
pub fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
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
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let h = (values.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (h - lo as f64))
}

// ---- idle servers ----

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdleServer {
    pub device: String,
    pub reason: String,
    pub watts: f64,
    pub kwh_per_year: f64,
    pub hkd_per_year: Option<f64>,
}

/// A server is comatose when its CPU p95 and its network traffic stay under the thresholds
/// over the whole window while it still draws power (consolidation.md §2).
#[allow(clippy::too_many_arguments)] // each is one stated assumption of the finding
pub fn idle_finding(
    device: &str,
    cpu_p95_pct: f64,
    net_bytes_per_s: Option<f64>,
    mean_w: f64,
    window_days: f64,
    cpu_limit_pct: f64,
    net_limit_bytes_per_s: f64,
    tariff_hkd_per_kwh: Option<f64>,
) -> Option<IdleServer> {
    let quiet_net = net_bytes_per_s.is_none_or(|b| b < net_limit_bytes_per_s);
    if cpu_p95_pct >= cpu_limit_pct || !quiet_net || mean_w <= 0.0 {
        return None;
    }
    let kwh = mean_w * 8760.0 / 1000.0;
    let net = net_bytes_per_s.map_or("no network counters".to_owned(), |b| {
        format!("network {b:.0} B/s")
    });
    Some(IdleServer {
        device: device.to_owned(),
        reason: format!(
            "CPU p95 {cpu_p95_pct:.1} % (< {cpu_limit_pct} %) and {net} over {window_days:.0} days while drawing {mean_w:.0} W"
        ),
        watts: mean_w,
        kwh_per_year: kwh,
        hkd_per_year: tariff_hkd_per_kwh.map(|t| t * kwh),
    })
}

// ---- packing ----

/// A workload or a host capacity: CPU (normalised, e.g. ssj_ops or host units), memory (GB),
/// power (W).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Demand {
    pub cpu: f64,
    pub mem_gb: f64,
    pub power_w: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// For each host, the indices of the workloads placed on it.
    pub hosts: Vec<Vec<usize>>,
    /// Workloads no host can take even empty, with the reason.
    pub unplaceable: Vec<(usize, String)>,
    /// ceil(max over dimensions of total demand / usable capacity).
    pub lower_bound: usize,
    /// Extra hosts for N+1.
    pub spare_hosts: usize,
    pub method: &'static str,
}

/// Packs workloads onto identical hosts of `capacity`, each used at most to `headroom` (0.7 =
/// 70 %), with one spare host for N+1. Runs first-fit decreasing (largest dimension first) and
/// norm-based greedy, keeps the plan with fewer hosts.
pub fn pack(items: &[Demand], capacity: Demand, headroom: f64, n_plus_one: bool) -> Plan {
    let usable = Demand {
        cpu: capacity.cpu * headroom,
        mem_gb: capacity.mem_gb * headroom,
        power_w: capacity.power_w * headroom,
    };
    let norm = |d: &Demand| {
        [
            share(d.cpu, usable.cpu),
            share(d.mem_gb, usable.mem_gb),
            share(d.power_w, usable.power_w),
        ]
    };
    let mut unplaceable = Vec::new();
    let mut placeable = Vec::new();
    for (i, d) in items.iter().enumerate() {
        let n = norm(d);
        match n.iter().position(|x| *x > 1.0 + 1e-12) {
            Some(dim) => unplaceable.push((
                i,
                format!(
                    "needs more {} than a host offers within {:.0} % headroom",
                    ["CPU", "memory", "power"][dim],
                    headroom * 100.0
                ),
            )),
            None => placeable.push(i),
        }
    }
    let totals = placeable.iter().fold([0.0f64; 3], |mut t, i| {
        for (k, v) in norm(&items[*i]).iter().enumerate() {
            t[k] += v;
        }
        t
    });
    let lower_bound = totals.iter().fold(0.0f64, |m, v| m.max(*v)).ceil() as usize;

    // First-fit decreasing by the largest normalised dimension.
    let mut order = placeable.clone();
    order.sort_by(|a, b| max3(norm(&items[*b])).total_cmp(&max3(norm(&items[*a]))));
    let mut ffd: Vec<(Vec<usize>, [f64; 3])> = Vec::new();
    for i in order {
        let n = norm(&items[i]);
        match ffd
            .iter_mut()
            .find(|(_, load)| (0..3).all(|k| load[k] + n[k] <= 1.0 + 1e-12))
        {
            Some((host, load)) => {
                host.push(i);
                (0..3).for_each(|k| load[k] += n[k]);
            }
            None => ffd.push((vec![i], n)),
        }
    }
    // Norm-based greedy: fill one host at a time with the item leaving the smallest remainder.
    let mut left: Vec<usize> = placeable.clone();
    let mut greedy: Vec<Vec<usize>> = Vec::new();
    while !left.is_empty() {
        let mut load = [0.0f64; 3];
        let mut host = Vec::new();
        loop {
            let best = left
                .iter()
                .enumerate()
                .filter(|(_, i)| (0..3).all(|k| load[k] + norm(&items[**i])[k] <= 1.0 + 1e-12))
                .map(|(pos, i)| {
                    let n = norm(&items[*i]);
                    let rem: f64 = (0..3).map(|k| (1.0 - load[k] - n[k]).powi(2)).sum();
                    (pos, rem)
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((pos, _)) = best else { break };
            let i = left.swap_remove(pos);
            let n = norm(&items[i]);
            (0..3).for_each(|k| load[k] += n[k]);
            host.push(i);
        }
        greedy.push(host);
    }
    let (hosts, method) = if greedy.len() < ffd.len() {
        (greedy, "norm-based greedy")
    } else {
        (
            ffd.into_iter().map(|(h, _)| h).collect(),
            "first-fit decreasing",
        )
    };
    let spare_hosts = usize::from(n_plus_one && !hosts.is_empty());
    Plan {
        hosts,
        unplaceable,
        lower_bound,
        spare_hosts,
        method,
    }
}

/// Hosts needed when demand is divisible (VMs spread over a cluster): ceil(total / usable),
/// plus one for N+1 (consolidation.md §4.1 steps 1–2).
pub fn hosts_for(total_demand: f64, capacity: f64, headroom: f64, n_plus_one: bool) -> usize {
    (total_demand / (capacity * headroom)).ceil() as usize + usize::from(n_plus_one)
}

fn share(x: f64, cap: f64) -> f64 {
    if cap > 0.0 {
        x / cap
    } else if x > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

fn max3(v: [f64; 3]) -> f64 {
    v[0].max(v[1]).max(v[2])
}

// ---- savings and site moves ----

/// Yearly savings of a change in IT power at a site that stays open: (kWh_IT, kWh_DC) per year.
pub fn yearly_savings_kwh(before_w: f64, after_w: f64, pue: f64) -> (f64, f64) {
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
    use proptest::prelude::*;

    fn ibm() -> (Vec<f64>, Vec<f64>, PowerCurve) {
        let load = [
            0.0, 0.100, 0.202, 0.298, 0.398, 0.501, 0.599, 0.700, 0.800, 0.901, 0.992,
        ];
        let ops = [
            0.0, 92_621.0, 187_280.0, 275_523.0, 368_170.0, 463_834.0, 554_220.0, 647_924.0,
            740_162.0, 833_608.0, 917_430.0,
        ];
        let watts = [
            69.2, 119.0, 133.0, 140.0, 155.0, 170.0, 189.0, 209.0, 227.0, 241.0, 258.0,
        ];
        (
            ops.to_vec(),
            watts.to_vec(),
            PowerCurve::new(load.iter().copied().zip(watts.iter().copied()).collect()),
        )
    }

    #[test]
    fn consolidation_md_1_2_specpower_vectors() {
        let (ops, watts, curve) = ibm();
        let per_watt = ops.iter().sum::<f64>() / watts.iter().sum::<f64>();
        assert!((per_watt - 2_659.8).abs() < 0.05, "{per_watt}");
        // Linear vs measured at 10 % and 50.1 %.
        assert!((linear_w(69.2, 258.0, 0.100) - 88.08).abs() < 0.005);
        assert!((linear_w(69.2, 258.0, 0.501) - 163.79).abs() < 0.005);
        // Interpolation is exact at every measured point and never decreases.
        for (u, w) in &curve.points {
            assert_eq!(curve.watts(*u), *w);
        }
        let mut last = 0.0;
        for k in 0..=1000 {
            let w = curve.watts(k as f64 / 1000.0);
            assert!(w >= last);
            last = w;
        }
        // HPE DL20 Gen10 Plus: linear at u = 0.499 is 52.19 W against 40.1 W measured.
        assert!((linear_w(21.7, 82.8, 0.499) - 52.19).abs() < 0.005);
        let hpe_ops = 4_716_040.0_f64;
        let hpe_w = 82.8 + 66.4 + 55.9 + 49.7 + 44.5 + 40.1 + 36.1 + 33.2 + 30.5 + 27.5 + 21.7;
        assert!((hpe_ops / hpe_w - 9_656.1).abs() < 0.05);
    }

    #[test]
    fn consolidation_md_4_1_worked_example() {
        let (_, _, curve) = ibm();
        let max_ops = 917_430.0;
        // 1–2: demand and hosts at <= 70 %, plus N+1.
        let demand: f64 = 100.0 * 92_621.0;
        assert_eq!(demand, 9_262_100.0);
        let raw = demand / (0.70 * max_ops);
        assert!((raw - 14.42).abs() < 0.005);
        let items: Vec<Demand> = (0..100)
            .map(|_| Demand {
                cpu: 92_621.0,
                mem_gb: 0.0,
                power_w: 0.0,
            })
            .collect();
        // The example sizes demand as divisible (consolidated VMs share hosts): 15 + 1 hosts.
        assert_eq!(hosts_for(demand, max_ops, 0.70, true), 16);
        let plan = pack(
            &items,
            Demand {
                cpu: max_ops,
                mem_gb: 1.0,
                power_w: 1.0,
            },
            0.70,
            true,
        );
        assert_eq!(plan.lower_bound, 15);
        // Whole servers as indivisible items fit 6 to a host (7 × 0.1442 > 1): 17 + 1.
        assert_eq!(plan.hosts.len() + plan.spare_hosts, 18);
        // 3: spread over the 16 hosts: load 0.631 → 195.3 W by interpolation.
        let u = demand / (16.0 * max_ops);
        assert!((u - 0.631).abs() < 0.0005);
        let w = curve.watts(u);
        assert!((w - 195.3).abs() < 0.05, "{w}");
        // 4: before 11,900 W, after 3,125 W, 76,866 kWh/yr of IT energy.
        let (it, dc) = yearly_savings_kwh(100.0 * 119.0, 16.0 * w, 1.8);
        assert!((16.0 * w - 3_125.3).abs() < 1.0);
        assert!((it - 76_866.0).abs() < 1.0, "{it}");
        // 5–7: at a marginal PUE of 1.8, HKD 1.443/kWh, and 0.37 or 0.7 kg/kWh.
        assert!((dc - 138_359.0).abs() < 2.0, "{dc}");
        assert!((dc * 1.443 - 199_650.0).abs() < 5.0, "{}", dc * 1.443);
        assert!(
            (dc * 0.37 / 1000.0 - 51.2).abs() < 0.05 && (dc * 0.7 / 1000.0 - 96.9).abs() < 0.05
        );
    }

    #[test]
    fn forty_quiet_servers_pack_into_the_hand_computed_host_count() {
        // 40 servers at 5 % p95 of a host each (plus 10 GB of 256 GB), hosts used to 70 %:
        // CPU needs 40 × 0.05 / 0.7 = 2.86 → 3 hosts; memory 400 / 179.2 = 2.23; so 3, + N+1 = 4.
        let items: Vec<Demand> = (0..40)
            .map(|_| Demand {
                cpu: 0.05,
                mem_gb: 10.0,
                power_w: 0.0,
            })
            .collect();
        let plan = pack(
            &items,
            Demand {
                cpu: 1.0,
                mem_gb: 256.0,
                power_w: 1000.0,
            },
            0.70,
            true,
        );
        assert_eq!(
            (plan.hosts.len(), plan.spare_hosts, plan.lower_bound),
            (3, 1, 3)
        );
        assert!(plan.unplaceable.is_empty());
    }

    #[test]
    fn a_comatose_server_is_found_and_a_busy_one_is_not() {
        let idle = idle_finding(
            "srv-07",
            1.2,
            Some(300.0),
            95.0,
            30.0,
            5.0,
            10_000.0,
            Some(1.2),
        )
        .unwrap();
        assert!((idle.kwh_per_year - 832.2).abs() < 1e-9);
        assert!((idle.hkd_per_year.unwrap() - 998.64).abs() < 1e-6);
        assert!(idle.reason.contains("CPU p95 1.2 %"));
        assert!(
            idle_finding(
                "srv-08",
                42.0,
                Some(300.0),
                250.0,
                30.0,
                5.0,
                10_000.0,
                None
            )
            .is_none()
        );
        assert!(
            idle_finding("srv-09", 1.0, Some(5e6), 120.0, 30.0, 5.0, 10_000.0, None).is_none(),
            "busy network"
        );
    }

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

    /// Heights of the filled rectangles of one colour in a plotters SVG.
    fn bar_heights(svg: &str, fill: &str) -> Vec<f64> {
        svg.split("<rect")
            .skip(1)
            .filter(|r| r.contains(&format!("fill=\"{fill}\"")))
            .filter_map(|r| {
                let h = r.split("height=\"").nth(1)?.split('"').next()?;
                h.parse().ok()
            })
            .collect()
    }

    #[test]
    fn the_html_report_draws_before_and_after_to_scale_per_site() {
        let site = |name: &str, before: f64, after: f64| SitePlan {
            site: name.into(),
            hosts_before: 10,
            hosts_after: 4,
            it_kw_before: before,
            it_kw_after: after,
            pue_used: Some(1.8),
            savings_kwh_per_year: 0.0,
            savings_hkd_per_year: None,
            savings_tco2e_per_year: None,
            model_idle_w: None,
            model_w_per_cpu_pct: None,
            model_r2: None,
            method: "test".into(),
            lower_bound_hosts: 3,
            sensitivity: vec![],
        };
        let r = ConsolidationReport {
            from: "2026-01-01T00:00:00Z".into(),
            to: "2026-02-01T00:00:00Z".into(),
            assumptions: PlanOptions::default(),
            idle_servers: vec![],
            sites: vec![site("hk<1>", 10.0, 4.0), site("hk2", 5.0, 5.0)],
            site_moves: vec![],
        };
        let html = to_html(&r);
        assert!(
            html.contains("hk&lt;1&gt;") && !html.contains("hk<1>"),
            "site names are escaped"
        );
        let before = bar_heights(&html, "#969696");
        let after = bar_heights(&html, "#28A03C");
        assert_eq!(
            (before.len(), after.len()),
            (2, 2),
            "one bar of each per site"
        );
        assert!(
            (after[0] / before[0] - 0.4).abs() < 0.02,
            "{before:?} {after:?}"
        );
        assert!((before[1] / before[0] - 0.5).abs() < 0.02, "{before:?}");
        assert!((after[1] - before[1]).abs() < 1.0, "{before:?} {after:?}");
    }

    proptest! {
        #[test]
        fn plans_never_overfill_a_host_and_place_everything_once(
            items in proptest::collection::vec((0.0f64..0.9, 0.0f64..120.0, 0.0f64..600.0), 0..60),
            headroom in 0.5f64..1.0,
        ) {
            let items: Vec<Demand> = items.into_iter().map(|(c, m, p)| Demand { cpu: c, mem_gb: m, power_w: p }).collect();
            let cap = Demand { cpu: 1.0, mem_gb: 128.0, power_w: 500.0 };
            let plan = pack(&items, cap, headroom, true);
            let mut seen = vec![0; items.len()];
            for host in &plan.hosts {
                let (c, m, p) = host.iter().fold((0.0, 0.0, 0.0), |(c, m, p), i| (c + items[*i].cpu, m + items[*i].mem_gb, p + items[*i].power_w));
                prop_assert!(c <= cap.cpu * headroom + 1e-9 && m <= cap.mem_gb * headroom + 1e-9 && p <= cap.power_w * headroom + 1e-9);
                for i in host { seen[*i] += 1; }
            }
            for (i, _) in &plan.unplaceable { seen[*i] += 1; }
            prop_assert!(seen.iter().all(|n| *n == 1), "{seen:?}");
            prop_assert!(plan.hosts.len() >= plan.lower_bound);
        }
    }
}

// ---- the report from stored data ----

/// The stated assumptions of a consolidation report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanOptions {
    /// Host CPU use allowed after consolidation (0.7 = 70 %).
    pub headroom: f64,
    /// Percentile of CPU use a workload is sized on.
    pub percentile: f64,
    pub idle_cpu_pct: f64,
    pub idle_net_bytes_per_s: f64,
    pub n_plus_one: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            headroom: 0.7,
            percentile: 0.95,
            idle_cpu_pct: 5.0,
            idle_net_bytes_per_s: 10_000.0,
            n_plus_one: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SitePlan {
    pub site: String,
    pub hosts_before: usize,
    pub hosts_after: usize,
    pub it_kw_before: f64,
    pub it_kw_after: f64,
    /// The measured PUE the facility savings go through (energy-based, most downstream category).
    pub pue_used: Option<f64>,
    pub savings_kwh_per_year: f64,
    pub savings_hkd_per_year: Option<f64>,
    pub savings_tco2e_per_year: Option<f64>,
    /// Power model fitted over the site's servers: W = idle_w + w_per_cpu_pct × CPU %.
    pub model_idle_w: Option<f64>,
    pub model_w_per_cpu_pct: Option<f64>,
    pub model_r2: Option<f64>,
    pub method: String,
    pub lower_bound_hosts: usize,
    /// Hosts needed (with N+1 as configured) when leaving 20 %, 30 % and 40 % headroom.
    pub sensitivity: Vec<(f64, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsolidationReport {
    pub from: String,
    pub to: String,
    pub assumptions: PlanOptions,
    pub idle_servers: Vec<IdleServer>,
    pub sites: Vec<SitePlan>,
    pub site_moves: Vec<SiteMove>,
}

/// Plans every site from its servers' stored CPU and power: comatose servers are switched off,
/// the rest packed onto as few of the same hosts as the headroom allows (one server = one host
/// of CPU capacity), with power from a model fitted to the site's own servers.
pub fn consolidation_report(
    store: &dyn kilowatch_store::ReadStore,
    config: &kilowatch_core::config::Config,
    range: kilowatch_store::TimeRange,
    opts: &PlanOptions,
) -> Result<ConsolidationReport, kilowatch_store::StoreError> {
    use kilowatch_core::model::{Category, Field, Role};
    use kilowatch_store::Selector;
    let days = (range.to - range.from) as f64 / 86_400_000.0;
    let capacity = crate::capacity::capacity_report(store, config, range)?;
    let mut idle_servers = Vec::new();
    let mut sites = Vec::new();
    let mut capacities = Vec::new();
    for site in &config.sites {
        let mut workloads = Vec::new();
        // Mean CPU of each workload: power after is estimated on average use, sizing on p95.
        let mut means = Vec::new();
        let mut samples = Vec::new();
        let mut before_w = 0.0;
        let mut hosts_before = 0;
        for d in config.devices.iter().filter(|d| d.site == site.id) {
            let cpu_series = store.find(
                &Selector::field(Field::CpuUtilPct)
                    .tag("device", &d.id)
                    .without("point"),
            )?;
            let Some(cpu_s) = cpu_series.first() else {
                continue;
            };
            let cpu = store.read(cpu_s, range, None)?;
            let power = match store
                .find(&Selector::field(Field::PowerW).tag("device", &d.id))?
                .first()
            {
                Some(p) => store.read(p, range, None)?,
                None => Vec::new(),
            };
            if cpu.is_empty() {
                continue;
            }
            hosts_before += 1;
            let mean_w = if power.is_empty() {
                0.0
            } else {
                power.iter().map(|p| p.value).sum::<f64>() / power.len() as f64
            };
            before_w += mean_w;
            // Pair CPU and power samples of the same poll for the power model.
            for c in &cpu {
                if let Some(p) = power.iter().find(|p| p.ts == c.ts) {
                    samples.push((c.value, p.value));
                }
            }
            // Memory does not overcommit: sized on p99 of use, as a share of the same host model.
            let mem_share = match store
                .find(
                    &Selector::field(Field::MemUtilPct)
                        .tag("device", &d.id)
                        .without("point"),
                )?
                .first()
            {
                Some(m) => {
                    let mut v: Vec<f64> = store
                        .read(m, range, None)?
                        .into_iter()
                        .map(|p| p.value)
                        .collect();
                    quantile(&mut v, 0.99).unwrap_or(0.0) / 100.0
                }
                None => 0.0,
            };
            let mut values: Vec<f64> = cpu.iter().map(|p| p.value).collect();
            let p = quantile(&mut values, opts.percentile).unwrap_or(0.0);
            let net = traffic_bytes_per_s(store, &d.id, range)?;
            match idle_finding(
                &d.id,
                p,
                net,
                mean_w,
                days,
                opts.idle_cpu_pct,
                opts.idle_net_bytes_per_s,
                site.tariff_hkd_per_kwh,
            ) {
                Some(found) => idle_servers.push(found),
                None => {
                    workloads.push(Demand {
                        cpu: p / 100.0,
                        mem_gb: mem_share,
                        power_w: 0.0,
                    });
                    means.push(cpu.iter().map(|p| p.value).sum::<f64>() / cpu.len() as f64);
                }
            }
        }
        if hosts_before == 0 {
            continue;
        }
        let fit = fit_line(&samples);
        let plan = pack(
            &workloads,
            Demand {
                cpu: 1.0,
                mem_gb: 1.0,
                power_w: 1.0,
            },
            opts.headroom,
            opts.n_plus_one,
        );
        let after_w: f64 = match fit {
            Some((a, b, _)) => {
                let active: f64 = plan
                    .hosts
                    .iter()
                    .map(|h| a + b * h.iter().map(|i| means[*i]).sum::<f64>())
                    .sum();
                active
                    + a * plan.spare_hosts as f64
                    + plan
                        .unplaceable
                        .iter()
                        .map(|(i, _)| a + b * means[*i])
                        .sum::<f64>()
            }
            None => before_w,
        };
        let pue_used = [Category::Three, Category::Two, Category::One]
            .into_iter()
            .find_map(|c| {
                let r =
                    crate::pue::site_pue(store, &site.id, range, crate::pue::Options::default())
                        .ok()?;
                match r.pue.get(&c.number())? {
                    crate::pue::Pue::Value { pue, .. } => Some(*pue),
                    _ => None,
                }
            });
        let (_, dc) = yearly_savings_kwh(before_w, after_w, pue_used.unwrap_or(1.0));
        let sensitivity = [0.8, 0.7, 0.6]
            .into_iter()
            .map(|h| {
                let p = pack(
                    &workloads,
                    Demand {
                        cpu: 1.0,
                        mem_gb: 1.0,
                        power_w: 1.0,
                    },
                    h,
                    opts.n_plus_one,
                );
                // A workload too big for a host within the headroom stays on a host of its own.
                (1.0 - h, p.hosts.len() + p.spare_hosts + p.unplaceable.len())
            })
            .collect();
        sites.push(SitePlan {
            site: site.id.clone(),
            hosts_before,
            hosts_after: plan.hosts.len() + plan.spare_hosts + plan.unplaceable.len(),
            it_kw_before: before_w / 1000.0,
            it_kw_after: after_w / 1000.0,
            pue_used,
            savings_kwh_per_year: dc,
            savings_hkd_per_year: site.tariff_hkd_per_kwh.map(|t| t * dc),
            savings_tco2e_per_year: site.emission_factor_kg_per_kwh.map(|f| f * dc / 1000.0),
            model_idle_w: fit.map(|f| f.0),
            model_w_per_cpu_pct: fit.map(|f| f.1),
            model_r2: fit.map(|f| f.2),
            method: plan.method.to_owned(),
            lower_bound_hosts: plan.lower_bound,
            sensitivity,
        });
        // What the site could take in, and what moving it out needs.
        let it_kw = crate::pue::role_energy(
            store,
            &site.id,
            Role::It(Category::One),
            range,
            crate::pue::Options::default(),
        )?
        .iter()
        .chain(
            crate::pue::role_energy(
                store,
                &site.id,
                Role::It(Category::Three),
                range,
                crate::pue::Options::default(),
            )?
            .iter(),
        )
        .map(|m| m.energy.kwh)
        .fold(0.0f64, f64::max)
            / ((range.to - range.from) as f64 / 3_600_000.0);
        let rooms: Vec<_> = capacity
            .rooms
            .iter()
            .filter(|r| r.site == site.id)
            .collect();
        let power_headroom_kw = rooms.iter().map(|r| r.power_headroom_w).sum::<f64>() / 1000.0;
        // Unknown cooling capacity is taken as matching the power headroom, and said so.
        let cooling_headroom_kw = rooms
            .iter()
            .map(|r| r.cooling_headroom_w.unwrap_or(r.power_headroom_w))
            .sum::<f64>()
            / 1000.0;
        let racks = site.rooms.iter().map(|r| r.racks.len()).sum::<usize>() as f64;
        capacities.push(SiteCapacity {
            site: site.id.clone(),
            pue: pue_used.unwrap_or(1.0),
            it_kw,
            rack_u_used: hosts_before as f64,
            power_headroom_kw,
            space_headroom_u: racks * 42.0 - hosts_before as f64,
            cooling_headroom_kw,
        });
    }
    Ok(ConsolidationReport {
        from: kilowatch_core::timefmt::format_rfc3339(range.from),
        to: kilowatch_core::timefmt::format_rfc3339(range.to),
        assumptions: opts.clone(),
        idle_servers,
        sites,
        site_moves: rank_site_moves(&capacities),
    })
}

/// Mean network traffic (received + sent, all interfaces) over the window from IF-MIB byte
/// counters; `None` when the server has none. Counter decreases (wraps, restarts) are skipped.
fn traffic_bytes_per_s(
    store: &dyn kilowatch_store::ReadStore,
    device: &str,
    range: kilowatch_store::TimeRange,
) -> Result<Option<f64>, kilowatch_store::StoreError> {
    use kilowatch_core::model::Field;
    let mut total = None;
    for field in [Field::RxBytes, Field::TxBytes] {
        for s in store.find(&kilowatch_store::Selector::field(field).tag("device", device))? {
            let points = store.read(&s, range, None)?;
            let bytes: f64 = points
                .windows(2)
                .map(|w| (w[1].value - w[0].value).max(0.0))
                .sum();
            let secs = match (points.first(), points.last()) {
                (Some(a), Some(b)) if b.ts > a.ts => (b.ts - a.ts) as f64 / 1000.0,
                _ => continue,
            };
            *total.get_or_insert(0.0) += bytes / secs;
        }
    }
    Ok(total)
}

/// One self-contained HTML file: IT power before and after per site as an inline SVG chart,
/// then the full Markdown text preformatted so no finding or assumption is lost.
pub fn to_html(r: &ConsolidationReport) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let rows: Vec<(String, f64, f64)> = r
        .sites
        .iter()
        .map(|s| (s.site.clone(), s.it_kw_before, s.it_kw_after))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kilowatch consolidation report</title>\n<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}</style></head><body>\n<h1>Consolidation report</h1>\n<figure>{}<figcaption>IT power by site, kW: now (grey) and after consolidation (green)</figcaption></figure>\n<pre>{}</pre>\n</body></html>\n",
        crate::report::paired_bar_chart_svg(&rows, "IT kW"),
        esc(&to_markdown(r))
    )
}

pub fn to_markdown(r: &ConsolidationReport) -> String {
    use std::fmt::Write;
    let f = |v: Option<f64>, d: usize| v.map_or("—".to_owned(), |v| format!("{v:.d$}"));
    let a = &r.assumptions;
    let mut out = format!(
        "# Consolidation report\n\nWindow {} to {}. Assumptions: CPU sized on p{:.0}; hosts used to {:.0} %; N+1 {}; comatose below {} % CPU p95; servers are switched off or packed onto the same model (one server = one host of CPU and memory; memory sized on p99 of `mem_util_pct` where stored); power after from a line fitted to the site's own CPU/power samples; facility energy through each site's measured average PUE; 8,760 h/yr.\n\n## Idle servers\n\n| device | reason | W | kWh/yr | HKD/yr |\n| --- | --- | --- | --- | --- |\n",
        r.from,
        r.to,
        a.percentile * 100.0,
        a.headroom * 100.0,
        a.n_plus_one,
        a.idle_cpu_pct
    );
    for i in &r.idle_servers {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {} |",
            i.device,
            i.reason,
            i.watts,
            i.kwh_per_year,
            f(i.hkd_per_year, 0)
        );
    }
    out.push_str("\n## Sites\n\n| site | hosts before | after | lower bound | IT kW before | after | PUE used | saving kWh/yr | HKD/yr | t CO2e/yr |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for s in &r.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {} | {:.0} | {} | {} |",
            s.site,
            s.hosts_before,
            s.hosts_after,
            s.lower_bound_hosts,
            s.it_kw_before,
            s.it_kw_after,
            f(s.pue_used, 2),
            s.savings_kwh_per_year,
            f(s.savings_hkd_per_year, 0),
            f(s.savings_tco2e_per_year, 2)
        );
    }
    out.push_str("\n## Sensitivity: hosts needed by headroom left\n\n| site | 20 % | 30 % | 40 % |\n| --- | --- | --- | --- |\n");
    for s in &r.sites {
        let h: Vec<String> = s.sensitivity.iter().map(|(_, n)| n.to_string()).collect();
        let _ = writeln!(out, "| {} | {} |", s.site, h.join(" | "));
    }
    out.push_str("\n## Site moves (feasible first)\n\n| from | to | saving kWh/yr | binding constraint |\n| --- | --- | --- | --- |\n");
    for m in &r.site_moves {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} |",
            m.from, m.to, m.savings_kwh_per_year, m.binding_constraint
        );
    }
    out
}
