//! The embedded store: one SQLite file (bundled SQLite, nothing to install). [`SqliteStore`] is
//! a façade over one connection; each concern lives in its own module with its invariants:
//!
//! - [`schema`]: the tables, and upgrading older files in place (a newer file is refused).
//! - [`head`]: the write path. A batch of polls is one transaction: either all of it is durable
//!   or none. Only retention deletes samples; a live write never overwrites a stored one.
//! - [`crate::samples`] and [`crate::chunk`]: samples live in the head (one row per poll) until
//!   their two-hour block closes, then in compressed per-series chunks with five-minute roll-ups.
//! - [`outbox`]: the durable queue for remote sinks, filled in the same transaction as the head.
//! - [`status`]: each device's last poll.
//! - [`upkeep`]: compaction (one transaction per device: a reading is always in the head or in a
//!   chunk), retention and footprint.
//! - [`read`]: [`ReadStore`](crate::ReadStore) over the head, chunks and roll-ups.
//!
//! WAL with `synchronous=NORMAL`: a committed transaction survives a process crash; the last
//! transactions may be lost on power failure, never corrupted.

mod alerts;
mod head;
mod outbox;
mod read;
mod schema;
mod status;
mod upkeep;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use rusqlite::Connection;

use crate::StoreError;
use crate::known::Known;
use crate::samples;

pub use alerts::{AlertChanges, AlertEvent, AlertRow, QueuedNote, StateOp, TrapRow};
pub use outbox::{OutboxRow, OutboxStats, Payload, Reading, SeriesName, StoredSeries};
pub use upkeep::Footprint;

#[derive(Debug)]
pub struct SqliteStore {
    path: String,
    conn: Mutex<Connection>,
    known: Mutex<Known>,
    /// `Some(cap in bytes)` once a sink is attached: writes then also fill the outbox.
    outbox_cap: Mutex<Option<u64>>,
    compacting: AtomicBool,
    /// Every series, parsed, as of the newest series id (for `find`).
    catalogue: Mutex<(i64, Vec<(String, crate::SeriesRef)>)>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let p = path.display().to_string();
        let conn = schema::open(path, &p)?;
        Ok(SqliteStore {
            path: p,
            conn: Mutex::new(conn),
            known: Mutex::new(Known::default()),
            outbox_cap: Mutex::new(None),
            compacting: AtomicBool::new(false),
            catalogue: Mutex::new((0, Vec::new())),
        })
    }

    /// Makes room for `series` more series-and-field pairs in what the writer remembers, when
    /// the caller knows how many its first polls will bring (a collector starting).
    pub fn reserve_series(&self, series: usize) {
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reserve(series);
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Runs `f` in one write transaction, committed if `f` succeeds.
    fn in_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, samples::Error>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(self.err())?;
        let out = f(&tx).map_err(self.fail())?;
        tx.commit().map_err(self.err())?;
        Ok(out)
    }
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
        e @ samples::Error::Time(_) => StoreError::OutOfRange {
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}
