//! Each device's last poll, as the collector reported it: one row per device, updated in place
//! by every write that carries a poll of it.

use kilowatch_core::model::Batch;
use rusqlite::{CachedStatement, Connection, params};

use super::SqliteStore;
use crate::{DeviceStatus, StatusStore, StoreError};

/// The statement [`put`] runs: an update in place, as REPLACE would delete and re-insert the
/// row and its key's index entry on every poll.
pub(super) fn upsert(conn: &Connection) -> rusqlite::Result<CachedStatement<'_>> {
    conn.prepare_cached(
        "INSERT INTO device_status(device, ts, up, poll_ms, error) VALUES(?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(device) DO UPDATE SET ts=excluded.ts, up=excluded.up, poll_ms=excluded.poll_ms, error=excluded.error",
    )
}

pub(super) fn put(stmt: &mut CachedStatement<'_>, b: &Batch) -> rusqlite::Result<()> {
    stmt.execute(params![
        &*b.device,
        b.at,
        b.poll.is_up(),
        b.poll_ms,
        b.poll.error()
    ])
    .map(|_| ())
}

impl SqliteStore {
    /// Devices whose last poll, at or after `since`, answered; `except` (the heartbeat's own
    /// row) is not counted. Counted here rather than by loading every row: the heartbeat asks
    /// once an interval, at 10,000 devices.
    pub fn devices_up_since(
        &self,
        since: kilowatch_core::model::Timestamp,
        except: &str,
    ) -> Result<usize, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM device_status WHERE up AND ts >= ?1 AND device != ?2",
            )
            .map_err(self.err())?;
        let n: i64 = stmt
            .query_row(params![since, except], |r| r.get(0))
            .map_err(self.err())?;
        Ok(n as usize)
    }
}

impl StatusStore for SqliteStore {
    fn alert_states(&self) -> Result<Vec<crate::AlertRow>, StoreError> {
        SqliteStore::alert_states(self)
    }

    fn recent_traps(&self, limit: usize) -> Result<Vec<crate::TrapRow>, StoreError> {
        SqliteStore::recent_traps(self, limit)
    }

    fn acknowledge(
        &self,
        rule: &str,
        subject: &str,
        by: &str,
        at: kilowatch_core::model::Timestamp,
    ) -> Result<bool, StoreError> {
        self.acknowledge_alert(rule, subject, by, at)
    }

    fn device_status(&self) -> Result<Vec<DeviceStatus>, StoreError> {
        let conn = self.conn();
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
}
