//! The demo's past: a week (by default) polled through the simulator's real protocols on a
//! replay clock before the live view opens, with the events that make it worth looking at.

use std::time::Duration;

use kilowatch_collector::schedule::Backfill;
use kilowatch_core::model::Timestamp;
use kilowatch_sim::story::Story;
use tokio::sync::watch;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// The simulator's site keeps Hong Kong time: its daily cycle's offset from UTC.
const LOCAL_OFFSET: i64 = kilowatch_sim::physics::LOCAL_OFFSET_H as i64 * HOUR;
/// Long enough to take a 4 kW UPS at 2 kW under half its charge.
const OUTAGE: i64 = 35 * MIN;

/// The events of the history `[from, to)`: a 35-minute utility outage at 14:20 local time on
/// the day two-thirds of the way through (the UPS on battery, its battery under half, then
/// recharging), and the hall's last rack running hot every afternoon. The comatose server is
/// the simulator's own. A history under two days gets its outage at its middle instead.
pub fn story(from: Timestamp, to: Timestamp, racks: usize) -> Story {
    let day = (from + (to - from) * 2 / 3 + LOCAL_OFFSET).div_euclid(DAY) * DAY - LOCAL_OFFSET;
    let mut start = day + 14 * HOUR + 20 * MIN;
    if start + OUTAGE > to - HOUR || start < from {
        start = from + (to - from) / 2;
    }
    Story {
        outage: (to - from >= 2 * HOUR).then_some((start, start + OUTAGE)),
        hot_rack: (racks > 1).then_some(racks - 1),
    }
}

/// Waits until the collector has swept the history (to about `to`), with a progress bar on a
/// terminal.
pub async fn wait(mut progress: watch::Receiver<Timestamp>, from: Timestamp, to: Timestamp) {
    let bar = indicatif::ProgressBar::new(((to - from) / HOUR).max(1) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} h of history ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("simulating the past");
    loop {
        let at = *progress.borrow_and_update();
        if at == Backfill::DONE {
            break;
        }
        bar.set_position(((at.min(to) - from).max(0) / HOUR) as u64);
        // The collector gone (cancelled) ends the wait too.
        if tokio::time::timeout(Duration::from_secs(60), progress.changed())
            .await
            .map_or(true, |r| r.is_err())
        {
            break;
        }
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_falls_inside_a_week_at_twenty_past_two_local() {
        let to = 1_764_700_000_000; // 2025-12-02T18:26:40Z
        let from = to - 7 * DAY;
        let s = story(from, to, 2);
        let (a, b) = s.outage.unwrap();
        assert!(from < a && b < to);
        assert_eq!(b - a, 35 * MIN);
        // 14:20 in Hong Kong is 06:20 UTC.
        assert_eq!((a).rem_euclid(DAY), 6 * HOUR + 20 * MIN);
        assert_eq!(s.hot_rack, Some(1));
        let short = story(to - 3 * HOUR, to, 1);
        let (a, _) = short.outage.unwrap();
        assert_eq!(a, to - 3 * HOUR + 90 * MIN);
        assert_eq!(short.hot_rack, None);
    }
}
