//! Rules over groups of devices: a rack's power against its budget, and a site's PUE against
//! its baseline.

use kilowatch_core::config::Condition;
use kilowatch_core::model::Timestamp;
use kilowatch_store::AlertChanges;

use super::{Engine, Key};
use crate::compile::{DeviceRules, Place};

impl Engine {
    pub(super) fn rack_power(
        &mut self,
        place: &Place,
        rules: &DeviceRules,
        watts: f64,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        let Some(name) = place.rack_key.clone() else {
            return;
        };
        let device = &place.id;
        let first = !self.racks.contains_key(&name);
        let sum = {
            let per = self.racks.entry(name.clone()).or_default();
            per.insert(device.clone(), watts);
            per.values().sum::<f64>()
        };
        let key = Key::Rack(name);
        if first {
            self.adopt(&key);
        }
        for &(idx, budget) in &rules.rack_power {
            let Some(Condition::RackPower { fraction }) =
                self.rules[idx].rule.as_ref().map(|r| &r.condition)
            else {
                continue;
            };
            let limit = budget * fraction;
            // Resolves 2 % under the limit, so a rack hovering at its budget does not flap.
            self.step(
                idx,
                &key,
                at,
                sum > limit,
                sum > limit * 0.98,
                sum,
                limit,
                "",
                out,
            );
        }
    }

    /// A facility or IT meter's total: the site's PUE over each drift rule's window, against
    /// its baseline; it resolves once back under half the tolerance.
    pub(super) fn pue_drift(
        &mut self,
        place: &Place,
        rules: &DeviceRules,
        watts: f64,
        at: Timestamp,
        out: &mut AlertChanges,
    ) {
        let Some(role) = place.role else {
            return;
        };
        let device = &place.id;
        let key = Key::Site(place.site.clone());
        for &idx in &rules.pue {
            let Some(Condition::PueDrift {
                baseline,
                tolerance_pct,
                window,
            }) = self.rules[idx].rule.as_ref().map(|r| r.condition.clone())
            else {
                continue;
            };
            if !self.pue.contains_key(&idx) {
                self.adopt(&key);
            }
            let site = self.pue.entry(idx).or_default();
            let Some(pue) = site.update(device, role, watts, at, window.as_millis() as i64) else {
                continue;
            };
            let limit = baseline * (1.0 + tolerance_pct / 100.0);
            let clear = baseline * (1.0 + tolerance_pct / 200.0);
            self.step(idx, &key, at, pue > limit, pue > clear, pue, limit, "", out);
        }
    }
}
