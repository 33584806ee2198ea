//! Pulsar's hashes and Key_Shared selectors, pure and bit-exact.
//!
//!   key bytes ──murmur3_32 (seed 0) & 0x7fffffff──► % 65536 ──► slot ──selector──► consumer
//!   key (partitioned topic) ──Java String.hashCode & 0x7fffffff──► % partitions
//!
//! Sources: Pulsar's `Murmur3_32Hash` (MurmurHash3_x86_32, seed 0, masked to
//! a non-negative int), `StickyKeyConsumerSelector.DEFAULT_RANGE_SIZE`
//! (2^16), `Commands.peekStickyKey` (a keyless message hashes the bytes
//! `NONE_KEY`), `HashRangeAutoSplitStickyKeyConsumerSelector` (the largest
//! range, the lowest on a tie, is halved and the new consumer takes the
//! lower half; a leaving consumer's range goes to its right neighbour, the
//! top one's to its left), and the Java client's `JavaStringHash` with
//! `signSafeMod` for keyed partition routing. The murmur3 vectors in the
//! tests are MurmurHash3's published ones and the Pulsar docs' example
//! (`"Order-3459134"` → 3112179635 → slot 6067).
//!
//! Written here rather than taken from a crate: the engine needs the exact
//! Java-side masking and modulo, and no dependency for twenty lines.

use std::collections::BTreeMap;

/// The Key_Shared hash range size (`DEFAULT_RANGE_SIZE = 2 << 15`).
pub const RANGE_SIZE: u32 = 65_536;

/// MurmurHash3_x86_32 with seed 0, as an unsigned word.
pub fn murmur3_32(data: &[u8]) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h: u32 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k: u32 = 0;
        for (i, b) in tail.iter().enumerate() {
            k |= (*b as u32) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// A message's Key_Shared slot: `(murmur3_32(key) & Integer.MAX_VALUE) % 65536`;
/// a keyless message hashes `NONE_KEY`.
pub fn sticky_slot(key: Option<&str>) -> u32 {
    let bytes = key.map_or(b"NONE_KEY".as_slice(), str::as_bytes);
    (murmur3_32(bytes) & 0x7fff_ffff) % RANGE_SIZE
}

/// Java's `String.hashCode` (over UTF-16 code units), as an `int`.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32))
}

/// The partition of a keyed message on a topic of `n` partitions:
/// `signSafeMod(JavaStringHash(key) & Integer.MAX_VALUE, n)`.
pub fn partition_for_key(key: &str, n: u32) -> u32 {
    let h = (java_string_hash(key) & 0x7fff_ffff) as u32;
    h % n.max(1)
}

/// `HashRangeAutoSplitStickyKeyConsumerSelector`: upper bound (inclusive,
/// 1..=65536) → consumer; a consumer owns `(previous bound, its bound]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoSplit {
    bounds: BTreeMap<u32, u32>,
}

impl AutoSplit {
    /// Add consumer `c`; `false` when no range can be split any more.
    pub fn add(&mut self, c: u32) -> bool {
        if self.bounds.is_empty() {
            self.bounds.insert(RANGE_SIZE, c);
            return true;
        }
        // The biggest range, the lowest on a tie (a strict `>` while ascending).
        let (mut best, mut best_size, mut lower) = (0u32, 0u32, 0u32);
        for &b in self.bounds.keys() {
            if b - lower > best_size {
                best = b;
                best_size = b - lower;
            }
            lower = b;
        }
        if best_size <= 1 {
            return false;
        }
        let split = best - (best_size >> 1);
        self.bounds.insert(split, c);
        true
    }

    /// Remove consumer `c`: its range goes to the right neighbour, or, for
    /// the top range, to the left one.
    pub fn remove(&mut self, c: u32) {
        let Some((&b, _)) = self.bounds.iter().find(|(_, &o)| o == c) else {
            return;
        };
        self.bounds.remove(&b);
        if b == RANGE_SIZE {
            if let Some((&left, &owner)) = self.bounds.iter().next_back() {
                self.bounds.remove(&left);
                self.bounds.insert(RANGE_SIZE, owner);
            }
        }
    }

    /// The consumer owning `slot`, if any consumer is in.
    pub fn select(&self, slot: u32) -> Option<u32> {
        self.bounds.range(slot..).next().map(|(_, &c)| c)
    }

    /// Each consumer's ranges `[start, end]` (inclusive), in slot order: as
    /// `select` (Pulsar's `ceilingEntry`) routes, a bound belongs to the
    /// range it closes, so a consumer owns `(previous bound, its bound]`.
    pub fn ranges(&self) -> Vec<(u32, u32, u32)> {
        let mut lower = 0;
        let mut out = Vec::new();
        for (&b, &c) in &self.bounds {
            out.push((lower, b.min(RANGE_SIZE - 1), c));
            lower = b + 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_published_vectors_and_the_pulsar_docs_example() {
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"a"), 0x3c25_69b2);
        assert_eq!(murmur3_32(b"abc"), 0xb3dd_93fa);
        assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
        // concepts-messaging.md, Key_Shared auto-split: murmur32("Order-3459134")
        // = 3112179635, 3112179635 mod 65536 = 6067.
        assert_eq!(murmur3_32(b"Order-3459134"), 3_112_179_635);
        assert_eq!(sticky_slot(Some("Order-3459134")), 6067);
        assert_eq!(sticky_slot(Some("key-1")), 5536);
        assert_eq!(sticky_slot(Some("key-0")), 63679);
        assert_eq!(sticky_slot(Some("a")), 27058);
    }

    #[test]
    fn java_string_hash_is_javas() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Overflows to a negative int in Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for_key("polygenelubricants", 7), 0);
        assert_eq!(partition_for_key("hello", 4), 99_162_322 % 4);
    }

    #[test]
    fn auto_split_follows_the_documented_sequence() {
        let mut s = AutoSplit::default();
        for c in 0..4 {
            assert!(s.add(c));
        }
        // C1 → {65536}; C2 → {32768, 65536}; C3 splits the lowest of the tie
        // → {16384, ...}; C4 splits (32768, 65536] at 49152.
        assert_eq!(
            s.ranges(),
            vec![
                (0, 16384, 2),
                (16385, 32768, 1),
                (32769, 49152, 3),
                (49153, 65535, 0)
            ]
        );
        // The ranges say what `select` does, at both ends of every range.
        for (lo, hi, c) in s.ranges() {
            assert_eq!(
                (s.select(lo), s.select(hi)),
                (Some(c), Some(c)),
                "[{lo}, {hi}]"
            );
        }
        assert_eq!(s.select(6067), Some(2));
        assert_eq!(s.select(65535), Some(0));
        // Leaving: merged into the right neighbour; the top range goes left.
        s.remove(1);
        assert_eq!(s.select(20000), Some(3));
        s.remove(0);
        assert_eq!(s.select(65535), Some(3));
        assert_eq!(s.ranges(), vec![(0, 16384, 2), (16385, 65535, 3)]);
        s.remove(2);
        s.remove(3);
        assert_eq!(s.select(0), None);
    }
}
