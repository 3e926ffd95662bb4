//! How samples lie in the embedded store: recent polls in the *head*, older ones in *chunks*.
//!
//! - `head` holds one row per poll: the device, the poll time, and its samples as
//!   `(varint series id, f64)` pairs. Appending a poll is one row, whatever its size: that is what
//!   makes a commit of thousands of samples cheap.
//! - `chunks` holds one row per series per two-hour block, encoded by [`crate::chunk`] in a byte
//!   or two a point, its row id the pair ([`crate::rowkey`]). [`compact`] moves head rows of
//!   closed blocks into chunks, one device per transaction, so a crash leaves either the rows or
//!   the chunks, never neither.
//! - `rollups` holds a block's five-minute roll-up ([`crate::rollup`]), written when raw
//!   retention reaches the block, from its readings while they are whole ([`delete_before`]):
//!   windows before the cut are read from them, windows after it from the readings.
//! - `times` holds a chunk's timestamps, once for every chunk of the block that has the same
//!   ones: the series of one device are read in the same polls. A chunk names its row
//!   (`times_id`), which counts the chunks naming it (`refs`) and goes with the last of them.
//!   Chunks written before version 6 of the file keep their times inline (`times_id` NULL).
//!
//! The same reading may be written twice (a wall clock that went back, an import). A live write
//! never replaces a stored reading: the writer looks before it appends. An import corrects
//! history, so it goes straight into the chunks ([`overlay`]); chunks therefore win over the head,
//! and within the head the first write wins ([`resolve`]).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::chunk::{self, ChunkError};
use crate::rollup::{self, Bucket};
use crate::rowkey::{self, OutOfRange};
use crate::{Aggregate, Point, TimeRange, Window};

/// Chunks span two hours: 720 points at 10 s, 120 at 1 minute.
pub const BLOCK_MS: i64 = 2 * 3600 * 1000;

pub fn block_of(ts: i64) -> i64 {
    ts.div_euclid(BLOCK_MS).saturating_mul(BLOCK_MS)
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Time(#[from] OutOfRange),
    #[error("{what}: {source}")]
    Chunk {
        what: String,
        #[source]
        source: ChunkError,
    },
}

type Result<T> = std::result::Result<T, Error>;

/// A column that should hold a blob but does not (a damaged file).
impl From<rusqlite::types::FromSqlError> for Error {
    fn from(e: rusqlite::types::FromSqlError) -> Error {
        Error::Sqlite(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            Box::new(e),
        ))
    }
}

/// One series' reading in a head row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    pub ts: i64,
    pub seq: i64,
    pub value: f64,
}

pub(crate) fn put_entry(out: &mut Vec<u8>, id: i64, value: f64) {
    chunk::put_varint(out, id as u64);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Calls `f(series id, value)` for each pair in a head row.
fn each_entry(seq: i64, mut data: &[u8], mut f: impl FnMut(i64, f64)) -> Result<()> {
    let bad = |source| Error::Chunk {
        what: format!("head row {seq}"),
        source,
    };
    while !data.is_empty() {
        let id = chunk::get_varint(&mut data).map_err(bad)?;
        let (v, rest) = data
            .split_first_chunk::<8>()
            .ok_or_else(|| bad(ChunkError::Truncated))?;
        data = rest;
        f(id as i64, f64::from_le_bytes(*v));
    }
    Ok(())
}

/// Merges a series' chunk points with its head entries: a chunk's reading stands (it was
/// compacted from earlier writes, or imported as a correction), then the head's first.
pub(crate) fn resolve(chunk: &[Point], head: &mut [Entry]) -> Vec<Point> {
    head.sort_by_key(|e| (e.ts, e.seq));
    let mut out = Vec::with_capacity(chunk.len() + head.len());
    let (mut i, mut j) = (0, 0);
    while i < chunk.len() || j < head.len() {
        let ts = match (chunk.get(i), head.get(j)) {
            (Some(c), Some(h)) => c.ts.min(h.ts),
            (Some(c), None) => c.ts,
            (None, Some(h)) => h.ts,
            (None, None) => unreachable!("loop condition"),
        };
        let mut value = None;
        if chunk.get(i).is_some_and(|c| c.ts == ts) {
            value = Some(chunk[i].value);
            i += 1;
        }
        while let Some(h) = head.get(j).filter(|h| h.ts == ts) {
            value = value.or(Some(h.value));
            j += 1;
        }
        if let Some(value) = value {
            out.push(Point { ts, value });
        }
    }
    out
}

fn decode_rollup(series: i64, block: i64, data: &[u8], out: &mut Vec<Bucket>) -> Result<()> {
    rollup::decode(data, block, out).map_err(|source| Error::Chunk {
        what: format!("roll-up of series {series} at {block}"),
        source,
    })
}

/// `ts` rounded up to a multiple of `step`.
pub(crate) fn ceil_to(ts: i64, step: i64) -> i64 {
    ts.div_euclid(step)
        .saturating_add(i64::from(ts.rem_euclid(step) != 0))
        .saturating_mul(step)
}

/// The columns that give a chunk's points: its row id (series and block), data and times (apart,
/// or none if inline).
/// A macro so each statement is one literal (`concat!`), not a string built on every read.
macro_rules! chunk_columns {
    () => {
        "c.id, c.data, t.data FROM chunks c LEFT JOIN times t ON t.id=c.times_id"
    };
}

fn decode_chunk(
    series: i64,
    block: i64,
    data: &[u8],
    times: Option<&[u8]>,
    out: &mut Vec<Point>,
) -> Result<()> {
    chunk::decode(data, block, times, out).map_err(|source| Error::Chunk {
        what: format!("chunk of series {series} at {block}"),
        source,
    })
}

/// The devices whose polls carried this series.
fn devices_of(conn: &Connection, id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT device_id FROM series_device WHERE series_id=?1")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Head entries of series `id` with `from <= ts < to`, in write order.
fn head_entries(conn: &Connection, id: i64, from: i64, to: i64) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, data FROM head WHERE device_id=?1 AND at>=?2 AND at<?3 ORDER BY seq",
    )?;
    for device in devices_of(conn, id)? {
        let mut rows = stmt.query(params![device, from, to])?;
        while let Some(r) = rows.next()? {
            let (seq, ts): (i64, i64) = (r.get(0)?, r.get(1)?);
            each_entry(seq, r.get_ref(2)?.as_blob()?, |sid, value| {
                if sid == id {
                    out.push(Entry { ts, seq, value });
                }
            })?;
        }
    }
    Ok(out)
}

/// Every stored point of series `id` in `range`, oldest first. Run inside one transaction, so a
/// compaction cannot move rows between the two halves of the read.
pub(crate) fn read(conn: &Connection, id: i64, range: TimeRange) -> Result<Vec<Point>> {
    if range.from >= range.to {
        return Ok(Vec::new());
    }
    let mut points = Vec::new();
    let mut edge = Vec::new();
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        chunk_columns!(),
        " WHERE c.id BETWEEN ?1 AND ?2 ORDER BY c.id"
    ))?;
    let (lo, hi) = (
        rowkey::bound(id, range.from),
        rowkey::bound(id, range.to - 1),
    );
    let mut rows = stmt.query(params![lo, hi])?;
    let inside = |ts: &i64| (range.from..range.to).contains(ts);
    while let Some(r) = rows.next()? {
        let block = rowkey::parts(r.get(0)?).1;
        let (data, times) = (r.get_ref(1)?.as_blob()?, r.get_ref(2)?.as_blob_or_null()?);
        if inside(&block) && inside(&(block + BLOCK_MS - 1)) {
            decode_chunk(id, block, data, times, &mut points)?;
        } else {
            // A chunk across the range's edge: only its points inside.
            edge.clear();
            decode_chunk(id, block, data, times, &mut edge)?;
            points.extend(edge.iter().filter(|p| inside(&p.ts)));
        }
    }
    let mut head = head_entries(conn, id, range.from, range.to)?;
    if head.is_empty() {
        return Ok(points);
    }
    Ok(resolve(&points, &mut head))
}

/// The newest time at or before `at` that series `id` has, from chunks and head.
pub(crate) fn newest_ts(conn: &Connection, id: i64, at: i64) -> Result<Option<i64>> {
    let mut best = None;
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        chunk_columns!(),
        " WHERE c.id BETWEEN ?1 AND ?2 ORDER BY c.id DESC"
    ))?;
    let mut rows = stmt.query(params![rowkey::bound(id, i64::MIN), rowkey::bound(id, at)])?;
    let mut points = Vec::new();
    while let Some(r) = rows.next()? {
        let block = rowkey::parts(r.get(0)?).1;
        points.clear();
        let (data, times) = (r.get_ref(1)?.as_blob()?, r.get_ref(2)?.as_blob_or_null()?);
        decode_chunk(id, block, data, times, &mut points)?;
        if let Some(p) = points.iter().rev().find(|p| p.ts <= at) {
            best = Some(p.ts);
            break;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, data FROM head WHERE device_id=?1 AND at<=?2 ORDER BY at DESC",
    )?;
    for device in devices_of(conn, id)? {
        let mut rows = stmt.query(params![device, at])?;
        while let Some(r) = rows.next()? {
            let (seq, ts): (i64, i64) = (r.get(0)?, r.get(1)?);
            if best.is_some_and(|b| b >= ts) {
                break;
            }
            let mut found = false;
            each_entry(seq, r.get_ref(2)?.as_blob()?, |sid, _| found |= sid == id)?;
            if found {
                best = Some(ts);
                break;
            }
        }
    }
    Ok(best)
}

/// Whether series `id` already has a reading at `ts`.
pub(crate) fn exists(conn: &Connection, id: i64, ts: i64) -> Result<bool> {
    Ok(!read(
        conn,
        id,
        TimeRange {
            from: ts,
            to: ts + 1,
        },
    )?
    .is_empty())
}

/// Moves device `device`'s head rows older than `before` into chunks; returns the samples moved.
pub(crate) fn compact_device(conn: &Connection, device: i64, before: i64) -> Result<usize> {
    // (series, block) → entries, in write order.
    let mut groups: BTreeMap<(i64, i64), Vec<Entry>> = BTreeMap::new();
    let mut moved = 0;
    {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, at, data FROM head WHERE device_id=?1 AND at<?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![device, before])?;
        while let Some(r) = rows.next()? {
            let (seq, ts): (i64, i64) = (r.get(0)?, r.get(1)?);
            each_entry(seq, r.get_ref(2)?.as_blob()?, |sid, value| {
                moved += 1;
                groups
                    .entry((sid, block_of(ts)))
                    .or_default()
                    .push(Entry { ts, seq, value });
            })?;
        }
    }
    if groups.is_empty() {
        return Ok(0);
    }
    let mut existing = Vec::new();
    let mut buf = Vec::new();
    let raw_from = raw_from(conn)?;
    for ((series, block), mut head) in groups {
        load_chunk(conn, series, block, &mut existing)?;
        let merged = resolve(&existing, &mut head);
        put_block(conn, series, block, &merged, raw_from, &mut buf)?;
    }
    conn.prepare_cached("DELETE FROM head WHERE device_id=?1 AND at<?2")?
        .execute(params![device, before])?;
    Ok(moved)
}

/// Writes corrected readings (an import) into the chunks, where they win over the head.
pub(crate) fn overlay(conn: &Connection, series: i64, readings: &BTreeMap<i64, f64>) -> Result<()> {
    let (mut existing, mut merged, mut buf) = (Vec::new(), Vec::new(), Vec::new());
    let raw_from = raw_from(conn)?;
    let mut rest = readings.iter().peekable();
    while let Some(&(&first, _)) = rest.peek() {
        let block = block_of(first);
        load_chunk(conn, series, block, &mut existing)?;
        merged.clear();
        let mut old = existing.iter().peekable();
        while let Some((&ts, &value)) = rest.next_if(|(ts, _)| block_of(**ts) == block) {
            while let Some(p) = old.next_if(|p| p.ts < ts) {
                merged.push(*p);
            }
            old.next_if(|p| p.ts == ts);
            merged.push(Point { ts, value });
        }
        merged.extend(old);
        put_block(conn, series, block, &merged, raw_from, &mut buf)?;
    }
    Ok(())
}

/// Replaces `out` with the points of one chunk (none if there is no chunk).
fn load_chunk(conn: &Connection, series: i64, block: i64, out: &mut Vec<Point>) -> Result<()> {
    out.clear();
    let mut stmt = conn.prepare_cached(concat!("SELECT ", chunk_columns!(), " WHERE c.id=?1"))?;
    let mut rows = stmt.query([rowkey::id(series, block)?])?;
    if let Some(r) = rows.next()? {
        let (data, times) = (r.get_ref(1)?.as_blob()?, r.get_ref(2)?.as_blob_or_null()?);
        decode_chunk(series, block, data, times, out)?;
    }
    Ok(())
}

fn put_chunk(
    conn: &Connection,
    series: i64,
    block: i64,
    points: &[Point],
    buf: &mut Vec<u8>,
) -> Result<()> {
    let id = rowkey::id(series, block)?;
    let old: Option<Option<i64>> = conn
        .prepare_cached("SELECT times_id FROM chunks WHERE id=?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if !points.is_empty() {
        let times = put_times(conn, block, points, buf)?;
        buf.clear();
        chunk::encode_values(points, buf);
        conn.prepare_cached(
            "INSERT OR REPLACE INTO chunks(id, n, times_id, data) VALUES(?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, points.len() as i64, times, &buf[..]])?;
    } else {
        conn.prepare_cached("DELETE FROM chunks WHERE id=?1")?
            .execute([id])?;
    }
    // After the new times are counted, so a rewrite with the same times keeps their row.
    if let Some(Some(times)) = old {
        release_times(conn, times)?;
    }
    Ok(())
}

/// The id of the `times` row holding the times of `points` in `block`, added if no chunk of the
/// block has the same ones yet; either way it counts one more chunk naming it (`refs`).
fn put_times(conn: &Connection, block: i64, points: &[Point], buf: &mut Vec<u8>) -> Result<i64> {
    buf.clear();
    chunk::encode_times(points, block, buf);
    let hash = fnv1a(buf);
    let mut found = None;
    let mut stmt = conn.prepare_cached("SELECT id, data FROM times WHERE block=?1 AND hash=?2")?;
    let mut rows = stmt.query(params![block, hash])?;
    while let Some(r) = rows.next()? {
        if r.get_ref(1)?.as_blob()? == &buf[..] {
            found = Some(r.get(0)?);
            break;
        }
    }
    if let Some(id) = found {
        conn.prepare_cached("UPDATE times SET refs=refs+1 WHERE id=?1")?
            .execute([id])?;
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO times(block, hash, refs, data) VALUES(?1, ?2, 1, ?3)")?
        .execute(params![block, hash, &buf[..]])?;
    Ok(conn.last_insert_rowid())
}

/// One chunk fewer names `times` (rewritten or deleted): the row goes with its last chunk.
fn release_times(conn: &Connection, times: i64) -> Result<()> {
    conn.prepare_cached("UPDATE times SET refs=refs-1 WHERE id=?1")?
        .execute([times])?;
    conn.prepare_cached("DELETE FROM times WHERE id=?1 AND refs<=0")?
        .execute([times])?;
    Ok(())
}

/// FNV-1a: a stable hash of a times row, to find an equal one (the bytes are compared too).
fn fnv1a(bytes: &[u8]) -> i64 {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h as i64
}

/// A block's chunk, and its five-minute roll-up if the block has readings before the raw-retention
/// cut. `raw_from` is [`raw_from`], read once by the caller. Roll-ups serve windows before that
/// cut only, so a block gets one when retention reaches it ([`delete_before`]): until then it
/// would be a third of the file for nothing.
fn put_block(
    conn: &Connection,
    series: i64,
    block: i64,
    points: &[Point],
    raw_from: i64,
    buf: &mut Vec<u8>,
) -> Result<()> {
    put_chunk(conn, series, block, points, buf)?;
    if block < raw_from {
        put_rollup(conn, series, block, points, raw_from, buf)?;
    }
    Ok(())
}

/// The block's five-minute roll-up, from all its readings (so never after raw retention trimmed
/// them).
fn put_rollup(
    conn: &Connection,
    series: i64,
    block: i64,
    points: &[Point],
    raw_from: i64,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let mut buckets = rollup::buckets(points);
    // Buckets from before the raw-retention cut were rolled up while their readings were whole:
    // they stay as they are (the readings left there are only a remnant or a late write).
    if block < raw_from {
        let frozen = ceil_to(raw_from, rollup::STEP_MS);
        let mut old = Vec::new();
        let mut stmt = conn.prepare_cached("SELECT data FROM rollups WHERE id=?1")?;
        let mut rows = stmt.query([rowkey::id(series, block)?])?;
        if let Some(r) = rows.next()? {
            decode_rollup(series, block, r.get_ref(0)?.as_blob()?, &mut old)?;
        }
        old.retain(|b| b.start < frozen);
        buckets.retain(|b| b.start >= frozen || !old.iter().any(|o| o.start == b.start));
        buckets.extend(old);
        buckets.sort_by_key(|b| b.start);
    }
    if buckets.is_empty() {
        conn.prepare_cached("DELETE FROM rollups WHERE id=?1")?
            .execute([rowkey::id(series, block)?])?;
        return Ok(());
    }
    buf.clear();
    rollup::encode(&buckets, block, buf);
    conn.prepare_cached("INSERT OR REPLACE INTO rollups(id, n, data) VALUES(?1, ?2, ?3)")?
        .execute(params![
            rowkey::id(series, block)?,
            buckets.len() as i64,
            &buf[..]
        ])?;
    Ok(())
}

/// Five-minute buckets of series `id` starting in `[from, to)`, oldest first.
pub(crate) fn read_rollups(conn: &Connection, id: i64, from: i64, to: i64) -> Result<Vec<Bucket>> {
    let mut out = Vec::new();
    if from >= to {
        return Ok(out);
    }
    let mut stmt =
        conn.prepare_cached("SELECT id, data FROM rollups WHERE id BETWEEN ?1 AND ?2 ORDER BY id")?;
    let mut rows = stmt.query([rowkey::bound(id, from), rowkey::bound(id, to - 1)])?;
    while let Some(r) = rows.next()? {
        let block = rowkey::parts(r.get(0)?).1;
        decode_rollup(id, block, r.get_ref(1)?.as_blob()?, &mut out)?;
    }
    out.retain(|b| b.start >= from && b.start < to);
    Ok(out)
}

/// Deletes five-minute buckets starting before `before`; returns how many.
pub(crate) fn delete_rollups_before(conn: &Connection, before: i64) -> Result<usize> {
    // Blocks wholly before the cut go; the one it falls in (if it starts before it) is trimmed.
    let whole_to = rowkey::number(before.saturating_sub(BLOCK_MS));
    let whole: i64 = conn.query_row(
        concat!(
            "SELECT COALESCE(SUM(n),0) FROM rollups WHERE ",
            rowkey::block_number!("id"),
            "<=?1"
        ),
        [whole_to],
        |r| r.get(0),
    )?;
    conn.execute(
        concat!(
            "DELETE FROM rollups WHERE ",
            rowkey::block_number!("id"),
            "<=?1"
        ),
        [whole_to],
    )?;
    let straddling: Vec<(i64, Vec<u8>)> = conn
        .prepare(concat!(
            "SELECT id, data FROM rollups WHERE ",
            rowkey::block_number!("id"),
            "*?2<?1"
        ))?
        .query_map([before, BLOCK_MS], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut trimmed = 0;
    let (mut buckets, mut buf) = (Vec::new(), Vec::new());
    for (id, data) in straddling {
        let (series, block) = rowkey::parts(id);
        buckets.clear();
        decode_rollup(series, block, &data, &mut buckets)?;
        let n = buckets.len();
        buckets.retain(|b| b.start >= before);
        trimmed += n - buckets.len();
        buf.clear();
        rollup::encode(&buckets, block, &mut buf);
        conn.execute(
            "UPDATE rollups SET n=?2, data=?3 WHERE id=?1",
            params![id, buckets.len() as i64, &buf[..]],
        )?;
    }
    Ok(whole as usize + trimmed)
}

/// Deletes every sample older than `before`; returns how many.
pub(crate) fn delete_before(conn: &Connection, before: i64) -> Result<usize> {
    let head: i64 = conn.query_row(
        "SELECT COALESCE(SUM(n),0) FROM head WHERE at<?1",
        [before],
        |r| r.get(0),
    )?;
    conn.execute("DELETE FROM head WHERE at<?1", [before])?;
    // Block by block, so memory holds one block's chunks: each is rolled up while its readings
    // are whole, then deleted, or trimmed when it straddles the cut (so retention is exact to the
    // millisecond).
    let raw_from = raw_from(conn)?;
    let blocks: Vec<i64> = conn
        .prepare(concat!(
            "SELECT DISTINCT ",
            rowkey::block_number!("id"),
            " FROM chunks WHERE ",
            rowkey::block_number!("id"),
            "<=?1 ORDER BY 1"
        ))?
        .query_map([rowkey::number(before.saturating_sub(1))], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut gone = 0;
    let (mut points, mut buf) = (Vec::new(), Vec::new());
    for number in blocks {
        type Row = (i64, Vec<u8>, Option<Vec<u8>>);
        let rows: Vec<Row> = conn
            .prepare_cached(concat!(
                "SELECT ",
                chunk_columns!(),
                " WHERE ",
                rowkey::block_number!("c.id"),
                "=?1"
            ))?
            .query_map([number], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, data, times) in rows {
            let (series, block) = rowkey::parts(id);
            points.clear();
            decode_chunk(series, block, &data, times.as_deref(), &mut points)?;
            put_rollup(conn, series, block, &points, raw_from, &mut buf)?;
            let n = points.len();
            points.retain(|p| p.ts >= before);
            gone += n - points.len();
            put_chunk(conn, series, block, &points, &mut buf)?;
        }
    }
    // Windowed reads of older times come from the roll-ups from now on.
    conn.execute(
        "INSERT INTO meta(key, value) VALUES('raw_from', ?1) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
        [before],
    )?;
    Ok(head as usize + gone)
}

/// The time before which raw readings were deleted by retention (`i64::MIN` if never).
pub(crate) fn raw_from(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key='raw_from'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(i64::MIN))
}

/// Aggregates points (oldest first) into epoch-aligned windows stamped with their start: each
/// window `[start, start + every)` that holds a point gives one, empty windows none. Public so a
/// remote engine's reader can give the embedded store's figures exactly.
pub fn aggregate(points: &[Point], w: Window) -> Vec<Point> {
    let every = w.every_ms.max(1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let start = points[i].ts.div_euclid(every) * every;
        let end = start.saturating_add(every);
        let j = i + points[i..].partition_point(|p| p.ts < end);
        let win = &points[i..j];
        let value = match w.aggregate {
            Aggregate::Mean => win.iter().map(|p| p.value).sum::<f64>() / win.len() as f64,
            Aggregate::Min => win.iter().map(|p| p.value).fold(f64::INFINITY, f64::min),
            Aggregate::Max => win
                .iter()
                .map(|p| p.value)
                .fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Last => win[win.len() - 1].value,
        };
        out.push(Point { ts: start, value });
        i = j;
    }
    out
}

/// Moves a version-2 `samples` table (one row per sample) into chunks, series by series (such a
/// file has had no raw-retention cut in this format, so every roll-up comes from its readings).
pub(crate) fn migrate_rows(conn: &Connection) -> Result<usize> {
    let mut stmt =
        conn.prepare("SELECT series_id, ts, value FROM samples ORDER BY series_id, ts")?;
    let mut rows = stmt.query([])?;
    let (mut key, mut points, mut buf) = (None, Vec::new(), Vec::new());
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let (series, ts, value): (i64, i64, f64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let k = (series, block_of(ts));
        if key.is_some_and(|key| key != k) {
            let (s, b) = key.unwrap_or(k);
            put_block(conn, s, b, &points, i64::MIN, &mut buf)?;
            points.clear();
        }
        key = Some(k);
        points.push(Point { ts, value });
        n += 1;
    }
    if let Some((s, b)) = key {
        put_block(conn, s, b, &points, i64::MIN, &mut buf)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
