//! Whatever a BMC (or anyone on its network) sends, every IPMI decoder gives a value or an error,
//! never a panic: RMCP and RMCP+ framing, the integrity trailer and AES padding, RAKP replies, the
//! IPMI message checksums, SDR records and their linearisation, sensor readings and DCMI power.

#![no_main]

use kilowatch_collector::ipmi::fuzz_decoders;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_decoders(data);
});
