//! Dead-lettering: republishing a message a queue gives up on to the queue's
//! dead-letter exchange, or dropping it.
//!
//!   queue (expired / maxlen / rejected / delivery_limit) ──► dead_letter_to ──► exchange::route
//!                                                              │
//!                              no DLX, cycle, or limit hit ────┴──► drop (with that reason)
//!
//! This is the queue's other half (it updates the queue's own counters) and
//! hands the message on to `exchange::route`. Follows RabbitMQ: the
//! per-message TTL is removed, the death is recorded (`x-death`: one entry per
//! (queue, reason) with its count, so the log is bounded by the queues), and an automatic cycle (no rejection in
//! between) is cut (`without_cycles`). Limits:
//! `DEATHS_PER_INSTANT_MAX` per message and `DEAD_LETTERS_PER_INSTANT_MAX` per
//! instant bound the work of zero-time dead-letter storms.

use crate::engine::core::{Engine, Target};
use crate::engine::message::{flag, Death, MsgState, Sym};
use crate::engine::trace::{Reason, TraceKind};
use std::rc::Rc;

/// Most times one message may be dead-lettered in a single instant before it
/// is dropped. RabbitMQ's own cycle rule (see `Engine::without_cycles`) cuts
/// automatic cycles; this backstop bounds the rest (and the work any one
/// message can cause at one instant), so it is a simulator limit: high
/// enough for any chain without a cycle a scenario is likely to have (a
/// message passes each queue of a chain once).
pub const DEATHS_PER_INSTANT_MAX: u32 = 32;

/// Most dead-letterings the whole world performs in one simulated instant;
/// past it, further dead-letters at that instant are dropped. Bounds the work
/// of a zero-time dead-letter storm (a fanout DLX feeding queues that expire
/// at once into the same DLX multiplies copies at every hop) that the
/// per-message limits above cannot, since every copy has its own budget.
/// Twice the largest burst (`BURST_MAX`), so a burst that overflows or
/// expires as one is dead-lettered whole, as RabbitMQ would.
pub const DEAD_LETTERS_PER_INSTANT_MAX: u32 = 2 * crate::scenario::BURST_MAX;

impl Engine {
    /// Republish to the queue's dead-letter exchange with `reason`, or drop.
    pub(crate) fn dead_letter_or_drop(&mut self, slot: u32, q: u32, reason: Reason) {
        let dlx = self.queues[q as usize].dlx;
        let dlrk = self.queues[q as usize].dlrk;
        self.dead_letter_to(slot, q, dlx, dlrk, reason);
    }

    /// Dead-letter `slot`, leaving queue `q`, to exchange `dlx` (the queue's
    /// DLX, or a retry policy's `exhausted_to`), with routing key `dlrk` when
    /// set (the queue's `dead_letter_routing_key`, which belongs to its DLX
    /// only: `exhausted_to` keeps the message's own key); drop it when there
    /// is no exchange or a per-instant limit is hit.
    pub(crate) fn dead_letter_to(
        &mut self,
        slot: u32,
        q: u32,
        dlx: Option<u32>,
        dlrk: Option<Sym>,
        reason: Reason,
    ) {
        let qnode = self.queues[q as usize].node;
        let Some(x) = dlx else {
            self.queue_drop(slot, q, reason);
            return;
        };
        let now = self.now.0;
        let m = self.ext_mut(slot);
        if m.last_death_us == now && m.deaths > 0 {
            m.deaths_now += 1;
        } else {
            m.deaths_now = 1;
        }
        m.last_death_us = now;
        m.deaths += 1;
        // x-death: the (queue, reason) entry counts one more and moves to the
        // front; a new pair gets a new entry at the front.
        match m
            .death_log
            .iter()
            .position(|d| d.queue == q && d.reason == reason)
        {
            Some(k) => {
                m.death_log[..=k].rotate_right(1);
                m.death_log[0].count += 1;
            }
            None => m.death_log.insert(
                0,
                Death {
                    queue: q,
                    reason,
                    count: 1,
                },
            ),
        }
        let (deaths, deaths_now) = (m.deaths, m.deaths_now);
        let id = self.msgs[slot as usize].id;
        if self.dl_instant_us != now {
            self.dl_instant_us = now;
            self.dl_instant_count = 0;
        }
        self.dl_instant_count += 1;
        if deaths_now > DEATHS_PER_INSTANT_MAX
            || self.dl_instant_count > DEAD_LETTERS_PER_INSTANT_MAX
        {
            // Backstop for zero-time dead-letter chains that the cycle rule in
            // `route` does not catch (e.g. repeated rejections at one instant).
            self.queue_drop(slot, q, reason);
            return;
        }
        self.set_death_headers(slot, q, reason, deaths == 1);
        // RabbitMQ removes the per-message expiration when it dead-letters,
        // and a delivery limit counts returns to the queue it now leaves.
        let ext = self.ext_mut(slot);
        ext.returns = 0;
        ext.msg_ttl_us = None;
        let m = &mut self.msgs[slot as usize];
        m.expires_us = u64::MAX;
        m.set(flag::REDELIVERED, false);
        m.set(flag::TTL_ZERO, false);
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

    /// The headers RabbitMQ adds on dead-lettering besides `x-death`
    /// (rabbitmq.com/docs/dlx, "Dead-Lettered Effects"):
    /// `x-first-death-queue` / `x-first-death-reason` on the first death,
    /// `x-last-death-queue` / `x-last-death-reason` on every one. A headers
    /// exchange in `any-with-x` / `all-with-x` mode can route on them (dead
    /// letters by reason); `all` and `any` ignore them, as all `x-` headers.
    /// The `*-exchange` pair is not added (the engine does not keep the
    /// exchange a message entered its queue by). `first` is this message's
    /// first recorded death: a message a consumer republished starts over
    /// (RabbitMQ keeps deaths as broker annotations, not client headers), so
    /// `x-first-death-*` headers it carries from before are overwritten.
    fn set_death_headers(&mut self, slot: u32, q: u32, reason: Reason, first: bool) {
        let queue = &self.cfg.queues[q as usize].id;
        let hid = self.msgs[slot as usize].headers;
        let mut h = self.hdrs[hid as usize].clone();
        if first {
            h.insert("x-first-death-queue".into(), queue.clone());
            h.insert("x-first-death-reason".into(), reason.name().into());
        }
        h.insert("x-last-death-queue".into(), queue.clone());
        h.insert("x-last-death-reason".into(), reason.name().into());
        let hid = self.intern_headers(h);
        self.msgs[slot as usize].headers = hid;
    }

    /// RabbitMQ's dead-letter cycle rule: a message dead-lettered for an
    /// automatic reason (not `rejected`) is not delivered to a queue it was
    /// already dead-lettered from, unless a rejection happened in between
    /// ("messages that reach the same queue twice will be dropped if there
    /// was no rejections in the entire cycle"). Returns the targets that do
    /// not close such a cycle, or None when every one does.
    pub(crate) fn without_cycles(&self, slot: u32, queues: &Rc<[u32]>) -> Option<Rc<[u32]>> {
        let log = self.ext(slot).map_or(&[][..], |x| &x.death_log[..]);
        let is_cycle = |t: u32| {
            for d in log {
                if d.reason == Reason::Rejected {
                    return false;
                }
                if d.queue == t {
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

#[cfg(test)]
mod tests {
    use crate::engine::core::Engine;
    use crate::engine::message::Death;
    use crate::engine::time::SimTime;
    use crate::engine::trace::Reason;

    #[test]
    fn x_death_keeps_one_entry_per_queue_and_reason_with_its_count() {
        // reject in `work` → wait 100 ms in `wait` (TTL) → back to `work`.
        let json = r#"{
  "title": "deliberate loop",
  "producers": [{ "id": "p", "to": "work", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "to-wait", "kind": "fanout", "bindings": [{ "queue": "wait" }] },
    { "id": "to-work", "kind": "fanout", "bindings": [{ "queue": "work" }] }
  ],
  "queues": [
    { "id": "work", "dead_letter_exchange": "to-wait" },
    { "id": "wait", "ttl": "100ms", "dead_letter_exchange": "to-work" }
  ],
  "consumers": [{ "id": "c", "queue": "work", "service": { "constant": "10ms" }, "failure_rate": 1.0 }]
}"#;
        let s = crate::scenario::load(json).unwrap();
        let mut e = Engine::new(s, 1).unwrap();
        // Published at 1 s; rejected at 1.01, 1.12, 1.23, 1.34, 1.45; the
        // fifth rejection then waits in `wait` until 1.55 s.
        e.run_until(SimTime(1_500_000), u64::MAX);
        let slot = e
            .msgs
            .iter()
            .position(|m| m.state == crate::engine::message::MsgState::Queued)
            .expect("the message waits in `wait`") as u32;
        let x = e.ext(slot).expect("a dead-lettered message has a record");
        assert_eq!(x.deaths, 9);
        assert_eq!(
            x.death_log,
            [
                Death {
                    queue: 0,
                    reason: Reason::Rejected,
                    count: 5
                },
                Death {
                    queue: 1,
                    reason: Reason::Expired,
                    count: 4
                },
            ]
        );
    }
}
