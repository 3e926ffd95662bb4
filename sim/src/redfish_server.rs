//! A simulated server's BMC over Redfish (HTTP on loopback): the service root, one chassis with
//! `EnvironmentMetrics` (power) and `ThermalSubsystem/ThermalMetrics` (inlet and exhaust air),
//! one system with `ProcessorSummary/ProcessorMetrics` (CPU use), all from the physics model.
//!
//! Like a BMC it wants an account: a session (`POST .../Sessions`, DSP0266 §13.3.4) whose token
//! lasts `session_ttl` since its last use, or Basic on every request. Anything else is 401.
//! Read-only: every method but GET (and the login POST) is 405.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Pace;

/// What one BMC serves: read afresh for every request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub power_w: f64,
    pub cpu_pct: f64,
    pub inlet_c: f64,
    pub exhaust_c: f64,
}

/// The account and how long a session lasts.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
    pub session_ttl: Duration,
}

struct Bmc<F> {
    read: F,
    account: Account,
    pace: Pace,
    /// Token → last use.
    sessions: Mutex<HashMap<String, Instant>>,
}

/// Serves one BMC on `listener` until `cancel` fires.
pub async fn serve<F>(
    listener: TcpListener,
    read: F,
    account: Account,
    pace: impl Into<Pace>,
    cancel: CancellationToken,
) where
    F: Fn() -> Reading + Send + Sync + 'static,
{
    let bmc = Arc::new(Bmc {
        read,
        account,
        pace: pace.into(),
        sessions: Mutex::new(HashMap::new()),
    });
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let bmc = bmc.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let bmc = bmc.clone();
                async move { Ok::<_, Infallible>(bmc.answer(req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = conn => {}
            }
        });
    }
}

impl<F: Fn() -> Reading> Bmc<F> {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let Some(delay) = self.pace.sample() else {
            // A failed BMC's web server still up, its service not.
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                error(
                    "Base.1.0.ServiceTemporarilyUnavailable",
                    "the BMC has failed",
                ),
                None,
            );
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let path = req.uri().path().trim_end_matches('/').to_owned();
        match (req.method(), path.as_str()) {
            (&Method::POST, "/redfish/v1/SessionService/Sessions") => self.login(req).await,
            (&Method::GET, "/redfish/v1") => reply(StatusCode::OK, root(), None),
            (&Method::GET, _) if !self.allowed(&req) => unauthorized(),
            (&Method::GET, p) => match self.resource(p) {
                Some(v) => reply(StatusCode::OK, v, None),
                None => reply(
                    StatusCode::NOT_FOUND,
                    error("Base.1.0.ResourceMissingAtURI", "no such resource"),
                    None,
                ),
            },
            _ => reply(
                StatusCode::METHOD_NOT_ALLOWED,
                error("Base.1.0.OperationNotAllowed", "this BMC is read-only"),
                None,
            ),
        }
    }

    fn allowed(&self, req: &Request<Incoming>) -> bool {
        if let Some(token) = req
            .headers()
            .get("X-Auth-Token")
            .and_then(|v| v.to_str().ok())
        {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            return match sessions.get_mut(token) {
                Some(used) if used.elapsed() < self.account.session_ttl => {
                    *used = Instant::now();
                    true
                }
                Some(_) => {
                    sessions.remove(token);
                    false
                }
                None => false,
            };
        }
        req.headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| BASE64.decode(b.trim()).ok())
            .is_some_and(|pair| {
                pair == format!("{}:{}", self.account.user, self.account.password).into_bytes()
            })
    }

    async fn login(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let body = match req.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return unauthorized(),
        };
        let creds: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if creds["UserName"] != self.account.user.as_str()
            || creds["Password"] != self.account.password.as_str()
        {
            return unauthorized();
        }
        let token = format!("{:032x}", fastrand::u128(..));
        let id = &token[..8];
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), Instant::now());
        let session = json!({
            "@odata.id": format!("/redfish/v1/SessionService/Sessions/{id}"),
            "Id": id, "UserName": self.account.user,
        });
        reply(StatusCode::CREATED, session, Some(token))
    }

    fn resource(&self, path: &str) -> Option<Value> {
        let r = (self.read)();
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let link = |p: &str| json!({ "@odata.id": p });
        let v = match path {
            "/redfish/v1/Chassis" => collection("/redfish/v1/Chassis/1"),
            "/redfish/v1/Systems" => collection("/redfish/v1/Systems/1"),
            "/redfish/v1/Chassis/1" => json!({
                "@odata.id": path, "Id": "1", "Name": "Simulated server",
                "EnvironmentMetrics": link("/redfish/v1/Chassis/1/EnvironmentMetrics"),
                "ThermalSubsystem": link("/redfish/v1/Chassis/1/ThermalSubsystem"),
            }),
            "/redfish/v1/Chassis/1/EnvironmentMetrics" => json!({
                "@odata.id": path, "Id": "EnvironmentMetrics",
                "PowerWatts": { "Reading": round(r.power_w) },
            }),
            "/redfish/v1/Chassis/1/ThermalSubsystem" => json!({
                "@odata.id": path, "Id": "ThermalSubsystem",
                "ThermalMetrics": link("/redfish/v1/Chassis/1/ThermalSubsystem/ThermalMetrics"),
            }),
            "/redfish/v1/Chassis/1/ThermalSubsystem/ThermalMetrics" => json!({
                "@odata.id": path, "Id": "ThermalMetrics",
                "TemperatureSummaryCelsius": {
                    "Intake": { "Reading": round(r.inlet_c) },
                    "Exhaust": { "Reading": round(r.exhaust_c) },
                },
            }),
            "/redfish/v1/Systems/1" => json!({
                "@odata.id": path, "Id": "1",
                "ProcessorSummary": {
                    "Count": 2,
                    "Metrics": link("/redfish/v1/Systems/1/ProcessorSummary/ProcessorMetrics"),
                },
            }),
            "/redfish/v1/Systems/1/ProcessorSummary/ProcessorMetrics" => json!({
                "@odata.id": path, "Id": "ProcessorMetrics",
                "BandwidthPercent": round(r.cpu_pct),
            }),
            _ => return None,
        };
        Some(v)
    }
}

fn root() -> Value {
    json!({
        "@odata.id": "/redfish/v1", "Id": "RootService", "RedfishVersion": "1.15.0",
        "Vendor": "Kilowatch simulator",
        "Chassis": { "@odata.id": "/redfish/v1/Chassis" },
        "Systems": { "@odata.id": "/redfish/v1/Systems" },
        "Links": { "Sessions": { "@odata.id": "/redfish/v1/SessionService/Sessions" } },
    })
}

fn collection(member: &str) -> Value {
    json!({ "Members@odata.count": 1, "Members": [{ "@odata.id": member }] })
}

fn error(id: &str, message: &str) -> Value {
    json!({ "error": { "code": id, "message": message } })
}

fn unauthorized() -> Response<Full<Bytes>> {
    reply(
        StatusCode::UNAUTHORIZED,
        error("Base.1.0.NoValidSession", "log in first"),
        None,
    )
}

fn reply(status: StatusCode, body: Value, token: Option<String>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        "Content-Type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Some(t) = token.and_then(|t| hyper::header::HeaderValue::from_str(&t).ok()) {
        h.insert("X-Auth-Token", t);
    }
    r
}
