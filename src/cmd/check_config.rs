use std::path::Path;
use std::process::ExitCode;

use kilowatch_core::config::Config;

/// Exit 0 when valid; exit 2 with every problem on stderr, one per line.
pub fn run(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            println!(
                "{}: ok: {} site(s), {} device(s), {} auth(s)",
                file.display(),
                c.sites.len(),
                c.devices.len(),
                c.auths.len()
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("{}: {} problem(s)", file.display(), problems.len());
            ExitCode::from(2)
        }
    }
}
