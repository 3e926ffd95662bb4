//! Every report's HTML document, rendered from its Markdown so the two never disagree: tables
//! become `<table><thead><tbody>` with numeric columns right-aligned, each `##`/`###` heading
//! gets an id and a line in the table of contents, and `<!-- chart:KEY -->` lines are replaced
//! by that chart's figure in its own section.
//!
//! pulldown-cmark (CommonMark, tables extension, no default features) over a templating crate:
//! the reports already write Markdown, so the HTML is one event pass over it rather than every
//! table written twice. It costs about 2.6 s of a clean debug build on one core (with its
//! `unicase`, `pulldown-cmark-escape`, `memchr` and `bitflags`, the last two already built here).
//! Raw HTML in the Markdown (an inventory name such as `<b>`) is shown as text, never markup.

use std::collections::BTreeMap;

use kilowatch_core::i18n::Tr;
use pulldown_cmark::{Alignment, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::esc;

/// A Markdown table's header row and rule, from its column names (already in the reader's
/// language).
pub(crate) fn md_head<S: AsRef<str>>(cells: &[S]) -> String {
    let names: Vec<String> = cells.iter().map(|c| md_cell(c.as_ref())).collect();
    format!(
        "| {} |\n|{}\n",
        names.join(" | "),
        " --- |".repeat(names.len())
    )
}

/// Text made safe in a Markdown table cell: a `|` would split the cell, a newline end the row,
/// and `*`, `` ` ``, `[` or `\` start markup.
pub(crate) fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '*' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The placeholder a report's Markdown carries where `key`'s chart goes in HTML.
pub(crate) fn chart_mark(key: &str) -> String {
    format!("<!-- chart:{key} -->\n")
}

/// A table cell counts as numeric when it starts with a number ("1,234.5 kWh", "−3 %",
/// "0.95 – 1.02"); "no data" and "—" fit either kind of column.
fn numeric(cell: &str, no_data: &str) -> Option<bool> {
    let t = cell.trim();
    if t.is_empty() || t == "—" || t == no_data || t.starts_with(no_data) {
        return None;
    }
    // A date or a month ("2026-03", "2026-03-30") is text, however it starts.
    let date =
        t.len() >= 7 && t.as_bytes()[4] == b'-' && t[..4].chars().all(|c| c.is_ascii_digit());
    let t = t.trim_start_matches(['-', '−', '+', '~']);
    Some(!date && t.chars().next().is_some_and(|c| c.is_ascii_digit()))
}

/// The complete HTML document of a report: `md` rendered, its text before the first `##` as
/// the header (title, window, time zones), then the table of contents, then each `##` in its
/// own section; `figures` fill the chart placeholders.
pub(crate) fn page(tr: &Tr, title: &str, md: &str, figures: &BTreeMap<String, String>) -> String {
    let no_data = tr.t("no-data");
    let mut events: Vec<Event> = Parser::new_ext(md, Options::ENABLE_TABLES)
        .map(|e| match e {
            Event::Html(h) | Event::InlineHtml(h) => {
                let key = h
                    .trim()
                    .strip_prefix("<!-- chart:")
                    .and_then(|k| k.strip_suffix("-->"))
                    .map(str::trim);
                match key.and_then(|k| figures.get(k)) {
                    Some(fig) => Event::Html(CowStr::from(format!("{fig}\n"))),
                    None if key.is_some() => Event::Text(CowStr::from("")),
                    None => Event::Text(h),
                }
            }
            e => e,
        })
        .collect();
    align_numbers(&mut events, &no_data);
    // Headings: ids and the table of contents.
    let mut toc: Vec<(HeadingLevel, String, String)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, .. }) = &events[i] {
            let level = *level;
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) {
                let id = format!("s{}", toc.len() + 1);
                events[i] = Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(id.clone())),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                });
                toc.push((level, id, text));
            }
            i = j;
        }
        i += 1;
    }
    let first_h2 = events
        .iter()
        .position(|e| {
            matches!(
                e,
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H2,
                    ..
                })
            )
        })
        .unwrap_or(events.len());
    let rest = events.split_off(first_h2);
    let mut header = String::new();
    pulldown_cmark::html::push_html(&mut header, events.into_iter());
    // Each `##` opens a section that runs to the next.
    let mut sectioned: Vec<Event> = Vec::with_capacity(rest.len() + 2 * toc.len());
    let mut open = false;
    for e in rest {
        if let Event::Start(Tag::Heading {
            level: HeadingLevel::H2,
            ..
        }) = &e
        {
            sectioned.push(Event::Html(CowStr::from(if open {
                "</section>\n<section>\n"
            } else {
                "<section>\n"
            })));
            open = true;
        }
        sectioned.push(e);
    }
    if open {
        sectioned.push(Event::Html(CowStr::from("</section>\n")));
    }
    let mut body = format!("<header>\n{header}</header>\n");
    if !toc.is_empty() {
        body.push_str(&format!(
            "<nav><h2>{}</h2>\n<ol>",
            esc(&tr.t("heading-contents"))
        ));
        // A `###` is listed inside its `##`'s item.
        let (mut item_open, mut nested) = (false, false);
        for (level, id, text) in &toc {
            let link = format!("<a href=\"#{id}\">{}</a>", esc(text));
            if *level == HeadingLevel::H3 && item_open {
                if !nested {
                    body.push_str("<ol>");
                    nested = true;
                }
                body.push_str(&format!("<li>{link}</li>"));
                continue;
            }
            if nested {
                body.push_str("</ol>");
                nested = false;
            }
            if item_open {
                body.push_str("</li>");
            }
            body.push_str(&format!("<li>{link}"));
            item_open = true;
        }
        if nested {
            body.push_str("</ol>");
        }
        if item_open {
            body.push_str("</li>");
        }
        body.push_str("</ol></nav>\n");
    }
    body.push_str("<main>\n");
    pulldown_cmark::html::push_html(&mut body, sectioned.into_iter());
    body.push_str("</main>\n");
    super::document(tr, title, &body)
}

/// Right-aligns every table column whose body cells are all numbers (or "no data").
fn align_numbers(events: &mut [Event], no_data: &str) {
    let mut i = 0;
    while i < events.len() {
        if !matches!(events[i], Event::Start(Tag::Table(_))) {
            i += 1;
            continue;
        }
        let start = i;
        let (mut col, mut in_head, mut cell) = (0usize, false, String::new());
        let mut kinds: BTreeMap<usize, bool> = BTreeMap::new();
        while i < events.len() && !matches!(events[i], Event::End(TagEnd::Table)) {
            match &events[i] {
                Event::Start(Tag::TableHead) => in_head = true,
                Event::End(TagEnd::TableHead) => in_head = false,
                Event::Start(Tag::TableRow) => col = 0,
                Event::Start(Tag::TableCell) => cell.clear(),
                Event::Text(t) | Event::Code(t) => cell.push_str(t),
                Event::End(TagEnd::TableCell) => {
                    if !in_head && let Some(n) = numeric(&cell, no_data) {
                        let k = kinds.entry(col).or_insert(true);
                        *k &= n;
                    }
                    col += 1;
                }
                _ => {}
            }
            i += 1;
        }
        if let Event::Start(Tag::Table(aligns)) = &mut events[start] {
            for (c, a) in aligns.iter_mut().enumerate() {
                if kinds.get(&c) == Some(&true) {
                    *a = Alignment::Right;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::i18n::Lang;

    #[test]
    fn markdown_becomes_a_document_with_contents_sections_and_aligned_numbers() {
        let md = format!(
            "# Title\n\nWindow: a to b\n\n## One\n\n{}| r<1> | 12.5 | no data |\n| b | 3 | 4 |\n\n{}### Sub\n\ntext <b>bold</b>\n\n## Two\n\n- x\n",
            md_head(&["name", "kW", "W"]),
            chart_mark("c1")
        );
        let figures =
            BTreeMap::from([("c1".to_owned(), "<figure><svg></svg></figure>".to_owned())]);
        let html = page(&Tr::new(Lang::En), "T", &md, &figures);
        assert!(!html.contains("<pre"), "{html}");
        assert!(
            html.contains("<thead>") && html.contains("<tbody>"),
            "{html}"
        );
        assert!(html.contains("<h2 id=\"s1\">One</h2>") && html.contains("<h3 id=\"s2\">Sub</h3>"));
        assert!(
            html.contains("<a href=\"#s1\">One</a>") && html.contains("<a href=\"#s3\">Two</a>")
        );
        assert_eq!(html.matches("<section>").count(), 2, "{html}");
        assert!(html.contains("<figure><svg></svg></figure>"), "{html}");
        // Name column left, number columns right (a "no data" cell does not decide).
        assert!(
            html.contains("<td>r&lt;1&gt;</td><td style=\"text-align: right\">12.5</td>"),
            "{html}"
        );
        assert_eq!(
            html.matches("<th style=\"text-align: right\">").count(),
            2,
            "{html}"
        );
        // Raw HTML is text.
        assert!(
            html.contains("&lt;b&gt;bold&lt;/b&gt;") && !html.contains("<b>"),
            "{html}"
        );
        let header = &html[html.find("<header>").unwrap_or(0)..html.find("</header>").unwrap_or(0)];
        assert!(header.contains("<h1>Title</h1>") && header.contains("Window: a to b"));
    }

    #[test]
    fn a_cell_keeps_its_text_whatever_it_holds() {
        let md = format!("{}| {} |\n", md_head(&["a"]), md_cell("x|y\nz*w*"));
        let html = page(&Tr::new(Lang::En), "T", &md, &BTreeMap::new());
        assert!(html.contains("<td>x|y z*w*</td>"), "{html}");
    }
}
