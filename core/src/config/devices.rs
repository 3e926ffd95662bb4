//! `[[devices]]`: each device checked against the sites, auths and profiles already checked.
//! A device is kept only when every check passes; each failed check is its own problem, so one
//! run of `check-config` names them all. Ids are unique; site, room and rack exist (unless the
//! site's own entry is broken); the address parses, carries no credential and speaks the
//! profile's protocol; an SNMP or IPMI device names a known auth of its protocol.

use std::collections::{BTreeMap, HashMap};

use super::checker::{Checker, table_entries};
use super::inventory::{Auth, Device, Site};
use super::raw::{RawDevice, RawRole};
use crate::address::{Address, Credential};
use crate::model::{Category, Field, Role};
use crate::profile::ProfileSet;

/// What a device is checked against.
pub(super) struct Known<'a> {
    pub(super) sites: &'a [Site],
    /// `None` where the auth is present but broken.
    pub(super) auths: &'a BTreeMap<String, Option<Auth>>,
    pub(super) profiles: &'a ProfileSet,
}

pub(super) fn check_devices(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    known: &Known<'_>,
) -> Vec<Device> {
    let entries = table_entries(c, "devices", v);
    // Exactly sized: at 10,000 devices, doubling left 2 MB unused.
    let mut devices = Vec::with_capacity(entries.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, value) in entries.into_iter().enumerate() {
        let key = format!("devices[{i}]");
        let Some(raw) = c.section::<RawDevice>(&key, value) else {
            continue;
        };
        let mut ok = true;
        if let Some(first) = seen.insert(raw.id.clone(), i) {
            c.push(
                &format!("{key}.id"),
                format!(
                    "duplicate device id '{}' (first at devices[{first}])",
                    raw.id
                ),
            );
            ok = false;
        }
        if let Some(device) = check_device(c, &key, raw, known)
            && ok
        {
            devices.push(device);
        }
    }
    // `server` and `outlet` name another device of the inventory (known once all are read).
    for (i, d) in devices.iter().enumerate() {
        if let Some((pdu, _)) = &d.outlet
            && !seen.contains_key(pdu)
        {
            let key = format!("devices[{}].outlet", seen.get(&d.id).copied().unwrap_or(i));
            c.push(&key, format!("unknown device '{pdu}'"));
        }
        if let Some(s) = &d.server
            && (s == &d.id || !seen.contains_key(s))
        {
            let key = format!("devices[{}].server", seen.get(&d.id).copied().unwrap_or(i));
            let why = if s == &d.id {
                "a device cannot be its own server".to_owned()
            } else {
                format!("unknown device '{s}'")
            };
            c.push(&key, why);
        }
    }
    devices
}

/// Where an installer may say a device's unplaced temperatures are measured, and the field
/// they then feed (`room` keeps them unplaced).
const TEMPERATURE_PLACES: &[(&str, Field)] = &[
    ("inlet", Field::InletTempC),
    ("outlet", Field::OutletTempC),
    ("outdoor", Field::OutdoorTempC),
    ("room", Field::TemperatureC),
];

/// One device; `None` when any check failed (each failure is a problem).
fn check_device(
    c: &mut Checker<'_>,
    key: &str,
    raw: RawDevice,
    known: &Known<'_>,
) -> Option<Device> {
    let mut ok = check_place(c, key, &raw, known.sites);
    if let Some(w) = raw.max_power_w
        && !(w.is_finite() && w > 0.0)
    {
        c.push(
            &format!("{key}.max_power_w"),
            format!("must be a positive number of watts, found {w}"),
        );
        ok = false;
    }
    let (address, protocol_ok) = check_profile_and_address(c, key, &raw, known.profiles);
    ok &= protocol_ok;
    let (auth, auth_ok) = resolve_auth(c, key, raw.auth.as_deref(), address.as_ref(), known.auths);
    ok &= auth_ok;
    let role = resolve_role(c, key, raw.role, raw.category, raw.potable);
    let temperature_at = match raw.temperature_at.as_deref() {
        None => None,
        Some(place) => match TEMPERATURE_PLACES.iter().find(|(p, _)| *p == place) {
            Some((_, field)) => Some(*field),
            None => {
                let known: Vec<_> = TEMPERATURE_PLACES.iter().map(|(p, _)| *p).collect();
                c.push(
                    &format!("{key}.temperature_at"),
                    format!(
                        "unknown place '{place}'; expected one of {}",
                        known.join(", ")
                    ),
                );
                ok = false;
                None
            }
        },
    };
    let address = address.filter(|_| ok)?;
    Some(Device {
        id: raw.id,
        site: raw.site,
        room: raw.room,
        rack: raw.rack,
        profile: raw.profile,
        address,
        auth,
        role,
        interval: raw.interval,
        timeout: raw.timeout,
        accuracy_pct: raw.accuracy_pct,
        breaker_a: raw.breaker_a,
        max_power_w: raw.max_power_w,
        rated_cooling_w: raw.rated_cooling_w,
        rated_power_w: raw.rated_power_w,
        height_u: raw.height_u,
        temperature_at,
        server: raw.server,
        outlet: raw.outlet.and_then(|o| {
            o.split_once('/')
                .map(|(d, p)| (d.to_owned(), p.to_owned()))
                .or_else(|| {
                    c.push(
                        &format!("{key}.outlet"),
                        format!("expected \"PDU/POINT\" (e.g. \"pdu-r01/outlet3\"), found '{o}'"),
                    );
                    None
                })
        }),
    })
}

/// The device's site, room and rack exist. A broken site's rooms are unknown, not missing.
fn check_place(c: &mut Checker<'_>, key: &str, raw: &RawDevice, sites: &[Site]) -> bool {
    let Some(site) = sites.iter().find(|s| s.id == raw.site) else {
        let known: Vec<_> = sites.iter().map(|s| s.id.as_str()).collect();
        c.push(
            &format!("{key}.site"),
            format!("unknown site '{}'; known: {}", raw.site, known.join(", ")),
        );
        return false;
    };
    if c.broken_sites.contains(&site.id) {
        return true;
    }
    let Some(room) = &raw.room else {
        if raw.rack.is_some() {
            c.push(&format!("{key}.rack"), "a rack needs its 'room'");
            return false;
        }
        return true;
    };
    let Some(r) = site.rooms.iter().find(|r| &r.id == room) else {
        c.push(
            &format!("{key}.room"),
            format!("unknown room '{room}' in site '{}'", site.id),
        );
        return false;
    };
    if let Some(rack) = &raw.rack
        && !r.racks.iter().any(|k| &k.id == rack)
    {
        c.push(
            &format!("{key}.rack"),
            format!("unknown rack '{rack}' in room '{room}'"),
        );
        return false;
    }
    true
}

/// The profile is known (or `auto` on SNMP), and the address parses, carries no credential and
/// speaks the profile's protocol. Returns the address when it parsed, and whether the profile
/// checks passed (a bad address alone keeps the device out through its missing address).
fn check_profile_and_address(
    c: &mut Checker<'_>,
    key: &str,
    raw: &RawDevice,
    profiles: &ProfileSet,
) -> (Option<Address>, bool) {
    let mut ok = true;
    // "auto": the profiles are detected when collection starts (SNMP only).
    let auto = raw.profile == "auto";
    let profile = profiles.get(&raw.profile);
    if profile.is_none() && !auto {
        let known: Vec<_> = profiles.names().collect();
        c.push(
            &format!("{key}.profile"),
            format!(
                "unknown profile '{}'; known: {}",
                raw.profile,
                known.join(", ")
            ),
        );
        ok = false;
    }
    let address = match Address::parse(&raw.address) {
        Ok((addr, Credential::None)) => Some(addr),
        Ok(_) => {
            c.push(
                &format!("{key}.address"),
                "credentials do not belong in the address; name an auth with 'auth'",
            );
            None
        }
        Err(e) => {
            c.push(&format!("{key}.address"), format!("bad address URL: {e}"));
            None
        }
    };
    if let (true, Some(a)) = (auto, &address)
        && a.protocol() != "snmp"
    {
        c.push(
            &format!("{key}.profile"),
            "'auto' needs SNMP: a Modbus device cannot say what it is; name its profile",
        );
        ok = false;
    }
    if let (Some(a), Some(p)) = (&address, profile)
        && a.protocol() != p.protocol()
    {
        c.push(
            &format!("{key}.address"),
            format!(
                "profile '{}' reads {} but the address is {}",
                raw.profile,
                p.protocol(),
                a.protocol()
            ),
        );
        ok = false;
    }
    (address, ok)
}

/// The auth the device names (an SNMP device must name one), and whether that check passed.
fn resolve_auth(
    c: &mut Checker<'_>,
    key: &str,
    name: Option<&str>,
    address: Option<&Address>,
    auths: &BTreeMap<String, Option<Auth>>,
) -> (Option<Auth>, bool) {
    match (name, address) {
        (Some(name), _) => match auths.get(name) {
            Some(Some(a)) if address.is_some_and(|ad| ad.protocol() != a.protocol()) => {
                c.push(
                    &format!("{key}.auth"),
                    format!(
                        "auth '{name}' is for {} but the address is {}",
                        a.protocol(),
                        address.map_or("", Address::protocol)
                    ),
                );
                (None, false)
            }
            Some(a) => (a.clone(), true),
            None => {
                let known: Vec<_> = auths.keys().map(String::as_str).collect();
                c.push(
                    &format!("{key}.auth"),
                    format!("unknown auth '{name}'; known: {}", known.join(", ")),
                );
                (None, false)
            }
        },
        (None, Some(Address::Snmp { .. })) => {
            c.push(
                &format!("{key}.auth"),
                "an SNMP device needs an 'auth' (its community)",
            );
            (None, false)
        }
        (None, Some(Address::Ipmi { .. })) => {
            c.push(
                &format!("{key}.auth"),
                "an IPMI device needs an 'auth' with version = \"ipmi\" (its BMC user and password)",
            );
            (None, false)
        }
        (None, _) => (None, true),
    }
}

/// The PUE role; `category` belongs to role "it" only. A bad role is a problem but does not
/// keep the device out: it is still polled, without a role.
fn resolve_role(
    c: &mut Checker<'_>,
    key: &str,
    role: Option<RawRole>,
    category: Option<i64>,
    potable: Option<bool>,
) -> Option<Role> {
    if potable.is_some() && !matches!(role, Some(RawRole::Water)) {
        c.push(
            &format!("{key}.potable"),
            "'potable' only applies to role = \"water\"",
        );
    }
    let only_it = |c: &mut Checker<'_>| {
        c.push(
            &format!("{key}.category"),
            "'category' only applies to role = \"it\"",
        );
    };
    match (role, category) {
        (None, None) => None,
        (None, Some(_)) => {
            only_it(c);
            None
        }
        (Some(RawRole::It), Some(n)) => match Category::from_number(n) {
            Some(cat) => Some(Role::It(cat)),
            None => {
                c.push(
                    &format!("{key}.category"),
                    format!("expected 1, 2 or 3, found {n}"),
                );
                None
            }
        },
        (Some(RawRole::It), None) => {
            c.push(
                &format!("{key}.role"),
                "role \"it\" needs 'category' = 1 (UPS output), 2 (PDU output) or 3 (IT equipment input)",
            );
            None
        }
        (Some(_), Some(_)) => {
            only_it(c);
            None
        }
        (Some(RawRole::Facility), None) => Some(Role::Facility),
        (Some(RawRole::Cooling), None) => Some(Role::Cooling),
        (Some(RawRole::Lighting), None) => Some(Role::Lighting),
        (Some(RawRole::Other), None) => Some(Role::Other),
        (Some(RawRole::Renewable), None) => Some(Role::Renewable),
        (Some(RawRole::HeatReuse), None) => Some(Role::HeatReuse),
        (Some(RawRole::HeatRemoved), None) => Some(Role::HeatRemoved),
        (Some(RawRole::Water), None) => Some(Role::Water(potable.unwrap_or(false))),
        (Some(RawRole::Generator), None) => Some(Role::Generator),
    }
}
