//! The consumer's side of a delivery guarantee: the dedup store of an
//! idempotent consumer, and faults that strike between the steps of the
//! consumer protocol (receive → effect → ack).
//!
//!   deliver ──► crash after receive? (ProtocolCrash at the same instant)
//!   ServiceDone ok ──► dedup store seen? ──yes──► Deduplicated (no effect), ack
//!                          │ no
//!                          ▼
//!                     effect (+ store, one transaction: the inbox)
//!                          ├──► crash after effect? ──► instance crashes, message back unacked
//!                          └──► ack ──► lost on the way? ──► AckLost, broker redelivers
//!
//! Faults are drawn from the consumer's own fault stream (`faults:<consumer>`)
//! or armed by a `crash_consumer` command with a `point` (fires once, at the
//! first instance — or the named one — to reach it). A lost ack is redelivered
//! at once (RabbitMQ would wait for the channel to close; see README).
//! Bounded: a dedup store forgets ids older than its window, and holds at most
//! `DEDUP_ENTRIES_MAX` ids (the oldest go first).

use crate::engine::core::{Engine, Event};
use crate::engine::message::flag;
use crate::engine::trace::{Reason, TraceKind};
use crate::scenario::CrashPoint;
use std::collections::{BTreeMap, VecDeque};

/// Most ids one dedup store remembers.
pub const DEDUP_ENTRIES_MAX: usize = 1 << 20;

/// An idempotent consumer's memory of business ids it has done the effect for.
#[derive(Clone, Debug, Default)]
pub(crate) struct DedupStore {
    seen: BTreeMap<u64, u64>,
    order: VecDeque<(u64, u64)>,
}

impl DedupStore {
    /// Forget what is older than `window_us` (or over the bound).
    fn evict(&mut self, now_us: u64, window_us: u64) {
        while let Some(&(t, bid)) = self.order.front() {
            if now_us.saturating_sub(t) <= window_us && self.order.len() <= DEDUP_ENTRIES_MAX {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&bid) == Some(&t) {
                self.seen.remove(&bid);
            }
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
    /// Was business id `bid` seen within the window? If not, remember it now.
    pub(crate) fn seen_or_insert(&mut self, bid: u64, now_us: u64, window_us: u64) -> bool {
        self.evict(now_us, window_us);
        if self.seen.contains_key(&bid) {
            return true;
        }
        self.seen.insert(bid, now_us);
        self.order.push_back((now_us, bid));
        false
    }
}

/// A crash armed by a command, waiting for its protocol point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArmedCrash {
    pub(crate) point: CrashPoint,
    pub(crate) instance: Option<u32>,
    pub(crate) restart_after_us: Option<u64>,
}

impl Engine {
    /// Does an armed crash of consumer `c` fire at `point` on instance `i`?
    /// (Clears it when it does.)
    fn armed_fires(&mut self, c: u32, i: u32, point: CrashPoint) -> Option<Option<u64>> {
        let a = self.consumers[c as usize].armed?;
        if a.point == point && a.instance.is_none_or(|x| x == i) {
            self.consumers[c as usize].armed = None;
            self.refresh_protocol(c);
            return Some(a.restart_after_us);
        }
        None
    }

    /// Crash instance `i` of consumer `c` now, restarting after `restart_after_us`.
    pub(crate) fn protocol_crash(&mut self, c: u32, i: u32, restart_after_us: Option<u64>) {
        self.crash_instance(c, i);
        if let Some(d) = restart_after_us {
            let epoch = self.consumers[c as usize].instances[i as usize].epoch;
            self.agenda
                .schedule(self.now.after(d), Event::Restart { c, i, epoch });
        }
    }

    /// Just delivered to instance `i`: does it crash before processing?
    /// The crash runs as its own event at this instant, after the dispatch
    /// that delivered (a crash inside a dispatch loop would requeue into it).
    pub(crate) fn after_receive(&mut self, c: u32, i: u32, auto_acked: bool) {
        let f = self.cfg.consumers[c as usize].faults;
        let fired = self
            .armed_fires(c, i, CrashPoint::AfterReceive)
            .or_else(|| {
                if auto_acked {
                    self.armed_fires(c, i, CrashPoint::AfterAck)
                } else {
                    None
                }
            });
        let restart = match (fired, f) {
            (Some(r), _) => Some(r),
            (None, Some(f))
                if f.crash_after_receive > 0.0
                    && self.consumers[c as usize]
                        .fault_stream
                        .chance(f.crash_after_receive) =>
            {
                Some(Some(f.restart_after.us()))
            }
            _ => None,
        };
        if let Some(restart_after_us) = restart {
            self.schedule_protocol_crash(c, i, restart_after_us);
        }
    }

    /// Crash instance `i` at this instant, after the current event.
    fn schedule_protocol_crash(&mut self, c: u32, i: u32, restart_after_us: Option<u64>) {
        let inst = &mut self.consumers[c as usize].instances[i as usize];
        inst.crash_restart_us = restart_after_us;
        let epoch = inst.epoch;
        self.agenda
            .schedule(self.now, Event::ProtocolCrash { c, i, epoch });
    }

    /// A `ProtocolCrash` event: crash unless the instance changed meanwhile.
    pub(crate) fn on_protocol_crash(&mut self, c: u32, i: u32, epoch: u32) {
        let live = self.consumers[c as usize]
            .instances
            .get(i as usize)
            .filter(|inst| inst.up && inst.epoch == epoch)
            .map(|inst| inst.crash_restart_us);
        if let Some(restart) = live {
            self.protocol_crash(c, i, restart);
            let q = self.consumers[c as usize].queue;
            self.dispatch(q);
        }
    }

    /// The handler succeeded on `slot`: was its business id already done
    /// (skip the effect)? If not, remember it — in the same transaction as
    /// the effect that follows.
    pub(crate) fn dedup_check(&mut self, c: u32, i: u32, slot: u32) -> bool {
        if self.cfg.consumers[c as usize].dedup.is_none() {
            return false;
        }
        let bid = self.business_id(slot);
        let id = self.msgs[slot as usize].id;
        self.dedup_seen(c, i, bid, id)
    }

    /// `dedup_check` by business id `bid`, for message `id`'s handler.
    pub(crate) fn dedup_seen(&mut self, c: u32, i: u32, bid: u64, id: u64) -> bool {
        let Some(d) = self.cfg.consumers[c as usize].dedup else {
            return false;
        };
        let now = self.now.0;
        let store = &mut self.consumers[c as usize].dedup;
        store.evict(now, d.window.us());
        if store.seen.contains_key(&bid) {
            self.effects.report.deduplicated += 1;
            let node = self.consumers[c as usize].node;
            self.trace.record(
                self.now,
                TraceKind::Deduplicated {
                    instance: i,
                    original: bid,
                },
                Some(id),
                node,
            );
            return true;
        }
        store.seen.insert(bid, now);
        store.order.push_back((now, bid));
        false
    }

    /// After the effect, before the ack: does instance `i` crash here?
    /// Returns its restart delay when it does.
    pub(crate) fn crash_after_effect(&mut self, c: u32, i: u32) -> Option<Option<u64>> {
        if let Some(r) = self.armed_fires(c, i, CrashPoint::AfterEffect) {
            return Some(r);
        }
        let f = self.cfg.consumers[c as usize].faults?;
        (f.crash_after_effect > 0.0
            && self.consumers[c as usize]
                .fault_stream
                .chance(f.crash_after_effect))
        .then_some(Some(f.restart_after.us()))
    }

    /// The manual ack is on its way: is it lost?
    pub(crate) fn ack_lost(&mut self, c: u32) -> bool {
        match self.cfg.consumers[c as usize].faults {
            Some(f) if f.ack_drop > 0.0 => {
                self.consumers[c as usize].fault_stream.chance(f.ack_drop)
            }
            _ => false,
        }
    }

    /// After a manual ack: an armed `after_ack` crash fires here.
    pub(crate) fn after_manual_ack(&mut self, c: u32, i: u32) {
        if let Some(r) = self.armed_fires(c, i, CrashPoint::AfterAck) {
            self.schedule_protocol_crash(c, i, r);
        }
    }

    /// `crash_consumer` with a protocol point: arm it.
    pub(crate) fn arm_crash(
        &mut self,
        c: u32,
        point: CrashPoint,
        instance: Option<u32>,
        restart_after_us: Option<u64>,
    ) {
        self.consumers[c as usize].armed = Some(ArmedCrash {
            point,
            instance,
            restart_after_us,
        });
        self.refresh_protocol(c);
    }

    /// Recompute consumer `c`'s `protocol` flag after its faults, dedup
    /// store or armed crash changed.
    pub(crate) fn refresh_protocol(&mut self, c: u32) {
        let cfg = &self.cfg.consumers[c as usize];
        let on = cfg.faults.is_some() || cfg.dedup.is_some();
        let cs = &mut self.consumers[c as usize];
        cs.protocol = on || cs.armed.is_some();
    }

    /// Ids a consumer's dedup store remembers now.
    pub fn dedup_len(&self, c: u32) -> usize {
        self.consumers[c as usize].dedup.len()
    }

    // ------------------------------------------------ the broker → consumer link

    /// A delivery leaves the broker for consumer `c`: is it lost on the way,
    /// or does it arrive twice? (Marked on the message; settled when the
    /// instance gets to it, so no dispatch loop is disturbed.)
    pub(crate) fn wire_faults(&mut self, c: u32, slot: u32) {
        let Some(f) = self.cfg.consumers[c as usize].faults else {
            return;
        };
        let stream = &mut self.consumers[c as usize].fault_stream;
        let lost = f.delivery_drop > 0.0 && stream.chance(f.delivery_drop);
        let twice = !lost && f.delivery_duplicate > 0.0 && stream.chance(f.delivery_duplicate);
        let m = &mut self.msgs[slot as usize];
        m.set(flag::LOST_ON_WIRE, lost);
        m.set(flag::TWICE_ON_WIRE, twice);
    }

    /// Extra time before the next delivery reaches consumer `c`'s handler.
    pub(crate) fn wire_delay_us(&mut self, c: u32) -> u64 {
        match self.cfg.consumers[c as usize].faults {
            Some(f) if f.delivery_delay.us() > 0 => {
                let mean = f.delivery_delay.us() as f64;
                let d = self.consumers[c as usize].fault_stream.exponential(mean);
                crate::engine::time::delay_us_from_f64(d, crate::engine::core::DELAY_US_MAX)
            }
            _ => 0,
        }
    }

    /// The handler never saw `slot`: with auto-ack the broker forgot it (lost);
    /// with manual ack it is still unacked and goes back to the queue (the
    /// broker redelivers it; RabbitMQ would when the channel closes).
    pub(crate) fn lost_on_wire(&mut self, c: u32, slot: u32, q: u32) {
        self.msgs[slot as usize].set(flag::LOST_ON_WIRE, false);
        self.msgs[slot as usize].set(flag::TWICE_ON_WIRE, false);
        let node = self.consumers[c as usize].node;
        if self.msgs[slot as usize].auto_acked() {
            self.drop_message(slot, Reason::NetworkLost, node);
        } else {
            self.requeue(slot, q);
        }
    }

    /// The delivery of `slot` arrived twice: the handler runs again, and
    /// does the effect again unless its dedup store has seen it.
    pub(crate) fn second_delivery(&mut self, c: u32, i: u32, slot: u32, q: u32) {
        self.msgs[slot as usize].set(flag::TWICE_ON_WIRE, false);
        let (id, node) = (self.msgs[slot as usize].id, self.consumers[c as usize].node);
        self.trace.record(
            self.now,
            TraceKind::DeliveredTwice { instance: i },
            Some(id),
            node,
        );
        if !self.dedup_check(c, i, slot) {
            self.handler_publish(c, slot);
            self.fx_effect(slot, q);
        }
    }
}
