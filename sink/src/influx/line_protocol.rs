//! InfluxDB line protocol: a pure encoder holding every escaping rule.
//!
//! `measurement,tag=value field=1.5 1700000000000` — measurement names escape commas and
//! spaces; tag keys, tag values and field keys escape commas, equals signs and spaces; string
//! field values are double-quoted with `"` and `\` escaped. A newline cannot be carried in a
//! name, key or tag value, so such a point is refused rather than corrupting the batch.

use std::fmt::Write;

use kilowatch_core::model::{Batch, Sample, Timestamp};
use kilowatch_store::embedded::Reading;

/// A field value of any type line protocol carries.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Float(f64),
    Integer(i64),
    Bool(bool),
    String(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    #[error("{what} {text:?} contains a newline, which line protocol cannot carry")]
    Newline { what: &'static str, text: String },
    #[error(
        "{what} {text:?} has a backslash at its end or before ',', '=' or ' ', which InfluxDB 1.x line protocol cannot carry"
    )]
    Backslash { what: &'static str, text: String },
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("field '{field}' is {value}, which line protocol cannot carry")]
    NotFinite { field: String, value: f64 },
}

/// Appends one point. On error nothing is appended.
pub fn encode_point(
    out: &mut String,
    measurement: &str,
    tags: &[(&str, &str)],
    fields: &[(&str, FieldValue)],
    ts_ms: Timestamp,
) -> Result<(), EncodeError> {
    check("measurement", measurement)?;
    if fields.is_empty() {
        return Err(EncodeError::Empty { what: "field set" });
    }
    for (k, v) in tags {
        check("tag key", k)?;
        check("tag value", v)?;
    }
    for (k, v) in fields {
        check("field key", k)?;
        match v {
            FieldValue::Float(f) if !f.is_finite() => {
                return Err(EncodeError::NotFinite {
                    field: (*k).to_owned(),
                    value: *f,
                });
            }
            // Quoted or not, a newline would end the point early for 1.x's line splitter
            // (found by fuzzing).
            FieldValue::String(text) if text.contains(['\n', '\r']) => {
                return Err(EncodeError::Newline {
                    what: "string field value",
                    text: text.clone(),
                });
            }
            _ => {}
        }
    }
    escape(out, measurement, &[',', ' ']);
    for (k, v) in tags {
        out.push(',');
        escape(out, k, &[',', '=', ' ']);
        out.push('=');
        escape(out, v, &[',', '=', ' ']);
    }
    for (i, (k, v)) in fields.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        escape(out, k, &[',', '=', ' ']);
        out.push('=');
        match v {
            // `{:?}` keeps a decimal point or exponent, so 1.0 is not mistaken for an integer.
            FieldValue::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            FieldValue::Integer(i) => {
                let _ = write!(out, "{i}i");
            }
            FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            FieldValue::String(s) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    let _ = writeln!(out, " {ts_ms}");
    Ok(())
}

fn check(what: &'static str, s: &str) -> Result<(), EncodeError> {
    if s.is_empty() {
        return Err(EncodeError::Empty { what });
    }
    if s.contains(['\n', '\r']) {
        return Err(EncodeError::Newline {
            what,
            text: s.to_owned(),
        });
    }
    // A backslash there would merge with the escape of the next character (InfluxDB answers
    // 400 for a trailing one), so the value could not come back unchanged.
    if s.ends_with('\\') || s.contains("\\,") || s.contains("\\=") || s.contains("\\ ") {
        return Err(EncodeError::Backslash {
            what,
            text: s.to_owned(),
        });
    }
    Ok(())
}

fn escape(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        // A backslash before a special character would be read as an escape, so it is doubled
        // there; elsewhere InfluxDB keeps it literally.
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Encodes batches with millisecond timestamps; samples that cannot be encoded are returned
/// with the reason (the rest of the batch is kept).
pub fn encode_batches(batches: &[Batch], out: &mut String) -> Vec<EncodeError> {
    let mut errors = Vec::new();
    for b in batches {
        for s in &b.samples {
            if let Err(e) = encode_line(out, s, b.at) {
                errors.push(e);
            }
        }
    }
    errors
}

/// Appends one sample's line at `ts_ms`, or nothing when it cannot be encoded.
pub fn encode_line(out: &mut String, s: &Sample, ts_ms: Timestamp) -> Result<(), EncodeError> {
    let start = out.len();
    let m = s.series.measurement.name();
    encode_sample(out, m, s.series.tags(), s.field.name(), s.value, ts_ms).inspect_err(|_| {
        out.truncate(start);
    })
}

/// Appends one stored reading's line, or nothing when it cannot be encoded: the outbox's path,
/// byte for byte what [`encode_line`] gives the same sample.
pub fn encode_reading(out: &mut String, r: &Reading) -> Result<(), EncodeError> {
    let start = out.len();
    let m = r.series.measurement();
    encode_sample(out, m, r.series.tags(), r.field.name(), r.value, r.at).inspect_err(|_| {
        out.truncate(start);
    })
}

/// [`encode_point`] for one float field of a series, without building a tag list: the hot path
/// of the outbox, byte for byte the same output.
fn encode_sample<K: AsRef<str>, V: AsRef<str>>(
    out: &mut String,
    measurement: &str,
    tags: impl Iterator<Item = (K, V)>,
    field: &str,
    value: f64,
    ts_ms: Timestamp,
) -> Result<(), EncodeError> {
    if !value.is_finite() {
        return Err(EncodeError::NotFinite {
            field: field.to_owned(),
            value,
        });
    }
    check_fast("measurement", measurement)?;
    escape_fast(out, measurement, b", ");
    for (k, v) in tags {
        let (k, v) = (k.as_ref(), v.as_ref());
        check_fast("tag key", k)?;
        check_fast("tag value", v)?;
        out.push(',');
        escape_fast(out, k, b",= ");
        out.push('=');
        escape_fast(out, v, b",= ");
    }
    check_fast("field key", field)?;
    out.push(' ');
    escape_fast(out, field, b",= ");
    out.push('=');
    out.push_str(ryu::Buffer::new().format_finite(value));
    out.push(' ');
    out.push_str(itoa::Buffer::new().format(ts_ms));
    out.push('\n');
    Ok(())
}

/// [`check`], scanning once when the text holds nothing that needs a closer look.
fn check_fast(what: &'static str, s: &str) -> Result<(), EncodeError> {
    if s.is_empty() || s.bytes().any(|b| matches!(b, b'\n' | b'\r' | b'\\')) {
        check(what, s)
    } else {
        Ok(())
    }
}

/// [`escape`] for ASCII specials, copying runs without them whole.
fn escape_fast(out: &mut String, s: &str, special: &[u8]) {
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        if special.contains(&b) {
            out.push_str(&s[from..i]);
            out.push('\\');
            from = i;
        }
    }
    out.push_str(&s[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading named from the store's catalogue encodes byte for byte as the collector's own
    /// series does, escapes included.
    #[test]
    fn a_stored_reading_encodes_as_the_live_sample() {
        use kilowatch_core::model::{Field, Measurement, Series};
        use kilowatch_store::embedded::{SeriesName, StoredSeries};
        use std::sync::Arc;
        let live = Arc::new(Series::new(
            Measurement::Power,
            vec![("site", "hk dc,1".into()), ("device", "pdu=a \"x\"".into())],
        ));
        let stored = StoredSeries {
            measurement: "power".into(),
            tags: live
                .tags()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        let sample = Sample {
            series: live.clone(),
            field: Field::ActivePowerW,
            value: 1234.5,
        };
        let mut a = String::new();
        encode_line(&mut a, &sample, 1_700_000_000_000).unwrap();
        for series in [SeriesName::Live(live), SeriesName::Stored(Arc::new(stored))] {
            let r = Reading {
                series,
                field: Field::ActivePowerW,
                at: 1_700_000_000_000,
                value: 1234.5,
            };
            let mut b = String::new();
            encode_reading(&mut b, &r).unwrap();
            assert_eq!(a, b);
        }
        assert_eq!(
            a,
            "power,device=pdu\\=a\\ \"x\",site=hk\\ dc\\,1 active_power_w=1234.5 1700000000000\n"
        );
    }

    fn one(m: &str, tags: &[(&str, &str)], fields: &[(&str, FieldValue)]) -> String {
        let mut s = String::new();
        encode_point(&mut s, m, tags, fields, 1_700_000_000_000).unwrap();
        s
    }

    #[test]
    fn escapes_as_the_line_protocol_reference_does() {
        assert_eq!(
            one(
                "po wer,x",
                &[("rack", "12, row=A")],
                &[("note", FieldValue::String(r#"he said "hi" \ ok"#.into()))]
            ),
            "po\\ wer\\,x,rack=12\\,\\ row\\=A note=\"he said \\\"hi\\\" \\\\ ok\" 1700000000000\n"
        );
        assert_eq!(
            one(
                "m",
                &[],
                &[
                    ("f", FieldValue::Float(1.0)),
                    ("i", FieldValue::Integer(-3)),
                    ("b", FieldValue::Bool(true))
                ]
            ),
            "m f=1.0,i=-3i,b=true 1700000000000\n"
        );
    }

    #[test]
    fn newline_in_a_tag_is_refused_and_nothing_is_written() {
        let mut s = String::new();
        let e = encode_point(
            &mut s,
            "m",
            &[("k", "a\nb")],
            &[("f", FieldValue::Float(1.0))],
            0,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            EncodeError::Newline {
                what: "tag value",
                ..
            }
        ));
        assert!(s.is_empty());
        assert!(encode_point(&mut s, "m", &[], &[("f", FieldValue::Float(f64::NAN))], 0).is_err());
        // Found against InfluxDB 1.6: a trailing backslash in a tag is answered with 400.
        let e = encode_point(
            &mut s,
            "m",
            &[("k", "a\\")],
            &[("f", FieldValue::Float(1.0))],
            0,
        )
        .unwrap_err();
        assert!(matches!(e, EncodeError::Backslash { .. }));
        // In a string field a backslash is escaped and fine.
        let mut ok = String::new();
        encode_point(
            &mut ok,
            "m",
            &[("k", "a\\b")],
            &[("f", FieldValue::String("a\\".into()))],
            0,
        )
        .unwrap();
        assert_eq!(ok, "m,k=a\\b f=\"a\\\\\" 0\n");
    }

    #[test]
    fn a_newline_in_a_string_field_is_refused() {
        let mut out = String::new();
        let r = encode_point(
            &mut out,
            "m",
            &[],
            &[("note", FieldValue::String("two\nlines".into()))],
            1,
        );
        assert!(matches!(r, Err(EncodeError::Newline { .. })), "{r:?}");
        assert!(out.is_empty());
    }

    proptest::proptest! {
        /// The outbox's fast path writes exactly what the general encoder writes, and refuses
        /// exactly what it refuses.
        #[test]
        fn the_fast_path_matches_encode_point(
            device in "[ -~\\n\\\\]{0,12}",
            point in "[ -~é]{0,8}",
            value in proptest::num::f64::ANY,
            ts in 0i64..4_102_444_800_000,
        ) {
            use kilowatch_core::model::{Field, Series};
            let series = Series::new(
                Field::PowerW.measurement(),
                vec![("site", "hk 1".to_owned()), ("device", device), ("point", point)],
            );
            let tags: Vec<(&str, &str)> = series.tags().collect();
            let mut slow = String::new();
            let slow_result = encode_point(
                &mut slow,
                series.measurement.name(),
                &tags,
                &[("power_w", FieldValue::Float(value))],
                ts,
            );
            let mut fast = String::new();
            let fast_result = encode_sample(&mut fast, series.measurement.name(), series.tags(), "power_w", value, ts);
            proptest::prop_assert_eq!(slow_result.is_ok(), fast_result.is_ok());
            if slow_result.is_ok() {
                // Debug formatting and ryu agree on the value; compare after parsing it back.
                let (s_head, s_val) = slow.rsplit_once(' ').unwrap().0.rsplit_once('=').unwrap();
                let (f_head, f_val) = fast.rsplit_once(' ').unwrap().0.rsplit_once('=').unwrap();
                proptest::prop_assert_eq!(s_head, f_head);
                proptest::prop_assert_eq!(s_val.parse::<f64>().unwrap(), f_val.parse::<f64>().unwrap());
                proptest::prop_assert_eq!(slow.rsplit_once(' ').unwrap().1, fast.rsplit_once(' ').unwrap().1);
            }
        }
    }
}
