//! The loader on a realistic embedded store: a week (and two hours) of 1-minute readings from
//! 20 devices (a facility meter, a UPS, four rack PDUs, eight servers, an inlet sensor, and
//! their collector health), read as the TUI does every few seconds. The hourly PUE, the power
//! chain and the UPS are checked against figures worked out here from what was written, and
//! the load time is printed (`--nocapture`).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Instant;

use kilowatch_core::config::Config;
use kilowatch_core::model::{Batch, Field, PollStatus, Sample};
use kilowatch_store::SqliteStore;
use kilowatch_store::samples::block_of;

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
/// 2025-01-01T00:00:00+08:00, a whole hour.
const T0: i64 = 1_735_660_800_000;
/// The store's data: 170 hours, so the trend's first hour has the hour before it.
const HOURS: i64 = 170;
/// A minute after the data's last reading, early in the next hour: the last complete hour
/// is the data's last, and the last readings are fresh.
const NOW: i64 = T0 + HOURS * HOUR + MINUTE;
/// Hour (from T0) in which pdu-r02 says nothing.
const SILENT_HOUR: i64 = 100;

/// Facility over IT in hour `i` from T0, as the simulated facility meter draws it.
fn pue_of(i: i64) -> f64 {
    1.4 + 0.01 * (i % 24) as f64
}

const IT_KW: f64 = 40.0; // four PDUs of 10 kW

fn config(dir: &std::path::Path) -> Config {
    let community = dir.join("community");
    std::fs::write(&community, "public").unwrap();
    // A secret file must be private, or the inventory is refused.
    std::fs::set_permissions(
        &community,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut toml = format!(
        "[store]\npath = \"kilowatch.db\"\n\n[auths.c]\nversion = \"v2c\"\ncommunity = \"file:{}\"\n\n[[sites]]\nid = \"hk1\"\nname = \"Kwun Tong\"\ntimezone = \"Asia/Hong_Kong\"\n\n[[sites.rooms]]\nid = \"hall-1\"\n",
        community.display()
    );
    for r in 1..=4 {
        toml.push_str(&format!(
            "\n[[sites.rooms.racks]]\nid = \"r0{r}\"\npower_budget_w = 12000.0\n"
        ));
    }
    let device = |id: &str, rack: Option<u32>, profile: &str, role: &str| {
        let rack = rack.map_or(String::new(), |r| format!("rack = \"r0{r}\"\n"));
        format!(
            "\n[[devices]]\nid = \"{id}\"\nsite = \"hk1\"\nroom = \"hall-1\"\n{rack}profile = \"{profile}\"\naddress = \"snmp://127.0.0.1:1\"\nauth = \"c\"\n{role}"
        )
    };
    toml.push_str(
        &device("meter", None, "eastron-sdm630", "role = \"facility\"\n").replace(
            "snmp://127.0.0.1:1\"\nauth = \"c\"",
            "modbus://127.0.0.1:1/1\"",
        ),
    );
    toml.push_str(&device(
        "ups-1",
        None,
        "rfc1628-ups",
        "role = \"it\"\ncategory = 1\n",
    ));
    for r in 1..=4 {
        toml.push_str(&device(
            &format!("pdu-r0{r}"),
            Some(r),
            "apc-rpdu2",
            "role = \"it\"\ncategory = 3\n",
        ));
        for s in 1..=2 {
            toml.push_str(&device(
                &format!("srv-r0{r}-{s}"),
                Some(r),
                "server-hostres-idrac",
                "",
            ));
        }
    }
    toml.push_str(&device("env-1", None, "akcp-sensorprobe", ""));
    let path = dir.join("site.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load_with_env(&path, std::iter::empty()).unwrap_or_else(|p| panic!("{p:?}"))
}

/// Writes the week: every device every minute, counters counting what the power drew.
fn fill(store: &SqliteStore, config: &Config) {
    let dev = |id: &str| config.devices.iter().find(|d| d.id == id).unwrap();
    let s = |id: &str, f: Field, p: Option<&str>| (Arc::new(dev(id).series(f, p)), f);
    let meter = [
        s("meter", Field::ActivePowerW, None),
        s("meter", Field::EnergyKwh, None),
    ];
    let ups = [
        (s("ups-1", Field::ActivePowerW, None), 42_000.0),
        (s("ups-1", Field::ActivePowerW, Some("input")), 44_000.0),
        (s("ups-1", Field::RuntimeS, None), 1_020.0),
        (s("ups-1", Field::BatteryChargePct, None), 96.0),
        (s("ups-1", Field::LoadPct, None), 41.0),
    ];
    let pdus: Vec<_> = (1..=4)
        .map(|r| {
            let id = format!("pdu-r0{r}");
            [
                s(&id, Field::ActivePowerW, None),
                s(&id, Field::EnergyKwh, None),
            ]
        })
        .collect();
    let servers: Vec<_> = (1..=4)
        .flat_map(|r| (1..=2).map(move |n| format!("srv-r0{r}-{n}")))
        .map(|id| [s(&id, Field::PowerW, None), s(&id, Field::CpuUtilPct, None)])
        .collect();
    let inlets: Vec<_> = [22.0, 29.5, 24.0, 25.0]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                s("env-1", Field::InletTempC, Some(&format!("r0{}", i + 1))),
                *c,
            )
        })
        .collect();
    let mut facility_kwh = 1_000.0;
    let mut pdu_kwh = [500.0; 4];
    let mut batches = Vec::new();
    for m in 0..HOURS * 60 {
        let at = T0 + m * MINUTE;
        let hour = m / 60;
        let facility_kw = IT_KW * pue_of(hour);
        facility_kwh += facility_kw / 60.0;
        let mut samples = Vec::new();
        let mut add = |(series, field): &(Arc<kilowatch_core::model::Series>, Field), value| {
            samples.push(Sample {
                series: series.clone(),
                field: *field,
                value,
            })
        };
        add(&meter[0], facility_kw * 1000.0);
        add(&meter[1], facility_kwh);
        for (s, v) in &ups {
            add(s, *v);
        }
        for (i, p) in pdus.iter().enumerate() {
            pdu_kwh[i] += 10.0 / 60.0;
            if i == 1 && hour == SILENT_HOUR {
                continue;
            }
            add(&p[0], 10_000.0);
            add(&p[1], pdu_kwh[i]);
        }
        for s in &servers {
            add(&s[0], 4_750.0);
            add(&s[1], 30.0);
        }
        for (s, v) in &inlets {
            add(s, *v);
        }
        batches.push(Batch {
            device: Arc::from("week"),
            at,
            samples,
            poll: PollStatus::Ok,
            poll_ms: 0.0,
        });
        if batches.len() == 60 {
            store.write(&batches).unwrap();
            batches.clear();
        }
        // Closed blocks move into chunks as the collector's upkeep does.
        if m % 1440 == 0 {
            store.compact(block_of(at)).unwrap();
        }
    }
    store.write(&batches).unwrap();
    store.compact(block_of(NOW)).unwrap();
}

#[test]
fn a_week_of_hourly_pue_the_power_chain_and_the_ups_from_a_real_store() {
    let dir = std::env::temp_dir().join(format!("kilowatch-tui-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = config(&dir);
    let store = SqliteStore::open(&config.store.path).unwrap();
    let t = Instant::now();
    fill(&store, &config);
    let written = t.elapsed();

    let t = Instant::now();
    let snap = kilowatch_tui::load::snapshot(&store, &config, &[], NOW, 60_000).unwrap();
    let first = t.elapsed();
    let t = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        kilowatch_tui::load::snapshot(&store, &config, &[], NOW, 60_000).unwrap();
    }
    let again = t.elapsed() / runs;
    println!(
        "week store written in {written:.1?}; snapshot loaded in {first:.1?} (first), {again:.1?} (each of {runs} more)"
    );
    let _ = std::fs::remove_dir_all(&dir);

    let site = &snap.sites[0];
    // Complete hours from T0 + 2 h to T0 + 170 h: 168, less the one pdu-r02 was silent in.
    // The hour after it has no counter step for pdu-r02 (its previous reading is two hours
    // back) and is taken from its mean power instead.
    assert_eq!(site.pue_trend.len(), 167, "{:?}", site.pue_trend.first());
    for (x, pue) in &site.pue_trend {
        let i = (*x as i64 - T0) / HOUR;
        assert_ne!(i, SILENT_HOUR);
        assert!(
            (pue - pue_of(i)).abs() < 1e-6,
            "hour {i}: {pue} where {} was drawn",
            pue_of(i)
        );
    }
    assert_eq!(site.pue_trend[0].0 as i64, T0 + 2 * HOUR);
    assert!(
        site.pue_trend
            .iter()
            .any(|(x, _)| *x as i64 == T0 + (SILENT_HOUR + 1) * HOUR)
    );
    // Facility kW every 15 minutes over the week: the hour's draw, 40 kW × that hour's PUE.
    let (x, kw) = site.kw_trend.last().copied().unwrap();
    assert!(
        (kw - IT_KW * pue_of((x as i64 - T0) / HOUR)).abs() < 1e-6,
        "{x} {kw}"
    );
    assert!(
        site.kw_trend.len() >= 4 * 24 * 7 - 4,
        "{}",
        site.kw_trend.len()
    );

    // The chain now (hour 169: PUE 1.41): 56.4 kW in, 44 and 42 kW through the UPS, four
    // PDUs of 10 kW, eight servers of 4.75 kW.
    let c = &site.chain;
    let close = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-9);
    assert!(close(c.facility_kw, 40.0 * 1.41), "{c:?}");
    assert!(
        close(c.ups_in_kw, 44.0) && close(c.ups_out_kw, 42.0),
        "{c:?}"
    );
    assert!(close(c.pdu_kw, 40.0) && close(c.it_kw, 38.0), "{c:?}");
    let ups = &site.ups[0];
    assert_eq!(
        (
            ups.device.as_str(),
            ups.runtime_min,
            ups.battery_pct,
            ups.load_pct
        ),
        ("ups-1", Some(17.0), Some(96.0), Some(41.0))
    );
    assert_eq!(site.hottest_inlets(2), vec![("r02", 29.5), ("r04", 25.0)]);
}
