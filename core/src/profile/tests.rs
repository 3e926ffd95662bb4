//! The profile set's own tests: loading, checking and merging profiles.

use super::*;

/// `profile = "auto"` merges a device's modules: a module keeps every metric of its own
/// (apc-environmental reads temperatures from three tables at one point prefix), and a later
/// module does not read a field at a point an earlier one reads.
#[test]
fn merged_modules_keep_their_own_metrics_and_yield_to_earlier_ones() {
    let (set, problems) = ProfileSet::load(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    let Some(Profile::Snmp(env)) = set.get("apc-environmental") else {
        panic!("no apc-environmental");
    };
    let temps = |p: &SnmpProfile| {
        p.metrics
            .iter()
            .filter(|m| m.field == Field::TemperatureC)
            .count()
    };
    assert!(temps(env) >= 3);
    let Some(Profile::Snmp(m)) = set.merged(&["apc-environmental"]) else {
        panic!("merge failed");
    };
    assert_eq!(temps(&m), temps(env), "a module's own tables all stay");
    let Some(Profile::Snmp(twice)) = set.merged(&["apc-environmental", "apc-environmental"]) else {
        panic!("merge failed");
    };
    assert_eq!(
        twice.metrics.len(),
        env.metrics.len(),
        "a later module yields"
    );
}

#[test]
fn builtin_profiles_all_load() {
    let (set, problems) = ProfileSet::load(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(set.get("rfc1628-ups").is_some());
    assert!(set.get("eastron-sdm630").is_some());
}

#[test]
fn bad_profile_is_reported_with_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "protocol = \"snmp\"\ndescription = \"x\"\n[[metrics]]\nfield = \"active_power_w\"\noid = \"1.3.6\"\nscael = 10\n",
    )
    .unwrap();
    let (_, problems) = ProfileSet::load(&[dir.path().to_owned()]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, Some(6));
    assert!(
        problems[0].message.contains("scael"),
        "{}",
        problems[0].message
    );
}

#[test]
fn sys_object_id_longest_prefix_wins() {
    let (set, _) = ProfileSet::load(&[]);
    let (name, _) = set
        .match_sys_object_id(&parse_oid("1.3.6.1.4.1.318.1.3.4.6").unwrap(), "")
        .unwrap();
    assert_eq!(name, "apc-rpdu2");
}

/// `true_when` makes a 0/1 field of an enumeration; on any other field it is a problem.
#[test]
fn true_when_is_for_a_zero_one_field_only() {
    let profile = |field: &str| {
        parse_profile(&format!(
            "protocol = \"snmp\"\ndescription = \"t\"\n[[metrics]]\nfield = \"{field}\"\noid = \"1.3.6.1.2.1.33.1.4.1.0\"\ntrue_when = [5]\n"
        ))
        .unwrap()
    };
    assert!(profile("on_battery").check().is_empty());
    let problems = profile("load_pct").check();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("'true_when' is for a 0/1 field")),
        "{problems:?}"
    );
}
