//! Embeds every profile in `config/profiles/` into the binary, so `kilowatch demo` needs no
//! files installed beside it. Adding a vendor stays adding a file.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/profiles");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    entries.sort();
    let mut out = String::from("&[\n");
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let abs = path.canonicalize().unwrap_or(path.clone());
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        );
    }
    out.push_str("]\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let _ = std::fs::write(Path::new(&out_dir).join("builtin_profiles.rs"), out);
}
