//! Alerts as people and receivers see them: labels that route well (site, room, rack, device,
//! severity, rule), a one-line summary with the value, and a link to the evidence.

use std::collections::BTreeMap;
use std::sync::Arc;

use kilowatch_core::event::{TrapEffect, TrapEvent};
use kilowatch_core::model::{Series, Timestamp};
use kilowatch_store::TrapRow;

use crate::compile::{Compiled, Place};
pub use crate::notify::{Note, Status};

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// One series (a rule on a field).
    Series(Arc<Series>),
    /// A device (down).
    Device(Arc<str>),
    /// `site/rack` (rack budget).
    Rack(Arc<str>),
    /// A site (PUE drift).
    Site(Arc<str>),
    /// A trap's sender: its device id, or its IP when the inventory does not know it.
    Trap(Arc<str>),
}

impl Subject {
    /// How the store names it.
    pub fn id(&self) -> String {
        match self {
            Subject::Series(s) => format!("series:{}", s.key()),
            Subject::Device(d) => format!("device:{d}"),
            Subject::Rack(r) => format!("rack:{r}"),
            Subject::Site(s) => format!("site:{s}"),
            Subject::Trap(d) => format!("trap:{d}"),
        }
    }
}

/// A number as people read it: no more than two decimals.
fn show(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The notification for an alert that fired at `since`.
#[allow(clippy::too_many_arguments)]
pub fn render(
    rule: &Compiled,
    subject: &Subject,
    device: Option<&Place>,
    since: Timestamp,
    value: f64,
    limit: f64,
    why: &str,
    external_url: Option<&str>,
) -> Note {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_owned(), rule.name.clone());
    labels.insert("rule".to_owned(), rule.name.clone());
    labels.insert("severity".to_owned(), rule.severity.name().to_owned());
    if let Some(d) = device {
        labels.insert("site".into(), d.site.to_string());
        labels.insert("device".into(), d.id.to_string());
        labels.insert("profile".into(), d.profile.to_string());
        for (k, v) in [("room", &d.room), ("rack", &d.rack)] {
            if let Some(v) = v {
                labels.insert(k.into(), v.to_string());
            }
        }
    }
    match subject {
        Subject::Series(s) => {
            for (k, v) in s.tags() {
                labels.insert(k.to_owned(), v.to_owned());
            }
            if let Some(f) = rule.rule.as_ref().and_then(|r| r.condition.field()) {
                labels.insert("field".into(), f.name().to_owned());
            }
        }
        Subject::Rack(r) => {
            if let Some((site, rack)) = r.split_once('/') {
                labels.insert("site".into(), site.to_owned());
                labels.insert("rack".into(), rack.to_owned());
            }
        }
        Subject::Device(d) => {
            labels.insert("device".into(), d.to_string());
        }
        Subject::Site(s) => {
            labels.insert("site".into(), s.to_string());
        }
        Subject::Trap(d) => {
            labels
                .entry("device".into())
                .or_insert_with(|| d.to_string());
            labels.insert("source".into(), "snmp-trap".into());
        }
    }
    let shown_value = if value.is_finite() {
        show(value)
    } else if !why.is_empty() {
        why.to_owned()
    } else {
        "no data".to_owned()
    };
    let fill = |t: &str| {
        t.replace("{value}", &shown_value)
            .replace("{limit}", &show(limit))
            .replace("{device}", labels.get("device").map_or("", String::as_str))
            .replace("{point}", labels.get("point").map_or("", String::as_str))
            .replace("{rack}", labels.get("rack").map_or("", String::as_str))
    };
    let mut annotations = BTreeMap::new();
    let summary = rule.summary.as_deref().map(fill).unwrap_or_else(|| {
        let place: Vec<&str> = ["site", "rack", "device", "point"]
            .iter()
            .filter_map(|k| labels.get(*k).map(String::as_str))
            .collect();
        format!("{} on {}: {shown_value}", rule.name, place.join(" "))
    });
    annotations.insert("summary".to_owned(), summary);
    annotations.insert("value".to_owned(), shown_value);
    if limit.is_finite() {
        annotations.insert("limit".to_owned(), show(limit));
    }
    if !why.is_empty() && value.is_finite() {
        annotations.insert("description".to_owned(), why.to_owned());
    }
    let generator_url = external_url.map(|base| {
        let mut u = format!("{}?alert={}", base.trim_end_matches('/'), rule.name);
        if let Some(d) = labels.get("device") {
            u.push_str("&device=");
            u.push_str(d);
        }
        u
    });
    Note {
        status: Status::Firing,
        labels,
        annotations,
        starts_at: since,
        ends_at: None,
        generator_url,
    }
}

/// A trap as the trap log keeps it.
pub fn trap_row(ev: &TrapEvent, sender: &str) -> TrapRow {
    let effect = match &ev.effect {
        TrapEffect::Raise { alert, .. } => format!("raise {alert}"),
        TrapEffect::Clear { alert } => format!("clear {alert}"),
        TrapEffect::Notice { severity } => format!("notice {}", severity.name()),
        TrapEffect::Unknown => "unknown".to_owned(),
    };
    TrapRow {
        at: ev.at,
        source: if sender == ev.source.to_string() {
            sender.to_owned()
        } else {
            format!("{sender} ({})", ev.source)
        },
        version: if ev.inform {
            format!("{} inform", ev.version)
        } else {
            ev.version.to_owned()
        },
        trap_oid: ev.trap_oid.clone(),
        name: ev.name.clone(),
        effect,
        summary: ev.summary.clone(),
        varbinds: serde_json::to_string(&ev.varbinds).unwrap_or_default(),
    }
}
