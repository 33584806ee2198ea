//! Queues: holding, ordering, expiring and overflowing messages, and handing
//! them to consumers.
//!
//!   enqueue ──► ready (FIFO) ──dispatch (round-robin, prefetch room)──► consumer::deliver
//!     │            │   ▲
//!     │            │   └── requeue (nack / crash: back at the head)
//!     │            ├── TTL ran out ──► expire ──► dead_letter
//!     └── full ────┴── max_length / overflow ──► drop (`queue_full`) or dead_letter (`maxlen`)
//!
//! Reacts to: `Event::ExpiryCheck`; commands `SetMaxLength`, `SetOverflow`
//! (switching to drop-head trims), `PurgeQueue` (and `SetQueueTtl`, which
//! only changes configuration).
//! Exports to other models: `enqueue`, `requeue`, `dispatch`, `has_room`,
//! `rebuild_subscribers`, `queue_drop`, `queue_note_{delivered,released,acked}`,
//! `queue_has_dlx`.
//! Guarantees: a drop-head queue never holds more than its `max_length` once
//! an event is done (a reject-publish one may, after a requeue or a lowered
//! limit, as in RabbitMQ, and then refuses every publish); dispatch is work-conserving (no message waits while an up
//! subscriber has prefetch room); `dispatch` and `enforce_max_length` are not
//! re-entrant per queue, so the stack stays flat however deep the queue.

use super::ready::Ready;
use crate::engine::core::{Engine, Event, Target};
use crate::engine::message::{flag, Message, MsgExt, MsgState, Sym, NO_EXT};
use crate::engine::time::SimTime;
use crate::engine::trace::{NodeId, Reason, TraceKind};
use crate::scenario::{self, Overflow};

#[derive(Clone, Debug, Default)]
pub(crate) struct QueueState {
    pub(crate) node: NodeId,
    /// Ready messages in delivery order (per priority level in a priority queue).
    pub(crate) ready: Ready,
    pub(crate) subscribers: Vec<(u32, u32)>,
    pub(crate) rr: usize,
    /// Consumer priorities: `subscribers`' runs per priority, highest first
    /// (empty when all are equal; see `model::consumer_priority`).
    pub(crate) prio_groups: Vec<super::consumer_priority::PrioGroup>,
    /// Single active consumer (`x-single-active-consumer`), and the instance
    /// that was active at the last dispatch (see `model::single_active`).
    pub(crate) sac: bool,
    pub(crate) sac_active: Option<(u32, u32)>,
    /// Single active consumer: the instances in registration order (a
    /// restart registers again, at the back); empty on other queues.
    pub(crate) sac_order: Vec<(u32, u32)>,
    pub(crate) dlx: Option<u32>,
    pub(crate) dlrk: Option<Sym>,
    /// The queue's id as an interned routing key (default-exchange publishes).
    pub(crate) name_sym: Sym,
    pub(crate) expiry_check_us: Option<u64>,
    /// Re-entrancy guards for `dispatch` and `enforce_max_length` (see there).
    pub(crate) dispatching: bool,
    pub(crate) trimming: bool,
    /// `consumer_timeout` in µs (0: none; `model::ack_timeout`), and the
    /// channels it closed.
    pub(crate) consumer_timeout_us: u64,
    pub(crate) ack_timeouts: u64,
    pub(crate) unacked: u32,
    pub(crate) enqueued: u64,
    pub(crate) delivered: u64,
    pub(crate) acked: u64,
    pub(crate) expired: u64,
    pub(crate) dead_lettered: u64,
    pub(crate) dropped: u64,
    pub(crate) depth_max: u32,
    /// Arrival order (`Engine::stamp_arrival`): one past the largest message
    /// id that reached the queue (0: none yet), and how many arrived out of
    /// id order since.
    pub(crate) arrival_end: u64,
    pub(crate) arrival_late: u64,
}

/// What a quorum queue makes of a TTL of 0: expiry one millisecond after
/// the enqueue (`rabbit_fifo`: "discard the message if it cannot be
/// consumed within the same millisecond").
const QUORUM_TTL_ZERO_GRACE_US: u64 = 1_000;

impl Engine {
    /// Create the state of queue `q` (scenario order; called once per queue by `Engine::new`).
    pub(crate) fn add_queue(&mut self, q: &scenario::Queue) {
        let dlx = q
            .dead_letter_exchange
            .as_ref()
            .map(|a| match self.target_of(a) {
                Target::Exchange(i) => i,
                _ => {
                    unreachable!("validated: dead-letter exchange is an exchange")
                }
            });
        let dlrk = q.dead_letter_routing_key.as_ref().map(|k| self.intern(k));
        let name_sym = self.intern(&q.id);
        self.queues.push(QueueState {
            node: self.node_id(&q.id),
            dlx,
            dlrk,
            name_sym,
            ready: Ready::with_max_priority(q.max_priority.map_or(0, |p| p.min(255) as u8)),
            sac: q.single_active_consumer,
            consumer_timeout_us: q.consumer_timeout.map_or(0, |d| d.us()),
            ..Default::default()
        });
    }

    pub(crate) fn rebuild_subscribers(&mut self, q: u32) {
        let mut subs = Vec::new();
        for (ci, c) in self.consumers.iter().enumerate() {
            if c.queue == q {
                for ii in 0..c.instances.len() {
                    subs.push((ci as u32, ii as u32));
                }
            }
        }
        let qs = &mut self.queues[q as usize];
        if qs.sac {
            // Registration order: those still there keep their places, new
            // instances register behind them in consumer order.
            qs.sac_order.retain(|s| subs.contains(s));
            for &s in &subs {
                if !qs.sac_order.contains(&s) {
                    qs.sac_order.push(s);
                }
            }
        }
        qs.subscribers = subs;
        if qs.rr >= qs.subscribers.len() {
            qs.rr = 0;
        }
        self.group_by_priority(q);
    }

    pub(crate) fn enqueue(&mut self, slot: u32, q: u32) {
        let qi = q as usize;
        if self.is_sqs_queue(q) {
            self.sqs_send(slot, q);
            return;
        }
        let qnode = self.queues[qi].node;
        let qttl = self.cfg.queues[qi].ttl.map(|d| d.us());
        {
            let now = self.now.0;
            let ttl = match (qttl, self.msg_ttl_us(slot)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // A quorum queue (`delivery_limit`) does not model TTL 0 as
            // the immediate flag: `rabbit_fifo:update_expiry_header` gives
            // the message one millisecond to be consumed. (Looked up only
            // for a TTL of 0: this runs for every enqueue.)
            let ttl = match ttl {
                Some(0) if self.cfg.queues[qi].delivery_limit.is_some() => {
                    Some(QUORUM_TTL_ZERO_GRACE_US)
                }
                t => t,
            };
            let m = &mut self.msgs[slot as usize];
            m.queue = q as u16;
            m.set(flag::TTL_ZERO, ttl == Some(0));
            m.expires_us = ttl.map_or(u64::MAX, |t| now.saturating_add(t));
        }
        let id = self.msgs[slot as usize].id;
        let max_length = self.cfg.queues[qi].max_length;
        // RabbitMQ's classic queue (`maybe_deliver_or_enqueue` in
        // rabbit_amqqueue_process.erl) checks `will_overflow` — ready length
        // + 1 > max-length — *before* trying delivery for the two reject
        // modes, so with `max_length` 0 they refuse every publish even when a
        // consumer is idle. For drop-head it tries delivery first
        // (`deliver_or_enqueue`): a message an idle consumer takes at once
        // never pushes out the head.
        let deliverable_now = self.queues[qi].ready.is_empty() && self.has_room(q);
        let over = max_length.is_some_and(|l| self.queues[qi].ready.len() >= l as usize);
        let full = match self.cfg.queues[qi].overflow {
            Overflow::RejectPublish | Overflow::RejectPublishDlx => over,
            Overflow::DropHead => over && !deliverable_now,
        };
        if full {
            match self.cfg.queues[qi].overflow {
                Overflow::RejectPublish => {
                    self.fx_publish_refused(slot);
                    self.set_state(slot, MsgState::Queued);
                    self.queue_drop(slot, q, Reason::QueueFull);
                    return;
                }
                Overflow::RejectPublishDlx => {
                    self.fx_publish_refused(slot);
                    self.set_state(slot, MsgState::Queued);
                    self.dead_letter_or_drop(slot, q, Reason::Maxlen);
                    return;
                }
                Overflow::DropHead => {}
            }
        }
        // Counted only once appended: a refused publish was never enqueued
        // (and has no `Enqueued` trace event).
        self.totals.enqueued += 1;
        self.queues[qi].enqueued += 1;
        self.msgs[slot as usize].set(flag::FROM_PRODUCER, false);
        self.fx_reached(slot, q);
        self.set_state(slot, MsgState::Queued);
        self.stamp_arrival(slot, q);
        let level = self.priority_in(slot, q);
        self.queues[qi].ready.push_back(slot, level);
        let depth = self.queues[qi].ready.len() as u32;
        self.trace
            .record(self.now, TraceKind::Enqueued { depth }, Some(id), qnode);
        if deliverable_now {
            self.dispatch(q);
            self.enforce_max_length(q);
        } else {
            self.enforce_max_length(q);
            self.dispatch(q);
        }
    }

    /// The priority level `slot` takes in `q`: its producer's `priority`
    /// (a handler's publish keeps its request's, as it keeps its headers),
    /// capped at the queue's `max_priority` (RabbitMQ treats a higher one as
    /// the maximum, and no priority as 0). Always 0 in a plain queue.
    #[inline]
    pub(crate) fn priority_in(&self, slot: u32, q: u32) -> u8 {
        let max = self.queues[q as usize].ready.max_priority();
        if max == 0 {
            return 0;
        }
        let origin = self.msgs[slot as usize].origin as usize;
        let p = self.cfg.producers[origin].priority.unwrap_or(0);
        p.min(u32::from(max)) as u8
    }

    /// The head's TTL may have run out: expire what is due and dispatch.
    pub(crate) fn on_expiry_check(&mut self, q: u32) {
        let qs = &mut self.queues[q as usize];
        if qs.expiry_check_us == Some(self.now.0) {
            qs.expiry_check_us = None;
        }
        self.dispatch(q);
    }

    /// Does any up instance subscribed to `q` have prefetch room? (No side effects.)
    #[inline]
    pub(crate) fn has_room(&self, q: u32) -> bool {
        match self.queues[q as usize].subscribers[..] {
            [(c, i)] => self.instance_has_room(c, i),
            _ => self.has_room_any(q),
        }
    }

    /// `has_room` for several subscribers: any of them, or on a
    /// single-active-consumer queue only the active one.
    #[inline(never)]
    fn has_room_any(&self, q: u32) -> bool {
        let qs = &self.queues[q as usize];
        if qs.sac {
            return self
                .sac_candidate(q)
                .is_some_and(|(c, i)| self.instance_has_room(c, i));
        }
        qs.subscribers
            .iter()
            .any(|&(c, i)| self.instance_has_room(c, i))
    }

    /// Drop from the head (dead-lettering with `maxlen`) until the queue fits.
    ///
    /// Not re-entrant per queue: a dead-lettered head may be routed straight
    /// back into this queue, whose enqueue trims again. The loop below re-reads
    /// the length on every turn, so the inner call returns at once; otherwise
    /// the stack would grow with the queue's length (a deep queue cut down by
    /// `SetMaxLength` overflowed it).
    #[inline]
    pub(crate) fn enforce_max_length(&mut self, q: u32) {
        // Most queues have no limit: answer that without a call (this runs
        // twice per enqueue).
        if self.cfg.queues[q as usize].max_length.is_some() {
            self.trim_to_max_length(q);
        }
    }

    /// `enforce_max_length` for a queue with a limit. Only drop-head trims:
    /// a `reject-publish(-dlx)` queue never drops what it already holds
    /// (RabbitMQ's `maybe_drop_head` returns at once for them, after a
    /// requeue or a lowered limit alike); it stays over the limit and
    /// refuses publishes until it is below it.
    #[inline(never)]
    fn trim_to_max_length(&mut self, q: u32) {
        let qi = q as usize;
        if self.queues[qi].trimming || self.cfg.queues[qi].overflow != Overflow::DropHead {
            return;
        }
        self.queues[qi].trimming = true;
        while let Some(l) = self.cfg.queues[qi].max_length {
            if self.queues[qi].ready.len() <= l as usize {
                break;
            }
            let head = self.queues[qi]
                .ready
                .pop_front()
                .expect("longer than limit");
            self.dead_letter_or_drop(head, q, Reason::Maxlen);
        }
        self.queues[qi].trimming = false;
    }

    pub(crate) fn note_depth(&mut self, q: u32) {
        let qs = &mut self.queues[q as usize];
        let d = qs.ready.len() as u32;
        if d > qs.depth_max {
            qs.depth_max = d;
        }
    }

    /// Expire heads whose TTL ran out, then hand ready messages to instances
    /// with prefetch room, round-robin; finally arm the next expiry check.
    ///
    /// Not re-entrant per queue: an expired head is dead-lettered, and the
    /// dead-letter exchange may route it (or a copy) back into this queue,
    /// whose enqueue dispatches again. The loop below re-reads the head on
    /// every turn, so the inner call has nothing to add and returns at once.
    /// Without this guard every expiry nested one level deeper and a queue
    /// full of due messages overflowed the stack (found by the property test).
    pub(crate) fn dispatch(&mut self, q: u32) {
        let qi = q as usize;
        if self.is_sqs_queue(q) {
            // Nothing is pushed: idle SQS consumers poll.
            self.sqs_wake(q);
            return;
        }
        self.note_depth(q);
        if self.queues[qi].dispatching {
            return;
        }
        self.queues[qi].dispatching = true;
        while let Some(&head) = self.queues[qi].ready.front() {
            let m = &self.msgs[head as usize];
            let due = m.expires_us <= self.now.0;
            // RabbitMQ: a TTL of 0 expires a message on reaching the queue
            // "unless it can be delivered to a consumer immediately". Such a
            // message is due the instant it arrives; it may still be handed
            // to a consumer with room in that same dispatch, never later.
            let deliverable_when_due = m.has(flag::TTL_ZERO) && m.expires_us == self.now.0;
            if due && !deliverable_when_due {
                self.queues[qi].ready.pop_front();
                self.expire(head, q);
                continue;
            }
            let Some((c, i)) = self.next_subscriber_with_room(q) else {
                if due {
                    self.queues[qi].ready.pop_front();
                    self.expire(head, q);
                    continue;
                }
                break;
            };
            self.queues[qi].ready.pop_front();
            self.deliver(head, q, c, i);
        }
        self.queues[qi].dispatching = false;
        self.arm_expiry(q);
    }

    /// The next subscriber with room, round-robin from `rr` (which then
    /// points past it). A queue with one subscriber, the common case, is
    /// answered inline; the scan is out of line.
    #[inline(always)]
    pub(crate) fn next_subscriber_with_room(&mut self, q: u32) -> Option<(u32, u32)> {
        let qs = &self.queues[q as usize];
        if let [(c, i)] = qs.subscribers[..] {
            if !self.instance_has_room(c, i) {
                return None;
            }
            self.queues[q as usize].rr = 0;
            return Some((c, i));
        }
        self.scan_subscribers_with_room(q)
    }

    /// `next_subscriber_with_room` for any number of subscribers. Wraps by
    /// comparison, not `%`: this runs for every delivery, and a division
    /// costs more than the rest of the scan.
    #[inline(never)]
    fn scan_subscribers_with_room(&mut self, q: u32) -> Option<(u32, u32)> {
        if self.queues[q as usize].sac {
            return self.sac_next(q);
        }
        if !self.queues[q as usize].prio_groups.is_empty() {
            return self.scan_priority_groups(q);
        }
        let qs = &self.queues[q as usize];
        let n = qs.subscribers.len();
        let mut idx = if qs.rr < n { qs.rr } else { 0 };
        for _ in 0..n {
            let (c, i) = qs.subscribers[idx];
            idx += 1;
            if idx == n {
                idx = 0;
            }
            if self.instance_has_room(c, i) {
                self.queues[q as usize].rr = idx;
                return Some((c, i));
            }
        }
        None
    }

    pub(crate) fn arm_expiry(&mut self, q: u32) {
        let qi = q as usize;
        let Some(&head) = self.queues[qi].ready.front() else {
            return;
        };
        let at = self.msgs[head as usize].expires_us;
        if at == u64::MAX {
            return;
        }
        // Never schedule in the past. Every caller dispatches first, which
        // expires overdue heads, so this only guards against a future caller.
        debug_assert!(at >= self.now.0, "expiry check armed in the past");
        let at = at.max(self.now.0);
        let qs = &mut self.queues[qi];
        if qs.expiry_check_us.is_none_or(|t| t > at) {
            qs.expiry_check_us = Some(at);
            self.agenda.schedule(SimTime(at), Event::ExpiryCheck { q });
        }
    }

    pub(crate) fn expire(&mut self, slot: u32, q: u32) {
        let id = self.msgs[slot as usize].id;
        let qnode = self.queues[q as usize].node;
        self.trace
            .record(self.now, TraceKind::Expired, Some(id), qnode);
        self.totals.expired += 1;
        self.queues[q as usize].expired += 1;
        self.dead_letter_or_drop(slot, q, Reason::Expired);
    }

    /// Put a returned delivery back at the head (or dead-letter it past the
    /// delivery limit), then trim a drop-head queue to its limit.
    pub(crate) fn requeue(&mut self, slot: u32, q: u32) {
        if !self.return_past_limit(slot, q) {
            self.put_back(slot, q);
            self.enforce_max_length(q);
        }
    }

    /// Count a return of `slot` to `q`; past the queue's delivery limit it is
    /// dead-lettered (`delivery_limit`) and this answers true.
    pub(crate) fn return_past_limit(&mut self, slot: u32, q: u32) -> bool {
        let x = self.ext_mut(slot);
        x.returns += 1;
        let returns = x.returns;
        if self.cfg.queues[q as usize]
            .delivery_limit
            .is_some_and(|l| returns > l)
        {
            self.set_state(slot, MsgState::Queued);
            self.dead_letter_or_drop(slot, q, Reason::DeliveryLimit);
            return true;
        }
        false
    }

    /// RabbitMQ gives a message its place in a queue (a sequence id) when it
    /// reaches the queue, and a requeue puts it back there
    /// (`rabbit_variable_queue:requeue`). Message ids are given at publish,
    /// so they follow arrival order except for a message overtaken on the
    /// way (producer `latency`, link `jitter`) or dead-lettered in from
    /// another queue (or back into this one): only those get a key of their
    /// own, (the largest id arrived before it, a count), in the extension
    /// record, so a plain message costs nothing more (`arrival_key`).
    #[inline]
    fn stamp_arrival(&mut self, slot: u32, q: u32) {
        let id = self.msgs[slot as usize].id;
        let qs = &mut self.queues[q as usize];
        if id >= qs.arrival_end {
            qs.arrival_end = id + 1;
            qs.arrival_late = 0;
            if self.ext(slot).is_some_and(|x| x.arrival_key.is_some()) {
                self.ext_mut(slot).arrival_key = None;
            }
        } else {
            qs.arrival_late += 1;
            let key = (qs.arrival_end - 1, qs.arrival_late);
            self.ext_mut(slot).arrival_key = Some(key);
        }
    }

    /// Where `slot`'s message arrived in its queue, as a sort key: its id,
    /// unless it arrived out of id order (`stamp_arrival`).
    #[inline]
    pub(crate) fn arrival_key(&self, slot: u32) -> (u64, u64) {
        arrival_key_in(&self.msgs, &self.exts, slot)
    }

    /// A counted return goes back to its original position, flagged
    /// redelivered; the queue is not trimmed here (`requeue` does, and a
    /// batch of returns trims once after all are back).
    pub(crate) fn put_back(&mut self, slot: u32, q: u32) {
        let qi = q as usize;
        let m = &mut self.msgs[slot as usize];
        m.set(flag::REDELIVERED, true);
        // A returned message keeps its expiry; with a TTL of 0 it has had
        // its one immediate delivery: back in the queue it is due and
        // expires (RabbitMQ drops expired messages at a requeue, `Now >=
        // Expiry`, before delivering again: `requeue_and_run`).
        m.set(flag::TTL_ZERO, false);
        self.set_state(slot, MsgState::Queued);
        let level = self.priority_in(slot, q);
        // RabbitMQ: "When a message is requeued, it will be placed to its
        // original position in its queue, if possible" (classic queues, by
        // their sequence ids; a quorum queue serves its returns first, in
        // the order returned): after the ready messages that arrived before
        // it (`stamp_arrival`).
        let key = self.arrival_key(slot);
        let (msgs, exts) = (&self.msgs, &self.exts);
        self.queues[qi]
            .ready
            .insert_returned(slot, level, |s| arrival_key_in(msgs, exts, s) < key);
        self.totals.requeued += 1;
        let depth = self.queues[qi].ready.len() as u32;
        let id = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::Requeued { depth },
            Some(id),
            self.queues[qi].node,
        );
    }

    /// `SetMaxLength`: a lower limit trims a drop-head queue from the head at
    /// once (a reject-publish queue keeps what it holds).
    pub(crate) fn set_max_length(&mut self, q: u32, max_length: Option<u32>) {
        self.cfg.queues[q as usize].max_length = max_length;
        self.enforce_max_length(q);
        // Dispatch, not just re-arm: the trim may expose a head whose
        // TTL already ran out behind a longer-lived message. It must
        // expire now; arming a check at its (past) expiry time put an
        // event before `now` on the agenda.
        self.dispatch(q);
    }

    /// `PurgeQueue`: drop every ready message (`purged`); deliveries held by
    /// consumers are not touched.
    pub(crate) fn purge_queue(&mut self, q: u32) {
        if self.is_sqs_queue(q) {
            return self.sqs_purge(q);
        }
        let ready = self.queues[q as usize].ready.take_all();
        for s in ready {
            self.queue_drop(s, q, Reason::Purged);
        }
    }

    // ------------------------------------------------ exported to other models

    /// Stop dispatching to instances `keep..` of consumer `c` (before they are
    /// removed), leaving the round-robin position as `rebuild_subscribers` would.
    pub(crate) fn unsubscribe_from(&mut self, q: u32, c: u32, keep: u32) {
        let qs = &mut self.queues[q as usize];
        qs.subscribers.retain(|&(sc, si)| sc != c || si < keep);
        if qs.rr >= qs.subscribers.len() {
            qs.rr = 0;
        }
        self.group_by_priority(q);
    }

    /// A queue gives up on `slot` without dead-lettering it: counted against
    /// the queue and dropped with `reason`, placed at the queue in the trace.
    pub(crate) fn queue_drop(&mut self, slot: u32, q: u32, reason: Reason) {
        let qnode = self.queues[q as usize].node;
        self.queues[q as usize].dropped += 1;
        self.drop_message(slot, reason, qnode);
    }

    /// The consumer side took a delivery from `q` (now unacked); returns the
    /// queue's trace node.
    pub(crate) fn queue_note_delivered(&mut self, q: u32) -> NodeId {
        let qs = &mut self.queues[q as usize];
        qs.delivered += 1;
        qs.unacked += 1;
        qs.node
    }

    /// `n` deliveries from `q` are no longer held by a consumer (settled,
    /// returned or lost).
    pub(crate) fn queue_note_released(&mut self, q: u32, n: u32) {
        self.queues[q as usize].unacked -= n;
    }

    /// Queue `q`'s deliveries not yet acknowledged, as RabbitMQ's
    /// `messages_unacknowledged` counts them: an auto-ack consumer's count
    /// as acknowledged when sent (prefetch still bounds what it holds here,
    /// which `unacked` tracks for the invariants).
    pub(crate) fn queue_unacked(&self, q: u32) -> u32 {
        // By each delivery's own mode (a knob may have switched the
        // consumer's since); a queue holding nothing needs no walk.
        let held = self.queues[q as usize].unacked;
        if held == 0 {
            return 0;
        }
        let auto_held = self
            .consumers
            .iter()
            .filter(|c| c.queue == q)
            .flat_map(|c| &c.instances)
            .flat_map(|x| x.buffer.iter().chain(&x.in_transit).chain(&x.acking))
            .filter(|&&slot| self.msgs[slot as usize].auto_acked())
            .count();
        held.saturating_sub(auto_held as u32)
    }

    /// A delivery from `q` was acknowledged.
    pub(crate) fn queue_note_acked(&mut self, q: u32) {
        self.queues[q as usize].acked += 1;
    }

    /// Does queue `q` have a dead-letter exchange?
    pub(crate) fn queue_has_dlx(&self, q: u32) -> bool {
        self.queues[q as usize].dlx.is_some()
    }
}

/// `Engine::arrival_key` over the message and extension arenas (so a
/// caller can hold a queue mutably meanwhile).
#[inline]
fn arrival_key_in(msgs: &[Message], exts: &[MsgExt], slot: u32) -> (u64, u64) {
    let m = &msgs[slot as usize];
    match m.ext {
        NO_EXT => (m.id, 0),
        e => exts[e as usize].arrival_key.unwrap_or((m.id, 0)),
    }
}
