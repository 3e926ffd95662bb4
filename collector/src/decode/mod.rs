//! Turning what a driver read into samples. Pure: no I/O, no clock; the target of golden tests,
//! property tests and fuzzing. A value that cannot be used becomes one line in `problems`
//! (named by field and OID or register), never a sample: every sample is a finite number.
//! SNMP values are decoded in [`snmp`], Modbus registers in [`registers`], Redfish values in
//! [`redfish`], IPMI sensors and DCMI power in [`ipmi`].

mod ipmi;
mod redfish;
mod registers;
mod snmp;

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::model::{Sample, Series};

use crate::ModbusException;
use crate::plan::{Plan, PlanKind};

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
    pub(crate) fn as_f64(&self) -> Result<f64, NotANumber> {
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
                        NotANumber::Text(String::from_utf8_lossy(b).chars().take(32).collect())
                    })
            }
            SnmpValue::Oid(_) => Err(NotANumber::Oid),
            SnmpValue::Missing(what) => Err(NotANumber::Missing(what)),
            SnmpValue::Other(what) => Err(NotANumber::OtherType(what)),
        }
    }
}

impl SnmpValue {
    /// The number a value carries, or for text the first decimal number in it ("77 F",
    /// "24.5 C", "45% of maximum"; a profile's `text_number`). `Ok(None)`: text without a number
    /// ("n/a"), or one that cannot be read for sure ("1,234", "1.2.3"): not available.
    pub(crate) fn number_in_text(&self) -> Result<Option<f64>, NotANumber> {
        match (self.as_f64(), self) {
            (Ok(x), _) => Ok(Some(x)),
            (Err(_), SnmpValue::Bytes(b)) => Ok(first_number(&String::from_utf8_lossy(b))),
            (Err(e), _) => Err(e),
        }
    }
}

/// The first decimal number in `s`, with its sign when the sign does not join it to a word
/// ("-5.5 C" is -5.5, "PDU-2" is 2). A number followed by `,digit` or `.digit` (a decimal
/// comma, thousands, a version or address) or led by a `.` is ambiguous: `None`, as a wrong
/// reading is worse than none.
pub(crate) fn first_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let start = b.iter().position(u8::is_ascii_digit)?;
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    // ".5": a fraction without its leading 0, or a version's tail: not sure which.
    if start >= 1 && b[start - 1] == b'.' {
        return None;
    }
    let mut end = digits(start);
    if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end = digits(end + 1);
    }
    if matches!(b.get(end), Some(b'.' | b',')) && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let signed = start >= 1
        && matches!(b[start - 1], b'-' | b'+')
        && (start == 1 || !b[start - 2].is_ascii_alphanumeric());
    let from = if signed { start - 1 } else { start };
    s[from..end].parse().ok().filter(|x: &f64| x.is_finite())
}

/// Why an SNMP value does not give a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotANumber {
    /// A string that does not parse as a finite number; its first 32 characters.
    #[error("string value '{0}' is not a number")]
    Text(String),
    #[error("value is an OID, not a number")]
    Oid,
    /// noSuchObject, noSuchInstance or endOfMibView.
    #[error("{0}")]
    Missing(&'static str),
    #[error("value of type {0} is not a number")]
    OtherType(&'static str),
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
        /// One per `ModbusPlan::blocks`: the words, or the exception the device refused it with.
        blocks: Vec<Result<Vec<u16>, ModbusException>>,
    },
    Redfish {
        values: Vec<crate::redfish::RedfishValue>,
        /// Readings there but unusable (text where a number belongs, a resource gone).
        problems: Vec<String>,
    },
    Ipmi {
        /// The DCMI power reading, when the plan asks for it.
        dcmi: Option<crate::ipmi::DcmiOutcome>,
        /// Every sensor some rule of the plan selects, with its record.
        sensors: Vec<crate::ipmi::SensorReading>,
    },
}

/// Series of table rows, created on first sight and reused on every later poll: by entry, then
/// row index (looked up by slice, so a poll allocates nothing for rows it has seen).
#[derive(Debug, Default)]
pub struct RowSeries {
    map: HashMap<usize, HashMap<Vec<u32>, Arc<Series>>>,
    /// Redfish values by metric and point.
    named: HashMap<(usize, Option<Arc<str>>), Arc<Series>>,
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

/// Where a sample was read from, as [`decode_traced`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Traced {
    /// The full OID, or `input 52` / `holding 3` for a Modbus register.
    pub source: String,
    /// Read by a `fallback` metric: another module's reading of its field at its point wins.
    pub fallback: bool,
}

/// As [`decode`], and `sources` gets, for each sample, what it was read from. For `probe` and
/// fixture tests.
pub fn decode_traced(
    plan: &Plan,
    readings: &Readings,
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    sources: &mut Vec<Traced>,
) {
    decode_inner(plan, readings, rows, out, problems, Some(sources));
}

fn decode_inner(
    plan: &Plan,
    readings: &Readings,
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    sources: Option<&mut Vec<Traced>>,
) {
    let mut trace = Trace {
        sources,
        fallback: false,
    };
    match (&plan.kind, readings) {
        (PlanKind::Snmp(p), Readings::Snmp { gets, walks }) => {
            snmp::decode_snmp(plan, p, gets, walks, rows, out, problems, &mut trace)
        }
        (PlanKind::Modbus(p), Readings::Modbus { blocks }) => {
            registers::decode_modbus(p, blocks, out, problems, &mut trace)
        }
        (
            PlanKind::Redfish(p),
            Readings::Redfish {
                values,
                problems: p2,
            },
        ) => {
            problems.extend(p2.iter().cloned());
            redfish::decode_redfish(plan, p, values, rows, out, &mut trace)
        }
        (PlanKind::Ipmi(p), Readings::Ipmi { dcmi, sensors }) => {
            ipmi::decode_ipmi(plan, p, *dcmi, sensors, rows, out, problems, &mut trace)
        }
        _ => problems.push("readings do not match the plan's protocol".into()),
    }
    // One column can feed several entries (a sum and its rows): name each bad value once.
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert(p.clone()));
}

/// Records sources only when asked: the polling hot path builds no strings. `fallback` says
/// whether the entry being decoded is a `fallback` one.
struct Trace<'a> {
    sources: Option<&'a mut Vec<Traced>>,
    fallback: bool,
}

impl Trace<'_> {
    fn push(&mut self, source: impl FnOnce() -> String) {
        if let Some(v) = self.sources.as_mut() {
            v.push(Traced {
                source: source(),
                fallback: self.fallback,
            });
        }
    }
}

/// Pushes a finite value of a series the plan knows; whether it did.
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

    /// The first number in a text, when it can be read for sure.
    #[test]
    fn the_first_number_in_a_text() {
        for (text, want) in [
            ("77 F", Some(77.0)),
            ("24.5 C", Some(24.5)),
            (" 56% of maximum", Some(56.0)),
            ("-5.5 C", Some(-5.5)),
            ("temp: +3 C", Some(3.0)),
            ("PDU-2 12 A", Some(2.0)),
            ("12.", Some(12.0)),
            ("Offline", None),
            ("", None),
            ("1,234 W", None),
            ("1.2.3", None),
            ("192.168.1.1", None),
            (".5 A", None),
        ] {
            assert_eq!(first_number(text), want, "{text:?}");
        }
        let text = |s: &str| SnmpValue::Bytes(s.as_bytes().to_vec());
        assert_eq!(text("77 F").number_in_text(), Ok(Some(77.0)));
        assert_eq!(text("n/a").number_in_text(), Ok(None));
        assert_eq!(SnmpValue::Int(-3).number_in_text(), Ok(Some(-3.0)));
        assert!(
            SnmpValue::Missing("noSuchInstance")
                .number_in_text()
                .is_err()
        );
    }
}
