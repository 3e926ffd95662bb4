//! Stored chunks and roll-ups read back from a damaged file: any bytes decode to points or to an
//! error, never a panic or an allocation beyond the input's size; and whatever decodes encodes
//! again to the same points. The input is read as a chunk with its times inline, and, split at
//! its first byte, as times kept apart and a chunk of values.

#![no_main]

use kilowatch_store::{chunk, rollup};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let base = 1_767_225_600_000;
    let mut points = Vec::new();
    if chunk::decode(data, base, None, &mut points).is_ok() {
        assert!(points.len() <= 4 * data.len() + 1);
        // Round trip whatever is a valid series (strictly increasing times).
        if points.windows(2).all(|w| w[0].ts < w[1].ts) {
            let mut again = Vec::new();
            chunk::encode(&points, base, &mut again);
            let mut back = Vec::new();
            chunk::decode(&again, base, None, &mut back).expect("our own encoding decodes");
            assert_eq!(back.len(), points.len());
            for (a, b) in points.iter().zip(&back) {
                assert_eq!((a.ts, a.value.to_bits()), (b.ts, b.value.to_bits()));
            }
        }
    }
    if let Some((&cut, rest)) = data.split_first() {
        let (times, values) = rest.split_at(usize::from(cut).min(rest.len()));
        points.clear();
        if chunk::decode(values, base, Some(times), &mut points).is_ok() {
            // Bounded by the times when they are apart, by the chunk when they are inline.
            assert!(points.len() <= (8 * times.len()).max(4 * values.len()) + 1);
            // No points are never stored apart (an empty chunk is deleted, not written).
            if !points.is_empty() && points.windows(2).all(|w| w[0].ts < w[1].ts) {
                let (mut t, mut v) = (Vec::new(), Vec::new());
                chunk::encode_times(&points, base, &mut t);
                chunk::encode_values(&points, &mut v);
                let mut back = Vec::new();
                chunk::decode(&v, base, Some(&t), &mut back).expect("our own encoding decodes");
                assert_eq!(back.len(), points.len());
                for (a, b) in points.iter().zip(&back) {
                    assert_eq!((a.ts, a.value.to_bits()), (b.ts, b.value.to_bits()));
                }
            }
        }
    }
    let mut buckets = Vec::new();
    let _ = rollup::decode(data, base, &mut buckets);
});
