#!/usr/bin/env python3
"""The VictoriaMetrics variant of Kilowatch's Grafana dashboards, generated from the InfluxQL ones.

    python3 dashboards/victoriametrics/generate.py           # writes kilowatch-*-vm.json here
    python3 dashboards/victoriametrics/generate.py --check   # exit 1 if a file here is stale

Everything but the queries is copied from dashboards/provisioning/dashboards/kilowatch/*.json
(panels, titles, descriptions, layout, units, thresholds, options), so the two variants cannot
drift. The queries come from TRANSLATIONS below: for each InfluxQL target, the fingerprint of the
InfluxQL it translates and one MetricsQL target per column it selects. When an InfluxQL query
changes, its fingerprint no longer matches and this script stops with the new query, until its
translation is updated. Python 3 standard library only.

How a query is translated (VictoriaMetrics names a line-protocol field `<measurement>_<field>`,
with the tags as labels; dashboards/README.md says more):

- `"t" =~ /^$v$/` is `t=~"$v"` (PromQL regexes are anchored); `"t" = ''` is `t=""` (absent);
  `"t" =~ /.+/` is `t!=""`.
- `GROUP BY time($__interval), tags` is a range query:
  `<agg> by (tags) (<agg>_over_time(m[$__interval]))`; raw points (daily and monthly figures)
  are `last_over_time(m[$__interval])`, the point in each step.
- An aggregate without `GROUP BY time` is one figure over the dashboard's range: an instant
  query at its end over the window `[${__range_ms}ms1ms]`, which is `[from, to]` as
  `$timeFilter` is (a PromQL window is open on the left, so `[$__range]` alone would leave out a
  daily point stamped at the start of "today so far" or "this month so far").
- InfluxQL's mean over several series is sample-weighted: `sum(sum_over_time) / sum(count_over_time)`.
- `last()` of a group is `last_over_time` per series, then `max by` the group (a group is one
  series, or series that carry the same figure).
- A query selecting several columns becomes one target per column; a table merges them and
  renames `Value #A`... back to the column names, so sorting and overrides by name still apply.
- String fields (`server_idle.reason`, `alert_events.title`/`text`) have no counterpart:
  VictoriaMetrics stores numbers only.
"""

import copy
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INFLUXQL = HERE.parent / "provisioning" / "dashboards" / "kilowatch"

DATASOURCE = {"type": "prometheus", "uid": "kilowatch-vm"}
UID_SUFFIX = "-vm"

# The dashboard's whole range, closed on both ends like InfluxQL's $timeFilter.
RANGE = "[${__range_ms}ms1ms]"
# One step of a range query.
STEP = "[$__interval]"

# Template variables: label_values(selector, label) lists the label's values over the
# dashboard's range (Grafana asks /api/v1/series or /api/v1/label/<label>/values with match[]).
VARIABLES = {
    'SHOW TAG VALUES FROM "power" WITH KEY = "site"': 'label_values({__name__=~"power_.+"}, site)',
    'SHOW TAG VALUES FROM "power" WITH KEY = "room" WHERE "site" =~ /^$site$/': 'label_values({__name__=~"power_.+", site=~"$site"}, room)',
    'SHOW TAG VALUES FROM "ups" WITH KEY = "device" WHERE "site" =~ /^$site$/': 'label_values({__name__=~"ups_.+", site=~"$site"}, device)',
}

# The annotation "Alerts": alert_events' title and text are strings, which VictoriaMetrics does
# not keep; each change is marked from its labels instead.
ANNOTATION = {
    "expr": 'count_over_time(alert_events_title{site=~"$site"}[$__interval])',
    "step": "60s",
    "titleFormat": "{{status}} {{alertname}}",
    "textFormat": "{{severity}}: {{alertname}} {{status}} on {{device}} {{point}}",
    "tagKeys": "alertname,status,device",
    "useValueForTime": False,
}

# Panels whose look differs with Prometheus frames: Grafana inserts nulls into gaps longer than
# the step, so the daily points of "Daily PUE" are joined explicitly (InfluxQL's raw points are).
CUSTOM = {("kilowatch-estate", 5): {"spanNulls": True}}


def sel(metric, *matchers):
    return metric + "{" + ", ".join(matchers) + "}"


S = 'site=~"$site"'
R = 'room=~"$room"'
KW = 'device="kilowatch"'
PROTO = 'protocol!=""'


def last(metric, by, *m):
    """last() per group over the range."""
    return f"max by ({by}) (last_over_time({sel(metric, *m)}{RANGE}))"


def mean_range(metric, by, *m):
    """mean() per group over the range, sample-weighted as InfluxQL's."""
    s = sel(metric, *m)
    return f"sum by ({by}) (sum_over_time({s}{RANGE})) / sum by ({by}) (count_over_time({s}{RANGE}))"


def mean_step(metric, by, *m):
    """mean() per group and step (one series per group: a device's, or a sensor's)."""
    return f"avg by ({by}) (avg_over_time({sel(metric, *m)}{STEP}))"


def max_step(metric, by, *m):
    return f"max by ({by}) (max_over_time({sel(metric, *m)}{STEP}))"


def raw_step(metric, by, *m):
    """Raw points (daily or monthly figures): the one in each step."""
    return f"max by ({by}) (last_over_time({sel(metric, *m)}{STEP}))"


def chain_now(*m):
    """Sum over devices of each device's last power."""
    return f"sum(max by (site, device) (last_over_time({sel('power_active_power_w', *m)}{RANGE})))"


def chain_step(metric, *m, by=""):
    """Per step: the sum over devices of each device's mean (InfluxQL's subquery by site and
    device, then the outer GROUP BY `by`)."""
    outer = [t for t in by.split(", ") if t]
    inner = ", ".join(dict.fromkeys(["site", "device", *outer]))
    mean = f"avg by ({inner}) (avg_over_time({sel(metric, *m)}{STEP}))"
    return f"sum by ({by}) ({mean})" if by else f"sum({mean})"


def period_sum(metric, by=None):
    agg = f"sum by ({by})" if by else "sum"
    return f"{agg} (sum_over_time({sel(metric, S)}{RANGE}))"


PUE = f"{period_sum('kpi_daily_facility_kwh', 'site, category')} / {period_sum('kpi_daily_it_kwh', 'site, category')}"
UPS_IN = ('point="input"', 'device=~"$ups"', S)
IT1 = ('role="it1"', S)
IT3 = ('role="it3"', S)
IT23 = ('role=~"it[23]"', S)

# (dashboard uid, panel id) -> InfluxQL refId -> (fingerprint of its InfluxQL, [expr per column]).
# A column a string field fills is left out (see the module's doc).
TRANSLATIONS = {
    ("kilowatch-capacity", 1): {"A": ("d9d7d90d407c", [last("capacity_rack_utilisation_pct", "site, rack", S, R)])},
    ("kilowatch-capacity", 2): {"A": ("7ad43500e0e1", [chain_step("power_active_power_w", 'role=~"it.*"', 'rack!=""', S, R, by="site, rack")])},
    ("kilowatch-capacity", 3): {"A": ("e4a63975638a", [last(f"capacity_rack_{f}", "site, room, rack", S, R) for f in ("budget_w", "p95_w", "peak_w", "headroom_w")])},
    ("kilowatch-capacity", 4): {"A": ("a5aa81c7ced0", [last(f"capacity_room_{f}", "site, room", S, R) for f in ("power_headroom_w", "cooling_headroom_w", "stranded_power_w", "stranded_cooling_w")])},
    ("kilowatch-capacity", 5): {"A": ("f207b2ef1045", [mean_step("power_current_a", "site, device, point", 'rack!=""', 'point!=""', S, R)])},
    ("kilowatch-capacity", 6): {"A": ("bcc8d2a627e3", [last("capacity_breaker_load_pct", "site, device, point", S, R)])},
    ("kilowatch-capacity", 7): {"A": ("75eb0cf849af", [last("capacity_breaker_imbalance_pct", "site, device", S, R)])},
    ("kilowatch-collector", 1): {
        "A": ("c034fa8f0ac4", [f"sum(max by (site, device) (last_over_time({sel('collector_up', PROTO, S)}{RANGE})))"]),
        "B": ("039fb3950b6a", [f"count(max by (site, device) (last_over_time({sel('collector_up', PROTO, S)}{RANGE})))"]),
    },
    ("kilowatch-collector", 2): {"A": ("5fbccdb9d3f2", [mean_step("collector_up", "site, device", PROTO, S) + " * 100"])},
    ("kilowatch-collector", 3): {"A": ("2d534853f0c6", [last("collector_errors", "site, device", PROTO, S)])},
    ("kilowatch-collector", 4): {"A": ("7962ed1a2b35", [mean_step("collector_poll_ms", "site, device", PROTO, S)])},
    ("kilowatch-collector", 5): {"A": ("1f42aa852cbe", [max_step("collector_queue_points", "collector, sink", KW)])},
    ("kilowatch-collector", 6): {"A": ("a6f23896cd80", [max_step("collector_queue_age_s", "collector, sink", KW)])},
    ("kilowatch-collector", 7): {"A": ("8ea9bf417d75", [max_step("collector_write_ms", "collector, sink", KW)])},
    ("kilowatch-collector", 8): {"A": ("5f04540e6a23", [last(f"collector_{f}", "collector, sink", KW) for f in ("dropped", "rejected", "retries")])},
    ("kilowatch-estate", 1): {"A": ("396e2a9fffb0", [PUE])},
    ("kilowatch-estate", 2): {"A": ("019d8d410163", [period_sum("energy_daily_facility_kwh")])},
    ("kilowatch-estate", 3): {"A": ("6402773c64a2", [period_sum("energy_daily_cost_hkd")])},
    ("kilowatch-estate", 4): {"A": ("4a27c31126cc", [period_sum("energy_daily_co2_kg")])},
    ("kilowatch-estate", 5): {"A": ("16f6dcd15a2a", [raw_step("kpi_daily_pue", "site, category", S)])},
    ("kilowatch-estate", 6): {"A": ("44e674c81fd9", [raw_step("energy_monthly_facility_kwh", "site", S)])},
    ("kilowatch-estate", 7): {"A": ("2f38576af35a", [raw_step("energy_monthly_cost_hkd", "site", S)])},
    ("kilowatch-estate", 8): {"A": ("7e799b5bce12", [raw_step("energy_monthly_co2_kg", "site", S)])},
    ("kilowatch-estate", 9): {"A": ("396e2a9fffb0", [PUE])},
    ("kilowatch-estate", 10): {"A": ("37944d77d404", [mean_range("server_cpu_util_pct", "site", S)])},
    ("kilowatch-estate", 11): {
        "A": ("604b76ddf684", [mean_range("kpi_daily_coverage_pct", "site, category", S)]),
        "B": ("ac92e9e3ade9", [f"({mean_range('collector_up', 'site', PROTO, S)}) * 100"]),
    },
    ("kilowatch-power-chain", 1): {
        "A": ("98620811f5ee", [chain_now('role="facility"', S)]),
        "B": ("24eadbf0b214", [chain_now(*UPS_IN)]),
        "C": ("6e0cb5a9ce5c", [chain_now('role="it1"', S)]),
        "D": ("d418979b17c8", [f"sum by (role) (max by (site, device, role) (last_over_time({sel('power_active_power_w', *IT23)}{RANGE})))"]),
        "E": ("90e11423e594", [f"sum(max by (site, device) (last_over_time({sel('server_power_w', S)}{RANGE})))"]),
        "F": ("c0d4864bfde2", [chain_now('role="cooling"', S)]),
        "G": ("c12d8be5447b", [chain_now('role=~"lighting|other"', S)]),
    },
    ("kilowatch-power-chain", 2): {
        "A": ("0404b6198303", [chain_step("power_active_power_w", 'role="facility"', S)]),
        "B": ("f2615efb8ea9", [chain_step("power_active_power_w", *UPS_IN)]),
        "C": ("2afa9fef35aa", [chain_step("power_active_power_w", 'role="it1"', S)]),
        "D": ("4e9b19e39acb", [chain_step("power_active_power_w", 'role=~"it[23]"', S, by="role")]),
        "E": ("73c07aa5435d", [chain_step("server_power_w", S)]),
        "F": ("8505c8e3781d", [chain_step("power_active_power_w", 'role="cooling"', S)]),
        "G": ("ea5a3ebdf043", [chain_step("power_active_power_w", 'role=~"lighting|other"', S)]),
    },
    ("kilowatch-power-chain", 3): {
        "A": ("0ac2388495f8", [f"{chain_step('power_active_power_w', *UPS_IN)} - {chain_step('power_active_power_w', *IT1)}"]),
        "B": ("1074b2030c7b", [f"{chain_step('power_active_power_w', *IT1)} - {chain_step('power_active_power_w', *IT3)}"]),
    },
    ("kilowatch-power-chain", 4): {"A": ("e0e15aede661", [mean_step("ups_load_pct", "site, device", 'point=""', S)])},
    ("kilowatch-power-chain", 5): {"A": ("9cacddf3dd3c", [mean_step("ups_battery_charge_pct", "site, device", S)])},
    ("kilowatch-power-chain", 6): {"A": ("31cc15a8854e", [last("ups_runtime_s", "site, device", S)])},
    ("kilowatch-power-chain", 7): {"A": ("6b87d85de4ad", [mean_step("power_active_power_w", "site, device", 'role=~"it[23]"', S, R)])},
    ("kilowatch-power-chain", 8): {"A": ("b6af2f0200f7", [mean_step("power_active_power_w", "site, device, role", 'role=~"cooling|lighting|other"', S)])},
    ("kilowatch-servers", 1): {"A": ("1d8d9efe36de", [mean_range("server_cpu_util_pct", "site, device", S, R)])},
    ("kilowatch-servers", 2): {"A": ("ac26286b23ac", [last(f"server_idle_{f}", "site, rack, device", S, R) for f in ("power_w", "cpu_p95_pct", "kwh_per_year", "hkd_per_year", "confirmed")])},
    ("kilowatch-servers", 3): {"A": ("e2d64bd9b458", [mean_step("server_cpu_util_pct", "site, device", S, R)])},
    ("kilowatch-servers", 4): {"A": ("f7d496b430b4", [mean_step("server_power_w", "site, device", S, R)])},
    ("kilowatch-thermal", 1): {"A": ("5f5f679c8614", [mean_step("environment_inlet_temp_c", "site, device, point", S, R)])},
    ("kilowatch-thermal", 2): {"A": ("a37d78b9a04c", [last("inlet_compliance_recommended_pct", "site, device, point", S, R)])},
    ("kilowatch-thermal", 3): {
        "A": ("08eac6b89f14", [mean_step("cooling_supply_temp_c", "site, device", S, R)]),
        "B": ("671697b83a17", [mean_step("cooling_return_temp_c", "site, device", S, R)]),
    },
    ("kilowatch-thermal", 4): {"A": ("18fbd0990e67", [f"{mean_step('cooling_return_temp_c', 'site, device', S, R)} - {mean_step('cooling_supply_temp_c', 'site, device', S, R)}"])},
    ("kilowatch-thermal", 5): {
        "A": ("04dc7c898de5", [mean_step("cooling_cooling_power_w", "site, device", S, R)]),
        "B": ("3349e4744fb0", [mean_step("power_active_power_w", "site, device", 'role="cooling"', S, R)]),
    },
    ("kilowatch-thermal", 6): {"A": ("99e7e7950555", [mean_step("cooling_fan_speed_pct", "site, device", S, R)])},
    ("kilowatch-thermal", 7): {"A": ("98737f7c288e", [mean_step("environment_humidity_pct", "site, device, point", S, R)])},
    ("kilowatch-thermal", 8): {"A": ("7655a7564ec7", [last(f"capacity_room_{f}", "site, room", S, R) for f in ("rci_hi_mean_pct", "rci_lo_mean_pct")])},
}


def fingerprint(query):
    return hashlib.sha256(query.encode()).hexdigest()[:12]


def top_level(select_list):
    depth, start, out = 0, 0, []
    for i, c in enumerate(select_list):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(select_list[start:i].strip())
            start = i + 1
    out.append(select_list[start:].strip())
    return out


def columns(query):
    """The columns an InfluxQL query returns after time: each expression's alias, else its field
    (as tests/it/dashboards.rs reads them)."""
    select_list = query[len("SELECT "):query.index(" FROM ")]
    out = []
    for expr in top_level(select_list):
        alias = re.search(r' AS "([^"]+)"$', expr)
        out.append(alias.group(1) if alias else re.search(r'"([^"]+)"', expr).group(1))
    return out


def legend(alias, column):
    """An InfluxQL alias ($tag_x, $col) as a legend format ({{x}}, the column's name)."""
    if not alias:
        return None
    return re.sub(r"\$tag_(\w+)", r"{{\1}}", alias).replace("$col", column)


def string_columns(panel):
    return {
        o["matcher"]["options"]
        for o in panel["fieldConfig"]["overrides"]
        if o["matcher"]["id"] == "byName"
        and any(p["id"] == "unit" and p["value"] == "string" for p in o["properties"])
    }


def translate_panel(uid, panel, problems):
    key = (uid, panel["id"])
    table = TRANSLATIONS.get(key)
    if table is None:
        problems.append(f"{uid} panel {panel['id']} '{panel['title']}': no translation")
        return
    strings = string_columns(panel)
    targets = []
    for t in panel["targets"]:
        q = t["query"]
        entry = table.get(t["refId"])
        if entry is None:
            problems.append(f"{uid} panel {panel['id']} {t['refId']}: no translation for {q}")
            continue
        fp, exprs = entry
        if fp != fingerprint(q):
            problems.append(
                f"{uid} panel {panel['id']} '{panel['title']}' {t['refId']}: the InfluxQL is new "
                f"(fingerprint {fingerprint(q)}, translated {fp}); check its translation:\n  {q}"
            )
        cols = [c for c in columns(q) if c not in strings]
        if len(cols) != len(exprs):
            problems.append(f"{uid} panel {panel['id']} {t['refId']}: {len(cols)} columns {cols}, {len(exprs)} exprs")
            continue
        # An aggregate without GROUP BY time is one figure for the range; raw points and
        # GROUP BY time are series over it.
        aggregate = "(" in q[: q.index(" FROM ")]
        instant = aggregate and "GROUP BY time(" not in q
        for col, expr in zip(cols, exprs):
            if instant != (RANGE in expr) or instant == (STEP in expr):
                problems.append(f"{uid} panel {panel['id']} {t['refId']}: {'instant' if instant else 'range'} query with {expr}")
            target = {"refId": None, "datasource": DATASOURCE, "editorMode": "code", "expr": expr}
            lf = legend(t.get("alias"), col)
            if lf:
                target["legendFormat"] = lf
            target["format"] = t["resultFormat"]
            target["instant"] = instant
            target["range"] = not instant
            targets.append((t["refId"], col, target))
    # One target per InfluxQL target keeps its refId; a split one gets A, B, C... (only panels
    # with a single InfluxQL target are split).
    split = len(targets) != len(panel["targets"])
    for i, (ref, _, target) in enumerate(targets):
        target["refId"] = chr(ord("A") + i) if split else ref
    panel["targets"] = [t for _, _, t in targets]
    panel["datasource"] = DATASOURCE
    panel["fieldConfig"]["overrides"] = [
        o for o in panel["fieldConfig"]["overrides"]
        if not (o["matcher"]["id"] == "byName" and o["matcher"]["options"] in strings)
    ]
    custom = CUSTOM.get(key)
    if custom:
        panel["fieldConfig"]["defaults"].setdefault("custom", {}).update(custom)
    if panel["type"] == "table":
        # Prometheus tables name the value column "Value" (one query) or "Value #A"...: merged
        # on their labels and renamed to the InfluxQL columns.
        names = {
            ("Value" if len(targets) == 1 else f"Value #{t['refId']}"): col for _, col, t in targets
        }
        transformations = [] if len(targets) == 1 else [{"id": "merge", "options": {}}]
        for tr in panel.get("transformations", []):
            if tr["id"] == "organize":
                tr = copy.deepcopy(tr)
                tr["options"]["renameByName"] = names
            transformations.append(tr)
        if not any(tr["id"] == "organize" for tr in transformations):
            transformations.append({"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": names}})
        panel["transformations"] = transformations


def translate(source, problems):
    d = copy.deepcopy(source)
    uid = source["uid"]
    d["uid"] = uid + UID_SUFFIX
    d["description"] = d["description"] + " VictoriaMetrics variant (MetricsQL), generated from the InfluxQL dashboard."
    for v in d["templating"]["list"]:
        q = VARIABLES.get(v["query"])
        if q is None:
            problems.append(f"{uid} variable {v['name']}: no translation for {v['query']}")
            continue
        v["datasource"] = DATASOURCE
        v["query"] = q
        v["definition"] = q
    for a in d["annotations"]["list"]:
        for k in ("query", "titleColumn", "textColumn", "tagsColumn"):
            a.pop(k, None)
        a["datasource"] = DATASOURCE
        a.update(ANNOTATION)
    for panel in d["panels"]:
        translate_panel(uid, panel, problems)
    known = {p["id"] for p in source["panels"]}
    for (u, pid) in TRANSLATIONS:
        if u == uid and pid not in known:
            problems.append(f"{uid}: translation for panel {pid}, which is gone")
    return d


def render(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    problems, outputs = [], {}
    sources = sorted(INFLUXQL.glob("*.json"))
    for path in sources:
        source = json.loads(path.read_text())
        outputs[HERE / f"{source['uid']}{UID_SUFFIX}.json"] = render(translate(source, problems))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    stale = []
    for path, text in outputs.items():
        if not path.exists() or path.read_text() != text:
            stale.append(path.name)
            if not check:
                path.write_text(text)
    extra = [p.name for p in HERE.glob("*.json") if p not in outputs]
    if check:
        if stale or extra:
            print(f"stale: {stale}, not generated: {extra}; run {Path(argv[0]).name}", file=sys.stderr)
            return 1
    else:
        for name in extra:
            (HERE / name).unlink()
        print(f"{len(outputs)} dashboards, {len(stale)} rewritten, {len(extra)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
