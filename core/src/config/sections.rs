//! The single-table sections: `[collector]`, `[store]`, `profile_dirs` and `[influx]`. Each
//! pass fills every option it can (a default for an option left out, or one that failed to
//! parse) and records a problem for each value out of range, so later passes still run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auths::load_secret;
use super::checker::Checker;
use super::raw::{RawCollector, RawInflux, RawStore};
use super::{CollectorConfig, InfluxConfig, Problem, Site, SnmpLimits, StoreConfig};
use crate::profile::ProfileSet;

/// `[collector]`, with defaults: 10 s interval, 2 s timeout, 64 polls at once.
pub(super) fn check_collector(c: &mut Checker<'_>, v: Option<toml::Value>) -> CollectorConfig {
    let raw = v.and_then(|v| c.section::<RawCollector>("collector", v));
    let raw = raw.as_ref();
    let defaults = SnmpLimits::default();
    let collector = CollectorConfig {
        name: raw.and_then(|r| r.name.clone()).unwrap_or_else(host_name),
        interval: raw
            .and_then(|r| r.interval)
            .unwrap_or(Duration::from_secs(10)),
        timeout: raw
            .and_then(|r| r.timeout)
            .unwrap_or(Duration::from_secs(2)),
        max_concurrent_polls: raw.and_then(|r| r.max_concurrent_polls).unwrap_or(64),
        sites: raw.and_then(|r| r.sites.clone()).unwrap_or_default(),
        peers: raw.and_then(|r| r.peers.clone()).unwrap_or_default(),
        snmp: SnmpLimits {
            max_repetitions: raw
                .and_then(|r| r.snmp_max_repetitions)
                .unwrap_or(defaults.max_repetitions),
            max_varbinds: raw
                .and_then(|r| r.snmp_max_varbinds)
                .unwrap_or(defaults.max_varbinds),
        },
    };
    if !(1..=1000).contains(&collector.snmp.max_repetitions) {
        c.push("collector.snmp_max_repetitions", "must be 1..=1000");
    }
    if !(1..=256).contains(&collector.snmp.max_varbinds) {
        c.push("collector.snmp_max_varbinds", "must be 1..=256");
    }
    if collector.interval.is_zero() {
        c.push("collector.interval", "must be greater than zero");
    }
    if collector.name.trim().is_empty() || collector.name.chars().any(char::is_control) {
        c.push(
            "collector.name",
            "must be a name without control characters (it becomes a tag)",
        );
    }
    if collector.max_concurrent_polls == 0 {
        c.push("collector.max_concurrent_polls", "must be at least 1");
    }
    collector
}

/// `collector.sites` names sites of the inventory; `collector.peers` names this collector once
/// and no peer twice (a typo would silently leave a share of the devices unpolled).
pub(super) fn check_share(c: &mut Checker<'_>, collector: &CollectorConfig, sites: &[Site]) {
    for s in &collector.sites {
        if !sites.iter().any(|k| &k.id == s) {
            c.push(
                "collector.sites",
                format!("no site '{s}' in the inventory's [[sites]]"),
            );
        }
    }
    let p = &collector.peers;
    if p.is_empty() {
        return;
    }
    if !p.contains(&collector.name) {
        c.push(
            "collector.peers",
            format!(
                "this collector's name '{}' (collector.name) is not among its peers",
                collector.name
            ),
        );
    }
    for (i, a) in p.iter().enumerate() {
        if p[..i].contains(a) {
            c.push("collector.peers", format!("'{a}' is listed twice"));
        }
        if a.trim().is_empty() {
            c.push("collector.peers", "a peer's name is empty");
        }
    }
}

/// The machine's host name (Linux), else `kilowatch`.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "kilowatch".to_owned())
}

/// `[store]`: the path relative to `base_dir` (default `kilowatch.db`); roll-ups must outlive
/// raw readings.
pub(super) fn check_store(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    base_dir: &Path,
) -> StoreConfig {
    let raw = v.and_then(|v| c.section::<RawStore>("store", v));
    let raw = raw.as_ref();
    let store = StoreConfig {
        path: base_dir.join(
            raw.and_then(|s| s.path.clone())
                .unwrap_or_else(|| PathBuf::from("kilowatch.db")),
        ),
        retention: raw.and_then(|s| s.retention),
        rollup_retention: raw.and_then(|s| s.rollup_retention),
    };
    match (store.retention, store.rollup_retention) {
        (Some(raw), Some(rolled)) if rolled < raw => c.push(
            "store.rollup_retention",
            format!(
                "keeps roll-ups {} but raw readings {}: roll-ups must outlive raw readings",
                humantime::format_duration(rolled),
                humantime::format_duration(raw)
            ),
        ),
        (None, Some(_)) => c.push(
            "store.rollup_retention",
            "raw readings are kept for ever (no store.retention), so roll-ups would go first",
        ),
        _ => {}
    }
    store
}

/// The built-in profiles plus those in `profile_dirs` (relative to `base_dir`); a problem in a
/// profile file names that file.
pub(super) fn load_profiles(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    base_dir: &Path,
) -> ProfileSet {
    let profile_dirs: Vec<PathBuf> = v
        .and_then(|v| c.section::<Vec<PathBuf>>("profile_dirs", v))
        .unwrap_or_default()
        .into_iter()
        .map(|d| base_dir.join(d))
        .collect();
    let (profiles, problems) = ProfileSet::load(&profile_dirs);
    c.problems.extend(problems.into_iter().map(|p| Problem {
        source: p.file.display().to_string(),
        line: p.line,
        key: String::new(),
        message: p.message,
    }));
    profiles
}

/// `[influx]`, when present: the URL checked without the network, secrets loaded.
pub(super) fn check_influx(c: &mut Checker<'_>, v: Option<toml::Value>) -> Option<InfluxConfig> {
    let raw = v.and_then(|v| c.section::<RawInflux>("influx", v))?;
    if let Err(e) = check_influx_url(&raw.url) {
        c.push("influx.url", e.to_string());
    }
    let mut secret = |key: &str, r: &Option<String>| {
        r.as_deref()
            .and_then(|r| load_secret(c, &format!("influx.{key}"), r))
    };
    let token = secret("token", &raw.token);
    let password = secret("password", &raw.password);
    Some(InfluxConfig {
        url: raw.url,
        token,
        password,
        max_outbox_bytes: raw.max_outbox_bytes.unwrap_or(1 << 30),
    })
}

/// Why an `[influx] url` was refused before any request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum InfluxUrlError {
    #[error("not a URL ({0})")]
    NotUrl(#[source] url::ParseError),
    #[error(
        "scheme '{scheme}' is not http or https (InfluxDB) or vm or vm+https (VictoriaMetrics)"
    )]
    Scheme { scheme: String },
    #[error("a password in the URL is refused: use 'password = \"env:NAME\"'")]
    Password,
    #[error("give ?db=NAME (v1 /write) or ?org=ORG&bucket=BUCKET (v2 /api/v2/write)")]
    NoApi,
    #[error("CA file '{path}' does not exist")]
    NoCaFile { path: String },
    #[error("unknown URL parameter '{name}'; expected db, rp, org, bucket, ca")]
    UnknownParameter { name: String },
}

/// The `[influx] url` checks that need no network: scheme, and v1 or v2 parameters.
fn check_influx_url(s: &str) -> Result<(), InfluxUrlError> {
    let url = url::Url::parse(s).map_err(InfluxUrlError::NotUrl)?;
    let victoria = matches!(url.scheme(), "vm" | "vm+https");
    if !victoria && !matches!(url.scheme(), "http" | "https") {
        return Err(InfluxUrlError::Scheme {
            scheme: url.scheme().to_owned(),
        });
    }
    if url.password().is_some() {
        return Err(InfluxUrlError::Password);
    }
    let has = |k: &str| url.query_pairs().any(|(n, _)| n == k);
    // VictoriaMetrics takes no database: its labels are the series' tags.
    if !victoria && has("db") == (has("org") && has("bucket")) {
        return Err(InfluxUrlError::NoApi);
    }
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "db" | "rp" | "org" | "bucket" => {}
            "ca" if Path::new(v.as_ref()).is_file() => {}
            "ca" => {
                return Err(InfluxUrlError::NoCaFile {
                    path: v.into_owned(),
                });
            }
            other => {
                return Err(InfluxUrlError::UnknownParameter {
                    name: other.to_owned(),
                });
            }
        }
    }
    Ok(())
}
