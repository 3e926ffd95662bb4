//! The write path: polls into head rows (one row per poll, `samples::put_entry` pairs of series
//! id and value), the series and devices they name, each device's last status, and, with a sink
//! attached, the same readings into the outbox — all in one transaction per call.
//!
//! Invariants: a sample at a time its series already has (a wall clock that went back) is not
//! stored, so nothing committed is ever overwritten, and it is not queued for sinks either
//! (InfluxDB would let it overwrite the reading kept). Importing corrected history
//! ([`SqliteStore::write_replacing`]) is the one path that replaces a stored reading.

use std::collections::BTreeMap;

use kilowatch_core::model::{Batch, Field, Series, Timestamp};
use rusqlite::params;

use super::{SqliteStore, outbox, status};
use crate::StoreError;
use crate::samples;

impl SqliteStore {
    /// Writes polls in one transaction; returns how many samples were stored. A sample at a time
    /// its series already has (a wall clock that went back) is not stored, so nothing committed
    /// is ever overwritten; the caller sees the shortfall.
    pub fn write(&self, batches: &[Batch]) -> Result<usize, StoreError> {
        self.write_as(batches, false)
    }

    /// As [`SqliteStore::write`], but a sample replaces one stored at the same time: importing
    /// corrected history.
    pub fn write_replacing(&self, batches: &[Batch]) -> Result<usize, StoreError> {
        self.write_as(batches, true)
    }

    fn write_as(&self, batches: &[Batch], replace: bool) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let known = &mut *known;
        let tx = conn.transaction().map_err(self.err())?;
        let mut n = 0;
        // With a sink attached, each stored reading is queued for it as it is stored (and only
        // then), in the head's own encoding.
        let cap = *self.outbox_cap.lock().unwrap_or_else(|p| p.into_inner());
        let mut queued = outbox::Encoder::default();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO head(device_id, at, n, data) VALUES(?1, ?2, ?3, ?4)")
                .map_err(self.err())?;
            let mut status = status::upsert(&tx).map_err(self.err())?;
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
                    }
                    // The row is the head's; on import it is only the outbox's.
                    if !replace || cap.is_some() {
                        samples::put_entry(&mut row, st.id, s.value);
                    }
                    st.newest = st.newest.max(b.at);
                    count += 1;
                }
                if !replace && !row.is_empty() {
                    insert
                        .execute(params![device, b.at, count, &row[..]])
                        .map_err(self.err())?;
                }
                if cap.is_some() {
                    queued.poll(b.at, count, &row);
                }
                n += count as usize;
                status::put(&mut status, b).map_err(self.err())?;
            }
            for (id, readings) in &imported {
                samples::overlay(&tx, *id, readings).map_err(self.fail())?;
            }
        }
        if let Some(cap) = cap {
            let now = batches.iter().map(|b| b.at).max().unwrap_or_default();
            outbox::append(&tx, now, queued, cap).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())?;
        Ok(n)
    }
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

fn series_id(tx: &rusqlite::Transaction<'_>, s: &Series, f: Field) -> rusqlite::Result<i64> {
    let tags: Vec<String> = s.tags().map(|(k, v)| format!("{k}={v}")).collect();
    let key = s.key();
    tx.execute(
        "INSERT OR IGNORE INTO series_keys(key, measurement, tags) VALUES(?1, ?2, ?3)",
        params![key, s.measurement.name(), tags.join("\u{1f}")],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO series_fields(key_id, field) SELECT id, ?2 FROM series_keys WHERE key=?1",
        params![key, f.name()],
    )?;
    tx.query_row(
        "SELECT id FROM series WHERE key=?1 AND field=?2",
        params![key, f.name()],
        |r| r.get(0),
    )
}
