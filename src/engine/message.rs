//! Messages: the arena they live in, their states, and the conservation ledger.
//!
//!   new_message ──► Transit ──enqueue──► Queued ──deliver──► Unacked ──ack──► complete (freed)
//!                      ▲                   ▲                    │
//!                      └──── dead-letter ──┴── requeue / retry ─┘──► drop_message (freed)
//!
//! Every message is in exactly one state; `set_state`, `release`,
//! `drop_message` and `complete` are the only ways to move it, and each keeps
//! the `Ledger` in step, so `created = live + completed + discarded` always
//! holds (checked by `check_invariants`). Slots are recycled once a message is
//! finished (with a generation bump that makes stale events harmless), so
//! memory follows the number of live messages, not the length of the run.
//! Routing keys, keys and header sets are interned once (`Sym`, `HdrId`).

use super::core::Engine;
use super::trace::{NodeId, Reason, TraceKind};
use serde::Serialize;
use std::collections::BTreeMap;

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
    fn count(&mut self, s: MsgState) -> &mut u64 {
        match s {
            MsgState::Transit => &mut self.in_transit,
            MsgState::Queued => &mut self.queued,
            MsgState::Unacked => &mut self.unacked,
            MsgState::RetryWait => &mut self.retry_wait,
            MsgState::Free => unreachable!("free slots are not counted"),
        }
    }
}

impl Engine {
    pub(crate) fn intern(&mut self, s: &str) -> Sym {
        if let Some(&i) = self.sym_index.get(s) {
            return i;
        }
        let i = self.syms.len() as Sym;
        self.syms.push(s.to_string());
        self.sym_index.insert(s.to_string(), i);
        i
    }

    pub(crate) fn intern_headers(&mut self, h: BTreeMap<String, String>) -> HdrId {
        if let Some(&i) = self.hdr_index.get(&h) {
            return i;
        }
        let i = self.hdrs.len() as HdrId;
        self.hdrs.push(h.clone());
        self.hdr_index.insert(h, i);
        i
    }

    pub(crate) fn new_message(
        &mut self,
        parent: Option<u64>,
        routing_key: Sym,
        key: Sym,
        headers: HdrId,
        payload_bytes: u32,
        msg_ttl_us: Option<u64>,
    ) -> u32 {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        let m = Message {
            id,
            gen: 0,
            state: MsgState::Transit,
            correlation: id,
            parent,
            routing_key,
            key,
            headers,
            payload_bytes,
            published_us: self.now.0,
            msg_ttl_us,
            expires_us: u64::MAX,
            enqueued_us: 0,
            queue: u32::MAX,
            deliveries: 0,
            failures: 0,
            retry_limit: 0,
            returns: 0,
            deaths: 0,
            death_log: Vec::new(),
            deaths_now: 0,
            last_death_us: 0,
            redelivered: false,
            auto_acked: false,
            delivered_once: false,
        };
        self.ledger.created += 1;
        self.ledger.in_transit += 1;
        match self.free.pop() {
            Some(slot) => {
                let gen = self.msgs[slot as usize].gen.wrapping_add(1);
                self.msgs[slot as usize] = Message { gen, ..m };
                slot
            }
            None => {
                self.msgs.push(m);
                (self.msgs.len() - 1) as u32
            }
        }
    }

    pub(crate) fn copy_message(&mut self, slot: u32) -> u32 {
        let src = self.msgs[slot as usize].clone();
        let c = self.new_message(
            src.parent,
            src.routing_key,
            src.key,
            src.headers,
            src.payload_bytes,
            src.msg_ttl_us,
        );
        let m = &mut self.msgs[c as usize];
        m.correlation = src.correlation;
        m.published_us = src.published_us;
        // A copy is the same message in another queue: same history.
        m.deliveries = src.deliveries;
        m.failures = src.failures;
        m.returns = src.returns;
        m.deaths = src.deaths;
        m.death_log = src.death_log.clone();
        // Copies inherit the dead-letter cycle budget: otherwise a zero-time
        // cycle through a fanout DLX restarts the count at every copy and
        // recurses without end (route → enqueue → expire → dead-letter → route).
        m.deaths_now = src.deaths_now;
        m.last_death_us = src.last_death_us;
        c
    }

    pub(crate) fn set_state(&mut self, slot: u32, s: MsgState) {
        let old = self.msgs[slot as usize].state;
        *self.ledger.count(old) -= 1;
        *self.ledger.count(s) += 1;
        self.msgs[slot as usize].state = s;
    }

    pub(crate) fn release(&mut self, slot: u32) {
        let old = self.msgs[slot as usize].state;
        *self.ledger.count(old) -= 1;
        let m = &mut self.msgs[slot as usize];
        m.state = MsgState::Free;
        m.gen = m.gen.wrapping_add(1);
        self.free.push(slot);
    }

    pub(crate) fn drop_message(&mut self, slot: u32, reason: Reason, at: NodeId) {
        let id = self.msgs[slot as usize].id;
        self.trace
            .record(self.now, TraceKind::Dropped { reason }, Some(id), at);
        self.totals.dropped += 1;
        self.dropped_by_reason[reason.index()] += 1;
        self.ledger.discarded += 1;
        self.release(slot);
    }

    pub(crate) fn complete(&mut self, slot: u32) {
        let m = &self.msgs[slot as usize];
        let e2e = self.now.0 - m.published_us;
        self.end_to_end.record(e2e);
        self.interval.record(e2e);
        self.totals.completed += 1;
        self.ledger.completed += 1;
        self.release(slot);
    }
}
