//! Turning what a driver read into samples. Pure: no I/O, no clock; the target of golden tests.

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::model::{Sample, Series};
use kilowatch_core::profile::{Aggregate, Match, RegisterType, WordOrder};

use crate::plan::{ModbusPlan, Plan, PlanKind, SnmpPlan, SnmpSource};

/// An SNMP value, owned, as the driver received it.
#[derive(Debug, Clone, PartialEq)]
pub enum SnmpValue {
    Int(i64),
    Unsigned(u64),
    Bytes(Vec<u8>),
    Oid(Vec<u32>),
    /// noSuchObject, noSuchInstance or endOfMibView.
    Missing(&'static str),
    Other(&'static str),
}

impl SnmpValue {
    /// The number a value carries. Some agents send numbers as strings ("0.375000"), and
    /// net-snmp sends floats as Opaque-wrapped BER floats.
    pub fn as_f64(&self) -> Result<f64, String> {
        match self {
            SnmpValue::Int(i) => Ok(*i as f64),
            SnmpValue::Unsigned(u) => Ok(*u as f64),
            SnmpValue::Bytes(b) => {
                if let Some(f) = opaque_float(b) {
                    return Ok(f);
                }
                std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        format!(
                            "string value '{}' is not a number",
                            String::from_utf8_lossy(b)
                                .chars()
                                .take(32)
                                .collect::<String>()
                        )
                    })
            }
            SnmpValue::Oid(_) => Err("value is an OID, not a number".into()),
            SnmpValue::Missing(what) => Err((*what).into()),
            SnmpValue::Other(what) => Err(format!("value of type {what} is not a number")),
        }
    }
}

/// Opaque-wrapped float (`9f 78 04 <f32>`) or double (`9f 79 08 <f64>`), as net-snmp's UCD-MIB sends.
fn opaque_float(b: &[u8]) -> Option<f64> {
    match b {
        [0x9f, 0x78, 0x04, rest @ ..] if rest.len() == 4 => Some(f64::from(f32::from_be_bytes([
            rest[0], rest[1], rest[2], rest[3],
        ]))),
        [0x9f, 0x79, 0x08, rest @ ..] if rest.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(rest);
            Some(f64::from_be_bytes(a))
        }
        _ => None,
    }
}

/// What a driver read for one plan.
#[derive(Debug, Clone)]
pub enum Readings {
    Snmp {
        /// One per `SnmpPlan::gets`.
        gets: Vec<SnmpValue>,
        /// One per `SnmpPlan::walks`: (row index suffix, value).
        walks: Vec<Vec<(Vec<u32>, SnmpValue)>>,
    },
    Modbus {
        /// One per `ModbusPlan::blocks`: the words, or why the block failed (exception).
        blocks: Vec<Result<Vec<u16>, String>>,
    },
}

/// Series of table rows, created on first sight and reused on every later poll: by entry, then
/// row index (looked up by slice, so a poll allocates nothing for rows it has seen).
#[derive(Debug, Default)]
pub struct RowSeries {
    map: HashMap<usize, HashMap<Vec<u32>, Arc<Series>>>,
}

/// Decodes readings into samples; `problems` gets one line per value that could not be used.
pub fn decode(
    plan: &Plan,
    readings: &Readings,
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
) {
    decode_inner(plan, readings, rows, out, problems, None);
}

/// As [`decode`], and `sources` gets, for each sample, what it was read from: the full OID, or
/// `input 52` / `holding 3` for a Modbus register. For `probe` and fixture tests.
pub fn decode_traced(
    plan: &Plan,
    readings: &Readings,
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    sources: &mut Vec<String>,
) {
    decode_inner(plan, readings, rows, out, problems, Some(sources));
}

fn decode_inner(
    plan: &Plan,
    readings: &Readings,
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    sources: Option<&mut Vec<String>>,
) {
    let mut trace = Trace(sources);
    match (&plan.kind, readings) {
        (PlanKind::Snmp(p), Readings::Snmp { gets, walks }) => {
            decode_snmp(plan, p, gets, walks, rows, out, problems, &mut trace)
        }
        (PlanKind::Modbus(p), Readings::Modbus { blocks }) => {
            decode_modbus(p, blocks, out, problems, &mut trace)
        }
        _ => problems.push("readings do not match the plan's protocol".into()),
    }
    // One column can feed several entries (a sum and its rows): name each bad value once.
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert(p.clone()));
}

/// Records sources only when asked: the polling hot path builds no strings.
struct Trace<'a>(Option<&'a mut Vec<String>>);

impl Trace<'_> {
    fn push(&mut self, source: impl FnOnce() -> String) {
        if let Some(v) = self.0.as_mut() {
            v.push(source());
        }
    }
}

#[allow(clippy::too_many_arguments)] // one call site; the pieces are what decoding needs
fn decode_snmp(
    plan: &Plan,
    p: &SnmpPlan,
    gets: &[SnmpValue],
    walks: &[Vec<(Vec<u32>, SnmpValue)>],
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    trace: &mut Trace<'_>,
) {
    for (i, e) in p.entries.iter().enumerate() {
        match e.source {
            SnmpSource::Get(g) => {
                let Some(v) = gets.get(g) else { continue };
                match v.as_f64() {
                    Ok(x) if e.invalid.contains(&x) => {}
                    Ok(x) => {
                        let Some(x) = divide(x, e.divisor.and_then(|d| cell(d, gets, walks, &[])))
                        else {
                            continue;
                        };
                        if push(out, p.series[i].as_ref(), e.field, x * e.scale + e.offset) {
                            trace.push(|| dotted(&p.gets[g]));
                        }
                    }
                    Err(err) => problems.push(format!("{} {}: {err}", e.field, dotted(&p.gets[g]))),
                }
            }
            SnmpSource::Walk(w) => {
                let Some(table) = walks.get(w) else { continue };
                let mut values = Vec::with_capacity(table.len());
                let names = e.names.and_then(|n| walks.get(n));
                let selector = e
                    .where_column
                    .as_ref()
                    .and_then(|(c, vals)| walks.get(*c).map(|col| (col, vals)));
                for (index, v) in table {
                    let Some(row) = index.strip_suffix(e.index_suffix.as_slice()) else {
                        continue;
                    };
                    if row.is_empty() && !e.index_suffix.is_empty() {
                        continue;
                    }
                    if !e.name_contains.is_empty() {
                        let name = names
                            .and_then(|n| row_name(n, row))
                            .unwrap_or_default()
                            .to_lowercase();
                        if !e
                            .name_contains
                            .iter()
                            .any(|want| name.contains(want.as_str()))
                        {
                            continue;
                        }
                    }
                    if let Some((col, wanted)) = selector {
                        let value = col
                            .iter()
                            .find(|(i, _)| i.as_slice() == row)
                            .map(|(_, v)| v);
                        if !value.is_some_and(|v| wanted.iter().any(|w| matches(v, w))) {
                            continue;
                        }
                    }
                    match v.as_f64() {
                        Ok(x) if e.invalid.contains(&x) => {}
                        Ok(x) => {
                            let divisor = e.divisor.and_then(|d| cell(d, gets, walks, row));
                            let Some(stated) = stated_unit(e, walks, row) else {
                                continue;
                            };
                            if let Some(x) = divide(x, divisor) {
                                values.push((row, index, x * stated * e.scale + e.offset));
                            }
                        }
                        Err(err) => problems.push(format!(
                            "{} {}.{}: {err}",
                            e.field,
                            dotted(&p.walks[w]),
                            dotted(index)
                        )),
                    }
                }
                if let Some(agg) = e.aggregate {
                    // A device without this column (zero rows) simply does not report it.
                    if values.is_empty() {
                        continue;
                    }
                    let xs = values.iter().map(|(_, _, x)| *x);
                    let v = match agg {
                        Aggregate::Sum => xs.sum(),
                        Aggregate::Mean => xs.sum::<f64>() / values.len() as f64,
                        Aggregate::Max => xs.fold(f64::NEG_INFINITY, f64::max),
                    };
                    if push(out, p.series[i].as_ref(), e.field, v) {
                        trace.push(|| dotted(&p.walks[w]));
                    }
                } else {
                    let prefix = e.point_prefix.as_deref().unwrap_or_default();
                    for (row, index, x) in values {
                        if !x.is_finite() {
                            continue;
                        }
                        let known = rows.map.entry(i).or_default();
                        let series = match known.get(row) {
                            Some(s) => s,
                            None => {
                                let name = names.and_then(|n| row_name(n, row));
                                let point = match name {
                                    Some(name) => format!("{prefix}{name}"),
                                    None => format!("{prefix}{}", dotted(row)),
                                };
                                let s = plan.series(e.field, Some(point.into()));
                                known.entry(row.to_vec()).or_insert(s)
                            }
                        };
                        out.push(Sample {
                            series: series.clone(),
                            field: e.field,
                            value: x,
                        });
                        trace.push(|| format!("{}.{}", dotted(&p.walks[w]), dotted(index)));
                    }
                }
            }
        }
    }
}

/// The divisor's value: the GET, or the same row of the divisor column.
fn cell(
    d: SnmpSource,
    gets: &[SnmpValue],
    walks: &[Vec<(Vec<u32>, SnmpValue)>],
    row: &[u32],
) -> Option<f64> {
    let v = match d {
        SnmpSource::Get(g) => gets.get(g),
        SnmpSource::Walk(w) => walks
            .get(w)?
            .iter()
            .find(|(i, _)| i.as_slice() == row)
            .map(|(_, v)| v),
    }?;
    v.as_f64().ok()
}

/// `x / divisor`, when a divisor is configured; a missing or zero divisor drops the value
/// (a zero-size storage row has no utilisation).
/// The factor a row's own unit columns state (ENTITY-SENSOR-MIB style: decimal places and an SI
/// prefix); 1 without them. `None` when a column the profile names holds no sane value for the
/// row: better no reading than one a thousand times off.
fn stated_unit(
    e: &crate::plan::SnmpEntry,
    walks: &[Vec<(Vec<u32>, SnmpValue)>],
    row: &[u32],
) -> Option<f64> {
    let mut factor = 1.0;
    if let Some(c) = e.precision {
        let places = cell(SnmpSource::Walk(c), &[], walks, row)?;
        if !(-8.0..=9.0).contains(&places) {
            return None;
        }
        factor /= 10f64.powi(places as i32);
    }
    if let Some(c) = e.si_prefix {
        // SensorDataScale: yocto(1) .. units(9) .. yotta(17), steps of 10^3.
        let code = cell(SnmpSource::Walk(c), &[], walks, row)?;
        if !(1.0..=17.0).contains(&code) {
            return None;
        }
        factor *= 10f64.powi(3 * (code as i32 - 9));
    }
    Some(factor)
}

fn divide(x: f64, divisor: Option<f64>) -> Option<f64> {
    match divisor {
        None => Some(x),
        Some(d) if d != 0.0 && d.is_finite() => Some(x / d),
        Some(_) => None,
    }
}

/// Whether a cell holds `want`: numbers compare as numbers, text against an OID value (dotted,
/// leading dot optional) or a string.
fn matches(v: &SnmpValue, want: &Match) -> bool {
    match (want, v) {
        (Match::Number(n), v) => v.as_f64().is_ok_and(|x| x == *n),
        (Match::Text(t), SnmpValue::Oid(o)) => dotted(o) == t.trim_start_matches('.'),
        (Match::Text(t), SnmpValue::Bytes(b)) => String::from_utf8_lossy(b).trim() == t.as_str(),
        _ => false,
    }
}

/// The name a device gives a row, from its name column; blank names fall back to the index,
/// and a name several rows share gets the row's index appended so each row keeps its own series.
fn row_name(names: &[(Vec<u32>, SnmpValue)], row: &[u32]) -> Option<String> {
    let clean = |v: &SnmpValue| match v {
        SnmpValue::Bytes(b) => {
            let s = String::from_utf8_lossy(b)
                .trim()
                .replace(['\n', '\r', ','], " ");
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    };
    let name = names
        .iter()
        .find(|(i, _)| i.as_slice() == row)
        .and_then(|(_, v)| clean(v))?;
    let shared = names
        .iter()
        .filter(|(_, v)| clean(v).as_deref() == Some(name.as_str()))
        .count()
        > 1;
    Some(if shared {
        format!("{name}#{}", dotted(row))
    } else {
        name
    })
}

fn push(
    out: &mut Vec<Sample>,
    series: Option<&Arc<Series>>,
    field: kilowatch_core::model::Field,
    value: f64,
) -> bool {
    match series {
        Some(s) if value.is_finite() => {
            out.push(Sample {
                series: s.clone(),
                field,
                value,
            });
            true
        }
        _ => false,
    }
}

fn decode_modbus(
    p: &ModbusPlan,
    blocks: &[Result<Vec<u16>, String>],
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    trace: &mut Trace<'_>,
) {
    for e in &p.entries {
        let block = &p.blocks[e.block];
        let address = u32::from(block.start) + u32::from(e.offset);
        let words = match blocks.get(e.block) {
            Some(Ok(w)) => w,
            Some(Err(err)) => {
                problems.push(format!("{} register {address}: {err}", e.field));
                continue;
            }
            None => continue,
        };
        let start = usize::from(e.offset);
        let n = usize::from(e.ty.words());
        let Some(raw) = words.get(start..start + n) else {
            problems.push(format!("{} register {address}: short response", e.field));
            continue;
        };
        let Some(v) = decode_register(raw, e.ty, e.order).filter(|v| v.is_finite()) else {
            problems.push(format!(
                "{} register {address}: not a finite number",
                e.field
            ));
            continue;
        };
        if e.invalid.contains(&v) {
            problems.push(format!(
                "{} register {address}: device reports 'not available'",
                e.field
            ));
            continue;
        }
        let exponent = match e.scale_factor {
            None => 0,
            Some((b, off)) => match blocks
                .get(b)
                .and_then(|r| r.as_ref().ok())
                .and_then(|w| w.get(usize::from(off)))
            {
                // SunSpec scale factors lie in -10..=10; 0x8000 means "not implemented".
                Some(&sf) if (-10..=10).contains(&(sf as i16)) => i32::from(sf as i16),
                Some(&sf) => {
                    problems.push(format!(
                        "{} register {address}: scale factor {} is not usable",
                        e.field, sf as i16
                    ));
                    continue;
                }
                None => {
                    problems.push(format!(
                        "{} register {address}: scale factor not read",
                        e.field
                    ));
                    continue;
                }
            },
        };
        let value = v * e.scale * 10f64.powi(exponent) + e.add;
        if !value.is_finite() {
            problems.push(format!(
                "{} register {address}: value out of range",
                e.field
            ));
            continue;
        }
        out.push(Sample {
            series: e.series.clone(),
            field: e.field,
            value,
        });
        trace.push(|| format!("{} {address}", table_name(block.table)));
    }
}

fn table_name(t: kilowatch_core::profile::RegisterTable) -> &'static str {
    match t {
        kilowatch_core::profile::RegisterTable::Holding => "holding",
        kilowatch_core::profile::RegisterTable::Input => "input",
    }
}

/// Decodes 1, 2 or 4 words in the given word/byte order into a number.
pub fn decode_register(words: &[u16], ty: RegisterType, order: WordOrder) -> Option<f64> {
    if words.len() != usize::from(ty.words()) {
        return None;
    }
    // Bring the bytes into most-significant-first order (ABCD...).
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    match order {
        WordOrder::ABCD => {}
        WordOrder::DCBA => bytes.reverse(),
        WordOrder::BADC => bytes.chunks_mut(2).for_each(|c| c.swap(0, 1)),
        WordOrder::CDAB => {
            let mut w: Vec<[u8; 2]> = bytes.chunks(2).map(|c| [c[0], c[1]]).collect();
            w.reverse();
            bytes = w.concat();
        }
    }
    let b = bytes.as_slice();
    Some(match ty {
        RegisterType::Uint16 => f64::from(u16::from_be_bytes([b[0], b[1]])),
        RegisterType::Int16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
        RegisterType::Uint32 | RegisterType::Acc32 => {
            f64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        RegisterType::Int32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        RegisterType::Float32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        RegisterType::Uint64 => u64::from_be_bytes(b.try_into().ok()?) as f64,
        RegisterType::Int64 => i64::from_be_bytes(b.try_into().ok()?) as f64,
        RegisterType::Float64 => f64::from_be_bytes(b.try_into().ok()?),
    })
}

/// Encodes a value as a device would send it: the inverse of [`decode_register`]. Used by the
/// simulator-style tests and the round-trip property test.
pub fn encode_register(v: f64, ty: RegisterType, order: WordOrder) -> Vec<u16> {
    let bytes: Vec<u8> = match ty {
        RegisterType::Uint16 => (v as u16).to_be_bytes().to_vec(),
        RegisterType::Int16 => (v as i16).to_be_bytes().to_vec(),
        RegisterType::Uint32 | RegisterType::Acc32 => (v as u32).to_be_bytes().to_vec(),
        RegisterType::Int32 => (v as i32).to_be_bytes().to_vec(),
        RegisterType::Float32 => (v as f32).to_be_bytes().to_vec(),
        RegisterType::Uint64 => (v as u64).to_be_bytes().to_vec(),
        RegisterType::Int64 => (v as i64).to_be_bytes().to_vec(),
        RegisterType::Float64 => v.to_be_bytes().to_vec(),
    };
    let mut words: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    match order {
        WordOrder::ABCD => {}
        WordOrder::CDAB => words.reverse(),
        WordOrder::BADC => words.iter_mut().for_each(|w| *w = w.swap_bytes()),
        WordOrder::DCBA => {
            words.reverse();
            words.iter_mut().for_each(|w| *w = w.swap_bytes());
        }
    }
    words
}

fn dotted(oid: &[u32]) -> String {
    let mut s = String::new();
    for (i, n) in oid.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&n.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    const ORDERS: [WordOrder; 4] = [
        WordOrder::ABCD,
        WordOrder::CDAB,
        WordOrder::BADC,
        WordOrder::DCBA,
    ];

    /// A value representable in `ty`, and the type.
    fn typed_value() -> impl Strategy<Value = (RegisterType, f64)> {
        prop_oneof![
            any::<u16>().prop_map(|v| (RegisterType::Uint16, f64::from(v))),
            any::<i16>().prop_map(|v| (RegisterType::Int16, f64::from(v))),
            any::<u32>().prop_map(|v| (RegisterType::Uint32, f64::from(v))),
            any::<u32>().prop_map(|v| (RegisterType::Acc32, f64::from(v))),
            any::<i32>().prop_map(|v| (RegisterType::Int32, f64::from(v))),
            any::<f32>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| (RegisterType::Float32, f64::from(v))),
            // 64-bit integers beyond 2^53 are not exact in f64, which is what we store.
            (0u64..(1 << 53)).prop_map(|v| (RegisterType::Uint64, v as f64)),
            (-(1i64 << 53)..(1 << 53)).prop_map(|v| (RegisterType::Int64, v as f64)),
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| (RegisterType::Float64, v)),
        ]
    }

    proptest! {
        #[test]
        fn modbus_decode_inverts_encode_for_every_type_and_order((ty, v) in typed_value(), o in 0usize..4) {
            let order = ORDERS[o];
            let words = encode_register(v, ty, order);
            prop_assert_eq!(words.len(), usize::from(ty.words()));
            prop_assert_eq!(decode_register(&words, ty, order), Some(v));
        }

        #[test]
        fn decoding_arbitrary_words_never_panics(words in proptest::collection::vec(any::<u16>(), 0..6), o in 0usize..4) {
            for ty in [RegisterType::Uint16, RegisterType::Int16, RegisterType::Uint32, RegisterType::Int32,
                       RegisterType::Acc32, RegisterType::Float32, RegisterType::Uint64, RegisterType::Int64, RegisterType::Float64] {
                let _ = decode_register(&words, ty, ORDERS[o]);
            }
        }
    }

    #[test]
    fn issue_3_an_absurd_scale_factor_is_a_problem_not_an_infinite_sample() {
        // Found by fuzzing: a SunSpec scale factor of 0x7FFF made 10^32767 = infinity.
        let (set, _) = kilowatch_core::profile::ProfileSet::load(&[]);
        let device = kilowatch_core::config::Device::new(
            "m",
            "s",
            "sunspec-meter-203",
            kilowatch_core::address::Address::parse("modbus://h/6")
                .unwrap()
                .0,
        );
        let plan = Plan::compile(&device, set.get("sunspec-meter-203").unwrap());
        let PlanKind::Modbus(p) = &plan.kind else {
            panic!("modbus")
        };
        let blocks = p
            .blocks
            .iter()
            .map(|b| Ok(vec![0x7FFF; usize::from(b.count)]))
            .collect();
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        decode(
            &plan,
            &Readings::Modbus { blocks },
            &mut RowSeries::default(),
            &mut out,
            &mut problems,
        );
        assert!(out.is_empty(), "{out:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("scale factor 32767 is not usable")),
            "{problems:?}"
        );
    }

    #[test]
    fn float32_word_orders_decode_the_same_value() {
        // 230.5 = 0x4366_8000 (Eastron fixture raw words).
        assert_eq!(
            decode_register(&[0x4366, 0x8000], RegisterType::Float32, WordOrder::ABCD),
            Some(230.5)
        );
        assert_eq!(
            decode_register(&[0x8000, 0x4366], RegisterType::Float32, WordOrder::CDAB),
            Some(230.5)
        );
        assert_eq!(
            decode_register(&[0x6643, 0x0080], RegisterType::Float32, WordOrder::BADC),
            Some(230.5)
        );
        assert_eq!(
            decode_register(&[0x0080, 0x6643], RegisterType::Float32, WordOrder::DCBA),
            Some(230.5)
        );
    }

    #[test]
    fn integers_decode_signed_and_wide() {
        assert_eq!(
            decode_register(&[0xFFFF], RegisterType::Int16, WordOrder::ABCD),
            Some(-1.0)
        );
        assert_eq!(
            decode_register(&[0xFFFF], RegisterType::Uint16, WordOrder::ABCD),
            Some(65535.0)
        );
        // ABB fixture: 0x5B14 total power 2153456 = 0x0020_DBF0.
        assert_eq!(
            decode_register(&[0x0020, 0xDBF0], RegisterType::Int32, WordOrder::ABCD),
            Some(2_153_456.0)
        );
        assert_eq!(
            decode_register(
                &[0, 0, 0x0001, 0x0000],
                RegisterType::Uint64,
                WordOrder::ABCD
            ),
            Some(65536.0)
        );
        assert_eq!(
            decode_register(&[1, 2], RegisterType::Uint16, WordOrder::ABCD),
            None
        );
    }

    #[test]
    fn a_column_the_device_lacks_is_skipped_and_bad_rows_are_named() {
        let (set, _) = kilowatch_core::profile::ProfileSet::load(&[]);
        let device = kilowatch_core::config::Device::new(
            "ups",
            "s",
            "rfc1628-ups",
            kilowatch_core::address::Address::parse("snmp://h")
                .unwrap()
                .0,
        );
        let plan = Plan::compile(&device, set.get("rfc1628-ups").unwrap());
        let PlanKind::Snmp(p) = &plan.kind else {
            panic!("snmp")
        };
        let out_power = kilowatch_core::profile::parse_oid("1.3.6.1.2.1.33.1.4.4.1.4").unwrap();
        let walks = p
            .walks
            .iter()
            .map(|w| {
                if *w == out_power {
                    vec![
                        (vec![1], SnmpValue::Int(100)),
                        (vec![2], SnmpValue::Bytes(b"n/a".to_vec())),
                    ]
                } else {
                    Vec::new()
                }
            })
            .collect();
        let gets = p.gets.iter().map(|_| SnmpValue::Int(50)).collect();
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        decode(
            &plan,
            &Readings::Snmp { gets, walks },
            &mut RowSeries::default(),
            &mut out,
            &mut problems,
        );
        assert_eq!(
            problems,
            vec!["active_power_w 1.3.6.1.2.1.33.1.4.4.1.4.2: string value 'n/a' is not a number"]
        );
        let total = out.iter().find(|s| {
            s.field == kilowatch_core::model::Field::ActivePowerW && s.series.tag("point").is_none()
        });
        assert_eq!(total.map(|s| s.value), Some(100.0));
        // The input-power column is absent: no sample, and no problem either.
        assert!(out.iter().all(|s| s.series.tag("point") != Some("input")));
    }

    #[test]
    fn snmp_numbers_from_strings_and_opaque_floats() {
        assert_eq!(SnmpValue::Bytes(b"0.375000".to_vec()).as_f64(), Ok(0.375));
        assert_eq!(
            SnmpValue::Bytes(vec![0x9f, 0x78, 0x04, 0x3f, 0xc0, 0, 0]).as_f64(),
            Ok(1.5)
        );
        assert!(SnmpValue::Bytes(b"n/a".to_vec()).as_f64().is_err());
        assert!(SnmpValue::Missing("noSuchInstance").as_f64().is_err());
    }
}
