//! Issue 3 acceptance: SNMPv3 at every security level and protocol pair the collector supports,
//! against the real net-snmp `snmpd` that `scripts/test` starts with one USM user per pair.
#![cfg(feature = "peers")]

use std::time::Duration;

use kilowatch_collector::decode::{RowSeries, decode};
use kilowatch_collector::schedule::{self, DeviceTask, Schedule};
use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_core::model::Field;
use tokio_util::sync::CancellationToken;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

/// (user, auth protocol, privacy protocol) as created in scripts/peers.sh.
const USERS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("kw-noauth", None, None),
    ("kw-md5", Some("md5"), None),
    ("kw-sha", Some("sha"), None),
    ("kw-sha256", Some("sha256"), None),
    ("kw-sha512", Some("sha512"), None),
    ("kw-sha-aes", Some("sha"), Some("aes")),
    ("kw-sha256-aes", Some("sha256"), Some("aes128")),
    ("kw-md5-des", Some("md5"), Some("des")),
    ("kw-sha-des", Some("sha1"), Some("des")),
];

/// An inventory with one device per v3 user (and one with a wrong key), keys in files.
fn inventory(dir: &std::path::Path) -> Config {
    let snmpd = env("KILOWATCH_TEST_SNMPD");
    kilowatch_core::secret::write_private(&dir.join("auth"), "kwauthpass1\n").unwrap();
    kilowatch_core::secret::write_private(&dir.join("priv"), "kwprivpass1\n").unwrap();
    kilowatch_core::secret::write_private(&dir.join("wrong"), "not-the-key\n").unwrap();
    let (a, p, w) = (dir.join("auth"), dir.join("priv"), dir.join("wrong"));
    let mut toml = String::from("[[sites]]\nid = \"lab\"\n");
    let mut add = |id: &str,
                   user: &str,
                   auth: Option<&str>,
                   privacy: Option<&str>,
                   key: &std::path::Path| {
        toml.push_str(&format!(
            "\n[auths.{id}]\nversion = \"v3\"\nuser = \"{user}\"\n"
        ));
        if let Some(auth) = auth {
            toml.push_str(&format!(
                "auth_protocol = \"{auth}\"\nauth_key = \"file:{}\"\n",
                key.display()
            ));
        }
        if let Some(privacy) = privacy {
            toml.push_str(&format!(
                "priv_protocol = \"{privacy}\"\npriv_key = \"file:{}\"\n",
                p.display()
            ));
        }
        toml.push_str(&format!(
            "\n[[devices]]\nid = \"{id}\"\nsite = \"lab\"\nprofile = \"netsnmp-host\"\naddress = \"snmp://{snmpd}\"\nauth = \"{id}\"\n"
        ));
    };
    for (user, auth, privacy) in USERS {
        add(user, user, *auth, *privacy, &a);
    }
    add("wrong-key", "kw-sha-aes", Some("sha"), Some("aes"), &w);
    // Meter roles are not the point here: an "it" and a "facility" device keep the site valid.
    toml = toml.replacen(
        "auth = \"kw-noauth\"\n",
        "auth = \"kw-noauth\"\nrole = \"facility\"\n",
        1,
    );
    toml = toml.replacen(
        "auth = \"kw-md5\"\n",
        "auth = \"kw-md5\"\nrole = \"it\"\ncategory = 3\n",
        1,
    );
    let path = dir.join("v3.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load_with_env(&path, std::iter::empty()).unwrap_or_else(|p| panic!("{p:#?}"))
}

#[tokio::test]
async fn every_v3_security_level_reads_sysuptime_and_hrprocessorload() {
    let dir = tempfile::tempdir().unwrap();
    let config = inventory(dir.path());
    for mut task in DeviceTask::all(&config) {
        let id = task.plan.device.to_string();
        if id == "wrong-key" {
            continue;
        }
        let readings = task
            .driver
            .read(&task.plan.kind)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let (mut samples, mut problems) = (Vec::new(), Vec::new());
        decode(
            &task.plan,
            &readings,
            &mut RowSeries::default(),
            &mut samples,
            &mut problems,
        );
        assert!(problems.is_empty(), "{id}: {problems:?}");
        let uptime = samples
            .iter()
            .find(|s| s.field == Field::UptimeS)
            .unwrap_or_else(|| panic!("{id}: no uptime"));
        assert!(uptime.value > 0.0, "{id}");
        let cpus = samples
            .iter()
            .filter(|s| s.field == Field::CpuUtilPct && s.series.tag("point").is_some())
            .count();
        assert!(cpus >= 1, "{id}: no hrProcessorLoad rows");
    }
}

#[tokio::test]
async fn a_wrong_key_is_an_authentication_error_for_that_device_not_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = inventory(dir.path());
    let tasks: Vec<DeviceTask> = DeviceTask::all(&config)
        .into_iter()
        .filter(|t| &*t.plan.device == "wrong-key")
        .collect();
    assert_eq!(tasks.len(), 1);
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let cancel = CancellationToken::new();
    let schedule = Schedule {
        max_concurrent_polls: 4,
        clock: Clock::System,
        backfill: None,
    };
    let run = tokio::spawn(schedule::run(tasks, schedule, tx, cancel.clone()));
    let started = std::time::Instant::now();
    let batch = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap()
        .unwrap();
    cancel.cancel();
    run.await.unwrap();
    assert_eq!(&*batch.device, "wrong-key");
    let err = batch.poll.error().unwrap_or_default();
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
    assert!(
        !err.contains("not-the-key") && !err.contains("kwprivpass1"),
        "{err}"
    );
    // Well inside the 10 s interval plus 2 s timeout: the agent answered, we did not wait it out.
    assert!(started.elapsed() < Duration::from_secs(13));
}
