//! Which of the inventory's devices this collector polls: those of its `collector.sites`, and
//! of those, with `collector.peers`, the share rendezvous hashing gives it.
//!
//! Rendezvous (highest random weight) hashing: each device goes to the peer with the highest
//! hash of (peer, device). Adding a peer moves to it only the devices it now wins; removing one
//! spreads only its devices over the others. Every peer computes the same answer on its own, so
//! the split needs no coordination. SHA-256 is used because its output is the same on every
//! machine and every version of Rust (std's hasher promises neither).

use kilowatch_core::config::{CollectorConfig, Config, Device};
use sha2::{Digest, Sha256};

/// The peer that polls `device`, or `None` with no peers.
pub fn owner<'p>(peers: &'p [String], device: &str) -> Option<&'p str> {
    peers
        .iter()
        .max_by_key(|p| (weight(p, device), p.as_str()))
        .map(String::as_str)
}

fn weight(peer: &str, device: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(peer.as_bytes());
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    h.update([0]);
    h.update(device.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("SHA-256 gives 32 bytes"))
}

/// Whether this collector polls `d`.
pub fn polls(collector: &CollectorConfig, d: &Device) -> bool {
    (collector.sites.is_empty() || collector.sites.contains(&d.site))
        && owner(&collector.peers, &d.id).is_none_or(|o| o == collector.name)
}

/// Keeps only this collector's devices in `config` (and its sites' rules then see only them),
/// returning how many were left to the others.
pub fn keep_mine(config: &mut Config) -> usize {
    let before = config.devices.len();
    let collector = config.collector.clone();
    config.devices.retain(|d| polls(&collector, d));
    before - config.devices.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("collector-{i}")).collect()
    }

    fn devices(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("dc07-pdu-{i:05}")).collect()
    }

    #[test]
    fn adding_a_peer_moves_only_its_share_and_only_to_it() {
        let ids = devices(10_000);
        let three = peers(3);
        let four = peers(4);
        let mut moved = 0;
        for id in &ids {
            let (a, b) = (owner(&three, id).unwrap(), owner(&four, id).unwrap());
            if a != b {
                assert_eq!(b, "collector-3", "{id} moved between old peers");
                moved += 1;
            }
        }
        // A quarter in expectation; 10,000 draws put it within ±1.5 points (over 3 sigma).
        let share = moved as f64 / ids.len() as f64;
        assert!((0.235..0.265).contains(&share), "moved {share}");
    }

    #[test]
    fn removing_a_peer_moves_only_its_devices() {
        let ids = devices(10_000);
        let four = peers(4);
        let three = peers(3);
        for id in &ids {
            let (a, b) = (owner(&four, id).unwrap(), owner(&three, id).unwrap());
            if a != "collector-3" {
                assert_eq!(a, b, "{id} moved though its collector stayed");
            }
        }
    }

    #[test]
    fn shares_are_even_and_the_answer_is_the_same_for_every_order_of_peers() {
        let ids = devices(9_000);
        let p = peers(3);
        let mut reversed = p.clone();
        reversed.reverse();
        let mut counts = [0usize; 3];
        for id in &ids {
            let o = owner(&p, id).unwrap();
            assert_eq!(Some(o), owner(&reversed, id));
            counts[p.iter().position(|x| x == o).unwrap()] += 1;
        }
        for c in counts {
            assert!((2_800..3_200).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn the_weight_is_fixed_across_builds() {
        // First 8 bytes of SHA-256("a\0b") (`printf 'a\0b' | sha256sum`): a change of hash
        // would reshuffle every estate's devices at an upgrade, so it is pinned.
        assert_eq!(weight("a", "b"), 0x59b2_71ae_1bbc_b1d3);
    }
}
