//! `--format pdf`: an HTML report printed by headless Chromium (its print CSS sets A4 pages,
//! breaks and headers; the font stack names CJK fonts, which must be installed for zh-HK).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Chromium as `KILOWATCH_CHROMIUM` names it, else the first of the usual names on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KILOWATCH_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
        "headless_shell",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

/// Prints `html` to PDF bytes.
pub fn print(html: &str) -> anyhow::Result<Vec<u8>> {
    let Some(browser) = chromium() else {
        bail!(
            "--format pdf needs headless Chromium, which is not installed here (install the \
             'chromium' package, or set KILOWATCH_CHROMIUM to its path); --format html gives the \
             same document to print from any browser"
        );
    };
    let dir = tempfile::tempdir().context("temporary directory for the PDF")?;
    let page = dir.path().join("report.html");
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&page, html).context("write the report for printing")?;
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(file_url(&page))
        .output()
        .with_context(|| format!("run '{}'", browser.display()))?;
    match std::fs::read(&pdf) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => bail!(
            "'{}' printed no PDF (exit {}): {}",
            browser.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("no message")
        ),
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}
