//! Shared wiring for end-to-end tests: a simulated site, its inventory, and a collector whose
//! batches the test can see and store.

#![allow(dead_code)] // the peer-free build (no `peers` feature) leaves some helpers unused

pub mod alertmanager;
pub mod influxd;
pub mod process;
pub mod smtp;
pub mod victoria;

use std::path::Path;
use std::sync::Arc;

use kilowatch_collector::schedule::{self, DeviceTask, Schedule};
use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::model::Batch;
use kilowatch_sim::{RunningSim, SimConfig};
use kilowatch_store::SqliteStore;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub struct Site {
    pub sim: RunningSim,
    pub config: Config,
    pub dir: tempfile::TempDir,
}

/// Starts a simulated site and loads the inventory it writes, with `extra` devices appended.
pub async fn site(
    sim: SimConfig,
    clock: Clock,
    interval: &str,
    timeout: &str,
    extra: &str,
) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let community = sim.community.clone();
    let sim = RunningSim::start(sim, clock).await.unwrap();
    let secret = dir.path().join("community");
    kilowatch_core::secret::write_private(&secret, &community).unwrap();
    let mut inv = sim.inventory_toml(
        &format!("file:{}", secret.display()),
        "kw.db",
        interval,
        timeout,
    );
    inv.push_str(extra);
    let path = dir.path().join("site.toml");
    std::fs::write(&path, inv).unwrap();
    let config =
        Config::load_with_env(&path, std::iter::empty()).unwrap_or_else(|p| panic!("{p:?}"));
    Site { sim, config, dir }
}

/// Runs the collector for `real` time, storing every batch and returning them too.
pub async fn collect(
    config: &Config,
    clock: Clock,
    real: std::time::Duration,
    store: Option<Arc<SqliteStore>>,
) -> Vec<Batch> {
    let (tx, mut rx) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    let schedule = Schedule {
        max_concurrent_polls: config.collector.max_concurrent_polls,
        clock,
        backfill: None,
    };
    let run = tokio::spawn(schedule::run(
        DeviceTask::all(config),
        schedule,
        tx,
        cancel.clone(),
    ));
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(real).await;
        stop.cancel();
    });
    let mut all = Vec::new();
    while let Some(b) = rx.recv().await {
        if let Some(s) = &store {
            s.write(std::slice::from_ref(&b)).unwrap();
        }
        all.push(b);
    }
    run.await.unwrap();
    all
}

pub fn store(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.join("kw.db")).unwrap())
}

/// A simulated site running `speed` times faster than real time, polled every 200 ms of real
/// time into the embedded store for `real`.
pub struct Collected {
    pub site: Site,
    pub store: Arc<SqliteStore>,
    pub clock: Clock,
    /// Simulated time when collection began.
    pub start: i64,
    pub batches: Vec<Batch>,
}

/// An accelerated clock whose simulated time starts at 10:00 Hong Kong time today, whatever
/// the hour a test runs at: the simulated servers' load and the weather follow the day, and a
/// few night hours make a lightly loaded server look comatose and move the sites' PUEs, which
/// is right for the rules but not what the tests built on a working day mean to show.
pub fn daytime_clock(speed: f64) -> Clock {
    let day_ms = 86_400_000;
    let today = Clock::System.now_ms().div_euclid(day_ms) * day_ms;
    Clock::Accelerated {
        real_origin: std::time::Instant::now(),
        sim_origin: today + 2 * 3_600_000,
        speed,
    }
}

pub async fn collected(speed: f64, community: &str, real: std::time::Duration) -> Collected {
    let clock = daytime_clock(speed);
    let sim = SimConfig {
        speed,
        community: community.into(),
        ..SimConfig::default()
    };
    let site = site(sim, clock, "200ms", "1s", "").await;
    let store = store(site.dir.path());
    let start = clock.now_ms();
    let batches = collect(&site.config, clock, real, Some(store.clone())).await;
    Collected {
        site,
        store,
        clock,
        start,
        batches,
    }
}
