//! The Site screen: a floor map, each room's racks drawn as boxes in inventory order, coloured
//! by power against budget or by inlet temperature (`c` switches), with the rack's name and
//! value inside. A rack without a reading says so in a neutral colour: never 0.

use super::*;
use crate::snapshot::RackView;

/// What a rack box shows, in `colouring`: the value it is coloured by (`None`: no reading),
/// the other figures for a taller box (kW, then inlet or share of budget), and its style.
fn rack_text(app: &App, theme: &Theme, r: &RackView) -> (Option<String>, [String; 2], Style) {
    let kw = r
        .power_w
        .map_or(String::new(), |w| format!("{:.1} kW", w / 1000.0));
    let pct = r.load_pct().map(|l| format!("{l:.0}%"));
    let inlet = r.inlet_c.map(|t| format!("{t:.1}°C"));
    match app.colouring {
        Colouring::Power => (
            pct,
            [kw, inlet.unwrap_or_default()],
            r.load_pct().map_or(theme.muted(), |l| {
                theme.by_share(Some(l / EIGHTY_PCT * 100.0))
            }),
        ),
        Colouring::Inlet => (
            inlet,
            [kw, pct.unwrap_or_default()],
            r.inlet_c.map_or(theme.muted(), |t| {
                theme.by_share(Some(t / INLET_MAX_C * 100.0))
            }),
        ),
    }
}

/// One placed thing of the map, in map rows from the top.
enum Item<'a> {
    Room(usize, String),
    Rack {
        y: usize,
        x: u16,
        index: usize,
        rack: &'a RackView,
    },
}

pub(super) fn site(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(s) = app.snapshot.sites.get(app.site) else {
        return;
    };
    let tr = &*app.tr;
    let by = tr.t(match app.colouring {
        Colouring::Power => "tui-site-by-power",
        Colouring::Inlet => "tui-site-by-inlet",
    });
    let block = Block::default()
        .borders(Borders::ALL)
        .title(tr.args("tui-site-heading", &[("name", &s.name), ("by", &by)]));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 || inner.width < 4 {
        return;
    }
    let [legend, map] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    f.render_widget(Paragraph::new(legend_line(app, theme)), legend);

    let no_data = tr.t("tui-no-data");
    let racks: Vec<&RackView> = s.rooms.iter().flat_map(|r| &r.racks).collect();
    // Boxes as wide as the longest name or value (a Chinese "no data" included), within reason.
    let widest = racks
        .iter()
        .map(|r| width(&r.id).max(9))
        .chain([width(&no_data)])
        .max()
        .unwrap_or(9);
    let box_w = u16::try_from(widest + 2)
        .unwrap_or(u16::MAX)
        .clamp(10, 18)
        .min(map.width);
    let per_row = usize::from((map.width + 1) / (box_w + 1)).max(1);
    // Taller boxes (kW, then the other figure) where the whole map still fits, or the screen
    // is tall anyway; two lines inside on a laptop's.
    let map_rows = |box_h: usize| -> usize {
        s.rooms
            .iter()
            .map(|r| 1 + r.racks.len().div_ceil(per_row) * box_h)
            .sum()
    };
    let box_h: u16 = if map_rows(6) <= usize::from(map.height) {
        6
    } else if map.height >= 30 {
        5
    } else {
        4
    };
    let mut items = Vec::new();
    let mut y = 0;
    let mut index = 0;
    let mut selected_y = 0;
    for room in &s.rooms {
        items.push(Item::Room(
            y,
            tr.args("tui-site-room", &[("room", &room.id)]),
        ));
        y += 1;
        for (i, rack) in room.racks.iter().enumerate() {
            let col = u16::try_from(i % per_row).unwrap_or(0);
            let row_y = y + (i / per_row) * usize::from(box_h);
            if index == app.rack {
                selected_y = row_y;
            }
            items.push(Item::Rack {
                y: row_y,
                x: col * (box_w + 1),
                index,
                rack,
            });
            index += 1;
        }
        y += room.racks.len().div_ceil(per_row) * usize::from(box_h);
    }
    // Scroll so the selected rack's row is on screen.
    let visible = usize::from(map.height);
    let top = (selected_y + usize::from(box_h)).saturating_sub(visible);
    for item in items {
        match item {
            Item::Room(y, title) if y >= top && y < top + visible => {
                let r = Rect {
                    y: map.y + u16::try_from(y - top).unwrap_or(0),
                    height: 1,
                    ..map
                };
                f.render_widget(Paragraph::new(Line::styled(title, theme.title())), r);
            }
            Item::Rack { y, x, index, rack }
                if y >= top && y + usize::from(box_h) <= top + visible =>
            {
                let r = Rect {
                    x: map.x + x,
                    y: map.y + u16::try_from(y - top).unwrap_or(0),
                    width: box_w.min(map.width.saturating_sub(x)),
                    height: box_h,
                };
                rack_box(app, theme, f, r, rack, index == app.rack, &no_data);
            }
            _ => {}
        }
    }
}

fn rack_box(
    app: &App,
    theme: &Theme,
    f: &mut Frame,
    r: Rect,
    rack: &RackView,
    selected: bool,
    no_data: &str,
) {
    let (value, more, style) = rack_text(app, theme, rack);
    let style = if selected {
        style.patch(theme.selected())
    } else {
        style
    };
    let inner = usize::from(r.width.saturating_sub(2));
    // "no data" where it fits, else the dash: never a 0 for a missing value.
    let value = value.unwrap_or_else(|| {
        if width(no_data) <= inner {
            no_data.to_owned()
        } else {
            "—".to_owned()
        }
    });
    let mut lines = vec![
        Line::from(fit(&rack.id, inner)),
        Line::from(fit(&value, inner)),
    ];
    let room = usize::from(r.height.saturating_sub(4));
    lines.extend(more.iter().take(room).map(|m| Line::from(fit(m, inner))));
    f.render_widget(
        Paragraph::new(lines)
            .style(style)
            .block(Block::default().borders(Borders::ALL).border_style(style)),
        r,
    );
}

/// What the colours mean, in the screen's colouring: amber from 80 % of the limit (64 % of
/// budget, 21.6 °C), red at it (80 % of budget, the continuous-load rule; ASHRAE's 27 °C).
fn legend_line(app: &App, theme: &Theme) -> Line<'static> {
    let tr = &*app.tr;
    let (keys, limit, decimals) = match app.colouring {
        Colouring::Power => (
            [
                "tui-legend-power-ok",
                "tui-legend-power-warn",
                "tui-legend-power-bad",
            ],
            EIGHTY_PCT,
            0,
        ),
        Colouring::Inlet => (
            [
                "tui-legend-inlet-ok",
                "tui-legend-inlet-warn",
                "tui-legend-inlet-bad",
            ],
            INLET_MAX_C,
            1,
        ),
    };
    let warn = format!("{:.decimals$}", limit * 0.8);
    let limit = format!("{limit:.0}");
    let args = [("warn", warn.as_str()), ("limit", limit.as_str())];
    let styles = [theme.ok(), theme.warn(), theme.bad()];
    let mut spans = Vec::new();
    for (k, s) in keys.iter().zip(styles) {
        spans.push(Span::styled(format!("■ {}", tr.args(k, &args)), s));
        spans.push(Span::raw("  "));
    }
    spans.push(Span::styled(
        format!("■ {}", tr.t("tui-no-data")),
        theme.muted(),
    ));
    Line::from(spans)
}
