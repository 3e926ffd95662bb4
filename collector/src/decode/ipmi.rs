//! A BMC's readings to samples: the DCMI power reading's values, and each selected sensor's raw
//! reading converted with its record's linearisation (M, B, exponents, linearisation code),
//! times the rule's scale. Within one poll the first value of a field at a point wins: DCMI
//! entries come first, then sensors in SDR order. A sensor without a usable reading, a DCMI
//! reading that is not active, is a problem naming it, never a sample. A DCMI reading the BMC
//! refused (most BMCs without DCMI) is a problem only when no sensor gave that field and point
//! instead: otherwise every poll of such a BMC would count as partial.

use std::sync::Arc;

use kilowatch_core::model::{Field, Sample};
use kilowatch_core::profile::DcmiReading;

use super::{RowSeries, Trace, push};
use crate::error::completion_name;
use crate::ipmi::{DcmiOutcome, SensorReading};
use crate::plan::{IpmiPlan, Plan};

#[allow(clippy::too_many_arguments)] // the same shape as the SNMP decoder's
pub(super) fn decode_ipmi(
    plan: &Plan,
    p: &IpmiPlan,
    dcmi: Option<DcmiOutcome>,
    sensors: &[SensorReading],
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    trace: &mut Trace<'_>,
) {
    let mut taken: Vec<(Field, Option<Arc<str>>)> = Vec::new();
    let mut refused: Vec<(Field, Option<Arc<str>>, String)> = Vec::new();
    for e in &p.dcmi {
        let power = match dcmi {
            Some(DcmiOutcome::Reading(r)) if r.active => r,
            Some(DcmiOutcome::Reading(_)) => {
                problems.push(format!(
                    "{} dcmi power reading: power measurement is not active",
                    e.field
                ));
                continue;
            }
            Some(DcmiOutcome::Refused(code)) => {
                refused.push((
                    e.field,
                    e.series.tag("point").map(Arc::from),
                    format!(
                        "{} dcmi power reading: completion code {code:#04x} ({})",
                        e.field,
                        completion_name(code)
                    ),
                ));
                continue;
            }
            None => continue,
        };
        let watts = match e.reading {
            DcmiReading::Current => power.current_w,
            DcmiReading::Minimum => power.minimum_w,
            DcmiReading::Maximum => power.maximum_w,
            DcmiReading::Average => power.average_w,
        };
        let point = e.series.tag("point").map(Arc::from);
        if push(out, Some(&e.series), e.field, f64::from(watts)) {
            taken.push((e.field, point));
            trace.push(|| format!("dcmi power reading ({:?})", e.reading).to_lowercase());
        }
    }
    for s in sensors {
        let Some(rule_index) = p.rule_for(&s.record) else {
            continue;
        };
        let rule = &p.rules[rule_index];
        let r = &s.record;
        let source = || format!("sensor '{}' #{}", r.name, r.number);
        let raw = match s.raw {
            Ok(raw) => raw,
            Err(fault) => {
                problems.push(format!("{} {}: {fault}", rule.field, source()));
                continue;
            }
        };
        let Some(value) = r.conversion.convert(raw).map(|v| v * rule.scale) else {
            problems.push(format!(
                "{} {}: raw {raw:#04x} gives no number with the record's conversion",
                rule.field,
                source()
            ));
            continue;
        };
        let point: Option<Arc<str>> = rule
            .point
            .as_deref()
            .map(|t| Arc::from(t.replace("{instance}", &r.entity_instance.to_string())));
        if taken.iter().any(|(f, pt)| *f == rule.field && *pt == point) {
            continue;
        }
        let series = rows
            .map
            .entry(rule_index)
            .or_default()
            .entry(vec![
                u32::from(r.owner),
                u32::from(r.lun),
                u32::from(r.number),
            ])
            .or_insert_with(|| plan.series(rule.field, point.clone()))
            .clone();
        if push(out, Some(&series), rule.field, value) {
            taken.push((rule.field, point));
            trace.push(source);
        }
    }
    for (field, point, problem) in refused {
        if !taken.iter().any(|(f, pt)| *f == field && *pt == point) {
            problems.push(problem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RowSeries, decode_traced};
    use crate::decode::Readings;
    use crate::ipmi::sdr::{AnalogFormat, Conversion, DcmiPower, SensorFault, SensorRecord};
    use crate::ipmi::{DcmiOutcome, SensorReading};
    use crate::plan::Plan;
    use kilowatch_core::address::Address;
    use kilowatch_core::config::Device;
    use kilowatch_core::profile::ProfileSet;
    use std::sync::Arc;

    fn record(
        number: u8,
        name: &str,
        sensor_type: u8,
        entity: (u8, u8),
        unit: u8,
    ) -> Arc<SensorRecord> {
        Arc::new(SensorRecord {
            record_id: u16::from(number),
            owner: 0x20,
            lun: 0,
            number,
            entity_id: entity.0,
            entity_instance: entity.1,
            sensor_type,
            unit,
            name: name.into(),
            conversion: Conversion {
                format: AnalogFormat::Unsigned,
                linearization: 0,
                m: 4,
                b: 0,
                b_exp: 0,
                r_exp: 0,
            },
        })
    }

    fn plan() -> Plan {
        let (set, _) = ProfileSet::load(&[]);
        let address = Address::parse("ipmi://h").unwrap().0;
        Plan::compile(
            &Device::new("bmc", "s", "ipmi-dcmi", address),
            set.get("ipmi-dcmi").unwrap(),
        )
    }

    /// A sample as the tests compare it: field, point, value, source.
    type Row = (String, Option<String>, f64, String);

    fn run(readings: &Readings) -> (Vec<Row>, Vec<String>) {
        let plan = plan();
        let (mut out, mut problems, mut sources) = (Vec::new(), Vec::new(), Vec::new());
        decode_traced(
            &plan,
            readings,
            &mut RowSeries::default(),
            &mut out,
            &mut problems,
            &mut sources,
        );
        let rows = out
            .iter()
            .zip(sources)
            .map(|(s, src)| {
                (
                    s.field.name().to_owned(),
                    s.series.tag("point").map(str::to_owned),
                    s.value,
                    src.source,
                )
            })
            .collect();
        (rows, problems)
    }

    /// The shipped profile on a BMC with DCMI, two supplies, an inlet sensor, a system power
    /// sensor (left out: DCMI gave `power_w` first) and a fan (no rule).
    #[test]
    fn issue_19_the_dcmi_profile_maps_dcmi_and_sdr_sensors() {
        let sensors = vec![
            SensorReading {
                record: record(1, "Inlet Temp", 0x01, (0x37, 1), 1),
                raw: Ok(6),
            },
            SensorReading {
                record: record(3, "PS1 Input Power", 0x08, (0x0a, 1), 6),
                raw: Ok(75),
            },
            SensorReading {
                record: record(4, "PS2 Input Power", 0x08, (0x0a, 2), 6),
                raw: Ok(70),
            },
            SensorReading {
                record: record(5, "Sys Power", 0x0b, (0x07, 1), 6),
                raw: Ok(145),
            },
            SensorReading {
                record: record(6, "Fan 1", 0x04, (0x1d, 1), 18),
                raw: Ok(50),
            },
        ];
        let dcmi = Some(DcmiOutcome::Reading(DcmiPower {
            current_w: 583,
            minimum_w: 100,
            maximum_w: 700,
            average_w: 560,
            timestamp: 0,
            period_ms: 1000,
            active: true,
        }));
        let (rows, problems) = run(&Readings::Ipmi { dcmi, sensors });
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            rows,
            vec![
                (
                    "power_w".into(),
                    None,
                    583.0,
                    "dcmi power reading (current)".into()
                ),
                (
                    "inlet_temp_c".into(),
                    Some("inlet".into()),
                    24.0,
                    "sensor 'Inlet Temp' #1".into()
                ),
                (
                    "power_w".into(),
                    Some("psu1".into()),
                    300.0,
                    "sensor 'PS1 Input Power' #3".into()
                ),
                (
                    "power_w".into(),
                    Some("psu2".into()),
                    280.0,
                    "sensor 'PS2 Input Power' #4".into()
                ),
            ]
        );
    }

    #[test]
    fn without_dcmi_the_system_sensor_gives_power_and_faults_are_named() {
        let sensors = vec![
            SensorReading {
                record: record(5, "Sys Power", 0x0b, (0x07, 1), 6),
                raw: Ok(145),
            },
            SensorReading {
                record: record(1, "Inlet Temp", 0x01, (0x37, 1), 1),
                raw: Err(SensorFault::Unavailable),
            },
        ];
        let (rows, problems) = run(&Readings::Ipmi {
            dcmi: Some(DcmiOutcome::Refused(0xc1)),
            sensors,
        });
        assert_eq!(
            rows,
            vec![(
                "power_w".into(),
                None,
                580.0,
                "sensor 'Sys Power' #5".into()
            )]
        );
        // The refused DCMI reading is no problem: the system power sensor stood in for it.
        assert_eq!(
            problems,
            vec!["inlet_temp_c sensor 'Inlet Temp' #1: reading unavailable".to_owned()]
        );
        // Without that sensor, the refusal is the problem that explains the missing power.
        let (rows, problems) = run(&Readings::Ipmi {
            dcmi: Some(DcmiOutcome::Refused(0xc1)),
            sensors: vec![],
        });
        assert!(rows.is_empty());
        assert_eq!(
            problems,
            vec!["power_w dcmi power reading: completion code 0xc1 (invalid command)".to_owned()]
        );
    }

    #[test]
    fn an_inactive_dcmi_reading_is_no_sample() {
        let dcmi = Some(DcmiOutcome::Reading(DcmiPower {
            current_w: 0,
            minimum_w: 0,
            maximum_w: 0,
            average_w: 0,
            timestamp: 0,
            period_ms: 0,
            active: false,
        }));
        let (rows, problems) = run(&Readings::Ipmi {
            dcmi,
            sensors: vec![],
        });
        assert!(rows.is_empty());
        assert_eq!(
            problems,
            vec!["power_w dcmi power reading: power measurement is not active".to_owned()]
        );
    }
}
