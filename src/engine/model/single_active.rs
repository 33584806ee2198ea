//! Single active consumer (RabbitMQ's `x-single-active-consumer`): a queue
//! that delivers to one consumer instance at a time and fails over to the
//! next registered one when that instance goes away.
//!
//!   registration order: [ A  B  C ]
//!   active A ──crash──► B (the first up in registration order)
//!   A restarts: registers again → [ B  C  A ], a standby
//!   C crashes and restarts → [ B  A  C ] ── B crashes ──► A
//!   A's channel closes (consumer timeout, unknown delivery tag) and A
//!   consumes again on a new one → [ B  C  A ] ──► C (B is still down)
//!
//! RabbitMQ's consumers guide: the first registered consumer is the active
//! one and the others are ignored; when it is cancelled or dies another
//! registered consumer takes over — the head of the queue's consumer list
//! (`rabbit_queue_consumers:get_consumer` in
//! `new_single_active_consumer_after_channel_down`), where a consumer that
//! comes back registers at the tail. QueueLab registers consumers in
//! scenario order (instance by instance; instances added later behind them)
//! and a restarted instance, or one whose channel was closed (a consumer
//! timeout or a doubled ack: the channel's consumers leave the queue and the
//! client's new `basic.consume` comes after the others), again at the back; with consumer priorities the
//! highest priority up goes first, as a quorum queue in RabbitMQ 4 ends up
//! choosing. Guarantees: at most one instance of the queue receives
//! deliveries; while it is up and has no prefetch room, nothing is
//! delivered (the standbys do not help); a queue without the flag is
//! untouched. The active instance is chosen lazily, at the next dispatch, so
//! a failover needs no event of its own (a restart of the instance that was
//! active forgets it, so it cannot take its place back unless it is first).

use crate::engine::core::Engine;

impl Engine {
    /// The instance that is, or at the next dispatch becomes, the single
    /// active consumer of `q`: the current one while it is up, else the
    /// first up instance in registration order among those of the highest
    /// consumer priority (`None`: none is up).
    pub(crate) fn sac_candidate(&self, q: u32) -> Option<(u32, u32)> {
        let qs = &self.queues[q as usize];
        let up = |&(c, i): &(u32, u32)| self.consumers[c as usize].instances[i as usize].up;
        if let Some(a) = qs.sac_active.filter(|a| qs.sac_order.contains(a) && up(a)) {
            return Some(a);
        }
        let mut best: Option<((u32, u32), i32)> = None;
        for s in qs.sac_order.iter().filter(|s| up(s)) {
            let p = self.consumer_priority(s.0);
            if best.is_none_or(|(_, bp)| p > bp) {
                best = Some((*s, p));
            }
        }
        best.map(|(s, _)| s)
    }

    /// Instance `(c, i)` of a consumer of `q` restarted, or its channel was
    /// closed and it consumed again on a new one: it registers again, behind
    /// the others, and if it was the active one it is no longer.
    pub(crate) fn sac_reregister(&mut self, q: u32, c: u32, i: u32) {
        let Some(qs) = self.queues.get_mut(q as usize) else {
            return;
        };
        if !qs.sac {
            return;
        }
        if qs.sac_active == Some((c, i)) {
            qs.sac_active = None;
        }
        if let Some(k) = qs.sac_order.iter().position(|&s| s == (c, i)) {
            qs.sac_order.remove(k);
            qs.sac_order.push((c, i));
        }
    }

    /// The next delivery of a single-active-consumer queue: its active
    /// instance, if that has prefetch room. Records the failover.
    pub(crate) fn sac_next(&mut self, q: u32) -> Option<(u32, u32)> {
        let (c, i) = self.sac_candidate(q)?;
        self.queues[q as usize].sac_active = Some((c, i));
        self.instance_has_room(c, i).then_some((c, i))
    }

    /// Is instance `(c, i)` a standby of a single-active-consumer queue (up,
    /// registered, and not the active one)?
    pub(crate) fn sac_standby(&self, c: u32, i: u32) -> bool {
        let q = self.consumers[c as usize].queue;
        let Some(qs) = self.queues.get(q as usize) else {
            return false;
        };
        qs.sac
            && self.consumers[c as usize].instances[i as usize].up
            && self.sac_candidate(q) != Some((c, i))
    }
}
