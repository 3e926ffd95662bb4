//! `kilowatch discover TARGETS --auths FILE`: find the SNMP devices in address ranges, detect
//! the profiles each speaks (as `probe` does), and write a draft inventory a person reviews.
//! PUE roles are only ever suggested, in comments: a meter's place in the power chain is a
//! decision, not a detection.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kilowatch_collector::detect::{Detection, detect};
use kilowatch_collector::{Driver, dotted};
use kilowatch_core::address::Address;
use kilowatch_core::config::{Auth, Config};
use kilowatch_core::profile::ProfileSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to scan: `10.0.0.0/24`, `10.0.0.5`, `host:port`, a port range `127.0.0.1:20000-20199`,
    /// or `@FILE` (one target per line; `#` starts a comment).
    #[arg(required = true)]
    targets: Vec<String>,
    /// A TOML file holding `[auths.NAME]` sections (an inventory will do); secrets stay
    /// `env:`/`file:` references and are copied into the draft as such.
    #[arg(long)]
    auths: PathBuf,
    /// The auths to try, in order, on each target [default: every auth in --auths, in order].
    #[arg(long = "auth")]
    auth: Vec<String>,
    /// The site id the draft places the devices in.
    #[arg(long, default_value = "discovered")]
    site: String,
    /// Write the draft inventory here [default: stdout].
    #[arg(long)]
    out: Option<PathBuf>,
    /// UDP port for targets that give none.
    #[arg(long, default_value_t = 161)]
    port: u16,
    /// New targets started per second (a scan is never a flood).
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Targets being asked at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Per-request timeout.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Extra profile directories.
    #[arg(long = "profiles")]
    profile_dirs: Vec<PathBuf>,
}

/// The most targets one run scans (a /20).
const MAX_TARGETS: usize = 4096;

/// Targets as written: CIDR, single address, host:port, port range, or `@FILE`.
pub fn parse_targets(specs: &[String], default_port: u16) -> anyhow::Result<Vec<(String, u16)>> {
    let mut out = Vec::new();
    for spec in specs {
        if let Some(file) = spec.strip_prefix('@') {
            let text =
                std::fs::read_to_string(file).with_context(|| format!("read targets '{file}'"))?;
            let lines: Vec<String> = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect();
            out.extend(parse_targets(&lines, default_port)?);
            continue;
        }
        if let Some((net, bits)) = spec.split_once('/') {
            let net: Ipv4Addr = net
                .parse()
                .with_context(|| format!("'{spec}': not an IPv4 network"))?;
            let bits: u32 = bits
                .parse()
                .ok()
                .filter(|b| (16..=32).contains(b))
                .with_context(|| format!("'{spec}': prefix length must be 16 to 32"))?;
            let size = 1u32 << (32 - bits);
            let base = u32::from(net) & !(size - 1);
            // A /31 or /32 has no network and broadcast addresses to skip.
            let hosts = if size > 2 { 1..size - 1 } else { 0..size };
            out.extend(hosts.map(|i| (Ipv4Addr::from(base + i).to_string(), default_port)));
        } else if let Some((host, ports)) = spec.rsplit_once(':').filter(|(h, _)| !h.contains(':'))
        {
            let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
            let (a, b): (u16, u16) = (
                a.parse().with_context(|| format!("'{spec}': bad port"))?,
                b.parse().with_context(|| format!("'{spec}': bad port"))?,
            );
            if a > b {
                bail!("'{spec}': port range runs backwards");
            }
            out.extend((a..=b).map(|p| (host.to_owned(), p)));
        } else {
            out.push((spec.clone(), default_port));
        }
        if out.len() > MAX_TARGETS {
            bail!("more than {MAX_TARGETS} targets: scan in parts");
        }
    }
    out.dedup();
    Ok(out)
}

/// A device that answered.
struct Found {
    host: String,
    port: u16,
    auth: String,
    detection: Detection,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let targets = parse_targets(&args.targets, args.port)?;
    let text = std::fs::read_to_string(&args.auths)
        .with_context(|| format!("read auths '{}'", args.auths.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("'{}'", args.auths.display()))?;
    let sections = doc
        .get("auths")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = if args.auth.is_empty() {
        sections.keys().cloned().collect()
    } else {
        args.auth.clone()
    };
    if names.is_empty() {
        bail!("'{}' has no [auths.NAME] section", args.auths.display());
    }
    // Each auth through the config's own checks; the draft gets its section as written.
    let mut auths: Vec<(String, Auth, String)> = Vec::new();
    for name in &names {
        let Some(section) = sections.get(name) else {
            bail!("no [auths.{name}] in '{}'", args.auths.display());
        };
        let mut one = toml::Table::new();
        let mut inner = toml::Table::new();
        inner.insert(name.clone(), section.clone());
        one.insert("auths".into(), toml::Value::Table(inner));
        let src = toml::to_string(&one)?;
        let auth = Config::auth_from_str(&src).map_err(|problems| {
            let msgs: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect();
            anyhow::anyhow!("auth '{name}': {}", msgs.join("; "))
        })?;
        auths.push((name.clone(), auth, src));
    }
    let (profiles, problems) = ProfileSet::load(&args.profile_dirs);
    for p in problems {
        eprintln!("{}: {}", p.file.display(), p.message);
    }
    let profiles = Arc::new(profiles);
    let auths = Arc::new(auths);
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1))));
    let bar = indicatif::ProgressBar::new(targets.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} targets")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("discovering");
    let mut tasks = tokio::task::JoinSet::new();
    for (host, port) in targets.iter().cloned() {
        ticker.tick().await;
        let permit = gate.clone().acquire_owned().await?;
        let (profiles, auths, timeout, bar) =
            (profiles.clone(), auths.clone(), args.timeout, bar.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let found = ask(&host, port, &auths, &profiles, timeout).await;
            bar.inc(1);
            found
        });
    }
    let mut found: Vec<Found> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(f) = r? {
            found.push(f);
        }
    }
    bar.finish_and_clear();
    found.sort_by(|a, b| (a.host.as_str(), a.port).cmp(&(b.host.as_str(), b.port)));
    let draft = draft(&args.site, &auths, &found, &profiles, targets.len());
    match &args.out {
        Some(path) => {
            std::fs::write(path, &draft).with_context(|| format!("write '{}'", path.display()))?
        }
        None => print!("{draft}"),
    }
    let requests: usize = found.iter().map(|f| f.detection.requests).sum();
    eprintln!(
        "{} of {} targets answered; detection sent {requests} requests to them ({} each at most)",
        found.len(),
        targets.len(),
        found
            .iter()
            .map(|f| f.detection.requests)
            .max()
            .unwrap_or(0)
    );
    Ok(ExitCode::SUCCESS)
}

/// Tries each auth on one target; the first that answers detects its modules.
async fn ask(
    host: &str,
    port: u16,
    auths: &[(String, Auth, String)],
    profiles: &ProfileSet,
    timeout: Duration,
) -> Option<Found> {
    let (address, _) = Address::parse(&format!("snmp://{host}:{port}")).ok()?;
    for (name, auth, _) in auths {
        let mut driver = Driver::new(&address, Some(auth), timeout);
        let Driver::Snmp(d) = &mut driver else {
            continue;
        };
        match detect(d, profiles).await {
            Ok(detection) => {
                return Some(Found {
                    host: host.to_owned(),
                    port,
                    auth: name.clone(),
                    detection,
                });
            }
            Err(e) => tracing::debug!(host, port, auth = name.as_str(), error = %e, "no answer"),
        }
    }
    None
}

/// The device class and suggested PUE role from a profile's description ("<class>, <vendor>").
fn suggestion(description: &str) -> (&'static str, Option<&'static str>) {
    let class = description
        .split(',')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if class.contains("ups") {
        (
            "ups",
            Some(
                "UPS output is a candidate for IT energy at category 1:\n# role = \"it\"\n# category = 1",
            ),
        )
    } else if class.contains("meter") {
        (
            "meter",
            Some(
                "a power meter is a candidate for the facility boundary (total input) or a sub-meter:\n# role = \"facility\"",
            ),
        )
    } else if class.contains("pdu") {
        (
            "pdu",
            Some(
                "a rack PDU's outlets or inlet are candidates for IT energy at category 3:\n# role = \"it\"\n# category = 3",
            ),
        )
    } else if class.contains("cooling") {
        ("cooling", None)
    } else if class.contains("server") || class.contains("bmc") {
        ("server", None)
    } else {
        ("other", None)
    }
}

fn draft(
    site: &str,
    auths: &[(String, Auth, String)],
    found: &[Found],
    profiles: &ProfileSet,
    scanned: usize,
) -> String {
    let mut out = format!(
        "# Draft inventory written by `kilowatch discover`: {} of {scanned} targets answered.\n\
         # Review it before use. PUE roles are only suggested, in comments: decide each meter's\n\
         # place in the power chain and uncomment its role. Devices answering no MIB a profile\n\
         # reads are listed at the end, commented out.\n\n",
        found
            .iter()
            .filter(|f| !f.detection.modules.is_empty())
            .count()
    );
    let used: Vec<&str> = found.iter().map(|f| f.auth.as_str()).collect();
    for (name, _, src) in auths {
        if used.contains(&name.as_str()) {
            out.push_str(src);
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "[[sites]]\nid = {site:?}\ntimezone = {:?}   # the host's: set the site's own\n",
        kilowatch_core::calendar::zone_name(&kilowatch_core::calendar::host_zone())
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown = Vec::new();
    for f in found {
        let Some(first) = f.detection.modules.first() else {
            unknown.push(f);
            continue;
        };
        let description = profiles
            .get(&first.profile)
            .map(|p| p.description().to_owned())
            .unwrap_or_default();
        let (class, role) = suggestion(&description);
        let n = counts.entry(class.to_owned()).or_default();
        *n += 1;
        let modules: Vec<String> = f
            .detection
            .modules
            .iter()
            .map(|m| format!("{} ({})", m.profile, m.why))
            .collect();
        let _ = writeln!(
            out,
            "# {description}: sysObjectID {}, sysDescr {:?}\n# modules: {}",
            dotted(&f.detection.sys_object_id),
            f.detection.sys_descr.chars().take(80).collect::<String>(),
            modules.join(", ")
        );
        if let Some(r) = role {
            let _ = writeln!(out, "# suggested: {r}");
        }
        if f.detection.modules.len() > 1 {
            let _ = writeln!(
                out,
                "# profile = \"auto\" reads every module above (detected again when collect starts)"
            );
        }
        let _ = writeln!(
            out,
            "[[devices]]\nid = \"{class}-{n}\"\nsite = {site:?}\nprofile = {:?}\naddress = \"snmp://{}:{}\"\nauth = {:?}\n",
            first.profile, f.host, f.port, f.auth
        );
    }
    for f in unknown {
        let _ = writeln!(
            out,
            "# no profile reads {}:{} (sysObjectID {}, sysDescr {:?}): probe it with --profile\n",
            f.host,
            f.port,
            dotted(&f.detection.sys_object_id),
            f.detection.sys_descr.chars().take(80).collect::<String>()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_as_people_write_them() {
        let t =
            |s: &[&str]| parse_targets(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 161);
        let net = t(&["10.0.0.0/30"]).unwrap_or_default();
        assert_eq!(
            net,
            vec![("10.0.0.1".into(), 161), ("10.0.0.2".into(), 161)]
        );
        assert_eq!(t(&["10.0.0.9/24"]).map(|v| v.len()).ok(), Some(254));
        let ports = t(&["127.0.0.1:20000-20002", "ups.dc7:1161", "10.1.1.1"]).unwrap_or_default();
        assert_eq!(
            ports,
            vec![
                ("127.0.0.1".into(), 20000),
                ("127.0.0.1".into(), 20001),
                ("127.0.0.1".into(), 20002),
                ("ups.dc7".into(), 1161),
                ("10.1.1.1".into(), 161)
            ]
        );
        assert!(t(&["10.0.0.0/8"]).is_err(), "too large a scan is refused");
        assert!(t(&["127.0.0.1:9-3"]).is_err());
        assert!(t(&["300.1.1.1/24"]).is_err());
    }
}
