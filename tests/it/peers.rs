//! The collector against real third-party peers started by `scripts/test`: net-snmp's snmpd,
//! snmpsim serving recorded walks of real devices, and pymodbus serving a real meter's register
//! map. Expected values come from the fixtures' own `expected.toml` / register files.
#![cfg(feature = "peers")]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kilowatch_collector::Driver;
use kilowatch_collector::decode::{RowSeries, decode};
use kilowatch_collector::plan::Plan;
use kilowatch_core::address::Address;
use kilowatch_core::config::Device;
use kilowatch_core::model::{Field, Sample};
use kilowatch_core::profile::ProfileSet;
use kilowatch_core::secret::Secret;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts the peers"))
}

fn shared() -> PathBuf {
    PathBuf::from(env("KILOWATCH_SHARED"))
}

/// Reads `url` once with `profile`; returns the samples and the per-value problems.
async fn read_once(
    url: &str,
    community: Option<&str>,
    profile: &str,
) -> (Vec<Sample>, Vec<String>) {
    let (address, _) = Address::parse(url).unwrap();
    let (profiles, problems) = ProfileSet::load(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    let device = Device::new("peer", "test", profile, address.clone());
    let plan = Plan::compile(&device, profiles.get(profile).unwrap());
    let mut driver = match community {
        Some(c) => Driver::snmp_v2c(&address, Secret::new(c), Duration::from_secs(3)),
        None => Driver::new(&address, None, Duration::from_secs(3)),
    };
    let readings = driver
        .read(&plan.kind)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    decode(
        &plan,
        &readings,
        &mut RowSeries::default(),
        &mut samples,
        &mut problems,
    );
    (samples, problems)
}

fn find(samples: &[Sample], field: Field, point: Option<&str>) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.field == field && s.series.tag("point") == point)
        .map(|s| s.value)
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

// ---- net-snmp snmpd ----

fn snmpcli(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args([
            "-v2c",
            "-c",
            &env("KILOWATCH_TEST_SNMPD_COMMUNITY"),
            "-On",
            "-Oqv",
            &env("KILOWATCH_TEST_SNMPD"),
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool}: {e} (install the Debian package snmp: run scripts/test)")
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn reads_hrprocessorload_and_sysuptime_from_net_snmp() {
    let url = format!("snmp://{}", env("KILOWATCH_TEST_SNMPD"));
    let community = env("KILOWATCH_TEST_SNMPD_COMMUNITY");
    let (samples, problems) = read_once(&url, Some(&community), "netsnmp-host").await;
    assert!(problems.is_empty(), "{problems:?}");

    // The same table read by net-snmp's own client: one row per CPU.
    let walk = snmpcli("snmpwalk", &["1.3.6.1.2.1.25.3.3.1.2"]);
    let cli_loads: Vec<f64> = walk.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert!(
        !cli_loads.is_empty(),
        "snmpwalk returned no hrProcessorLoad rows: {walk}"
    );
    let per_cpu: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.field == Field::CpuUtilPct && s.series.tag("point").is_some())
        .collect();
    assert_eq!(
        per_cpu.len(),
        cli_loads.len(),
        "one sample per hrProcessorLoad row"
    );
    let mean = find(&samples, Field::CpuUtilPct, None).expect("mean CPU");
    assert!((0.0..=100.0).contains(&mean), "{mean}");

    // sysUpTime in seconds, within a few seconds of what snmpget sees.
    let ticks = snmpcli("snmpget", &["-Ot", "1.3.6.1.2.1.1.3.0"]);
    let cli_s: f64 = ticks
        .trim()
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("sysUpTime '{ticks}'"))
        / 100.0;
    let uptime = find(&samples, Field::UptimeS, None).expect("uptime_s");
    assert!(
        (uptime - cli_s).abs() < 5.0,
        "uptime {uptime} s vs snmpget {cli_s} s"
    );
}

#[test]
fn probe_picks_the_profile_by_sysobjectid_and_prints_json() {
    let url = format!(
        "snmp://{}@{}",
        env("KILOWATCH_TEST_SNMPD_COMMUNITY"),
        env("KILOWATCH_TEST_SNMPD")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["probe", &url, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let uptime = rows
        .iter()
        .find(|r| r["field"] == "uptime_s")
        .expect("uptime_s row");
    assert_eq!(uptime["unit"], "s");
    assert_eq!(uptime["measurement"], "device");
    assert!(uptime["value"].as_f64().unwrap() > 0.0);
}

// ---- snmpsim: recorded real devices ----

/// A recorded sensor that one of our profiles reads: OID prefix (a scalar or a table column),
/// our field and point prefix, and the factor from the fixture's unit to ours.
struct Reads {
    oid_prefix: &'static str,
    field: Field,
    point: Option<&'static str>,
    factor: f64,
}

fn check_fixture(name: &str, profile: &str, reads: &[Reads], samples: &[Sample]) -> usize {
    let path = shared()
        .join("fixtures/snmp")
        .join(name)
        .join("expected.toml");
    let expected: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut matched = 0;
    for sensor in expected["sensor"].as_array().unwrap() {
        let oid = sensor["oid"].as_str().unwrap();
        let value = sensor["value"]
            .as_float()
            .unwrap_or_else(|| sensor["value"].as_integer().unwrap() as f64);
        let Some(r) = reads
            .iter()
            .find(|r| oid == r.oid_prefix || oid.starts_with(&format!("{}.", r.oid_prefix)))
        else {
            continue;
        };
        let point = r
            .point
            .map(|p| format!("{p}{}", &oid[r.oid_prefix.len() + 1..]));
        let got = find(samples, r.field, point.as_deref()).unwrap_or_else(|| {
            panic!("{name}: no {} sample at point {point:?} for {oid}", r.field)
        });
        let want = value * r.factor;
        assert!(
            close(got, want),
            "{name} ({profile}): {oid} {}: read {got}, expected {want}",
            r.field
        );
        matched += 1;
    }
    matched
}

#[tokio::test]
async fn reads_a_recorded_apc_rack_pdu_served_by_snmpsim() {
    let url = format!("snmp://{}", env("KILOWATCH_TEST_SNMPSIM"));
    let (samples, problems) = read_once(&url, Some("apc-rpdu2-ap8853"), "apc-rpdu2").await;
    assert!(problems.is_empty(), "{problems:?}");
    let reads = [
        Reads {
            oid_prefix: "1.3.6.1.4.1.318.1.1.12.2.3.1.1.2",
            field: Field::CurrentA,
            point: Some("load"),
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.4.1.318.1.1.26.4.3.1.5.1",
            field: Field::ActivePowerW,
            point: None,
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.4.1.318.1.1.26.4.3.1.9.1",
            field: Field::EnergyKwh,
            point: None,
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.4.1.318.1.1.26.6.3.1.6",
            field: Field::VoltageV,
            point: Some("phase"),
            factor: 1.0,
        },
    ];
    // All six recorded sensors: 3 currents, power, energy, voltage.
    assert_eq!(
        check_fixture("apc-rpdu2-ap8853", "apc-rpdu2", &reads, &samples),
        6
    );
}

#[tokio::test]
async fn reads_a_recorded_rfc1628_ups_served_by_snmpsim() {
    let url = format!("snmp://{}", env("KILOWATCH_TEST_SNMPSIM"));
    let (samples, problems) = read_once(&url, Some("generex-cs141-rfc1628"), "rfc1628-ups").await;
    assert!(problems.is_empty(), "{problems:?}");
    let ups = "1.3.6.1.2.1.33.1";
    let reads = [
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.2.4.0",
            field: Field::BatteryChargePct,
            point: None,
            factor: 1.0,
        },
        // Recorded in minutes; we store seconds.
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.2.3.0",
            field: Field::RuntimeS,
            point: None,
            factor: 60.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.4.4.1.2",
            field: Field::VoltageV,
            point: Some("out"),
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.4.4.1.3",
            field: Field::CurrentA,
            point: Some("out"),
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.4.4.1.4",
            field: Field::ActivePowerW,
            point: Some("out"),
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.4.4.1.5",
            field: Field::LoadPct,
            point: Some("out"),
            factor: 1.0,
        },
        Reads {
            oid_prefix: "1.3.6.1.2.1.33.1.3.3.1.2",
            field: Field::FrequencyHz,
            point: Some("in"),
            factor: 1.0,
        },
    ];
    let matched = check_fixture("generex-cs141-rfc1628", "rfc1628-ups", &reads, &samples);
    assert_eq!(
        matched, 17,
        "charge, runtime, 3 x (out V, out A, out W, out %), 3 x input Hz"
    );
    // The device total is the sum of the recorded per-line output powers (-4 + 469 - 26 W).
    assert_eq!(find(&samples, Field::ActivePowerW, None), Some(439.0));
    assert_eq!(
        find(&samples, Field::LoadPct, None),
        Some(14.0),
        "the most loaded line"
    );
    let _ = ups;
}

// ---- pymodbus: a real meter's register map ----

#[tokio::test]
async fn reads_the_eastron_sdm630_map_served_by_pymodbus() {
    let path = shared().join("fixtures/modbus/eastron-sdm630-v2.toml");
    let fixture: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let unit = fixture["device"]["unit_id"].as_integer().unwrap();
    let url = format!("modbus://{}/{unit}", env("KILOWATCH_TEST_MODBUS"));
    let (samples, problems) = read_once(&url, None, "eastron-sdm630").await;
    assert!(problems.is_empty(), "{problems:?}");
    let ours = [
        ("voltage_l1_n", Field::VoltageV, Some("l1")),
        ("voltage_l2_n", Field::VoltageV, Some("l2")),
        ("voltage_l3_n", Field::VoltageV, Some("l3")),
        ("current_l1", Field::CurrentA, Some("l1")),
        ("current_l2", Field::CurrentA, Some("l2")),
        ("current_l3", Field::CurrentA, Some("l3")),
        ("active_power_l1", Field::ActivePowerW, Some("l1")),
        ("active_power_l2", Field::ActivePowerW, Some("l2")),
        ("active_power_l3", Field::ActivePowerW, Some("l3")),
        ("total_active_power", Field::ActivePowerW, None),
        ("total_apparent_power", Field::ApparentPowerVa, None),
        ("total_power_factor", Field::PowerFactor, None),
        ("frequency", Field::FrequencyHz, None),
        ("total_active_energy", Field::EnergyKwh, None),
    ];
    for reg in fixture["registers"].as_array().unwrap() {
        let name = reg["name"].as_str().unwrap();
        let Some((_, field, point)) = ours.iter().find(|(n, _, _)| *n == name) else {
            continue;
        };
        let want = reg["example_value"].as_float().unwrap();
        let got = find(&samples, *field, *point).unwrap_or_else(|| panic!("no sample for {name}"));
        // Unscaled float32 values are exactly representable (fixture README).
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn a_modbus_exception_is_a_clear_per_device_error() {
    // Unit 1 is the Eastron map; the CRAC profile asks for holding registers it does not have.
    let url = format!("modbus://{}/1", env("KILOWATCH_TEST_MODBUS"));
    let (address, _) = Address::parse(&url).unwrap();
    let (profiles, _) = ProfileSet::load(&[]);
    let device = Device::new("wrong-profile", "t", "kilowatch-sim-crac", address.clone());
    let plan = Plan::compile(&device, profiles.get("kilowatch-sim-crac").unwrap());
    let err = Driver::new(&address, None, Duration::from_secs(3))
        .read(&plan.kind)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("read holding registers 0..") && msg.contains("illegal data address"),
        "{msg}"
    );
}

#[tokio::test]
async fn small_request_sizes_read_the_same_values_in_more_requests() {
    // An agent that chokes on big requests gets one varbind per GET and one row per GETBULK.
    let url = format!("snmp://{}", env("KILOWATCH_TEST_SNMPSIM"));
    let (address, _) = Address::parse(&url).unwrap();
    let (profiles, _) = ProfileSet::load(&[]);
    let device = Device::new("pdu", "t", "eaton-epdu", address.clone());
    let plan = Plan::compile(&device, profiles.get("eaton-epdu").unwrap());
    let mut values = Vec::new();
    for limits in [
        kilowatch_core::config::SnmpLimits::default(),
        kilowatch_core::config::SnmpLimits {
            max_repetitions: 1,
            max_varbinds: 1,
        },
    ] {
        let mut driver = Driver::snmp_v2c(
            &address,
            Secret::new("eaton-epdu-ma-ema114"),
            Duration::from_secs(3),
        );
        if let Driver::Snmp(d) = &mut driver {
            d.set_limits(limits);
        }
        let readings = driver.read(&plan.kind).await.unwrap();
        let (mut samples, mut problems) = (Vec::new(), Vec::new());
        decode(
            &plan,
            &readings,
            &mut RowSeries::default(),
            &mut samples,
            &mut problems,
        );
        let mut v: Vec<(String, f64)> = samples
            .iter()
            .map(|s| (format!("{}{}", s.series.key(), s.field), s.value))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        values.push(v);
    }
    assert!(values[0].len() > 40, "{}", values[0].len());
    assert_eq!(values[0], values[1]);
}

#[tokio::test]
async fn reads_a_meter_through_an_rtu_over_tcp_gateway() {
    // The same Eastron map, framed as RTU (with CRC) over TCP, as serial gateways send it.
    let rtu = format!("modbus+rtu://{}/1", env("KILOWATCH_TEST_MODBUS_RTU"));
    let tcp = format!("modbus://{}/1", env("KILOWATCH_TEST_MODBUS"));
    let (via_rtu, problems) = read_once(&rtu, None, "eastron-sdm630").await;
    assert!(problems.is_empty(), "{problems:?}");
    let (via_tcp, _) = read_once(&tcp, None, "eastron-sdm630").await;
    assert_eq!(find(&via_rtu, Field::VoltageV, Some("l1")), Some(230.5));
    assert_eq!(find(&via_rtu, Field::ActivePowerW, None), Some(27545.5));
    assert_eq!(via_rtu.len(), via_tcp.len());
}

#[tokio::test]
async fn memory_and_cpu_ratios_from_a_recorded_linux_host() {
    // Raw values from the recording (linux-netsnmp-powermon.snmprec), combined by hand:
    // hrStorageUsed.1 / hrStorageSize.1 = 27274104 / 49225180; ssCpuIdle.0 = 48.
    let url = format!("snmp://{}", env("KILOWATCH_TEST_SNMPSIM"));
    let (host, problems) = read_once(&url, Some("linux-netsnmp-powermon"), "netsnmp-host").await;
    assert!(problems.is_empty(), "{problems:?}");
    let mem = find(&host, Field::MemUtilPct, None).expect("mem_util_pct");
    assert!(
        (mem - 27_274_104.0 / 49_225_180.0 * 100.0).abs() < 1e-9,
        "{mem}"
    );
    let (ucd, _) = read_once(&url, Some("linux-netsnmp-powermon"), "ucd-snmp").await;
    assert_eq!(find(&ucd, Field::CpuUtilPct, None), Some(52.0));
}

// ---- pymodbus: the meters beyond electricity (issue 22), from tests/data/modbus ----

/// Each map in tests/data/modbus is served by pymodbus on its own unit id; each profile reads
/// it into the physical values the vendor's document gives for the fixture's raw words.
#[tokio::test]
async fn reads_the_water_heat_and_pv_maps_served_by_pymodbus() {
    type Want<'a> = &'a [(Field, Option<&'a str>, f64)];
    let cases: [(&str, u8, Want); 3] = [
        (
            "sunspec-inverter-103",
            8,
            &[
                (Field::ActivePowerW, None, 4210.0),
                (Field::EnergyKwh, None, 12345.6),
                (Field::VoltageV, Some("l1"), 230.4),
                (Field::VoltageV, Some("l3"), 229.8),
                (Field::CurrentA, Some("l2"), 6.07),
                (Field::FrequencyHz, None, 50.01),
            ],
        ),
        (
            "aquametro-calec-st",
            9,
            &[
                (Field::HeatEnergyKwh, None, 152340.5),
                (Field::HeatPowerW, None, 48000.0),
                (Field::FlowM3h, None, 8.25),
                (Field::SupplyTempC, None, 12.5),
                (Field::ReturnTempC, None, 17.5),
            ],
        ),
        (
            "siemens-sitrans-mag6000",
            10,
            &[
                (Field::WaterM3, None, 18234.5625),
                (Field::WaterFlowM3h, None, 1.7578125),
            ],
        ),
    ];
    for (profile, unit, want) in cases {
        let url = format!("modbus://{}/{unit}", env("KILOWATCH_TEST_MODBUS"));
        let (samples, problems) = read_once(&url, None, profile).await;
        assert!(problems.is_empty(), "{profile}: {problems:?}");
        for (field, point, value) in want {
            let got = find(&samples, *field, *point)
                .unwrap_or_else(|| panic!("{profile}: no {field} {point:?}"));
            assert!(
                (got - value).abs() <= value.abs() * 1e-9,
                "{profile} {field} {point:?}: {got}, the map says {value}"
            );
        }
    }
}
