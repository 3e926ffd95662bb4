//! Frame time of the Overview, Site and Devices screens for a large site: 500 racks, 10,000
//! devices.
//!
//!   cargo run --release -p kilowatch-tui --example render_bench

use std::time::Instant;

use kilowatch_tui::app::{App, Screen};
use kilowatch_tui::snapshot::{
    DeviceView, PduView, RackView, RoomView, ServerView, SiteView, Snapshot,
};
use kilowatch_tui::theme::Theme;
use kilowatch_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    let racks: Vec<RackView> = (0..500)
        .map(|r| RackView {
            id: format!("r{r:03}"),
            power_w: Some(1000.0 + (r * 7 % 3000) as f64),
            budget_w: Some(5000.0),
            inlet_c: Some(19.0 + (r % 10) as f64),
            pdus: vec![PduView {
                device: format!("pdu-{r:03}"),
                power_w: Some(2000.0),
                currents: vec![("phase1".into(), 8.0)],
                breaker_a: Some(16.0),
            }],
            servers: (0..19)
                .map(|s| ServerView {
                    device: format!("srv-{r:03}-{s:02}"),
                    cpu_pct: Some(30.0),
                    power_w: Some(250.0),
                })
                .collect(),
        })
        .collect();
    let devices: Vec<DeviceView> = (0..10_000)
        .map(|i| DeviceView {
            id: format!("dev-{i:05}"),
            site: "big".into(),
            rack: Some(format!("r{:03}", i % 500)),
            up: i % 97 != 0,
            poll_ms: (i % 50) as f64,
            age_s: 3.0,
            error: None,
        })
        .collect();
    let snapshot = Snapshot {
        at: 0,
        sites: vec![SiteView {
            id: "big".into(),
            name: "Large site".into(),
            category: "PUE3".into(),
            rooms: (0..10)
                .map(|h| RoomView {
                    id: format!("hall-{h}"),
                    racks: racks[h * 50..(h + 1) * 50].to_vec(),
                })
                .collect(),
            ..Default::default()
        }],
        devices,
        alarms: Vec::new(),
        rule_alerts: Vec::new(),
        traps: Vec::new(),
        fleet: Vec::new(),
    };
    let mut app = App::default();
    app.set_snapshot(snapshot);
    let theme = Theme::from_env();
    for (screen, size) in [
        (Screen::Overview, (80, 24)),
        (Screen::Overview, (240, 70)),
        (Screen::Site, (120, 40)),
        (Screen::Devices, (120, 40)),
        (Screen::Site, (240, 70)),
        (Screen::Devices, (240, 70)),
    ] {
        app.screen = screen;
        let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).expect("test backend");
        let frames = 200;
        let t = Instant::now();
        for _ in 0..frames {
            terminal
                .draw(|f| view::render(&app, &theme, f))
                .expect("draw");
        }
        let per = t.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        println!("{screen:?} {}x{}: {per:.2} ms per frame", size.0, size.1);
    }
}
