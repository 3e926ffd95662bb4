//! Issue 19: server power from the BMC over Redfish. `probe` against sushy-tools serving DMTF's
//! public mockups (tests/data/redfish), over HTTP, over HTTPS with the certificate trusted three
//! ways, and behind a password; and against hostile BMCs (an HTML error page, JSON cut short, a
//! session that expires, a BMC that hangs). Expected values are read from the mockup files
//! here, by the schema (DSP0268), not from our output.
#![cfg(feature = "peers")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

fn probe(url: &str, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    probe_within("10s", url, extra, envs)
}

fn probe_within(timeout: &str, url: &str, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", url, "--json", "--timeout", timeout])
        .args(extra)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

/// (field, point) → value, from `probe --json`.
fn rows(out: &Output) -> BTreeMap<(String, String), f64> {
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| {
            let point = r["tags"]["point"].as_str().unwrap_or("").to_owned();
            (
                (r["field"].as_str().unwrap().to_owned(), point),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- the mockups, read by schema

struct Mockup(PathBuf);

impl Mockup {
    /// The resource at a service path (`/redfish/v1/Chassis/1U`), as sushy-static serves it.
    fn get(&self, path: &str) -> Option<Value> {
        let rel = path
            .split('#')
            .next()?
            .trim_start_matches("/redfish/v1")
            .trim_matches('/');
        let text = std::fs::read(self.0.join(rel).join("index.json")).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn link(&self, doc: &Value, prop: &str) -> Option<Value> {
        self.get(doc.get(prop)?.get("@odata.id")?.as_str()?)
    }

    fn members(&self, doc: &Value) -> Vec<(String, Value)> {
        doc["Members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let path = m["@odata.id"].as_str()?;
                let id = path.trim_end_matches('/').rsplit('/').next()?.to_owned();
                Some((id, self.get(path)?))
            })
            .collect()
    }
}

fn reading(v: Option<&Value>) -> Option<f64> {
    v?.as_f64()
}

fn enabled(v: &Value) -> bool {
    !matches!(
        v.pointer("/Status/State").and_then(Value::as_str),
        Some("Absent" | "Disabled" | "UnavailableOffline" | "StandbyOffline")
    )
}

/// What DSP0268 says each chassis and system reports: (owner, field, point, value). The newer
/// resources (EnvironmentMetrics, PowerSubsystem, ThermalSubsystem) stand for the legacy ones
/// (Power, Thermal) when they have the value.
fn expected(m: &Mockup) -> Vec<(String, &'static str, String, f64)> {
    let root = m.get("/redfish/v1").expect("service root");
    let mut out = Vec::new();
    let chassis = m
        .link(&root, "Chassis")
        .map(|c| m.members(&c))
        .unwrap_or_default();
    for (id, c) in &chassis {
        let env = m.link(c, "EnvironmentMetrics");
        let legacy = m.link(c, "Power");
        let power =
            reading(env.as_ref().and_then(|e| e.pointer("/PowerWatts/Reading"))).or_else(|| {
                reading(
                    legacy
                        .as_ref()
                        .and_then(|p| p.pointer("/PowerControl/0/PowerConsumedWatts")),
                )
            });
        if let Some(w) = power {
            out.push((id.clone(), "power_w", String::new(), w));
        }
        if let Some(e) = reading(env.as_ref().and_then(|e| e.pointer("/EnergykWh/Reading"))) {
            out.push((id.clone(), "energy_kwh", String::new(), e));
        }
        // Power supplies: input power, voltage and energy.
        let psus = m
            .link(c, "PowerSubsystem")
            .and_then(|s| m.link(&s, "PowerSupplies"))
            .map(|s| m.members(&s))
            .unwrap_or_default();
        let mut new_psu = BTreeMap::new();
        for (psu, doc) in psus.iter().filter(|(_, d)| enabled(d)) {
            if let Some(metrics) = m.link(doc, "Metrics") {
                for (field, ptr) in [
                    ("power_w", "/InputPowerWatts/Reading"),
                    ("voltage_v", "/InputVoltage/Reading"),
                    ("energy_kwh", "/EnergykWh/Reading"),
                ] {
                    if let Some(v) = reading(metrics.pointer(ptr)) {
                        new_psu.insert((field, format!("psu{psu}")), v);
                    }
                }
            }
        }
        for field in ["power_w", "voltage_v"] {
            let mine: Vec<_> = new_psu.iter().filter(|((f, _), _)| *f == field).collect();
            if !mine.is_empty() {
                for ((f, p), v) in mine {
                    out.push((id.clone(), f, p.clone(), *v));
                }
                continue;
            }
            let prop = if field == "power_w" {
                "PowerInputWatts"
            } else {
                "LineInputVoltage"
            };
            for (i, s) in legacy
                .as_ref()
                .and_then(|p| p["PowerSupplies"].as_array())
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, s)| enabled(s))
            {
                if let Some(v) = reading(s.get(prop)) {
                    let row = s["MemberId"].as_str().map_or(i.to_string(), str::to_owned);
                    out.push((id.clone(), field, format!("psu{row}"), v));
                }
            }
        }
        for ((f, p), v) in new_psu.iter().filter(|((f, _), _)| *f == "energy_kwh") {
            out.push((id.clone(), f, p.clone(), *v));
        }
        // Inlet and exhaust air.
        let metrics = m
            .link(c, "ThermalSubsystem")
            .and_then(|t| m.link(&t, "ThermalMetrics"));
        let thermal = m.link(c, "Thermal");
        // The schema states where the air is measured: Intake is rack-inlet air, Exhaust outlet.
        for (context, point, field) in [
            ("Intake", "inlet", "inlet_temp_c"),
            ("Exhaust", "exhaust", "outlet_temp_c"),
        ] {
            let summary =
                reading(metrics.as_ref().and_then(|t| {
                    t.pointer(&format!("/TemperatureSummaryCelsius/{context}/Reading"))
                }));
            if let Some(t) = summary {
                out.push((id.clone(), field, point.to_owned(), t));
                continue;
            }
            let rows: Vec<(String, f64)> = thermal
                .as_ref()
                .and_then(|t| t["Temperatures"].as_array())
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, t)| enabled(t) && t["PhysicalContext"] == context)
                .filter_map(|(i, t)| {
                    let row = t["MemberId"].as_str().map_or(i.to_string(), str::to_owned);
                    Some((row, reading(t.get("ReadingCelsius"))?))
                })
                .collect();
            let several = rows.len() > 1;
            for (row, t) in rows {
                let p = if several {
                    format!("{point}{row}")
                } else {
                    point.to_owned()
                };
                out.push((id.clone(), field, p, t));
            }
        }
    }
    let systems = m
        .link(&root, "Systems")
        .map(|s| m.members(&s))
        .unwrap_or_default();
    for (id, s) in &systems {
        let cpu = s
            .pointer("/ProcessorSummary/Metrics/@odata.id")
            .and_then(Value::as_str)
            .and_then(|p| m.get(p))
            .and_then(|p| reading(p.get("BandwidthPercent")));
        if let Some(u) = cpu {
            out.push((id.clone(), "cpu_util_pct", String::new(), u));
        }
    }
    out
}

/// The expectations keyed as `probe` tags them: a field and point that several owners give
/// carries the owner's id.
fn keyed(exp: &[(String, &'static str, String, f64)]) -> BTreeMap<(String, String), f64> {
    let mut owners: BTreeMap<(&str, &str), std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (o, f, p, _) in exp {
        owners
            .entry((f, p.as_str()))
            .or_default()
            .insert(o.as_str());
    }
    exp.iter()
        .map(|(o, f, p, v)| {
            let several = owners[&(*f, p.as_str())].len() > 1;
            let point = match (several, p.is_empty()) {
                (false, _) => p.clone(),
                (true, true) => o.clone(),
                (true, false) => format!("{o}/{p}"),
            };
            (((*f).to_owned(), point), *v)
        })
        .collect()
}

fn mockups() -> Vec<(String, String)> {
    env("KILOWATCH_TEST_REDFISH_MOCKUPS")
        .split_whitespace()
        .filter_map(|s| s.split_once('='))
        .map(|(n, a)| (n.to_owned(), a.to_owned()))
        .collect()
}

fn mockup_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/redfish")
        .join(name)
}

/// The measure-only mockups (`split.py`): nobody looked at them while writing the profile.
const MEASURE: &[&str] = &[
    "public-acd",
    "public-bladed",
    "public-localstorage",
    "public-telemetry",
];

#[test]
fn issue_19_probe_prints_the_power_energy_and_temperatures_each_mockup_holds() {
    let all = mockups();
    assert!(all.len() >= 8, "expected every mockup served: {all:?}");
    let mut report = Vec::new();
    let (mut hit, mut total, mut mhit, mut mtotal) = (0, 0, 0, 0);
    let mut legacy_only = 0;
    let mut newer = 0;
    for (name, addr) in &all {
        let m = Mockup(mockup_dir(name));
        let exp = keyed(&expected(&m));
        if m.0.join("Chassis").read_dir().is_ok_and(|mut d| {
            d.any(|c| c.is_ok_and(|c| c.path().join("EnvironmentMetrics").exists()))
        }) {
            newer += 1;
        } else if !exp.is_empty() {
            legacy_only += 1;
        }
        let got = rows(&probe(&format!("redfish+http://{addr}"), &[], &[]));
        let mut found = 0;
        for (k, v) in &exp {
            match got.get(k) {
                Some(g) if (g - v).abs() < 1e-9 => found += 1,
                other => report.push(format!("{name}: {k:?} expected {v}, probe gave {other:?}")),
            }
        }
        // Nothing the schema does not say: every power or temperature printed is expected.
        for (k, v) in &got {
            if !exp.contains_key(k) {
                report.push(format!(
                    "{name}: probe printed {k:?} = {v}, not in the mockup"
                ));
            }
        }
        hit += found;
        total += exp.len();
        if MEASURE.contains(&name.as_str()) {
            mhit += found;
            mtotal += exp.len();
        }
        if !MEASURE.contains(&name.as_str()) {
            assert!(
                exp.keys().any(|(f, _)| f == "power_w"),
                "{name}: this mockup holds a chassis power reading"
            );
        }
    }
    eprintln!(
        "redfish mockups: {hit}/{total} values right overall, {mhit}/{mtotal} on the measure-only set"
    );
    assert!(
        newer >= 1 && legacy_only >= 1,
        "need both forms: {newer} newer, {legacy_only} legacy-only"
    );
    assert!(report.is_empty(), "{}", report.join("\n"));
}

// ---------------------------------------------------------------------------- TLS and auth

#[test]
fn issue_19_an_untrusted_certificate_is_a_tls_error_naming_the_device() {
    let addr = env("KILOWATCH_TEST_REDFISH_TLS");
    let out = probe(&format!("redfish://{addr}"), &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("device redfish https://{addr}")) && stderr.contains("TLS"),
        "{stderr}"
    );
    // A wrong pin is refused too.
    let wrong = "00".repeat(32);
    let out = probe(
        &format!("redfish://kw@{addr}"),
        &[
            "--password",
            "env:KW_RF_PASS",
            "--basic",
            "--pin-sha256",
            &wrong,
        ],
        &[("KW_RF_PASS", "unused")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the pinned one"));
}

#[test]
fn issue_19_the_bmcs_own_ca_or_a_pinned_certificate_is_trusted() {
    let addr = env("KILOWATCH_TEST_REDFISH_TLS");
    let m = Mockup(mockup_dir("public-rackmount1"));
    let want = keyed(&expected(&m))[&("power_w".to_owned(), String::new())];
    for trust in [
        vec!["--ca-file".to_owned(), env("KILOWATCH_TEST_REDFISH_TLS_CA")],
        vec![
            "--pin-sha256".to_owned(),
            env("KILOWATCH_TEST_REDFISH_TLS_PIN"),
        ],
        vec!["--insecure".to_owned()],
    ] {
        let mut args = vec!["--password", "env:KW_RF_PASS", "--basic"];
        args.extend(trust.iter().map(String::as_str));
        let got = rows(&probe(
            &format!("redfish://kw@{addr}"),
            &args,
            &[("KW_RF_PASS", "x")],
        ));
        assert_eq!(
            got[&("power_w".to_owned(), String::new())],
            want,
            "{trust:?}"
        );
    }
}

#[test]
fn issue_19_a_wrong_password_is_an_error_naming_the_device_and_not_the_password() {
    let addr = env("KILOWATCH_TEST_REDFISH_AUTH");
    let user = env("KILOWATCH_TEST_REDFISH_USER");
    let url = format!("redfish+http://{user}@{addr}");
    let wrong = "not-the-password-42";
    for mode in [&[][..], &["--basic"][..]] {
        let mut args = vec!["--password", "env:KW_RF_PASS"];
        args.extend_from_slice(mode);
        let out = probe(&url, &args, &[("KW_RF_PASS", wrong)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode:?}: {stderr}");
        assert!(
            stderr.contains(&format!("device redfish http://{addr}"))
                && stderr.contains("wrong user or password"),
            "{mode:?}: {stderr}"
        );
        assert!(!stderr.contains(wrong), "the password leaked: {stderr}");
    }
    // The right one opens it, with or without a session (sushy-emulator has none: Basic).
    let right = env("KILOWATCH_TEST_REDFISH_PASS");
    for mode in [&[][..], &["--basic"][..]] {
        let mut args = vec!["--password", "env:KW_RF_PASS"];
        args.extend_from_slice(mode);
        let got = rows(&probe(&url, &args, &[("KW_RF_PASS", &right)]));
        // sushy-emulator's Thermal template: "Chassis Intake Temp", PhysicalContext Intake, 25.
        assert_eq!(
            got.get(&("inlet_temp_c".to_owned(), "inlet".to_owned())),
            Some(&25.0),
            "{got:?}"
        );
    }
}

// ------------------------------------------------------------------------------ hostile BMCs

/// How a hand-made BMC misbehaves. (A real BMC's faults, which no emulator reproduces.)
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Its web server answers the power resource with a login page (200, HTML).
    Html,
    /// The power resource's JSON stops half-way.
    Truncated,
    /// A session lasts three requests; then 401 until the client logs in again.
    ExpiringSession,
    /// Accepts connections and never answers.
    Hang,
}

struct Bmc {
    addr: String,
    logins: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// A one-chassis Redfish service on a free port, serving one connection at a time and closing
/// each after its answer.
fn hostile_bmc(fault: Fault) -> Bmc {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let logins = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    std::thread::spawn(move || {
        let mut uses = 0;
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            if fault == Fault::Hang {
                held.push(conn); // never answered, never closed
                continue;
            }
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line);
            }
            let Some(first) = head.first() else { continue };
            let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
            let header = |name: &str| {
                head.iter().find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            };
            let len: usize = header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let token = format!("tok{}", counter.load(Ordering::SeqCst));
            let (status, ctype, extra, text) = if first.starts_with("POST") {
                counter.fetch_add(1, Ordering::SeqCst);
                uses = 0;
                let t = format!("tok{}", counter.load(Ordering::SeqCst));
                (
                    "201 Created",
                    "application/json",
                    format!("X-Auth-Token: {t}\r\n"),
                    "{}".to_owned(),
                )
            } else if fault == Fault::ExpiringSession
                && (header("x-auth-token") != Some(token) || {
                    uses += 1;
                    uses > 3
                })
            {
                (
                    "401 Unauthorized",
                    "application/json",
                    String::new(),
                    "{}".to_owned(),
                )
            } else {
                match path.trim_end_matches('/') {
                    "/redfish/v1" => ("200 OK", "application/json", String::new(), r#"{"Chassis":{"@odata.id":"/redfish/v1/Chassis"},"Links":{"Sessions":{"@odata.id":"/redfish/v1/SessionService/Sessions"}}}"#.to_owned()),
                    "/redfish/v1/Chassis" => ("200 OK", "application/json", String::new(), r#"{"Members":[{"@odata.id":"/redfish/v1/Chassis/1"}]}"#.to_owned()),
                    "/redfish/v1/Chassis/1" => ("200 OK", "application/json", String::new(), r#"{"Id":"1","EnvironmentMetrics":{"@odata.id":"/redfish/v1/Chassis/1/EnvironmentMetrics"}}"#.to_owned()),
                    "/redfish/v1/Chassis/1/EnvironmentMetrics" => match fault {
                        Fault::Html => ("200 OK", "text/html", String::new(), "<!DOCTYPE html><html><head><title>iDRAC Login</title></head><body>Please log in</body></html>".to_owned()),
                        Fault::Truncated => ("200 OK", "application/json", String::new(), TRUNCATED.to_owned()),
                        _ => ("200 OK", "application/json", String::new(), r#"{"PowerWatts":{"Reading":412.5}}"#.to_owned()),
                    },
                    _ => ("404 Not Found", "application/json", String::new(), "{}".to_owned()),
                }
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Bmc { addr, logins }
}

/// A power resource cut off mid-number.
const TRUNCATED: &str = r#"{"PowerWatts":{"Reading":41"#;

fn probe_bmc(bmc: &Bmc, timeout: &str) -> Output {
    probe_within(
        timeout,
        &format!("redfish+http://kw@{}", bmc.addr),
        &["--password", "env:KW_RF_PASS"],
        &[("KW_RF_PASS", "s3cret-bmc-pass")],
    )
}

#[test]
fn issue_19_hostile_answers_are_errors_naming_the_device() {
    let cut = format!("JSON cut short after {} bytes", TRUNCATED.len());
    for (fault, says) in [
        (
            Fault::Html,
            "not a Redfish JSON answer: an HTML page ('iDRAC Login')",
        ),
        (Fault::Truncated, cut.as_str()),
        (Fault::Hang, "timed out after 1s"),
    ] {
        let bmc = hostile_bmc(fault);
        let out = probe_bmc(&bmc, "1s");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("device redfish http://{}", bmc.addr))
                && stderr.contains(says),
            "expected '{says}': {stderr}"
        );
        assert!(!stderr.contains("s3cret-bmc-pass") && !stderr.contains("panicked"));
    }
}

#[test]
fn issue_19_an_expired_session_is_renewed_and_the_poll_goes_on() {
    let bmc = hostile_bmc(Fault::ExpiringSession);
    let got = rows(&probe_bmc(&bmc, "5s"));
    assert_eq!(got[&("power_w".to_owned(), String::new())], 412.5);
    let logins = bmc.logins.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        logins >= 2,
        "the session expired mid-way, so it took a second login: {logins}"
    );
}

// ------------------------------------------------------------------- the simulated estate

/// `demo --servers redfish`: the simulated servers answer only over Redfish (sessions, GET), the
/// collector polls them into the store, and the consolidation report reads their power from the
/// BMCs and finds the same comatose server the SNMP demo does (sim/src/physics.rs plants it).
#[test]
fn issue_19_a_site_whose_servers_speak_only_redfish_is_planned_from_bmc_power() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "demo",
            "--headless",
            // Redfish polls keep the 2 s interval; the first line needs two of them after the
            // week's history, which under a loaded CI took more than 8 s once.
            "--duration",
            "20s",
            "--speed",
            "3600",
            "--servers",
            "redfish",
            "--data",
            data,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no line printed; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let last: Value = serde_json::from_str(last).unwrap();
    assert_eq!(last["devices_up"], last["devices_total"], "{last}");
    let config = dir.path().join("demo.toml");
    let inv = std::fs::read_to_string(&config).unwrap();
    assert!(inv.contains("address = \"redfish+http://") && inv.contains("version = \"redfish\""));
    let to = kilowatch_core::timefmt::format_rfc3339(last["ts"].as_i64().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "report",
            "consolidation",
            "--format",
            "json",
            "--from",
            "5h",
            "--to",
            &to,
        ])
        .args(["--data", data])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let servers = r["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 10, "{servers:?}");
    for s in servers {
        let id = s["device"].as_str().unwrap();
        assert_eq!(
            s["power_source"],
            format!("measured: BMC Redfish ({id})").as_str(),
            "{s}"
        );
        assert!(s["mean_w"].as_f64().unwrap() > 50.0, "{s}");
    }
    // The planted comatose server is found from BMC power and CPU alone. A BMC has no network
    // counters, so a server merely quiet in the night hours of this short window may be listed
    // too: each finding must then say it had no network counters and asks for a longer window.
    let idle = r["idle_servers"].as_array().unwrap();
    assert!(idle.iter().any(|i| i["device"] == "srv-r01-05"), "{idle:?}");
    for i in idle {
        let why = i["reason"].as_str().unwrap();
        assert!(
            why.contains("no network counters") && why.contains("confirm over a longer window"),
            "{why}"
        );
        assert!(why.contains("BMC Redfish"), "{why}");
    }
}
