//! Issue 23: every report (pue, capacity, consolidation, annual) run through the `kilowatch`
//! binary on a store filled by a simulated site. (b) Over days with readings, the HTML is a
//! document: no `<pre>`, real tables, a table of contents whose links land, and charts whose
//! every tick is labelled, time axes in calendar dates; a one-day window draws no daily trend
//! and says why. (a) Over a window with no readings, every format says "no data" and no
//! figure reads zero.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kilowatch_sim::SimConfig;

const H: i64 = 3_600_000;

/// A simulated site polled for `real` seconds at 14 simulated hours a second (a poll every
/// 1.4 h): the site and the simulated times collection began and ended.
pub async fn site_with_days(community: &str, real: u64) -> (common::Site, i64, i64) {
    let speed = 50_400.0;
    let clock = common::daytime_clock(speed);
    let sim = SimConfig {
        speed,
        community: community.into(),
        ..SimConfig::default()
    };
    let site = common::site(sim, clock, "100ms", "1s", "").await;
    let store = common::store(site.dir.path());
    let start = clock.now_ms();
    common::collect(&site.config, clock, Duration::from_secs(real), Some(store)).await;
    let end = clock.now_ms();
    (site, start, end)
}

/// `kilowatch report WHICH ARGS --config site.toml`: its stdout, the command having succeeded.
pub fn report(dir: &Path, which: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(["report", which])
        .args(args)
        .arg("--config")
        .arg(dir.join("site.toml"))
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report {which} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn rfc(ms: i64) -> String {
    kilowatch_core::timefmt::format_rfc3339(ms)
}

/// The HTML of each report over the window `[from, to)` (the annual one of `year`).
fn html_reports(dir: &Path, from: &str, to: &str, year: &str) -> Vec<(&'static str, String)> {
    let window = [
        "--from",
        from,
        "--to",
        to,
        "--max-gap",
        "3h",
        "--format",
        "html",
    ];
    let mut out: Vec<(&'static str, String)> = ["pue", "capacity", "consolidation"]
        .into_iter()
        .map(|which| (which, report(dir, which, &window)))
        .collect();
    out.push((
        "annual",
        report(
            dir,
            "annual",
            &["--year", year, "--max-gap", "3h", "--format", "html"],
        ),
    ));
    out
}

/// Every `<svg>…</svg>` of a page.
fn svgs(html: &str) -> Vec<&str> {
    html.split("<svg")
        .skip(1)
        .map(|s| &s[..s.find("</svg>").unwrap_or(s.len())])
        .collect()
}

/// The (x, y, text) of each `<text>` of an SVG.
fn texts(svg: &str) -> Vec<(f64, f64, String)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let attr = |name: &str| -> Option<f64> {
                t.split(&format!(" {name}=\""))
                    .nth(1)?
                    .split('"')
                    .next()?
                    .parse()
                    .ok()
            };
            let body = t.split('>').nth(1)?.split('<').next()?.trim().to_owned();
            Some((attr("x")?, attr("y")?, body))
        })
        .collect()
}

/// The x of every tick mark on the x axis: the short vertical strokes hanging below the lowest
/// horizontal axis line.
fn x_ticks(svg: &str) -> Vec<f64> {
    let lines: Vec<[f64; 4]> = svg
        .split("<polyline")
        .skip(1)
        .filter_map(|p| {
            let pts = p.split("points=\"").nth(1)?.split('"').next()?;
            let v: Vec<f64> = pts
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().ok())
                .collect::<Option<_>>()?;
            (v.len() == 4).then(|| [v[0], v[1], v[2], v[3]])
        })
        .collect();
    let axis_y = lines
        .iter()
        .filter(|l| l[1] == l[3] && (l[2] - l[0]).abs() > 100.0)
        .map(|l| l[1])
        .fold(f64::MIN, f64::max);
    lines
        .iter()
        .filter(|l| l[0] == l[2] && (l[1] - axis_y).abs() <= 1.0 && (l[3] - l[1]).abs() < 10.0)
        .map(|l| l[0])
        .collect()
}

/// What a reader checks of an HTML report: a document, not preformatted text.
pub(crate) fn assert_document(which: &str, html: &str) {
    assert!(!html.contains("<pre"), "{which}: <pre> in\n{html}");
    assert!(
        html.contains("<table") && html.contains("<thead>") && html.contains("<tbody>"),
        "{which}: no table"
    );
    // A table of contents whose every link lands on an element of the page.
    let nav = &html[html
        .find("<nav")
        .unwrap_or_else(|| panic!("{which}: no contents"))..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    let links: Vec<&str> = nav
        .split("href=\"#")
        .skip(1)
        .map(|l| &l[..l.find('"').unwrap()])
        .collect();
    assert!(links.len() >= 2, "{which}: {nav}");
    for id in links {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "{which}: #{id} lands nowhere"
        );
    }
    // The window and the site's zone in the header.
    let header = &html[..html.find("</header>").unwrap_or(0)];
    assert!(header.contains("Asia/Hong_Kong"), "{which}: {header}");
    // Numeric columns are right-aligned.
    assert!(
        html.contains("text-align: right") || html.contains("class=\"num\""),
        "{which}"
    );
    for svg in svgs(html) {
        let texts = texts(svg);
        // No day counted since 1970 (20788.7) on any axis.
        assert!(
            !texts.iter().any(|(_, _, t)| {
                t.len() >= 7
                    && t.parse::<f64>()
                        .is_ok_and(|v| v > 10_000.0 && v.fract() != 0.0)
            }),
            "{which}: {texts:?}"
        );
        // Every x tick carries a label: a text at its x (rotated labels end at the tick).
        let ticks = x_ticks(svg);
        assert!(!ticks.is_empty(), "{which}: no x ticks in {svg}");
        for x in &ticks {
            assert!(
                texts
                    .iter()
                    .any(|(tx, _, t)| (tx - x).abs() <= 2.0 && !t.is_empty()),
                "{which}: tick at x {x} unlabelled: {texts:?}"
            );
        }
    }
}

/// A calendar date, `2026-03-30`.
fn is_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && t.chars().filter(char::is_ascii_digit).count() == 8
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_reports_are_documents_with_labelled_charts() {
    // About three and a half simulated days.
    let (site, start, end) = site_with_days("documents", 6).await;
    let dir = site.dir.path().to_owned();
    let year = jiff::Timestamp::from_millisecond(start)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Hong_Kong").unwrap())
        .year()
        .to_string();
    let (from, to) = (rfc(start + H), rfc(end - H));
    let reports = tokio::task::block_in_place(|| html_reports(&dir, &from, &to, &year));
    // To look at the pages by hand: KILOWATCH_TEST_KEEP=DIR.
    if let Ok(keep) = std::env::var("KILOWATCH_TEST_KEEP") {
        for (which, html) in &reports {
            std::fs::write(Path::new(&keep).join(format!("{which}.html")), html).unwrap();
        }
    }
    for (which, html) in &reports {
        assert_document(which, html);
    }
    let pue = &reports[0].1;
    // The daily trend: drawn, its axis in the site's calendar dates.
    let daily = svgs(pue)
        .into_iter()
        .find(|s| texts(s).iter().filter(|(_, _, t)| is_date(t)).count() >= 2);
    assert!(daily.is_some(), "no dated daily chart:\n{pue}");
    assert!(
        pue.contains("date (Asia/Hong_Kong)"),
        "the time axis names its zone"
    );
    // Bar charts with more than one series have a legend (capacity: budget and p95).
    let capacity = &reports[1].1;
    assert!(
        svgs(capacity)
            .iter()
            .any(|s| texts(s).iter().any(|(_, _, t)| t == "budget")),
        "{capacity}"
    );

    // One local day: no trend can be drawn, and the report says why.
    let day = jiff::Timestamp::from_millisecond(start + 24 * H)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Hong_Kong").unwrap())
        .date();
    let (d0, d1) = (day.to_string(), day.tomorrow().unwrap().to_string());
    let one = tokio::task::block_in_place(|| {
        report(
            &dir,
            "pue",
            &[
                "--from",
                &d0,
                "--to",
                &d1,
                "--max-gap",
                "3h",
                "--format",
                "html",
            ],
        )
    });
    assert!(
        one.contains("a daily trend needs at least two days with a PUE; this window has 1"),
        "{one}"
    );
    assert!(
        !svgs(&one)
            .iter()
            .any(|s| texts(s).iter().any(|(_, _, t)| is_date(t))),
        "a one-day window drew a dated chart"
    );
    assert!(!one.contains("<figcaption>Daily PUE"), "{one}");
}
