//! Issue 18: every CSV `report` writes (and the JSON beside it) carries names from the inventory
//! exactly, even a site and a device named with a comma, a quote and a newline: each output is
//! read back with the `csv` crate's reader (or serde_json) and the names compared field for field.

use std::path::PathBuf;
use std::process::Command;

/// A site id and a device id holding a comma, a quote and a newline.
const SITE: &str = "Site \"A\", north\nwing";
const UPS: &str = "ups \"1\", out\nput";

/// The same names written with TOML escapes: a site with one budgeted rack, a facility meter, a
/// UPS output meter (IT category 1) and one server (its community is needed to load the
/// inventory, never used).
const INVENTORY: &str = r#"
[auths.ro]
version = "v2c"
community = "env:KW_TEST_COMMUNITY"

[[sites]]
id = "Site \"A\", north\nwing"
timezone = "UTC"
tariff_hkd_per_kwh = 1.5

[[sites.rooms]]
id = "hall"

[[sites.rooms.racks]]
id = "r01"
power_budget_w = 5000.0

[[devices]]
id = "main"
site = "Site \"A\", north\nwing"
profile = "eastron-sdm630"
address = "modbus://127.0.0.1:1/1"
role = "facility"

[[devices]]
id = "ups \"1\", out\nput"
site = "Site \"A\", north\nwing"
profile = "apc-smart-ups-modbus"
address = "modbus://127.0.0.1:1/2"
role = "it"
category = 1

[[devices]]
id = "srv"
site = "Site \"A\", north\nwing"
room = "hall"
rack = "r01"
profile = "server-hostres-idrac"
address = "snmp://127.0.0.1:1"
auth = "ro"
"#;

const FROM: &str = "2026-01-01T00:00:00Z";
const TO: &str = "2026-01-03T00:00:00Z";

struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

impl Site {
    /// The inventory, and two days of 10-minute readings imported through `kilowatch import`:
    /// energy registers of 100 kW facility and 60 kW IT (the UPS register restarts from zero
    /// half way, a reset the report lists as an event), and an idle 150 W server.
    fn imported() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("site.toml");
        std::fs::write(&config, INVENTORY).unwrap();
        let data = dir.path().join("data");
        let start = kilowatch_core::timefmt::parse_rfc3339(FROM).unwrap();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["time", "device", "field", "value"])
            .unwrap();
        let (mut main, mut ups) = (500_000.0f64, 300_000.0f64);
        for step in 0..=288i64 {
            if step == 144 {
                ups = 0.0;
            }
            let t = kilowatch_core::timefmt::format_rfc3339(start + step * 600_000);
            for (device, field, value) in [
                ("main", "energy_kwh", main),
                (UPS, "energy_kwh", ups),
                ("srv", "cpu_util_pct", 1.0),
                ("srv", "power_w", 150.0),
            ] {
                w.write_record([t.as_str(), device, field, &value.to_string()])
                    .unwrap();
            }
            main += 100.0 / 6.0;
            ups += 60.0 / 6.0;
        }
        let file = dir.path().join("readings.csv");
        std::fs::write(&file, w.into_inner().unwrap()).unwrap();
        let site = Site { dir, config, data };
        let out = site.kilowatch(&["import", "--csv", file.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&out).contains("imported 1156 readings"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        site
    }

    /// `kilowatch ARGS --config CONFIG --data DATA`, which must succeed; its stdout.
    fn kilowatch(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--data")
            .arg(&self.data)
            .env("KW_TEST_COMMUNITY", "never-used")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `kilowatch report WHICH --format FORMAT` over the two days, with any `extra` arguments.
    fn report(&self, which: &str, format: &str, extra: &[&str]) -> Vec<u8> {
        let mut args = vec![
            "report", which, "--format", format, "--from", FROM, "--to", TO,
        ];
        args.extend(extra);
        self.kilowatch(&args)
    }
}

/// The rows of a CSV text under its header, read by the `csv` crate: (header, rows).
fn read_csv(text: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text);
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|row| row.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Every value of column `name`; the column must exist and there must be at least one row.
fn column(text: &[u8], name: &str) -> Vec<String> {
    let (header, rows) = read_csv(text);
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column '{name}' in {header:?}"));
    assert!(
        !rows.is_empty(),
        "no rows in:\n{}",
        String::from_utf8_lossy(text)
    );
    rows.into_iter()
        .map(|mut row| {
            assert_eq!(row.len(), header.len(), "{row:?} under {header:?}");
            row.swap_remove(i)
        })
        .collect()
}

#[test]
fn issue_18_every_report_csv_round_trips_a_comma_a_quote_and_a_newline() {
    let site = Site::imported();

    // report pue: one row per site and category, and every meter event in FILE-events.csv.
    let out = site.dir.path().join("pue.csv");
    site.report("pue", "csv", &["--out", out.to_str().unwrap()]);
    let text = std::fs::read(&out).unwrap();
    assert_eq!(column(&text, "site"), [SITE]);
    assert_eq!(column(&text, "category"), ["1"]);
    let events = std::fs::read(site.dir.path().join("pue-events.csv")).unwrap();
    assert!(
        column(&events, "site").iter().all(|s| s == SITE),
        "{}",
        String::from_utf8_lossy(&events)
    );
    let devices = column(&events, "device");
    assert!(
        devices.iter().any(|d| d == UPS),
        "the UPS register's reset is listed: {devices:?}"
    );
    // Printed to stdout, the same table.
    assert_eq!(std::fs::read(&out).unwrap(), site.report("pue", "csv", &[]));

    // report capacity: one row per rack.
    let text = site.report("capacity", "csv", &[]);
    assert_eq!(column(&text, "site"), [SITE]);
    assert_eq!(column(&text, "rack"), ["r01"]);
    assert_eq!(column(&text, "budget_w"), ["5000.0"]);

    // report consolidation: one row per site with servers.
    let text = site.report("consolidation", "csv", &[]);
    assert_eq!(column(&text, "site"), [SITE]);
    assert_eq!(column(&text, "idle_servers"), ["1"]);

    // The JSON of each report, and of `pue --json`, names the site the same.
    let json = |bytes: Vec<u8>| -> serde_json::Value { serde_json::from_slice(&bytes).unwrap() };
    for which in ["pue", "capacity", "consolidation"] {
        let r = json(site.report(which, "json", &[]));
        let site_of = match which {
            "capacity" => &r["racks"][0]["site"],
            _ => &r["sites"][0]["site"],
        };
        assert_eq!(site_of, SITE, "{which}: {r}");
    }
    let r = json(site.kilowatch(&["pue", "--json", "--from", FROM, "--to", TO]));
    assert_eq!(r[0]["site"], SITE, "{r}");
}
