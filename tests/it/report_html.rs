//! Issues 5 and 23: the demo's HTML reports open in headless Chromium without errors, as
//! documents, with their charts.
#![cfg(feature = "peers")]

use std::process::Command;

/// Issue 23: every HTML report of the README's demo (a week of history) is a document that
/// headless Chromium renders without errors: no `<pre>`, tables, a table of contents, every
/// chart tick labelled (`report_documents::assert_document`), and the charts in the DOM.
#[test]
fn every_html_report_of_the_demo_renders_in_headless_chromium() {
    let chromium = std::env::var("KILOWATCH_TEST_CHROMIUM")
        .expect("KILOWATCH_TEST_CHROMIUM is not set: run scripts/test");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["demo", "--headless", "--duration", "2s", "--data", data])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.path().join("demo.toml");
    let year = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Hong_Kong").unwrap())
        .year()
        .to_string();
    for (which, window) in [
        ("pue", ["--from", "7d"]),
        ("capacity", ["--from", "7d"]),
        ("consolidation", ["--from", "7d"]),
        ("annual", ["--year", year.as_str()]),
    ] {
        let html = dir.path().join(format!("{which}.html"));
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(["report", which])
            .args(window)
            .args(["--format", "html", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&html)
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{which}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&html).unwrap();
        crate::report_documents::assert_document(which, &text);

        let page = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("chrome").display()
            ))
            .arg("--dump-dom")
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        assert!(
            page.status.success(),
            "{which}: chromium failed: {}",
            String::from_utf8_lossy(&page.stderr)
        );
        let dom = String::from_utf8_lossy(&page.stdout);
        let log = String::from_utf8_lossy(&page.stderr);
        assert!(
            !log.contains("Uncaught") && !log.contains("CONSOLE("),
            "{which}: page errors:\n{log}"
        );
        assert!(!dom.contains("<pre"), "{which}: <pre> in the rendered page");
        assert!(dom.contains("<table"), "{which}: no table rendered");
        if which != "annual" {
            assert!(dom.contains("<svg"), "{which}: no chart rendered");
        }
        if which == "pue" {
            // One trend per measured category (PUE1 and PUE3), the PUE line the palette's dark.
            assert!(dom.contains("Daily PUE (PUE1") && dom.contains("Daily PUE (PUE3"));
            assert!(
                dom.matches("stroke=\"#1F3B73\"").count() >= 2,
                "no PUE series drawn"
            );
        }
    }
}
