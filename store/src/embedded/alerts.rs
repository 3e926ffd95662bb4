//! Alerting's durable state: each alert that is pending or firing (so a restart neither loses a
//! firing alert nor notifies it again), the history of every change (for the TUI and Grafana
//! annotations), the notifier outbox (one row per receiver and change, deleted once delivered)
//! and the trap log. An alert change, its history row and its outbox rows are one transaction.
//!
//! The store does not interpret alerts: a notification is the rules' JSON, kept as text.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::StoreError;
use kilowatch_core::model::Timestamp;

pub(super) const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS alert_state(
        rule TEXT NOT NULL,
        subject TEXT NOT NULL,
        state TEXT NOT NULL,
        since INTEGER NOT NULL,
        value REAL,
        note TEXT NOT NULL,
        acked_by TEXT,
        PRIMARY KEY(rule, subject));
    CREATE TABLE IF NOT EXISTS alert_log(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        rule TEXT NOT NULL,
        subject TEXT NOT NULL,
        status TEXT NOT NULL,
        note TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS alert_log_at ON alert_log(at);
    CREATE TABLE IF NOT EXISTS notify_outbox(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver TEXT NOT NULL,
        at INTEGER NOT NULL,
        note TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS notify_outbox_receiver ON notify_outbox(receiver, seq);
    CREATE TABLE IF NOT EXISTS trap_log(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        version TEXT NOT NULL,
        trap_oid TEXT NOT NULL,
        name TEXT,
        effect TEXT NOT NULL,
        summary TEXT NOT NULL,
        varbinds TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS trap_log_at ON trap_log(at);";

/// An alert that is pending or firing.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub rule: String,
    /// What the alert is about: a series key, a device, a rack.
    pub subject: String,
    /// `pending` or `firing`.
    pub state: String,
    pub since: Timestamp,
    pub value: Option<f64>,
    /// The notification as the rules render it (JSON).
    pub note: String,
    /// Who acknowledged it, if anyone.
    pub acked_by: Option<String>,
}

/// One change of one alert, as history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub at: Timestamp,
    pub rule: String,
    pub subject: String,
    /// `firing`, `resolved`, `acknowledged`.
    pub status: String,
    pub note: String,
}

/// One trap as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrapRow {
    pub at: Timestamp,
    pub source: String,
    pub version: String,
    pub trap_oid: String,
    pub name: Option<String>,
    /// `raise ALERT`, `clear ALERT`, `notice`, `unknown`.
    pub effect: String,
    pub summary: String,
    /// JSON array of [oid, value] pairs.
    pub varbinds: String,
}

/// One change to the alert state table; applied in order.
#[derive(Debug, Clone, PartialEq)]
pub enum StateOp {
    Upsert(AlertRow),
    /// (rule, subject) of an alert that ended or stopped pending.
    Remove(String, String),
}

/// Everything one evaluation changed, written at once.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AlertChanges {
    pub states: Vec<StateOp>,
    pub log: Vec<AlertEvent>,
    /// (receiver, note JSON) to deliver.
    pub outbox: Vec<(String, String)>,
    pub traps: Vec<TrapRow>,
}

impl AlertChanges {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.log.is_empty()
            && self.outbox.is_empty()
            && self.traps.is_empty()
    }
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedNote {
    pub seq: i64,
    pub at: Timestamp,
    pub note: String,
}

fn write_changes(conn: &Connection, ch: &AlertChanges) -> rusqlite::Result<()> {
    let mut up = conn.prepare_cached(
        "INSERT INTO alert_state(rule, subject, state, since, value, note, acked_by)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(rule, subject) DO UPDATE SET state=excluded.state, since=excluded.since,
             value=excluded.value, note=excluded.note,
             acked_by=COALESCE(alert_state.acked_by, excluded.acked_by)",
    )?;
    let mut rm = conn.prepare_cached("DELETE FROM alert_state WHERE rule=?1 AND subject=?2")?;
    for op in &ch.states {
        match op {
            StateOp::Upsert(r) => up.execute(params![
                r.rule, r.subject, r.state, r.since, r.value, r.note, r.acked_by
            ])?,
            StateOp::Remove(rule, subject) => rm.execute(params![rule, subject])?,
        };
    }
    let mut log = conn.prepare_cached(
        "INSERT INTO alert_log(at, rule, subject, status, note) VALUES(?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in &ch.log {
        log.execute(params![e.at, e.rule, e.subject, e.status, e.note])?;
    }
    let mut out = conn.prepare_cached(
        "INSERT INTO notify_outbox(receiver, at, note) VALUES(?1, strftime('%s','now') * 1000, ?2)",
    )?;
    for (receiver, note) in &ch.outbox {
        out.execute(params![receiver, note])?;
    }
    let mut trap = conn.prepare_cached(
        "INSERT INTO trap_log(at, source, version, trap_oid, name, effect, summary, varbinds)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for t in &ch.traps {
        trap.execute(params![
            t.at, t.source, t.version, t.trap_oid, t.name, t.effect, t.summary, t.varbinds
        ])?;
    }
    Ok(())
}

impl SqliteStore {
    /// Writes one evaluation's changes in one transaction.
    pub fn apply_alert_changes(&self, changes: &AlertChanges) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.in_tx(|tx| write_changes(tx, changes).map_err(Into::into))
    }

    /// Every alert that is pending or firing.
    pub fn alert_states(&self) -> Result<Vec<AlertRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT rule, subject, state, since, value, note, acked_by FROM alert_state
                 ORDER BY since, rule, subject",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AlertRow {
                    rule: r.get(0)?,
                    subject: r.get(1)?,
                    state: r.get(2)?,
                    since: r.get(3)?,
                    value: r.get(4)?,
                    note: r.get(5)?,
                    acked_by: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Marks an alert acknowledged by `by` and logs it; false when no such alert is active.
    pub fn acknowledge_alert(
        &self,
        rule: &str,
        subject: &str,
        by: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.in_tx(|tx| {
            let note: Option<String> = tx
                .query_row(
                    "SELECT note FROM alert_state WHERE rule=?1 AND subject=?2",
                    params![rule, subject],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(note) = note else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE alert_state SET acked_by=?3 WHERE rule=?1 AND subject=?2",
                params![rule, subject, by],
            )?;
            tx.execute(
                "INSERT INTO alert_log(at, rule, subject, status, note) VALUES(?1, ?2, ?3, 'acknowledged', ?4)",
                params![at, rule, subject, note],
            )?;
            Ok(true)
        })
    }

    /// Alert history in `[from, to)`, oldest first.
    pub fn alert_log(&self, from: Timestamp, to: Timestamp) -> Result<Vec<AlertEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT at, rule, subject, status, note FROM alert_log WHERE at >= ?1 AND at < ?2
                 ORDER BY at, seq",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![from, to], |r| {
                Ok(AlertEvent {
                    at: r.get(0)?,
                    rule: r.get(1)?,
                    subject: r.get(2)?,
                    status: r.get(3)?,
                    note: r.get(4)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The newest `limit` traps, newest first.
    pub fn recent_traps(&self, limit: usize) -> Result<Vec<TrapRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT at, source, version, trap_oid, name, effect, summary, varbinds
                 FROM trap_log ORDER BY seq DESC LIMIT ?1",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(TrapRow {
                    at: r.get(0)?,
                    source: r.get(1)?,
                    version: r.get(2)?,
                    trap_oid: r.get(3)?,
                    name: r.get(4)?,
                    effect: r.get(5)?,
                    summary: r.get(6)?,
                    varbinds: r.get(7)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The oldest `limit` notifications waiting for `receiver`.
    pub fn queued_notes(
        &self,
        receiver: &str,
        limit: usize,
    ) -> Result<Vec<QueuedNote>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, at, note FROM notify_outbox WHERE receiver=?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![receiver, limit as i64], |r| {
                Ok(QueuedNote {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    note: r.get(2)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Drops `receiver`'s notifications up to and including `seq`: delivered (or given up).
    pub fn notes_delivered(&self, receiver: &str, seq: i64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM notify_outbox WHERE receiver=?1 AND seq<=?2",
                params![receiver, seq],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// Keeps the trap log and alert history to what is newer than `before`.
    pub fn delete_alert_history_before(&self, before: Timestamp) -> Result<(), StoreError> {
        self.in_tx(|tx| {
            tx.execute("DELETE FROM trap_log WHERE at < ?1", [before])?;
            tx.execute("DELETE FROM alert_log WHERE at < ?1", [before])?;
            Ok(())
        })
    }
}
