//! The inventory as written: one serde struct per section, before any check. Unknown keys are
//! not refused here but reported by [`super::checker::Checker::section`], so every one is
//! named; a type error names the first bad key of its section.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::inventory::{V3Auth, V3Priv};

#[derive(Debug, Deserialize)]
pub(super) struct RawCollector {
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub(super) interval: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub(super) timeout: Option<Duration>,
    pub(super) max_concurrent_polls: Option<usize>,
    pub(super) snmp_max_repetitions: Option<u32>,
    pub(super) snmp_max_varbinds: Option<usize>,
    pub(super) sites: Option<Vec<String>>,
    pub(super) peers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawStore {
    pub(super) path: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub(super) retention: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub(super) rollup_retention: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "version")]
pub(super) enum RawAuth {
    #[serde(rename = "v1")]
    V1 { community: String },
    #[serde(rename = "v2c")]
    V2c { community: String },
    #[serde(rename = "v3")]
    V3 {
        user: String,
        auth_protocol: Option<V3Auth>,
        auth_key: Option<String>,
        priv_protocol: Option<V3Priv>,
        priv_key: Option<String>,
    },
    #[serde(rename = "redfish")]
    Redfish(RawRedfish),
    #[serde(rename = "ipmi")]
    Ipmi {
        user: String,
        password: String,
        /// 17 (the default) or 3; checked in `auths`, as `privilege` is, so that both are
        /// reported at once with their keys.
        cipher_suite: Option<i64>,
        privilege: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRedfish {
    pub(super) user: String,
    pub(super) password: String,
    pub(super) session: Option<bool>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) pin_sha256: Option<String>,
    #[serde(default)]
    pub(super) insecure: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSite {
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) emission_factor_kg_per_kwh: Option<f64>,
    pub(super) tariff_hkd_per_kwh: Option<f64>,
    pub(super) timezone: Option<String>,
    pub(super) utility: Option<String>,
    #[serde(default)]
    pub(super) rooms: Vec<RawRoom>,
    /// `[[sites.years]]`: values entered for a reporting year, keyed by data-set field id.
    #[serde(default)]
    pub(super) years: Vec<std::collections::BTreeMap<String, toml::Value>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRoom {
    pub(super) id: String,
    #[serde(default)]
    pub(super) racks: Vec<RawRack>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRack {
    pub(super) id: String,
    pub(super) power_budget_w: Option<f64>,
    pub(super) space_u: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawDevice {
    pub(super) id: String,
    pub(super) site: String,
    pub(super) room: Option<String>,
    pub(super) rack: Option<String>,
    pub(super) profile: String,
    pub(super) address: String,
    pub(super) auth: Option<String>,
    pub(super) role: Option<RawRole>,
    pub(super) category: Option<i64>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub(super) interval: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub(super) timeout: Option<Duration>,
    pub(super) accuracy_pct: Option<f64>,
    pub(super) breaker_a: Option<f64>,
    pub(super) max_power_w: Option<f64>,
    pub(super) rated_cooling_w: Option<f64>,
    pub(super) rated_power_w: Option<f64>,
    pub(super) height_u: Option<f64>,
    pub(super) server: Option<String>,
    pub(super) outlet: Option<String>,
    pub(super) temperature_at: Option<String>,
    pub(super) potable: Option<bool>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawRole {
    Facility,
    It,
    Cooling,
    Lighting,
    Other,
    Renewable,
    HeatReuse,
    HeatRemoved,
    Water,
    Generator,
}

pub(super) fn de_duration_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "'{s}' is not a duration like \"10s\" or \"2m\" ({e})"
        ))
    })
}

pub(super) const TOP_KEYS: &[&str] = &[
    "emission_factors",
    "lang",
    "collector",
    "store",
    "influx",
    "alerts",
    "rules",
    "traps",
    "profile_dirs",
    "auths",
    "sites",
    "devices",
];

#[derive(Debug, Deserialize)]
pub(super) struct RawInflux {
    pub(super) url: String,
    pub(super) token: Option<String>,
    pub(super) password: Option<String>,
    pub(super) max_outbox_bytes: Option<u64>,
}
