//! Prometheus Alertmanager through its v2 API: every note of a delivery in one
//! `POST {url}/api/v2/alerts` of `postableAlert`s, as Prometheus itself sends them.
//!
//! - A firing note carries `endsAt` only when the caller set a horizon (`Note::ends_at`);
//!   Alertmanager resolves an alert that is not renewed before it, or after its
//!   `resolve_timeout` when there is none.
//! - A resolved note's `endsAt` is when it ended (now, if the caller left it unset), and never
//!   before `startsAt`, which Alertmanager would refuse.
//! - Alertmanager answers 400 when some alerts are invalid (a label name like `bad-name`), yet
//!   keeps the valid ones of the same POST; sending the batch again would be refused again, so
//!   the error is [`DeliveryError::Rejected`].

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use serde::Serialize;

use super::http::{Auth, client, display_url, parse_url, post_json, take_userinfo};
use super::{DeliveryError, Note, Status, TargetError, now_ms, rfc3339};
use kilowatch_core::model::Timestamp;
use kilowatch_core::secret::Secret;

/// Settings: the Alertmanager's base URL (`http://127.0.0.1:9093`, or with a path prefix when
/// it sits behind a proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerTarget {
    pub url: String,
}

#[derive(Debug)]
pub struct Alertmanager {
    http: reqwest::Client,
    alerts_url: Url,
    /// Basic credentials that were written in the URL (a proxy in front of Alertmanager).
    basic: Option<(String, Secret)>,
    name: String,
    timeout: Duration,
}

/// One alert as Alertmanager's OpenAPI `postableAlert` has it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostableAlert<'a> {
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    generator_url: Option<&'a str>,
}

/// The body of `POST /api/v2/alerts` for `notes`; `now` ends a resolved note that has no end.
pub(crate) fn postable_alerts(notes: &[Note], now: Timestamp) -> Vec<PostableAlert<'_>> {
    notes
        .iter()
        .map(|n| {
            let ends_at = match n.status {
                Status::Firing => n.ends_at,
                Status::Resolved => Some(n.ends_at.unwrap_or(now).max(n.starts_at)),
            };
            PostableAlert {
                labels: &n.labels,
                annotations: &n.annotations,
                starts_at: rfc3339(n.starts_at),
                ends_at: ends_at.map(rfc3339),
                generator_url: n.generator_url.as_deref().filter(|u| !u.is_empty()),
            }
        })
        .collect()
}

impl Alertmanager {
    pub fn new(target: AlertmanagerTarget, timeout: Duration) -> Result<Alertmanager, TargetError> {
        let mut alerts_url = parse_url(&target.url)?;
        let basic = take_userinfo(&mut alerts_url);
        let name = format!("alertmanager {}", display_url(&alerts_url, true));
        let path = format!("{}/api/v2/alerts", alerts_url.path().trim_end_matches('/'));
        alerts_url.set_path(&path);
        alerts_url.set_query(None);
        Ok(Alertmanager {
            http: client(timeout)?,
            alerts_url,
            basic,
            name,
            timeout,
        })
    }

    pub fn name(&self) -> String {
        self.name.clone()
    }

    pub async fn deliver(&self, notes: &[Note]) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&postable_alerts(notes, now_ms())).map_err(|e| {
            DeliveryError::Rejected {
                receiver: self.name.clone(),
                operation: "encode alerts",
                reason: e.to_string(),
            }
        })?;
        post_json(
            &self.http,
            self.alerts_url.clone(),
            body,
            match &self.basic {
                Some((user, pass)) => Auth::Basic(user, pass),
                None => Auth::None,
            },
            &self.name,
            "post /api/v2/alerts",
            self.timeout,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{firing, resolved};
    use super::*;
    use serde_json::json;

    /// The times as an independent parser (jiff) reads them, in ms.
    fn ms(v: &serde_json::Value) -> i64 {
        v.as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    }

    #[test]
    fn firing_note_is_a_postable_alert_with_its_horizon() {
        let n = firing("pdu-a1");
        let v = serde_json::to_value(postable_alerts(std::slice::from_ref(&n), 0)).unwrap();
        assert_eq!(
            v,
            json!([{
                "labels": {
                    "alertname": "device_down", "device": "pdu-a1",
                    "severity": "critical", "site": "hk1"
                },
                "annotations": {"summary": "pdu-a1 does not answer", "value": "0"},
                "startsAt": "2026-12-02T10:00:00.250Z",
                "endsAt": "2026-12-02T11:00:00.000Z",
                "generatorURL": "http://kilowatch.example/devices/pdu-a1"
            }])
        );
        assert_eq!(ms(&v[0]["startsAt"]), n.starts_at);
        assert_eq!(Some(ms(&v[0]["endsAt"])), n.ends_at);
    }

    #[test]
    fn firing_note_without_horizon_has_no_ends_at() {
        let mut n = firing("pdu-a1");
        n.ends_at = None;
        n.generator_url = None;
        let v = serde_json::to_value(postable_alerts(&[n], 0)).unwrap();
        let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["annotations", "labels", "startsAt"]);
    }

    #[test]
    fn resolved_note_ends_when_it_was_resolved() {
        let n = resolved("pdu-a1");
        let v = serde_json::to_value(postable_alerts(std::slice::from_ref(&n), 0)).unwrap();
        assert_eq!(v[0]["endsAt"], "2026-12-02T10:05:30.999Z");
        assert_eq!(ms(&v[0]["endsAt"]), 1_796_205_930_999);
        assert_eq!(ms(&v[0]["startsAt"]), n.starts_at);
    }

    #[test]
    fn resolved_note_without_end_ends_now_and_never_before_it_began() {
        let mut n = resolved("pdu-a1");
        n.ends_at = None;
        let v = serde_json::to_value(postable_alerts(std::slice::from_ref(&n), n.starts_at + 5))
            .unwrap();
        assert_eq!(ms(&v[0]["endsAt"]), n.starts_at + 5);
        // A clock that stepped back must not give endsAt < startsAt (Alertmanager: 400).
        n.ends_at = Some(n.starts_at - 60_000);
        let v = serde_json::to_value(postable_alerts(std::slice::from_ref(&n), 0)).unwrap();
        assert_eq!(ms(&v[0]["endsAt"]), n.starts_at);
    }

    #[test]
    fn all_notes_go_in_one_batch() {
        let v = serde_json::to_value(postable_alerts(&[firing("a"), resolved("b")], 0)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["labels"]["device"], "a");
        assert_eq!(v[1]["labels"]["device"], "b");
    }

    #[test]
    fn posts_to_the_v2_api_under_any_prefix_and_names_no_password() {
        let t = |url: &str| {
            Alertmanager::new(
                AlertmanagerTarget { url: url.into() },
                Duration::from_secs(1),
            )
            .unwrap()
        };
        let am = t("http://127.0.0.1:9093");
        assert_eq!(
            am.alerts_url.as_str(),
            "http://127.0.0.1:9093/api/v2/alerts"
        );
        assert_eq!(am.name(), "alertmanager http://127.0.0.1:9093");
        let am = t("https://ops:hunter2@proxy.example/am/?x=1");
        assert_eq!(
            am.alerts_url.path(),
            "/am/api/v2/alerts",
            "{}",
            am.alerts_url
        );
        assert_eq!(am.name(), "alertmanager https://proxy.example/am");
        assert!(!format!("{am:?}").contains("hunter2"), "{am:?}");
    }
}
