//! Any measurement, tags and values encode to exactly one line of line protocol, or are refused
//! with a reason; never a panic, never a second line smuggled in.

#![no_main]

use kilowatch_sink::influx::line_protocol::{FieldValue, encode_point};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<&str> = text.split('\u{1f}').collect();
    let get = |i: usize| parts.get(i).copied().unwrap_or("x");
    let value = get(4).parse::<f64>().unwrap_or(f64::NAN);
    let mut out = String::new();
    let result = encode_point(
        &mut out,
        get(0),
        &[(get(1), get(2)), ("device", get(3))],
        &[
            ("value", FieldValue::Float(value)),
            ("note", FieldValue::String(get(5).to_owned())),
        ],
        1_700_000_000_000,
    );
    match result {
        Ok(()) => {
            assert!(out.ends_with('\n'));
            assert_eq!(out.matches('\n').count(), 1, "one line: {out:?}");
        }
        Err(_) => assert!(out.is_empty(), "a refused point writes nothing"),
    }
});
