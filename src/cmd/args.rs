//! Arguments several commands share, declared once and flattened into each.

use std::path::PathBuf;
use std::process::ExitCode;

use kilowatch_core::config::Config;
use kilowatch_store::ReadStore;

/// Where a command finds its inventory and the embedded store.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// The inventory file (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// The data directory (store `kilowatch.db`); default: the config's `[store] path`.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl StoreArgs {
    /// The config, or every problem printed (file, line, key) and exit code 2.
    pub fn load(&self) -> Result<Config, ExitCode> {
        super::load_config(&self.config)
    }

    /// The embedded store's file.
    pub fn store_path(&self, config: &Config) -> PathBuf {
        super::store_path(config, self.data.as_deref())
    }
}

/// Where an analysis reads: the embedded store, or InfluxDB with `--influx`.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Read from InfluxDB instead of the embedded store (same URL form as `collect --influx`;
    /// with InfluxDB 2.x/3.x the bucket needs a DBRP mapping for InfluxQL). Device health then
    /// comes from stored samples only.
    #[arg(long)]
    pub influx: Option<String>,
}

impl SourceArgs {
    pub fn load(&self) -> Result<Config, ExitCode> {
        self.store.load()
    }

    pub fn open(&self, config: &Config) -> anyhow::Result<Box<dyn ReadStore>> {
        super::read_store(config, self.influx.as_deref(), self.store.data.as_deref())
    }
}
