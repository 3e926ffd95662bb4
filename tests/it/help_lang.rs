//! Issue 22: `--help` in Traditional Chinese when `--lang zh-HK` or the locale asks for it, in
//! English otherwise; every command and the common options are translated.

use std::process::Command;

fn help(args: &[&str], lang_env: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
        .args(args)
        .env("LANG", lang_env)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_speaks_the_locale_or_lang_and_english_otherwise() {
    let zh = help(&["--help"], "zh_HK.UTF-8");
    assert!(zh.contains("用法：") && zh.contains("命令"), "{zh}");
    assert!(zh.contains("歐盟") || zh.contains("報告"), "{zh}");
    let en = help(&["--help"], "C.UTF-8");
    assert!(en.contains("Usage:") && !en.contains("用法"), "{en}");
    // --lang wins over the locale, on any subcommand.
    let annual = help(
        &["report", "annual", "--help", "--lang", "zh-HK"],
        "C.UTF-8",
    );
    for want in [
        "各場地全年的歐盟數據中心數據集",
        "設備清單檔案",
        "各場地時區的曆年",
        "顯示說明",
    ] {
        assert!(annual.contains(want), "missing '{want}':\n{annual}");
    }
    let annual_en = help(
        &["report", "annual", "--help", "--lang", "en"],
        "zh_HK.UTF-8",
    );
    assert!(
        annual_en.contains("Usage:") && annual_en.contains("--year"),
        "{annual_en}"
    );
}
