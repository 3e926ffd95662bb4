//! Issue 22: a simulated site with water, heat and PV meters (real vendor register maps over
//! Modbus) through a simulated year, read by `kilowatch report annual --year 2025`: WUE, ERF and
//! REF equal the simulator's own integrals within 0.5 %, every field of the EU data set is there
//! in the regulation's order with its source, and entered inputs are marked in every output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kilowatch_sim::physics::Model;

use crate::common::process::{self, BIN};

/// A year in about 79 real seconds; a poll every 25 ms of real time is every 2.8 simulated hours.
const SPEED: f64 = 400_000.0;
const INTERVAL: &str = "25ms";
/// 2025-01-01T00:00 and 2026-01-01T00:00 in Hong Kong (UTC+8).
const YEAR_FROM: i64 = 1_735_660_800_000;
const YEAR_TO: i64 = 1_767_196_800_000;
/// Guarantees of origin bought for the year, entered in the inventory.
const GOO_KWH: f64 = 1_000.0;

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

fn report(inv: &Path, data: &Path, format: &str, lang: &str) -> Vec<u8> {
    let out = Command::new(BIN)
        .args([
            "report", "annual", "--year", "2025", "--format", format, "--lang", lang,
        ])
        .args(["--max-gap", "1d", "--config"])
        .arg(inv)
        .arg("--data")
        .arg(data)
        .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn field<'a>(site: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    site["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no field {id}"))
}

fn indicator<'a>(site: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    site["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no indicator {id}"))
}

fn close(what: &str, got: f64, want: f64) {
    // Printed for the record (`--no-capture`): BENCHMARKS-style figures for the closing notes.
    eprintln!(
        "{what}: {got} vs {want} ({:+.4} %)",
        (got / want - 1.0) * 100.0
    );
    assert!(
        (got / want - 1.0).abs() < 0.005,
        "{what}: report {got}, simulator {want} ({:+.3} %)",
        (got / want - 1.0) * 100.0
    );
}

#[test]
fn a_simulated_year_gives_wue_erf_and_ref_equal_to_the_simulators_integrals() {
    let dir = tempfile::tempdir().unwrap();
    let sim_config = dir.path().join("sim.toml");
    std::fs::write(
        &sim_config,
        "racks = 1\nservers_per_rack = 2\nsite_meters = true\n",
    )
    .unwrap();
    let inv = dir.path().join("kw.toml");
    // Both processes read one clock: at the real instant `epoch`, simulated time is an hour
    // before the year starts.
    let epoch = jiff::Timestamp::now().as_millisecond() + 3_000;
    let clock = [
        "--speed",
        &SPEED.to_string(),
        "--speed-epoch",
        &rfc3339(epoch),
        "--sim-start",
        &rfc3339(YEAR_FROM - 3_600_000),
    ]
    .map(str::to_owned);
    let mut sim_args = vec!["sim".to_owned(), "--config".into()];
    sim_args.push(sim_config.to_str().unwrap().into());
    sim_args.extend(clock.iter().cloned());
    let sim_args: Vec<&str> = sim_args.iter().map(String::as_str).collect();
    let (_sim, text) = process::sim(&sim_args, &inv, INTERVAL);
    assert!(text.contains("siemens-sitrans-mag6000") && text.contains("sunspec-inverter-103"));
    std::fs::write(
        &inv,
        format!(
            "{text}\n[[sites.years]]\nyear = 2025\nrenewable_energy_goo = {GOO_KWH}\ntotal_floor_area = 420\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut collect = Command::new(BIN)
        .args(["collect", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .args(&clock)
        .env("KILOWATCH_SIM_COMMUNITY", "kilowatch-sim")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the simulated year is over, with an hour to spare.
    let end_real = epoch + ((YEAR_TO + 3_600_000 - (YEAR_FROM - 3_600_000)) as f64 / SPEED) as i64;
    let t0 = Instant::now();
    while jiff::Timestamp::now().as_millisecond() < end_real + 500 {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "the year never ended"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    process::kill(collect.id(), "TERM");
    let _ = collect.wait();

    let json: serde_json::Value =
        serde_json::from_slice(&report(&inv, &data, "json", "en")).unwrap();
    let site = &json["sites"][0];
    let truth = Model::new(1, 2).energy(YEAR_FROM, YEAR_TO);
    let num = |id: &str| {
        field(site, id)["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{id}: {}", field(site, id)))
    };
    // The inputs, measured over Modbus from the vendor maps and integrated from counters.
    close("E_DC", num("total_energy_consumption"), truth.facility_kwh);
    close(
        "E_IT (UPS output)",
        num("it_energy_consumption"),
        truth.ups_out_kwh,
    );
    let water = truth.potable_m3 + truth.recycled_m3;
    close("water input", num("total_water_input"), water);
    close(
        "potable water",
        num("potable_water_input"),
        truth.potable_m3,
    );
    close("heat reused", num("waste_heat_reused"), truth.reuse_kwh);
    close("on-site PV", num("renewable_energy_onsite"), truth.pv_kwh);
    // The indicators (Annex III), each against the simulator's own integrals.
    close(
        "WUE (m3/MWh)",
        num("wue"),
        water / (truth.ups_out_kwh / 1000.0),
    );
    close("ERF", num("erf"), truth.reuse_kwh / truth.facility_kwh);
    close(
        "REF",
        num("ref"),
        (truth.pv_kwh + GOO_KWH) / truth.facility_kwh,
    );
    // Sources: measured from meters, entered from the inventory, and REF says it used both.
    for id in [
        "total_energy_consumption",
        "total_water_input",
        "waste_heat_reused",
    ] {
        assert_eq!(field(site, id)["source"], "measured", "{id}");
    }
    assert_eq!(field(site, "renewable_energy_goo")["source"], "entered");
    assert_eq!(field(site, "total_floor_area")["value"], 420.0);
    let ref_inputs = field(site, "ref")["inputs"].to_string();
    assert!(
        ref_inputs.contains("entered") && ref_inputs.contains("measured"),
        "{ref_inputs}"
    );
    // A field nothing supplies is missing, with why, never a number.
    let lau = field(site, "location_lau_code");
    assert_eq!(lau["source"], "missing");
    assert!(lau["value"].is_null());
    assert!(lau["note"].as_str().unwrap().contains("[[sites.years]]"));
    // ITEUsv from the servers' CPU, and the freshwater WUE the 2026 classes use.
    let ind = |id: &str| indicator(site, id);
    let iteusv = ind("iteusv")["value"].as_f64().unwrap();
    assert!((5.0..60.0).contains(&iteusv), "ITEUsv {iteusv} %");
    close(
        "freshwater WUE (L/kWh)",
        ind("wue_fresh")["value"].as_f64().unwrap(),
        truth.potable_m3 * 1000.0 / truth.ups_out_kwh,
    );
    assert_eq!(
        site["monthly_cpu_pct"].as_array().unwrap().len(),
        12,
        "ITEUsv's monthly series"
    );

    // The same figures in the CSV, in the regulation's order, and the zh-HK document.
    let csv = String::from_utf8(report(&inv, &data, "csv", "en")).unwrap();
    let ids: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(4))
        .collect();
    let want = regulation_ids();
    assert_eq!(&ids[..want.len()], &want[..]);
    let md = String::from_utf8(report(&inv, &data, "md", "zh-HK")).unwrap();
    assert!(
        md.contains("可再生能源系數"),
        "{}",
        &md[..md.len().min(600)]
    );
}

/// The regulation's field ids, read from the data file independently of kilowatch's parser.
fn regulation_ids() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/regulation/eu-2024-1364.toml");
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The field list is the regulation's: Article 3(1)'s reporting period, Annex I points 1(a)-(e)
/// and 2(a)-(b) (13 values), Annex II points 1(a)-(r), 2(a)-(b) and 3(a)-(d) (29), and Annex
/// III's four indicators, in that order; `report annual --format json` lists each one for a
/// site with no data at all, as missing (or entered), with nothing invented.
#[test]
fn the_annual_json_lists_every_field_of_the_regulation_with_its_source() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/regulation/eu-2024-1364.toml");
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let fields = doc["fields"].as_array().unwrap();
    let count = |annex: &str| {
        fields
            .iter()
            .filter(|f| f["annex"].as_str() == Some(annex))
            .count()
    };
    assert_eq!(
        (count("Art. 3"), count("I"), count("II"), count("III")),
        (1, 13, 29, 4)
    );
    let refs: Vec<&str> = fields
        .iter()
        .filter(|f| f["annex"].as_str() == Some("II"))
        .filter_map(|f| f.get("ref").and_then(|r| r.as_str()))
        .collect();
    for r in ["1(a)", "1(h)", "1(r)", "2(a)", "2(b)", "3(a)", "3(d)"] {
        assert!(refs.contains(&r), "Annex II point {r} missing: {refs:?}");
    }
    assert!(
        doc["regulation"]["eli"]
            .as_str()
            .unwrap()
            .contains("2024/1364")
    );

    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("kw.toml");
    let m = process::METERED_SITE;
    let (site, devices) = m.split_at(m.find("[[devices]]").unwrap());
    std::fs::write(
        &inv,
        format!(
            "{site}utility = \"CLP\"\n\n[[sites.years]]\nyear = 2025\ndata_centre_name = \"DC 1\"\ntotal_floor_area = 300\n\n{devices}"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&report(&inv, &data, "json", "en")).unwrap();
    let got: Vec<(String, String)> = json["sites"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ids: Vec<&str> = got.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, regulation_ids());
    for (id, source) in &got {
        let want = match id.as_str() {
            "data_centre_name" | "total_floor_area" => "entered",
            "reporting_period" => "calculated",
            _ => "missing",
        };
        assert_eq!(source, want, "{id}");
    }
    // No readings: no energy, so no PUE, and it says so instead of a zero.
    let pue = &json["sites"][0]["fields"][ids.iter().position(|i| *i == "pue").unwrap()];
    assert!(pue["value"].is_null(), "{pue}");
    assert!(pue["note"].as_str().unwrap().contains("missing"), "{pue}");
}

/// Generator fuel from a tank-level sensor's history (imported as a BMS export would give it):
/// hourly levels with a sensor ripple, a 20 L test run every month and a refill in June. The
/// year's fuel is the falls between refills (240 L), not the ripple; CUE adds it at 2.68 kg/L
/// to the grid electricity at CLP's factor (2020's, the latest in the table, so provisional).
/// A heat meter on the chilled-water loop and the chiller's meter give CER.
#[test]
fn generator_fuel_comes_from_tank_levels_and_enters_cue_and_a_heat_meter_gives_cer() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("kw.toml");
    let m = process::METERED_SITE;
    let (site, devices) = m.split_at(m.find("[[devices]]").unwrap());
    std::fs::write(
        &inv,
        format!(
            "{site}utility = \"CLP\"\n\n{devices}\n[[devices]]\nid = \"genset-tank\"\nsite = \"hk1\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/9\"\nrole = \"generator\"\n\n[[devices]]\nid = \"chw-heat\"\nsite = \"hk1\"\nprofile = \"aquametro-calec-st\"\naddress = \"modbus://127.0.0.1:1/10\"\nrole = \"heat_removed\"\n\n[[devices]]\nid = \"chiller\"\nsite = \"hk1\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/11\"\nrole = \"cooling\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut csv = String::from("time,device,field,value\n");
    let start = YEAR_FROM - 86_400_000;
    let mut level = 800.0;
    for h in 0..(367 * 24) {
        let t = start + h * 3_600_000;
        let stamp = rfc3339(t);
        if h % 24 == 0 {
            let day = (h / 24) as f64;
            csv.push_str(&format!(
                "{stamp},main,energy_kwh,{}\n",
                5000.0 + 100.0 * day
            ));
            csv.push_str(&format!("{stamp},ups,energy_kwh,{}\n", 2000.0 + 60.0 * day));
            // The chilled-water loop's heat meter and the chiller's electricity: CER 150/40.
            csv.push_str(&format!(
                "{stamp},chw-heat,heat_energy_kwh,{}\n",
                90_000.0 + 150.0 * day
            ));
            csv.push_str(&format!(
                "{stamp},chiller,energy_kwh,{}\n",
                3000.0 + 40.0 * day
            ));
        }
        let local = jiff::Timestamp::from_millisecond(t)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
        if local.year() == 2025 && local.day() == 5 && local.hour() == 11 {
            level -= 20.0; // the monthly test run
        }
        if local.year() == 2025 && local.month() == 6 && local.day() == 15 && local.hour() == 9 {
            level = 800.0; // the refill
        }
        let ripple = 0.6 * (h as f64 * 1.7).sin();
        csv.push_str(&format!(
            "{stamp},genset-tank,fuel_level_l,{:.2}\n",
            level + ripple
        ));
    }
    let file = dir.path().join("history.csv");
    std::fs::write(&file, csv).unwrap();
    let out = Command::new(BIN)
        .args(["import", "--config"])
        .arg(&inv)
        .arg("--data")
        .arg(&data)
        .arg("--csv")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&report(&inv, &data, "json", "en")).unwrap();
    let site = &json["sites"][0];
    let ind = |id: &str| indicator(site, id);
    let fuel = ind("generator_fuel_l");
    assert_eq!(fuel["source"], "calculated");
    assert_eq!(fuel["inputs"][0], "measured");
    let litres = fuel["value"].as_f64().unwrap();
    assert!(
        (litres - 240.0).abs() < 2.0,
        "fuel {litres} L, the tank burnt 240 L"
    );
    // 36,500 kWh at 0.37 kg/kWh plus 240 L at 2.68 kg/L, over 21,900 kWh of IT energy.
    let cue = ind("cue");
    let want = (36_500.0 * 0.37 + 240.0 * 2.68) / 21_900.0;
    close("CUE", cue["value"].as_f64().unwrap(), want);
    // CER: heat the cooling removed (its heat meter) over the cooling plant's energy.
    close("CER", ind("cer")["value"].as_f64().unwrap(), 150.0 / 40.0);
    let note = cue["note"].as_str().unwrap();
    assert!(
        note.contains("CLP 2020") && note.contains("provisional"),
        "{note}"
    );
}
