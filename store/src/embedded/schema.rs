//! The embedded store's tables, and upgrading older files in place.
//!
//! Version 2 added the outbox tables; version 3 moved samples from one row each into the head
//! and chunks; version 4 keeps the outbox's totals in `counters`; version 5 keeps the outbox in
//! the store's own encoding (`outbox.data`: readings by series id) instead of InfluxDB line
//! protocol, which rows written before it still hold as text; version 6 keeps chunks' times apart,
//! once for all the chunks of a block that have the same (`times`, `chunks.times_id`), and the
//! chunks written before it keep theirs inline; version 7 keys chunks and roll-ups by one row id
//! (series and block, [`crate::rowkey`]) instead of a two-column primary key and its index, with
//! no first and last times (a chunk's block bounds them), keeps the series catalogue as keys and
//! fields (`series_keys`, `series_fields`, read through the view `series`), and
//! counts the chunks naming each `times` row (`refs`) instead of indexing `chunks.times_id`. A
//! file from a newer kilowatch is refused before anything here writes to it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;
use crate::samples;

pub(super) const SCHEMA_VERSION: i64 = 7;

const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS series_keys(
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        measurement TEXT NOT NULL,
        tags TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS series_fields(
        id INTEGER PRIMARY KEY,
        key_id INTEGER NOT NULL,
        field TEXT NOT NULL,
        UNIQUE(key_id, field));
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
        id INTEGER PRIMARY KEY,
        n INTEGER NOT NULL,
        times_id INTEGER,
        data BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS times(
        id INTEGER PRIMARY KEY,
        block INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        refs INTEGER NOT NULL,
        data BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS times_key ON times(block, hash);
    CREATE TABLE IF NOT EXISTS rollups(
        id INTEGER PRIMARY KEY,
        n INTEGER NOT NULL,
        data BLOB NOT NULL);
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
        data NOT NULL);
    CREATE TABLE IF NOT EXISTS sink_cursor(sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/// The series catalogue as one relation: a series is a key (measurement and tags, kept once for
/// all the fields of a device) and a field. Before version 7 it was a table holding the key and
/// tags again in every field's row (a quarter of a day's file of a small site).
const SERIES_VIEW: &str = "
    CREATE VIEW IF NOT EXISTS series AS
        SELECT f.id AS id, k.key AS key, f.field AS field, k.measurement AS measurement, k.tags AS tags
        FROM series_fields f JOIN series_keys k ON k.id = f.key_id;";

/// Versions before 7 kept the catalogue in one table `series`: split, ids kept.
const SPLIT_SERIES: &str = "
    INSERT INTO series_keys(key, measurement, tags)
        SELECT key, MIN(measurement), MIN(tags) FROM series GROUP BY key;
    INSERT INTO series_fields(id, key_id, field)
        SELECT s.id, k.id, s.field FROM series s JOIN series_keys k ON k.key = s.key;
    DROP TABLE series;";

/// Opens (creating or upgrading) the file at `path`; `p` names it in errors.
pub(super) fn open(path: &Path, p: &str) -> Result<Connection, StoreError> {
    let err = |source| StoreError::Sqlite {
        path: p.to_owned(),
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
            path: p.to_owned(),
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
         PRAGMA wal_autocheckpoint=16384;",
    )
    .map_err(err)?;
    conn.execute_batch(TABLES).map_err(err)?;
    // A file from before version 7 has the table `series` instead: the view waits for the upgrade.
    conn.execute_batch(SERIES_VIEW).map_err(err)?;
    // Alerting's tables are new in this version's files and older ones alike (they only add).
    conn.execute_batch(super::alerts::TABLES).map_err(err)?;
    match version {
        None => {
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?1)",
                [SCHEMA_VERSION],
            )
            .map_err(err)?;
        }
        Some(v) if v < SCHEMA_VERSION => upgrade(&conn, v, p)?,
        Some(_) => {}
    }
    Ok(conn)
}

/// Versions 3 to 6 to 7: chunks keyed by one row id (`rowkey::id`: the series in
/// the high 32 bits, the block's number offset by 2³¹ in the low), and `times.refs` counted.
const REKEY: &str = "
    ALTER TABLE chunks RENAME TO chunks_v6;
    CREATE TABLE chunks(
        id INTEGER PRIMARY KEY,
        n INTEGER NOT NULL,
        times_id INTEGER,
        data BLOB NOT NULL);
    INSERT INTO chunks(id, n, times_id, data)
        SELECT (series_id << 32) | (block / 7200000 + 2147483648), n, times_id, data
        FROM chunks_v6;
    DROP TABLE chunks_v6;";

/// The same for roll-ups.
const REKEY_ROLLUPS: &str = "
    ALTER TABLE rollups RENAME TO rollups_v6;
    CREATE TABLE rollups(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);
    INSERT INTO rollups(id, n, data)
        SELECT (series_id << 32) | (block / 7200000 + 2147483648), n, data FROM rollups_v6;
    DROP TABLE rollups_v6;";

/// How many chunks name each `times` row; rows none names go.
const COUNT_REFS: &str = "
    CREATE TEMP TABLE times_refs(id INTEGER PRIMARY KEY, refs INTEGER NOT NULL);
    INSERT INTO times_refs SELECT times_id, COUNT(*) FROM chunks WHERE times_id IS NOT NULL GROUP BY times_id;
    UPDATE times SET refs = COALESCE((SELECT refs FROM times_refs r WHERE r.id = times.id), 0);
    DELETE FROM times WHERE refs = 0;
    DROP TABLE times_refs;";

/// Brings a file of version `from` up to [`SCHEMA_VERSION`] in one transaction.
fn upgrade(conn: &Connection, from: i64, p: &str) -> Result<(), StoreError> {
    let err = |source| StoreError::Sqlite {
        path: p.to_owned(),
        source,
    };
    let tx = conn.unchecked_transaction().map_err(err)?;
    // Chunks from before version 6 keep their times inline.
    if !has_column(&tx, "chunks", "times_id").map_err(err)? {
        tx.execute_batch("ALTER TABLE chunks ADD COLUMN times_id INTEGER")
            .map_err(err)?;
    }
    if has_table(&tx, "series").map_err(err)? {
        tx.execute_batch(SPLIT_SERIES).map_err(err)?;
        tx.execute_batch(SERIES_VIEW).map_err(err)?;
    }
    if has_column(&tx, "chunks", "series_id").map_err(err)? {
        tx.execute_batch(REKEY).map_err(err)?;
    }
    if has_column(&tx, "rollups", "series_id").map_err(err)? {
        tx.execute_batch(REKEY_ROLLUPS).map_err(err)?;
    }
    if !has_column(&tx, "times", "refs").map_err(err)? {
        tx.execute_batch("ALTER TABLE times ADD COLUMN refs INTEGER NOT NULL DEFAULT 0; ")
            .map_err(err)?;
        tx.execute_batch(COUNT_REFS).map_err(err)?;
    }
    // Versions 1 and 2 lacked the outbox (1) and the head and chunks (1, 2), created by now;
    // their samples, one row each, move into chunks.
    if has_table(&tx, "samples").map_err(err)? {
        let moved = samples::migrate_rows(&tx).map_err(|e| super::fail(p, e))?;
        tx.execute_batch("DROP TABLE samples").map_err(err)?;
        tracing::info!(samples = moved, path = %p, "moved samples into compressed chunks");
    }
    // Rows queued before version 5 keep their line protocol, under the new column's name.
    if has_column(&tx, "outbox", "lines").map_err(err)? {
        tx.execute_batch("ALTER TABLE outbox RENAME COLUMN lines TO data")
            .map_err(err)?;
    }
    if from < 4 {
        // The one full count of the outbox; from here on the totals move with it.
        tx.execute_batch(
            "INSERT OR REPLACE INTO counters(name, value)
                 SELECT 'outbox_rows', COUNT(*) FROM outbox
                 UNION ALL SELECT 'outbox_points', COALESCE(SUM(points), 0) FROM outbox
                 UNION ALL SELECT 'outbox_bytes', COALESCE(SUM(bytes), 0) FROM outbox",
        )
        .map_err(err)?;
    }
    tx.execute(
        "UPDATE meta SET value=?1 WHERE key='schema_version'",
        [SCHEMA_VERSION],
    )
    .map_err(err)?;
    tx.commit().map_err(err)
}

pub(super) fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type='table' AND name=?1",
        [name],
        |r| r.get(0),
    )
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name=?2",
        [table, column],
        |r| r.get(0),
    )
}
