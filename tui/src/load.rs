//! Building a `Snapshot` from the store: runs off the UI loop (a blocking task), reads only
//! through `ReadStore` plus the collector's device status.

use kilowatch_analyzer::pue::{self, Options, Pue};
use kilowatch_core::config::Config;
use kilowatch_core::i18n::{Lang, Tr};
use kilowatch_core::model::{Category, Field, Role};
use kilowatch_store::{DeviceStatus, ReadStore, Selector, StoreError, TimeRange};

use crate::snapshot::{
    Alarm, DeviceView, EIGHTY_PCT, INLET_MAX_C, PduView, RackView, RoomView, ServerView, SiteView,
    Snapshot,
};

mod chain;
mod trend;

use trend::HOUR;

/// Sum of the latest values of every series matching `sel`.
fn latest_sum(store: &dyn ReadStore, sel: &Selector, now: i64) -> Result<Option<f64>, StoreError> {
    let mut sum = None;
    for s in store.find(sel)? {
        if let Some(p) = store.latest(&s, now)? {
            *sum.get_or_insert(0.0) += p.value;
        }
    }
    Ok(sum)
}

/// PUE over the part of `range` all meters cover (a live view's windows are often partly empty).
fn pue_value(
    store: &dyn ReadStore,
    site: &str,
    cat: Category,
    range: TimeRange,
) -> Result<Option<f64>, StoreError> {
    let Some(range) = pue::common_span(store, site, cat, range)? else {
        return Ok(None);
    };
    let r = pue::site_pue(store, site, range, Options::default())?;
    Ok(match r.pue.get(&cat.number()) {
        Some(Pue::Value { pue, .. }) => Some(*pue),
        _ => None,
    })
}

/// A device's health from the collector's own `up` and `poll_ms` samples, for stores without
/// the embedded status table (InfluxDB): (up, poll ms, age s, error, since).
fn from_samples(
    store: &dyn ReadStore,
    device: &str,
    now: i64,
    tr: &Tr,
) -> Result<(bool, f64, f64, Option<String>, i64), StoreError> {
    let latest = |f: Field| -> Result<Option<kilowatch_store::Point>, StoreError> {
        match store
            .find(&Selector::field(f).tag("device", device))?
            .first()
        {
            Some(s) => store.latest(s, now),
            None => Ok(None),
        }
    };
    Ok(match latest(Field::Up)? {
        Some(p) => {
            let poll = latest(Field::PollMs)?.map_or(0.0, |p| p.value);
            let error = (p.value < 0.5).then(|| tr.t("tui-dev-down-reported"));
            (
                p.value > 0.5,
                poll,
                (now - p.ts).max(0) as f64 / 1000.0,
                error,
                p.ts,
            )
        }
        None => (
            false,
            0.0,
            f64::INFINITY,
            Some(tr.t("tui-dev-not-polled")),
            now,
        ),
    })
}

/// Heartbeat periods without one before a collector is called silent (as `kilowatch fleet`).
const FLEET_SILENT_AFTER: f64 = 2.0;

/// `interval_ms`: the collector's poll interval, to call a device stale after three.
/// The texts it makes (alarms, device errors) are in English; see `snapshot_in`.
pub fn snapshot(
    store: &dyn ReadStore,
    config: &Config,
    status: &[DeviceStatus],
    now: i64,
    interval_ms: i64,
) -> Result<Snapshot, StoreError> {
    snapshot_in(store, config, status, now, interval_ms, &Tr::new(Lang::En))
}

/// `snapshot`, with the texts it makes (alarms, device errors) in `tr`'s language.
pub fn snapshot_in(
    store: &dyn ReadStore,
    config: &Config,
    status: &[DeviceStatus],
    now: i64,
    interval_ms: i64,
    tr: &Tr,
) -> Result<Snapshot, StoreError> {
    let mut alarms = Vec::new();
    let mut devices = Vec::new();
    for d in &config.devices {
        let st = status.iter().find(|s| s.device == d.id);
        let (up, poll_ms, age_s, error, since) = match st {
            Some(s) => (
                s.up,
                s.poll_ms,
                (now - s.ts).max(0) as f64 / 1000.0,
                s.error.clone(),
                s.ts,
            ),
            None => from_samples(store, &d.id, now, tr)?,
        };
        let stale = age_s * 1000.0 > 3.0 * interval_ms as f64;
        if !up || stale {
            alarms.push(Alarm {
                critical: true,
                subject: format!("{} ({})", d.id, d.site),
                text: if stale && up {
                    tr.t("tui-alarm-stale")
                } else {
                    tr.args(
                        "tui-alarm-down",
                        &[("error", error.as_deref().unwrap_or_default())],
                    )
                },
                since,
            });
        }
        devices.push(DeviceView {
            id: d.id.clone(),
            site: d.site.clone(),
            rack: d.rack.clone(),
            up: up && !stale,
            poll_ms,
            age_s,
            error,
        });
    }

    let ratings = pue::ratings(config);
    // A reading older than three polls is not the chain's present state.
    let fresh = (3 * interval_ms).max(60_000);
    let mut sites = Vec::new();
    for site in &config.sites {
        let sid = site.id.as_str();
        let it = |cat: Category| {
            config
                .devices
                .iter()
                .any(|d| d.site == sid && d.role == Some(Role::It(cat)))
        };
        let cat = [Category::Three, Category::Two, Category::One]
            .into_iter()
            .find(|c| it(*c))
            .unwrap_or(Category::One);
        // "Today" is the site's own day (its `timezone`, DST included).
        let midnight = kilowatch_core::calendar::day_start(
            &site.timezone,
            kilowatch_core::calendar::local_date(&site.timezone, now),
        );
        let power = |role: Role| {
            Selector::field(Field::ActivePowerW)
                .tag("site", sid)
                .tag("role", role.tag())
        };
        let ups_load = config
            .devices
            .iter()
            .filter(|d| d.site == sid && d.role == Some(Role::It(Category::One)))
            .filter_map(|d| {
                latest_sum(
                    store,
                    &Selector::field(Field::LoadPct)
                        .tag("device", &d.id)
                        .without("point"),
                    now,
                )
                .ok()
                .flatten()
            })
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        if let Some(l) = ups_load
            && l > EIGHTY_PCT
        {
            alarms.push(Alarm {
                critical: false,
                subject: format!("UPS ({sid})"),
                text: tr.args("tui-alarm-ups-load", &[("load", &format!("{l:.0}"))]),
                since: now,
            });
        }
        let mut rooms = Vec::new();
        for room in &site.rooms {
            let mut racks = Vec::new();
            for rack in &room.racks {
                let in_rack: Vec<_> = config
                    .devices
                    .iter()
                    .filter(|d| d.site == sid && d.rack.as_deref() == Some(rack.id.as_str()))
                    .collect();
                let mut pdus = Vec::new();
                let mut power_w: Option<f64> = None;
                let mut servers = Vec::new();
                for d in &in_rack {
                    if matches!(d.role, Some(Role::It(_))) {
                        let p = latest_sum(
                            store,
                            &Selector::field(Field::ActivePowerW)
                                .tag("device", &d.id)
                                .without("point"),
                            now,
                        )?;
                        if let Some(p) = p {
                            *power_w.get_or_insert(0.0) += p;
                        }
                        let mut currents = Vec::new();
                        for s in
                            store.find(&Selector::field(Field::CurrentA).tag("device", &d.id))?
                        {
                            if let (Some(point), Some(v)) = (s.tag("point"), store.latest(&s, now)?)
                            {
                                currents.push((point.to_owned(), v.value));
                                if let Some(b) = d.breaker_a
                                    && v.value / b * 100.0 > EIGHTY_PCT
                                {
                                    alarms.push(Alarm {
                                        critical: false,
                                        subject: format!("{} {point}", d.id),
                                        text: tr.args(
                                            "tui-alarm-breaker",
                                            &[
                                                ("amps", &format!("{:.1}", v.value)),
                                                ("breaker", &b.to_string()),
                                            ],
                                        ),
                                        since: v.ts,
                                    });
                                }
                            }
                        }
                        pdus.push(PduView {
                            device: d.id.clone(),
                            power_w: p,
                            currents,
                            breaker_a: d.breaker_a,
                        });
                    } else {
                        let cpu = latest_sum(
                            store,
                            &Selector::field(Field::CpuUtilPct)
                                .tag("device", &d.id)
                                .without("point"),
                            now,
                        )?;
                        let w = latest_sum(
                            store,
                            &Selector::field(Field::PowerW)
                                .tag("device", &d.id)
                                .without("point"),
                            now,
                        )?;
                        if cpu.is_some() || w.is_some() {
                            servers.push(ServerView {
                                device: d.id.clone(),
                                cpu_pct: cpu,
                                power_w: w,
                            });
                        }
                    }
                }
                // Inlet: sensors tagged with this rack, or named after it.
                let mut inlet: Option<f64> = None;
                for s in store.find(&Selector::field(Field::InletTempC).tag("site", sid))? {
                    let named = s.tag("rack") == Some(rack.id.as_str())
                        || s.tag("point").is_some_and(|p| p.contains(&rack.id));
                    if named && let Some(p) = store.latest(&s, now)? {
                        inlet = Some(inlet.map_or(p.value, |i| i.max(p.value)));
                        if p.value > INLET_MAX_C {
                            alarms.push(Alarm {
                                critical: false,
                                subject: tr.args("tui-alarm-rack", &[("rack", &rack.id)]),
                                text: tr.args(
                                    "tui-alarm-inlet",
                                    &[("inlet", &format!("{:.1}", p.value))],
                                ),
                                since: p.ts,
                            });
                        }
                    }
                }
                racks.push(RackView {
                    id: rack.id.clone(),
                    power_w,
                    budget_w: rack.power_budget_w,
                    inlet_c: inlet,
                    pdus,
                    servers,
                });
            }
            rooms.push(RoomView {
                id: room.id.clone(),
                racks,
            });
        }
        let pue_trend = trend::hourly_pue(store, sid, cat, now, &ratings)?;
        let kw_trend = trend::facility_kw(store, sid, now)?;
        let (chain, ups) = chain::power_chain(store, config, sid, now, fresh)?;
        let site_devices: Vec<&DeviceView> = devices.iter().filter(|d| d.site == sid).collect();
        sites.push(SiteView {
            id: site.id.clone(),
            name: site.name.clone(),
            category: format!("PUE{}", cat.number()),
            pue_hour: pue_value(
                store,
                sid,
                cat,
                TimeRange {
                    from: now - HOUR,
                    to: now,
                },
            )?,
            pue_today: pue_value(
                store,
                sid,
                cat,
                TimeRange {
                    from: midnight,
                    to: now,
                },
            )?,
            facility_kw: latest_sum(store, &power(Role::Facility), now)?.map(|w| w / 1000.0),
            it_kw: latest_sum(store, &power(Role::It(cat)), now)?.map(|w| w / 1000.0),
            cooling_kw: latest_sum(store, &power(Role::Cooling), now)?.map(|w| w / 1000.0),
            ups_load_pct: ups_load,
            devices_up: site_devices.iter().filter(|d| d.up).count(),
            devices_total: site_devices.len(),
            rooms,
            pue_trend,
            kw_trend,
            timezone: Some(site.timezone.clone()),
            chain,
            ups,
        });
    }
    alarms.sort_by(|a, b| b.critical.cmp(&a.critical).then(a.since.cmp(&b.since)));
    Ok(Snapshot {
        at: now,
        sites,
        devices,
        alarms,
        // The collector's rule alerts come from its store's alert state (see `kilowatch tui`).
        rule_alerts: Vec::new(),
        traps: Vec::new(),
        fleet: kilowatch_analyzer::fleet::collectors(store, now, FLEET_SILENT_AFTER)?,
    })
}
