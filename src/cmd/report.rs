//! `kilowatch report pue`: the planners' PUE report from the embedded store or InfluxDB.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kilowatch_analyzer::pue::Options;
use kilowatch_analyzer::report::{self, Report};
use kilowatch_core::i18n::Tr;
use kilowatch_store::TimeRange;

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// PUE per site and measured category, with coverage, uncertainty, pPUE, CUE, CO2 and cost.
    Pue(Args),
    /// Rack power vs budget, PDU breakers (80 % rule), UPS N/N+1, cooling load, stranded
    /// capacity per room, inlet temperature compliance and RCI.
    Capacity(Args),
    /// Server profiles, comatose servers, hosts needed per site (racked within budgets), savings
    /// through each site's PUE, ranked site moves, and verification against a baseline.
    Consolidation(ConsolidationArgs),
    /// The EU data-centre data set of a year per site (Delegated Regulation (EU) 2024/1364), each
    /// field measured, entered or missing, with PUE, WUE, ERF, REF, CUE, CER and ITEUsv.
    Annual(crate::cmd::annual::Args),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Md,
    Html,
    /// The HTML document printed by headless Chromium.
    Pdf,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: crate::cmd::args::SourceArgs,
    #[command(flatten)]
    window: crate::cmd::window::WindowArgs,
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    #[command(flatten)]
    lang: crate::cmd::args::LangArgs,
    /// Write here instead of stdout; Markdown also writes its SVG charts beside this file, and
    /// CSV every meter event to FILE-events.csv beside it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Power samples further apart than this and than three of the series' own intervals are
    /// not bridged when integrating (hourly readings are bridged hour to hour).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    max_gap: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub struct ConsolidationArgs {
    #[command(flatten)]
    common: Args,
    /// Share of a host's CPU and memory a plan may use (0.7 leaves 30 % headroom).
    #[arg(long, default_value_t = 0.7)]
    headroom: f64,
    /// Percentile of CPU use workloads are sized on.
    #[arg(long, default_value_t = 95.0)]
    percentile: f64,
    /// Plan without an N+1 spare host per site.
    #[arg(long)]
    no_n_plus_one: bool,
    /// Days a server must be quiet for its comatose finding to count as confirmed.
    #[arg(long, default_value_t = 30.0)]
    idle_days: f64,
    /// Consolidate onto a new host model instead of servers like the site's own:
    /// "cpu=2,mem=2,idle_w=120,max_w=450,u=1" (cpu and mem in multiples of a current server).
    #[arg(long, value_parser = parse_host)]
    new_host: Option<kilowatch_analyzer::consolidation::HostModel>,
    /// Full-load power assumed for servers with no power reading and no `rated_power_w`.
    #[arg(long, default_value_t = 350.0)]
    fallback_max_w: f64,
    /// Record this window's measured site power and predicted savings as a baseline (JSON).
    #[arg(long, value_name = "FILE")]
    save_baseline: Option<PathBuf>,
    /// Compare this window with a baseline saved earlier: measured savings at the meters.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
}

fn parse_host(s: &str) -> Result<kilowatch_analyzer::consolidation::HostModel, String> {
    let mut h = kilowatch_analyzer::consolidation::HostModel {
        cpu: f64::NAN,
        mem: 1.0,
        idle_w: f64::NAN,
        max_w: f64::NAN,
        height_u: 1.0,
    };
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not key=value"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("{k}: '{v}' is not a number"))?;
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("{k}: must be a positive number"));
        }
        match k.trim() {
            "cpu" => h.cpu = v,
            "mem" => h.mem = v,
            "idle_w" => h.idle_w = v,
            "max_w" => h.max_w = v,
            "u" => h.height_u = v,
            other => {
                return Err(format!(
                    "unknown key '{other}' (cpu, mem, idle_w, max_w, u)"
                ));
            }
        }
    }
    for (k, v) in [("cpu", h.cpu), ("idle_w", h.idle_w), ("max_w", h.max_w)] {
        if v.is_nan() {
            return Err(format!("{k} is required"));
        }
    }
    if h.idle_w > h.max_w {
        return Err("idle_w is above max_w".into());
    }
    Ok(h)
}

fn consolidation(a: ConsolidationArgs) -> anyhow::Result<ExitCode> {
    use kilowatch_analyzer::consolidation as c;
    let args = &a.common;
    if !(a.headroom > 0.0 && a.headroom <= 1.0) {
        anyhow::bail!("--headroom must be in (0, 1], e.g. 0.7");
    }
    if !(a.percentile > 0.0 && a.percentile <= 100.0) {
        anyhow::bail!("--percentile must be in (0, 100]");
    }
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let TimeRange { from, to } = args.window.range("30d", &config)?;
    let store = args.source.open(&config)?;
    let opts = c::PlanOptions {
        headroom: a.headroom,
        percentile: a.percentile / 100.0,
        n_plus_one: !a.no_n_plus_one,
        idle: c::IdleRule {
            min_days: a.idle_days,
            ..c::IdleRule::default()
        },
        new_host: a.new_host.clone(),
        fallback_max_w: a.fallback_max_w,
        ..c::PlanOptions::default()
    };
    let mut r = c::consolidation_report(&*store, &config, TimeRange { from, to }, &opts)?;
    if let Some(path) = &a.baseline {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read baseline '{}'", path.display()))?;
        let b: c::Baseline = serde_json::from_str(&text)
            .with_context(|| format!("'{}' is not a consolidation baseline", path.display()))?;
        r.verification = Some(c::verify(&b, &r, &config));
    }
    if let Some(path) = &a.save_baseline {
        let b = serde_json::to_string_pretty(&c::Baseline::from_report(&r))?;
        std::fs::write(path, b).with_context(|| format!("write '{}'", path.display()))?;
    }
    let tr = args.lang.tr(&config);
    let text = match args.format {
        Format::Json => c::to_json(&r)?,
        Format::Md => c::to_markdown(&r, &tr),
        Format::Csv => c::to_csv(&r, &tr)?,
        Format::Html | Format::Pdf => c::to_html(&r, &tr),
    };
    emit_as(&text, args.format, args.out.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

fn capacity(args: Args) -> anyhow::Result<ExitCode> {
    use kilowatch_analyzer::capacity as c;
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = args.source.open(&config)?;
    let range = args.window.range("30d", &config)?;
    let r = c::capacity_report(&*store, &config, range)?;
    let tr = args.lang.tr(&config);
    let text = match args.format {
        Format::Json => c::to_json(&r)?,
        Format::Csv => c::to_csv(&r, &tr)?,
        Format::Md => c::to_markdown(&r, &tr),
        Format::Html | Format::Pdf => c::to_html(&r, &tr),
    };
    emit_as(&text, args.format, args.out.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

/// A report to `out` or stdout: as written, or for `--format pdf` printed from its HTML.
pub fn emit_as(text: &str, format: Format, out: Option<&PathBuf>) -> anyhow::Result<()> {
    if format != Format::Pdf {
        return emit(text, out);
    }
    let pdf = crate::cmd::pdf::print(text)?;
    match out {
        Some(path) => {
            std::fs::write(path, pdf).with_context(|| format!("write '{}'", path.display()))
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&pdf)
                .context("write the PDF to stdout")
        }
    }
}

/// A report's text to `out`, or to stdout.
fn emit(text: &str, out: Option<&PathBuf>) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("write '{}'", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub fn run(which: Which) -> anyhow::Result<ExitCode> {
    match which {
        Which::Pue(a) => pue(a),
        Which::Capacity(a) => capacity(a),
        Which::Consolidation(a) => consolidation(a),
        Which::Annual(a) => crate::cmd::annual::run(a),
    }
}

fn pue(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.source.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = args.source.open(&config)?;
    let bar = indicatif::ProgressBar::new(config.sites.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} sites")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("analysing");
    let ratings = kilowatch_analyzer::pue::ratings(&config);
    let report = report::pue_report(
        &*store,
        &config,
        &args.window.window("30d")?,
        Options {
            max_gap_ms: args.max_gap.as_millis() as i64,
            ratings: &ratings,
        },
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    write(
        &report,
        args.format,
        &args.lang.tr(&config),
        args.out.as_ref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn write(report: &Report, format: Format, tr: &Tr, out: Option<&PathBuf>) -> anyhow::Result<()> {
    let stem = out
        .and_then(|o| o.file_stem())
        .map_or("report".into(), |s| s.to_string_lossy().into_owned());
    let chart_name =
        |s: &report::SiteReport| -> String { format!("{stem}-{}-pue{}.svg", s.site, s.category) };
    let beside = |name: String| out.and_then(|o| o.parent()).map(|dir| dir.join(name));
    let text = match format {
        Format::Json => report::to_json(report)?,
        Format::Csv => {
            // The full list of meter events, which a one-row-per-site table cannot hold.
            if let Some(path) = beside(format!("{stem}-events.csv")) {
                std::fs::write(&path, report::events_csv(report)?)
                    .with_context(|| format!("write '{}'", path.display()))?;
            }
            report::to_csv(report, tr)?
        }
        Format::Html | Format::Pdf => report::to_html(report, tr),
        Format::Md => {
            // A trend the data cannot draw has no file: the Markdown says why instead.
            for s in &report.sites {
                if let (Some(path), report::Chart::Svg(svg)) =
                    (beside(chart_name(s)), report::daily_chart(s, tr))
                {
                    std::fs::write(&path, svg)
                        .with_context(|| format!("write '{}'", path.display()))?;
                }
            }
            report::to_markdown(report, chart_name, tr)
        }
    };
    emit_as(&text, format, out)
}
