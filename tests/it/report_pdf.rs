//! Issue 22: the PUE and consolidation reports as zh-HK PDFs through headless Chromium: they
//! render to PNG (pdftoppm), their text is the Chinese of the catalogue (pdftotext), and a CJK
//! font is embedded (pdffonts), so no glyph is a tofu box. Without Chromium, `--format pdf`
//! says what is missing.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kilowatch");

#[test]
fn without_chromium_a_pdf_is_refused_with_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("kw.toml");
    std::fs::write(&inv, crate::common::process::METERED_SITE).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let out = Command::new(BIN)
        .args([
            "report", "pue", "--format", "pdf", "--from", "1d", "--config",
        ])
        .arg(&inv)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("PATH", dir.path())
        .env_remove("KILOWATCH_CHROMIUM")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs headless Chromium") && err.contains("--format html"),
        "{err}"
    );
}

#[cfg(feature = "peers")]
mod with_chromium {
    use super::*;
    use std::path::Path;

    fn run(args: &[&str], chromium: &str) -> std::process::Output {
        let out = Command::new(BIN)
            .args(args)
            .env("KILOWATCH_CHROMIUM", chromium)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn tool(name: &str, args: &[&str], file: &Path) -> String {
        let out = Command::new(name).args(args).arg(file).output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Checks one PDF as a reader would: it rasterises, its text has `chinese`, and a CJK
    /// font is embedded in it.
    fn check(pdf: &Path, chinese: &str) {
        let bytes = std::fs::read(pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF"), "{} is not a PDF", pdf.display());
        let png = pdf.with_extension("");
        let out = Command::new("pdftoppm")
            .args(["-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile"])
            .arg(pdf)
            .arg(&png)
            .output()
            .unwrap();
        assert!(out.status.success());
        let page = std::fs::read(png.with_extension("png")).unwrap();
        assert!(
            page.starts_with(b"\x89PNG") && page.len() > 2_000,
            "empty page"
        );
        let txt = pdf.with_extension("txt");
        let out = Command::new("pdftotext")
            .arg(pdf)
            .arg(&txt)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = std::fs::read_to_string(&txt)
            .unwrap()
            .replace(['\n', ' '], "");
        assert!(
            text.contains(chinese),
            "{} lacks '{chinese}':\n{}",
            pdf.display(),
            &text.chars().take(400).collect::<String>()
        );
        let fonts = tool("pdffonts", &[], pdf);
        let cjk = fonts.lines().skip(2).any(|l| {
            // Columns from the right: object id, generation, uni, sub, emb.
            let embedded = l.split_whitespace().rev().nth(4) == Some("yes");
            let name = l.to_ascii_lowercase();
            embedded
                && ["wenquanyi", "wqy", "cjk", "hei", "ming", "han", "droid"]
                    .iter()
                    .any(|n| name.contains(n))
        });
        assert!(cjk, "no CJK font embedded in {}:\n{fonts}", pdf.display());
    }

    #[test]
    fn zh_hk_pdfs_of_the_pue_and_consolidation_reports_carry_a_cjk_font() {
        let chromium = std::env::var("KILOWATCH_TEST_CHROMIUM")
            .expect("KILOWATCH_TEST_CHROMIUM is not set: run scripts/test");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let out = run(
            &[
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
            ],
            &chromium,
        );
        let last: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap())
                .unwrap();
        let to = kilowatch_core::timefmt::format_rfc3339(last["ts"].as_i64().unwrap());
        let config = dir.path().join("demo.toml");
        let config = config.to_str().unwrap();
        let pue = dir.path().join("pue.pdf");
        let plan = dir.path().join("consolidation.pdf");
        let common = [
            "--from",
            "36h",
            "--to",
            &to,
            "--max-gap",
            "3h",
            "--format",
            "pdf",
            "--lang",
            "zh-HK",
            "--config",
            config,
        ];
        let mut args = vec!["report", "pue"];
        args.extend(common);
        args.extend(["--out", pue.to_str().unwrap()]);
        run(&args, &chromium);
        let mut args = vec!["report", "consolidation"];
        args.extend(common);
        args.extend(["--out", plan.to_str().unwrap()]);
        run(&args, &chromium);
        check(&pue, "電源使用效率");
        check(&plan, "整合");
    }
}
