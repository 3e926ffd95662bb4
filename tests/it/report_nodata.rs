//! Issue 23: over a window with no readings (a year before the data), every report says "no
//! data" in Markdown, HTML, CSV and JSON, and no figure reads zero. Counts of what the
//! inventory or the store holds (UPS units, intake sensors read, temperature series found) are
//! counts, not measurements: JSON keeps them as numbers, and only those keys may be 0.

use std::path::Path;

use crate::report_documents::{report, rfc, site_with_days};

const DAY: i64 = 86_400_000;
/// JSON keys that hold counts, which may be 0 whatever the readings.
const COUNTS: [&str; 4] = [
    "units",
    "intakes",
    "unplaced_temperatures",
    "inlets_without_data",
];

/// A cell's text as a number, if it is one ("0", "0.0 %", "-0", "0 W").
fn number(cell: &str) -> Option<f64> {
    let first = cell.split_whitespace().next()?;
    first.trim_end_matches('%').replace('−', "-").parse().ok()
}

/// Every JSON number that is 0, with its key path, leaving out counts.
fn zeros(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Number(n) if n.as_f64() == Some(0.0) => {
            let key = path.rsplit('.').next().unwrap_or_default();
            if !COUNTS.contains(&key) {
                out.push(path.to_owned());
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                zeros(x, &format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                zeros(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// The cells of the Markdown tables' body rows.
fn md_cells(md: &str) -> Vec<String> {
    md.lines()
        .filter(|l| l.starts_with('|') && !l.contains("---"))
        .flat_map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
        })
        .collect()
}

/// The text of every `<td>` of a page.
fn html_cells(html: &str) -> Vec<String> {
    html.split("<td")
        .skip(1)
        .filter_map(|c| Some(c.split_once('>')?.1.split("</td>").next()?.to_owned()))
        .collect()
}

fn check(which: &str, format: &str, text: &str) {
    match format {
        "json" => {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let mut z = Vec::new();
            zeros(&v, "", &mut z);
            assert!(z.is_empty(), "{which} json: zero figures at {z:?}\n{text}");
            assert!(
                text.contains("null"),
                "{which} json: no null figure\n{text}"
            );
            assert!(
                text.contains("\"no data"),
                "{which} json: no reason given\n{text}"
            );
        }
        "csv" => {
            let mut rows = csv::Reader::from_reader(text.as_bytes());
            let header = rows.headers().unwrap().clone();
            let mut said = false;
            for row in rows.records() {
                let row = row.unwrap();
                for (name, cell) in header.iter().zip(row.iter()) {
                    said |= cell.contains("no data");
                    assert!(
                        number(cell) != Some(0.0) || name == "year",
                        "{which} csv: {name} reads {cell:?}\n{text}"
                    );
                }
            }
            assert!(said, "{which} csv: no 'no data'\n{text}");
        }
        _ => {
            assert!(
                text.contains("no data"),
                "{which} {format}: no 'no data'\n{text}"
            );
            let cells = if format == "md" {
                md_cells(text)
            } else {
                html_cells(text)
            };
            for c in cells {
                assert!(
                    number(&c) != Some(0.0),
                    "{which} {format}: a cell reads {c:?}\n{text}"
                );
            }
        }
    }
}

fn run_all(dir: &Path, from: &str, to: &str, year: &str) {
    for format in ["md", "html", "json", "csv"] {
        for which in ["pue", "capacity", "consolidation"] {
            let text = report(
                dir,
                which,
                &["--from", from, "--to", to, "--format", format],
            );
            check(which, format, &text);
        }
        let text = report(dir, "annual", &["--year", year, "--format", format]);
        check("annual", format, &text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodata_a_window_without_readings_says_no_data_and_never_zero() {
    let (site, start, _) = site_with_days("nodata", 2).await;
    let dir = site.dir.path().to_owned();
    // A month a year before the data, and the year before it.
    let (from, to) = (rfc(start - 400 * DAY), rfc(start - 370 * DAY));
    let year = (jiff::Timestamp::from_millisecond(start)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year()
        - 1)
    .to_string();
    tokio::task::block_in_place(|| run_all(&dir, &from, &to, &year));
}
