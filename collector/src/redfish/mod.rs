//! The Redfish driver: a BMC's own power, energy and temperatures over HTTPS, read with GET
//! only. The profile says where values sit in the DMTF schema; discovery follows the service's
//! links once to find them ([`discover`]), and each poll reads just those resources, at most two
//! requests in flight to one BMC (their web servers are small and slow).

pub mod discover;
mod error;
pub mod extract;
mod http;
mod pin;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kilowatch_core::config::RedfishAuth;
use kilowatch_core::model::Field;
use kilowatch_core::profile::{RedfishProfile, Step, parse_path};
use serde_json::Value;

pub use discover::{Discovery, Fetch, discover, navigate};
pub use error::RedfishError;
pub use http::decode_answer;

use crate::DriverError;

/// Requests in flight to one BMC.
const PER_BMC: usize = 2;
/// How long a discovery stands: firmware updates move resources, so the links are followed
/// again now and then (and at once when a resource goes missing).
const REDISCOVER: Duration = Duration::from_secs(6 * 3600);

/// A profile compiled: paths parsed once, shared by every device of the profile.
#[derive(Debug, Clone)]
pub struct RedfishPlan {
    pub entries: Arc<[RedfishEntry]>,
    pub max_resources: usize,
}

#[derive(Debug, Clone)]
pub struct RedfishEntry {
    pub field: Field,
    pub resource: Vec<Step>,
    pub value: Vec<Step>,
    pub point: Option<Arc<str>>,
    pub point_rows: bool,
    pub where_equals: Vec<(String, String)>,
    pub scale: f64,
    pub vendor: Option<String>,
}

impl RedfishPlan {
    /// The profile was checked when loaded, so its paths parse; a path that does not (a
    /// profile built by hand) is left out.
    pub fn compile(p: &RedfishProfile) -> RedfishPlan {
        let entries = p
            .metrics
            .iter()
            .filter_map(|m| {
                Some(RedfishEntry {
                    field: m.field,
                    resource: parse_path(&m.resource)?,
                    value: parse_path(&m.value)?,
                    point: m.point.clone(),
                    point_rows: m.point_rows,
                    where_equals: m
                        .where_equals
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    scale: m.scale,
                    vendor: m.vendor.clone(),
                })
            })
            .collect();
        RedfishPlan {
            entries,
            max_resources: p.max_resources,
        }
    }
}

/// One value a poll read, before it becomes a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct RedfishValue {
    pub entry: usize,
    pub point: Option<Arc<str>>,
    pub value: f64,
    /// The resource it came from.
    pub path: Arc<str>,
}

#[derive(Debug)]
pub struct RedfishDriver {
    /// The client, or why it could not be built (a CA file that is not PEM), told every poll.
    client: Result<http::Client, RedfishError>,
    socket: String,
    discovery: Option<(Arc<Discovery>, Instant)>,
}

impl RedfishDriver {
    pub fn new(
        socket: String,
        tls: bool,
        auth: Option<RedfishAuth>,
        timeout: Duration,
    ) -> RedfishDriver {
        let client = http::Client::new(&socket, tls, auth, timeout);
        RedfishDriver {
            client,
            socket,
            discovery: None,
        }
    }

    pub async fn read(
        &mut self,
        plan: &RedfishPlan,
    ) -> Result<(Vec<RedfishValue>, Vec<String>), DriverError> {
        let client = match &mut self.client {
            Ok(c) => c,
            Err(e) => return Err(e.clone().into()),
        };
        let fresh = self
            .discovery
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < REDISCOVER);
        let mut problems = Vec::new();
        // Discovery has just read every resource a poll reads: use those answers once.
        let mut first = Vec::new();
        if !fresh {
            let root = client.get(http::ROOT).await?;
            client.set_sessions(&root);
            let mut found = discover(plan, root, &mut ClientFetch(client)).await?;
            tracing::debug!(
                target = %self.socket,
                fetched = found.fetched,
                resources = found.resources.len(),
                "redfish discovery"
            );
            first = std::mem::take(&mut found.first_docs);
            self.discovery = Some((Arc::new(found), Instant::now()));
        }
        let Some((d, _)) = &self.discovery else {
            return Ok((Vec::new(), problems));
        };
        let d = d.clone();
        if d.truncated {
            problems.push(format!(
                "discovery stopped after {} resources (the profile's max_resources)",
                plan.max_resources
            ));
        }
        client.ensure_login().await?;
        let mut docs = Vec::with_capacity(d.resources.len());
        {
            let client = &*client;
            let first = &first;
            // Built as a list first: a closure making the futures trips the compiler's
            // higher-ranked lifetime check inside the scheduler's spawned task.
            let futures: Vec<_> = d
                .resources
                .iter()
                .enumerate()
                .map(|(i, r)| async move {
                    match first.get(i).cloned().flatten() {
                        Some(doc) => (i, Ok(doc)),
                        None => (i, client.get_shared(&r.path).await),
                    }
                })
                .collect();
            let mut gets = futures_util::stream::iter(futures).buffer_unordered(PER_BMC);
            while let Some(done) = gets.next().await {
                docs.push(done);
            }
        }
        docs.sort_by_key(|(i, _)| *i);
        let mut values = Vec::new();
        let mut missing = false;
        for (i, got) in docs {
            let r = &d.resources[i];
            // The session expired between polls: `get` logs in again and retries.
            let got = match got {
                Err(DriverError::Redfish(RedfishError::Unauthorized { .. })) => {
                    client.get(&r.path).await
                }
                other => other,
            };
            match got {
                Ok(doc) => take_values(plan, r, &doc, &mut values, &mut problems),
                Err(DriverError::Redfish(e)) if e.is_missing() => {
                    missing = true;
                    problems.push(e.to_string());
                }
                // A BMC that stops answering, or refuses us, fails the poll as a whole.
                Err(e) => return Err(e),
            }
        }
        if missing {
            self.discovery = None;
        }
        Ok((values, problems))
    }
}

/// Discovery's GETs go through the driver's client.
struct ClientFetch<'a>(&'a mut http::Client);

impl Fetch for ClientFetch<'_> {
    async fn fetch(&mut self, path: &str) -> Result<Arc<Value>, DriverError> {
        self.0.get(path).await
    }
}

/// The values `r`'s takes find in `doc`.
pub fn take_values(
    plan: &RedfishPlan,
    r: &discover::Resource,
    doc: &Value,
    out: &mut Vec<RedfishValue>,
    problems: &mut Vec<String>,
) {
    for t in &r.takes {
        let Some(m) = plan.entries.get(t.entry) else {
            continue;
        };
        let Some(at) = navigate(doc, &t.inner) else {
            continue;
        };
        let (mut found, mut bad) = (Vec::new(), Vec::new());
        extract::extract(at, &m.value, &m.where_equals, &mut found, &mut bad);
        problems.extend(bad.iter().map(|b| format!("{} {}: {b}", m.field, r.path)));
        let several = found.len() > 1;
        for f in found {
            let rows: Vec<&str> = t.rows.iter().chain(f.rows.iter()).map(|s| &**s).collect();
            let point = point_of(
                m.point.as_deref(),
                (m.point_rows || several).then_some(&rows[..]),
                t.tag_owner.then_some(t.owner.as_deref()).flatten(),
            );
            out.push(RedfishValue {
                entry: t.entry,
                point,
                value: f.value * m.scale,
                path: r.path.clone(),
            });
        }
    }
}

/// `psu` + rows `Bay1` → `psuBay1`; an owner goes first: `Blade2/inlet`.
fn point_of(prefix: Option<&str>, rows: Option<&[&str]>, owner: Option<&str>) -> Option<Arc<str>> {
    let mut p = String::from(prefix.unwrap_or_default());
    if let Some(rows) = rows.filter(|r| !r.is_empty()) {
        p.push_str(&rows.join("."));
    }
    if let Some(o) = owner {
        p = if p.is_empty() {
            o.to_owned()
        } else {
            format!("{o}/{p}")
        };
    }
    (!p.is_empty()).then(|| Arc::from(p))
}

impl std::fmt::Display for RedfishDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redfish {}", self.socket)
    }
}

#[cfg(test)]
mod tests;
