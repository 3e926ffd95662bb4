//! Issue 20: alert notifications delivered to real peers — Prometheus Alertmanager (Debian's
//! `prometheus-alertmanager`, v2 API) and an SMTP server (aiosmtpd) — and checked the way a
//! user would: what Alertmanager lists and whom it notifies, what a mail reader shows. Each
//! test starts its own peer from what `scripts/test` installs, because some stop it.
#![cfg(feature = "peers")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::alertmanager::{Alertmanager, Hook};
use crate::common::smtp::Smtpd;
use kilowatch_core::secret::Secret;
use kilowatch_rules::notify::{
    AlertmanagerTarget, DeliveryError, EmailTarget, Note, Receiver, Starttls, Status, WebhookTarget,
};

/// How long Alertmanager may take to send a notification (group_wait 0s, group_interval 1s).
const NOTIFY_WITHIN: Duration = Duration::from_secs(20);

fn deliver(r: &Receiver, notes: &[Note]) -> Result<(), DeliveryError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(r.deliver(notes))
}

fn now_ms() -> i64 {
    kilowatch_core::clock::Clock::System.now_ms()
}

/// A device down at a Hong Kong site, since a minute ago, held for an hour unless renewed.
fn firing(alertname: &str, device: &str) -> Note {
    let now = now_ms();
    Note {
        status: Status::Firing,
        labels: BTreeMap::from([
            ("alertname".into(), alertname.into()),
            ("severity".into(), "critical".into()),
            ("site".into(), "香港一號".into()),
            ("device".into(), device.into()),
        ]),
        annotations: BTreeMap::from([
            ("summary".into(), format!("{device} 機房溫度過高")),
            ("value".into(), "41.5".into()),
        ]),
        starts_at: now - 60_000,
        ends_at: Some(now + 3_600_000),
        generator_url: Some(format!("http://kilowatch.example/devices/{device}")),
    }
}

fn ms(v: &serde_json::Value) -> i64 {
    kilowatch_core::timefmt::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
}

fn labels(v: &serde_json::Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).unwrap()
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn alertmanager(am: &Alertmanager) -> Receiver {
    Receiver::alertmanager(AlertmanagerTarget { url: am.url() }, Duration::from_secs(5)).unwrap()
}

/// Firing, then the same again (as a retry would send it), then resolved: Alertmanager lists
/// the alert as active with our labels, fingerprint and times, notifies its receiver once,
/// and after the resolved note neither lists it nor fails to say it resolved.
#[test]
fn alertmanager_lists_firing_notifies_once_and_drops_resolved() {
    let hook = Hook::start();
    let am = Alertmanager::start(&hook.url());
    let r = alertmanager(&am);
    assert_eq!(r.name(), format!("alertmanager {}", am.url()));
    let fire = firing("kw_device_down", "pdu-a1");

    deliver(&r, std::slice::from_ref(&fire)).unwrap();
    let listed = am.alerts();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let a = &listed[0];
    assert_eq!(labels(&a["labels"]), fire.labels);
    assert_eq!(
        labels(&a["annotations"]),
        fire.annotations,
        "Chinese text survives"
    );
    assert_eq!(a["status"]["state"], "active");
    assert_eq!(a["fingerprint"], fire.fingerprint_hex());
    assert_eq!(ms(&a["startsAt"]), fire.starts_at);
    assert_eq!(Some(ms(&a["endsAt"])), fire.ends_at);
    assert_eq!(a["generatorURL"], "http://kilowatch.example/devices/pdu-a1");

    let first = hook
        .next(NOTIFY_WITHIN)
        .unwrap_or_else(|| panic!("Alertmanager sent no notification: {}", am.log()));
    assert_eq!(first.body["status"], "firing");
    assert_eq!(first.body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(labels(&first.body["alerts"][0]["labels"]), fire.labels);
    assert_eq!(
        first.body["alerts"][0]["fingerprint"],
        fire.fingerprint_hex()
    );

    // A retry of the same note changes nothing: still one alert, and no second page below.
    deliver(&r, std::slice::from_ref(&fire)).unwrap();
    assert_eq!(am.alerts().len(), 1);

    let resolved = Note {
        status: Status::Resolved,
        ends_at: Some(now_ms()),
        ..fire.clone()
    };
    deliver(&r, std::slice::from_ref(&resolved)).unwrap();
    let listed = am.alerts();
    assert!(
        listed
            .iter()
            .all(|a| a["fingerprint"] != fire.fingerprint_hex()),
        "a resolved alert is not listed: {listed:?}"
    );

    let next = hook.next(NOTIFY_WITHIN).expect("no resolved notification");
    assert_eq!(
        next.body["status"], "resolved",
        "the firing alert was notified twice: {:?}",
        next.body
    );
    assert_eq!(next.body["alerts"][0]["status"], "resolved");
    assert_eq!(
        ms(&next.body["alerts"][0]["endsAt"]),
        resolved.ends_at.unwrap()
    );
    // Nothing more within a few group intervals.
    assert!(hook.next(Duration::from_secs(3)).is_none());
}

/// Our webhook payload has every field Alertmanager's own webhook has, at the top and in
/// each alert, with the same values for the alert: a tool that takes Alertmanager's
/// webhooks takes ours.
#[test]
fn webhook_payload_has_alertmanagers_shape() {
    let hook = Hook::start();
    let am = Alertmanager::start(&hook.url());
    let fire = firing("kw_inlet_hot", "ac-3");
    deliver(&alertmanager(&am), std::slice::from_ref(&fire)).unwrap();
    let theirs = hook.next(NOTIFY_WITHIN).expect("no notification").body;

    let ours_hook = Hook::start();
    let webhook = Receiver::webhook(
        WebhookTarget {
            url: ours_hook.url(),
            bearer_token: Some(Secret::new("tok-5e3")),
        },
        Duration::from_secs(5),
    )
    .unwrap();
    deliver(&webhook, std::slice::from_ref(&fire)).unwrap();
    let posted = ours_hook
        .next(Duration::from_secs(5))
        .expect("no webhook POST");
    assert!(
        posted.head.contains("authorization: bearer tok-5e3"),
        "{}",
        posted.head
    );
    let ours = posted.body;

    assert_eq!(keys(&ours), keys(&theirs), "ours {ours}\ntheirs {theirs}");
    let (o, t) = (&ours["alerts"][0], &theirs["alerts"][0]);
    assert_eq!(keys(o), keys(t));
    for field in [
        "status",
        "labels",
        "annotations",
        "generatorURL",
        "fingerprint",
        "endsAt",
    ] {
        assert_eq!(o[field], t[field], "alerts[0].{field}");
    }
    assert_eq!(ms(&o["startsAt"]), ms(&t["startsAt"]));
    for field in ["version", "status", "commonLabels", "commonAnnotations"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
}

/// An alert Alertmanager cannot take (a label name with a dash) is refused for good, with
/// Alertmanager's reason; an Alertmanager that is down is worth retrying, and the retry
/// succeeds once it is back.
#[test]
fn alertmanager_refusal_is_final_and_absence_is_retryable() {
    let hook = Hook::start();
    let mut am = Alertmanager::start(&hook.url());
    let r = alertmanager(&am);
    let mut bad = firing("kw_device_down", "pdu-a1");
    bad.labels.insert("bad-name".into(), "x".into());
    let e = deliver(&r, &[bad]).unwrap_err();
    assert!(!e.retryable(), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "alertmanager {}: post /api/v2/alerts: rejected: HTTP 400: ",
            am.url()
        )),
        "{text}"
    );
    assert!(text.contains(r#"invalid name \"bad-name\""#), "{text}");

    am.stop();
    let e = deliver(&r, &[firing("kw_device_down", "pdu-a1")]).unwrap_err();
    assert!(e.retryable(), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "alertmanager {}: post /api/v2/alerts: connection failed",
            am.url()
        )),
        "{text}"
    );

    // Back on the same address, the retry goes through.
    am.restart();
    let fire = firing("kw_device_down", "pdu-a1");
    deliver(&r, std::slice::from_ref(&fire)).unwrap();
    assert_eq!(am.alerts()[0]["fingerprint"], fire.fingerprint_hex());
    let log = am.log_since_restart();
    assert!(
        log.contains("msg=\"Received alert\"") && log.contains("kw_device_down["),
        "{log}"
    );
}

/// One mail for two alerts reaches both recipients, with a subject and body that Python's
/// mail parser decodes to the Chinese site name and annotation we sent.
#[test]
fn mail_arrives_with_subject_recipients_and_chinese_intact() {
    let smtpd = Smtpd::start();
    let r = Receiver::email(
        EmailTarget {
            url: smtpd.url(),
            starttls: Starttls::Never,
            from: "Kilowatch <kilowatch@dc.example>".into(),
            to: vec!["ops@dc.example".into(), "值班 <noc@dc.example>".into()],
            user: None,
            password: None,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let notes = [
        firing("kw_device_down", "pdu-a1"),
        firing("kw_device_down", "ups-2"),
    ];
    deliver(&r, &notes).unwrap();

    let mails = smtpd.mails();
    assert_eq!(mails.len(), 1, "one mail per delivery: {mails:?}");
    let m = &mails[0];
    assert_eq!(m.subject, "[FIRING:2] kw_device_down critical 香港一號");
    assert_eq!(m.from, "Kilowatch <kilowatch@dc.example>");
    assert_eq!(m.to, "ops@dc.example, 值班 <noc@dc.example>");
    assert_eq!(m.x_mailfrom, "kilowatch@dc.example");
    assert_eq!(m.x_rcptto, "ops@dc.example, noc@dc.example");
    assert_eq!(m.content_type, "text/plain; charset=utf-8");
    assert_eq!(m.auto_submitted.as_deref(), Some("auto-generated"));
    assert!(m.raw_head.is_ascii(), "{}", m.raw_head);
    for device in ["pdu-a1", "ups-2"] {
        assert!(
            m.body.contains(&format!("  {device} 機房溫度過高\n")),
            "{}",
            m.body
        );
        assert!(
            m.body.contains(&format!(
                "  labels: device={device}, severity=critical, site=香港一號\n"
            )),
            "{}",
            m.body
        );
        assert!(m.body.contains(&format!(
            "  link: http://kilowatch.example/devices/{device}\n"
        )));
    }
    assert!(m.body.starts_with("2 firing, 0 resolved.\n"), "{}", m.body);
    assert!(m.body.contains("  value: 41.5\n"), "{}", m.body);
}

/// A mail server that has gone away is worth retrying, and says which receiver failed.
#[test]
fn mail_server_stopped_is_retryable() {
    let mut smtpd = Smtpd::start();
    let r = Receiver::email(
        EmailTarget {
            url: smtpd.url(),
            starttls: Starttls::Never,
            from: "kilowatch@dc.example".into(),
            to: vec!["ops@dc.example".into()],
            user: None,
            password: None,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    smtpd.stop();
    let e = deliver(&r, &[firing("kw_device_down", "pdu-a1")]).unwrap_err();
    assert!(e.retryable(), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "email smtp://127.0.0.1:{} to ops@dc.example: send: ",
            smtpd.port
        )),
        "{e}"
    );
}

/// With a user and password, the mail goes through the relay's AUTH; a wrong password is
/// refused for good, and the error does not show it.
#[test]
fn mail_logs_in_and_a_wrong_password_is_final_and_unshown() {
    let smtpd = Smtpd::start_with_login("kw-alerts", "s3cret-pw");
    let email = |password: &str| {
        Receiver::email(
            EmailTarget {
                url: smtpd.url(),
                // A password in clear is allowed to a relay on loopback only.
                starttls: Starttls::Never,
                from: "kilowatch@dc.example".into(),
                to: vec!["ops@dc.example".into()],
                user: Some("kw-alerts".into()),
                password: Some(Secret::new(password)),
            },
            Duration::from_secs(5),
        )
        .unwrap()
    };
    let wrong = email("wr0ng-pw");
    let e = deliver(&wrong, &[firing("kw_device_down", "pdu-a1")]).unwrap_err();
    assert!(!e.retryable(), "{e}");
    let text = format!("{e} {e:?} {}", wrong.name());
    assert!(text.contains("535"), "{text}");
    assert!(!text.contains("wr0ng-pw"), "{text}");
    assert!(smtpd.mails().is_empty());

    deliver(&email("s3cret-pw"), &[firing("kw_device_down", "pdu-a1")]).unwrap();
    let mails = smtpd.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "[FIRING:1] kw_device_down pdu-a1 critical 香港一號"
    );
}
