//! Rules made ready for evaluation: each device's rules, compiled on its first poll into a
//! table by field with its limits resolved from its ratings.

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::address::Address;
use kilowatch_core::config::{Condition, Config, Device, Rule};
use kilowatch_core::event::Severity;
use kilowatch_core::model::{Field, Series};

use crate::eval::{resolve, user_rules};

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
        let tags_ok = scope
            .tags
            .iter()
            .all(|(k, allowed)| series.tag(k).is_some_and(|v| allowed.iter().any(|a| a == v)));
        tags_ok
            && (scope.not_points.is_empty()
                || series.tag("point").is_none_or(|p| {
                    let p = p.to_lowercase();
                    !scope.not_points.iter().any(|w| p.contains(&w.to_lowercase()))
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

/// One device's rules.
#[derive(Debug, Default)]
pub struct DeviceRules {
    pub device: Option<Arc<Device>>,
    pub by_field: HashMap<Field, Vec<Bound>>,
    pub down: Vec<usize>,
    /// Rack budget rules, with the rack's budget in W.
    pub rack_power: Vec<(usize, f64)>,
}

/// Every rule of the config, the user's first.
pub fn rules(config: &Config) -> Vec<Compiled> {
    user_rules(config).into_iter().map(Compiled::of).collect()
}

/// The rules that apply to one device; none for a device not in the inventory.
pub fn for_device(rules: &[Compiled], d: Option<Arc<Device>>, budget: Option<f64>) -> DeviceRules {
    let mut out = DeviceRules::default();
    let Some(device) = d else {
        return out;
    };
    for (i, c) in rules.iter().enumerate() {
        let Some(rule) = &c.rule else { continue };
        if !rule.scope.admits(&device) {
            continue;
        }
        let (limit, clear) = match &rule.condition {
            Condition::Down => {
                out.down.push(i);
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
                let Some(l) = resolve(*limit, Some(&device)) else {
                    continue;
                };
                let c = clear.and_then(|c| resolve(c, Some(&device))).unwrap_or(l);
                (l, c)
            }
            _ => (f64::NAN, f64::NAN),
        };
        if let Some(field) = rule.condition.field() {
            out.by_field.entry(field).or_default().push(Bound {
                rule: i,
                limit,
                clear,
            });
        }
    }
    out.device = Some(device);
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
    by_ip.into_iter().filter_map(|(ip, d)| Some((ip, d?))).collect()
}

/// The IP a trap from this device comes from, when its address names one.
fn host_ip(a: &Address) -> Option<std::net::IpAddr> {
    let socket = a.socket();
    let host = socket.rsplit_once(':')?.0.trim_start_matches('[').trim_end_matches(']');
    host.parse().ok()
}
