//! `kilowatch publish`: the analyzer's figures written to InfluxDB as measurements, so Grafana
//! dashboards only read. `dashboards/README.md` documents every measurement, tag and field.
//!
//! Days and months are each site's own calendar periods (its `timezone`, DST included), as in
//! `report pue`. `--from` is rounded down to the start of its local day, so every daily point
//! covers a whole day (or today so far) and is stamped with the day's start: running the command
//! again overwrites the same points instead of adding near-duplicates.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use kilowatch_analyzer::{capacity, consolidation, energy, pue, report};
use kilowatch_core::calendar;
use kilowatch_core::config::{Config, Site};
use kilowatch_core::model::{Role, Timestamp};
use kilowatch_core::timefmt::format_rfc3339;
use kilowatch_sink::influx::line_protocol::{FieldValue, encode_point};
use kilowatch_sink::influx::target::InfluxTarget;
use kilowatch_sink::influx::writer::InfluxWriter;
use kilowatch_store::{ReadStore, TimeRange};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: crate::cmd::args::StoreArgs,
    /// The InfluxDB to write to (same URL form as `collect --influx`; the token or password
    /// comes from KILOWATCH_INFLUX_TOKEN / KILOWATCH_INFLUX_PASSWORD).
    #[arg(long)]
    influx: String,
    /// Analyse the data already in that InfluxDB instead of the embedded store (when collectors
    /// are sharded, only InfluxDB holds every site).
    #[arg(long)]
    read_influx: bool,
    /// The window [default: --from 2d]; its start is rounded down to the start of each site's
    /// local day.
    #[command(flatten)]
    window: crate::cmd::window::WindowArgs,
    /// Power samples further apart than this and than three of the series' own intervals are
    /// not bridged when integrating (hourly readings are bridged hour to hour).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    max_gap: std::time::Duration,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.store.load() {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let window = args.window.window("2d")?;
    let mut ranges = Vec::new();
    for site in &config.sites {
        let r = crate::cmd::window::resolve(&window, &site.timezone)
            .with_context(|| format!("site '{}'", site.id))?;
        let tz = &site.timezone;
        let from = calendar::day_start(tz, calendar::local_date(tz, r.from));
        ranges.push(TimeRange { from, to: r.to });
    }
    let (Some(from), Some(to)) = (
        ranges.iter().map(|r| r.from).min(),
        ranges.iter().map(|r| r.to).max(),
    ) else {
        anyhow::bail!("the inventory has no sites");
    };
    let target = InfluxTarget::parse(
        &args.influx,
        crate::cmd::env_secret("KILOWATCH_INFLUX_TOKEN"),
        crate::cmd::env_secret("KILOWATCH_INFLUX_PASSWORD"),
    )
    .context("--influx")?;
    let source = args.read_influx.then_some(args.influx.as_str());
    let store = crate::cmd::read_store(&config, source, args.store.data.as_deref())?;
    let ratings = pue::ratings(&config);
    let opts = pue::Options {
        max_gap_ms: args.max_gap.as_millis() as i64,
        ratings: &ratings,
    };
    let mut rows = rows(&*store, &config, &ranges, TimeRange { from, to }, opts)?;
    alert_events(
        &config,
        args.store.data.as_deref(),
        TimeRange { from, to },
        &mut rows,
    )?;

    // A point whose every figure is without data is not written at all (never as zeros).
    rows.retain(|r| !r.fields.is_empty());
    let mut body = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        let tags: Vec<(&str, &str)> = r.tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
        encode_point(&mut body, r.measurement, &tags, &r.fields, r.at)
            .with_context(|| format!("encode a '{}' point", r.measurement))?;
        *counts.entry(r.measurement).or_default() += 1;
    }
    // A write's error names the target itself; building the client's does not.
    InfluxWriter::new(target.clone())
        .with_context(|| format!("publishing to {target}"))?
        .write(&body)?;
    let summary: Vec<String> = counts.iter().map(|(m, n)| format!("{m} {n}")).collect();
    println!(
        "published {} points for {} to {}: {}",
        rows.len(),
        format_rfc3339(from),
        target,
        summary.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// One point: numeric fields only where the analyzer has a value (an absent field is
/// "unknown", never zero).
#[derive(Debug)]
struct Row {
    measurement: &'static str,
    tags: Vec<(&'static str, String)>,
    fields: Vec<(&'static str, FieldValue)>,
    at: Timestamp,
}

impl Row {
    fn new(measurement: &'static str, at: Timestamp) -> Row {
        Row {
            measurement,
            tags: Vec::new(),
            fields: Vec::new(),
            at,
        }
    }

    fn tag(mut self, k: &'static str, v: Option<&str>) -> Row {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            self.tags.push((k, v.to_owned()));
        }
        self
    }

    fn num(self, k: &'static str, v: f64) -> Row {
        self.opt(k, Some(v))
    }

    fn opt(mut self, k: &'static str, v: Option<f64>) -> Row {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.fields.push((k, FieldValue::Float(v)));
        }
        self
    }

    /// Places a device's point by the inventory: site, room, rack.
    fn placed(self, config: &Config, device: &str) -> Row {
        let d = config.devices.iter().find(|d| d.id == device);
        self.tag("site", d.map(|d| d.site.as_str()))
            .tag("room", d.and_then(|d| d.room.as_deref()))
            .tag("rack", d.and_then(|d| d.rack.as_deref()))
            .tag("device", Some(device))
    }
}

/// Every alert change the collector's embedded store recorded in `range` (fired, resolved,
/// acknowledged), as `alert_events` points for Grafana's annotations: `title` and `text` are
/// what the annotation shows, the tags what a dashboard filters on.
fn alert_events(
    config: &Config,
    data: Option<&std::path::Path>,
    range: TimeRange,
    out: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let path = crate::cmd::store_path(config, data);
    if !path.exists() {
        return Ok(());
    }
    let store = kilowatch_store::SqliteStore::open(&path)?;
    for e in store.alert_log(range.from, range.to)? {
        let Ok(note) = serde_json::from_str::<kilowatch_rules::notify::Note>(&e.note) else {
            continue;
        };
        let label = |k: &str| note.labels.get(k).map(String::as_str);
        let summary = note.annotations.get("summary").cloned().unwrap_or_default();
        let mut row = Row::new("alert_events", e.at)
            .tag("alertname", Some(&e.rule))
            .tag("status", Some(&e.status))
            .tag("severity", label("severity"))
            .tag("site", label("site"))
            .tag("room", label("room"))
            .tag("rack", label("rack"))
            .tag("device", label("device"))
            .tag("point", label("point"));
        let title = format!("{} {}", e.status.to_uppercase(), e.rule);
        row.fields.push(("title", FieldValue::String(title)));
        row.fields.push(("text", FieldValue::String(summary)));
        out.push(row);
    }
    Ok(())
}

/// The rows of every site over its own range (whole local days), then the estate-wide ones
/// over `range`.
fn rows(
    store: &dyn ReadStore,
    config: &Config,
    ranges: &[TimeRange],
    range: TimeRange,
    opts: pue::Options<'_>,
) -> anyhow::Result<Vec<Row>> {
    let mut out = Vec::new();
    for (site, r) in config.sites.iter().zip(ranges) {
        let tz = &site.timezone;
        for day in calendar::days(tz, r.from, r.to, 10_000) {
            let w = TimeRange {
                from: day.from,
                to: day.to,
            };
            for s in report::site_reports(store, config, site, w, opts)? {
                out.push(
                    Row::new("kpi_daily", day.start)
                        .tag("site", Some(&s.site))
                        .tag("category", Some(&s.category.to_string()))
                        .opt("pue", s.pue)
                        .opt("pue_low", s.pue_low)
                        .opt("pue_high", s.pue_high)
                        .opt("dcie_pct", s.dcie_pct)
                        .num("facility_kwh", s.facility_kwh)
                        .num("it_kwh", s.it_kwh)
                        .num("coverage_pct", s.coverage * 100.0),
                );
            }
            facility_energy(store, site, "energy_daily", w, opts, &mut out)?;
        }
        // Months start from the one holding --from, so a month's point is the month so far.
        for month in calendar::months(tz, r.from, r.to, 1_200) {
            let w = TimeRange {
                from: month.start,
                to: month.to,
            };
            facility_energy(store, site, "energy_monthly", w, opts, &mut out)?;
        }
    }
    capacity_rows(store, config, range, &mut out)?;
    let idle = consolidation::consolidation_report(
        store,
        config,
        range,
        &consolidation::PlanOptions::default(),
    )?;
    for s in idle.idle_servers {
        let mut row = Row::new("server_idle", range.to)
            .placed(config, &s.device)
            .num("power_w", s.watts)
            .num("cpu_p95_pct", s.cpu_p95_pct)
            .num("cpu_p99_pct", s.cpu_p99_pct)
            .num("kwh_per_year", s.kwh_per_year)
            .opt("facility_kwh_per_year", s.facility_kwh_per_year)
            .opt("hkd_per_year", s.hkd_per_year)
            .opt("co2_kg_per_year", s.tco2e_per_year.map(|t| t * 1000.0))
            // Found over a window shorter than the rule asks for: a candidate to re-check.
            .num("confirmed", if s.confirmed { 1.0 } else { 0.0 });
        row.fields.push(("reason", FieldValue::String(s.reason)));
        out.push(row);
    }
    Ok(out)
}

/// A site's facility energy over `w`, with its CO2 and cost by the site's factors.
fn facility_energy(
    store: &dyn ReadStore,
    site: &Site,
    measurement: &'static str,
    w: TimeRange,
    opts: pue::Options<'_>,
    out: &mut Vec<Row>,
) -> anyhow::Result<()> {
    {
        let meters = pue::role_energy(store, &site.id, Role::Facility, w, opts)?;
        // A window no meter read has no point: zero energy at zero coverage is no figure.
        if meters.iter().all(|m| m.energy.coverage <= 0.0) {
            return Ok(());
        }
        let Some(e) = energy::sum(&meters.into_iter().map(|m| m.energy).collect::<Vec<_>>()) else {
            return Ok(());
        };
        out.push(
            Row::new(measurement, w.from)
                .tag("site", Some(&site.id))
                .num("facility_kwh", e.kwh)
                .num("coverage_pct", e.coverage * 100.0)
                .opt("co2_kg", site.emission_factor_kg_per_kwh.map(|f| f * e.kwh))
                .opt("cost_hkd", site.tariff_hkd_per_kwh.map(|t| t * e.kwh)),
        );
    }
    Ok(())
}

/// Capacity findings over the whole window, stamped at its end.
fn capacity_rows(
    store: &dyn ReadStore,
    config: &Config,
    range: TimeRange,
    out: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let at = range.to;
    let r = capacity::capacity_report(store, config, range)?;
    for k in &r.racks {
        out.push(
            Row::new("capacity_rack", at)
                .tag("site", Some(&k.site))
                .tag("room", Some(&k.room))
                .tag("rack", Some(&k.rack))
                .opt("peak_w", k.peak_w)
                .opt("p95_w", k.p95_w)
                .opt("budget_w", k.budget_w)
                .opt("utilisation_pct", k.utilisation_pct)
                .opt("headroom_w", k.headroom_w),
        );
    }
    for m in &r.rooms {
        // The analyzer's finding, one field per kind: the kind not stranded strands nothing.
        let (power, cooling) = match (m.stranded_kind, m.stranded_w) {
            (Some(capacity::Stranded::Power), Some(s)) => (Some(s), Some(0.0)),
            (Some(capacity::Stranded::Cooling), Some(s)) => (Some(0.0), Some(s)),
            _ => (None, None),
        };
        out.push(
            Row::new("capacity_room", at)
                .tag("site", Some(&m.site))
                .tag("room", Some(&m.room))
                .opt("power_headroom_w", m.power_headroom_w)
                .opt("cooling_headroom_w", m.cooling_headroom_w)
                .opt("stranded_power_w", power)
                .opt("stranded_cooling_w", cooling)
                .opt("rci_hi_mean_pct", m.rci_hi_mean)
                .opt("rci_lo_mean_pct", m.rci_lo_mean)
                // No intake read: no count of the room's air to show.
                .opt("intakes", (m.intakes > 0).then_some(m.intakes as f64)),
        );
    }
    for b in &r.breakers {
        out.push(
            Row::new("capacity_breaker", at)
                .placed(config, &b.device)
                .tag("point", Some(&b.point))
                .opt("peak_a", b.peak_a)
                .opt("breaker_a", b.breaker_a)
                .opt("load_pct", b.load_pct)
                .opt("imbalance_pct", b.device_imbalance_pct),
        );
    }
    // The analyzer scans every temperature series in the store; only this inventory's sites
    // are this run's to publish.
    for i in r
        .inlets
        .iter()
        .filter(|i| i.compliance.samples > 0 && config.sites.iter().any(|s| s.id == i.site))
    {
        let c = &i.compliance;
        out.push(
            Row::new("inlet_compliance", at)
                .tag("site", Some(&i.site))
                .tag("room", i.room.as_deref())
                .tag("rack", i.rack.as_deref())
                .tag("device", Some(&i.device))
                .tag("point", Some(&i.sensor))
                .num("recommended_pct", c.recommended_pct)
                .num("below_recommended_pct", c.below_recommended_pct)
                .num("above_recommended_pct", c.above_recommended_pct)
                .opt("worst_high_c", c.worst_high_c)
                .opt("worst_low_c", c.worst_low_c),
        );
    }
    Ok(())
}
