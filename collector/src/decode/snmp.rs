//! SNMP readings to samples: GETs and table walks, with divisors, stated units (ENTITY-SENSOR-MIB
//! precision and SI prefix), row selection by name or column value, and aggregates over rows.
//! A table row gets its series on first sight and keeps it ([`RowSeries`]).

use std::sync::Arc;

use kilowatch_core::model::{Field, Sample, Series};
use kilowatch_core::profile::{Aggregate, Match};

use super::{RowSeries, SnmpValue, Trace, dotted, push};
use crate::plan::{Plan, RowSelector, SnmpEntry, SnmpPlan, SnmpSource};

/// The raw number of a value: with `text_number`, the first number in a text; `Ok(None)` when
/// the text has none ("not available").
fn raw(e: &SnmpEntry, v: &SnmpValue) -> Result<Option<f64>, super::NotANumber> {
    if e.text_number {
        v.number_in_text()
    } else {
        v.as_f64().map(Some)
    }
}

/// A code of an enumeration read as 0/1 by the profile's `true_when`.
fn truth(e: &SnmpEntry, code: f64) -> f64 {
    if e.true_when.contains(&code) {
        1.0
    } else {
        0.0
    }
}

#[allow(clippy::too_many_arguments)] // one call site; the pieces are what decoding needs
pub(super) fn decode_snmp(
    plan: &Plan,
    p: &SnmpPlan,
    gets: &[SnmpValue],
    walks: &[Vec<(Vec<u32>, SnmpValue)>],
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    trace: &mut Trace<'_>,
) {
    // `fallback` entries come last, and read only fields no other entry of their module read
    // in this poll, nor, in a merged profile, another module at the same point (`taken`).
    // Each other entry's samples are noted when the next entry starts.
    let mut read: Vec<(usize, Field)> = Vec::new();
    let mut pending: Option<(usize, usize)> = None;
    let any_fallback = p.entries.iter().any(|e| e.fallback);
    let order = (p.entries.iter().enumerate().filter(|(_, e)| !e.fallback))
        .chain(p.entries.iter().enumerate().filter(|(_, e)| e.fallback));
    for (i, e) in order {
        if let Some((origin, before)) = pending.take() {
            read.extend(out[before..].iter().map(|s| (origin, s.field)));
        }
        if !e.fallback {
            pending = any_fallback.then_some((e.origin, out.len()));
        } else if read.contains(&(e.origin, e.field)) {
            continue;
        }
        trace.fallback = e.fallback;
        match e.source {
            SnmpSource::Get(g) => {
                let Some(v) = gets.get(g) else { continue };
                // A name/value pair of scalars: a slot named otherwise, or empty, is not this field.
                if let Some(n) = e.name_get {
                    let name = match gets.get(n) {
                        Some(SnmpValue::Bytes(b)) => String::from_utf8_lossy(b).to_lowercase(),
                        _ => String::new(),
                    };
                    if !e.name_contains.iter().any(|w| name.contains(w.as_str())) {
                        continue;
                    }
                }
                match raw(e, v) {
                    Ok(None) => {}
                    Ok(Some(x)) if e.invalid.contains(&x) => {}
                    _ if taken(out, e, p.series[i].as_ref()) => {}
                    Ok(Some(x)) if !e.true_when.is_empty() => {
                        if push(out, p.series[i].as_ref(), e.field, truth(e, x)) {
                            trace.push(|| dotted(&p.gets[g]));
                        }
                    }
                    Ok(Some(x)) => {
                        let Some(x) = divide(x, e.divisor.and_then(|d| cell(d, gets, walks, &[])))
                        else {
                            continue;
                        };
                        let v = celsius(e, gets, walks, &[], x * e.scale + e.offset);
                        if push(out, p.series[i].as_ref(), e.field, v) {
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
                    .and_then(|r| walks.get(r.column).map(|col| (col, r)));
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
                        if !value.is_some_and(|v| selects(v, wanted)) {
                            continue;
                        }
                    }
                    match raw(e, v) {
                        Ok(None) => {}
                        Ok(Some(x)) if e.invalid.contains(&x) => {}
                        Ok(Some(x)) if !e.true_when.is_empty() => {
                            values.push((row, index, truth(e, x)));
                        }
                        Ok(Some(x)) => {
                            let divisor = e.divisor.and_then(|d| cell(d, gets, walks, row));
                            let Some(stated) = stated_unit(e, walks, row) else {
                                continue;
                            };
                            if let Some(x) = divide(x, divisor) {
                                let v = x * stated * e.scale + e.offset;
                                values.push((row, index, celsius(e, gets, walks, row, v)));
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
                    if !taken(out, e, p.series[i].as_ref())
                        && push(out, p.series[i].as_ref(), e.field, v)
                    {
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
                        if taken(out, e, Some(series)) {
                            continue;
                        }
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

/// Whether a `fallback` entry's sample would give a series another entry already gave this
/// field: in a merged profile, another module's reading at the same point, which wins. (Within
/// its own module a fallback entry yields by field alone, before it reads anything.)
fn taken(out: &[Sample], e: &SnmpEntry, series: Option<&Arc<Series>>) -> bool {
    e.fallback && series.is_some_and(|s| out.iter().any(|o| o.field == e.field && o.series == *s))
}

/// The divisor's value: the GET, or the same row of the divisor column.
/// `v` in °C: converted from °F when the device's unit setting for this row says so (the
/// setting's own row, or the row of the table above it whose index begins this row's).
fn celsius(
    e: &SnmpEntry,
    gets: &[SnmpValue],
    walks: &[Vec<(Vec<u32>, SnmpValue)>],
    row: &[u32],
    v: f64,
) -> f64 {
    let Some(unit) = &e.fahrenheit else {
        return v;
    };
    let setting = match unit.source {
        SnmpSource::Get(g) => gets.get(g),
        SnmpSource::Walk(w) => walks.get(w).and_then(|col| {
            col.iter()
                .filter(|(i, _)| row.starts_with(i))
                .max_by_key(|(i, _)| i.len())
                .map(|(_, v)| v)
        }),
    };
    let says_fahrenheit = |s: &SnmpValue| {
        unit.equals.iter().any(|f| matches(s, f))
            || matches!(s, SnmpValue::Bytes(b) if {
                let text = String::from_utf8_lossy(b).trim_end().to_lowercase();
                unit.ends_with.iter().any(|end| text.ends_with(end.as_str()))
            })
    };
    if setting.is_some_and(says_fahrenheit) {
        (v - 32.0) * 5.0 / 9.0
    } else {
        v
    }
}

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

/// Whether a row's selecting cell holds one of the values, or an OID under one of the prefixes
/// (an OID value, or text spelling one, as some firmware sends OIDs).
fn selects(v: &SnmpValue, r: &RowSelector) -> bool {
    if r.equals.iter().any(|w| matches(v, w)) {
        return true;
    }
    let oid = match v {
        SnmpValue::Oid(o) => Some(o.clone()),
        SnmpValue::Bytes(b) => {
            kilowatch_core::profile::parse_oid(String::from_utf8_lossy(b).trim())
        }
        _ => None,
    };
    oid.is_some_and(|o| r.prefixes.iter().any(|p| o.starts_with(p)))
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

#[cfg(test)]
mod tests;
