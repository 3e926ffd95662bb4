//! Register words from values: what a device sends, the inverse of the collector's decoding.

use super::{RegisterType, WordOrder};

impl RegisterType {
    /// The words a device sends for `v` in this type and `order`: the inverse of the
    /// collector's decoding (its round-trip property test, and the simulator's meters).
    pub fn encode(self, v: f64, order: WordOrder) -> Vec<u16> {
        let bytes: Vec<u8> = match self {
            RegisterType::Uint16 => (v as u16).to_be_bytes().to_vec(),
            RegisterType::Int16 => (v as i16).to_be_bytes().to_vec(),
            RegisterType::Uint32 | RegisterType::Acc32 => (v as u32).to_be_bytes().to_vec(),
            RegisterType::Int32 => (v as i32).to_be_bytes().to_vec(),
            RegisterType::Float32 => (v as f32).to_be_bytes().to_vec(),
            RegisterType::Uint64 => (v as u64).to_be_bytes().to_vec(),
            RegisterType::Int64 => (v as i64).to_be_bytes().to_vec(),
            RegisterType::Float64 => v.to_be_bytes().to_vec(),
        };
        let mut words: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        match order {
            WordOrder::ABCD => {}
            WordOrder::CDAB => words.reverse(),
            WordOrder::BADC => words.iter_mut().for_each(|w| *w = w.swap_bytes()),
            WordOrder::DCBA => {
                words.reverse();
                words.iter_mut().for_each(|w| *w = w.swap_bytes());
            }
        }
        words
    }
}
