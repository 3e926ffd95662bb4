//! The data that flows from a driver to the stores: canonical fields, series and samples.
//!
//! Invariants: a [`Field`] name carries its unit and the set is closed; a [`Series`] is built
//! once per device plan and shared by `Arc`, so a poll allocates no tag strings.

use std::fmt;
use std::sync::Arc;

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The measurement a field belongs to (the InfluxDB measurement name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measurement {
    Power,
    Ups,
    Cooling,
    Environment,
    Server,
    Device,
    Network,
    Water,
    Collector,
}

impl Measurement {
    pub fn name(self) -> &'static str {
        match self {
            Measurement::Power => "power",
            Measurement::Ups => "ups",
            Measurement::Cooling => "cooling",
            Measurement::Environment => "environment",
            Measurement::Server => "server",
            Measurement::Device => "device",
            Measurement::Network => "network",
            Measurement::Water => "water",
            Measurement::Collector => "collector",
        }
    }
}

/// Whether consecutive values are levels or a running total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

macro_rules! fields {
    ($($variant:ident => $name:literal, $measurement:ident, $kind:ident;)*) => {
        /// One canonical quantity. The name carries the unit (ARCHITECTURE.md, canonical metrics).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field { $($variant),* }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The field name as stored, e.g. `active_power_w`.
            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),* }
            }

            pub fn measurement(self) -> Measurement {
                match self { $(Field::$variant => Measurement::$measurement),* }
            }

            pub fn kind(self) -> Kind {
                match self { $(Field::$variant => Kind::$kind),* }
            }
        }
    };
}

fields! {
    ActivePowerW => "active_power_w", Power, Gauge;
    ApparentPowerVa => "apparent_power_va", Power, Gauge;
    EnergyKwh => "energy_kwh", Power, Counter;
    VoltageV => "voltage_v", Power, Gauge;
    CurrentA => "current_a", Power, Gauge;
    PowerFactor => "power_factor", Power, Gauge;
    FrequencyHz => "frequency_hz", Power, Gauge;
    ReactivePowerVar => "reactive_power_var", Power, Gauge;
    ReactiveEnergyKvarh => "reactive_energy_kvarh", Power, Counter;
    ApparentEnergyKvah => "apparent_energy_kvah", Power, Counter;
    LoadPct => "load_pct", Ups, Gauge;
    BatteryChargePct => "battery_charge_pct", Ups, Gauge;
    RuntimeS => "runtime_s", Ups, Gauge;
    OnBattery => "on_battery", Ups, Gauge;
    TimeOnBatteryS => "time_on_battery_s", Ups, Gauge;
    SupplyTempC => "supply_temp_c", Cooling, Gauge;
    ReturnTempC => "return_temp_c", Cooling, Gauge;
    FanSpeedPct => "fan_speed_pct", Cooling, Gauge;
    CoolingPowerW => "cooling_power_w", Cooling, Gauge;
    CoolingOutputPct => "cooling_output_pct", Cooling, Gauge;
    FanSpeedRpm => "fan_speed_rpm", Cooling, Gauge;
    ChwSupplyTempC => "chw_supply_temp_c", Cooling, Gauge;
    ChwReturnTempC => "chw_return_temp_c", Cooling, Gauge;
    FlowM3h => "flow_m3h", Cooling, Gauge;
    PressureKpa => "pressure_kpa", Cooling, Gauge;
    SetpointTempC => "setpoint_temp_c", Cooling, Gauge;
    SetpointHumidityPct => "setpoint_humidity_pct", Cooling, Gauge;
    HeatEnergyKwh => "heat_energy_kwh", Cooling, Counter;
    HeatPowerW => "heat_power_w", Cooling, Gauge;
    WaterM3 => "water_m3", Water, Counter;
    WaterFlowM3h => "water_flow_m3h", Water, Gauge;
    FuelLevelL => "fuel_level_l", Power, Gauge;
    InletTempC => "inlet_temp_c", Environment, Gauge;
    OutletTempC => "outlet_temp_c", Environment, Gauge;
    OutdoorTempC => "outdoor_temp_c", Environment, Gauge;
    TemperatureC => "temperature_c", Environment, Gauge;
    HumidityPct => "humidity_pct", Environment, Gauge;
    DewPointC => "dew_point_c", Environment, Gauge;
    CpuUtilPct => "cpu_util_pct", Server, Gauge;
    MemUtilPct => "mem_util_pct", Server, Gauge;
    PowerW => "power_w", Server, Gauge;
    UptimeS => "uptime_s", Device, Gauge;
    Status => "status", Device, Gauge;
    RxBytes => "rx_bytes", Network, Counter;
    TxBytes => "tx_bytes", Network, Counter;
    PollMs => "poll_ms", Collector, Gauge;
    Up => "up", Collector, Gauge;
    Errors => "errors", Collector, Counter;
    QueuePoints => "queue_points", Collector, Gauge;
    QueueAgeS => "queue_age_s", Collector, Gauge;
    WriteMs => "write_ms", Collector, Gauge;
    Retries => "retries", Collector, Counter;
    Rejected => "rejected", Collector, Counter;
    Dropped => "dropped", Collector, Counter;
    HeartbeatS => "heartbeat_s", Collector, Gauge;
    DevicesUp => "devices_up", Collector, Gauge;
    DevicesTotal => "devices_total", Collector, Gauge;
    LastWriteAgeS => "last_write_age_s", Collector, Gauge;
}

impl Field {
    /// The unit its name carries (`active_power_w` -> W); "" for a ratio, "0/1" for a state.
    pub fn unit(self) -> &'static str {
        const UNITS: &[(&str, &str)] = &[
            ("_kwh", "kWh"),
            ("_kvarh", "kvarh"),
            ("_kvah", "kVAh"),
            ("_var", "var"),
            ("_rpm", "rpm"),
            ("_m3h", "m³/h"),
            ("_m3", "m³"),
            ("_l", "L"),
            ("_kpa", "kPa"),
            ("_va", "VA"),
            ("_pct", "%"),
            ("_ms", "ms"),
            ("_bytes", "bytes"),
            ("_hz", "Hz"),
            ("_w", "W"),
            ("_v", "V"),
            ("_a", "A"),
            ("_s", "s"),
            ("_c", "°C"),
        ];
        let name = self.name();
        match self {
            Field::OnBattery | Field::Up => "0/1",
            // A code of the device's own enumeration: the profile's `states` name it.
            Field::Status => "state",
            Field::PowerFactor => "",
            _ => UNITS
                .iter()
                .find(|(suffix, _)| name.ends_with(suffix))
                .map_or("count", |(_, u)| u),
        }
    }

    /// This field once the inventory has placed a device's temperatures (`temperature_at`):
    /// an unplaced `temperature_c` becomes that place's field; every other field stays.
    pub fn placed(self, temperature_at: Option<Field>) -> Field {
        match (self, temperature_at) {
            (Field::TemperatureC, Some(place)) => place,
            _ => self,
        }
    }

    /// Whether a device's role tags this field's device total: the power chain, water, and a
    /// heat meter's energy and power. Temperatures and flows stay untagged (a CRAC with role
    /// "cooling" keeps its cooling series as they were).
    pub fn takes_role(self) -> bool {
        matches!(self.measurement(), Measurement::Power | Measurement::Water)
            || matches!(self, Field::HeatEnergyKwh | Field::HeatPowerW)
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Every field name, for error messages.
    pub fn names() -> Vec<&'static str> {
        Field::ALL.iter().map(|f| f.name()).collect()
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a metering point sits in the PUE calculation (domain/pue.md §2–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Total facility input at the data-centre boundary (E_DC).
    Facility,
    /// IT energy measured at category 1 (UPS output), 2 (PDU output) or 3 (IT equipment input).
    It(Category),
    Cooling,
    Lighting,
    Other,
    /// On-site renewable generation whose attributes the data centre keeps (REF, kpis.md §4).
    Renewable,
    /// Heat exported across the boundary and used there (ERF, kpis.md §5).
    HeatReuse,
    /// Heat the cooling plant removes, from a heat meter on its loop (CER).
    HeatRemoved,
    /// Water entering the site (WUE); `true` when it is potable (fresh) water.
    Water(bool),
    /// A standby generator's fuel tank (on-site fuel for CUE).
    Generator,
}

impl Role {
    /// Roles whose meters measure the site's electricity (the PUE chain). The others meter
    /// water, heat, fuel or generation and are never summed into E_DC or E_IT.
    pub fn is_electrical(self) -> bool {
        matches!(
            self,
            Role::Facility | Role::It(_) | Role::Cooling | Role::Lighting | Role::Other
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    One = 1,
    Two = 2,
    Three = 3,
}

impl Category {
    pub fn from_number(n: i64) -> Option<Category> {
        match n {
            1 => Some(Category::One),
            2 => Some(Category::Two),
            3 => Some(Category::Three),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }
}

impl Role {
    /// The `role` tag value: `facility`, `it1`..`it3`, `cooling`, `lighting`, `other`, and the
    /// meters beside the PUE chain: `renewable`, `heat_reuse`, `heat_removed`, `water`,
    /// `potable_water`, `generator`.
    pub fn tag(self) -> &'static str {
        match self {
            Role::Facility => "facility",
            Role::It(Category::One) => "it1",
            Role::It(Category::Two) => "it2",
            Role::It(Category::Three) => "it3",
            Role::Cooling => "cooling",
            Role::Lighting => "lighting",
            Role::Other => "other",
            Role::Renewable => "renewable",
            Role::HeatReuse => "heat_reuse",
            Role::HeatRemoved => "heat_removed",
            Role::Water(false) => "water",
            Role::Water(true) => "potable_water",
            Role::Generator => "generator",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Role> {
        Some(match tag {
            "facility" => Role::Facility,
            "it1" => Role::It(Category::One),
            "it2" => Role::It(Category::Two),
            "it3" => Role::It(Category::Three),
            "cooling" => Role::Cooling,
            "lighting" => Role::Lighting,
            "other" => Role::Other,
            "renewable" => Role::Renewable,
            "heat_reuse" => Role::HeatReuse,
            "heat_removed" => Role::HeatRemoved,
            "water" => Role::Water(false),
            "potable_water" => Role::Water(true),
            "generator" => Role::Generator,
            _ => return None,
        })
    }
}

/// Tags as callers build them: static key names, owned values.
pub type Tags = Vec<(&'static str, String)>;

/// One tag: a static key name and a value shared by every series that carries it.
pub type Tag = (&'static str, Arc<str>);

/// Tags held once and shared by many series. `Arc<Vec>`, not `Arc<[Tag]>`: a thin pointer keeps
/// a series to 24 bytes (40 with its `Arc`), 3 MB less at 200,000 series.
pub type TagSet = Arc<Vec<Tag>>;

/// A measurement plus its identifying tags. Built once when a plan is compiled.
///
/// A device's tags (site, device, room, rack) are held once and shared by all its series; a
/// series owns only what tells it apart (its point, role, ...). At 10,000 devices of 20 series
/// each, copying the device's tags into every series cost 100 MB. Identity (`==`, hashing) is the
/// measurement and the merged tags, however they are split between the two.
#[derive(Debug, Clone)]
pub struct Series {
    pub measurement: Measurement,
    /// Sorted by key, no empty values; no key also in `own`.
    shared: TagSet,
    /// Sorted by key, no empty values. Equal ones can be shared too ([`Series::share_own`]).
    own: TagSet,
}

impl Series {
    /// A series with tags of its own only (imports, tests, one-off series).
    pub fn new(measurement: Measurement, tags: Tags) -> Series {
        let own = tags.into_iter().map(|(k, v)| (k, Arc::from(v))).collect();
        Series::with_shared(measurement, &Series::shared_tags(Vec::new()), own)
    }

    /// Tags to share between series: drops empty values, sorts by key.
    pub fn shared_tags(mut tags: Vec<Tag>) -> TagSet {
        tags.retain(|(_, v)| !v.is_empty());
        tags.sort_by_key(|(k, _)| *k);
        tags.shrink_to_fit();
        Arc::new(tags)
    }

    /// A series carrying `shared` (from [`Series::shared_tags`]) and tags of its own; an own tag
    /// whose key is also shared replaces the shared one.
    pub fn with_shared(measurement: Measurement, shared: &TagSet, mut own: Vec<Tag>) -> Series {
        own.retain(|(_, v)| !v.is_empty());
        own.sort_by_key(|(k, _)| *k);
        own.dedup_by_key(|(k, _)| *k);
        let shared = if shared.iter().any(|(k, _)| own.iter().any(|(o, _)| o == k)) {
            let kept = shared
                .iter()
                .filter(|(k, _)| own.iter().all(|(o, _)| o != k));
            Series::shared_tags(kept.cloned().collect())
        } else {
            shared.clone()
        };
        Series {
            measurement,
            shared,
            own: Series::shared_tags(own),
        }
    }

    /// Takes `other`'s own tags if they equal this series': the series of a thousand devices of
    /// one profile then hold each point's tags once, not a thousand times.
    pub fn share_own(&mut self, other: &Series) {
        if self.own == other.own {
            self.own = other.own.clone();
        }
    }

    /// Every tag, sorted by key.
    pub fn tags(&self) -> TagIter<'_> {
        TagIter {
            shared: &self.shared,
            own: &self.own,
        }
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// `measurement,k=v,k=v`: the identity stores keep (line-protocol-like, unescaped). Built on
    /// demand: only a store meeting a series for the first time needs it.
    pub fn key(&self) -> String {
        let mut key = self.measurement.name().to_owned();
        for (k, v) in self.tags() {
            key.push(',');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
        key
    }
}

/// A series' tags in key order: its shared and own lists merged as they are read (a line-protocol
/// hot path, so a plain two-slice merge).
#[derive(Debug, Clone)]
pub struct TagIter<'a> {
    shared: &'a [Tag],
    own: &'a [Tag],
}

impl<'a> Iterator for TagIter<'a> {
    type Item = (&'static str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let next = match (self.shared.split_first(), self.own.split_first()) {
            (Some((x, rest)), Some((y, _))) if x.0 <= y.0 => {
                self.shared = rest;
                x
            }
            (Some((x, rest)), None) => {
                self.shared = rest;
                x
            }
            (_, Some((y, rest))) => {
                self.own = rest;
                y
            }
            (None, None) => return None,
        };
        Some((next.0, &next.1))
    }
}

impl PartialEq for Series {
    fn eq(&self, other: &Series) -> bool {
        self.measurement == other.measurement && self.tags().eq(other.tags())
    }
}

impl Eq for Series {}

impl std::hash::Hash for Series {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.measurement.hash(h);
        for (k, v) in self.tags() {
            k.hash(h);
            v.hash(h);
        }
    }
}

/// One value of one field of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub series: Arc<Series>,
    pub field: Field,
    pub value: f64,
}

/// How a poll went. Travels with the batch so health is data, not log lines.
#[derive(Debug, Clone, PartialEq)]
pub enum PollStatus {
    Ok,
    /// Some values could not be read or decoded; the rest are in the batch.
    Partial(String),
    Failed(String),
}

impl PollStatus {
    pub fn is_up(&self) -> bool {
        !matches!(self, PollStatus::Failed(_))
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            PollStatus::Ok => None,
            PollStatus::Partial(e) | PollStatus::Failed(e) => Some(e),
        }
    }
}

/// Everything one poll of one device produced, stamped with one time.
#[derive(Debug, Clone)]
pub struct Batch {
    pub device: Arc<str>,
    pub at: Timestamp,
    pub samples: Vec<Sample>,
    pub poll: PollStatus,
    pub poll_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_key_is_sorted_and_skips_empty_tags() {
        let s = Series::new(
            Measurement::Power,
            vec![
                ("site", "hk1".into()),
                ("device", "pdu-a".into()),
                ("rack", String::new()),
            ],
        );
        assert_eq!(s.key(), "power,device=pdu-a,site=hk1");
        assert_eq!(s.tag("site"), Some("hk1"));
        assert_eq!(s.tag("rack"), None);
    }

    #[test]
    fn a_series_stays_small() {
        // 200,000 of them at 10,000 devices: each byte here is 0.2 MB of collector memory.
        assert_eq!(std::mem::size_of::<Series>(), 24);
    }

    #[test]
    fn shared_tags_merge_in_key_order_and_do_not_change_identity() {
        use std::hash::BuildHasher;
        let device = Series::shared_tags(vec![
            ("site", "hk1".into()),
            ("device", "pdu-a".into()),
            ("rack", "".into()),
        ]);
        let shared = Series::with_shared(
            Measurement::Power,
            &device,
            vec![("point", "outlet1".into()), ("role", "it2".into())],
        );
        let flat = Series::new(
            Measurement::Power,
            vec![
                ("role", "it2".into()),
                ("point", "outlet1".into()),
                ("device", "pdu-a".into()),
                ("site", "hk1".into()),
            ],
        );
        assert_eq!(
            shared.key(),
            "power,device=pdu-a,point=outlet1,role=it2,site=hk1"
        );
        assert_eq!(shared, flat);
        let state = std::hash::RandomState::new();
        assert_eq!(state.hash_one(&shared), state.hash_one(&flat));
        // An own tag replaces a shared one of the same key.
        let moved = Series::with_shared(Measurement::Power, &device, vec![("site", "hk2".into())]);
        assert_eq!(moved.key(), "power,device=pdu-a,site=hk2");
        assert_ne!(
            moved,
            Series::with_shared(Measurement::Power, &device, Vec::new())
        );
    }

    #[test]
    fn field_names_round_trip_and_carry_units() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(*f));
        }
        assert_eq!(Field::EnergyKwh.kind(), Kind::Counter);
        assert_eq!(Field::SupplyTempC.measurement(), Measurement::Cooling);
    }

    #[test]
    fn role_tags_round_trip() {
        for r in [
            Role::Facility,
            Role::It(Category::One),
            Role::It(Category::Two),
            Role::It(Category::Three),
            Role::Cooling,
            Role::Lighting,
            Role::Other,
            Role::Renewable,
            Role::HeatReuse,
            Role::HeatRemoved,
            Role::Water(false),
            Role::Water(true),
            Role::Generator,
        ] {
            assert_eq!(Role::from_tag(r.tag()), Some(r));
        }
    }
}
