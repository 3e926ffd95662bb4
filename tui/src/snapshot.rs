//! What the screens show: plain data, built off the UI loop from the store (see `load`), so
//! every view is a function of it and tests can build one by hand.

/// Inlet above this is outside ASHRAE's recommended envelope (thermal.md §1).
pub const INLET_MAX_C: f64 = 27.0;
/// Continuous load limit for breakers and budgets.
pub const EIGHTY_PCT: f64 = 80.0;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// When it was taken (ms), for "age" columns.
    pub at: i64,
    pub sites: Vec<SiteView>,
    pub devices: Vec<DeviceView>,
    pub alarms: Vec<Alarm>,
    /// Alerts of the collector's rules, pending or firing, firing first.
    pub rule_alerts: Vec<RuleAlert>,
    /// The newest traps received, known or not, newest first.
    pub traps: Vec<TrapView>,
    /// The collectors whose heartbeats the source holds (one, from a collector's own store;
    /// the estate's, from a central engine).
    pub fleet: Vec<kilowatch_analyzer::fleet::Collector>,
}

/// A trap as received: who sent it, what it was, what it meant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrapView {
    pub at: i64,
    pub source: String,
    /// The MIB name when a map knows it, else the trap OID.
    pub what: String,
    /// `raise ALERT`, `clear ALERT`, `notice info`, `unknown`.
    pub effect: String,
    pub summary: String,
}

/// An alert of a rule (`[[rules]]`, a rule set, a trap), as the collector's store keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleAlert {
    pub rule: String,
    /// The store's name for what it is about (`device:ups-1`), for acknowledging.
    pub subject: String,
    pub firing: bool,
    pub severity: String,
    /// Where: site / rack / device / point, as far as known.
    pub place: String,
    pub summary: String,
    pub value: String,
    pub since: i64,
    pub acked_by: Option<String>,
    /// A link to the evidence, when `[alerts] external_url` is set.
    pub link: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteView {
    pub id: String,
    pub name: String,
    /// "PUE3" etc.: the most downstream category measured.
    pub category: String,
    /// PUE over the last hour and since local midnight (energy-based, never power ratios).
    pub pue_hour: Option<f64>,
    pub pue_today: Option<f64>,
    pub facility_kw: Option<f64>,
    pub it_kw: Option<f64>,
    pub cooling_kw: Option<f64>,
    pub ups_load_pct: Option<f64>,
    pub devices_up: usize,
    pub devices_total: usize,
    pub rooms: Vec<RoomView>,
    /// (ts, PUE per hour) over the trend window, and facility kW.
    pub pue_trend: Vec<(f64, f64)>,
    pub kw_trend: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomView {
    pub id: String,
    pub racks: Vec<RackView>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RackView {
    pub id: String,
    pub power_w: Option<f64>,
    pub budget_w: Option<f64>,
    pub inlet_c: Option<f64>,
    pub pdus: Vec<PduView>,
    pub servers: Vec<ServerView>,
}

impl RackView {
    pub fn load_pct(&self) -> Option<f64> {
        Some(self.power_w? / self.budget_w? * 100.0)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PduView {
    pub device: String,
    pub power_w: Option<f64>,
    /// (point, amps) for phases, banks and outlets.
    pub currents: Vec<(String, f64)>,
    pub breaker_a: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerView {
    pub device: String,
    pub cpu_pct: Option<f64>,
    pub power_w: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceView {
    pub id: String,
    pub site: String,
    pub rack: Option<String>,
    pub up: bool,
    pub poll_ms: f64,
    /// Seconds since the last poll.
    pub age_s: f64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub critical: bool,
    pub subject: String,
    pub text: String,
    /// Since when (ms).
    pub since: i64,
}
