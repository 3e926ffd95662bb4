//! Crash and reopen: a writer process is killed (SIGKILL) at random moments while it appends
//! polls and compacts them into chunks. After each kill the store must hold every poll the writer
//! had been told was committed, each exactly once with its value, and no poll in part.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use kilowatch_store::samples::block_of;
use kilowatch_store::{ReadStore, Selector, SqliteStore, TimeRange};

const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;
const CHILD: &str = "KW_CRASH_WRITER";

fn series() -> Vec<(Arc<str>, Arc<Series>)> {
    (0..4)
        .map(|i| {
            let device: Arc<str> = Arc::from(if i < 2 { "ups-1" } else { "pdu-1" });
            let s = Series::new(
                Measurement::Power,
                vec![("device", device.to_string()), ("phase", i.to_string())],
            );
            (device, Arc::new(s))
        })
        .collect()
}

fn value(k: i64, s: usize) -> f64 {
    ((k * 7 + s as i64 * 13) % 1000) as f64 * 0.1
}

/// The writer: resumes after the newest stored minute and appends one poll per device per
/// minute, printing each committed minute, compacting every half hour of data.
fn writer(path: &str) -> ! {
    let store = SqliteStore::open(path.as_ref()).expect("open");
    let all = series();
    let found = store
        .find(&Selector::field(Field::ActivePowerW))
        .expect("find");
    let mut k = found
        .iter()
        .filter_map(|s| store.latest(s, i64::MAX).expect("latest"))
        .map(|p| (p.ts - T0) / MINUTE + 1)
        .max()
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    loop {
        let at = T0 + k * MINUTE;
        let batches: Vec<Batch> = ["ups-1", "pdu-1"]
            .iter()
            .map(|d| Batch {
                device: Arc::from(*d),
                at,
                samples: all
                    .iter()
                    .enumerate()
                    .filter(|(_, (dev, _))| &**dev == *d)
                    .map(|(i, (_, s))| Sample {
                        series: s.clone(),
                        field: Field::ActivePowerW,
                        value: value(k, i),
                    })
                    .collect(),
                poll: PollStatus::Ok,
                poll_ms: 1.0,
            })
            .collect();
        store.write(&batches).expect("write");
        writeln!(out, "committed {k}").expect("stdout");
        out.flush().expect("stdout");
        if k % 30 == 0 {
            store.compact(block_of(at)).expect("compact");
        }
        k += 1;
    }
}

#[test]
fn killed_writers_lose_nothing_they_committed() {
    if let Ok(path) = std::env::var(CHILD) {
        writer(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kw.db");
    let mut committed = -1i64;
    for round in 0..12 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed_writers_lose_nothing_they_committed",
                "--nocapture",
            ])
            .env(CHILD, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("committed ")?.parse::<i64>().ok())
                .last()
        });
        std::thread::sleep(Duration::from_millis(150 + fastrand::u64(0..400)));
        child.kill().unwrap();
        child.wait().unwrap();
        let last = reader.join().unwrap();
        assert!(
            last.is_some_and(|l| l > committed),
            "round {round}: the writer made progress ({last:?} after {committed})"
        );
        committed = last.unwrap_or(committed);

        // Every committed minute is there exactly once, for every series, with its value; a
        // minute past the last one printed may be there too (committed, not yet printed), but
        // only whole.
        let store = SqliteStore::open(&path).unwrap();
        let all = TimeRange {
            from: 0,
            to: i64::MAX,
        };
        let mut lens = Vec::new();
        for (i, (_, s)) in series().iter().enumerate() {
            let r = store
                .find(&Selector::field(Field::ActivePowerW).tag("phase", &i.to_string()))
                .unwrap();
            assert_eq!(r.len(), 1, "series {i}");
            let points = store.read(&r[0], all, None).unwrap();
            for (k, p) in points.iter().enumerate() {
                assert_eq!(
                    p.ts,
                    T0 + k as i64 * MINUTE,
                    "round {round} series {}",
                    s.key()
                );
                assert_eq!(p.value, value(k as i64, i), "round {round} minute {k}");
            }
            lens.push(points.len() as i64);
        }
        assert!(
            lens.iter().all(|&n| n > committed),
            "{lens:?} vs {committed}"
        );
        // The two devices are separate transactions' worth only if a kill fell between polls of
        // one write call, which is one transaction: so all series agree.
        assert!(
            lens.windows(2).all(|w| w[0] == w[1]),
            "a poll in part: {lens:?}"
        );
        assert_eq!(store.count_samples().unwrap(), lens.iter().sum::<i64>());
    }
    // Rounds ran long enough for the writer to compact (two-hour blocks of minutes).
    let store = SqliteStore::open(&path).unwrap();
    let f = store.footprint().unwrap();
    assert!(f.chunk_samples > 0, "{f:?}");
}
