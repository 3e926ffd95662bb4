//! `[alerts]` (where alerts go and which built-in rule sets are on) and `[traps]` (the SNMP
//! trap listener); `[[rules]]` are in [`super::rules`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::Auth;
use super::auths::load_secret;
use super::checker::Checker;
use super::raw::de_duration_opt;
use crate::secret::Secret;

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub rule_sets: Vec<RuleSet>,
    pub alertmanagers: Vec<String>,
    pub webhooks: Vec<WebhookConfig>,
    pub email: Option<EmailConfig>,
    /// Where people open the evidence (a Grafana or report URL); alerts link to it.
    pub external_url: Option<String>,
    /// How often firing alerts are re-sent to Alertmanager (which drops an alert not renewed).
    pub resend: Duration,
    /// The dead-man's switch: a `KilowatchHeartbeat` alert kept firing while the collector
    /// runs, renewed this often; route it to a dead-man service so silence pages someone.
    pub heartbeat: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: String,
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`.
    pub smtp: String,
    pub from: String,
    pub to: Vec<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// A built-in rule set a user switches on by name; its limits come from the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSet {
    /// Any device whose polls fail for a minute.
    DeviceDown,
    /// Inlet temperature outside the ASHRAE recommended range (warning) and the allowable range
    /// of the class (critical): A1..A4 as 1..4.
    Ashrae(u8),
    /// A PDU phase or bank over 80 % of its breaker (`breaker_a`).
    Breaker80,
    /// A rack over its `power_budget_w`.
    RackBudget,
    /// UPS on battery, load over 80 %, runtime under 10 minutes, battery under 50 %.
    Ups,
}

impl RuleSet {
    pub const NAMES: &'static [&'static str] = &[
        "device-down",
        "ashrae-a1",
        "ashrae-a2",
        "ashrae-a3",
        "ashrae-a4",
        "breaker-80",
        "rack-budget",
        "ups",
    ];

    pub fn from_name(s: &str) -> Option<RuleSet> {
        Some(match s {
            "device-down" => RuleSet::DeviceDown,
            "ashrae-a1" => RuleSet::Ashrae(1),
            "ashrae-a2" => RuleSet::Ashrae(2),
            "ashrae-a3" => RuleSet::Ashrae(3),
            "ashrae-a4" => RuleSet::Ashrae(4),
            "breaker-80" => RuleSet::Breaker80,
            "rack-budget" => RuleSet::RackBudget,
            "ups" => RuleSet::Ups,
            _ => return None,
        })
    }
}

/// `[traps]`: the SNMP trap and inform listener.
#[derive(Debug, Clone, PartialEq)]
pub struct TrapsConfig {
    pub listen: SocketAddr,
    /// v1/v2c communities accepted; any other is refused and counted.
    pub communities: Vec<Secret>,
    /// SNMPv3 users accepted, by `[auths]` name (version "v3").
    pub users: Vec<Auth>,
    /// Traps waiting for the rules at most; more are dropped and counted.
    pub queue: usize,
}

#[derive(Debug, Deserialize)]
struct RawAlerts {
    rule_sets: Option<Vec<String>>,
    #[serde(default)]
    alertmanager: Vec<RawUrl>,
    #[serde(default)]
    webhook: Vec<RawWebhook>,
    email: Option<RawEmail>,
    external_url: Option<String>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    resend: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    heartbeat: Option<Duration>,
}

#[derive(Debug, Deserialize)]
struct RawUrl {
    url: String,
}

#[derive(Debug, Deserialize)]
struct RawWebhook {
    url: String,
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawEmail {
    smtp: String,
    from: String,
    to: Vec<String>,
    user: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawTraps {
    listen: Option<String>,
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
    queue: Option<usize>,
}

/// `[alerts]`: receivers' URLs parse, secrets load, rule sets exist.
pub(super) fn check_alerts(c: &mut Checker<'_>, v: Option<toml::Value>) -> Option<AlertsConfig> {
    let raw = v.and_then(|v| c.section::<RawAlerts>("alerts", v))?;
    let mut rule_sets = Vec::new();
    for (i, name) in raw.rule_sets.unwrap_or_default().iter().enumerate() {
        match RuleSet::from_name(name) {
            Some(s) => rule_sets.push(s),
            None => c.push(
                &format!("alerts.rule_sets[{i}]"),
                format!(
                    "unknown rule set '{name}'; expected one of {}",
                    RuleSet::NAMES.join(", ")
                ),
            ),
        }
    }
    let http_url = |c: &mut Checker<'_>, key: &str, s: &str| match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.password().is_none() => {}
        Ok(u) if u.password().is_some() => c.push(
            key,
            "a password in the URL is refused: use token = \"env:NAME\"",
        ),
        Ok(u) => c.push(key, format!("scheme '{}' is not http or https", u.scheme())),
        Err(e) => c.push(key, format!("not a URL ({e})")),
    };
    for (i, am) in raw.alertmanager.iter().enumerate() {
        http_url(c, &format!("alerts.alertmanager[{i}].url"), &am.url);
    }
    let mut webhooks = Vec::new();
    for (i, w) in raw.webhook.into_iter().enumerate() {
        http_url(c, &format!("alerts.webhook[{i}].url"), &w.url);
        let token = w
            .token
            .as_deref()
            .and_then(|r| load_secret(c, &format!("alerts.webhook[{i}].token"), r));
        webhooks.push(WebhookConfig { url: w.url, token });
    }
    if let Some(u) = &raw.external_url {
        http_url(c, "alerts.external_url", u);
    }
    let email = raw.email.map(|e| {
        match url::Url::parse(&e.smtp) {
            Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some() => {}
            _ => c.push(
                "alerts.email.smtp",
                format!("'{}' is not smtp://HOST:PORT or smtps://HOST:PORT", e.smtp),
            ),
        }
        for (key, addr) in std::iter::once(("from".to_owned(), &e.from)).chain(
            e.to.iter()
                .enumerate()
                .map(|(i, t)| (format!("to[{i}]"), t)),
        ) {
            if !addr.contains('@') || addr.chars().any(|c| c.is_whitespace() || c == ',') {
                c.push(
                    &format!("alerts.email.{key}"),
                    format!("'{addr}' is not a mail address"),
                );
            }
        }
        if e.to.is_empty() {
            c.push("alerts.email.to", "needs at least one address");
        }
        let password = e
            .password
            .as_deref()
            .and_then(|r| load_secret(c, "alerts.email.password", r));
        EmailConfig {
            smtp: e.smtp,
            from: e.from,
            to: e.to,
            user: e.user,
            password,
        }
    });
    let resend = raw.resend.unwrap_or(Duration::from_secs(60));
    if resend < Duration::from_secs(1) {
        c.push("alerts.resend", "must be at least 1s");
    }
    if raw.heartbeat.is_some_and(|h| h < Duration::from_secs(1)) {
        c.push("alerts.heartbeat", "must be at least 1s");
    }
    Some(AlertsConfig {
        rule_sets,
        alertmanagers: raw.alertmanager.into_iter().map(|a| a.url).collect(),
        webhooks,
        email,
        external_url: raw.external_url,
        resend,
        heartbeat: raw.heartbeat,
    })
}

/// `[traps]`: listen address, communities as secrets, v3 users from `[auths]`.
pub(super) fn check_traps(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
    auths: &BTreeMap<String, Option<Auth>>,
) -> Option<TrapsConfig> {
    let raw = v.and_then(|v| c.section::<RawTraps>("traps", v))?;
    let listen_text = raw.listen.as_deref().unwrap_or("0.0.0.0:162");
    let listen = match listen_text.parse() {
        Ok(a) => a,
        Err(_) => {
            c.push(
                "traps.listen",
                format!("'{listen_text}' is not HOST:PORT (e.g. 0.0.0.0:162)"),
            );
            SocketAddr::from(([0, 0, 0, 0], 162))
        }
    };
    let communities = raw
        .communities
        .iter()
        .enumerate()
        .filter_map(|(i, r)| load_secret(c, &format!("traps.communities[{i}]"), r))
        .collect();
    let mut users = Vec::new();
    for (i, name) in raw.users.iter().enumerate() {
        match auths.get(name) {
            Some(Some(a @ Auth::SnmpV3 { .. })) => users.push(a.clone()),
            Some(Some(_)) => c.push(
                &format!("traps.users[{i}]"),
                format!("auth '{name}' is not SNMPv3"),
            ),
            Some(None) => {}
            None => c.push(
                &format!("traps.users[{i}]"),
                format!("no auth '{name}' in [auths]"),
            ),
        }
    }
    let queue = raw.queue.unwrap_or(10_000);
    if queue == 0 {
        c.push("traps.queue", "must be at least 1");
    }
    Some(TrapsConfig {
        listen,
        communities,
        users,
        queue,
    })
}
