//! Arguments several commands share, declared once and flattened into each.

use std::path::PathBuf;
use std::process::ExitCode;

use kilowatch_core::config::Config;
use kilowatch_core::i18n::{Lang, Tr};
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

/// Where an analysis reads: the embedded store, or a remote engine with `--source URL`
/// (VictoriaMetrics or InfluxDB) or `--influx URL` (InfluxDB, as before).
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Read from InfluxDB instead of the embedded store (same URL form as `collect --influx`;
    /// with InfluxDB 2.x/3.x the bucket needs a DBRP mapping for InfluxQL). Device health then
    /// comes from stored samples only.
    #[arg(long)]
    pub influx: Option<String>,
    /// Read from a central engine instead of the embedded store: VictoriaMetrics as
    /// `vm://HOST:PORT[/PREFIX]` or `vm+https://HOST[:PORT][/PREFIX][?ca=PATH]` (a cluster:
    /// vmselect's `vm://HOST:8481/select/0/prometheus`; bearer token from KILOWATCH_VM_TOKEN),
    /// or an InfluxDB URL as `--influx` takes it. Device health then comes from stored samples
    /// only.
    #[arg(long, value_name = "URL", conflicts_with = "influx")]
    pub source: Option<String>,
}

impl SourceArgs {
    pub fn load(&self) -> Result<Config, ExitCode> {
        self.store.load()
    }

    /// The remote engine's URL (`--source` or `--influx`); `None`: the embedded store.
    pub fn remote(&self) -> Option<&str> {
        self.source.as_deref().or(self.influx.as_deref())
    }

    pub fn open(&self, config: &Config) -> anyhow::Result<Box<dyn ReadStore>> {
        super::read_store(config, self.remote(), self.store.data.as_deref())
    }
}

/// `--lang`: the language of a report's or the terminal UI's text.
#[derive(Debug, Clone, clap::Args)]
pub struct LangArgs {
    /// Language: "en" or "zh-HK" (Traditional Chinese) [default: the inventory's `lang`, else
    /// LC_ALL / LC_MESSAGES / LANG, else English]
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<Lang>,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("'{s}' is not a language kilowatch has; use en or zh-HK"))
}

impl LangArgs {
    /// `--lang`, else the inventory's `lang`, else the environment's locale.
    pub fn lang(&self, config: &Config) -> Lang {
        self.lang.or(config.lang).unwrap_or_else(Lang::from_env)
    }

    pub fn tr(&self, config: &Config) -> Tr {
        Tr::new(self.lang(config))
    }
}
