//! A partition log's record, packed into 32 bytes.
//!
//!   Record { offset, msg, published_us, key, packed: [appended − published : 25 | flags : 7] }
//!                                                     └─ all ones: too late to fit ──► PartitionLog::late_appends
//!
//! A log keeps every record until retention or compaction removes it (the
//! `kafka-keys-ordering` preset keeps all of them), so a record's size is
//! most of a long Kafka run's memory: 40 bytes with the append time and the
//! six flags as fields of their own, 32 packed. The append time is kept as
//! its distance from the publish time in 25 bits (up to about 33 s, far more
//! than a producer's linger and latency); a record appended later than that
//! (a retried or moved record that waited long) has the escape value and its
//! exact time in its partition's `late_appends`, so nothing is rounded.

use crate::engine::message::Sym;
use std::collections::BTreeMap;

const TOMBSTONE: u32 = 1;
const ACKS_ONE: u32 = 1 << 1;
const MARKER: u32 = 1 << 2;
/// Two bits of transaction state (`transactions::TXN_*`, 0..=3).
const TXN_SHIFT: u32 = 3;
const TXN_MASK: u32 = 0b11 << TXN_SHIFT;
/// A copy of a record appended before: a non-idempotent producer's retry.
const DUPLICATE: u32 = 1 << 5;
/// Sent with `acks=0`: nobody acknowledged it, so a truncation loses it
/// unnoticed (`unacked_lost`).
const ACKS_ZERO: u32 = 1 << 6;
const FLAG_BITS: u32 = 7;
/// The escape value of the append distance: the time is in `late_appends`.
const APPENDED_LATE: u32 = u32::MAX >> FLAG_BITS;

/// One record in a partition.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record {
    pub(crate) offset: u64,
    /// Trace id of the record (shared id space with messages).
    pub(crate) msg: u64,
    pub(crate) published_us: u64,
    pub(crate) key: Sym,
    /// Flags in the low `FLAG_BITS`, the append distance [µs] above them.
    packed: u32,
}

impl Record {
    /// A record not yet appended (offset and append time are set by the log).
    pub(crate) fn new(key: Sym, msg: u64, published_us: u64, tombstone: bool) -> Self {
        Record {
            offset: 0,
            msg,
            published_us,
            key,
            packed: if tombstone { TOMBSTONE } else { 0 },
        }
    }

    /// A transaction marker (control record): takes an offset, never
    /// returned to a reader.
    pub(crate) fn marker(msg: u64, published_us: u64) -> Self {
        Record {
            packed: MARKER,
            ..Record::new(crate::engine::message::NO_SYM, msg, published_us, false)
        }
    }

    /// A null value: compaction deletes the key (after `delete_retention`).
    #[inline]
    pub(crate) fn tombstone(&self) -> bool {
        self.packed & TOMBSTONE != 0
    }

    /// Written with `acks=1`: acknowledged as soon as the leader appended it
    /// (so a leader crash before replication loses an acknowledged record).
    #[inline]
    pub(crate) fn acks_one(&self) -> bool {
        self.packed & ACKS_ONE != 0
    }

    pub(crate) fn set_acks_one(&mut self, on: bool) {
        self.packed = (self.packed & !ACKS_ONE) | if on { ACKS_ONE } else { 0 };
    }

    /// Sent with `acks=0` (no answer, no retry).
    #[inline]
    pub(crate) fn acks_zero(&self) -> bool {
        self.packed & ACKS_ZERO != 0
    }

    pub(crate) fn set_acks_zero(&mut self, on: bool) {
        self.packed = (self.packed & !ACKS_ZERO) | if on { ACKS_ZERO } else { 0 };
    }

    /// Appended again by a producer's retry (a non-idempotent producer whose
    /// answer was lost): the same message as an earlier offset.
    #[inline]
    pub(crate) fn is_duplicate(&self) -> bool {
        self.packed & DUPLICATE != 0
    }

    pub(crate) fn set_duplicate(&mut self) {
        self.packed |= DUPLICATE;
    }

    /// A transaction marker (see `Record::marker`).
    #[inline]
    pub(crate) fn is_marker(&self) -> bool {
        self.packed & MARKER != 0
    }

    /// Transaction state (`transactions::TXN_*`): none, open, committed, aborted.
    #[inline]
    pub(crate) fn txn(&self) -> u8 {
        ((self.packed & TXN_MASK) >> TXN_SHIFT) as u8
    }

    pub(crate) fn set_txn(&mut self, txn: u8) {
        debug_assert!(txn <= 3, "two bits of transaction state");
        self.packed = (self.packed & !TXN_MASK) | ((txn as u32 & 0b11) << TXN_SHIFT);
    }

    /// Was the append time too far from the publish time to pack?
    #[inline]
    fn appended_late(&self) -> bool {
        self.packed >> FLAG_BITS == APPENDED_LATE
    }
}

/// Exact append times of the records whose time did not pack, by offset.
#[derive(Clone, Debug, Default)]
pub(crate) struct LateAppends(BTreeMap<u64, u64>);

impl LateAppends {
    /// Set `r`'s append time (its offset is final).
    #[inline]
    pub(crate) fn set(&mut self, r: &mut Record, appended_us: u64) {
        let after_us = appended_us.wrapping_sub(r.published_us);
        let flags = r.packed & ((1 << FLAG_BITS) - 1);
        if appended_us >= r.published_us && after_us < APPENDED_LATE as u64 {
            r.packed = flags | (after_us as u32) << FLAG_BITS;
            if !self.0.is_empty() {
                // An offset reused after a truncation drops a stale entry.
                self.0.remove(&r.offset);
            }
        } else {
            r.packed = flags | APPENDED_LATE << FLAG_BITS;
            self.0.insert(r.offset, appended_us);
        }
    }

    /// When `r` (a record of this partition) was appended.
    #[inline]
    pub(crate) fn appended_us(&self, r: &Record) -> u64 {
        if r.appended_late() {
            self.0[&r.offset]
        } else {
            r.published_us + (r.packed >> FLAG_BITS) as u64
        }
    }

    /// Forget the entries below `start` (retention moved the log start).
    pub(crate) fn drop_below(&mut self, start: u64) {
        if !self.0.is_empty() {
            self.0 = self.0.split_off(&start);
        }
    }

    /// Keep only the entries `keep` says are still in the log (compaction).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        self.0.retain(|&offset, _| keep(offset));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A partition's record times (the append time is unpacked here).
impl super::topic::PartitionLog {
    /// When record `r` of this partition was appended.
    #[inline]
    pub(crate) fn appended_us(&self, r: &Record) -> u64 {
        self.late_appends.appended_us(r)
    }

    /// Record `r`'s timestamp: its producer's create time, or in a retry or
    /// dead-letter topic (`recovery_target`), whose records the recoverer
    /// produces anew (Spring's `DeadLetterPublishingRecoverer` sets no
    /// timestamp: the send time), its append time. Retention and seeks by
    /// timestamp compare this.
    #[inline]
    pub(crate) fn timestamp_us(&self, r: &Record, recovery_target: bool) -> u64 {
        if recovery_target {
            self.appended_us(r)
        } else {
            r.published_us
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Record>(), 32);
    }

    #[test]
    fn flags_and_append_times_round_trip() {
        let mut late = LateAppends::default();
        let mut r = Record::new(7, 1, 1_000, true);
        r.offset = 5;
        r.set_txn(3);
        r.set_acks_one(true);
        for appended in [1_000, 1_001, 1_000 + APPENDED_LATE as u64 - 1] {
            late.set(&mut r, appended);
            assert_eq!(late.appended_us(&r), appended);
            assert!(late.is_empty());
        }
        for appended in [1_000 + APPENDED_LATE as u64, u64::MAX, 999] {
            late.set(&mut r, appended);
            assert_eq!(late.appended_us(&r), appended);
        }
        assert!(r.tombstone() && r.acks_one() && !r.is_marker() && r.txn() == 3);
        r.set_acks_one(false);
        r.set_txn(1);
        assert!(r.tombstone() && !r.acks_one() && r.txn() == 1);
        late.set(&mut r, 1_002);
        assert!(late.is_empty(), "a packed time drops the offset's entry");
        assert!(Record::marker(2, 0).is_marker());
        assert!(!r.is_duplicate());
        r.set_duplicate();
        assert!(r.is_duplicate() && r.tombstone() && r.txn() == 1);
        r.set_acks_zero(true);
        late.set(&mut r, 1_003);
        assert!(
            r.is_duplicate() && r.acks_zero(),
            "an append time keeps the flags"
        );
        r.set_acks_zero(false);
        assert!(!r.acks_zero() && r.is_duplicate() && r.tombstone());
    }
}
