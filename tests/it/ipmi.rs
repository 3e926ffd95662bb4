//! Issue 19 part 2: IPMI over LAN against OpenIPMI's `ipmi_sim`, which `scripts/test` starts with
//! `tests/data/ipmi` (a BMC whose SDR has power and temperature sensors with non-trivial
//! linearisation). Every expected value comes from `ipmitool`, run here against the same BMC.
//!
//! `ipmi_sim` offers RMCP+ cipher suites up to 3 (no SHA-256 suite 17) and answers no DCMI
//! command: for both, the test asks ipmitool first and holds us to what it found (a refusal
//! today). Suite 17's cryptography and the DCMI reply layout are unit-tested in
//! `collector/src/ipmi`.
#![cfg(feature = "peers")]

use std::process::{Command, Output};

use kilowatch_collector::Driver;
use kilowatch_collector::decode::{RowSeries, decode};
use kilowatch_collector::schedule::DeviceTask;
use kilowatch_core::config::Config;
use kilowatch_core::model::Field;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

/// ipmitool over RMCP+ as the test user, password from the environment (`-E`).
fn ipmitool(suite: &str, args: &[&str]) -> Output {
    let addr = env("KILOWATCH_TEST_IPMI");
    let (host, port) = addr.rsplit_once(':').unwrap();
    Command::new("ipmitool")
        .args(["-I", "lanplus", "-H", host, "-p", port, "-U"])
        .arg(env("KILOWATCH_TEST_IPMI_USER"))
        .args(["-E", "-L", "USER", "-C", suite, "-N", "2", "-R", "2"])
        .args(args)
        .env("IPMI_PASSWORD", env("KILOWATCH_TEST_IPMI_PASS"))
        .output()
        .unwrap()
}

/// `ipmitool -c sdr`: each sensor's name and value ("Inlet Temp,25.500,degrees C,ok").
fn ipmitool_sdr(suite: &str) -> Result<Vec<(String, f64)>, String> {
    let out = ipmitool(suite, &["-c", "sdr"]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(',');
            let name = parts.next()?.trim().to_owned();
            let value = parts.next()?.trim().parse().ok()?;
            Some((name, value))
        })
        .collect())
}

fn probe(suite: &str, password_var: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .arg("probe")
        .arg(format!(
            "ipmi://{}@{}",
            env("KILOWATCH_TEST_IPMI_USER"),
            env("KILOWATCH_TEST_IPMI")
        ))
        .args(["--password", &format!("env:{password_var}")])
        .args(["--cipher-suite", suite, "--json", "--timeout", "3s"])
        .env("KILOWATCH_TEST_IPMI_WRONG_PASS", "not-the-password-42")
        .env_remove("KILOWATCH_LOG")
        .output()
        .unwrap()
}

/// A row `probe --json` printed: field, point, value, source.
type Row = (String, Option<String>, f64, String);

fn rows(out: &Output) -> Vec<Row> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    json.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap().to_owned(),
                r["tags"]["point"].as_str().map(str::to_owned),
                r["value"].as_f64().unwrap(),
                r["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// DCMI power as ipmitool reads it: `Some(watts)`, or `None` when the BMC refuses DCMI.
fn ipmitool_dcmi_watts(suite: &str) -> Option<f64> {
    let out = ipmitool(suite, &["dcmi", "power", "reading"]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("Instantaneous power reading"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn issue_19_probe_reads_each_sensor_as_ipmitool_does() {
    let sdr = ipmitool_sdr("3").unwrap_or_else(|e| panic!("ipmitool -C 3 sdr: {e}"));
    let out = probe("3", "KILOWATCH_TEST_IPMI_PASS");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got = rows(&out);
    let dcmi = ipmitool_dcmi_watts("3");
    // What the ipmi-dcmi profile selects from this SDR, by sensor name. Exhaust Temp is read by
    // ipmitool but by no rule.
    let mut expect: Vec<(&str, &str, Option<&str>)> = vec![
        ("Inlet Temp", "inlet_temp_c", Some("inlet")),
        ("PS1 Input Power", "power_w", Some("psu1")),
        ("PS2 Input Power", "power_w", Some("psu2")),
    ];
    match dcmi {
        // Without DCMI the system power sensor gives the server's power, and the refusal is no
        // warning: nothing is missing.
        None => {
            expect.push(("Sys Power", "power_w", None));
            assert!(!got.iter().any(|r| r.3.starts_with("dcmi")), "{got:?}");
            assert!(!stderr.contains("warning"), "{stderr}");
        }
        Some(watts) => {
            let row = got
                .iter()
                .find(|r| r.3.starts_with("dcmi power reading"))
                .unwrap_or_else(|| panic!("no DCMI row in {got:?}"));
            assert_eq!((row.0.as_str(), row.1.as_deref()), ("power_w", None));
            assert_eq!(row.2, watts);
        }
    }
    for (name, field, point) in &expect {
        let want = sdr
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("ipmitool shows no '{name}': {sdr:?}"))
            .1;
        let row = got
            .iter()
            .find(|r| r.3.starts_with(&format!("sensor '{name}' #")))
            .unwrap_or_else(|| panic!("probe read no '{name}': {got:?}"));
        assert_eq!(
            (row.0.as_str(), row.1.as_deref()),
            (*field, *point),
            "{name}"
        );
        // ipmitool prints three decimals.
        assert!(
            (row.2 - want).abs() < 0.0005,
            "{name}: {} vs ipmitool {want}",
            row.2
        );
    }
    assert_eq!(
        got.len(),
        expect.len() + usize::from(dcmi.is_some()),
        "{got:?}"
    );
}

#[test]
fn issue_19_a_wrong_password_names_the_device_and_shows_no_password() {
    // ipmitool agrees the password is wrong.
    let addr = env("KILOWATCH_TEST_IPMI");
    let out = probe("3", "KILOWATCH_TEST_IPMI_WRONG_PASS");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains(&format!("device ipmi {addr}")), "{text}");
    assert!(text.contains("wrong password"), "{text}");
    for secret in ["not-the-password-42", &env("KILOWATCH_TEST_IPMI_PASS")] {
        assert!(!text.contains(secret), "a password in the output: {text}");
    }
}

#[test]
fn issue_19_cipher_suite_17_is_used_when_the_bmc_offers_it_and_refused_by_name_otherwise() {
    let out = probe("17", "KILOWATCH_TEST_IPMI_PASS");
    let text = String::from_utf8_lossy(&out.stderr);
    match ipmitool_sdr("17") {
        Ok(sdr) => {
            assert!(
                out.status.success(),
                "ipmitool reads suite 17, we did not: {text}"
            );
            let got = rows(&out);
            let inlet = sdr.iter().find(|(n, _)| n == "Inlet Temp").unwrap().1;
            assert!(got.iter().any(|r| (r.2 - inlet).abs() < 0.0005), "{got:?}");
        }
        Err(_) => {
            assert!(
                !out.status.success(),
                "ipmitool cannot use suite 17, yet we did"
            );
            assert!(
                text.contains("cipher suite 17 refused by the BMC"),
                "{text}"
            );
        }
    }
}

/// The inventory `collect` reads: one BMC, its auth's password from the environment.
fn inventory(dir: &std::path::Path) -> Config {
    let toml = format!(
        r#"
[auths.bmc]
version = "ipmi"
user = "{user}"
password = "env:KILOWATCH_TEST_IPMI_PASS"
cipher_suite = 3

[[sites]]
id = "lab"

[[devices]]
id = "srv-1"
site = "lab"
profile = "ipmi-dcmi"
address = "ipmi://{addr}"
auth = "bmc"
timeout = "1s"
"#,
        user = env("KILOWATCH_TEST_IPMI_USER"),
        addr = env("KILOWATCH_TEST_IPMI"),
    );
    let path = dir.join("ipmi.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load_with_env(&path, std::iter::empty()).unwrap_or_else(|p| panic!("{p:#?}"))
}

#[tokio::test]
async fn issue_19_collect_keeps_its_session_and_opens_a_new_one_when_the_bmc_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = inventory(dir.path());
    let mut task = DeviceTask::all(&config).into_iter().next().unwrap();
    let inlet = ipmitool_sdr("3")
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "Inlet Temp")
        .unwrap()
        .1;
    let mut session = None;
    for poll in 0..3 {
        if poll == 2 {
            // The BMC forgets the session (as after its session timeout); we still hold it.
            let Driver::Ipmi(d) = &mut task.driver else {
                panic!("not an IPMI driver: {}", task.driver)
            };
            d.drop_session_on_bmc().await;
        }
        let readings = task
            .driver
            .read(&task.plan.kind)
            .await
            .unwrap_or_else(|e| panic!("poll {poll}: {e}"));
        let (mut samples, mut problems) = (Vec::new(), Vec::new());
        decode(
            &task.plan,
            &readings,
            &mut RowSeries::default(),
            &mut samples,
            &mut problems,
        );
        let got = samples
            .iter()
            .find(|s| s.field == Field::InletTempC && s.series.tag("point") == Some("inlet"))
            .unwrap_or_else(|| panic!("poll {poll}: no inlet temperature; {problems:?}"));
        assert!((got.value - inlet).abs() < 0.0005);
        let Driver::Ipmi(d) = &task.driver else {
            unreachable!()
        };
        let id = d.session_id();
        assert!(id.is_some());
        match poll {
            1 => assert_eq!(id, session, "a second poll opened another session"),
            2 => assert_ne!(id, session, "the dropped session was used again"),
            _ => {}
        }
        session = id;
    }
    task.driver.close().await;
}

/// The SDR of `tests/data/ipmi/bmc.emu` (its `main_sdr_add` records and `sensor_set_value`
/// readings), for the fake BMC to serve the same sensors as ipmi_sim.
fn emu_sdr() -> (Vec<Vec<u8>>, Vec<(u8, u8)>) {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ipmi/bmc.emu"),
    )
    .unwrap();
    let hex = |t: &str| u8::from_str_radix(t.trim_start_matches("0x"), 16).unwrap();
    let (mut records, mut readings) = (Vec::new(), Vec::new());
    let mut current: Option<Vec<u8>> = None;
    for line in src.lines() {
        let cont = line.trim_end().ends_with('\\');
        let body = line.trim_end().trim_end_matches('\\');
        if let Some(rec) = current.as_mut() {
            rec.extend(body.split_whitespace().map(hex));
        } else if let Some(rest) = body.strip_prefix("main_sdr_add 0x20") {
            current = Some(rest.split_whitespace().map(hex).collect());
        } else if let Some(rest) = body.strip_prefix("sensor_set_value 0x20 0 ") {
            let v: Vec<&str> = rest.split_whitespace().collect();
            readings.push((v[0].parse().unwrap(), hex(v[1])));
        }
        if !cont && let Some(rec) = current.take() {
            records.push(rec);
        }
    }
    (records, readings)
}

const FAKE_USER: &str = "kwfake";
const FAKE_PASS: &str = "fake-pass-17";

/// ipmitool against the fake BMC at `addr`.
fn ipmitool_fake(addr: &str, suite: &str, args: &[&str]) -> Output {
    let (host, port) = addr.rsplit_once(':').unwrap();
    Command::new("ipmitool")
        .args(["-I", "lanplus", "-H", host, "-p", port, "-U", FAKE_USER])
        .args(["-E", "-L", "USER", "-C", suite, "-N", "2", "-R", "1"])
        .args(args)
        .env("IPMI_PASSWORD", FAKE_PASS)
        .output()
        .unwrap()
}

/// Cipher suite 17 and DCMI, which ipmi_sim lacks, against the fake BMC of
/// `kilowatch_collector::ipmi::fake_bmc` serving bmc.emu's SDR and a DCMI reading. ipmitool reads
/// it first: its acceptance of the fake's RAKP proofs, keys, AuthCodes and AES payloads, and its
/// decoding of the DCMI reply, are the independent check; then `probe` must read what it read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_suite_17_and_dcmi_read_as_ipmitool_reads_them() {
    use kilowatch_collector::ipmi::fake_bmc::FakeBmc;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let (records, readings) = emu_sdr();
    assert_eq!(records.len(), 5);
    let bmc = FakeBmc {
        user: FAKE_USER.into(),
        password: FAKE_PASS.into(),
        records,
        readings,
        dcmi_w: Some([310, 12, 402, 287]),
    };
    let server = tokio::spawn(bmc.serve(socket));
    for suite in ["17", "3"] {
        let (a, s) = (addr.clone(), suite.to_owned());
        let (sdr, dcmi, ours, wrong) = tokio::task::spawn_blocking(move || {
            let sdr = ipmitool_fake(&a, &s, &["-c", "sdr"]);
            let dcmi = ipmitool_fake(&a, &s, &["dcmi", "power", "reading"]);
            let probe = |var: &str| {
                Command::new(env!("CARGO_BIN_EXE_kilowatch"))
                    .arg("probe")
                    .arg(format!("ipmi://{FAKE_USER}@{a}"))
                    .args(["--password", &format!("env:{var}"), "--cipher-suite", &s])
                    .args(["--json", "--timeout", "3s"])
                    .env("KW_FAKE_PASS", FAKE_PASS)
                    .env("KW_FAKE_WRONG", "wrong-pass-17")
                    .env_remove("KILOWATCH_LOG")
                    .output()
                    .unwrap()
            };
            (sdr, dcmi, probe("KW_FAKE_PASS"), probe("KW_FAKE_WRONG"))
        })
        .await
        .unwrap();
        let sdr_text = String::from_utf8_lossy(&sdr.stdout);
        assert!(
            sdr.status.success(),
            "suite {suite}: ipmitool sdr: {}{sdr_text}",
            String::from_utf8_lossy(&sdr.stderr)
        );
        let tool: Vec<(String, f64)> = sdr_text
            .lines()
            .filter_map(|l| {
                let mut p = l.split(',');
                Some((p.next()?.to_owned(), p.next()?.parse().ok()?))
            })
            .collect();
        let dcmi_text = String::from_utf8_lossy(&dcmi.stdout);
        let dcmi_w: f64 = dcmi_text
            .lines()
            .find(|l| l.contains("Instantaneous power reading"))
            .and_then(|l| l.split(':').nth(1)?.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("suite {suite}: ipmitool dcmi: {dcmi_text}"));
        assert!(
            ours.status.success(),
            "suite {suite}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let got = rows(&ours);
        let dcmi_row = got
            .iter()
            .find(|r| r.3.starts_with("dcmi power reading"))
            .unwrap_or_else(|| panic!("suite {suite}: no DCMI row: {got:?}"));
        assert_eq!(
            (dcmi_row.0.as_str(), dcmi_row.1.as_deref()),
            ("power_w", None)
        );
        assert_eq!(dcmi_row.2, dcmi_w, "suite {suite}");
        for (name, point) in [
            ("Inlet Temp", Some("inlet")),
            ("PS1 Input Power", Some("psu1")),
            ("PS2 Input Power", Some("psu2")),
        ] {
            let want = tool.iter().find(|(n, _)| n == name).unwrap().1;
            let row = got
                .iter()
                .find(|r| r.3.starts_with(&format!("sensor '{name}' #")))
                .unwrap_or_else(|| panic!("suite {suite}: no '{name}' in {got:?}"));
            assert_eq!(row.1.as_deref(), point);
            assert!((row.2 - want).abs() < 0.0005, "suite {suite} {name}");
        }
        // DCMI gave the server's power_w, so the system power sensor does not.
        assert!(!got.iter().any(|r| r.3.contains("Sys Power")), "{got:?}");
        let err = String::from_utf8_lossy(&wrong.stderr);
        assert!(!wrong.status.success());
        assert!(
            err.contains(&format!("device ipmi {addr}")) && err.contains("wrong password"),
            "{err}"
        );
        assert!(
            !err.contains("wrong-pass-17") && !err.contains(FAKE_PASS),
            "{err}"
        );
    }
    server.abort();
}

/// A "BMC" that answers every packet with a garbled one (an RMCP header, then too few bytes):
/// probe fails with a typed error naming the device, and does not panic or hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_a_garbled_reply_is_a_malformed_response_error_naming_the_device() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((_, from)) = socket.recv_from(&mut buf).await {
            let _ = socket
                .send_to(&[0x06, 0x00, 0xff, 0x07, 0x00, 0x00, 0x00], from)
                .await;
        }
    });
    let a = addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .arg("probe")
            .arg(format!("ipmi://someone@{a}"))
            .args(["--password", "env:KW_GARBLE_PASS", "--timeout", "2s"])
            .env("KW_GARBLE_PASS", "garble-pass")
            .env_remove("KILOWATCH_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.abort();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "device ipmi {addr}: malformed response: IPMI 1.5 packet"
        )),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("garble-pass"),
        "{err}"
    );
}
