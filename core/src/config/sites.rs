//! `[[sites]]`: the site tree (rooms and racks, each site's time zone), and the PUE check that
//! every site whose devices have roles has both a facility meter and an IT meter.

use std::collections::{BTreeMap, HashSet};

use super::checker::{Checker, table_entries};
use super::inventory::{Entered, Rack, Room, Site};
use super::raw::{RawRoom, RawSite};
use crate::reporting::{DataSet, EmissionFactor, FactorTable, FieldKind};

/// Keys `[[sites.years]]` takes besides the data set's fields: inputs to the indicators the
/// regulation does not list itself.
pub const EXTRA_YEAR_KEYS: &[(&str, &str)] = &[
    ("year", "the reporting year"),
    (
        "generator_fuel_l",
        "diesel burnt by standby generators in the year, litres",
    ),
    (
        "fuel_kg_co2_per_l",
        "emission factor of that fuel (default 2.68 kg CO2 per litre of diesel)",
    ),
];

/// `[[sites]]` with their rooms and racks. A site whose entry is broken keeps its id (in
/// `Checker::broken_sites`), so its devices are not also reported as in an unknown site.
pub(super) fn check_sites(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    factors: &FactorTable,
) -> Vec<Site> {
    let dataset = DataSet::eu();
    let mut sites = Vec::new();
    let mut seen = HashSet::new();
    for (i, value) in table_entries(c, "sites", v).into_iter().enumerate() {
        let key = format!("sites[{i}]");
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        let Some(raw) = c.section::<RawSite>(&key, value) else {
            // Keep the id so its devices are not also reported as in an unknown site.
            if let Some(id) = id {
                c.broken_sites.insert(id.clone());
                sites.push(Site {
                    name: id.clone(),
                    id,
                    rooms: Vec::new(),
                    emission_factor_kg_per_kwh: None,
                    tariff_hkd_per_kwh: None,
                    timezone: crate::calendar::host_zone(),
                    utility: None,
                    years: BTreeMap::new(),
                });
            }
            continue;
        };
        if !seen.insert(raw.id.clone()) {
            c.push(
                &format!("{key}.id"),
                format!("duplicate site id '{}'", raw.id),
            );
        }
        let timezone = match raw.timezone.as_deref().map(crate::calendar::zone) {
            None => crate::calendar::host_zone(),
            Some(Ok(tz)) => tz,
            Some(Err(e)) => {
                c.push(&format!("{key}.timezone"), e.to_string());
                crate::calendar::host_zone()
            }
        };
        if let Some(u) = &raw.utility
            && factors.latest(u).is_none()
        {
            c.push(
                &format!("{key}.utility"),
                format!(
                    "no emission factor for utility '{u}'; known: {} (add [[emission_factors]] rows for it)",
                    factors.utilities().join(", ")
                ),
            );
        }
        let years = check_years(c, &key, raw.years, &dataset);
        // An explicit factor wins; else the utility's newest (forward-looking figures such as
        // a consolidation's saving use it; yearly reports choose the year's own).
        let emission_factor_kg_per_kwh = raw.emission_factor_kg_per_kwh.or_else(|| {
            raw.utility
                .as_deref()
                .and_then(|u| factors.latest(u))
                .map(|f| f.kg_per_kwh)
        });
        sites.push(Site {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            timezone,
            utility: raw.utility,
            years,
            emission_factor_kg_per_kwh,
            tariff_hkd_per_kwh: raw.tariff_hkd_per_kwh,
            id: raw.id,
            rooms: raw.rooms.into_iter().map(room).collect(),
        });
    }
    sites
}

/// `[[sites.years]]`: each entry's year, and every other key a data-set field (or one of
/// [`EXTRA_YEAR_KEYS`]) with a value of the field's kind.
fn check_years(
    c: &mut Checker<'_>,
    key: &str,
    raw: Vec<BTreeMap<String, toml::Value>>,
    dataset: &DataSet,
) -> BTreeMap<i32, BTreeMap<String, Entered>> {
    let mut years = BTreeMap::new();
    for (i, entry) in raw.into_iter().enumerate() {
        let at = format!("{key}.years[{i}]");
        let Some(year) = entry
            .get("year")
            .and_then(toml::Value::as_integer)
            .and_then(|y| i32::try_from(y).ok())
            .filter(|y| (1990..=2200).contains(y))
        else {
            c.push(&format!("{at}.year"), "needs 'year', e.g. year = 2025");
            continue;
        };
        let mut values = BTreeMap::new();
        for (k, v) in entry {
            if k == "year" {
                continue;
            }
            let kind = match dataset.field(&k) {
                Some(f) => f.kind,
                None if EXTRA_YEAR_KEYS.iter().any(|(e, _)| *e == k) => FieldKind::Number,
                None => {
                    c.push(
                        &format!("{at}.{k}"),
                        "not a field of the EU data set (config/regulation/eu-2024-1364.toml) nor generator_fuel_l / fuel_kg_co2_per_l",
                    );
                    continue;
                }
            };
            let value = match (kind, v) {
                (FieldKind::Text, toml::Value::String(s)) => Entered::Text(s),
                (FieldKind::Text, other) => Entered::Text(other.to_string()),
                (_, toml::Value::Integer(n)) => Entered::Number(n as f64),
                (_, toml::Value::Float(x)) if x.is_finite() => Entered::Number(x),
                (_, other) => {
                    c.push(
                        &format!("{at}.{k}"),
                        format!("expected a number, found {}", other.type_str()),
                    );
                    continue;
                }
            };
            values.insert(k, value);
        }
        if years.insert(year, values).is_some() {
            c.push(
                &format!("{at}.year"),
                format!("year {year} is entered twice"),
            );
        }
    }
    years
}

/// `[[emission_factors]]`: rows added to (or replacing) the built-in table.
pub(super) fn check_factors(c: &mut Checker<'_>, v: Option<toml::Value>) -> FactorTable {
    let mut table = FactorTable::builtin();
    for (i, value) in table_entries(c, "emission_factors", v)
        .into_iter()
        .enumerate()
    {
        let key = format!("emission_factors[{i}]");
        if let Some(row) = c.section::<EmissionFactor>(&key, value) {
            if !(row.kg_per_kwh.is_finite() && (0.0..=2.0).contains(&row.kg_per_kwh)) {
                c.push(
                    &format!("{key}.kg_per_kwh"),
                    "expected kg CO2e per kWh between 0 and 2",
                );
                continue;
            }
            table.insert(row);
        }
    }
    table
}

fn room(r: RawRoom) -> Room {
    Room {
        id: r.id,
        racks: r
            .racks
            .into_iter()
            .map(|k| Rack {
                id: k.id,
                power_budget_w: k.power_budget_w,
                space_u: k.space_u,
            })
            .collect(),
    }
}

/// (site, role) of every device as written, so a device with some other mistake does not
/// also make its site look unmetered.
pub(super) fn roles_as_written(devices: Option<&toml::Value>) -> Vec<(String, String)> {
    let Some(toml::Value::Array(items)) = devices else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|d| {
            let site = d.get("site")?.as_str()?;
            let role = d.get("role")?.as_str()?;
            Some((site.to_owned(), role.to_owned()))
        })
        .collect()
}

/// PUE needs a boundary meter and an IT meter in every site that meters (domain/pue.md §2). A
/// site where no device has a role yet (a draft from `discover`, or monitoring only) is polled,
/// and its PUE report says there is no facility meter.
pub(super) fn check_pue_meters(c: &mut Checker<'_>, sites: &[Site], roles: &[(String, String)]) {
    for (i, site) in sites.iter().enumerate() {
        let has = |role: &str| roles.iter().any(|(s, r)| s == &site.id && r == role);
        if !roles.iter().any(|(s, _)| s == &site.id) {
            continue;
        }
        let key = format!("sites[{i}]");
        if !has("facility") {
            c.push(
                &key,
                format!("site '{}' has no device with role = \"facility\" (total facility input), so PUE cannot be computed", site.id),
            );
        }
        if !has("it") {
            c.push(
                &key,
                format!(
                    "site '{}' has no device with role = \"it\", so PUE cannot be computed",
                    site.id
                ),
            );
        }
    }
}
