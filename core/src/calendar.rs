//! Site calendars: days, months and years in a site's IANA time zone (DST included), and the
//! report windows people write (`2025-01-01`, `--year 2025`, `--month 2025-06`, RFC 3339 times,
//! durations). A local date resolves to that site's local midnight, so one window can mean
//! different instants at sites in different zones.
//!
//! Built on `jiff`: the host's tz database where there is one, else the copy bundled in the
//! binary, so a minimal host without `/usr/share/zoneinfo` still knows Europe/London.

use std::time::Duration;

pub use jiff::civil::Date;
pub use jiff::tz::TimeZone;

use crate::model::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "unknown time zone '{name}' (an IANA name such as 'Asia/Hong_Kong' or 'Europe/London')"
    )]
    UnknownZone { name: String },
    #[error(
        "'{text}' is not a time: write an RFC 3339 time (2025-01-01T00:00:00+08:00), a date \
         (2025-01-01, site-local midnight), a duration before --to (30d) or 'now'"
    )]
    BadTime { text: String },
    #[error("'{text}' is not a {what}")]
    BadCalendar { text: String, what: &'static str },
    #[error("'{text}' does not exist in {zone}: the clocks went forward over it")]
    NoSuchLocalTime { text: String, zone: String },
    #[error("the window is empty or backwards ({from} to {to})")]
    Backwards { from: String, to: String },
}

/// The zone named `name` (IANA), from the host's tz database or the bundled copy.
pub fn zone(name: &str) -> Result<TimeZone, CalendarError> {
    TimeZone::get(name).map_err(|_| CalendarError::UnknownZone {
        name: name.to_owned(),
    })
}

/// The host's zone (`TZ`, then `/etc/localtime`), UTC when it cannot be told.
pub fn host_zone() -> TimeZone {
    TimeZone::try_system().unwrap_or(TimeZone::UTC)
}

/// The zone's IANA name, or its fixed offset when it has none.
pub fn zone_name(tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some(n) => n.to_owned(),
        None => jiff::Timestamp::UNIX_EPOCH
            .to_zoned(tz.clone())
            .offset()
            .to_string(),
    }
}

fn instant(ts: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ts).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The local date of an instant in `tz`.
pub fn local_date(tz: &TimeZone, ts: Timestamp) -> Date {
    instant(ts).to_zoned(tz.clone()).date()
}

/// The first instant of `date` in `tz` (local midnight; the first valid time after it where a
/// DST change skips midnight).
pub fn day_start(tz: &TimeZone, date: Date) -> Timestamp {
    date.to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_or(i64::MIN, |z| z.timestamp().as_millisecond())
}

/// `2025-03-30T00:00:00+00:00`: an instant written in the site's local time with its offset.
pub fn format_local(tz: &TimeZone, ts: Timestamp) -> String {
    let z = instant(ts).to_zoned(tz.clone());
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A local wall-clock time as a BMS export writes it (`2025-10-26 01:30`, `2025-10-26T01:30:00`,
/// no offset), in `tz`. In the repeated hour when clocks go back, `later` picks the second of
/// the two instants; in the hour skipped when they go forward there is no instant at all.
pub fn parse_local(tz: &TimeZone, text: &str, later: bool) -> Result<Timestamp, CalendarError> {
    let bad = || CalendarError::BadTime {
        text: text.to_owned(),
    };
    let dt: jiff::civil::DateTime = text
        .trim()
        .replacen(' ', "T", 1)
        .parse()
        .map_err(|_| bad())?;
    let amb = tz.to_ambiguous_timestamp(dt);
    let ts = match amb.offset() {
        jiff::tz::AmbiguousOffset::Gap { .. } => {
            return Err(CalendarError::NoSuchLocalTime {
                text: text.to_owned(),
                zone: zone_name(tz),
            });
        }
        jiff::tz::AmbiguousOffset::Fold { .. } if later => amb.later(),
        _ => amb.earlier(),
    };
    ts.map(|t| t.as_millisecond()).map_err(|_| bad())
}

/// Whether a local wall-clock time happens twice in `tz` (the hour repeated when clocks go back).
pub fn is_repeated(tz: &TimeZone, text: &str) -> bool {
    text.trim()
        .replacen(' ', "T", 1)
        .parse::<jiff::civil::DateTime>()
        .is_ok_and(|dt| {
            matches!(
                tz.to_ambiguous_timestamp(dt).offset(),
                jiff::tz::AmbiguousOffset::Fold { .. }
            )
        })
}

/// A calendar period (a local day or month) clipped to a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `2025-03-30` for a day, `2025-03` for a month.
    pub label: String,
    /// Local start of the period (before `from` when the window starts inside it).
    pub start: Timestamp,
    /// The clipped window: `[from, to)`.
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Local days in `tz` overlapping `[from, to)`, each clipped to it. At most `limit` periods.
pub fn days(tz: &TimeZone, from: Timestamp, to: Timestamp, limit: usize) -> Vec<Period> {
    periods(
        tz,
        from,
        to,
        limit,
        |d| d,
        |d| d.tomorrow().ok(),
        |d| d.strftime("%Y-%m-%d").to_string(),
    )
}

/// Local months in `tz` overlapping `[from, to)`, each clipped to it. At most `limit` periods.
pub fn months(tz: &TimeZone, from: Timestamp, to: Timestamp, limit: usize) -> Vec<Period> {
    periods(
        tz,
        from,
        to,
        limit,
        |d| d.first_of_month(),
        |d| {
            d.first_of_month()
                .checked_add(jiff::Span::new().months(1))
                .ok()
        },
        |d| d.strftime("%Y-%m").to_string(),
    )
}

fn periods(
    tz: &TimeZone,
    from: Timestamp,
    to: Timestamp,
    limit: usize,
    first: impl Fn(Date) -> Date,
    next: impl Fn(Date) -> Option<Date>,
    label: impl Fn(Date) -> String,
) -> Vec<Period> {
    let mut out = Vec::new();
    if to <= from {
        return out;
    }
    let mut date = first(local_date(tz, from));
    let mut start = day_start(tz, date);
    while start < to && out.len() < limit {
        let Some(after) = next(date) else { break };
        let end = day_start(tz, after);
        if end > from {
            out.push(Period {
                label: label(date),
                start,
                from: start.max(from),
                to: end.min(to),
            });
        }
        (date, start) = (after, end);
    }
    out
}

/// One end of a window as written: an instant, a local date (resolved per site), or (for the
/// start only) a duration before the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    At(Timestamp),
    Date(Date),
    Before(Duration),
}

/// A report window as written on the command line; [`Window::resolve`] gives its instants in
/// a site's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Bound,
    pub to: Bound,
}

impl Window {
    /// `[from, to)` in `tz`.
    pub fn resolve(&self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), CalendarError> {
        let at = |b: Bound| match b {
            Bound::At(t) => t,
            Bound::Date(d) => day_start(tz, d),
            Bound::Before(_) => i64::MIN,
        };
        let to = at(self.to);
        let from = match self.from {
            Bound::Before(d) => to.saturating_sub(d.as_millis() as i64),
            b => at(b),
        };
        if from >= to {
            return Err(CalendarError::Backwards {
                from: format_local(tz, from),
                to: format_local(tz, to),
            });
        }
        Ok((from, to))
    }

    /// The window an instant-only caller (one zone) uses: resolved in `tz`.
    pub fn instants(from: Timestamp, to: Timestamp) -> Window {
        Window {
            from: Bound::At(from),
            to: Bound::At(to),
        }
    }
}

/// Parses `--from`/`--to` (or `--year`, `--month`, which win over them) into a window. `now` is
/// the instant `now` and a missing `--to` mean.
pub fn parse_window(
    from: &str,
    to: &str,
    year: Option<&str>,
    month: Option<&str>,
    now: Timestamp,
) -> Result<Window, CalendarError> {
    if let Some(y) = year {
        let n: i16 = y
            .trim()
            .parse()
            .ok()
            .filter(|n| (1900..=9998).contains(n))
            .ok_or_else(|| CalendarError::BadCalendar {
                text: y.to_owned(),
                what: "year (e.g. 2025)",
            })?;
        return Ok(Window {
            from: Bound::Date(jiff::civil::date(n, 1, 1)),
            to: Bound::Date(jiff::civil::date(n + 1, 1, 1)),
        });
    }
    if let Some(m) = month {
        let bad = || CalendarError::BadCalendar {
            text: m.to_owned(),
            what: "month (e.g. 2025-06)",
        };
        let first: Date = format!("{}-01", m.trim()).parse().map_err(|_| bad())?;
        let next = first
            .checked_add(jiff::Span::new().months(1))
            .map_err(|_| bad())?;
        return Ok(Window {
            from: Bound::Date(first),
            to: Bound::Date(next),
        });
    }
    let to = match bound(to, now)? {
        Bound::Before(_) => {
            return Err(CalendarError::BadTime {
                text: to.to_owned(),
            });
        }
        b => b,
    };
    Ok(Window {
        from: bound(from, now)?,
        to,
    })
}

fn bound(s: &str, now: Timestamp) -> Result<Bound, CalendarError> {
    let s = s.trim();
    if s == "now" {
        return Ok(Bound::At(now));
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(Bound::Before(d));
    }
    if s.len() == 10
        && let Ok(d) = s.parse::<Date>()
    {
        return Ok(Bound::Date(d));
    }
    crate::timefmt::parse_rfc3339(s)
        .map(Bound::At)
        .map_err(|_| CalendarError::BadTime { text: s.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::parse_rfc3339;

    fn t(s: &str) -> Timestamp {
        parse_rfc3339(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn issue_16_a_london_year_has_365_days_with_a_23_and_a_25_hour_day() {
        let tz = zone("Europe/London").unwrap_or_else(|e| panic!("{e}"));
        let w = parse_window("30d", "now", Some("2025"), None, 0).unwrap_or_else(|e| panic!("{e}"));
        let (from, to) = w.resolve(&tz).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (from, to),
            (t("2025-01-01T00:00:00Z"), t("2026-01-01T00:00:00Z"))
        );
        let days = days(&tz, from, to, 400);
        assert_eq!(days.len(), 365);
        let hours = |label: &str| {
            let d = days
                .iter()
                .find(|d| d.label == label)
                .unwrap_or_else(|| panic!("{label}"));
            (d.to - d.from) / 3_600_000
        };
        assert_eq!(hours("2025-03-30"), 23);
        assert_eq!(hours("2025-10-26"), 25);
        assert_eq!(hours("2025-06-15"), 24);
        // Summer days start at 23:00 UTC the evening before.
        let june = days
            .iter()
            .find(|d| d.label == "2025-06-15")
            .map(|d| d.from);
        assert_eq!(june, Some(t("2025-06-14T23:00:00Z")));
        assert_eq!(months(&tz, from, to, 20).len(), 12);
    }

    #[test]
    fn hong_kong_dates_are_local_midnights_and_windows_clip_periods() {
        let tz = zone("Asia/Hong_Kong").unwrap_or_else(|e| panic!("{e}"));
        let w = parse_window("2024-02-28", "2024-03-02", None, None, 0)
            .unwrap_or_else(|e| panic!("{e}"));
        let (from, to) = w.resolve(&tz).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from, t("2024-02-27T16:00:00Z"));
        let labels: Vec<String> = days(&tz, from, to, 10)
            .into_iter()
            .map(|d| d.label)
            .collect();
        assert_eq!(labels, ["2024-02-28", "2024-02-29", "2024-03-01"]);
        // A window starting mid-day clips its first day and month.
        let m = months(
            &tz,
            t("2025-01-15T12:00:00+08:00"),
            t("2025-03-01T00:00:00+08:00"),
            10,
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].label, "2025-01");
        assert_eq!(m[0].from, t("2025-01-15T12:00:00+08:00"));
        assert_eq!(m[0].start, t("2025-01-01T00:00:00+08:00"));
        assert_eq!(m[1].to, t("2025-03-01T00:00:00+08:00"));
    }

    #[test]
    fn local_times_from_an_export_resolve_through_both_dst_changes() {
        let tz = zone("Europe/London").unwrap_or_else(|e| panic!("{e}"));
        let at = |s: &str, later: bool| parse_local(&tz, s, later).ok();
        assert_eq!(
            at("2025-06-01 12:00", false),
            Some(t("2025-06-01T11:00:00Z"))
        );
        // 01:30 on 2025-10-26 happens twice: BST first, then GMT.
        assert!(is_repeated(&tz, "2025-10-26 01:30:00"));
        assert_eq!(
            at("2025-10-26 01:30:00", false),
            Some(t("2025-10-26T00:30:00Z"))
        );
        assert_eq!(
            at("2025-10-26T01:30:00", true),
            Some(t("2025-10-26T01:30:00Z"))
        );
        // 01:30 on 2025-03-30 never happens.
        assert!(matches!(
            parse_local(&tz, "2025-03-30 01:30", false),
            Err(CalendarError::NoSuchLocalTime { .. })
        ));
        assert!(parse_local(&tz, "30/03/2025 01:30", false).is_err());
    }

    #[test]
    fn windows_take_months_durations_and_times_and_refuse_nonsense() {
        let tz = zone("Asia/Hong_Kong").unwrap_or_else(|e| panic!("{e}"));
        let w = parse_window("x", "y", None, Some("2025-06"), 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            w.resolve(&tz).ok(),
            Some((
                t("2025-06-01T00:00:00+08:00"),
                t("2025-07-01T00:00:00+08:00")
            ))
        );
        let now = t("2025-06-10T00:00:00Z");
        let w = parse_window("24h", "now", None, None, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.resolve(&tz).ok(), Some((now - 86_400_000, now)));
        assert!(parse_window("yesterday", "now", None, None, now).is_err());
        assert!(
            parse_window("1h", "2h", None, None, now).is_err(),
            "--to cannot be a duration"
        );
        assert!(parse_window("x", "y", Some("25"), None, 0).is_err());
        assert!(parse_window("x", "y", None, Some("2025-13"), 0).is_err());
        let w = parse_window("2025-02-01", "2025-01-01", None, None, 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(w.resolve(&tz).is_err());
        assert!(zone("Mars/Olympus_Mons").is_err());
    }
}
