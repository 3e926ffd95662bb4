//! Redfish values into samples: the driver has already found each number and its point; here
//! each (metric, point) gets its series once, reused on every later poll.

use kilowatch_core::model::Sample;

use super::{RowSeries, Trace, push};
use crate::plan::Plan;
use crate::redfish::{RedfishPlan, RedfishValue, extract};

pub(super) fn decode_redfish(
    plan: &Plan,
    p: &RedfishPlan,
    values: &[RedfishValue],
    rows: &mut RowSeries,
    out: &mut Vec<Sample>,
    trace: &mut Trace<'_>,
) {
    for v in values {
        let Some(m) = p.entries.get(v.entry) else {
            continue;
        };
        let series = rows
            .named
            .entry((v.entry, v.point.clone()))
            .or_insert_with(|| plan.series(m.field, v.point.clone()))
            .clone();
        if push(out, Some(&series), m.field, v.value) {
            trace.push(|| format!("GET {} {}", v.path, extract::display(&m.value)));
        }
    }
}
