//! Dead-lettering: republishing a message a queue gives up on to the queue's
//! dead-letter exchange, or dropping it.
//!
//!   queue (expired / maxlen / rejected / delivery_limit) ──► dead_letter_to ──► exchange::route
//!                                                              │
//!                              no DLX, cycle, or limit hit ────┴──► drop (with that reason)
//!
//! This is the queue's other half (it updates the queue's own counters) and
//! hands the message on to `exchange::route`. Follows RabbitMQ: the
//! per-message TTL is removed, the death is recorded (`x-death` in brief, one
//! entry per (queue, reason)), and an automatic cycle (no rejection in
//! between) is cut (`without_cycles`). Limits:
//! `DEATHS_PER_INSTANT_MAX` per message and `DEAD_LETTERS_PER_INSTANT_MAX` per
//! instant bound the work of zero-time dead-letter storms.

use crate::engine::core::{Engine, Target};
use crate::engine::message::MsgState;
use crate::engine::trace::{Reason, TraceKind};
use std::rc::Rc;

/// Most times one message may be dead-lettered in a single instant before it
/// is dropped. RabbitMQ's own cycle rule (see `Engine::without_cycles`) cuts
/// automatic cycles; this backstop bounds the rest (and the work any one
/// message can cause at one instant), so it is a simulator limit.
pub const DEATHS_PER_INSTANT_MAX: u32 = 8;

/// Most dead-letterings the whole world performs in one simulated instant;
/// past it, further dead-letters at that instant are dropped. Bounds the work
/// of a zero-time dead-letter storm (a fanout DLX feeding queues that expire
/// at once into the same DLX multiplies copies at every hop) that the
/// per-message limits above cannot, since every copy has its own budget.
pub const DEAD_LETTERS_PER_INSTANT_MAX: u32 = 10_000;

impl Engine {
    /// Republish to the queue's dead-letter exchange with `reason`, or drop.
    pub(crate) fn dead_letter_or_drop(&mut self, slot: u32, q: u32, reason: Reason) {
        let dlx = self.queues[q as usize].dlx;
        self.dead_letter_to(slot, q, dlx, reason);
    }

    /// Dead-letter `slot`, leaving queue `q`, to exchange `dlx` (the queue's
    /// DLX, or a retry policy's `exhausted_to`); drop it when there is none or
    /// a per-instant limit is hit.
    pub(crate) fn dead_letter_to(&mut self, slot: u32, q: u32, dlx: Option<u32>, reason: Reason) {
        let qnode = self.queues[q as usize].node;
        let Some(x) = dlx else {
            self.queue_drop(slot, q, reason);
            return;
        };
        let now = self.now.0;
        let dlrk = self.queues[q as usize].dlrk;
        let m = &mut self.msgs[slot as usize];
        if m.last_death_us == now && m.deaths > 0 {
            m.deaths_now += 1;
        } else {
            m.deaths_now = 1;
        }
        m.last_death_us = now;
        m.deaths += 1;
        if let Some(k) = m.death_log.iter().position(|&d| d == (q, reason)) {
            m.death_log.remove(k);
        }
        m.death_log.insert(0, (q, reason));
        let deaths = m.deaths;
        let id = m.id;
        if self.dl_instant_us != now {
            self.dl_instant_us = now;
            self.dl_instant_count = 0;
        }
        self.dl_instant_count += 1;
        let m = &mut self.msgs[slot as usize];
        if m.deaths_now > DEATHS_PER_INSTANT_MAX
            || self.dl_instant_count > DEAD_LETTERS_PER_INSTANT_MAX
        {
            // Backstop for zero-time dead-letter chains that the cycle rule in
            // `route` does not catch (e.g. repeated rejections at one instant).
            self.queue_drop(slot, q, reason);
            return;
        }
        // RabbitMQ removes the per-message expiration when it dead-letters,
        // and a delivery limit counts returns to the queue it now leaves.
        m.returns = 0;
        m.msg_ttl_us = None;
        m.expires_us = u64::MAX;
        m.redelivered = false;
        if let Some(k) = dlrk {
            m.routing_key = k;
        }
        let xnode = self.exchanges[x as usize].node;
        self.trace.record(
            self.now,
            TraceKind::DeadLettered {
                reason,
                exchange: xnode,
                deaths,
            },
            Some(id),
            qnode,
        );
        self.totals.dead_lettered += 1;
        self.queues[q as usize].dead_lettered += 1;
        self.set_state(slot, MsgState::Transit);
        self.route(slot, Target::Exchange(x), Some(q));
    }

    /// RabbitMQ's dead-letter cycle rule: a message dead-lettered for an
    /// automatic reason (not `rejected`) is not delivered to a queue it was
    /// already dead-lettered from, unless a rejection happened in between
    /// ("messages that reach the same queue twice will be dropped if there
    /// was no rejections in the entire cycle"). Returns the targets that do
    /// not close such a cycle, or None when every one does.
    pub(crate) fn without_cycles(&self, slot: u32, queues: &Rc<[u32]>) -> Option<Rc<[u32]>> {
        let log = &self.msgs[slot as usize].death_log;
        let is_cycle = |t: u32| {
            for &(dq, reason) in log.iter() {
                if reason == Reason::Rejected {
                    return false;
                }
                if dq == t {
                    return true;
                }
            }
            false
        };
        if queues.iter().all(|&t| !is_cycle(t)) {
            return Some(queues.clone());
        }
        let kept: Vec<u32> = queues.iter().copied().filter(|&t| !is_cycle(t)).collect();
        (!kept.is_empty()).then(|| kept.into())
    }
}
