//! The HTTP part shared by the Alertmanager and webhook receivers: one client per receiver,
//! built with the ring TLS provider and a timeout, that POSTs JSON and sorts the answer into
//! delivered, retry later ([`DeliveryError::Unavailable`]) or refused
//! ([`DeliveryError::Rejected`]). Credentials travel only in the `Authorization` header, and
//! no error carries a URL, so none carries a token.

use std::time::Duration;

use kilowatch_core::secret::Secret;
use reqwest::Url;

use super::{DeliveryError, TargetError, excerpt};

/// How much of a refusing peer's body an error quotes.
const BODY_EXCERPT_CHARS: usize = 300;

/// An HTTP(S) URL with a host, or why not. The message never repeats the URL: it may hold a
/// password.
pub(crate) fn parse_url(url: &str) -> Result<Url, TargetError> {
    let u = Url::parse(url).map_err(|e| TargetError::new("url", format!("not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(TargetError::new(
            "url",
            format!("scheme '{}' is not http or https", u.scheme()),
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::new("url", "no host"));
    }
    Ok(u)
}

/// `scheme://host:port` and, with `path`, the path: never user, password or query.
pub(crate) fn display_url(u: &Url, path: bool) -> String {
    // An IPv6 host comes bracketed.
    let host = u.host_str().unwrap_or_default();
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if path {
        u.path().trim_end_matches('/').to_owned()
    } else if u.path().trim_matches('/').is_empty() {
        String::new()
    } else {
        "/…".to_owned()
    };
    format!("{}://{host}{port}{rest}", u.scheme())
}

/// How a request proves who sends it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    None,
    Bearer(&'a Secret),
    Basic(&'a str, &'a Secret),
}

/// Basic credentials written into a URL (`https://user:pass@host/`), taken out of it so the
/// URL can be kept and printed: (user, password).
pub(crate) fn take_userinfo(u: &mut Url) -> Option<(String, Secret)> {
    if u.username().is_empty() && u.password().is_none() {
        return None;
    }
    let user = percent_decode(u.username());
    let pass = Secret::new(percent_decode(u.password().unwrap_or_default()));
    // Both setters fail only for URLs that cannot have credentials; parse_url admits none.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    Some((user, pass))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, TargetError> {
    // reqwest is built without a TLS provider of its own (no aws-lc); this process uses ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirected POST turns into a GET and loses its body: say so instead.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TargetError::new("url", format!("http client: {}", chain(&e))))
}

/// POSTs a JSON body and classifies the answer.
pub(crate) async fn post_json(
    http: &reqwest::Client,
    url: Url,
    body: Vec<u8>,
    auth: Auth<'_>,
    receiver: &str,
    operation: &'static str,
    timeout: Duration,
) -> Result<(), DeliveryError> {
    let mut req = http
        .post(url)
        .header("Content-Type", "application/json")
        .body(body);
    req = match auth {
        Auth::None => req,
        Auth::Bearer(token) => req.bearer_auth(token.expose()),
        Auth::Basic(user, pass) => req.basic_auth(user, Some(pass.expose())),
    };
    let unavailable = |reason: String| DeliveryError::Unavailable {
        receiver: receiver.to_owned(),
        operation,
        reason,
    };
    let resp = req
        .send()
        .await
        .map_err(|e| unavailable(transport(&e, timeout)))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = match resp.text().await {
        Ok(t) => excerpt(&t, BODY_EXCERPT_CHARS),
        Err(e) => format!("(body unreadable: {})", transport(&e, timeout)),
    };
    let reason = if text.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {text}", status.as_u16())
    };
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(unavailable(reason))
    } else if status.is_redirection() {
        Err(DeliveryError::Rejected {
            receiver: receiver.to_owned(),
            operation,
            reason: format!("{reason} (redirects are not followed: configure the final URL)"),
        })
    } else {
        Err(DeliveryError::Rejected {
            receiver: receiver.to_owned(),
            operation,
            reason,
        })
    }
}

/// A failed request, short and without its URL.
fn transport(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("timed out after {}", humanize(timeout))
    } else if e.is_connect() {
        format!("connection failed: {}", chain(e))
    } else {
        chain(e)
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// An error and its sources, `: `-joined, each said once. reqwest's URL is stripped first.
pub(crate) fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = if let Some(r) = err.downcast_ref::<reqwest::Error>() {
            // without_url consumes; rebuild the text from the kind instead.
            reqwest_kind(r)
        } else {
            err.to_string()
        };
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

fn reqwest_kind(e: &reqwest::Error) -> String {
    if e.is_builder() {
        "bad request".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_timeout() {
        "timeout".into()
    } else if e.is_body() || e.is_decode() {
        "body".into()
    } else if e.is_redirect() {
        "redirect".into()
    } else {
        "request".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn display_url_drops_credentials_and_query() {
        let u = parse_url("https://user:hunter2@am.example:9443/prefix/?token=abc").unwrap();
        assert_eq!(display_url(&u, true), "https://am.example:9443/prefix");
        assert_eq!(display_url(&u, false), "https://am.example:9443/…");
        let u = parse_url("http://[::1]:9093").unwrap();
        assert_eq!(display_url(&u, false), "http://[::1]:9093");
    }

    #[test]
    fn credentials_in_a_url_move_out_of_it() {
        let mut u = parse_url("https://ops%40dc:p%3Ass@am.example/x").unwrap();
        let (user, pass) = take_userinfo(&mut u).unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("ops@dc", "p:ss"));
        assert_eq!(u.as_str(), "https://am.example/x");
        let mut u = parse_url("https://am.example/x").unwrap();
        assert!(take_userinfo(&mut u).is_none());
    }

    #[tokio::test]
    async fn basic_credentials_go_in_the_header() {
        let (p, t) = answer_once("HTTP/1.1 204 No Content", "");
        post(p, Auth::Basic("ops", &Secret::new("pw")))
            .await
            .unwrap();
        let req = t.join().unwrap();
        // base64("ops:pw")
        assert!(req.contains("authorization: Basic b3BzOnB3\r\n"), "{req}");
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_them() {
        let e = parse_url("ftp://user:hunter2@x/").unwrap_err();
        assert_eq!(e.key, "url");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = parse_url("http//user:hunter2@x").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    /// One canned HTTP answer on a free loopback port; returns the port and what it was sent.
    fn answer_once(
        status_line: &'static str,
        body: &'static str,
    ) -> (u16, std::thread::JoinHandle<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the Content-Length bytes of body.
            loop {
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let reply = format!(
                "{status_line}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(reply.as_bytes()).unwrap();
            String::from_utf8(got).unwrap()
        });
        (port, t)
    }

    async fn post(port: u16, auth: Auth<'_>) -> Result<(), DeliveryError> {
        let http = client(Duration::from_secs(5)).unwrap();
        let url = parse_url(&format!("http://127.0.0.1:{port}/hook")).unwrap();
        post_json(
            &http,
            url,
            b"[]".to_vec(),
            auth,
            "test 127.0.0.1",
            "post",
            Duration::from_secs(5),
        )
        .await
    }

    #[tokio::test]
    async fn answers_are_sorted_into_ok_retry_and_refused() {
        let (p, t) = answer_once("HTTP/1.1 200 OK", "");
        post(p, Auth::Bearer(&Secret::new("tok-123")))
            .await
            .unwrap();
        let req = t.join().unwrap();
        assert!(req.starts_with("POST /hook HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("authorization: Bearer tok-123\r\n"), "{req}");
        assert!(req.contains("content-type: application/json\r\n"), "{req}");

        for (line, retry) in [
            ("HTTP/1.1 503 Service Unavailable", true),
            ("HTTP/1.1 500 Internal Server Error", true),
            ("HTTP/1.1 429 Too Many Requests", true),
            ("HTTP/1.1 400 Bad Request", false),
            ("HTTP/1.1 401 Unauthorized", false),
            ("HTTP/1.1 302 Found", false),
        ] {
            let (p, t) = answer_once(line, "  \"bad\n  label\"  ");
            let e = post(p, Auth::Bearer(&Secret::new("tok-123")))
                .await
                .unwrap_err();
            t.join().unwrap();
            assert_eq!(e.retryable(), retry, "{line}: {e}");
            let code = &line[9..12];
            let text = e.to_string();
            assert!(text.starts_with("test 127.0.0.1: post: "), "{text}");
            assert!(
                text.contains(&format!("HTTP {code}: \"bad label\"")),
                "{text}"
            );
            assert!(!text.contains("tok-123"), "{text}");
        }
    }

    #[tokio::test]
    async fn nobody_listening_is_retryable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = post(port, Auth::None).await.unwrap_err();
        assert!(e.retryable(), "{e}");
        let text = e.to_string();
        assert!(text.contains("connection failed"), "{text}");
        assert!(
            !text.contains("/hook"),
            "the URL stays out of errors: {text}"
        );
    }
}
