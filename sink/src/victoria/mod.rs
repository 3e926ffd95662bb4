//! VictoriaMetrics as the central engine, read back through its Prometheus API so the analyzer,
//! reports and TUI run on it exactly as on the embedded store. Writes take the InfluxDB sink's
//! path (line protocol from the outbox, [`crate::influx::sink`]) with a `vm://` target.
//!
//! - `find`: `/api/v1/series` with the selector's metric names (`<measurement>_<field>`) and
//!   tags (an absent tag is `label=""`), over all time: the series API looks at the last day
//!   unless given a `start`.
//! - `read`: the raw samples from `/api/v1/export`, a little wider than asked and cut to the
//!   half-open range here, of exactly the series asked (a series with one label more is
//!   another series and is left out). Windows are aggregated here with the embedded store's
//!   own function ([`kilowatch_store::aggregate`]), not by MetricsQL: its windows are open on
//!   the left (`(t - d, t]`) and stamped at step-aligned ends, so its mean/min/max/last would
//!   differ from the embedded store's at every window edge; this way both give the same
//!   figures for the same samples.
//! - `latest`: the newest sample at or before the time, looking back five minutes, an hour,
//!   two days, then all time.
//!
//! VictoriaMetrics keeps about 12 significant decimal digits of a value, so figures agree with
//! the embedded store's to that precision, not bit for bit. A tag value with a double backslash
//! comes back with one (its line-protocol parser unescapes `\\`).

mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use kilowatch_core::model::{Field, Timestamp};
use kilowatch_store::{Point, ReadStore, Selector, SeriesRef, StoreError, TimeRange, Window};

use crate::influx::InfluxError;
use crate::influx::client::{Answer, BlockingClient};
use crate::influx::query::{MEASUREMENTS, canonical_key};
use crate::influx::target::InfluxTarget;
pub use crate::influx::target::is_victoria_url;
use wire::{Answered, Garbled};

/// How far back `latest` looks, in turn, before it asks for all time: five minutes first, as a
/// live view asks for series polled every few seconds and wants one sample, not an hour's.
const LOOKBACK_MS: [i64; 3] = [300_000, 3_600_000, 2 * 86_400_000];

/// Reads a `vm://` or `vm+https://` target (for a cluster, vmselect's
/// `vm://vmselect:8481/select/0/prometheus`).
#[derive(Debug)]
pub struct VictoriaReader {
    client: BlockingClient,
    /// Label names per metric, so a read can require the labels its series lacks to be absent
    /// (fewer samples sent only to be dropped here).
    label_names: Mutex<HashMap<String, Vec<String>>>,
}

impl VictoriaReader {
    /// A reader whose requests time out after 60 s. Refuses an InfluxDB target.
    pub fn new(target: InfluxTarget) -> Result<VictoriaReader, InfluxError> {
        if !target.is_victoria() {
            return Err(InfluxError::WrongEngine {
                target: target.to_string(),
                wanted: "VictoriaMetrics' Prometheus API (give vm:// or vm+https://)",
            });
        }
        Ok(VictoriaReader {
            client: BlockingClient::new(target, Duration::from_secs(60))?,
            label_names: Mutex::new(HashMap::new()),
        })
    }

    pub fn target(&self) -> &InfluxTarget {
        &self.client.target
    }

    /// An error naming the target (never its token).
    fn fail(&self, detail: String) -> StoreError {
        StoreError::Remote {
            target: self.client.target.to_string(),
            detail,
        }
    }

    /// Posts a form to `{prefix}/{path}`; anything but a 2xx is an error with its status and
    /// the start of its body.
    fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<String, StoreError> {
        let answer: Answer = self
            .client
            .post_form(self.client.target.endpoint(path), form)
            .map_err(|e| match e {
                InfluxError::Request { target, detail } => StoreError::Remote {
                    target,
                    detail: format!("/{path}: {detail}"),
                },
                e => self.fail(format!("/{path}: {e}")),
            })?;
        if !answer.ok() {
            return Err(self.fail(format!("/{path}: {}", answer.describe())));
        }
        Ok(answer.body)
    }

    /// `/api/v1/series` or `/api/v1/labels` over all time: their data, or the error named.
    fn query<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        matcher: &str,
    ) -> Result<T, StoreError> {
        let (start, end) = (wire::seconds(i64::MIN), wire::seconds(i64::MAX));
        let form = [("match[]", matcher), ("start", &start), ("end", &end)];
        let body = self.post(&what[1..], &form)?;
        match wire::parse_envelope(what, &body).map_err(|e| self.garbled(e))? {
            Answered::Data(d) => Ok(d),
            Answered::Error(e) => Err(self.fail(format!("{what}: {e}"))),
        }
    }

    fn garbled(&self, e: Garbled) -> StoreError {
        self.fail(e.to_string())
    }

    /// Every label name the metric's series carry (cached for the reader's life: a label new
    /// since then only costs its samples a trip, `wire::export_points` drops them).
    fn label_names(&self, metric: &str) -> Result<Vec<String>, StoreError> {
        let cache = || self.label_names.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(names) = cache().get(metric) {
            return Ok(names.clone());
        }
        let matcher = wire::selector(metric, false, []);
        let names: Vec<String> = self.query("/api/v1/labels", &matcher)?;
        cache().insert(metric.to_owned(), names.clone());
        Ok(names)
    }

    /// The samples of exactly `series` in `range`, oldest first.
    fn samples(&self, series: &SeriesRef, range: TimeRange) -> Result<Vec<Point>, StoreError> {
        if range.from >= range.to {
            return Ok(Vec::new());
        }
        let measurement = series.key.split(',').next().unwrap_or_default();
        let metric = wire::metric_name(measurement, series.field);
        let absent = self.label_names(&metric)?;
        let matchers = series
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .chain(
                absent
                    .iter()
                    .filter(|k| !series.tags.contains_key(k.as_str()))
                    .map(|k| (k.as_str(), None)),
            );
        let matcher = wire::selector(&metric, false, matchers);
        // A second either side: the range is cut exactly here, whatever VictoriaMetrics does
        // with milliseconds and its inclusive `end`.
        let start = wire::seconds(range.from.saturating_sub(1000));
        let end = wire::seconds(range.to.saturating_add(1000));
        let form = [
            ("match[]", matcher.as_str()),
            ("start", &start),
            ("end", &end),
        ];
        let body = self.post("api/v1/export", &form)?;
        wire::export_points(&body, &metric, &series.tags, range).map_err(|e| self.garbled(e))
    }
}

impl ReadStore for VictoriaReader {
    fn find(&self, selector: &Selector) -> Result<Vec<SeriesRef>, StoreError> {
        // Like the embedded store: a field without a measurement is that field under any one.
        let measurements = match selector.measurement {
            Some(m) => vec![m],
            None => MEASUREMENTS.to_vec(),
        };
        let fields = match selector.field {
            Some(f) => vec![f],
            None => Field::ALL.to_vec(),
        };
        let names = wire::names_regex(&measurements, &fields);
        let tags = selector
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()));
        let matcher = wire::selector(&names, true, tags);
        let found: Vec<BTreeMap<String, String>> = self.query("/api/v1/series", &matcher)?;
        let mut out: Vec<SeriesRef> = found
            .iter()
            .filter_map(|labels| wire::named(labels, &measurements))
            .map(|n| SeriesRef {
                key: canonical_key(n.measurement, &n.tags),
                field: n.field,
                tags: n.tags,
            })
            .filter(|s| selector.matches(s))
            .collect();
        // The embedded store's order: key, then field name (its catalogue's `ORDER BY`); a
        // series written with and without `?db=` is one series here.
        out.sort_by(|a, b| (&a.key, a.field.name()).cmp(&(&b.key, b.field.name())));
        out.dedup();
        Ok(out)
    }

    fn read(
        &self,
        series: &SeriesRef,
        range: TimeRange,
        window: Option<Window>,
    ) -> Result<Vec<Point>, StoreError> {
        let points = self.samples(series, range)?;
        Ok(match window {
            None => points,
            Some(w) => kilowatch_store::aggregate(&points, w),
        })
    }

    fn latest(&self, series: &SeriesRef, at: Timestamp) -> Result<Option<Point>, StoreError> {
        let to = at.saturating_add(1);
        for back in LOOKBACK_MS.iter().map(Some).chain([None]) {
            let from = back.map_or(i64::MIN, |b| at.saturating_sub(*b));
            if let Some(p) = self.samples(series, TimeRange { from, to })?.pop() {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_influxdb_target_is_refused() {
        let t = InfluxTarget::parse("http://127.0.0.1:8086?db=kw", None, None).unwrap();
        let e = VictoriaReader::new(t).unwrap_err().to_string();
        assert!(e.contains("influxdb v1 127.0.0.1:8086"), "{e}");
        let t = InfluxTarget::parse("vm://127.0.0.1:8428", None, None).unwrap();
        assert!(crate::influx::query::InfluxReader::new(t).is_err());
    }
}
