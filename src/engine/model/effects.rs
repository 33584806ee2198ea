//! The ledger of business effects: per business message, how many times the
//! handler of each consumer queue did its side effect (think: charged a card).
//!
//!   producer send ──fx_begin──► entry (business id = the first message's id)
//!   copy / handler publish / resend ──fx_share──► same entry, one more reference
//!   enqueue in a queue with consumers ──fx_reached──► an expected effect there
//!   handler success ──fx_effect──► effects += 1 (unless a dedup store skipped it)
//!   last reference gone ──finalize──► exactly once | duplicated | lost, then forgotten
//!
//! Definitions. A business message is what a producer published once (its
//! resends, network duplicates, routing copies, redeliveries and the message
//! a handler publishes to pass it on carry the same business id; a handler
//! publish with `copies` > 1 starts that many new business messages). It is
//! *expected* to have exactly one effect at every queue with consumers that
//! it reached, and at
//! least one somewhere. When nothing of it is alive any more (no message, no
//! pending resend) it is final: *exactly once* if every reached queue saw one
//! effect, *duplicated* if one saw more (`extra_effects` counts the surplus),
//! *lost* if it reached no consumer queue or one saw none (counted by the
//! reason of its last discard). Business messages still alive are *pending*
//! (a message parked in a dead-letter queue stays pending). Effects for one
//! message key at one queue must happen in publish order; each effect of a
//! business message published before one already done for that key counts
//! as *out of order*.
//!
//! Implicit entries: most business messages are one message from a producer
//! without publisher confirms that reaches at most one consumer queue and has
//! at most one effect there. Such a message has no `FxEntry`: its state (no
//! queue reached / reached queue `q` / one effect at `q`) is packed into the
//! message's ledger word (`Message::fx`), and its business id is its own
//! message id, so a queued message costs the ledger 4 bytes (inside its
//! slot) instead of an entry (issue 6's bytes-per-message budget). The first thing an implicit state cannot say (a
//! copy, a second queue, a second effect, a discard reason) materialises an
//! ordinary entry with the same content; the outcomes are the same either way.
//!
//! Bounded: an entry lives exactly as long as something of its business
//! message does, so the ledger's memory follows the live messages (entries
//! and their pair lists are recycled, nothing is allocated per message in a
//! steady state); examples keep at most `EXAMPLES_MAX` of each outcome.
//! Deterministic: no hash maps, no clock; the ledger never changes the trace.

use crate::engine::core::Engine;
use crate::engine::message::{HdrId, Sym, NO_SYM};
use crate::engine::trace::Reason;
use serde::Serialize;
use std::collections::BTreeMap;

/// "No entry": a message outside the ledger (topic records, or the ledger is off).
pub(crate) const NO_FX: u32 = u32::MAX;
/// Ledger words with this bit (and not `NO_FX`) are implicit entries.
const IMPLICIT: u32 = 0x8000_0000;
/// Implicit: reached consumer queue `word & 0xffff`, no effect yet.
const IMP_REACHED: u32 = 0x0001_0000;
/// Implicit: one effect at queue `word & 0xffff`. (Both bits set is `NO_FX`.)
const IMP_EFFECT: u32 = 0x0002_0000;

#[inline]
pub(super) fn is_implicit(word: u32) -> bool {
    word & IMPLICIT != 0 && word != NO_FX
}

/// Examples kept per outcome.
pub const EXAMPLES_MAX: usize = 20;
/// Message ids kept per entry for its examples (the first ones).
const IDS_MAX: usize = 4;

/// One business message in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct FxEntry {
    pub(crate) bid: u64,
    /// Live messages carrying it, plus one while a resend is pending.
    pub(crate) refs: u32,
    pub(crate) producer: u32,
    /// The producer's incarnation when it sent it (a crash forgets it).
    pub(crate) incarnation: u32,
    /// Sends by the producer so far (1 = the first).
    pub(crate) sends: u32,
    /// A confirm timer or negative confirm has a resend coming.
    pub(crate) resend_pending: bool,
    /// What a resend needs.
    pub(crate) routing_key: Sym,
    pub(crate) key: Sym,
    pub(crate) headers: HdrId,
    pub(crate) origin: u16,
    /// (queue, effects) for every consumer queue it reached.
    pub(crate) pairs: Vec<(u16, u32)>,
    pub(crate) last_reason: Option<Reason>,
    pub(crate) ids: [u64; IDS_MAX],
    pub(crate) n_ids: u8,
}

/// One business message with a notable outcome, for "why?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerExample {
    pub business_id: u64,
    /// `duplicated`, `lost` or `out_of_order`.
    pub outcome: &'static str,
    /// Effects done (over all its consumer queues).
    pub effects: u32,
    /// For a lost one: the reason of its last discard (`never_delivered`
    /// when it reached no consumer queue and was not discarded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Ids of its first messages (open them in the journey view).
    pub messages: Vec<u64>,
}

/// The ledger's totals, as `queuelab run --json` prints them under `ledger`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LedgerReport {
    /// The guarantee dial for the knobs as they are now (or `custom`).
    pub guarantee: &'static str,
    /// Business messages published.
    pub expected: u64,
    pub exactly_once: u64,
    pub duplicated: u64,
    pub extra_effects: u64,
    pub lost: u64,
    pub out_of_order: u64,
    /// Business messages still alive (not final yet).
    pub pending: u64,
    /// Redeliveries a dedup store acked without doing the effect again.
    pub deduplicated: u64,
    /// Sends a broker acknowledged but did not store because it had seen
    /// their deduplication id (an SQS FIFO queue within its 5 minutes).
    #[serde(skip_serializing_if = "crate::engine::view::is_zero")]
    pub broker_deduplicated: u64,
    /// Publishes sent again after a missing or negative confirm.
    pub resent: u64,
    /// Channels closed by a duplicated ack (PRECONDITION_FAILED, unknown
    /// delivery tag), each requeueing what was unacked on it.
    #[serde(skip_serializing_if = "crate::engine::view::is_zero")]
    pub channel_closes: u64,
    /// Lost business messages by the reason of their last discard.
    pub lost_by_reason: BTreeMap<&'static str, u64>,
    pub examples: Vec<LedgerExample>,
    /// The log-based half: per topic what the produce path lost or doubled,
    /// per consumer group what it processed twice or skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams: Option<StreamLedger>,
    /// One sentence per mechanism that gives or breaks the promise (filled
    /// in the CLI report; see `Engine::guarantee_explanation`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanation: Vec<String>,
}

/// Records per topic and per group (Kafka): a record is appended once per
/// send, so a duplicate is a second record; a group's effect is processing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamLedger {
    pub topics: BTreeMap<String, TopicLedger>,
    pub groups: BTreeMap<String, GroupLedger>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TopicLedger {
    /// Log end offsets summed over partitions: records appended and kept by
    /// the current leaders (duplicates included, truncated ones not).
    pub appended: u64,
    /// Records appended again because an answer was lost (not idempotent).
    pub duplicates_appended: u64,
    /// Retried batches the broker recognised by sequence and dropped.
    pub duplicates_rejected: u64,
    /// `acks=1` records acknowledged, then truncated by a leader crash.
    pub acked_lost: u64,
    /// Records lost without an answer: `acks=0` sends lost on the way or
    /// truncated by a leader crash, or batches given up after `retries`.
    pub unacked_lost: u64,
    /// Records sent again after a missing or error answer.
    pub resent: u64,
    /// Batches that waited in their producer for a slot in the window of
    /// in-flight batches (`max_in_flight`, `inflight.rs`).
    #[serde(skip_serializing_if = "crate::engine::view::is_zero")]
    pub batches_waited: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupLedger {
    pub processed: u64,
    /// Records processed again (effects done twice).
    pub reprocessed: u64,
    /// Records processed after a later record of the same key had been
    /// (publish order; a replay from the committed offset counts, as a
    /// redelivery does in the queue ledger).
    pub out_of_order: u64,
    /// Records jumped over, never processed (lost to this group).
    pub skipped: u64,
    /// Read-process-write (`output`): records written to the output topic.
    pub outputs: u64,
    /// Outputs written again for an input already written: what a
    /// `read_uncommitted` reader of the output sees twice.
    pub duplicate_outputs: u64,
    /// Outputs committed again for an input already committed: what a
    /// `read_committed` reader sees twice (0 with transactions).
    pub duplicate_committed_outputs: u64,
    pub transactions_committed: u64,
    pub transactions_aborted: u64,
    /// Event-store appends refused for a stale expected version (the
    /// record was processed again; `event_store.rs`).
    #[serde(skip_serializing_if = "crate::engine::view::is_zero")]
    pub version_conflicts: u64,
    /// Event-store appends made on a stale version without the check.
    #[serde(skip_serializing_if = "crate::engine::view::is_zero")]
    pub stale_writes: u64,
}

/// The ledger's state inside the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Effects {
    pub(crate) on: bool,
    pub(crate) entries: Vec<FxEntry>,
    pub(crate) free: Vec<u32>,
    /// Business messages alive as implicit entries (no `FxEntry`).
    pub(crate) implicit_live: u64,
    /// Every business message gets an entry (tests compare the two ways).
    pub(crate) explicit_only: bool,
    /// Queue index → it has consumers (an effect is expected there).
    pub(crate) consumer_queue: Vec<bool>,
    /// (queue, key) → the latest business id with an effect there.
    pub(crate) last_by_key: BTreeMap<(u16, Sym), u64>,
    /// Handler successes (in `totals.processed`) whose side effect the
    /// consumer's dedup store skipped: runs that did no effect, taken out
    /// of the comparison's `delivered` (`measured.rs`).
    pub(crate) dedup_skipped_runs: u64,
    pub(crate) report: LedgerReport,
    examples_by_outcome: [u8; 3],
}

impl Effects {
    pub(crate) fn new(on: bool, consumer_queue: Vec<bool>) -> Effects {
        Effects {
            on,
            consumer_queue,
            ..Default::default()
        }
    }

    /// A free entry index, recycled or new.
    fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(e) => e,
            None => {
                self.entries.push(FxEntry::default());
                (self.entries.len() - 1) as u32
            }
        }
    }

    fn note(&mut self, outcome: usize, ex: LedgerExample) {
        if (self.examples_by_outcome[outcome] as usize) < EXAMPLES_MAX {
            self.examples_by_outcome[outcome] += 1;
            self.report.examples.push(ex);
        }
    }

    /// Business messages alive now, explicit and implicit (for the memory
    /// bound's test and the outcome sum).
    pub(crate) fn live_entries(&self) -> usize {
        self.entries.len() - self.free.len() + self.implicit_live as usize
    }
}

impl Engine {
    /// `slot`'s ledger word: `NO_FX`, an entry index, or an implicit state.
    #[inline]
    fn word_of(&self, slot: u32) -> u32 {
        self.msgs[slot as usize].fx
    }

    #[inline]
    fn set_word(&mut self, slot: u32, word: u32) {
        self.msgs[slot as usize].fx = word;
    }

    /// `slot`'s explicit entry (`NO_FX`: none, or still implicit). Used by the
    /// confirm path: an implicit business message was sent without confirms.
    #[inline]
    pub(crate) fn fx_entry_of(&self, slot: u32) -> u32 {
        match self.word_of(slot) {
            w if is_implicit(w) => NO_FX,
            w => w,
        }
    }

    /// A producer's new business message in `slot`: implicit unless its
    /// producer expects publisher confirms (a resend needs the entry's copy of
    /// the message and the producer's incarnation).
    #[inline]
    pub(crate) fn fx_begin(&mut self, slot: u32, p: u32) {
        if !self.effects.on {
            return;
        }
        self.effects.report.expected += 1;
        if self.cfg.producers[p as usize].confirms.is_none() && !self.effects.explicit_only {
            self.effects.implicit_live += 1;
            self.set_word(slot, IMPLICIT);
            return;
        }
        let incarnation = self.producers[p as usize].incarnation;
        let e = self.effects.alloc();
        self.fill_entry(e, slot, p, incarnation);
        self.set_word(slot, e);
    }

    /// Entry `e` as a fresh business message whose first message is `slot`.
    fn fill_entry(&mut self, e: u32, slot: u32, p: u32, incarnation: u32) {
        let m = &self.msgs[slot as usize];
        let en = &mut self.effects.entries[e as usize];
        en.bid = m.id;
        en.refs = 1;
        en.producer = p;
        en.incarnation = incarnation;
        en.sends = 1;
        en.resend_pending = false;
        en.routing_key = m.routing_key;
        en.key = m.key;
        en.headers = m.headers;
        en.origin = m.origin;
        en.pairs.clear();
        en.last_reason = None;
        en.ids[0] = m.id;
        en.n_ids = 1;
    }

    /// `slot`'s entry, materialising an implicit one (`NO_FX` if none).
    #[cold]
    fn fx_materialize(&mut self, slot: u32) -> u32 {
        let w = self.word_of(slot);
        if !is_implicit(w) {
            return w;
        }
        let e = self.effects.alloc();
        // No producer: an implicit message was sent without confirms, so the
        // confirm path leaves it alone (`producers.get(u32::MAX)` is `None`).
        self.fill_entry(e, slot, u32::MAX, 0);
        let q = (w & 0xffff) as u16;
        let pairs = &mut self.effects.entries[e as usize].pairs;
        if w & IMP_REACHED != 0 {
            pairs.push((q, 0));
        } else if w & IMP_EFFECT != 0 {
            pairs.push((q, 1));
        }
        self.effects.implicit_live -= 1;
        self.set_word(slot, e);
        e
    }

    /// `to` is made from `from` (a routing copy, a handler's publish, a
    /// network duplicate): same business message.
    #[inline]
    pub(crate) fn fx_share(&mut self, from: u32, to: u32) {
        let e = match self.word_of(from) {
            NO_FX => return,
            w if is_implicit(w) => self.fx_materialize(from),
            e => e,
        };
        self.fx_attach(to, e);
    }

    /// Attach message `slot` to entry `e` (if any), one more reference.
    pub(crate) fn fx_attach(&mut self, slot: u32, e: u32) {
        if e == NO_FX {
            return;
        }
        let id = self.msgs[slot as usize].id;
        let en = &mut self.effects.entries[e as usize];
        en.refs += 1;
        if (en.n_ids as usize) < IDS_MAX {
            en.ids[en.n_ids as usize] = id;
            en.n_ids += 1;
        }
        self.set_word(slot, e);
    }

    /// Message `slot` entered queue `q`: an effect is expected there if the
    /// queue has consumers.
    #[inline]
    pub(crate) fn fx_reached(&mut self, slot: u32, q: u32) {
        if self.effects.consumer_queue[q as usize] {
            self.fx_expect_at(slot, q as u16);
        }
    }

    /// Message `slot` is expected to have one effect at (virtual) queue `q`.
    #[inline]
    pub(crate) fn fx_expect_at(&mut self, slot: u32, q: u16) {
        let w = self.word_of(slot);
        if w == NO_FX {
            return;
        }
        let e = if is_implicit(w) {
            if w == IMPLICIT {
                self.set_word(slot, IMPLICIT | IMP_REACHED | q as u32);
                return;
            }
            if (w & 0xffff) as u16 == q {
                return; // already expected there
            }
            self.fx_materialize(slot)
        } else {
            w
        };
        let pairs = &mut self.effects.entries[e as usize].pairs;
        if !pairs.iter().any(|&(pq, _)| pq == q) {
            pairs.push((q, 0));
        }
    }

    /// The handler of queue `q`'s consumer did the side effect for `slot`.
    #[inline]
    pub(crate) fn fx_effect(&mut self, slot: u32, q: u32) {
        let w = self.word_of(slot);
        if w == NO_FX {
            return;
        }
        let (bid, e) =
            if is_implicit(w) && (w == IMPLICIT || w == IMPLICIT | IMP_REACHED | (q & 0xffff)) {
                // The first effect of a plain message: still implicit.
                self.set_word(slot, IMPLICIT | IMP_EFFECT | (q & 0xffff));
                (self.msgs[slot as usize].id, NO_FX)
            } else {
                let e = if is_implicit(w) {
                    self.fx_materialize(slot)
                } else {
                    w
                };
                let en = &mut self.effects.entries[e as usize];
                match en.pairs.iter_mut().find(|(pq, _)| *pq == q as u16) {
                    Some(p) => p.1 += 1,
                    None => en.pairs.push((q as u16, 1)),
                }
                (en.bid, e)
            };
        let key = self.msgs[slot as usize].key;
        if self.fx_out_of_order(q, key, bid) {
            let e = if e == NO_FX {
                self.fx_materialize(slot)
            } else {
                e
            };
            let ex = self.fx_example(e, "out_of_order", None);
            self.effects.note(2, ex);
        }
    }

    /// An effect of business message `bid` with message key `key` at queue
    /// `q`: is it out of publish order for that key there (counted)?
    #[inline]
    fn fx_out_of_order(&mut self, q: u32, key: Sym, bid: u64) -> bool {
        if key == NO_SYM {
            return false;
        }
        let last = self.effects.last_by_key.entry((q as u16, key)).or_insert(0);
        if bid < *last {
            self.effects.report.out_of_order += 1;
            return true;
        }
        *last = bid;
        false
    }

    /// One more reference to `slot`'s business message, held by something
    /// that is not a message (an orphaned handler, `model::ack_timeout`):
    /// its entry, materialised if implicit (`NO_FX`: outside the ledger).
    pub(crate) fn fx_hold(&mut self, slot: u32) -> u32 {
        let e = match self.word_of(slot) {
            NO_FX => return NO_FX,
            w if is_implicit(w) => self.fx_materialize(slot),
            e => e,
        };
        self.effects.entries[e as usize].refs += 1;
        e
    }

    /// Release a reference taken by `fx_hold`.
    pub(crate) fn fx_let_go(&mut self, e: u32) {
        if e != NO_FX {
            self.fx_unref(e);
        }
    }

    /// The handler holding entry `e` (`fx_hold`) did its side effect at
    /// queue `q`; `key` is its message's key.
    pub(crate) fn fx_effect_held(&mut self, e: u32, q: u32, key: Sym) {
        if e == NO_FX {
            return;
        }
        let en = &mut self.effects.entries[e as usize];
        match en.pairs.iter_mut().find(|(pq, _)| *pq == q as u16) {
            Some(p) => p.1 += 1,
            None => en.pairs.push((q as u16, 1)),
        }
        let bid = en.bid;
        if self.fx_out_of_order(q, key, bid) {
            let ex = self.fx_example(e, "out_of_order", None);
            self.effects.note(2, ex);
        }
    }

    /// The business id of `slot`'s message (its own id outside the ledger).
    #[inline]
    pub(crate) fn business_id(&self, slot: u32) -> u64 {
        match self.fx_entry_of(slot) {
            // Outside the ledger, or implicit: the message is the business message.
            NO_FX => self.msgs[slot as usize].id,
            e => self.effects.entries[e as usize].bid,
        }
    }

    /// `slot` is being discarded for `reason`.
    #[inline]
    pub(crate) fn fx_discarded(&mut self, slot: u32, reason: Reason) {
        let e = match self.word_of(slot) {
            w if is_implicit(w) => self.fx_materialize(slot),
            w => w,
        };
        if e != NO_FX {
            self.effects.entries[e as usize].last_reason = Some(reason);
        }
    }

    /// `slot` is freed: one reference fewer; the last one finalizes.
    #[inline]
    pub(crate) fn fx_released(&mut self, slot: u32) {
        let w = self.word_of(slot);
        if w == NO_FX {
            return;
        }
        self.set_word(slot, NO_FX);
        if !is_implicit(w) {
            return self.fx_unref(w);
        }
        self.effects.implicit_live -= 1;
        if w & IMP_EFFECT != 0 {
            self.effects.report.exactly_once += 1;
        } else {
            // No effect (reached a consumer queue or none), no discard reason
            // (a discard materialises): lost, as `fx_finalize_rare` counts it.
            let (id, name) = (self.msgs[slot as usize].id, "never_delivered");
            let r = &mut self.effects.report;
            r.lost += 1;
            *r.lost_by_reason.entry(name).or_insert(0) += 1;
            let ex = LedgerExample {
                business_id: id,
                outcome: "lost",
                effects: 0,
                reason: Some(name),
                messages: vec![id],
            };
            self.effects.note(1, ex);
        }
    }

    /// Drop one reference to entry `e`; finalize it at zero.
    #[inline]
    pub(crate) fn fx_unref(&mut self, e: u32) {
        let en = &mut self.effects.entries[e as usize];
        en.refs -= 1;
        if en.refs == 0 {
            self.fx_finalize(e);
        }
    }

    #[inline]
    fn fx_finalize(&mut self, e: u32) {
        let en = &self.effects.entries[e as usize];
        // The common case first: one consumer queue, one effect.
        if let [(_, 1)] = en.pairs[..] {
            self.effects.report.exactly_once += 1;
            self.effects.free.push(e);
            return;
        }
        self.fx_finalize_rare(e);
    }

    #[cold]
    fn fx_finalize_rare(&mut self, e: u32) {
        let en = &self.effects.entries[e as usize];
        let (mut extra, mut missing) = (0u32, en.pairs.is_empty());
        for &(_, n) in &en.pairs {
            extra += n.saturating_sub(1);
            missing |= n == 0;
        }
        let reason = en.last_reason;
        let r = &mut self.effects.report;
        if missing {
            r.lost += 1;
            let name = reason.map_or("never_delivered", |r| r.name());
            *r.lost_by_reason.entry(name).or_insert(0) += 1;
            let ex = self.fx_example(e, "lost", Some(name));
            self.effects.note(1, ex);
        } else if extra > 0 {
            r.duplicated += 1;
            r.extra_effects += extra as u64;
            let ex = self.fx_example(e, "duplicated", None);
            self.effects.note(0, ex);
        } else {
            r.exactly_once += 1;
        }
        self.effects.free.push(e);
    }

    fn fx_example(
        &self,
        e: u32,
        outcome: &'static str,
        reason: Option<&'static str>,
    ) -> LedgerExample {
        let en = &self.effects.entries[e as usize];
        LedgerExample {
            business_id: en.bid,
            outcome,
            effects: en.pairs.iter().map(|p| p.1).sum(),
            reason,
            messages: en.ids[..en.n_ids as usize].to_vec(),
        }
    }

    /// The ledger now.
    pub fn ledger_report(&self) -> LedgerReport {
        let mut r = self.effects.report.clone();
        r.guarantee = self.cfg.guarantee_label();
        r.pending = r.expected - r.exactly_once - r.duplicated - r.lost;
        r.streams = self.stream_ledger();
        r
    }

    /// One sentence per mechanism that gives or breaks the promise now.
    pub fn guarantee_explanation(&self) -> Vec<String> {
        self.cfg.explain_guarantee()
    }

    /// Switch the ledger off (or on) before the run starts: the benchmark
    /// measures what it costs. Refused once events ran, or when dedup stores
    /// or publisher confirms need business ids.
    pub fn set_ledger(&mut self, on: bool) -> Result<(), String> {
        if self.events > 0 {
            return Err("the ledger can only be switched before the run starts".into());
        }
        let needs = self.cfg.consumers.iter().any(|c| c.dedup.is_some())
            || self.cfg.producers.iter().any(|p| p.confirms.is_some());
        if !on && needs {
            return Err(
                "dedup stores and publisher confirms need the ledger's business ids".into(),
            );
        }
        self.effects.on = on;
        Ok(())
    }

    /// Give every business message an entry from its start, no implicit ones
    /// (before the run starts; tests check that the outcomes are the same).
    #[doc(hidden)]
    pub fn set_ledger_explicit_only(&mut self, on: bool) -> Result<(), String> {
        if self.events > 0 {
            return Err("the ledger's entries can only be chosen before the run starts".into());
        }
        self.effects.explicit_only = on;
        Ok(())
    }

    /// Is the ledger keeping count? (Off only when asked, for the benchmark.)
    pub fn ledger_on(&self) -> bool {
        self.effects.on
    }

    /// Business-message entries alive now (bounded by the live messages).
    pub fn ledger_live_entries(&self) -> usize {
        self.effects.live_entries()
    }
}
