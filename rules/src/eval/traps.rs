//! Traps as the engine takes them: every one kept in the trap log; a known one raises or
//! clears its alert on the device that sent it.

use std::sync::Arc;

use kilowatch_core::event::{TrapEffect, TrapEvent};
use kilowatch_store::AlertChanges;

use super::{Engine, Key};
use crate::compile::Compiled;
use crate::note;

impl Engine {
    /// The rule a trap-raised alert is filed under (one per alert name).
    pub(super) fn trap_rule(&mut self, name: &str) -> usize {
        self.rule_index(name).unwrap_or_else(|| {
            self.rules.push(Compiled::trap(name));
            self.active.push(0);
            self.rules.len() - 1
        })
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
        let key = Key::Trap(Arc::from(sender.as_str()));
        self.adopt(&key);
        self.step(
            idx,
            &key,
            ev.at,
            raise,
            raise,
            f64::NAN,
            f64::NAN,
            &ev.summary,
            out,
        );
    }
}
