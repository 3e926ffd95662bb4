//! Environment overrides: `KILOWATCH_COLLECTOR__INTERVAL=5s` sets `collector.interval`. Only
//! the `collector` and `store` sections can be overridden; an overridden key is remembered, so
//! a problem with it names the variable rather than a line of the file.

use std::collections::HashMap;

/// Prefix of environment overrides: `KILOWATCH_COLLECTOR__INTERVAL=5s` sets `collector.interval`.
const ENV_PREFIX: &str = "KILOWATCH_";

/// Applies `KILOWATCH_SECTION__KEY=value` overrides to `collector` and `store`.
pub(super) fn apply_env(
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
