//! Decoding SNMP readings through compiled profiles.

use super::super::{Readings, decode};
use super::*;
use crate::plan::PlanKind;

/// The built-in rfc1628-ups profile compiled for a UPS.
fn rfc1628_plan() -> Plan {
    let (set, _) = kilowatch_core::profile::ProfileSet::load(&[]);
    let device = kilowatch_core::config::Device::new(
        "ups",
        "s",
        "rfc1628-ups",
        kilowatch_core::address::Address::parse("snmp://h")
            .unwrap()
            .0,
    );
    Plan::compile(&device, set.get("rfc1628-ups").unwrap())
}

#[test]
fn a_column_the_device_lacks_is_skipped_and_bad_rows_are_named() {
    let plan = rfc1628_plan();
    let PlanKind::Snmp(p) = &plan.kind else {
        panic!("snmp")
    };
    let out_power = kilowatch_core::profile::parse_oid("1.3.6.1.2.1.33.1.4.4.1.4").unwrap();
    let walks = p
        .walks
        .iter()
        .map(|w| {
            if *w == out_power {
                vec![
                    (vec![1], SnmpValue::Int(100)),
                    (vec![2], SnmpValue::Bytes(b"n/a".to_vec())),
                ]
            } else {
                Vec::new()
            }
        })
        .collect();
    let gets = p.gets.iter().map(|_| SnmpValue::Int(50)).collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    decode(
        &plan,
        &Readings::Snmp { gets, walks },
        &mut RowSeries::default(),
        &mut out,
        &mut problems,
    );
    assert_eq!(
        problems,
        vec!["active_power_w 1.3.6.1.2.1.33.1.4.4.1.4.2: string value 'n/a' is not a number"]
    );
    let total = out.iter().find(|s| {
        s.field == kilowatch_core::model::Field::ActivePowerW && s.series.tag("point").is_none()
    });
    assert_eq!(total.map(|s| s.value), Some(100.0));
    // The input-power column is absent: no sample, and no problem either.
    assert!(out.iter().all(|s| s.series.tag("point") != Some("input")));
}

/// UPS-MIB upsOutputSource through the rfc1628 profile's `true_when = [5]`: battery(5)
/// reads on_battery 1, normal(3) reads 0, and the code itself is still stored as `status`.
#[test]
fn an_enumeration_reads_as_on_battery_by_its_true_codes() {
    let plan = rfc1628_plan();
    let PlanKind::Snmp(p) = &plan.kind else {
        panic!("snmp")
    };
    let source = kilowatch_core::profile::parse_oid("1.3.6.1.2.1.33.1.4.1.0").unwrap();
    let read = |code: i64| {
        let gets = p
            .gets
            .iter()
            .map(|g| SnmpValue::Int(if *g == source { code } else { 50 }))
            .collect();
        let walks = p.walks.iter().map(|_| Vec::new()).collect();
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        decode(
            &plan,
            &Readings::Snmp { gets, walks },
            &mut RowSeries::default(),
            &mut out,
            &mut problems,
        );
        let value = |f| out.iter().find(|s| s.field == f).map(|s| s.value);
        (
            value(kilowatch_core::model::Field::OnBattery),
            out.iter()
                .find(|s| {
                    s.field == kilowatch_core::model::Field::Status
                        && s.series.tag("point") == Some("output_source")
                })
                .map(|s| s.value),
        )
    };
    assert_eq!(read(5), (Some(1.0), Some(5.0)));
    assert_eq!(read(3), (Some(0.0), Some(3.0)));
}

/// Compiles a profile written for a test and decodes what a device holds (`oid -> value`, GETs
/// and walks alike): (field, point, value) per sample, and the problems.
fn read_with(
    profile: &str,
    device: &[(&str, SnmpValue)],
) -> (Vec<(String, String, f64)>, Vec<String>) {
    read_profile(toml::from_str(profile).unwrap(), device)
}

fn read_profile(
    p: kilowatch_core::profile::SnmpProfile,
    device: &[(&str, SnmpValue)],
) -> (Vec<(String, String, f64)>, Vec<String>) {
    use kilowatch_core::profile::{Profile, parse_oid};
    let held: Vec<(Vec<u32>, SnmpValue)> = device
        .iter()
        .map(|(o, v)| (parse_oid(o).unwrap(), v.clone()))
        .collect();
    let d = kilowatch_core::config::Device::new(
        "d",
        "s",
        "t",
        kilowatch_core::address::Address::parse("snmp://h")
            .unwrap()
            .0,
    );
    let plan = Plan::compile(&d, &Profile::Snmp(p));
    let PlanKind::Snmp(sp) = &plan.kind else {
        panic!("snmp")
    };
    let gets = sp
        .gets
        .iter()
        .map(|g| {
            held.iter()
                .find(|(o, _)| o == g)
                .map_or(SnmpValue::Missing("noSuchObject"), |(_, v)| v.clone())
        })
        .collect();
    let walks = sp
        .walks
        .iter()
        .map(|c| {
            held.iter()
                .filter_map(|(o, v)| {
                    o.strip_prefix(c.as_slice())
                        .map(|i| (i.to_vec(), v.clone()))
                })
                .filter(|(i, _)| !i.is_empty())
                .collect()
        })
        .collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    decode(
        &plan,
        &Readings::Snmp { gets, walks },
        &mut RowSeries::default(),
        &mut out,
        &mut problems,
    );
    let samples = out
        .iter()
        .map(|s| {
            (
                s.field.name().to_owned(),
                s.series.tag("point").unwrap_or_default().to_owned(),
                (s.value * 1000.0).round() / 1000.0,
            )
        })
        .collect();
    (samples, problems)
}

fn text(s: &str) -> SnmpValue {
    SnmpValue::Bytes(s.as_bytes().to_vec())
}

fn sample(field: &str, point: &str, value: f64) -> (String, String, f64) {
    (field.to_owned(), point.to_owned(), value)
}

/// `text_number`: the first number in a text, converted by `fahrenheit_when`'s `ends_with` when
/// the text itself ends in F (Asentria's "77 F" / "24 C"); text without a sure number is no
/// reading and no problem, never 0. Without `text_number` the same text is a problem.
#[test]
fn numbers_are_read_from_text_and_its_unit_letter() {
    let profile = r#"protocol = "snmp"
description = "t"
[[metrics]]
field = "temperature_c"
walk = "1.3.6.1.4.1.99999.5.1.7"
point = "es"
text_number = true
fahrenheit_when = { column = "1.3.6.1.4.1.99999.5.1.7", ends_with = ["F"] }
"#;
    let device = [
        ("1.3.6.1.4.1.99999.5.1.7.1", text("77 F")),
        ("1.3.6.1.4.1.99999.5.1.7.2", text("24.5 C")),
        ("1.3.6.1.4.1.99999.5.1.7.3", text("-4 f ")),
        ("1.3.6.1.4.1.99999.5.1.7.4", text("Offline")),
        ("1.3.6.1.4.1.99999.5.1.7.5", text("1,5 C")),
        ("1.3.6.1.4.1.99999.5.1.7.6", SnmpValue::Int(21)),
    ];
    let (samples, problems) = read_with(profile, &device);
    assert_eq!(
        samples,
        vec![
            sample("temperature_c", "es1", 25.0),
            sample("temperature_c", "es2", 24.5),
            sample("temperature_c", "es3", -20.0),
            sample("temperature_c", "es6", 21.0),
        ]
    );
    assert_eq!(problems, Vec::<String>::new());
    let (samples, problems) = read_with(&profile.replace("text_number = true\n", ""), &device);
    assert_eq!(samples, vec![sample("temperature_c", "es6", 21.0)]);
    assert_eq!(problems.len(), 5, "{problems:?}");
}

/// `where_prefix`: rows whose type column holds the well-known OID, or it with an instance
/// appended (Liebert's `...4.1.1.3.1.1`), are kept; `...4.1.1.30` shares the text but not the
/// OID prefix and is not. `where_equals` beside it still matches exactly.
#[test]
fn rows_are_selected_by_an_oid_prefix_component_by_component() {
    let profile = r#"protocol = "snmp"
description = "t"
[[metrics]]
field = "supply_temp_c"
walk = "1.3.6.1.4.1.99999.6.3"
where_column = "1.3.6.1.4.1.99999.6.2"
where_prefix = ["1.3.6.1.4.1.476.1.42.3.4.1.1.3"]
where_equals = [7]
point = "supply"
"#;
    let oid = |o: &str| SnmpValue::Oid(kilowatch_core::profile::parse_oid(o).unwrap());
    let device = [
        (
            "1.3.6.1.4.1.99999.6.2.1",
            oid("1.3.6.1.4.1.476.1.42.3.4.1.1.3.1.1"),
        ),
        (
            "1.3.6.1.4.1.99999.6.2.2",
            oid("1.3.6.1.4.1.476.1.42.3.4.1.1.3"),
        ),
        (
            "1.3.6.1.4.1.99999.6.2.3",
            oid("1.3.6.1.4.1.476.1.42.3.4.1.1.30"),
        ),
        (
            "1.3.6.1.4.1.99999.6.2.4",
            oid("1.3.6.1.4.1.476.1.42.3.4.1.1.2.1.1"),
        ),
        (
            "1.3.6.1.4.1.99999.6.2.5",
            text(".1.3.6.1.4.1.476.1.42.3.4.1.1.3.2.1"),
        ),
        ("1.3.6.1.4.1.99999.6.2.6", SnmpValue::Int(7)),
        ("1.3.6.1.4.1.99999.6.3.1", SnmpValue::Int(21)),
        ("1.3.6.1.4.1.99999.6.3.2", SnmpValue::Int(22)),
        ("1.3.6.1.4.1.99999.6.3.3", SnmpValue::Int(23)),
        ("1.3.6.1.4.1.99999.6.3.4", SnmpValue::Int(24)),
        ("1.3.6.1.4.1.99999.6.3.5", SnmpValue::Int(25)),
        ("1.3.6.1.4.1.99999.6.3.6", SnmpValue::Int(26)),
    ];
    let (samples, _) = read_with(profile, &device);
    assert_eq!(
        samples,
        vec![
            sample("supply_temp_c", "supply1", 21.0),
            sample("supply_temp_c", "supply2", 22.0),
            sample("supply_temp_c", "supply5", 25.0),
            sample("supply_temp_c", "supply6", 26.0),
        ]
    );
}

/// `fallback`: the whole-degree column is read only when no other metric read the field in
/// this poll, whatever the order the profile lists them in.
#[test]
fn a_fallback_reads_only_what_nothing_else_read() {
    let profile = r#"protocol = "snmp"
description = "t"
[[metrics]]
field = "supply_temp_c"
walk = "1.3.6.1.4.1.99999.7.3"
point = "whole"
fallback = true

[[metrics]]
field = "supply_temp_c"
walk = "1.3.6.1.4.1.99999.7.50"
scale = 0.1
aggregate = "mean"

[[metrics]]
field = "return_temp_c"
walk = "1.3.6.1.4.1.99999.7.4"
point = "whole"
fallback = true
"#;
    let whole = [
        ("1.3.6.1.4.1.99999.7.3.1", SnmpValue::Int(18)),
        ("1.3.6.1.4.1.99999.7.4.1", SnmpValue::Int(29)),
    ];
    let (samples, _) = read_with(profile, &whole);
    assert_eq!(
        samples,
        vec![
            sample("supply_temp_c", "whole1", 18.0),
            sample("return_temp_c", "whole1", 29.0),
        ]
    );
    let mut both = whole.to_vec();
    both.push(("1.3.6.1.4.1.99999.7.50.1", SnmpValue::Int(183)));
    let (samples, _) = read_with(profile, &both);
    assert_eq!(
        samples,
        vec![
            sample("supply_temp_c", "", 18.3),
            sample("return_temp_c", "whole1", 29.0),
        ]
    );
}

/// `name_oid`: scalar name/value pairs. A value is read when its name scalar contains one of
/// `name_contains` (ignoring case); a slot named otherwise or not at all is skipped without a
/// problem, even when its value is text or missing.
#[test]
fn a_scalar_is_read_when_its_name_says_what_it_is() {
    let mut profile = String::from("protocol = \"snmp\"\ndescription = \"t\"\n");
    for n in 1..=4 {
        for (field, word) in [("temperature_c", "temp"), ("humidity_pct", "humid")] {
            profile.push_str(&format!(
                "[[metrics]]\nfield = \"{field}\"\noid = \"1.3.6.1.4.1.99999.9.{v}.0\"\nname_oid = \"1.3.6.1.4.1.99999.9.{k}.0\"\nname_contains = [\"{word}\"]\npoint = \"sensor{n}\"\n",
                v = 4 * n - 2,
                k = 4 * n - 3
            ));
        }
    }
    let device = [
        ("1.3.6.1.4.1.99999.9.1.0", text("Rack A TEMP")),
        ("1.3.6.1.4.1.99999.9.2.0", text("23.50")),
        ("1.3.6.1.4.1.99999.9.5.0", text("Rack A Humid")),
        ("1.3.6.1.4.1.99999.9.6.0", text("41.2")),
        ("1.3.6.1.4.1.99999.9.9.0", text("Flooding")),
        ("1.3.6.1.4.1.99999.9.10.0", text("DRY")),
    ];
    let (samples, problems) = read_with(&profile, &device);
    assert_eq!(
        samples,
        vec![
            sample("temperature_c", "sensor1", 23.5),
            sample("humidity_pct", "sensor2", 41.2),
        ]
    );
    assert_eq!(problems, Vec::<String>::new());
}

/// In a merged profile (`profile = "auto"`), a `fallback` yields only to its own module, as in
/// `probe`, which reads each module on its own: another module's reading of the field does not
/// silence it.
#[test]
fn a_fallback_yields_within_its_own_module() {
    let profile = r#"protocol = "snmp"
description = "t"
[[metrics]]
field = "supply_temp_c"
walk = "1.3.6.1.4.1.99999.7.3"
point = "whole"
fallback = true

[[metrics]]
field = "supply_temp_c"
walk = "1.3.6.1.4.1.99999.7.50"
scale = 0.1
aggregate = "mean"
"#;
    let device = [
        ("1.3.6.1.4.1.99999.7.3.1", SnmpValue::Int(18)),
        ("1.3.6.1.4.1.99999.7.50.1", SnmpValue::Int(183)),
    ];
    let mut p: kilowatch_core::profile::SnmpProfile = toml::from_str(profile).unwrap();
    assert_eq!(
        read_profile(p.clone(), &device).0,
        vec![sample("supply_temp_c", "", 18.3)]
    );
    p.metrics[1].origin = 1;
    assert_eq!(
        read_profile(p, &device).0,
        vec![
            sample("supply_temp_c", "", 18.3),
            sample("supply_temp_c", "whole1", 18.0),
        ]
    );
}

/// Across the modules of a merged profile, a `fallback` yields to another module's reading of
/// its field at the same point (UPS-MIB's charge before a vendor's no better one), row by row:
/// where the other module gives nothing (its second input line), the fallback reads.
#[test]
fn a_fallback_yields_to_another_module_at_the_same_point() {
    let profile = r#"protocol = "snmp"
description = "t"
[[metrics]]
field = "battery_charge_pct"
oid = "1.3.6.1.4.1.99999.8.1.0"
fallback = true

[[metrics]]
field = "current_a"
walk = "1.3.6.1.4.1.99999.8.2"
point = "in"
fallback = true

[[metrics]]
field = "battery_charge_pct"
oid = "1.3.6.1.2.1.33.1.2.4.0"

[[metrics]]
field = "current_a"
walk = "1.3.6.1.2.1.33.1.3.3.1.4"
scale = 0.1
point = "in"
"#;
    let device = [
        ("1.3.6.1.4.1.99999.8.1.0", SnmpValue::Int(90)),
        ("1.3.6.1.4.1.99999.8.2.1", SnmpValue::Int(5)),
        ("1.3.6.1.4.1.99999.8.2.2", SnmpValue::Int(6)),
        ("1.3.6.1.2.1.33.1.2.4.0", SnmpValue::Int(88)),
        ("1.3.6.1.2.1.33.1.3.3.1.4.1", SnmpValue::Int(52)),
    ];
    let mut p: kilowatch_core::profile::SnmpProfile = toml::from_str(profile).unwrap();
    p.metrics[2].origin = 1;
    p.metrics[3].origin = 1;
    assert_eq!(
        read_profile(p.clone(), &device).0,
        vec![
            sample("battery_charge_pct", "", 88.0),
            sample("current_a", "in1", 5.2),
            sample("current_a", "in2", 6.0),
        ]
    );
    // Without the other module's readings, the fallbacks read everything.
    assert_eq!(
        read_profile(p, &device[..3]).0,
        vec![
            sample("battery_charge_pct", "", 90.0),
            sample("current_a", "in1", 5.0),
            sample("current_a", "in2", 6.0),
        ]
    );
}
