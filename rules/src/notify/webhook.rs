//! A plain HTTP webhook that receives what Alertmanager's own `webhook_config` sends
//! (payload version 4), so a tool built for Alertmanager webhooks takes ours unchanged.
//!
//! The differences from Alertmanager are stated: there is no routing, so `groupLabels` is
//! empty, `groupKey` is `{}:{}` (Alertmanager's key for a route that groups nothing),
//! `receiver` is `kilowatch` and `externalURL` is empty. As in Alertmanager, a firing alert's
//! `endsAt` is Go's zero time (`0001-01-01T00:00:00Z`): its horizon is not shown.

use std::collections::BTreeMap;
use std::time::Duration;

use kilowatch_core::model::Timestamp;
use kilowatch_core::secret::Secret;
use reqwest::Url;
use serde::Serialize;

use super::http::{Auth, client, display_url, parse_url, post_json, take_userinfo};
use super::{DeliveryError, Note, Status, TargetError, now_ms, rfc3339};

/// Settings: where to POST, and a bearer token sent as `Authorization: Bearer ...`.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub bearer_token: Option<Secret>,
}

#[derive(Debug)]
pub struct Webhook {
    http: reqwest::Client,
    url: Url,
    auth: WebhookAuth,
    name: String,
    timeout: Duration,
}

#[derive(Debug)]
enum WebhookAuth {
    None,
    Bearer(Secret),
    Basic(String, Secret),
}

/// What Alertmanager prints for a time that is not set (Go's `time.Time{}`).
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Alertmanager's webhook payload, version 4.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Payload<'a> {
    receiver: &'static str,
    status: Status,
    alerts: Vec<Alert<'a>>,
    group_labels: BTreeMap<String, String>,
    common_labels: BTreeMap<String, String>,
    common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    external_url: &'static str,
    version: &'static str,
    group_key: &'static str,
    truncated_alerts: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Alert<'a> {
    status: Status,
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    fingerprint: String,
}

/// The pairs every map has, with the same value.
fn common<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, String>> + Clone,
) -> BTreeMap<String, String> {
    let mut all = maps.clone();
    let Some(first) = all.next() else {
        return BTreeMap::new();
    };
    first
        .iter()
        .filter(|(k, v)| maps.clone().all(|m| m.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The webhook body for `notes`; `now` ends a resolved note that has no end.
pub(crate) fn payload(notes: &[Note], now: Timestamp) -> Payload<'_> {
    let status = if notes.iter().any(|n| n.status == Status::Firing) {
        Status::Firing
    } else {
        Status::Resolved
    };
    Payload {
        receiver: "kilowatch",
        status,
        alerts: notes
            .iter()
            .map(|n| Alert {
                status: n.status,
                labels: &n.labels,
                annotations: &n.annotations,
                starts_at: rfc3339(n.starts_at),
                ends_at: match n.status {
                    Status::Firing => GO_ZERO_TIME.to_owned(),
                    Status::Resolved => rfc3339(n.ends_at.unwrap_or(now).max(n.starts_at)),
                },
                generator_url: n.generator_url.as_deref().unwrap_or_default(),
                fingerprint: n.fingerprint_hex(),
            })
            .collect(),
        group_labels: BTreeMap::new(),
        common_labels: common(notes.iter().map(|n| &n.labels)),
        common_annotations: common(notes.iter().map(|n| &n.annotations)),
        external_url: "",
        version: "4",
        group_key: "{}:{}",
        truncated_alerts: 0,
    }
}

impl Webhook {
    pub fn new(target: WebhookTarget, timeout: Duration) -> Result<Webhook, TargetError> {
        let mut url = parse_url(&target.url)?;
        let auth = match (take_userinfo(&mut url), target.bearer_token) {
            (Some(_), Some(_)) => {
                return Err(TargetError::new(
                    "url",
                    "has a user and password, and a bearer token is set too: keep one",
                ));
            }
            (Some((user, pass)), None) => WebhookAuth::Basic(user, pass),
            (None, Some(token)) => WebhookAuth::Bearer(token),
            (None, None) => WebhookAuth::None,
        };
        // Chat webhooks carry their token in the path: the name shows the host only.
        let name = format!("webhook {}", display_url(&url, false));
        Ok(Webhook {
            http: client(timeout)?,
            url,
            auth,
            name,
            timeout,
        })
    }

    pub fn name(&self) -> String {
        self.name.clone()
    }

    pub async fn deliver(&self, notes: &[Note]) -> Result<(), DeliveryError> {
        let body =
            serde_json::to_vec(&payload(notes, now_ms())).map_err(|e| DeliveryError::Rejected {
                receiver: self.name.clone(),
                operation: "encode payload",
                reason: e.to_string(),
            })?;
        let auth = match &self.auth {
            WebhookAuth::None => Auth::None,
            WebhookAuth::Bearer(t) => Auth::Bearer(t),
            WebhookAuth::Basic(u, p) => Auth::Basic(u, p),
        };
        post_json(
            &self.http,
            self.url.clone(),
            body,
            auth,
            &self.name,
            "post",
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

    #[test]
    fn payload_is_alertmanagers_webhook_version_4() {
        let notes = [firing("pdu-a1"), resolved("ups-2")];
        let v = serde_json::to_value(payload(&notes, 0)).unwrap();
        assert_eq!(
            v,
            json!({
                "receiver": "kilowatch",
                "status": "firing",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": "device_down", "device": "pdu-a1",
                                   "severity": "critical", "site": "hk1"},
                        "annotations": {"summary": "pdu-a1 does not answer", "value": "0"},
                        "startsAt": "2026-12-02T10:00:00.250Z",
                        "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://kilowatch.example/devices/pdu-a1",
                        "fingerprint": notes[0].fingerprint_hex(),
                    },
                    {
                        "status": "resolved",
                        "labels": {"alertname": "device_down", "device": "ups-2",
                                   "severity": "critical", "site": "hk1"},
                        "annotations": {"summary": "ups-2 does not answer", "value": "0"},
                        "startsAt": "2026-12-02T10:00:00.250Z",
                        "endsAt": "2026-12-02T10:05:30.999Z",
                        "generatorURL": "http://kilowatch.example/devices/ups-2",
                        "fingerprint": notes[1].fingerprint_hex(),
                    }
                ],
                "groupLabels": {},
                "commonLabels": {"alertname": "device_down", "severity": "critical", "site": "hk1"},
                "commonAnnotations": {"value": "0"},
                "externalURL": "",
                "version": "4",
                "groupKey": "{}:{}",
                "truncatedAlerts": 0
            })
        );
    }

    #[test]
    fn all_resolved_is_resolved() {
        let notes = [resolved("a"), resolved("b")];
        let v = serde_json::to_value(payload(&notes, 0)).unwrap();
        assert_eq!(v["status"], "resolved");
    }

    #[test]
    fn name_shows_no_token_path_or_password() {
        let w = Webhook::new(
            WebhookTarget {
                url: "https://hooks.example/services/T00/B00/sEcReT".into(),
                bearer_token: Some(Secret::new("tok-9")),
            },
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(w.name(), "webhook https://hooks.example/…");
        assert!(!format!("{w:?}").contains("tok-9"));
        let e = Webhook::new(
            WebhookTarget {
                url: "https://u:p@hooks.example/".into(),
                bearer_token: Some(Secret::new("tok-9")),
            },
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(e.key, "url");
    }

    /// The bearer token arrives, with the payload, at a listener of the test's own.
    #[tokio::test]
    async fn delivers_with_the_bearer_token() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            while !String::from_utf8_lossy(&got).ends_with('}') {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "connection closed early");
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let r = super::super::Receiver::webhook(
            WebhookTarget {
                url: format!("http://127.0.0.1:{port}/alerts"),
                bearer_token: Some(Secret::new("tok-9")),
            },
            Duration::from_secs(5),
        )
        .unwrap();
        r.deliver(&[firing("pdu-a1")]).await.unwrap();
        let req = t.join().unwrap();
        let (head, body) = req.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("POST /alerts HTTP/1.1"), "{head}");
        assert!(head.contains("authorization: Bearer tok-9"), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["alerts"][0]["labels"]["device"], "pdu-a1");
        assert_eq!(v["version"], "4");
    }
}
