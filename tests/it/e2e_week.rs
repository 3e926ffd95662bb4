//! Issue 5: a simulated week (accelerated clock) through the real protocols gives PUE per
//! category and the cooling pPUE within 0.5 % of the simulator's own energy integrals.

use crate::common;

use std::time::Duration;

use kilowatch_analyzer::pue::Options;
use kilowatch_analyzer::report::pue_report;
use kilowatch_core::calendar::Window;
use kilowatch_core::clock::Clock;
use kilowatch_sim::SimConfig;
use kilowatch_store::TimeRange;

const H: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_week_gives_pue_and_cooling_ppue_within_half_a_percent() {
    // 14 simulated hours per real second: a week in 12 s; a poll every 100 ms is every 1.4 h.
    let speed = 50_400.0;
    let clock = Clock::accelerated(speed);
    let sim = SimConfig {
        speed,
        community: "week".into(),
        ..SimConfig::default()
    };
    let site = common::site(sim, clock, "100ms", "1s", "").await;
    let store = common::store(site.dir.path());
    let start = clock.now_ms();
    common::collect(
        &site.config,
        clock,
        Duration::from_secs(13),
        Some(store.clone()),
    )
    .await;
    let range = TimeRange {
        from: start + 6 * H,
        to: start + 6 * H + 7 * 24 * H,
    };
    assert!(clock.now_ms() > range.to, "the run did not cover a week");
    let truth = site.sim.truth(range.from, range.to);
    let report = tokio::task::block_in_place(|| {
        pue_report(
            &*store,
            &site.config,
            &Window::instants(range.from, range.to),
            Options {
                max_gap_ms: 3 * H,
                ..Options::default()
            },
            |_, _| {},
        )
        .unwrap()
    });
    let within = |name: &str, got: f64, want: f64| {
        let err = (got - want).abs() / want;
        eprintln!(
            "{name}: report {got:.5}, model {want:.5}, error {:.3} %",
            err * 100.0
        );
        assert!(err <= 0.005, "{name}: {got} vs model {want}");
    };
    let cat = |c: u8| report.sites.iter().find(|s| s.category == c).unwrap();
    within(
        "PUE1",
        cat(1).pue.unwrap(),
        truth.facility_kwh / truth.ups_out_kwh,
    );
    within(
        "PUE3",
        cat(3).pue.unwrap(),
        truth.facility_kwh / truth.racks_kwh,
    );
    let cooling = cat(3)
        .breakdown
        .partial
        .iter()
        .find(|(n, _)| n == "cooling")
        .unwrap()
        .1;
    within(
        "pPUE cooling (cat 3)",
        cooling,
        (truth.racks_kwh + truth.cooling_kwh) / truth.racks_kwh,
    );
    assert_eq!(cat(3).label, "PUE3, interim, 7 days");
    assert!(cat(3).coverage > 0.99);
    let (lo, hi) = (cat(3).pue_low.unwrap(), cat(3).pue_high.unwrap());
    assert!(lo < cat(3).pue.unwrap() && cat(3).pue.unwrap() < hi);
}
