//! Pulsar consumers' answers and their consequences: acknowledgements
//! (individual and cumulative, moving the cursor's mark-delete position),
//! negative acks through the client's tracker timer, ack timeouts, the
//! broker's redelivery counts (the dead-letter and retry-letter topics
//! they lead to are in `pulsar_dlq.rs`), and consumer crashes and restarts (split
//! from `pulsar_dispatch.rs`, which sends; this file takes the answers).
//!
//!   handler done ──ok──► ack (individual | cumulative) ──► cursor moves ──► topic deleted up to it
//!                └─fail──► nack ──tracker timer──► redeliver (count + 1) ──> max? ──► DLQ
//!                       └─ retry letter ──► RETRY log, back after the delay ──> max? ──► DLQ
//!   ack timeout ──► redeliver (shared) / rewind (exclusive, failover)
//!   crash ──► everything it held goes out again; failover elects the next
//!
//! Timing and counting rules are listed in `pulsar_dispatch.rs`; this file
//! owns no state of its own (it works on `Pulsar`).

use super::pulsar::{PEntry, Pos, PulsarEvent, RETRY_PART, SETTLED, VQ_PULSAR_BASE};
use super::pulsar_dispatch::{NACK_DELAY_MIN_US, NO_COPY};
use crate::engine::core::{Engine, Event};
use crate::engine::message::MsgState;
use crate::engine::trace::{Reason, TraceKind};
use crate::scenario::{RedeliveryBackoff, SubscriptionType};

/// `MultiplierRedeliveryBackoff.next(n)`.
pub(crate) fn backoff_us(b: &RedeliveryBackoff, n: u32) -> u64 {
    let (min, max) = (b.min_delay.us(), b.max_delay.us());
    if n == 0 || min == 0 {
        return min;
    }
    let d = min as f64 * libm::pow(b.multiplier, n as f64);
    if d >= max as f64 {
        max
    } else {
        d as u64
    }
}

impl Engine {
    pub(crate) fn p_done(&mut self, s: u32, c: u32, epoch: u32) {
        let si = s as usize;
        let cs = &mut self.pulsar.subs[si].consumers[c as usize];
        if cs.epoch != epoch {
            return;
        }
        let Some((pos, copy)) = cs.busy.take() else {
            return;
        };
        let rate = self.cfg.pulsar_subscriptions[si].failure_rate;
        let failed = rate > 0.0 && self.pulsar.subs[si].rng.chance(rate);
        let node = self.pulsar.subs[si].node;
        let mid = self.msgs[copy as usize].id;
        let mine = self.pulsar.subs[si].by_copy.get(&copy) == Some(&pos);
        if self.p_acks_on_receive(s) {
            // Acknowledged when received: success is the effect alone; a
            // failure cannot be redelivered any more, the message is lost.
            self.pulsar.subs[si].by_copy.remove(&copy);
            self.p_copy_done(s, copy, true);
            if failed {
                self.totals.failed += 1;
                self.drop_message(copy, Reason::LostAfterAutoAck, node);
            } else {
                self.pulsar.subs[si].consumers[c as usize].processed += 1;
                self.p_effect(s, c, copy);
                self.totals.processed += 1;
                self.complete(copy);
            }
            self.p_next(s, c);
            self.p_dispatch(s);
            return;
        }
        if !failed {
            // Successes only, as a queue consumer's `processed`.
            self.pulsar.subs[si].consumers[c as usize].processed += 1;
            self.p_effect(s, c, copy);
            self.totals.processed += 1;
            self.pulsar.subs[si].by_copy.remove(&copy);
            self.p_ack(s, c, pos, copy);
            self.p_copy_done(s, copy, true);
            self.complete(copy);
        } else {
            self.totals.failed += 1;
            self.totals.nacked += 1;
            self.pulsar.subs[si].nacked += 1;
            self.pulsar.subs[si].by_copy.remove(&copy);
            if mine {
                self.p_pend(s, pos, c, NO_COPY);
            }
            if let Some(delay) = self.cfg.pulsar_subscriptions[si].retry_letter_delay {
                self.p_copy_done(s, copy, false);
                self.p_unpend(s, pos);
                self.p_reconsume_later(s, pos, delay.us());
            } else {
                let rc = self.deliveries(copy) - 1;
                self.p_copy_done(s, copy, false);
                let sub = &self.cfg.pulsar_subscriptions[si];
                // The client's 100 ms floor applies to the fixed delay only;
                // a backoff's own delays are taken as they are (Java client,
                // `NegativeAcksTracker.add`).
                let delay_us = match &sub.negative_ack_backoff {
                    Some(b) => backoff_us(b, rc),
                    None => self.pulsar.subs[si].nack_delay_us.max(NACK_DELAY_MIN_US),
                };
                self.trace.record(
                    self.now,
                    TraceKind::PulsarNacked {
                        consumer: c,
                        partition: pos.0,
                        offset: pos.1,
                        delay_us,
                    },
                    Some(mid),
                    node,
                );
                let now = self.now.0;
                let cs = &mut self.pulsar.subs[si].consumers[c as usize];
                cs.nacks.push((now + delay_us, pos));
                // `NegativeAcksTracker.add`: a tracker without a timer arms
                // one for this nack's delay; one already armed is left as it
                // is (a shorter delay made while it runs waits for it).
                if cs.nack_timers.insert(pos.0) {
                    let epoch = cs.epoch;
                    self.agenda.schedule(
                        self.now.after(delay_us),
                        Event::Pulsar(PulsarEvent::NackTick {
                            s,
                            c,
                            epoch,
                            log: pos.0,
                        }),
                    );
                }
            }
        }
        self.p_next(s, c);
        self.p_dispatch(s);
    }

    /// The stored entry at `pos`, unless the subscription acknowledged it
    /// already (it may then be deleted from its log).
    pub(crate) fn p_unacked_entry(&self, s: u32, pos: Pos) -> Option<PEntry> {
        let st = &self.pulsar.subs[s as usize];
        let ci = if pos.0 == RETRY_PART {
            st.cursors.len() - 1
        } else {
            pos.0 as usize
        };
        if st.cursors[ci].is_acked(pos.1) {
            return None;
        }
        self.p_log(s, pos.0).get(pos.1).copied()
    }

    /// Does subscription `s` acknowledge on receipt (ack mode `auto`)?
    pub(crate) fn p_acks_on_receive(&self, s: u32) -> bool {
        self.cfg.pulsar_subscriptions[s as usize].ack_mode == Some(crate::scenario::AckMode::Auto)
    }

    /// The handler's side effect, unless its idempotency store has seen the
    /// business id within its window (then skipped and counted).
    fn p_effect(&mut self, s: u32, c: u32, copy: u32) {
        let si = s as usize;
        if let Some(d) = self.cfg.pulsar_subscriptions[si].dedup {
            let bid = self.business_id(copy);
            let now = self.now.0;
            if self.pulsar.subs[si]
                .dedup
                .seen_or_insert(bid, now, d.window.us())
            {
                self.effects.report.deduplicated += 1;
                let node = self.pulsar.subs[si].node;
                let id = self.msgs[copy as usize].id;
                self.trace.record(
                    self.now,
                    TraceKind::Deduplicated {
                        instance: c,
                        original: bid,
                    },
                    Some(id),
                    node,
                );
                return;
            }
        }
        self.fx_effect(copy, (VQ_PULSAR_BASE + s as u16) as u32);
    }

    /// The timer of consumer `c`'s nack tracker on `log` (a partition or
    /// `RETRY_PART`) fires: only that log's nacks.
    pub(crate) fn p_nack_tick(&mut self, s: u32, c: u32, epoch: u32, log: u32) {
        let si = s as usize;
        let now = self.now.0;
        let cs = &mut self.pulsar.subs[si].consumers[c as usize];
        if cs.epoch != epoch {
            return;
        }
        cs.nack_timers.remove(&log);
        let mut due = Vec::new();
        // `triggerRedelivery`: every nack due by now goes (`timestamp <=
        // now`); the timer is re-armed for the earliest one left, and
        // stops when none is left.
        cs.nacks.retain(|&(at, pos)| {
            if pos.0 == log && at <= now {
                due.push(pos);
                false
            } else {
                true
            }
        });
        let next = cs.nacks.iter().filter(|n| n.1 .0 == log).map(|n| n.0).min();
        if let Some(at) = next {
            cs.nack_timers.insert(log);
            self.agenda.schedule(
                crate::engine::SimTime(at),
                Event::Pulsar(PulsarEvent::NackTick { s, c, epoch, log }),
            );
        }
        if due.is_empty() {
            return;
        }
        match self.pulsar.subs[si].kind {
            SubscriptionType::Exclusive | SubscriptionType::Failover => {
                // Only the partitions with a nack due: each has its own
                // consumer and nack tracker in the client.
                let mut parts: Vec<u32> = due.iter().map(|p| p.0).collect();
                parts.sort_unstable();
                parts.dedup();
                self.p_rewind(s, Some(c), Some(&parts), Some(c))
            }
            _ => {
                for pos in due {
                    if self.pulsar.subs[si].pending.get(&pos) == Some(&(c, NO_COPY)) {
                        self.p_redeliver(s, pos);
                    }
                }
                self.p_dispatch(s);
            }
        }
    }

    /// Shared / key_shared: `pos` goes out again, one more redelivery — or
    /// to the dead-letter topic once it has been redelivered
    /// `max_redeliver_count` times.
    pub(crate) fn p_redeliver(&mut self, s: u32, pos: Pos) {
        let si = s as usize;
        let rc = self.pulsar.subs[si]
            .redeliveries
            .get(&pos)
            .copied()
            .unwrap_or(0);
        self.p_unpend(s, pos);
        if self.p_max_redeliver(s).is_some_and(|max| rc >= max) {
            self.p_dead_letter(s, pos);
            return;
        }
        self.pulsar.subs[si].redeliveries.insert(pos, rc + 1);
        self.p_replay_add(s, pos);
    }

    pub(crate) fn p_ack_timeout(&mut self, s: u32, c: u32, copy: u32, gen: u32) {
        let si = s as usize;
        let m = &self.msgs[copy as usize];
        if m.gen != gen || m.state != MsgState::Unacked {
            return;
        }
        let Some(&pos) = self.pulsar.subs[si].by_copy.get(&copy) else {
            return;
        };
        if self.pulsar.subs[si].pending.get(&pos) != Some(&(c, copy)) {
            return;
        }
        self.pulsar.subs[si].ack_timeouts += 1;
        let node = self.pulsar.subs[si].node;
        let mid = m.id;
        self.trace.record(
            self.now,
            TraceKind::PulsarAckTimedOut {
                consumer: c,
                partition: pos.0,
                offset: pos.1,
            },
            Some(mid),
            node,
        );
        match self.pulsar.subs[si].kind {
            SubscriptionType::Exclusive | SubscriptionType::Failover => {
                // The Java client tracks ack timeouts in the parent consumer
                // of a partitioned topic and redelivers everything unacked
                // (`MultiTopicsConsumerImpl.redeliverUnacknowledgedMessages`):
                // every partition `c` is active on goes back, the others'
                // brokers ignore the request.
                let st = &self.pulsar.subs[si];
                let mut parts: Vec<u32> = (0..st.active.len() as u32)
                    .filter(|&p| st.active[p as usize] == Some(c))
                    .collect();
                if !parts.contains(&pos.0) {
                    parts.push(pos.0);
                }
                self.p_rewind(s, Some(c), Some(&parts), Some(c))
            }
            _ => {
                self.p_redeliver(s, pos);
                self.p_dispatch(s);
            }
        }
    }

    /// Acknowledge one position; `true` when it was not acknowledged yet.
    pub(crate) fn p_ack_one(&mut self, s: u32, pos: Pos) -> bool {
        let si = s as usize;
        let st = &mut self.pulsar.subs[si];
        let ci = Self::p_ci(st, pos.0);
        let cur = &mut st.cursors[ci];
        if cur.is_acked(pos.1) {
            return false;
        }
        if pos.1 == cur.md {
            cur.md += 1;
            while cur.acked.remove(&cur.md) {
                cur.md += 1;
            }
        } else {
            cur.acked.insert(pos.1);
        }
        if pos.0 != RETRY_PART {
            st.backlog -= 1;
        }
        st.redeliveries.remove(&pos);
        st.replayed.remove(&pos);
        self.p_unpend(s, pos);
        self.p_replay_remove(s, pos);
        // Recently joined consumers are free once everything before their
        // join position is acknowledged.
        // Per cursor: a partition whose mark-delete position passed the
        // join position lifts its limit; with none left the consumer is free.
        let st = &mut self.pulsar.subs[si];
        let mds: Vec<u64> = st.cursors.iter().map(|c| c.md).collect();
        for cs in &mut st.consumers {
            if let Some(l) = cs.join_limit.as_mut() {
                for (lim, md) in l.iter_mut().zip(&mds) {
                    if md >= lim {
                        *lim = u64::MAX;
                    }
                }
                if l.iter().all(|&x| x == u64::MAX) {
                    cs.join_limit = None;
                }
            }
        }
        self.p_settle(s, pos);
        true
    }

    /// Retire the message stored at `pos` once every subscription of its
    /// topic has acknowledged it (a retry-letter entry: its one
    /// subscription). Acknowledged positions are never delivered again
    /// (redeliveries, rewinds and replays take unacknowledged ones only), so
    /// the entry is final for the ledger although the log keeps it behind
    /// an ack hole or for retention (`SETTLED`).
    fn p_settle(&mut self, s: u32, pos: Pos) {
        let si = s as usize;
        let log = if pos.0 == RETRY_PART {
            &mut self.pulsar.subs[si].retry_log
        } else {
            let t = self.pulsar.subs[si].topic as usize;
            let part = pos.0 as usize;
            let all_acked = self.pulsar.topics[t]
                .subs
                .iter()
                .all(|&k| self.pulsar.subs[k as usize].cursors[part].is_acked(pos.1));
            if !all_acked {
                return;
            }
            &mut self.pulsar.topics[t].logs[part]
        };
        let Some(e) = log.get_mut(pos.1) else {
            return;
        };
        let slot = std::mem::replace(&mut e.slot, SETTLED);
        if slot != SETTLED {
            log.settled += 1;
            self.retire(slot);
        }
    }

    /// Subscription `s` lets go of the message stored at `pos` (arena slot
    /// `slot`) without handling it: evicted by the backlog quota, covered
    /// by a cumulative ack, or dead-lettered to a topic nothing reads. Call
    /// it before acknowledging `pos`. The guarantee ledger learns the
    /// reason. A copy of it in a consumer's hands is still handled: it
    /// carries the subscription's share (`carried`: in flight until then,
    /// completed or dropped there, `p_copy_done`). Otherwise the share is
    /// dropped now (`p_count_drop`).
    pub(crate) fn p_drop_share(&mut self, s: u32, pos: Pos, slot: u32, reason: Reason) {
        self.fx_discarded(slot, reason);
        let st = &mut self.pulsar.subs[s as usize];
        match st.pending.get(&pos) {
            Some(&(_, copy)) if copy != NO_COPY => {
                st.carried.insert(copy, reason);
            }
            _ => {
                let id = self.msgs[slot as usize].id;
                self.p_count_drop(s, id, reason);
            }
        }
    }

    /// Subscription `s`'s share of message `id` is dropped for `reason`
    /// while the stored message stays for the other subscriptions: counted
    /// in `totals.dropped` and `dropped_by_reason`, with a `dropped` trace
    /// record at the subscription, so published + copies = completed +
    /// dropped + in flight holds. No entity is discarded (the ledger's
    /// `discarded` counts entities; these are `Pulsar::dropped_shares`).
    fn p_count_drop(&mut self, s: u32, id: u64, reason: Reason) {
        let node = self.pulsar.subs[s as usize].node;
        self.trace
            .record(self.now, TraceKind::Dropped { reason }, Some(id), node);
        self.totals.dropped += 1;
        self.dropped_by_reason[reason.index()] += 1;
        self.pulsar.dropped_shares += 1;
    }

    /// Delivery `copy` of subscription `s` is over. `handled`: it is
    /// completed or dropped as an entity by the caller (its share with it).
    /// Otherwise it is retired here unhandled (a failure, a crash, a
    /// rewind): a share it carried (`carried`) is dropped now, as nothing
    /// delivers an acknowledged position again.
    pub(crate) fn p_copy_done(&mut self, s: u32, copy: u32, handled: bool) {
        let carried = self.pulsar.subs[s as usize].carried.remove(&copy);
        if handled {
            return;
        }
        if let Some(reason) = carried {
            let id = self.msgs[copy as usize].id;
            self.fx_discarded(copy, reason);
            self.p_count_drop(s, id, reason);
        }
        self.retire(copy);
    }

    /// `acknowledgeCumulative`: everything up to `pos` in its partition.
    pub(crate) fn p_ack_cumulative(&mut self, s: u32, pos: Pos) {
        let si = s as usize;
        let st = &self.pulsar.subs[si];
        let from = st.cursors[Self::p_ci(st, pos.0)].md;
        for off in from..=pos.1 {
            let p = (pos.0, off);
            // Not handled yet (a success acknowledges cumulatively up to
            // itself), and now never delivered again: skipped, unless its
            // delivery in the consumer's hands carries it (`p_drop_share`).
            let st = &self.pulsar.subs[si];
            let covered = off != pos.1 && !st.cursors[Self::p_ci(st, pos.0)].is_acked(off);
            if covered {
                let slot = self.p_log(s, pos.0).get(off).expect("stored").slot;
                self.p_drop_share(s, p, slot, Reason::CumulativeAcked);
            }
            self.p_ack_one(s, p);
        }
    }

    /// After acks on `part`: delete what every subscription acknowledged.
    pub(crate) fn p_after_ack(&mut self, s: u32, part: u32) {
        let si = s as usize;
        if part == RETRY_PART {
            loop {
                let st = &self.pulsar.subs[si];
                let ci = st.cursors.len() - 1;
                let base = st.retry_log.base;
                if st.retry_log.entries.is_empty() || !st.cursors[ci].is_acked(base) {
                    break;
                }
                let st = &mut self.pulsar.subs[si];
                let e = st.retry_log.entries.pop_front().expect("not empty");
                st.retry_log.base += 1;
                if e.slot == SETTLED {
                    st.retry_log.settled -= 1;
                } else {
                    self.retire(e.slot);
                }
            }
        } else {
            let t = self.pulsar.subs[si].topic;
            self.p_trim(t);
        }
    }

    /// A consumer crashes: what it held goes out again (its handler's
    /// effect done first when `after_effect`).
    pub(crate) fn p_crash(
        &mut self,
        s: u32,
        c: u32,
        after_effect: bool,
        restart_after_us: Option<u64>,
    ) {
        let si = s as usize;
        let node = self.pulsar.subs[si].node;
        let cs = &mut self.pulsar.subs[si].consumers[c as usize];
        if !cs.up {
            return;
        }
        cs.up = false;
        cs.epoch = cs.epoch.wrapping_add(1);
        cs.nacks.clear();
        cs.nack_timers.clear();
        cs.join_limit = None;
        let epoch = cs.epoch;
        let busy = cs.busy.take();
        let queue: Vec<(Pos, u32)> = cs.queue.drain(..).collect();
        cs.queued.fill(0);
        // `removeConsumer`: with one consumer left, nobody is "recently
        // joined" any more (`recentlyJoinedConsumers.clear()`).
        let st = &mut self.pulsar.subs[si];
        if st.consumers.iter().filter(|x| x.up).count() == 1 {
            for x in &mut st.consumers {
                x.join_limit = None;
            }
        }
        let held: Vec<Pos> = self.pulsar.subs[si]
            .pending
            .iter()
            .filter(|(_, v)| v.0 == c)
            .map(|(p, _)| *p)
            .collect();
        self.trace.record(
            self.now,
            TraceKind::PulsarConsumerCrashed {
                consumer: c,
                unacked: held.len() as u32,
            },
            None,
            node,
        );
        if let Some((_, copy)) = busy {
            if after_effect {
                self.fx_effect(copy, (VQ_PULSAR_BASE + s as u16) as u32);
            }
            self.pulsar.subs[si].by_copy.remove(&copy);
            self.p_copy_done(s, copy, true);
            self.drop_message(copy, Reason::ConsumerCrashed, node);
        }
        for (_, copy) in queue {
            self.pulsar.subs[si].by_copy.remove(&copy);
            self.p_copy_done(s, copy, false);
        }
        let shared = matches!(
            self.pulsar.subs[si].kind,
            SubscriptionType::Shared | SubscriptionType::KeyShared
        );
        // The broker's dispatcher puts what the consumer held back for replay
        // without counting a redelivery (`removeConsumer`: only a nack or an
        // ack timeout increments the redelivery tracker); when the last
        // consumer goes, the tracker is cleared and the counts start over.
        let last_gone = !self.pulsar.subs[si].consumers.iter().any(|x| x.up);
        if shared && last_gone {
            self.pulsar.subs[si].redeliveries.clear();
        }
        for pos in held {
            self.p_unpend(s, pos);
            if shared {
                self.pulsar.subs[si].replayed.insert(pos);
                self.p_replay_add(s, pos);
            }
        }
        match self.pulsar.subs[si].kind {
            SubscriptionType::KeyShared => self.pulsar.subs[si].selector.remove(c),
            SubscriptionType::Exclusive | SubscriptionType::Failover => {
                // Back to the mark-delete position where it was active: its
                // unacknowledged messages go out again (to its successor).
                let st = &mut self.pulsar.subs[si];
                for part in 0..st.active.len() {
                    if st.active[part] == Some(c) {
                        st.cursors[part].read = st.cursors[part].md;
                    }
                }
                self.p_elect(s);
            }
            SubscriptionType::Shared => {}
        }
        if let Some(d) = restart_after_us {
            self.agenda.schedule(
                self.now.after(d),
                Event::Pulsar(PulsarEvent::Restart { s, c, epoch }),
            );
        }
        self.p_dispatch(s);
    }

    pub(crate) fn p_restart(&mut self, s: u32, c: u32) {
        let node = self.pulsar.subs[s as usize].node;
        self.trace.record(
            self.now,
            TraceKind::PulsarConsumerRestarted { consumer: c },
            None,
            node,
        );
        self.p_join(s, c);
    }
}
