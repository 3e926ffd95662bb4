//! The typed inventory the checks produce: credentials ([`Auth`]), the site tree
//! ([`Site`] > [`Room`] > [`Rack`]) and [`Device`]s. Every value here has passed its checks: a
//! device's site, room and rack exist, its address matches its profile's protocol, and its
//! secrets are loaded (and print as `<redacted>`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::address::Address;
use crate::model::Role;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    SnmpV1 {
        community: Secret,
    },
    SnmpV2c {
        community: Secret,
    },
    /// SNMPv3 USM: no auth, auth only, or auth and privacy.
    SnmpV3 {
        user: String,
        security: V3Security,
    },
    /// A Redfish account and how the BMC's certificate is trusted.
    Redfish(RedfishAuth),
    /// IPMI 2.0 over LAN (RMCP+): a BMC user, its password, the cipher suite and the session
    /// privilege asked for.
    Ipmi {
        user: String,
        password: Secret,
        cipher_suite: IpmiCipherSuite,
        privilege: IpmiPrivilege,
    },
}

impl Auth {
    /// The protocol these credentials are for, as [`Address::protocol`] names it.
    pub fn protocol(&self) -> &'static str {
        match self {
            Auth::SnmpV1 { .. } | Auth::SnmpV2c { .. } | Auth::SnmpV3 { .. } => "snmp",
            Auth::Redfish(_) => "redfish",
            Auth::Ipmi { .. } => "ipmi",
        }
    }
}

/// `[auths.NAME] version = "redfish"`: one account, read-only is enough.
#[derive(Debug, Clone, PartialEq)]
pub struct RedfishAuth {
    pub user: String,
    pub password: Secret,
    /// Log in once and send the session's `X-Auth-Token` (DSP0266 §13.3.4), rather than Basic
    /// on every request: BMCs check a password slowly, and some count every Basic request as a
    /// login in their audit log.
    pub session: bool,
    pub trust: TlsTrust,
}

/// Which server certificates a Redfish driver accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsTrust {
    /// The host's root store.
    System,
    /// The BMC's own CA, as PEM (`ca_file`): most BMCs ship a self-signed certificate.
    Ca(Vec<u8>),
    /// The SHA-256 of the BMC's certificate (DER) (`pin_sha256`): that certificate only, whoever
    /// signed it and whatever name it carries.
    Pin([u8; 32]),
    /// Any certificate (`insecure = true`): only when asked, and logged when the driver starts.
    Insecure,
}

/// The RMCP+ cipher suites we speak (IPMI 2.0 table 22-20): both authenticate with RAKP,
/// protect integrity with an HMAC and encrypt with AES-CBC-128. Suites without integrity or
/// confidentiality are left out on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpmiCipherSuite {
    /// Suite 3: RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128.
    Sha1Aes = 3,
    /// Suite 17: RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128.
    #[default]
    Sha256Aes = 17,
}

impl IpmiCipherSuite {
    /// The suite by its number; `None` for the ones we do not speak.
    pub fn from_id(id: i64) -> Option<IpmiCipherSuite> {
        match id {
            3 => Some(IpmiCipherSuite::Sha1Aes),
            17 => Some(IpmiCipherSuite::Sha256Aes),
            _ => None,
        }
    }

    pub fn id(self) -> u8 {
        self as u8
    }
}

/// The session privilege asked of the BMC. Everything Kilowatch sends is allowed at `user`;
/// some BMCs only serve DCMI or sensors to a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpmiPrivilege {
    #[default]
    User,
    Operator,
    Administrator,
}

impl IpmiPrivilege {
    /// The privilege level code, as `Set Session Privilege Level` and RAKP message 1 carry it
    /// (IPMI 2.0 §22.18).
    pub fn code(self) -> u8 {
        match self {
            IpmiPrivilege::User => 2,
            IpmiPrivilege::Operator => 3,
            IpmiPrivilege::Administrator => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum V3Security {
    NoAuthNoPriv,
    AuthNoPriv {
        protocol: V3Auth,
        key: Secret,
    },
    AuthPriv {
        protocol: V3Auth,
        key: Secret,
        cipher: V3Priv,
        priv_key: Secret,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V3Auth {
    Md5,
    #[serde(alias = "sha")]
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V3Priv {
    Des,
    #[serde(alias = "aes")]
    Aes128,
    Aes192,
    Aes256,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    /// Grid emission factor for CUE and CO2 (kg CO2e per kWh), e.g. the utility's for the year.
    pub emission_factor_kg_per_kwh: Option<f64>,
    /// Energy tariff for cost figures (HKD per kWh).
    pub tariff_hkd_per_kwh: Option<f64>,
    /// The site's IANA zone (`timezone = "Asia/Hong_Kong"`; default the host's): its days,
    /// months and years are the ones reports, `publish` and the TUI's "today" use.
    pub timezone: crate::calendar::TimeZone,
    pub rooms: Vec<Room>,
    /// The electricity utility (`CLP`, `HKE`, ...): its emission factor for each year.
    pub utility: Option<String>,
    /// Values entered for reporting years (`[[sites.years]]`), by data-set field id.
    pub years: BTreeMap<i32, BTreeMap<String, Entered>>,
}

/// A value entered in the inventory rather than measured: every output marks it so.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Entered {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: String,
    pub racks: Vec<Rack>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rack {
    pub id: String,
    pub power_budget_w: Option<f64>,
    /// Usable height in rack units, for consolidation plans (42 U when not stated).
    pub space_u: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub site: String,
    pub room: Option<String>,
    pub rack: Option<String>,
    pub profile: String,
    pub address: Address,
    pub auth: Option<Auth>,
    pub role: Option<Role>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    /// Stated meter accuracy (± %, IEC class number), for PUE uncertainty.
    pub accuracy_pct: Option<f64>,
    /// Rating of each phase or branch breaker (A), for the 80 % rule on PDUs.
    pub breaker_a: Option<f64>,
    /// The most a meter can see (W): its CT or supply rating. An energy step or power reading
    /// above 1.2 times it is a spike, rejected (domain/pue.md §7.2).
    pub max_power_w: Option<f64>,
    /// Rated cooling capacity (W of heat removed), for cooling units.
    pub rated_cooling_w: Option<f64>,
    /// Nameplate or measured peak power of a server (W): scales the SPECpower-like fallback curve
    /// when the server has no power reading.
    pub rated_power_w: Option<f64>,
    /// Height of a server in rack units, for consolidation plans.
    pub height_u: Option<f64>,
    /// The server this device measures, when it is listed apart from it: a BMC read over
    /// Redfish or IPMI while the server's own entry is its host agent. Its power then counts
    /// as that server's.
    pub server: Option<String>,
    /// The PDU outlet feeding this server, as (PDU device, point): `outlet = "pdu-r01/outlet3"`.
    /// Its power stands for the server's when neither the server nor a BMC reads it.
    pub outlet: Option<(String, String)>,
    /// Where the temperatures this device does not place itself (`temperature_c`: a probe on
    /// a cable) are measured, as the installer knows: `inlet` makes them rack-inlet readings
    /// for the thermal analysis, `outlet` and `outdoor` likewise. Unset, they stay unplaced
    /// and thermal compliance does not use them.
    pub temperature_at: Option<crate::model::Field>,
}

impl Device {
    /// A device known only by its id, site, profile and address, everything else unset: what
    /// `probe` reads, and what tests and benchmarks build on.
    pub fn new(
        id: impl Into<String>,
        site: impl Into<String>,
        profile: impl Into<String>,
        address: Address,
    ) -> Device {
        Device {
            id: id.into(),
            site: site.into(),
            room: None,
            rack: None,
            profile: profile.into(),
            address,
            auth: None,
            role: None,
            interval: None,
            timeout: None,
            accuracy_pct: None,
            breaker_a: None,
            max_power_w: None,
            rated_cooling_w: None,
            rated_power_w: None,
            height_u: None,
            server: None,
            outlet: None,
            temperature_at: None,
        }
    }

    /// The series a value of `field` from this device belongs to: its place as tags, and its
    /// PUE role on un-pointed power and energy (the collector's plans tag the same way).
    pub fn series(&self, field: crate::model::Field, point: Option<&str>) -> crate::model::Series {
        let mut tags: crate::model::Tags =
            vec![("site", self.site.clone()), ("device", self.id.clone())];
        if let Some(room) = &self.room {
            tags.push(("room", room.clone()));
        }
        if let Some(rack) = &self.rack {
            tags.push(("rack", rack.clone()));
        }
        match point {
            Some(p) => tags.push(("point", p.to_owned())),
            None => {
                if let Some(role) = self.role.filter(|_| field.takes_role()) {
                    tags.push(("role", role.tag().to_owned()));
                }
            }
        }
        crate::model::Series::new(field.measurement(), tags)
    }
}
