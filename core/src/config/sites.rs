//! `[[sites]]`: the site tree (rooms and racks, each site's time zone), and the PUE check that
//! every site whose devices have roles has both a facility meter and an IT meter.

use std::collections::HashSet;

use super::checker::{Checker, table_entries};
use super::inventory::{Rack, Room, Site};
use super::raw::{RawRoom, RawSite};

/// `[[sites]]` with their rooms and racks. A site whose entry is broken keeps its id (in
/// `Checker::broken_sites`), so its devices are not also reported as in an unknown site.
pub(super) fn check_sites(c: &mut Checker<'_>, v: Option<toml::Value>) -> Vec<Site> {
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
        sites.push(Site {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            timezone,
            emission_factor_kg_per_kwh: raw.emission_factor_kg_per_kwh,
            tariff_hkd_per_kwh: raw.tariff_hkd_per_kwh,
            id: raw.id,
            rooms: raw.rooms.into_iter().map(room).collect(),
        });
    }
    sites
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
