//! The dense screens (issue 23, point 4) on ratatui's TestBackend at 80×24, 120×40, 160×48
//! and 240×70, from a snapshot built here: the Overview's power chain (losses worked out by
//! hand below), UPS, sparklines, top alarms and hottest inlets; the Site floor map; the week of
//! hourly PUE on the Trends screen with local dates. In English and Traditional Chinese.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use kilowatch_core::calendar;
use kilowatch_core::i18n::Lang;
use kilowatch_tui::app::{App, SCREENS, Screen};
use kilowatch_tui::keymap::Action;
use kilowatch_tui::snapshot::{
    Alarm, PowerChain, RackView, RoomView, RuleAlert, SiteView, Snapshot, UpsView,
};
use kilowatch_tui::theme::Theme;
use kilowatch_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const SIZES: [(u16, u16); 4] = [(80, 24), (120, 40), (160, 48), (240, 70)];
const HOUR: i64 = 3_600_000;
/// 2025-01-01T00:30:00Z: 08:30 in Hong Kong.
const NOW: i64 = 1_735_689_600_000 + 30 * 60_000;

fn rack(id: &str, power_w: Option<f64>, inlet_c: Option<f64>) -> RackView {
    RackView {
        id: id.into(),
        power_w,
        budget_w: Some(4000.0),
        inlet_c,
        ..Default::default()
    }
}

/// PUE of the hour starting `h` hours before the last complete one: 1.50 to 1.70 over the last
/// day (the last, complete, hour 1.62), 1.80 before.
fn pue_of(h: i64) -> f64 {
    match h {
        0 => 1.62,
        5 => 1.70,
        9 => 1.50,
        1..=23 => 1.60,
        _ => 1.80,
    }
}

fn snapshot() -> Snapshot {
    let hour_end = NOW.div_euclid(HOUR) * HOUR;
    // A week of complete hours, one (30 hours ago) missing.
    let pue_trend = (0..168)
        .filter(|h| *h != 30)
        .map(|h| ((hour_end - (h + 1) * HOUR) as f64, pue_of(h)))
        .rev()
        .collect();
    let kw_trend = (0..672)
        .map(|q| {
            (
                (NOW - 7 * 24 * HOUR + q * 900_000) as f64,
                240.0 + (q % 20) as f64,
            )
        })
        .collect();
    let mut hall1: Vec<RackView> = vec![
        rack("r01", Some(3200.0), Some(28.5)),
        rack("r02", Some(1000.0), Some(21.0)),
        // Nothing reads r03: its box must say so, not 0.
        rack("r03", None, None),
        rack("r04", Some(2500.0), Some(26.4)),
    ];
    hall1.extend((5..=12).map(|i| {
        rack(
            &format!("r{i:02}"),
            Some(1500.0 + 100.0 * f64::from(i)),
            Some(20.0 + 0.1 * f64::from(i)),
        )
    }));
    Snapshot {
        at: NOW,
        sites: vec![SiteView {
            id: "hk1".into(),
            name: "Kwun Tong DC".into(),
            category: "PUE3".into(),
            pue_hour: Some(1.62),
            pue_today: Some(1.5843),
            facility_kw: Some(250.0),
            it_kw: Some(158.1),
            cooling_kw: Some(71.25),
            ups_load_pct: Some(41.0),
            devices_up: 19,
            devices_total: 20,
            rooms: vec![
                RoomView {
                    id: "hall-1".into(),
                    racks: hall1,
                },
                RoomView {
                    id: "hall-2".into(),
                    racks: vec![rack("s01", Some(900.0), Some(19.5))],
                },
            ],
            pue_trend,
            kw_trend,
            timezone: calendar::zone("Asia/Hong_Kong").ok(),
            chain: PowerChain {
                facility_kw: Some(250.0),
                ups_in_kw: Some(172.4),
                ups_out_kw: Some(163.8),
                pdu_kw: Some(158.1),
                it_kw: Some(151.2),
            },
            ups: vec![UpsView {
                device: "ups-1".into(),
                runtime_min: Some(17.0),
                battery_pct: Some(96.0),
                load_pct: Some(41.0),
                on_battery: false,
            }],
        }],
        alarms: vec![Alarm {
            critical: false,
            subject: "rack r01".into(),
            text: "inlet 28.5 °C above the ASHRAE recommended 27 °C".into(),
            since: NOW - 120_000,
        }],
        rule_alerts: vec![
            RuleAlert {
                rule: "pdu_phase_high".into(),
                firing: false,
                severity: "warning".into(),
                place: "hk1 / pdu-r04".into(),
                since: NOW - 30_000,
                ..Default::default()
            },
            RuleAlert {
                rule: "ups_on_battery".into(),
                firing: true,
                severity: "critical".into(),
                place: "hk1 / ups-1".into(),
                since: NOW - 60_000,
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn app(lang: Lang, screen: Screen, snap: Snapshot) -> App {
    let mut a = App::new(lang);
    a.set_snapshot(snap);
    a.screen = screen;
    a
}

fn buffer(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(app, &Theme::plain(), f)).unwrap();
    t.backend().buffer().clone()
}

/// The screen's rows as a terminal shows them (a wide character's second cell skipped).
fn rows(app: &App, w: u16, h: u16) -> Vec<String> {
    let buf = buffer(app, w, h);
    (0..h)
        .map(|y| {
            let mut s = String::new();
            let mut x = 0;
            while x < w {
                let sym = buf[(x, y)].symbol();
                s.push_str(sym);
                x += if sym.chars().any(|c| ('\u{2E80}'..='\u{FFE6}').contains(&c)) {
                    2
                } else {
                    1
                };
            }
            s
        })
        .collect()
}

/// The first row holding `label` ("" when none).
fn row_of<'a>(screen: &'a [String], label: &str) -> &'a str {
    screen
        .iter()
        .find(|r| r.contains(label))
        .map_or("", String::as_str)
}

#[test]
fn the_power_chain_shows_each_step_and_the_loss_between_at_every_size() {
    // By hand: 250.0 − 172.4 = 77.6 kW, 31.0 % of 250.0 (cooling, lighting, losses);
    // 172.4 − 163.8 = 8.6 kW, 5.0 % of 172.4 (the UPS); 163.8 − 158.1 = 5.7 kW, 3.5 % of
    // 163.8; 158.1 − 151.2 = 6.9 kW, 4.4 % of 158.1.
    let expected = [
        ("facility meter", "250.0", ""),
        ("UPS input", "172.4", "77.6 (31.0 %)"),
        ("UPS output", "163.8", "8.6 (5.0 %)"),
        ("PDUs (sum)", "158.1", "5.7 (3.5 %)"),
        ("IT equipment", "151.2", "6.9 (4.4 %)"),
    ];
    for (w, h) in SIZES {
        let screen = rows(&app(Lang::En, Screen::Overview, snapshot()), w, h);
        let all = screen.join("\n");
        for (step, kw, loss) in expected {
            let row = row_of(&screen, step);
            assert!(row.contains(kw), "{w}x{h}: {step} {kw}:\n{all}");
            assert!(row.contains(loss), "{w}x{h}: {step} loss {loss}:\n{all}");
        }
        assert!(all.contains("Power chain (hk1)"), "{w}x{h}:\n{all}");
    }
}

#[test]
fn a_step_without_a_reading_says_no_data_never_zero_and_no_loss_is_guessed_across_it() {
    let mut s = snapshot();
    s.sites[0].chain.ups_in_kw = None;
    for (w, h) in SIZES {
        let screen = rows(&app(Lang::En, Screen::Overview, s.clone()), w, h);
        let all = screen.join("\n");
        let input = row_of(&screen, "UPS input");
        assert!(
            input.contains("no data") && !input.contains("0.0"),
            "{w}x{h}:\n{all}"
        );
        // Neither the loss into the UPS nor the UPS's own loss can be known.
        let output = row_of(&screen, "UPS output");
        assert!(
            output.contains("163.8") && output.contains("no data") && !output.contains("8.6"),
            "{w}x{h}:\n{all}"
        );
        assert!(!all.contains("77.6"), "{w}x{h}:\n{all}");
    }
}

#[test]
fn ups_runtime_battery_and_load_and_the_sparkline_ranges_are_shown() {
    for (w, h) in SIZES {
        let screen = rows(&app(Lang::En, Screen::Overview, snapshot()), w, h);
        let all = screen.join("\n");
        let ups = row_of(&screen, "ups-1");
        let ups = &ups[ups.find("ups-1").unwrap_or(0)..];
        for v in ["17", "96", "41"] {
            assert!(ups.contains(v), "{w}x{h}: UPS {v}:\n{all}");
        }
        // The last 24 complete hours range from 1.50 to 1.70 and end at 1.62; the week's
        // older 1.80s are outside the day.
        let range = if h < 30 {
            "PUE3 24 h: 1.62 (1.50–1.70)"
        } else {
            "min 1.50 · max 1.70 · last 1.62"
        };
        assert!(all.contains(range), "{w}x{h}:\n{all}");
        assert!(!all.contains("max 1.80"), "{w}x{h}:\n{all}");
    }
}

#[test]
fn the_hottest_inlet_is_listed_first_and_alerts_firing_come_first() {
    for (w, h) in SIZES {
        let screen = rows(&app(Lang::En, Screen::Overview, snapshot()), w, h);
        let all = screen.join("\n");
        let header = screen
            .iter()
            .position(|r| r.contains("vs limit"))
            .unwrap_or_else(|| panic!("{w}x{h}: no inlets header:\n{all}"));
        // The inlets panel is the right-hand one: the text right of the header's "rack".
        let x = screen[header][..screen[header].find("rack").unwrap()]
            .chars()
            .count();
        let from = |y: usize| -> String { screen[y].chars().skip(x).collect() };
        let first = from(header + 1);
        assert!(
            first.starts_with("r01") && first.contains("28.5") && first.contains("+1.5"),
            "{w}x{h}: first inlet '{first}':\n{all}"
        );
        let second = from(header + 2);
        assert!(
            second.starts_with("r04") && second.contains("26.4"),
            "{w}x{h}:\n{all}"
        );
        let firing = all
            .find("FIRING critical ups_on_battery")
            .unwrap_or(usize::MAX);
        let pending = all
            .find("pending warning pdu_phase_high")
            .unwrap_or(usize::MAX);
        assert!(firing < pending, "{w}x{h}: firing first:\n{all}");
    }
}

#[test]
fn the_overview_fills_a_wall_screen() {
    let (w, h) = (160, 48);
    let screen = rows(&app(Lang::En, Screen::Overview, snapshot()), w, h);
    let all = screen.join("\n");
    let lower = &screen[usize::from(h) / 2..usize::from(h) - 1];
    let filled = |r: &String| r.chars().filter(|c| c.is_alphanumeric()).count();
    // Not just borders: text in most of the lower half's rows.
    let with_text = lower.iter().filter(|r| filled(r) > 4).count();
    assert!(with_text > lower.len() / 3, "{with_text} rows:\n{all}");
    let lower = lower.join("\n");
    assert!(
        lower.contains("r05") || lower.contains("r12"),
        "more inlets listed:\n{all}"
    );
    // More inlets listed on the bigger screen than on the laptop's: 3 at 80×24, and all 12
    // racks with a reading (r03 has none) at 240×70.
    assert_eq!(inlets_listed(80, 24), 3);
    assert_eq!(inlets_listed(240, 70), 12);
}

/// How many racks the Overview's hottest-inlets panel lists at w×h.
fn inlets_listed(w: u16, h: u16) -> usize {
    let screen = rows(&app(Lang::En, Screen::Overview, snapshot()), w, h);
    let Some(header) = screen.iter().position(|r| r.contains("vs limit")) else {
        return 0;
    };
    let x = screen[header][..screen[header].find("rack").unwrap()]
        .chars()
        .count();
    screen[header + 1..]
        .iter()
        .map(|r| r.chars().skip(x).take(3).collect::<String>())
        .take_while(|id| id.len() == 3 && id.chars().skip(1).all(|c| c.is_ascii_digit()))
        .count()
}

#[test]
fn the_floor_map_draws_every_rack_with_its_value_and_no_data_not_zero() {
    for (w, h) in SIZES {
        for colouring in [false, true] {
            let mut a = app(Lang::En, Screen::Site, snapshot());
            if colouring {
                a.update(Action::ToggleColouring);
            }
            let screen = rows(&a, w, h);
            let all = screen.join("\n");
            // r03's box: its name, and under it "no data" (or the dash in a narrow box).
            let (y, x) = screen
                .iter()
                .enumerate()
                .find_map(|(y, r)| r.find("r03").map(|x| (y, x)))
                .unwrap_or_else(|| panic!("{w}x{h}: no r03:\n{all}"));
            let below: String = screen[y + 1]
                .chars()
                .skip(screen[y][..x].chars().count())
                .collect();
            assert!(
                below.starts_with("no data") || below.starts_with('—'),
                "{w}x{h}: under r03 '{below}':\n{all}"
            );
            // r01: 3,200 W of 4,000 W is 80 %; its inlet 28.5 °C.
            let (y, x) = screen
                .iter()
                .enumerate()
                .find_map(|(y, r)| r.find("r01").map(|x| (y, x)))
                .unwrap();
            let below: String = screen[y + 1]
                .chars()
                .skip(screen[y][..x].chars().count())
                .collect();
            let want = if colouring { "28.5°C" } else { "80%" };
            assert!(
                below.starts_with(want),
                "{w}x{h}: under r01 '{below}':\n{all}"
            );
            // The legend names the thresholds the colours use: amber from 80 % of the limit.
            let legend = if colouring {
                "below 21.6 °C  ■ 21.6–27 °C  ■ 27 °C or more"
            } else {
                "under 64 % of budget  ■ 64–80 %  ■ 80 % or more"
            };
            assert!(all.contains(legend), "{w}x{h}:\n{all}");
            // Both rooms, every rack of them.
            assert!(
                all.contains("room hall-2") && all.contains("s01"),
                "{w}x{h}:\n{all}"
            );
            assert!(
                !all.contains(" 0% ") && !all.contains("0.0°C"),
                "{w}x{h}:\n{all}"
            );
        }
    }
}

#[test]
fn trends_show_a_week_of_hourly_pue_on_local_dates() {
    for (w, h) in SIZES {
        let screen = rows(&app(Lang::En, Screen::Trends, snapshot()), w, h);
        let all = screen.join("\n");
        assert!(
            all.contains("PUE3 hourly, last 7 days (hk1; times in Asia/Hong_Kong)"),
            "{w}x{h}:\n{all}"
        );
        // The first hour shown started 2024-12-25T00:00Z, 08:00 in Hong Kong; the PUE axis
        // ends with the last whole hour, 08:00 on 1 January; the kW axis at the last quarter
        // hour, 08:30, a week after its first.
        for label in ["12-25 08:00", "01-01 08:00", "12-25 08:30", "01-01 08:30"] {
            assert!(all.contains(label), "{w}x{h}: {label}:\n{all}");
        }
        assert!(!all.contains("1735"), "no raw ms:\n{all}");
        // The PUE axis spans the week's 1.50 to 1.80, padded by a tenth of the range.
        assert!(
            all.contains("1.47") && all.contains("1.83"),
            "{w}x{h}:\n{all}"
        );
    }
}

#[test]
#[ignore = "prints the screens, for a look"]
fn print_screens() {
    for screen in [Screen::Overview, Screen::Site, Screen::Trends] {
        for (w, h) in SIZES {
            for lang in Lang::ALL {
                println!("{}", rows(&app(lang, screen, snapshot()), w, h).join("\n"));
            }
        }
    }
}

#[test]
fn no_screen_panics_or_overflows_at_any_size_in_either_language() {
    let sizes = [
        (1, 1),
        (10, 3),
        (20, 5),
        (40, 12),
        (60, 20),
        (79, 23),
        (80, 24),
        (100, 30),
        (120, 40),
        (160, 48),
        (200, 60),
        (240, 70),
    ];
    let mut empty = snapshot();
    empty.sites[0] = SiteView {
        id: "new".into(),
        ..Default::default()
    };
    for lang in Lang::ALL {
        for snap in [snapshot(), empty.clone(), Snapshot::default()] {
            for screen in SCREENS {
                for (w, h) in sizes {
                    let a = app(lang, screen, snap.clone());
                    let shown = rows(&a, w, h);
                    let all = shown.join("\n");
                    assert!(!all.contains("tui-"), "{lang:?} {screen:?} {w}x{h}:\n{all}");
                }
            }
        }
    }
}

#[test]
fn the_overview_in_chinese_keeps_its_figures_whole() {
    for (w, h) in SIZES {
        let a = app(Lang::ZhHk, Screen::Overview, snapshot());
        let screen = rows(&a, w, h);
        let all = screen.join("\n");
        assert!(all.contains("供電鏈（hk1）"), "{w}x{h}:\n{all}");
        let out = row_of(&screen, "UPS 輸出");
        assert!(
            out.contains("163.8") && out.contains("8.6 (5.0 %)"),
            "{w}x{h}:\n{all}"
        );
        assert!(all.contains("最熱進風"), "{w}x{h}:\n{all}");
        let site = rows(&app(Lang::ZhHk, Screen::Site, snapshot()), w, h).join("\n");
        assert!(
            site.contains("沒有數據") || site.contains('—'),
            "{w}x{h}:\n{site}"
        );
        let trends = rows(&app(Lang::ZhHk, Screen::Trends, snapshot()), w, h).join("\n");
        assert!(
            trends.contains("過去 7 日") && trends.contains("12-25 08:00"),
            "{trends}"
        );
    }
}
