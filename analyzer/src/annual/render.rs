//! The annual report as JSON (every field with its source, for machines and the EU database),
//! CSV (one row per site and field, in the regulation's order), Markdown and a print-ready HTML
//! document, in the reader's language.

use kilowatch_core::i18n::Tr;

use super::{AnnualReport, FieldValue, Indicator, SiteYear, Source, Value};
use crate::report::{csv_text, esc};

pub fn to_json(r: &AnnualReport) -> serde_json::Result<String> {
    serde_json::to_string_pretty(r)
}

fn source_word(tr: &Tr, s: Source) -> String {
    tr.t(match s {
        Source::Measured => "source-measured",
        Source::Entered => "source-entered",
        Source::Calculated => "source-calculated",
        Source::Missing => "source-missing",
    })
}

/// `calculated (measured + entered)`: a figure built on an entered input says so.
fn source_text(tr: &Tr, source: Source, inputs: &[Source]) -> String {
    let mut s = source_word(tr, source);
    if !inputs.is_empty() {
        let mut kinds: Vec<String> = Vec::new();
        for i in inputs {
            let w = source_word(tr, *i);
            if !kinds.contains(&w) {
                kinds.push(w);
            }
        }
        s.push_str(&format!(" ({})", kinds.join(" + ")));
    }
    s
}

fn label(tr: &Tr, f: &FieldValue) -> String {
    tr.get(&format!("field-{}", f.id.replace('_', "-")))
        .unwrap_or_else(|| f.label.clone())
}

fn value_text(v: &Option<Value>, unit: &str, tr: &Tr) -> String {
    match v {
        None => tr.t("no-data"),
        Some(Value::Text(s)) => s.clone(),
        Some(Value::Number(x)) => {
            let n = if x.abs() >= 100.0 {
                format!("{x:.0}")
            } else if x.abs() >= 1.0 {
                format!("{x:.3}")
            } else {
                format!("{x:.4}")
            };
            if unit.is_empty() {
                n
            } else {
                format!("{n} {unit}")
            }
        }
    }
}

fn indicator_label(tr: &Tr, i: &Indicator) -> String {
    tr.get(&format!("indicator-{}", i.id.replace('_', "-")))
        .unwrap_or_else(|| i.label.clone())
}

pub fn to_csv(r: &AnnualReport, tr: &Tr) -> Result<String, csv::Error> {
    let mut rows = vec![
        [
            "site", "year", "annex", "ref", "id", "label", "value", "unit", "source", "inputs",
            "note",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for s in &r.sites {
        for f in &s.fields {
            rows.push(vec![
                s.site.clone(),
                r.year.to_string(),
                f.annex.clone(),
                f.reference.clone().unwrap_or_default(),
                f.id.clone(),
                label(tr, f),
                match &f.value {
                    Some(Value::Number(x)) => format!("{x}"),
                    Some(Value::Text(t)) => t.clone(),
                    None => tr.t("no-data"),
                },
                f.unit.clone(),
                serde_plain(f.source),
                f.inputs
                    .iter()
                    .map(|i| serde_plain(*i))
                    .collect::<Vec<_>>()
                    .join("+"),
                f.note.clone().unwrap_or_default(),
            ]);
        }
        for i in &s.indicators {
            rows.push(vec![
                s.site.clone(),
                r.year.to_string(),
                "ISO/IEC 30134".into(),
                String::new(),
                i.id.clone(),
                indicator_label(tr, i),
                i.value.map_or_else(|| tr.t("no-data"), |x| format!("{x}")),
                i.unit.clone(),
                serde_plain(i.source),
                i.inputs
                    .iter()
                    .map(|i| serde_plain(*i))
                    .collect::<Vec<_>>()
                    .join("+"),
                i.note.clone(),
            ]);
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row)?;
    }
    csv_text(w)
}

/// The machine word (`measured`, ...) whatever the language: CSV columns are for programs.
fn serde_plain(s: Source) -> String {
    match s {
        Source::Measured => "measured",
        Source::Entered => "entered",
        Source::Calculated => "calculated",
        Source::Missing => "missing",
    }
    .to_owned()
}

pub fn to_markdown(r: &AnnualReport, tr: &Tr) -> String {
    let mut out = format!(
        "# {}\n\n{}\n\n{}\n\n",
        tr.args("report-annual-title", &[("year", &r.year.to_string())]),
        tr.args("report-annual-basis", &[("regulation", &r.regulation)]),
        zones(r, tr)
    );
    for s in &r.sites {
        out.push_str(&format!(
            "## {} ({})\n\n{}\n\n",
            s.name,
            s.site,
            tr.args(
                "site-window",
                &[("from", &s.from), ("to", &s.to), ("zone", &s.timezone)]
            )
        ));
        out.push_str(&format!("### {}\n\n", tr.t("heading-indicators")));
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n| --- | --- | --- | --- |\n",
            tr.t("col-indicator"),
            tr.t("col-value"),
            tr.t("col-source"),
            tr.t("col-note")
        ));
        for f in s.fields.iter().filter(|f| f.annex == "III") {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                label(tr, f),
                value_text(&f.value, &f.unit, tr),
                source_text(tr, f.source, &f.inputs),
                f.note.clone().unwrap_or_default()
            ));
        }
        for i in &s.indicators {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                indicator_label(tr, i),
                i.value
                    .map(|x| value_text(&Some(Value::Number(x)), &i.unit, tr))
                    .unwrap_or_else(|| tr.t("no-data")),
                source_text(tr, i.source, &i.inputs),
                i.note
            ));
        }
        for c in &s.classes {
            out.push_str(&format!(
                "\n{}\n",
                tr.args(
                    "class-line",
                    &[
                        ("indicator", &c.indicator),
                        ("class", &c.class),
                        ("basis", &c.basis)
                    ]
                )
            ));
        }
        out.push_str(&format!(
            "\n### {}\n\n| {} | {} | {} | {} | {} |\n| --- | --- | --- | --- | --- |\n",
            tr.t("heading-dataset"),
            tr.t("col-ref"),
            tr.t("col-field"),
            tr.t("col-value"),
            tr.t("col-source"),
            tr.t("col-note")
        ));
        for f in &s.fields {
            out.push_str(&format!(
                "| {} {} | {} | {} | {} | {} |\n",
                f.annex,
                f.reference.clone().unwrap_or_default(),
                label(tr, f),
                value_text(&f.value, &f.unit, tr),
                source_text(tr, f.source, &f.inputs),
                f.note.clone().unwrap_or_default().replace('|', "/")
            ));
        }
        out.push('\n');
    }
    out
}

/// The year's window in each site's zone, for the header.
fn zones(r: &AnnualReport, tr: &Tr) -> String {
    crate::report::zones_line(
        tr,
        r.sites
            .iter()
            .map(|s| (s.site.as_str(), s.timezone.as_str())),
    )
}

pub fn to_html(r: &AnnualReport, tr: &Tr) -> String {
    let title = tr.args("report-annual-title", &[("year", &r.year.to_string())]);
    let mut body = String::new();
    body.push_str(&format!(
        "<header><h1>{}</h1><p>{}</p><p class=\"window\">{}</p></header>\n<nav><h2>{}</h2><ol>",
        esc(&title),
        esc(&tr.args("report-annual-basis", &[("regulation", &r.regulation)])),
        esc(&zones(r, tr)),
        esc(&tr.t("heading-contents"))
    ));
    // Each site, and within it its indicators and its data set.
    for s in &r.sites {
        let id = site_id(s);
        body.push_str(&format!(
            "<li><a href=\"#{id}\">{} ({})</a><ol><li><a href=\"#{id}-indicators\">{}</a></li><li><a href=\"#{id}-dataset\">{}</a></li></ol></li>",
            esc(&s.name),
            esc(&s.site),
            esc(&tr.t("heading-indicators")),
            esc(&tr.t("heading-dataset"))
        ));
    }
    body.push_str("</ol></nav>\n");
    for s in &r.sites {
        site_html(&mut body, s, tr);
    }
    crate::report::document(tr, &title, &body)
}

/// An id for a site's section from its site id (letters, digits and `-` only).
fn site_id(s: &SiteYear) -> String {
    let clean: String = s
        .site
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("site-{clean}")
}

fn site_html(body: &mut String, s: &SiteYear, tr: &Tr) {
    let id = site_id(s);
    body.push_str(&format!(
        "<section class=\"site\" id=\"{id}\"><h2>{} ({})</h2><p class=\"window\">{}</p>\n",
        esc(&s.name),
        esc(&s.site),
        esc(&tr.args(
            "site-window",
            &[("from", &s.from), ("to", &s.to), ("zone", &s.timezone)]
        ))
    ));
    body.push_str(&format!(
        "<h3 id=\"{id}-indicators\">{}</h3><table><thead><tr><th>{}</th><th class=\"num\">{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(&tr.t("heading-indicators")),
        esc(&tr.t("col-indicator")),
        esc(&tr.t("col-value")),
        esc(&tr.t("col-source")),
        esc(&tr.t("col-note"))
    ));
    for f in s.fields.iter().filter(|f| f.annex == "III") {
        body.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"src-{}\">{}</td><td>{}</td></tr>",
            esc(&label(tr, f)),
            esc(&value_text(&f.value, &f.unit, tr)),
            serde_plain(f.source),
            esc(&source_text(tr, f.source, &f.inputs)),
            esc(&f.note.clone().unwrap_or_default())
        ));
    }
    for i in &s.indicators {
        body.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"src-{}\">{}</td><td>{}</td></tr>",
            esc(&indicator_label(tr, i)),
            esc(&i
                .value
                .map(|x| value_text(&Some(Value::Number(x)), &i.unit, tr))
                .unwrap_or_else(|| tr.t("no-data"))),
            serde_plain(i.source),
            esc(&source_text(tr, i.source, &i.inputs)),
            esc(&i.note)
        ));
    }
    body.push_str("</tbody></table>\n");
    for c in &s.classes {
        body.push_str(&format!(
            "<p class=\"class\">{}</p>",
            esc(&tr.args(
                "class-line",
                &[
                    ("indicator", &c.indicator),
                    ("class", &c.class),
                    ("basis", &c.basis)
                ]
            ))
        ));
    }
    body.push_str(&format!(
        "<h3 id=\"{id}-dataset\">{}</h3><table class=\"dataset\"><thead><tr><th>{}</th><th>{}</th><th class=\"num\">{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(&tr.t("heading-dataset")),
        esc(&tr.t("col-ref")),
        esc(&tr.t("col-field")),
        esc(&tr.t("col-value")),
        esc(&tr.t("col-source")),
        esc(&tr.t("col-note"))
    ));
    for f in &s.fields {
        body.push_str(&format!(
            "<tr><td>{} {}</td><td>{}</td><td class=\"num\">{}</td><td class=\"src-{}\">{}</td><td>{}</td></tr>",
            esc(&f.annex),
            esc(&f.reference.clone().unwrap_or_default()),
            esc(&label(tr, f)),
            esc(&value_text(&f.value, &f.unit, tr)),
            serde_plain(f.source),
            esc(&source_text(tr, f.source, &f.inputs)),
            esc(&f.note.clone().unwrap_or_default())
        ));
    }
    body.push_str("</tbody></table></section>\n");
}
