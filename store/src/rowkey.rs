//! Row ids of chunks and roll-ups: a series and a two-hour block in one integer.
//!
//! A table keyed on the two columns keeps a second b-tree (its primary-key index) as large as
//! a fifth of the chunks' pages; with the pair as the row id there is one b-tree, in the same
//! order (series, then block), so a series' blocks in a range are one range of row ids.

use crate::samples::BLOCK_MS;

/// The block number (two-hour blocks since 1970) takes the low 32 bits, offset by 2³¹ so that
/// blocks before 1970 stay in them: ±490,000 years around 1970.
const BLOCK_BITS: u32 = 32;
const OFFSET: i64 = 1 << (BLOCK_BITS - 1);
const MASK: i64 = (1 << BLOCK_BITS) - 1;

/// SQL for the block number of the row id in column `$id` (a literal, for `concat!`): for
/// statements over every series' blocks before a time, compared with [`number`].
macro_rules! block_number {
    ($id:literal) => {
        concat!("((", $id, " & 4294967295) - 2147483648)")
    };
}
pub(crate) use block_number;

/// The number of the block holding `ts`, held to the range a row id holds (see [`block_number`]).
pub(crate) fn number(ts: i64) -> i64 {
    ts.div_euclid(BLOCK_MS).clamp(-OFFSET, OFFSET - 1)
}

/// A block's time outside the ±490,000 years a row id holds.
#[derive(Debug, thiserror::Error)]
#[error("a reading at {ts} ms since 1970 is outside the store's time range (±490,000 years)")]
pub(crate) struct OutOfRange {
    pub(crate) ts: i64,
}

/// The row id of series `series`'s chunk (or roll-up) of the block starting at `block`.
pub(crate) fn id(series: i64, block: i64) -> Result<i64, OutOfRange> {
    let n = block.div_euclid(BLOCK_MS);
    if !(-OFFSET..OFFSET).contains(&n) || !(0..1 << (63 - BLOCK_BITS)).contains(&series) {
        return Err(OutOfRange { ts: block });
    }
    Ok((series << BLOCK_BITS) | (n + OFFSET))
}

/// The row id of series `series`'s block starting at `block`, the block held to the range a row
/// id holds: the bound of a range of row ids, where a time beyond the range means "every block".
pub(crate) fn bound(series: i64, block: i64) -> i64 {
    (series << BLOCK_BITS) | (number(block) + OFFSET)
}

/// The series and block start of row id `id`.
pub(crate) fn parts(id: i64) -> (i64, i64) {
    (id >> BLOCK_BITS, ((id & MASK) - OFFSET) * BLOCK_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_by_series_then_block_and_give_both_back() {
        let blocks = [-3 * BLOCK_MS, -BLOCK_MS, 0, BLOCK_MS, 1_796_313_600_000];
        let mut last = i64::MIN;
        for series in [0, 1, 2, 1_000_000] {
            for &block in &blocks {
                let id = id(series, block).unwrap();
                assert!(id > last, "{series} {block}");
                last = id;
                assert_eq!(parts(id), (series, block));
            }
        }
    }

    #[test]
    fn sqlite_reads_the_block_number_as_rust_does() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (series, block) in [(1, -BLOCK_MS), (7, 0), (635, 1_796_313_600_000)] {
            let id = id(series, block).unwrap();
            let n: i64 = conn
                .query_row(concat!("SELECT ", block_number!("?1")), [id], |r| r.get(0))
                .unwrap();
            assert_eq!(n, number(block));
            assert_eq!(n * BLOCK_MS, parts(id).1);
        }
    }

    #[test]
    fn the_ends_of_time_are_refused_for_rows_and_held_for_bounds() {
        assert!(id(1, i64::MAX).is_err());
        assert!(id(1, i64::MIN).is_err());
        assert!(id(-1, 0).is_err());
        assert_eq!(bound(5, i64::MIN), 5 << 32);
        assert_eq!(bound(5, i64::MAX), (6 << 32) - 1);
        // Every block of the series lies between the two bounds.
        let inside = id(5, 1_796_313_600_000).unwrap();
        assert!(bound(5, i64::MIN) < inside && inside < bound(5, i64::MAX));
    }
}
