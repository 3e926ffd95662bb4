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
    LoadPct => "load_pct", Ups, Gauge;
    BatteryChargePct => "battery_charge_pct", Ups, Gauge;
    RuntimeS => "runtime_s", Ups, Gauge;
    OnBattery => "on_battery", Ups, Gauge;
    SupplyTempC => "supply_temp_c", Cooling, Gauge;
    ReturnTempC => "return_temp_c", Cooling, Gauge;
    FanSpeedPct => "fan_speed_pct", Cooling, Gauge;
    CoolingPowerW => "cooling_power_w", Cooling, Gauge;
    TemperatureC => "temperature_c", Environment, Gauge;
    HumidityPct => "humidity_pct", Environment, Gauge;
    DewPointC => "dew_point_c", Environment, Gauge;
    CpuUtilPct => "cpu_util_pct", Server, Gauge;
    MemUtilPct => "mem_util_pct", Server, Gauge;
    PowerW => "power_w", Server, Gauge;
    UptimeS => "uptime_s", Device, Gauge;
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
}

impl Field {
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
    /// The `role` tag value: `facility`, `it1`, `it2`, `it3`, `cooling`, `lighting`, `other`.
    pub fn tag(self) -> &'static str {
        match self {
            Role::Facility => "facility",
            Role::It(Category::One) => "it1",
            Role::It(Category::Two) => "it2",
            Role::It(Category::Three) => "it3",
            Role::Cooling => "cooling",
            Role::Lighting => "lighting",
            Role::Other => "other",
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
            _ => return None,
        })
    }
}

/// Tags in a fixed order: key names are static, values are owned once per series.
pub type Tags = Vec<(&'static str, String)>;

/// A measurement plus its identifying tags. Built once when a plan is compiled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Series {
    pub measurement: Measurement,
    /// Sorted by key, so equal series have equal `key`s.
    tags: Tags,
    /// `measurement,k=v,k=v` — the identity used by stores (line-protocol-like, unescaped).
    key: String,
}

impl Series {
    pub fn new(measurement: Measurement, mut tags: Tags) -> Series {
        tags.retain(|(_, v)| !v.is_empty());
        tags.sort_by_key(|(k, _)| *k);
        let mut key = measurement.name().to_owned();
        for (k, v) in &tags {
            key.push(',');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
        Series {
            measurement,
            tags,
            key,
        }
    }

    pub fn tags(&self) -> &[(&'static str, String)] {
        &self.tags
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn key(&self) -> &str {
        &self.key
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
        ] {
            assert_eq!(Role::from_tag(r.tag()), Some(r));
        }
    }
}
