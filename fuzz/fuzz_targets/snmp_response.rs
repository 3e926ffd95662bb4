//! Whatever an agent sends back to a GET, decoding it is a value or an error, never a panic.

#![no_main]

use kilowatch_collector::snmp::decode_get_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let oids: Vec<Vec<u32>> = (1..=20)
        .map(|k| vec![1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1, 7, k])
        .collect();
    if let Ok(rows) = decode_get_response(data, b"public", &oids) {
        // A reply we accept never has more rows than varbinds it could carry.
        assert!(rows.len() <= data.len());
    }
});
