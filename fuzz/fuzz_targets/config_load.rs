//! Any inventory text gives a config or a list of problems, never a panic.

#![no_main]

use kilowatch_core::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Secrets named `file:` are read relative to a directory that does not exist.
    let base = std::path::Path::new("/nonexistent-kilowatch-fuzz");
    if let Err(problems) = Config::from_str(text, "fuzz.toml", base, std::iter::empty()) {
        assert!(!problems.is_empty());
    }
});
