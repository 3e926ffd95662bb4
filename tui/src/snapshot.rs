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
    /// (hour start in ms, energy-based PUE of that hour) for each complete hour of the last
    /// seven days that every facility and IT meter covers; hours without are left out.
    pub pue_trend: Vec<(f64, f64)>,
    /// (window start in ms, facility kW: mean of the window) over the last seven days.
    pub kw_trend: Vec<(f64, f64)>,
    /// The site's zone, for the trends' calendar axis (UTC when unknown).
    pub timezone: Option<kilowatch_core::calendar::TimeZone>,
    /// Power from the boundary to the IT equipment, step by step.
    pub chain: PowerChain,
    pub ups: Vec<UpsView>,
}

impl SiteView {
    /// Up to `n` racks with an inlet reading, hottest first: (rack, °C).
    pub fn hottest_inlets(&self, n: usize) -> Vec<(&str, f64)> {
        let mut v: Vec<(&str, f64)> = self
            .rooms
            .iter()
            .flat_map(|r| &r.racks)
            .filter_map(|r| Some((r.id.as_str(), r.inlet_c?)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

/// kW at each step of the power chain; `None` where nothing measures the step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerChain {
    /// The site's facility (utility) meters.
    pub facility_kw: Option<f64>,
    /// What the UPSs draw (their input power).
    pub ups_in_kw: Option<f64>,
    /// What the UPSs deliver (their metering point, PUE category 1).
    pub ups_out_kw: Option<f64>,
    /// The PDUs' metering points, summed (category 2, or rack PDUs of category 3).
    pub pdu_kw: Option<f64>,
    /// The IT equipment's own readings (servers, BMCs), summed.
    pub it_kw: Option<f64>,
}

impl PowerChain {
    /// The steps in order from the boundary inward, as (catalogue key of the step, kW).
    pub fn steps(&self) -> [(&'static str, Option<f64>); 5] {
        [
            ("tui-chain-facility", self.facility_kw),
            ("tui-chain-ups-in", self.ups_in_kw),
            ("tui-chain-ups-out", self.ups_out_kw),
            ("tui-chain-pdu", self.pdu_kw),
            ("tui-chain-it", self.it_kw),
        ]
    }

    /// kW lost between step `i - 1` and step `i` (`None` for the first step, or where either
    /// side has no reading: a loss is never guessed across a missing step).
    pub fn loss_before(&self, i: usize) -> Option<f64> {
        let steps = self.steps();
        let prev = steps.get(i.checked_sub(1)?)?.1?;
        Some(prev - steps.get(i)?.1?)
    }
}

/// A UPS: what it has left and what it carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsView {
    pub device: String,
    pub runtime_min: Option<f64>,
    pub battery_pct: Option<f64>,
    pub load_pct: Option<f64>,
    pub on_battery: bool,
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
