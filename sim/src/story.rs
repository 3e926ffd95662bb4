//! The events that make the demo's history tell a story (issue 23): a utility outage the UPS
//! rides through on battery, then recharges from, and a rack whose inlet runs hot every
//! afternoon (a missing blanking panel lets exhaust air back round). Off by default: tests of
//! the plain model's energy see none of it.

use serde::Deserialize;

const MS_PER_H: f64 = 3_600_000.0;
/// The UPS's battery holds half an hour at its rated load.
const BATTERY_H_AT_RATED: f64 = 0.5;
/// A drained battery is recharged over three hours, at 90 % charging efficiency.
const RECHARGE_H: f64 = 3.0;
const CHARGE_EFFICIENCY: f64 = 0.9;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Story {
    /// A utility outage, `[from, to)` in ms: the UPS carries the IT load on battery, the
    /// cooling and lighting run from the generator (both behind the facility meter).
    pub outage: Option<(i64, i64)>,
    /// This rack (0-based) takes back some of its own exhaust: its inlet runs 4.5 °C warmer at
    /// night and 7.5 °C warmer at the afternoon peak.
    pub hot_rack: Option<usize>,
}

/// The UPS battery at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Battery {
    pub on_battery: bool,
    pub charge_pct: f64,
    pub seconds_on_battery: f64,
    /// Extra input power while the battery recharges after an outage, W.
    pub recharge_w: f64,
}

impl Default for Battery {
    /// Full, on the utility.
    fn default() -> Battery {
        Battery {
            on_battery: false,
            charge_pct: 100.0,
            seconds_on_battery: 0.0,
            recharge_w: 0.0,
        }
    }
}

impl Story {
    /// The battery at `t` for a UPS of `rated_w` delivering `out_w`.
    pub fn battery(&self, t: i64, out_w: f64, rated_w: f64) -> Battery {
        let full = Battery::default();
        let Some((from, to)) = self.outage else {
            return full;
        };
        let capacity_wh = rated_w * BATTERY_H_AT_RATED;
        let drained = |ms: i64| (100.0 * out_w * ms as f64 / MS_PER_H / capacity_wh).min(100.0);
        if t < from {
            full
        } else if t < to {
            Battery {
                on_battery: true,
                charge_pct: 100.0 - drained(t - from),
                seconds_on_battery: (t - from) as f64 / 1000.0,
                recharge_w: 0.0,
            }
        } else {
            let lost = drained(to - from);
            let back = 100.0 * (t - to) as f64 / MS_PER_H / RECHARGE_H;
            if back >= lost {
                return full;
            }
            Battery {
                on_battery: false,
                charge_pct: 100.0 - lost + back,
                seconds_on_battery: 0.0,
                recharge_w: capacity_wh / RECHARGE_H / CHARGE_EFFICIENCY,
            }
        }
    }

    /// How much warmer rack `rack`'s inlet is, at `daily` (0 at night, 1 at the afternoon peak).
    pub fn inlet_extra_c(&self, rack: usize, daily: f64) -> f64 {
        if self.hot_rack == Some(rack) {
            4.5 + 3.0 * daily
        } else {
            0.0
        }
    }

    /// Minutes of runtime left at `out_w` with `charge_pct` of a battery of a UPS of `rated_w`.
    pub fn runtime_min(charge_pct: f64, out_w: f64, rated_w: f64) -> f64 {
        (charge_pct / 100.0 * 30.0 * (rated_w / out_w.max(1.0)).powf(1.1)).min(600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn a_25_minute_outage_at_2_6_kw_on_a_4_kw_ups_leaves_46_percent() {
        // 2.6 kW for 25 min is 1,083 Wh of a 2,000 Wh battery: 54.2 % gone.
        let s = Story {
            outage: Some((0, 25 * MIN)),
            hot_rack: None,
        };
        let mid = s.battery(10 * MIN, 2600.0, 4000.0);
        assert!(mid.on_battery);
        assert!((mid.charge_pct - (100.0 - 2600.0 * 10.0 / 60.0 / 2000.0 * 100.0)).abs() < 1e-9);
        let after = s.battery(25 * MIN, 2600.0, 4000.0);
        assert!(!after.on_battery);
        assert!(
            (after.charge_pct - 45.83).abs() < 0.01,
            "{}",
            after.charge_pct
        );
        assert!(after.recharge_w > 0.0);
        // Back to full after 54.2 % of three hours (97.5 min).
        assert_eq!(
            s.battery(25 * MIN + 98 * MIN, 2600.0, 4000.0).charge_pct,
            100.0
        );
        assert!(!s.battery(-MIN, 2600.0, 4000.0).on_battery);
    }
}
