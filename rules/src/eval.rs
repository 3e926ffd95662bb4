//! The rule engine: each committed poll is evaluated against the rules that can see it, and
//! every alert change becomes rows for the store ([`AlertChanges`]): the alert's state, its
//! history, and one notification per receiver, written in one transaction.
//!
//! Cost follows the samples a rule can see: a device's rules are compiled once, on its first
//! poll, into a table by field, so a sample no rule watches costs one look-up. Only subjects
//! that are pending or firing (and those a rate or absence rule must remember) are kept.
//!
//! An alert goes inactive → pending (its condition holds) → firing (it held for the rule's
//! `for`) → resolved (the value came back past the rule's `clear` level). A restart restores
//! pending and firing alerts from the store, so it neither forgets nor re-notifies them.

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::config::{Condition, Config, Device, Limit, Rule};
use kilowatch_core::event::{TrapEffect, TrapEvent};
use kilowatch_core::model::{Batch, Field, Series, Timestamp};
use kilowatch_store::{AlertChanges, AlertRow, StateOp};

use crate::compile::{self, Compiled, DeviceRules};
use crate::note::{self, Subject};

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Remembered for a rate or absence rule only.
    Idle,
    Pending,
    Firing,
}

#[derive(Debug, Clone)]
struct State {
    phase: Phase,
    since: Timestamp,
    value: f64,
    limit: f64,
    /// Last sample seen (absence rules), and the one before it (rate rules).
    last: Option<(Timestamp, f64)>,
    /// The notification sent when it fired, resent on resolve.
    note: Option<note::Note>,
    acked_by: Option<String>,
}

impl State {
    fn new(at: Timestamp, value: f64, limit: f64) -> State {
        State {
            phase: Phase::Idle,
            since: at,
            value,
            limit,
            last: None,
            note: None,
            acked_by: None,
        }
    }
}

/// The engine for one inventory and rule list.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Compiled>,
    devices: HashMap<String, Arc<Device>>,
    /// Trap senders by IP: the inventory's device at that address.
    by_host: HashMap<std::net::IpAddr, String>,
    compiled: HashMap<Arc<str>, Arc<DeviceRules>>,
    live: HashMap<(usize, Subject), State>,
    /// Pending and firing alerts read back from the store, until their subject shows up again.
    restored: HashMap<(usize, String), State>,
    /// Each rack's devices' latest total power, for rack budget rules.
    racks: HashMap<Arc<str>, HashMap<Arc<str>, f64>>,
    /// Each rack's `power_budget_w`, by (site, rack).
    budgets: HashMap<(String, String), f64>,
    receivers: Vec<String>,
    external_url: Option<String>,
}

impl Engine {
    /// The rules of `config` (its own and the rule sets it switches on), delivering to
    /// `receivers` (names of outbox queues).
    pub fn new(config: &Config, receivers: Vec<String>) -> Engine {
        let rules = compile::rules(config);
        let devices: HashMap<String, Arc<Device>> = config
            .devices
            .iter()
            .map(|d| (d.id.clone(), Arc::new(d.clone())))
            .collect();
        let by_host = compile::trap_senders(&config.devices);
        let budgets = config
            .sites
            .iter()
            .flat_map(|s| s.rooms.iter().flat_map(move |r| r.racks.iter().map(move |k| (s, k))))
            .filter_map(|(s, k)| Some(((s.id.clone(), k.id.clone()), k.power_budget_w?)))
            .collect();
        Engine {
            rules,
            budgets,
            by_host,
            compiled: HashMap::new(),
            live: HashMap::new(),
            restored: HashMap::new(),
            racks: HashMap::new(),
            receivers,
            external_url: config.alerts.as_ref().and_then(|a| a.external_url.clone()),
            devices,
        }
    }

    /// How many rules the engine evaluates.
    pub fn rule_count(&self) -> usize {
        self.rules.iter().filter(|r| r.rule.is_some()).count()
    }

    /// Picks up pending and firing alerts the store kept. An alert whose rule is gone ends
    /// (resolved, noted as such).
    pub fn restore(&mut self, rows: Vec<AlertRow>, now: Timestamp, out: &mut AlertChanges) {
        for row in rows {
            let parsed: Option<note::Note> = serde_json::from_str(&row.note).ok();
            let idx = match self.rule_index(&row.rule) {
                Some(i) => Some(i),
                None if row.subject.starts_with("trap:") => Some(self.trap_rule(&row.rule)),
                None => None,
            };
            let (Some(idx), Some(n)) = (idx, parsed) else {
                out.states.push(StateOp::Remove(row.rule.clone(), row.subject.clone()));
                if row.state == "firing"
                    && let Ok(mut n) = serde_json::from_str::<note::Note>(&row.note)
                {
                    n.annotations.insert(
                        "description".into(),
                        "the rule was removed from the configuration".into(),
                    );
                    self.send_resolved(n, &row.rule, &row.subject, now, out);
                }
                continue;
            };
            let mut s = State::new(row.since, row.value.unwrap_or(f64::NAN), f64::NAN);
            s.phase = if row.state == "firing" {
                Phase::Firing
            } else {
                Phase::Pending
            };
            s.note = Some(n);
            s.acked_by = row.acked_by;
            self.restored.insert((idx, row.subject), s);
        }
    }

    fn rule_index(&self, name: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.name == name)
    }

    /// The rule a trap-raised alert is filed under (one per alert name).
    fn trap_rule(&mut self, name: &str) -> usize {
        self.rule_index(name).unwrap_or_else(|| {
            self.rules.push(Compiled::trap(name));
            self.rules.len() - 1
        })
    }

    /// Evaluates one committed poll.
    pub fn on_batch(&mut self, b: &Batch, out: &mut AlertChanges) {
        let Some(rules) = self.rules_for(&b.device) else {
            return;
        };
        let device = rules.device.clone();
        for &idx in &rules.down {
            let subject = Subject::Device(b.device.clone());
            let down = !b.poll.is_up();
            let why = b.poll.error().unwrap_or("").to_owned();
            self.step(idx, subject, b.at, down, down, f64::NAN, f64::NAN, out, &why);
        }
        for sample in &b.samples {
            let Some(bounds) = rules.by_field.get(&sample.field) else {
                continue;
            };
            for bound in bounds {
                let rule = &self.rules[bound.rule];
                if !rule.admits(&sample.series) {
                    continue;
                }
                self.sample(bound, &sample.series, sample.value, b.at, out);
            }
        }
        if !rules.rack_power.is_empty()
            && let Some(rack) = device.as_ref().and_then(|d| d.rack.clone())
        {
            let total = b
                .samples
                .iter()
                .find(|s| s.field == Field::ActivePowerW && s.series.tag("point").is_none());
            if let Some(total) = total {
                self.rack_power(&rules, &rack, &b.device, total.value, b.at, out);
            }
        }
    }

    fn rules_for(&mut self, device: &Arc<str>) -> Option<Arc<DeviceRules>> {
        if let Some(r) = self.compiled.get(device) {
            return Some(r.clone());
        }
        // Devices not in the inventory (the collector's own health) have no rules.
        let d = self.devices.get(&**device).cloned()?;
        let budget = d
            .rack
            .as_ref()
            .and_then(|r| self.budgets.get(&(d.site.clone(), r.clone())).copied());
        let compiled = Arc::new(compile::for_device(&self.rules, Some(d), budget));
        self.compiled.insert(device.clone(), compiled.clone());
        Some(compiled)
    }

    fn sample(
        &mut self,
        bound: &compile::Bound,
        series: &Arc<Series>,
        value: f64,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        let rule = &self.rules[bound.rule];
        let Some(condition) = rule.rule.as_ref().map(|r| &r.condition) else {
            return;
        };
        let subject = Subject::Series(series.clone());
        match condition {
            Condition::Threshold { above, .. } => {
                let over = |l: f64| if *above { value > l } else { value < l };
                let (raise, hold) = (over(bound.limit), over(bound.clear));
                self.step(bound.rule, subject, at, raise, hold, value, bound.limit, out, "");
            }
            Condition::State { values, .. } => {
                let on = values.contains(&value);
                self.step(bound.rule, subject, at, on, on, value, f64::NAN, out, "");
            }
            Condition::Rate { by, per, .. } => {
                let (by, per_ms) = (*by, per.as_millis() as f64);
                let key = (bound.rule, subject.clone());
                let prev = self.live.get(&key).and_then(|s| s.last);
                let rate = prev
                    .filter(|(t, _)| at > *t)
                    .map(|(t, v)| (value - v) / (at - t) as f64 * per_ms);
                let on = rate.is_some_and(|r| if by > 0.0 { r > by } else { r < by });
                let shown = rate.unwrap_or(f64::NAN);
                self.step(bound.rule, subject, at, on, on, shown, by, out, "");
                self.live
                    .entry(key)
                    .or_insert_with(|| State::new(at, value, by))
                    .last = Some((at, value));
            }
            Condition::Absent { .. } => {
                self.step(bound.rule, subject.clone(), at, false, false, value, f64::NAN, out, "");
                self.live
                    .entry((bound.rule, subject))
                    .or_insert_with(|| State::new(at, value, f64::NAN))
                    .last = Some((at, value));
            }
            Condition::Down | Condition::RackPower { .. } => {}
        }
    }

    fn rack_power(
        &mut self,
        rules: &DeviceRules,
        rack: &str,
        device: &Arc<str>,
        watts: f64,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        let Some(d) = rules.device.as_ref() else {
            return;
        };
        let key: Arc<str> = Arc::from(format!("{}/{rack}", d.site));
        let sum = {
            let per = self.racks.entry(key.clone()).or_default();
            per.insert(device.clone(), watts);
            per.values().sum::<f64>()
        };
        for &(idx, budget) in &rules.rack_power {
            let Some(Condition::RackPower { fraction }) =
                self.rules[idx].rule.as_ref().map(|r| &r.condition)
            else {
                continue;
            };
            let limit = budget * fraction;
            let subject = Subject::Rack(key.clone());
            self.step(idx, subject, at, sum > limit, sum > limit * 0.98, sum, limit, out, "");
        }
    }

    /// Absence rules: series not seen for their `after`. Run on a timer.
    pub fn tick(&mut self, now: Timestamp, out: &mut AlertChanges) {
        let mut due = Vec::new();
        for ((idx, subject), s) in &self.live {
            let Some(Condition::Absent { after, .. }) =
                self.rules[*idx].rule.as_ref().map(|r| &r.condition)
            else {
                continue;
            };
            let gone = s.last.is_some_and(|(t, _)| now - t > after.as_millis() as i64);
            if gone && s.phase != Phase::Firing {
                due.push((*idx, subject.clone(), s.last.map_or(f64::NAN, |l| l.1)));
            }
        }
        for (idx, subject, value) in due {
            self.step(idx, subject, now, true, true, value, f64::NAN, out, "no data");
        }
    }

    /// One observation of a subject: `raise` says the condition holds now; `hold` whether a
    /// firing alert still holds (the hysteresis band). Moves the alert along and records changes.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        idx: usize,
        subject: Subject,
        at: Timestamp,
        raise: bool,
        hold: bool,
        value: f64,
        limit: f64,
        out: &mut AlertChanges,
        why: &str,
    ) {
        let key = (idx, subject);
        if !self.live.contains_key(&key) && !self.restored.is_empty() {
            let id = key.1.id();
            if let Some(s) = self.restored.remove(&(idx, id)) {
                self.live.insert(key.clone(), s);
            }
        }
        let rule = &self.rules[idx];
        let hold_ms = rule.rule.as_ref().map_or(0, |r| r.hold.as_millis() as i64);
        let state = match self.live.get_mut(&key) {
            Some(s) => s,
            None if !raise => return,
            None => self
                .live
                .entry(key.clone())
                .or_insert_with(|| State::new(at, value, limit)),
        };
        state.value = value;
        if !limit.is_nan() {
            state.limit = limit;
        }
        match state.phase {
            Phase::Idle if raise => {
                state.phase = Phase::Pending;
                state.since = at;
            }
            Phase::Pending if !raise => {
                state.phase = Phase::Idle;
                out.states.push(StateOp::Remove(rule.name.clone(), key.1.id()));
                self.forget(&key);
                return;
            }
            Phase::Firing if !hold => {
                let note = state.note.take();
                self.live.remove(&key);
                let id = key.1.id();
                out.states.push(StateOp::Remove(self.rules[idx].name.clone(), id.clone()));
                if let Some(n) = note {
                    let name = self.rules[idx].name.clone();
                    self.send_resolved(n, &name, &id, at, out);
                }
                return;
            }
            _ => {}
        }
        if state.phase == Phase::Pending {
            let ready = at - state.since >= hold_ms;
            let (since, value, limit) = (state.since, state.value, state.limit);
            if ready {
                let n = note::render(
                    &self.rules[idx],
                    &key.1,
                    self.devices_of(&key.1),
                    since,
                    value,
                    limit,
                    why,
                    self.external_url.as_deref(),
                );
                if let Some(state) = self.live.get_mut(&key) {
                    state.phase = Phase::Firing;
                    state.note = Some(n.clone());
                }
                self.record(idx, &key.1, "firing", since, value, &n, at, out);
            } else if hold_ms > 0 && at == since {
                let n = note::render(
                    &self.rules[idx],
                    &key.1,
                    self.devices_of(&key.1),
                    since,
                    value,
                    limit,
                    why,
                    self.external_url.as_deref(),
                );
                out.states.push(StateOp::Upsert(row(&self.rules[idx].name, &key.1.id(), "pending", since, value, &n, None)));
            }
        }
    }

    /// Drops a subject that needs no memory.
    fn forget(&mut self, key: &(usize, Subject)) {
        let keep = matches!(
            self.rules[key.0].rule.as_ref().map(|r| &r.condition),
            Some(Condition::Rate { .. } | Condition::Absent { .. })
        );
        if !keep {
            self.live.remove(key);
        }
    }

    fn devices_of(&self, subject: &Subject) -> Option<&Device> {
        let id = match subject {
            Subject::Series(s) => s.tag("device")?,
            Subject::Device(d) | Subject::Trap(d) => d,
            Subject::Rack(_) => return None,
        };
        self.devices.get(id).map(|d| &**d)
    }

    /// A firing alert: its state row, history and a notification per receiver.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        idx: usize,
        subject: &Subject,
        status: &str,
        since: Timestamp,
        value: f64,
        n: &note::Note,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        let name = &self.rules[idx].name;
        let id = subject.id();
        let json = serde_json::to_string(n).unwrap_or_default();
        out.states.push(StateOp::Upsert(row(name, &id, status, since, value, n, None)));
        out.log.push(kilowatch_store::AlertEvent {
            at,
            rule: name.clone(),
            subject: id,
            status: status.to_owned(),
            note: json.clone(),
        });
        for r in &self.receivers {
            out.outbox.push((r.clone(), json.clone()));
        }
    }

    fn send_resolved(
        &self,
        mut n: note::Note,
        rule: &str,
        subject: &str,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        n.status = crate::notify::Status::Resolved;
        n.ends_at = Some(at);
        let json = serde_json::to_string(&n).unwrap_or_default();
        out.log.push(kilowatch_store::AlertEvent {
            at,
            rule: rule.to_owned(),
            subject: subject.to_owned(),
            status: "resolved".into(),
            note: json.clone(),
        });
        for r in &self.receivers {
            out.outbox.push((r.clone(), json.clone()));
        }
    }

    /// A trap: kept in the trap log; a known one raises or clears its alert on the sender.
    pub fn on_trap(&mut self, ev: &TrapEvent, out: &mut AlertChanges) {
        let sender = self
            .by_host
            .get(&ev.source)
            .cloned()
            .unwrap_or_else(|| ev.source.to_string());
        out.traps.push(note::trap_row(ev, &sender));
        let (name, raise) = match &ev.effect {
            TrapEffect::Raise { alert, .. } => (alert, true),
            TrapEffect::Clear { alert } => (alert, false),
            TrapEffect::Notice { .. } | TrapEffect::Unknown => return,
        };
        let idx = self.trap_rule(name);
        if let TrapEffect::Raise { severity, .. } = &ev.effect {
            self.rules[idx].severity = *severity;
            self.rules[idx].summary = Some(ev.summary.clone());
        }
        let subject = Subject::Trap(Arc::from(sender.as_str()));
        self.step(idx, subject, ev.at, raise, raise, f64::NAN, f64::NAN, out, &ev.summary);
    }

    /// Alerts firing now, for Alertmanager's renewal and the TUI.
    pub fn firing(&self) -> impl Iterator<Item = &note::Note> {
        self.live
            .values()
            .chain(self.restored.values())
            .filter(|s| s.phase == Phase::Firing)
            .filter_map(|s| s.note.as_ref())
    }
}

fn row(
    rule: &str,
    subject: &str,
    state: &str,
    since: Timestamp,
    value: f64,
    n: &note::Note,
    acked_by: Option<String>,
) -> AlertRow {
    AlertRow {
        rule: rule.to_owned(),
        subject: subject.to_owned(),
        state: state.to_owned(),
        since,
        value: value.is_finite().then_some(value),
        note: serde_json::to_string(n).unwrap_or_default(),
        acked_by,
    }
}

/// A limit for one device: a number, or a share of its rating (`None` when it has none).
pub(crate) fn resolve(limit: Limit, d: Option<&Device>) -> Option<f64> {
    match limit {
        Limit::Value(v) => Some(v),
        Limit::Rating { rating, fraction } => Some(rating.of(d?)? * fraction),
    }
}

/// The rule a user wrote or a rule set brought.
pub(crate) fn user_rules(config: &Config) -> Vec<Rule> {
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
