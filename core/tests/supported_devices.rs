//! The supported-devices table in `config/profiles/README.md` is generated from the profiles and
//! `config/unsupported-values.toml`; this test fails when it is stale.
//! `KILOWATCH_BLESS=1 cargo test -p kilowatch-core --test supported_devices` rewrites it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::PathBuf;

use kilowatch_core::profile::ProfileSet;

const START: &str = "<!-- supported-devices:start (generated: do not edit by hand) -->\n";
const END: &str = "<!-- supported-devices:end -->";

#[test]
fn supported_devices_table_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let (set, problems) = ProfileSet::load(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    let unsupported = std::fs::read_to_string(root.join("config/unsupported-values.toml")).unwrap();
    let table = set.supported_devices_markdown(&unsupported).unwrap();
    let readme_path = root.join("config/profiles/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        panic!("config/profiles/README.md lacks the supported-devices markers");
    };
    let current = &readme[a + START.len()..b];
    if current != table {
        if std::env::var("KILOWATCH_BLESS").is_ok() {
            let updated = format!("{}{START}{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(&readme_path, updated).unwrap();
        } else {
            panic!(
                "config/profiles/README.md's supported-devices table is stale; run\n  KILOWATCH_BLESS=1 cargo test -p kilowatch-core --test supported_devices\nand review the diff"
            );
        }
    }
}

const FIELDS_START: &str = "<!-- fields:start (generated: do not edit by hand) -->\n";
const FIELDS_END: &str = "<!-- fields:end -->";

/// Issue 17: the README lists every field a profile may name, from the code.
#[test]
fn fields_table_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let table = kilowatch_core::profile::fields_markdown();
    let readme_path = root.join("config/profiles/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (Some(a), Some(b)) = (readme.find(FIELDS_START), readme.find(FIELDS_END)) else {
        panic!("config/profiles/README.md lacks the fields markers");
    };
    if readme[a + FIELDS_START.len()..b] != table {
        if std::env::var("KILOWATCH_BLESS").is_ok() {
            let updated = format!("{}{FIELDS_START}{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(&readme_path, updated).unwrap();
        } else {
            panic!(
                "config/profiles/README.md's fields table is stale; run\n  KILOWATCH_BLESS=1 cargo test -p kilowatch-core --test supported_devices"
            );
        }
    }
}
