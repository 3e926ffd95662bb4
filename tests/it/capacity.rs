//! Issue 5: the capacity report on the simulated site, checked against the physics model:
//! rack power within the model's range, UPS without redundancy, cooling ΔT, inlet compliance.

use crate::common;

use std::time::Duration;

use kilowatch_analyzer::capacity::capacity_report;
use kilowatch_store::TimeRange;

const MIN: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_of_the_simulated_site_matches_the_model() {
    let common::Collected {
        site,
        store,
        clock: _,
        start,
        batches: _,
    } = common::collected(600.0, "capacity", Duration::from_secs(8)).await;
    let range = TimeRange {
        from: start + 5 * MIN,
        to: start + 75 * MIN,
    };
    let r = tokio::task::block_in_place(|| capacity_report(&*store, &site.config, range).unwrap());

    // The model's rack power over the window bounds what the report found.
    let model = sim_model_rack_range(&site, range);
    assert_eq!(r.racks.len(), 2);
    for (k, (lo, hi)) in r.racks.iter().zip(model) {
        assert!(
            k.peak_w >= lo * 0.97 && k.peak_w <= hi * 1.03,
            "{}: peak {} outside model {lo}..{hi}",
            k.rack,
            k.peak_w
        );
        assert_eq!(k.budget_w, Some(4000.0));
        let util = k.utilisation_pct.unwrap();
        assert!((util - k.p95_w / 4000.0 * 100.0).abs() < 1e-9);
        assert!(!k.over_80_pct && util > 10.0 && util < 80.0, "{util}");
    }
    // One UPS: it carries the load, but there is no N+1.
    assert_eq!(r.ups.len(), 1);
    assert!(r.ups[0].fits_n && !r.ups[0].fits_n_minus_1);
    // CRAC: return − supply = 8 + 6 × UPS load fraction in the model. The load follows the Hong
    // Kong day, so the expected mean comes from the model over the same window, not a fixed band.
    let dt = r.cooling[0].mean_delta_t_c.unwrap();
    let model_dt = sim_model_mean_delta_t(&site, range);
    assert!(
        (8.0..14.0).contains(&dt) && (dt - model_dt).abs() < 0.3,
        "ΔT {dt}, model {model_dt}"
    );
    assert!(r.cooling[0].utilisation_pct.unwrap() < 100.0);
    // Breakers: 16 A, PDU currents of a ~1.5 kW rack are far below 80 %.
    assert!(
        r.breakers
            .iter()
            .all(|b| b.breaker_a == Some(16.0) && !b.over_80_pct)
    );
    // Inlets sit at supply + 2..3 °C ≈ 20–21 °C: always recommended, RCI 100 %.
    assert!(!r.inlets.is_empty());
    for i in &r.inlets {
        assert_eq!(i.compliance.recommended_pct, 100.0, "{i:?}");
    }
    assert_eq!(r.rooms[0].rci_hi_min, Some(100.0));
    assert_eq!(r.rooms[0].rci_lo_min, Some(100.0));
    assert!(r.rooms[0].intakes >= 2);
}

/// The model's mean return − supply temperature over the window, sampled each simulated minute.
fn sim_model_mean_delta_t(site: &common::Site, range: TimeRange) -> f64 {
    let model =
        kilowatch_sim::physics::Model::new(site.sim.config.racks, site.sim.config.servers_per_rack);
    let minutes: Vec<f64> = (range.from..range.to)
        .step_by(MIN as usize)
        .map(|t| {
            let s = model.state(t);
            s.return_c - s.supply_c
        })
        .collect();
    minutes.iter().sum::<f64>() / minutes.len() as f64
}

/// (min, max) of each rack's model power over the window, sampled each simulated minute.
fn sim_model_rack_range(site: &common::Site, range: TimeRange) -> Vec<(f64, f64)> {
    let model =
        kilowatch_sim::physics::Model::new(site.sim.config.racks, site.sim.config.servers_per_rack);
    let mut out = vec![(f64::MAX, f64::MIN); site.sim.config.racks];
    let mut t = range.from;
    while t < range.to {
        for (i, w) in model.state(t).rack_w.iter().enumerate() {
            out[i] = (out[i].0.min(*w), out[i].1.max(*w));
        }
        t += MIN;
    }
    out
}
