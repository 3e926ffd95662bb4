//! Reading the embedded store: [`ReadStore`] over the head, chunks and roll-ups, and the series
//! catalogue `find` filters.
//!
//! Invariants: a read runs in one read transaction (under WAL a consistent snapshot, so a
//! compaction cannot move readings between chunks and head halfway through it); windowed reads
//! of times whose raw readings retention took come from the five-minute roll-ups.

use std::collections::BTreeMap;

use kilowatch_core::model::{Field, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::{Point, ReadStore, Selector, SeriesRef, StoreError, TimeRange, Window};
use crate::{rollup, samples};

impl SqliteStore {
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
        let conn = self.conn();
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

impl ReadStore for SqliteStore {
    fn find(&self, selector: &Selector) -> Result<Vec<SeriesRef>, StoreError> {
        let conn = self.conn();
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
