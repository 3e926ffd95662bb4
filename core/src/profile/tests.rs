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

/// Loads one profile file written for a test; the problems found, with file and line.
fn load_one(src: &str) -> Vec<ProfileProblem> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.toml"), src).unwrap();
    ProfileSet::load(&[dir.path().to_owned()]).1
}

const HEAD: &str = "protocol = \"snmp\"\ndescription = \"t\"\n";

/// `text_number` is a boolean; anything else is an error at its line, in its file.
#[test]
fn text_number_is_a_boolean_reported_at_its_line() {
    let ok = format!(
        "{HEAD}[[metrics]]\nfield = \"fan_speed_pct\"\nwalk = \"1.3.6.1.4.1.2.3.51.3.1.3.2.1.3\"\ntext_number = true\n"
    );
    assert_eq!(load_one(&ok), vec![]);
    let problems = load_one(&ok.replace("text_number = true", "text_number = \"yes\""));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].file.ends_with("t.toml"), "{problems:?}");
    assert_eq!(problems[0].line, Some(6), "{problems:?}");
    assert!(problems[0].message.contains("bool"), "{problems:?}");
}

/// `where_prefix` holds numeric OIDs and needs `where_column`; `where_column` needs `where_equals`
/// or `where_prefix`. Each problem names the key, and the line of its metric.
#[test]
fn where_prefix_needs_oids_and_a_column() {
    let metric = |keys: &str| {
        format!(
            "{HEAD}\n[[metrics]]\nfield = \"temperature_c\"\nwalk = \"1.3.6.1.4.1.476.1.42.3.4.1.3.3.1.3\"\n{keys}"
        )
    };
    let column = "where_column = \"1.3.6.1.4.1.476.1.42.3.4.1.3.3.1.2\"\n";
    assert_eq!(
        load_one(&metric(&format!(
            "{column}where_prefix = [\"1.3.6.1.4.1.476.1.42.3.4.1.1.3\"]\n"
        ))),
        vec![]
    );
    let problems = load_one(&metric(&format!("{column}where_prefix = [\"supply\"]\n")));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, Some(4), "{problems:?}");
    assert!(
        problems[0]
            .message
            .contains("metrics[0]: where_prefix 'supply' is not a numeric OID"),
        "{problems:?}"
    );
    let problems = load_one(&metric(
        "where_prefix = [\"1.3.6.1.4.1.476.1.42.3.4.1.1.3\"]\n",
    ));
    assert!(
        problems.iter().any(|p| p
            .message
            .contains("'where_column' with 'where_equals' or 'where_prefix'")),
        "{problems:?}"
    );
    let problems = load_one(&metric(column));
    assert!(
        problems.iter().any(|p| p
            .message
            .contains("'where_column' with 'where_equals' or 'where_prefix'")),
        "{problems:?}"
    );
}

/// `fahrenheit_when` says °F by `equals` or by a text ending (`ends_with`); it needs one of them.
#[test]
fn fahrenheit_when_needs_equals_or_ends_with() {
    let metric = |unit: &str| {
        format!(
            "{HEAD}[[metrics]]\nfield = \"temperature_c\"\nwalk = \"1.3.6.1.4.1.3052.10.1.1.1.1.7\"\ntext_number = true\nfahrenheit_when = {{ column = \"1.3.6.1.4.1.3052.10.1.1.1.1.7\"{unit} }}\n"
        )
    };
    assert_eq!(load_one(&metric(", ends_with = [\"F\"]")), vec![]);
    for bad in ["", ", ends_with = [\" \"]"] {
        let problems = load_one(&metric(bad));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, Some(3), "{problems:?}");
        assert!(
            problems[0]
                .message
                .contains("fahrenheit_when needs 'equals' or 'ends_with'"),
            "{problems:?}"
        );
    }
    let problems = load_one(&metric(", ends_with = \"F\""));
    assert_eq!(problems[0].line, Some(7), "{problems:?}");
}

/// `fallback` alone for its field is no mistake: it yields to another module's reading (a
/// vendor's battery charge to UPS-MIB's where a device serves both).
#[test]
fn a_fallback_may_be_the_only_metric_of_its_field() {
    let tenths = "[[metrics]]\nfield = \"supply_temp_c\"\nwalk = \"1.3.6.1.4.1.476.1.42.3.4.1.3.3.1.50\"\nscale = 0.1\n";
    let whole = "[[metrics]]\nfield = \"supply_temp_c\"\nwalk = \"1.3.6.1.4.1.476.1.42.3.4.1.3.3.1.3\"\nfallback = true\n";
    assert_eq!(load_one(&format!("{HEAD}{tenths}{whole}")), vec![]);
    assert_eq!(load_one(&format!("{HEAD}{whole}")), vec![]);
}

/// Merging modules keeps a later module's metric of a field and point an earlier module reads
/// only as a `fallback`: eaton-xups's battery charge yields to rfc1628-ups's, so both stay, and
/// decoding reads the vendor's only where UPS-MIB gave none. Its runtime (seconds) is no
/// fallback, so UPS-MIB's (minutes) is left out.
#[test]
fn a_fallback_does_not_hide_a_later_module() {
    let (set, problems) = ProfileSet::load(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    let Some(Profile::Snmp(m)) = set.merged(&["eaton-xups", "rfc1628-ups"]) else {
        panic!("merged");
    };
    let of = |field: Field| {
        m.metrics
            .iter()
            .filter(|x| x.field == field && x.point.is_none() && x.oid.is_some())
            .map(|x| (x.origin, x.fallback))
            .collect::<Vec<_>>()
    };
    assert_eq!(of(Field::BatteryChargePct), vec![(0, true), (1, false)]);
    assert_eq!(of(Field::RuntimeS), vec![(0, false)]);
}

/// `name_oid` names a scalar for `name_contains`: it needs `name_contains`, a scalar, and a
/// numeric OID; `name_contains` on a scalar needs it.
#[test]
fn name_oid_is_for_a_scalar_with_name_contains() {
    let metric = |keys: &str| {
        format!("{HEAD}[[metrics]]\nfield = \"temperature_c\"\n{keys}point = \"sensor1\"\n")
    };
    let scalar = "oid = \"1.3.6.1.4.1.17095.3.2.0\"\n";
    let name = "name_oid = \"1.3.6.1.4.1.17095.3.1.0\"\n";
    let contains = "name_contains = [\"temp\"]\n";
    assert_eq!(
        load_one(&metric(&format!("{scalar}{name}{contains}"))),
        vec![]
    );
    for (keys, says) in [
        (
            format!("{scalar}{name}"),
            "'name_oid' needs 'name_contains'",
        ),
        (format!("{scalar}{contains}"), "only apply to 'walk'"),
        (
            format!("{scalar}name_oid = \"sensor1name\"\n{contains}"),
            "name_oid 'sensor1name' is not a numeric OID",
        ),
        (
            format!("walk = \"1.3.6.1.4.1.17095.3\"\n{name}{contains}"),
            "'name_oid' is for a scalar",
        ),
    ] {
        let problems = load_one(&metric(&keys));
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains(says) && p.line == Some(3)),
            "{keys}: {problems:?}"
        );
    }
}

/// A merged profile notes each metric's module, so a `fallback` yields within its own module
/// under `profile = "auto"` as it does in `probe`.
#[test]
fn merged_metrics_know_their_module() {
    let (set, _) = ProfileSet::load(&[]);
    let Some(Profile::Snmp(m)) = set.merged(&["liebert-environmental", "rfc1628-ups"]) else {
        panic!("merge failed");
    };
    let Some(Profile::Snmp(env)) = set.get("liebert-environmental") else {
        panic!("no liebert-environmental");
    };
    let origins: Vec<usize> = m.metrics.iter().map(|m| m.origin).collect();
    assert!(origins[..env.metrics.len()].iter().all(|o| *o == 0));
    assert!(!origins[env.metrics.len()..].is_empty());
    assert!(origins[env.metrics.len()..].iter().all(|o| *o == 1));
}
