//! Rules made ready for evaluation: each device's rules, compiled when the engine starts into a
//! table by field with its limits resolved from its ratings. Devices whose rules come out the
//! same (every PDU of a model in racks of one budget) share one table, and the engine keeps of
//! a device only where it is ([`Place`]), not its address or credentials.

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::address::Address;
use kilowatch_core::config::{Condition, Config, Device, Rule};
use kilowatch_core::event::Severity;
use kilowatch_core::model::{Field, Role, Series};

use kilowatch_core::config::Limit;

/// A rule as the engine holds it; trap-raised alerts have a name and no rule.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub name: String,
    pub rule: Option<Rule>,
    pub severity: Severity,
    pub summary: Option<String>,
}

impl Compiled {
    fn of(rule: Rule) -> Compiled {
        Compiled {
            name: rule.name.clone(),
            severity: rule.severity,
            summary: rule.summary.clone(),
            rule: Some(rule),
        }
    }

    /// The alert a trap raises, named by the trap map (`ups_on_battery`).
    pub fn trap(name: &str) -> Compiled {
        Compiled {
            name: name.to_owned(),
            rule: None,
            severity: Severity::Warning,
            summary: None,
        }
    }

    /// Whether a series passes the rule's tag conditions (its device passed the rest).
    pub fn admits(&self, series: &Series) -> bool {
        let Some(rule) = &self.rule else {
            return false;
        };
        let scope = &rule.scope;
        let tags_ok = scope.tags.iter().all(|(k, allowed)| {
            series
                .tag(k)
                .is_some_and(|v| allowed.iter().any(|a| a == v))
        });
        tags_ok
            && (scope.not_points.is_empty()
                || series.tag("point").is_none_or(|p| {
                    let p = p.to_lowercase();
                    !scope
                        .not_points
                        .iter()
                        .any(|w| p.contains(&w.to_lowercase()))
                }))
    }
}

/// A threshold resolved for one device.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub rule: usize,
    pub limit: f64,
    pub clear: f64,
}

/// Where a device is and what it is: all the engine keeps of it.
#[derive(Debug)]
pub struct Place {
    pub id: Arc<str>,
    pub site: Arc<str>,
    pub room: Option<Arc<str>>,
    pub rack: Option<Arc<str>>,
    /// `site/rack`, the subject of rack rules: made once, not per poll.
    pub rack_key: Option<Arc<str>>,
    pub profile: Arc<str>,
    pub role: Option<Role>,
}

/// One device's rules.
#[derive(Debug)]
pub struct DeviceRules {
    /// Thresholds and conditions by field (indexed by `Field as usize`).
    pub by_field: Vec<Vec<Bound>>,
    /// Fields a rate or absence rule watches: their last reading is kept.
    pub remembers: Vec<bool>,
    pub down: Vec<usize>,
    /// PUE drift rules that this meter feeds (a facility or IT meter of their site).
    pub pue: Vec<usize>,
    /// Rack budget rules, with the rack's budget in W.
    pub rack_power: Vec<(usize, f64)>,
}

/// Every rule of the config, the user's first.
pub fn rules(config: &Config) -> Vec<Compiled> {
    user_rules(config).into_iter().map(Compiled::of).collect()
}

/// Every inventory device's place and rules, devices with equal rules sharing them.
pub fn devices(
    rules: &[Compiled],
    config: &Config,
) -> HashMap<Arc<str>, (Arc<Place>, Arc<DeviceRules>)> {
    let budgets: HashMap<(&str, &str), f64> = config
        .sites
        .iter()
        .flat_map(|s| {
            s.rooms
                .iter()
                .flat_map(move |r| r.racks.iter().map(move |k| (s, k)))
        })
        .filter_map(|(s, k)| Some(((s.id.as_str(), k.id.as_str()), k.power_budget_w?)))
        .collect();
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    let mut name = |s: &str| -> Arc<str> {
        names
            .entry(s.to_owned())
            .or_insert_with(|| Arc::from(s))
            .clone()
    };
    // By their printed form: `Debug` prints every limit exactly (shortest round trip).
    let mut tables: HashMap<String, Arc<DeviceRules>> = HashMap::new();
    let mut out = HashMap::new();
    for d in &config.devices {
        let budget = d
            .rack
            .as_deref()
            .and_then(|r| budgets.get(&(d.site.as_str(), r)).copied());
        let compiled = for_device(rules, d, budget);
        let shared = tables
            .entry(format!("{compiled:?}"))
            .or_insert_with(|| Arc::new(compiled))
            .clone();
        let place = Place {
            id: Arc::from(d.id.as_str()),
            site: name(&d.site),
            room: d.room.as_deref().map(&mut name),
            rack: d.rack.as_deref().map(&mut name),
            rack_key: d.rack.as_deref().map(|r| name(&format!("{}/{r}", d.site))),
            profile: name(&d.profile),
            role: d.role,
        };
        out.insert(place.id.clone(), (Arc::new(place), shared));
    }
    out
}

/// The rules that apply to one device.
fn for_device(rules: &[Compiled], device: &Device, budget: Option<f64>) -> DeviceRules {
    let mut out = DeviceRules {
        by_field: vec![Vec::new(); Field::ALL.len()],
        remembers: vec![false; Field::ALL.len()],
        down: Vec::new(),
        pue: Vec::new(),
        rack_power: Vec::new(),
    };
    for (i, c) in rules.iter().enumerate() {
        let Some(rule) = &c.rule else { continue };
        if !rule.scope.admits(device) {
            continue;
        }
        let (limit, clear) = match &rule.condition {
            Condition::Down => {
                out.down.push(i);
                continue;
            }
            Condition::PueDrift { .. } => {
                if matches!(device.role, Some(Role::Facility | Role::It(_))) {
                    out.pue.push(i);
                }
                continue;
            }
            Condition::RackPower { .. } => {
                if let Some(b) = budget {
                    out.rack_power.push((i, b));
                }
                continue;
            }
            Condition::Threshold { limit, clear, .. } => {
                // A rating the device lacks: the rule cannot judge it.
                let Some(l) = resolve(*limit, device) else {
                    continue;
                };
                let c = clear.and_then(|c| resolve(c, device)).unwrap_or(l);
                (l, c)
            }
            _ => (f64::NAN, f64::NAN),
        };
        if let Some(field) = rule.condition.field() {
            out.by_field[field as usize].push(Bound {
                rule: i,
                limit,
                clear,
            });
            if matches!(
                rule.condition,
                Condition::Rate { .. } | Condition::Absent { .. }
            ) {
                out.remembers[field as usize] = true;
            }
        }
    }
    out
}

/// Which device a trap comes from, by source IP: SNMP devices whose IP no other SNMP device
/// shares (several agents behind one address cannot be told apart; their traps keep the IP).
pub fn trap_senders(devices: &[Device]) -> HashMap<std::net::IpAddr, String> {
    let mut by_ip: HashMap<std::net::IpAddr, Option<String>> = HashMap::new();
    for d in devices.iter().filter(|d| d.address.protocol() == "snmp") {
        if let Some(ip) = host_ip(&d.address) {
            by_ip
                .entry(ip)
                .and_modify(|v| *v = None)
                .or_insert_with(|| Some(d.id.clone()));
        }
    }
    by_ip
        .into_iter()
        .filter_map(|(ip, d)| Some((ip, d?)))
        .collect()
}

/// The IP a trap from this device comes from, when its address names one.
fn host_ip(a: &Address) -> Option<std::net::IpAddr> {
    let socket = a.socket();
    let host = socket
        .rsplit_once(':')?
        .0
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.parse().ok()
}

/// A limit for one device: a number, or a share of its rating (`None` when it has none).
fn resolve(limit: Limit, d: &Device) -> Option<f64> {
    match limit {
        Limit::Value(v) => Some(v),
        Limit::Rating { rating, fraction } => Some(rating.of(d)? * fraction),
    }
}

/// The rules a user wrote, then those of the rule sets switched on (a user's rule of the same
/// name wins).
fn user_rules(config: &Config) -> Vec<Rule> {
    let mut rules = config.rules.clone();
    for set in config.alerts.iter().flat_map(|a| &a.rule_sets) {
        for r in crate::builtin::rules(*set) {
            if !rules.iter().any(|x| x.name == r.name) {
                rules.push(r);
            }
        }
    }
    rules
}
