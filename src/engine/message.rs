//! Messages: the arena they live in, their states, and the conservation ledger.
//!
//!   new_message ──► Transit ──enqueue──► Queued ──deliver──► Unacked ──ack──► complete (freed)
//!                      ▲                   ▲                    │
//!                      └──── dead-letter ──┴── requeue / retry ─┘──► drop_message (freed)
//!
//! Plain data: this file defines what a message is; the arena itself (the
//! `msgs` vector and its free list) belongs to the engine core, whose
//! `new_message`, `copy_message`, `set_state`, `release`, `drop_message` and
//! `complete` are the only ways to move a message between states. Each keeps
//! the `Ledger` in step, so `created = live + completed + discarded` always
//! holds (checked by `check_invariants`). Slots are recycled once a message is
//! finished (with a generation bump that makes stale events harmless), so
//! memory follows the number of live messages, not the length of the run.
//! Routing keys, keys and header sets are interned once (`Sym`, `HdrId`).
//!
//! Size: a `Message` is 56 bytes (pinned by a test), its ledger word
//! included, so a plain queued message costs 60 bytes with its queue
//! entry. What most messages never need (a correlation id other than their
//! own id, a per-message TTL, failure and return counts, a delivery count
//! past 65,534, the death log) lives in a `MsgExt` record of a side slab, made on first need and shared by routing copies until one of them
//! changes it (copy on write), so a fan-out copy adds no heap share of its own.

use super::trace::Reason;
use serde::Serialize;

/// Interned string.
pub(crate) type Sym = u32;

/// Interned header set (0 is the empty set).
pub(crate) type HdrId = u32;

pub(crate) const NO_SYM: Sym = u32::MAX;

/// Index of a `MsgExt` in the engine's side slab.
pub(crate) type ExtId = u32;

/// "No extension record": the defaults of `MsgExt` apply.
pub(crate) const NO_EXT: ExtId = u32::MAX;

/// "In no queue" (a queue index fits 16 bits: a scenario has at most
/// `scenario::NODES_MAX` nodes).
pub(crate) const NO_QUEUE: u16 = u16::MAX;
const _: () = assert!(crate::scenario::NODES_MAX < NO_QUEUE as usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum MsgState {
    Free,
    Transit,
    Queued,
    Unacked,
    RetryWait,
}

/// Bits of `Message::flags`.
pub(crate) mod flag {
    /// Delivered again after a return or a retry (AMQP `redelivered`).
    pub(crate) const REDELIVERED: u8 = 1;
    /// Auto-acked on its current delivery: the broker already forgot it.
    pub(crate) const AUTO_ACKED: u8 = 2;
    /// Delivered at least once (its wait latency is recorded once).
    pub(crate) const DELIVERED_ONCE: u8 = 4;
    /// Entered its current queue with a TTL of 0: due the instant it arrived
    /// (`expires_us` is that instant), yet deliverable to an idle consumer then.
    pub(crate) const TTL_ZERO: u8 = 8;
    /// Sent by a producer and not yet taken by a queue: a refusal now is a
    /// negative publisher confirm (see `model::confirms`).
    pub(crate) const FROM_PRODUCER: u8 = 16;
    /// Transient (delivery mode 1): lost in a broker crash even in a durable queue.
    pub(crate) const TRANSIENT: u8 = 32;
    /// Its current delivery was lost on the broker → consumer link: the
    /// handler never sees it (`model::protocol`).
    pub(crate) const LOST_ON_WIRE: u8 = 64;
    /// Its current delivery arrived twice: the handler runs twice.
    pub(crate) const TWICE_ON_WIRE: u8 = 128;
}

/// One message in the arena. Hot fields only; see `MsgExt` for the rest.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) published_us: u64,
    /// When its TTL runs out in its current queue (`u64::MAX`: never).
    pub(crate) expires_us: u64,
    pub(crate) gen: u32,
    pub(crate) routing_key: Sym,
    pub(crate) key: Sym,
    pub(crate) headers: HdrId,
    /// The extension record (`NO_EXT`: none, the defaults apply).
    pub(crate) ext: ExtId,
    /// Its word in the ledger of business effects (`model::effects`):
    /// `NO_FX`, an entry index, or an implicit entry's state.
    pub(crate) fx: u32,
    /// The producer that published it (a reply keeps its request's): its
    /// payload size is that producer's `payload_bytes`, which no command
    /// changes, so the message need not carry it (`Engine::payload_bytes`).
    pub(crate) origin: u16,
    /// Deliveries so far, exact below `u16::MAX`; from there on the count
    /// lives in the extension record (`Engine::deliveries`), so a poison
    /// message redelivered forever still counts right.
    pub(crate) deliveries: u16,
    /// Its queue (`NO_QUEUE` before the first enqueue).
    pub(crate) queue: u16,
    pub(crate) state: MsgState,
    /// `flag::*` bits.
    pub(crate) flags: u8,
}

impl Message {
    #[inline]
    pub(crate) fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    #[inline]
    pub(crate) fn set(&mut self, f: u8, on: bool) {
        if on {
            self.flags |= f;
        } else {
            self.flags &= !f;
        }
    }
    pub(crate) fn redelivered(&self) -> bool {
        self.has(flag::REDELIVERED)
    }
    pub(crate) fn auto_acked(&self) -> bool {
        self.has(flag::AUTO_ACKED)
    }
}

/// One entry of the death log: RabbitMQ's `x-death` in brief.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Death {
    pub(crate) queue: u32,
    pub(crate) reason: Reason,
    /// Times dead-lettered from `queue` for `reason`.
    pub(crate) count: u32,
}

/// What a message rarely needs. A missing record (`NO_EXT`) means: the
/// correlation id is the message's own id, no per-message TTL, no failures,
/// returns or deaths. Shared by routing copies (`refs` > 1) until one of
/// them changes it.
#[derive(Clone, Debug, Default)]
pub(crate) struct MsgExt {
    /// Messages pointing here (0: the record is free).
    pub(crate) refs: u32,
    pub(crate) correlation: u64,
    pub(crate) msg_ttl_us: Option<u64>,
    pub(crate) failures: u32,
    /// Returns to the current queue (toward its `delivery_limit`).
    pub(crate) returns: u32,
    /// `max_attempts` of the policy that scheduled the pending delayed retry
    /// (checked by `check_invariants` while the message waits).
    pub(crate) retry_limit: u32,
    /// Dead-letterings over its whole life.
    pub(crate) deaths: u32,
    /// Deliveries, once `Message::deliveries` reached `u16::MAX`.
    pub(crate) deliveries: u32,
    /// Dead-letterings at the instant `last_death_us`.
    pub(crate) deaths_now: u32,
    pub(crate) last_death_us: u64,
    /// RabbitMQ's `x-death`: one entry per (queue, reason) with its count,
    /// most recent first (a repeat moves its entry to the front). So it holds
    /// at most 4 entries per queue, however often the message dies.
    pub(crate) death_log: Vec<Death>,
    /// Its place in its queue's arrival order when that is not its id's
    /// (`Engine::stamp_arrival`): `None` for a message that reached its
    /// queue in id order.
    pub(crate) arrival_key: Option<(u64, u64)>,
}

/// Messages by state right now, plus the finished ones: the conservation ledger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    /// Message entities ever created (publishes plus routing copies).
    pub created: u64,
    pub in_transit: u64,
    pub queued: u64,
    pub unacked: u64,
    pub retry_wait: u64,
    pub completed: u64,
    pub discarded: u64,
}

impl Ledger {
    pub fn live(&self) -> u64 {
        self.in_transit + self.queued + self.unacked + self.retry_wait
    }
    /// The counter of live state `s`.
    pub(crate) fn count(&mut self, s: MsgState) -> &mut u64 {
        match s {
            MsgState::Transit => &mut self.in_transit,
            MsgState::Queued => &mut self.queued,
            MsgState::Unacked => &mut self.unacked,
            MsgState::RetryWait => &mut self.retry_wait,
            MsgState::Free => unreachable!("free slots are not counted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_queued_message_fits_in_64_bytes() {
        // The slot (its ledger word included) plus its entry in a queue's
        // ready list; a plain message has no extension record and no ledger
        // entry, so no heap share beyond these.
        let bytes = std::mem::size_of::<Message>() + std::mem::size_of::<u32>();
        assert!(bytes <= 60, "{bytes} B");
        assert_eq!(std::mem::size_of::<Message>(), 56);
    }
}
