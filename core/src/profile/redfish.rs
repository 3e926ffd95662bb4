//! Redfish profiles: where, in a service that follows the DMTF schema (DSP0268), each canonical
//! field sits. One profile serves every vendor that follows the schema; a vendor's quirk is one
//! more metric limited to that vendor, not code.
//!
//! A metric names a `resource` by the links to follow from the service root and a `value` inside
//! it, both as `/`-separated property names where `*` means every member of a collection (or
//! element of an array) and a number one element:
//!
//! ```toml
//! [[metrics]]
//! field = "temperature_c"
//! resource = "Chassis/*/Thermal"
//! value = "Temperatures/*/ReadingCelsius"
//! where = { PhysicalContext = "Intake" }
//! point = "inlet"
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::model::Field;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedfishProfile {
    /// `"redfish"`; already read to choose this struct.
    #[serde(rename = "protocol")]
    _protocol: String,
    pub description: String,
    /// The most resources one discovery may read: links are followed from the service root,
    /// and a BMC answering in 2 s must not be walked for minutes.
    #[serde(default = "max_resources")]
    pub max_resources: usize,
    pub metrics: Vec<RedfishMetric>,
}

fn max_resources() -> usize {
    64
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedfishMetric {
    #[serde(deserialize_with = "super::de_field")]
    pub field: Field,
    /// Links to follow from the service root. The first `*` names the owner (a chassis or a
    /// system): a device with one owner has its values untagged; with several, each point
    /// starts with the owner's `Id`.
    pub resource: String,
    /// Where the number sits inside the resource (no links followed); rows from a `*` carry
    /// their `MemberId` (or `Id`, else their position).
    pub value: String,
    /// The point tag; rows append their id when `point_rows` is set or when several rows of one
    /// owner would otherwise share a point.
    pub point: Option<Arc<str>>,
    #[serde(default)]
    pub point_rows: bool,
    /// Keep only rows (or, with no `*` in `value`, resources) whose property has this value:
    /// `where = { PhysicalContext = "Intake" }`.
    #[serde(default, rename = "where")]
    pub where_equals: BTreeMap<String, String>,
    /// Multiplier from the value to the field's unit (Redfish values are already SI).
    #[serde(default = "super::one")]
    pub scale: f64,
    /// Only on services whose root names this vendor (`Vendor`, or a key of `Oem`), ignoring
    /// case: a vendor quirk.
    pub vendor: Option<String>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Property(String),
    Index(usize),
    /// Every member of a collection (`Members`), or every element of an array.
    All,
}

/// Splits `Chassis/*/Power` into steps; `None` for an empty path or an empty step.
pub fn parse_path(s: &str) -> Option<Vec<Step>> {
    if s.trim().is_empty() {
        return None;
    }
    s.split('/')
        .map(|p| match p {
            "" => None,
            "*" => Some(Step::All),
            p => Some(
                p.parse::<usize>()
                    .map_or_else(|_| Step::Property(p.to_owned()), Step::Index),
            ),
        })
        .collect()
}

impl RedfishProfile {
    /// What serde cannot check: both paths parse, a value path has no link to follow.
    pub(super) fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_resources == 0 {
            problems.push("max_resources: must be at least 1".to_owned());
        }
        for (i, m) in self.metrics.iter().enumerate() {
            let key = format!("metrics[{i}]");
            if parse_path(&m.resource).is_none() {
                problems.push(format!(
                    "{key}.resource: '{}' is not a path like \"Chassis/*/Power\"",
                    m.resource
                ));
            }
            if parse_path(&m.value).is_none() {
                problems.push(format!(
                    "{key}.value: '{}' is not a path like \"PowerControl/0/PowerConsumedWatts\"",
                    m.value
                ));
            }
            if !(m.scale.is_finite() && m.scale != 0.0) {
                problems.push(format!("{key}.scale: must be a finite, non-zero number"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_steps() {
        assert_eq!(
            parse_path("Chassis/*/PowerControl/0"),
            Some(vec![
                Step::Property("Chassis".into()),
                Step::All,
                Step::Property("PowerControl".into()),
                Step::Index(0),
            ])
        );
        assert_eq!(parse_path(""), None);
        assert_eq!(parse_path("Chassis//Power"), None);
    }
}
