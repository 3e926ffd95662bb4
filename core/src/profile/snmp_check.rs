//! What serde cannot check in an SNMP profile: exactly one of `oid`/`walk`, numeric OIDs, keys
//! that only apply to a walk or to some fields, and keys that need their partner.

use super::{Field, SnmpProfile, parse_oid};

impl SnmpProfile {
    pub(super) fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let key = format!("metrics[{i}]");
            match (&m.oid, &m.walk) {
                (Some(o), None) | (None, Some(o)) => {
                    if parse_oid(o).is_none() {
                        problems.push(format!("{key}: '{o}' is not a numeric OID"));
                    }
                }
                _ => problems.push(format!(
                    "{key}: give exactly one of 'oid' (GET) or 'walk' (table column)"
                )),
            }
            if m.walk.is_none()
                && (m.aggregate.is_some() || m.index_suffix.is_some() || m.point_name.is_some())
            {
                problems.push(format!(
                    "{key}: 'aggregate', 'index_suffix' and 'point_name' only apply to 'walk'"
                ));
            }
            if m.walk.is_none() && (m.precision_column.is_some() || m.si_prefix_column.is_some()) {
                problems.push(format!(
                    "{key}: 'precision_column' and 'si_prefix_column' only apply to 'walk'"
                ));
            }
            if m.walk.is_none()
                && (m.where_column.is_some()
                    || (!m.name_contains.is_empty() && m.name_oid.is_none()))
            {
                problems.push(format!(
                    "{key}: 'where_column' and 'name_contains' only apply to 'walk'"
                ));
            }
            if let Some([lo, hi]) = m.valid_range
                && lo.partial_cmp(&hi).is_none_or(std::cmp::Ordering::is_gt)
            {
                problems.push(format!("{key}: valid_range [{lo}, {hi}] is empty"));
            }
            if let Some(u) = &m.fahrenheit_when {
                match (&u.oid, &u.column) {
                    (Some(o), None) | (None, Some(o)) if parse_oid(o).is_some() => {}
                    _ => problems.push(format!(
                        "{key}: fahrenheit_when needs exactly one numeric 'oid' (a scalar) or 'column'"
                    )),
                }
                if u.equals.is_empty() && u.ends_with.iter().all(|e| e.trim().is_empty()) {
                    problems.push(format!(
                        "{key}: fahrenheit_when needs 'equals' or 'ends_with'"
                    ));
                }
                if !m.field.name().ends_with("_c") {
                    problems.push(format!("{key}: fahrenheit_when is for a °C field"));
                }
            }
            if !m.true_when.is_empty() && m.field.unit() != "0/1" {
                problems.push(format!(
                    "{key}: 'true_when' is for a 0/1 field (on_battery)"
                ));
            }
            if !m.states.is_empty() && m.field != Field::Status {
                problems.push(format!("{key}: 'states' only applies to field 'status'"));
            }
            if m.field == Field::Status && m.states.is_empty() {
                problems.push(format!(
                    "{key}: a 'status' needs 'states': what each code means, from the MIB"
                ));
            }
            for code in m.states.keys().filter(|k| k.parse::<i64>().is_err()) {
                problems.push(format!("{key}: states key '{code}' is not an integer code"));
            }
            if m.walk.is_some() && !m.name_contains.is_empty() && m.point_name.is_none() {
                problems.push(format!("{key}: 'name_contains' needs 'point_name'"));
            }
            if let Some(o) = &m.name_oid {
                if m.oid.is_none() {
                    problems.push(format!(
                        "{key}: 'name_oid' is for a scalar ('oid'); a walk names rows with 'point_name'"
                    ));
                }
                if m.name_contains.is_empty() {
                    problems.push(format!("{key}: 'name_oid' needs 'name_contains'"));
                }
                if parse_oid(o).is_none() {
                    problems.push(format!("{key}: name_oid '{o}' is not a numeric OID"));
                }
            }
            if m.where_column.is_some() == (m.where_equals.is_empty() && m.where_prefix.is_empty())
            {
                problems.push(format!(
                    "{key}: give 'where_column' with 'where_equals' or 'where_prefix'"
                ));
            }
            for o in m.where_prefix.iter().filter(|o| parse_oid(o).is_none()) {
                problems.push(format!("{key}: where_prefix '{o}' is not a numeric OID"));
            }
            for (what, o) in [
                ("where_column", &m.where_column),
                ("precision_column", &m.precision_column),
                ("si_prefix_column", &m.si_prefix_column),
                ("divide_by", &m.divide_by),
            ] {
                if let Some(o) = o
                    && parse_oid(o).is_none()
                {
                    problems.push(format!("{key}: {what} '{o}' is not a numeric OID"));
                }
            }
            for (what, o) in [
                ("index_suffix", &m.index_suffix),
                ("point_name", &m.point_name),
            ] {
                if let Some(o) = o
                    && o.split('.').any(|p| p.parse::<u32>().is_err())
                {
                    problems.push(format!("{key}: {what} '{o}' is not numeric"));
                }
            }
        }
        for o in &self.sys_object_id {
            if parse_oid(o).is_none() {
                problems.push(format!("sys_object_id: '{o}' is not a numeric OID"));
            }
        }
        for o in &self.detect {
            if parse_oid(o).is_none_or(|o| o.len() < 6) {
                problems.push(format!(
                    "detect: '{o}' is not a numeric OID inside a MIB (1.3.6.1.x.y...)"
                ));
            }
        }
        problems
    }
}
