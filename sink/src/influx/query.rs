//! Reading from InfluxDB with InfluxQL (`/query`, `epoch=ms`), so the analyzer and reports run
//! against InfluxDB exactly as against the embedded store. Aggregation windows are pushed down
//! as `GROUP BY time(...)`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use kilowatch_core::model::{Field, Measurement, Timestamp};
use serde::Deserialize;

use super::InfluxError;
use super::client::BlockingClient;
use super::target::InfluxTarget;
use kilowatch_store::{
    Aggregate, Point, ReadStore, Selector, SeriesRef, StoreError, TimeRange, Window,
};

#[derive(Debug)]
pub struct InfluxReader {
    client: BlockingClient,
    /// Tag keys per measurement, so a read can require the tags a series lacks to be empty.
    tag_keys: Mutex<HashMap<String, Vec<String>>>,
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    results: Vec<StatementResult>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StatementResult {
    #[serde(default)]
    series: Vec<ResultSeries>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResultSeries {
    #[serde(default)]
    values: Vec<Vec<serde_json::Value>>,
}

/// Every measurement, in the order `find` visits them.
pub(crate) const MEASUREMENTS: &[Measurement] = &[
    Measurement::Power,
    Measurement::Ups,
    Measurement::Cooling,
    Measurement::Environment,
    Measurement::Server,
    Measurement::Device,
    Measurement::Network,
    Measurement::Water,
    Measurement::Collector,
];

impl InfluxReader {
    /// Refuses a VictoriaMetrics target: it answers no InfluxQL (read it with
    /// [`crate::victoria::VictoriaReader`]).
    pub fn new(target: InfluxTarget) -> Result<InfluxReader, InfluxError> {
        if target.is_victoria() {
            return Err(InfluxError::WrongEngine {
                target: target.to_string(),
                wanted: "InfluxQL",
            });
        }
        Ok(InfluxReader {
            client: BlockingClient::new(target, std::time::Duration::from_secs(30))?,
            tag_keys: Mutex::new(HashMap::new()),
        })
    }

    /// Runs one InfluxQL statement and returns its rows (`values` of every series).
    pub fn query(&self, q: &str) -> Result<Vec<Vec<serde_json::Value>>, StoreError> {
        let err = |e: InfluxError| match e {
            InfluxError::Request { target, detail } => StoreError::Remote { target, detail },
            e => StoreError::Remote {
                target: self.client.target.to_string(),
                detail: e.to_string(),
            },
        };
        let answer = self.client.query(q).map_err(err)?;
        let fail = |detail: String| err(self.client.error(detail));
        let parsed: Response =
            serde_json::from_str(&answer.body).map_err(|_| fail(answer.describe()))?;
        if let Some(e) = parsed.error {
            return Err(fail(e));
        }
        let mut rows = Vec::new();
        for r in parsed.results {
            if let Some(e) = r.error {
                return Err(fail(e));
            }
            for s in r.series {
                rows.extend(s.values);
            }
        }
        Ok(rows)
    }

    fn tag_keys(&self, measurement: &str) -> Result<Vec<String>, StoreError> {
        if let Some(k) = self
            .tag_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(measurement)
        {
            return Ok(k.clone());
        }
        let rows = self.query(&format!("SHOW TAG KEYS FROM {}", ident(measurement)))?;
        let keys: Vec<String> = rows
            .iter()
            .filter_map(|r| r.first()?.as_str().map(str::to_owned))
            .collect();
        self.tag_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(measurement.to_owned(), keys.clone());
        Ok(keys)
    }

    /// `WHERE` clause selecting exactly `series`: its tags equal, every other tag empty.
    fn where_series(&self, series: &SeriesRef) -> Result<String, StoreError> {
        let measurement = series.key.split(',').next().unwrap_or_default();
        let mut clauses: Vec<String> = series
            .tags
            .iter()
            .map(|(k, v)| format!("{} = {}", ident(k), literal(v)))
            .collect();
        for k in self.tag_keys(measurement)? {
            if !series.tags.contains_key(&k) {
                clauses.push(format!("{} = ''", ident(&k)));
            }
        }
        Ok(clauses.join(" AND "))
    }
}

impl ReadStore for InfluxReader {
    fn find(&self, selector: &Selector) -> Result<Vec<SeriesRef>, StoreError> {
        let measurements: Vec<Measurement> = match (selector.measurement, selector.field) {
            (Some(m), _) => vec![m],
            (None, Some(f)) => vec![f.measurement()],
            (None, None) => MEASUREMENTS.to_vec(),
        };
        let mut out = Vec::new();
        for m in measurements {
            let fields: Vec<Field> = match selector.field {
                Some(f) => vec![f],
                None => Field::ALL
                    .iter()
                    .copied()
                    .filter(|f| f.measurement() == m)
                    .collect(),
            };
            let wanted: Vec<String> = selector
                .tags
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{} = {}", ident(k), literal(v))))
                .collect();
            let mut q = format!("SHOW SERIES FROM {}", ident(m.name()));
            if !wanted.is_empty() {
                q.push_str(" WHERE ");
                q.push_str(&wanted.join(" AND "));
            }
            for row in self.query(&q)? {
                let Some(key) = row.first().and_then(|k| k.as_str()) else {
                    continue;
                };
                let tags = parse_series_key(key);
                let canonical = canonical_key(m, &tags);
                for f in &fields {
                    let s = SeriesRef {
                        key: canonical.clone(),
                        field: *f,
                        tags: tags.clone(),
                    };
                    if selector.matches(&s) {
                        out.push(s);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn read(
        &self,
        series: &SeriesRef,
        range: TimeRange,
        window: Option<Window>,
    ) -> Result<Vec<Point>, StoreError> {
        let measurement = series.key.split(',').next().unwrap_or_default();
        let field = ident(series.field.name());
        let select = match window.map(|w| w.aggregate) {
            None => field,
            Some(Aggregate::Mean) => format!("mean({field})"),
            Some(Aggregate::Min) => format!("min({field})"),
            Some(Aggregate::Max) => format!("max({field})"),
            Some(Aggregate::Last) => format!("last({field})"),
        };
        let mut q = format!(
            "SELECT {select} FROM {} WHERE {} AND time >= {}ms AND time < {}ms",
            ident(measurement),
            self.where_series(series)?,
            range.from,
            range.to
        );
        if let Some(w) = window {
            q.push_str(&format!(
                " GROUP BY time({}ms) fill(none)",
                w.every_ms.max(1)
            ));
        }
        Ok(points(self.query(&q)?))
    }

    fn latest(&self, series: &SeriesRef, at: Timestamp) -> Result<Option<Point>, StoreError> {
        let measurement = series.key.split(',').next().unwrap_or_default();
        let q = format!(
            "SELECT last({}) FROM {} WHERE {} AND time <= {at}ms",
            ident(series.field.name()),
            ident(measurement),
            self.where_series(series)?
        );
        Ok(points(self.query(&q)?).into_iter().next())
    }
}

fn points(rows: Vec<Vec<serde_json::Value>>) -> Vec<Point> {
    rows.into_iter()
        .filter_map(|r| {
            Some(Point {
                ts: r.first()?.as_i64()?,
                value: r.get(1)?.as_f64()?,
            })
        })
        .collect()
}

/// The same key the embedded store uses (`measurement,k=v,...`, sorted, unescaped): what
/// `Series::key` builds, from tags read back as strings (a test holds the two equal).
pub(crate) fn canonical_key(m: Measurement, tags: &BTreeMap<String, String>) -> String {
    let mut key = m.name().to_owned();
    for (k, v) in tags {
        key.push(',');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

/// Splits a line-protocol series key (`m,k=v\,x,k2=v2`) into unescaped tags.
fn parse_series_key(key: &str) -> BTreeMap<String, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| [',', '=', ' '].contains(n)) => {
                cur.push('\u{0}');
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .skip(1)
        .filter_map(|kv| {
            // Split at the first '=' that was not escaped (escaped ones carry a NUL marker).
            let bytes: Vec<char> = kv.chars().collect();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == '\u{0}' {
                    i += 2;
                    continue;
                }
                if bytes[i] == '=' {
                    let k: String = bytes[..i].iter().filter(|c| **c != '\u{0}').collect();
                    let v: String = bytes[i + 1..].iter().filter(|c| **c != '\u{0}').collect();
                    return Some((k, v));
                }
                i += 1;
            }
            None
        })
        .collect()
}

/// A double-quoted InfluxQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A single-quoted InfluxQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keys_unescape() {
        let t = parse_series_key(r"power,device=pdu\ 1,rack=r\,1\=x,site=hk");
        assert_eq!(t["device"], "pdu 1");
        assert_eq!(t["rack"], "r,1=x");
        assert_eq!(t["site"], "hk");
    }

    #[test]
    fn literals_escape_quotes() {
        assert_eq!(literal("it's"), r"'it\'s'");
        assert_eq!(ident("a\"b"), r#""a\"b""#);
    }
}
