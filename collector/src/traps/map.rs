//! Trap maps: which notification means what, as data (`config/traps/<mib family>.toml`, built in
//! with `include_str!`, plus any files a caller passes).
//!
//! A file names its MIB and lists `[[trap]]` entries: the snmpTrapOID, the MIB's name for it,
//! the effect (`raise` or `clear` an alert by name, or a `notice`), a one-line summary that may
//! quote varbinds as `{OID}`, and optional `when` conditions on varbinds (UPS-MIB's alarm-entry
//! traps say which alarm in `upsAlarmDescr`). Invariants: every entry that loads has a valid OID,
//! an effect with what it needs and nothing else, and valid OIDs in its conditions and summary;
//! for one trap OID the entries are tried in order (files passed by the caller before the
//! built-in ones), the first whose conditions all hold wins, and a trap no entry matches is
//! kept as [`TrapEffect::Unknown`] with its varbinds, never dropped.

use std::collections::HashMap;
use std::path::Path;

use kilowatch_core::config::Problem;
use kilowatch_core::event::{Severity, TrapEffect};
use serde::Deserialize;

use super::decode::{Decoded, SNMP_TRAP_OID};

/// The built-in maps: (file name for messages, contents).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "config/traps/ups-mib.toml",
        include_str!("../../../config/traps/ups-mib.toml"),
    ),
    (
        "config/traps/apc-powernet.toml",
        include_str!("../../../config/traps/apc-powernet.toml"),
    ),
    (
        "config/traps/eaton-xups.toml",
        include_str!("../../../config/traps/eaton-xups.toml"),
    ),
    (
        "config/traps/liebert-gp.toml",
        include_str!("../../../config/traps/liebert-gp.toml"),
    ),
    (
        "config/traps/raritan-pdu2.toml",
        include_str!("../../../config/traps/raritan-pdu2.toml"),
    ),
    (
        "config/traps/servertech-sentry3.toml",
        include_str!("../../../config/traps/servertech-sentry3.toml"),
    ),
    (
        "config/traps/servertech-sentry4.toml",
        include_str!("../../../config/traps/servertech-sentry4.toml"),
    ),
    (
        "config/traps/snmpv2-mib.toml",
        include_str!("../../../config/traps/snmpv2-mib.toml"),
    ),
];

/// Varbinds quoted in an unknown trap's summary at most.
const UNKNOWN_VARBINDS: usize = 8;
/// Characters of one quoted value at most.
const VALUE_CHARS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct TrapMap {
    by_oid: HashMap<String, Vec<Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// `UPS-MIB::upsTrapOnBattery`.
    name: String,
    effect: TrapEffect,
    summary: Vec<Piece>,
    when: Vec<Condition>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Varbind(String),
}

#[derive(Debug, Clone)]
struct Condition {
    varbind: String,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Equals(String),
    /// An OID-valued varbind at or below this OID.
    Under(String),
}

/// What a map made of a notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Meaning {
    pub name: Option<String>,
    pub effect: TrapEffect,
    pub summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    mib: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for people: where the MIB text came from
    reference: Option<String>,
    #[serde(default)]
    trap: Vec<toml::Spanned<RawTrap>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrap {
    name: String,
    oid: String,
    effect: RawEffect,
    alert: Option<String>,
    severity: Option<Severity>,
    summary: String,
    #[serde(default)]
    when: Vec<RawWhen>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawEffect {
    Raise,
    Clear,
    Notice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    varbind: String,
    equals: Option<String>,
    under: Option<String>,
}

impl TrapMap {
    /// The maps built into the binary (a unit test keeps them free of problems).
    pub fn builtin() -> TrapMap {
        let mut map = TrapMap::default();
        for (file, text) in BUILTIN {
            let problems = map.add_str(file, text);
            debug_assert!(
                problems.is_empty(),
                "built-in trap map {file}: {problems:?}"
            );
        }
        map
    }

    /// The caller's files (tried first, so they can override) and then the built-in maps;
    /// every problem in every file, or the map.
    pub fn with_files(paths: &[impl AsRef<Path>]) -> Result<TrapMap, Vec<Problem>> {
        let mut map = TrapMap::default();
        let mut problems = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let source = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => problems.extend(map.add_str(&source, &text)),
                Err(e) => problems.push(problem(&source, None, "", format!("cannot read: {e}"))),
            }
        }
        for (file, text) in BUILTIN {
            problems.extend(map.add_str(file, text));
        }
        if problems.is_empty() {
            Ok(map)
        } else {
            Err(problems)
        }
    }

    /// Checks one file and adds its good entries; returns its problems.
    pub fn add_str(&mut self, source: &str, text: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        let raw: RawFile = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start));
                problems.push(problem(source, line, "", e.message().to_string()));
                return problems;
            }
        };
        if raw.mib.trim().is_empty() {
            problems.push(problem(source, Some(1), "mib", "must name the MIB".into()));
        }
        let mut open_ended: HashMap<String, usize> = HashMap::new();
        for (i, spanned) in raw.trap.iter().enumerate() {
            let line = Some(line_of(text, spanned.span().start));
            let t = spanned.get_ref();
            let key = |k: &str| format!("trap[{i}].{k}");
            let before = problems.len();
            let mut bad = |k: &str, m: String| problems.push(problem(source, line, &key(k), m));
            let oid = match parse_oid(&t.oid) {
                Some(o) => o,
                None => {
                    bad("oid", format!("'{}' is not a dotted OID", t.oid));
                    String::new()
                }
            };
            if t.name.trim().is_empty() || t.name.contains(char::is_whitespace) {
                bad("name", format!("'{}' is not a MIB name", t.name));
            }
            let effect = match (t.effect, &t.alert, t.severity) {
                (RawEffect::Raise, Some(alert), Some(severity)) => TrapEffect::Raise {
                    alert: alert.clone(),
                    severity,
                },
                (RawEffect::Clear, Some(alert), None) => TrapEffect::Clear {
                    alert: alert.clone(),
                },
                (RawEffect::Notice, None, Some(severity)) => TrapEffect::Notice { severity },
                (RawEffect::Raise, _, _) => {
                    bad("effect", "raise needs alert and severity".into());
                    TrapEffect::Unknown
                }
                (RawEffect::Clear, _, _) => {
                    bad("effect", "clear needs alert and no severity".into());
                    TrapEffect::Unknown
                }
                (RawEffect::Notice, _, _) => {
                    bad("effect", "notice needs severity and no alert".into());
                    TrapEffect::Unknown
                }
            };
            if let Some(alert) = &t.alert
                && (alert.is_empty()
                    || !alert
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            {
                bad(
                    "alert",
                    format!("'{alert}' must be snake_case (a-z, 0-9, _)"),
                );
            }
            let summary = match template(&t.summary) {
                Ok(pieces) => pieces,
                Err(m) => {
                    bad("summary", m.to_string());
                    Vec::new()
                }
            };
            let mut when = Vec::new();
            for (j, w) in t.when.iter().enumerate() {
                let k = format!("when[{j}]");
                let Some(varbind) = parse_oid(&w.varbind) else {
                    bad(
                        &format!("{k}.varbind"),
                        format!("'{}' is not a dotted OID", w.varbind),
                    );
                    continue;
                };
                let test = match (&w.equals, &w.under) {
                    (Some(v), None) => Test::Equals(v.clone()),
                    (None, Some(u)) => match parse_oid(u) {
                        Some(u) => Test::Under(u),
                        None => {
                            bad(&format!("{k}.under"), format!("'{u}' is not a dotted OID"));
                            continue;
                        }
                    },
                    _ => {
                        bad(&k, "needs exactly one of equals or under".into());
                        continue;
                    }
                };
                when.push(Condition { varbind, test });
            }
            if let Some(first) = open_ended.get(&oid) {
                bad(
                    "when",
                    format!(
                        "never reached: trap[{first}] has the same oid and no conditions; \
                         put the entry without conditions last"
                    ),
                );
            }
            if problems.len() > before {
                continue;
            }
            if when.is_empty() {
                open_ended.insert(oid.clone(), i);
            }
            self.by_oid.entry(oid).or_default().push(Entry {
                name: format!("{}::{}", raw.mib.trim(), t.name),
                effect,
                summary,
                when,
            });
        }
        problems
    }

    /// How many trap entries the map holds.
    pub fn len(&self) -> usize {
        self.by_oid.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_oid.is_empty()
    }

    /// What `d` means: the first entry for its snmpTrapOID whose conditions hold, or Unknown.
    pub fn meaning(&self, d: &Decoded) -> Meaning {
        let found = self.by_oid.get(&d.trap_oid).and_then(|entries| {
            entries
                .iter()
                .find(|e| e.when.iter().all(|c| c.holds(&d.varbinds)))
        });
        match found {
            Some(e) => Meaning {
                name: Some(e.name.clone()),
                effect: e.effect.clone(),
                summary: render(&e.summary, &d.varbinds),
            },
            None => Meaning {
                name: None,
                effect: TrapEffect::Unknown,
                summary: unknown_summary(d),
            },
        }
    }
}

impl Condition {
    fn holds(&self, varbinds: &[(String, String)]) -> bool {
        let Some(value) = lookup(varbinds, &self.varbind) else {
            return false;
        };
        match &self.test {
            Test::Equals(v) => value == v,
            Test::Under(root) => {
                value == root
                    || (value.starts_with(root.as_str())
                        && value.as_bytes().get(root.len()) == Some(&b'.'))
            }
        }
    }
}

/// The value of the first varbind at `oid` or below it (a table column's instance).
fn lookup<'a>(varbinds: &'a [(String, String)], oid: &str) -> Option<&'a str> {
    varbinds
        .iter()
        .find(|(o, _)| {
            o == oid || (o.starts_with(oid) && o.as_bytes().get(oid.len()) == Some(&b'.'))
        })
        .map(|(_, v)| v.as_str())
}

fn render(pieces: &[Piece], varbinds: &[(String, String)]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Varbind(oid) => match lookup(varbinds, oid) {
                Some(v) => out.push_str(&clip(v)),
                None => out.push('?'),
            },
        }
    }
    out
}

fn unknown_summary(d: &Decoded) -> String {
    let mut out = format!("unknown trap {}", d.trap_oid);
    let shown: Vec<String> = d
        .varbinds
        .iter()
        .filter(|(o, _)| o != SNMP_TRAP_OID && o != "1.3.6.1.2.1.1.3.0")
        .take(UNKNOWN_VARBINDS)
        .map(|(o, v)| format!("{o}={}", clip(v)))
        .collect();
    if !shown.is_empty() {
        out.push_str(": ");
        out.push_str(&shown.join(", "));
    }
    out
}

fn clip(v: &str) -> String {
    if v.chars().count() <= VALUE_CHARS {
        v.to_string()
    } else {
        let mut s: String = v.chars().take(VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

/// Why a summary template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum TemplateError {
    #[error("'{{' without '}}' in '{0}'")]
    Unclosed(String),
    #[error("'{{{0}}}' must hold a dotted OID to quote")]
    NotOid(String),
    #[error("'}}' without '{{' in '{0}'")]
    Unopened(String),
}

/// `text {1.3.6.1...} text` into pieces; every placeholder must be an OID.
fn template(s: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| TemplateError::Unclosed(s.to_owned()))?;
        let inner = &after[..close];
        let oid = parse_oid(inner).ok_or_else(|| TemplateError::NotOid(inner.to_owned()))?;
        pieces.push(Piece::Varbind(oid));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(TemplateError::Unopened(s.to_owned()));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

/// A dotted OID (`1.3.6.1.2.1.33.2.1`, a leading dot allowed), normalised; at least two arcs.
pub(crate) fn parse_oid(s: &str) -> Option<String> {
    let s = s.trim().strip_prefix('.').unwrap_or(s.trim());
    let arcs: Vec<&str> = s.split('.').collect();
    if arcs.len() < 2
        || arcs
            .iter()
            .any(|a| a.is_empty() || a.len() > 10 || a.parse::<u32>().is_err())
    {
        return None;
    }
    let first = arcs[0].parse::<u32>().ok()?;
    (first <= 2).then(|| s.to_string())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .unwrap_or(text)
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

fn problem(source: &str, line: Option<usize>, key: &str, message: String) -> Problem {
    Problem {
        source: source.to_string(),
        line,
        key: key.to_string(),
        message,
    }
}
