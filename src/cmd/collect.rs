//! `kilowatch collect --config FILE`: poll the inventory into the embedded store.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kilowatch_core::clock::Clock;
use kilowatch_core::config::Config;
use kilowatch_store::SqliteStore;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The inventory file (TOML).
    #[arg(long)]
    config: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let store = Arc::new(SqliteStore::open(&config.store.path)?);
    let cancel = CancellationToken::new();
    let pipeline = crate::pipeline::start(&config, store, Clock::System, cancel.clone());
    tracing::info!(devices = config.devices.len(), store = %config.store.path.display(), "collecting");
    tokio::signal::ctrl_c().await?;
    cancel.cancel();
    let _ = pipeline.await;
    Ok(ExitCode::SUCCESS)
}
