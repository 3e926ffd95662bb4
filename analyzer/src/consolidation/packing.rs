//! Vector bin packing of workloads onto hosts, and of hosts into racks.

use serde::Serialize;

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
    /// When racks were checked: each host's rack (index into `racks`), spares last.
    pub host_rack: Vec<usize>,
    pub racks: Vec<RackUse>,
    /// What the plan could not do as asked (e.g. no rack room for the spare host).
    pub notes: Vec<String>,
}

/// Packs workloads onto identical hosts of `capacity`, each used at most to `headroom` (0.7 =
/// 70 %), with one spare host for N+1. Runs first-fit decreasing (largest dimension first) and
/// norm-based greedy, keeps the plan with fewer hosts.
pub(crate) fn pack(items: &[Demand], capacity: Demand, headroom: f64, n_plus_one: bool) -> Plan {
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
        host_rack: Vec::new(),
        racks: Vec::new(),
        notes: Vec::new(),
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

/// What a rack offers the hosts of a plan: power (W, `None` = no budget set) and height (U).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RackBudget {
    pub rack: String,
    pub power_w: Option<f64>,
    pub space_u: f64,
}

/// What a plan puts in one rack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RackUse {
    pub rack: String,
    pub hosts: usize,
    pub power_w: f64,
    pub power_budget_w: Option<f64>,
    pub space_u: f64,
    pub space_budget_u: f64,
}

/// Places `hosts` (W at their sized load, height in U) into racks by first-fit decreasing on the
/// larger of their power and space shares. Returns each host's rack (`None`: no rack has room).
pub(crate) fn place_in_racks(
    hosts: &[(f64, f64)],
    racks: &[RackBudget],
) -> (Vec<Option<usize>>, Vec<RackUse>) {
    let mut usage: Vec<RackUse> = racks
        .iter()
        .map(|r| RackUse {
            rack: r.rack.clone(),
            hosts: 0,
            power_w: 0.0,
            power_budget_w: r.power_w,
            space_u: 0.0,
            space_budget_u: r.space_u,
        })
        .collect();
    let (max_w, max_u) = racks.iter().fold((0.0f64, 0.0f64), |(w, u), r| {
        (w.max(r.power_w.unwrap_or(0.0)), u.max(r.space_u))
    });
    let size = |(w, u): (f64, f64)| share(w, max_w).max(share(u, max_u));
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by(|a, b| size(hosts[*b]).total_cmp(&size(hosts[*a])));
    let mut placed = vec![None; hosts.len()];
    for h in order {
        let (w, u) = hosts[h];
        let fits = |r: &RackUse| {
            r.power_budget_w.is_none_or(|b| r.power_w + w <= b + 1e-9)
                && r.space_u + u <= r.space_budget_u + 1e-9
        };
        if let Some(k) = usage.iter().position(fits) {
            let r = &mut usage[k];
            r.hosts += 1;
            r.power_w += w;
            r.space_u += u;
            placed[h] = Some(k);
        }
    }
    (placed, usage)
}

/// A whole site plan: workloads packed onto hosts of `capacity` (see [`pack`]), then the hosts
/// and the N+1 spare racked within the racks' power and space. `host_w` is a host's power with
/// the given workloads at their sized demand; a host no rack can take gives its workloads back
/// as unplaceable, with the reason.
pub fn plan_site(
    items: &[Demand],
    capacity: Demand,
    headroom: f64,
    n_plus_one: bool,
    host_w: &dyn Fn(&[usize]) -> f64,
    host_u: f64,
    racks: &[RackBudget],
) -> Plan {
    let mut plan = pack(items, capacity, headroom, n_plus_one);
    if racks.is_empty() {
        plan.notes
            .push("no racks configured: rack power and space not checked".into());
        return plan;
    }
    let mut sized: Vec<(f64, f64)> = plan.hosts.iter().map(|h| (host_w(h), host_u)).collect();
    sized.extend((0..plan.spare_hosts).map(|_| (host_w(&[]), host_u)));
    let (placed, racks_used) = place_in_racks(&sized, racks);
    let hosts = std::mem::take(&mut plan.hosts);
    for (i, host) in hosts.into_iter().enumerate() {
        match placed[i] {
            Some(k) => {
                plan.hosts.push(host);
                plan.host_rack.push(k);
            }
            None => {
                let reason = format!(
                    "no rack has {:.0} W and {host_u} U left for the host it was packed on",
                    sized[i].0
                );
                plan.unplaceable
                    .extend(host.into_iter().map(|w| (w, reason.clone())));
            }
        }
    }
    let spares: Vec<usize> = placed[sized.len() - plan.spare_hosts..]
        .iter()
        .flatten()
        .copied()
        .collect();
    if spares.len() < plan.spare_hosts {
        plan.notes
            .push("no rack has room for the N+1 spare host: the plan has no spare".into());
    }
    plan.spare_hosts = spares.len();
    plan.host_rack.extend(spares);
    plan.racks = racks_used;
    plan
}

#[cfg(test)]
mod tests {
    use super::super::power::{PowerCurve, linear_w};
    use super::super::sites::yearly_savings_kwh;
    use super::*;
    use proptest::prelude::*;

    /// IBM System x3400 M3, SPECpower_ssj2008 (consolidation.md §1.2): load, ssj_ops, W.
    pub(crate) fn ibm() -> (Vec<f64>, Vec<f64>, PowerCurve) {
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

    /// Ten 1 U hosts at 300 W each into racks of 1,000 W and 42 U: three per rack by power, so
    /// three racks hold nine and the tenth host's workloads are unplaceable, named as such.
    #[test]
    fn rack_power_budgets_bound_the_plan() {
        let items: Vec<Demand> = (0..10)
            .map(|_| Demand {
                cpu: 0.6,
                mem_gb: 0.1,
                power_w: 0.0,
            })
            .collect();
        let cap = Demand {
            cpu: 1.0,
            mem_gb: 1.0,
            power_w: 1.0,
        };
        let racks: Vec<RackBudget> = (0..3)
            .map(|i| RackBudget {
                rack: format!("r{i}"),
                power_w: Some(1_000.0),
                space_u: 42.0,
            })
            .collect();
        let plan = plan_site(&items, cap, 0.7, false, &|_| 300.0, 1.0, &racks);
        assert_eq!(plan.hosts.len(), 9);
        assert_eq!(plan.unplaceable.len(), 1);
        assert!(
            plan.unplaceable[0].1.contains("no rack has 300 W"),
            "{plan:?}"
        );
        assert!(
            plan.racks
                .iter()
                .all(|r| r.hosts == 3 && r.power_w == 900.0)
        );
        // Space binds instead: 2 U hosts in 5 U racks take two each.
        let racks: Vec<RackBudget> = (0..3)
            .map(|i| RackBudget {
                rack: format!("r{i}"),
                power_w: None,
                space_u: 5.0,
            })
            .collect();
        let plan = plan_site(&items, cap, 0.7, true, &|_| 300.0, 2.0, &racks);
        assert_eq!((plan.hosts.len(), plan.spare_hosts), (6, 0));
        assert_eq!(plan.unplaceable.len(), 4);
        assert!(
            plan.notes.iter().any(|n| n.contains("spare")),
            "{:?}",
            plan.notes
        );
    }

    proptest! {
        #[test]
        fn plans_never_overfill_a_host_or_rack_and_place_everything_once(
            items in proptest::collection::vec((0.0f64..0.9, 0.0f64..120.0, 0.0f64..600.0), 0..60),
            headroom in 0.5f64..1.0,
            racks in proptest::collection::vec((proptest::option::of(200.0f64..3_000.0), 0.0f64..12.0), 0..6),
            host_u in 1.0f64..4.0,
            n_plus_one: bool,
        ) {
            let items: Vec<Demand> = items.into_iter().map(|(c, m, p)| Demand { cpu: c, mem_gb: m, power_w: p }).collect();
            let racks: Vec<RackBudget> = racks.into_iter().enumerate().map(|(i, (w, u))| RackBudget { rack: format!("r{i}"), power_w: w, space_u: u }).collect();
            let cap = Demand { cpu: 1.0, mem_gb: 128.0, power_w: 500.0 };
            // A host draws 100 W idle plus 250 W per host of CPU placed on it.
            let host_w = |h: &[usize]| 100.0 + 250.0 * h.iter().map(|i| items[*i].cpu).sum::<f64>();
            let plan = plan_site(&items, cap, headroom, n_plus_one, &host_w, host_u, &racks);
            let mut seen = vec![0; items.len()];
            for host in &plan.hosts {
                let (c, m, p) = host.iter().fold((0.0, 0.0, 0.0), |(c, m, p), i| (c + items[*i].cpu, m + items[*i].mem_gb, p + items[*i].power_w));
                prop_assert!(c <= cap.cpu * headroom + 1e-9 && m <= cap.mem_gb * headroom + 1e-9 && p <= cap.power_w * headroom + 1e-9);
                for i in host { seen[*i] += 1; }
            }
            for (i, reason) in &plan.unplaceable {
                seen[*i] += 1;
                prop_assert!(!reason.is_empty());
            }
            prop_assert!(seen.iter().all(|n| *n == 1), "{seen:?}");
            if !racks.is_empty() {
                // Recompute each rack's load from the placement, not from the plan's own sums.
                prop_assert_eq!(plan.host_rack.len(), plan.hosts.len() + plan.spare_hosts);
                let mut w = vec![0.0; racks.len()];
                let mut u = vec![0.0; racks.len()];
                for (k, rack) in plan.host_rack.iter().enumerate() {
                    w[*rack] += plan.hosts.get(k).map_or(host_w(&[]), |h| host_w(h));
                    u[*rack] += host_u;
                }
                for (i, r) in racks.iter().enumerate() {
                    prop_assert!(u[i] <= r.space_u + 1e-9, "rack {i}: {} U of {}", u[i], r.space_u);
                    prop_assert!(r.power_w.is_none_or(|b| w[i] <= b + 1e-9), "rack {i}: {} W of {:?}", w[i], r.power_w);
                }
            }
        }
    }
}
