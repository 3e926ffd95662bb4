//! Consolidation planning (domain/consolidation.md): server profiles and power models from stored
//! data, comatose servers, vector bin packing onto hosts and into racks with headroom and N+1,
//! savings through each site's measured PUE, what-if site moves with their binding constraint,
//! and baselines to verify savings against once the work is done.

pub mod baseline;
pub mod idle;
pub mod packing;
pub mod power;
pub mod render;
pub mod sites;

pub use baseline::{Baseline, SiteMeasure, Verification, verify};
pub(crate) use idle::{Evidence, SiteCosts, idle_finding};
pub use idle::{IdleRule, IdleServer};
pub use packing::{Demand, Plan, RackBudget, RackUse, hosts_for, plan_site};
pub use power::{PowerFit, fan_w};
pub(crate) use power::{linear_w, quantile, typical_curve};
pub use render::{to_csv, to_html, to_json, to_markdown};
pub(crate) use sites::yearly_savings_kwh;
pub use sites::{SavingParts, SiteCapacity, SiteMove, rank_site_moves};

use kilowatch_core::config::{Config, Device};
use kilowatch_core::model::{Category, Field};
use kilowatch_store::{ReadStore, Selector, StoreError, TimeRange};
use serde::{Deserialize, Serialize};

/// A host model to consolidate onto instead of the servers already there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostModel {
    /// CPU capacity in multiples of one current server (e.g. a SPECrate or ssj_ops ratio).
    pub cpu: f64,
    /// Memory in multiples of one current server.
    pub mem: f64,
    pub idle_w: f64,
    pub max_w: f64,
    pub height_u: f64,
}

/// The stated assumptions of a consolidation report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanOptions {
    /// Share of a host's capacity a plan may use (0.7 = leave 30 % headroom).
    pub headroom: f64,
    /// Percentile of CPU use a workload is sized on.
    pub percentile: f64,
    /// Percentile of memory use a workload is sized on (memory does not overcommit).
    pub mem_percentile: f64,
    pub n_plus_one: bool,
    pub idle: IdleRule,
    /// Consolidate onto this model; `None`: onto servers like the site's own.
    pub new_host: Option<HostModel>,
    /// Full-load power assumed for a server with neither a power reading nor `rated_power_w`.
    pub fallback_max_w: f64,
    /// Height of a server without `height_u`, and of a rack without `space_u`.
    pub server_height_u: f64,
    pub rack_space_u: f64,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            headroom: 0.7,
            percentile: 0.95,
            mem_percentile: 0.99,
            n_plus_one: true,
            idle: IdleRule::default(),
            new_host: None,
            fallback_max_w: 350.0,
            server_height_u: 2.0,
            rack_space_u: 42.0,
        }
    }
}

/// Distribution of one utilisation series over the window (%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Quantiles {
    fn of(mut v: Vec<f64>) -> Option<Quantiles> {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        Some(Quantiles {
            mean,
            p50: quantile(&mut v, 0.5)?,
            p95: quantile(&mut v, 0.95)?,
            p99: quantile(&mut v, 0.99)?,
            max: quantile(&mut v, 1.0)?,
        })
    }

    fn at(&self, q: f64) -> f64 {
        match q {
            q if q >= 1.0 => self.max,
            q if q >= 0.99 => self.p99,
            q if q >= 0.95 => self.p95,
            _ => self.p50,
        }
    }
}

/// One server over the window: what it does, what it draws, and its own power model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerProfile {
    pub device: String,
    pub site: String,
    pub rack: Option<String>,
    pub cpu_pct: Quantiles,
    pub mem_pct: Option<Quantiles>,
    pub net_bytes_per_s: Option<f64>,
    pub mean_w: f64,
    /// "measured: BMC Redfish (bmc-01)" (the protocol and device the watts came from), or the
    /// curve the watts were modelled with.
    pub power_source: String,
    /// W on CPU % fitted to this server's own paired readings.
    pub model: Option<PowerFit>,
    pub idle: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SitePlan {
    pub site: String,
    pub hosts_before: usize,
    /// Hosts running after the plan: packed hosts, the N+1 spare and servers left as they are.
    pub hosts_after: usize,
    /// Comatose servers switched off.
    pub idle_servers: usize,
    pub it_kw_before: f64,
    pub it_kw_after: f64,
    /// The measured PUE the facility savings go through (energy-based, most downstream category).
    pub pue_used: Option<f64>,
    pub pue_category: Option<u8>,
    /// The site's tariff and emission factor the HKD and CO2 figures use.
    pub tariff_hkd_per_kwh: Option<f64>,
    pub emission_factor_kg_per_kwh: Option<f64>,
    pub savings_kwh_per_year: f64,
    pub savings_hkd_per_year: Option<f64>,
    pub savings_tco2e_per_year: Option<f64>,
    /// How host power after consolidation was estimated.
    pub power_model: String,
    /// The site's servers' readings fitted together: W = idle_w + w_per_cpu_pct × CPU %.
    pub model: Option<PowerFit>,
    pub method: String,
    pub lower_bound_hosts: usize,
    /// Workloads that stay where they are (device, reason).
    pub unplaceable: Vec<(String, String)>,
    pub racks: Vec<RackUse>,
    pub notes: Vec<String>,
    /// Hosts needed (with N+1 as configured) when leaving 20 %, 30 % and 40 % headroom.
    pub sensitivity: Vec<(f64, usize)>,
    /// What the IT saving is made of, so a negative one can say which cost outweighs it.
    pub saving_parts: SavingParts,
    /// Set when the saving is negative: which cost outweighs which saving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub savings_note: Option<String>,
}

/// A part of the report a site has no figures for, and why (its figures are absent, not 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteNoData {
    pub site: String,
    /// `plan` (no server read CPU in the window) or `moves` (no measured IT power and PUE).
    pub part: NoDataPart,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPart {
    Plan,
    Moves,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsolidationReport {
    pub from: String,
    pub to: String,
    /// Each site's IANA zone, for the header.
    pub zones: Vec<crate::capacity::SiteZone>,
    pub assumptions: PlanOptions,
    pub servers: Vec<ServerProfile>,
    pub idle_servers: Vec<IdleServer>,
    pub sites: Vec<SitePlan>,
    /// What each site measured and offers, so a planner can check the moves by hand.
    pub site_capacities: Vec<SiteCapacity>,
    pub site_moves: Vec<SiteMove>,
    /// Measured energy of every site over the window (what a baseline records).
    pub measured: Vec<SiteMeasure>,
    /// Set when the report is compared with an earlier baseline.
    pub verification: Option<Verification>,
    /// Sites without figures for a part of the report, with why.
    pub no_data: Vec<SiteNoData>,
}

/// Plans every site from its servers' stored CPU, memory, traffic and power.
pub fn consolidation_report(
    store: &dyn ReadStore,
    config: &Config,
    range: TimeRange,
    opts: &PlanOptions,
) -> Result<ConsolidationReport, StoreError> {
    let days = (range.to - range.from) as f64 / 86_400_000.0;
    let capacity = crate::capacity::capacity_report(store, config, range)?;
    let mut report = ConsolidationReport {
        from: kilowatch_core::timefmt::format_rfc3339(range.from),
        to: kilowatch_core::timefmt::format_rfc3339(range.to),
        zones: capacity.zones.clone(),
        assumptions: opts.clone(),
        servers: Vec::new(),
        idle_servers: Vec::new(),
        sites: Vec::new(),
        site_capacities: Vec::new(),
        site_moves: Vec::new(),
        measured: Vec::new(),
        verification: None,
        no_data: Vec::new(),
    };
    for site in &config.sites {
        let measure = baseline::measure(store, &site.id, range)?;
        let costs = SiteCosts {
            pue: measure.pue,
            tariff_hkd_per_kwh: site.tariff_hkd_per_kwh,
            emission_factor_kg_per_kwh: site.emission_factor_kg_per_kwh,
        };
        let mut profiles = Vec::new();
        let mut pairs = Vec::new();
        // A BMC listed apart from its server (`server = ...`) is read as part of that server.
        for d in config
            .devices
            .iter()
            .filter(|d| d.site == site.id && d.server.is_none())
        {
            let bmcs: Vec<&Device> = config
                .devices
                .iter()
                .filter(|b| b.server.as_deref() == Some(d.id.as_str()))
                .collect();
            if let Some(p) = profile(store, d, &bmcs, range, opts, &mut pairs)? {
                profiles.push(p);
            }
        }
        let heights: f64 = config
            .devices
            .iter()
            .filter(|d| profiles.iter().any(|p| p.device == d.id))
            .map(|d| d.height_u.unwrap_or(opts.server_height_u))
            .sum();
        if !profiles.is_empty() {
            for p in &mut profiles {
                let e = Evidence {
                    cpu_p95_pct: p.cpu_pct.p95,
                    cpu_p99_pct: p.cpu_pct.p99,
                    net_bytes_per_s: p.net_bytes_per_s,
                    mean_w: p.mean_w,
                    power_source: p.power_source.clone(),
                    window_days: days,
                };
                if let Some(found) = idle_finding(&p.device, &site.id, &e, &opts.idle, costs) {
                    p.idle = true;
                    report.idle_servers.push(found);
                }
            }
            let kept: Vec<&ServerProfile> = profiles.iter().filter(|p| !p.idle).collect();
            let workloads: Vec<Demand> = kept
                .iter()
                .map(|p| Demand {
                    cpu: p.cpu_pct.at(opts.percentile) / 100.0,
                    mem_gb: p.mem_pct.map_or(0.0, |m| m.at(opts.mem_percentile) / 100.0),
                    power_w: 0.0,
                })
                .collect();
            let plan = plan_one_site(
                site,
                &profiles,
                &kept,
                &workloads,
                &pairs,
                heights,
                opts,
                costs,
                measure.it_category,
            );
            report.sites.push(plan);
        } else {
            report.no_data.push(SiteNoData {
                site: site.id.clone(),
                part: NoDataPart::Plan,
                reason:
                    "no data: no server of the site has CPU readings (cpu_util_pct) in the window"
                        .into(),
            });
        }
        report.servers.append(&mut profiles);
        // What the site could take in, and what moving it out needs.
        let rooms: Vec<_> = capacity
            .rooms
            .iter()
            .filter(|r| r.site == site.id)
            .collect();
        // Rooms whose racks read nothing offer no known headroom.
        let power_headroom_kw =
            rooms.iter().filter_map(|r| r.power_headroom_w).sum::<f64>() / 1000.0;
        // Unknown cooling capacity is taken as matching the power headroom (stated in reports).
        let cooling_headroom_kw = rooms
            .iter()
            .filter_map(|r| r.cooling_headroom_w.or(r.power_headroom_w))
            .sum::<f64>()
            / 1000.0;
        let space: f64 = site
            .rooms
            .iter()
            .flat_map(|r| &r.racks)
            .map(|k| k.space_u.unwrap_or(opts.rack_space_u))
            .sum();
        if let (Some(it_kw), Some(pue)) = (measure.it_kw, measure.pue) {
            report.site_capacities.push(SiteCapacity {
                site: site.id.clone(),
                pue,
                it_kw,
                rack_u_used: heights,
                power_headroom_kw,
                space_headroom_u: space - heights,
                cooling_headroom_kw,
                emission_factor_kg_per_kwh: site.emission_factor_kg_per_kwh,
            });
        } else {
            report.no_data.push(SiteNoData {
                site: site.id.clone(),
                part: NoDataPart::Moves,
                reason:
                    "no data: no measured IT power and PUE in the window (facility and IT meters)"
                        .into(),
            });
        }
        report.measured.push(measure);
    }
    report.site_moves = rank_site_moves(&report.site_capacities);
    Ok(report)
}

/// The plan of one site: its non-idle servers' workloads packed onto hosts and racked.
#[allow(clippy::too_many_arguments)] // one site's inputs, gathered by the caller
fn plan_one_site(
    site: &kilowatch_core::config::Site,
    profiles: &[ServerProfile],
    kept: &[&ServerProfile],
    workloads: &[Demand],
    pairs: &[(f64, f64)],
    heights: f64,
    opts: &PlanOptions,
    costs: SiteCosts,
    pue_category: Option<u8>,
) -> SitePlan {
    let model = PowerFit::fit(pairs);
    // A host's power with workloads summing to `u` servers' worth of CPU.
    let (host_power, power_model): (Box<dyn Fn(f64) -> f64>, String) = match (&opts.new_host, model)
    {
        (Some(h), _) => {
            let h = h.clone();
            let text = format!(
                "new host model: linear {:.0}–{:.0} W over its CPU capacity ({}× a current server)",
                h.idle_w, h.max_w, h.cpu
            );
            (
                Box::new(move |u| linear_w(h.idle_w, h.max_w, (u / h.cpu).min(1.0))),
                text,
            )
        }
        (None, Some(f)) => (
            Box::new(move |u| f.watts(100.0 * u)),
            format!(
                "line fitted to the site's servers: {:.1} W + {:.2} W per CPU % (R² {:.2})",
                f.idle_w, f.w_per_cpu_pct, f.r2
            ),
        ),
        (None, None) => {
            let curve = typical_curve(opts.fallback_max_w);
            (
                Box::new(move |u| curve.watts(u)),
                format!(
                    "no power readings: typical SPECpower-like curve at {:.0} W full load",
                    opts.fallback_max_w
                ),
            )
        }
    };
    let (capacity, host_u) = match &opts.new_host {
        Some(h) => (
            Demand {
                cpu: h.cpu,
                mem_gb: h.mem,
                power_w: 1.0,
            },
            h.height_u,
        ),
        None => (
            Demand {
                cpu: 1.0,
                mem_gb: 1.0,
                power_w: 1.0,
            },
            if profiles.is_empty() {
                opts.server_height_u
            } else {
                heights / profiles.len() as f64
            },
        ),
    };
    let racks: Vec<RackBudget> = site
        .rooms
        .iter()
        .flat_map(|r| &r.racks)
        .map(|k| RackBudget {
            rack: k.id.clone(),
            power_w: k.power_budget_w,
            space_u: k.space_u.unwrap_or(opts.rack_space_u),
        })
        .collect();
    // Racks are sized on the hosts' power at their sized (p95) demand.
    let sized_w = |h: &[usize]| host_power(h.iter().map(|i| workloads[*i].cpu).sum());
    let plan = plan_site(
        workloads,
        capacity,
        opts.headroom,
        opts.n_plus_one,
        &sized_w,
        host_u,
        &racks,
    );
    let before_w: f64 = profiles.iter().map(|p| p.mean_w).sum();
    // Power after on mean use; servers that stay keep drawing what they drew.
    let packed_w: f64 = plan
        .hosts
        .iter()
        .map(|h| host_power(h.iter().map(|i| kept[*i].cpu_pct.mean / 100.0).sum()))
        .sum();
    let spare_w = host_power(0.0) * plan.spare_hosts as f64;
    let stays_w: f64 = plan.unplaceable.iter().map(|(i, _)| kept[*i].mean_w).sum();
    let after_w = packed_w + spare_w + stays_w;
    let kept_w: f64 = kept.iter().map(|p| p.mean_w).sum();
    let saving_parts = SavingParts {
        idle_off_w: before_w - kept_w,
        packing_w: kept_w - stays_w - packed_w,
        spare_w,
    };
    let (_, dc) = yearly_savings_kwh(before_w, after_w, costs.pue.unwrap_or(1.0));
    let sensitivity = [0.8, 0.7, 0.6]
        .into_iter()
        .map(|h| {
            let p = plan_site(
                workloads,
                capacity,
                h,
                opts.n_plus_one,
                &sized_w,
                host_u,
                &racks,
            );
            (1.0 - h, p.hosts.len() + p.spare_hosts + p.unplaceable.len())
        })
        .collect();
    let mut notes = plan.notes.clone();
    if costs.pue.is_none() {
        notes.push("no measured PUE: savings are IT energy only".into());
    }
    SitePlan {
        site: site.id.clone(),
        hosts_before: profiles.len(),
        hosts_after: plan.hosts.len() + plan.spare_hosts + plan.unplaceable.len(),
        idle_servers: profiles.len() - kept.len(),
        it_kw_before: before_w / 1000.0,
        it_kw_after: after_w / 1000.0,
        pue_used: costs.pue,
        pue_category,
        tariff_hkd_per_kwh: costs.tariff_hkd_per_kwh,
        emission_factor_kg_per_kwh: costs.emission_factor_kg_per_kwh,
        savings_kwh_per_year: dc,
        savings_hkd_per_year: costs.tariff_hkd_per_kwh.map(|t| t * dc),
        savings_tco2e_per_year: costs.emission_factor_kg_per_kwh.map(|f| f * dc / 1000.0),
        power_model,
        model,
        method: plan.method.to_owned(),
        lower_bound_hosts: plan.lower_bound,
        unplaceable: plan
            .unplaceable
            .iter()
            .map(|(i, why)| (kept[*i].device.clone(), why.clone()))
            .collect(),
        racks: plan.racks,
        notes,
        sensitivity,
        saving_parts,
        savings_note: saving_parts.note(profiles.len() - kept.len()),
    }
}

/// Where a server's measured power came from, as the report names it.
fn power_source(from: &Device) -> String {
    let what = match from.address.protocol() {
        "redfish" => "BMC Redfish",
        "ipmi" => "BMC IPMI",
        "snmp" => "SNMP",
        "modbus" => "Modbus meter",
        other => other,
    };
    format!("{what} ({})", from.id)
}

/// One server's profile, or `None` when it has no CPU readings in the window. Its paired
/// (CPU %, W) readings are added to `pairs` for the site's power model. Power and CPU come from
/// the server's own readings, else from a BMC listed apart from it (`bmcs`); the report says
/// which.
fn profile(
    store: &dyn ReadStore,
    d: &Device,
    bmcs: &[&Device],
    range: TimeRange,
    opts: &PlanOptions,
    pairs: &mut Vec<(f64, f64)>,
) -> Result<Option<ServerProfile>, StoreError> {
    let read = |dev: &Device,
                field: Field,
                pointless: bool|
     -> Result<Vec<kilowatch_store::Point>, StoreError> {
        let mut sel = Selector::field(field).tag("device", &dev.id);
        if pointless {
            sel = sel.without("point");
        }
        match store.find(&sel)?.first() {
            Some(s) => store.read(s, range, None),
            None => Ok(Vec::new()),
        }
    };
    // The first of the server and its BMCs with readings of `field`.
    let first = |field: Field,
                 pointless: bool|
     -> Result<(Vec<kilowatch_store::Point>, &Device), StoreError> {
        for dev in std::iter::once(d).chain(bmcs.iter().copied()) {
            let points = read(dev, field, pointless)?;
            if !points.is_empty() {
                return Ok((points, dev));
            }
        }
        Ok((Vec::new(), d))
    };
    let (cpu, _) = first(Field::CpuUtilPct, true)?;
    let Some(cpu_pct) = Quantiles::of(cpu.iter().map(|p| p.value).collect()) else {
        return Ok(None);
    };
    // The device's total (un-pointed): one power supply's or one sensor's share would understate it.
    let (mut power, power_from) = first(Field::PowerW, true)?;
    let mut source = format!("measured: {}", power_source(power_from));
    // Neither the server nor a BMC reads its power: the PDU outlet feeding it may.
    if power.is_empty()
        && let Some((pdu, point)) = &d.outlet
    {
        let sel = Selector::field(Field::ActivePowerW)
            .tag("device", pdu)
            .tag("point", point);
        if let Some(s) = store.find(&sel)?.first() {
            power = store.read(s, range, None)?;
        }
        source = format!("measured: PDU outlet ({pdu} {point})");
    }
    let (mem, _) = first(Field::MemUtilPct, true)?;
    let (mean_w, power_source, model) = if power.is_empty() {
        let max_w = d.rated_power_w.unwrap_or(opts.fallback_max_w);
        let curve = typical_curve(max_w);
        let w = cpu
            .iter()
            .map(|p| curve.watts(p.value / 100.0))
            .sum::<f64>()
            / cpu.len() as f64;
        let rated = if d.rated_power_w.is_some() {
            "rated"
        } else {
            "assumed"
        };
        (
            w,
            format!("modelled: typical SPECpower-like curve, {max_w:.0} W full load ({rated})"),
            None,
        )
    } else {
        let mine = same_poll(&cpu, &power);
        pairs.extend_from_slice(&mine);
        (
            power.iter().map(|p| p.value).sum::<f64>() / power.len() as f64,
            source,
            PowerFit::fit(&mine),
        )
    };
    Ok(Some(ServerProfile {
        device: d.id.clone(),
        site: d.site.clone(),
        rack: d.rack.clone(),
        cpu_pct,
        mem_pct: Quantiles::of(mem.iter().map(|p| p.value).collect()),
        net_bytes_per_s: traffic_bytes_per_s(store, &d.id, range)?,
        mean_w,
        power_source,
        model,
        idle: false,
    }))
}

/// (CPU %, W) of the readings taken in the same poll. Both series come sorted by time, so one
/// merge pass pairs them (a month of minutes is 43,200 readings each).
fn same_poll(cpu: &[kilowatch_store::Point], power: &[kilowatch_store::Point]) -> Vec<(f64, f64)> {
    let mut pairs = Vec::with_capacity(cpu.len().min(power.len()));
    let mut p = power.iter().peekable();
    for c in cpu {
        while p.next_if(|w| w.ts < c.ts).is_some() {}
        if let Some(w) = p.peek().filter(|w| w.ts == c.ts) {
            pairs.push((c.value, w.value));
        }
    }
    pairs
}

/// Mean network traffic (received + sent, all interfaces) over the window from IF-MIB byte
/// counters; `None` when the server has none. Counter decreases (wraps, restarts) are skipped.
fn traffic_bytes_per_s(
    store: &dyn ReadStore,
    device: &str,
    range: TimeRange,
) -> Result<Option<f64>, StoreError> {
    let mut total = None;
    for field in [Field::RxBytes, Field::TxBytes] {
        for s in store.find(&Selector::field(field).tag("device", device))? {
            let points = store.read(&s, range, None)?;
            let bytes: f64 = points
                .windows(2)
                .map(|w| (w[1].value - w[0].value).max(0.0))
                .sum();
            let secs = match (points.first(), points.last()) {
                (Some(a), Some(b)) if b.ts > a.ts => (b.ts - a.ts) as f64 / 1000.0,
                _ => continue,
            };
            *total.get_or_insert(0.0) += bytes / secs;
        }
    }
    Ok(total)
}

/// The category a site's savings go through: the most downstream one with a PUE.
pub(crate) fn downstream_category(pue: &crate::pue::SitePue) -> Option<(Category, f64)> {
    [Category::Three, Category::Two, Category::One]
        .into_iter()
        .find_map(|c| match pue.pue.get(&c.number())? {
            crate::pue::Pue::Value { pue, .. } => Some((c, *pue)),
            _ => None,
        })
}
