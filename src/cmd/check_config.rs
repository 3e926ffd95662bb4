use std::path::Path;
use std::process::ExitCode;

use kilowatch_core::config::Config;

/// Exit 0 when valid; exit 2 with every problem on stderr, one per line. With `no_secrets`,
/// secret references are checked for their form only.
pub fn run(file: &Path, no_secrets: bool) -> ExitCode {
    let loaded = if no_secrets {
        Config::load_without_secrets(file)
    } else {
        Config::load(file)
    };
    match loaded {
        Ok(c) => {
            println!(
                "{}: ok: {} site(s), {} device(s), {} auth(s){}",
                file.display(),
                c.sites.len(),
                c.devices.len(),
                c.auths.len(),
                if no_secrets {
                    " (secrets not read: --no-secrets)"
                } else {
                    ""
                }
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
