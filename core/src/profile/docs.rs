//! The generated tables of `config/profiles/README.md`: every field a profile may name, and
//! every profile with what it reads (checked by `core/tests/supported_devices.rs`).

use super::{Profile, ProfileSet};

/// The fields table of `config/profiles/README.md`: every canonical field a profile may name,
/// from the code.
pub fn fields_markdown() -> String {
    use crate::model::{Field, Kind};
    use std::fmt::Write;
    let mut out =
        String::from("| field | unit | measurement | kind |\n| --- | --- | --- | --- |\n");
    for f in Field::ALL {
        let kind = match f.kind() {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter (running total)",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {kind} |",
            f.name(),
            f.unit(),
            f.measurement().name()
        );
    }
    out
}

impl ProfileSet {
    /// The supported-devices table of `config/profiles/README.md`: every profile, and every
    /// recorded value no profile reads (from `config/unsupported-values.toml`) with its reason.
    pub fn supported_devices_markdown(
        &self,
        unsupported_toml: &str,
    ) -> Result<String, toml::de::Error> {
        use std::fmt::Write;
        let mut out = String::from(
            "| profile | protocol | device | matched by sysObjectID, or by answering inside | values |\n| --- | --- | --- | --- | --- |\n",
        );
        for (name, p) in &self.profiles {
            let (matched, count) = match p {
                Profile::Snmp(s) => {
                    let mut by = s.sys_object_id.join(", ");
                    if !s.detect.is_empty() {
                        if !by.is_empty() {
                            by.push_str("; ");
                        }
                        by.push_str(&format!("answers {}", s.detect.join(", ")));
                    }
                    (by, s.metrics.len())
                }
                Profile::Modbus(m) => ("(name it with `--profile`)".to_owned(), m.metrics.len()),
                Profile::Redfish(r) => (
                    "(any BMC: `probe redfish://` uses it unless `--profile`)".to_owned(),
                    r.metrics.len(),
                ),
                Profile::Ipmi(i) => (
                    "(any BMC: `probe ipmi://` uses it unless `--profile`)".to_owned(),
                    i.dcmi.len() + i.sensors.len(),
                ),
            };
            let matched = if matched.is_empty() {
                "(none: name it in the inventory)".to_owned()
            } else {
                matched
            };
            let _ = writeln!(
                out,
                "| `{name}` | {} | {} | {matched} | {count} |",
                p.protocol(),
                p.description()
            );
        }
        let doc: toml::Table = toml::from_str(unsupported_toml)?;
        let values = doc
            .get("value")
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default();
        out.push_str("\nRecorded values no profile reads, and why:\n\n| fixture | OID (or column) | reason |\n| --- | --- | --- |\n");
        let mut rows: Vec<(String, String, String)> = values
            .iter()
            .map(|v| {
                let get = |k: &str| {
                    v.get(k)
                        .and_then(toml::Value::as_str)
                        .unwrap_or_default()
                        .replace('|', "\\|")
                };
                (get("fixture"), get("oid"), get("reason"))
            })
            .collect();
        rows.sort();
        for (fixture, oid, reason) in rows {
            let _ = writeln!(out, "| {fixture} | `{oid}` | {reason} |");
        }
        Ok(out)
    }
}
