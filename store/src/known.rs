//! What the writer remembers of the series and devices it has written, so a write queries and
//! allocates nothing for them again.
//!
//! At 10,000 devices that is 230,000 series-and-field pairs, so the layout is chosen for size:
//! one `Vec` of 32-byte states, and two hash tables holding only a 4-byte index into it (about
//! 45 bytes a series in all, where maps keyed by `Arc` and address took 130).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Arc;

use hashbrown::HashTable;
use kilowatch_core::model::{Field, Series, Timestamp};

#[derive(Debug, Clone)]
pub(crate) struct SeriesState {
    /// The `Arc` this series was last written with: held, so its address cannot be reused by
    /// another series while `by_address` points at it.
    series: Arc<Series>,
    field: Field,
    pub id: i64,
    /// The newest time stored: a later one cannot be a repeat, so needs no look-up.
    pub newest: Timestamp,
    /// The device whose polls last carried it (recorded in `series_device`); `u32` keeps a
    /// state to 32 bytes, and an id beyond it is [`NO_DEVICE`], which is only re-recorded.
    device: u32,
}

const NO_DEVICE: u32 = u32::MAX;

impl SeriesState {
    /// Whether `device` was the last device to carry this series.
    pub fn carried_by(&self, device: i64) -> bool {
        self.device != NO_DEVICE && i64::from(self.device) == device
    }

    pub fn set_device(&mut self, device: i64) {
        self.device = u32::try_from(device).unwrap_or(NO_DEVICE);
    }
}

#[derive(Debug, Default)]
pub(crate) struct Known {
    states: Vec<SeriesState>,
    /// By the address of the held `Arc`, and field: the collector reuses its `Arc`s for every
    /// poll, so a sample costs one probe and no tag comparison (comparing keys missed the cache
    /// three times a sample at 200,000 series).
    by_address: HashTable<u32>,
    /// By measurement, tags and field: a series met in a new `Arc` (a reloaded plan, an import).
    by_series: HashTable<u32>,
    tags_hasher: RandomState,
    /// By series id, kept only while an outbox is on ([`Known::index_ids`]): the outbox names
    /// readings by id, and a sink needs their series back. Without a sink it would be 1.3 MB of
    /// nothing at 10,000 devices; a series it misses is named from the catalogue instead.
    by_id: Option<HashTable<u32>>,
    pub devices: HashMap<String, i64>,
}

fn address(series: &Arc<Series>) -> usize {
    Arc::as_ptr(series) as usize
}

fn address_hash(address: usize, field: Field) -> u64 {
    BuildHasherDefault::<AddressHasher>::default().hash_one((address, field))
}

impl Known {
    /// The index of a sample's series, if this process has written it before.
    pub fn find(&mut self, series: &Arc<Series>, field: Field) -> Option<usize> {
        let states = &mut self.states;
        let at = address(series);
        let found = self.by_address.find(address_hash(at, field), |&i| {
            let s = &states[i as usize];
            address(&s.series) == at && s.field == field
        });
        if let Some(&i) = found {
            return Some(i as usize);
        }
        let hash = tags_hash(&self.tags_hasher, series, field);
        let &i = self.by_series.find(hash, |&i| {
            let s = &states[i as usize];
            s.field == field && *s.series == **series
        })?;
        // Hold the new `Arc` instead, so the next write finds it by address.
        let state = &mut states[i as usize];
        if let Ok(old) = self
            .by_address
            .find_entry(state.address_hash(), |&j| j == i)
        {
            old.remove();
        }
        state.series = series.clone();
        self.by_address
            .insert_unique(address_hash(at, field), i, |&j| {
                states[j as usize].address_hash()
            });
        Some(i as usize)
    }

    /// Remembers a series met for the first time; returns its index.
    pub fn insert(
        &mut self,
        series: &Arc<Series>,
        field: Field,
        id: i64,
        newest: Timestamp,
        device: i64,
    ) -> usize {
        let i = self.states.len();
        let index = u32::try_from(i).expect("fewer than 4 billion series");
        let mut state = SeriesState {
            series: series.clone(),
            field,
            id,
            newest,
            device: NO_DEVICE,
        };
        state.set_device(device);
        if self.states.len() == self.states.capacity() {
            // Grown by an eighth, not doubled: a collector sized this list for its polls, and a
            // few series more (its own health with an InfluxDB sink) doubled 7 MB at 10,000
            // devices, leaving the old copy behind in the heap.
            self.states.reserve_exact(self.states.len() / 8 + 16);
        }
        self.states.push(state);
        let (states, hasher) = (&self.states, &self.tags_hasher);
        self.by_address
            .insert_unique(address_hash(address(series), field), index, |&j| {
                states[j as usize].address_hash()
            });
        self.by_series
            .insert_unique(tags_hash(hasher, series, field), index, |&j| {
                states[j as usize].tags_hash(hasher)
            });
        if let Some(by_id) = &mut self.by_id {
            by_id.insert_unique(id_hash(id), index, |&j| id_hash(states[j as usize].id));
        }
        i
    }

    /// Starts keeping series by id (an outbox was turned on), indexing those already known.
    pub fn index_ids(&mut self) {
        if self.by_id.is_some() {
            return;
        }
        let states = &self.states;
        let mut by_id = HashTable::with_capacity(states.capacity());
        for (i, s) in states.iter().enumerate() {
            by_id.insert_unique(id_hash(s.id), i as u32, |&j: &u32| {
                id_hash(states[j as usize].id)
            });
        }
        self.by_id = Some(by_id);
    }

    /// The series and field stored under `id`, if this process has written it.
    pub fn by_id(&self, id: i64) -> Option<(&Arc<Series>, Field)> {
        let states = &self.states;
        let &i = self
            .by_id
            .as_ref()?
            .find(id_hash(id), |&i| states[i as usize].id == id)?;
        let s = &states[i as usize];
        Some((&s.series, s.field))
    }

    /// Room for `more` series and fields beyond those known, so the tables do not grow (and, on
    /// glibc, leave their old copies behind as resident holes) while thousands of devices make
    /// their first polls.
    pub fn reserve(&mut self, more: usize) {
        self.states.reserve_exact(more);
        let (states, hasher) = (&self.states, &self.tags_hasher);
        self.by_address
            .reserve(more, |&j| states[j as usize].address_hash());
        self.by_series
            .reserve(more, |&j| states[j as usize].tags_hash(hasher));
        if let Some(by_id) = &mut self.by_id {
            by_id.reserve(more, |&j| id_hash(states[j as usize].id));
        }
    }

    pub fn state(&mut self, i: usize) -> &mut SeriesState {
        &mut self.states[i]
    }
}

fn id_hash(id: i64) -> u64 {
    BuildHasherDefault::<AddressHasher>::default().hash_one(id)
}

fn tags_hash(hasher: &RandomState, series: &Series, field: Field) -> u64 {
    hasher.hash_one((series, field))
}

impl SeriesState {
    /// Its key's hash in `by_address`: the address of the `Arc` it holds.
    fn address_hash(&self) -> u64 {
        address_hash(address(&self.series), self.field)
    }

    /// Its key's hash in `by_series`: the series' tags and the field.
    fn tags_hash(&self, hasher: &RandomState) -> u64 {
        tags_hash(hasher, &self.series, self.field)
    }
}

/// Hashes an address and a field: a multiply spreads the address's bits (they are aligned, and
/// neighbours differ little); SipHash's resistance to chosen keys buys nothing for addresses.
#[derive(Debug, Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::model::Measurement;

    fn series(device: &str) -> Arc<Series> {
        Arc::new(Series::new(
            Measurement::Power,
            vec![("device", device.to_owned())],
        ))
    }

    #[test]
    fn finds_a_series_by_its_id_once_asked_to() {
        let mut known = Known::default();
        let a = series("a");
        known.insert(&a, Field::PowerW, 10, 0, 1);
        assert!(
            known.by_id(10).is_none(),
            "ids are kept only with an outbox"
        );
        known.index_ids();
        assert_eq!(known.by_id(10).unwrap().1, Field::PowerW);
        known.insert(&a, Field::VoltageV, 12, 0, 1);
        let (s, f) = known.by_id(12).unwrap();
        assert_eq!((s.tag("device"), f), (Some("a"), Field::VoltageV));
        assert!(known.by_id(11).is_none());
    }

    #[test]
    fn finds_a_series_by_its_arc_by_an_equal_one_and_by_field() {
        let mut known = Known::default();
        let a = series("a");
        let b = series("b");
        let ia = known.insert(&a, Field::PowerW, 10, 0, 1);
        let ib = known.insert(&b, Field::PowerW, 11, 0, 1);
        let ia_v = known.insert(&a, Field::VoltageV, 12, 0, 1);
        assert_eq!(known.find(&a, Field::PowerW), Some(ia));
        assert_eq!(known.find(&b, Field::PowerW), Some(ib));
        assert_eq!(known.find(&a, Field::VoltageV), Some(ia_v));
        assert_eq!(known.find(&a, Field::CurrentA), None);
        assert_eq!(known.find(&series("c"), Field::PowerW), None);
        // A new `Arc` of the same series finds the same state, and is then held: the old one can
        // be dropped and its address reused without finding anything.
        let a2 = series("a");
        assert_eq!(known.find(&a2, Field::PowerW), Some(ia));
        assert_eq!(known.state(ia).id, 10);
        drop(a);
        for n in 0..1000 {
            let other = series(&format!("x{n}"));
            assert_eq!(known.find(&other, Field::PowerW), None);
        }
        assert_eq!(known.find(&a2, Field::PowerW), Some(ia));
        assert_eq!(known.find(&a2, Field::VoltageV), Some(ia_v));
    }

    #[test]
    fn a_state_stays_small() {
        // One per series and field: 230,000 at 10,000 devices.
        assert_eq!(std::mem::size_of::<SeriesState>(), 32);
    }

    #[test]
    fn a_device_id_beyond_u32_is_recorded_again_not_confused() {
        let mut known = Known::default();
        let a = series("a");
        let i = known.insert(&a, Field::PowerW, 1, 0, 1 << 40);
        assert!(!known.state(i).carried_by(1 << 40));
        assert!(!known.state(i).carried_by(u32::MAX.into()));
        known.state(i).set_device(7);
        assert!(known.state(i).carried_by(7));
    }

    #[test]
    fn reserving_keeps_what_is_known_and_makes_room() {
        let mut known = Known::default();
        let a = series("a");
        let i = known.insert(&a, Field::PowerW, 5, 0, 1);
        known.reserve(10_000);
        assert!(known.states.capacity() >= 10_001);
        assert_eq!(known.find(&a, Field::PowerW), Some(i));
        assert_eq!(known.find(&series("a"), Field::PowerW), Some(i));
    }

    #[test]
    fn many_series_survive_the_tables_growing() {
        let mut known = Known::default();
        let all: Vec<Arc<Series>> = (0..5000).map(|n| series(&format!("d{n}"))).collect();
        for (n, s) in all.iter().enumerate() {
            assert_eq!(known.insert(s, Field::PowerW, n as i64, 0, 1), n);
        }
        for (n, s) in all.iter().enumerate() {
            assert_eq!(known.find(s, Field::PowerW), Some(n));
            assert_eq!(
                known.find(&series(&format!("d{n}")), Field::PowerW),
                Some(n)
            );
        }
    }
}
