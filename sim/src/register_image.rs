//! A register image for any Modbus profile: the inverse of the collector's decoding. The meters
//! beyond electricity are served from their real vendor maps (the profiles a collector reads
//! them with) rather than from hand-placed words, so a new map needs no simulator code.

use std::collections::{BTreeMap, HashMap};

use kilowatch_core::model::Field;
use kilowatch_core::profile::{
    ModbusMetric, ModbusProfile, RegisterTable, RegisterType, WordOrder,
};

use crate::modbus_server::Registers;

/// SunSpec scale factors lie in -10..=10; a simulator needs no more than this span.
const SF_RANGE: std::ops::RangeInclusive<i32> = -4..=6;

/// Encodes `value(field, point)` for every metric of `profile`. A metric with no value serves
/// its first `invalid` marker (or zero); short gaps between mapped registers read zero, so the
/// collector's merged block reads succeed as they do on a device that fills its map.
pub fn encode(
    profile: &ModbusProfile,
    value: impl Fn(Field, Option<&str>) -> Option<f64>,
) -> Registers {
    let values: Vec<Option<f64>> = profile
        .metrics
        .iter()
        .map(|m| value(m.field, m.point.as_deref()))
        .collect();
    let exponents = scale_factors(profile, &values);
    let mut regs = Registers::default();
    for (m, v) in profile.metrics.iter().zip(&values) {
        let exp = m.scale_factor.map_or(0, |a| exponents[&(m.table, a)]);
        let raw = match v {
            Some(v) => (v - m.offset) / m.scale / 10f64.powi(exp),
            None => m.invalid.first().copied().unwrap_or(0.0),
        };
        let table = table_mut(&mut regs, m.table);
        for (i, w) in words(raw, m.ty, m.word_order).into_iter().enumerate() {
            table.insert(m.address + i as u16, w);
        }
        if let Some(a) = m.scale_factor {
            table.insert(a, exp as i16 as u16);
        }
    }
    for table in [&mut regs.holding, &mut regs.input] {
        fill_gaps(table);
    }
    regs
}

/// The exponent of each scale-factor register: the smallest that fits every value read with it
/// in its register type (finest resolution without overflow).
fn scale_factors(
    profile: &ModbusProfile,
    values: &[Option<f64>],
) -> BTreeMap<(RegisterTable, u16), i32> {
    let mut need: BTreeMap<(RegisterTable, u16), i32> = BTreeMap::new();
    for (m, v) in profile.metrics.iter().zip(values) {
        let Some(a) = m.scale_factor else { continue };
        let magnitude = v.map_or(0.0, |v| ((v - m.offset) / m.scale).abs());
        let limit = max_magnitude(m);
        let exp = SF_RANGE
            .clone()
            .find(|e| magnitude / 10f64.powi(*e) <= limit)
            .unwrap_or(*SF_RANGE.end());
        let slot = need.entry((m.table, a)).or_insert(*SF_RANGE.start());
        *slot = (*slot).max(exp);
    }
    need
}

fn max_magnitude(m: &ModbusMetric) -> f64 {
    match m.ty {
        RegisterType::Int16 => 32_000.0,
        RegisterType::Uint16 => 65_000.0,
        RegisterType::Int32 => 2.0e9,
        RegisterType::Uint32 | RegisterType::Acc32 => 4.0e9,
        _ => f64::MAX,
    }
}

fn table_mut(regs: &mut Registers, table: RegisterTable) -> &mut HashMap<u16, u16> {
    match table {
        RegisterTable::Holding => &mut regs.holding,
        RegisterTable::Input => &mut regs.input,
    }
}

/// An integer type's count is the nearest to `v`; a float keeps its fraction.
fn words(v: f64, ty: RegisterType, order: WordOrder) -> Vec<u16> {
    let v = match ty {
        RegisterType::Float32 | RegisterType::Float64 => v,
        _ => v.round(),
    };
    ty.encode(v, order)
}

/// Zeros in the gaps a block read can span (one read is at most 125 registers).
fn fill_gaps(table: &mut HashMap<u16, u16>) {
    let mut mapped: Vec<u16> = table.keys().copied().collect();
    mapped.sort_unstable();
    for pair in mapped.windows(2) {
        if pair[1] - pair[0] < 125 {
            for a in pair[0] + 1..pair[1] {
                table.insert(a, 0);
            }
        }
    }
}
