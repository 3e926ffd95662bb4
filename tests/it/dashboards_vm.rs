//! Issue 21: the Grafana dashboards' VictoriaMetrics variant (`dashboards/victoriametrics`,
//! provisioned by `dashboards/provisioning-vm`), generated from the InfluxQL ones.
//!
//! Everywhere: the provisioning YAML has the shape Grafana documents for a Prometheus-type
//! datasource, the committed JSON is what `generate.py` makes of the InfluxQL dashboards, and every
//! dashboard mirrors its InfluxQL twin panel for panel (titles, layout, units, thresholds), with a
//! MetricsQL target per column the twin selects, reading only metrics that exist. With the feature
//! `peers`: two simulated sites are polled into a real VictoriaMetrics by `kilowatch collect
//! --influx vm://...`, `kilowatch publish --influx vm://...` adds the analyzer's figures, and every
//! variable and panel query is sent as Grafana sends it (`/api/v1/series`, `/api/v1/query_range`
//! with Grafana's step and alignment, `/api/v1/query` at the range's end), for all sites and for
//! one: each returns data, in a sane range for its unit, as the InfluxQL ones do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kilowatch_core::model::Field;
use serde::Deserialize;
use serde_json::Value;

use crate::dashboards::{
    GRAFANA_PROVISIONING, PANEL_TYPES, ProviderFile, SCHEMA_VERSION, UIDS, columns, dir, env_refs,
    unit_of, variables_used, yaml, yaml_files,
};

const UID_SUFFIX: &str = "-vm";
/// A range query's window: one step.
const STEP_WINDOW: &str = "[$__interval]";
/// An instant query's window: the dashboard's range, closed on the left as `$timeFilter` is.
const RANGE_WINDOW: &str = "[${__range_ms}ms1ms]";
/// Sink self-monitoring series (`collector`, device `kilowatch`) carry no site label.
const SINK_SERIES: &str = "device=\"kilowatch\"";

// ---- provisioning files, as Grafana documents them for a Prometheus datasource ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DatasourceFile {
    api_version: u32,
    datasources: Vec<Datasource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Datasource {
    name: String,
    uid: String,
    #[serde(rename = "type")]
    kind: String,
    access: String,
    url: String,
    json_data: PromJsonData,
    secure_json_data: BTreeMap<String, String>,
    editable: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PromJsonData {
    http_method: String,
    time_interval: String,
    http_header_name1: String,
}

// ---- the dashboard model, both variants (targets and fieldConfig kept as JSON) ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Board {
    uid: String,
    title: String,
    schema_version: u64,
    tags: Vec<String>,
    time: Value,
    templating: Templating,
    annotations: Annotations,
    panels: Vec<Panel>,
}

#[derive(Debug, Deserialize)]
struct Templating {
    list: Vec<Variable>,
}

#[derive(Debug, Deserialize)]
struct Annotations {
    list: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Variable {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    datasource: DsRef,
    query: String,
    #[serde(default)]
    all_value: Option<String>,
    include_all: bool,
    multi: bool,
    refresh: u8,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct DsRef {
    #[serde(rename = "type")]
    kind: String,
    uid: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Panel {
    id: u32,
    #[serde(rename = "type")]
    kind: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    grid_pos: Value,
    datasource: DsRef,
    field_config: Value,
    #[serde(default)]
    options: Value,
    targets: Vec<Value>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    transformations: Vec<Value>,
}

/// A Prometheus target as the VictoriaMetrics dashboards write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PromTarget {
    ref_id: String,
    datasource: DsRef,
    editor_mode: String,
    expr: String,
    #[serde(default)]
    legend_format: Option<String>,
    format: String,
    instant: bool,
    range: bool,
}

impl Panel {
    /// The unit Grafana shows a column in: a by-name override, else the panel default.
    fn unit(&self, column: &str) -> String {
        let by_name = self.field_config["overrides"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["matcher"]["id"] == "byName" && o["matcher"]["options"] == column)
            .flat_map(|o| o["properties"].as_array().into_iter().flatten())
            .find(|p| p["id"] == "unit")
            .and_then(|p| p["value"].as_str());
        by_name
            .or(self.field_config["defaults"]["unit"].as_str())
            .unwrap_or_default()
            .to_owned()
    }

    fn prom_targets(&self) -> Vec<PromTarget> {
        self.targets
            .iter()
            .map(|t| {
                serde_json::from_value(t.clone())
                    .unwrap_or_else(|e| panic!("panel '{}': target {t}: {e}", self.title))
            })
            .collect()
    }
}

/// The InfluxQL twin's targets: (refId, resultFormat, query).
fn influx_targets(p: &Panel) -> Vec<(String, String, String)> {
    p.targets
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            (s("refId"), s("resultFormat"), s("query"))
        })
        .collect()
}

/// The columns the twin's queries select, in order, but those a string field fills
/// (VictoriaMetrics keeps numbers only): the VictoriaMetrics panel has one target for each.
fn twin_columns(twin: &Panel) -> Vec<String> {
    influx_targets(twin)
        .iter()
        .flat_map(|(_, _, q)| columns(q))
        .filter(|c| twin.unit(c) != "string")
        .collect()
}

/// Whether an InfluxQL query gives one figure for the whole range (an aggregate without
/// `GROUP BY time`): Grafana asks that of Prometheus as an instant query.
fn one_figure(q: &str) -> bool {
    let list = &q[..q.find(" FROM ").unwrap_or(q.len())];
    list.contains('(') && !q.contains("GROUP BY time(")
}

/// The metric names an expression selects (an identifier just before `{`, empty for a selector
/// without one; `${...}` is a Grafana variable).
fn metrics(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in expr.match_indices('{') {
        if expr[..i].ends_with('$') {
            continue;
        }
        let start = expr[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |j| j + 1);
        out.push(&expr[start..i]);
    }
    out
}

/// `label_values(SELECTOR, LABEL)`: (selector, label).
fn label_values(q: &str) -> Option<(&str, &str)> {
    let inner = q.strip_prefix("label_values(")?.strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(", ")?;
    let plain = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then_some((selector, label))
}

struct Provisioned {
    datasource: Datasource,
    /// (file, VictoriaMetrics dashboard, its InfluxQL twin).
    dashboards: Vec<(PathBuf, Board, Board)>,
}

fn board(path: &Path) -> Board {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads the provisioning as Grafana would: the datasource, then every dashboard in the
/// provider's path, which README has users fill from `dashboards/victoriametrics`; each with
/// its InfluxQL twin.
fn provisioned() -> Provisioned {
    let root = dir().join("provisioning-vm");
    let ds_files = yaml_files(&root.join("datasources"));
    assert_eq!(ds_files.len(), 1, "{ds_files:?}");
    let file: DatasourceFile = serde_json::from_value(yaml(&ds_files[0]))
        .unwrap_or_else(|e| panic!("{}: {e}", ds_files[0].display()));
    assert_eq!((file.api_version, file.datasources.len()), (1, 1));
    let datasource = file.datasources[0].clone();

    let provider_files = yaml_files(&root.join("dashboards"));
    assert_eq!(provider_files.len(), 1, "{provider_files:?}");
    let file: ProviderFile = serde_json::from_value(yaml(&provider_files[0]))
        .unwrap_or_else(|e| panic!("{}: {e}", provider_files[0].display()));
    assert_eq!((file.api_version, file.providers.len()), (1, 1));
    let p = &file.providers[0];
    assert_eq!(p.kind, "file");
    assert!(!p.name.is_empty() && !p.folder.is_empty() && !p.folder_uid.is_empty());
    assert!(p.org_id >= 1 && p.update_interval_seconds > 0);
    assert!(
        !p.allow_ui_updates && !p.disable_deletion && !p.options.folders_from_files_structure,
        "the files are the source of truth: {p:?}"
    );
    assert!(
        p.options.path.starts_with(GRAFANA_PROVISIONING),
        "provider path '{}' is not under {GRAFANA_PROVISIONING}",
        p.options.path
    );
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    assert!(
        readme.contains(&p.options.path) && readme.contains("dashboards/victoriametrics"),
        "README must say to put dashboards/victoriametrics at {}",
        p.options.path
    );

    let twins = dir().join("provisioning/dashboards/kilowatch");
    let mut dashboards = Vec::new();
    for entry in std::fs::read_dir(dir().join("victoriametrics")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let d = board(&path);
            let twin_uid = d.uid.strip_suffix(UID_SUFFIX).unwrap_or_else(|| {
                panic!("{}: uid '{}' lacks '{UID_SUFFIX}'", path.display(), d.uid)
            });
            let twin = board(&twins.join(format!("{twin_uid}.json")));
            dashboards.push((path, d, twin));
        }
    }
    dashboards.sort_by(|a, b| a.0.cmp(&b.0));
    Provisioned {
        datasource,
        dashboards,
    }
}

/// A metric exists: `<measurement>_<field>` of the collector's canonical schema, or of a
/// measurement README documents with that field in its row, or in the row of the measurement
/// it is documented "as" (what `kilowatch publish` writes).
fn metric_exists(metric: &str, readme: &str) -> bool {
    let canonical = Field::ALL.iter().any(|f| {
        metric
            .strip_prefix(f.measurement().name())
            .and_then(|rest| rest.strip_prefix('_'))
            == Some(f.name())
    });
    let rows: BTreeMap<&str, &str> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split_once("` |"))
        .collect();
    let documented = |m: &str, field: &str| {
        let has = |row: &str| row.contains(&format!("`{field}`"));
        rows.get(m).is_some_and(|row| {
            has(row)
                || row
                    .split_once("as `")
                    .and_then(|(_, rest)| rows.get(rest.split('`').next()?))
                    .is_some_and(|other| has(other))
        })
    };
    canonical
        || rows.keys().any(|m| {
            metric
                .strip_prefix(m)
                .and_then(|f| f.strip_prefix('_'))
                .is_some_and(|f| documented(m, f))
        })
}

// ---- static checks ----

#[test]
fn vm_provisioning_parses_and_points_at_every_dashboard() {
    let p = provisioned();
    let ds = &p.datasource;
    assert_eq!(
        (ds.kind.as_str(), ds.access.as_str()),
        ("prometheus", "proxy")
    );
    assert!(["GET", "POST"].contains(&ds.json_data.http_method.as_str()));
    assert!(humantime::parse_duration(&ds.json_data.time_interval).is_ok());
    assert!(!ds.name.is_empty() && !ds.editable);
    assert_eq!(
        env_refs(&ds.url).len(),
        1,
        "url must be an environment variable"
    );
    assert_eq!(ds.json_data.http_header_name1, "Authorization");
    assert_eq!(
        ds.secure_json_data.keys().collect::<Vec<_>>(),
        ["httpHeaderValue1"]
    );
    for (k, v) in &ds.secure_json_data {
        assert!(
            env_refs(v).len() == 1 && v.starts_with("Bearer $"),
            "secureJsonData.{k} must be 'Bearer ' and one environment variable, not '{v}'"
        );
    }
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    for v in env_refs(&ds.url)
        .into_iter()
        .chain(ds.secure_json_data.values().flat_map(|v| env_refs(v)))
    {
        assert!(readme.contains(&v), "dashboards/README.md must name {v}");
    }

    // The six dashboards, each the InfluxQL uid with the suffix, in a file named by its uid.
    let uids: Vec<String> = p.dashboards.iter().map(|(_, d, _)| d.uid.clone()).collect();
    let want: Vec<String> = UIDS.iter().map(|u| format!("{u}{UID_SUFFIX}")).collect();
    assert_eq!(uids, want);
    for (path, d, _) in &p.dashboards {
        assert_eq!(
            path.file_stem().and_then(|s| s.to_str()),
            Some(d.uid.as_str())
        );
        assert!(d.uid.len() <= 40);
        assert!(readme.contains(&d.uid), "README must list '{}'", d.uid);
    }
}

#[test]
fn the_committed_vm_dashboards_are_what_generate_py_makes_of_the_influxql_ones() {
    let script = dir().join("victoriametrics/generate.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} --check: {}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_vm_dashboard_mirrors_its_influxql_twin_with_a_metricsql_target_per_column() {
    let p = provisioned();
    let ds_ref = DsRef {
        kind: "prometheus".into(),
        uid: p.datasource.uid.clone(),
    };
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let mut problems = Vec::new();
    let mut targets = 0;
    for (path, d, twin) in &p.dashboards {
        let file = path.file_name().unwrap().to_string_lossy();
        let mut fail = |m: String| problems.push(format!("{file}: {m}"));
        if d.schema_version != SCHEMA_VERSION {
            fail(format!("schemaVersion {}", d.schema_version));
        }
        if (&d.title, &d.tags, &d.time) != (&twin.title, &twin.tags, &twin.time) {
            fail("title, tags or time differ from the InfluxQL dashboard".into());
        }
        let vars: Vec<&str> = d.templating.list.iter().map(|v| v.name.as_str()).collect();
        let twin_vars: Vec<&str> = twin
            .templating
            .list
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        if vars != twin_vars || vars.first() != Some(&"site") {
            fail(format!("variables {vars:?}, InfluxQL {twin_vars:?}"));
        }
        for (v, t) in d.templating.list.iter().zip(&twin.templating.list) {
            if v.kind != "query"
                || v.datasource != ds_ref
                || label_values(&v.query).is_none()
                || (v.multi, v.include_all, &v.all_value, v.refresh)
                    != (t.multi, t.include_all, &t.all_value, t.refresh)
            {
                fail(format!("variable {v:?}"));
            }
            let pos = vars.iter().position(|n| *n == v.name).unwrap();
            for used in variables_used(&v.query) {
                if !vars[..pos].contains(&used.as_str()) {
                    fail(format!("variable '{}' uses '${used}'", v.name));
                }
            }
        }
        for a in &d.annotations.list {
            let expr = a["expr"].as_str().unwrap_or_default();
            let ds = serde_json::from_value::<DsRef>(a["datasource"].clone()).ok();
            if ds.as_ref() != Some(&ds_ref)
                || !expr.contains("$site")
                || !expr.contains(STEP_WINDOW)
                || metrics(expr).iter().any(|m| !metric_exists(m, &readme))
            {
                fail(format!("annotation {a}"));
            }
        }
        let ids: Vec<u32> = d.panels.iter().map(|p| p.id).collect();
        let twin_ids: Vec<u32> = twin.panels.iter().map(|p| p.id).collect();
        if ids != twin_ids {
            fail(format!("panels {ids:?}, InfluxQL {twin_ids:?}"));
            continue;
        }
        for (panel, tp) in d.panels.iter().zip(&twin.panels) {
            let mut fail =
                |m: String| problems.push(format!("{file}: panel '{}': {m}", panel.title));
            if !PANEL_TYPES.contains(&panel.kind.as_str()) || panel.datasource != ds_ref {
                fail(format!(
                    "type {} or datasource {:?}",
                    panel.kind, panel.datasource
                ));
            }
            if (
                &panel.kind,
                &panel.title,
                &panel.description,
                &panel.grid_pos,
            ) != (&tp.kind, &tp.title, &tp.description, &tp.grid_pos)
                || (&panel.options, &panel.interval) != (&tp.options, &tp.interval)
            {
                fail("differs from the InfluxQL panel".into());
            }
            let (def, twin_def) = (
                &panel.field_config["defaults"],
                &tp.field_config["defaults"],
            );
            for k in ["unit", "thresholds", "min", "max"] {
                if def[k] != twin_def[k] {
                    fail(format!(
                        "fieldConfig.defaults.{k}: {} vs {}",
                        def[k], twin_def[k]
                    ));
                }
            }
            let strings: BTreeSet<String> = influx_targets(tp)
                .iter()
                .flat_map(|(_, _, q)| columns(q))
                .filter(|c| tp.unit(c) == "string")
                .collect();
            let twin_overrides: Vec<&Value> = tp.field_config["overrides"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|o| {
                    !o["matcher"]["options"]
                        .as_str()
                        .is_some_and(|c| strings.contains(c))
                })
                .collect();
            let overrides: Vec<&Value> = panel.field_config["overrides"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            if overrides != twin_overrides {
                fail("overrides differ from the InfluxQL panel's".into());
            }

            let twin_targets = influx_targets(tp);
            let cols = twin_columns(tp);
            let ts = panel.prom_targets();
            if ts.len() != cols.len() {
                fail(format!("{} targets for the columns {cols:?}", ts.len()));
                continue;
            }
            // A target per InfluxQL target keeps its refId; a split one's are A, B, C...
            let twin_of = |i: usize| {
                if ts.len() == twin_targets.len() {
                    &twin_targets[i]
                } else {
                    &twin_targets[0]
                }
            };
            let mut refs = BTreeSet::new();
            for (i, (t, column)) in ts.iter().zip(&cols).enumerate() {
                targets += 1;
                let (twin_ref, twin_format, twin_q) = twin_of(i);
                let e = &t.expr;
                let mut fail = |m: String| fail(format!("{}: {m}: {e}", t.ref_id));
                let split = ts.len() != twin_targets.len();
                let want_ref = if split {
                    char::from(b'A' + i as u8).to_string()
                } else {
                    twin_ref.clone()
                };
                if !refs.insert(&t.ref_id)
                    || t.ref_id != want_ref
                    || t.datasource != ds_ref
                    || t.editor_mode != "code"
                    || &t.format != twin_format
                    || t.instant == t.range
                {
                    fail(format!("target {t:?}"));
                }
                // One figure for the range: an instant query over the whole range; a series: a
                // range query, one step per window.
                let instant = one_figure(twin_q);
                if t.instant != instant
                    || e.contains(RANGE_WINDOW) != instant
                    || e.contains(STEP_WINDOW) == instant
                    || e.contains("$__range]")
                    || e.contains("[$__rate_interval]")
                {
                    fail(format!(
                        "not a {} query",
                        if instant { "instant" } else { "range" }
                    ));
                }
                if !e.contains("site=~\"$site\"") && !e.contains(SINK_SERIES) {
                    fail("does not filter on $site".into());
                }
                for used in variables_used(e) {
                    if !vars.contains(&used.as_str()) && used != "__interval" {
                        fail(format!("undefined variable '${used}'"));
                    }
                }
                let ms = metrics(e);
                if ms.is_empty() {
                    fail("selects no metric".into());
                }
                for m in ms {
                    if !metric_exists(m, &readme) {
                        fail(format!(
                            "no metric '{m}' is written (collector schema, README)"
                        ));
                    }
                }
                // Its column: the unit Grafana shows it in matches the name's unit.
                let unit = panel.unit(column);
                let ok = match unit_of(column) {
                    Some(want) => unit == want,
                    None => unit == "short",
                };
                if !ok {
                    fail(format!("column '{column}' shown in '{unit}'"));
                }
                if t.format == "time_series" && t.legend_format.is_none() {
                    fail("no legendFormat".into());
                }
            }
            // Tables: merged on their labels, value columns renamed to the InfluxQL columns.
            if panel.kind == "table" {
                let want: BTreeMap<String, String> = ts
                    .iter()
                    .zip(&cols)
                    .map(|(t, c)| {
                        let value = if ts.len() == 1 {
                            "Value".to_owned()
                        } else {
                            format!("Value #{}", t.ref_id)
                        };
                        (value, c.clone())
                    })
                    .collect();
                let renamed: Option<BTreeMap<String, String>> = panel
                    .transformations
                    .iter()
                    .find(|t| t["id"] == "organize")
                    .and_then(|t| {
                        serde_json::from_value(t["options"]["renameByName"].clone()).ok()
                    });
                let merged = panel.transformations.iter().any(|t| t["id"] == "merge");
                if renamed.as_ref() != Some(&want) || merged != (ts.len() > 1) {
                    fail(format!("transformations {:?}", panel.transformations));
                }
            }
        }
    }
    assert!(targets >= 70, "only {targets} panel queries");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_expression_readers_read_what_the_dashboards_hold() {
    let e =
        r#"sum(sum_over_time(kpi_daily_it_kwh{site=~"$site"}[${__range_ms}ms1ms])) / sum({a="b"})"#;
    assert_eq!(metrics(e), ["kpi_daily_it_kwh", ""]);
    assert_eq!(
        label_values(r#"label_values({__name__=~"power_.+", site=~"$site"}, room)"#),
        Some((r#"{__name__=~"power_.+", site=~"$site"}"#, "room"))
    );
    assert_eq!(label_values("label_values(up, a b)"), None);
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    for (m, ok) in [
        ("power_active_power_w", true),
        ("environment_inlet_temp_c", true),
        ("kpi_daily_pue", true),
        ("capacity_rack_utilisation_pct", true),
        ("server_idle_kwh_per_year", true),
        ("energy_monthly_cost_hkd", true),
        ("energy_monthly_it_kwh", false),
        ("power_activ_power_w", false),
        ("kpi_daily_puee", false),
        ("capacity_rack_pue", false),
        ("ups_active_power_w", false),
    ] {
        assert_eq!(metric_exists(m, &readme), ok, "{m}");
    }
    assert!(one_figure(
        r#"SELECT last("a") FROM "m" WHERE $timeFilter GROUP BY "site""#
    ));
    assert!(!one_figure(
        r#"SELECT "pue" FROM "kpi_daily" WHERE $timeFilter"#
    ));
    assert!(!one_figure(
        r#"SELECT mean("a") FROM "m" WHERE $timeFilter GROUP BY time($__interval)"#
    ));
}

// ---- against a real VictoriaMetrics ----

#[cfg(feature = "peers")]
mod live {
    use super::*;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use crate::common::influxd::blocking;
    use crate::common::victoria::Victoria;
    use crate::dashboards::live::{
        SITES, assert_figures_agree, month_start, publish_sites, sane, stop,
    };
    use kilowatch_core::clock::Clock;
    use kilowatch_core::timefmt::format_rfc3339;
    use kilowatch_sim::{RunningSim, SimConfig};

    /// The simulators and collectors run on one accelerated clock whose simulated time meets
    /// real time `AHEAD_MS` after the start: the collection's simulated hour lies well in the
    /// past, as a dashboard looks at it (Grafana aligns a range query's end down to its step, and
    /// a step over "this month so far" is half an hour).
    const SPEED: f64 = 60.0;
    const AHEAD_MS: i64 = 150_000;
    /// Polls (a simulated minute each) every site's facility meter has before collection stops.
    const POLLS: f64 = 40.0;
    /// Grafana's max data points: the panel's width in pixels; what the InfluxQL test assumes.
    const MAX_DATA_POINTS: i64 = 1000;

    /// One series of an answer: its labels and (time, value) pairs.
    #[derive(Debug)]
    struct Series {
        labels: BTreeMap<String, String>,
        values: Vec<f64>,
    }

    /// What Grafana's Prometheus datasource sends, configured from the provisioned datasource
    /// with the environment a Grafana server would have.
    struct Grafana {
        url: String,
        header: (String, String),
        post: bool,
        scrape: Duration,
        client: reqwest::blocking::Client,
    }

    impl Grafana {
        fn new(ds: &Datasource, env: &BTreeMap<&str, String>) -> Grafana {
            let expand = |s: &str| {
                let mut out = s.to_owned();
                for name in env_refs(s) {
                    let value = env
                        .get(name.as_str())
                        .unwrap_or_else(|| panic!("README's variables do not include {name}"));
                    out = out
                        .replace(&format!("${{{name}}}"), value)
                        .replace(&format!("${name}"), value);
                }
                out
            };
            Grafana {
                url: expand(&ds.url),
                header: (
                    ds.json_data.http_header_name1.clone(),
                    expand(&ds.secure_json_data["httpHeaderValue1"]),
                ),
                post: ds.json_data.http_method == "POST",
                scrape: humantime::parse_duration(&ds.json_data.time_interval).unwrap(),
                client: reqwest::blocking::Client::new(),
            }
        }

        /// A Prometheus API call: its `data`, or the error VictoriaMetrics gave.
        fn call(&self, path: &str, form: &[(&str, String)]) -> Result<Value, String> {
            let mut url = url::Url::parse(&format!("{}{path}", self.url)).unwrap();
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            let req = if self.post {
                self.client
                    .post(url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
            } else {
                url.set_query(Some(&body));
                self.client.get(url)
            };
            let text = req
                .header(self.header.0.as_str(), self.header.1.as_str())
                .send()
                .map_err(|e| e.to_string())?
                .text()
                .unwrap();
            let answer: Value = serde_json::from_str(&text).map_err(|_| text.clone())?;
            if answer["status"] != "success" {
                return Err(answer["error"].as_str().unwrap_or(&text).to_owned());
            }
            Ok(answer["data"].clone())
        }

        /// `label_values(selector, label)` over the range, as `/api/v1/series` answers it.
        fn label_values(&self, selector: &str, label: &str, range: (i64, i64)) -> Vec<String> {
            let data = self
                .call(
                    "/api/v1/series",
                    &[
                        ("match[]", selector.to_owned()),
                        ("start", (range.0 / 1000).to_string()),
                        ("end", (range.1 / 1000 + 1).to_string()),
                    ],
                )
                .unwrap_or_else(|e| panic!("series {selector}: {e}"));
            let values: BTreeSet<String> = data
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s[label].as_str())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            values.into_iter().collect()
        }

        fn series(result: &Value, instant: bool) -> Result<Vec<Series>, String> {
            let mut out = Vec::new();
            for s in result["result"].as_array().into_iter().flatten() {
                let labels = serde_json::from_value(s["metric"].clone()).unwrap_or_default();
                let points: Vec<&Value> = if instant {
                    vec![&s["value"]]
                } else {
                    s["values"].as_array().into_iter().flatten().collect()
                };
                let values = points
                    .iter()
                    .map(|p| {
                        p[1].as_str()
                            .and_then(|v| v.parse::<f64>().ok())
                            .ok_or_else(|| format!("value {p}"))
                    })
                    .collect::<Result<_, _>>()?;
                out.push(Series { labels, values });
            }
            Ok(out)
        }

        /// An instant query at the range's end, as Grafana sends one (unaligned).
        fn instant(&self, expr: &str, at_ms: i64) -> Result<Vec<Series>, String> {
            let data = self.call(
                "/api/v1/query",
                &[("query", expr.to_owned()), ("time", seconds(at_ms))],
            )?;
            Grafana::series(&data, true)
        }

        /// A range query: start and end aligned down to the step, as Grafana does.
        fn range(
            &self,
            expr: &str,
            range: (i64, i64),
            step_ms: i64,
        ) -> Result<Vec<Series>, String> {
            let align = |t: i64| t.div_euclid(step_ms) * step_ms;
            let data = self.call(
                "/api/v1/query_range",
                &[
                    ("query", expr.to_owned()),
                    ("start", seconds(align(range.0))),
                    ("end", seconds(align(range.1))),
                    ("step", seconds(step_ms)),
                ],
            )?;
            Grafana::series(&data, false)
        }

        /// The step (and `$__interval`) Grafana picks: the range over max data points, rounded
        /// by Grafana's table, at least the panel's min interval or the scrape interval.
        fn step_ms(&self, range_ms: i64, panel: Option<&str>) -> i64 {
            let min = panel
                .map(|i| humantime::parse_duration(i).unwrap())
                .unwrap_or(self.scrape)
                .as_millis() as i64;
            let raw = range_ms / MAX_DATA_POINTS;
            let calculated = if raw < min { min } else { round_interval(raw) };
            calculated.max(round_interval(range_ms / 11_000))
        }
    }

    fn seconds(ms: i64) -> String {
        format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
    }

    /// Grafana's `gtime.RoundInterval`.
    fn round_interval(ms: i64) -> i64 {
        const TABLE: &[(i64, i64)] = &[
            (10, 1),
            (15, 10),
            (35, 20),
            (75, 50),
            (150, 100),
            (350, 200),
            (750, 500),
            (1_500, 1_000),
            (3_500, 2_000),
            (7_500, 5_000),
            (12_500, 10_000),
            (17_500, 15_000),
            (25_000, 20_000),
            (45_000, 30_000),
            (90_000, 60_000),
            (210_000, 120_000),
            (450_000, 300_000),
            (750_000, 600_000),
            (1_050_000, 900_000),
            (1_500_000, 1_200_000),
            (2_700_000, 1_800_000),
            (5_400_000, 3_600_000),
            (9_000_000, 7_200_000),
            (16_200_000, 10_800_000),
            (32_400_000, 21_600_000),
            (86_400_000, 43_200_000),
            (172_800_000, 86_400_000),
            (604_800_000, 86_400_000),
            (1_814_400_000, 604_800_000),
        ];
        TABLE
            .iter()
            .find(|(limit, _)| ms <= *limit)
            .map_or(2_592_000_000, |(_, v)| *v)
    }

    /// Grafana's `gtime.FormatInterval`: `$__interval` in an expression.
    fn format_interval(ms: i64) -> String {
        for (unit, n) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ] {
            if ms >= n {
                return format!("{}{unit}", ms / n);
            }
        }
        format!("{ms}ms")
    }

    /// Grafana's formatting of a multi-value variable for a Prometheus regex matcher
    /// (`prometheusSpecialRegexEscape`, joined as `(a|b)`).
    fn regex_value(values: &[String]) -> String {
        let escaped: Vec<String> = values
            .iter()
            .map(|v| {
                let mut out = String::new();
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\\\\\"),
                        c if "$^*{}[]'+?.()|".contains(c) => {
                            out.push_str("\\\\");
                            out.push(c);
                        }
                        c => out.push(c),
                    }
                }
                out
            })
            .collect();
        match escaped.as_slice() {
            [one] => one.clone(),
            _ => format!("({})", escaped.join("|")),
        }
    }

    fn substitute(e: &str, vars: &[(String, String)], range_ms: i64, step_ms: i64) -> String {
        let mut s = e
            .replace("${__range_ms}", &range_ms.to_string())
            .replace("$__interval", &format_interval(step_ms));
        let mut vars = vars.to_vec();
        vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        for (name, value) in vars {
            s = s.replace(&format!("${name}"), &value);
        }
        s
    }

    /// Resolves the variables in order, as Grafana does on load: "All" everywhere, or one site.
    fn variables(
        grafana: &Grafana,
        d: &Board,
        one_site: Option<&str>,
        range: (i64, i64),
    ) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        for v in &d.templating.list {
            let (selector, label) = label_values(&v.query).unwrap();
            let selector = substitute(selector, &vars, range.1 - range.0, 0);
            let values = grafana.label_values(&selector, label, range);
            assert!(!values.is_empty(), "{}: ${} has no values", d.uid, v.name);
            if v.name == "site" {
                for (site, ..) in SITES {
                    assert!(
                        values.iter().any(|s| s == site),
                        "{}: $site {values:?}",
                        d.uid
                    );
                }
            }
            let value = match (one_site, v.name.as_str()) {
                (Some(site), "site") => regex_value(&[site.to_owned()]),
                _ => v.all_value.clone().unwrap_or_else(|| regex_value(&values)),
            };
            vars.push((v.name.clone(), value));
        }
        vars
    }

    /// Runs one panel query as Grafana would and checks its answer: data, a sane value for the
    /// unit its column is shown in, and with one site selected, only that site.
    fn run(
        grafana: &Grafana,
        panel: &Panel,
        (target, column): (&PromTarget, &str),
        vars: &[(String, String)],
        range: (i64, i64),
        one_site: Option<&str>,
    ) -> (Vec<Series>, Vec<String>) {
        let mut problems = Vec::new();
        let range_ms = range.1 - range.0;
        let step = grafana.step_ms(range_ms, panel.interval.as_deref());
        let e = substitute(&target.expr, vars, range_ms, step);
        let at = format!(
            "{} / {} ({}, {}): {e}",
            panel.title,
            target.ref_id,
            one_site.unwrap_or("all sites"),
            if target.instant {
                "instant".to_owned()
            } else {
                format!("step {}", format_interval(step))
            }
        );
        let answer = if target.instant {
            grafana.instant(&e, range.1)
        } else {
            grafana.range(&e, range, step)
        };
        let series = match answer {
            Ok(s) => s,
            Err(err) => return (Vec::new(), vec![format!("{at}: {err}")]),
        };
        let unit = panel.unit(column);
        let mut values = 0;
        for s in &series {
            if let (Some(site), Some(label)) = (one_site, s.labels.get("site"))
                && label != site
            {
                problems.push(format!("{at}: a '{label}' series"));
            }
            for v in &s.values {
                values += 1;
                if !sane(&unit, column, *v) {
                    problems.push(format!("{at}: {column} = {v} ({unit}) in {:?}", s.labels));
                }
            }
        }
        if values == 0 {
            problems.push(format!("{at}: no data"));
        }
        (series, problems)
    }

    fn now_ms() -> i64 {
        Clock::System.now_ms()
    }

    /// The collectors, killed if the test fails before it stops them (a collector given
    /// SIGTERM would keep retrying its outbox against a VictoriaMetrics already gone).
    struct Collectors(Vec<Child>);

    impl Drop for Collectors {
        fn drop(&mut self) {
            for c in &mut self.0 {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_vm_panel_query_returns_sane_values_from_a_real_victoriametrics() {
        // Queries near "now" are answered as of 30 s ago by default; not needed here.
        let vm = Victoria::start_with(&["-search.latencyOffset=1s"]);
        let work = tempfile::tempdir().unwrap();
        let secret = work.path().join("community");
        kilowatch_core::secret::write_private(&secret, "dashboards-vm-test").unwrap();
        let epoch = now_ms() + AHEAD_MS;
        let clock = Clock::accelerated_since(epoch, SPEED);
        let start = clock.now_ms();
        let (speed, epoch_arg) = (SPEED.to_string(), format_rfc3339(epoch));
        let mut sims = Vec::new();
        let mut collectors = Collectors(Vec::new());
        for (site, ef, tariff) in SITES {
            let config = SimConfig {
                site: (*site).into(),
                community: "dashboards-vm-test".into(),
                emission_factor_kg_per_kwh: Some(*ef),
                tariff_hkd_per_kwh: Some(*tariff),
                speed: SPEED,
                ..SimConfig::default()
            };
            let sim = RunningSim::start(config, clock).await.unwrap();
            let inv = sim.inventory_toml(
                &format!("file:{}", secret.display()),
                "kilowatch.db",
                "1s",
                "800ms",
            );
            let dir = work.path().join(site);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("site.toml"), inv).unwrap();
            let log = std::fs::File::create(dir.join("collect.log")).unwrap();
            collectors.0.push(
                Command::new(env!("CARGO_BIN_EXE_kilowatch"))
                    .args(["collect", "--influx", &vm.url(), "--config"])
                    .arg(dir.join("site.toml"))
                    .arg("--data")
                    .arg(&dir)
                    .args(["--speed", &speed, "--speed-epoch", &epoch_arg])
                    .env("KILOWATCH_COLLECTOR__NAME", format!("kw-{site}"))
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .unwrap(),
            );
            sims.push(sim);
        }
        let ds = provisioned().datasource;
        let env = BTreeMap::from([
            ("KILOWATCH_VM_URL", vm.http()),
            ("KILOWATCH_VM_TOKEN", String::new()),
        ]);
        // Everything from here is blocking HTTP and processes; the sims keep serving on the
        // runtime's other worker.
        blocking(move || after_collection(vm, work, collectors, sims, (clock, start), &ds, &env));
    }

    fn after_collection(
        vm: Victoria,
        work: tempfile::TempDir,
        mut collectors: Collectors,
        sims: Vec<RunningSim>,
        (clock, start): (Clock, i64),
        ds: &Datasource,
        env: &BTreeMap<&str, String>,
    ) {
        let grafana = Grafana::new(ds, env);

        // Collect until every site's facility meter has POLLS polls in VictoriaMetrics, well
        // before simulated time catches up with real time.
        let deadline = Instant::now() + Duration::from_millis(AHEAD_MS as u64 - 30_000);
        loop {
            let q = r#"sum by (site) (count_over_time(power_active_power_w{role="facility"}[1d]))"#;
            let counts = grafana.instant(q, now_ms()).unwrap_or_default();
            let enough = counts
                .iter()
                .filter(|s| s.values.first().is_some_and(|n| *n >= POLLS))
                .count();
            if enough == SITES.len() {
                break;
            }
            assert!(Instant::now() < deadline, "collectors too slow: {counts:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
        std::mem::take(&mut collectors.0).into_iter().for_each(stop);
        let end = clock.now_ms();
        // Everything sent searchable before `publish --read-influx` reads it back.
        vm.flush();
        assert!(
            end < now_ms() - 30 * 60_000,
            "the simulated hour must lie in the past"
        );
        for sim in sims {
            sim.shutdown();
        }

        // One site analysed from its embedded store, the other from VictoriaMetrics itself.
        publish_sites(work.path(), &vm.url(), start, end);
        vm.flush();

        // The dashboards' range: from the start of the month the collection began in (Hong
        // Kong), as management picks "this month so far", to now.
        let range = (month_start(start), now_ms());
        let mut problems = Vec::new();
        let mut runs = 0;
        let mut estate_pue: BTreeMap<(String, String), f64> = BTreeMap::new();
        let mut chain: BTreeMap<String, f64> = BTreeMap::new();
        let mut outboxes: BTreeSet<String> = BTreeSet::new();
        for (_, d, twin) in &provisioned().dashboards {
            for one_site in [None, Some(SITES[0].0)] {
                let vars = variables(&grafana, d, one_site, range);
                // The annotation: valid MetricsQL (no alert need have fired).
                for a in &d.annotations.list {
                    let step = grafana.step_ms(range.1 - range.0, a["step"].as_str());
                    let e = substitute(a["expr"].as_str().unwrap(), &vars, 0, step);
                    if let Err(err) = grafana.range(&e, range, step) {
                        problems.push(format!("{}: annotation {e}: {err}", d.uid));
                    }
                }
                for (panel, tp) in d.panels.iter().zip(&twin.panels) {
                    let cols = twin_columns(tp);
                    for (target, column) in panel.prom_targets().iter().zip(&cols) {
                        runs += 1;
                        let (series, wrong) =
                            run(&grafana, panel, (target, column), &vars, range, one_site);
                        problems.extend(wrong.into_iter().map(|w| format!("{}: {w}", d.uid)));
                        let first = |s: &Series| s.values.first().copied();
                        match (d.uid.as_str(), panel.id, one_site) {
                            ("kilowatch-estate-vm", 1, None) => {
                                for s in &series {
                                    let label =
                                        |k: &str| s.labels.get(k).cloned().unwrap_or_default();
                                    if let Some(v) = first(s) {
                                        estate_pue.insert((label("site"), label("category")), v);
                                    }
                                }
                            }
                            ("kilowatch-power-chain-vm", 1, Some(_)) => {
                                if let Some(v) = series.first().and_then(first) {
                                    chain.insert(target.ref_id.clone(), v);
                                }
                            }
                            ("kilowatch-collector-vm", 5, None) => {
                                outboxes.extend(
                                    series
                                        .iter()
                                        .filter_map(|s| s.labels.get("collector").cloned()),
                                );
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        assert!(
            problems.is_empty(),
            "{} of {runs} queries:\n{}",
            problems.len(),
            problems.join("\n")
        );
        assert!(runs >= 140, "only {runs} queries ran");
        assert_figures_agree(work.path(), (start, end), &outboxes, &chain, &estate_pue);
        drop(vm);
    }
}
