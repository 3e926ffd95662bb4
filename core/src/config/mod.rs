//! Loading and validating the inventory (`kilowatch.toml`).
//!
//! Loading never stops at the first mistake: the file is parsed once for spans (key path ->
//! line), each section is deserialized on its own, and semantic passes run over what parsed,
//! so `check-config` can list every problem with file, line and key. A [`Config`] exists only
//! when there were no problems at all.
//!
//! The passes, in order: environment overrides ([`env`]), unknown top-level keys, the
//! single-table sections ([`sections`]), auths and their secrets ([`auths`]), sites
//! ([`sites`]), devices against all of those ([`devices`]), then the PUE meters per site. The
//! serde structs as written are in [`raw`]; the spans and problem collection in [`checker`];
//! the typed inventory in [`inventory`].

mod alerts;
mod auths;
mod checker;
mod devices;
mod env;
mod inventory;
mod raw;
mod rules;
mod sections;
mod sites;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeTable;

use crate::profile::{ProfileSet, line_of};
use crate::secret::Secret;

pub use alerts::{AlertsConfig, EmailConfig, RuleSet, TrapsConfig, WebhookConfig};
pub use inventory::{
    Auth, Device, Entered, IpmiCipherSuite, IpmiPrivilege, Rack, RedfishAuth, Room, Site, TlsTrust,
    V3Auth, V3Priv, V3Security,
};
pub use rules::{Condition, Limit, Rating, Rule, Scope};

use checker::{Checker, index_spans};

/// One mistake, named by where it is and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The config or profile file, or `env KILOWATCH_...` for an override.
    pub source: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub collector: CollectorConfig,
    pub store: StoreConfig,
    pub auths: BTreeMap<String, Auth>,
    pub sites: Vec<Site>,
    pub devices: Vec<Device>,
    pub profiles: ProfileSet,
    /// Forwarding to InfluxDB, when configured (`--influx` overrides the URL).
    pub influx: Option<InfluxConfig>,
    /// Where alerts go and which built-in rule sets are on (`[alerts]`).
    pub alerts: Option<AlertsConfig>,
    /// The user's own rules (`[[rules]]`).
    pub rules: Vec<Rule>,
    /// The SNMP trap listener (`[traps]`), when on.
    pub traps: Option<TrapsConfig>,
    /// Grid emission factors per utility and year: the built-in table plus
    /// `[[emission_factors]]`.
    pub emission_factors: crate::reporting::FactorTable,
    /// `lang = "zh-HK"`: the language of reports and the TUI when `--lang` does not say.
    pub lang: Option<crate::i18n::Lang>,
}

/// `[influx]`: where to forward, with credentials as secrets and the outbox's disk cap.
#[derive(Debug, Clone, PartialEq)]
pub struct InfluxConfig {
    /// `http://HOST:PORT?db=NAME[&rp=RP]` (v1) or `http://HOST:PORT?org=ORG&bucket=BUCKET` (v2).
    pub url: String,
    pub token: Option<Secret>,
    pub password: Option<Secret>,
    pub max_outbox_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectorConfig {
    /// Names this collector in its own health readings (tag `collector`), so several sites'
    /// collectors writing to one InfluxDB stay apart. Default: the machine's host name.
    pub name: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub max_concurrent_polls: usize,
    pub snmp: SnmpLimits,
    /// Poll only the devices of these sites (empty: every site in the inventory), so one
    /// estate inventory can serve a collector per site.
    pub sites: Vec<String>,
    /// Collectors that split the devices between them by rendezvous hashing of device ids;
    /// `name` is one of them. Empty: this collector polls all of its sites' devices (two such
    /// collectors on one site are a failover pair; the central engine deduplicates).
    pub peers: Vec<String>,
}

/// How much one SNMP request may ask for; lower them for agents that choke on big requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnmpLimits {
    /// Rows asked for per GETBULK.
    pub max_repetitions: u32,
    /// Variable bindings per GET.
    pub max_varbinds: usize,
}

impl Default for SnmpLimits {
    fn default() -> SnmpLimits {
        SnmpLimits {
            max_repetitions: 24,
            max_varbinds: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// The SQLite file (relative paths are relative to the config file).
    pub path: PathBuf,
    /// Raw readings older than this are deleted; `None` keeps everything.
    pub retention: Option<Duration>,
    /// Five-minute roll-ups (count, sum, min, max, last) older than this are deleted; `None`
    /// keeps them all. At least `retention`: roll-ups are what is left once raw readings go.
    pub rollup_retention: Option<Duration>,
}

impl Config {
    /// Loads and validates `path`, with overrides from the process environment.
    pub fn load(path: &Path) -> Result<Config, Vec<Problem>> {
        Config::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, Vec<Problem>> {
        Config::load_checked(path, env, true)
    }

    /// Validates `path` as [`Config::load`] does but reads no secret: each reference is checked
    /// for its form (`env:NAME`, `file:PATH`) only and stands for an empty secret. For
    /// `check-config --no-secrets` on a machine without the secrets, never for running.
    pub fn load_without_secrets(path: &Path) -> Result<Config, Vec<Problem>> {
        Config::load_checked(path, std::env::vars(), false)
    }

    fn load_checked(
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
        resolve_secrets: bool,
    ) -> Result<Config, Vec<Problem>> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| {
            vec![Problem {
                source: file.clone(),
                line: None,
                key: String::new(),
                message: format!("cannot read: {e}"),
            }]
        })?;
        let base_dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        Config::check(&src, &file, &base_dir, env, resolve_secrets).map(|mut c| {
            c.path = path.to_owned();
            c
        })
    }

    /// Validates config text; `file` names it in problems, `base_dir` resolves relative paths.
    pub fn from_str(
        src: &str,
        file: &str,
        base_dir: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, Vec<Problem>> {
        Config::check(src, file, base_dir, env, true)
    }

    fn check(
        src: &str,
        file: &str,
        base_dir: &Path,
        env: impl Iterator<Item = (String, String)>,
        resolve_secrets: bool,
    ) -> Result<Config, Vec<Problem>> {
        let (mut doc, lines) = parse(src, file)?;
        let mut c = Checker::new(file, src, lines);
        c.resolve_secrets = resolve_secrets;
        env::apply_env(&mut doc, env, &mut c.env_keys);
        for key in doc.keys() {
            if !raw::TOP_KEYS.contains(&key.as_str()) {
                c.push(
                    key,
                    format!("unknown key; expected one of {}", raw::TOP_KEYS.join(", ")),
                );
            }
        }
        let collector = sections::check_collector(&mut c, doc.remove("collector"));
        let store = sections::check_store(&mut c, doc.remove("store"), base_dir);
        let profiles = sections::load_profiles(&mut c, doc.remove("profile_dirs"), base_dir);
        let influx = sections::check_influx(&mut c, doc.remove("influx"));
        let written_roles = sites::roles_as_written(doc.get("devices"));
        let auths = auths::check_auths(&mut c, doc.remove("auths"));
        let emission_factors = sites::check_factors(&mut c, doc.remove("emission_factors"));
        let lang = match doc.remove("lang") {
            None => None,
            Some(v) => match v.as_str().and_then(crate::i18n::Lang::parse) {
                Some(l) => Some(l),
                None => {
                    c.push("lang", format!("expected \"en\" or \"zh-HK\", found {v}"));
                    None
                }
            },
        };
        let sites = sites::check_sites(&mut c, doc.remove("sites"), &emission_factors);
        let known = devices::Known {
            sites: &sites,
            auths: &auths,
            profiles: &profiles,
        };
        let devices = devices::check_devices(&mut c, doc.remove("devices"), &known);
        sections::check_share(&mut c, &collector, &sites);
        sites::check_pue_meters(&mut c, &sites, &written_roles);
        let alerts = alerts::check_alerts(&mut c, doc.remove("alerts"));
        let rules = rules::check_rules(&mut c, doc.remove("rules"), &sites, &devices);
        let traps = alerts::check_traps(&mut c, doc.remove("traps"), &auths);

        if !c.problems.is_empty() {
            return Err(c.problems);
        }
        Ok(Config {
            path: PathBuf::from(file),
            collector,
            store,
            auths: auths
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
            sites,
            devices,
            profiles,
            influx,
            alerts,
            rules,
            traps,
            emission_factors,
            lang,
        })
    }

    /// Validates a document holding only `[auths.probe]`, for tools that take credentials on the
    /// command line; secrets still come from `env:`/`file:` references.
    pub fn auth_from_str(src: &str) -> Result<Auth, Vec<Problem>> {
        let doc: toml::Table = toml::from_str(src).map_err(|e| {
            vec![Problem {
                source: "<flags>".into(),
                line: None,
                key: String::new(),
                message: e.message().to_owned(),
            }]
        })?;
        let mut c = Checker::new("<flags>", src, HashMap::new());
        let auths = auths::check_auths(&mut c, doc.get("auths").cloned());
        match auths.into_values().next().flatten() {
            Some(a) if c.problems.is_empty() => Ok(a),
            _ => Err(c.problems),
        }
    }

    pub fn device_interval(&self, d: &Device) -> Duration {
        d.interval.unwrap_or(self.collector.interval)
    }

    pub fn device_timeout(&self, d: &Device) -> Duration {
        d.timeout.unwrap_or(self.collector.timeout)
    }
}

/// The document as a table, and where each key path starts; a syntax error is the one problem.
fn parse(src: &str, file: &str) -> Result<(toml::Table, HashMap<String, usize>), Vec<Problem>> {
    let spanned = DeTable::parse(src).map_err(|e| {
        vec![Problem {
            source: file.to_owned(),
            line: e.span().map(|s| line_of(src, s.start)),
            key: String::new(),
            message: format!("TOML syntax: {}", e.message()),
        }]
    })?;
    let mut lines = HashMap::new();
    index_spans(spanned.get_ref(), "", &mut lines);
    // From the tree already parsed: parsing the text a second time doubled the peak memory of
    // loading a 10,000-device inventory.
    let deserializer = toml::de::Deserializer::from(spanned);
    let doc = <toml::Table as serde::Deserialize>::deserialize(deserializer).map_err(|e| {
        vec![Problem {
            source: file.to_owned(),
            line: e.span().map(|s| line_of(src, s.start)),
            key: String::new(),
            message: e.message().to_owned(),
        }]
    })?;
    Ok((doc, lines))
}
