//! Loading and validating the inventory (`kilowatch.toml`).
//!
//! Loading never stops at the first mistake: the file is parsed once for spans (key path ->
//! line), each section is deserialized on its own, and semantic passes run over what parsed,
//! so `check-config` can list every problem with file, line and key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use crate::address::{Address, Credential};
use crate::model::{Category, Role};
use crate::profile::{ProfileSet, line_of};
use crate::secret::{Secret, SecretRef};

/// Prefix of environment overrides: `KILOWATCH_COLLECTOR__INTERVAL=5s` sets `collector.interval`.
pub const ENV_PREFIX: &str = "KILOWATCH_";

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

#[derive(Debug, Deserialize)]
struct RawInflux {
    url: String,
    token: Option<String>,
    password: Option<String>,
    max_outbox_bytes: Option<u64>,
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

#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    SnmpV1 {
        community: Secret,
    },
    SnmpV2c {
        community: Secret,
    },
    /// SNMPv3 USM: no auth, auth only, or auth and privacy.
    SnmpV3 {
        user: String,
        security: V3Security,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum V3Security {
    NoAuthNoPriv,
    AuthNoPriv {
        protocol: V3Auth,
        key: Secret,
    },
    AuthPriv {
        protocol: V3Auth,
        key: Secret,
        cipher: V3Priv,
        priv_key: Secret,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V3Auth {
    Md5,
    #[serde(alias = "sha")]
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V3Priv {
    Des,
    #[serde(alias = "aes")]
    Aes128,
    Aes192,
    Aes256,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    /// Grid emission factor for CUE and CO2 (kg CO2e per kWh), e.g. the utility's for the year.
    pub emission_factor_kg_per_kwh: Option<f64>,
    /// Energy tariff for cost figures (HKD per kWh).
    pub tariff_hkd_per_kwh: Option<f64>,
    /// The site's IANA zone (`timezone = "Asia/Hong_Kong"`; default the host's): its days,
    /// months and years are the ones reports, `publish` and the TUI's "today" use.
    pub timezone: crate::calendar::TimeZone,
    pub rooms: Vec<Room>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: String,
    pub racks: Vec<Rack>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rack {
    pub id: String,
    pub power_budget_w: Option<f64>,
    /// Usable height in rack units, for consolidation plans (42 U when not stated).
    pub space_u: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub site: String,
    pub room: Option<String>,
    pub rack: Option<String>,
    pub profile: String,
    pub address: Address,
    pub auth: Option<Auth>,
    pub role: Option<Role>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    /// Stated meter accuracy (± %, IEC class number), for PUE uncertainty.
    pub accuracy_pct: Option<f64>,
    /// Rating of each phase or branch breaker (A), for the 80 % rule on PDUs.
    pub breaker_a: Option<f64>,
    /// The most a meter can see (W): its CT or supply rating. An energy step or power reading
    /// above 1.2 times it is a spike, rejected (domain/pue.md §7.2).
    pub max_power_w: Option<f64>,
    /// Rated cooling capacity (W of heat removed), for cooling units.
    pub rated_cooling_w: Option<f64>,
    /// Nameplate or measured peak power of a server (W): scales the SPECpower-like fallback curve
    /// when the server has no power reading.
    pub rated_power_w: Option<f64>,
    /// Height of a server in rack units, for consolidation plans.
    pub height_u: Option<f64>,
}

impl Device {
    /// A device known only by its id, site, profile and address, everything else unset: what
    /// `probe` reads, and what tests and benchmarks build on.
    pub fn new(
        id: impl Into<String>,
        site: impl Into<String>,
        profile: impl Into<String>,
        address: Address,
    ) -> Device {
        Device {
            id: id.into(),
            site: site.into(),
            room: None,
            rack: None,
            profile: profile.into(),
            address,
            auth: None,
            role: None,
            interval: None,
            timeout: None,
            accuracy_pct: None,
            breaker_a: None,
            max_power_w: None,
            rated_cooling_w: None,
            rated_power_w: None,
            height_u: None,
        }
    }

    /// The series a value of `field` from this device belongs to: its place as tags, and its
    /// PUE role on un-pointed power and energy (the collector's plans tag the same way).
    pub fn series(&self, field: crate::model::Field, point: Option<&str>) -> crate::model::Series {
        let mut tags: crate::model::Tags =
            vec![("site", self.site.clone()), ("device", self.id.clone())];
        if let Some(room) = &self.room {
            tags.push(("room", room.clone()));
        }
        if let Some(rack) = &self.rack {
            tags.push(("rack", rack.clone()));
        }
        match point {
            Some(p) => tags.push(("point", p.to_owned())),
            None => {
                if let (Some(role), crate::model::Measurement::Power) =
                    (self.role, field.measurement())
                {
                    tags.push(("role", role.tag().to_owned()));
                }
            }
        }
        crate::model::Series::new(field.measurement(), tags)
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

// ---- raw, as written ----

#[derive(Debug, Deserialize)]
struct RawCollector {
    name: Option<String>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    interval: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    timeout: Option<Duration>,
    max_concurrent_polls: Option<usize>,
    snmp_max_repetitions: Option<u32>,
    snmp_max_varbinds: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct RawStore {
    path: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    retention: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    rollup_retention: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "version")]
enum RawAuth {
    #[serde(rename = "v1")]
    V1 { community: String },
    #[serde(rename = "v2c")]
    V2c { community: String },
    #[serde(rename = "v3")]
    V3 {
        user: String,
        auth_protocol: Option<V3Auth>,
        auth_key: Option<String>,
        priv_protocol: Option<V3Priv>,
        priv_key: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
struct RawSite {
    id: String,
    name: Option<String>,
    emission_factor_kg_per_kwh: Option<f64>,
    tariff_hkd_per_kwh: Option<f64>,
    timezone: Option<String>,
    #[serde(default)]
    rooms: Vec<RawRoom>,
}

#[derive(Debug, Deserialize)]
struct RawRoom {
    id: String,
    #[serde(default)]
    racks: Vec<RawRack>,
}

#[derive(Debug, Deserialize)]
struct RawRack {
    id: String,
    power_budget_w: Option<f64>,
    space_u: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawDevice {
    id: String,
    site: String,
    room: Option<String>,
    rack: Option<String>,
    profile: String,
    address: String,
    auth: Option<String>,
    role: Option<RawRole>,
    category: Option<i64>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    interval: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    timeout: Option<Duration>,
    accuracy_pct: Option<f64>,
    breaker_a: Option<f64>,
    max_power_w: Option<f64>,
    rated_cooling_w: Option<f64>,
    rated_power_w: Option<f64>,
    height_u: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawRole {
    Facility,
    It,
    Cooling,
    Lighting,
    Other,
}

fn de_duration_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "'{s}' is not a duration like \"10s\" or \"2m\" ({e})"
        ))
    })
}

const TOP_KEYS: &[&str] = &[
    "collector",
    "store",
    "influx",
    "profile_dirs",
    "auths",
    "sites",
    "devices",
];

/// Collects problems for one source file.
struct Checker<'a> {
    file: String,
    src: &'a str,
    lines: HashMap<String, usize>,
    env_keys: HashMap<String, String>,
    problems: Vec<Problem>,
    /// Sites whose own entry is broken: their rooms and racks are unknown, not missing.
    broken_sites: HashSet<String>,
}

impl Checker<'_> {
    fn push(&mut self, key: &str, message: impl Into<String>) {
        let (source, line) = match self.env_keys.get(key) {
            Some(var) => (format!("env {var}"), None),
            None => (self.file.clone(), self.line_for(key)),
        };
        self.problems.push(Problem {
            source,
            line,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// The line of `key`, or of its nearest parent that is in the file.
    fn line_for(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some(off) = self.lines.get(k) {
                return Some(line_of(self.src, *off));
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }

    /// Deserializes one section, reporting every unknown key and the first type error.
    fn section<T: DeserializeOwned>(&mut self, key: &str, value: toml::Value) -> Option<T> {
        let mut unknown = Vec::new();
        let mut on_unknown = |p: serde_ignored::Path<'_>| unknown.push(ignored_path(&p));
        let de = serde_ignored::Deserializer::new(value, &mut on_unknown);
        let result: Result<T, _> = serde_path_to_error::deserialize(de);
        for u in unknown {
            let full = join(key, &u);
            self.push(&full, "unknown key");
        }
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let sub = error_path(e.path());
                let full = join(key, &sub);
                let msg = e.inner().message().to_owned();
                self.push(&full, msg);
                None
            }
        }
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (_, true) => a.to_owned(),
        (true, _) => b.to_owned(),
        _ if b.starts_with('[') => format!("{a}{b}"),
        _ => format!("{a}.{b}"),
    }
}

fn error_path(p: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in p.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => {
                out = join(&out, key);
            }
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

fn ignored_path(p: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match p {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        P::Map { parent, key } => join(&ignored_path(parent), key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// Walks the spanned document and records where every key path starts.
fn index_spans(table: &DeTable<'_>, prefix: &str, out: &mut HashMap<String, usize>) {
    for (k, v) in table.iter() {
        let path = join(prefix, k.get_ref());
        out.insert(path.clone(), k.span().start);
        index_value(v.get_ref(), &path, out);
    }
}

fn index_value(v: &DeValue<'_>, path: &str, out: &mut HashMap<String, usize>) {
    match v {
        DeValue::Table(t) => index_spans(t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.entry(p.clone()).or_insert(item.span().start);
                index_value(item.get_ref(), &p, out);
            }
        }
        _ => {}
    }
}

/// Applies `KILOWATCH_SECTION__KEY=value` overrides to `collector` and `store`.
fn apply_env(
    doc: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
    env_keys: &mut HashMap<String, String>,
) {
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            continue;
        };
        let section = section.to_ascii_lowercase();
        if section != "collector" && section != "store" {
            continue;
        }
        let key = key.to_ascii_lowercase();
        // A bare word is a string; anything TOML can parse (numbers, quoted strings) is typed.
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        let entry = doc
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = entry {
            t.insert(key.clone(), value);
            env_keys.insert(format!("{section}.{key}"), name);
        }
    }
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
        Config::from_str(&src, &file, &base_dir, env).map(|mut c| {
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
        let mut doc =
            <toml::Table as serde::Deserialize>::deserialize(deserializer).map_err(|e| {
                vec![Problem {
                    source: file.to_owned(),
                    line: e.span().map(|s| line_of(src, s.start)),
                    key: String::new(),
                    message: e.message().to_owned(),
                }]
            })?;
        let mut c = Checker {
            file: file.to_owned(),
            src,
            lines,
            env_keys: HashMap::new(),
            problems: Vec::new(),
            broken_sites: HashSet::new(),
        };
        apply_env(&mut doc, env, &mut c.env_keys);

        for key in doc.keys() {
            if !TOP_KEYS.contains(&key.as_str()) {
                c.push(
                    key,
                    format!("unknown key; expected one of {}", TOP_KEYS.join(", ")),
                );
            }
        }

        let collector = doc
            .remove("collector")
            .and_then(|v| c.section::<RawCollector>("collector", v));
        let collector = CollectorConfig {
            name: collector
                .as_ref()
                .and_then(|r| r.name.clone())
                .unwrap_or_else(host_name),
            interval: collector
                .as_ref()
                .and_then(|r| r.interval)
                .unwrap_or(Duration::from_secs(10)),
            timeout: collector
                .as_ref()
                .and_then(|r| r.timeout)
                .unwrap_or(Duration::from_secs(2)),
            max_concurrent_polls: collector
                .as_ref()
                .and_then(|r| r.max_concurrent_polls)
                .unwrap_or(64),
            snmp: SnmpLimits {
                max_repetitions: collector
                    .as_ref()
                    .and_then(|r| r.snmp_max_repetitions)
                    .unwrap_or(SnmpLimits::default().max_repetitions),
                max_varbinds: collector
                    .as_ref()
                    .and_then(|r| r.snmp_max_varbinds)
                    .unwrap_or(SnmpLimits::default().max_varbinds),
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

        let store = doc
            .remove("store")
            .and_then(|v| c.section::<RawStore>("store", v));
        let store = StoreConfig {
            path: base_dir.join(
                store
                    .as_ref()
                    .and_then(|s| s.path.clone())
                    .unwrap_or_else(|| PathBuf::from("kilowatch.db")),
            ),
            retention: store.as_ref().and_then(|s| s.retention),
            rollup_retention: store.as_ref().and_then(|s| s.rollup_retention),
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

        let profile_dirs: Vec<PathBuf> = doc
            .remove("profile_dirs")
            .and_then(|v| c.section::<Vec<PathBuf>>("profile_dirs", v))
            .unwrap_or_default()
            .into_iter()
            .map(|d| base_dir.join(d))
            .collect();
        let (profiles, profile_problems) = ProfileSet::load(&profile_dirs);
        c.problems
            .extend(profile_problems.into_iter().map(|p| Problem {
                source: p.file.display().to_string(),
                line: p.line,
                key: String::new(),
                message: p.message,
            }));

        let influx = doc
            .remove("influx")
            .and_then(|v| c.section::<RawInflux>("influx", v))
            .map(|raw| {
                if let Err(e) = check_influx_url(&raw.url) {
                    c.push("influx.url", e);
                }
                let mut secret = |key: &str, r: &Option<String>| {
                    r.as_ref()
                        .and_then(|r| match SecretRef::parse(r).and_then(|r| r.load()) {
                            Ok(s) => Some(s),
                            Err(e) => {
                                c.push(&format!("influx.{key}"), format!("missing secret: {e}"));
                                None
                            }
                        })
                };
                let token = secret("token", &raw.token);
                let password = secret("password", &raw.password);
                InfluxConfig {
                    url: raw.url,
                    token,
                    password,
                    max_outbox_bytes: raw.max_outbox_bytes.unwrap_or(1 << 30),
                }
            });
        let written_roles = roles_as_written(doc.get("devices"));
        let auths = check_auths(&mut c, doc.remove("auths"));
        let sites = check_sites(&mut c, doc.remove("sites"));
        let devices = check_devices(&mut c, doc.remove("devices"), &sites, &auths, &profiles);
        check_pue_meters(&mut c, &sites, &written_roles);

        if c.problems.is_empty() {
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
            })
        } else {
            Err(c.problems)
        }
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
        let mut c = Checker {
            file: "<flags>".into(),
            src,
            lines: HashMap::new(),
            env_keys: HashMap::new(),
            problems: Vec::new(),
            broken_sites: HashSet::new(),
        };
        let auths = check_auths(&mut c, doc.get("auths").cloned());
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

fn table_entries(c: &mut Checker<'_>, key: &str, v: Option<toml::Value>) -> Vec<toml::Value> {
    match v {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(_) => {
            c.push(key, format!("expected an array of tables ([[{key}]])"));
            Vec::new()
        }
    }
}

/// Auths by name; `None` where the auth is present but broken (so devices do not also
/// report it as unknown).
fn check_auths(c: &mut Checker<'_>, v: Option<toml::Value>) -> BTreeMap<String, Option<Auth>> {
    let mut out = BTreeMap::new();
    let table = match v {
        None => return out,
        Some(toml::Value::Table(t)) => t,
        Some(_) => {
            c.push("auths", "expected a table of named auths ([auths.NAME])");
            return out;
        }
    };
    for (name, value) in table {
        let key = format!("auths.{name}");
        let raw = c.section::<RawAuth>(&key, value);
        let auth = raw.and_then(|raw| auth_secrets(c, &key, raw));
        out.insert(name, auth);
    }
    out
}

/// Loads an auth's secrets; every missing one is a problem naming its key.
fn auth_secrets(c: &mut Checker<'_>, key: &str, raw: RawAuth) -> Option<Auth> {
    let load = |c: &mut Checker<'_>, field: &str, reference: &str| match SecretRef::parse(reference)
        .and_then(|r| r.load())
    {
        Ok(s) => Some(s),
        Err(e) => {
            c.push(&format!("{key}.{field}"), format!("missing secret: {e}"));
            None
        }
    };
    // RFC 3414 §11.2: a v3 passphrase shorter than 8 characters is refused by agents; say so
    // here, by key and never by value, rather than as an authentication failure at every poll.
    let v3_key = |c: &mut Checker<'_>, field: &str, reference: &str| {
        let s = load(c, field, reference)?;
        if s.expose().chars().count() < 8 {
            c.push(
                &format!("{key}.{field}"),
                "an SNMPv3 key must be at least 8 characters (RFC 3414)",
            );
            return None;
        }
        Some(s)
    };
    match raw {
        RawAuth::V1 { community } => {
            load(c, "community", &community).map(|s| Auth::SnmpV1 { community: s })
        }
        RawAuth::V2c { community } => {
            load(c, "community", &community).map(|s| Auth::SnmpV2c { community: s })
        }
        RawAuth::V3 {
            user,
            auth_protocol,
            auth_key,
            priv_protocol,
            priv_key,
        } => {
            let security = match (auth_protocol, auth_key, priv_protocol, priv_key) {
                (None, None, None, None) => V3Security::NoAuthNoPriv,
                (Some(protocol), Some(k), None, None) => V3Security::AuthNoPriv {
                    protocol,
                    key: v3_key(c, "auth_key", &k)?,
                },
                (Some(protocol), Some(k), Some(cipher), Some(pk)) => {
                    let key_secret = v3_key(c, "auth_key", &k);
                    let priv_secret = v3_key(c, "priv_key", &pk);
                    V3Security::AuthPriv {
                        protocol,
                        key: key_secret?,
                        cipher,
                        priv_key: priv_secret?,
                    }
                }
                (ap, ak, pp, pk) => {
                    let missing: Vec<&str> = [
                        (ap.is_none(), "auth_protocol"),
                        (ak.is_none(), "auth_key"),
                        (pp.is_none() && pk.is_some(), "priv_protocol"),
                        (pk.is_none() && pp.is_some(), "priv_key"),
                    ]
                    .into_iter()
                    .filter_map(|(m, k)| m.then_some(k))
                    .collect();
                    c.push(
                        key,
                        format!(
                            "incomplete v3 security: missing {}; give auth_protocol and auth_key (authNoPriv), plus priv_protocol and priv_key (authPriv), or none (noAuthNoPriv)",
                            missing.join(", ")
                        ),
                    );
                    return None;
                }
            };
            Some(Auth::SnmpV3 { user, security })
        }
    }
}

fn check_sites(c: &mut Checker<'_>, v: Option<toml::Value>) -> Vec<Site> {
    let mut sites = Vec::new();
    let mut seen = HashSet::new();
    for (i, value) in table_entries(c, "sites", v).into_iter().enumerate() {
        let key = format!("sites[{i}]");
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        let Some(raw) = c.section::<RawSite>(&key, value) else {
            // Keep the id so its devices are not also reported as in an unknown site.
            if let Some(id) = id {
                c.broken_sites.insert(id.clone());
                sites.push(Site {
                    name: id.clone(),
                    id,
                    rooms: Vec::new(),
                    emission_factor_kg_per_kwh: None,
                    tariff_hkd_per_kwh: None,
                    timezone: crate::calendar::host_zone(),
                });
            }
            continue;
        };
        if !seen.insert(raw.id.clone()) {
            c.push(
                &format!("{key}.id"),
                format!("duplicate site id '{}'", raw.id),
            );
        }
        let timezone = match raw.timezone.as_deref().map(crate::calendar::zone) {
            None => crate::calendar::host_zone(),
            Some(Ok(tz)) => tz,
            Some(Err(e)) => {
                c.push(&format!("{key}.timezone"), e.to_string());
                crate::calendar::host_zone()
            }
        };
        sites.push(Site {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            timezone,
            emission_factor_kg_per_kwh: raw.emission_factor_kg_per_kwh,
            tariff_hkd_per_kwh: raw.tariff_hkd_per_kwh,
            id: raw.id,
            rooms: raw
                .rooms
                .into_iter()
                .map(|r| Room {
                    id: r.id,
                    racks: r
                        .racks
                        .into_iter()
                        .map(|k| Rack {
                            id: k.id,
                            power_budget_w: k.power_budget_w,
                            space_u: k.space_u,
                        })
                        .collect(),
                })
                .collect(),
        });
    }
    sites
}

fn check_devices(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    sites: &[Site],
    auths: &BTreeMap<String, Option<Auth>>,
    profiles: &ProfileSet,
) -> Vec<Device> {
    let entries = table_entries(c, "devices", v);
    // Exactly sized: at 10,000 devices, doubling left 2 MB unused.
    let mut devices = Vec::with_capacity(entries.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, value) in entries.into_iter().enumerate() {
        let key = format!("devices[{i}]");
        let Some(raw) = c.section::<RawDevice>(&key, value) else {
            continue;
        };
        let mut ok = true;
        if let Some(first) = seen.insert(raw.id.clone(), i) {
            c.push(
                &format!("{key}.id"),
                format!(
                    "duplicate device id '{}' (first at devices[{first}])",
                    raw.id
                ),
            );
            ok = false;
        }
        match sites.iter().find(|s| s.id == raw.site) {
            None => {
                let known: Vec<_> = sites.iter().map(|s| s.id.as_str()).collect();
                c.push(
                    &format!("{key}.site"),
                    format!("unknown site '{}'; known: {}", raw.site, known.join(", ")),
                );
                ok = false;
            }
            Some(site) if c.broken_sites.contains(&site.id) => {}
            Some(site) => {
                if let Some(room) = &raw.room {
                    match site.rooms.iter().find(|r| &r.id == room) {
                        None => {
                            c.push(
                                &format!("{key}.room"),
                                format!("unknown room '{room}' in site '{}'", site.id),
                            );
                            ok = false;
                        }
                        Some(r) => {
                            if let Some(rack) = &raw.rack
                                && !r.racks.iter().any(|k| &k.id == rack)
                            {
                                c.push(
                                    &format!("{key}.rack"),
                                    format!("unknown rack '{rack}' in room '{room}'"),
                                );
                                ok = false;
                            }
                        }
                    }
                } else if raw.rack.is_some() {
                    c.push(&format!("{key}.rack"), "a rack needs its 'room'");
                    ok = false;
                }
            }
        }
        if let Some(w) = raw.max_power_w
            && !(w.is_finite() && w > 0.0)
        {
            c.push(
                &format!("{key}.max_power_w"),
                format!("must be a positive number of watts, found {w}"),
            );
            ok = false;
        }
        // "auto": the profiles are detected when collection starts (SNMP only).
        let auto = raw.profile == "auto";
        let profile = profiles.get(&raw.profile);
        if profile.is_none() && !auto {
            let known: Vec<_> = profiles.names().collect();
            c.push(
                &format!("{key}.profile"),
                format!(
                    "unknown profile '{}'; known: {}",
                    raw.profile,
                    known.join(", ")
                ),
            );
            ok = false;
        }
        let address = match Address::parse(&raw.address) {
            Ok((addr, Credential::None)) => Some(addr),
            Ok(_) => {
                c.push(
                    &format!("{key}.address"),
                    "credentials do not belong in the address; name an auth with 'auth'",
                );
                None
            }
            Err(e) => {
                c.push(&format!("{key}.address"), format!("bad address URL: {e}"));
                None
            }
        };
        if let (true, Some(a)) = (auto, &address)
            && a.protocol() != "snmp"
        {
            c.push(
                &format!("{key}.profile"),
                "'auto' needs SNMP: a Modbus device cannot say what it is; name its profile",
            );
            ok = false;
        }
        if let (Some(a), Some(p)) = (&address, profile)
            && a.protocol() != p.protocol()
        {
            c.push(
                &format!("{key}.address"),
                format!(
                    "profile '{}' reads {} but the address is {}",
                    raw.profile,
                    p.protocol(),
                    a.protocol()
                ),
            );
            ok = false;
        }
        let auth = match (&raw.auth, &address) {
            (Some(name), _) => match auths.get(name) {
                Some(a) => a.clone(),
                None => {
                    let known: Vec<_> = auths.keys().map(String::as_str).collect();
                    c.push(
                        &format!("{key}.auth"),
                        format!("unknown auth '{name}'; known: {}", known.join(", ")),
                    );
                    ok = false;
                    None
                }
            },
            (None, Some(Address::Snmp { .. })) => {
                c.push(
                    &format!("{key}.auth"),
                    "an SNMP device needs an 'auth' (its community)",
                );
                ok = false;
                None
            }
            (None, _) => None,
        };
        let role = match (raw.role, raw.category) {
            (None, None) => None,
            (None, Some(_)) => {
                c.push(
                    &format!("{key}.category"),
                    "'category' only applies to role = \"it\"",
                );
                None
            }
            (Some(RawRole::It), Some(n)) => match Category::from_number(n) {
                Some(cat) => Some(Role::It(cat)),
                None => {
                    c.push(
                        &format!("{key}.category"),
                        format!("expected 1, 2 or 3, found {n}"),
                    );
                    None
                }
            },
            (Some(RawRole::It), None) => {
                c.push(
                    &format!("{key}.role"),
                    "role \"it\" needs 'category' = 1 (UPS output), 2 (PDU output) or 3 (IT equipment input)",
                );
                None
            }
            (Some(_), Some(_)) => {
                c.push(
                    &format!("{key}.category"),
                    "'category' only applies to role = \"it\"",
                );
                None
            }
            (Some(RawRole::Facility), None) => Some(Role::Facility),
            (Some(RawRole::Cooling), None) => Some(Role::Cooling),
            (Some(RawRole::Lighting), None) => Some(Role::Lighting),
            (Some(RawRole::Other), None) => Some(Role::Other),
        };
        if let (true, Some(address)) = (ok, address) {
            devices.push(Device {
                id: raw.id,
                site: raw.site,
                room: raw.room,
                rack: raw.rack,
                profile: raw.profile,
                address,
                auth,
                role,
                interval: raw.interval,
                timeout: raw.timeout,
                accuracy_pct: raw.accuracy_pct,
                breaker_a: raw.breaker_a,
                max_power_w: raw.max_power_w,
                rated_cooling_w: raw.rated_cooling_w,
                rated_power_w: raw.rated_power_w,
                height_u: raw.height_u,
            });
        }
    }
    devices
}

/// The `[influx] url` checks that need no network: scheme, and v1 or v2 parameters.
fn check_influx_url(s: &str) -> Result<(), String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme '{}' is not http or https", url.scheme()));
    }
    if url.password().is_some() {
        return Err("a password in the URL is refused: use 'password = \"env:NAME\"'".into());
    }
    let has = |k: &str| url.query_pairs().any(|(n, _)| n == k);
    if has("db") == (has("org") && has("bucket")) {
        return Err(
            "give ?db=NAME (v1 /write) or ?org=ORG&bucket=BUCKET (v2 /api/v2/write)".into(),
        );
    }
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "db" | "rp" | "org" | "bucket" => {}
            "ca" if std::path::Path::new(v.as_ref()).is_file() => {}
            "ca" => return Err(format!("CA file '{v}' does not exist")),
            other => {
                return Err(format!(
                    "unknown URL parameter '{other}'; expected db, rp, org, bucket, ca"
                ));
            }
        }
    }
    Ok(())
}

/// (site, role) of every device as written, so a device with some other mistake does not
/// also make its site look unmetered.
fn roles_as_written(devices: Option<&toml::Value>) -> Vec<(String, String)> {
    let Some(toml::Value::Array(items)) = devices else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|d| {
            let site = d.get("site")?.as_str()?;
            let role = d.get("role")?.as_str()?;
            Some((site.to_owned(), role.to_owned()))
        })
        .collect()
}

/// PUE needs a boundary meter and an IT meter in every site that meters (domain/pue.md §2). A
/// site where no device has a role yet (a draft from `discover`, or monitoring only) is polled,
/// and its PUE report says there is no facility meter.
fn check_pue_meters(c: &mut Checker<'_>, sites: &[Site], roles: &[(String, String)]) {
    for (i, site) in sites.iter().enumerate() {
        let has = |role: &str| roles.iter().any(|(s, r)| s == &site.id && r == role);
        if !roles.iter().any(|(s, _)| s == &site.id) {
            continue;
        }
        let key = format!("sites[{i}]");
        if !has("facility") {
            c.push(
                &key,
                format!("site '{}' has no device with role = \"facility\" (total facility input), so PUE cannot be computed", site.id),
            );
        }
        if !has("it") {
            c.push(
                &key,
                format!(
                    "site '{}' has no device with role = \"it\", so PUE cannot be computed",
                    site.id
                ),
            );
        }
    }
}
