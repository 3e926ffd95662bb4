//! Issue 2 acceptance: simulated site -> collector over real UDP/TCP sockets -> embedded store
//! -> analyzer. The PUE and IT energy computed from collected samples must match the physics
//! model's own energy integrals within 1 %.

use crate::common;

use std::time::Duration;

use kilowatch_analyzer::pue::{self, Pue};
use kilowatch_store::TimeRange;

const MIN: i64 = 60_000;

fn value(p: Option<&Pue>) -> f64 {
    match p {
        Some(Pue::Value { pue, .. }) => *pue,
        other => panic!("expected a PUE value, got {other:?}"),
    }
}

fn within(name: &str, got: f64, want: f64, rel: f64) {
    let err = (got - want).abs() / want;
    eprintln!(
        "{name}: measured {got:.4}, model {want:.4}, error {:.3} %",
        err * 100.0
    );
    assert!(
        err <= rel,
        "{name}: measured {got:.4}, model {want:.4}, error {:.3} % > {:.1} %",
        err * 100.0,
        rel * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pue_and_it_energy_from_collected_data_match_the_physics_model() {
    // 600x: 2 simulated hours in 12 real seconds; a poll every 200 ms real is every 2 sim min.
    let common::Collected {
        site,
        store,
        clock,
        start,
        batches,
    } = common::collected(600.0, "e2e-community", Duration::from_secs(12)).await;
    let end = clock.now_ms();

    let total = site.config.devices.len();
    let failed: Vec<_> = batches
        .iter()
        .filter(|b| !b.poll.is_up())
        .map(|b| (&b.device, &b.poll))
        .collect();
    assert!(failed.is_empty(), "polls failed: {failed:?}");
    assert!(
        batches.len() >= total * 30,
        "only {} polls of {total} devices",
        batches.len()
    );

    // Leave the jittered start and the last poll out of the window.
    let range = TimeRange {
        from: start + 10 * MIN,
        to: end - 5 * MIN,
    };
    assert!(
        range.to - range.from > 90 * MIN,
        "window too short: {} min",
        (range.to - range.from) / MIN
    );
    let got = pue::site_pue(&*store, "sim", range, pue::Options::default()).unwrap();
    let truth = site.sim.truth(range.from, range.to);

    let facility = got.facility.as_ref().expect("facility energy");
    assert!(facility.coverage > 0.99, "coverage {}", facility.coverage);
    within("E_DC", facility.kwh, truth.facility_kwh, 0.01);
    within(
        "E_IT category 1 (UPS output)",
        got.it[&1].kwh,
        truth.ups_out_kwh,
        0.01,
    );
    within(
        "E_IT category 3 (rack PDUs)",
        got.it[&3].kwh,
        truth.racks_kwh,
        0.01,
    );
    within(
        "PUE1",
        value(got.pue.get(&1)),
        truth.facility_kwh / truth.ups_out_kwh,
        0.01,
    );
    within(
        "PUE3",
        value(got.pue.get(&3)),
        truth.facility_kwh / truth.racks_kwh,
        0.01,
    );
    // The model's PUE is itself plausible for a small hall.
    let model_pue = truth.facility_kwh / truth.racks_kwh;
    assert!((1.2..2.2).contains(&model_pue), "model PUE {model_pue}");
}
