//! Issue 18: the house rules a newcomer relies on, checked on the source tree itself, so a
//! change that breaks them fails here rather than in a review.

use std::path::{Path, PathBuf};

const LIBRARY_CRATES: &[&str] = &[
    "core",
    "collector",
    "store",
    "sink",
    "analyzer",
    "sim",
    "tui",
    "rules",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, with whether it is test code (a `tests` directory or a
/// `tests.rs` module).
fn sources(dir: &Path, out: &mut Vec<(PathBuf, bool)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let test = p.components().any(|c| c.as_os_str() == "tests")
                || p.file_name().is_some_and(|n| n == "tests.rs");
            out.push((p, test));
        }
    }
}

fn code_files() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for d in LIBRARY_CRATES.iter().chain(&["src", "benches", "examples"]) {
        sources(&root().join(d), &mut all);
    }
    all.into_iter()
        .filter(|(_, t)| !t)
        .map(|(p, _)| p)
        .collect()
}

#[test]
fn issue_18_no_file_over_700_lines_outside_tests() {
    let long: Vec<String> = code_files()
        .iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(p).ok()?.lines().count();
            (n > 700).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:?}");
}

#[test]
fn issue_18_no_library_function_returns_a_string_error() {
    let mut found = Vec::new();
    for c in LIBRARY_CRATES {
        let mut files = Vec::new();
        sources(&root().join(c).join("src"), &mut files);
        for (p, test) in files {
            if test {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // Unit tests at the end of a file may use strings; the code above them may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (i, line) in code.lines().enumerate() {
                let l = line.replace(' ', "");
                if l.contains(",String>") && l.contains("Result<") {
                    found.push(format!("{}:{}: {}", p.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "typed errors instead: {found:#?}");
}

#[test]
fn issue_18_the_store_imports_no_sink() {
    let manifest = std::fs::read_to_string(root().join("store/Cargo.toml")).unwrap();
    assert!(!manifest.contains("kilowatch-sink"), "store/Cargo.toml");
    let mut files = Vec::new();
    sources(&root().join("store"), &mut files);
    for (p, _) in files {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("kilowatch_sink"), "{}", p.display());
    }
}
