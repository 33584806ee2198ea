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

use super::trace::Reason;
use serde::Serialize;

/// Interned string.
pub(crate) type Sym = u32;

/// Interned header set (0 is the empty set).
pub(crate) type HdrId = u32;

pub(crate) const NO_SYM: Sym = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MsgState {
    Free,
    Transit,
    Queued,
    Unacked,
    RetryWait,
}

#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) gen: u32,
    pub(crate) state: MsgState,
    pub(crate) correlation: u64,
    pub(crate) parent: Option<u64>,
    pub(crate) routing_key: Sym,
    pub(crate) key: Sym,
    pub(crate) headers: HdrId,
    pub(crate) payload_bytes: u32,
    pub(crate) published_us: u64,
    pub(crate) msg_ttl_us: Option<u64>,
    pub(crate) expires_us: u64,
    /// When it last entered a queue (kept across requeues, like its expiry).
    pub(crate) enqueued_us: u64,
    pub(crate) queue: u32,
    pub(crate) deliveries: u32,
    pub(crate) failures: u32,
    /// `max_attempts` of the policy that scheduled the pending delayed retry
    /// (checked by `check_invariants` while the message waits).
    pub(crate) retry_limit: u32,
    pub(crate) returns: u32,
    pub(crate) deaths: u32,
    /// RabbitMQ's `x-death` in brief: (queue, reason) of each dead-lettering,
    /// most recent first, one entry per pair (a repeat moves to the front).
    /// At most one entry per queue and reason, so it stays small.
    pub(crate) death_log: Vec<(u32, Reason)>,
    pub(crate) deaths_now: u32,
    pub(crate) last_death_us: u64,
    pub(crate) redelivered: bool,
    pub(crate) auto_acked: bool,
    pub(crate) delivered_once: bool,
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
