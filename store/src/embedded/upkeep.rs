//! Upkeep of the embedded store: compaction of closed blocks from the head into chunks and
//! roll-ups, retention of raw readings and of roll-ups, and what the samples cost on disk.
//!
//! Invariants: compaction is one transaction per device (writers wait at most one device's
//! worth), so a reading is always in the head or in a chunk; only retention deletes samples.
//! When upkeep runs is the writer's business ([`crate::writer`]).

use std::sync::atomic::Ordering;

use kilowatch_core::model::Timestamp;

use super::SqliteStore;
use crate::StoreError;
use crate::samples;

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
    /// The outbox's payload, when a sink is or was attached.
    pub outbox_bytes: i64,
}

impl SqliteStore {
    /// Every stored sample, across all series (for checks and benchmarks).
    pub fn count_samples(&self) -> Result<i64, StoreError> {
        self.conn()
            .query_row(
                "SELECT (SELECT COALESCE(SUM(n),0) FROM head) + (SELECT COALESCE(SUM(n),0) FROM chunks)",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    /// Deletes samples older than `before`; returns how many.
    pub fn delete_before(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.in_tx(|tx| samples::delete_before(tx, before))
    }

    /// Deletes five-minute roll-up buckets older than `before`; returns how many.
    pub fn delete_rollups_before(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.in_tx(|tx| samples::delete_rollups_before(tx, before))
    }

    /// Moves every reading older than `before` from the head into compressed chunks, one
    /// device per transaction; returns how many. A call while another is compacting returns 0
    /// at once.
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
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT id FROM devices ORDER BY id")
                .map_err(self.err())?;
            stmt.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
                .map_err(self.err())?
        };
        let mut moved = 0;
        for device in devices {
            moved += self.in_tx(|tx| samples::compact_device(tx, device, before))?;
        }
        Ok(moved)
    }

    /// On-disk bytes of the chunks, the head and the outbox (payload only), and the samples in
    /// each.
    pub fn footprint(&self) -> Result<Footprint, StoreError> {
        let conn = self.conn();
        let q = |sql| conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)));
        let (chunk_bytes, chunk_samples) =
            // Times kept apart are part of the chunks.
            q("SELECT COALESCE(SUM(length(data)),0) + (SELECT COALESCE(SUM(length(data)),0) FROM times), COALESCE(SUM(n),0) FROM chunks")
                .map_err(self.err())?;
        let (head_bytes, head_samples) =
            q("SELECT COALESCE(SUM(length(data)),0), COALESCE(SUM(n),0) FROM head")
                .map_err(self.err())?;
        let (rollup_bytes, rollup_buckets) =
            q("SELECT COALESCE(SUM(length(data)),0), COALESCE(SUM(n),0) FROM rollups")
                .map_err(self.err())?;
        let outbox_bytes = conn
            .query_row("SELECT COALESCE(SUM(bytes),0) FROM outbox", [], |r| {
                r.get(0)
            })
            .map_err(self.err())?;
        Ok(Footprint {
            chunk_bytes,
            chunk_samples,
            head_bytes,
            head_samples,
            rollup_bytes,
            rollup_buckets,
            outbox_bytes,
        })
    }
}
