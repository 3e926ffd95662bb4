//! The UI state and `update`: pure, no I/O, so every key's effect is testable.

use std::sync::Arc;

use kilowatch_core::i18n::{Lang, Tr};

use crate::keymap::{Action, Mode};
use crate::snapshot::{DeviceView, RackView, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Site,
    Rack,
    Devices,
    Alarms,
    Trends,
    Fleet,
}

pub const SCREENS: [Screen; 7] = [
    Screen::Overview,
    Screen::Site,
    Screen::Rack,
    Screen::Devices,
    Screen::Alarms,
    Screen::Trends,
    Screen::Fleet,
];

impl Screen {
    /// The catalogue key of the screen's name (`i18n/<lang>/tui.ftl`).
    pub fn key(self) -> &'static str {
        match self {
            Screen::Overview => "tui-screen-overview",
            Screen::Site => "tui-screen-site",
            Screen::Rack => "tui-screen-rack",
            Screen::Devices => "tui-screen-devices",
            Screen::Alarms => "tui-screen-alarms",
            Screen::Trends => "tui-screen-trends",
            Screen::Fleet => "tui-screen-fleet",
        }
    }

    /// The screen's name in `tr`'s language, as its tab shows it.
    pub fn title(self, tr: &Tr) -> String {
        tr.t(self.key())
    }
}

/// What the site grid is coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colouring {
    Power,
    Inlet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Id,
    State,
    PollMs,
    Age,
}

#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub snapshot: Snapshot,
    pub site: usize,
    pub rack: usize,
    pub device: usize,
    pub filter: String,
    pub mode: Mode,
    pub sort: SortBy,
    pub help: bool,
    pub colouring: Colouring,
    /// The selected rule alert on the Alarms screen.
    pub alert: usize,
    /// An acknowledgement asked for, as (rule, subject), until the loop sends it on.
    pub ack: Option<(String, String)>,
    pub quit: bool,
    /// The language every text of the UI is in.
    pub tr: Arc<Tr>,
}

impl Default for App {
    /// English.
    fn default() -> App {
        App::new(Lang::En)
    }
}

impl App {
    /// An empty app whose texts are in `lang`.
    pub fn new(lang: Lang) -> App {
        App {
            screen: Screen::Overview,
            snapshot: Snapshot::default(),
            site: 0,
            rack: 0,
            device: 0,
            filter: String::new(),
            mode: Mode::Normal,
            sort: SortBy::State,
            help: false,
            colouring: Colouring::Power,
            alert: 0,
            ack: None,
            quit: false,
            tr: Arc::new(Tr::new(lang)),
        }
    }

    pub fn update(&mut self, action: Action) {
        if self.help && action != Action::Quit {
            self.help = false;
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::NextScreen => self.screen = step(self.screen, 1),
            Action::PrevScreen => self.screen = step(self.screen, SCREENS.len() - 1),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::Left => self.move_by(-1),
            Action::Right => self.move_by(1),
            Action::Enter => match self.screen {
                Screen::Overview => self.screen = Screen::Site,
                Screen::Site => self.screen = Screen::Rack,
                _ => {}
            },
            Action::Back => match (self.mode, self.screen) {
                (Mode::Filter, _) => self.mode = Mode::Normal,
                (_, Screen::Rack) => self.screen = Screen::Site,
                (_, Screen::Site) => self.screen = Screen::Overview,
                _ => {}
            },
            Action::StartFilter => {
                self.screen = Screen::Devices;
                self.mode = Mode::Filter;
            }
            Action::Type(c) => {
                self.filter.push(c);
                self.device = 0;
            }
            Action::Backspace => {
                self.filter.pop();
            }
            Action::Sort => {
                self.sort = match self.sort {
                    SortBy::Id => SortBy::State,
                    SortBy::State => SortBy::PollMs,
                    SortBy::PollMs => SortBy::Age,
                    SortBy::Age => SortBy::Id,
                }
            }
            Action::Acknowledge => {
                if self.screen == Screen::Alarms
                    && let Some(a) = self.snapshot.rule_alerts.get(self.alert)
                    && a.acked_by.is_none()
                {
                    self.ack = Some((a.rule.clone(), a.subject.clone()));
                }
            }
            Action::ToggleColouring => {
                self.colouring = match self.colouring {
                    Colouring::Power => Colouring::Inlet,
                    Colouring::Inlet => Colouring::Power,
                }
            }
        }
    }

    pub fn set_snapshot(&mut self, s: Snapshot) {
        self.snapshot = s;
        self.site = self.site.min(self.snapshot.sites.len().saturating_sub(1));
        self.rack = self.rack.min(self.racks().len().saturating_sub(1));
        self.alert = self
            .alert
            .min(self.snapshot.rule_alerts.len().saturating_sub(1));
    }

    fn move_by(&mut self, d: isize) {
        let (cursor, len) = match self.screen {
            Screen::Overview => (&mut self.site, self.snapshot.sites.len()),
            Screen::Site | Screen::Rack => {
                let n = self.racks().len();
                (&mut self.rack, n)
            }
            Screen::Devices => {
                let n = self.visible_devices().len();
                (&mut self.device, n)
            }
            Screen::Alarms => (&mut self.alert, self.snapshot.rule_alerts.len()),
            _ => return,
        };
        if len == 0 {
            return;
        }
        *cursor = (*cursor as isize + d).clamp(0, len as isize - 1) as usize;
    }

    /// Every rack of the selected site, room by room.
    pub fn racks(&self) -> Vec<&RackView> {
        self.snapshot
            .sites
            .get(self.site)
            .map(|s| s.rooms.iter().flat_map(|r| r.racks.iter()).collect())
            .unwrap_or_default()
    }

    pub fn selected_rack(&self) -> Option<&RackView> {
        self.racks().get(self.rack).copied()
    }

    /// Devices matching the filter (id, site, rack or error text), in the chosen order.
    pub fn visible_devices(&self) -> Vec<&DeviceView> {
        let f = self.filter.to_lowercase();
        let mut v: Vec<&DeviceView> = self
            .snapshot
            .devices
            .iter()
            .filter(|d| {
                f.is_empty()
                    || d.id.to_lowercase().contains(&f)
                    || d.site.to_lowercase().contains(&f)
                    || d.rack
                        .as_deref()
                        .is_some_and(|r| r.to_lowercase().contains(&f))
                    || d.error
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&f))
            })
            .collect();
        match self.sort {
            SortBy::Id => v.sort_by(|a, b| a.id.cmp(&b.id)),
            // Down devices first: that is what an engineer opens this screen for.
            SortBy::State => v.sort_by(|a, b| a.up.cmp(&b.up).then(a.id.cmp(&b.id))),
            SortBy::PollMs => v.sort_by(|a, b| b.poll_ms.total_cmp(&a.poll_ms)),
            SortBy::Age => v.sort_by(|a, b| b.age_s.total_cmp(&a.age_s)),
        }
        v
    }
}

fn step(s: Screen, by: usize) -> Screen {
    let i = SCREENS.iter().position(|x| *x == s).unwrap_or(0);
    SCREENS[(i + by) % SCREENS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{RoomView, SiteView};

    fn app() -> App {
        let mut a = App::default();
        a.set_snapshot(Snapshot {
            sites: vec![SiteView {
                id: "hk1".into(),
                rooms: vec![RoomView {
                    id: "hall".into(),
                    racks: vec![
                        RackView {
                            id: "r01".into(),
                            ..Default::default()
                        },
                        RackView {
                            id: "r02".into(),
                            ..Default::default()
                        },
                    ],
                }],
                ..Default::default()
            }],
            devices: vec![
                DeviceView {
                    id: "pdu-a".into(),
                    up: true,
                    ..Default::default()
                },
                DeviceView {
                    id: "ups-1".into(),
                    up: false,
                    error: Some("timed out".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        });
        a
    }

    #[test]
    fn tab_cycles_every_screen_and_back() {
        let mut a = app();
        let mut seen = vec![a.screen];
        for _ in 0..SCREENS.len() {
            a.update(Action::NextScreen);
            seen.push(a.screen);
        }
        assert_eq!(&seen[..SCREENS.len()], &SCREENS);
        assert_eq!(a.screen, Screen::Overview);
        a.update(Action::PrevScreen);
        assert_eq!(a.screen, Screen::Fleet);
    }

    #[test]
    fn enter_drills_down_and_esc_goes_back() {
        let mut a = app();
        a.update(Action::Enter);
        assert_eq!(a.screen, Screen::Site);
        a.update(Action::Down);
        a.update(Action::Enter);
        assert_eq!(
            (a.screen, a.selected_rack().map(|r| r.id.as_str())),
            (Screen::Rack, Some("r02"))
        );
        a.update(Action::Back);
        assert_eq!(a.screen, Screen::Site);
    }

    #[test]
    fn a_selected_alert_is_acknowledged_once_and_only_on_the_alarms_screen() {
        use crate::snapshot::RuleAlert;
        let mut a = app();
        let alert = |rule: &str, acked: Option<&str>| RuleAlert {
            rule: rule.into(),
            subject: format!("device:{rule}"),
            firing: true,
            acked_by: acked.map(Into::into),
            ..Default::default()
        };
        let mut s = a.snapshot.clone();
        s.rule_alerts = vec![
            alert("ups_on_battery", None),
            alert("pdu_down", Some("ops")),
        ];
        a.set_snapshot(s);
        a.update(Action::Acknowledge);
        assert_eq!(a.ack, None, "not from the overview");
        a.screen = Screen::Alarms;
        a.update(Action::Down);
        a.update(Action::Acknowledge);
        assert_eq!(a.ack, None, "already acknowledged");
        a.update(Action::Up);
        a.update(Action::Acknowledge);
        assert_eq!(
            a.ack,
            Some(("ups_on_battery".into(), "device:ups_on_battery".into()))
        );
    }

    #[test]
    fn down_devices_sort_first_and_filter_narrows() {
        let mut a = app();
        assert_eq!(a.visible_devices()[0].id, "ups-1");
        a.update(Action::StartFilter);
        for c in "pdu".chars() {
            a.update(Action::Type(c));
        }
        assert_eq!(a.visible_devices().len(), 1);
        a.update(Action::Back);
        assert_eq!(a.mode, Mode::Normal);
        a.update(Action::Help);
        assert!(a.help);
        a.update(Action::Down);
        assert!(!a.help, "any key closes help");
    }
}
