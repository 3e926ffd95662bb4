//! Mail through an SMTP relay, with `lettre` (its SMTP transport on tokio, rustls with ring).
//!
//! - One mail per delivery summarises every note: the subject counts them the way
//!   Alertmanager's default template does (`[FIRING:2] device_down hk1`), the plain-text body
//!   lists each alert with its summary, value, labels, since when and link.
//! - Text is UTF-8 throughout: the subject is RFC 2047-encoded when it is not ASCII and the
//!   body is sent as `text/plain; charset=utf-8` in quoted-printable or base64, so Chinese
//!   site names and annotations arrive intact.
//! - A password is sent only inside TLS (`smtps://`, or `starttls = required`), or to a relay
//!   on this host (loopback): any other setting is refused when the receiver is built.
//! - A connection is opened per delivery and closed after it (no pool): alert mail is rare.

use std::time::Duration;

use kilowatch_core::model::Timestamp;
use kilowatch_core::secret::Secret;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{DeliveryError, Note, Status, TargetError, excerpt, now_ms, rfc3339};

/// Settings. `url` is `smtp://host[:port]` (port 25 by default) or `smtps://host[:port]`
/// (TLS from the first byte, port 465 by default); `starttls` applies to `smtp://` only.
#[derive(Debug, Clone)]
pub struct EmailTarget {
    pub url: String,
    pub starttls: Starttls,
    pub from: String,
    pub to: Vec<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// Whether an `smtp://` connection is upgraded to TLS with STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Starttls {
    /// When the server offers it (a relay that does not is used in clear).
    #[default]
    Opportunistic,
    /// Always; a server that does not offer it is an error.
    Required,
    /// Never: a relay on a trusted network.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    Starttls(Starttls),
}

#[derive(Debug)]
pub struct Email {
    host: String,
    port: u16,
    security: Security,
    from: Mailbox,
    to: Vec<Mailbox>,
    credentials: Option<(String, Secret)>,
    name: String,
    timeout: Duration,
}

/// `Auto-Submitted: auto-generated` (RFC 3834), so vacation responders do not answer alerts.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// A subject longer than this is cut (with `…`): mail clients show about this much.
const SUBJECT_MAX_CHARS: usize = 160;

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

fn mailbox(key: &'static str, text: &str) -> Result<Mailbox, TargetError> {
    text.parse::<Mailbox>()
        .map_err(|e| TargetError::new(key, format!("'{text}' is not a mail address: {e}")))
}

impl Email {
    pub fn new(target: EmailTarget, timeout: Duration) -> Result<Email, TargetError> {
        let url = reqwest::Url::parse(&target.url).map_err(|e| {
            TargetError::new(
                "url",
                format!("not a URL like smtp://mail.example:587: {e}"),
            )
        })?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::Starttls(target.starttls), 25),
            "smtps" => (Security::Implicit, 465),
            other => {
                return Err(TargetError::new(
                    "url",
                    format!("scheme '{other}' is not smtp or smtps"),
                ));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::new(
                "url",
                "has a user or password in it: set `user` and `password` instead",
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| TargetError::new("url", "no host"))?
            .to_owned();
        let port = url.port().unwrap_or(default_port);
        let from = mailbox("from", &target.from)?;
        if target.to.is_empty() {
            return Err(TargetError::new("to", "no recipient"));
        }
        let to = target
            .to
            .iter()
            .map(|t| mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        let credentials = match (target.user, target.password) {
            (Some(user), Some(pass)) => Some((user, pass)),
            (None, None) => None,
            (Some(_), None) => return Err(TargetError::new("password", "a user needs a password")),
            (None, Some(_)) => return Err(TargetError::new("user", "a password needs a user")),
        };
        let tls_sure = matches!(
            security,
            Security::Implicit | Security::Starttls(Starttls::Required)
        );
        if credentials.is_some() && !tls_sure && !is_loopback(&host) {
            return Err(TargetError::new(
                "password",
                "would cross the network in clear: use smtps:// or starttls = required",
            ));
        }
        let name = format!(
            "email {}://{}:{port} to {}",
            url.scheme(),
            host,
            to.iter()
                .map(|m| m.email.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        Ok(Email {
            host,
            port,
            security,
            from,
            to,
            credentials,
            name,
            timeout,
        })
    }

    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The mail for `notes`, with headers; `now` ends a resolved note that has no end.
    pub(crate) fn message(&self, notes: &[Note], now: Timestamp) -> Result<Message, DeliveryError> {
        let domain = self.from.email.domain().to_owned();
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(subject(notes))
            .header(ContentType::TEXT_PLAIN)
            .header(AutoSubmitted)
            .message_id(Some(format!(
                "<kilowatch.{now}.{:016x}@{domain}>",
                fastrand::u64(..)
            )));
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.body(body(notes, now))
            .map_err(|e| self.rejected("build message", e.to_string()))
    }

    fn rejected(&self, operation: &'static str, reason: String) -> DeliveryError {
        DeliveryError::Rejected {
            receiver: self.name.clone(),
            operation,
            reason,
        }
    }

    fn unavailable(&self, operation: &'static str, reason: String) -> DeliveryError {
        DeliveryError::Unavailable {
            receiver: self.name.clone(),
            operation,
            reason,
        }
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        // lettre's rustls uses the process's provider, or ring when none is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let params = || {
            TlsParameters::new_rustls(self.host.clone())
                .map_err(|e| self.unavailable("tls", smtp_reason(&e)))
        };
        let tls = match self.security {
            Security::Implicit => Tls::Wrapper(params()?),
            Security::Starttls(Starttls::Required) => Tls::Required(params()?),
            Security::Starttls(Starttls::Opportunistic) => Tls::Opportunistic(params()?),
            Security::Starttls(Starttls::Never) => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str())
            .port(self.port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if let Some((user, pass)) = &self.credentials {
            b = b
                .credentials(Credentials::new(user.clone(), pass.expose().to_owned()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(b.build())
    }

    pub async fn deliver(&self, notes: &[Note]) -> Result<(), DeliveryError> {
        let message = self.message(notes, now_ms())?;
        let transport = self.transport()?;
        // lettre's timeout is per command; this bounds the whole conversation.
        let whole = self.timeout * 3;
        match tokio::time::timeout(whole, transport.send(message)).await {
            Err(_) => {
                Err(self.unavailable("send", format!("timed out after {}s", whole.as_secs())))
            }
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() || e.is_client() => {
                Err(self.rejected("send", smtp_reason(&e)))
            }
            // Transient (4xx) replies, connection, network, TLS and timeouts.
            Ok(Err(e)) => Err(self.unavailable("send", smtp_reason(&e))),
        }
    }
}

/// lettre's error and its sources, `: `-joined, each said once. SMTP replies never echo a
/// password, and lettre's errors carry no credentials.
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = excerpt(&err.to_string(), 300);
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

fn firing_first(notes: &[Note]) -> Vec<&Note> {
    let mut v: Vec<&Note> = notes.iter().collect();
    v.sort_by_key(|n| (n.status != Status::Firing, n.starts_at));
    v
}

/// `[FIRING:2] device_down critical hk1`: the counts, then the alert name and the values of
/// the labels all notes share, in label-name order (Alertmanager's default subject).
pub(crate) fn subject(notes: &[Note]) -> String {
    let firing = notes.iter().filter(|n| n.status == Status::Firing).count();
    let resolved = notes.len() - firing;
    let counts = match (firing, resolved) {
        (0, _) => "[RESOLVED]".to_owned(),
        (f, 0) => format!("[FIRING:{f}]"),
        (f, r) => format!("[FIRING:{f}, RESOLVED:{r}]"),
    };
    let mut names: Vec<&str> = notes.iter().map(Note::alertname).collect();
    names.sort_unstable();
    names.dedup();
    let mut words = vec![names.join(", ")];
    if let Some(first) = notes.first() {
        words.extend(
            first
                .labels
                .iter()
                .filter(|(k, v)| {
                    k.as_str() != "alertname"
                        && notes.iter().all(|n| n.labels.get(k.as_str()) == Some(*v))
                })
                .map(|(_, v)| v.clone()),
        );
    }
    let text = format!("{counts} {}", words.join(" "));
    let text = text.trim_end();
    if text.chars().count() > SUBJECT_MAX_CHARS {
        let mut s: String = text.chars().take(SUBJECT_MAX_CHARS - 1).collect();
        s.push('…');
        s
    } else {
        text.to_owned()
    }
}

/// `2026-12-02 10:00:00 UTC`.
fn when(ms: Timestamp) -> String {
    let t = rfc3339(ms);
    format!("{} {} UTC", &t[..10], &t[11..19])
}

/// The plain-text body: a line of counts, then each alert, firing first.
pub(crate) fn body(notes: &[Note], now: Timestamp) -> String {
    use std::fmt::Write as _;
    let firing = notes.iter().filter(|n| n.status == Status::Firing).count();
    let mut out = format!("{firing} firing, {} resolved.\n", notes.len() - firing);
    for n in firing_first(notes) {
        out.push('\n');
        let name = if n.alertname().is_empty() {
            "(no alertname)"
        } else {
            n.alertname()
        };
        let _ = match n.status {
            Status::Firing => writeln!(out, "FIRING {name} since {}", when(n.starts_at)),
            Status::Resolved => writeln!(
                out,
                "RESOLVED {name} from {} to {}",
                when(n.starts_at),
                when(n.ends_at.unwrap_or(now).max(n.starts_at))
            ),
        };
        for key in ["summary", "description"] {
            if let Some(v) = n.annotations.get(key) {
                let _ = writeln!(out, "  {v}");
            }
        }
        for (k, v) in &n.annotations {
            if k != "summary" && k != "description" {
                let _ = writeln!(out, "  {k}: {v}");
            }
        }
        let labels: Vec<String> = n
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !labels.is_empty() {
            let _ = writeln!(out, "  labels: {}", labels.join(", "));
        }
        if let Some(link) = n.generator_url.as_deref().filter(|u| !u.is_empty()) {
            let _ = writeln!(out, "  link: {link}");
        }
    }
    out.push_str("\n-- \nSent by Kilowatch.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{firing, resolved};
    use super::*;

    fn target() -> EmailTarget {
        EmailTarget {
            url: "smtp://127.0.0.1:2525".into(),
            starttls: Starttls::Never,
            from: "Kilowatch <kilowatch@dc.example>".into(),
            to: vec!["ops@dc.example".into(), "noc@dc.example".into()],
            user: None,
            password: None,
        }
    }

    fn chinese(device: &str) -> Note {
        let mut n = firing(device);
        n.labels.insert("site".into(), "香港一號".into());
        n.annotations
            .insert("summary".into(), format!("{device} 機房溫度過高"));
        n
    }

    #[test]
    fn subject_counts_and_names_what_is_common() {
        assert_eq!(
            subject(&[firing("a"), firing("b")]),
            "[FIRING:2] device_down critical hk1"
        );
        assert_eq!(
            subject(&[firing("a"), resolved("b")]),
            "[FIRING:1, RESOLVED:1] device_down critical hk1"
        );
        assert_eq!(
            subject(&[resolved("a")]),
            "[RESOLVED] device_down a critical hk1"
        );
        let mut other = firing("a");
        other.labels.insert("alertname".into(), "inlet_hot".into());
        assert_eq!(
            subject(&[firing("b"), other]),
            "[FIRING:2] device_down, inlet_hot critical hk1"
        );
        let long: Vec<Note> = (0..60)
            .map(|i| {
                let mut n = firing("x");
                n.labels.insert("alertname".into(), format!("rule_{i:02}"));
                n
            })
            .collect();
        let s = subject(&long);
        assert_eq!(s.chars().count(), SUBJECT_MAX_CHARS);
        assert!(s.ends_with('…'), "{s}");
    }

    #[test]
    fn body_lists_each_alert_with_value_since_labels_and_link() {
        let text = body(&[resolved("ups-2"), chinese("pdu-a1")], 0);
        assert_eq!(
            text,
            "1 firing, 1 resolved.\n\
             \n\
             FIRING device_down since 2026-12-02 10:00:00 UTC\n\
             \x20 pdu-a1 機房溫度過高\n\
             \x20 value: 0\n\
             \x20 labels: device=pdu-a1, severity=critical, site=香港一號\n\
             \x20 link: http://kilowatch.example/devices/pdu-a1\n\
             \n\
             RESOLVED device_down from 2026-12-02 10:00:00 UTC to 2026-12-02 10:05:30 UTC\n\
             \x20 ups-2 does not answer\n\
             \x20 value: 0\n\
             \x20 labels: device=ups-2, severity=critical, site=hk1\n\
             \x20 link: http://kilowatch.example/devices/ups-2\n\
             \n\
             -- \n\
             Sent by Kilowatch.\n"
        );
    }

    #[test]
    fn mail_headers_are_mime_utf8() {
        let email = Email::new(target(), Duration::from_secs(1)).unwrap();
        let msg = email.message(&[chinese("pdu-a1")], 0).unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        // Every header line is ASCII: the Chinese site name is RFC 2047 encoded words (the peer
        // test decodes them with Python's mail parser).
        assert!(head.is_ascii(), "{head}");
        assert!(
            head.contains("Subject: [FIRING:1] device_down pdu-a1 critical =?utf-8?b?"),
            "{head}"
        );
        assert!(
            head.contains("Content-Type: text/plain; charset=utf-8"),
            "{head}"
        );
        assert!(head.contains("Auto-Submitted: auto-generated"), "{head}");
        assert!(
            head.contains("From: Kilowatch <kilowatch@dc.example>"),
            "{head}"
        );
        assert!(
            head.contains("To: ops@dc.example, noc@dc.example"),
            "{head}"
        );
        assert!(head.contains("Message-ID: <kilowatch.0."), "{head}");
        assert!(head.contains("@dc.example>"), "{head}");
        assert!(head.contains("Date: "), "{head}");
        assert!(
            head.contains("Content-Transfer-Encoding: base64")
                || head.contains("Content-Transfer-Encoding: quoted-printable"),
            "{head}"
        );
        assert!(body.is_ascii());
        let env = msg.envelope();
        assert_eq!(env.from().unwrap().to_string(), "kilowatch@dc.example");
        let to: Vec<String> = env.to().iter().map(ToString::to_string).collect();
        assert_eq!(to, ["ops@dc.example", "noc@dc.example"]);
    }

    #[test]
    fn settings_are_checked_when_built() {
        let err = |t: EmailTarget| Email::new(t, Duration::from_secs(1)).unwrap_err();
        let e = err(EmailTarget {
            to: vec!["not an address".into()],
            ..target()
        });
        assert_eq!(e.key, "to");
        let e = err(EmailTarget {
            to: vec![],
            ..target()
        });
        assert_eq!(e.key, "to");
        let e = err(EmailTarget {
            url: "http://mail.example".into(),
            ..target()
        });
        assert_eq!(e.key, "url");
        let e = err(EmailTarget {
            url: "smtp://u:hunter2@mail.example".into(),
            ..target()
        });
        assert!(!e.to_string().contains("hunter2"), "{e}");
        // A password over the network in clear is refused; to loopback or in TLS it is not.
        let with_password = |url: &str, starttls| EmailTarget {
            url: url.into(),
            starttls,
            user: Some("kw".into()),
            password: Some(Secret::new("hunter2")),
            ..target()
        };
        for starttls in [Starttls::Never, Starttls::Opportunistic] {
            let e = err(with_password("smtp://mail.example:587", starttls));
            assert_eq!(e.key, "password");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        let ok = |t| Email::new(t, Duration::from_secs(1)).unwrap();
        ok(with_password("smtp://mail.example:587", Starttls::Required));
        ok(with_password(
            "smtps://mail.example",
            Starttls::Opportunistic,
        ));
        ok(with_password("smtp://127.0.0.1:2525", Starttls::Never));
        ok(with_password("smtp://[::1]:2525", Starttls::Never));
        let e = ok(with_password("smtps://mail.example", Starttls::Never));
        assert_eq!(e.port, 465);
        assert_eq!(
            e.name(),
            "email smtps://mail.example:465 to ops@dc.example,noc@dc.example"
        );
        assert!(!format!("{e:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn relay_down_is_retryable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let email = Email::new(
            EmailTarget {
                url: format!("smtp://127.0.0.1:{port}"),
                ..target()
            },
            Duration::from_secs(2),
        )
        .unwrap();
        let e = email.deliver(&[firing("a")]).await.unwrap_err();
        assert!(e.retryable(), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("email smtp://127.0.0.1:{port} to ")),
            "{e}"
        );
    }
}
