//! Issue 10: no secret (SNMP community, v3 keys, InfluxDB password) appears in any log line,
//! error, report, stored file or `/metrics` output, while things go wrong: InfluxDB is away, an
//! agent never answers, an agent refuses our community, logging is at its most verbose.

use crate::common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const COMMUNITY: &str = "kw-c0mmunity-7Qx";
const WRONG_COMMUNITY: &str = "kw-wr0ng-c0mm-7Qx";
const V3_AUTH: &str = "kw-v3-auth-7Qx";
const V3_PRIV: &str = "kw-v3-priv-7Qx";
const INFLUX_PASSWORD: &str = "kw-influx-pass-7Qx";
const SECRETS: [&str; 5] = [
    COMMUNITY,
    WRONG_COMMUNITY,
    V3_AUTH,
    V3_PRIV,
    INFLUX_PASSWORD,
];

fn assert_clean(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows a secret:\n{text}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn no_secret_leaks_under_faults() {
    let dir = tempfile::tempdir().unwrap();
    let bin = common::process::BIN;
    let sim_config = dir.path().join("sim.toml");
    std::fs::write(&sim_config, format!("community = \"{COMMUNITY}\"\n")).unwrap();
    let inv = dir.path().join("inv.toml");
    let (sim, text) = common::process::sim(
        &["sim", "--config", sim_config.to_str().unwrap()],
        &inv,
        "300ms",
    );
    // An agent that never answers, read with SNMPv3 keys; and a real agent asked with the
    // wrong community.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut text = text.replace("timeout = \"2s\"", "timeout = \"200ms\"");
    let first_snmp = text
        .lines()
        .find_map(|l| l.strip_prefix("address = \"snmp://"))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let wrong = dir.path().join("wrong-community");
    kilowatch_core::secret::write_private(&wrong, WRONG_COMMUNITY).unwrap();
    text.push_str(&format!(
        "\n[auths.v3]\nversion = \"v3\"\nuser = \"kwuser\"\nauth_protocol = \"sha\"\nauth_key = \"env:KW_V3_AUTH\"\npriv_protocol = \"aes\"\npriv_key = \"env:KW_V3_PRIV\"\n\n[auths.wrong]\nversion = \"v2c\"\ncommunity = \"file:{}\"\n\n[[devices]]\nid = \"v3-silent\"\nsite = \"sim\"\nprofile = \"rfc1628-ups\"\naddress = \"snmp://{}\"\nauth = \"v3\"\n\n[[devices]]\nid = \"wrong-community\"\nsite = \"sim\"\nprofile = \"rfc1628-ups\"\naddress = \"snmp://{first_snmp}\"\nauth = \"wrong\"\n",
        wrong.display(),
        silent.local_addr().unwrap(),
    ));
    std::fs::write(&inv, text).unwrap();

    let data = dir.path().join("data");
    let metrics_port = free_port();
    // A dead InfluxDB off 127.0.0.1, so no parallel test's server can take its port meanwhile.
    let dead = std::net::TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let influx = format!("http://kw@{dead}?db=kilowatch");
    let env = [
        ("KILOWATCH_SIM_COMMUNITY", COMMUNITY),
        ("KW_V3_AUTH", V3_AUTH),
        ("KW_V3_PRIV", V3_PRIV),
        ("KILOWATCH_INFLUX_PASSWORD", INFLUX_PASSWORD),
        ("KILOWATCH_LOG", "trace"),
    ];
    let collect = Command::new(bin)
        .args(["collect", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .args(["--influx", &influx, "--metrics-listen"])
        .arg(format!("127.0.0.1:{metrics_port}"))
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let mut metrics = String::new();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    conn.read_to_string(&mut metrics).unwrap();
    assert!(metrics.contains("200 OK"), "{metrics}");
    assert_clean("/metrics", metrics.as_bytes());
    common::process::kill(collect.id(), "TERM");
    let out = collect.wait_with_output().unwrap();
    drop(sim);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    // The faults happened and were logged (so the check below looked at real error paths).
    assert!(
        log.contains("v3-silent") && log.contains("wrong-community"),
        "{log}"
    );
    assert!(log.contains("InfluxDB") || log.contains("influx"), "{log}");
    assert_clean("collect stdout", &out.stdout);
    assert_clean("collect log", log.as_bytes());

    // Every report and every file the collector left behind.
    for (kind, format) in [
        ("pue", "json"),
        ("pue", "md"),
        ("capacity", "json"),
        ("consolidation", "json"),
        ("consolidation", "html"),
    ] {
        let out = Command::new(bin)
            .args([
                "report", kind, "--format", format, "--from", "1h", "--config",
            ])
            .arg(&inv)
            .arg("--data")
            .arg(&data)
            .envs(env)
            .output()
            .unwrap();
        assert_clean(&format!("report {kind} {format}"), &out.stdout);
        assert_clean(&format!("report {kind} {format} errors"), &out.stderr);
    }
    let out = Command::new(bin)
        .args(["pue", "--from", "1h", "--influx", &influx, "--config"])
        .arg(&inv)
        .envs(env)
        .output()
        .unwrap();
    assert!(!out.status.success(), "InfluxDB is away");
    assert_clean("pue --influx error", &out.stderr);
    let out = Command::new(bin)
        .args([
            "probe",
            &format!("snmp://{WRONG_COMMUNITY}@{first_snmp}"),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a wrong community reads nothing");
    assert_clean("probe with a wrong community", &out.stderr);
    assert_clean("probe output", &out.stdout);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_clean(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
}
