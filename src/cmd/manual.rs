//! `kilowatch completions SHELL` and `kilowatch man`: generated from the clap tree that parses
//! the command line, so they cannot drift from it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(shell, &mut cmd, "kilowatch", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// The man page on stdout, or `kilowatch.1` and one `kilowatch-COMMAND.1` per command in `dir`.
pub fn man(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let cmd = crate::Cli::command();
    match dir {
        None => clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .context("write the man page")?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("create '{}'", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("write man pages to '{}'", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
