//! `kilowatch probe URL`: read one device once with its profile and print what it reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use kilowatch_collector::Driver;
use kilowatch_collector::decode::{Readings, RowSeries, decode_traced};
use kilowatch_collector::plan::{Plan, PlanKind};
use kilowatch_core::address::{Address, Credential};
use kilowatch_core::config::Device;
use kilowatch_core::profile::ProfileSet;
use kilowatch_core::secret::Secret;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `snmp://community@host:port`, `snmpv3://user@host:port`, `modbus://host:port/unit`, or
    /// a BMC's `redfish://user@host[:port]` (HTTPS; `redfish+http://` for an emulator) or
    /// `ipmi://user@host:port` (IPMI 2.0 RMCP+).
    url: String,
    /// Use this profile instead of matching sysObjectID.
    #[arg(long)]
    profile: Option<String>,
    /// Print a JSON array of {measurement, field, value, unit, tags}.
    #[arg(long)]
    json: bool,
    /// Also print every raw value the profile reads.
    #[arg(long)]
    walk: bool,
    /// Extra profile directories.
    #[arg(long = "profiles")]
    profile_dirs: Vec<PathBuf>,
    /// SNMPv3 authentication protocol: md5, sha (sha1), sha224, sha256, sha384, sha512.
    #[arg(long)]
    auth_protocol: Option<String>,
    /// SNMPv3 authentication key, as `env:NAME` or `file:PATH`.
    #[arg(long)]
    auth_key: Option<String>,
    /// SNMPv3 privacy protocol: des, aes (aes128), aes192, aes256.
    #[arg(long)]
    priv_protocol: Option<String>,
    /// SNMPv3 privacy key, as `env:NAME` or `file:PATH`.
    #[arg(long)]
    priv_key: Option<String>,
    /// Redfish or IPMI: the BMC user's password, as `env:NAME` or `file:PATH`.
    #[arg(long)]
    password: Option<String>,
    /// Redfish: send Basic credentials on every request instead of logging in to a session.
    #[arg(long)]
    basic: bool,
    /// Redfish: trust the BMC's certificate when this CA (PEM) signed it.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Redfish: trust only the certificate with this SHA-256 fingerprint.
    #[arg(long)]
    pin_sha256: Option<String>,
    /// Redfish: accept any certificate (logged).
    #[arg(long)]
    insecure: bool,
    /// IPMI: the RMCP+ cipher suite, 17 (HMAC-SHA256, AES-128) or 3 (HMAC-SHA1, AES-128).
    #[arg(long, default_value_t = 17)]
    cipher_suite: i64,
    /// IPMI: the session privilege level: user, operator or administrator.
    #[arg(long, default_value = "user")]
    privilege: String,
    /// Per-request timeout (BMCs answer in 0.5–5 s: give them 10s).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Debug, Serialize)]
struct Row {
    measurement: &'static str,
    field: &'static str,
    value: f64,
    unit: &'static str,
    tags: std::collections::BTreeMap<&'static str, String>,
    /// What the value was read from: an OID, or `input 52` for a Modbus register.
    source: String,
    /// For a `status`: what its code means, from the profile's `states`.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

/// The name a `status` row's code has in the profile metric it was read by.
fn state_name(
    profile: &kilowatch_core::profile::Profile,
    source: &str,
    code: f64,
) -> Option<String> {
    let kilowatch_core::profile::Profile::Snmp(p) = profile else {
        return None;
    };
    p.metrics
        .iter()
        .filter(|m| m.field == kilowatch_core::model::Field::Status)
        .find(|m| {
            m.oid.as_deref() == Some(source)
                || m.walk.as_deref().is_some_and(|w| {
                    source
                        .strip_prefix(w)
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        })
        .and_then(|m| m.state_name(code))
        .map(str::to_owned)
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (address, credential) =
        Address::parse(&args.url).map_err(|e| anyhow::anyhow!("bad URL: {e}"))?;
    let (profiles, problems) = ProfileSet::load(&args.profile_dirs);
    for p in problems {
        eprintln!("{}: {}", p.file.display(), p.message);
    }
    let mut driver = match (&address, credential) {
        (Address::Snmp { .. }, Credential::Community(c)) => {
            Driver::snmp_v2c(&address, Secret::new(c), args.timeout)
        }
        (Address::Snmp { .. }, Credential::V3User(user)) => {
            let auth = v3_auth(user, &args)?;
            Driver::new(&address, Some(&auth), args.timeout)
        }
        (Address::Snmp { .. }, Credential::None | Credential::User(_)) => {
            bail!("give the community in the URL: snmp://COMMUNITY@host:port")
        }
        (Address::Modbus { .. }, _) => Driver::new(&address, None, args.timeout),
        (Address::Redfish { .. }, Credential::User(user)) => {
            let auth = redfish_auth(user, &args)?;
            Driver::new(&address, Some(&auth), args.timeout)
        }
        (Address::Redfish { .. }, _) => {
            if args.password.is_some() {
                bail!("give the user in the URL: redfish://USER@host");
            }
            Driver::new(&address, None, args.timeout)
        }
        (Address::Ipmi { .. }, Credential::User(user)) => {
            let auth = ipmi_auth(user, &args)?;
            Driver::new(&address, Some(&auth), args.timeout)
        }
        (Address::Ipmi { .. }, _) => {
            bail!("give the BMC user in the URL: ipmi://USER@host:port (and --password env:NAME)")
        }
    };
    let modules = match (&args.profile, &mut driver) {
        (Some(p), _) => vec![(p.clone(), "--profile".to_owned())],
        (None, Driver::Snmp(d)) => {
            let found = kilowatch_collector::detect::detect(d, &profiles)
                .await
                .context("read sysObjectID")?;
            // On stderr, so `--json` stays one document: scripts/measure-devices counts it.
            eprintln!("detection: {} requests", found.requests);
            if found.modules.is_empty() {
                let oid: Vec<String> = found.sys_object_id.iter().map(u32::to_string).collect();
                eprintln!("no profile matches this device");
                eprintln!("sysObjectID: {}", oid.join("."));
                eprintln!("sysDescr:    {}", found.sys_descr);
                eprintln!(
                    "choose one with --profile; known: {}",
                    profiles.names().collect::<Vec<_>>().join(", ")
                );
                return Ok(ExitCode::from(3));
            }
            found
                .modules
                .into_iter()
                .map(|m| (m.profile, m.why))
                .collect()
        }
        // One Redfish profile per schema family; the DMTF one first.
        (None, Driver::Redfish(_)) => {
            let mut names: Vec<String> = profiles
                .names()
                .filter(|n| profiles.get(n).is_some_and(|p| p.protocol() == "redfish"))
                .map(str::to_owned)
                .collect();
            names.sort_by_key(|n| n != "redfish-dmtf");
            names
                .into_iter()
                .map(|n| (n, "a Redfish service".to_owned()))
                .collect()
        }
        // Every BMC speaks the same IPMI: one profile chooses its sensors by their records.
        (None, Driver::Ipmi(_)) => vec![("ipmi-dcmi".to_owned(), "ipmi://".to_owned())],
        (None, _) => bail!("Modbus devices cannot identify themselves: give --profile"),
    };
    // Every module's readings; the first module to read a field (at a point) wins it: the one
    // sysObjectID names, then vendor MIBs, then standard ones. A `fallback` metric's reading
    // yields to a later module's (UPS-MIB's battery charge before a vendor's that is no better):
    // `yields[i]` says rows[i] is one.
    let mut rows: Vec<Row> = Vec::new();
    let mut yields: Vec<bool> = Vec::new();
    let mut problems = Vec::new();
    for (k, (name, why)) in modules.iter().enumerate() {
        let Some(profile) = profiles.get(name) else {
            bail!(
                "unknown profile '{name}'; known: {}",
                profiles.names().collect::<Vec<_>>().join(", ")
            );
        };
        if !args.json {
            println!("profile {name}: {} ({why})", profile.description());
        } else {
            eprintln!("profile {name}: {why}");
        }
        let device = Device::new("probe", "", name.clone(), address.clone());
        let plan = Plan::compile(&device, profile);
        let readings = match driver.read(&plan.kind).await {
            Ok(r) => r,
            // The first module is the device's own: its failure is the probe's.
            Err(e) if k == 0 => {
                driver.close().await;
                return Err(e).with_context(|| format!("device {address}"));
            }
            Err(e) => {
                problems.push(format!("module {name}: {e}"));
                continue;
            }
        };
        if args.walk {
            print_raw(&plan, &readings);
        }
        let mut samples = Vec::new();
        let mut sources = Vec::new();
        decode_traced(
            &plan,
            &readings,
            &mut RowSeries::default(),
            &mut samples,
            &mut problems,
            &mut sources,
        );
        for (s, traced) in samples.iter().zip(sources) {
            let source = traced.source;
            let row = Row {
                measurement: s.field.measurement().name(),
                field: s.field.name(),
                value: s.value,
                unit: s.field.unit(),
                tags: s
                    .series
                    .tags()
                    .filter(|(k, _)| *k != "device" && *k != "site")
                    .map(|(k, v)| (k, v.to_owned()))
                    .collect(),
                state: (s.field == kilowatch_core::model::Field::Status)
                    .then(|| state_name(profile, &source, s.value))
                    .flatten(),
                source,
            };
            match rows
                .iter()
                .position(|r| r.field == row.field && r.tags == row.tags)
            {
                None => {
                    rows.push(row);
                    yields.push(traced.fallback);
                }
                Some(i) if yields[i] && !traced.fallback => {
                    rows[i] = row;
                    yields[i] = false;
                }
                Some(_) => {}
            }
        }
    }
    driver.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<12} {:<20} {:>14} {:<5} {:<24} source",
            "measurement", "field", "value", "unit", "tags"
        );
        for r in &rows {
            let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let state = r
                .state
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            println!(
                "{:<12} {:<20} {:>14.3} {:<5} {:<24} {}{state}",
                r.measurement,
                r.field,
                r.value,
                r.unit,
                tags.join(","),
                r.source
            );
        }
    }
    for p in &problems {
        eprintln!("warning: {p}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_raw(plan: &Plan, readings: &Readings) {
    match (&plan.kind, readings) {
        (PlanKind::Snmp(p), Readings::Snmp { gets, walks }) => {
            for (oid, v) in p.gets.iter().zip(gets) {
                println!("{} = {v:?}", dotted(oid));
            }
            for (col, rows) in p.walks.iter().zip(walks) {
                for (suffix, v) in rows {
                    println!("{}.{} = {v:?}", dotted(col), dotted(suffix));
                }
            }
        }
        (PlanKind::Modbus(p), Readings::Modbus { blocks }) => {
            for (b, words) in p.blocks.iter().zip(blocks) {
                println!("{:?} {}+{}: {words:04x?}", b.table, b.start, b.count);
            }
        }
        (PlanKind::Ipmi(_), Readings::Ipmi { dcmi, sensors }) => {
            if let Some(d) = dcmi {
                println!("dcmi power reading: {d:?}");
            }
            for s in sensors {
                let r = &s.record;
                println!(
                    "sensor '{}' #{} type {:#04x} entity {:#04x}.{} unit {} raw {:02x?} {:?}",
                    r.name,
                    r.number,
                    r.sensor_type,
                    r.entity_id,
                    r.entity_instance,
                    r.unit,
                    s.raw,
                    r.conversion
                );
            }
        }
        _ => {}
    }
}

fn dotted(oid: &[u32]) -> String {
    oid.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// Builds an IPMI auth from the flags through the same validation as the config file.
fn ipmi_auth(user: String, args: &Args) -> anyhow::Result<kilowatch_core::config::Auth> {
    let Some(password) = &args.password else {
        bail!("--password: give the BMC user's password as env:NAME or file:PATH");
    };
    let toml = format!(
        "[auths.probe]\nversion = \"ipmi\"\nuser = {user:?}\npassword = {password:?}\ncipher_suite = {}\nprivilege = {:?}\n",
        args.cipher_suite, args.privilege
    );
    auth_from_flags(&toml)
}

/// Builds a v3 auth from the flags through the same validation as the config file.
fn v3_auth(user: String, args: &Args) -> anyhow::Result<kilowatch_core::config::Auth> {
    let mut toml = format!("[auths.probe]\nversion = \"v3\"\nuser = {user:?}\n");
    for (key, value) in [
        ("auth_protocol", &args.auth_protocol),
        ("auth_key", &args.auth_key),
        ("priv_protocol", &args.priv_protocol),
        ("priv_key", &args.priv_key),
    ] {
        if let Some(v) = value {
            toml.push_str(&format!("{key} = {v:?}\n"));
        }
    }
    auth_from_flags(&toml)
}

/// Builds a Redfish auth from the flags through the same validation as the config file.
fn redfish_auth(user: String, args: &Args) -> anyhow::Result<kilowatch_core::config::Auth> {
    let Some(password) = &args.password else {
        bail!("give the password as --password env:NAME or --password file:PATH");
    };
    let mut toml = format!(
        "[auths.probe]\nversion = \"redfish\"\nuser = {user:?}\npassword = {password:?}\nsession = {}\n",
        !args.basic
    );
    if let Some(ca) = &args.ca_file {
        toml.push_str(&format!("ca_file = {:?}\n", ca.display().to_string()));
    }
    if let Some(pin) = &args.pin_sha256 {
        toml.push_str(&format!("pin_sha256 = {pin:?}\n"));
    }
    if args.insecure {
        toml.push_str("insecure = true\n");
    }
    auth_from_flags(&toml)
}

fn auth_from_flags(toml: &str) -> anyhow::Result<kilowatch_core::config::Auth> {
    kilowatch_core::config::Config::auth_from_str(toml).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| {
                format!(
                    "--{}: {}",
                    p.key
                        .rsplit('.')
                        .next()
                        .unwrap_or_default()
                        .replace('_', "-"),
                    p.message
                )
            })
            .collect();
        anyhow::anyhow!("{}", lines.join("; "))
    })
}
