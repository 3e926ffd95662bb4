//! Issue 5: importing a year of hourly BMS meter readings gives the annual PUE a hand
//! calculation gives; bad rows are named by line and nothing is half-imported.

use std::fmt::Write;
use std::process::Command;

use crate::common;

use common::process::METERED_SITE as CONFIG;

fn kilowatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_year_of_hourly_meter_readings_gives_the_hand_calculated_annual_pue() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), CONFIG).unwrap();
    // 2025 in Hong Kong time: 8760 hourly steps of two kWh registers with known increments.
    let start = 1_735_660_800_000i64; // 2025-01-01T00:00:00+08:00
    let (mut main, mut ups) = (120_000.0f64, 80_000.0f64);
    let (mut e_dc, mut e_it) = (0.0f64, 0.0f64);
    let mut csv = String::from("time,device,field,value\n");
    for h in 0..=8760i64 {
        let t = kilowatch_core::timefmt::format_rfc3339(start + h * 3_600_000);
        writeln!(csv, "{t},main,energy_kwh,{main}").unwrap();
        writeln!(csv, "{t},ups,energy_kwh,{ups}").unwrap();
        // Cooling follows the seasons and the day; IT follows the working week.
        let day = (h / 24) as f64;
        let d_it = 100.0 + 5.0 * ((h / 24) % 7) as f64 + 0.125 * (h % 24) as f64;
        let d_dc = d_it + 40.0 + 15.0 * (std::f64::consts::TAU * day / 365.0).sin().abs() + 0.5;
        if h < 8760 {
            main += d_dc;
            ups += d_it;
            e_dc += d_dc;
            e_it += d_it;
        }
    }
    let file = dir.path().join("year.csv");
    std::fs::write(&file, csv).unwrap();
    let cfg = dir.path().join("site.toml");
    let (cfg, data, file) = (
        cfg.to_str().unwrap(),
        dir.path().to_str().unwrap(),
        file.to_str().unwrap(),
    );
    let out = kilowatch(&["import", "--config", cfg, "--data", data, "--csv", file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 17522 readings"));

    let out = kilowatch(&[
        "pue",
        "--config",
        cfg,
        "--data",
        data,
        "--from",
        "2024-12-31T16:00:00Z",
        "--to",
        "2025-12-31T16:00:00Z",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p1 = &report[0]["pue"]["1"];
    assert_eq!(p1["label"], "PUE1, annual");
    let want = e_dc / e_it;
    let got = p1["pue"].as_f64().unwrap();
    assert!(
        ((got - want) / want).abs() < 1e-12,
        "PUE {got}, by hand {want}"
    );
    let facility = report[0]["facility"]["kwh"].as_f64().unwrap();
    assert!(
        (facility - e_dc).abs() < 1e-6 * e_dc,
        "{facility} vs {e_dc}"
    );

    // The planners' report: only UPS-output IT metering, so PUE1 and nothing else.
    let window = [
        "--from",
        "2024-12-31T16:00:00Z",
        "--to",
        "2025-12-31T16:00:00Z",
    ];
    let report_cmd = |format: &str, out: Option<&str>| {
        let mut args = vec![
            "report", "pue", "--config", cfg, "--data", data, "--format", format,
        ];
        if let Some(o) = out {
            args.extend(["--out", o]);
        }
        args.extend(window);
        kilowatch(&args)
    };
    let out = report_cmd("json", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sites = json["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "only category 1 is metered: {json}");
    let s = &sites[0];
    assert_eq!(
        (s["site"].as_str(), s["category"].as_u64()),
        (Some("hk1"), Some(1))
    );
    assert!(((s["pue"].as_f64().unwrap() - want) / want).abs() < 1e-12);
    assert!((s["it_kwh"].as_f64().unwrap() - e_it).abs() < 1e-6 * e_it);
    assert!(s["coverage"].as_f64().unwrap() > 0.999);
    let (lo, hi) = (
        s["pue_low"].as_f64().unwrap(),
        s["pue_high"].as_f64().unwrap(),
    );
    assert!(lo < want && want < hi && hi - lo < 0.2 * want, "{lo} {hi}");
    assert_eq!(s["daily"].as_array().unwrap().len(), 365);
    let months = s["monthly"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    let total: f64 = months
        .iter()
        .map(|m| m["facility_kwh"].as_f64().unwrap())
        .sum();
    assert!(
        (total - e_dc).abs() < 1e-6 * e_dc,
        "months sum to {total}, year {e_dc}"
    );

    // HTML: one file with the daily trend drawn as SVG; Markdown: the SVG beside it.
    let html = dir.path().join("report.html");
    assert!(
        report_cmd("html", Some(html.to_str().unwrap()))
            .status
            .success()
    );
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("<svg") && text.contains("Daily PUE (PUE1, annual)"),
        "no chart"
    );
    assert!(text.contains("stroke=\"#1F3B73\""), "no PUE series drawn");
    assert!(
        text.contains("Energy breakdown (PUE1, annual)")
            && text.contains("Monthly facility energy")
    );
    // A row per month in the table.
    assert_eq!(text.matches("<tr><td>2025-").count(), 12, "monthly table");
    let md = dir.path().join("report.md");
    assert!(
        report_cmd("md", Some(md.to_str().unwrap()))
            .status
            .success()
    );
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("![daily PUE](report-hk1-pue1.svg)")
    );
    assert!(
        std::fs::read_to_string(dir.path().join("report-hk1-pue1.svg"))
            .unwrap()
            .contains("<svg")
    );
}

#[test]
fn bad_rows_are_named_by_line_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), CONFIG).unwrap();
    let csv = "time,device,field,value\n\
               2025-01-01T00:00:00Z,main,energy_kwh,1\n\
               2025-01-01T01:00:00Z,nosuch,energy_kwh,2\n\
               yesterday,main,energy_kwh,3\n\
               2025-01-01T03:00:00Z,main,energy_wh,4\n\
               2025-01-01T04:00:00Z,main,energy_kwh,lots\n";
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, csv).unwrap();
    let cfg = dir.path().join("site.toml");
    let out = kilowatch(&[
        "import",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().to_str().unwrap(),
        "--csv",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = file.display();
    for expect in [
        format!("{f}:3: device 'nosuch' is not in"),
        format!("{f}:4: time: 'yesterday' is not an RFC 3339 time"),
        format!("{f}:5: field 'energy_wh' is not a canonical field"),
        format!("{f}:6: value 'lots' is not a finite number"),
        "4 bad row(s); nothing was imported".to_owned(),
    ] {
        assert!(err.contains(&expect), "missing '{expect}' in:\n{err}");
    }
    // Not even the good first row was written.
    let store = kilowatch_store::SqliteStore::open(&dir.path().join("kilowatch.db")).unwrap();
    assert_eq!(store.count_samples().unwrap(), 0);
}

#[test]
fn line_protocol_history_imports_and_bad_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), CONFIG).unwrap();
    // One hour: the boundary meter counts 150 kWh, the UPS output 100 kWh: PUE1 = 1.5.
    let lp = "# exported from a BMS\n\
              power,device=main,site=ignored energy_kwh=100.0 1735660800000000000\n\
              power,device=ups energy_kwh=10i 1735660800000000000\n\
              power,device=main energy_kwh=175,active_power_w=150000 1735662600000000000\n\
              power,device=ups energy_kwh=60 1735662600000000000\n\
              power,device=main energy_kwh=250 1735664400000000000\n\
              power,device=ups energy_kwh=110 1735664400000000000\n";
    let file = dir.path().join("h.lp");
    std::fs::write(&file, lp).unwrap();
    let (cfg, data) = (
        dir.path().join("site.toml"),
        dir.path().to_str().unwrap().to_owned(),
    );
    let cfg = cfg.to_str().unwrap();
    let out = kilowatch(&[
        "import",
        "--config",
        cfg,
        "--data",
        &data,
        "--lp",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 7 readings"));
    let out = kilowatch(&[
        "pue",
        "--config",
        cfg,
        "--data",
        &data,
        "--from",
        "2025-01-01T00:00:00+08:00",
        "--to",
        "2025-01-01T01:00:00+08:00",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The facility meter also reported power once; with a single power sample its counter decides.
    assert!(
        (report[0]["pue"]["1"]["pue"].as_f64().unwrap() - 1.5).abs() < 1e-12,
        "{report}"
    );

    let bad = dir.path().join("bad.lp");
    std::fs::write(&bad, "power,device=main energy_kwh=1 1\npower,device=nosuch energy_kwh=1 2\nups,device=main energy_kwh=1 3\npower,device=main energy_kwh=x 4\n").unwrap();
    let out = kilowatch(&[
        "import",
        "--config",
        cfg,
        "--data",
        &data,
        "--lp",
        bad.to_str().unwrap(),
        "--precision",
        "s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let b = bad.display();
    for expect in [
        format!("{b}:2: tag device 'nosuch' is not in"),
        format!("{b}:3: field 'energy_kwh' belongs to measurement 'power', not 'ups'"),
        format!("{b}:4: value 'x' of 'energy_kwh' is not a number"),
    ] {
        assert!(err.contains(&expect), "missing '{expect}' in:\n{err}");
    }
}

/// `kilowatch store` looks after the embedded store with only its data directory: imported
/// readings are in chunks (never the head), read back exactly, aggregate by day, and cost a few
/// bytes each.
#[test]
fn store_stats_export_and_compact_work_from_the_data_directory_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), CONFIG).unwrap();
    let start = 1_735_660_800_000i64; // 2025-01-01T00:00:00+08:00
    let mut csv = String::from("time,device,field,value\n");
    // A week of the main meter's register every 15 minutes (a BMS export), 13 kW steady.
    for q in 0..672i64 {
        let t = kilowatch_core::timefmt::format_rfc3339(start + q * 900_000);
        writeln!(csv, "{t},main,energy_kwh,{}", 1000.0 + q as f64 * 3.25).unwrap();
    }
    std::fs::write(dir.path().join("week.csv"), &csv).unwrap();
    let data = dir.path().join("data");
    let (cfg, data, file) = (
        dir.path().join("site.toml"),
        data.to_str().unwrap().to_owned(),
        dir.path().join("week.csv"),
    );
    let out = kilowatch(&[
        "import",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        &data,
        "--csv",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = kilowatch(&["store", "stats", "--data", &data, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["samples"], 672);
    assert_eq!(stats["head_samples"], 0, "imports go straight into chunks");
    let per = stats["chunk_bytes_per_sample"].as_f64().unwrap();
    assert!(per < 3.0, "{per} bytes a reading");

    let export = |extra: &[&str]| {
        let mut args = vec![
            "store",
            "export",
            "--data",
            &data,
            "--field",
            "energy_kwh",
            "--tag",
            "device=main",
            "--from",
            "2025-01-01T00:00:00+08:00",
            "--to",
            "2025-01-08T00:00:00+08:00",
        ];
        args.extend_from_slice(extra);
        let out = kilowatch(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let raw = export(&[]);
    let rows: Vec<&str> = raw.lines().collect();
    assert_eq!(rows[0], "series,field,ts_ms,value");
    assert_eq!(rows.len(), 673);
    assert!(
        rows[1].ends_with(&format!(",energy_kwh,{start},1000")),
        "{}",
        rows[1]
    );
    assert!(
        rows[672].ends_with(&format!(",{},3180.75", start + 671 * 900_000)),
        "{}",
        rows[672]
    );
    // Daily maxima: the last reading of each day (windows align to UTC days).
    let daily = export(&["--every", "1d", "--aggregate", "max"]);
    let maxima: Vec<f64> = daily
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    // UTC days start at 08:00 Hong Kong time: the first holds the first 32 quarter-hours.
    assert_eq!(maxima[0], 1000.0 + 31.0 * 3.25);
    assert_eq!(maxima[1], 1000.0 + 127.0 * 3.25);
    assert_eq!(maxima.len(), 8);

    let out = kilowatch(&["store", "compact", "--data", &data]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("moved 0 readings"));
    let out = kilowatch(&["store", "stats", "--data", "/nonexistent/kw"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no store at '/nonexistent/kw/kilowatch.db'")
    );
}

/// Issue 16: a BMS export written in local wall-clock time with no offset, across the autumn
/// change in Europe/London: the repeated hour is two hours, so the day has 25 and its energy
/// is 25 hours' worth; a time the spring change skips is a bad row named by line.
#[test]
fn issue_16_local_times_across_the_dst_change_import_as_the_hours_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("site.toml");
    std::fs::write(
        &cfg,
        CONFIG.replace(
            "timezone = \"Asia/Hong_Kong\"",
            "timezone = \"Europe/London\"",
        ),
    )
    .unwrap();
    // Hourly wall-clock stamps from 2025-10-25 00:00 to 2025-10-27 00:00, 01:00 twice on the
    // 26th; the facility meter counts 10 kWh and the UPS 5 kWh in every real hour.
    let mut stamps = Vec::new();
    for (day, hours) in [(25, 0..24), (26, 0..24), (27, 0..1)] {
        for h in hours {
            stamps.push(format!("2025-10-{day} {h:02}:00:00"));
            if day == 26 && h == 1 {
                stamps.push(format!("2025-10-{day} {h:02}:00:00"));
            }
        }
    }
    assert_eq!(stamps.len(), 50, "49 real hours, 50 readings");
    let mut csv = String::from("time,device,field,value\n");
    for (i, t) in stamps.iter().enumerate() {
        writeln!(csv, "{t},main,energy_kwh,{}", 1000 + 10 * i).unwrap();
        writeln!(csv, "{t},ups,energy_kwh,{}", 500 + 5 * i).unwrap();
    }
    let file = dir.path().join("bms.csv");
    std::fs::write(&file, &csv).unwrap();
    let (cfg, data, file) = (
        cfg.to_str().unwrap(),
        dir.path().to_str().unwrap(),
        file.to_str().unwrap(),
    );
    let out = kilowatch(&["import", "--config", cfg, "--data", data, "--csv", file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("imported 100 readings"), "{stdout}");
    assert!(
        !stdout.contains("duplicate"),
        "the repeated hour is two hours: {stdout}"
    );
    let out = kilowatch(&[
        "report",
        "pue",
        "--config",
        cfg,
        "--data",
        data,
        "--from",
        "2025-10-25",
        "--to",
        "2025-10-27",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &json["sites"][0];
    assert_eq!(s["facility_kwh"].as_f64(), Some(490.0), "{s}");
    assert_eq!(s["it_kwh"].as_f64(), Some(245.0));
    let days: Vec<(&str, f64)> = s["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap(),
                d["facility_kwh"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days, vec![("2025-10-25", 240.0), ("2025-10-26", 250.0)]);

    // 01:30 on 2025-03-30 never happened in London: named by line, nothing imported.
    let bad = dir.path().join("spring.csv");
    std::fs::write(
        &bad,
        "time,device,field,value\n2025-03-30 00:30:00,main,energy_kwh,1\n2025-03-30 01:30:00,main,energy_kwh,2\n",
    )
    .unwrap();
    let out = kilowatch(&[
        "import",
        "--config",
        cfg,
        "--data",
        data,
        "--csv",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("spring.csv:3: time: '2025-03-30 01:30:00' does not exist in Europe/London"),
        "{stderr}"
    );
}
