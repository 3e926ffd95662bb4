//! `kilowatch`: command-line wiring only. Each subcommand lives in `cmd/`.

mod cmd;
mod metrics;
mod pipeline;
mod traps;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Data-centre telemetry and energy efficiency: polls meters, UPSs, PDUs, cooling, sensors and
/// servers over SNMP and Modbus, stores the readings and works out PUE.
#[derive(Debug, Parser)]
#[command(name = "kilowatch", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulated site, collector and embedded store in one process, with nothing installed.
    Demo(cmd::demo::Args),
    /// Serve a simulated data centre (SNMP agents and Modbus servers) on loopback.
    Sim(cmd::sim::Args),
    /// Poll the inventory into the embedded store until interrupted.
    Collect(cmd::collect::Args),
    /// Read one device once and print its metrics.
    Probe(cmd::probe::Args),
    /// Find the SNMP devices in address ranges, detect the profiles each speaks, and write a
    /// draft inventory (PUE roles only suggested, in comments).
    Discover(cmd::discover::Args),
    /// Look after the embedded store: `store stats|compact|export --data DIR`.
    #[command(subcommand)]
    Store(cmd::store::Which),
    /// Reports for planners: `report pue --format md|html|json|csv`.
    #[command(subcommand)]
    Report(cmd::report::Which),
    /// The terminal UI on stored data: overview, site, rack, devices, alarms, trends.
    Tui(cmd::tui::Args),
    /// Import history (a CSV of meter readings) into the embedded store, all or nothing.
    Import(cmd::import::Args),
    /// Compute PUE and energy per metering point over a window from stored data.
    Pue(cmd::pue::Args),
    /// Write the analyzer's figures (daily PUE, energy, capacity, idle servers) to InfluxDB for
    /// the Grafana dashboards.
    Publish(cmd::publish::Args),
    /// The estate's collectors from their heartbeats: silent, behind, devices down.
    Fleet(cmd::fleet::Args),
    /// Validate a config file: exit 0, or exit 2 listing every problem with file, line and key.
    CheckConfig {
        /// The inventory file (TOML).
        file: PathBuf,
        /// Check everything but read no secret: `env:`/`file:` references are checked for their
        /// form only (on a machine without the secrets, e.g. in CI).
        #[arg(long)]
        no_secrets: bool,
    },
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell, e.g. bash.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or with --dir write one page per command there.
    Man {
        /// Write kilowatch.1 and kilowatch-COMMAND.1 pages into this directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let tr = kilowatch_core::i18n::Tr::new(cmd::help::lang_of(&args));
    let matches = cmd::help::localized(Cli::command(), &tr).get_matches_from(args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // A full-screen UI owns the terminal: its logs go to a file instead.
    let ui = matches!(&cli.command, Command::Tui(_))
        || matches!(&cli.command, Command::Demo(a) if !a.headless());
    init_logging(ui);
    let result = match cli.command {
        Command::CheckConfig { file, no_secrets } => {
            return cmd::check_config::run(&file, no_secrets);
        }
        Command::Completions { shell } => cmd::manual::completions(shell),
        Command::Man { dir } => cmd::manual::man(dir.as_deref()),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(cmd::demo::run(args))),
        Command::Sim(args) => runtime().and_then(|rt| rt.block_on(cmd::sim::run(args))),
        Command::Collect(args) => {
            collector_runtime().and_then(|rt| rt.block_on(cmd::collect::run(args)))
        }
        Command::Probe(args) => runtime().and_then(|rt| rt.block_on(cmd::probe::run(args))),
        Command::Discover(args) => runtime().and_then(|rt| rt.block_on(cmd::discover::run(args))),
        Command::Pue(args) => cmd::pue::run(args),
        Command::Fleet(args) => cmd::fleet::run(args),
        Command::Publish(args) => cmd::publish::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Report(which) => cmd::report::run(which),
        Command::Store(which) => cmd::store::run(which),
        Command::Tui(args) => runtime().and_then(|rt| rt.block_on(cmd::tui::run(args))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The collector's runtime: everything on the calling thread unless `TOKIO_WORKER_THREADS` asks
/// for workers. Polling 10,000 devices uses a fifteenth of a core, and with two workers a sixth of
/// that went into handing tasks between threads (BENCHMARKS.md); on one thread, polling also
/// reuses the memory the inventory was parsed in (glibc gives each thread its own arena: 3.6 MB
/// less at 10,000 devices). The store's writes and compaction run on the blocking pool, at most
/// two threads of it: each thread that touched SQLite kept an arena of its own (2–6 MB each), and
/// writes and compaction are all that need to run at once.
fn collector_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    Ok(b.max_blocking_threads(2).enable_all().build()?)
}

/// Logs go to stderr so stdout stays machine-readable (`--json`, `--headless`); under the
/// terminal UI they go to `KILOWATCH_LOG_FILE` (default: kilowatch.log in the temp directory).
fn init_logging(ui: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KILOWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    if ui {
        let path = std::env::var_os("KILOWATCH_LOG_FILE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("kilowatch.log"));
        if let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
            return;
        }
    }
    // Colour only for a person at a terminal: journald and log files get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_writer(std::io::stderr)
        .init();
}
