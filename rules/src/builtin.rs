//! The built-in rule sets a user switches on in `[alerts] rule_sets`, as ordinary rules whose
//! limits come from the inventory's ratings (breaker, rack budget) or from the standard they
//! name (ASHRAE TC 9.9 envelopes, domain/thermal.md).

use std::time::Duration;

use kilowatch_analyzer::thermal::{ALLOWABLE, RECOMMENDED};
use kilowatch_core::config::{Condition, Limit, Rating, Rule, RuleSet, Scope};
use kilowatch_core::event::Severity;
use kilowatch_core::model::Field;

fn rule(name: &str, condition: Condition, hold_s: u64, severity: Severity, summary: &str) -> Rule {
    Rule {
        name: name.to_owned(),
        condition,
        hold: Duration::from_secs(hold_s),
        severity,
        scope: Scope::default(),
        summary: Some(summary.to_owned()),
    }
}

fn threshold(field: Field, above: bool, limit: Limit, clear: Limit) -> Condition {
    Condition::Threshold {
        field,
        limit,
        above,
        clear: Some(clear),
    }
}

/// The rules of one set.
pub fn rules(set: RuleSet) -> Vec<Rule> {
    use Severity::{Critical, Warning};
    let v = Limit::Value;
    match set {
        RuleSet::DeviceDown => vec![rule(
            "device_down",
            Condition::Down,
            60,
            Critical,
            "{device} does not answer: {value}",
        )],
        RuleSet::Ashrae(class) => {
            let (name, allowable) = ALLOWABLE[usize::from(class.clamp(1, 4)) - 1];
            // Rack-inlet air only: a device states it (Redfish Intake, an IPMI air-inlet entity,
            // a MIB's inlet sensor) or the inventory places a probe (`temperature_at`).
            vec![
                rule(
                    "inlet_above_recommended",
                    threshold(
                        Field::InletTempC,
                        true,
                        v(RECOMMENDED.max_c),
                        v(RECOMMENDED.max_c - 0.5),
                    ),
                    300,
                    Warning,
                    "inlet {point} at {value} °C, above the ASHRAE recommended {limit} °C",
                ),
                rule(
                    "inlet_below_recommended",
                    threshold(
                        Field::InletTempC,
                        false,
                        v(RECOMMENDED.min_c),
                        v(RECOMMENDED.min_c + 0.5),
                    ),
                    300,
                    Warning,
                    "inlet {point} at {value} °C, below the ASHRAE recommended {limit} °C",
                ),
                rule(
                    &format!("inlet_outside_{}", name.to_lowercase()),
                    threshold(
                        Field::InletTempC,
                        true,
                        v(allowable.max_c),
                        v(allowable.max_c - 0.5),
                    ),
                    60,
                    Critical,
                    "inlet {point} at {value} °C, above the allowable {limit} °C",
                ),
            ]
        }
        RuleSet::Breaker80 => {
            let share = |fraction| Limit::Rating {
                rating: Rating::BreakerA,
                fraction,
            };
            vec![rule(
                "breaker_over_80pct",
                threshold(Field::CurrentA, true, share(0.8), share(0.78)),
                60,
                Warning,
                "{device} {point} draws {value} A, over 80 % of its breaker ({limit} A)",
            )]
        }
        RuleSet::RackBudget => vec![rule(
            "rack_over_budget",
            Condition::RackPower { fraction: 1.0 },
            60,
            Warning,
            "rack {rack} draws {value} W, over its budget of {limit} W",
        )],
        RuleSet::Ups => vec![
            rule(
                "ups_on_battery",
                Condition::State {
                    field: Field::OnBattery,
                    values: vec![1.0],
                },
                0,
                Critical,
                "{device} is on battery",
            ),
            rule(
                "ups_load_high",
                threshold(Field::LoadPct, true, v(80.0), v(75.0)),
                60,
                Warning,
                "{device} load {value} %, over {limit} %",
            ),
            rule(
                "ups_runtime_low",
                threshold(Field::RuntimeS, false, v(600.0), v(660.0)),
                0,
                Critical,
                "{device} has {value} s of battery runtime left, under {limit} s",
            ),
            rule(
                "ups_battery_low",
                threshold(Field::BatteryChargePct, false, v(50.0), v(55.0)),
                60,
                Warning,
                "{device} battery at {value} %, under {limit} %",
            ),
            // The UPS's own judgement of its battery (UPS-MIB upsBatteryStatus, read as `status`
            // at point `battery`): batteryLow(3) or batteryDepleted(4).
            {
                let mut r = rule(
                    "ups_battery_status_low",
                    Condition::State {
                        field: Field::Status,
                        values: vec![3.0, 4.0],
                    },
                    0,
                    Critical,
                    "{device} reports its battery low or depleted (upsBatteryStatus {value})",
                );
                r.scope.tags.insert("point".into(), vec!["battery".into()]);
                r
            },
        ],
    }
}
