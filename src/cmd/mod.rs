pub mod check_config;
pub mod collect;
pub mod demo;
pub mod import;
pub mod probe;
pub mod pue;
pub mod report;
pub mod sim;
pub mod tui;

/// The embedded store's file: `DIR/kilowatch.db` with `--data DIR`, else the config's `[store] path`.
pub fn store_path(
    config: &kilowatch_core::config::Config,
    data: Option<&std::path::Path>,
) -> std::path::PathBuf {
    match data {
        Some(dir) => dir.join("kilowatch.db"),
        None => config.store.path.clone(),
    }
}
