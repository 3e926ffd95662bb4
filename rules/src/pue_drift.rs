//! A site's PUE as a drift rule watches it: each meter's latest whole-device power, and a
//! window of (facility W, IT W) pairs taken whenever a facility meter reports. The window's PUE
//! is its mean facility power over its mean IT power, at the most downstream IT category
//! metered (domain/pue.md: a ratio of energies over the window, never of two instant readings).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use kilowatch_core::model::{Role, Timestamp};

/// How much of its window must be covered before a PUE is judged: less is "no data".
const MIN_COVERAGE: f64 = 0.8;

#[derive(Debug, Default)]
pub struct SitePue {
    facility: HashMap<Arc<str>, f64>,
    /// By IT category (1 UPS output, 2 PDU output, 3 IT input).
    it: BTreeMap<u8, HashMap<Arc<str>, f64>>,
    window: VecDeque<(Timestamp, f64, f64)>,
}

impl SitePue {
    /// Records a meter's whole-device power. When a facility meter reported and the window is
    /// covered, returns the window's PUE.
    pub fn update(
        &mut self,
        device: &Arc<str>,
        role: Role,
        watts: f64,
        at: Timestamp,
        window_ms: i64,
    ) -> Option<f64> {
        if !watts.is_finite() || watts < 0.0 {
            return None;
        }
        match role {
            Role::It(c) => {
                self.it
                    .entry(c.number())
                    .or_default()
                    .insert(device.clone(), watts);
                return None;
            }
            Role::Facility => {
                self.facility.insert(device.clone(), watts);
            }
            _ => return None,
        }
        let facility: f64 = self.facility.values().sum();
        let it: f64 = self.it.values().next_back()?.values().sum();
        if it <= 0.0 {
            return None;
        }
        self.window.push_back((at, facility, it));
        while self
            .window
            .front()
            .is_some_and(|(t, ..)| at - t > window_ms)
        {
            self.window.pop_front();
        }
        let first = self.window.front()?.0;
        if ((at - first) as f64) < MIN_COVERAGE * window_ms as f64 {
            return None;
        }
        let (f, i) = self
            .window
            .iter()
            .fold((0.0, 0.0), |(f, i), (_, a, b)| (f + a, i + b));
        Some(f / i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::model::Category;

    #[test]
    fn pue_is_the_windows_mean_facility_over_mean_it_at_the_deepest_category() {
        let mut s = SitePue::default();
        let (main, ups, pdu): (Arc<str>, Arc<str>, Arc<str>) =
            ("main".into(), "ups".into(), "pdu".into());
        let window = 60_000;
        s.update(&ups, Role::It(Category::One), 1000.0, 0, window);
        s.update(&pdu, Role::It(Category::Two), 900.0, 0, window);
        let mut facility = |at: i64| {
            let w = if at <= 30_000 { 1800.0 } else { 2700.0 };
            s.update(&main, Role::Facility, w, at, window)
        };
        // Under 80 % of the window covered: no figure rather than a wrong one.
        for at in (0..=40_000).step_by(10_000) {
            assert_eq!(facility(at), None, "at {at}");
        }
        // Category 2, the deepest metered, is the IT figure: 0..50 s hold four readings of
        // 1,800 W and two of 2,700 W over six of 900 W.
        let pue = facility(50_000).unwrap();
        assert!((pue - 12_600.0 / 5_400.0).abs() < 1e-9, "{pue}");
        // The reading at 0 s has left the window by 70 s.
        facility(60_000);
        let pue = facility(70_000).unwrap();
        assert!((pue - 16_200.0 / 6_300.0).abs() < 1e-9, "{pue}");
    }
}
