//! Issue 10: a data directory that is corrupted, cut short or written by a newer Kilowatch gives
//! a clear error naming the file, and the file is left exactly as it was (nothing is silently
//! rebuilt over someone's data).

use std::process::Command;

use crate::common;

use common::process::METERED_SITE as CONFIG;

/// `kilowatch pue` and `collect` on `data`: both must refuse with `expect` in the error, and
/// without showing the SNMP community the inventory holds.
fn refused(dir: &std::path::Path, expect: &str) {
    let config = dir.join("site.toml");
    let with_secret = format!(
        "{CONFIG}\n[auths.snmp]\nversion = \"v2c\"\ncommunity = \"env:KW_DATA_DIR_COMMUNITY\"\n\n[[devices]]\nid = \"ups-snmp\"\nsite = \"hk1\"\nprofile = \"rfc1628-ups\"\naddress = \"snmp://127.0.0.1:1\"\nauth = \"snmp\"\n"
    );
    std::fs::write(&config, with_secret).unwrap();
    let db = dir.join("data").join("kilowatch.db");
    let before = std::fs::read(&db).unwrap();
    for args in [&["pue", "--from", "1h"][..], &["collect"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(dir.join("data"))
            .env("KW_DATA_DIR_COMMUNITY", common::process::FAULT_COMMUNITY)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted a bad store");
        assert!(
            !err.contains(common::process::FAULT_COMMUNITY),
            "{args:?} shows the community: {err}"
        );
        assert!(
            err.contains(&db.display().to_string()) && err.contains(expect),
            "{args:?}: the error names the file and the fault: {err}"
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file was changed");
}

#[test]
fn a_file_that_is_not_a_database_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("data/kilowatch.db"),
        b"this is a spreadsheet someone saved here, not a database\n".repeat(200),
    )
    .unwrap();
    refused(dir.path(), "not a database");
}

#[test]
fn a_store_from_a_newer_kilowatch_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/kilowatch.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    drop(kilowatch_store::SqliteStore::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    refused(
        dir.path(),
        "has schema version 99, this build reads version 7; upgrade kilowatch",
    );
}

#[test]
fn a_store_cut_short_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/kilowatch.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    {
        let store = kilowatch_store::SqliteStore::open(&db).unwrap();
        let series = std::sync::Arc::new(kilowatch_core::model::Series::new(
            kilowatch_core::model::Field::PowerW.measurement(),
            vec![("site", "hk1".to_owned()), ("device", "main".to_owned())],
        ));
        let batches: Vec<kilowatch_core::model::Batch> = (0..5_000)
            .map(|i| kilowatch_core::model::Batch {
                device: "main".into(),
                at: i * 1000,
                samples: vec![kilowatch_core::model::Sample {
                    series: series.clone(),
                    field: kilowatch_core::model::Field::PowerW,
                    value: i as f64,
                }],
                poll: kilowatch_core::model::PollStatus::Ok,
                poll_ms: 1.0,
            })
            .collect();
        store.write(&batches).unwrap();
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    let bytes = std::fs::read(&db).unwrap();
    // Keep the header and first pages only: the schema survives, the data pages do not.
    std::fs::write(&db, &bytes[..bytes.len() / 3]).unwrap();
    refused(dir.path(), "malformed");
}
