//! Consolidation planning at estate scale: 10,000 servers across 25 sites packed per site (FFD and
//! norm-based greedy, N+1), the hosts racked within rack power and space budgets, and every
//! whole-site move ranked.
//!
//!   cargo build --release -p kilowatch-analyzer --example plan_bench
//!   /usr/bin/time -v target/release/examples/plan_bench

use std::time::Instant;

use kilowatch_analyzer::consolidation::{
    Demand, RackBudget, SiteCapacity, plan_site, rank_site_moves,
};

fn main() {
    // A fixed pseudo-random estate (xorshift), so runs compare.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0
    };
    let t = Instant::now();
    let mut hosts = 0;
    let mut sites = Vec::new();
    for s in 0..25 {
        let servers: Vec<Demand> = (0..400)
            .map(|_| Demand {
                cpu: 0.02 + 0.5 * next() * next(),
                mem_gb: 8.0 + 120.0 * next(),
                power_w: 150.0 + 200.0 * next(),
            })
            .collect();
        // Twenty 42 U racks of 6 kW per site; a host draws 120 W idle plus 300 W per host of CPU.
        let racks: Vec<RackBudget> = (0..20)
            .map(|r| RackBudget {
                rack: format!("r{r:02}"),
                power_w: Some(6_000.0),
                space_u: 42.0,
            })
            .collect();
        let host_w = |h: &[usize]| 120.0 + 300.0 * h.iter().map(|i| servers[*i].cpu).sum::<f64>();
        let plan = plan_site(
            &servers,
            Demand {
                cpu: 1.0,
                mem_gb: 256.0,
                power_w: 800.0,
            },
            0.7,
            true,
            &host_w,
            2.0,
            &racks,
        );
        hosts += plan.hosts.len() + plan.spare_hosts;
        sites.push(SiteCapacity {
            site: format!("dc{s:02}"),
            pue: 1.3 + next(),
            it_kw: 40.0 + 60.0 * next(),
            rack_u_used: 400.0,
            power_headroom_kw: 50.0 * next(),
            space_headroom_u: 400.0 * next(),
            cooling_headroom_kw: 50.0 * next(),
            emission_factor_kg_per_kwh: Some(0.37),
        });
    }
    let packed = t.elapsed();
    let moves = rank_site_moves(&sites);
    println!(
        "10,000 servers in 25 sites -> {hosts} hosts in {:.1} ms; {} site moves ranked in {:.2} ms total",
        packed.as_secs_f64() * 1000.0,
        moves.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
}
