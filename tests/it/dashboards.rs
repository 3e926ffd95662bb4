//! Issue 8: the Grafana dashboards and their provisioning (`dashboards/`).
//!
//! No Grafana server can be installed here, so these tests stand in for it. Everywhere: the
//! provisioning YAML parses into the shape Grafana documents and points at the dashboard files,
//! and every dashboard has the structure of Grafana's classic JSON model at `SCHEMA_VERSION`, a
//! `site` variable, its stable uid, and on every panel a unit that matches what its queries
//! select. With the feature `peers`: two simulated sites are polled into a real InfluxDB 1.x by
//! `kilowatch collect`, `kilowatch publish` adds the analyzer's figures, and every panel query
//! runs as Grafana would send it, variables substituted, for all sites and for one: each returns
//! data, in a sane range for its unit.

#[cfg(feature = "peers")]
use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kilowatch_core::model::Field;
use serde::Deserialize;
use serde_json::Value;

/// The classic dashboard model version the JSON is written for (dashboards/README.md says which
/// Grafana versions that is).
pub(crate) const SCHEMA_VERSION: u64 = 42;
/// Links and bookmarks use these: a dashboard keeps its uid for good.
pub(crate) const UIDS: &[&str] = &[
    "kilowatch-capacity",
    "kilowatch-collector",
    "kilowatch-estate",
    "kilowatch-power-chain",
    "kilowatch-servers",
    "kilowatch-thermal",
];
pub(crate) const PANEL_TYPES: &[&str] = &[
    "bargauge",
    "histogram",
    "stat",
    "state-timeline",
    "table",
    "timeseries",
];
/// Grafana's provisioning directory in its packages and images, where README tells users to put
/// `dashboards/provisioning`.
pub(crate) const GRAFANA_PROVISIONING: &str = "/etc/grafana/provisioning";
/// Sink self-monitoring series (`collector`, device `kilowatch`) carry no site tag.
const SINK_SERIES: &str = "\"device\" = 'kilowatch'";

pub(crate) fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards")
}

// ---- provisioning files, as Grafana documents them ----

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
    user: String,
    json_data: InfluxJsonData,
    secure_json_data: BTreeMap<String, String>,
    editable: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InfluxJsonData {
    version: String,
    db_name: String,
    http_mode: String,
    time_interval: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ProviderFile {
    pub(crate) api_version: u32,
    pub(crate) providers: Vec<Provider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Provider {
    pub(crate) name: String,
    pub(crate) org_id: u32,
    pub(crate) folder: String,
    pub(crate) folder_uid: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) disable_deletion: bool,
    pub(crate) allow_ui_updates: bool,
    pub(crate) update_interval_seconds: u32,
    pub(crate) options: ProviderOptions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ProviderOptions {
    pub(crate) path: String,
    pub(crate) folders_from_files_structure: bool,
}

// ---- the parts of the dashboard model the checks rely on (required: a missing one fails) ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dashboard {
    uid: String,
    title: String,
    schema_version: u64,
    tags: Vec<String>,
    time: TimePicker,
    templating: Templating,
    panels: Vec<Panel>,
}

#[derive(Debug, Deserialize)]
struct TimePicker {
    from: String,
    to: String,
}

#[derive(Debug, Deserialize)]
struct Templating {
    list: Vec<Variable>,
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

#[derive(Debug, PartialEq, Deserialize)]
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
    grid_pos: GridPos,
    datasource: DsRef,
    field_config: FieldConfig,
    targets: Vec<Target>,
    #[serde(default)]
    interval: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GridPos {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

#[derive(Debug, Deserialize)]
struct FieldConfig {
    defaults: Defaults,
    overrides: Vec<Override>,
}

#[derive(Debug, Deserialize)]
struct Defaults {
    unit: String,
    thresholds: Thresholds,
}

#[derive(Debug, Deserialize)]
struct Thresholds {
    mode: String,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
struct Step {
    color: String,
    value: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Override {
    matcher: Matcher,
    properties: Vec<Property>,
}

#[derive(Debug, Deserialize)]
struct Matcher {
    id: String,
    options: String,
}

#[derive(Debug, Deserialize)]
struct Property {
    id: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    ref_id: String,
    datasource: DsRef,
    raw_query: bool,
    result_format: String,
    query: String,
}

impl Panel {
    /// The unit Grafana shows a column in: a by-name override, else the panel default.
    fn unit(&self, column: &str) -> &str {
        self.field_config
            .overrides
            .iter()
            .filter(|o| o.matcher.id == "byName" && o.matcher.options == column)
            .flat_map(|o| &o.properties)
            .find(|p| p.id == "unit")
            .and_then(|p| p.value.as_str())
            .unwrap_or(&self.field_config.defaults.unit)
    }
}

struct Provisioned {
    datasource: Datasource,
    dashboards: Vec<(PathBuf, Dashboard)>,
}

pub(crate) fn yaml(path: &Path) -> Value {
    fn json(y: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match y {
            Yaml::Real(s) => s
                .parse::<f64>()
                .map_or(Value::from(s.as_str()), Value::from),
            Yaml::Integer(i) => Value::from(*i),
            Yaml::String(s) => Value::from(s.as_str()),
            Yaml::Boolean(b) => Value::from(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(json).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), json(v)))
                    .collect(),
            ),
            Yaml::Null => Value::Null,
            other => panic!("unsupported YAML node {other:?}"),
        }
    }
    let text = std::fs::read_to_string(path).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one YAML document", path.display());
    json(&docs[0])
}

pub(crate) fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Reads the provisioning as Grafana would: the datasource file, then every dashboard file the
/// provider's path holds.
fn provisioned() -> Provisioned {
    let root = dir().join("provisioning");
    let ds_files = yaml_files(&root.join("datasources"));
    assert_eq!(ds_files.len(), 1, "{ds_files:?}");
    let file: DatasourceFile = serde_json::from_value(yaml(&ds_files[0]))
        .unwrap_or_else(|e| panic!("{}: {e}", ds_files[0].display()));
    assert_eq!(file.api_version, 1);
    assert_eq!(file.datasources.len(), 1);
    let datasource = file.datasources[0].clone();

    let provider_files = yaml_files(&root.join("dashboards"));
    assert_eq!(provider_files.len(), 1, "{provider_files:?}");
    let file: ProviderFile = serde_json::from_value(yaml(&provider_files[0]))
        .unwrap_or_else(|e| panic!("{}: {e}", provider_files[0].display()));
    assert_eq!(file.api_version, 1);
    assert_eq!(file.providers.len(), 1);
    let p = &file.providers[0];
    assert_eq!(p.kind, "file");
    assert!(!p.name.is_empty() && !p.folder.is_empty() && !p.folder_uid.is_empty());
    assert!(p.org_id >= 1 && p.update_interval_seconds > 0);
    assert!(
        !p.allow_ui_updates && !p.disable_deletion && !p.options.folders_from_files_structure,
        "the files are the source of truth: {p:?}"
    );
    let rel = p
        .options
        .path
        .strip_prefix(GRAFANA_PROVISIONING)
        .unwrap_or_else(|| {
            panic!(
                "provider path '{}' is not under {GRAFANA_PROVISIONING}, where README puts the folder",
                p.options.path
            )
        })
        .trim_start_matches('/');
    let json_dir = root.join(rel);
    assert!(json_dir.is_dir(), "{} does not exist", json_dir.display());
    let mut dashboards = Vec::new();
    for entry in std::fs::read_dir(&json_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let d: Dashboard =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            dashboards.push((path, d));
        }
    }
    dashboards.sort_by(|a, b| a.0.cmp(&b.0));
    Provisioned {
        datasource,
        dashboards,
    }
}

/// `$NAME` and `${NAME}` references, the two forms Grafana expands in provisioning files.
pub(crate) fn env_refs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let braced = rest.starts_with('{');
        let name: String = rest
            .trim_start_matches('{')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if braced {
            assert!(
                rest[1 + name.len()..].starts_with('}'),
                "unclosed ${{ in '{s}'"
            );
        }
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

// ---- InfluxQL, just enough to know what a query selects ----

/// (select list, measurement) of every `SELECT ... FROM "m"`; a `FROM (subquery)` has `None`.
fn selects(q: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = q[at..].find("SELECT ") {
        let start = at + i + "SELECT ".len();
        let Some(j) = q[start..].find(" FROM ") else {
            break;
        };
        let list = &q[start..start + j];
        let after = &q[start + j + " FROM ".len()..];
        let measurement = after.strip_prefix('"').and_then(|a| a.split('"').next());
        out.push((list, measurement));
        at = start + j;
    }
    out
}

/// Splits at commas outside parentheses.
fn top_level(list: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(list[start..].trim());
    out
}

/// Double-quoted identifiers of an expression: (name, is it an `AS` alias).
fn identifiers(expr: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut parts = expr.split('"');
    let mut before = parts.next().unwrap_or_default();
    while let (Some(name), Some(next)) = (parts.next(), parts.next()) {
        out.push((name, before.trim_end().ends_with(" AS")));
        before = next;
    }
    out
}

/// The columns a query returns after `time`, named as the unit rule reads them: the alias, or
/// the field the expression reads.
pub(crate) fn columns(q: &str) -> Vec<String> {
    let (list, _) = selects(q)[0];
    top_level(list)
        .into_iter()
        .map(|expr| {
            let ids = identifiers(expr);
            ids.iter()
                .find(|(_, alias)| *alias)
                .or(ids.first())
                .map(|(n, _)| (*n).to_owned())
                .unwrap_or_else(|| panic!("no column name in '{expr}' of {q}"))
        })
        .collect()
}

/// The unit a column's name carries (field names end in their unit, ARCHITECTURE.md); `None`
/// for counts and text.
pub(crate) fn unit_of(column: &str) -> Option<&'static str> {
    column.rsplit('_').find_map(|token| {
        Some(match token {
            "w" => "watt",
            "kwh" => "kwatth",
            "pct" => "percent",
            "c" => "celsius",
            "k" => "kelvin",
            "a" => "amp",
            "ms" => "ms",
            "s" => "s",
            "kg" => "masskg",
            "hkd" => "currency:HK$",
            "pue" => "none",
            _ => return None,
        })
    })
}

pub(crate) fn variables_used(q: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in q.match_indices('$') {
        let name: String = q[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

// ---- static checks ----

#[test]
fn provisioning_parses_and_points_at_every_dashboard() {
    let p = provisioned();
    let ds = &p.datasource;
    assert_eq!(
        (ds.kind.as_str(), ds.access.as_str()),
        ("influxdb", "proxy")
    );
    assert_eq!(ds.json_data.version, "InfluxQL");
    assert!(["GET", "POST"].contains(&ds.json_data.http_mode.as_str()));
    assert!(humantime::parse_duration(&ds.json_data.time_interval).is_ok());
    assert!(!ds.name.is_empty() && !ds.editable);
    // Per-installation values and secrets come from the environment, never from the file.
    for (what, value) in [
        ("url", &ds.url),
        ("user", &ds.user),
        ("jsonData.dbName", &ds.json_data.db_name),
    ] {
        assert_eq!(
            env_refs(value).len(),
            1,
            "{what} must be an environment variable: '{value}'"
        );
    }
    assert!(!ds.secure_json_data.is_empty());
    for (k, v) in &ds.secure_json_data {
        assert!(
            v.starts_with('$') && env_refs(v).len() == 1 && !v.contains(' '),
            "secureJsonData.{k} must be exactly one environment variable, not '{v}'"
        );
    }
    // README tells users every variable to set.
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let mut vars: Vec<String> = [&ds.url, &ds.user, &ds.json_data.db_name]
        .into_iter()
        .chain(ds.secure_json_data.values())
        .flat_map(|v| env_refs(v))
        .collect();
    vars.dedup();
    for v in &vars {
        assert!(
            readme.contains(v.as_str()),
            "dashboards/README.md must name {v}"
        );
    }

    // Exactly the dashboards with stable uids, each in the file named by its uid.
    let uids: Vec<&str> = p.dashboards.iter().map(|(_, d)| d.uid.as_str()).collect();
    assert_eq!(uids, UIDS);
    for (path, d) in &p.dashboards {
        assert_eq!(
            path.file_stem().and_then(|s| s.to_str()),
            Some(d.uid.as_str())
        );
        assert!(d.uid.len() <= 40 && d.uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert!(readme.contains(&d.uid), "README must list '{}'", d.uid);
    }
    let titles: BTreeSet<&str> = p.dashboards.iter().map(|(_, d)| d.title.as_str()).collect();
    assert_eq!(titles.len(), p.dashboards.len(), "titles must differ");
    assert!(
        readme.contains(&format!("schemaVersion {SCHEMA_VERSION}")),
        "README must name the schema version the JSON targets"
    );
}

#[test]
fn every_dashboard_has_the_structure_grafana_expects_and_a_unit_on_every_panel() {
    let p = provisioned();
    let ds_ref = DsRef {
        kind: "influxdb".into(),
        uid: p.datasource.uid.clone(),
    };
    let canonical: BTreeSet<&str> = Field::ALL.iter().map(|f| f.measurement().name()).collect();
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let mut problems = Vec::new();
    let mut targets = 0;
    for (path, d) in &p.dashboards {
        let file = path.file_name().unwrap().to_string_lossy();
        let mut fail = |m: String| problems.push(format!("{file}: {m}"));
        if d.schema_version != SCHEMA_VERSION {
            fail(format!("schemaVersion {}", d.schema_version));
        }
        if !d.tags.iter().any(|t| t == "kilowatch") {
            fail("no 'kilowatch' tag (the dashboards link each other by it)".into());
        }
        if !d.time.from.starts_with("now") || d.time.to != "now" {
            fail(format!("time {:?}", d.time));
        }
        let vars: Vec<&str> = d.templating.list.iter().map(|v| v.name.as_str()).collect();
        if vars.first() != Some(&"site") {
            fail(format!("the first variable must be 'site': {vars:?}"));
        }
        for v in &d.templating.list {
            if v.kind != "query"
                || v.datasource != ds_ref
                || !v.query.starts_with("SHOW TAG VALUES FROM ")
                || !(v.multi && v.include_all)
                || !(1..=2).contains(&v.refresh)
            {
                fail(format!("variable {v:?}"));
            }
            // A variable may use only those before it: Grafana resolves them in order.
            let pos = vars.iter().position(|n| *n == v.name).unwrap();
            for used in variables_used(&v.query) {
                if !vars[..pos].contains(&used.as_str()) {
                    fail(format!(
                        "variable '{}' uses '${used}' defined after it",
                        v.name
                    ));
                }
            }
        }
        let mut ids = BTreeSet::new();
        for panel in &d.panels {
            let mut fail =
                |m: String| problems.push(format!("{file}: panel '{}': {m}", panel.title));
            if !ids.insert(panel.id) {
                fail("duplicate id".into());
            }
            if !PANEL_TYPES.contains(&panel.kind.as_str()) {
                fail(format!("type '{}'", panel.kind));
            }
            let g = &panel.grid_pos;
            if g.w == 0 || g.h == 0 || g.x + g.w > 24 || g.y > 200 {
                fail(format!("gridPos {g:?}"));
            }
            if panel.datasource != ds_ref {
                fail(format!("datasource {:?}", panel.datasource));
            }
            let t = &panel.field_config.defaults.thresholds;
            let ascending = t.steps.windows(2).all(|w| match (w[0].value, w[1].value) {
                (None, Some(_)) => true,
                (Some(a), Some(b)) => a < b,
                _ => false,
            });
            if t.mode != "absolute"
                || t.steps.first().is_none_or(|s| s.value.is_some())
                || !ascending
                || t.steps.iter().any(|s| s.color.is_empty())
            {
                fail(format!("thresholds {t:?}"));
            }
            if panel
                .interval
                .as_deref()
                .is_some_and(|i| humantime::parse_duration(i).is_err())
            {
                fail(format!("interval {:?}", panel.interval));
            }
            if panel.targets.is_empty() {
                fail("no targets".into());
            }
            let mut refs = BTreeSet::new();
            for target in &panel.targets {
                targets += 1;
                let q = &target.query;
                let mut fail = |m: String| fail(format!("{}: {m}: {q}", target.ref_id));
                if !refs.insert(&target.ref_id)
                    || target.datasource != ds_ref
                    || !target.raw_query
                    || !["time_series", "table"].contains(&target.result_format.as_str())
                {
                    fail(format!("target {target:?}"));
                }
                if !q.starts_with("SELECT ") || !q.contains("$timeFilter") {
                    fail("not an InfluxQL SELECT over the dashboard's time range".into());
                }
                if !q.contains("$site") && !q.contains(SINK_SERIES) {
                    fail("does not filter on $site".into());
                }
                for used in variables_used(q) {
                    if !vars.contains(&used.as_str())
                        && used != "timeFilter"
                        && used != "__interval"
                    {
                        fail(format!("undefined variable '${used}'"));
                    }
                }
                // Fields read from the collector's measurements must exist there, by exact name.
                for (list, m) in selects(q) {
                    let Some(m) = m else { continue };
                    if !canonical.contains(m) {
                        if !readme.contains(&format!("`{m}`")) {
                            fail(format!("measurement '{m}' is not documented in README"));
                        }
                        continue;
                    }
                    for (name, alias) in top_level(list).iter().flat_map(|e| identifiers(e)) {
                        let ok = alias
                            || Field::from_name(name).is_some_and(|f| f.measurement().name() == m);
                        if !ok {
                            fail(format!("'{m}' has no field '{name}'"));
                        }
                    }
                }
                for column in columns(q) {
                    let unit = panel.unit(&column);
                    let ok = match unit_of(&column) {
                        Some(want) => unit == want,
                        None => ["short", "string"].contains(&unit),
                    };
                    if !ok {
                        fail(format!("column '{column}' shown in '{unit}'"));
                    }
                }
            }
        }
    }
    assert!(targets >= 40, "only {targets} panel queries");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_query_reading_helpers_read_what_grafana_sends() {
    let q = r#"SELECT sum("in") - sum("out") AS "ups_loss_w" FROM (SELECT mean("active_power_w") AS "in" FROM "power" WHERE $timeFilter GROUP BY "device") WHERE $timeFilter"#;
    assert_eq!(columns(q), ["ups_loss_w"]);
    assert_eq!(selects(q).len(), 2);
    assert_eq!(selects(q)[1].1, Some("power"));
    assert_eq!(
        columns(r#"SELECT last("a_w") AS "x_kwh", mean("load_pct") FROM "ups""#),
        ["x_kwh", "load_pct"]
    );
    assert_eq!(unit_of("kwh_per_year"), Some("kwatth"));
    assert_eq!(unit_of("delta_t_k"), Some("kelvin"));
    assert_eq!(unit_of("devices_up"), None);
    assert_eq!(env_refs("Token ${A_B} and $C"), ["A_B", "C"]);
    assert_eq!(
        variables_used(r#""site" =~ /^$site$/ AND $timeFilter"#),
        BTreeSet::from(["site".to_owned(), "timeFilter".to_owned()])
    );
}

// ---- against a real InfluxDB ----

#[cfg(feature = "peers")]
pub(crate) mod live {
    use super::*;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use common::influxd::{Influxd, blocking};
    use kilowatch_core::clock::Clock;
    use kilowatch_core::timefmt::{format_rfc3339, parse_rfc3339};
    use kilowatch_sim::{RunningSim, SimConfig};

    pub(crate) const HK_MS: i64 = 8 * 3_600_000;
    pub(crate) const DAY_MS: i64 = 86_400_000;
    /// Two sites, so rankings and the site variable have something to tell apart; each with
    /// its own emission factor (kg/kWh) and tariff (HKD/kWh).
    pub(crate) const SITES: &[(&str, f64, f64)] = &[("north", 0.71, 1.1), ("south", 0.39, 1.3)];

    /// InfluxDB's answer to one statement.
    #[derive(Debug, Deserialize)]
    struct Answer {
        #[serde(default)]
        results: Vec<Statement>,
        error: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Statement {
        #[serde(default)]
        series: Vec<Series>,
        error: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Series {
        #[serde(default)]
        tags: BTreeMap<String, String>,
        columns: Vec<String>,
        #[serde(default)]
        values: Vec<Vec<Value>>,
    }

    /// What Grafana's InfluxQL datasource sends, configured from the provisioned datasource with
    /// the environment a Grafana server would have.
    struct Grafana {
        url: String,
        db: String,
        user: String,
        password: String,
        post: bool,
        min_interval: Duration,
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
                db: expand(&ds.json_data.db_name),
                user: expand(&ds.user),
                password: ds
                    .secure_json_data
                    .get("password")
                    .map(|p| expand(p))
                    .unwrap_or_default(),
                post: ds.json_data.http_mode == "POST",
                min_interval: humantime::parse_duration(&ds.json_data.time_interval).unwrap(),
                client: reqwest::blocking::Client::new(),
            }
        }

        fn query(&self, q: &str) -> Result<Vec<Series>, String> {
            let mut url = url::Url::parse(&format!("{}/query", self.url)).unwrap();
            url.query_pairs_mut()
                .append_pair("db", &self.db)
                .append_pair("epoch", "ms");
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .finish();
            let mut req = if self.post {
                self.client
                    .post(url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form)
            } else {
                url.query_pairs_mut().append_pair("q", q);
                self.client.get(url)
            };
            if !self.user.is_empty() {
                req = req.basic_auth(&self.user, Some(&self.password));
            }
            let text = req.send().map_err(|e| e.to_string())?.text().unwrap();
            let answer: Answer = serde_json::from_str(&text).map_err(|_| text.clone())?;
            if let Some(e) = answer.error {
                return Err(e);
            }
            let mut out = Vec::new();
            for s in answer.results {
                if let Some(e) = s.error {
                    return Err(e);
                }
                out.extend(s.series);
            }
            Ok(out)
        }

        /// `$__interval` as Grafana derives it: the range over ~1000 points, at least the
        /// panel's or datasource's minimum, rounded up to a round step.
        fn interval(&self, range_ms: i64, panel: Option<&str>) -> String {
            let min = panel
                .map(|i| humantime::parse_duration(i).unwrap())
                .unwrap_or(self.min_interval);
            let raw = Duration::from_millis((range_ms / 1000) as u64).max(min);
            let steps = [
                1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400,
            ];
            let s = steps
                .into_iter()
                .find(|s| Duration::from_secs(*s) >= raw)
                .unwrap_or(86400);
            format!("{s}s")
        }
    }

    /// Grafana's regex formatting of a variable's value for `=~ /^$var$/`.
    fn regex_value(values: &[String]) -> String {
        let escaped: Vec<String> = values
            .iter()
            .map(|v| {
                v.chars()
                    .flat_map(|c| {
                        let special = "\\^$.|?*+()[]{}/".contains(c);
                        special.then_some('\\').into_iter().chain([c])
                    })
                    .collect()
            })
            .collect();
        format!("({})", escaped.join("|"))
    }

    fn substitute(q: &str, vars: &[(String, String)], time: &str, interval: &str) -> String {
        let mut s = q
            .replace("$timeFilter", time)
            .replace("$__interval", interval);
        let mut vars = vars.to_vec();
        vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        for (name, value) in vars {
            s = s.replace(&format!("${name}"), &value);
        }
        s
    }

    /// A sane value for a column shown in `unit`: what a user would accept on a dashboard.
    pub(crate) fn sane(unit: &str, column: &str, v: f64) -> bool {
        match unit {
            // The only unitless figure shown is PUE.
            "none" => v > 1.0 && v <= 3.0,
            "celsius" => (5.0..=45.0).contains(&v),
            "kelvin" => (0.0..=30.0).contains(&v),
            "percent" => (0.0..=100.0).contains(&v),
            // Differences between meters may dip below zero by the meters' tolerance.
            "watt" if column.contains("loss") || column.contains("headroom") => v.abs() <= 1e6,
            "watt" | "kwatth" | "masskg" | "currency:HK$" => (0.0..=1e6).contains(&v),
            "amp" => (0.0..=1000.0).contains(&v),
            "ms" => (0.0..=60_000.0).contains(&v),
            "s" => (0.0..=1e7).contains(&v),
            "short" => v >= 0.0 && v.fract() == 0.0,
            _ => false,
        }
    }

    /// `kilowatch publish` into the engine at `url` for every site over `[start, end)`: the
    /// first site analysed from its embedded store, the second from the engine itself.
    pub(crate) fn publish_sites(work: &Path, url: &str, start: i64, end: i64) {
        let (from_arg, to_arg) = (format_rfc3339(start), format_rfc3339(end));
        for (i, (site, ..)) in SITES.iter().enumerate() {
            let dir = work.join(site);
            let config = dir.join("site.toml");
            let mut args = vec![
                "publish", "--influx", url, "--from", &from_arg, "--to", &to_arg,
            ];
            args.extend([
                "--config",
                config.to_str().unwrap(),
                "--data",
                dir.to_str().unwrap(),
            ]);
            if i == 1 {
                args.push("--read-influx");
            }
            let out = kilowatch(&args);
            assert!(String::from_utf8_lossy(&out.stdout).contains("kpi_daily"));
        }
    }

    /// The start of the Hong Kong month `start` falls in: management's "this month so far".
    pub(crate) fn month_start(start: i64) -> i64 {
        let local = format_rfc3339(start + HK_MS);
        parse_rfc3339(&format!("{}-01T00:00:00+08:00", &local[..7])).unwrap()
    }

    /// What every variant's panels must show together: one outbox line per collector, power
    /// falling along the chain, and the estate PUE equal to the analyzer's over the same days.
    pub(crate) fn assert_figures_agree(
        work: &Path,
        (start, end): (i64, i64),
        outboxes: &BTreeSet<String>,
        chain: &BTreeMap<String, f64>,
        estate_pue: &BTreeMap<(String, String), f64>,
    ) {
        // One outbox line per collector: their health does not mix in one series.
        let named: BTreeSet<String> = SITES.iter().map(|(s, ..)| format!("kw-{s}")).collect();
        assert_eq!(*outboxes, named, "outbox depth series by collector");
        // Power only falls along the chain: utility (A) feeds the UPS input (B), which loses some
        // before its output (C).
        assert!(
            chain["A"] > chain["B"] && chain["B"] > chain["C"] && chain["C"] > 0.0,
            "power chain now: {chain:?}"
        );
        // The estate PUE is the analyzer's PUE over the same days, from either store.
        let day = (start + HK_MS).div_euclid(DAY_MS) * DAY_MS - HK_MS;
        for (site, ..) in SITES {
            let dir = work.join(site);
            let out = kilowatch(&[
                "pue",
                "--json",
                "--config",
                dir.join("site.toml").to_str().unwrap(),
                "--data",
                dir.to_str().unwrap(),
                "--from",
                &format_rfc3339(day),
                "--to",
                &format_rfc3339(end),
            ]);
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            for cat in ["1", "3"] {
                let want = report[0]["pue"][cat]["pue"].as_f64().unwrap();
                let got = estate_pue[&((*site).to_owned(), cat.to_owned())];
                assert!(
                    ((got - want) / want).abs() < 0.005,
                    "{site} PUE{cat}: dashboard {got}, analyzer {want}"
                );
            }
        }
    }

    pub(crate) fn kilowatch(args: &[&str]) -> std::process::Output {
        let out = Command::new(env!("CARGO_BIN_EXE_kilowatch"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kilowatch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub(crate) fn stop(mut child: Child) {
        // SIGTERM, as systemd stops the collector: it flushes the outbox before exiting.
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "collector exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "collector did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn first(s: &Series) -> Option<f64> {
        s.values.first()?.get(1)?.as_f64()
    }

    fn time_filter((from, to): (i64, i64)) -> String {
        format!("time >= {from}ms and time <= {to}ms")
    }

    /// Resolves the variables in order, as Grafana does on load: "All" everywhere, or one site.
    fn variables(
        grafana: &Grafana,
        d: &Dashboard,
        one_site: Option<&str>,
        range: (i64, i64),
    ) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        for v in &d.templating.list {
            let q = substitute(&v.query, &vars, &time_filter(range), "1m");
            let values: Vec<String> = grafana
                .query(&q)
                .unwrap_or_else(|e| panic!("{}: ${}: {e}", d.uid, v.name))
                .iter()
                .flat_map(|s| &s.values)
                .filter_map(|r| r.get(1)?.as_str().map(str::to_owned))
                .collect();
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

    /// Runs one panel query and checks its answer: data, a sane value in every column for the
    /// unit the panel shows it in, and with one site selected, only that site. Returns the
    /// answer and what is wrong with it.
    fn run(
        grafana: &Grafana,
        panel: &Panel,
        target: &Target,
        vars: &[(String, String)],
        range: (i64, i64),
        one_site: Option<&str>,
    ) -> (Vec<Series>, Vec<String>) {
        let mut problems = Vec::new();
        let interval = grafana.interval(range.1 - range.0, panel.interval.as_deref());
        let q = substitute(&target.query, vars, &time_filter(range), &interval);
        let at = format!(
            "{} / {} ({}): {q}",
            panel.title,
            target.ref_id,
            one_site.unwrap_or("all sites")
        );
        let series = match grafana.query(&q) {
            Ok(s) => s,
            Err(e) => return (Vec::new(), vec![format!("{at}: {e}")]),
        };
        let names = columns(&target.query);
        let mut values = 0;
        for s in &series {
            if s.columns.len() != names.len() + 1 {
                problems.push(format!("{at}: columns {:?}", s.columns));
                continue;
            }
            if let (Some(site), Some(tag)) = (one_site, s.tags.get("site"))
                && tag != site
            {
                problems.push(format!("{at}: a '{tag}' series"));
            }
            for row in &s.values {
                for (name, v) in names.iter().zip(&row[1..]) {
                    let unit = panel.unit(name);
                    let ok = match v {
                        Value::Null => continue,
                        Value::String(_) => unit == "string",
                        v => v.as_f64().is_some_and(|x| sane(unit, name, x)),
                    };
                    values += 1;
                    if !ok {
                        problems.push(format!("{at}: {name} = {v} ({unit})"));
                    }
                }
            }
        }
        if values == 0 {
            problems.push(format!("{at}: no data"));
        }
        (series, problems)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_panel_query_returns_sane_values_from_a_real_influxdb() {
        let influx = Influxd::start();
        let work = tempfile::tempdir().unwrap();
        let secret = work.path().join("community");
        kilowatch_core::secret::write_private(&secret, "dashboards-test").unwrap();
        let mut sims = Vec::new();
        let mut collectors = Vec::new();
        let start = Clock::System.now_ms();
        for (site, ef, tariff) in SITES {
            let config = SimConfig {
                site: (*site).into(),
                community: "dashboards-test".into(),
                emission_factor_kg_per_kwh: Some(*ef),
                tariff_hkd_per_kwh: Some(*tariff),
                ..SimConfig::default()
            };
            let sim = RunningSim::start(config, Clock::System).await.unwrap();
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
            collectors.push(
                Command::new(env!("CARGO_BIN_EXE_kilowatch"))
                    .args(["collect", "--influx", &influx.url(), "--config"])
                    .arg(dir.join("site.toml"))
                    .arg("--data")
                    .arg(&dir)
                    // Each site's collector would run on its own machine, named by its host.
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
            (
                "KILOWATCH_INFLUX_URL",
                format!("http://127.0.0.1:{}", influx.port),
            ),
            ("KILOWATCH_INFLUX_DB", "kw".to_owned()),
            ("KILOWATCH_INFLUX_USER", String::new()),
            ("KILOWATCH_INFLUX_PASSWORD", String::new()),
        ]);
        // Everything from here is blocking HTTP and processes; the sims keep serving on the
        // runtime's other worker.
        blocking(move || after_collection(influx, work, collectors, sims, start, &ds, &env));
    }

    fn after_collection(
        influx: Influxd,
        work: tempfile::TempDir,
        collectors: Vec<Child>,
        sims: Vec<RunningSim>,
        start: i64,
        ds: &Datasource,
        env: &BTreeMap<&str, String>,
    ) {
        let grafana = Grafana::new(ds, env);

        // Collect until every site's facility meter has 20 polls in InfluxDB.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let counts = grafana
                .query(
                    "SELECT count(\"active_power_w\") FROM \"power\" WHERE \"role\" = 'facility' GROUP BY \"site\"",
                )
                .unwrap_or_default();
            let enough = counts
                .iter()
                .filter(|s| first(s).is_some_and(|n| n >= 20.0))
                .count();
            if enough == SITES.len() {
                break;
            }
            assert!(Instant::now() < deadline, "collectors too slow: {counts:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
        collectors.into_iter().for_each(stop);
        let end = Clock::System.now_ms();
        for sim in sims {
            sim.shutdown();
        }

        // One site analysed from its embedded store, the other from InfluxDB itself.
        publish_sites(work.path(), &influx.url(), start, end);

        // The dashboards' time range: this month so far (Hong Kong), as management picks it.
        let range = (month_start(start), end + 60_000);
        let mut problems = Vec::new();
        let mut runs = 0;
        let mut estate_pue: BTreeMap<(String, String), f64> = BTreeMap::new();
        let mut chain: BTreeMap<String, f64> = BTreeMap::new();
        let mut outboxes: BTreeSet<String> = BTreeSet::new();
        for (_, d) in &provisioned().dashboards {
            for one_site in [None, Some(SITES[0].0)] {
                let vars = variables(&grafana, d, one_site, range);
                for panel in &d.panels {
                    for target in &panel.targets {
                        runs += 1;
                        let (series, wrong) = run(&grafana, panel, target, &vars, range, one_site);
                        problems.extend(wrong.into_iter().map(|w| format!("{}: {w}", d.uid)));
                        match (d.uid.as_str(), panel.id, one_site) {
                            ("kilowatch-estate", 1, None) => {
                                for s in &series {
                                    let tag = |k: &str| s.tags.get(k).cloned().unwrap_or_default();
                                    if let Some(v) = first(s) {
                                        estate_pue.insert((tag("site"), tag("category")), v);
                                    }
                                }
                            }
                            ("kilowatch-power-chain", 1, Some(_)) => {
                                if let Some(v) = series.first().and_then(first) {
                                    chain.insert(target.ref_id.clone(), v);
                                }
                            }
                            ("kilowatch-collector", 5, None) => {
                                outboxes.extend(
                                    series
                                        .iter()
                                        .filter_map(|s| s.tags.get("collector").cloned()),
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
        assert!(runs >= 100, "only {runs} queries ran");
        assert_figures_agree(work.path(), (start, end), &outboxes, &chain, &estate_pue);
        drop(influx);
    }
}
