//! The report window every reading command takes: `--from`/`--to` as RFC 3339 times, local
//! dates or durations, or `--year`/`--month` as calendar periods. Dates are midnights in each
//! site's own zone, so the window is resolved per site.

use anyhow::Context;
use kilowatch_core::calendar::{self, TimeZone, Window};
use kilowatch_core::config::Config;
use kilowatch_store::TimeRange;

#[derive(Debug, Clone, clap::Args)]
pub struct WindowArgs {
    /// Window start: an RFC 3339 time, a date (2025-01-01: the site's local midnight), or a
    /// duration before --to ("30d") [default: the command's usual span]
    #[arg(long)]
    pub from: Option<String>,
    /// Window end: an RFC 3339 time, a date (its local midnight, not included), or "now".
    #[arg(long)]
    pub to: Option<String>,
    /// A calendar year in each site's zone, e.g. 2025 (instead of --from/--to).
    #[arg(long, conflicts_with_all = ["from", "to", "month"])]
    pub year: Option<String>,
    /// A calendar month in each site's zone, e.g. 2025-06 (instead of --from/--to).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
}

impl WindowArgs {
    /// The window as written; `default_from` applies when `--from` is not given.
    pub fn window(&self, default_from: &str) -> anyhow::Result<Window> {
        let now = kilowatch_core::clock::Clock::System.now_ms();
        calendar::parse_window(
            self.from.as_deref().unwrap_or(default_from),
            self.to.as_deref().unwrap_or("now"),
            self.year.as_deref(),
            self.month.as_deref(),
            now,
        )
        .context("window (--from/--to/--year/--month)")
    }

    /// The window's instants in one zone: the first site's (estate-wide reports), else the host's.
    pub fn range(&self, default_from: &str, config: &Config) -> anyhow::Result<TimeRange> {
        resolve(&self.window(default_from)?, &zone_of_first_site(config))
    }
}

/// The zone a single-zone command resolves dates in.
pub fn zone_of_first_site(config: &Config) -> TimeZone {
    config
        .sites
        .first()
        .map_or_else(calendar::host_zone, |s| s.timezone.clone())
}

/// `window` in `tz`, as the store's range.
pub fn resolve(window: &Window, tz: &TimeZone) -> anyhow::Result<TimeRange> {
    let (from, to) = window.resolve(tz).context("window")?;
    Ok(TimeRange { from, to })
}
