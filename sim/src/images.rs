//! What each simulated device serves, from the physics model's state: a Modbus register image
//! for the meters and the CRAC, a MIB for the SNMP agents, a Redfish reading for a BMC.

use std::collections::BTreeMap;

use crate::devices::{Kind, Shared, device_id, rack_id};
use crate::modbus_server::Registers;
use crate::redfish_server::Reading;
use crate::snmp_agent::{Mib, Value};

const VOLTS: f64 = 230.0;
const PF: f64 = 0.97;

pub(crate) fn modbus_image(kind: Kind, sh: &Shared) -> Registers {
    let (_, st, c) = sh.now();
    let mut r = Registers::default();
    match kind {
        Kind::FacilityMeter | Kind::LightingMeter => {
            let (w, kwh) = if kind == Kind::FacilityMeter {
                (st.facility_w, c.facility_kwh)
            } else {
                (st.lighting_w, c.lighting_kwh)
            };
            // Eastron SDM630 input registers (float32, high word first).
            let t = &mut r.input;
            for (i, v) in [VOLTS, VOLTS + 0.8, VOLTS - 0.6].iter().enumerate() {
                Registers::put_f32(t, 2 * i as u16, *v as f32);
                Registers::put_f32(t, 6 + 2 * i as u16, (w / 3.0 / v / PF) as f32);
                Registers::put_f32(t, 12 + 2 * i as u16, (w / 3.0) as f32);
            }
            Registers::put_f32(t, 52, w as f32);
            Registers::put_f32(t, 56, (w / PF) as f32);
            Registers::put_f32(t, 62, PF as f32);
            Registers::put_f32(t, 70, 50.0);
            Registers::put_f32(t, 342, kwh as f32);
            // The rest of what a real SDM630 serves and the profile reads: phase-1 power factor,
            // import/export and phase-1 import energy.
            Registers::put_f32(t, 30, PF as f32);
            Registers::put_f32(t, 72, kwh as f32);
            Registers::put_f32(t, 74, 0.0);
            Registers::put_f32(t, 346, (kwh / 3.0) as f32);
        }
        Kind::Crac => {
            let t = &mut r.holding;
            t.insert(0, (st.supply_c * 10.0).round() as i16 as u16);
            t.insert(1, (st.return_c * 10.0).round() as i16 as u16);
            t.insert(2, (st.fan_pct * 10.0).round() as u16);
            Registers::put_u32(t, 3, st.cooling_w.round() as u32);
            Registers::put_u32(t, 5, st.heat_w.round() as u32);
            Registers::put_u32(t, 7, (c.cooling_kwh * 100.0).round() as u32);
        }
        _ => {}
    }
    r
}

fn oid(s: &str) -> Vec<u32> {
    s.split('.').filter_map(|p| p.parse().ok()).collect()
}

fn with(mut base: Vec<u32>, tail: &[u32]) -> Vec<u32> {
    base.extend_from_slice(tail);
    base
}

pub(crate) fn snmp_mib(kind: Kind, sh: &Shared) -> Mib {
    let (now, st, c) = sh.now();
    let mut m: Mib = BTreeMap::new();
    let uptime = ((now - sh.started).max(0) / 10) as u32;
    let (descr, object_id, name) = match kind {
        Kind::Ups => (
            "Kilowatch simulated UPS (RFC 1628 UPS-MIB)",
            "1.3.6.1.2.1.33",
            device_id(kind),
        ),
        Kind::Pdu(_) => (
            "APC Web/SNMP Management Card (MN:AP8853 simulated by Kilowatch)",
            "1.3.6.1.4.1.318.1.3.4.6",
            device_id(kind),
        ),
        Kind::Server(..) => (
            "Kilowatch simulated server (iDRAC + HOST-RESOURCES-MIB)",
            "1.3.6.1.4.1.674.10892.5",
            device_id(kind),
        ),
        _ => (
            "sensorProbe8 simulated by Kilowatch",
            "1.3.6.1.4.1.3854.1",
            device_id(kind),
        ),
    };
    m.insert(
        oid("1.3.6.1.2.1.1.1.0"),
        Value::OctetString(descr.as_bytes().to_vec()),
    );
    m.insert(oid("1.3.6.1.2.1.1.2.0"), Value::ObjectId(oid(object_id)));
    m.insert(oid("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(uptime));
    m.insert(
        oid("1.3.6.1.2.1.1.5.0"),
        Value::OctetString(name.into_bytes()),
    );
    match kind {
        Kind::Ups => {
            let ups = oid("1.3.6.1.2.1.33.1");
            let rated = sh.model.ups_rated_w;
            let out = st.ups_out_w;
            let battery = st.battery;
            // upsBatteryStatus: batteryLow (3) under 10 minutes left, else batteryNormal (2).
            let low = st.ups_runtime_min < 10.0;
            m.insert(
                with(ups.clone(), &[2, 1, 0]),
                Value::Integer(if low { 3 } else { 2 }),
            );
            m.insert(
                with(ups.clone(), &[2, 2, 0]),
                Value::Integer(battery.seconds_on_battery.round() as i32),
            );
            m.insert(
                with(ups.clone(), &[2, 3, 0]),
                Value::Integer(st.ups_runtime_min.round() as i32),
            );
            m.insert(
                with(ups.clone(), &[2, 4, 0]),
                Value::Integer(battery.charge_pct.round() as i32),
            );
            m.insert(with(ups.clone(), &[3, 2, 0]), Value::Integer(1)); // upsInputNumLines
            m.insert(with(ups.clone(), &[3, 3, 1, 2, 1]), Value::Integer(500));
            let volts_in = if battery.on_battery { 0 } else { 231 };
            m.insert(
                with(ups.clone(), &[3, 3, 1, 3, 1]),
                Value::Integer(volts_in),
            );
            m.insert(
                with(ups.clone(), &[3, 3, 1, 5, 1]),
                Value::Integer(st.ups_in_w.round() as i32),
            );
            // upsOutputSource: battery (5) or normal (3).
            m.insert(
                with(ups.clone(), &[4, 1, 0]),
                Value::Integer(if battery.on_battery { 5 } else { 3 }),
            );
            m.insert(with(ups.clone(), &[4, 2, 0]), Value::Integer(500));
            m.insert(with(ups.clone(), &[4, 3, 0]), Value::Integer(1));
            m.insert(
                with(ups.clone(), &[4, 4, 1, 2, 1]),
                Value::Integer(VOLTS as i32),
            );
            m.insert(
                with(ups.clone(), &[4, 4, 1, 3, 1]),
                Value::Integer((out / VOLTS / PF * 10.0).round() as i32),
            );
            m.insert(
                with(ups.clone(), &[4, 4, 1, 4, 1]),
                Value::Integer(out.round() as i32),
            );
            m.insert(
                with(ups, &[4, 4, 1, 5, 1]),
                Value::Integer((out / rated * 100.0).round() as i32),
            );
        }
        Kind::Pdu(r) => {
            let w = st.rack_w.get(r).copied().unwrap_or(0.0);
            let kwh = c.rack_kwh.get(r).copied().unwrap_or(0.0);
            let amps = w / VOLTS / PF;
            m.insert(
                oid("1.3.6.1.4.1.318.1.1.26.4.3.1.5.1"),
                Value::Integer((w / 10.0).round() as i32),
            );
            m.insert(
                oid("1.3.6.1.4.1.318.1.1.26.4.3.1.9.1"),
                Value::Integer((kwh * 10.0).round() as i32),
            );
            m.insert(
                oid("1.3.6.1.4.1.318.1.1.26.6.3.1.6.1"),
                Value::Integer(VOLTS as i32),
            );
            let load = oid("1.3.6.1.4.1.318.1.1.12.2.3.1.1.2");
            m.insert(
                with(load.clone(), &[1]),
                Value::Gauge32((amps * 10.0).round() as u32),
            );
            m.insert(
                with(load.clone(), &[2]),
                Value::Gauge32((amps * 5.2).round() as u32),
            );
            m.insert(
                with(load, &[3]),
                Value::Gauge32((amps * 4.8).round() as u32),
            );
        }
        Kind::Server(r, s) => {
            let (cpu, w) = st
                .servers
                .get(r)
                .and_then(|row| row.get(s))
                .copied()
                .unwrap_or((0.0, 0.0));
            // Eight cores whose loads average to the server's CPU use.
            let cores = [-3.0, 2.0, -1.0, 4.0, 0.0, -2.0, 1.0, -1.0];
            for (i, d) in cores.iter().enumerate() {
                let v = (cpu + d * (cpu / 50.0).min(1.0)).clamp(0.0, 100.0).round() as i32;
                m.insert(
                    oid(&format!("1.3.6.1.2.1.25.3.3.1.2.{}", 196_608 + i)),
                    Value::Integer(v),
                );
            }
            m.insert(
                oid("1.3.6.1.4.1.674.10892.5.4.600.30.1.6.1.3"),
                Value::Integer(w.round() as i32),
            );
            m.insert(
                oid("1.3.6.1.4.1.674.10892.5.4.600.30.1.8.1.3"),
                Value::OctetString(b"System Board Pwr Consumption".to_vec()),
            );
        }
        Kind::Environment => {
            for (i, t) in st.inlet_c.iter().enumerate() {
                let idx = i as u32 + 1;
                m.insert(
                    oid(&format!("1.3.6.1.4.1.3854.1.2.2.1.16.1.1.{idx}")),
                    Value::OctetString(format!("Inlet {}", rack_id(i)).into_bytes()),
                );
                m.insert(
                    oid(&format!("1.3.6.1.4.1.3854.1.2.2.1.16.1.14.{idx}")),
                    Value::Integer((t * 10.0).round() as i32),
                );
                m.insert(
                    oid(&format!("1.3.6.1.4.1.3854.1.2.2.1.17.1.13.{idx}")),
                    Value::Integer(450 + 10 * i as i32),
                );
            }
        }
        _ => {}
    }
    m
}

/// A server's BMC reading: its power and CPU use, the air at its rack's inlet, and the exhaust
/// that much warmer as its power heats the air it moves (about 2.5 K per 100 W at a 1U
/// server's airflow).
pub(crate) fn redfish_reading(kind: Kind, sh: &Shared) -> Reading {
    let (_, st, _) = sh.now();
    let (r, s) = match kind {
        Kind::Server(r, s) => (r, s),
        _ => (0, 0),
    };
    let (cpu, w) = st
        .servers
        .get(r)
        .and_then(|row| row.get(s))
        .copied()
        .unwrap_or((0.0, 0.0));
    let inlet = st.inlet_c.get(r).copied().unwrap_or(st.supply_c);
    Reading {
        power_w: w,
        cpu_pct: cpu,
        inlet_c: inlet,
        exhaust_c: inlet + 0.025 * w,
    }
}

/// The profile and inventory role of each meter beyond electricity.
pub(crate) fn site_meter(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::WaterMeter { potable: true } => (WATER_PROFILE, "potable_water"),
        Kind::WaterMeter { potable: false } => (WATER_PROFILE, "water"),
        Kind::HeatMeter => (HEAT_PROFILE, "heat_reuse"),
        _ => (PV_PROFILE, "renewable"),
    }
}

/// The vendor maps the simulated meters speak (config/profiles, written from vendor documents).
const WATER_PROFILE: &str = "siemens-sitrans-mag6000";
const HEAT_PROFILE: &str = "aquametro-calec-st";
const PV_PROFILE: &str = "sunspec-inverter-103";

/// A meter served from its real register map, with values from the physics model.
pub(crate) struct SiteMeter {
    kind: Kind,
    profile: kilowatch_core::profile::ModbusProfile,
}

impl SiteMeter {
    pub(crate) fn new(kind: Kind, profile: &str) -> std::io::Result<SiteMeter> {
        let (set, _) = kilowatch_core::profile::ProfileSet::load(&[]);
        match set.get(profile) {
            Some(kilowatch_core::profile::Profile::Modbus(p)) => Ok(SiteMeter {
                kind,
                profile: p.clone(),
            }),
            _ => Err(std::io::Error::other(format!(
                "built-in profile '{profile}' is missing or not a Modbus profile"
            ))),
        }
    }

    pub(crate) fn image(&self, sh: &Shared) -> Registers {
        use kilowatch_core::model::Field;
        let (_, st, c) = sh.now();
        let kind = self.kind;
        crate::register_image::encode(&self.profile, |field, point| {
            Some(match (kind, field) {
                (Kind::WaterMeter { potable }, Field::WaterM3) => {
                    if potable {
                        c.potable_m3
                    } else {
                        c.recycled_m3
                    }
                }
                (Kind::WaterMeter { potable }, Field::WaterFlowM3h) => {
                    if potable {
                        st.makeup_m3h
                    } else {
                        st.recycled_m3h
                    }
                }
                (Kind::HeatMeter, Field::HeatEnergyKwh) => c.reuse_kwh,
                (Kind::HeatMeter, Field::HeatPowerW) => st.reuse_w,
                (Kind::HeatMeter, Field::FlowM3h) => st.reuse_flow_m3h,
                (Kind::HeatMeter, Field::SupplyTempC) => crate::physics::REUSE_SUPPLY_C,
                (Kind::HeatMeter, Field::ReturnTempC) => crate::physics::REUSE_RETURN_C,
                (Kind::PvInverter, Field::EnergyKwh) => c.pv_kwh,
                (Kind::PvInverter, Field::ActivePowerW) => st.pv_w,
                (Kind::PvInverter, Field::VoltageV) => VOLTS,
                (Kind::PvInverter, Field::CurrentA) => {
                    let per = if point == Some("sum") || point.is_none() {
                        1.0
                    } else {
                        3.0
                    };
                    st.pv_w / VOLTS / per
                }
                (Kind::PvInverter, Field::FrequencyHz) => 50.0,
                _ => return None,
            })
        })
    }
}
