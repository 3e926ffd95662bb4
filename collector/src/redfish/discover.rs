//! Finding, once, which resources of a BMC hold what the profile asks for: links are followed
//! from the service root (at most `max_resources` GETs), alternatives are settled per owner,
//! and what is left is the short list of resources a poll reads.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kilowatch_core::model::Field;
use kilowatch_core::profile::Step;
use serde_json::Value;

use super::RedfishPlan;
use super::extract::{self, row_id};
use crate::DriverError;

/// Where discovery gets resources: the BMC, or a map in tests and the fuzz target.
pub trait Fetch {
    fn fetch(
        &mut self,
        path: &str,
    ) -> impl std::future::Future<Output = Result<Arc<Value>, DriverError>>;
}

/// A field and point: what alternatives compete for.
type Key = (Field, Option<Arc<str>>);

/// What a poll reads: each resource once, and what to take from it.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub resources: Vec<Resource>,
    /// Links not followed because the budget ran out.
    pub truncated: bool,
    pub fetched: usize,
    /// Each resource as discovery read it, so the first poll need not read it again.
    pub first_docs: Vec<Option<Arc<Value>>>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub path: Arc<str>,
    pub takes: Vec<Take>,
}

/// One metric's share of a resource.
#[derive(Debug, Clone)]
pub struct Take {
    pub entry: usize,
    /// From the resource to the object the value path starts at, when that object is inline.
    pub inner: Vec<Step>,
    /// The chassis or system (the first `*`).
    pub owner: Option<Arc<str>>,
    /// Ids of later `*`s in the resource path.
    pub rows: Vec<Arc<str>>,
    /// Several owners give this field and point: the point names the owner.
    pub tag_owner: bool,
}

/// A place reached while following a resource path.
#[derive(Clone)]
struct Cursor {
    path: Arc<str>,
    doc: Arc<Value>,
    inner: Vec<Step>,
    owner: Option<Arc<str>>,
    rows: Vec<Arc<str>>,
}

impl Cursor {
    fn at(&self) -> Option<&Value> {
        navigate(&self.doc, &self.inner)
    }
}

/// Follows concrete steps (no `*`) inside one document.
pub fn navigate<'a>(doc: &'a Value, inner: &[Step]) -> Option<&'a Value> {
    inner.iter().try_fold(doc, |v, s| match s {
        Step::Property(p) => v.get(p.as_str()),
        Step::Index(i) => v.get(*i),
        Step::All => None,
    })
}

/// A navigation property: an object holding only `@odata.*` keys and an `@odata.id`.
fn link(v: &Value) -> Option<&str> {
    let o = v.as_object()?;
    let id = o.get("@odata.id")?.as_str()?;
    o.keys().all(|k| k.starts_with("@odata")).then_some(id)
}

struct Walker<'f, F> {
    fetcher: &'f mut F,
    cache: HashMap<String, Option<Arc<Value>>>,
    budget: usize,
    truncated: bool,
}

impl<F: Fetch> Walker<'_, F> {
    /// A linked resource, fetched once; `None` when missing or over budget.
    async fn get(&mut self, path: &str) -> Result<Option<Arc<Value>>, DriverError> {
        let key = path.split('#').next().unwrap_or_default().to_owned();
        if let Some(v) = self.cache.get(&key) {
            return Ok(v.clone());
        }
        if self.cache.len() >= self.budget {
            self.truncated = true;
            return Ok(None);
        }
        let got = match self.fetcher.fetch(&key).await {
            Ok(v) => Some(v),
            Err(DriverError::Redfish(e)) if e.is_missing() => None,
            Err(e) => return Err(e),
        };
        self.cache.insert(key, got.clone());
        Ok(got)
    }

    /// Moves to `v`, fetching it when it is a link.
    async fn enter(
        &mut self,
        from: &Cursor,
        v: &Value,
        step: Step,
    ) -> Result<Option<Cursor>, DriverError> {
        match link(v) {
            Some(target) => {
                let path = target.split('#').next().unwrap_or_default();
                Ok(self.get(path).await?.map(|doc| Cursor {
                    path: Arc::from(path.trim_end_matches('/')),
                    doc,
                    inner: Vec::new(),
                    owner: from.owner.clone(),
                    rows: from.rows.clone(),
                }))
            }
            None => {
                let mut c = from.clone();
                c.inner.push(step);
                Ok(Some(c))
            }
        }
    }

    async fn follow(&mut self, root: Cursor, steps: &[Step]) -> Result<Vec<Cursor>, DriverError> {
        let mut here = vec![root];
        for (depth, step) in steps.iter().enumerate() {
            let mut next = Vec::new();
            for c in &here {
                let Some(v) = c.at() else { continue };
                match step {
                    Step::Property(p) => {
                        if let Some(child) = v.get(p.as_str())
                            && let Some(n) = self.enter(c, child, step.clone()).await?
                        {
                            next.push(n);
                        }
                    }
                    Step::Index(i) => {
                        if let Some(child) = v.get(*i)
                            && let Some(n) = self.enter(c, child, step.clone()).await?
                        {
                            next.push(n);
                        }
                    }
                    Step::All => {
                        let (items, via_members) = match v {
                            Value::Array(a) => (a.as_slice(), false),
                            Value::Object(o) => match o.get("Members") {
                                Some(Value::Array(a)) => (a.as_slice(), true),
                                _ => (&[][..], false),
                            },
                            _ => (&[][..], false),
                        };
                        for (i, item) in items.iter().enumerate() {
                            let mut base = c.clone();
                            if via_members {
                                base.inner.push(Step::Property("Members".into()));
                            }
                            let Some(mut n) = self.enter(&base, item, Step::Index(i)).await? else {
                                continue;
                            };
                            let Some(target) = n.at() else { continue };
                            // A linked member goes by its URL's last segment, which is unique
                            // where `Id` may not be (a DMTF mockup gives two supplies one Id).
                            let id = match link(item) {
                                Some(l) => l
                                    .split('#')
                                    .next()
                                    .unwrap_or_default()
                                    .trim_end_matches('/')
                                    .rsplit('/')
                                    .next()
                                    .filter(|s| !s.is_empty())
                                    .map_or_else(|| row_id(target, i), Arc::from),
                                None => row_id(target, i),
                            };
                            // The first `*` of a resource path is its owner.
                            if depth == first_star(steps) {
                                n.owner = Some(id);
                            } else {
                                n.rows.push(id);
                            }
                            next.push(n);
                        }
                    }
                }
            }
            here = next;
        }
        Ok(here)
    }
}

fn first_star(steps: &[Step]) -> usize {
    steps
        .iter()
        .position(|s| *s == Step::All)
        .unwrap_or(usize::MAX)
}

/// Whether the service root names `vendor` (`Vendor`, or a key of `Oem`), ignoring case.
fn is_vendor(root: &Value, vendor: &str) -> bool {
    let v = vendor.to_lowercase();
    let named = root
        .get("Vendor")
        .and_then(Value::as_str)
        .is_some_and(|s| s.to_lowercase().contains(&v));
    let oem = root
        .get("Oem")
        .and_then(Value::as_object)
        .is_some_and(|o| o.keys().any(|k| k.to_lowercase().contains(&v)));
    named || oem
}

/// Walks the service from its root (already fetched) for every metric of `plan`.
pub async fn discover<F: Fetch>(
    plan: &RedfishPlan,
    root: Arc<Value>,
    fetcher: &mut F,
) -> Result<Discovery, DriverError> {
    let mut w = Walker {
        fetcher,
        cache: HashMap::new(),
        budget: plan.max_resources,
        truncated: false,
    };
    let start = Cursor {
        path: Arc::from(super::http::ROOT),
        doc: root.clone(),
        inner: Vec::new(),
        owner: None,
        rows: Vec::new(),
    };
    // Per (field, point, owner): the first metric that gives a value there.
    let mut taken: HashSet<(Key, Option<Arc<str>>)> = HashSet::new();
    let mut takes: Vec<(Arc<str>, Take)> = Vec::new();
    for (entry, m) in plan.entries.iter().enumerate() {
        if m.vendor.as_deref().is_some_and(|v| !is_vendor(&root, v)) {
            continue;
        }
        let cursors = w.follow(start.clone(), &m.resource).await?;
        let mut won = Vec::new();
        for c in cursors {
            let key = ((m.field, m.point.clone()), c.owner.clone());
            if taken.contains(&key) {
                continue;
            }
            let Some(at) = c.at() else { continue };
            let (mut found, mut problems) = (Vec::new(), Vec::new());
            extract::extract(at, &m.value, &m.where_equals, &mut found, &mut problems);
            // A value, or a reading that is there but broken (to be reported each poll).
            if found.is_empty() && problems.is_empty() {
                continue;
            }
            won.push(key);
            takes.push((
                c.path.clone(),
                Take {
                    entry,
                    inner: c.inner,
                    owner: c.owner,
                    rows: c.rows,
                    tag_owner: false,
                },
            ));
        }
        taken.extend(won);
    }
    // A field and point given by several owners (a blade enclosure's chassis) names its owner.
    let mut owners: HashMap<Key, HashSet<Option<Arc<str>>>> = HashMap::new();
    for (_, t) in &takes {
        let m = &plan.entries[t.entry];
        owners
            .entry((m.field, m.point.clone()))
            .or_default()
            .insert(t.owner.clone());
    }
    let mut resources: Vec<Resource> = Vec::new();
    for (path, mut t) in takes {
        let m = &plan.entries[t.entry];
        t.tag_owner = owners
            .get(&(m.field, m.point.clone()))
            .is_some_and(|o| o.len() > 1);
        match resources.iter_mut().find(|r| r.path == path) {
            Some(r) => r.takes.push(t),
            None => resources.push(Resource {
                path,
                takes: vec![t],
            }),
        }
    }
    let fetched = w.cache.len() + 1;
    let first_docs = resources
        .iter()
        .map(|r| {
            if &*r.path == super::http::ROOT {
                return Some(root.clone());
            }
            w.cache.get(&*r.path).cloned().flatten()
        })
        .collect();
    Ok(Discovery {
        resources,
        truncated: w.truncated,
        fetched,
        first_docs,
    })
}
