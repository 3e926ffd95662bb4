//! The simulated site's devices: which protocol and profile each speaks, the values it serves
//! from the physics model, and the inventory a collector needs to read them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kilowatch_core::clock::Clock;
use serde::Deserialize;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::images::{self, modbus_image, snmp_mib};
use crate::modbus_server;
use crate::physics::{Energies, Model, State};
use crate::redfish_server;
use crate::snmp_agent;

/// `kilowatch sim --config FILE`: the shape of the simulated site and where it listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    pub site: String,
    pub room: String,
    pub racks: usize,
    pub servers_per_rack: usize,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// First port; devices take consecutive ports. 0 lets the OS choose each (tests).
    pub port_base: u16,
    /// The community the SNMP agents accept.
    pub community: String,
    /// Devices that answer only after `slow_delay` (to show one slow device delays no other).
    pub slow_devices: Vec<String>,
    #[serde(with = "humantime_serde_opt")]
    pub slow_delay: Duration,
    /// Put before every device id, so the sites of an estate can share one inventory.
    pub device_prefix: String,
    /// Cooling plant efficiency as a multiple of the model's COP (PUE differs between sites).
    pub cooling_cop_scale: f64,
    pub lighting_w: f64,
    /// Written into the inventory: each rack's power budget and the CRAC's rated capacity.
    pub rack_budget_w: f64,
    pub rated_cooling_w: f64,
    /// Written into the inventory for cost and CO2 figures.
    pub tariff_hkd_per_kwh: Option<f64>,
    pub emission_factor_kg_per_kwh: Option<f64>,
    /// How the servers are read: their host agent and iDRAC over SNMP, or their BMC over
    /// Redfish (issue 19: many estates turn SNMP off on servers).
    pub server_protocol: ServerProtocol,
    /// How long an idle Redfish session lasts before the BMC drops it.
    #[serde(with = "humantime_serde_opt")]
    pub session_ttl: Duration,
    /// Also serve the meters beyond electricity (issue 22): potable and recycled water meters,
    /// a heat meter on the heat-reuse loop and the rooftop PV inverter, all over Modbus.
    pub site_meters: bool,
    /// The demo's events (an outage on battery, a hot rack); none by default.
    pub story: crate::story::Story,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerProtocol {
    #[default]
    Snmp,
    Redfish,
}

/// The simulated BMCs' account; its password is the site's community secret.
pub const BMC_USER: &str = "kilowatch";

mod humantime_serde_opt {
    use serde::Deserialize;
    use std::time::Duration;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            site: "sim".into(),
            room: "hall-1".into(),
            racks: 2,
            servers_per_rack: 5,
            speed: 1.0,
            port_base: 0,
            community: "kilowatch-sim".into(),
            slow_devices: Vec::new(),
            slow_delay: Duration::from_secs(5),
            device_prefix: String::new(),
            cooling_cop_scale: 1.0,
            lighting_w: 350.0,
            rack_budget_w: 4000.0,
            rated_cooling_w: 10_000.0,
            tariff_hkd_per_kwh: None,
            emission_factor_kg_per_kwh: None,
            server_protocol: ServerProtocol::Snmp,
            session_ttl: Duration::from_secs(600),
            site_meters: false,
            story: crate::story::Story::default(),
        }
    }
}

impl SimConfig {
    /// `n` sites that differ the way a real estate does: size, cooling plant efficiency (so
    /// PUE), lighting, rack budgets and cooling capacity. Every third site has little cooling
    /// to spare, so it cannot take another site in. Ids `dc01`…; ports from `port_base` in
    /// blocks of 100 per site.
    pub fn estate(&self, n: usize) -> Vec<SimConfig> {
        const COP: [f64; 5] = [1.35, 0.7, 1.0, 0.6, 1.2];
        (0..n)
            .map(|i| {
                let id = format!("dc{:02}", i + 1);
                SimConfig {
                    site: id.clone(),
                    racks: 2 + i % 3,
                    device_prefix: format!("{id}-"),
                    cooling_cop_scale: COP[i % COP.len()],
                    lighting_w: 200.0 + 150.0 * (i % 3) as f64,
                    rack_budget_w: [6000.0, 4000.0, 3000.0][i % 3],
                    // Roughly twice, once and a bit, and just over the heat each size makes.
                    rated_cooling_w: [20_000.0, 8_000.0, 6_000.0][i % 3],
                    // CLP's 2025 average tariff and its 2020 emission factor (consolidation.md §4.1).
                    tariff_hkd_per_kwh: self.tariff_hkd_per_kwh.or(Some(1.443)),
                    emission_factor_kg_per_kwh: self.emission_factor_kg_per_kwh.or(Some(0.37)),
                    port_base: if self.port_base == 0 {
                        0
                    } else {
                        self.port_base.saturating_add(100 * i as u16)
                    },
                    ..self.clone()
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    FacilityMeter,
    LightingMeter,
    Crac,
    Ups,
    Pdu(usize),
    Server(usize, usize),
    Environment,
    /// A water meter: potable (cooling-tower make-up) or recycled (humidifiers).
    WaterMeter {
        potable: bool,
    },
    HeatMeter,
    PvInverter,
}

/// One running simulated device.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: String,
    pub profile: &'static str,
    /// URL without credentials: `snmp://127.0.0.1:PORT` or `modbus://127.0.0.1:PORT/UNIT`.
    pub address: String,
    pub rack: Option<String>,
    /// `role` and `category` lines for the inventory.
    pub role: Option<(&'static str, Option<u8>)>,
}

/// Cumulative energy registers, advanced lazily to the time of each request.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) at: i64,
    pub(crate) facility_kwh: f64,
    pub(crate) lighting_kwh: f64,
    pub(crate) cooling_kwh: f64,
    pub(crate) rack_kwh: Vec<f64>,
    pub(crate) potable_m3: f64,
    pub(crate) recycled_m3: f64,
    pub(crate) reuse_kwh: f64,
    pub(crate) pv_kwh: f64,
}

pub(crate) struct Shared {
    pub(crate) model: Model,
    pub(crate) clock: Clock,
    pub(crate) started: i64,
    pub(crate) counters: Mutex<Counters>,
}

impl Shared {
    /// The state now, and the counters advanced to now.
    pub(crate) fn now(&self) -> (i64, State, Counters) {
        let now = self.clock.now_ms();
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if now > c.at {
            let e = self.model.energy(c.at, now);
            c.facility_kwh += e.facility_kwh;
            c.lighting_kwh += e.lighting_kwh;
            c.cooling_kwh += e.cooling_kwh;
            c.potable_m3 += e.potable_m3;
            c.recycled_m3 += e.recycled_m3;
            c.reuse_kwh += e.reuse_kwh;
            c.pv_kwh += e.pv_kwh;
            // Split rack energy by the racks' shares at the interval's midpoint.
            let mid = self.model.state((c.at + now) / 2);
            let total: f64 = mid.rack_w.iter().sum();
            for (k, w) in c.rack_kwh.iter_mut().zip(&mid.rack_w) {
                *k += if total > 0.0 {
                    e.racks_kwh * w / total
                } else {
                    0.0
                };
            }
            c.at = now;
        }
        let snapshot = Counters {
            at: c.at,
            facility_kwh: c.facility_kwh,
            lighting_kwh: c.lighting_kwh,
            cooling_kwh: c.cooling_kwh,
            rack_kwh: c.rack_kwh.clone(),
            potable_m3: c.potable_m3,
            recycled_m3: c.recycled_m3,
            reuse_kwh: c.reuse_kwh,
            pv_kwh: c.pv_kwh,
        };
        drop(c);
        (now, self.model.state(now), snapshot)
    }
}

/// The simulated site, serving until dropped or shut down.
pub struct RunningSim {
    pub config: SimConfig,
    pub devices: Vec<SimDevice>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    stops: std::collections::HashMap<String, CancellationToken>,
    /// Each device's failure switch ([`RunningSim::fail_device`]).
    failures: std::collections::HashMap<String, crate::Failure>,
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl RunningSim {
    /// Binds every device on 127.0.0.1 and starts serving.
    pub async fn start(config: SimConfig, clock: Clock) -> std::io::Result<RunningSim> {
        let mut model = Model::new(config.racks, config.servers_per_rack);
        model.cop_scale = config.cooling_cop_scale;
        model.lighting_w = config.lighting_w;
        model.story = config.story.clone();
        let started = clock.now_ms();
        let shared = Arc::new(Shared {
            counters: Mutex::new(Counters {
                at: started,
                // Meters are not new: counters start where a few years of service left them.
                facility_kwh: 48_210.0,
                lighting_kwh: 9_032.0,
                cooling_kwh: 15_774.0,
                rack_kwh: (0..config.racks)
                    .map(|r| 5_000.0 + 731.0 * r as f64)
                    .collect(),
                potable_m3: 1_204.5,
                recycled_m3: 310.25,
                reuse_kwh: 20_480.0,
                pv_kwh: 7_316.0,
            }),
            model,
            clock,
            started,
        });
        let cancel = CancellationToken::new();
        let mut kinds = vec![
            Kind::FacilityMeter,
            Kind::LightingMeter,
            Kind::Crac,
            Kind::Ups,
        ];
        for r in 0..config.racks {
            kinds.push(Kind::Pdu(r));
            for s in 0..config.servers_per_rack {
                kinds.push(Kind::Server(r, s));
            }
        }
        kinds.push(Kind::Environment);
        if config.site_meters {
            kinds.extend([
                Kind::WaterMeter { potable: true },
                Kind::WaterMeter { potable: false },
                Kind::HeatMeter,
                Kind::PvInverter,
            ]);
        }

        let mut devices = Vec::with_capacity(kinds.len());
        let mut stops = std::collections::HashMap::new();
        let mut failures = std::collections::HashMap::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let id = format!("{}{}", config.device_prefix, device_id(kind));
            let port = if config.port_base == 0 {
                0
            } else {
                config.port_base.saturating_add(i as u16)
            };
            let bind = SocketAddr::from(([127, 0, 0, 1], port));
            // Each device can be stopped on its own (a failure to watch the alarms react to).
            let device_cancel = cancel.child_token();
            stops.insert(id.clone(), device_cancel.clone());
            let failure = crate::Failure::default();
            failures.insert(id.clone(), failure.clone());
            let delay = crate::Pace {
                delay: if config.slow_devices.contains(&id) {
                    config.slow_delay
                } else {
                    Duration::ZERO
                }
                .into(),
                failure,
            };
            let rack = match kind {
                Kind::Pdu(r) | Kind::Server(r, _) => Some(rack_id(r)),
                _ => None,
            };
            let (address, profile, role) = match kind {
                Kind::WaterMeter { .. } | Kind::HeatMeter | Kind::PvInverter => {
                    let listener = TcpListener::bind(bind).await?;
                    let addr = listener.local_addr()?;
                    let (profile, role) = images::site_meter(kind);
                    let meter = images::SiteMeter::new(kind, profile)?;
                    let sh = shared.clone();
                    let image = move || meter.image(&sh);
                    tokio::spawn(modbus_server::serve(
                        listener,
                        1,
                        image,
                        delay.clone(),
                        device_cancel.clone(),
                    ));
                    (format!("modbus://{addr}/1"), profile, Some((role, None)))
                }
                Kind::FacilityMeter | Kind::LightingMeter | Kind::Crac => {
                    let listener = TcpListener::bind(bind).await?;
                    let addr = listener.local_addr()?;
                    let sh = shared.clone();
                    let image = move || modbus_image(kind, &sh);
                    tokio::spawn(modbus_server::serve(
                        listener,
                        1,
                        image,
                        delay.clone(),
                        device_cancel.clone(),
                    ));
                    let (profile, role) = match kind {
                        Kind::FacilityMeter => ("eastron-sdm630", ("facility", None)),
                        Kind::LightingMeter => ("eastron-sdm630", ("lighting", None)),
                        _ => ("kilowatch-sim-crac", ("cooling", None)),
                    };
                    (format!("modbus://{addr}/1"), profile, Some(role))
                }
                Kind::Server(..) if config.server_protocol == ServerProtocol::Redfish => {
                    let listener = TcpListener::bind(bind).await?;
                    let addr = listener.local_addr()?;
                    let sh = shared.clone();
                    let read = move || images::redfish_reading(kind, &sh);
                    let account = redfish_server::Account {
                        user: BMC_USER.to_owned(),
                        password: config.community.clone(),
                        session_ttl: config.session_ttl,
                    };
                    tokio::spawn(redfish_server::serve(
                        listener,
                        read,
                        account,
                        delay.clone(),
                        device_cancel.clone(),
                    ));
                    (format!("redfish+http://{addr}"), "redfish-dmtf", None)
                }
                _ => {
                    let socket = UdpSocket::bind(bind).await?;
                    let addr = socket.local_addr()?;
                    let sh = shared.clone();
                    let mib = move || snmp_mib(kind, &sh);
                    tokio::spawn(snmp_agent::serve(
                        socket,
                        config.community.clone().into_bytes(),
                        mib,
                        delay.clone(),
                        device_cancel.clone(),
                    ));
                    let (profile, role) = match kind {
                        Kind::Ups => ("rfc1628-ups", Some(("it", Some(1)))),
                        Kind::Pdu(_) => ("apc-rpdu2", Some(("it", Some(3)))),
                        Kind::Server(..) => ("server-hostres-idrac", None),
                        _ => ("akcp-sensorprobe", None),
                    };
                    (format!("snmp://{addr}"), profile, role)
                }
            };
            devices.push(SimDevice {
                id,
                profile,
                address,
                rack,
                role,
            });
        }
        Ok(RunningSim {
            config,
            devices,
            shared,
            cancel,
            stops,
            failures,
        })
    }

    /// The model's own energy per metering point over `[from, to)`.
    pub fn truth(&self, from: i64, to: i64) -> Energies {
        self.shared.model.energy(from, to)
    }

    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Stops one device answering, as if it failed; false if there is no such device. (A Modbus
    /// device stops accepting connections; one already open keeps being served.)
    pub fn stop_device(&self, id: &str) -> bool {
        match self.stops.get(id) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    /// Makes one device fail (SNMP: no answer; Modbus: gateway exceptions; Redfish: 503) or
    /// answer again; false if there is no such device.
    pub fn fail_device(&self, id: &str, failed: bool) -> bool {
        self.failures.get(id).map(|f| f.set(failed)).is_some()
    }

    /// An inventory for the collector. `community_ref` is how the config names the secret
    /// (`env:NAME` or `file:PATH`); the value itself is never written.
    pub fn inventory_toml(
        &self,
        community_ref: &str,
        store_path: &str,
        interval: &str,
        timeout: &str,
    ) -> String {
        estate_inventory(
            std::slice::from_ref(self),
            community_ref,
            store_path,
            interval,
            timeout,
        )
    }

    /// This site and its devices, as inventory TOML.
    fn inventory_site(&self, s: &mut String) {
        use std::fmt::Write;
        let c = &self.config;
        let _ = writeln!(
            s,
            "[[sites]]\nid = {:?}\nname = \"Simulated data centre {}\"\ntimezone = \"Asia/Hong_Kong\"",
            c.site, c.site
        );
        if let Some(t) = c.tariff_hkd_per_kwh {
            let _ = writeln!(s, "tariff_hkd_per_kwh = {t}");
        }
        if let Some(f) = c.emission_factor_kg_per_kwh {
            let _ = writeln!(s, "emission_factor_kg_per_kwh = {f}");
        }
        let _ = writeln!(s, "\n[[sites.rooms]]\nid = {:?}\n", c.room);
        for r in 0..c.racks {
            let _ = writeln!(
                s,
                "[[sites.rooms.racks]]\nid = {:?}\npower_budget_w = {:.1}\n",
                rack_id(r),
                c.rack_budget_w
            );
        }
        for d in &self.devices {
            let _ = writeln!(
                s,
                "[[devices]]\nid = {:?}\nsite = {:?}\nroom = {:?}",
                d.id, c.site, c.room
            );
            if let Some(rack) = &d.rack {
                let _ = writeln!(s, "rack = {rack:?}");
            }
            let _ = writeln!(s, "profile = {:?}\naddress = {:?}", d.profile, d.address);
            // Ratings for capacity checks: 16 A branch breakers, the CRAC's rated capacity.
            match d.profile {
                "apc-rpdu2" => s.push_str("breaker_a = 16.0\n"),
                // The sensor probe's cables run to the racks' inlets: the installer says so.
                "akcp-sensorprobe" => s.push_str("temperature_at = \"inlet\"\n"),
                "kilowatch-sim-crac" => {
                    let _ = writeln!(s, "rated_cooling_w = {:.1}", c.rated_cooling_w);
                }
                // Meters idle at night (PV) or by day's end (heat reuse) step from nothing to
                // their peak: their ratings make the spike rule exact rather than a guess from
                // the neighbouring readings' rates.
                "sunspec-inverter-103" => {
                    let _ = writeln!(s, "max_power_w = {:.1}", 1.33 * self.shared.model.pv_peak_w);
                }
                "aquametro-calec-st" => {
                    let _ = writeln!(s, "max_power_w = {:.1}", c.rated_cooling_w);
                }
                _ => {}
            }
            if d.address.starts_with("snmp") {
                let _ = writeln!(s, "auth = \"sim\"");
            }
            if d.address.starts_with("redfish") {
                let _ = writeln!(s, "auth = \"sim-bmc\"");
            }
            if let Some((role, cat)) = d.role {
                match role {
                    "potable_water" => s.push_str("role = \"water\"\npotable = true\n"),
                    "water" => s.push_str("role = \"water\"\npotable = false\n"),
                    _ => {
                        let _ = writeln!(s, "role = {role:?}");
                    }
                }
                if let Some(cat) = cat {
                    let _ = writeln!(s, "category = {cat}");
                }
            }
            s.push('\n');
        }
    }
}

/// One inventory for several simulated sites (one SNMP community for all).
pub fn estate_inventory(
    sites: &[RunningSim],
    community_ref: &str,
    store_path: &str,
    interval: &str,
    timeout: &str,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let speed = sites.first().map_or(1.0, |r| r.config.speed);
    let _ = writeln!(
        s,
        "# Inventory of the simulated site(s), written by kilowatch (sim speed {speed}x)."
    );
    let _ = writeln!(
        s,
        "[collector]\ninterval = {interval:?}\ntimeout = {timeout:?}\n"
    );
    let _ = writeln!(s, "[store]\npath = {store_path:?}\n");
    let _ = writeln!(
        s,
        "[auths.sim]\nversion = \"v2c\"\ncommunity = {community_ref:?}\n"
    );
    if sites
        .iter()
        .any(|r| r.config.server_protocol == ServerProtocol::Redfish)
    {
        let _ = writeln!(
            s,
            "[auths.sim-bmc]\nversion = \"redfish\"\nuser = {BMC_USER:?}\npassword = {community_ref:?}\n"
        );
    }
    for site in sites {
        site.inventory_site(&mut s);
    }
    s
}

pub(crate) fn rack_id(r: usize) -> String {
    format!("r{:02}", r + 1)
}

pub(crate) fn device_id(kind: Kind) -> String {
    match kind {
        Kind::FacilityMeter => "meter-main".into(),
        Kind::LightingMeter => "meter-lighting".into(),
        Kind::Crac => "crac-1".into(),
        Kind::Ups => "ups-1".into(),
        Kind::Pdu(r) => format!("pdu-{}", rack_id(r)),
        Kind::Server(r, s) => format!("srv-{}-{:02}", rack_id(r), s + 1),
        Kind::Environment => "env-1".into(),
        Kind::WaterMeter { potable: true } => "water-makeup".into(),
        Kind::WaterMeter { potable: false } => "water-recycled".into(),
        Kind::HeatMeter => "heat-reuse".into(),
        Kind::PvInverter => "pv-roof".into(),
    }
}
