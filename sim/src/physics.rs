//! The physics of one simulated site, as pure functions of time.
//!
//! Servers draw idle plus dynamic power that follows CPU load on a daily cycle; rack PDUs sum
//! their servers; the UPS loses a load-dependent share (fixed, proportional and square terms,
//! the usual UPS loss model); cooling removes all heat at a COP that falls as the Hong Kong-like
//! outdoor temperature rises; lighting is constant. Because every quantity is a function of
//! time, the model's own energy over any window is an integral the tests can compute exactly.

use std::f64::consts::PI;

use crate::story::{Battery, Story};

/// Hong Kong is UTC+8; the daily load cycle follows local time.
pub const LOCAL_OFFSET_H: f64 = 8.0;
const MS_PER_H: f64 = 3_600_000.0;

#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub idle_w: f64,
    pub max_w: f64,
    /// Mean CPU % over a day, and how strongly it follows the daily cycle.
    pub base_cpu_pct: f64,
    pub swing_cpu_pct: f64,
    pub phase: f64,
}

#[derive(Debug, Clone)]
pub struct Model {
    /// Servers per rack.
    pub racks: Vec<Vec<ServerSpec>>,
    pub ups_rated_w: f64,
    pub lighting_w: f64,
    pub cooling_fan_w: f64,
    /// Multiplies the cooling plant's COP: below 1 an old or badly run plant, above 1 a good one.
    pub cop_scale: f64,
    /// Peak output of the rooftop PV array behind the facility meter, W.
    pub pv_peak_w: f64,
    /// Share of the heat rejected through the evaporative cooling tower (the rest is dry).
    pub tower_share: f64,
    /// Share of the heat a neighbouring building takes for hot water at midday.
    pub reuse_share: f64,
    /// The demo's events: an outage, a hot rack (none by default).
    pub story: Story,
}

/// Cooling-tower make-up water per kWh of heat it rejects: evaporation (latent heat of water,
/// 2.45 MJ/kg, so 1.47 L/kWh) plus blow-down at four cycles of concentration (a third more).
const MAKEUP_L_PER_KWH: f64 = 1.47 * 4.0 / 3.0;
/// Humidifier feed from the recycled (non-potable) supply, L/h, highest in the dry winter.
const HUMIDIFIER_L_PER_H: f64 = 0.8;
/// The heat-reuse loop's temperatures: what the heat pump delivers and gets back, °C.
pub const REUSE_SUPPLY_C: f64 = 45.0;
pub const REUSE_RETURN_C: f64 = 35.0;
/// Volumetric heat capacity of water, kWh per m³ per K.
const WATER_KWH_PER_M3K: f64 = 1.163;

/// Instantaneous state of the whole site.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// (cpu %, W) per server, per rack.
    pub servers: Vec<Vec<(f64, f64)>>,
    pub rack_w: Vec<f64>,
    pub ups_out_w: f64,
    pub ups_in_w: f64,
    /// On battery during an outage of the story, recharging after it.
    pub battery: Battery,
    pub ups_runtime_min: f64,
    pub lighting_w: f64,
    pub cooling_w: f64,
    pub heat_w: f64,
    pub outdoor_c: f64,
    pub supply_c: f64,
    pub return_c: f64,
    pub fan_pct: f64,
    /// Inlet temperature per rack.
    pub inlet_c: Vec<f64>,
    pub facility_w: f64,
    /// Potable make-up water into the cooling tower, and recycled water to the humidifiers, m³/h.
    pub makeup_m3h: f64,
    pub recycled_m3h: f64,
    /// Heat exported to the neighbour's hot-water loop, W, and that loop's flow, m³/h.
    pub reuse_w: f64,
    pub reuse_flow_m3h: f64,
    /// Rooftop PV output, W.
    pub pv_w: f64,
}

/// Energy per metering point over a window, from the model itself.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Energies {
    pub facility_kwh: f64,
    /// UPS output: IT category 1.
    pub ups_out_kwh: f64,
    /// Sum of rack PDUs: IT category 3.
    pub racks_kwh: f64,
    pub cooling_kwh: f64,
    pub lighting_kwh: f64,
    pub potable_m3: f64,
    pub recycled_m3: f64,
    pub reuse_kwh: f64,
    pub pv_kwh: f64,
}

impl Model {
    /// A small site: `racks` racks of `per_rack` servers of mixed models, one of them idle.
    pub fn new(racks: usize, per_rack: usize) -> Model {
        let racks: Vec<Vec<ServerSpec>> = (0..racks)
            .map(|r| {
                (0..per_rack)
                    .map(|s| {
                        let i = (r * per_rack + s) as f64;
                        let comatose = r == 0 && s == per_rack.saturating_sub(1) && per_rack > 1;
                        ServerSpec {
                            idle_w: 95.0 + 12.0 * (i % 3.0),
                            max_w: 290.0 + 25.0 * (i % 4.0),
                            base_cpu_pct: if comatose {
                                1.5
                            } else {
                                18.0 + 4.0 * (i % 5.0)
                            },
                            swing_cpu_pct: if comatose {
                                0.5
                            } else {
                                22.0 + 3.0 * (i % 3.0)
                            },
                            phase: 0.4 * i,
                        }
                    })
                    .collect()
            })
            .collect();
        let n = (racks.len() * per_rack.max(1)) as f64;
        Model {
            racks,
            ups_rated_w: (n * 400.0).max(3000.0),
            lighting_w: 350.0,
            cooling_fan_w: 250.0,
            cop_scale: 1.0,
            pv_peak_w: 1500.0,
            tower_share: 0.6,
            reuse_share: 0.25,
            story: Story::default(),
        }
    }

    pub fn state(&self, t_ms: i64) -> State {
        let t_h = t_ms as f64 / MS_PER_H;
        let hour = (t_h + LOCAL_OFFSET_H).rem_euclid(24.0);
        // Busiest mid-afternoon, quietest before dawn.
        let daily = 0.5 - 0.5 * (2.0 * PI * (hour - 4.0) / 24.0).cos();
        let mut st = State {
            servers: Vec::with_capacity(self.racks.len()),
            ..State::default()
        };
        for rack in &self.racks {
            let mut row = Vec::with_capacity(rack.len());
            let mut sum = 0.0;
            for s in rack {
                let wobble = 3.0 * (2.0 * PI * t_h / 0.62 + s.phase).sin();
                let cpu = (s.base_cpu_pct
                    + s.swing_cpu_pct * (daily - 0.5) * 2.0
                    + wobble * s.swing_cpu_pct / 25.0)
                    .clamp(0.5, 100.0);
                let u = cpu / 100.0;
                // Fan et al.'s curve: power rises faster than linearly at low load.
                let w = s.idle_w + (s.max_w - s.idle_w) * (2.0 * u - u.powf(1.4));
                sum += w;
                row.push((cpu, w));
            }
            st.servers.push(row);
            st.rack_w.push(sum);
        }
        st.ups_out_w = st.rack_w.iter().sum();
        let r = self.ups_rated_w;
        let p = st.ups_out_w;
        // The UPS's losses heat the room whether its input is the utility or its battery.
        let ups_loss_w = 0.012 * r + 0.02 * p + 0.03 * p * p / r;
        let battery = self.story.battery(t_ms, p, r);
        st.ups_in_w = if battery.on_battery {
            0.0
        } else {
            p + ups_loss_w + battery.recharge_w
        };
        st.ups_runtime_min = Story::runtime_min(battery.charge_pct, p, r);
        st.battery = battery;
        st.lighting_w = self.lighting_w;
        // Hong Kong-like: 23.5 °C mean, ±5 °C over the year, ±3 °C over the day.
        let doy = (t_h / 24.0).rem_euclid(365.25);
        st.outdoor_c = 23.5 - 5.0 * (2.0 * PI * (doy - 15.0) / 365.25).cos()
            + 3.0 * (2.0 * PI * (hour - 9.0) / 24.0).sin();
        let cop = (5.5 - 0.1 * (st.outdoor_c - 15.0)).clamp(2.2, 6.0) * self.cop_scale;
        st.heat_w = p + ups_loss_w + st.lighting_w;
        st.cooling_w = st.heat_w / cop + self.cooling_fan_w;
        st.facility_w = st.ups_in_w + st.cooling_w + st.lighting_w;
        let load = (p / r).clamp(0.0, 1.0);
        st.supply_c = 18.0 + 0.5 * (st.outdoor_c - 23.5) / 5.0;
        st.return_c = st.supply_c + 8.0 + 6.0 * load;
        st.fan_pct = 40.0 + 50.0 * load;
        st.inlet_c = (0..self.racks.len())
            .map(|i| {
                st.supply_c + 2.0 + 0.6 * i as f64 + 1.5 * load + self.story.inlet_extra_c(i, daily)
            })
            .collect();
        let season = (2.0 * PI * (doy - 172.0) / 365.25).cos(); // 1 at midsummer
        st.makeup_m3h = st.heat_w / 1000.0 * self.tower_share * MAKEUP_L_PER_KWH / 1000.0;
        st.recycled_m3h = HUMIDIFIER_L_PER_H * (1.0 - 0.5 * season) / 1000.0;
        // Office hot water is drawn 07:00-19:00, most at midday.
        let day_curve = |start: f64| ((PI * (hour - start) / 12.0).sin()).max(0.0);
        st.reuse_w = self.reuse_share * st.heat_w * day_curve(7.0);
        st.reuse_flow_m3h =
            st.reuse_w / 1000.0 / (WATER_KWH_PER_M3K * (REUSE_SUPPLY_C - REUSE_RETURN_C));
        st.pv_w = self.pv_peak_w * day_curve(6.0) * (0.75 + 0.25 * season);
        st
    }

    /// The model's energy over `[from, to)` (ms), by the trapezoid rule at 10 s steps — far
    /// finer than anything in the model changes.
    pub fn energy(&self, from: i64, to: i64) -> Energies {
        const STEP_MS: i64 = 10_000;
        let mut e = Energies::default();
        let mut t = from;
        let mut prev = self.state(t);
        while t < to {
            let next_t = (t + STEP_MS).min(to);
            let next = self.state(next_t);
            let h = (next_t - t) as f64 / MS_PER_H / 1000.0 / 2.0;
            e.facility_kwh += (prev.facility_w + next.facility_w) * h;
            e.ups_out_kwh += (prev.ups_out_w + next.ups_out_w) * h;
            e.racks_kwh += (prev.rack_w.iter().sum::<f64>() + next.rack_w.iter().sum::<f64>()) * h;
            e.cooling_kwh += (prev.cooling_w + next.cooling_w) * h;
            e.lighting_kwh += (prev.lighting_w + next.lighting_w) * h;
            e.potable_m3 += (prev.makeup_m3h + next.makeup_m3h) * h * 1000.0;
            e.recycled_m3 += (prev.recycled_m3h + next.recycled_m3h) * h * 1000.0;
            e.reuse_kwh += (prev.reuse_w + next.reuse_w) * h;
            e.pv_kwh += (prev.pv_w + next.pv_w) * h;
            prev = next;
            t = next_t;
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_balance_holds_and_pue_is_plausible() {
        let m = Model::new(2, 5);
        for h in [0, 6, 12, 18] {
            let s = m.state(h * 3_600_000);
            let total = s.ups_in_w + s.cooling_w + s.lighting_w;
            assert!((s.facility_w - total).abs() < 1e-9);
            assert!((s.ups_out_w - s.rack_w.iter().sum::<f64>()).abs() < 1e-9);
            assert!(s.ups_in_w > s.ups_out_w, "UPS has losses");
            let pue = s.facility_w / s.ups_out_w;
            assert!((1.1..2.5).contains(&pue), "pue {pue} at {h}h");
            for rack in &s.servers {
                for (cpu, w) in rack {
                    assert!((0.5..=100.0).contains(cpu));
                    assert!(*w > 90.0 && *w < 400.0, "{w}");
                }
            }
        }
    }

    #[test]
    fn energy_of_constant_part_matches_hand_calculation() {
        // Lighting is a constant 350 W: over 2 h that is 0.7 kWh.
        let m = Model::new(1, 2);
        let e = m.energy(0, 2 * 3_600_000);
        assert!((e.lighting_kwh - 0.7).abs() < 1e-9, "{}", e.lighting_kwh);
    }
}
