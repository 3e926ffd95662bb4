//! The embedded store against a model: a map from (series, time) to value where the first live
//! write of a time stands and an import replaces it, under random writes, repeats, imports,
//! compactions, retention and reopening.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;

use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use kilowatch_store::samples::BLOCK_MS;
use kilowatch_store::{
    Aggregate, Point, ReadStore, Selector, SeriesRef, SqliteStore, TimeRange, Window,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// (device, at, values by series index: None = not in this poll)
    Write {
        device: u8,
        at: i64,
        values: [Option<i32>; 3],
        replace: bool,
    },
    Compact(i64),
    DeleteBefore(i64),
    Reopen,
}

fn ts() -> impl Strategy<Value = i64> {
    // Times over three blocks, on a coarse grid so repeats are common.
    (0i64..36).prop_map(|i| 1_767_225_600_000 + i * BLOCK_MS / 12 + (i % 5))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..2, ts(), prop::array::uniform3(prop::option::of(-500i32..500)), prop::bool::weighted(0.2))
            .prop_map(|(device, at, values, replace)| Op::Write { device, at, values, replace }),
        2 => ts().prop_map(Op::Compact),
        1 => ts().prop_map(Op::DeleteBefore),
        1 => Just(Op::Reopen),
    ]
}

fn series() -> Vec<Arc<Series>> {
    // Series 1 is polled through both devices (a meter read by two profiles, or re-homed).
    ["a", "b", "c"]
        .iter()
        .map(|d| {
            Arc::new(Series::new(
                Measurement::Power,
                vec![("site", "hk1".into()), ("device", (*d).into())],
            ))
        })
        .collect()
}

fn batch(all: &[Arc<Series>], device: u8, at: i64, values: &[Option<i32>; 3]) -> Batch {
    Batch {
        device: Arc::from(if device == 0 { "dev-a" } else { "dev-b" }),
        at,
        samples: values
            .iter()
            .enumerate()
            // Device b never carries series 0, device a never series 2.
            .filter(|(i, v)| v.is_some() && !(device == 1 && *i == 0) && !(device == 0 && *i == 2))
            .map(|(i, v)| Sample {
                series: all[i].clone(),
                field: Field::ActivePowerW,
                // Tenths, as a meter reports them: the chunks' decimal coding is exercised.
                value: f64::from(v.unwrap_or_default()) * 0.1,
            })
            .collect(),
        poll: PollStatus::Ok,
        poll_ms: 1.0,
    }
}

type Model = BTreeMap<(usize, i64), f64>;

/// `windows`: whether windowed reads should match the raw model, which they do until retention
/// first deletes raw readings (from then on older windows come from roll-ups, which the unit test
/// `windows_beyond_raw_retention_come_from_roll_ups` covers).
fn check(
    store: &SqliteStore,
    model: &Model,
    all: &[Arc<Series>],
    windows: bool,
) -> Result<(), TestCaseError> {
    let found: Vec<SeriesRef> = store.find(&Selector::field(Field::ActivePowerW)).unwrap();
    let everything = TimeRange {
        from: i64::MIN / 2,
        to: i64::MAX / 2,
    };
    for (i, s) in all.iter().enumerate() {
        let want: Vec<Point> = model
            .range((i, i64::MIN)..=(i, i64::MAX))
            .map(|(&(_, ts), &value)| Point { ts, value })
            .collect();
        let Some(r) = found.iter().find(|r| r.key == s.key()) else {
            prop_assert!(want.is_empty(), "series {i} missing");
            continue;
        };
        let got = store.read(r, everything, None).unwrap();
        prop_assert_eq!(&got, &want, "series {}", i);
        // A sub-range, a windowed read and `latest` agree with the model too.
        let mid = 1_767_225_600_000 + BLOCK_MS + 7;
        let part = store
            .read(
                r,
                TimeRange {
                    from: mid,
                    to: mid + BLOCK_MS,
                },
                None,
            )
            .unwrap();
        let want_part: Vec<Point> = want
            .iter()
            .copied()
            .filter(|p| p.ts >= mid && p.ts < mid + BLOCK_MS)
            .collect();
        prop_assert_eq!(part, want_part);
        let latest = store.latest(r, mid).unwrap();
        prop_assert_eq!(latest, want.iter().copied().rfind(|p| p.ts <= mid));
        let every = BLOCK_MS / 4;
        if !windows {
            continue;
        }
        let maxes = store
            .read(
                r,
                everything,
                Some(Window {
                    every_ms: every,
                    aggregate: Aggregate::Max,
                }),
            )
            .unwrap();
        let mut want_max: BTreeMap<i64, f64> = BTreeMap::new();
        for p in &want {
            let w = want_max
                .entry(p.ts.div_euclid(every) * every)
                .or_insert(f64::MIN);
            *w = w.max(p.value);
        }
        let want_max: Vec<Point> = want_max
            .into_iter()
            .map(|(ts, value)| Point { ts, value })
            .collect();
        prop_assert_eq!(maxes, want_max);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_store_behaves_like_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kw.db");
        let all = series();
        let mut store = SqliteStore::open(&path).unwrap();
        let mut model = Model::new();
        let mut retained = false;
        for op in &ops {
            match op {
                Op::Write { device, at, values, replace } => {
                    // Polls reuse their series' `Arc`s, as the collector does; odd times bring new
                    // ones with the same keys, as an import or a reloaded inventory would.
                    let renewed = series();
                    let src = if at % 2 == 1 { &renewed } else { &all };
                    let b = batch(src, *device, *at, values);
                    let mut fresh = 0;
                    for s in &b.samples {
                        let i = all.iter().position(|a| a.key() == s.series.key()).unwrap();
                        // An import replaces; a live write only fills a time not yet held.
                        if *replace || !model.contains_key(&(i, *at)) {
                            model.insert((i, *at), s.value);
                            fresh += 1;
                        }
                    }
                    let n = if *replace { store.write_replacing(&[b]) } else { store.write(&[b]) }.unwrap();
                    prop_assert_eq!(n, fresh, "samples stored by {:?}", op);
                }
                Op::Compact(before) => {
                    store.compact(*before).unwrap();
                }
                Op::DeleteBefore(before) => {
                    let gone = model.keys().filter(|(_, ts)| ts < before).count();
                    model.retain(|(_, ts), _| ts >= before);
                    retained = true;
                    let n = store.delete_before(*before).unwrap();
                    // The head may still hold a reading an import corrected, until compaction.
                    prop_assert!(n >= gone, "deleted {} of {}", n, gone);
                }
                Op::Reopen => {
                    drop(store);
                    store = SqliteStore::open(&path).unwrap();
                }
            }
            check(&store, &model, &all, !retained)?;
        }
        store.compact(i64::MAX).unwrap();
        check(&store, &model, &all, !retained)?;
        prop_assert_eq!(store.count_samples().unwrap() as usize, model.len());
        let f = store.footprint().unwrap();
        prop_assert_eq!(f.head_samples, 0);
    }
}
