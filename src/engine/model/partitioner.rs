//! The Kafka producer's partitioner: which partition a record goes to.
//!
//!   record ──explicit partition?──► it
//!          ──key present?─────────► toPositive(murmur2(key bytes)) % partitions
//!          ──null key─────────────► sticky partition (kept for a batch, then a new one)
//!          ──partitioner: round_robin► next partition in turn (keys ignored)
//!
//! Pure functions plus a tiny state struct; no events, no engine access.
//!
//! Facts (not code) from Apache Kafka, `clients/src/main/java/org/apache/kafka/
//! common/utils/Utils.java` (`murmur2`, `toPositive`) and `clients/.../producer/
//! internals/BuiltInPartitioner.java` (`partitionForKey`): the hash is murmur2 with
//! seed 0x9747b28c, m = 0x5bd1e995, r = 24, little-endian 4-byte blocks, a
//! fall-through tail, then `h ^= h >>> 13; h *= m; h ^= h >>> 15`, all in 32-bit
//! wrapping arithmetic; the partition is `(h & 0x7fffffff) % numPartitions`
//! (not `abs`, which would differ for negative hashes and overflow on i32::MIN).
//!
//! Null keys: Kafka 2.4–3.2 (`StickyPartitionCache.nextPartition`) sticks to a
//! partition until a new batch is needed, then picks a uniformly random *other*
//! available partition; Kafka 3.3+ (`BuiltInPartitioner`, KIP-794) switches after
//! `batch.size` bytes went to the partition and picks uniformly at random (the
//! same one possible), or weighted by broker queue sizes when adaptive
//! partitioning has load statistics. Here: switch after `batch_size` records
//! (3.3+'s trigger, counted in records) to a uniformly random other partition
//! (2.4–3.2's choice). No broker load feeds the choice. As 3.3+'s
//! `RecordAccumulator` does (`allBatchesFull`, `partitionChanged`), the switch
//! waits while the partition's open batch is not full, so a linger that
//! sends a part-filled batch does not leave a small remainder behind: it
//! comes at the record that fills the batch, or at the next record once that
//! batch is gone, and at the latest after twice `batch_size` records.

use crate::engine::prng::Stream;

/// Kafka's murmur2 over `data`, as a Java `int` (bit-exact).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let blocks = len / 4;
    for i in 0..blocks {
        let b = &data[i * 4..i * 4 + 4];
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = &data[blocks * 4..];
    // The Java switch falls through: 3 mixes in byte 2, then 1, then 0.
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clear the sign bit (`& 0x7fffffff`).
pub fn to_positive(x: i32) -> u32 {
    (x & 0x7fff_ffff) as u32
}

/// The default partitioner's choice for a keyed record (`partitionForKey`).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    to_positive(murmur2(key)) % partitions.max(1)
}

/// Per-producer partitioner state for one topic.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartitionerState {
    /// The sticky partition for null keys, and records sent to it since chosen.
    pub(crate) sticky: Option<u32>,
    pub(crate) sticky_count: u32,
    /// Enough went to the sticky partition: the next null-key record draws
    /// a new one (drawn then, so the stream is read in the same order as
    /// when every batch is full).
    pub(crate) switch_due: bool,
    /// Next counter value of the round-robin partitioner.
    pub(crate) rr_counter: u32,
}

impl PartitionerState {
    /// Kafka's `RoundRobinPartitioner`: `toPositive(counter++)` modulo the
    /// partitions with a leader (`available`, ascending; `None`: all of
    /// them), picking from that list.
    pub(crate) fn round_robin(&mut self, partitions: u32, available: Option<&[u32]>) -> u32 {
        let c = to_positive(self.rr_counter as i32);
        self.rr_counter = self.rr_counter.wrapping_add(1);
        match available {
            Some(list) if !list.is_empty() => list[(c % list.len() as u32) as usize],
            _ => c % partitions.max(1),
        }
    }

    /// The sticky partition for a null-key record. `open_unfull(p)`: does
    /// partition `p` have an open batch that is not full? The next partition
    /// is drawn uniformly among the partitions with a leader (`available`,
    /// ascending; `None`: all), other than the old one (Kafka 2.4–3.2's
    /// `StickyPartitionCache.nextPartition`). Call `after_append` once the
    /// record is in its batch.
    pub(crate) fn sticky(
        &mut self,
        partitions: u32,
        batch_size: u32,
        stream: &mut Stream,
        available: Option<&[u32]>,
        open_unfull: impl Fn(u32) -> bool,
    ) -> u32 {
        let partitions = partitions.max(1);
        // A switch held back by an unfull batch happens once that batch is
        // full or sent (`partitionChanged`).
        if let Some(p) = self.sticky {
            if !self.switch_due && self.sticky_count >= batch_size.max(1) && !open_unfull(p) {
                self.switch_due = true;
            }
        }
        let p = match self.sticky {
            Some(p) if p < partitions && !self.switch_due => p,
            prev => {
                self.sticky_count = 0;
                self.switch_due = false;
                let next = match available {
                    None => match prev {
                        Some(old) if partitions > 1 && old < partitions => {
                            // A uniformly random partition other than the old one.
                            let r = stream.below(partitions as u64 - 1) as u32;
                            if r >= old {
                                r + 1
                            } else {
                                r
                            }
                        }
                        _ => stream.below(partitions as u64) as u32,
                    },
                    Some(list) => {
                        // Among the available ones, skipping the old one if listed.
                        let old_at = prev.and_then(|old| list.iter().position(|&x| x == old));
                        match old_at {
                            _ if list.len() == 1 => list[0],
                            Some(at) => {
                                let r = stream.below(list.len() as u64 - 1) as usize;
                                list[if r >= at { r + 1 } else { r }]
                            }
                            None => list[stream.below(list.len() as u64) as usize],
                        }
                    }
                };
                self.sticky = Some(next);
                next
            }
        };
        self.sticky_count += 1;
        p
    }

    /// A null-key record went into the sticky partition's batch;
    /// `open_unfull`: that batch is still open and not full. Kafka's
    /// `updatePartitionInfo`: switch once `batch_size` records went to the
    /// partition and its batches are full, or after twice that regardless.
    pub(crate) fn after_append(&mut self, batch_size: u32, open_unfull: bool) {
        let batch_size = batch_size.max(1);
        if (self.sticky_count >= batch_size && !open_unfull)
            || self.sticky_count >= batch_size.saturating_mul(2)
        {
            self.switch_due = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of Kafka's own `UtilsTest.testMurmur2`
    /// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    #[test]
    fn murmur2_matches_kafka_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{:?}", std::str::from_utf8(data));
        }
    }

    #[test]
    fn to_positive_masks_the_sign_bit_unlike_abs() {
        assert_eq!(to_positive(-1), 0x7fff_ffff);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(
            to_positive(-973932308),
            (-973932308i32 & 0x7fff_ffff) as u32
        );
        // abs would give 973932308, a different partition for most counts.
        assert_ne!(to_positive(-973932308), 973932308);
    }

    #[test]
    fn keyed_partition_is_masked_hash_modulo() {
        // "foobar" hashes to -790332482; & 0x7fffffff = 1357151166.
        assert_eq!(to_positive(-790332482), 1357151166);
        assert_eq!(partition_for_key(b"foobar", 12), 1357151166 % 12);
        assert_eq!(partition_for_key(b"foobar", 1), 0);
    }

    #[test]
    fn round_robin_cycles() {
        let mut s = PartitionerState::default();
        let got: Vec<u32> = (0..7).map(|_| s.round_robin(3, None)).collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2, 0]);
    }

    /// One null-key record through the sticky partitioner, each batch sent
    /// as soon as it is chosen (no linger: no batch is ever left open).
    fn pick(
        s: &mut PartitionerState,
        n: u32,
        batch: u32,
        st: &mut Stream,
        up: Option<&[u32]>,
    ) -> u32 {
        let p = s.sticky(n, batch, st, up, |_| false);
        s.after_append(batch, false);
        p
    }

    #[test]
    fn a_switch_waits_for_the_open_batch_to_fill_as_in_kafka_3_3() {
        // KIP-794's example in `BuiltInPartitioner.updatePartitionInfo`:
        // batch 16, the first batch sent part-full by linger at 12; the
        // next 4 records reach 16 but their batch is open, so no switch
        // until it is full (28) or sent; twice 16 switches regardless.
        let mut st = Stream::new(7, "t");
        let mut s = PartitionerState::default();
        let first = s.sticky(4, 16, &mut st, None, |_| false);
        for k in 1..28 {
            s.after_append(16, true);
            // At record 12 the linger sends the batch: the next one opens.
            assert_eq!(
                s.sticky(4, 16, &mut st, None, |_| k != 12),
                first,
                "record {k}"
            );
        }
        s.after_append(16, false); // the 28th record filled the batch
        assert_ne!(s.sticky(4, 16, &mut st, None, |_| false), first);

        // Never full (a batch sent at every other record is not this
        // case: here one batch stays open): 32 records, then a switch.
        let mut s = PartitionerState::default();
        let first = s.sticky(4, 16, &mut st, None, |_| true);
        for _ in 1..32 {
            s.after_append(16, true);
            assert_eq!(s.sticky(4, 16, &mut st, None, |_| true), first);
        }
        s.after_append(16, true);
        assert_ne!(s.sticky(4, 16, &mut st, None, |_| true), first);

        // A switch held back at the 16th record happens at the next record
        // once the open batch has gone (`partitionChanged`).
        let mut s = PartitionerState::default();
        let first = s.sticky(4, 16, &mut st, None, |_| false);
        for _ in 1..16 {
            s.after_append(16, true);
            assert_eq!(s.sticky(4, 16, &mut st, None, |_| true), first);
        }
        s.after_append(16, true);
        assert_ne!(s.sticky(4, 16, &mut st, None, |_| false), first);
    }

    #[test]
    fn sticky_keeps_a_partition_for_a_batch_then_moves() {
        let mut st = Stream::new(7, "t");
        let mut s = PartitionerState::default();
        let first: Vec<u32> = (0..4).map(|_| pick(&mut s, 6, 4, &mut st, None)).collect();
        assert!(first.iter().all(|&p| p == first[0]));
        let next = pick(&mut s, 6, 4, &mut st, None);
        assert_ne!(next, first[0], "a new batch goes elsewhere");
        let counts = (0..4000).fold([0u32; 6], |mut c, _| {
            c[pick(&mut s, 6, 4, &mut st, None) as usize] += 1;
            c
        });
        assert!(
            counts.iter().all(|&n| n > 400),
            "spread over time: {counts:?}"
        );
    }

    #[test]
    fn key_less_partitioners_skip_partitions_without_a_leader() {
        // Partition 1 of 3 has no leader: Kafka picks from the available
        // list [0, 2] (`availablePartitionsForTopic`).
        let up: &[u32] = &[0, 2];
        let mut s = PartitionerState::default();
        let got: Vec<u32> = (0..5).map(|_| s.round_robin(3, Some(up))).collect();
        assert_eq!(got, [0, 2, 0, 2, 0]);
        let mut st = Stream::new(7, "t");
        let mut s = PartitionerState::default();
        for _ in 0..400 {
            assert_ne!(pick(&mut s, 3, 2, &mut st, Some(up)), 1);
        }
        // One available partition: once the current batch (2 records) is
        // full, every new batch goes there.
        let picks: Vec<u32> = (0..10)
            .map(|_| pick(&mut s, 3, 2, &mut st, Some(&[2])))
            .collect();
        assert!(picks[2..].iter().all(|&p| p == 2), "{picks:?}");
    }
}
