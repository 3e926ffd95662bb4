//! Modbus register blocks to samples: each entry's words in its type and word order, its
//! scale and SunSpec scale factor. A block the device refused, a short block, a value that is
//! not finite or that the device marks "not available" is a problem naming field and register.

use kilowatch_core::model::Sample;
use kilowatch_core::profile::{RegisterTable, RegisterType, WordOrder};

use super::Trace;
use crate::ModbusException;
use crate::plan::ModbusPlan;

pub(super) fn decode_modbus(
    p: &ModbusPlan,
    blocks: &[Result<Vec<u16>, ModbusException>],
    out: &mut Vec<Sample>,
    problems: &mut Vec<String>,
    trace: &mut Trace<'_>,
) {
    for e in &p.entries {
        let block = &p.blocks[e.block];
        let address = u32::from(block.start) + u32::from(e.offset);
        let words = match blocks.get(e.block) {
            Some(Ok(w)) => w,
            Some(Err(err)) => {
                problems.push(format!(
                    "{} register {address}: device exception: {err}",
                    e.field
                ));
                continue;
            }
            None => continue,
        };
        let start = usize::from(e.offset);
        let n = usize::from(e.ty.words());
        let Some(raw) = words.get(start..start + n) else {
            problems.push(format!("{} register {address}: short response", e.field));
            continue;
        };
        let Some(v) = decode_register(raw, e.ty, e.order).filter(|v| v.is_finite()) else {
            problems.push(format!(
                "{} register {address}: not a finite number",
                e.field
            ));
            continue;
        };
        if e.invalid.contains(&v) {
            problems.push(format!(
                "{} register {address}: device reports 'not available'",
                e.field
            ));
            continue;
        }
        let exponent = match e.scale_factor {
            None => 0,
            Some((b, off)) => match blocks
                .get(b)
                .and_then(|r| r.as_ref().ok())
                .and_then(|w| w.get(usize::from(off)))
            {
                // SunSpec scale factors lie in -10..=10; 0x8000 means "not implemented".
                Some(&sf) if (-10..=10).contains(&(sf as i16)) => i32::from(sf as i16),
                Some(&sf) => {
                    problems.push(format!(
                        "{} register {address}: scale factor {} is not usable",
                        e.field, sf as i16
                    ));
                    continue;
                }
                None => {
                    problems.push(format!(
                        "{} register {address}: scale factor not read",
                        e.field
                    ));
                    continue;
                }
            },
        };
        let value = v * e.scale * 10f64.powi(exponent) + e.add;
        if !value.is_finite() {
            problems.push(format!(
                "{} register {address}: value out of range",
                e.field
            ));
            continue;
        }
        out.push(Sample {
            series: e.series.clone(),
            field: e.field,
            value,
        });
        trace.push(|| format!("{} {address}", table_name(block.table)));
    }
}

fn table_name(t: RegisterTable) -> &'static str {
    match t {
        RegisterTable::Holding => "holding",
        RegisterTable::Input => "input",
    }
}

/// Decodes 1, 2 or 4 words in the given word/byte order into a number.
fn decode_register(words: &[u16], ty: RegisterType, order: WordOrder) -> Option<f64> {
    if words.len() != usize::from(ty.words()) {
        return None;
    }
    // Bring the bytes into most-significant-first order (ABCD...).
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    match order {
        WordOrder::ABCD => {}
        WordOrder::DCBA => bytes.reverse(),
        WordOrder::BADC => bytes.chunks_mut(2).for_each(|c| c.swap(0, 1)),
        WordOrder::CDAB => {
            let mut w: Vec<[u8; 2]> = bytes.chunks(2).map(|c| [c[0], c[1]]).collect();
            w.reverse();
            bytes = w.concat();
        }
    }
    let b = bytes.as_slice();
    Some(match ty {
        RegisterType::Uint16 => f64::from(u16::from_be_bytes([b[0], b[1]])),
        RegisterType::Int16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
        RegisterType::Uint32 | RegisterType::Acc32 => {
            f64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        RegisterType::Int32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        RegisterType::Float32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        RegisterType::Uint64 => u64::from_be_bytes(b.try_into().ok()?) as f64,
        RegisterType::Int64 => i64::from_be_bytes(b.try_into().ok()?) as f64,
        RegisterType::Float64 => f64::from_be_bytes(b.try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Readings, RowSeries, decode};
    use super::*;
    use crate::plan::{Plan, PlanKind};

    use proptest::prelude::*;

    const ORDERS: [WordOrder; 4] = [
        WordOrder::ABCD,
        WordOrder::CDAB,
        WordOrder::BADC,
        WordOrder::DCBA,
    ];

    /// A value representable in `ty`, and the type.
    fn typed_value() -> impl Strategy<Value = (RegisterType, f64)> {
        prop_oneof![
            any::<u16>().prop_map(|v| (RegisterType::Uint16, f64::from(v))),
            any::<i16>().prop_map(|v| (RegisterType::Int16, f64::from(v))),
            any::<u32>().prop_map(|v| (RegisterType::Uint32, f64::from(v))),
            any::<u32>().prop_map(|v| (RegisterType::Acc32, f64::from(v))),
            any::<i32>().prop_map(|v| (RegisterType::Int32, f64::from(v))),
            any::<f32>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| (RegisterType::Float32, f64::from(v))),
            // 64-bit integers beyond 2^53 are not exact in f64, which is what we store.
            (0u64..(1 << 53)).prop_map(|v| (RegisterType::Uint64, v as f64)),
            (-(1i64 << 53)..(1 << 53)).prop_map(|v| (RegisterType::Int64, v as f64)),
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| (RegisterType::Float64, v)),
        ]
    }

    proptest! {
        #[test]
        fn modbus_decode_inverts_encode_for_every_type_and_order((ty, v) in typed_value(), o in 0usize..4) {
            let order = ORDERS[o];
            let words = ty.encode(v, order);
            prop_assert_eq!(words.len(), usize::from(ty.words()));
            prop_assert_eq!(decode_register(&words, ty, order), Some(v));
        }

        #[test]
        fn decoding_arbitrary_words_never_panics(words in proptest::collection::vec(any::<u16>(), 0..6), o in 0usize..4) {
            for ty in [RegisterType::Uint16, RegisterType::Int16, RegisterType::Uint32, RegisterType::Int32,
                       RegisterType::Acc32, RegisterType::Float32, RegisterType::Uint64, RegisterType::Int64, RegisterType::Float64] {
                let _ = decode_register(&words, ty, ORDERS[o]);
            }
        }
    }

    #[test]
    fn issue_3_an_absurd_scale_factor_is_a_problem_not_an_infinite_sample() {
        // Found by fuzzing: a SunSpec scale factor of 0x7FFF made 10^32767 = infinity.
        let (set, _) = kilowatch_core::profile::ProfileSet::load(&[]);
        let device = kilowatch_core::config::Device::new(
            "m",
            "s",
            "sunspec-meter-203",
            kilowatch_core::address::Address::parse("modbus://h/6")
                .unwrap()
                .0,
        );
        let plan = Plan::compile(&device, set.get("sunspec-meter-203").unwrap());
        let PlanKind::Modbus(p) = &plan.kind else {
            panic!("modbus")
        };
        let blocks = p
            .blocks
            .iter()
            .map(|b| Ok(vec![0x7FFF; usize::from(b.count)]))
            .collect();
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        decode(
            &plan,
            &Readings::Modbus { blocks },
            &mut RowSeries::default(),
            &mut out,
            &mut problems,
        );
        assert!(out.is_empty(), "{out:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("scale factor 32767 is not usable")),
            "{problems:?}"
        );
    }

    #[test]
    fn float32_word_orders_decode_the_same_value() {
        // 230.5 = 0x4366_8000 (Eastron fixture raw words).
        assert_eq!(
            decode_register(&[0x4366, 0x8000], RegisterType::Float32, WordOrder::ABCD),
            Some(230.5)
        );
        assert_eq!(
            decode_register(&[0x8000, 0x4366], RegisterType::Float32, WordOrder::CDAB),
            Some(230.5)
        );
        assert_eq!(
            decode_register(&[0x6643, 0x0080], RegisterType::Float32, WordOrder::BADC),
            Some(230.5)
        );
        assert_eq!(
            decode_register(&[0x0080, 0x6643], RegisterType::Float32, WordOrder::DCBA),
            Some(230.5)
        );
    }

    #[test]
    fn integers_decode_signed_and_wide() {
        assert_eq!(
            decode_register(&[0xFFFF], RegisterType::Int16, WordOrder::ABCD),
            Some(-1.0)
        );
        assert_eq!(
            decode_register(&[0xFFFF], RegisterType::Uint16, WordOrder::ABCD),
            Some(65535.0)
        );
        // ABB fixture: 0x5B14 total power 2153456 = 0x0020_DBF0.
        assert_eq!(
            decode_register(&[0x0020, 0xDBF0], RegisterType::Int32, WordOrder::ABCD),
            Some(2_153_456.0)
        );
        assert_eq!(
            decode_register(
                &[0, 0, 0x0001, 0x0000],
                RegisterType::Uint64,
                WordOrder::ABCD
            ),
            Some(65536.0)
        );
        assert_eq!(
            decode_register(&[1, 2], RegisterType::Uint16, WordOrder::ABCD),
            None
        );
    }
}
