//! `--help` in the reader's language: the clap command tree with each command's `about`, each
//! argument's help and the headings taken from the `cli-` messages of the Fluent catalogues.
//! English keeps the doc comments as written; a text a catalogue lacks stays as written.

use clap::Command;
use kilowatch_core::i18n::{Lang, Tr};

/// The language `--help` speaks: `--lang X` anywhere on the command line, else the locale.
pub fn lang_of(args: &[std::ffi::OsString]) -> Lang {
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        let value = match a.strip_prefix("--lang=") {
            Some(v) => Some(v),
            None if a == "--lang" => it.next(),
            None => None,
        };
        if let Some(l) = value.and_then(Lang::parse) {
            return l;
        }
    }
    Lang::from_env()
}

/// `cmd` with its texts in `tr`'s language (unchanged for English).
pub fn localized(cmd: Command, tr: &Tr) -> Command {
    if tr.lang() == Lang::En {
        return cmd;
    }
    localize(cmd, tr, "")
}

fn localize(mut cmd: Command, tr: &Tr, parent: &str) -> Command {
    let path = if parent.is_empty() {
        // The root's own key is `cli-about`.
        String::new()
    } else if parent == "-" {
        cmd.get_name().to_owned()
    } else {
        format!("{parent}-{}", cmd.get_name())
    };
    let key = if path.is_empty() {
        "cli-about".to_owned()
    } else {
        format!("cli-cmd-{path}")
    };
    if let Some(about) = tr.get(&key) {
        cmd = cmd.about(about).long_about(None);
    }
    let heading = tr.t("cli-heading-options");
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let help = tr.get(&format!("cli-arg-{}", id.replace('_', "-")));
        let heading = heading.clone();
        cmd = cmd.mut_arg(id, move |a| {
            let a = if a.get_help_heading().is_none() {
                a.help_heading(heading)
            } else {
                a
            };
            match help {
                Some(h) => a.help(h).long_help(None),
                None => a,
            }
        });
    }
    // clap adds its own --help, --version and `help` subcommand when it builds the command,
    // too late to translate: ours replace them.
    cmd = cmd
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .arg(
            clap::Arg::new("help")
                .short('h')
                .long("help")
                .action(clap::ArgAction::Help)
                .help(tr.t("cli-arg-help"))
                .help_heading(heading.clone()),
        );
    if path.is_empty() {
        cmd = cmd.disable_version_flag(true).arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(clap::ArgAction::Version)
                .help(tr.t("cli-arg-version"))
                .help_heading(heading.clone()),
        );
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    let next = if path.is_empty() {
        "-".to_owned()
    } else {
        path.clone()
    };
    for name in names {
        let tr_next = next.clone();
        cmd = cmd.mut_subcommand(name, |s| localize(s, tr, &tr_next));
    }
    cmd.subcommand_help_heading(tr.t("cli-heading-commands"))
        .help_template(format!(
            "{{about-with-newline}}\n{}{{usage}}\n\n{{all-args}}{{after-help}}",
            usage_heading(tr)
        ))
}

/// "Usage: " with its space; a full-width colon needs none.
fn usage_heading(tr: &Tr) -> String {
    let h = tr.t("cli-heading-usage");
    if h.ends_with('：') {
        h
    } else {
        format!("{h} ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and subcommand has its zh-HK `about`, so `--help` is Chinese throughout.
    #[test]
    fn every_command_has_a_zh_hk_description() {
        let tr = Tr::new(Lang::ZhHk);
        let mut missing = Vec::new();
        fn walk(c: &Command, path: &str, tr: &Tr, missing: &mut Vec<String>) {
            for s in c.get_subcommands() {
                let p = if path.is_empty() {
                    s.get_name().to_owned()
                } else {
                    format!("{path}-{}", s.get_name())
                };
                if s.get_name() != "help" && tr.get(&format!("cli-cmd-{p}")).is_none() {
                    missing.push(p.clone());
                }
                walk(s, &p, tr, missing);
            }
        }
        walk(&crate::Cli::command(), "", &tr, &mut missing);
        assert!(missing.is_empty(), "no zh-HK about for: {missing:?}");
    }

    #[test]
    fn lang_comes_from_the_command_line_before_the_locale() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            lang_of(&args(&["kilowatch", "report", "--lang", "zh-HK"])),
            Lang::ZhHk
        );
        assert_eq!(lang_of(&args(&["kilowatch", "--lang=en"])), Lang::En);
    }
}
