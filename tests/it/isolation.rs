//! Issue 2 acceptance: a dead device (nothing listening) and a device that answers only after
//! 5 s do not change the poll period of the other devices.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_slow_devices_do_not_delay_the_others() {
    // A UDP port that was bound and released: nothing listens there (not on 127.0.0.1, where
    // the parallel tests bind, so none of them can take it meanwhile).
    let dead = std::net::UdpSocket::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let extra = format!(
        "[[devices]]\nid = \"dead-pdu\"\nsite = \"sim\"\nprofile = \"apc-rpdu2\"\naddress = \"snmp://{dead}\"\nauth = \"sim\"\n"
    );
    let sim = SimConfig {
        community: "iso-community".into(),
        slow_devices: vec!["srv-r01-01".into(), "meter-lighting".into()],
        slow_delay: Duration::from_secs(5),
        ..SimConfig::default()
    };
    let site = common::site(sim, Clock::System, "1s", "2s", &extra).await;
    let batches = common::collect(&site.config, Clock::System, Duration::from_secs(9), None).await;

    let mut stamps: HashMap<&str, Vec<i64>> = HashMap::new();
    for b in &batches {
        stamps.entry(&b.device).or_default().push(b.at);
    }
    for slow_or_dead in ["dead-pdu", "srv-r01-01", "meter-lighting"] {
        let polls: Vec<_> = batches
            .iter()
            .filter(|b| &*b.device == slow_or_dead)
            .collect();
        assert!(!polls.is_empty(), "{slow_or_dead} was never polled");
        assert!(
            polls.iter().all(|b| !b.poll.is_up()),
            "{slow_or_dead} should be down"
        );
        let err = polls[0].poll.error().unwrap_or_default().to_owned();
        assert!(
            err.contains("timed out") || err.contains("connection"),
            "{slow_or_dead}: {err}"
        );
    }
    let healthy: Vec<_> = site
        .config
        .devices
        .iter()
        .map(|d| d.id.as_str())
        .filter(|d| !["dead-pdu", "srv-r01-01", "meter-lighting"].contains(d))
        .collect();
    assert!(healthy.len() >= 10);
    for d in healthy {
        let ts = &stamps[d];
        assert!(ts.len() >= 7, "{d}: only {} polls in 9 s", ts.len());
        for w in ts.windows(2) {
            let period = w[1] - w[0];
            assert!(
                (850..=1150).contains(&period),
                "{d}: poll period {period} ms, expected 1000 ms; stamps {ts:?}"
            );
        }
        assert!(
            batches
                .iter()
                .filter(|b| &*b.device == d)
                .all(|b| b.poll.is_up()),
            "{d} had a failed poll"
        );
    }
}
