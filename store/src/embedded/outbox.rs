//! The outbox: the durable queue for remote sinks, in the store's own encoding.
//!
//! Invariants:
//! - Each transaction that writes samples also appends the readings it stored as one outbox row,
//!   so nothing reaches a sink before it is on disk, and a reading the store refused is never
//!   queued.
//! - A row holds, per poll, its time (8 bytes), how many readings, and the head's own pairs of
//!   series id and value ([`crate::samples::put_entry`]): about 11 bytes a reading where InfluxDB
//!   line protocol took about 100. Sinks get the readings back with their series
//!   ([`Reading`]) and encode them for their target. Rows from before schema version 5 hold line
//!   protocol as text ([`Payload::Lines`]).
//! - A sink's cursor (`sink_cursor`) advances only after the far side acknowledged; rows every
//!   sink has passed are deleted.
//! - When the outbox exceeds its byte cap, the oldest rows are deleted, logged at ERROR and
//!   counted in `counters.dropped`: never silently lost.
//! - Its totals (rows, points, bytes) are kept in `counters` as rows come and go, so asking what
//!   waits costs the same however long an outage has grown the queue.

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::model::{Field, Series, Timestamp};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::StoreError;
use crate::chunk::{self, ChunkError};

/// Outbox gauges for self-monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxStats {
    pub rows: i64,
    pub points: i64,
    pub bytes: i64,
    /// Write time of the first row not yet sent to this sink (the queue's head).
    pub oldest_unsent: Option<Timestamp>,
    pub dropped_points: i64,
}

/// One outbox row: the readings of one write transaction.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub seq: i64,
    /// When it was written (ms), for "oldest unsent" age.
    pub ts: Timestamp,
    pub points: i64,
    pub payload: Payload,
}

#[derive(Debug, Clone)]
pub enum Payload {
    Readings(Vec<Reading>),
    /// InfluxDB line protocol queued by a kilowatch before schema version 5.
    Lines(String),
}

/// A stored reading on its way to a sink.
#[derive(Debug, Clone)]
pub struct Reading {
    pub series: SeriesName,
    pub field: Field,
    pub at: Timestamp,
    pub value: f64,
}

/// The series a reading belongs to: the collector's own (the common case, nothing allocated),
/// or, for readings queued before a restart, as the store keeps it.
#[derive(Debug, Clone)]
pub enum SeriesName {
    Live(Arc<Series>),
    Stored(Arc<StoredSeries>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSeries {
    pub measurement: String,
    /// Sorted by key.
    pub tags: Vec<(String, String)>,
}

impl SeriesName {
    pub fn measurement(&self) -> &str {
        match self {
            SeriesName::Live(s) => s.measurement.name(),
            SeriesName::Stored(s) => &s.measurement,
        }
    }

    /// Its tags in key order.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str)> {
        let (live, stored) = match self {
            SeriesName::Live(s) => (Some(s.tags()), None),
            SeriesName::Stored(s) => (None, Some(s.tags.iter())),
        };
        // The map shortens the live keys' `'static` to the borrow's lifetime for `chain`.
        #[allow(clippy::map_identity)]
        let live = live.into_iter().flatten().map(|(k, v)| (k, v));
        live.chain(
            stored
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

/// The readings of one transaction, encoded as they are stored.
#[derive(Debug, Default)]
pub(super) struct Encoder {
    data: Vec<u8>,
    points: i64,
}

impl Encoder {
    /// Queues one poll's stored readings: `row` is `count` head entries.
    pub(super) fn poll(&mut self, at: Timestamp, count: i64, row: &[u8]) {
        if count == 0 {
            return;
        }
        self.data.extend_from_slice(&at.to_le_bytes());
        chunk::put_varint(&mut self.data, count as u64);
        self.data.extend_from_slice(row);
        self.points += count;
    }
}

/// Appends a transaction's readings as one row, then keeps the outbox within `cap` bytes.
pub(super) fn append(
    tx: &Connection,
    now: Timestamp,
    queued: Encoder,
    cap: u64,
) -> rusqlite::Result<()> {
    if queued.points == 0 {
        return Ok(());
    }
    let bytes = queued.data.len() as i64;
    tx.prepare_cached("INSERT INTO outbox(ts, points, bytes, data) VALUES(?1, ?2, ?3, ?4)")?
        .execute(params![now, queued.points, bytes, queued.data])?;
    add_totals(
        tx,
        Totals {
            rows: 1,
            points: queued.points,
            bytes,
        },
    )?;
    enforce_cap(tx, cap)
}

/// The readings of an outbox row, as (time, series id, value), in the order they were queued;
/// a damaged row ends with its error.
fn readings_of(
    mut data: &[u8],
) -> impl Iterator<Item = Result<(Timestamp, i64, f64), ChunkError>> + '_ {
    // The poll being read: its time, and how many of its readings are left.
    let (mut at, mut left) = (0i64, 0u64);
    std::iter::from_fn(move || {
        let mut next = || -> Result<Option<(Timestamp, i64, f64)>, ChunkError> {
            while left == 0 {
                if data.is_empty() {
                    return Ok(None);
                }
                let (t, rest) = data.split_first_chunk::<8>().ok_or(ChunkError::Truncated)?;
                data = rest;
                at = i64::from_le_bytes(*t);
                left = chunk::get_varint(&mut data)?;
            }
            let id = chunk::get_varint(&mut data)?;
            let (v, rest) = data.split_first_chunk::<8>().ok_or(ChunkError::Truncated)?;
            data = rest;
            left -= 1;
            Ok(Some((at, id as i64, f64::from_le_bytes(*v))))
        };
        match next() {
            Ok(reading) => reading.map(Ok),
            Err(e) => {
                data = &[];
                left = 0;
                Some(Err(e))
            }
        }
    })
}

impl SqliteStore {
    /// Turns the outbox on (writes from now on are queued for sinks), capped at `cap_bytes`.
    pub fn enable_outbox(&self, cap_bytes: u64) {
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .index_ids();
        *self.outbox_cap.lock().unwrap_or_else(|p| p.into_inner()) = Some(cap_bytes);
    }

    /// Registers a sink; a new sink starts at the beginning of what the outbox holds.
    pub fn sink_cursor(&self, sink: &str) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO sink_cursor(sink, seq) VALUES(?1, 0)",
            [sink],
        )
        .map_err(self.err())?;
        conn.query_row("SELECT seq FROM sink_cursor WHERE sink=?1", [sink], |r| {
            r.get(0)
        })
        .map_err(self.err())
    }

    /// Rows after `seq`, oldest first, up to about `max_points` readings (always at least one
    /// row), with each reading's series.
    pub fn outbox_after(&self, seq: i64, max_points: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn();
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let mut stored: HashMap<i64, (SeriesName, Field)> = HashMap::new();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, ts, points, data FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT 1000",
            )
            .map_err(self.err())?;
        let mut rows = stmt.query([seq]).map_err(self.err())?;
        let mut out = Vec::new();
        let mut points = 0;
        while let Some(r) = rows.next().map_err(self.err())? {
            let (seq, ts, n): (i64, i64, i64) = (
                r.get(0).map_err(self.err())?,
                r.get(1).map_err(self.err())?,
                r.get(2).map_err(self.err())?,
            );
            if !out.is_empty() && points + n as usize > max_points {
                break;
            }
            points += n as usize;
            let payload = match r.get_ref(3).map_err(self.err())? {
                ValueRef::Text(t) => Payload::Lines(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => {
                    let mut readings = Vec::with_capacity(n as usize);
                    for r in readings_of(b) {
                        let (at, id, value) = r.map_err(|e| self.corrupt(seq, e))?;
                        let (series, field) = match known.by_id(id) {
                            Some((s, f)) => (SeriesName::Live(s.clone()), f),
                            // A series this process has not written since it started: named
                            // from the catalogue, once per call.
                            None => match stored.get(&id) {
                                Some(named) => named.clone(),
                                None => {
                                    let named = stored_series(&conn, id)
                                        .map_err(self.err())?
                                        .ok_or_else(|| StoreError::Corrupt {
                                            path: self.path.clone(),
                                            detail: format!("outbox row {seq} names series {id}, which is not in the catalogue"),
                                        })?;
                                    stored.insert(id, named.clone());
                                    named
                                }
                            },
                        };
                        readings.push(Reading {
                            series,
                            field,
                            at,
                            value,
                        });
                    }
                    Payload::Readings(readings)
                }
                _ => {
                    return Err(StoreError::Corrupt {
                        path: self.path.clone(),
                        detail: format!("outbox row {seq} holds neither readings nor text"),
                    });
                }
            };
            out.push(OutboxRow {
                seq,
                ts,
                points: n,
                payload,
            });
        }
        Ok(out)
    }

    fn corrupt(&self, seq: i64, e: ChunkError) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("outbox row {seq}: {e}"),
        }
    }

    /// Records that `sink` has everything up to `seq`, and deletes rows every sink has.
    pub fn ack(&self, sink: &str, seq: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(self.err())?;
        tx.execute(
            "UPDATE sink_cursor SET seq = MAX(seq, ?2) WHERE sink = ?1",
            params![sink, seq],
        )
        .map_err(self.err())?;
        let sent: i64 = tx
            .query_row("SELECT COALESCE(MIN(seq), 0) FROM sink_cursor", [], |r| {
                r.get(0)
            })
            .map_err(self.err())?;
        // Only the rows going: the totals are never recounted over the whole outbox.
        let gone = totals_through(&tx, sent).map_err(self.err())?;
        if gone.rows > 0 {
            tx.execute("DELETE FROM outbox WHERE seq <= ?1", [sent])
                .map_err(self.err())?;
            add_totals(&tx, gone.negated()).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())
    }

    /// What waits for `sink`. It costs the same however long the outbox has grown (an outage
    /// of days): the totals are kept as rows come and go, and only rows this sink has but
    /// another sink still waits for are counted.
    pub fn outbox_stats(&self, sink: &str) -> Result<OutboxStats, StoreError> {
        let conn = self.conn();
        let cursor: i64 = conn
            .query_row("SELECT seq FROM sink_cursor WHERE sink=?1", [sink], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?
            .unwrap_or(0);
        let all = Totals {
            rows: counter(&conn, "outbox_rows").map_err(self.err())?,
            points: counter(&conn, "outbox_points").map_err(self.err())?,
            bytes: counter(&conn, "outbox_bytes").map_err(self.err())?,
        };
        let sent = totals_through(&conn, cursor).map_err(self.err())?;
        let oldest_unsent = conn
            .prepare_cached("SELECT ts FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT 1")
            .and_then(|mut q| q.query_row([cursor], |r| r.get(0)).optional())
            .map_err(self.err())?;
        Ok(OutboxStats {
            rows: all.rows - sent.rows,
            points: all.points - sent.points,
            bytes: all.bytes - sent.bytes,
            oldest_unsent,
            dropped_points: counter(&conn, "dropped").map_err(self.err())?,
        })
    }
}

/// A series as the catalogue keeps it; `None` if there is no such id.
fn stored_series(conn: &Connection, id: i64) -> rusqlite::Result<Option<(SeriesName, Field)>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT field, measurement, tags FROM series WHERE id=?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.and_then(|(field, measurement, tags)| {
        let field = Field::from_name(&field)?;
        let tags = tags
            .split('\u{1f}')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let series = StoredSeries { measurement, tags };
        Some((SeriesName::Stored(Arc::new(series)), field))
    }))
}

/// Rows, points and bytes in (part of) the outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    rows: i64,
    points: i64,
    bytes: i64,
}

impl Totals {
    fn negated(self) -> Totals {
        Totals {
            rows: -self.rows,
            points: -self.points,
            bytes: -self.bytes,
        }
    }
}

/// Moves the outbox totals in `counters` by `t`, in the caller's transaction. Summing the
/// outbox on every write instead cost 90 ms a write after a day's outage at one write a second.
fn add_totals(conn: &Connection, t: Totals) -> rusqlite::Result<()> {
    let mut add = conn.prepare_cached(
        "INSERT INTO counters(name, value) VALUES(?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + ?2",
    )?;
    for (name, v) in [
        ("outbox_rows", t.rows),
        ("outbox_points", t.points),
        ("outbox_bytes", t.bytes),
    ] {
        add.execute(params![name, v])?;
    }
    Ok(())
}

/// The totals of the outbox rows up to `seq` (a range of the primary key).
fn totals_through(conn: &Connection, seq: i64) -> rusqlite::Result<Totals> {
    conn.prepare_cached(
        "SELECT COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(bytes), 0) FROM outbox WHERE seq <= ?1",
    )?
    .query_row([seq], |r| {
        Ok(Totals {
            rows: r.get(0)?,
            points: r.get(1)?,
            bytes: r.get(2)?,
        })
    })
}

/// Deletes the oldest outbox rows until the outbox fits `cap` bytes; every point dropped is
/// counted and logged, never silently lost.
fn enforce_cap(tx: &Connection, cap: u64) -> rusqlite::Result<()> {
    let total = counter(tx, "outbox_bytes")?;
    if total as u64 <= cap {
        return Ok(());
    }
    let mut excess = total as u64 - cap;
    let mut gone = Totals::default();
    let mut last = None;
    {
        let mut stmt = tx.prepare_cached("SELECT seq, bytes, points FROM outbox ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (seq, bytes, points): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            last = Some(seq);
            gone.rows += 1;
            gone.points += points;
            gone.bytes += bytes;
            excess = excess.saturating_sub(bytes as u64);
            if excess == 0 {
                break;
            }
        }
    }
    let Some(last) = last else {
        return Ok(());
    };
    tx.execute("DELETE FROM outbox WHERE seq <= ?1", [last])?;
    add_totals(tx, gone.negated())?;
    tx.execute(
        "INSERT INTO counters(name, value) VALUES('dropped', ?1) ON CONFLICT(name) DO UPDATE SET value = value + ?1",
        [gone.points],
    )?;
    tracing::error!(
        points = gone.points,
        cap_bytes = cap,
        "outbox full: dropped the oldest unsent points"
    );
    Ok(())
}

/// A counter's value; one never set is 0.
fn counter(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM counters WHERE name=?1")?
        .query_row([name], |r| r.get(0))
        .optional()
        .map(|v| v.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_decodes_to_what_was_queued_and_a_cut_row_is_an_error() {
        let mut enc = Encoder::default();
        let mut row = Vec::new();
        crate::samples::put_entry(&mut row, 7, 1.5);
        crate::samples::put_entry(&mut row, 300, -2.0);
        enc.poll(1_000, 2, &row);
        enc.poll(2_000, 0, &[]);
        row.clear();
        crate::samples::put_entry(&mut row, 7, 3.25);
        enc.poll(3_000, 1, &row);
        assert_eq!(enc.points, 3);
        let got: Vec<_> = readings_of(&enc.data).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, [(1_000, 7, 1.5), (1_000, 300, -2.0), (3_000, 7, 3.25)]);
        // A row cut anywhere decodes at most what is whole before the cut, and never panics.
        for cut in 1..enc.data.len() {
            let got: Vec<_> = readings_of(&enc.data[..cut]).collect();
            let whole = got.iter().filter(|r| r.is_ok()).count();
            let cut_short = got.last().is_some_and(|r| r.is_err());
            assert!(
                whole <= 2 && (cut_short || whole == 2),
                "cut at {cut}: {got:?}"
            );
        }
        let cut = readings_of(&enc.data[..enc.data.len() - 1]).last();
        assert!(matches!(cut, Some(Err(_))));
    }
}
