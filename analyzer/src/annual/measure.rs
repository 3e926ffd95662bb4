//! What the meters say about one site's year: the energies, water and heat the annual data set
//! asks for, each with its coverage, and the server utilisation behind ITEUsv.

use kilowatch_core::calendar::{self, TimeZone};
use kilowatch_core::config::{Config, Site};
use kilowatch_core::model::{Category, Field, Role};
use kilowatch_store::{Aggregate, ReadStore, Selector, StoreError, TimeRange, Window};

use crate::energy;
use crate::pue::{self, MeterEnergy, Options};

/// A quantity summed over a role's meters, with the worst meter's coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Metered {
    pub value: f64,
    pub coverage: f64,
    pub meters: Vec<String>,
}

impl Metered {
    /// `None` when no meter read anything in the range (zero energy at zero coverage is no
    /// measurement).
    fn of(meters: &[MeterEnergy]) -> Option<Metered> {
        if meters.iter().all(|m| m.energy.coverage <= 0.0) {
            return None;
        }
        let total = energy::sum(&meters.iter().map(|m| m.energy.clone()).collect::<Vec<_>>())?;
        Some(Metered {
            value: total.kwh,
            coverage: meters.iter().map(|m| m.energy.coverage).fold(1.0, f64::min),
            meters: meters.iter().map(|m| m.device.clone()).collect(),
        })
    }
}

/// Everything measured for one site and year; `None` where no meter of that role has data.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub e_dc: Option<Metered>,
    /// E_IT at the category the regulation prefers (1, then 2, then 3), and that category.
    pub e_it: Option<(Metered, Category)>,
    pub onsite_renewable: Option<Metered>,
    pub heat_reused: Option<Metered>,
    pub heat_removed: Option<Metered>,
    pub cooling: Option<Metered>,
    pub water: Option<Metered>,
    pub potable: Option<Metered>,
    /// Mean supply temperature of the heat-reuse loop, °C.
    pub reuse_supply_c: Option<f64>,
    /// Mean of the cooling units' set points, °C.
    pub setpoint_c: Option<f64>,
    /// Diesel the standby generators burnt: the falls of their tanks' hourly mean levels
    /// (refills, rises, are not consumption), litres, and the tanks read.
    pub generator_fuel_l: Option<Metered>,
    /// Mean CPU utilisation per server over the year (ITEUsv), and per local month.
    pub server_cpu: Vec<(String, f64)>,
    pub monthly_cpu: Vec<(String, Option<f64>)>,
}

pub fn measure(
    store: &dyn ReadStore,
    config: &Config,
    site: &Site,
    range: TimeRange,
    opts: Options<'_>,
) -> Result<Measured, StoreError> {
    let energy = |role| -> Result<Option<Metered>, StoreError> {
        Ok(Metered::of(&pue::role_energy(
            store, &site.id, role, range, opts,
        )?))
    };
    let counter = |role, field| -> Result<Option<Metered>, StoreError> {
        Ok(Metered::of(&pue::role_counter(
            store, &site.id, role, field, range, opts,
        )?))
    };
    let mut e_it = None;
    for cat in [Category::One, Category::Two, Category::Three] {
        if let Some(m) = energy(Role::It(cat))? {
            e_it = Some((m, cat));
            break;
        }
    }
    let water_total = {
        let mut meters = pue::role_counter(
            store,
            &site.id,
            Role::Water(false),
            Field::WaterM3,
            range,
            opts,
        )?;
        meters.extend(pue::role_counter(
            store,
            &site.id,
            Role::Water(true),
            Field::WaterM3,
            range,
            opts,
        )?);
        Metered::of(&meters)
    };
    let reuse_devices: Vec<&str> = config
        .devices
        .iter()
        .filter(|d| d.site == site.id && d.role == Some(Role::HeatReuse))
        .map(|d| d.id.as_str())
        .collect();
    let (server_cpu, monthly_cpu) = utilisation(store, &site.id, &site.timezone, range)?;
    Ok(Measured {
        e_dc: energy(Role::Facility)?,
        e_it,
        onsite_renewable: energy(Role::Renewable)?,
        heat_reused: counter(Role::HeatReuse, Field::HeatEnergyKwh)?,
        heat_removed: counter(Role::HeatRemoved, Field::HeatEnergyKwh)?,
        cooling: energy(Role::Cooling)?,
        water: water_total,
        potable: counter(Role::Water(true), Field::WaterM3)?,
        reuse_supply_c: mean_of(store, &site.id, Field::SupplyTempC, &reuse_devices, range)?,
        setpoint_c: mean_of(store, &site.id, Field::SetpointTempC, &[], range)?,
        generator_fuel_l: fuel_burnt(store, &site.id, range)?,
        server_cpu,
        monthly_cpu,
    })
}

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// A rise of a tank's level by more than this share of its highest level is a refill.
const REFILL_SHARE: f64 = 0.05;

/// Fuel burnt from tank levels (role "generator", `fuel_level_l`): the tank's record is cut at
/// each refill (a rise of more than 5 % of its highest level), and each stretch burnt its first
/// hourly mean less its last. Netting a stretch cancels a level sensor's ripple and the diesel's
/// thermal expansion, which summing every fall would count as fuel. Coverage is the share of
/// hours with a level.
fn fuel_burnt(
    store: &dyn ReadStore,
    site: &str,
    range: TimeRange,
) -> Result<Option<Metered>, StoreError> {
    let tanks = store.find(
        &Selector::field(Field::FuelLevelL)
            .tag("site", site)
            .tag("role", Role::Generator.tag()),
    )?;
    if tanks.is_empty() {
        return Ok(None);
    }
    let hours = ((range.to - range.from) / HOUR_MS).max(1) as f64;
    let (mut burnt, mut coverage, mut meters) = (0.0, 1.0f64, Vec::new());
    for t in &tanks {
        let levels = store.read(
            t,
            range,
            Some(Window {
                every_ms: HOUR_MS,
                aggregate: Aggregate::Mean,
            }),
        )?;
        burnt += burnt_between_refills(&levels);
        coverage = coverage.min(levels.len() as f64 / hours);
        meters.push(t.tag("device").unwrap_or_default().to_owned());
    }
    // No tank read a level in the range: nothing measured, not 0 L burnt.
    if coverage <= 0.0 {
        return Ok(None);
    }
    Ok(Some(Metered {
        value: burnt,
        coverage: coverage.min(1.0),
        meters,
    }))
}

/// The time mean of `field` over `range` across the site's series (only `devices`' when given),
/// from daily means so a year reads 365 points a series.
fn mean_of(
    store: &dyn ReadStore,
    site: &str,
    field: Field,
    devices: &[&str],
    range: TimeRange,
) -> Result<Option<f64>, StoreError> {
    let mut sum = 0.0;
    let mut n = 0usize;
    for s in store.find(&Selector::field(field).tag("site", site))? {
        if !devices.is_empty() && !devices.iter().any(|d| s.tag("device") == Some(d)) {
            continue;
        }
        let window = Window {
            every_ms: DAY_MS,
            aggregate: Aggregate::Mean,
        };
        for p in store.read(&s, range, Some(window))? {
            if p.value.is_finite() {
                sum += p.value;
                n += 1;
            }
        }
    }
    Ok((n > 0).then(|| sum / n as f64))
}

fn burnt_between_refills(levels: &[kilowatch_store::Point]) -> f64 {
    let top = levels.iter().map(|p| p.value).fold(0.0, f64::max);
    let mut burnt = 0.0;
    let mut start = match levels.first() {
        Some(p) => p.value,
        None => return 0.0,
    };
    for w in levels.windows(2) {
        if w[1].value - w[0].value > REFILL_SHARE * top {
            burnt += (start - w[0].value).max(0.0);
            start = w[1].value;
        }
    }
    burnt + levels.last().map_or(0.0, |p| (start - p.value).max(0.0))
}

/// ITEUsv's inputs (kpis.md §6): each server's mean CPU utilisation over the year, from hourly
/// means, and the mean over servers of each local month.
#[allow(clippy::type_complexity)]
fn utilisation(
    store: &dyn ReadStore,
    site: &str,
    tz: &TimeZone,
    range: TimeRange,
) -> Result<(Vec<(String, f64)>, Vec<(String, Option<f64>)>), StoreError> {
    let months = calendar::months(tz, range.from, range.to, 24);
    let mut per_server = Vec::new();
    let mut month_sums = vec![(0.0, 0usize); months.len()];
    for s in store.find(&Selector::field(Field::CpuUtilPct).tag("site", site))? {
        let hourly = store.read(
            &s,
            range,
            Some(Window {
                every_ms: 3_600_000,
                aggregate: Aggregate::Mean,
            }),
        )?;
        let values: Vec<f64> = hourly
            .iter()
            .map(|p| p.value)
            .filter(|v| v.is_finite())
            .collect();
        if values.is_empty() {
            continue;
        }
        let device = s.tag("device").unwrap_or_default().to_owned();
        per_server.push((device, values.iter().sum::<f64>() / values.len() as f64));
        for (slot, m) in month_sums.iter_mut().zip(&months) {
            let in_month: Vec<f64> = hourly
                .iter()
                .filter(|p| p.ts >= m.from && p.ts < m.to && p.value.is_finite())
                .map(|p| p.value)
                .collect();
            if !in_month.is_empty() {
                slot.0 += in_month.iter().sum::<f64>() / in_month.len() as f64;
                slot.1 += 1;
            }
        }
    }
    let monthly = months
        .iter()
        .zip(month_sums)
        .map(|(m, (sum, n))| (m.label.clone(), (n > 0).then(|| sum / n as f64)))
        .collect();
    Ok((per_server, monthly))
}
