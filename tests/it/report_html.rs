//! Issue 5: `report pue --format html` opens in headless Chromium without errors, and the
//! rendered page has the charts with their series.
#![cfg(feature = "peers")]

use std::process::Command;

#[test]
fn the_html_report_renders_in_headless_chromium_with_its_charts() {
    let chromium = std::env::var("KILOWATCH_TEST_CHROMIUM")
        .expect("KILOWATCH_TEST_CHROMIUM is not set: run scripts/test");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // A short accelerated demo (4 simulated hours a second) gives about a day to report on.
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args([
            "demo",
            "--headless",
            "--duration",
            "8s",
            "--speed",
            "14400",
            "--interval",
            "500ms",
            "--data",
            data,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let to = kilowatch_core::timefmt::format_rfc3339(last["ts"].as_i64().unwrap());
    let html = dir.path().join("report.html");
    let config = dir.path().join("demo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        // Polls are 2 simulated hours apart: let integration bridge them.
        .args([
            "report",
            "pue",
            "--from",
            "36h",
            "--to",
            &to,
            "--max-gap",
            "3h",
            "--format",
            "html",
            "--config",
        ])
        .arg(&config)
        .args(["--out", html.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let page = Command::new(chromium)
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
        "chromium failed: {}",
        String::from_utf8_lossy(&page.stderr)
    );
    let dom = String::from_utf8_lossy(&page.stdout);
    let log = String::from_utf8_lossy(&page.stderr);
    assert!(
        !log.contains("Uncaught") && !log.contains("CONSOLE("),
        "page errors:\n{log}"
    );
    // One trend chart per measured category (PUE1 and PUE3 on the simulated site), each drawn.
    assert!(
        dom.matches("<svg").count() >= 2,
        "charts missing:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(dom.contains("Daily PUE (PUE1") && dom.contains("Daily PUE (PUE3"));
    // The PUE series is the dark line of the palette (axes and grid are black and grey).
    assert!(
        dom.matches("stroke=\"#1F3B73\"").count() >= 2,
        "no PUE series drawn"
    );
}
