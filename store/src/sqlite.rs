//! The embedded store: one SQLite file (bundled SQLite, nothing to install).
//!
//! Invariants:
//! - Samples live in the head (one row per poll) until their two-hour block closes, then in
//!   compressed per-series chunks ([`crate::samples`], [`crate::chunk`]): about a byte or two a
//!   sample instead of the 26 of a row per sample (CRATES.md §4).
//! - A batch of polls is one transaction: either all of it is durable or none. Compaction is
//!   one transaction per device: a reading is always in the head or in a chunk.
//! - WAL with `synchronous=NORMAL`: a committed transaction survives a process crash; the last
//!   transactions may be lost on power failure, never corrupted.
//! - Only retention deletes samples; a live write never overwrites a stored one. Raw readings
//!   and five-minute roll-ups have their own retention; windowed reads of times whose raw
//!   readings are gone come from the roll-ups.
//! - The `outbox` (when enabled) is the durable queue for remote sinks: each transaction that
//!   writes samples also appends their line protocol as one outbox row, so nothing reaches a
//!   sink before it is on disk. A sink's cursor (`sink_cursor`) advances only after the far side
//!   acknowledged; rows every sink has passed are deleted. When the outbox exceeds its byte cap,
//!   the oldest unsent rows are deleted, logged at ERROR and counted in `counters.dropped`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use kilowatch_core::model::{Batch, Field, Series, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use crate::influx::line_protocol;
use crate::known::Known;
use crate::{Point, ReadStore, Selector, SeriesRef, StoreError, TimeRange, Window};
use crate::{rollup, samples};

/// Version 2 added the outbox tables; version 3 moved samples from one row each into the head
/// and chunks; version 4 keeps the outbox's totals in `counters`. Older files are upgraded in
/// place.
const SCHEMA_VERSION: i64 = 4;

/// A device's last poll, as the collector reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStatus {
    pub device: String,
    pub ts: Timestamp,
    pub up: bool,
    pub poll_ms: f64,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct SqliteStore {
    path: String,
    conn: Mutex<Connection>,
    known: Mutex<Known>,
    /// `Some(cap in bytes)` once a sink is attached: writes then also fill the outbox.
    outbox_cap: Mutex<Option<u64>>,
    compacting: AtomicBool,
    /// Every series, parsed, as of the newest series id (for `find`).
    catalogue: Mutex<(i64, Vec<(String, SeriesRef)>)>,
}

/// One outbox row: the line protocol of one write transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub seq: i64,
    /// When it was written (ms), for "oldest unsent" age.
    pub ts: Timestamp,
    pub points: i64,
    pub lines: String,
}

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

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let p = path.display().to_string();
        let err = |source| StoreError::Sqlite {
            path: p.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        // Reads, writes, compaction and the outbox use about 30 statements: keep them all.
        conn.set_prepared_statement_cache_capacity(64);
        // Bundled SQLite has STAT4, which re-plans a cached statement whenever a bound time
        // changes: a tenth of a year's PUE went into re-parsing. One plan per statement is right
        // for these few indexed look-ups.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(err)?;
        // A file from a newer kilowatch is refused before anything here writes to it.
        let version: Option<i64> = if has_table(&conn, "meta").map_err(err)? {
            conn.query_row(
                "SELECT value FROM meta WHERE key='schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?
        } else {
            None
        };
        if let Some(found) = version.filter(|v| *v > SCHEMA_VERSION) {
            return Err(StoreError::NewerSchema {
                path: p,
                found,
                expected: SCHEMA_VERSION,
            });
        }
        // Checkpoints every 64 MB of WAL, not SQLite's 4 MB: a poll touches a page of the head
        // index per device, and at 4 MB a third of appending was checkpoints writing the same
        // pages again and again (0.79 → 1.25 M samples/s; 16 MB gave 1.02).
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA wal_autocheckpoint=16384;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS series(
                 id INTEGER PRIMARY KEY,
                 key TEXT NOT NULL,
                 field TEXT NOT NULL,
                 measurement TEXT NOT NULL,
                 tags TEXT NOT NULL,
                 UNIQUE(key, field));
             CREATE TABLE IF NOT EXISTS devices(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE IF NOT EXISTS head(
                 seq INTEGER PRIMARY KEY,
                 device_id INTEGER NOT NULL,
                 at INTEGER NOT NULL,
                 n INTEGER NOT NULL,
                 data BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS head_device ON head(device_id, at);
             CREATE TABLE IF NOT EXISTS series_device(
                 series_id INTEGER NOT NULL,
                 device_id INTEGER NOT NULL,
                 PRIMARY KEY(series_id, device_id)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS chunks(
                 series_id INTEGER NOT NULL,
                 block INTEGER NOT NULL,
                 n INTEGER NOT NULL,
                 first_ts INTEGER NOT NULL,
                 last_ts INTEGER NOT NULL,
                 data BLOB NOT NULL,
                 PRIMARY KEY(series_id, block));
             CREATE TABLE IF NOT EXISTS rollups(
                 series_id INTEGER NOT NULL,
                 block INTEGER NOT NULL,
                 n INTEGER NOT NULL,
                 data BLOB NOT NULL,
                 PRIMARY KEY(series_id, block));
             CREATE TABLE IF NOT EXISTS device_status(
                 device TEXT PRIMARY KEY,
                 ts INTEGER NOT NULL,
                 up INTEGER NOT NULL,
                 poll_ms REAL NOT NULL,
                 error TEXT);
             CREATE TABLE IF NOT EXISTS outbox(
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 ts INTEGER NOT NULL,
                 points INTEGER NOT NULL,
                 bytes INTEGER NOT NULL,
                 lines TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sink_cursor(sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )
        .map_err(err)?;
        match version {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(err)?;
            }
            Some(v) if v < SCHEMA_VERSION => {
                // Versions 1 and 2 lacked the outbox (1) and the head and chunks (1, 2), created
                // above; their samples, one row each, move into chunks in one transaction.
                let tx = conn.unchecked_transaction().map_err(err)?;
                if has_table(&tx, "samples").map_err(err)? {
                    let moved = samples::migrate_rows(&tx).map_err(|e| fail(&p, e))?;
                    tx.execute_batch("DROP TABLE samples").map_err(err)?;
                    tracing::info!(samples = moved, path = %p, "moved samples into compressed chunks");
                }
                // The one full count of the outbox; from here on the totals move with it.
                tx.execute_batch(
                    "INSERT OR REPLACE INTO counters(name, value)
                         SELECT 'outbox_rows', COUNT(*) FROM outbox
                         UNION ALL SELECT 'outbox_points', COALESCE(SUM(points), 0) FROM outbox
                         UNION ALL SELECT 'outbox_bytes', COALESCE(SUM(bytes), 0) FROM outbox",
                )
                .map_err(err)?;
                tx.execute(
                    "UPDATE meta SET value=?1 WHERE key='schema_version'",
                    [SCHEMA_VERSION],
                )
                .map_err(err)?;
                tx.commit().map_err(err)?;
            }
            Some(_) => {}
        }
        Ok(SqliteStore {
            path: p,
            conn: Mutex::new(conn),
            known: Mutex::new(Known::default()),
            outbox_cap: Mutex::new(None),
            compacting: AtomicBool::new(false),
            catalogue: Mutex::new((0, Vec::new())),
        })
    }

    fn fail<E: Into<samples::Error>>(&self) -> impl Fn(E) -> StoreError + '_ {
        |e| fail(&self.path, e)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes polls in one transaction; returns how many samples were stored. A sample at a time
    /// its series already has (a wall clock that went back) is not stored, so nothing committed
    /// is ever overwritten; the caller sees the shortfall.
    pub fn write(&self, batches: &[Batch]) -> Result<usize, StoreError> {
        self.write_as(batches, false)
    }

    /// Makes room for `series` more series-and-field pairs in what the writer remembers, when
    /// the caller knows how many its first polls will bring (a collector starting).
    pub fn reserve_series(&self, series: usize) {
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reserve(series);
    }

    /// As [`SqliteStore::write`], but a sample replaces one stored at the same time: importing
    /// corrected history.
    pub fn write_replacing(&self, batches: &[Batch]) -> Result<usize, StoreError> {
        self.write_as(batches, true)
    }

    fn write_as(&self, batches: &[Batch], replace: bool) -> Result<usize, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let known = &mut *known;
        let tx = conn.transaction().map_err(self.err())?;
        let mut n = 0;
        // With a sink attached, each stored reading is queued for it as it is stored (and only
        // then: InfluxDB would let a repeat refused here overwrite the reading kept).
        let cap = *self.outbox_cap.lock().unwrap_or_else(|p| p.into_inner());
        let (mut lines, mut points, mut refused) = (String::new(), 0i64, Vec::new());
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO head(device_id, at, n, data) VALUES(?1, ?2, ?3, ?4)")
                .map_err(self.err())?;
            let mut status = tx
                .prepare_cached(
                    // An update in place: REPLACE would delete and re-insert the row and its
                    // key's index entry on every poll.
                    "INSERT INTO device_status(device, ts, up, poll_ms, error) VALUES(?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(device) DO UPDATE SET ts=excluded.ts, up=excluded.up, poll_ms=excluded.poll_ms, error=excluded.error",
                )
                .map_err(self.err())?;
            let mut row = Vec::with_capacity(512);
            // Imported readings by series, then time (a later one in the call wins).
            let mut imported: BTreeMap<i64, BTreeMap<Timestamp, f64>> = BTreeMap::new();
            for b in batches {
                let device = match known.devices.get(&*b.device) {
                    Some(id) => *id,
                    None => {
                        let id = device_id(&tx, &b.device).map_err(self.err())?;
                        known.devices.insert(b.device.to_string(), id);
                        id
                    }
                };
                row.clear();
                let mut count = 0i64;
                for s in &b.samples {
                    let i = match known.find(&s.series, s.field) {
                        Some(i) => i,
                        None => {
                            let (id, newest) =
                                new_series(&tx, &s.series, s.field, device).map_err(self.fail())?;
                            known.insert(&s.series, s.field, id, newest, device)
                        }
                    };
                    let st = known.state(i);
                    if !st.carried_by(device) {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO series_device(series_id, device_id) VALUES(?1, ?2)",
                        )
                        .and_then(|mut q| q.execute(params![st.id, device]))
                        .map_err(self.err())?;
                        st.set_device(device);
                    }
                    if replace {
                        imported.entry(st.id).or_default().insert(b.at, s.value);
                    } else if b.at <= st.newest
                        && samples::exists(&tx, st.id, b.at).map_err(self.fail())?
                    {
                        continue;
                    } else {
                        samples::put_entry(&mut row, st.id, s.value);
                    }
                    st.newest = st.newest.max(b.at);
                    count += 1;
                    if cap.is_some() {
                        match line_protocol::encode_line(&mut lines, s, b.at) {
                            Ok(()) => points += 1,
                            Err(e) => refused.push(e),
                        }
                    }
                }
                if !row.is_empty() {
                    insert
                        .execute(params![device, b.at, count, &row[..]])
                        .map_err(self.err())?;
                }
                n += count as usize;
                status
                    .execute(params![
                        &*b.device,
                        b.at,
                        b.poll.is_up(),
                        b.poll_ms,
                        b.poll.error()
                    ])
                    .map_err(self.err())?;
            }
            for (id, readings) in &imported {
                samples::overlay(&tx, *id, readings).map_err(self.fail())?;
            }
        }
        if let Some(cap) = cap {
            for e in refused.iter().take(3) {
                tracing::warn!(error = %e, "sample cannot be sent to InfluxDB");
            }
            if !lines.is_empty() {
                let now = batches.iter().map(|b| b.at).max().unwrap_or_default();
                tx.execute(
                    "INSERT INTO outbox(ts, points, bytes, lines) VALUES(?1, ?2, ?3, ?4)",
                    params![now, points, lines.len() as i64, lines],
                )
                .map_err(self.err())?;
                let added = Totals {
                    rows: 1,
                    points,
                    bytes: lines.len() as i64,
                };
                add_totals(&tx, added).map_err(self.err())?;
                enforce_cap(&tx, cap).map_err(self.err())?;
            }
        }
        tx.commit().map_err(self.err())?;
        Ok(n)
    }

    /// Every stored sample, across all series (for checks and benchmarks).
    pub fn count_samples(&self) -> Result<i64, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            "SELECT (SELECT COALESCE(SUM(n),0) FROM head) + (SELECT COALESCE(SUM(n),0) FROM chunks)",
            [],
            |r| r.get(0),
        )
        .map_err(self.err())
    }

    /// Turns the outbox on (writes from now on are queued for sinks), capped at `cap_bytes`.
    pub fn enable_outbox(&self, cap_bytes: u64) {
        *self.outbox_cap.lock().unwrap_or_else(|p| p.into_inner()) = Some(cap_bytes);
    }

    /// Registers a sink; a new sink starts at the beginning of what the outbox holds.
    pub fn sink_cursor(&self, sink: &str) -> Result<i64, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Rows after `seq`, oldest first, up to about `max_bytes` (always at least one row).
    pub fn outbox_after(&self, seq: i64, max_bytes: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, ts, points, lines FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT 1000",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([seq], |r| {
                Ok(OutboxRow {
                    seq: r.get(0)?,
                    ts: r.get(1)?,
                    points: r.get(2)?,
                    lines: r.get(3)?,
                })
            })
            .map_err(self.err())?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for row in rows {
            let row = row.map_err(self.err())?;
            bytes += row.lines.len();
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Records that `sink` has everything up to `seq`, and deletes rows every sink has.
    pub fn ack(&self, sink: &str, seq: i64) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
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
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Deletes samples older than `before`; returns how many.
    pub fn delete_before(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.in_tx(|tx| samples::delete_before(tx, before))
    }

    /// Deletes five-minute roll-up buckets older than `before`; returns how many.
    pub fn delete_rollups_before(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.in_tx(|tx| samples::delete_rollups_before(tx, before))
    }

    /// Runs `f` in one write transaction, committed if `f` succeeds.
    fn in_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, samples::Error>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction().map_err(self.err())?;
        let out = f(&tx).map_err(self.fail())?;
        tx.commit().map_err(self.err())?;
        Ok(out)
    }

    /// Moves every reading older than `before` from the head into compressed chunks, one
    /// device per transaction (so writers wait at most one device's worth); returns how many.
    /// A call while another is compacting returns 0 at once.
    pub fn compact(&self, before: Timestamp) -> Result<usize, StoreError> {
        if self.compacting.swap(true, Ordering::AcqRel) {
            return Ok(0);
        }
        let result = self.compact_all(before);
        self.compacting.store(false, Ordering::Release);
        result
    }

    fn compact_all(&self, before: Timestamp) -> Result<usize, StoreError> {
        let devices: Vec<i64> = {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = conn
                .prepare("SELECT id FROM devices ORDER BY id")
                .map_err(self.err())?;
            stmt.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
                .map_err(self.err())?
        };
        let mut moved = 0;
        for device in devices {
            // One device per transaction: writers wait at most one device's worth.
            moved += self.in_tx(|tx| samples::compact_device(tx, device, before))?;
        }
        Ok(moved)
    }

    /// On-disk bytes of the chunks and of the head (payload only), and the samples in each.
    pub fn footprint(&self) -> Result<Footprint, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let q = |sql| conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)));
        let (chunk_bytes, chunk_samples) =
            q("SELECT COALESCE(SUM(length(data)),0), COALESCE(SUM(n),0) FROM chunks")
                .map_err(self.err())?;
        let (head_bytes, head_samples) =
            q("SELECT COALESCE(SUM(length(data)),0), COALESCE(SUM(n),0) FROM head")
                .map_err(self.err())?;
        let (rollup_bytes, rollup_buckets) =
            q("SELECT COALESCE(SUM(length(data)),0), COALESCE(SUM(n),0) FROM rollups")
                .map_err(self.err())?;
        Ok(Footprint {
            chunk_bytes,
            chunk_samples,
            head_bytes,
            head_samples,
            rollup_bytes,
            rollup_buckets,
        })
    }

    /// Every device's last poll.
    pub fn device_status(&self) -> Result<Vec<DeviceStatus>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(
                "SELECT device, ts, up, poll_ms, error FROM device_status ORDER BY device",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DeviceStatus {
                    device: r.get(0)?,
                    ts: r.get(1)?,
                    up: r.get(2)?,
                    poll_ms: r.get(3)?,
                    error: r.get(4)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    fn id_of(&self, conn: &Connection, s: &SeriesRef) -> Result<Option<i64>, StoreError> {
        conn.prepare_cached("SELECT id FROM series WHERE key=?1 AND field=?2")
            .and_then(|mut q| {
                q.query_row(params![s.key, s.field.name()], |r| r.get(0))
                    .optional()
            })
            .map_err(self.err())
    }

    /// Runs `f` in one read transaction: under WAL a consistent snapshot, so a compaction cannot
    /// move readings between chunks and head halfway through a read.
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let run = |sql| {
            conn.prepare_cached(sql)
                .and_then(|mut q| q.execute([]))
                .map_err(self.err())
        };
        run("BEGIN")?;
        let result = f(&conn);
        run("COMMIT")?;
        result
    }
}

/// Every series with its measurement, in `find`'s order.
fn load_catalogue(conn: &Connection) -> rusqlite::Result<Vec<(String, SeriesRef)>> {
    let mut stmt = conn
        .prepare_cached("SELECT key, field, measurement, tags FROM series ORDER BY key, field")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, field, measurement, tags) = row?;
        let Some(field) = Field::from_name(&field) else {
            continue;
        };
        let tags: BTreeMap<String, String> = tags
            .split('\u{1f}')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        out.push((measurement, SeriesRef { key, field, tags }));
    }
    Ok(out)
}

/// Where the samples are and what they cost, for benchmarks and self-monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub chunk_bytes: i64,
    pub chunk_samples: i64,
    pub head_bytes: i64,
    pub head_samples: i64,
    pub rollup_bytes: i64,
    /// Five-minute buckets.
    pub rollup_buckets: i64,
}

fn fail(path: &str, e: impl Into<samples::Error>) -> StoreError {
    match e.into() {
        samples::Error::Sqlite(source) => StoreError::Sqlite {
            path: path.to_owned(),
            source,
        },
        e @ samples::Error::Chunk { .. } => StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type='table' AND name=?1",
        [name],
        |r| r.get(0),
    )
}

fn device_id(tx: &rusqlite::Transaction<'_>, name: &str) -> rusqlite::Result<i64> {
    tx.execute("INSERT OR IGNORE INTO devices(name) VALUES(?1)", [name])?;
    tx.query_row("SELECT id FROM devices WHERE name=?1", [name], |r| r.get(0))
}

/// A series this process has not written yet: its id, and its newest stored time.
fn new_series(
    tx: &rusqlite::Transaction<'_>,
    s: &Series,
    f: Field,
    device: i64,
) -> Result<(i64, Timestamp), samples::Error> {
    let id = series_id(tx, s, f)?;
    tx.execute(
        "INSERT OR IGNORE INTO series_device(series_id, device_id) VALUES(?1, ?2)",
        params![id, device],
    )?;
    let newest = samples::newest_ts(tx, id, i64::MAX)?.unwrap_or(i64::MIN);
    Ok((id, newest))
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
fn enforce_cap(tx: &rusqlite::Transaction<'_>, cap: u64) -> rusqlite::Result<()> {
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

fn series_id(tx: &rusqlite::Transaction<'_>, s: &Series, f: Field) -> rusqlite::Result<i64> {
    let tags: Vec<String> = s.tags().map(|(k, v)| format!("{k}={v}")).collect();
    let key = s.key();
    tx.execute(
        "INSERT OR IGNORE INTO series(key, field, measurement, tags) VALUES(?1, ?2, ?3, ?4)",
        params![key, f.name(), s.measurement.name(), tags.join("\u{1f}")],
    )?;
    tx.query_row(
        "SELECT id FROM series WHERE key=?1 AND field=?2",
        params![key, f.name()],
        |r| r.get(0),
    )
}

impl ReadStore for SqliteStore {
    fn find(&self, selector: &Selector) -> Result<Vec<SeriesRef>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        // Series are only ever added: the newest id tells whether the parsed list is current.
        let newest: i64 = conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM series", [], |r| r.get(0))
            .map_err(self.err())?;
        let mut catalogue = self.catalogue.lock().unwrap_or_else(|p| p.into_inner());
        if catalogue.0 != newest {
            *catalogue = (newest, load_catalogue(&conn).map_err(self.err())?);
        }
        Ok(catalogue
            .1
            .iter()
            .filter(|(m, s)| {
                selector.measurement.is_none_or(|want| want.name() == m) && selector.matches(s)
            })
            .map(|(_, s)| s.clone())
            .collect())
    }

    fn read(
        &self,
        series: &SeriesRef,
        range: TimeRange,
        window: Option<Window>,
    ) -> Result<Vec<Point>, StoreError> {
        self.snapshot(|conn| {
            let Some(id) = self.id_of(conn, series)? else {
                return Ok(Vec::new());
            };
            let Some(w) = window else {
                return samples::read(conn, id, range).map_err(self.fail());
            };
            // Where retention took the raw readings, whole windows come from the roll-ups.
            let raw_from = samples::raw_from(conn).map_err(self.fail())?;
            let every = w.every_ms.max(1);
            let split = if range.from < raw_from && rollup::serves(w) {
                samples::ceil_to(raw_from, every).clamp(range.from, range.to)
            } else {
                range.from
            };
            let mut out = if split > range.from {
                let b = samples::read_rollups(conn, id, range.from, split).map_err(self.fail())?;
                rollup::aggregate(&b, w)
            } else {
                Vec::new()
            };
            let raw = TimeRange {
                from: split,
                to: range.to,
            };
            let points = samples::read(conn, id, raw).map_err(self.fail())?;
            out.extend(samples::aggregate(&points, w));
            Ok(out)
        })
    }

    fn latest(&self, series: &SeriesRef, at: Timestamp) -> Result<Option<Point>, StoreError> {
        self.snapshot(|conn| {
            let Some(id) = self.id_of(conn, series)? else {
                return Ok(None);
            };
            let Some(ts) = samples::newest_ts(conn, id, at).map_err(self.fail())? else {
                return Ok(None);
            };
            let range = TimeRange {
                from: ts,
                to: ts.saturating_add(1),
            };
            Ok(samples::read(conn, id, range).map_err(self.fail())?.pop())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregate;
    use kilowatch_core::model::{Measurement, PollStatus, Sample};
    use std::sync::Arc;

    fn batch(series: &Arc<Series>, at: i64, v: f64) -> Batch {
        Batch {
            device: Arc::from("pdu-1"),
            at,
            samples: vec![Sample {
                series: series.clone(),
                field: Field::ActivePowerW,
                value: v,
            }],
            poll: PollStatus::Ok,
            poll_ms: 1.0,
        }
    }

    #[test]
    fn write_then_read_back_range_and_windows() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
        let s = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "pdu-1".into()), ("site", "hk".into())],
        ));
        let batches: Vec<Batch> = (0..10).map(|i| batch(&s, i * 1000, i as f64)).collect();
        assert_eq!(store.write(&batches).unwrap(), 10);

        let found = store
            .find(&Selector::field(Field::ActivePowerW).tag("site", "hk"))
            .unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            store
                .find(&Selector::field(Field::ActivePowerW).tag("site", "other"))
                .unwrap()
                .is_empty()
        );
        let pts = store
            .read(
                &found[0],
                TimeRange {
                    from: 2000,
                    to: 5000,
                },
                None,
            )
            .unwrap();
        assert_eq!(
            pts.iter().map(|p| p.value).collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0]
        );

        // 5 s windows: mean of 0..4 = 2, of 5..9 = 7; last = 4 and 9.
        let w = store
            .read(
                &found[0],
                TimeRange {
                    from: 0,
                    to: 10_000,
                },
                Some(Window {
                    every_ms: 5000,
                    aggregate: Aggregate::Mean,
                }),
            )
            .unwrap();
        assert_eq!(
            w,
            vec![
                Point { ts: 0, value: 2.0 },
                Point {
                    ts: 5000,
                    value: 7.0
                }
            ]
        );
        let w = store
            .read(
                &found[0],
                TimeRange {
                    from: 0,
                    to: 10_000,
                },
                Some(Window {
                    every_ms: 5000,
                    aggregate: Aggregate::Last,
                }),
            )
            .unwrap();
        assert_eq!(
            w,
            vec![
                Point { ts: 0, value: 4.0 },
                Point {
                    ts: 5000,
                    value: 9.0
                }
            ]
        );
        assert_eq!(
            store.latest(&found[0], 6500).unwrap(),
            Some(Point {
                ts: 6000,
                value: 6.0
            })
        );
    }

    #[test]
    fn data_survives_reopen_and_retention_deletes_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kw.db");
        let s = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "pdu-1".into())],
        ));
        {
            let store = SqliteStore::open(&path).unwrap();
            store
                .write(&[batch(&s, 1000, 1.0), batch(&s, 2000, 2.0)])
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let found = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
        assert_eq!(
            store
                .read(
                    &found[0],
                    TimeRange {
                        from: 0,
                        to: i64::MAX
                    },
                    None
                )
                .unwrap()
                .len(),
            2
        );
        assert_eq!(store.delete_before(1500).unwrap(), 1);
        assert_eq!(
            store
                .read(
                    &found[0],
                    TimeRange {
                        from: 0,
                        to: i64::MAX
                    },
                    None
                )
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.device_status().unwrap()[0].device, "pdu-1");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kw.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE meta SET value=99 WHERE key='schema_version'", [])
            .unwrap();
        drop(conn);
        let e = SqliteStore::open(&path).unwrap_err();
        assert!(e.to_string().contains("schema version 99"), "{e}");
    }

    /// A version-2 file (one row per sample) is upgraded in place: its readings move into chunks
    /// and read back the same.
    #[test]
    fn a_version_2_store_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kw.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT INTO meta VALUES('schema_version', 2);
                 CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT NOT NULL, field TEXT NOT NULL,
                     measurement TEXT NOT NULL, tags TEXT NOT NULL, UNIQUE(key, field));
                 INSERT INTO series VALUES(1, 'power,device=m', 'active_power_w', 'power', 'device=m');
                 CREATE TABLE samples(series_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                     value REAL NOT NULL, PRIMARY KEY(series_id, ts)) WITHOUT ROWID;",
            )
            .unwrap();
            for i in 0..3000i64 {
                conn.execute(
                    "INSERT INTO samples VALUES(1, ?1, ?2)",
                    params![i * 10_000, i as f64 * 0.5],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let found = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
        let pts = store
            .read(
                &found[0],
                TimeRange {
                    from: 0,
                    to: i64::MAX,
                },
                None,
            )
            .unwrap();
        assert_eq!(pts.len(), 3000);
        assert!(
            pts.iter()
                .enumerate()
                .all(|(i, p)| p.ts == i as i64 * 10_000 && p.value == i as f64 * 0.5)
        );
        let f = store.footprint().unwrap();
        assert_eq!((f.chunk_samples, f.head_samples), (3000, 0));
        assert!(f.rollup_buckets > 0);
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name='samples'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the old table is gone");
    }

    /// Raw readings go after their retention, five-minute roll-ups after theirs; in between,
    /// windowed reads of multiples of five minutes still give the same means and extremes.
    #[test]
    fn windows_beyond_raw_retention_come_from_roll_ups() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
        let s = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "ups-1".into())],
        ));
        let t0 = 1_767_225_600_000; // a block boundary (2026-01-01T00:00Z)
        let hour = 3_600_000;
        // Six hours every 10 s: a load in tenths of a kW swinging over the day.
        let polls: Vec<Batch> = (0..2160i64)
            .map(|i| batch(&s, t0 + i * 10_000, (300 + (i * 13) % 170) as f64 * 0.1))
            .collect();
        store.write(&polls).unwrap();
        store.compact(i64::MAX).unwrap();
        let found = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
        let all = TimeRange {
            from: t0,
            to: t0 + 6 * hour,
        };
        let window = |every_ms, aggregate| {
            Some(Window {
                every_ms,
                aggregate,
            })
        };
        let read = |w| store.read(&found[0], all, w).unwrap();
        let quarter = 900_000;
        let means = read(window(quarter, Aggregate::Mean));
        let maxes = read(window(quarter, Aggregate::Max));
        assert_eq!(means.len(), 24);

        assert_eq!(store.delete_before(t0 + 4 * hour).unwrap(), 1440);
        let raw = |from, to| store.read(&found[0], TimeRange { from, to }, None).unwrap();
        assert!(raw(t0, t0 + 4 * hour).is_empty(), "raw readings are gone");
        assert_eq!(raw(t0 + 4 * hour, t0 + 6 * hour).len(), 720);
        let close = |a: &[Point], b: &[Point]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.ts == y.ts && (x.value - y.value).abs() < 1e-9)
        };
        assert!(close(&read(window(quarter, Aggregate::Mean)), &means));
        assert!(close(&read(window(quarter, Aggregate::Max)), &maxes));
        // A window that is not a multiple of five minutes cannot be served from roll-ups.
        let odd = read(window(420_000, Aggregate::Mean));
        assert!(
            odd.iter().all(|p| p.ts >= t0 + 4 * hour - 420_000),
            "{:?}",
            odd.first()
        );

        // Roll-up retention: two hours of buckets go (24 of them).
        assert_eq!(store.delete_rollups_before(t0 + 2 * hour).unwrap(), 24);
        let left = read(window(quarter, Aggregate::Mean));
        assert_eq!(left.first().map(|p| p.ts), Some(t0 + 2 * hour));
        assert!(close(&left, &means[8..]));
    }

    /// A wall clock that went back stamps a reading with a time already stored: the stored
    /// reading stays (and the write says one fewer was stored); an import may correct it.
    #[test]
    fn a_repeated_timestamp_never_overwrites_a_stored_reading() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
        let series = Arc::new(Series::new(
            Measurement::Power,
            vec![("site", "hk1".into()), ("device", "m".into())],
        ));
        let at = |v: f64| Batch {
            device: "m".into(),
            at: 1_000,
            samples: vec![Sample {
                series: series.clone(),
                field: Field::ActivePowerW,
                value: v,
            }],
            poll: PollStatus::Ok,
            poll_ms: 1.0,
        };
        assert_eq!(store.write(&[at(10.0)]).unwrap(), 1);
        assert_eq!(store.write(&[at(99.0)]).unwrap(), 0, "not stored");
        let found = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
        let read = |s: &SqliteStore| {
            s.read(&found[0], TimeRange { from: 0, to: 2_000 }, None)
                .unwrap()
        };
        assert_eq!(read(&store)[0].value, 10.0);
        assert_eq!(store.write_replacing(&[at(12.5)]).unwrap(), 1);
        assert_eq!(read(&store)[0].value, 12.5);
    }

    /// What waits for `sink`, counted the plain way: every row after its cursor.
    fn recount(path: &Path, sink: &str) -> OutboxStats {
        let conn = Connection::open(path).unwrap();
        let cursor: i64 = conn
            .query_row("SELECT seq FROM sink_cursor WHERE sink=?1", [sink], |r| {
                r.get(0)
            })
            .unwrap();
        let (rows, points, bytes) = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(LENGTH(lines)), 0)
                 FROM outbox WHERE seq > ?1",
                [cursor],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let oldest_unsent = conn
            .query_row(
                "SELECT ts FROM outbox WHERE seq = (SELECT MIN(seq) FROM outbox WHERE seq > ?1)",
                [cursor],
                |r| r.get(0),
            )
            .optional()
            .unwrap();
        let dropped_points = conn
            .query_row("SELECT value FROM counters WHERE name='dropped'", [], |r| {
                r.get(0)
            })
            .optional()
            .unwrap()
            .unwrap_or(0);
        OutboxStats {
            rows,
            points,
            bytes,
            oldest_unsent,
            dropped_points,
        }
    }

    /// The outbox's gauges are kept as rows come and go rather than summed over the outbox;
    /// through writes, drops at the cap, acks by two sinks at different places and a reopen
    /// they still equal a plain count of the rows.
    #[test]
    fn outbox_gauges_equal_a_recount_through_writes_drops_acks_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kw.db");
        let s = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "pdu-1".into()), ("site", "hk".into())],
        ));
        let check = |store: &SqliteStore, when: &str| {
            for sink in ["a", "b"] {
                assert_eq!(
                    store.outbox_stats(sink).unwrap(),
                    recount(&path, sink),
                    "sink {sink} {when}"
                );
            }
        };
        let store = SqliteStore::open(&path).unwrap();
        store.enable_outbox(2_000);
        assert_eq!(
            (
                store.sink_cursor("a").unwrap(),
                store.sink_cursor("b").unwrap()
            ),
            (0, 0)
        );
        check(&store, "before any write");
        for i in 0..60 {
            store.write(&[batch(&s, i * 1000, i as f64)]).unwrap();
        }
        let full = store.outbox_stats("a").unwrap();
        assert!(full.dropped_points > 0, "the 2 kB cap dropped nothing");
        assert!(full.bytes <= 2_000, "{full:?}");
        check(&store, "after drops at the cap");

        let rows = store.outbox_after(0, usize::MAX).unwrap();
        store.ack("a", rows[rows.len() / 2].seq).unwrap();
        check(&store, "after a acked half");
        store.ack("b", rows[3].seq).unwrap();
        check(&store, "after b acked a few");
        drop(store);

        let store = SqliteStore::open(&path).unwrap();
        store.enable_outbox(2_000);
        check(&store, "after reopening");
        for i in 60..70 {
            store.write(&[batch(&s, i * 1000, i as f64)]).unwrap();
        }
        check(&store, "after more writes");
        let last = store
            .outbox_after(0, usize::MAX)
            .unwrap()
            .last()
            .unwrap()
            .seq;
        store.ack("a", last).unwrap();
        store.ack("b", last).unwrap();
        check(&store, "after both acked everything");
        assert_eq!(store.outbox_stats("a").unwrap().rows, 0);
    }

    /// A version-3 file has an outbox but no totals: opening it counts the outbox once.
    #[test]
    fn a_version_3_outbox_gets_its_totals_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kw.db");
        let s = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "pdu-1".into())],
        ));
        {
            let store = SqliteStore::open(&path).unwrap();
            store.enable_outbox(1 << 20);
            store.sink_cursor("a").unwrap();
            for i in 0..25 {
                store.write(&[batch(&s, i * 1000, i as f64)]).unwrap();
            }
        }
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DELETE FROM counters WHERE name LIKE 'outbox_%';
             UPDATE meta SET value=3 WHERE key='schema_version';",
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        let stats = store.outbox_stats("a").unwrap();
        assert_eq!(stats, recount(&path, "a"));
        assert_eq!(stats.rows, 25);
    }

    /// A reading the store refuses (its series already has that time: a clock that went back)
    /// is not queued for InfluxDB either, where it would overwrite the one the store kept.
    #[test]
    fn a_refused_repeat_is_not_queued_for_influxdb() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
        store.enable_outbox(1 << 20);
        store.sink_cursor("a").unwrap();
        let s = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "pdu-1".into())],
        ));
        let t = Arc::new(Series::new(
            Measurement::Power,
            vec![("device", "pdu-2".into())],
        ));
        assert_eq!(store.write(&[batch(&s, 5_000, 1.0)]).unwrap(), 1);
        // The clock went back: pdu-1's reading at 5 s is refused, pdu-2's (new) is stored.
        let mut second = batch(&s, 5_000, 2.0);
        second.samples.push(Sample {
            series: t.clone(),
            field: Field::ActivePowerW,
            value: 3.0,
        });
        assert_eq!(store.write(&[second]).unwrap(), 1);
        let queued: String = store
            .outbox_after(0, usize::MAX)
            .unwrap()
            .iter()
            .map(|r| r.lines.as_str())
            .collect();
        let lines: Vec<&str> = queued.lines().collect();
        assert_eq!(lines.len(), 2, "{queued}");
        assert!(
            lines[0].contains("device=pdu-1") && lines[0].contains("=1.0 "),
            "{queued}"
        );
        assert!(
            lines[1].contains("device=pdu-2") && lines[1].contains("=3.0 "),
            "{queued}"
        );
        assert_eq!(store.outbox_stats("a").unwrap().points, 2);
    }
}
