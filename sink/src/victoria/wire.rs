//! VictoriaMetrics' wire formats, pure: series selectors (`{__name__="power_active_power_w",
//! site="hk1",point=""}`), times as its HTTP API takes them, and its JSON answers
//! (`/api/v1/series`, `/api/v1/labels`, the JSON lines of `/api/v1/export`).
//!
//! Line protocol reaches VictoriaMetrics as one metric per field, named
//! `<measurement>_<field>` (its default `-influxMeasurementFieldSeparator`), with the tags as
//! labels; a `db` label appears only when a writer passed `?db=` and is ignored here.

use std::collections::BTreeMap;

use kilowatch_core::model::{Field, Measurement, Timestamp};
use kilowatch_store::{Point, TimeRange};
use serde::Deserialize;

/// The label VictoriaMetrics adds for `/write?db=NAME` (`-influxDBLabel`); never a tag of ours.
pub const DB_LABEL: &str = "db";
const NAME_LABEL: &str = "__name__";

/// Latest time passed to VictoriaMetrics (2255; it clamps beyond 2262 itself).
const MAX_MS: Timestamp = 9_000_000_000_000;

/// An answer that is not what VictoriaMetrics sends: an HTML page from a proxy, a truncated
/// body, another server on the port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the answer to {what} is not VictoriaMetrics JSON: {snippet:?}")]
pub struct Garbled {
    pub what: &'static str,
    /// The start of the answer, for the operator to recognise it.
    pub snippet: String,
}

impl Garbled {
    fn new(what: &'static str, body: &str) -> Garbled {
        let mut snippet: String = body.trim().chars().take(120).collect();
        snippet = snippet.replace(['\r', '\n'], " ");
        Garbled { what, snippet }
    }
}

/// What a query endpoint said: data, or VictoriaMetrics' own error.
#[derive(Debug)]
pub enum Answered<T> {
    Data(T),
    Error(String),
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
}

/// `{"status":"success","data":...}` of `/api/v1/series` and `/api/v1/labels`.
pub fn parse_envelope<T: serde::de::DeserializeOwned>(
    what: &'static str,
    body: &str,
) -> Result<Answered<T>, Garbled> {
    let e: Envelope<T> = serde_json::from_str(body).map_err(|_| Garbled::new(what, body))?;
    match (e.status.as_str(), e.data) {
        ("success", Some(data)) => Ok(Answered::Data(data)),
        ("success", None) => Err(Garbled::new(what, body)),
        _ => Ok(Answered::Error(
            e.error.unwrap_or_else(|| format!("status '{}'", e.status)),
        )),
    }
}

/// A series VictoriaMetrics names: its field and tags as the embedded store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub measurement: Measurement,
    pub field: Field,
    pub tags: BTreeMap<String, String>,
}

/// A label set from `/api/v1/series` or an export line as one of `measurements`' fields, or
/// `None` for a metric that is not ours (a shared VictoriaMetrics holds others').
pub fn named(labels: &BTreeMap<String, String>, measurements: &[Measurement]) -> Option<Named> {
    let name = labels.get(NAME_LABEL)?;
    let (measurement, field) = measurements.iter().find_map(|m| {
        let rest = name.strip_prefix(m.name())?.strip_prefix('_')?;
        Some((*m, Field::from_name(rest)?))
    })?;
    Some(Named {
        measurement,
        field,
        tags: tags_of(labels),
    })
}

/// The tags of a label set: every label but the metric name and `db`, none empty.
pub fn tags_of(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, v)| *k != NAME_LABEL && *k != DB_LABEL && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The metric a stored series' field becomes: `<measurement>_<field>`.
pub fn metric_name(measurement: &str, field: Field) -> String {
    format!("{measurement}_{}", field.name())
}

/// A label name PromQL takes bare. Others cannot be matched in a selector; they are filtered
/// on this side instead.
pub fn plain_label(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with("__")
}

/// A double-quoted PromQL string: backslash, quote and control characters escaped (Go syntax).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` matched literally in a regular expression.
pub fn regex_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `{m1}_{f1}`, `{m1}_{f2}`, ... as one anchored regular expression over metric names.
pub fn names_regex(measurements: &[Measurement], fields: &[Field]) -> String {
    let alt = |names: Vec<&str>| {
        names
            .into_iter()
            .map(regex_literal)
            .collect::<Vec<_>>()
            .join("|")
    };
    format!(
        "({})_({})",
        alt(measurements.iter().map(|m| m.name()).collect()),
        alt(fields.iter().map(|f| f.name()).collect())
    )
}

/// `{a="x",b=""}` from label matchers (`None`: the label must be absent).
pub fn selector<'a>(
    name: &str,
    regex: bool,
    labels: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> String {
    let op = if regex { "=~" } else { "=" };
    let mut out = format!("{{{NAME_LABEL}{op}{}", quote(name));
    for (k, v) in labels {
        if plain_label(k) && k != DB_LABEL {
            out.push(',');
            out.push_str(k);
            out.push('=');
            out.push_str(&quote(v.unwrap_or("")));
        }
    }
    out.push('}');
    out
}

/// A time as VictoriaMetrics' `start`/`end` take it: Unix seconds with milliseconds. Clamped
/// to what it stores (from 1 ms after the epoch: a `start` of 0 means "unset" to its series
/// API, which then looks at the last day only).
pub fn seconds(ms: Timestamp) -> String {
    let ms = ms.clamp(1, MAX_MS);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[derive(Debug, Deserialize)]
struct ExportLine {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<serde_json::Value>,
    #[serde(default)]
    timestamps: Vec<i64>,
}

/// The samples of exactly one series from `/api/v1/export`'s JSON lines: lines whose metric is
/// `metric` and whose tags equal `tags` (a series with more labels is another series), times in
/// `range` (half-open), oldest first, one per time.
pub fn export_points(
    body: &str,
    metric: &str,
    tags: &BTreeMap<String, String>,
    range: TimeRange,
) -> Result<Vec<Point>, Garbled> {
    let mut out = Vec::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let line: ExportLine =
            serde_json::from_str(line).map_err(|_| Garbled::new("/api/v1/export", line))?;
        if line.values.len() != line.timestamps.len() {
            return Err(Garbled::new(
                "/api/v1/export",
                "values and timestamps differ",
            ));
        }
        if line.metric.get(NAME_LABEL).map(String::as_str) != Some(metric)
            || tags_of(&line.metric) != *tags
        {
            continue;
        }
        for (ts, v) in line.timestamps.iter().zip(&line.values) {
            // A number; VictoriaMetrics writes no other value for line protocol's floats.
            if let Some(value) = v.as_f64().filter(|_| (range.from..range.to).contains(ts)) {
                out.push(Point { ts: *ts, value });
            }
        }
    }
    // One export may give a series in several lines, and a body sent twice (a write whose
    // acknowledgement was lost) stores a time twice.
    out.sort_by_key(|p| p.ts);
    out.dedup_by_key(|p| p.ts);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::model::Series;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selectors_escape_values_and_require_absent_labels_empty() {
        let s = selector(
            "power_active_power_w",
            false,
            [
                ("device", Some("pdu \"a\"\\1")),
                ("point", None),
                ("db", Some("x")),
                ("bad-key", Some("y")),
                ("rack", Some("räck\n7")),
            ],
        );
        assert_eq!(
            s,
            r#"{__name__="power_active_power_w",device="pdu \"a\"\\1",point="",rack="räck\n7"}"#
        );
        assert_eq!(quote("\u{1}"), r#""\u0001""#);
    }

    #[test]
    fn metric_names_map_back_to_fields_of_the_measurements_asked() {
        let all = [Measurement::Power, Measurement::Ups];
        let n = named(
            &labels(&[
                ("__name__", "power_active_power_w"),
                ("site", "hk"),
                ("db", "kw"),
            ]),
            &all,
        )
        .unwrap();
        assert_eq!(
            (n.measurement, n.field),
            (Measurement::Power, Field::ActivePowerW)
        );
        assert_eq!(n.tags, labels(&[("site", "hk")]));
        assert!(named(&labels(&[("__name__", "power_no_such_field")]), &all).is_none());
        assert!(named(&labels(&[("__name__", "cooling_active_power_w")]), &all).is_none());
        assert_eq!(
            names_regex(&all, &[Field::ActivePowerW, Field::EnergyKwh]),
            "(power|ups)_(active_power_w|energy_kwh)"
        );
        assert_eq!(regex_literal("a.b|c"), r"a\.b\|c");
    }

    #[test]
    fn keys_are_the_embedded_stores() {
        let series = Series::new(
            Measurement::Power,
            vec![
                ("site", "hk dc,1".into()),
                ("device", "pdu=a".into()),
                ("rack", "r7".into()),
            ],
        );
        let tags = labels(&[("site", "hk dc,1"), ("device", "pdu=a"), ("rack", "r7")]);
        assert_eq!(
            crate::influx::query::canonical_key(Measurement::Power, &tags),
            series.key()
        );
    }

    #[test]
    fn times_are_seconds_with_milliseconds_never_zero() {
        assert_eq!(seconds(1_767_225_600_123), "1767225600.123");
        assert_eq!(seconds(0), "0.001");
        assert_eq!(seconds(i64::MIN), "0.001");
        assert_eq!(seconds(i64::MAX), "9000000000.000");
    }

    #[test]
    fn exports_keep_one_series_in_its_range_sorted_once() {
        let body = concat!(
            r#"{"metric":{"__name__":"power_active_power_w","site":"hk"},"values":[3,1,2,2],"timestamps":[3000,1000,2000,2000]}"#,
            "\n",
            r#"{"metric":{"__name__":"power_active_power_w","site":"hk","point":"L1"},"values":[9],"timestamps":[1500]}"#,
            "\n",
            r#"{"metric":{"__name__":"power_active_power_w","site":"hk","db":"kw"},"values":[4],"timestamps":[4000]}"#,
            "\n\n"
        );
        let range = TimeRange {
            from: 1000,
            to: 4000,
        };
        let got = export_points(
            body,
            "power_active_power_w",
            &labels(&[("site", "hk")]),
            range,
        )
        .unwrap();
        let got: Vec<(i64, f64)> = got.iter().map(|p| (p.ts, p.value)).collect();
        assert_eq!(got, [(1000, 1.0), (2000, 2.0), (3000, 3.0)]);
    }

    #[test]
    fn html_and_errors_are_not_empty_data() {
        let page = "<html><body>502 Bad Gateway</body></html>";
        let range = TimeRange { from: 0, to: 1 };
        let e = export_points(page, "x", &BTreeMap::new(), range).unwrap_err();
        assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
        assert!(parse_envelope::<Vec<String>>("/api/v1/labels", page).is_err());
        assert!(
            parse_envelope::<Vec<String>>("/api/v1/labels", r#"{"status":"success"}"#).is_err()
        );
        match parse_envelope::<Vec<String>>(
            "/api/v1/labels",
            r#"{"status":"error","errorType":"bad_data","error":"cannot parse"}"#,
        ) {
            Ok(Answered::Error(e)) => assert_eq!(e, "cannot parse"),
            other => panic!("{other:?}"),
        }
    }
}
