//! `kilowatch report pue`: the planners' PUE report from the embedded store or InfluxDB.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kilowatch_analyzer::pue::Options;
use kilowatch_analyzer::report::{self, Report};
use kilowatch_store::TimeRange;

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// PUE per site and measured category, with coverage, uncertainty, pPUE, CUE, CO2 and cost.
    Pue(Args),
    /// Rack power vs budget, PDU breakers (80 % rule), UPS N/N+1, cooling load, stranded
    /// capacity per room, inlet temperature compliance and RCI.
    Capacity(Args),
    /// Idle servers, hosts needed per site, savings through each site's PUE, ranked site moves.
    Consolidation(Args),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Md,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The inventory file (TOML).
    #[arg(long)]
    config: PathBuf,
    /// The data directory (store `kilowatch.db`); default: the config's `[store] path`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Read from InfluxDB instead (same URL form as `collect --influx`).
    #[arg(long)]
    influx: Option<String>,
    /// Window start: RFC 3339 time, or a duration before --to ("30d").
    #[arg(long, default_value = "30d")]
    from: String,
    /// Window end: RFC 3339 time, or "now".
    #[arg(long, default_value = "now")]
    to: String,
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Write here instead of stdout; Markdown also writes its SVG charts beside this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Power samples further apart than this are not bridged when integrating.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    max_gap: std::time::Duration,
}

pub fn run(which: Which) -> anyhow::Result<ExitCode> {
    let (kind, args) = match which {
        Which::Pue(a) => ("pue", a),
        Which::Capacity(a) => ("capacity", a),
        Which::Consolidation(a) => ("consolidation", a),
    };
    let capacity = kind == "capacity";
    let config = match crate::cmd::load_config(&args.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let now = kilowatch_core::clock::Clock::System.now_ms();
    let to = crate::cmd::pue::parse_time(&args.to, now).context("--to")?;
    let from = crate::cmd::pue::parse_time(&args.from, to).context("--from")?;
    let store = crate::cmd::read_store(&config, args.influx.as_deref(), args.data.as_deref())?;
    if kind == "consolidation" {
        use kilowatch_analyzer::consolidation as c;
        let r = c::consolidation_report(
            &*store,
            &config,
            TimeRange { from, to },
            &c::PlanOptions::default(),
        )?;
        let text = match args.format {
            Format::Json => serde_json::to_string_pretty(&r)?,
            Format::Md => c::to_markdown(&r),
            Format::Csv => {
                let mut out = String::from(
                    "site,hosts_before,hosts_after,it_kw_before,it_kw_after,savings_kwh_per_year\n",
                );
                for s in &r.sites {
                    out.push_str(&format!(
                        "{},{},{},{:.3},{:.3},{:.0}\n",
                        s.site,
                        s.hosts_before,
                        s.hosts_after,
                        s.it_kw_before,
                        s.it_kw_after,
                        s.savings_kwh_per_year
                    ));
                }
                out
            }
            Format::Html => c::to_html(&r),
        };
        match &args.out {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("write '{}'", path.display()))?
            }
            None => print!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if capacity {
        let r = kilowatch_analyzer::capacity::capacity_report(
            &*store,
            &config,
            TimeRange { from, to },
        )?;
        let (f, t) = (
            kilowatch_core::timefmt::format_rfc3339(from),
            kilowatch_core::timefmt::format_rfc3339(to),
        );
        let text = match args.format {
            Format::Json => kilowatch_analyzer::capacity::to_json(&r),
            Format::Csv => kilowatch_analyzer::capacity::to_csv(&r),
            Format::Md => kilowatch_analyzer::capacity::to_markdown(&r, &f, &t),
            Format::Html => format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kilowatch capacity report</title></head><body><pre>{}</pre></body></html>",
                kilowatch_analyzer::capacity::to_markdown(&r, &f, &t)
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
            ),
        };
        match &args.out {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("write '{}'", path.display()))?
            }
            None => print!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let bar = indicatif::ProgressBar::new(config.sites.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} sites")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("analysing");
    let report = report::pue_report(
        &*store,
        &config,
        TimeRange { from, to },
        Options {
            max_gap_ms: args.max_gap.as_millis() as i64,
        },
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    write(&report, args.format, args.out.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

fn write(report: &Report, format: Format, out: Option<&PathBuf>) -> anyhow::Result<()> {
    let chart_name = |s: &report::SiteReport| -> String {
        let stem = out
            .and_then(|o| o.file_stem())
            .map_or("report".into(), |s| s.to_string_lossy().into_owned());
        format!("{stem}-{}-pue{}.svg", s.site, s.category)
    };
    let text = match format {
        Format::Json => report::to_json(report),
        Format::Csv => report::to_csv(report),
        Format::Html => report::to_html(report),
        Format::Md => {
            if let Some(dir) = out.and_then(|o| o.parent()) {
                for s in &report.sites {
                    let path = dir.join(chart_name(s));
                    std::fs::write(&path, report::daily_chart_svg(s))
                        .with_context(|| format!("write '{}'", path.display()))?;
                }
            }
            report::to_markdown(report, chart_name)
        }
    };
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("write '{}'", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}
