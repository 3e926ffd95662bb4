//! Parsing history people already have (BMS meter exports) into batches, checking every row
//! before anything is written: one problem per bad row, named by file and line.
//!
//! CSV: a header `time,device,field,value`, then one reading per row: RFC 3339 time (or a local
//! time with no offset, `2025-10-26 01:30:00`, in the device's site's zone: the second row at a
//! time the clocks repeat is the second of its two instants), a device
//! id from the config (which gives site, room, rack, role and category), a canonical field name
//! (`energy_kwh`, `active_power_w`, ...) and a number. Line protocol: points in the canonical
//! schema (measurement, tags including `device`, fields), timestamps at a stated precision.

use std::collections::BTreeMap;
use std::sync::Arc;

use kilowatch_core::config::Config;
use kilowatch_core::model::{Batch, Field, PollStatus, Sample, Series, Timestamp};
use kilowatch_core::timefmt::parse_rfc3339;

/// Timestamp precision of line protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Ns,
    Us,
    Ms,
    S,
}

impl Precision {
    pub fn to_ms(self, t: i64) -> i64 {
        match self {
            Precision::Ns => t / 1_000_000,
            Precision::Us => t / 1_000,
            Precision::Ms => t,
            // Saturates: an absurd timestamp is stored as absurd, never an overflow.
            Precision::S => t.saturating_mul(1000),
        }
    }
}

/// What an export did with its rows' order: BMS exports repeat rows (re-exports, a clock
/// stepping back, the repeated hour when DST ends) and list them out of order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowOrder {
    /// Rows whose device, field and time an earlier row already had (the last one is kept).
    pub duplicates: usize,
    /// Of those, rows with a different value from the one before.
    pub conflicting: usize,
    /// Rows earlier than the previous row of the same device and field (sorted on import).
    pub out_of_order: usize,
}

/// Every row checked before anything is written: one problem per bad row, with its line.
pub fn parse_csv<R: std::io::Read>(
    input: R,
    file: &str,
    config: &Config,
) -> (Vec<Batch>, Vec<String>) {
    let (batches, problems, _) = parse_csv_ordered(input, file, config);
    (batches, problems)
}

/// [`parse_csv`], also counting repeated and out-of-order rows.
pub fn parse_csv_ordered<R: std::io::Read>(
    input: R,
    file: &str,
    config: &Config,
) -> (Vec<Batch>, Vec<String>, RowOrder) {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("{file}:1: {e}")],
                RowOrder::default(),
            );
        }
    };
    if header != ["time", "device", "field", "value"] {
        return (
            Vec::new(),
            vec![format!(
                "{file}:1: header must be 'time,device,field,value', found '{}'",
                header.join(",")
            )],
            RowOrder::default(),
        );
    }
    let mut series: BTreeMap<(String, Field), Arc<Series>> = BTreeMap::new();
    let mut rows: BTreeMap<(Timestamp, String), Vec<Sample>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut order = RowOrder::default();
    let mut seen: BTreeMap<(String, Field, Timestamp), f64> = BTreeMap::new();
    let mut newest: BTreeMap<(String, Field), Timestamp> = BTreeMap::new();
    let mut local_seen: std::collections::BTreeSet<(String, Field, String)> = Default::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("{file}:{line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut bad = |what: String| problems.push(format!("{file}:{line}: {what}"));
        if record.len() != 4 {
            bad(format!("expected 4 columns, found {}", record.len()));
            continue;
        }
        let device = config.devices.iter().find(|d| d.id == record[1]);
        // A probe the inventory places (`temperature_at`) is imported where it is, as collected.
        let field =
            Field::from_name(&record[2]).map(|f| f.placed(device.and_then(|d| d.temperature_at)));
        let ts = parse_rfc3339(&record[0]).or_else(|e| {
            // A local time with no offset (as BMS exports write them) is the device's site's.
            let (Some(d), Some(f)) = (device, field) else {
                return Err(e.to_string());
            };
            let Some(site) = config.sites.iter().find(|s| s.id == d.site) else {
                return Err(e.to_string());
            };
            let text = record[0].to_owned();
            // The second row at a repeated wall-clock time is the second of its two instants.
            let later = kilowatch_core::calendar::is_repeated(&site.timezone, &text)
                && !local_seen.insert((d.id.clone(), f, text.clone()));
            kilowatch_core::calendar::parse_local(&site.timezone, &text, later).map_err(|le| {
                match le {
                    kilowatch_core::calendar::CalendarError::NoSuchLocalTime { .. } => {
                        le.to_string()
                    }
                    _ => {
                        format!("{e}, or a local time like 2025-01-01 00:00:00 in the site's zone")
                    }
                }
            })
        });
        let value = record[3].parse::<f64>().ok().filter(|v| v.is_finite());
        match (ts, device, field, value) {
            (Ok(ts), Some(device), Some(field), Some(value)) => {
                let last = newest.entry((device.id.clone(), field)).or_insert(ts);
                if ts < *last {
                    order.out_of_order += 1;
                }
                *last = (*last).max(ts);
                if let Some(before) = seen.insert((device.id.clone(), field, ts), value) {
                    order.duplicates += 1;
                    if before != value {
                        order.conflicting += 1;
                    }
                }
                let s = series
                    .entry((device.id.clone(), field))
                    .or_insert_with(|| Arc::new(device.series(field, None)))
                    .clone();
                rows.entry((ts, device.id.clone()))
                    .or_default()
                    .push(Sample {
                        series: s,
                        field,
                        value,
                    });
            }
            (ts, device, field, value) => {
                if let Err(e) = ts {
                    bad(format!("time: {e}"));
                }
                if device.is_none() {
                    bad(format!(
                        "device '{}' is not in {}",
                        &record[1],
                        config.path.display()
                    ));
                }
                if field.is_none() {
                    bad(format!(
                        "field '{}' is not a canonical field (e.g. energy_kwh, active_power_w)",
                        &record[2]
                    ));
                }
                if value.is_none() {
                    bad(format!("value '{}' is not a finite number", &record[3]));
                }
            }
        }
    }
    (to_batches(rows), problems, order)
}

/// Line protocol in the canonical schema: `measurement,device=ID[,point=P] field=value[,...] ts`.
/// Tags other than `device` and `point` are taken from the inventory, like CSV rows.
pub fn parse_lp(
    text: &str,
    file: &str,
    config: &Config,
    precision: Precision,
) -> (Vec<Batch>, Vec<String>) {
    let mut series: BTreeMap<(String, Field, String), Arc<Series>> = BTreeMap::new();
    let mut rows: BTreeMap<(Timestamp, String), Vec<Sample>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut bad = |what: String| problems.push(format!("{file}:{line_no}: {what}"));
        let parts = split_unescaped(line, ' ');
        let [key, fields, ts] = parts.as_slice() else {
            bad("expected 'measurement,tags fields timestamp'".into());
            continue;
        };
        let key_parts = split_unescaped(key, ',');
        let measurement = unescape(&key_parts[0]);
        let mut tags = BTreeMap::new();
        for kv in &key_parts[1..] {
            match split_unescaped(kv, '=').as_slice() {
                [k, v] => {
                    tags.insert(unescape(k), unescape(v));
                }
                _ => bad(format!("tag '{kv}' is not key=value")),
            }
        }
        let Some(device) = tags
            .get("device")
            .and_then(|id| config.devices.iter().find(|d| &d.id == id))
        else {
            bad(format!(
                "tag device '{}' is not in {}",
                tags.get("device").map_or("", String::as_str),
                config.path.display()
            ));
            continue;
        };
        let at = match ts.parse::<i64>() {
            Ok(t) => precision.to_ms(t),
            Err(_) => {
                bad(format!("timestamp '{ts}' is not an integer"));
                continue;
            }
        };
        let point = tags.get("point").cloned().unwrap_or_default();
        for fv in split_unescaped(fields, ',') {
            let [k, v] = split_unescaped(&fv, '=')
                .try_into()
                .unwrap_or_else(|_| [String::new(), String::new()]);
            let Some(field) = Field::from_name(&unescape(&k)) else {
                bad(format!("field '{k}' is not a canonical field"));
                continue;
            };
            if field.measurement().name() != measurement {
                bad(format!(
                    "field '{k}' belongs to measurement '{}', not '{measurement}'",
                    field.measurement().name()
                ));
                continue;
            }
            let field = field.placed(device.temperature_at);
            let Some(value) = v
                .trim_end_matches('i')
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
            else {
                bad(format!("value '{v}' of '{k}' is not a number"));
                continue;
            };
            let s = series
                .entry((device.id.clone(), field, point.clone()))
                .or_insert_with(|| {
                    Arc::new(device.series(field, (!point.is_empty()).then_some(point.as_str())))
                })
                .clone();
            rows.entry((at, device.id.clone()))
                .or_default()
                .push(Sample {
                    series: s,
                    field,
                    value,
                });
        }
    }
    (to_batches(rows), problems)
}

/// Splits at `sep` where it is neither escaped with a backslash nor inside double quotes.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut escaped, mut quoted) = (false, false);
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                cur.push(c);
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && chars
                .peek()
                .is_some_and(|n| [',', '=', ' ', '"', '\\'].contains(n))
        {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn to_batches(rows: BTreeMap<(Timestamp, String), Vec<Sample>>) -> Vec<Batch> {
    rows.into_iter()
        .map(|((at, device), samples)| Batch {
            device: Arc::from(device.as_str()),
            at,
            samples,
            poll: PollStatus::Ok,
            poll_ms: 0.0,
        })
        .collect()
}
