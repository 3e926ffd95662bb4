//! Device profiles: how to read one kind of device, as data (`config/profiles/*.toml`).
//!
//! A profile is parsed strictly (unknown keys are errors) and checked before any I/O, so a
//! mistake in a profile is reported with its file and line, not found at poll time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::Field;

mod docs;
mod encode;
mod redfish;
pub use docs::fields_markdown;
pub use redfish::{RedfishMetric, RedfishProfile, Step, parse_path};
mod ipmi;
mod snmp_check;
pub use ipmi::{DcmiMetric, DcmiReading, IpmiProfile, SensorRule};

/// The profiles shipped in `config/profiles/`, embedded at build time so the binary needs no
/// files beside it.
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// Parsed by first reading `protocol`, then the whole file as that protocol's struct: a
/// serde-tagged enum would buffer the content and lose the line of an unknown key.
#[derive(Debug, Clone)]
pub enum Profile {
    Snmp(SnmpProfile),
    Modbus(ModbusProfile),
    Redfish(RedfishProfile),
    Ipmi(IpmiProfile),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnmpProfile {
    /// `"snmp"` or `"modbus"`; already read to choose this struct.
    #[serde(rename = "protocol")]
    _protocol: String,
    pub description: String,
    /// sysObjectID prefixes this profile matches (for `probe` auto-detection).
    #[serde(default)]
    pub sys_object_id: Vec<String>,
    /// When several families share a sysObjectID, text sysDescr must contain (any of these).
    #[serde(default)]
    pub sys_descr_contains: Vec<String>,
    /// Subtrees of the MIB this profile reads (a table or a group): a device that answers a
    /// GETNEXT inside any of them speaks it, whatever its sysObjectID (issue 17). One GETNEXT
    /// each; `probe` reads every profile a device answers.
    #[serde(default)]
    pub detect: Vec<String>,
    pub metrics: Vec<SnmpMetric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnmpMetric {
    #[serde(deserialize_with = "de_field")]
    pub field: Field,
    /// A scalar OID, read with GET.
    pub oid: Option<String>,
    /// A table column, walked with GETBULK; each row is one point unless `aggregate` is set.
    pub walk: Option<String>,
    /// Multiplier from the wire value to the field's unit.
    #[serde(default = "one")]
    pub scale: f64,
    /// `point` tag for a scalar, or the prefix of the row index for a walk (`phase` -> `phase1`).
    pub point: Option<std::sync::Arc<str>>,
    /// Fold the rows of a walk into one value.
    pub aggregate: Option<Aggregate>,
    /// Keep only rows whose index ends with these components (e.g. a sensor type carried in
    /// the index); they are removed from the row's point.
    pub index_suffix: Option<String>,
    /// A column of the same table holding each row's name (e.g. an outlet label): the point
    /// tag becomes `<point><name>`, falling back to the index when a row has no name.
    pub point_name: Option<String>,
    /// Keep only rows whose name (from `point_name`) contains one of these, ignoring case
    /// (IPMI-style tables mixing temperatures, fans and voltages in one column); for a scalar,
    /// read it only when the scalar `name_oid` names it so.
    #[serde(default)]
    pub name_contains: Vec<String>,
    /// For a scalar: another scalar holding its name (name/value pairs of scalars, ServersCheck's
    /// sensorNname / sensorNValue, whose kind the user sets), checked by `name_contains`.
    pub name_oid: Option<String>,
    /// Keep only rows where this column of the same table holds one of `where_equals`
    /// (a sensor-type or status column).
    pub where_column: Option<String>,
    #[serde(default)]
    pub where_equals: Vec<Match>,
    /// Or keep rows where that column holds an OID beginning with one of these, component by
    /// component: type columns whose value is a well-known OID with an instance appended
    /// (Liebert's lgpEnvTemperatureDescrDegC = `...4.1.1.3.1.1`).
    #[serde(default)]
    pub where_prefix: Vec<String>,
    /// Raw values meaning "no sensor" or "not available" (e.g. -1), dropped before scaling.
    #[serde(default)]
    pub invalid: Vec<f64>,
    /// The raw range a real reading lies in, where the MIB says so ("a negative value means
    /// not available"): anything outside is no data.
    pub valid_range: Option<[f64; 2]>,
    /// For a counter: the raw value at which it wraps to zero (4294967296 for a Counter32).
    pub wraps_at: Option<f64>,
    /// Divide by this OID (scalar) or column (walk, same row): used / size ratios.
    pub divide_by: Option<String>,
    /// A column of the same table stating each row's decimal places (ENTITY-SENSOR-MIB
    /// `entPhySensorPrecision`): the value is divided by 10 to that power.
    pub precision_column: Option<String>,
    /// A column of the same table stating each row's SI prefix as ENTITY-SENSOR-MIB's
    /// `SensorDataScale` (8 milli, 9 units, 10 kilo, ...): the value is multiplied by it, so a
    /// device saying kW or mA is read in W or A.
    pub si_prefix_column: Option<String>,
    /// Added after scaling: `value = raw [/ divisor] * scale + offset` (e.g. 100 - idle %).
    #[serde(default)]
    pub offset: f64,
    /// A temperature the device states in °C or °F as a setting says: when that setting (a
    /// scalar `oid`, or a `column` whose row is this row or the table above it) holds one of
    /// `equals`, the reading is in °F and converted.
    pub fahrenheit_when: Option<UnitSwitch>,
    /// For `status`: what each code of the MIB's enumeration means (`{ "1" = "normal" }`).
    /// The code is stored; the names are how `probe` and alerts say it.
    #[serde(default)]
    pub states: BTreeMap<String, String>,
    /// For a 0/1 field (`on_battery`): the codes of the MIB's enumeration that mean 1; any
    /// other code reads 0 (UPS-MIB upsOutputSource: battery(5)).
    #[serde(default)]
    pub true_when: Vec<f64>,
    /// The value is text carrying a number ("77 F", "24.5 C", "45% of maximum"): the first
    /// decimal number in it is the raw value. Text without one is "not available", never 0.
    #[serde(default)]
    pub text_number: bool,
    /// Read only when no other metric of the profile read this field in the same poll (an
    /// older column of the same quantity: Liebert's whole degrees beside the tenths column), and
    /// no other module detected on the device read this field at this point: the first-module
    /// rule (vendor before standard) does not hold for it, so a vendor MIB's reading that is no
    /// better than a standard MIB's (UPS-MIB's battery charge) yields to the standard one.
    #[serde(default)]
    pub fallback: bool,
    /// Not a key: which module of a merged profile (`profile = "auto"`) this metric comes from,
    /// so that `fallback` yields within its own module there as it does in `probe`.
    #[serde(skip)]
    pub origin: usize,
}

/// Where a device says which unit a reading is in, and the values meaning the other unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSwitch {
    pub oid: Option<String>,
    pub column: Option<String>,
    #[serde(default)]
    pub equals: Vec<Match>,
    /// Or: the setting is text ending with one of these, ignoring case and trailing blanks
    /// (Asentria's esPointValueStr "77 F": the unit letter in the reading itself).
    #[serde(default)]
    pub ends_with: Vec<String>,
}

impl SnmpMetric {
    /// The name the MIB gives a `status` code, if the profile lists it.
    pub fn state_name(&self, code: f64) -> Option<&str> {
        self.states
            .iter()
            .find(|(k, _)| k.parse::<f64>().is_ok_and(|c| c == code))
            .map(|(_, v)| v.as_str())
    }
}

/// A cell value to select rows by: a number, or text (an OID value such as
/// "1.3.6.1.2.1.25.2.1.2", or a string).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Match {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    Mean,
    Sum,
    Max,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusProfile {
    /// `"snmp"` or `"modbus"`; already read to choose this struct.
    #[serde(rename = "protocol")]
    _protocol: String,
    pub description: String,
    /// Largest read this device accepts (the protocol allows 125; some devices take fewer).
    #[serde(default = "max_registers")]
    pub max_registers_per_read: u16,
    pub metrics: Vec<ModbusMetric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusMetric {
    #[serde(deserialize_with = "de_field")]
    pub field: Field,
    pub table: RegisterTable,
    /// 0-based address on the wire (PDU address), not the vendor's 3xxxx/4xxxx number.
    pub address: u16,
    #[serde(rename = "type")]
    pub ty: RegisterType,
    #[serde(default)]
    pub word_order: WordOrder,
    #[serde(default = "one")]
    pub scale: f64,
    /// Address of an int16 scale-factor register in the same table (SunSpec `*_SF`):
    /// value = raw * scale * 10^sf.
    pub scale_factor: Option<u16>,
    /// Raw values that mean "not available" (e.g. SunSpec int16 0x8000 = -32768).
    #[serde(default)]
    pub invalid: Vec<f64>,
    /// The raw range a real reading lies in; anything outside is "not available".
    pub valid_range: Option<[f64; 2]>,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
    /// For a counter: the raw value at which it wraps to zero (4294967296 for a uint32).
    pub wraps_at: Option<f64>,
    pub point: Option<std::sync::Arc<str>>,
}

fn max_registers() -> u16 {
    125
}

/// Which read function code: 3 (holding) or 4 (input). There is no write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterTable {
    Holding,
    Input,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterType {
    Uint16,
    Int16,
    Uint32,
    Int32,
    /// SunSpec accumulator: an unsigned 32-bit counter.
    Acc32,
    Float32,
    Uint64,
    Int64,
    Float64,
}

impl RegisterType {
    pub fn words(self) -> u16 {
        match self {
            RegisterType::Uint16 | RegisterType::Int16 => 1,
            RegisterType::Uint32
            | RegisterType::Int32
            | RegisterType::Acc32
            | RegisterType::Float32 => 2,
            RegisterType::Uint64 | RegisterType::Int64 | RegisterType::Float64 => 4,
        }
    }
}

/// Order of 16-bit words and bytes in multi-register values, named as Telegraf names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum WordOrder {
    #[default]
    ABCD,
    CDAB,
    BADC,
    DCBA,
}

pub(crate) fn one() -> f64 {
    1.0
}

pub(crate) fn de_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
    let s = String::deserialize(d)?;
    Field::from_name(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown field '{s}'; expected one of {}",
            Field::names().join(", ")
        ))
    })
}

impl Profile {
    pub fn protocol(&self) -> &'static str {
        match self {
            Profile::Snmp(_) => "snmp",
            Profile::Modbus(_) => "modbus",
            Profile::Redfish(_) => "redfish",
            Profile::Ipmi(_) => "ipmi",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Profile::Snmp(p) => &p.description,
            Profile::Modbus(p) => &p.description,
            Profile::Redfish(p) => &p.description,
            Profile::Ipmi(p) => &p.description,
        }
    }

    /// Checks what serde cannot: exactly one of `oid`/`walk`, valid OIDs, register spans.
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self {
            Profile::Snmp(p) => problems.extend(p.check()),
            Profile::Modbus(p) => {
                if !(1..=125).contains(&p.max_registers_per_read) {
                    problems.push("max_registers_per_read: must be 1..=125".into());
                }
                for (i, m) in p.metrics.iter().enumerate() {
                    if m.ty.words() > p.max_registers_per_read {
                        problems.push(format!("metrics[{i}]: wider than max_registers_per_read"));
                    }
                    if u32::from(m.address) + u32::from(m.ty.words()) > 0x1_0000 {
                        problems.push(format!("metrics[{i}]: register runs past address 65535"));
                    }
                }
            }
            Profile::Redfish(p) => problems.extend(p.check()),
            Profile::Ipmi(p) => problems.extend(p.check()),
        }
        problems
    }
}

fn parse_profile(src: &str) -> Result<Profile, toml::de::Error> {
    let table: toml::Table = toml::from_str(src)?;
    match table.get("protocol").and_then(toml::Value::as_str) {
        Some("snmp") => toml::from_str(src).map(Profile::Snmp),
        Some("modbus") => toml::from_str(src).map(Profile::Modbus),
        Some("redfish") => toml::from_str(src).map(Profile::Redfish),
        Some("ipmi") => toml::from_str(src).map(Profile::Ipmi),
        _ => Err(serde::de::Error::custom(
            "'protocol' must be \"snmp\", \"modbus\", \"redfish\" or \"ipmi\"",
        )),
    }
}

/// Parses a dotted numeric OID (leading dot allowed).
pub fn parse_oid(s: &str) -> Option<Vec<u32>> {
    let s = s.strip_prefix('.').unwrap_or(s);
    let parts: Option<Vec<u32>> = s.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| p.len() >= 2)
}

/// Every known profile by name (the file stem).
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
}

/// A problem in a profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileProblem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl ProfileSet {
    /// The built-in profiles plus every `*.toml` in `dirs` (a later file overrides a built-in).
    pub fn load(dirs: &[PathBuf]) -> (ProfileSet, Vec<ProfileProblem>) {
        let mut set = ProfileSet::default();
        let mut problems = Vec::new();
        for (name, src) in BUILTIN {
            set.add(
                name,
                Path::new(&format!("<builtin>/{name}.toml")),
                src,
                &mut problems,
            );
        }
        for dir in dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(ProfileProblem {
                        file: dir.clone(),
                        line: None,
                        message: format!("cannot read profile directory: {}", e.kind()),
                    });
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                match (name, std::fs::read_to_string(&path)) {
                    (Some(name), Ok(src)) => set.add(&name, &path, &src, &mut problems),
                    (_, Err(e)) => problems.push(ProfileProblem {
                        file: path.clone(),
                        line: None,
                        message: format!("cannot read: {}", e.kind()),
                    }),
                    (None, _) => {}
                }
            }
        }
        (set, problems)
    }

    fn add(&mut self, name: &str, file: &Path, src: &str, problems: &mut Vec<ProfileProblem>) {
        match parse_profile(src) {
            Ok(p) => {
                let found = p.check();
                if found.is_empty() {
                    self.profiles.insert(name.to_owned(), p);
                }
                problems.extend(found.into_iter().map(|message| ProfileProblem {
                    file: file.to_owned(),
                    line: metric_line(src, &message),
                    message,
                }));
            }
            Err(e) => problems.push(ProfileProblem {
                file: file.to_owned(),
                line: e.span().map(|s| line_of(src, s.start)),
                message: e.message().to_owned(),
            }),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Adds (or replaces) a profile: the merged profile of a device whose inventory says
    /// `profile = "auto"`.
    pub fn insert(&mut self, name: impl Into<String>, profile: Profile) {
        self.profiles.insert(name.into(), profile);
    }

    /// One SNMP profile reading everything `modules` read, in order: a later module's metric
    /// that would give the same field at the same point as an earlier one's is left out (the
    /// first module to read a field wins, as in `probe`), unless the earlier one is a
    /// `fallback`: then both stay, and decoding reads the fallback only where the other gave
    /// nothing. `None` when a module is unknown or not SNMP.
    pub fn merged(&self, modules: &[&str]) -> Option<Profile> {
        let mut first: Option<SnmpProfile> = None;
        // What earlier modules read: a later module does not read it again. A module's own
        // metrics all stay, even several for one field and point (three tables of one MIB).
        let mut taken = std::collections::HashSet::new();
        let mut metrics = Vec::new();
        for (origin, name) in modules.iter().enumerate() {
            let Profile::Snmp(p) = self.profiles.get(*name)? else {
                return None;
            };
            first.get_or_insert_with(|| p.clone());
            let key = |m: &SnmpMetric| {
                (
                    m.field,
                    m.point.clone(),
                    m.aggregate.is_some(),
                    m.walk.is_some(),
                )
            };
            let own: Vec<&SnmpMetric> = p
                .metrics
                .iter()
                .filter(|m| !taken.contains(&key(m)))
                .collect();
            taken.extend(p.metrics.iter().filter(|m| !m.fallback).map(key));
            metrics.extend(own.into_iter().map(|m| SnmpMetric {
                origin,
                ..m.clone()
            }));
        }
        let mut merged = first?;
        merged.description = format!("{} (auto: {})", merged.description, modules.join(" + "));
        merged.sys_object_id.clear();
        merged.detect.clear();
        merged.metrics = metrics;
        Some(Profile::Snmp(merged))
    }

    /// Every SNMP profile's `detect` subtrees, as (profile, subtree): what one GETNEXT each
    /// asks a device that its sysObjectID did not name.
    pub fn detectors(&self) -> Vec<(&str, Vec<u32>)> {
        self.profiles
            .iter()
            .filter_map(|(name, p)| match p {
                Profile::Snmp(s) => Some((name.as_str(), s)),
                Profile::Modbus(_) | Profile::Redfish(_) | Profile::Ipmi(_) => None,
            })
            .flat_map(|(name, s)| {
                s.detect
                    .iter()
                    .filter_map(|o| parse_oid(o))
                    .map(move |o| (name, o))
            })
            .collect()
    }

    /// The SNMP profile whose `sys_object_id` prefix is the longest match; among equal
    /// prefixes, one whose `sys_descr_contains` matches `descr` wins, and a profile whose
    /// `sys_descr_contains` does not match is never chosen.
    pub fn match_sys_object_id(&self, oid: &[u32], descr: &str) -> Option<(&str, &Profile)> {
        let descr = descr.to_lowercase();
        self.profiles
            .iter()
            .filter_map(|(name, p)| match p {
                Profile::Snmp(s) => {
                    let by_descr = !s.sys_descr_contains.is_empty();
                    if by_descr
                        && !s
                            .sys_descr_contains
                            .iter()
                            .any(|d| descr.contains(&d.to_lowercase()))
                    {
                        return None;
                    }
                    s.sys_object_id
                        .iter()
                        .filter_map(|o| parse_oid(o))
                        .filter(|prefix| oid.starts_with(prefix))
                        .map(|prefix| prefix.len())
                        .max()
                        .map(|len| ((len, by_descr), name.as_str(), p))
                }
                Profile::Modbus(_) | Profile::Redfish(_) | Profile::Ipmi(_) => None,
            })
            .max_by_key(|(rank, _, _)| *rank)
            .map(|(_, name, p)| (name, p))
    }
}

/// The line of the `[[metrics]]` header a "metrics[N]: ..." problem is about. The headers are
/// the metrics in order (TOML cannot mix them with an inline `metrics = [...]`); a profile
/// written inline gets no line.
fn metric_line(src: &str, message: &str) -> Option<usize> {
    let n: usize = message
        .strip_prefix("metrics[")?
        .split_once(']')?
        .0
        .parse()
        .ok()?;
    src.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.split('#')
                .next()
                .is_some_and(|h| h.trim() == "[[metrics]]")
        })
        .nth(n)
        .map(|(i, _)| i + 1)
}

/// 1-based line number of a byte offset.
pub fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
