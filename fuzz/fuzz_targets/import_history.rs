//! Any CSV or line-protocol history gives batches or problems named by line, never a panic;
//! a file with problems yields no batches to write (all or nothing is the caller's rule).

#![no_main]

use std::sync::OnceLock;

use kilowatch_core::config::Config;
use kilowatch_store::import::{Precision, parse_csv, parse_lp};
use libfuzzer_sys::fuzz_target;

const INVENTORY: &str = r#"
[[sites]]
id = "hk1"

[[devices]]
id = "main"
site = "hk1"
profile = "eastron-sdm630"
address = "modbus://127.0.0.1:1/1"
role = "facility"

[[devices]]
id = "ups"
site = "hk1"
profile = "apc-smart-ups-modbus"
address = "modbus://127.0.0.1:1/2"
role = "it"
category = 1
"#;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::from_str(INVENTORY, "fuzz.toml", std::path::Path::new("."), std::iter::empty())
            .expect("the fuzz inventory is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (batches, problems) = if pick % 2 == 0 {
        parse_csv(rest, "fuzz.csv", config())
    } else {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let precision = [Precision::Ns, Precision::Us, Precision::Ms, Precision::S][usize::from(pick / 2) % 4];
        parse_lp(text, "fuzz.lp", config(), precision)
    };
    for p in &problems {
        assert!(p.starts_with("fuzz."), "problem without its file: {p}");
    }
    for b in &batches {
        assert!(b.samples.iter().all(|s| s.value.is_finite()));
    }
});
