//! `kilowatch check-config` on broken files: exit 2, and every expected problem named by file,
//! line and key. Each fixture in `tests/config/invalid/` lists what it expects in
//! `# expect: LINE: KEY: PHRASE` comments, written by hand from the file itself.

use std::path::Path;
use std::process::Command;

fn kilowatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kilowatch"));
    c.env("KILOWATCH_TEST_COMMUNITY", "test-community")
        .env_remove("KILOWATCH_LOG");
    c
}

#[test]
fn every_invalid_fixture_exits_2_naming_file_line_and_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "need at least six broken configs, found {}",
        files.len()
    );
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        let expects: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expects.is_empty(),
            "{} has no '# expect:' line",
            file.display()
        );
        let out = kilowatch().arg("check-config").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
        for e in expects {
            let (line, rest) = e.split_once(": ").unwrap();
            let (key, phrase) = rest.split_once(": ").unwrap();
            let prefix = if key.is_empty() {
                format!("{}:{line}: ", file.display())
            } else {
                format!("{}:{line}: {key}: ", file.display())
            };
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with(&prefix) && l.contains(phrase)),
                "{}: expected a line starting '{prefix}' containing '{phrase}', got:\n{stderr}",
                file.display()
            );
        }
    }
}

#[test]
fn many_mistakes_are_all_listed_and_do_not_cascade() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/invalid/bad-type.toml");
    let out = kilowatch().arg("check-config").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Two real mistakes; a broken rack must not make its devices' site or room "unknown".
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}

#[test]
fn example_config_is_valid() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let out = kilowatch()
        .env("KILOWATCH_EXAMPLE_COMMUNITY", "example-community")
        .env("KILOWATCH_EXAMPLE_V3_AUTH", "example-auth-key")
        .env("KILOWATCH_EXAMPLE_V3_PRIV", "example-priv-key")
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 1 site(s)"));
}

/// The command the example's first line gives works as written, on a machine without its
/// secrets; without `--no-secrets` the missing variables are named; a secret written as a
/// literal is still a problem with the flag, since only its resolution is skipped.
#[test]
fn no_secrets_checks_everything_but_secret_resolution() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let first = std::fs::read_to_string(&example).unwrap();
    assert!(
        first
            .lines()
            .next()
            .unwrap()
            .contains("check-config --no-secrets config/example.toml"),
        "the example's first line should give the command that works"
    );
    let bare = || {
        let mut c = kilowatch();
        for v in [
            "KILOWATCH_EXAMPLE_COMMUNITY",
            "KILOWATCH_EXAMPLE_V3_AUTH",
            "KILOWATCH_EXAMPLE_V3_PRIV",
        ] {
            c.env_remove(v);
        }
        c
    };
    let out = bare()
        .args(["check-config", "--no-secrets"])
        .arg(&example)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 1 site(s)"));

    let out = bare().arg("check-config").arg(&example).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("KILOWATCH_EXAMPLE_V3_AUTH"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let literal = dir.path().join("literal.toml");
    std::fs::write(
        &literal,
        first.replace("env:KILOWATCH_EXAMPLE_COMMUNITY", "public"),
    )
    .unwrap();
    let out = bare()
        .args(["check-config", "--no-secrets"])
        .arg(&literal)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("community"), "{stderr}");
    assert!(
        !stderr.contains("public"),
        "a secret must never be printed: {stderr}"
    );
}

/// `completions` and `man` come from the same command tree as the parser: every command is in
/// both, and the bash script completes `report`'s subcommands.
#[test]
fn completions_and_man_pages_cover_every_command() {
    let out = kilowatch().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let bash = String::from_utf8_lossy(&out.stdout);
    for c in ["check-config", "report", "consolidation", "--no-secrets"] {
        assert!(bash.contains(c), "bash completion lacks {c}");
    }
    let out = kilowatch().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH kilowatch"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = kilowatch()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    for page in [
        "kilowatch.1",
        "kilowatch-demo.1",
        "kilowatch-report-pue.1",
        "kilowatch-check-config.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
}

#[test]
fn env_override_is_applied_and_a_bad_one_is_named() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let out = kilowatch()
        .env("KILOWATCH_EXAMPLE_COMMUNITY", "example-community")
        .env("KILOWATCH_EXAMPLE_V3_AUTH", "example-auth-key")
        .env("KILOWATCH_EXAMPLE_V3_PRIV", "example-priv-key")
        .env("KILOWATCH_COLLECTOR__INTERVAL", "soon")
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "env KILOWATCH_COLLECTOR__INTERVAL: collector.interval: 'soon' is not a duration"
        ),
        "{stderr}"
    );
}

#[test]
fn a_short_snmpv3_key_is_named_by_key_never_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v3.toml");
    std::fs::write(
        &file,
        "[auths.ups]\nversion = \"v3\"\nuser = \"kw\"\nauth_protocol = \"sha\"\nauth_key = \"env:KW_SHORT_KEY\"\n\n[[sites]]\nid = \"hk1\"\n\n[[devices]]\nid = \"main\"\nsite = \"hk1\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/1\"\nrole = \"facility\"\n\n[[devices]]\nid = \"ups\"\nsite = \"hk1\"\nprofile = \"rfc1628-ups\"\naddress = \"snmp://127.0.0.1:161\"\nauth = \"ups\"\nrole = \"it\"\ncategory = 1\n",
    )
    .unwrap();
    let out = kilowatch()
        .env("KW_SHORT_KEY", "s3cr3t")
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("v3.toml:5: auths.ups.auth_key: an SNMPv3 key must be at least 8 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
}
