//! Screens drawn on ratatui's TestBackend at 80×24 and 120×40 from a fixed snapshot; the numbers
//! shown are checked against values computed here by hand. In English, and in Traditional
//! Chinese (Hong Kong), where columns must still line up although a Chinese character takes
//! two terminal columns.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use kilowatch_analyzer::fleet::{Collector, State};
use kilowatch_core::i18n::Lang;
use kilowatch_tui::app::{App, Screen};
use kilowatch_tui::keymap::Action;
use kilowatch_tui::snapshot::{
    Alarm, DeviceView, PduView, RackView, RoomView, RuleAlert, ServerView, SiteView, Snapshot,
    TrapView,
};
use kilowatch_tui::theme::Theme;
use kilowatch_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

fn snapshot() -> Snapshot {
    // E_DC 162 kWh over E_IT 100 kWh in the last hour: PUE 1.62; 250 kW facility, 154.3 kW IT.
    Snapshot {
        at: 1_000_000,
        sites: vec![SiteView {
            id: "hk1".into(),
            name: "Kwun Tong DC".into(),
            category: "PUE3".into(),
            pue_hour: Some(162.0 / 100.0),
            pue_today: Some(1.5843),
            facility_kw: Some(250.0),
            it_kw: Some(154.3),
            cooling_kw: Some(71.25),
            ups_load_pct: Some(41.0),
            devices_up: 3,
            devices_total: 4,
            rooms: vec![RoomView {
                id: "hall-1".into(),
                racks: vec![
                    RackView {
                        id: "r01".into(),
                        power_w: Some(3200.0),
                        budget_w: Some(4000.0),
                        inlet_c: Some(28.5),
                        pdus: vec![PduView {
                            device: "pdu-r01".into(),
                            power_w: Some(3200.0),
                            currents: vec![("phase1".into(), 12.8)],
                            breaker_a: Some(16.0),
                        }],
                        servers: vec![ServerView {
                            device: "srv-01".into(),
                            cpu_pct: Some(37.0),
                            power_w: Some(212.0),
                        }],
                    },
                    RackView {
                        id: "r02".into(),
                        power_w: Some(1000.0),
                        budget_w: Some(4000.0),
                        inlet_c: Some(21.0),
                        ..Default::default()
                    },
                ],
            }],
            // Hour starts in ms before `at`, as the loader makes them.
            pue_trend: vec![(-7_200_000.0, 1.60), (-3_600_000.0, 1.62), (0.0, 1.61)],
            kw_trend: vec![(-900_000.0, 249.0), (0.0, 250.0)],
            ..Default::default()
        }],
        devices: vec![
            DeviceView {
                id: "pdu-r01".into(),
                site: "hk1".into(),
                up: true,
                poll_ms: 12.0,
                age_s: 3.0,
                ..Default::default()
            },
            DeviceView {
                id: "ups-1".into(),
                site: "hk1".into(),
                up: false,
                poll_ms: 2000.0,
                age_s: 4.0,
                error: Some("timed out after 2s".into()),
                ..Default::default()
            },
        ],
        alarms: vec![Alarm {
            critical: false,
            subject: "rack r01".into(),
            text: "inlet 28.5 °C above the ASHRAE recommended 27 °C".into(),
            since: 880_000,
        }],
        rule_alerts: vec![RuleAlert {
            rule: "ups_on_battery".into(),
            subject: "trap:ups-1".into(),
            firing: true,
            severity: "critical".into(),
            place: "hk1 / ups-1".into(),
            summary: "UPS on battery for 42 s, 17 min of battery left".into(),
            value: "no data".into(),
            since: 940_000,
            acked_by: None,
            link: Some("http://grafana.example/d/kw?alert=ups_on_battery".into()),
        }],
        traps: vec![TrapView {
            at: 970_000,
            source: "10.0.0.9".into(),
            what: "1.3.6.1.4.1.99999.0.7".into(),
            effect: "unknown".into(),
            summary: "unknown trap 1.3.6.1.4.1.99999.0.7".into(),
        }],
        fleet: vec![
            collector("dc01-a", State::Ok, None),
            collector(
                "dc02-a",
                State::Silent,
                Some("no heartbeat for 95 s (one every 10 s)"),
            ),
        ],
    }
}

fn collector(name: &str, state: State, reason: Option<&str>) -> Collector {
    Collector {
        collector: name.into(),
        sites: name[..4].into(),
        version: "0.1.0".into(),
        state,
        reason: reason.map(str::to_owned),
        last_heartbeat: 990_000,
        heartbeat_age_s: if state == State::Silent { 95.0 } else { 4.0 },
        heartbeat_s: 10.0,
        devices_up: Some(42.0),
        devices_total: Some(42.0),
        outbox_points: Some(0.0),
        outbox_oldest_s: None,
        last_write_age_s: Some(3.0),
    }
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(app, &Theme::plain(), f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

fn app_on(screen: Screen) -> App {
    let mut a = App::default();
    a.set_snapshot(snapshot());
    a.screen = screen;
    a
}

fn app_in(lang: Lang, screen: Screen) -> App {
    let mut a = App::new(lang);
    a.set_snapshot(snapshot());
    a.screen = screen;
    a
}

fn buffer(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(app, &Theme::plain(), f)).unwrap();
    t.backend().buffer().clone()
}

/// Terminal columns of a character: two for East Asian wide and fullwidth ones (CJK
/// ideographs, CJK punctuation, fullwidth forms, kana, hangul), else one. Written out here
/// rather than taken from ratatui, so the test does not measure with the code it checks.
fn columns_of(c: char) -> u16 {
    match c {
        '\u{1100}'..='\u{115F}'
        | '\u{2E80}'..='\u{303E}'
        | '\u{3041}'..='\u{33FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{A000}'..='\u{A4CF}'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FF60}'
        | '\u{FFE0}'..='\u{FFE6}' => 2,
        _ => 1,
    }
}

/// Row `y` as a terminal shows it: (x, character) for each cell drawn, where a wide
/// character covers its own cell and the next one (which is skipped); and the number of
/// columns the row takes on screen.
fn visible(buf: &Buffer, y: u16) -> (Vec<(u16, char)>, u16) {
    let mut out = Vec::new();
    let mut x = 0;
    while x < buf.area.width {
        let symbol = buf[(x, y)].symbol();
        out.extend(symbol.chars().map(|c| (x, c)));
        x += symbol.chars().map(columns_of).max().unwrap_or(1);
    }
    (out, x)
}

/// The x of the first cell where `needle` starts, at or right of `from`.
fn find(row: &[(u16, char)], needle: &str, from: u16) -> Option<u16> {
    let n: Vec<char> = needle.chars().collect();
    row.windows(n.len())
        .find(|w| w[0].0 >= from && w.iter().map(|(_, c)| *c).eq(n.iter().copied()))
        .map(|w| w[0].0)
}

/// The row's text from cell `x` on.
fn text_from(row: &[(u16, char)], x: u16) -> String {
    row.iter()
        .filter(|(cx, _)| *cx >= x)
        .map(|(_, c)| *c)
        .collect()
}

/// Whether the cell left of `x` is blank or a border: a text found at `x` starts there.
fn starts_at(row: &[(u16, char)], x: u16) -> bool {
    row.iter()
        .rev()
        .find(|(cx, _)| *cx < x)
        .is_none_or(|(_, c)| *c == ' ' || *c == '│')
}

/// Draws `app` at w×h and checks (a) that `headers` stand, whole, in one row in this order,
/// (b) that each of `rows` (its values column by column; "" for an empty cell) has its values
/// start exactly at the x where its column's header starts, and (c) that no row of the
/// screen is wider than the terminal. Returns the screen's rows, as shown.
fn assert_columns_align(
    app: &App,
    (w, h): (u16, u16),
    headers: &[&str],
    rows: &[&[&str]],
) -> Vec<String> {
    let buf = buffer(app, w, h);
    let shown: Vec<(Vec<(u16, char)>, u16)> = (0..h).map(|y| visible(&buf, y)).collect();
    let screen: Vec<String> = shown
        .iter()
        .map(|(r, _)| r.iter().map(|(_, c)| *c).collect())
        .collect();
    let all = screen.join("\n");
    for (y, (_, columns)) in shown.iter().enumerate() {
        assert!(
            *columns <= w,
            "{w}x{h}: row {y} takes {columns} columns:\n{all}"
        );
    }
    // The header row: every header, left to right.
    let (header_y, xs) = shown
        .iter()
        .enumerate()
        .find_map(|(y, (row, _))| {
            let mut xs = Vec::new();
            let mut from = 0;
            for head in headers {
                let x = find(row, head, from)?;
                xs.push(x);
                from = x + 1;
            }
            Some((y, xs))
        })
        .unwrap_or_else(|| panic!("{w}x{h}: no row with the headers {headers:?}:\n{all}"));
    let header_row = &shown[header_y].0;
    for (head, x) in headers.iter().zip(&xs) {
        assert!(
            starts_at(header_row, *x),
            "{w}x{h}: header {head} is not a column's start (x {x}):\n{all}"
        );
    }
    for values in rows {
        assert_eq!(values.len(), headers.len());
        let (row, _) = shown[header_y + 1..]
            .iter()
            .find(|(row, _)| text_from(row, xs[0]).starts_with(values[0]))
            .unwrap_or_else(|| panic!("{w}x{h}: no row starts with {}:\n{all}", values[0]));
        for ((head, value), x) in headers.iter().zip(values.iter()).zip(&xs) {
            if value.is_empty() {
                continue;
            }
            assert!(
                text_from(row, *x).starts_with(value) && starts_at(row, *x),
                "{w}x{h}: under {head} (x {x}) expected {value}, found '{}':\n{all}",
                text_from(row, *x)
            );
        }
    }
    screen
}

#[test]
fn overview_shows_pue_power_and_device_counts_at_both_sizes() {
    for (w, h) in [(80, 24), (120, 40)] {
        let s = draw(&app_on(Screen::Overview), w, h);
        assert!(s.contains("1.62 PUE3"), "{w}x{h}:\n{s}");
        assert!(s.contains("1.58"), "PUE today rounds to 1.58:\n{s}");
        assert!(
            s.contains("250.0") && s.contains("154.3") && s.contains("71.2"),
            "{s}"
        );
        assert!(s.contains("3/4"), "{s}");
        assert!(s.contains("Overview") && s.contains("Trends"), "tabs:\n{s}");
    }
}

#[test]
fn site_grid_shows_rack_load_vs_budget_or_inlet() {
    let mut a = app_on(Screen::Site);
    // Each rack a box: its name, and its value on the line below, in the same column.
    let under = |s: &str, rack: &str| -> String {
        let lines: Vec<&str> = s.lines().collect();
        let y = lines.iter().position(|l| l.contains(rack)).unwrap();
        let x = lines[y][..lines[y].find(rack).unwrap()].chars().count();
        lines[y + 1].chars().skip(x).collect()
    };
    let s = draw(&a, 80, 24);
    // 3,200 W of 4,000 W = 80 %; 1,000 of 4,000 = 25 %.
    assert!(under(&s, "r01").starts_with("80%"), "{s}");
    assert!(under(&s, "r02").starts_with("25%"), "{s}");
    a.update(Action::ToggleColouring);
    let s = draw(&a, 80, 24);
    assert!(under(&s, "r01").starts_with("28.5°C"), "{s}");
    assert!(under(&s, "r02").starts_with("21.0°C"), "{s}");
}

#[test]
fn rack_shows_pdu_power_phase_current_against_breaker_and_servers() {
    let mut a = app_on(Screen::Overview);
    a.update(Action::Enter); // site
    a.update(Action::Enter); // rack r01
    assert_eq!(a.screen, Screen::Rack);
    let s = draw(&a, 120, 40);
    // 12.8 A of a 16 A breaker = 80 %; 3,200 W = 3.20 kW.
    assert!(
        s.contains("3.20 kW") && s.contains("12.8 A") && s.contains("80%"),
        "{s}"
    );
    assert!(
        s.contains("srv-01") && s.contains("37%") && s.contains("212 W"),
        "{s}"
    );
    assert!(s.contains("inlet 28.5 °C"), "{s}");
}

#[test]
fn devices_lists_down_first_with_its_error_and_filters() {
    let mut a = app_on(Screen::Devices);
    let s = draw(&a, 80, 24);
    let down = s.find("ups-1").unwrap();
    assert!(down < s.find("pdu-r01").unwrap(), "down first:\n{s}");
    assert!(
        s.contains("DOWN") && s.contains("timed out after 2s") && s.contains("2000 ms"),
        "{s}"
    );
    a.update(Action::StartFilter);
    for c in "pdu".chars() {
        a.update(Action::Type(c));
    }
    let s = draw(&a, 80, 24);
    assert!(
        !s.contains("ups-1") && s.contains("filter: pdu") && s.contains("1 shown"),
        "{s}"
    );
}

#[test]
fn alarms_show_since_when_and_help_lists_every_key() {
    let s = draw(&app_on(Screen::Alarms), 100, 30);
    // Raised at 880 s, snapshot at 1,000 s: 2 minutes ago.
    assert!(s.contains("rack r01") && s.contains("2m0s ago"), "{s}");
    // The rule alert with its state, place and age, and the selected one's evidence.
    assert!(s.contains("Rule alerts: 1 firing, 0 pending"), "{s}");
    assert!(
        s.contains("FIRING") && s.contains("hk1 / ups-1") && s.contains("1m0s ago"),
        "{s}"
    );
    assert!(
        s.contains("17 min of battery left") && s.contains("evidence: http://grafana.example"),
        "{s}"
    );
    // An unknown trap is shown as it came, with when and from whom.
    assert!(
        s.contains("Traps: last 1") && s.contains("10.0.0.9") && s.contains("0m30s ago"),
        "{s}"
    );
    assert!(s.contains("1.3.6.1.4.1.99999"), "{s}");
    let mut a = app_on(Screen::Overview);
    a.update(Action::Help);
    let s = draw(&a, 80, 24);
    for key in ["Tab", "Enter", "Esc", "/", "q"] {
        assert!(s.contains(key), "help lacks {key}:\n{s}");
    }
}

#[test]
fn trends_draw_without_panicking_even_when_tiny() {
    let a = app_on(Screen::Trends);
    let s = draw(&a, 80, 24);
    assert!(
        s.contains("PUE3 hourly, last 7 days (hk1") && s.contains("facility kW"),
        "{s}"
    );
    for (w, h) in [(20, 5), (1, 1), (200, 60)] {
        let _ = draw(&a, w, h);
    }
}

#[test]
fn fleet_lists_collectors_with_a_silent_one_named_and_why() {
    let s = draw(&app_on(Screen::Fleet), 120, 20);
    assert!(s.contains("Collectors: 2 (1 silent)"), "{s}");
    let silent = s.lines().find(|l| l.contains("dc02-a")).unwrap_or_default();
    assert!(
        silent.contains("SILENT") && silent.contains("95 s") && silent.contains("no heartbeat"),
        "{s}"
    );
    let ok = s.lines().find(|l| l.contains("dc01-a")).unwrap_or_default();
    assert!(ok.contains("ok") && ok.contains("42/42"), "{s}");
}

#[test]
fn overview_and_devices_in_chinese_keep_their_columns_aligned_at_both_sizes() {
    for size in [(80, 24), (120, 40)] {
        let screen = assert_columns_align(
            &app_in(Lang::ZhHk, Screen::Overview),
            size,
            &[
                "場地",
                "PUE 1小時",
                "PUE 今日",
                "設施 kW",
                "IT kW",
                "冷卻 kW",
                "UPS %",
                "警報",
                "在線",
            ],
            &[&[
                "hk1",
                "1.62 PUE3",
                "1.58",
                "250.0",
                "154.3",
                "71.2",
                "41",
                "0",
                "3/4",
            ]],
        );
        let tabs = &screen[0];
        for tab in ["概覽", "場地", "機櫃", "設備", "警報", "趨勢", "收集器群"] {
            assert!(tabs.contains(tab), "{size:?}: tab {tab}:\n{tabs}");
        }
        assert!(screen[1].contains("場地（PUE 以能源計算）"), "{size:?}");

        let screen = assert_columns_align(
            &app_in(Lang::ZhHk, Screen::Devices),
            size,
            &["設備", "狀態", "輪詢", "距今", "最近錯誤"],
            &[
                &["ups-1", "離線", "2000 ms", "4 s", "timed out after 2s"],
                &["pdu-r01", "在線", "12 ms", "3 s", ""],
            ],
        );
        assert!(
            screen[1].contains("設備：顯示 2 部，按狀態排序"),
            "{size:?}"
        );
    }
}

#[test]
fn chinese_help_lines_up_its_descriptions_by_display_width() {
    let mut a = app_in(Lang::ZhHk, Screen::Overview);
    a.update(Action::Help);
    let (w, h) = (80, 24);
    let buf = buffer(&a, w, h);
    let shown: Vec<(Vec<(u16, char)>, u16)> = (0..h).map(|y| visible(&buf, y)).collect();
    let all: Vec<String> = shown
        .iter()
        .map(|(r, _)| r.iter().map(|(_, c)| *c).collect())
        .collect();
    let all = all.join("\n");
    assert!(shown.iter().all(|(_, columns)| *columns <= w), "{all}");
    // "↑↓←→ 或 h j k l" has one character fewer than it has columns: padded by characters,
    // its description would stand one column left of the others.
    let xs: Vec<u16> = [
        "下一個／上一個畫面",
        "移動",
        "深入（場地 → 機櫃）",
        "本說明",
        "離開",
    ]
    .iter()
    .map(|d| {
        shown
            .iter()
            .find_map(|(row, _)| find(row, d, 0))
            .unwrap_or_else(|| panic!("help lacks {d}:\n{all}"))
    })
    .collect();
    assert!(xs.iter().all(|x| *x == xs[0]), "{xs:?}:\n{all}");
    assert!(all.contains("按鍵（按任意鍵關閉）"), "{all}");
}

#[test]
fn no_screen_shows_a_message_key_in_either_language() {
    for lang in Lang::ALL {
        for screen in kilowatch_tui::app::SCREENS {
            let mut a = app_in(lang, screen);
            let s = draw(&a, 120, 40);
            assert!(!s.contains("tui-"), "{lang:?} {screen:?}:\n{s}");
            a.update(Action::Help);
            let s = draw(&a, 120, 40);
            assert!(!s.contains("tui-"), "{lang:?} {screen:?} help:\n{s}");
        }
        let mut a = app_in(lang, Screen::Site);
        a.update(Action::ToggleColouring);
        a.update(Action::StartFilter);
        a.update(Action::Type('u'));
        let s = draw(&a, 120, 40);
        assert!(!s.contains("tui-"), "{lang:?} filter:\n{s}");
    }
}
