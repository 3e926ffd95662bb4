//! SNMP value decoding: arbitrary values for every OID and table row a real profile reads must
//! decode to samples or named problems, never a panic.
#![no_main]

use std::sync::OnceLock;

use kilowatch_collector::decode::{Readings, RowSeries, SnmpValue, decode};
use kilowatch_collector::plan::{Plan, PlanKind};
use kilowatch_core::address::Address;
use kilowatch_core::config::Device;
use kilowatch_core::profile::ProfileSet;
use libfuzzer_sys::fuzz_target;

fn plans() -> &'static Vec<Plan> {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        let (set, _) = ProfileSet::load(&[]);
        let address = Address::parse("snmp://127.0.0.1").map(|a| a.0).ok();
        set.names()
            .filter_map(|name| {
                let profile = set.get(name)?;
                let device = Device::new("fuzz", "s", name, address.clone()?);
                let plan = Plan::compile(&device, profile);
                matches!(plan.kind, PlanKind::Snmp(_)).then_some(plan)
            })
            .collect()
    })
}

/// One value from the input: a tag byte picks the type, the rest is its payload.
fn value(data: &mut &[u8]) -> SnmpValue {
    let Some((&tag, rest)) = data.split_first() else { return SnmpValue::Missing("endOfMibView") };
    let n = usize::from(rest.first().copied().unwrap_or(0) % 16).min(rest.len().saturating_sub(1));
    let payload = rest.get(1..1 + n).unwrap_or_default().to_vec();
    *data = rest.get(1 + n..).unwrap_or_default();
    let mut word = [0u8; 8];
    for (w, b) in word.iter_mut().zip(&payload) {
        *w = *b;
    }
    match tag % 6 {
        0 => SnmpValue::Int(i64::from_le_bytes(word)),
        1 => SnmpValue::Unsigned(u64::from_le_bytes(word)),
        2 => SnmpValue::Bytes(payload),
        3 => SnmpValue::Oid(payload.iter().map(|&b| u32::from(b)).collect()),
        4 => SnmpValue::Missing("noSuchInstance"),
        _ => SnmpValue::Other("IpAddress"),
    }
}

fuzz_target!(|data: &[u8]| {
    let plans = plans();
    let Some((&pick, mut data)) = data.split_first() else { return };
    let plan = &plans[usize::from(pick) % plans.len()];
    let PlanKind::Snmp(p) = &plan.kind else { return };
    let gets = p.gets.iter().map(|_| value(&mut data)).collect();
    let walks = p
        .walks
        .iter()
        .map(|_| {
            let rows = usize::from(data.first().copied().unwrap_or(0) % 8);
            data = data.get(1..).unwrap_or_default();
            (0..rows)
                .map(|i| {
                    let index: Vec<u32> = (0..=(i % 3)).map(|k| (i + k) as u32).collect();
                    (index, value(&mut data))
                })
                .collect()
        })
        .collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    decode(plan, &Readings::Snmp { gets, walks }, &mut RowSeries::default(), &mut out, &mut problems);
    assert!(out.iter().all(|s| s.value.is_finite()), "a sample must be a finite number");
});
