//! Discovery and extraction over DMTF's public mockups (tests/data/redfish), read from disk as
//! sushy-static serves them. The peer tests (tests/it/redfish.rs) do the same over HTTP.

use std::path::PathBuf;
use std::sync::Arc;

use kilowatch_core::model::Field;
use kilowatch_core::profile::{Profile, ProfileSet};
use serde_json::Value;

use super::*;

struct Files(PathBuf, usize);

impl Fetch for Files {
    async fn fetch(&mut self, path: &str) -> Result<Arc<Value>, DriverError> {
        self.1 += 1;
        let rel = path.trim_start_matches("/redfish/v1").trim_matches('/');
        let file = self.0.join(rel).join("index.json");
        match std::fs::read(&file) {
            Ok(b) => Ok(Arc::new(serde_json::from_slice(&b).map_err(|e| {
                RedfishError::NotJson {
                    path: path.into(),
                    detail: e.to_string(),
                }
            })?)),
            Err(_) => Err(RedfishError::Status {
                path: path.into(),
                status: 404,
                reason: None,
            }
            .into()),
        }
    }
}

fn plan() -> RedfishPlan {
    let (set, problems) = ProfileSet::load(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    let Some(Profile::Redfish(p)) = set.get("redfish-dmtf") else {
        panic!("no redfish-dmtf profile");
    };
    RedfishPlan::compile(p)
}

fn mockup(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/redfish")
        .join(name)
}

/// Every value one poll of the mockup gives, as (field, point, value).
async fn poll(name: &str) -> (Vec<(Field, Option<String>, f64)>, Discovery) {
    let plan = plan();
    let mut files = Files(mockup(name), 0);
    let root = files.fetch("/redfish/v1").await.unwrap();
    let d = discover(&plan, root, &mut files).await.unwrap();
    let mut values = Vec::new();
    let mut problems = Vec::new();
    for r in &d.resources {
        let doc = files.fetch(&r.path).await.unwrap();
        take_values(&plan, r, &doc, &mut values, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:?}");
    let out = values
        .into_iter()
        .map(|v| {
            (
                plan.entries[v.entry].field,
                v.point.map(|p| p.to_string()),
                v.value,
            )
        })
        .collect();
    (out, d)
}

fn one(values: &[(Field, Option<String>, f64)], field: Field, point: Option<&str>) -> Vec<f64> {
    values
        .iter()
        .filter(|(f, p, _)| *f == field && p.as_deref() == point)
        .map(|(_, _, v)| *v)
        .collect()
}

/// public-rackmount1 has both forms: the newer resources win, the legacy ones are not read.
#[tokio::test]
async fn newer_resources_win_over_legacy_ones_per_chassis() {
    let (values, d) = poll("public-rackmount1").await;
    assert_eq!(one(&values, Field::PowerW, None), vec![374.0]);
    assert_eq!(one(&values, Field::PowerW, Some("psuBay1")), vec![937.4]);
    assert!(
        !d.resources.iter().any(|r| r.path.ends_with("/Power")),
        "legacy Power read although EnvironmentMetrics gives power: {:?}",
        d.resources.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(d.fetched <= plan().max_resources + 1);
}

/// A vendor quirk is data: the Dell metrics apply only where the service root names Dell.
#[tokio::test]
async fn a_vendor_quirk_applies_only_to_that_vendor() {
    let thermal = serde_json::json!({"Temperatures": [
        {"MemberId": "iDRAC.Embedded.1#SystemBoardInletTemp", "Name": "System Board Inlet Temp",
         "PhysicalContext": "SystemBoard", "ReadingCelsius": 23},
    ]});
    let docs = |vendor: &str| {
        let mut m = std::collections::HashMap::new();
        m.insert(
            "/redfish/v1",
            serde_json::json!({"Vendor": vendor, "Chassis": {"@odata.id": "/redfish/v1/Chassis"}}),
        );
        m.insert("/redfish/v1/Chassis", serde_json::json!({"Members": [{"@odata.id": "/redfish/v1/Chassis/System.Embedded.1"}]}));
        m.insert("/redfish/v1/Chassis/System.Embedded.1", serde_json::json!({"Thermal": {"@odata.id": "/redfish/v1/Chassis/System.Embedded.1/Thermal"}}));
        m.insert(
            "/redfish/v1/Chassis/System.Embedded.1/Thermal",
            thermal.clone(),
        );
        Map(m)
    };
    struct Map(std::collections::HashMap<&'static str, Value>);
    impl Fetch for Map {
        async fn fetch(&mut self, path: &str) -> Result<Arc<Value>, DriverError> {
            self.0.get(path).cloned().map(Arc::new).ok_or_else(|| {
                RedfishError::Status {
                    path: path.into(),
                    status: 404,
                    reason: None,
                }
                .into()
            })
        }
    }
    let plan = plan();
    for (vendor, want) in [("Dell", vec![23.0]), ("HPE", vec![])] {
        let mut m = docs(vendor);
        let root = m.fetch("/redfish/v1").await.unwrap();
        let d = discover(&plan, root, &mut m).await.unwrap();
        let (mut values, mut problems) = (Vec::new(), Vec::new());
        for r in &d.resources {
            let doc = m.fetch(&r.path).await.unwrap();
            take_values(&plan, r, &doc, &mut values, &mut problems);
        }
        let inlet: Vec<f64> = values
            .iter()
            .filter(|v| v.point.as_deref() == Some("inlet"))
            .map(|v| v.value)
            .collect();
        assert_eq!(inlet, want, "{vendor}");
    }
}
