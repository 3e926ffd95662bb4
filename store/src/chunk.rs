//! Chunk encoding: one series' points over one block, a few bits each.
//!
//! Timestamps are stored as delta-of-delta (Gorilla): a device polled on a steady interval costs
//! one bit per point, wall-clock jitter of a few ms about eight. Values are stored one of two ways,
//! whichever the chunk allows:
//! - *decimal*: every value is an integer `k` scaled by 10^-d (what SNMP and Modbus meters report:
//!   tenths of an amp, hundredths of a kWh), so the chunk keeps `k`'s deltas, or its
//!   delta-of-deltas for counters rising steadily. The encoder checks that each value comes back
//!   bit for bit, with the same operation the collector used to scale it (multiply or divide).
//! - *XOR* (Gorilla): any other float, by its bits XORed with the previous value's.
//!
//! Layouts:
//! - version 1, times and values together: `1, varint n, zigzag t0 − base, mode, first value,
//!   varint length of the time stream, time stream, value stream`;
//! - version 2, values alone: `2, mode, first value, value stream`, with the times kept apart as
//!   `varint n, zigzag t0 − base, time stream`; version 3 the same with the value stream deflated
//!   (`varint length, deflate`); version 4, for decimal values, their residuals as zigzag varints
//!   (whole bytes, which deflate's codes take as symbols: a poll duration's few tenths of a ms,
//!   a utilisation that sits still then moves) deflated. A deflated form is kept only when it
//!   saves a fifth of the stream and 64 bytes. Every series of one device is read in the same
//!   polls, so a store keeps their times once: with timestamps off the grid (a collector's clock
//!   jitter), the times of each series otherwise cost more than its values.
//!
//! Decoding is bounded by the input: hostile bytes give an error, never a panic or an allocation
//! beyond `4 × len` points (`8 × len` of the times' length, when they are apart).

use std::cell::RefCell;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{self as inflate_core, DecompressorOxide, inflate_flags};

use crate::Point;

mod bits;

use bits::{BitReader, BitWriter, bucket_bits, unzigzag, zigzag};
pub(crate) use bits::{get_varint, put_varint};

/// Times and values together.
const VERSION: u8 = 1;
/// Values alone; the times are kept apart ([`encode_times`]).
const VERSION_APART: u8 = 2;
/// Values alone, their stream deflated.
const VERSION_DEFLATED: u8 = 3;
/// Values alone (decimal), their residuals as zigzag varints, deflated.
const VERSION_BYTES: u8 = 4;
/// The most bytes a residual takes as a varint.
const MAX_VARINT_BYTES: u64 = 10;
/// The most bits one value takes in a stream (an XOR with a new window).
const MAX_VALUE_BITS: u64 = 2 + 6 + 6 + 64;
const MAX_DECIMALS: u8 = 6;
/// Integers beyond 2^53 are not all representable as f64.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Bucket widths for a zigzagged delta-of-delta of timestamps (ms): jitter, seconds, minutes.
const TS_WIDTHS: [u32; 3] = [6, 12, 20];
/// Bucket widths for a zigzagged integer value delta.
const INT_WIDTHS: [u32; 3] = [6, 13, 24];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk is truncated")]
    Truncated,
    #[error("chunk format {0} is not known to this build")]
    Version(u8),
    #[error("chunk is malformed: {0}")]
    Malformed(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Xor,
    /// `k / 10^d`, or `k × 10^-d` (the collector's `raw × scale`).
    Decimal {
        d: u8,
        multiply: bool,
        predict: Predict,
    },
}

/// What each integer step is stored against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Predict {
    /// The step itself (a reading that wanders).
    Delta,
    /// The step before (a counter rising steadily).
    Dod,
    /// The time since the reading before, in seconds: an uptime or a clock, which advances with
    /// the poll's own time and so costs its jitter twice otherwise.
    Clock,
}

impl Values {
    fn byte(self) -> u8 {
        match self {
            Values::Xor => 0,
            Values::Decimal {
                d,
                multiply,
                predict,
            } => {
                1 | (u8::from(multiply) << 1)
                    | (u8::from(predict == Predict::Dod) << 2)
                    | (d << 3)
                    | (u8::from(predict == Predict::Clock) << 6)
            }
        }
    }

    fn from_byte(b: u8) -> Result<Values, ChunkError> {
        let d = (b >> 3) & 7;
        match b {
            0 => Ok(Values::Xor),
            b if b & 1 == 1 && b & 0x80 == 0 && d <= MAX_DECIMALS => Ok(Values::Decimal {
                d,
                multiply: b & 2 != 0,
                predict: match (b & 4 != 0, b & 0x40 != 0) {
                    (false, false) => Predict::Delta,
                    (true, false) => Predict::Dod,
                    (false, true) => Predict::Clock,
                    (true, true) => return Err(ChunkError::Malformed("two predictions")),
                },
            }),
            _ => Err(ChunkError::Malformed("unknown value mode")),
        }
    }
}

/// The step `predict` expects for integers at `d` decimals, after a step of `prev` and `dt` ms.
#[inline(always)]
fn predicted(predict: Predict, prev: i64, dt: i64, d: u8) -> i64 {
    match predict {
        Predict::Delta => 0,
        Predict::Dod => prev,
        // dt ms in units of 10^-d s, rounded; i128 so hostile times cannot overflow.
        Predict::Clock => ((i128::from(dt) * POW10[usize::from(d)] + 500).div_euclid(1000)) as i64,
    }
}

const POW10: [i128; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

const POW: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
const INV: [f64; 7] = [1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6];

fn scaled(k: i64, d: u8, multiply: bool) -> f64 {
    if multiply {
        k as f64 * INV[usize::from(d)]
    } else {
        k as f64 / POW[usize::from(d)]
    }
}

/// The integers behind `points` at `d` decimals, if every value comes back exactly.
fn decimal(points: &[Point], d: u8, multiply: bool, ks: &mut Vec<i64>) -> bool {
    ks.clear();
    let p = 10f64.powi(i32::from(d));
    for pt in points {
        let k = (pt.value * p).round();
        if k.is_nan() || k.abs() > MAX_EXACT {
            return false;
        }
        let k = k as i64;
        if scaled(k, d, multiply).to_bits() != pt.value.to_bits() {
            return false;
        }
        ks.push(k);
    }
    true
}

/// The fewest decimals `d` at which every value is an integer scaled by 10^-d (and whether by
/// multiplying), if there are any.
pub fn decimals(points: &[Point]) -> Option<u8> {
    decimal_mode(points, &mut Vec::new()).map(|(d, _)| d)
}

/// The fewest decimals and the scaling (multiply first) that give every value back exactly,
/// with the integers left in `ks`.
fn decimal_mode(points: &[Point], ks: &mut Vec<i64>) -> Option<(u8, bool)> {
    (0..=MAX_DECIMALS)
        .flat_map(|d| [(d, true), (d, false)])
        .find(|&(d, multiply)| decimal(points, d, multiply, ks))
}

/// Encodes points with strictly increasing timestamps into `out` (appended), times and values
/// together. Times are stored relative to `base` (the block's start), so the first costs three or
/// four bytes, not six.
pub fn encode(points: &[Point], base: i64, out: &mut Vec<u8>) {
    debug_assert!(points.windows(2).all(|w| w[0].ts < w[1].ts));
    out.push(VERSION);
    put_varint(out, points.len() as u64);
    let Some(first) = points.first() else {
        return;
    };
    put_varint(out, zigzag(first.ts.wrapping_sub(base)));
    let mut ks = Vec::new();
    let mode = put_first_value(points, &mut ks, out);
    // Times, then values, each its own bit stream (the first prefixed by its length), so each
    // decodes in a tight loop of its own.
    let mut times = Vec::with_capacity(points.len() / 4 + 8);
    put_time_stream(points, &mut times);
    put_varint(out, times.len() as u64);
    out.extend_from_slice(&times);
    put_value_stream(points, mode, &ks, out);
}

/// The times of `points` alone: `varint n, zigzag t0 − base, time stream`. Every series read in
/// one poll has the same times, so a store keeps them once for all of them ([`encode_values`]).
pub fn encode_times(points: &[Point], base: i64, out: &mut Vec<u8>) {
    debug_assert!(points.windows(2).all(|w| w[0].ts < w[1].ts));
    put_varint(out, points.len() as u64);
    if let Some(first) = points.first() {
        put_varint(out, zigzag(first.ts.wrapping_sub(base)));
        put_time_stream(points, out);
    }
}

/// The values of `points` alone, for times kept apart by [`encode_times`]: `version 2, mode,
/// first value, value stream`, or `version 3, mode, first value, varint length of the stream,
/// the stream deflated`, or `version 4, mode, first value, varint length of the residuals as
/// varints, those deflated`, whichever deflated form is smaller when it saves a fifth of the
/// stream and 64 bytes. Empty for no points.
pub fn encode_values(points: &[Point], out: &mut Vec<u8>) {
    if points.is_empty() {
        return;
    }
    let at = out.len();
    out.push(VERSION_APART);
    let mut ks = Vec::new();
    let mode = put_first_value(points, &mut ks, out);
    let mut stream = Vec::with_capacity(points.len() / 2 + 8);
    put_value_stream(points, mode, &ks, &mut stream);
    // Deflate finds what the bit codes do not: repeating steps (a meter's energy rising 6, 6, 7
    // hundredths), runs of zero bits (a constant series costs a bit a point before it), and, on
    // whole-byte residuals, a small alphabet of values (its Huffman codes).
    let mut best = (VERSION_DEFLATED, stream.len(), deflate(&stream));
    if let Values::Decimal { d, predict, .. } = mode {
        let mut bytes = Vec::with_capacity(points.len());
        for_each_residual(points, &ks, predict, d, |x| {
            put_varint(&mut bytes, zigzag(x))
        });
        let packed = deflate(&bytes);
        if packed.len() < best.2.len() {
            best = (VERSION_BYTES, bytes.len(), packed);
        }
    }
    let (version, raw, packed) = best;
    let mut len = Vec::new();
    put_varint(&mut len, raw as u64);
    let size = len.len() + packed.len();
    // Only a clear saving: inflating costs a few microseconds a chunk (its code tables), which
    // doubled the time to read a year of meters when every stream that shrank was deflated.
    if 5 * size <= 4 * stream.len() && size + 64 <= stream.len() {
        out[at] = version;
        out.extend_from_slice(&len);
        out.extend_from_slice(&packed);
    } else {
        out.extend_from_slice(&stream);
    }
}

fn deflate(stream: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(stream, 6)
}

/// Chooses how the values are stored, writes the mode and the first value; the integers (for a
/// decimal mode) are left in `ks`.
fn put_first_value(points: &[Point], ks: &mut Vec<i64>, out: &mut Vec<u8>) -> Values {
    let mode = decimal_mode(points, ks).map_or(Values::Xor, |(d, multiply)| Values::Decimal {
        d,
        multiply,
        // Counters rise by about the same step each poll: their second difference is small.
        predict: [Predict::Delta, Predict::Dod, Predict::Clock]
            .into_iter()
            .min_by_key(|&p| int_bits(points, ks, p, d))
            .unwrap_or(Predict::Delta),
    });
    out.push(mode.byte());
    match mode {
        Values::Xor => out.extend_from_slice(&points[0].value.to_bits().to_le_bytes()),
        Values::Decimal { .. } => put_varint(out, zigzag(ks[0])),
    }
    mode
}

fn put_time_stream(points: &[Point], out: &mut Vec<u8>) {
    let mut w = BitWriter::new(out);
    let (mut prev_ts, mut prev_delta) = (points[0].ts, 0i64);
    for p in &points[1..] {
        let delta = p.ts.wrapping_sub(prev_ts);
        w.bucketed(zigzag(delta.wrapping_sub(prev_delta)), &TS_WIDTHS);
        (prev_ts, prev_delta) = (p.ts, delta);
    }
    w.finish();
}

fn put_value_stream(points: &[Point], mode: Values, ks: &[i64], out: &mut Vec<u8>) {
    let mut w = BitWriter::new(out);
    match mode {
        Values::Xor => {
            let mut xor = XorState::new(points[0].value.to_bits());
            for p in &points[1..] {
                xor.put(&mut w, p.value.to_bits());
            }
        }
        Values::Decimal { d, predict, .. } => {
            for_each_residual(points, ks, predict, d, |x| {
                w.bucketed(zigzag(x), &INT_WIDTHS)
            });
        }
    }
    w.finish();
}

/// Calls `f` with each integer step less what `predict` expected.
fn for_each_residual(
    points: &[Point],
    ks: &[i64],
    predict: Predict,
    d: u8,
    mut f: impl FnMut(i64),
) {
    let mut prev_kd = 0i64;
    for (k, p) in ks.windows(2).zip(points.windows(2)) {
        let kd = k[1].wrapping_sub(k[0]);
        let dt = p[1].ts.wrapping_sub(p[0].ts);
        f(kd.wrapping_sub(predicted(predict, prev_kd, dt, d)));
        prev_kd = kd;
    }
}

/// Bits the integer stream would take with `predict`.
fn int_bits(points: &[Point], ks: &[i64], predict: Predict, d: u8) -> u64 {
    let mut bits = 0;
    for_each_residual(points, ks, predict, d, |x| {
        bits += u64::from(bucket_bits(zigzag(x), &INT_WIDTHS));
    });
    bits
}

/// Appends the chunk's points to `out`; `base` as given to [`encode`] or [`encode_times`].
/// `times` is the chunk's times when they are kept apart ([`encode_values`]'s chunks need them).
pub fn decode(
    data: &[u8],
    base: i64,
    times: Option<&[u8]>,
    out: &mut Vec<Point>,
) -> Result<(), ChunkError> {
    let mut r = data;
    match r.first() {
        None => Err(ChunkError::Truncated),
        Some(&VERSION) => {
            r = &r[1..];
            // Every point after the first takes at least two bits: one of time, one of value.
            let most = 4 * data.len() as u64 + 1;
            let Some((n, t0)) = count_and_start(&mut r, most, base)? else {
                return Ok(());
            };
            let (mode, v0, k) = first_value(&mut r)?;
            let len = get_varint(&mut r)?;
            if len > r.len() as u64 {
                return Err(ChunkError::Truncated);
            }
            let (stream, values) = r.split_at(len as usize);
            let start = out.len();
            read_times(stream, n, t0, out)?;
            read_values(values, mode, v0, k, &mut out[start..], Packing::Bits)
        }
        Some(&version @ (VERSION_APART | VERSION_DEFLATED | VERSION_BYTES)) => {
            let mut t = times.ok_or(ChunkError::Malformed("chunk's times are missing"))?;
            // Every point after the first takes at least one bit of time.
            let most = 8 * t.len() as u64 + 1;
            let Some((n, t0)) = count_and_start(&mut t, most, base)? else {
                return Err(ChunkError::Malformed("values for no times"));
            };
            r = &r[1..];
            let (mode, v0, k) = first_value(&mut r)?;
            let start = out.len();
            read_times(t, n, t0, out)?;
            let (most, packing) = match version {
                VERSION_DEFLATED => ((n * MAX_VALUE_BITS).div_ceil(8), Packing::Bits),
                VERSION_BYTES => (n * MAX_VARINT_BYTES, Packing::Bytes),
                _ => return read_values(r, mode, v0, k, &mut out[start..], Packing::Bits),
            };
            let len = get_varint(&mut r)?;
            if len > most {
                return Err(ChunkError::Malformed("value stream longer than its points"));
            }
            inflate(r, len as usize, |stream| {
                read_values(stream, mode, v0, k, &mut out[start..], packing)
            })
        }
        Some(&v) => Err(ChunkError::Version(v)),
    }
}

thread_local! {
    /// A decompressor and its output, kept: a chunk inflates in a microsecond or two, and a new
    /// decompressor (11 kB to zero) for each of a year's chunks doubled the time to read them.
    static INFLATE: RefCell<(Box<DecompressorOxide>, Vec<u8>)> = RefCell::default();
}

/// Inflates `packed`, which must give exactly `len` bytes, and hands them to `f`.
fn inflate(
    packed: &[u8],
    len: usize,
    f: impl FnOnce(&[u8]) -> Result<(), ChunkError>,
) -> Result<(), ChunkError> {
    INFLATE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (d, out) = &mut *cell;
        d.init();
        out.clear();
        out.resize(len, 0);
        let (status, _, n) = inflate_core::decompress(
            d,
            packed,
            out,
            0,
            inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        if status != TINFLStatus::Done || n != len {
            return Err(ChunkError::Malformed(
                "deflated values do not inflate to their length",
            ));
        }
        f(out)
    })
}

/// Reads `varint n, zigzag t0 − base`: `None` for no points. `n` is at most `most`.
fn count_and_start(r: &mut &[u8], most: u64, base: i64) -> Result<Option<(u64, i64)>, ChunkError> {
    let n = get_varint(r)?;
    if n == 0 {
        return Ok(None);
    }
    if n > most {
        return Err(ChunkError::Malformed("more points than the chunk can hold"));
    }
    Ok(Some((n, unzigzag(get_varint(r)?).wrapping_add(base))))
}

fn first_value(r: &mut &[u8]) -> Result<(Values, f64, i64), ChunkError> {
    let (&mode, rest) = r.split_first().ok_or(ChunkError::Truncated)?;
    *r = rest;
    let mode = Values::from_byte(mode)?;
    Ok(match mode {
        Values::Xor => {
            let (b, rest) = r.split_first_chunk::<8>().ok_or(ChunkError::Truncated)?;
            *r = rest;
            (mode, f64::from_bits(u64::from_le_bytes(*b)), 0)
        }
        Values::Decimal { d, multiply, .. } => {
            let k = unzigzag(get_varint(r)?);
            (mode, scaled(k, d, multiply), k)
        }
    })
}

/// Pushes `n` points from `t0` and the time stream, values zero (filled by [`read_values`]).
fn read_times(stream: &[u8], n: u64, t0: i64, out: &mut Vec<Point>) -> Result<(), ChunkError> {
    out.reserve(n as usize);
    out.push(Point { ts: t0, value: 0.0 });
    // Steady polling and steady counters are runs of zero bits: taken a run at a time.
    let mut rd = BitReader::new(stream);
    let (mut ts, mut delta) = (t0, 0i64);
    let mut left = n - 1;
    while left > 0 {
        let run = u64::from(rd.zeros()).min(left);
        if run > 0 {
            rd.skip(run as u32);
            for _ in 0..run {
                ts = ts.wrapping_add(delta);
                out.push(Point { ts, value: 0.0 });
            }
            left -= run;
            continue;
        }
        delta = delta.wrapping_add(unzigzag(rd.bucketed(&TS_WIDTHS)?));
        ts = ts.wrapping_add(delta);
        out.push(Point { ts, value: 0.0 });
        left -= 1;
    }
    Ok(())
}

/// How a value stream holds its residuals.
#[derive(Clone, Copy)]
enum Packing {
    /// Bucketed bit codes ([`INT_WIDTHS`]), or XOR windows.
    Bits,
    /// Zigzag varints (decimal values only).
    Bytes,
}

/// Fills the values of `points` (the first is `v0`) from the value stream.
fn read_values(
    stream: &[u8],
    mode: Values,
    v0: f64,
    k: i64,
    points: &mut [Point],
    packing: Packing,
) -> Result<(), ChunkError> {
    let Some((first, rest)) = points.split_first_mut() else {
        return Ok(());
    };
    first.value = v0;
    let t0 = first.ts;
    match (mode, packing) {
        (Values::Xor, Packing::Bits) => {
            let mut rd = BitReader::new(stream);
            let mut xor = XorState::new(v0.to_bits());
            for p in rest {
                p.value = f64::from_bits(xor.get(&mut rd)?);
            }
            Ok(())
        }
        (Values::Xor, Packing::Bytes) => Err(ChunkError::Malformed("XOR values as varints")),
        (
            Values::Decimal {
                d,
                multiply,
                predict,
            },
            Packing::Bits,
        ) => {
            let mut rd = BitReader::new(stream);
            let next = || Ok(unzigzag(rd.bucketed(&INT_WIDTHS)?));
            read_decimals(next, rest, t0, k, d, multiply, predict)
        }
        (
            Values::Decimal {
                d,
                multiply,
                predict,
            },
            Packing::Bytes,
        ) => {
            let mut r = stream;
            let next = || Ok(unzigzag(get_varint(&mut r)?));
            read_decimals(next, rest, t0, k, d, multiply, predict)
        }
    }
}

/// Decimal values from their residuals (`next`). One loop per scaling and prediction, so no
/// choice is made per point.
fn read_decimals(
    mut next: impl FnMut() -> Result<i64, ChunkError>,
    rest: &mut [Point],
    t0: i64,
    k: i64,
    d: u8,
    multiply: bool,
    predict: Predict,
) -> Result<(), ChunkError> {
    let i = usize::from(d);
    let n = &mut next;
    match (multiply, predict) {
        (true, Predict::Delta) => ints(n, rest, t0, k, d, Predict::Delta, |k| k as f64 * INV[i]),
        (true, Predict::Dod) => ints(n, rest, t0, k, d, Predict::Dod, |k| k as f64 * INV[i]),
        (true, Predict::Clock) => ints(n, rest, t0, k, d, Predict::Clock, |k| k as f64 * INV[i]),
        (false, Predict::Delta) => ints(n, rest, t0, k, d, Predict::Delta, |k| k as f64 / POW[i]),
        (false, Predict::Dod) => ints(n, rest, t0, k, d, Predict::Dod, |k| k as f64 / POW[i]),
        (false, Predict::Clock) => ints(n, rest, t0, k, d, Predict::Clock, |k| k as f64 / POW[i]),
    }
}

/// `predict` is a constant at each call, so each loop is compiled for one prediction.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn ints(
    next: &mut impl FnMut() -> Result<i64, ChunkError>,
    rest: &mut [Point],
    mut ts: i64,
    mut k: i64,
    d: u8,
    predict: Predict,
    scale: impl Fn(i64) -> f64,
) -> Result<(), ChunkError> {
    let mut kd = 0i64;
    for p in rest {
        let x = next()?;
        kd = predicted(predict, kd, p.ts.wrapping_sub(ts), d).wrapping_add(x);
        ts = p.ts;
        k = k.wrapping_add(kd);
        p.value = scale(k);
    }
    Ok(())
}

/// Gorilla's XOR state: the window of meaningful bits the previous value used.
struct XorState {
    prev: u64,
    leading: u32,
    trailing: u32,
}

impl XorState {
    fn new(first: u64) -> XorState {
        XorState {
            prev: first,
            leading: u32::MAX,
            trailing: 0,
        }
    }

    fn put(&mut self, w: &mut BitWriter<'_>, bits: u64) {
        let x = bits ^ self.prev;
        self.prev = bits;
        if x == 0 {
            w.put(0, 1);
            return;
        }
        let (lead, trail) = (x.leading_zeros().min(63), x.trailing_zeros());
        if self.leading != u32::MAX && lead >= self.leading && trail >= self.trailing {
            w.put(0b10, 2);
            w.put(x >> self.trailing, 64 - self.leading - self.trailing);
        } else {
            let len = 64 - lead - trail;
            w.put(0b11, 2);
            w.put(u64::from(lead), 6);
            w.put(u64::from(len - 1), 6);
            w.put(x >> trail, len);
            (self.leading, self.trailing) = (lead, trail);
        }
    }

    fn get(&mut self, r: &mut BitReader<'_>) -> Result<u64, ChunkError> {
        if r.get(1)? == 1 {
            if r.get(1)? == 1 {
                let lead = r.get(6)? as u32;
                let len = r.get(6)? as u32 + 1;
                if lead + len > 64 {
                    return Err(ChunkError::Malformed("XOR window past 64 bits"));
                }
                (self.leading, self.trailing) = (lead, 64 - lead - len);
            } else if self.leading == u32::MAX {
                return Err(ChunkError::Malformed("XOR window reused before set"));
            }
            let x = r.get(64 - self.leading - self.trailing)? << self.trailing;
            self.prev ^= x;
        }
        Ok(self.prev)
    }
}

#[cfg(test)]
mod tests;
