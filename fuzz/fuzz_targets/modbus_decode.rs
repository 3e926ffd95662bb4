//! Modbus register decoding: arbitrary words (and exceptions) for every block of every Modbus
//! profile must decode to samples or named problems, never a panic.
#![no_main]

use std::sync::OnceLock;

use kilowatch_collector::decode::{Readings, RowSeries, decode};
use kilowatch_collector::ModbusException;
use kilowatch_collector::plan::{Plan, PlanKind};
use kilowatch_core::address::Address;
use kilowatch_core::config::Device;
use kilowatch_core::profile::ProfileSet;
use libfuzzer_sys::fuzz_target;

fn plans() -> &'static Vec<Plan> {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        let (set, _) = ProfileSet::load(&[]);
        let address = Address::parse("modbus://127.0.0.1/1").map(|a| a.0).ok();
        set.names()
            .filter_map(|name| {
                let device = Device::new("fuzz", "s", name, address.clone()?);
                let plan = Plan::compile(&device, set.get(name)?);
                matches!(plan.kind, PlanKind::Modbus(_)).then_some(plan)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let plans = plans();
    let Some((&pick, data)) = data.split_first() else { return };
    let plan = &plans[usize::from(pick) % plans.len()];
    let PlanKind::Modbus(p) = &plan.kind else { return };
    let mut words = data.chunks(2).map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]));
    let blocks = p
        .blocks
        .iter()
        .map(|b| {
            // A word of 0xEEEE at a block's start stands for an exception; short input for a short reply.
            let block: Vec<u16> = words.by_ref().take(usize::from(b.count)).collect();
            if block.first() == Some(&0xEEEE) { Err(ModbusException { function: 3, code: 2 }) } else { Ok(block) }
        })
        .collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    decode(plan, &Readings::Modbus { blocks }, &mut RowSeries::default(), &mut out, &mut problems);
    assert!(out.iter().all(|s| s.value.is_finite()), "a sample must be a finite number");
});
