//! The power chain of a site (facility meter → UPS → PDUs → IT) and its UPSs, from the latest
//! readings. A step is measured only when every device of it has a fresh reading: a sum
//! missing one UPS or PDU would show a loss that is not there.

use kilowatch_core::config::{Config, Device};
use kilowatch_core::model::{Category, Field, Role, Timestamp};
use kilowatch_store::{ReadStore, Selector, StoreError};

use crate::snapshot::{PowerChain, UpsView};

/// The newest value of `field` of `device` at `point` (`None`: its metering point), if it is
/// no older than `fresh` (ms).
fn reading(
    store: &dyn ReadStore,
    device: &str,
    field: Field,
    point: Option<&str>,
    now: Timestamp,
    fresh: i64,
) -> Result<Option<f64>, StoreError> {
    let sel = Selector::field(field).tag("device", device);
    let sel = match point {
        Some(p) => sel.tag("point", p),
        None => sel.without("point"),
    };
    for s in store.find(&sel)? {
        if let Some(p) = store.latest(&s, now)?
            && now - p.ts <= fresh
        {
            return Ok(Some(p.value));
        }
    }
    Ok(None)
}

/// The sum of one value per device, or `None` when there are no devices or any lacks it.
fn all_or_none(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let mut sum = None;
    for v in values {
        *sum.get_or_insert(0.0) += v?;
    }
    sum
}

/// Whether the site's store holds any series of `field` for `device`.
fn has(store: &dyn ReadStore, device: &str, field: Field) -> Result<bool, StoreError> {
    Ok(!store
        .find(&Selector::field(field).tag("device", device))?
        .is_empty())
}

/// The site's power chain and UPSs; `fresh`: how old a reading may be (ms) and still count.
pub(super) fn power_chain(
    store: &dyn ReadStore,
    config: &Config,
    site: &str,
    now: Timestamp,
    fresh: i64,
) -> Result<(PowerChain, Vec<UpsView>), StoreError> {
    let at_site: Vec<&Device> = config.devices.iter().filter(|d| d.site == site).collect();
    let kw = |w: Option<f64>| w.map(|w| w / 1000.0);
    let read = |d: &Device, field, point| reading(store, &d.id, field, point, now, fresh);

    let mut facility = Vec::new();
    let mut ups = Vec::new();
    let mut pdus = Vec::new();
    // Each server with the devices that read it (its own agent, its BMC).
    let mut servers: Vec<(&str, Vec<&Device>)> = Vec::new();
    for d in &at_site {
        match d.role {
            Some(Role::Facility) => facility.push(*d),
            Some(Role::It(Category::One)) => ups.push(*d),
            // Category 2 is PDU output; a rack's category-3 meters are its rack PDUs.
            Some(Role::It(Category::Two)) => pdus.push(*d),
            Some(Role::It(Category::Three)) if d.rack.is_some() => pdus.push(*d),
            None if d.rack.is_some()
                && (has(store, &d.id, Field::PowerW)? || has(store, &d.id, Field::CpuUtilPct)?) =>
            {
                // A BMC listed apart from its server measures that server: one entry for both.
                let server = d.server.as_deref().unwrap_or(&d.id);
                match servers.iter_mut().find(|(s, _)| *s == server) {
                    Some((_, devices)) => devices.push(*d),
                    None => servers.push((server, vec![*d])),
                }
            }
            // A UPS without the IT role is still a UPS in the chain.
            None if has(store, &d.id, Field::RuntimeS)? => ups.push(*d),
            _ => {}
        }
    }
    let sum = |devices: &[&Device], field, point| -> Result<Option<f64>, StoreError> {
        let mut v = Vec::new();
        for d in devices {
            v.push(read(d, field, point)?);
        }
        Ok(all_or_none(v))
    };
    // A UPS's input total is the point "input" (RFC 1628 cards) or "in" (others).
    let mut ups_in = Vec::new();
    for d in &ups {
        let input = match read(d, Field::ActivePowerW, Some("input"))? {
            Some(v) => Some(v),
            None => read(d, Field::ActivePowerW, Some("in"))?,
        };
        ups_in.push(input);
    }
    // A server nothing reads the power of leaves the IT step unknown, not smaller.
    let mut it = Vec::new();
    for (_, devices) in &servers {
        let mut power = None;
        for d in devices {
            if power.is_none() {
                power = read(d, Field::PowerW, None)?;
            }
        }
        it.push(power);
    }
    let chain = PowerChain {
        facility_kw: kw(sum(&facility, Field::ActivePowerW, None)?),
        ups_in_kw: kw(all_or_none(ups_in)),
        ups_out_kw: kw(sum(&ups, Field::ActivePowerW, None)?),
        pdu_kw: kw(sum(&pdus, Field::ActivePowerW, None)?),
        it_kw: kw(all_or_none(it)),
    };
    let mut views = Vec::new();
    for d in &ups {
        views.push(UpsView {
            device: d.id.clone(),
            runtime_min: read(d, Field::RuntimeS, None)?.map(|s| s / 60.0),
            battery_pct: read(d, Field::BatteryChargePct, None)?,
            load_pct: read(d, Field::LoadPct, None)?,
            on_battery: read(d, Field::OnBattery, None)?.is_some_and(|v| v > 0.5),
        });
    }
    Ok((chain, views))
}

#[cfg(test)]
mod tests {
    use super::all_or_none;

    #[test]
    fn a_step_missing_one_device_has_no_sum_and_an_empty_step_has_none() {
        assert_eq!(all_or_none([Some(1.0), Some(2.5)]), Some(3.5));
        assert_eq!(all_or_none([Some(1.0), None]), None);
        assert_eq!(all_or_none([]), None);
    }
}
