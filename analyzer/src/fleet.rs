//! The estate's collectors as their heartbeats show them (measurement `collector`, device
//! `kilowatch`, written by every collector each interval and forwarded like any reading): which
//! are silent, which are behind on forwarding, which have devices down. `kilowatch fleet` and
//! the TUI's Fleet screen read it from the central engine or a collector's own store.

use std::collections::BTreeMap;

use kilowatch_core::model::{Field, Measurement, Timestamp};
use kilowatch_store::{ReadStore, Selector, SeriesRef, StoreError};
use serde::Serialize;

/// One collector as its newest heartbeat shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collector {
    pub collector: String,
    pub sites: String,
    pub version: String,
    pub state: State,
    /// Why the state is not `ok`.
    pub reason: Option<String>,
    pub last_heartbeat: Timestamp,
    pub heartbeat_age_s: f64,
    pub heartbeat_s: f64,
    pub devices_up: Option<f64>,
    pub devices_total: Option<f64>,
    pub outbox_points: Option<f64>,
    pub outbox_oldest_s: Option<f64>,
    pub last_write_age_s: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Ok,
    /// Devices down.
    Degraded,
    /// Its outbox holds readings older than two heartbeats: the central engine is behind.
    Behind,
    /// No heartbeat for longer than `--silent-after` periods.
    Silent,
}

/// Every collector with a heartbeat, by name; a collector whose tags changed (an upgrade, a new
/// sink) has several heartbeat series and is shown by its newest.
pub fn collectors(
    store: &dyn ReadStore,
    now: Timestamp,
    silent_after: f64,
) -> Result<Vec<Collector>, StoreError> {
    let mut selector = Selector::field(Field::HeartbeatS).tag("device", "kilowatch");
    selector.measurement = Some(Measurement::Collector);
    let mut newest: BTreeMap<String, (SeriesRef, Timestamp, f64)> = BTreeMap::new();
    for s in store.find(&selector)? {
        let Some(name) = s.tag("collector").map(str::to_owned) else {
            continue;
        };
        let Some(p) = store.latest(&s, now)? else {
            continue;
        };
        if newest.get(&name).is_none_or(|(_, ts, _)| p.ts > *ts) {
            newest.insert(name, (s, p.ts, p.value));
        }
    }
    let mut out = Vec::new();
    for (name, (series, ts, period)) in newest {
        let value = |field: Field| -> Result<Option<f64>, StoreError> {
            let s = SeriesRef {
                field,
                ..series.clone()
            };
            // Only the value sent with this heartbeat: an older one would describe the past.
            Ok(store
                .latest(&s, now)?
                .filter(|p| p.ts == ts)
                .map(|p| p.value))
        };
        let age = (now - ts) as f64 / 1000.0;
        let up = value(Field::DevicesUp)?;
        let total = value(Field::DevicesTotal)?;
        let queue_age = value(Field::QueueAgeS)?;
        let (state, reason) = if age > silent_after * period {
            (
                State::Silent,
                Some(format!(
                    "no heartbeat for {age:.0} s (one every {period:.0} s)"
                )),
            )
        } else if queue_age.is_some_and(|a| a > 2.0 * period) {
            (
                State::Behind,
                Some(format!(
                    "its oldest unsent reading is {:.0} s old",
                    queue_age.unwrap_or_default()
                )),
            )
        } else if let (Some(u), Some(t)) = (up, total)
            && u < t
        {
            (
                State::Degraded,
                Some(format!("{} of {t:.0} devices down", (t - u) as i64)),
            )
        } else {
            (State::Ok, None)
        };
        out.push(Collector {
            collector: name,
            sites: series.tag("sites").unwrap_or_default().to_owned(),
            version: series.tag("version").unwrap_or_default().to_owned(),
            state,
            reason,
            last_heartbeat: ts,
            heartbeat_age_s: age,
            heartbeat_s: period,
            devices_up: up,
            devices_total: total,
            outbox_points: value(Field::QueuePoints)?,
            outbox_oldest_s: queue_age,
            last_write_age_s: value(Field::LastWriteAgeS)?,
        });
    }
    Ok(out)
}
