//! The screens of a real store, printed as text without a terminal, and the snapshot's load
//! time: for a look at what a site's data makes of the Overview, Site and Trends screens.
//!
//!   cargo run --release -p kilowatch-tui --example render_store -- dd/demo.toml [160x48] [zh-HK] [POLL_MS]
//!
//! "Now" is the newest poll the store holds (a demo run with `--speed` stamps ahead of the wall
//! clock); POLL_MS is the poll interval in those stamps (the inventory's, by default).

use std::time::Instant;

use kilowatch_core::config::Config;
use kilowatch_core::i18n::{Lang, Tr};
use kilowatch_store::{SqliteStore, StatusStore};
use kilowatch_tui::app::{App, Screen};
use kilowatch_tui::theme::Theme;
use kilowatch_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: render_store CONFIG [WxH] [en|zh-HK]");
        std::process::exit(2);
    };
    let (w, h) = args
        .get(2)
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .unwrap_or((160u16, 48u16));
    let lang = match args.get(3).map(String::as_str) {
        Some("zh-HK") => Lang::ZhHk,
        _ => Lang::En,
    };
    let config = Config::load(std::path::Path::new(path)).unwrap_or_else(|p| {
        eprintln!("{p:?}");
        std::process::exit(2)
    });
    let store = SqliteStore::open(&config.store.path).expect("open the store");
    let status = store.device_status().expect("device status");
    let now = status.iter().map(|s| s.ts).max().unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    let interval = args
        .get(4)
        .and_then(|s| s.parse().ok())
        .unwrap_or(config.collector.interval.as_millis() as i64);
    let tr = Tr::new(lang);
    let mut times = Vec::new();
    let mut snapshot = None;
    for _ in 0..5 {
        let t = Instant::now();
        snapshot = Some(
            kilowatch_tui::load::snapshot_in(&store, &config, &status, now, interval, &tr)
                .expect("snapshot"),
        );
        times.push(t.elapsed());
    }
    let mut app = App::new(lang);
    app.set_snapshot(snapshot.unwrap_or_default());
    for screen in [Screen::Overview, Screen::Site, Screen::Trends] {
        app.screen = screen;
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        t.draw(|f| view::render(&app, &Theme::plain(), f))
            .expect("draw");
        let buf = t.backend().buffer();
        for y in 0..h {
            let mut line = String::new();
            let mut x = 0;
            while x < w {
                let symbol = buf[(x, y)].symbol();
                line.push_str(symbol);
                // A wide (Chinese) character covers the next cell too.
                x += u16::try_from(kilowatch_tui::view::width(symbol))
                    .unwrap_or(1)
                    .max(1);
            }
            println!("{line}");
        }
    }
    println!("snapshot loaded in {times:.1?}");
}
