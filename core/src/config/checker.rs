//! Problem collection: where each key path starts in the file (from the spanned parse), and
//! deserializing one section at a time so that one bad section does not hide the others. A
//! problem names the file and line of its key, or the nearest parent key that is in the file;
//! a key set by an environment override names the variable instead.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use super::Problem;
use crate::profile::line_of;

/// Collects problems for one source file.
pub(super) struct Checker<'a> {
    file: String,
    src: &'a str,
    lines: HashMap<String, usize>,
    /// Keys set by an environment override, and the variable that set each.
    pub(super) env_keys: HashMap<String, String>,
    pub(super) problems: Vec<Problem>,
    /// Sites whose own entry is broken: their rooms and racks are unknown, not missing.
    pub(super) broken_sites: HashSet<String>,
    /// False for `check-config --no-secrets`: secret references are checked for their form
    /// only, and nothing is read from the environment or secret files.
    pub(super) resolve_secrets: bool,
}

impl<'a> Checker<'a> {
    /// A checker for `src`, named `file` in problems; `lines` maps key paths to byte offsets.
    pub(super) fn new(file: &str, src: &'a str, lines: HashMap<String, usize>) -> Checker<'a> {
        Checker {
            file: file.to_owned(),
            src,
            lines,
            env_keys: HashMap::new(),
            problems: Vec::new(),
            broken_sites: HashSet::new(),
            resolve_secrets: true,
        }
    }

    pub(super) fn push(&mut self, key: &str, message: impl Into<String>) {
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
    pub(super) fn section<T: DeserializeOwned>(
        &mut self,
        key: &str,
        value: toml::Value,
    ) -> Option<T> {
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
pub(super) fn index_spans(table: &DeTable<'_>, prefix: &str, out: &mut HashMap<String, usize>) {
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

/// The entries of an array of tables (`[[sites]]`), or a problem when `key` is something else.
pub(super) fn table_entries(
    c: &mut Checker<'_>,
    key: &str,
    v: Option<toml::Value>,
) -> Vec<toml::Value> {
    match v {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(_) => {
            c.push(key, format!("expected an array of tables ([[{key}]])"));
            Vec::new()
        }
    }
}
