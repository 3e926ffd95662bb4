use super::*;

fn e(ts: i64, seq: i64, value: f64) -> Entry {
    Entry { ts, seq, value }
}

#[test]
fn chunks_stand_then_the_first_head_write() {
    let chunk = [Point { ts: 1, value: 1.0 }, Point { ts: 3, value: 3.0 }];
    let mut head = [
        e(3, 5, 30.0), // the chunk's reading stands
        e(2, 9, 20.0), // a later write of ts 2: the first stands
        e(2, 7, 2.0),
        e(4, 6, 4.0),
    ];
    let got = resolve(&chunk, &mut head);
    let want = [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)];
    assert_eq!(got, want.map(|(ts, value)| Point { ts, value }).to_vec());
}

#[test]
fn windows_aggregate_like_the_sql_did() {
    let pts: Vec<Point> = (0..10)
        .map(|i| Point {
            ts: i * 1000,
            value: i as f64,
        })
        .collect();
    let w = |aggregate| Window {
        every_ms: 5000,
        aggregate,
    };
    let vals = |a| {
        aggregate(&pts, w(a))
            .iter()
            .map(|p| (p.ts, p.value))
            .collect::<Vec<_>>()
    };
    assert_eq!(vals(Aggregate::Mean), [(0, 2.0), (5000, 7.0)]);
    assert_eq!(vals(Aggregate::Min), [(0, 0.0), (5000, 5.0)]);
    assert_eq!(vals(Aggregate::Max), [(0, 4.0), (5000, 9.0)]);
    assert_eq!(vals(Aggregate::Last), [(0, 4.0), (5000, 9.0)]);
}
