//! `[[rules]]`: a user's own rules, each checked against the canonical fields and the
//! inventory it scopes, with problems named by file, line and key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::checker::{Checker, table_entries};
use super::raw::de_duration_opt;
use super::{Device, Site};
use crate::event::Severity;
use crate::model::Field;

/// One rule: when it holds, for how long, how bad, and on what.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The alert's name (Alertmanager's `alertname`).
    pub name: String,
    pub condition: Condition,
    /// How long the condition must hold before the alert fires.
    pub hold: Duration,
    pub severity: Severity,
    pub scope: Scope,
    /// One line for people; `{value}`, `{device}`, `{point}`, `{limit}` are filled in.
    pub summary: Option<String>,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Above (or below) a level; it resolves only once back past `clear` (hysteresis).
    Threshold {
        field: Field,
        limit: Limit,
        above: bool,
        clear: Option<Limit>,
    },
    /// Changing faster than `by` per `per` (rising when `by` > 0, falling when < 0).
    Rate {
        field: Field,
        by: f64,
        per: Duration,
    },
    /// A series that stopped arriving for `after`.
    Absent { field: Field, after: Duration },
    /// A device whose polls fail.
    Down,
    /// A state field at one of the listed values (UPS on battery = 1, an alarm enumeration).
    State { field: Field, values: Vec<f64> },
    /// A rack's IT power (its devices' totals) over a share of its `power_budget_w`.
    RackPower { fraction: f64 },
    /// A site's PUE over the last `window` (mean facility power over mean IT power at the
    /// most downstream category metered: an energy ratio, not a ratio of two readings) more
    /// than `tolerance_pct` above its `baseline`.
    PueDrift {
        baseline: f64,
        tolerance_pct: f64,
        window: Duration,
    },
}

impl Condition {
    pub fn field(&self) -> Option<Field> {
        match self {
            Condition::Threshold { field, .. }
            | Condition::Rate { field, .. }
            | Condition::Absent { field, .. }
            | Condition::State { field, .. } => Some(*field),
            Condition::Down => None,
            Condition::RackPower { .. } | Condition::PueDrift { .. } => Some(Field::ActivePowerW),
        }
    }
}

/// A level: a number, or a share of a device's rating from the inventory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Value(f64),
    Rating { rating: Rating, fraction: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    BreakerA,
    MaxPowerW,
    RatedPowerW,
}

impl Rating {
    pub const NAMES: &'static [&'static str] = &["breaker_a", "max_power_w", "rated_power_w"];

    fn from_name(s: &str) -> Option<Rating> {
        Some(match s {
            "breaker_a" => Rating::BreakerA,
            "max_power_w" => Rating::MaxPowerW,
            "rated_power_w" => Rating::RatedPowerW,
            _ => return None,
        })
    }

    pub fn of(self, d: &Device) -> Option<f64> {
        match self {
            Rating::BreakerA => d.breaker_a,
            Rating::MaxPowerW => d.max_power_w,
            Rating::RatedPowerW => d.rated_power_w,
        }
    }
}

/// Which samples a rule sees: every condition given must hold (empty: all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub sites: Vec<String>,
    pub rooms: Vec<String>,
    pub racks: Vec<String>,
    pub devices: Vec<String>,
    pub profiles: Vec<String>,
    /// Series tags (`point`, `role`, ...) and the values allowed for each.
    pub tags: BTreeMap<String, Vec<String>>,
    /// Series whose `point` contains any of these words (any case) are left out: an inlet
    /// rule must not see exhaust or return-air probes.
    pub not_points: Vec<String>,
}

impl Scope {
    /// Whether a device is in scope (tags are checked per series).
    pub fn admits(&self, d: &Device) -> bool {
        let any = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
        };
        any(&self.sites, Some(&d.site))
            && any(&self.rooms, d.room.as_deref())
            && any(&self.racks, d.rack.as_deref())
            && any(&self.devices, Some(&d.id))
            && any(&self.profiles, Some(&d.profile))
    }
}

#[derive(Debug, Deserialize)]
struct RawRule {
    name: String,
    kind: String,
    field: Option<String>,
    above: Option<RawLimit>,
    below: Option<RawLimit>,
    clear: Option<RawLimit>,
    rise: Option<f64>,
    fall: Option<f64>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    per: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    after: Option<Duration>,
    equals: Option<Vec<f64>>,
    fraction: Option<f64>,
    baseline: Option<f64>,
    tolerance_pct: Option<f64>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    window: Option<Duration>,
    #[serde(default, rename = "for", deserialize_with = "de_duration_opt")]
    hold: Option<Duration>,
    severity: Option<Severity>,
    summary: Option<String>,
    #[serde(default)]
    scope: RawScope,
}

/// `27.0`, or `{ rating = "breaker_a", fraction = 0.8 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawLimit {
    Value(f64),
    Rating { rating: String, fraction: f64 },
}

#[derive(Debug, Default, Deserialize)]
struct RawScope {
    #[serde(default)]
    site: OneOrMany,
    #[serde(default)]
    room: OneOrMany,
    #[serde(default)]
    rack: OneOrMany,
    #[serde(default)]
    device: OneOrMany,
    #[serde(default)]
    profile: OneOrMany,
    #[serde(default)]
    tags: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    not_point: OneOrMany,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `[[rules]]`, checked against the fields, and the sites and devices they scope.
pub(super) fn check_rules(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    sites: &[Site],
    devices: &[Device],
) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, entry) in table_entries(c, "rules", v).into_iter().enumerate() {
        let key = format!("rules[{i}]");
        let Some(raw) = c.section::<RawRule>(&key, entry) else {
            continue;
        };
        if names.contains(&raw.name) {
            c.push(
                &format!("{key}.name"),
                format!("rule '{}' is defined twice", raw.name),
            );
        }
        names.push(raw.name.clone());
        if raw.name.is_empty() || raw.name.contains(|c: char| c.is_whitespace()) {
            c.push(&format!("{key}.name"), "must be a name without spaces");
        }
        if let Some(rule) = check_rule(c, &key, raw, sites, devices) {
            rules.push(rule);
        }
    }
    rules
}

fn check_rule(
    c: &mut Checker<'_>,
    key: &str,
    mut raw: RawRule,
    sites: &[Site],
    devices: &[Device],
) -> Option<Rule> {
    let scope = check_scope(c, key, std::mem::take(&mut raw.scope), sites, devices);
    let field = match raw.field.as_deref() {
        None => None,
        Some(f) => match Field::from_name(f) {
            Some(f) => Some(f),
            None => {
                c.push(
                    &format!("{key}.field"),
                    format!(
                        "unknown field '{f}'; expected one of {}",
                        Field::names().join(", ")
                    ),
                );
                return None;
            }
        },
    };
    let need_field = |c: &mut Checker<'_>| {
        if field.is_none() {
            c.push(
                &format!("{key}.field"),
                format!("a '{}' rule needs a field", raw.kind),
            );
        }
        field
    };
    let condition = match raw.kind.as_str() {
        "threshold" => {
            let field = need_field(c);
            let (limit, above) = match (&raw.above, &raw.below) {
                (Some(l), None) => (l, true),
                (None, Some(l)) => (l, false),
                _ => {
                    c.push(
                        key,
                        "a threshold rule needs exactly one of 'above' or 'below'",
                    );
                    return None;
                }
            };
            let limit = check_limit(
                c,
                &format!("{key}.{}", if above { "above" } else { "below" }),
                limit,
            )?;
            let clear = match &raw.clear {
                Some(l) => Some(check_limit(c, &format!("{key}.clear"), l)?),
                None => None,
            };
            if let (Limit::Value(l), Some(Limit::Value(cl))) = (limit, clear)
                && (if above { cl > l } else { cl < l })
            {
                c.push(
                    &format!("{key}.clear"),
                    format!(
                        "must be on the safe side of the limit ({} {l}) for hysteresis",
                        if above { "at most" } else { "at least" }
                    ),
                );
            }
            Condition::Threshold {
                field: field?,
                limit,
                above,
                clear,
            }
        }
        "rate" => {
            let field = need_field(c);
            let by = match (raw.rise, raw.fall) {
                (Some(r), None) if r > 0.0 => r,
                (None, Some(f)) if f > 0.0 => -f,
                _ => {
                    c.push(
                        key,
                        "a rate rule needs exactly one of 'rise' or 'fall', above zero",
                    );
                    return None;
                }
            };
            let per = raw.per.unwrap_or(Duration::from_secs(60));
            if per.is_zero() {
                c.push(&format!("{key}.per"), "must be greater than zero");
            }
            Condition::Rate {
                field: field?,
                by,
                per,
            }
        }
        "absent" => Condition::Absent {
            field: need_field(c)?,
            after: raw.after.unwrap_or(Duration::from_secs(300)),
        },
        "down" => Condition::Down,
        "state" => {
            let field = need_field(c);
            let Some(values) = raw.equals.clone().filter(|v| !v.is_empty()) else {
                c.push(
                    &format!("{key}.equals"),
                    "a state rule needs the values that alert, e.g. equals = [1]",
                );
                return None;
            };
            Condition::State {
                field: field?,
                values,
            }
        }
        "rack_power" => {
            let fraction = raw.fraction.unwrap_or(1.0);
            if !(fraction > 0.0 && fraction <= 2.0) {
                c.push(&format!("{key}.fraction"), "must be in (0, 2]");
            }
            Condition::RackPower { fraction }
        }
        "pue_drift" => {
            let Some(baseline) = raw.baseline.filter(|b| (1.0..=5.0).contains(b)) else {
                c.push(
                    &format!("{key}.baseline"),
                    "a pue_drift rule needs the site's baseline PUE, 1.0 to 5.0 (e.g. baseline = 1.6)",
                );
                return None;
            };
            let tolerance_pct = raw.tolerance_pct.unwrap_or(10.0);
            if !(tolerance_pct > 0.0 && tolerance_pct <= 100.0) {
                c.push(&format!("{key}.tolerance_pct"), "must be in (0, 100]");
            }
            let window = raw.window.unwrap_or(Duration::from_secs(3600));
            if window < Duration::from_secs(60) {
                c.push(&format!("{key}.window"), "must be at least 1m");
            }
            if scope.sites.len() != 1 {
                c.push(
                    &format!("{key}.scope.site"),
                    "a pue_drift rule is for one site: name it (its baseline is that site's)",
                );
            }
            Condition::PueDrift {
                baseline,
                tolerance_pct,
                window,
            }
        }
        other => {
            c.push(
                &format!("{key}.kind"),
                format!("unknown kind '{other}'; expected threshold, rate, absent, down, state, rack_power or pue_drift"),
            );
            return None;
        }
    };
    Some(Rule {
        name: raw.name,
        condition,
        hold: raw.hold.unwrap_or(Duration::ZERO),
        severity: raw.severity.unwrap_or(Severity::Warning),
        scope,
        summary: raw.summary,
    })
}

fn check_limit(c: &mut Checker<'_>, key: &str, raw: &RawLimit) -> Option<Limit> {
    match raw {
        RawLimit::Value(v) if v.is_finite() => Some(Limit::Value(*v)),
        RawLimit::Value(_) => {
            c.push(key, "must be a finite number");
            None
        }
        RawLimit::Rating { rating, fraction } => match Rating::from_name(rating) {
            Some(r) if *fraction > 0.0 && fraction.is_finite() => Some(Limit::Rating {
                rating: r,
                fraction: *fraction,
            }),
            Some(_) => {
                c.push(&format!("{key}.fraction"), "must be above zero");
                None
            }
            None => {
                c.push(
                    &format!("{key}.rating"),
                    format!(
                        "unknown rating '{rating}'; expected one of {}",
                        Rating::NAMES.join(", ")
                    ),
                );
                None
            }
        },
    }
}

/// A scope naming a site, rack or device the inventory lacks is a typo that would silence
/// the rule: refused.
fn check_scope(
    c: &mut Checker<'_>,
    key: &str,
    raw: RawScope,
    sites: &[Site],
    devices: &[Device],
) -> Scope {
    let scope = Scope {
        sites: raw.site.into_vec(),
        rooms: raw.room.into_vec(),
        racks: raw.rack.into_vec(),
        devices: raw.device.into_vec(),
        profiles: raw.profile.into_vec(),
        tags: raw
            .tags
            .into_iter()
            .map(|(k, v)| (k, v.into_vec()))
            .collect(),
        not_points: raw.not_point.into_vec(),
    };
    for s in &scope.sites {
        if !sites.iter().any(|x| &x.id == s) {
            c.push(
                &format!("{key}.scope.site"),
                format!("no site '{s}' in the inventory"),
            );
        }
    }
    let rooms = || sites.iter().flat_map(|s| &s.rooms);
    for r in &scope.rooms {
        if !rooms().any(|x| &x.id == r) {
            c.push(
                &format!("{key}.scope.room"),
                format!("no room '{r}' in the inventory"),
            );
        }
    }
    for r in &scope.racks {
        if !rooms().flat_map(|x| &x.racks).any(|x| &x.id == r) {
            c.push(
                &format!("{key}.scope.rack"),
                format!("no rack '{r}' in the inventory"),
            );
        }
    }
    for d in &scope.devices {
        if !devices.iter().any(|x| &x.id == d) {
            c.push(
                &format!("{key}.scope.device"),
                format!("no device '{d}' in the inventory"),
            );
        }
    }
    scope
}
