pub mod annual;
pub mod args;
pub mod auto;
pub mod check_config;
pub mod collect;
pub mod demo;
pub mod discover;
pub mod fleet;
pub mod help;
pub mod import;
pub mod manual;
pub mod pdf;
pub mod probe;
pub mod publish;
pub mod pue;
pub mod report;
pub mod sim;
pub mod store;
pub mod tui;
pub mod window;

use anyhow::Context;
use kilowatch_core::config::Config;
use kilowatch_core::secret::Secret;
use kilowatch_sink::influx::query::InfluxReader;
use kilowatch_sink::influx::target::InfluxTarget;
use kilowatch_sink::victoria::VictoriaReader;
use kilowatch_store::{ReadStore, SqliteStore};

/// The embedded store's file: `DIR/kilowatch.db` with `--data DIR`, else the config's `[store] path`.
pub fn store_path(config: &Config, data: Option<&std::path::Path>) -> std::path::PathBuf {
    match data {
        Some(dir) => dir.join("kilowatch.db"),
        None => config.store.path.clone(),
    }
}

/// Loads the config, or prints every problem (file, line, key) and gives the exit code 2.
pub fn load_config(path: &std::path::Path) -> Result<Config, std::process::ExitCode> {
    Config::load(path).map_err(|problems| {
        for p in &problems {
            eprintln!("{p}");
        }
        std::process::ExitCode::from(2)
    })
}

/// A secret from an environment variable; an empty one counts as unset.
pub fn env_secret(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

/// The remote engine named by `--source`/`--influx`: VictoriaMetrics for `vm://` and
/// `vm+https://` (bearer token from KILOWATCH_VM_TOKEN), else InfluxDB (token or password from
/// KILOWATCH_INFLUX_TOKEN / KILOWATCH_INFLUX_PASSWORD). Errors name the target, never a secret.
pub fn remote_reader(url: &str) -> anyhow::Result<Box<dyn ReadStore>> {
    if kilowatch_sink::victoria::is_victoria_url(url) {
        let target = InfluxTarget::parse(url, env_secret("KILOWATCH_VM_TOKEN"), None)
            .context("--source/--influx")?;
        let name = target.to_string();
        let reader = VictoriaReader::new(target).with_context(|| format!("reading from {name}"))?;
        return Ok(Box::new(reader));
    }
    let target = InfluxTarget::parse(
        url,
        env_secret("KILOWATCH_INFLUX_TOKEN"),
        env_secret("KILOWATCH_INFLUX_PASSWORD"),
    )
    .context("--influx/--source")?;
    let name = target.to_string();
    let reader = InfluxReader::new(target).with_context(|| format!("reading from {name}"))?;
    Ok(Box::new(reader))
}

/// Where analyses read: a remote engine with `--source`/`--influx`, else the embedded store.
pub fn read_store(
    config: &Config,
    remote: Option<&str>,
    data: Option<&std::path::Path>,
) -> anyhow::Result<Box<dyn ReadStore>> {
    Ok(match remote {
        Some(url) => remote_reader(url)?,
        None => Box::new(SqliteStore::open(&store_path(config, data))?),
    })
}
