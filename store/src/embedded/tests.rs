//! The embedded store through its public face: writes, reads, retention, upgrades, outbox.

use std::path::Path;
use std::sync::Arc;

use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use rusqlite::{Connection, OptionalExtension, params};

use super::*;
use crate::{Aggregate, Point, ReadStore, Selector, StatusStore, TimeRange, Window};

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
    // Roll-ups come when raw retention reaches the readings, not before.
    assert_eq!(f.rollup_buckets, 0);
    assert_eq!(store.delete_before(15_000_000).unwrap(), 1500);
    // The two blocks before the cut and the one across it, each whole: 24 buckets a block.
    assert_eq!(store.footprint().unwrap().rollup_buckets, 3 * 24);
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
            "SELECT COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(LENGTH(data)), 0)
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
    store.enable_outbox(500);
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
    assert!(full.dropped_points > 0, "the 500-byte cap dropped nothing");
    assert!(full.bytes <= 500, "{full:?}");
    check(&store, "after drops at the cap");

    let rows = store.outbox_after(0, usize::MAX).unwrap();
    store.ack("a", rows[rows.len() / 2].seq).unwrap();
    check(&store, "after a acked half");
    store.ack("b", rows[3].seq).unwrap();
    check(&store, "after b acked a few");
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    store.enable_outbox(500);
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
    let queued: Vec<(String, f64)> = store
        .outbox_after(0, usize::MAX)
        .unwrap()
        .into_iter()
        .flat_map(|r| match r.payload {
            Payload::Readings(readings) => readings,
            Payload::Lines(_) => panic!("this build queues readings"),
        })
        .map(|r| {
            let device = r.series.tags().find(|(k, _)| *k == "device").unwrap().1;
            (device.to_owned(), r.value)
        })
        .collect();
    assert_eq!(
        queued,
        [("pdu-1".to_owned(), 1.0), ("pdu-2".to_owned(), 3.0)],
        "{queued:?}"
    );
    assert_eq!(store.outbox_stats("a").unwrap().points, 2);
}

/// After a restart the writer has not met the series yet: queued readings are named from the
/// catalogue, with the same measurement, tags and field.
#[test]
fn readings_queued_before_a_restart_keep_their_series() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kw.db");
    let s = Arc::new(Series::new(
        Measurement::Power,
        vec![("device", "pdu-1".into()), ("site", "hk".into())],
    ));
    {
        let store = SqliteStore::open(&path).unwrap();
        store.enable_outbox(1 << 20);
        store.sink_cursor("a").unwrap();
        store.write(&[batch(&s, 1_000, 4.5)]).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rows = store.outbox_after(0, usize::MAX).unwrap();
    let Payload::Readings(r) = &rows[0].payload else {
        panic!("readings expected");
    };
    assert!(matches!(r[0].series, SeriesName::Stored(_)));
    assert_eq!(r[0].series.measurement(), "power");
    let tags: Vec<(&str, &str)> = r[0].series.tags().collect();
    assert_eq!(tags, [("device", "pdu-1"), ("site", "hk")]);
    assert_eq!(
        (r[0].field, r[0].at, r[0].value),
        (Field::ActivePowerW, 1_000, 4.5)
    );
}

/// A version-4 file's outbox holds line protocol: after the upgrade it is still there, served
/// as text, and counted in the totals; new rows are readings.
#[test]
fn a_version_4_outbox_keeps_its_line_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kw.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE outbox;
         CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
             points INTEGER NOT NULL, bytes INTEGER NOT NULL, lines TEXT NOT NULL);
         INSERT INTO outbox(ts, points, bytes, lines)
             VALUES(5, 1, 27, 'power,device=x power_w=1 5\n');
         INSERT INTO counters(name, value) VALUES('outbox_rows', 1), ('outbox_points', 1),
             ('outbox_bytes', 27);
         UPDATE meta SET value=4 WHERE key='schema_version';",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    store.enable_outbox(1 << 20);
    store.sink_cursor("a").unwrap();
    let s = Arc::new(Series::new(
        Measurement::Power,
        vec![("device", "pdu-1".into())],
    ));
    store.write(&[batch(&s, 1_000, 2.0)]).unwrap();
    let rows = store.outbox_after(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        matches!(&rows[0].payload, Payload::Lines(l) if l == "power,device=x power_w=1 5\n"),
        "{:?}",
        rows[0].payload
    );
    assert!(matches!(&rows[1].payload, Payload::Readings(r) if r.len() == 1));
    let stats = store.outbox_stats("a").unwrap();
    assert_eq!((stats.rows, stats.points), (2, 2));
    assert_eq!(stats, recount(&path, "a"));
}

/// `outbox_after` stops near `max_points`, always giving at least one row.
#[test]
fn outbox_batches_are_bounded_by_points() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
    store.enable_outbox(1 << 20);
    let s = Arc::new(Series::new(
        Measurement::Power,
        vec![("device", "pdu-1".into())],
    ));
    for i in 0..10 {
        store.write(&[batch(&s, i * 1000, i as f64)]).unwrap();
    }
    assert_eq!(store.outbox_after(0, 0).unwrap().len(), 1);
    assert_eq!(store.outbox_after(0, 4).unwrap().len(), 4);
    let rest = store.outbox_after(6, 100).unwrap();
    assert_eq!(
        rest.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [7, 8, 9, 10]
    );
}

/// An alert's state, its history and its notifications go in one transaction; acknowledging
/// an active alert is recorded in both, and a queue is drained up to what was delivered.
#[test]
fn alert_changes_acknowledgements_and_the_notifier_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kw.db")).unwrap();
    let row = AlertRow {
        rule: "ups_on_battery".into(),
        subject: "device:ups-1".into(),
        state: "firing".into(),
        since: 1_000,
        value: Some(1.0),
        note: "{}".into(),
        acked_by: None,
    };
    let changes = AlertChanges {
        states: vec![StateOp::Upsert(row.clone())],
        log: vec![AlertEvent {
            at: 1_000,
            rule: row.rule.clone(),
            subject: row.subject.clone(),
            status: "firing".into(),
            note: "{}".into(),
        }],
        outbox: vec![("am".into(), "n1".into()), ("hook".into(), "n1".into())],
        ..Default::default()
    };
    store.apply_alert_changes(&changes).unwrap();
    assert_eq!(store.alert_states().unwrap(), std::slice::from_ref(&row));
    assert!(
        store
            .acknowledge_alert("ups_on_battery", "device:ups-1", "ops", 2_000)
            .unwrap()
    );
    assert!(
        !store
            .acknowledge_alert("ups_on_battery", "device:ups-2", "ops", 2_000)
            .unwrap()
    );
    assert_eq!(
        store.alert_states().unwrap()[0].acked_by.as_deref(),
        Some("ops")
    );
    let log = store.alert_log(0, 10_000).unwrap();
    let statuses: Vec<&str> = log.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["firing", "acknowledged"]);
    // A later upsert (the alert renewed) keeps the acknowledgement.
    let again = AlertChanges {
        states: vec![StateOp::Upsert(row.clone())],
        ..Default::default()
    };
    store.apply_alert_changes(&again).unwrap();
    assert_eq!(
        store.alert_states().unwrap()[0].acked_by.as_deref(),
        Some("ops")
    );

    let am = store.queued_notes("am", 10).unwrap();
    assert_eq!(am.len(), 1);
    store.notes_delivered("am", am[0].seq).unwrap();
    assert!(store.queued_notes("am", 10).unwrap().is_empty());
    assert_eq!(
        store.queued_notes("hook", 10).unwrap().len(),
        1,
        "each receiver its own queue"
    );
    let removed = AlertChanges {
        states: vec![StateOp::Remove(row.rule.clone(), row.subject.clone())],
        ..Default::default()
    };
    store.apply_alert_changes(&removed).unwrap();
    assert!(store.alert_states().unwrap().is_empty());
}

/// Polls of one device: `series` outlets each, stamped `t0 + i × 10 s` plus a collector's
/// jitter (up to 96 ms); outlet `skip` misses poll `skip_at`.
fn outlet_polls(n: i64, t0: i64, series: &[Arc<Series>], skip: Option<(usize, i64)>) -> Vec<Batch> {
    (0..n)
        .map(|i| Batch {
            device: Arc::from("pdu-9"),
            at: t0 + i * 10_000 + (i * 7919) % 97,
            samples: series
                .iter()
                .enumerate()
                .filter(|&(o, _)| skip != Some((o, i)))
                .map(|(o, s)| Sample {
                    series: s.clone(),
                    field: Field::ActivePowerW,
                    value: ((i * (o as i64 + 3)) % 400) as f64 * 0.1,
                })
                .collect(),
            poll: PollStatus::Ok,
            poll_ms: 1.0,
        })
        .collect()
}

fn outlets(n: usize) -> Vec<Arc<Series>> {
    (0..n)
        .map(|o| {
            Arc::new(Series::new(
                Measurement::Power,
                vec![("device", "pdu-9".into()), ("outlet", o.to_string())],
            ))
        })
        .collect()
}

fn sql(path: &Path, q: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(q, [], |r| r.get(0))
        .unwrap()
}

/// Every reading of each outlet, by outlet number.
fn all_points(store: &SqliteStore) -> Vec<Vec<Point>> {
    let found = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let mut out = vec![Vec::new(); found.len()];
    for s in &found {
        let outlet: usize = s.tag("outlet").unwrap().parse().unwrap();
        out[outlet] = store.read(s, all, None).unwrap();
    }
    out
}

/// Every series of a device is read in the same polls: their times are stored once a block, so
/// jittered stamps cost one series' worth, not twenty. A series that missed a poll has its own.
/// Rewriting chunks (more polls into a block, retention) leaves no times row unused.
#[test]
fn a_devices_times_are_stored_once_for_all_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kw.db");
    let store = SqliteStore::open(&path).unwrap();
    let series = outlets(20);
    let t0 = 1_767_225_600_000; // a block boundary
    // Two blocks and a half of polls; outlet 3 misses a poll in the second block.
    let polls = outlet_polls(1800, t0, &series, Some((3, 1000)));
    store.write(&polls[..1000]).unwrap();
    // Compacting part of the second block first, then the rest: its chunks are rewritten.
    store.compact(t0 + 2 * 3_600_000 + 600_000).unwrap();
    store.write(&polls[1000..]).unwrap();
    store.compact(i64::MAX).unwrap();
    let before = all_points(&store);
    assert_eq!(before.len(), 20);
    for (outlet, pts) in before.iter().enumerate() {
        let want = if outlet == 3 { 1799 } else { 1800 };
        assert_eq!(pts.len(), want, "outlet {outlet}");
        for p in pts {
            let i = (p.ts - t0) / 10_000;
            assert_eq!(p.ts, t0 + i * 10_000 + (i * 7919) % 97);
            assert_eq!(p.value, ((i * (outlet as i64 + 3)) % 400) as f64 * 0.1);
        }
    }
    let times = |q: &str| sql(&path, q);
    // One times row per block (three), plus outlet 3's own in the second block.
    assert_eq!(times("SELECT COUNT(*) FROM times"), 4);
    assert_eq!(
        times("SELECT COUNT(*) FROM chunks WHERE times_id IS NULL"),
        0
    );
    let unused = "SELECT COUNT(*) FROM times WHERE id NOT IN (SELECT times_id FROM chunks)";
    assert_eq!(times(unused), 0, "rows of the first compaction are gone");
    let miscounted = "SELECT COUNT(*) FROM times WHERE refs != (SELECT COUNT(*) FROM chunks WHERE times_id=times.id)";
    assert_eq!(times(miscounted), 0);
    // The times are about two bytes a poll (jitter of tens of ms): kept once, the chunks of
    // twenty series cost less than their times would twenty times over.
    let times_bytes = times("SELECT SUM(length(data)) FROM times");
    let f = store.footprint().unwrap();
    assert_eq!(f.chunk_samples, 20 * 1800 - 1);
    assert!(times_bytes > 1800, "{times_bytes} bytes of times");
    assert!(f.chunk_bytes < 20 * times_bytes, "{} bytes", f.chunk_bytes);

    // Retention in the middle of the first block: every chunk there is trimmed alike.
    let cut = t0 + 3_600_000;
    assert_eq!(store.delete_before(cut).unwrap(), 20 * 360);
    assert_eq!(times(unused), 0);
    assert_eq!(times(miscounted), 0);
    assert_eq!(times("SELECT COUNT(*) FROM times"), 4);
    let after = all_points(&store);
    for (a, b) in before.iter().zip(&after) {
        let kept: Vec<Point> = a.iter().copied().filter(|p| p.ts >= cut).collect();
        assert_eq!(&kept, b);
    }
}

/// Chunks and roll-ups as versions 3 to 6 kept them: keyed by `(series_id, block)`, with first
/// and last time columns (unread by the upgrade, so zero here).
const KEYED_BY_COLUMNS: &str = "
    CREATE TABLE chunks_old(series_id INTEGER NOT NULL, block INTEGER NOT NULL,
        n INTEGER NOT NULL, first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
        data BLOB NOT NULL, times_id INTEGER, PRIMARY KEY(series_id, block));
    INSERT INTO chunks_old SELECT id >> 32, ((id & 4294967295) - 2147483648) * 7200000,
        n, 0, 0, data, times_id FROM chunks;
    DROP TABLE chunks; ALTER TABLE chunks_old RENAME TO chunks;
    CREATE TABLE rollups_old(series_id INTEGER NOT NULL, block INTEGER NOT NULL,
        n INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(series_id, block));
    INSERT INTO rollups_old SELECT id >> 32, ((id & 4294967295) - 2147483648) * 7200000,
        n, data FROM rollups;
    DROP TABLE rollups; ALTER TABLE rollups_old RENAME TO rollups;";

/// A version-5 file's chunks hold their times inline: after the upgrade they read the same, and
/// new polls merged into one of their blocks are stored with their times apart.
#[test]
fn a_version_5_file_keeps_its_inline_chunks_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kw.db");
    let series = outlets(4);
    let t0 = 1_767_225_600_000;
    let polls = outlet_polls(900, t0, &series, None);
    {
        let store = SqliteStore::open(&path).unwrap();
        store.write(&polls[..600]).unwrap();
        store.compact(i64::MAX).unwrap();
    }
    // Make it what version 5 wrote: chunks and roll-ups keyed by (series_id, block), times
    // inline, no times table or column.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(KEYED_BY_COLUMNS).unwrap();
        let rows: Vec<(i64, i64, Vec<u8>, Vec<u8>)> = conn
            .prepare("SELECT c.series_id, c.block, c.data, t.data FROM chunks c JOIN times t ON t.id=c.times_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 4, "four series, one block");
        for (series, block, values, times) in rows {
            let mut pts = Vec::new();
            crate::chunk::decode(&values, block, Some(&times), &mut pts).unwrap();
            let mut inline = Vec::new();
            crate::chunk::encode(&pts, block, &mut inline);
            conn.execute(
                "UPDATE chunks SET data=?3 WHERE series_id=?1 AND block=?2",
                params![series, block, inline],
            )
            .unwrap();
        }
        conn.execute_batch(
            "ALTER TABLE chunks DROP COLUMN times_id; DROP TABLE times;
             UPDATE meta SET value=5 WHERE key='schema_version';",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let got = all_points(&store);
    assert_eq!(got.iter().map(Vec::len).sum::<usize>(), 4 * 600);
    store.write(&polls[600..]).unwrap();
    store.compact(i64::MAX).unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let got = all_points(&store);
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [900; 4]);
    for (i, p) in got[0].iter().enumerate() {
        let i = i as i64;
        assert_eq!(p.ts, t0 + i * 10_000 + (i * 7919) % 97);
    }
    assert_eq!(
        sql(&path, "SELECT value FROM meta WHERE key='schema_version'"),
        7
    );
    assert_eq!(
        sql(&path, "SELECT COUNT(*) FROM chunks WHERE times_id IS NULL"),
        0
    );
}

/// A version-6 file keys chunks and roll-ups by (series_id, block) and indexes `times_id`: after
/// the upgrade every reading and five-minute bucket reads the same, each `times` row counts the
/// chunks naming it, and rewriting a block then drops the rows no chunk names.
#[test]
fn a_version_6_file_is_rekeyed_and_its_times_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kw.db");
    let series = outlets(3);
    let t0 = 1_767_225_600_000;
    // Outlet 2 misses a poll: its chunk in the first block has times of its own.
    let polls = outlet_polls(1500, t0, &series, Some((2, 40)));
    let window = Some(Window {
        every_ms: 300_000,
        aggregate: crate::Aggregate::Mean,
    });
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let read_all = |store: &SqliteStore| -> Vec<(Vec<Point>, Vec<Point>)> {
        let mut found = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
        found.sort();
        found
            .iter()
            .map(|s| {
                (
                    store.read(s, all, None).unwrap(),
                    store.read(s, all, window).unwrap(),
                )
            })
            .collect()
    };
    let before = {
        let store = SqliteStore::open(&path).unwrap();
        store.write(&polls[..1400]).unwrap();
        store.compact(i64::MAX).unwrap();
        // Retention into the second block: the first is rolled up, the second trimmed.
        store.delete_before(t0 + 8_000_000).unwrap();
        read_all(&store)
    };
    assert!(sql(&path, "SELECT COUNT(*) FROM rollups") >= 3);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(KEYED_BY_COLUMNS).unwrap();
        conn.execute_batch(
            "CREATE INDEX chunks_times ON chunks(times_id) WHERE times_id IS NOT NULL;
             ALTER TABLE times DROP COLUMN refs;
             INSERT INTO times(block, hash, data) VALUES(0, 0, x'00');
             UPDATE meta SET value=6 WHERE key='schema_version';",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(read_all(&store), before);
    let miscounted = "SELECT COUNT(*) FROM times WHERE refs != (SELECT COUNT(*) FROM chunks WHERE times_id=times.id)";
    assert_eq!(sql(&path, miscounted), 0);
    assert_eq!(
        sql(&path, "SELECT COUNT(*) FROM times WHERE refs = 0"),
        0,
        "the unnamed row went"
    );
    // More polls into the second block rewrite its chunks: the times they had named go.
    store.write(&polls[1400..]).unwrap();
    store.compact(i64::MAX).unwrap();
    assert_eq!(sql(&path, miscounted), 0);
    let unused = "SELECT COUNT(*) FROM times WHERE id NOT IN (SELECT times_id FROM chunks)";
    assert_eq!(sql(&path, unused), 0);
    let after = read_all(&store);
    assert_eq!(after[0].0.last().map(|p| p.ts), polls.last().map(|b| b.at));
    assert_eq!(
        sql(&path, "SELECT value FROM meta WHERE key='schema_version'"),
        7
    );
}
