//! Report, TUI and help texts in English or Traditional Chinese (Hong Kong), from Fluent
//! catalogues (`i18n/<lang>/{kilowatch,tui,cli}.ftl`: reports, the terminal UI, `--help`;
//! Project Fluent's format, read by `fluent-bundle`).
//! The language comes from `--lang`, else the inventory, else `LC_ALL` / `LC_MESSAGES` / `LANG`.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

const EN: &[&str] = &[
    include_str!("../../i18n/en/kilowatch.ftl"),
    include_str!("../../i18n/en/tui.ftl"),
    include_str!("../../i18n/en/cli.ftl"),
];
const ZH_HK: &[&str] = &[
    include_str!("../../i18n/zh-HK/kilowatch.ftl"),
    include_str!("../../i18n/zh-HK/tui.ftl"),
    include_str!("../../i18n/zh-HK/cli.ftl"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Lang {
    #[default]
    En,
    ZhHk,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhHk];

    /// `en`, `zh-HK` (also `zh_HK.UTF-8`, `zh-Hant`, `zh-TW`: Traditional script).
    pub fn parse(tag: &str) -> Option<Lang> {
        let t = tag
            .split(['.', '@'])
            .next()
            .unwrap_or("")
            .replace('_', "-")
            .to_ascii_lowercase();
        match t.as_str() {
            "" | "c" | "posix" => None,
            t if t == "en" || t.starts_with("en-") => Some(Lang::En),
            "zh-hk" | "zh-hant" | "zh-tw" | "zh-mo" | "zh-hant-hk" | "zh" => Some(Lang::ZhHk),
            _ => None,
        }
    }

    /// The language the environment asks for (`LC_ALL`, `LC_MESSAGES`, `LANG`), English when
    /// none names one this build has.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .find_map(|v| Lang::parse(&v))
            .unwrap_or_default()
    }

    /// The BCP 47 tag (`lang` attribute of HTML reports).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHk => "zh-HK",
        }
    }

    fn sources(self) -> &'static [&'static str] {
        match self {
            Lang::En => EN,
            Lang::ZhHk => ZH_HK,
        }
    }
}

/// One language's messages. A key missing from a catalogue falls back to English, then to
/// the key itself (the test `every_key_is_in_both_languages` keeps that from happening).
pub struct Tr {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
    fallback: Option<Box<Tr>>,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr").field("lang", &self.lang).finish()
    }
}

fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Bidi isolation marks would land inside CSV cells and terminal columns.
    b.set_use_isolating(false);
    // The catalogues are part of the build; their parse is tested.
    for src in lang.sources() {
        let resource = FluentResource::try_new((*src).to_owned()).unwrap_or_else(|(r, _)| r);
        let _ = b.add_resource(resource);
    }
    b
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr {
            lang,
            bundle: bundle(lang),
            fallback: (lang != Lang::En).then(|| Box::new(Tr::new(Lang::En))),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with its variables, e.g. `tr.args("site-window", &[("from", a), ..])`.
    pub fn args(&self, key: &str, vars: &[(&str, &str)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in vars {
            a.set(*k, FluentValue::from(*v));
        }
        self.format(key, Some(&a))
    }

    /// `key` if the catalogue has it, else `None` (for optional translations, e.g. of a data
    /// set's field labels).
    pub fn get(&self, key: &str) -> Option<String> {
        self.bundle.has_message(key).then(|| self.t(key))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            return match &self.fallback {
                Some(f) => f.format(key, args),
                None => key.to_owned(),
            };
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

/// Message ids of a catalogue, for the completeness test and `kilowatch` developers.
pub fn keys(lang: Lang) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for src in lang.sources() {
        let resource = match FluentResource::try_new((*src).to_owned()) {
            Ok(r) => r,
            Err((r, _)) => r,
        };
        ids.extend(resource.entries().filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        }));
    }
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_parse_and_every_key_is_in_both_languages() {
        for lang in Lang::ALL {
            for (i, src) in lang.sources().iter().enumerate() {
                if let Err((_, errors)) = FluentResource::try_new((*src).to_owned()) {
                    panic!("{} catalogue {i} has syntax errors: {errors:?}", lang.tag());
                }
            }
        }
        let (en, zh) = (keys(Lang::En), keys(Lang::ZhHk));
        let mut unique = en.clone();
        unique.dedup();
        assert_eq!(unique.len(), en.len(), "a key is defined twice");
        assert!(en.len() > 50, "{}", en.len());
        let only_en: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        let only_zh: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        assert!(
            only_en.is_empty() && only_zh.is_empty(),
            "only in en: {only_en:?}; only in zh-HK: {only_zh:?}"
        );
    }

    #[test]
    fn a_zh_hk_message_is_chinese_and_languages_parse_from_locales() {
        let tr = Tr::new(Lang::ZhHk);
        let s = tr.t("report-annual-title");
        assert!(
            s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{s}"
        );
        assert_eq!(Lang::parse("zh_HK.UTF-8"), Some(Lang::ZhHk));
        assert_eq!(Lang::parse("en_GB.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("C.UTF-8"), None);
    }
}
