//! Five-minute roll-ups: each series' count, sum, minimum, maximum and last reading per five
//! minutes. Compaction writes them beside the chunks, and they outlive the raw readings (each
//! tier has its own retention), so a month from years ago still has its mean, peaks and troughs.
//!
//! Sums and counts rather than means: a window of any multiple of five minutes then aggregates
//! exactly as it would from the raw readings.

use crate::chunk::{self, ChunkError};
use crate::{Aggregate, Point, Window};

pub const STEP_MS: i64 = 300_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub start: i64,
    pub count: u32,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
}

/// The five-minute buckets of points (oldest first).
pub fn buckets(points: &[Point]) -> Vec<Bucket> {
    let mut out = sums(points);
    // Readings that are decimals (tenths of an amp) sum to a decimal: rounding the float sum to
    // that grid removes only addition's rounding error, and lets the sums column store as
    // integers (a byte or two) instead of as arbitrary floats (six to eight).
    if let Some(d) = chunk::decimals(points) {
        let p = 10f64.powi(i32::from(d));
        for b in &mut out {
            let k = (b.sum * p).round();
            if k.abs() < 9.0e15 {
                b.sum = k / p;
            }
        }
    }
    out
}

fn sums(points: &[Point]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    for p in points {
        let start = p.ts.div_euclid(STEP_MS).saturating_mul(STEP_MS);
        match out.last_mut() {
            Some(b) if b.start == start => {
                b.count += 1;
                b.sum += p.value;
                b.min = b.min.min(p.value);
                b.max = b.max.max(p.value);
                b.last = p.value;
            }
            _ => out.push(Bucket {
                start,
                count: 1,
                sum: p.value,
                min: p.value,
                max: p.value,
                last: p.value,
            }),
        }
    }
    out
}

/// Five columns, each a chunk over the bucket starts: counts, sums, minima, maxima, last values.
pub fn encode(buckets: &[Bucket], base: i64, out: &mut Vec<u8>) {
    let columns: [fn(&Bucket) -> f64; 5] = [
        |b| f64::from(b.count),
        |b| b.sum,
        |b| b.min,
        |b| b.max,
        |b| b.last,
    ];
    let mut col = Vec::new();
    let mut points = Vec::with_capacity(buckets.len());
    for f in columns {
        points.clear();
        points.extend(buckets.iter().map(|b| Point {
            ts: b.start,
            value: f(b),
        }));
        col.clear();
        chunk::encode(&points, base, &mut col);
        chunk::put_varint(out, col.len() as u64);
        out.extend_from_slice(&col);
    }
}

pub fn decode(mut data: &[u8], base: i64, out: &mut Vec<Bucket>) -> Result<(), ChunkError> {
    let mut cols: [Vec<Point>; 5] = Default::default();
    for col in &mut cols {
        let len = chunk::get_varint(&mut data)?;
        if len > data.len() as u64 {
            return Err(ChunkError::Truncated);
        }
        let (this, rest) = data.split_at(len as usize);
        chunk::decode(this, base, None, col)?;
        data = rest;
    }
    let [counts, sums, mins, maxs, lasts] = &cols;
    if cols.iter().any(|c| c.len() != counts.len()) {
        return Err(ChunkError::Malformed("roll-up columns differ in length"));
    }
    for i in 0..counts.len() {
        if [&sums[i], &mins[i], &maxs[i], &lasts[i]]
            .iter()
            .any(|p| p.ts != counts[i].ts)
        {
            return Err(ChunkError::Malformed("roll-up columns differ in time"));
        }
        out.push(Bucket {
            start: counts[i].ts,
            count: counts[i].value as u32,
            sum: sums[i].value,
            min: mins[i].value,
            max: maxs[i].value,
            last: lasts[i].value,
        });
    }
    Ok(())
}

/// Aggregates buckets (oldest first) into windows of a multiple of five minutes, stamped with
/// their start, as [`crate::samples::aggregate`] does from raw readings.
pub fn aggregate(buckets: &[Bucket], w: Window) -> Vec<Point> {
    let every = w.every_ms.max(1);
    let mut out: Vec<Point> = Vec::new();
    let mut i = 0;
    while i < buckets.len() {
        let start = buckets[i].start.div_euclid(every).saturating_mul(every);
        let end = start.saturating_add(every);
        let j = i + buckets[i..].partition_point(|b| b.start < end);
        let win = &buckets[i..j];
        let value = match w.aggregate {
            Aggregate::Mean => {
                win.iter().map(|b| b.sum).sum::<f64>()
                    / win.iter().map(|b| f64::from(b.count)).sum::<f64>()
            }
            Aggregate::Min => win.iter().map(|b| b.min).fold(f64::INFINITY, f64::min),
            Aggregate::Max => win.iter().map(|b| b.max).fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Last => win[win.len() - 1].last,
        };
        out.push(Point { ts: start, value });
        i = j;
    }
    out
}

/// Whether a window can be served from roll-ups.
pub fn serves(w: Window) -> bool {
    w.every_ms >= STEP_MS && w.every_ms % STEP_MS == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn windows_from_roll_ups_equal_windows_from_raw_readings() {
        // Two hours of 10 s readings of a UPS load in tenths of a kW, with a gap.
        let points: Vec<Point> = (0..720i64)
            .filter(|i| !(200..260).contains(i))
            .map(|i| Point {
                ts: 1_767_225_600_000 + i * 10_000 + i % 3,
                value: (400 + (i * 37) % 90) as f64 * 0.1,
            })
            .collect();
        let b = buckets(&points);
        let mut buf = Vec::new();
        encode(&b, 1_767_225_600_000, &mut buf);
        let mut back = Vec::new();
        decode(&buf, 1_767_225_600_000, &mut back).unwrap();
        assert_eq!(back, b);
        for every in [STEP_MS, 3 * STEP_MS, 12 * STEP_MS] {
            for agg in [
                Aggregate::Mean,
                Aggregate::Min,
                Aggregate::Max,
                Aggregate::Last,
            ] {
                let w = Window {
                    every_ms: every,
                    aggregate: agg,
                };
                let raw = samples::aggregate(&points, w);
                let rolled = aggregate(&back, w);
                assert_eq!(raw.len(), rolled.len());
                for (r, u) in raw.iter().zip(&rolled) {
                    assert_eq!(r.ts, u.ts);
                    assert!((r.value - u.value).abs() < 1e-9, "{w:?}: {r:?} {u:?}");
                }
            }
        }
        // 24 five-minute buckets in two hours, less the one wholly inside the ten-minute gap
        // (readings stop at 33:10 and resume at 43:20).
        assert_eq!(back.len(), 23);
    }

    #[test]
    fn damaged_roll_ups_are_errors() {
        let mut out = Vec::new();
        assert!(decode(&[5, 1, 2], 0, &mut out).is_err());
        assert!(decode(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 0, &mut out).is_err());
    }
}
