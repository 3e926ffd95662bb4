pub mod args;
pub mod auto;
pub mod check_config;
pub mod collect;
pub mod demo;
pub mod discover;
pub mod import;
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

/// The InfluxDB named by `--influx`, with its token or password from the environment.
pub fn influx_reader(url: &str) -> anyhow::Result<InfluxReader> {
    let target = InfluxTarget::parse(
        url,
        env_secret("KILOWATCH_INFLUX_TOKEN"),
        env_secret("KILOWATCH_INFLUX_PASSWORD"),
    )
    .context("--influx")?;
    let name = target.to_string();
    InfluxReader::new(target).with_context(|| format!("reading from {name}"))
}

/// Where analyses read: InfluxDB with `--influx`, else the embedded store.
pub fn read_store(
    config: &Config,
    influx: Option<&str>,
    data: Option<&std::path::Path>,
) -> anyhow::Result<Box<dyn ReadStore>> {
    Ok(match influx {
        Some(url) => Box::new(influx_reader(url)?),
        None => Box::new(SqliteStore::open(&store_path(config, data))?),
    })
}
