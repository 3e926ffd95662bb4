//! Taking numbers out of a Redfish resource: pure, no I/O, the fuzz target's subject. A value
//! path never follows a link; a row whose `Status.State` says the sensor is absent or disabled
//! gives no value, and neither does a `null` reading: no data is not zero.

use std::sync::Arc;

use kilowatch_core::profile::Step;
use serde_json::Value;

/// A number found in a resource, with the ids of the rows (`*`) it sits in.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub rows: Vec<Arc<str>>,
    pub value: f64,
}

/// Why a value path found something that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {what} is not a number")]
pub struct NotANumber {
    pub path: String,
    pub what: String,
}

/// The id a row goes by: `MemberId` (arrays in legacy resources), `Id` (collection members),
/// else its position.
pub fn row_id(v: &Value, position: usize) -> Arc<str> {
    ["MemberId", "Id"]
        .iter()
        .find_map(|k| match v.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(Arc::from(s.as_str())),
            Some(Value::Number(n)) => Some(Arc::from(n.to_string())),
            _ => None,
        })
        .unwrap_or_else(|| Arc::from(position.to_string()))
}

/// DSP0268 `Status.State` values under which a reading means nothing.
fn switched_off(v: &Value) -> bool {
    matches!(
        v.pointer("/Status/State").and_then(Value::as_str),
        Some("Absent" | "Disabled" | "UnavailableOffline" | "StandbyOffline")
    )
}

/// Whether `v` has every property `where_equals` names, with that value (text or number).
pub fn matches(v: &Value, where_equals: &[(String, String)]) -> bool {
    where_equals.iter().all(|(k, want)| match v.get(k) {
        Some(Value::String(s)) => s == want,
        Some(Value::Number(n)) => n.to_string() == *want,
        Some(Value::Bool(b)) => b.to_string() == *want,
        _ => false,
    })
}

/// Every number `steps` reaches in `doc`. Rows are filtered by `where_equals` (on the row
/// object; with no row, on `doc`) and by their status; a reading that is present but not a
/// number is a problem, not a value.
pub fn extract(
    doc: &Value,
    steps: &[Step],
    where_equals: &[(String, String)],
    out: &mut Vec<Found>,
    problems: &mut Vec<NotANumber>,
) {
    if !where_equals.is_empty() && !steps.contains(&Step::All) && !matches(doc, where_equals) {
        return;
    }
    walk(
        doc,
        steps,
        where_equals,
        &mut Vec::new(),
        out,
        problems,
        steps,
    );
}

fn walk(
    v: &Value,
    steps: &[Step],
    where_equals: &[(String, String)],
    rows: &mut Vec<Arc<str>>,
    out: &mut Vec<Found>,
    problems: &mut Vec<NotANumber>,
    whole: &[Step],
) {
    let Some((step, rest)) = steps.split_first() else {
        match v {
            Value::Number(n) => {
                if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                    out.push(Found {
                        rows: rows.clone(),
                        value: f,
                    });
                }
            }
            Value::Null => {}
            other => problems.push(NotANumber {
                path: display(whole),
                what: describe(other),
            }),
        }
        return;
    };
    match step {
        Step::Property(p) => {
            if let Some(next) = v.get(p.as_str()) {
                walk(next, rest, where_equals, rows, out, problems, whole);
            }
        }
        Step::Index(i) => {
            if let Some(next) = v.get(*i) {
                walk(next, rest, where_equals, rows, out, problems, whole);
            }
        }
        Step::All => {
            let items = match v {
                Value::Array(a) => a.as_slice(),
                Value::Object(o) => match o.get("Members") {
                    Some(Value::Array(a)) => a.as_slice(),
                    _ => &[],
                },
                _ => &[],
            };
            for (i, item) in items.iter().enumerate() {
                if switched_off(item) || !matches(item, where_equals) {
                    continue;
                }
                rows.push(row_id(item, i));
                walk(item, rest, where_equals, rows, out, problems, whole);
                rows.pop();
            }
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the text '{}'", s.chars().take(32).collect::<String>()),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::Number(_) | Value::Null => "a value".to_owned(),
    }
}

/// A path as a profile writes it.
pub fn display(steps: &[Step]) -> String {
    let parts: Vec<String> = steps
        .iter()
        .map(|s| match s {
            Step::Property(p) => p.clone(),
            Step::Index(i) => i.to_string(),
            Step::All => "*".to_owned(),
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::profile::parse_path;
    use serde_json::json;

    fn run(doc: &Value, path: &str, w: &[(&str, &str)]) -> (Vec<Found>, Vec<NotANumber>) {
        let w: Vec<(String, String)> = w
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        extract(doc, &parse_path(path).unwrap(), &w, &mut out, &mut problems);
        (out, problems)
    }

    #[test]
    fn rows_filtered_by_context_and_status_with_their_ids() {
        let doc = json!({"Temperatures": [
            {"MemberId": "0", "PhysicalContext": "CPU", "ReadingCelsius": 41},
            {"MemberId": "1", "PhysicalContext": "Intake", "Status": {"State": "Disabled"}, "ReadingCelsius": 99},
            {"MemberId": "2", "PhysicalContext": "Intake", "ReadingCelsius": 25.5},
            {"PhysicalContext": "Intake", "ReadingCelsius": null},
        ]});
        let (found, problems) = run(
            &doc,
            "Temperatures/*/ReadingCelsius",
            &[("PhysicalContext", "Intake")],
        );
        assert_eq!(
            found,
            vec![Found {
                rows: vec![Arc::from("2")],
                value: 25.5
            }]
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn text_where_a_number_belongs_is_a_problem_naming_the_path() {
        let doc = json!({"PowerWatts": {"Reading": "n/a"}});
        let (found, problems) = run(&doc, "PowerWatts/Reading", &[]);
        assert!(found.is_empty());
        assert_eq!(
            problems[0].to_string(),
            "PowerWatts/Reading: the text 'n/a' is not a number"
        );
    }

    #[test]
    fn a_where_without_rows_applies_to_the_resource() {
        let doc = json!({"PhysicalContext": "Exhaust", "Reading": 30});
        assert_eq!(
            run(&doc, "Reading", &[("PhysicalContext", "Intake")]).0,
            vec![]
        );
        assert_eq!(
            run(&doc, "Reading", &[("PhysicalContext", "Exhaust")]).0[0].value,
            30.0
        );
    }
}
