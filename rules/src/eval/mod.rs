//! The rule engine: each committed poll is evaluated against the rules that can see it, and
//! every alert change becomes rows for the store ([`AlertChanges`]): the alert's state, its
//! history, and one notification per receiver, written in one transaction.
//!
//! Cost follows the samples a rule can see (BENCHMARKS.md, issue 20): a device's rules are
//! compiled once into a table by field; each series is numbered on first sight (by content)
//! and found again by its place in its device's poll, compared by `Arc`, so a poll hashes no
//! tag strings; a threshold that is not crossed and has no alert pending or firing costs one
//! comparison. Rate and absence rules share one remembered reading per series.
//!
//! An alert goes inactive → pending (its condition holds) → firing (it held for the rule's
//! `for`) → resolved (the value came back past the rule's `clear` level). A restart restores
//! pending and firing alerts from the store, so it neither forgets nor re-notifies them.

mod groups;
mod traps;

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::config::{Condition, Config};
use kilowatch_core::model::{Batch, Field, Series, Timestamp};
use kilowatch_store::{AlertChanges, AlertEvent, AlertRow, StateOp};

use crate::compile::{self, Bound, Compiled, DeviceRules, Place};
use crate::note::{self, Note, Subject};

/// What an alert is about, as the engine keys it: a numbered series, or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Series(u32),
    Device(Arc<str>),
    Rack(Arc<str>),
    Site(Arc<str>),
    Trap(Arc<str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Firing,
}

/// An alert that is pending or firing.
#[derive(Debug, Clone)]
struct Alert {
    phase: Phase,
    since: Timestamp,
    /// The notification it fired with, resent (as resolved) when it ends.
    note: Option<Note>,
}

/// One series and field the engine has seen, and its last reading (for rate and absence).
#[derive(Debug)]
struct Seen {
    series: Arc<Series>,
    field: Field,
    last: Option<(Timestamp, f64)>,
    /// The absence rules that watch it (bit i: the i-th rule of `absent`), so the timer
    /// compares no tags.
    absent: u64,
}

/// A device's rules, and where each sample of its polls was found last time: a plan's polls
/// list their samples in the same order, so the sample at position `i` is looked up once,
/// not hashed per poll (a cache miss per sample was most of the engine's time).
#[derive(Debug)]
struct DeviceState {
    place: Arc<Place>,
    rules: Arc<DeviceRules>,
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    /// The series last found here (held, so its address is not reused while compared), and
    /// its field.
    series: Option<Arc<Series>>,
    field: Option<Field>,
    id: u32,
    admitted: u64,
}

/// The engine for one inventory and rule list.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Compiled>,
    /// Trap senders by IP: the inventory's device at that address.
    by_host: HashMap<std::net::IpAddr, String>,
    compiled: hashbrown::HashMap<Arc<str>, DeviceState>,
    /// Series numbers by content (indexes into `seen`, hashed through it): looked up only when
    /// a poll's sample is not where its slot says (a device's first poll, a partial poll, a
    /// reload's new plans).
    by_content: hashbrown::HashTable<u32>,
    content_hash: hashbrown::DefaultHashBuilder,
    /// Absence rules (index and `after` in ms); a series' `absent` bits index this.
    absent: Vec<(usize, i64)>,
    seen: Vec<Seen>,
    alerts: hashbrown::HashMap<(u32, Key), Alert>,
    /// How many alerts each rule has pending or firing: a rule with none needs no look-up
    /// while its condition does not hold.
    active: Vec<u32>,
    /// Pending and firing alerts read back from the store, by subject, until it shows up.
    restored: HashMap<String, Vec<(u32, Alert)>>,
    /// Each rack's devices' latest total power, for rack budget rules.
    racks: HashMap<Arc<str>, HashMap<Arc<str>, f64>>,
    /// Each PUE drift rule's view of its site.
    pue: HashMap<usize, crate::pue_drift::SitePue>,
    receivers: Vec<String>,
    external_url: Option<String>,
}

impl Engine {
    /// The rules of `config` (its own and the rule sets it switches on), delivering to
    /// `receivers` (names of outbox queues).
    pub fn new(config: &Config, receivers: Vec<String>) -> Engine {
        let rules = compile::rules(config);
        let compiled = compile::devices(&rules, config)
            .into_iter()
            .map(|(id, (place, rules))| {
                let slots = Vec::new();
                (
                    id,
                    DeviceState {
                        place,
                        rules,
                        slots,
                    },
                )
            })
            .collect();
        let absent = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r.rule.as_ref().map(|r| &r.condition) {
                Some(Condition::Absent { after, .. }) => Some((i, after.as_millis() as i64)),
                _ => None,
            })
            .take(64)
            .collect();
        Engine {
            absent,
            active: vec![0; rules.len()],
            rules,
            by_host: compile::trap_senders(&config.devices),
            compiled,
            by_content: Default::default(),
            content_hash: Default::default(),
            seen: Vec::new(),
            alerts: Default::default(),
            restored: HashMap::new(),
            racks: HashMap::new(),
            pue: HashMap::new(),
            receivers,
            external_url: config.alerts.as_ref().and_then(|a| a.external_url.clone()),
        }
    }

    /// How many rules the engine evaluates.
    pub fn rule_count(&self) -> usize {
        self.rules.iter().filter(|r| r.rule.is_some()).count()
    }

    /// Picks up pending and firing alerts the store kept; each rejoins its subject when that
    /// is next seen. An alert whose rule is gone ends (resolved, and noted as such).
    pub fn restore(&mut self, rows: Vec<AlertRow>, now: Timestamp, out: &mut AlertChanges) {
        for row in rows {
            let note: Option<Note> = serde_json::from_str(&row.note).ok();
            let idx = match self.rule_index(&row.rule) {
                Some(i) => Some(i),
                None if row.subject.starts_with("trap:") => Some(self.trap_rule(&row.rule)),
                None => None,
            };
            let (Some(idx), Some(mut note)) = (idx, note) else {
                out.states
                    .push(StateOp::Remove(row.rule.clone(), row.subject.clone()));
                if let (true, Ok(mut n)) = (
                    row.state == "firing",
                    serde_json::from_str::<Note>(&row.note),
                ) {
                    n.annotations.insert(
                        "description".into(),
                        "the rule was removed from the configuration".into(),
                    );
                    self.resolved(n, &row.rule, &row.subject, now, out);
                }
                continue;
            };
            let phase = if row.state == "firing" {
                Phase::Firing
            } else {
                note.status = crate::notify::Status::Firing;
                Phase::Pending
            };
            let alert = Alert {
                phase,
                since: row.since,
                note: Some(note),
            };
            // A series is numbered when it is next polled; the other subjects are named.
            let (kind, name) = row.subject.split_once(':').unwrap_or(("", ""));
            let key = match kind {
                "device" => Key::Device(Arc::from(name)),
                "rack" => Key::Rack(Arc::from(name)),
                "site" => Key::Site(Arc::from(name)),
                "trap" => Key::Trap(Arc::from(name)),
                _ => {
                    let at = self.restored.entry(row.subject).or_default();
                    at.push((idx as u32, alert));
                    continue;
                }
            };
            self.active[idx] += 1;
            self.alerts.insert((idx as u32, key), alert);
        }
    }

    fn rule_index(&self, name: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.name == name)
    }

    /// Takes back the restored alerts of a subject seen for the first time.
    fn adopt(&mut self, key: &Key) {
        if self.restored.is_empty() {
            return;
        }
        let id = self.subject(key).id();
        for (rule, alert) in self.restored.remove(&id).unwrap_or_default() {
            self.active[rule as usize] += 1;
            self.alerts.insert((rule, key.clone()), alert);
        }
    }

    /// Evaluates one committed poll.
    pub fn on_batch(&mut self, b: &Batch, out: &mut AlertChanges) {
        // Devices not in the inventory (the collector's own health) have no rules.
        let Some((place, rules)) = self
            .compiled
            .get(&b.device)
            .map(|d| (d.place.clone(), d.rules.clone()))
        else {
            return;
        };
        let mut slots = self
            .compiled
            .get_mut(&b.device)
            .map(|d| std::mem::take(&mut d.slots))
            .unwrap_or_default();
        if !rules.down.is_empty() {
            let key = Key::Device(b.device.clone());
            let down = !b.poll.is_up();
            let why = b.poll.error().unwrap_or("");
            for &idx in &rules.down {
                self.step(idx, &key, b.at, down, down, f64::NAN, f64::NAN, why, out);
            }
        }
        for (i, sample) in b.samples.iter().enumerate() {
            let Some(bounds) = rules
                .by_field
                .get(sample.field as usize)
                .filter(|b| !b.is_empty())
            else {
                continue;
            };
            if slots.len() <= i {
                slots.resize(i + 1, Slot::default());
            }
            let slot = &mut slots[i];
            let here = slot
                .series
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(s, &sample.series));
            if !here || slot.field != Some(sample.field) {
                let admitted = bounds
                    .iter()
                    .take(64)
                    .enumerate()
                    .filter(|(_, b)| self.rules[b.rule].admits(&sample.series))
                    .fold(0u64, |m, (i, _)| m | 1 << i);
                let id = self.number(&sample.series, sample.field, bounds, admitted);
                *slot = Slot {
                    series: Some(sample.series.clone()),
                    field: Some(sample.field),
                    id,
                    admitted,
                };
            }
            let (id, admitted) = (slot.id, slot.admitted);
            let seen = &mut self.seen[id as usize];
            let last = if rules.remembers[sample.field as usize] {
                seen.last.replace((b.at, sample.value))
            } else {
                None
            };
            for (i, bound) in bounds.iter().enumerate() {
                let admits = match admitted.checked_shr(i as u32) {
                    Some(bits) if i < 64 => bits & 1 == 1,
                    _ => self.rules[bound.rule].admits(&sample.series),
                };
                if admits {
                    self.sample(bound, id, sample.value, last, b.at, out);
                }
            }
        }
        // Rack and site rules read the device's whole-device power (no point: not an outlet).
        if !(rules.rack_power.is_empty() && rules.pue.is_empty())
            && let Some(total) = b
                .samples
                .iter()
                .find(|s| s.field == Field::ActivePowerW && s.series.tag("point").is_none())
        {
            if !rules.rack_power.is_empty() {
                self.rack_power(&place, &rules, total.value, b.at, out);
            }
            if !rules.pue.is_empty() {
                self.pue_drift(&place, &rules, total.value, b.at, out);
            }
        }
        if let Some(d) = self.compiled.get_mut(&b.device) {
            d.slots = slots;
        }
    }

    /// `admitted`: which of `bounds` admit it (bit i: bound i).
    fn number(
        &mut self,
        series: &Arc<Series>,
        field: Field,
        bounds: &[Bound],
        admitted: u64,
    ) -> u32 {
        let hash =
            |s: &Series, f: Field| std::hash::BuildHasher::hash_one(&self.content_hash, (s, f));
        let h = hash(series, field);
        let seen = &self.seen;
        let known = self
            .by_content
            .find(h, |id| {
                let s = &seen[*id as usize];
                s.field == field && *s.series == **series
            })
            .copied();
        match known {
            Some(id) => id,
            None => {
                let id = self.seen.len() as u32;
                let absent = bounds
                    .iter()
                    .take(64)
                    .enumerate()
                    .filter(|(i, _)| admitted >> i & 1 == 1)
                    .filter_map(|(_, b)| self.absent.iter().position(|(r, _)| *r == b.rule))
                    .fold(0u64, |m, i| m | 1 << i);
                self.seen.push(Seen {
                    series: series.clone(),
                    field,
                    last: None,
                    absent,
                });
                let (content_hash, seen) = (&self.content_hash, &self.seen);
                self.by_content.insert_unique(h, id, |id| {
                    let s = &seen[*id as usize];
                    std::hash::BuildHasher::hash_one(content_hash, (&*s.series, s.field))
                });
                self.adopt(&Key::Series(id));
                id
            }
        }
    }

    fn sample(
        &mut self,
        bound: &Bound,
        id: u32,
        value: f64,
        last: Option<(Timestamp, f64)>,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        let idx = bound.rule;
        let Some(condition) = self.rules[idx].rule.as_ref().map(|r| &r.condition) else {
            return;
        };
        let (raise, hold, shown, limit) = match condition {
            Condition::Threshold { above, .. } => {
                let over = |l: f64| if *above { value > l } else { value < l };
                (over(bound.limit), over(bound.clear), value, bound.limit)
            }
            Condition::State { values, .. } => {
                let on = values.contains(&value);
                (on, on, value, f64::NAN)
            }
            Condition::Rate { by, per, .. } => {
                let rate = last
                    .filter(|(t, _)| at > *t)
                    .map(|(t, v)| (value - v) / (at - t) as f64 * per.as_millis() as f64);
                let on = rate.is_some_and(|r| if *by > 0.0 { r > *by } else { r < *by });
                (on, on, rate.unwrap_or(f64::NAN), *by)
            }
            // A reading arrived: an absence that fired is over.
            Condition::Absent { .. } => (false, false, value, f64::NAN),
            Condition::Down | Condition::RackPower { .. } | Condition::PueDrift { .. } => return,
        };
        if !raise && self.active[idx] == 0 {
            return;
        }
        self.step(
            idx,
            &Key::Series(id),
            at,
            raise,
            hold,
            shown,
            limit,
            "",
            out,
        );
    }

    /// Absence rules: series not seen for their `after`. Run on a timer.
    pub fn tick(&mut self, now: Timestamp, out: &mut AlertChanges) {
        if self.absent.is_empty() {
            return;
        }
        let mut due = Vec::new();
        for (id, s) in self.seen.iter().enumerate() {
            let (Some((t, v)), true) = (s.last, s.absent != 0) else {
                continue;
            };
            for (i, &(idx, after)) in self.absent.iter().enumerate() {
                if s.absent >> i & 1 == 1 && now - t > after {
                    due.push((idx, id as u32, v));
                }
            }
        }
        for (idx, id, v) in due {
            self.step(
                idx,
                &Key::Series(id),
                now,
                true,
                true,
                v,
                f64::NAN,
                "no data",
                out,
            );
        }
    }

    /// One observation of a subject: `raise` says the condition holds now; `hold` whether a
    /// firing alert still holds (the hysteresis band). Moves the alert along, recording changes.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        idx: usize,
        key: &Key,
        at: Timestamp,
        raise: bool,
        hold: bool,
        value: f64,
        limit: f64,
        why: &str,
        out: &mut AlertChanges,
    ) {
        let slot = (idx as u32, key.clone());
        let hold_ms = self.rules[idx]
            .rule
            .as_ref()
            .map_or(0, |r| r.hold.as_millis() as i64);
        let Some(alert) = self.alerts.get_mut(&slot) else {
            if raise {
                self.active[idx] += 1;
                self.alerts.insert(
                    slot.clone(),
                    Alert {
                        phase: Phase::Pending,
                        since: at,
                        note: None,
                    },
                );
                self.advance(&slot, at, hold_ms, value, limit, why, out);
            }
            return;
        };
        match alert.phase {
            Phase::Pending if !raise => {
                self.active[idx] -= 1;
                self.alerts.remove(&slot);
                out.states.push(StateOp::Remove(
                    self.rules[idx].name.clone(),
                    self.subject(key).id(),
                ));
            }
            Phase::Firing if !hold => {
                self.active[idx] -= 1;
                let note = self.alerts.remove(&slot).and_then(|a| a.note);
                let (name, id) = (self.rules[idx].name.clone(), self.subject(key).id());
                out.states.push(StateOp::Remove(name.clone(), id.clone()));
                if let Some(n) = note {
                    self.resolved(n, &name, &id, at, out);
                }
            }
            Phase::Pending => self.advance(&slot, at, hold_ms, value, limit, why, out),
            Phase::Firing => {}
        }
    }

    /// A pending alert: fires once it has held for the rule's `for`; recorded as pending when
    /// it must wait, so a restart keeps its start.
    #[allow(clippy::too_many_arguments)]
    fn advance(
        &mut self,
        slot: &(u32, Key),
        at: Timestamp,
        hold_ms: i64,
        value: f64,
        limit: f64,
        why: &str,
        out: &mut AlertChanges,
    ) {
        let Some(since) = self.alerts.get(slot).map(|a| a.since) else {
            return;
        };
        let ready = at - since >= hold_ms;
        if !ready && at != since {
            return;
        }
        let idx = slot.0 as usize;
        let subject = self.subject(&slot.1);
        let device = self.device_of(&subject);
        let n = note::render(
            &self.rules[idx],
            &subject,
            device.as_deref(),
            since,
            value,
            limit,
            why,
            self.external_url.as_deref(),
        );
        let (name, id) = (self.rules[idx].name.clone(), subject.id());
        let json = serde_json::to_string(&n).unwrap_or_default();
        let state = if ready { "firing" } else { "pending" };
        out.states.push(StateOp::Upsert(AlertRow {
            rule: name.clone(),
            subject: id.clone(),
            state: state.to_owned(),
            since,
            value: value.is_finite().then_some(value),
            note: json.clone(),
            acked_by: None,
        }));
        if !ready {
            return;
        }
        out.log.push(AlertEvent {
            at,
            rule: name,
            subject: id,
            status: "firing".to_owned(),
            note: json.clone(),
        });
        for r in &self.receivers {
            out.outbox.push((r.clone(), json.clone()));
        }
        if let Some(a) = self.alerts.get_mut(slot) {
            a.phase = Phase::Firing;
            a.note = Some(n);
        }
    }

    fn subject(&self, key: &Key) -> Subject {
        match key {
            Key::Series(id) => Subject::Series(self.seen[*id as usize].series.clone()),
            Key::Device(d) => Subject::Device(d.clone()),
            Key::Rack(r) => Subject::Rack(r.clone()),
            Key::Site(s) => Subject::Site(s.clone()),
            Key::Trap(t) => Subject::Trap(t.clone()),
        }
    }

    fn device_of(&self, subject: &Subject) -> Option<Arc<Place>> {
        let id = match subject {
            Subject::Series(s) => s.tag("device")?,
            Subject::Device(d) | Subject::Trap(d) => d,
            Subject::Rack(_) | Subject::Site(_) => return None,
        };
        self.compiled.get(id).map(|d| d.place.clone())
    }

    fn resolved(
        &self,
        mut n: Note,
        rule: &str,
        subject: &str,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        n.status = crate::notify::Status::Resolved;
        n.ends_at = Some(at);
        let json = serde_json::to_string(&n).unwrap_or_default();
        out.log.push(AlertEvent {
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

    /// Alerts firing now (restored ones too).
    pub fn firing(&self) -> impl Iterator<Item = &Note> {
        self.alerts
            .values()
            .chain(self.restored.values().flatten().map(|(_, a)| a))
            .filter(|a| a.phase == Phase::Firing)
            .filter_map(|a| a.note.as_ref())
    }
}
