//! One BMC's HTTP client: GETs only (and the session login DSP0266 asks for), one TLS policy,
//! a session kept between polls and renewed when the BMC has expired it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kilowatch_core::config::{RedfishAuth, TlsTrust};
use serde_json::Value;

use super::error::{RedfishError, describe_body};
use crate::DriverError;

/// The service root, DSP0266 §6.
pub const ROOT: &str = "/redfish/v1";
/// The most one answer may be: a chassis collection of a blade enclosure is tens of kB; this
/// keeps a hostile BMC from filling memory.
const MAX_BODY: usize = 4 << 20;

#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    /// `https://host:port`, no trailing slash.
    base: String,
    auth: Option<RedfishAuth>,
    /// The session's token and its own URI, once logged in.
    token: Option<String>,
    timeout: Duration,
    /// Where sessions are created (the service root's `Links.Sessions`).
    sessions: String,
    /// The service has no session collection: Basic on every request instead.
    no_sessions: bool,
}

impl Client {
    pub fn new(
        socket: &str,
        tls: bool,
        auth: Option<RedfishAuth>,
        timeout: Duration,
    ) -> Result<Client, RedfishError> {
        if matches!(auth.as_ref().map(|a| &a.trust), Some(TlsTrust::Insecure)) {
            tracing::warn!(
                target = socket,
                "insecure = true: any certificate is accepted from this BMC"
            );
        }
        let trust = auth.as_ref().map_or(&TlsTrust::System, |a| &a.trust);
        let http = shared_client(trust, timeout)?;
        let scheme = if tls { "https" } else { "http" };
        Ok(Client {
            http,
            base: format!("{scheme}://{socket}"),
            auth,
            token: None,
            timeout,
            sessions: format!("{ROOT}/SessionService/Sessions"),
            no_sessions: false,
        })
    }

    /// Remembers where the service root says sessions live.
    pub fn set_sessions(&mut self, root: &Value) {
        if let Some(p) = root
            .pointer("/Links/Sessions/@odata.id")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/'))
        {
            self.sessions = p.to_owned();
        }
    }

    fn wants_session(&self) -> bool {
        !self.no_sessions && self.auth.as_ref().is_some_and(|a| a.session)
    }

    /// Logs in when a session is wanted and there is none yet.
    pub async fn ensure_login(&mut self) -> Result<(), DriverError> {
        if self.wants_session() && self.token.is_none() {
            self.login().await?;
        }
        Ok(())
    }

    /// GETs one resource as JSON. A session the BMC has expired is renewed once.
    pub async fn get(&mut self, path: &str) -> Result<Arc<Value>, DriverError> {
        let path = same_service(path)?;
        // Some services guard even the root (sushy-emulator with an auth file does).
        self.ensure_login().await?;
        let wants_session = self.wants_session();
        match self.get_once(path).await {
            Err(DriverError::Redfish(RedfishError::Unauthorized { .. }))
                if wants_session && self.token.is_some() =>
            {
                tracing::debug!(target = %self.base, "session expired; logging in again");
                self.token = None;
                self.login().await?;
                self.get_once(path).await
            }
            other => other,
        }
    }

    /// GETs with the session as it is (several may run at once); an expired session comes
    /// back as [`RedfishError::Unauthorized`] for [`Client::get`] to renew.
    pub async fn get_shared(&self, path: &str) -> Result<Arc<Value>, DriverError> {
        self.get_once(same_service(path)?).await
    }

    async fn get_once(&self, path: &str) -> Result<Arc<Value>, DriverError> {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Accept", "application/json");
        match (&self.token, &self.auth) {
            (Some(t), _) => req = req.header("X-Auth-Token", t),
            (None, Some(a)) if !self.wants_session() => {
                req = req.basic_auth(&a.user, Some(a.password.expose()));
            }
            _ => {}
        }
        let resp = req.send().await.map_err(|e| self.transport(path, e))?;
        let status = resp.status().as_u16();
        let body = read_body(resp, path).await.map_err(|e| match e {
            Body::Redfish(r) => DriverError::Redfish(r),
            Body::Http(e) => self.transport(path, e),
        })?;
        decode_answer(path, status, &body).map_err(DriverError::from)
    }

    /// DSP0266 §13.3.4: POST the account to the session collection, keep `X-Auth-Token`.
    async fn login(&mut self) -> Result<(), DriverError> {
        let Some(a) = &self.auth else { return Ok(()) };
        let path = self.sessions.clone();
        let body = serde_json::json!({ "UserName": a.user, "Password": a.password.expose() });
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| self.transport(&path, e))?;
        let status = resp.status().as_u16();
        if matches!(status, 404 | 405 | 501) {
            tracing::info!(target = %self.base, status, "no Redfish sessions here; using Basic");
            self.no_sessions = true;
            return Ok(());
        }
        if matches!(status, 401 | 403) {
            // A service that guards everything with Basic (sushy-emulator with an auth file)
            // refuses the login before routing it: if Basic opens the root, use Basic.
            self.no_sessions = true;
            if self.get_once(ROOT).await.is_ok() {
                tracing::info!(target = %self.base, "sessions refused but Basic accepted; using Basic");
                return Ok(());
            }
            self.no_sessions = false;
        }
        if !(200..300).contains(&status) {
            return Err(RedfishError::LoginRefused { path, status }.into());
        }
        let token = resp
            .headers()
            .get("X-Auth-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match token {
            Some(t) => {
                self.token = Some(t);
                Ok(())
            }
            // A service (sushy-static) that takes the POST but hands out no token: Basic.
            None => {
                tracing::info!(target = %self.base, "login gave no X-Auth-Token; using Basic");
                self.no_sessions = true;
                Ok(())
            }
        }
    }

    fn transport(&self, path: &str, e: reqwest::Error) -> DriverError {
        if e.is_timeout() {
            return DriverError::Timeout(self.timeout);
        }
        let detail = chain(&e);
        if detail.contains("certificate") || detail.contains("TLS") || detail.contains("tls") {
            return RedfishError::Tls { detail }.into();
        }
        RedfishError::Connect {
            path: path.to_owned(),
            detail,
        }
        .into()
    }
}

/// One HTTP client per way of trusting certificates (and timeout), shared by every BMC that
/// trusts the same way: a client holds its own root store and TLS configuration, 150 kB each,
/// so 500 BMCs with a client each took 94 MB where SNMP polling of as many devices takes 16.
/// Connections stay per host inside it.
fn shared_client(trust: &TlsTrust, timeout: Duration) -> Result<reqwest::Client, RedfishError> {
    type Key = (u8, Vec<u8>, Duration);
    static CLIENTS: OnceLock<Mutex<HashMap<Key, reqwest::Client>>> = OnceLock::new();
    let key: Key = match trust {
        TlsTrust::System => (0, Vec::new(), timeout),
        TlsTrust::Ca(pem) => (1, pem.clone(), timeout),
        TlsTrust::Pin(sha) => (2, sha.to_vec(), timeout),
        TlsTrust::Insecure => (3, Vec::new(), timeout),
    };
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    // rustls needs a process-wide crypto provider; ring, as the sinks use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Two connections a BMC at most (a poll's two requests in flight), kept between polls.
        .pool_max_idle_per_host(2)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kilowatch/", env!("CARGO_PKG_VERSION")));
    match trust {
        TlsTrust::System => {}
        TlsTrust::Ca(pem) => {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| RedfishError::Tls {
                    detail: format!("ca_file: {e}"),
                })?;
            b = b.tls_certs_only(certs);
        }
        TlsTrust::Pin(sha256) => b = b.tls_backend_preconfigured(super::pin::config(*sha256)),
        TlsTrust::Insecure => b = b.tls_danger_accept_invalid_certs(true),
    }
    let client = b
        .build()
        .map_err(|e| RedfishError::Tls { detail: chain(&e) })?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// An answer's status and body as a resource, or why not: pure, the fuzz target's entry.
pub fn decode_answer(path: &str, status: u16, body: &[u8]) -> Result<Arc<Value>, RedfishError> {
    let path = path.to_owned();
    match status {
        401 => return Err(RedfishError::Unauthorized { path }),
        403 => return Err(RedfishError::Forbidden { path }),
        _ => {}
    }
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    if !(200..300).contains(&status) {
        // The service's own words, when it sent a Redfish error object.
        let reason = parsed.ok().and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(|m| m.chars().take(160).collect())
        });
        return Err(RedfishError::Status {
            path,
            status,
            reason,
        });
    }
    match parsed {
        Ok(v @ Value::Object(_)) => Ok(Arc::new(v)),
        Ok(_) => Err(RedfishError::NotJson {
            path,
            detail: "JSON, but not an object".to_owned(),
        }),
        Err(e) => Err(RedfishError::NotJson {
            path,
            detail: describe_body(body, &e),
        }),
    }
}

/// Only paths on this service are followed: a link to another host is refused.
fn same_service(link: &str) -> Result<&str, RedfishError> {
    let path = link.split('#').next().unwrap_or_default();
    if path.starts_with('/') && !path.starts_with("//") {
        Ok(path.trim_end_matches('/'))
    } else {
        Err(RedfishError::ForeignLink {
            link: link.chars().take(120).collect(),
        })
    }
}

enum Body {
    Redfish(RedfishError),
    Http(reqwest::Error),
}

/// The body, refusing one larger than [`MAX_BODY`] as it arrives.
async fn read_body(mut resp: reqwest::Response, path: &str) -> Result<Vec<u8>, Body> {
    let mut body = Vec::new();
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            // Small web servers (BMCs', Werkzeug's) close TLS without close_notify. A body cut
            // short that way is no worse than one cut by a plain close: the JSON parse that
            // follows refuses anything incomplete.
            Err(e) if !body.is_empty() && chain(&e).contains("close_notify") => break,
            Err(e) => return Err(Body::Http(e)),
        };
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Body::Redfish(RedfishError::TooLarge {
                path: path.to_owned(),
                max: MAX_BODY,
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error and its causes on one line: reqwest's own text says only "error sending request".
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_services_own_paths_are_followed() {
        assert_eq!(
            same_service("/redfish/v1/Chassis/1/Power#/PowerControl/0").ok(),
            Some("/redfish/v1/Chassis/1/Power")
        );
        assert!(same_service("https://evil.example/redfish/v1").is_err());
        assert!(same_service("//evil.example/x").is_err());
        assert!(same_service("Chassis").is_err());
    }
}
