//! Kilowatch storage: the interfaces readers use ([`ReadStore`], [`StatusStore`]), the embedded
//! store ([`embedded`]) with its on-disk formats ([`samples`], [`chunk`], [`rollup`]), the
//! writer loop that commits the collector's polls and times the store's upkeep ([`writer`]),
//! and parsing imported history ([`import`]). Remote engines (InfluxDB, VictoriaMetrics) live in
//! the `kilowatch-sink` crate, which reads the outbox; nothing here knows them.

pub mod chunk;
pub mod embedded;
pub mod import;
mod known;
pub mod rollup;
mod rowkey;
pub mod samples;
pub mod writer;

use std::collections::BTreeMap;

use kilowatch_core::model::{Field, Measurement, Timestamp};

pub use samples::aggregate;

pub use embedded::{
    AlertChanges, AlertEvent, AlertRow, Footprint, OutboxStats, QueuedNote, SqliteStore, StateOp,
    TrapRow,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("embedded store '{path}': {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "embedded store '{path}' has schema version {found}, this build reads version {expected}; upgrade kilowatch"
    )]
    NewerSchema {
        path: String,
        found: i64,
        expected: i64,
    },
    /// A chunk or head row that does not decode: the file was damaged outside kilowatch.
    #[error("embedded store '{path}' is damaged: {detail}")]
    Corrupt { path: String, detail: String },
    /// A reading dated where no chunk can hold it (±490,000 years from 1970).
    #[error("embedded store '{path}': {detail}")]
    OutOfRange { path: String, detail: String },
    /// A remote engine's read failed; the message names the target (never its credentials).
    #[error("{target}: {detail}")]
    Remote { target: String, detail: String },
}

/// One stored series of one field, as any backend identifies it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesRef {
    /// `measurement,k=v,...` (see `Series::key`).
    pub key: String,
    pub field: Field,
    pub tags: BTreeMap<String, String>,
}

impl SeriesRef {
    pub fn tag(&self, k: &str) -> Option<&str> {
        self.tags.get(k).map(String::as_str)
    }
}

/// Which series to find: all conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub measurement: Option<Measurement>,
    pub field: Option<Field>,
    /// Tag equalities; a value of `None` requires the tag to be absent.
    pub tags: Vec<(String, Option<String>)>,
}

impl Selector {
    pub fn field(field: Field) -> Selector {
        Selector {
            measurement: Some(field.measurement()),
            field: Some(field),
            tags: Vec::new(),
        }
    }

    pub fn tag(mut self, k: &str, v: &str) -> Selector {
        self.tags.push((k.to_owned(), Some(v.to_owned())));
        self
    }

    pub fn without(mut self, k: &str) -> Selector {
        self.tags.push((k.to_owned(), None));
        self
    }

    pub fn matches(&self, s: &SeriesRef) -> bool {
        self.field.is_none_or(|f| f == s.field)
            && self.tags.iter().all(|(k, v)| s.tags.get(k) == v.as_ref())
    }
}

/// Half-open time range `[from, to)` in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub ts: Timestamp,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Mean,
    Min,
    Max,
    Last,
}

/// Aggregation into fixed windows aligned to the epoch; each point is stamped with its
/// window's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub every_ms: i64,
    pub aggregate: Aggregate,
}

/// What the analyzer, reports and TUI read through. The embedded store implements it, and so
/// do the remote engines' readers (InfluxDB, VictoriaMetrics).
pub trait ReadStore: Send + Sync {
    fn find(&self, selector: &Selector) -> Result<Vec<SeriesRef>, StoreError>;
    fn read(
        &self,
        series: &SeriesRef,
        range: TimeRange,
        window: Option<Window>,
    ) -> Result<Vec<Point>, StoreError>;
    /// The newest point at or before `at`.
    fn latest(&self, series: &SeriesRef, at: Timestamp) -> Result<Option<Point>, StoreError>;
}

/// A device's last poll, as the collector reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStatus {
    pub device: String,
    pub ts: Timestamp,
    pub up: bool,
    pub poll_ms: f64,
    pub error: Option<String>,
}

/// The collector's own record of each device's last poll (the embedded store keeps one; a
/// remote engine has only the `up` and `poll_ms` samples).
pub trait StatusStore: Send + Sync {
    /// Every device's last poll, by device name.
    fn device_status(&self) -> Result<Vec<DeviceStatus>, StoreError>;
    /// Alerts pending or firing (a store without alerting has none).
    fn alert_states(&self) -> Result<Vec<AlertRow>, StoreError> {
        Ok(Vec::new())
    }
    /// The newest `limit` traps received, newest first.
    fn recent_traps(&self, _limit: usize) -> Result<Vec<TrapRow>, StoreError> {
        Ok(Vec::new())
    }
    /// Records that `by` acknowledged an alert; false when it is no longer active.
    fn acknowledge(
        &self,
        _rule: &str,
        _subject: &str,
        _by: &str,
        _at: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
}
