//! `kilowatch report annual --year Y`: the EU data set per site, each field measured, entered or
//! missing, with the ISO/IEC 30134 indicators, as JSON and CSV in the regulation's field order,
//! or as a document (Markdown, HTML, PDF) in English or Traditional Chinese.

use std::path::PathBuf;
use std::process::ExitCode;

use kilowatch_analyzer::annual;
use kilowatch_analyzer::pue::Options;

use crate::cmd::args::LangArgs;
use crate::cmd::report::{Format, emit_as};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: crate::cmd::args::SourceArgs,
    /// The reporting year (January to December in each site's zone), e.g. 2025.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1990..=2200))]
    year: i32,
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    #[command(flatten)]
    lang: LangArgs,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Power samples further apart than this are not bridged when integrating.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    max_gap: std::time::Duration,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = args.source.open(&config)?;
    let ratings = kilowatch_analyzer::pue::ratings(&config);
    let bar = indicatif::ProgressBar::new(config.sites.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} sites")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("annual data set");
    let report = annual::annual_report(
        &*store,
        &config,
        args.year,
        Options {
            max_gap_ms: args.max_gap.as_millis() as i64,
            ratings: &ratings,
        },
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    let tr = args.lang.tr(&config);
    let text = match args.format {
        Format::Json => annual::to_json(&report)?,
        Format::Csv => annual::to_csv(&report, &tr)?,
        Format::Md => annual::to_markdown(&report, &tr),
        Format::Html | Format::Pdf => annual::to_html(&report, &tr),
    };
    emit_as(&text, args.format, args.out.as_ref())?;
    Ok(ExitCode::SUCCESS)
}
