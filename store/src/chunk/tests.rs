use super::*;
use proptest::prelude::*;

const BASE: i64 = 1_767_225_600_000;

/// Encodes both ways, times with values and apart, checks both decode to `points` bit for bit,
/// and returns the first.
fn roundtrip(points: &[Point]) -> Vec<u8> {
    let mut buf = Vec::new();
    encode(points, BASE, &mut buf);
    let mut back = Vec::new();
    decode(&buf, BASE, None, &mut back).unwrap();
    same(points, &back);
    if !points.is_empty() {
        let (mut times, mut values) = (Vec::new(), Vec::new());
        encode_times(points, BASE, &mut times);
        encode_values(points, &mut values);
        back.clear();
        decode(&values, BASE, Some(&times), &mut back).unwrap();
        same(points, &back);
    }
    buf
}

fn same(points: &[Point], back: &[Point]) {
    assert_eq!(back.len(), points.len());
    for (a, b) in points.iter().zip(back) {
        assert_eq!(a.ts, b.ts);
        assert_eq!(
            a.value.to_bits(),
            b.value.to_bits(),
            "{} vs {}",
            a.value,
            b.value
        );
    }
}

#[test]
fn times_kept_apart_serve_every_series_of_a_poll() {
    // Twenty series read in the same polls, stamped with a collector's jitter (tens of ms).
    let ts = |i: i64| BASE + i * 10_000 + (i * 7919) % 97;
    let mut times = Vec::new();
    let first = series(720, |i| (ts(i), 230.0 + (i % 7) as f64 * 0.1));
    encode_times(&first, BASE, &mut times);
    let (mut together, mut apart) = (0, times.len());
    for s in 0..20 {
        let pts = series(720, |i| (ts(i), ((i * (s + 3)) % 50) as f64 * 0.1));
        let mut own = Vec::new();
        encode_times(&pts, BASE, &mut own);
        assert_eq!(own, times, "the same polls give the same times");
        together += roundtrip(&pts).len();
        let mut values = Vec::new();
        encode_values(&pts, &mut values);
        apart += values.len();
    }
    // The times cost about two bytes a point, as much as the values: kept once, not twenty times.
    assert!(times.len() > 720, "{} bytes of times", times.len());
    assert!(
        apart * 3 < together * 2,
        "{apart} bytes apart, {together} together"
    );
}

#[test]
fn values_without_their_times_are_an_error() {
    let pts = series(10, |i| (i * 1000, i as f64));
    let mut values = Vec::new();
    encode_values(&pts, &mut values);
    let mut out = Vec::new();
    assert_eq!(
        decode(&values, 0, None, &mut out),
        Err(ChunkError::Malformed("chunk's times are missing"))
    );
    // Times for no points, or cut short, are errors too.
    assert!(decode(&values, 0, Some(&[0]), &mut out).is_err());
    let mut times = Vec::new();
    encode_times(&pts, 0, &mut times);
    for cut in 0..times.len() {
        let _ = decode(&values, 0, Some(&times[..cut]), &mut out);
    }
}

fn series(n: i64, f: impl Fn(i64) -> (i64, f64)) -> Vec<Point> {
    (0..n)
        .map(|i| {
            let (ts, value) = f(i);
            Point { ts, value }
        })
        .collect()
}

#[test]
fn a_steady_meter_costs_about_a_byte_a_point() {
    // 720 polls every 10 s, a power reading in tenths of a watt (SNMP's `raw × 0.1`).
    let pts = series(720, |i| {
        (
            1_767_225_600_000 + i * 10_000,
            (23_000 + (i * 37) % 200) as f64 * 0.1,
        )
    });
    let bytes = roundtrip(&pts).len();
    assert!(bytes * 4 < 720 * 5, "{bytes} bytes for 720 points");
}

#[test]
fn an_energy_counter_with_jitter_costs_about_a_byte_a_point() {
    // kWh in hundredths rising 0.05–0.07 each poll; timestamps jittered by up to 9 ms.
    let pts = series(720, |i| {
        (
            1_767_225_600_000 + i * 10_000 + (i * 7919) % 10,
            (1_234_500 + i * 6 + (i % 3)) as f64 / 100.0,
        )
    });
    let bytes = roundtrip(&pts).len();
    assert!(bytes * 4 < 720 * 5, "{bytes} bytes for 720 points");
}

#[test]
fn floats_that_are_not_decimals_still_round_trip() {
    let pts = series(500, |i| (i * 1000, (i as f64 * 0.37).sin() * 1e3 + 1e-9));
    roundtrip(&pts);
    let f32s = series(500, |i| {
        (i * 1000, f64::from(230.0f32 + (i as f32) * 0.013))
    });
    assert!(roundtrip(&f32s).len() < 500 * 3);
    let odd = [
        f64::NAN,
        f64::INFINITY,
        -0.0,
        f64::MIN_POSITIVE,
        f64::MAX,
        -1.5e300,
    ];
    roundtrip(&series(odd.len() as i64, |i| (i, odd[i as usize])));
    roundtrip(&[]);
    roundtrip(&[Point { ts: -5, value: 1.0 }]);
}

#[test]
fn hostile_bytes_are_errors() {
    let pts = series(100, |i| (i * 10_000, i as f64 * 0.5));
    let mut buf = Vec::new();
    encode(&pts, 0, &mut buf);
    for cut in 0..buf.len() {
        let mut out = Vec::new();
        let _ = decode(&buf[..cut], 0, None, &mut out);
    }
    let mut out = Vec::new();
    assert_eq!(decode(&[9], 0, None, &mut out), Err(ChunkError::Version(9)));
    assert!(decode(&[1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0], 0, None, &mut out).is_err());
    assert!(decode(&[1, 2, 0, 0x55], 0, None, &mut out).is_err());
}

proptest! {
    #[test]
    fn any_increasing_series_round_trips(
        start in -1_000_000_000_000i64..2_000_000_000_000,
        steps in prop::collection::vec((1i64..10_000_000, any::<f64>(), -100_000i64..100_000, 0u8..4), 0..300)
    ) {
        let mut ts = start;
        let pts: Vec<Point> = steps.iter().map(|&(dt, f, k, kind)| {
            ts += dt;
            let value = match kind { 0 => f, 1 => k as f64 * 0.1, 2 => k as f64 / 100.0, _ => k as f64 };
            Point { ts, value }
        }).collect();
        roundtrip(&pts);
    }

    #[test]
    fn any_bytes_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), cut in 0usize..200) {
        let mut out = Vec::new();
        let _ = decode(&bytes, 0, None, &mut out);
        prop_assert!(out.len() <= 4 * bytes.len() + 1);
        let (times, values) = bytes.split_at(cut.min(bytes.len()));
        out.clear();
        let _ = decode(values, 0, Some(times), &mut out);
        // Bounded by the times when they are apart, by the chunk when they are inline.
        prop_assert!(out.len() <= (8 * times.len()).max(4 * values.len()) + 1);
    }
}

#[test]
fn value_streams_are_deflated_when_that_is_smaller() {
    let ts = |i: i64| BASE + i * 10_000;
    let encoded = |pts: &[Point]| {
        let mut values = Vec::new();
        encode_values(pts, &mut values);
        roundtrip(pts);
        values
    };
    // A constant (a nominal voltage, a status): a bit a point before, a few bytes now.
    let flat = encoded(&series(720, |i| (ts(i), 230.0)));
    assert!([VERSION_DEFLATED, VERSION_BYTES].contains(&flat[0]));
    assert!(flat.len() < 24, "{} bytes", flat.len());
    // A meter's energy in hundredths rising 6, 6, 7 a poll: its steps repeat.
    let energy = encoded(&series(720, |i| {
        (ts(i), (1_234_500 + i * 19 / 3) as f64 / 100.0)
    }));
    assert!([VERSION_DEFLATED, VERSION_BYTES].contains(&energy[0]));
    assert!(energy.len() * 10 < 720, "{} bytes", energy.len());
    // Full-precision noise does not deflate: kept as it is.
    let mut rng = fastrand::Rng::with_seed(7);
    let noise: Vec<f64> = (0..720).map(|_| rng.f64()).collect();
    let noisy = encoded(&series(720, |i| (ts(i), noise[i as usize])));
    assert_eq!(noisy[0], VERSION_APART);
    // A poll's duration in tenths of a ms, a few values over and over: bucketed bit codes give
    // each step six bits or more, its residuals as whole bytes deflate to their entropy.
    let steps = [0.0, 0.3, 0.5, 0.7, 1.0, 0.3, 0.0, 0.3];
    let durations: Vec<f64> = (0..720).map(|_| steps[rng.usize(..steps.len())]).collect();
    let pts = series(720, |i| (ts(i), durations[i as usize]));
    let (mut ks, mut header, mut stream) = (Vec::new(), Vec::new(), Vec::new());
    let mode = put_first_value(&pts, &mut ks, &mut header);
    put_value_stream(&pts, mode, &ks, &mut stream);
    let packed = encoded(&pts);
    assert_eq!(packed[0], VERSION_BYTES);
    assert!(
        5 * packed.len() < 4 * stream.len(),
        "{} bytes against a {}-byte bit stream",
        packed.len(),
        stream.len()
    );
}

#[test]
fn deflated_values_that_lie_about_their_length_are_errors() {
    let pts = series(720, |i| (BASE + i * 10_000, 230.0));
    let (mut times, mut values) = (Vec::new(), Vec::new());
    encode_times(&pts, BASE, &mut times);
    encode_values(&pts, &mut values);
    // version, mode, first value (varint of 230 zigzagged: two bytes), then the length of a
    // 719-bit stream (one byte: 90), or of 719 one-byte residuals (two: 0xCF 0x05).
    let at = 4;
    let (len_bytes, real) = match values[0] {
        VERSION_DEFLATED => (1, 90u64),
        VERSION_BYTES => (2, 719),
        v => panic!("version {v} is not deflated"),
    };
    assert_eq!(get_varint(&mut &values[at..]).unwrap(), real);
    let mut out = Vec::new();
    for len in [0u64, 1, real - 1, real + 1] {
        let mut bad = values[..at].to_vec();
        put_varint(&mut bad, len);
        bad.extend_from_slice(&values[at + len_bytes..]);
        assert!(
            decode(&bad, BASE, Some(&times), &mut out).is_err(),
            "length {len}"
        );
    }
    // A stream longer than 720 values can take is refused before inflating.
    let mut bad = values[..at].to_vec();
    put_varint(&mut bad, 720 * 10 + 8);
    bad.extend_from_slice(&values[at + len_bytes..]);
    assert_eq!(
        decode(&bad, BASE, Some(&times), &mut out),
        Err(ChunkError::Malformed("value stream longer than its points"))
    );
}

#[test]
fn an_uptime_is_stored_against_the_time_between_polls() {
    // sysUpTime in hundredths of a second, read in polls stamped with up to 0.4 s of jitter: its
    // steps follow the stamps, so against the time between polls they are zero or one.
    let boot = BASE - 86_400_000;
    let pts = series(720, |i| {
        let ts = BASE + i * 10_000 + (i * 7919) % 400;
        (ts, ((ts - boot + 3) / 10) as f64 * 0.01)
    });
    roundtrip(&pts);
    let mut values = Vec::new();
    encode_values(&pts, &mut values);
    assert_eq!(
        Values::from_byte(values[1]),
        Ok(Values::Decimal {
            d: 2,
            multiply: true,
            predict: Predict::Clock
        })
    );
    let mut ks = Vec::new();
    decimal_mode(&pts, &mut ks);
    let bits = |p| int_bits(&pts, &ks, p, 2);
    assert!(
        bits(Predict::Clock) < 720 * 3,
        "{} bits",
        bits(Predict::Clock)
    );
    assert!(
        bits(Predict::Dod) > 3 * bits(Predict::Clock),
        "{} bits",
        bits(Predict::Dod)
    );
    // Hostile times cannot overflow the prediction.
    let wild = [
        Point {
            ts: i64::MIN + 1,
            value: 1.0,
        },
        Point {
            ts: i64::MAX,
            value: 2.5,
        },
    ];
    roundtrip(&wild);
}
