//! Pulsar subscriptions at work: dispatching to consumers by subscription
//! type, the consumers' handlers, acknowledgements, negative acks, ack
//! timeouts, the dead-letter and retry-letter topics, delayed delivery,
//! consumer crashes and failover.
//!
//!   dispatch ──exclusive / failover──► the partition's active consumer, in offset order
//!            ──shared──► round robin over consumers with permits, up to 20 in a row
//!                        (a round robin per partition: each has its own dispatcher)
//!            ──key_shared──► the owner of the key's slot; held back (replay) while
//!                            the owner has no permits or older messages of the slot wait
//!   consumer: receiver queue ──handler──► ack (individual | cumulative)
//!                                       └─ fails ──► negative ack ──tracker timer──► redelivery
//!                                                └─ retry letter: reconsumeLater(delay)
//!   ack timeout: not acked (ackTimeout, in 1 s ticks) ──► redelivery (shared) / rewind (exclusive, failover)
//!   redelivery count > maxRedeliverCount ──► dead-letter topic (shared, key_shared)
//!
//! Timing as the Java client and broker do it (see `pulsar.rs` for sources):
//! - Negative acks (the Java client's `NegativeAcksTracker` since Pulsar
//!   4.0.2, PIP-393): a nack is due `delay` after it is made; a tracker
//!   with no timer arms one for that delay, and when the timer fires it
//!   redelivers every nack due by then and re-arms for the earliest one
//!   left (so a shorter delay made while a longer timer runs waits for
//!   it). The delay is `negativeAckRedeliveryDelay` (at least 100 ms) or
//!   `min(min_delay × multiplier^n, max_delay)` for redelivery count n.
//!   Not modelled: the client trims due times to 2^8 ms buckets
//!   (`negativeAckPrecisionBitCnt`), which can make it up to 256 ms early.
//! - Ack timeout: a message is tracked from the moment the handler receives
//!   it, in 1 s buckets: received in tick k, it times out at tick
//!   `k + ceil(timeout / 1 s) + 1`; with a backoff, after `timeout + backoff(n)`.
//! - Exclusive and failover redeliver by rewinding the cursor to its
//!   mark-delete position (every unacknowledged message goes out again, in
//!   order) and keep no redelivery count; shared and key_shared redeliver
//!   the message alone, counting.
//! - A new failover active consumer starts after a 1 s delay
//!   (`activeConsumerFailoverDelayTimeMillis`), from a rewound cursor; the
//!   first one too (the active consumer changed from none). The one that
//!   lost the partition keeps what its receiver queue holds and handles it.
//! - Permits: a receiver queue per consumer and partition (the Java
//!   multi-topics consumer's internal consumers, `p_permits`); none on a
//!   log where the consumer, or the subscription, is blocked on its cap of
//!   unacknowledged messages (per log, `pulsar_unacked.rs`).
//! - Delayed delivery (`deliverAfter`) applies on shared and key_shared
//!   only, with the broker's 1 s tick and its non-strict cutoff (a message
//!   may go out up to one tick early); exclusive and failover ignore it.
//! - Key_Shared: a consumer that joins while messages are unacknowledged
//!   gets only messages read before it joined until all of those are
//!   acknowledged (Pulsar's "recently joined consumers").

use super::pulsar::{PLog, PSubState, Pos, PulsarEvent, RETRY_PART};
use super::pulsar_acks::backoff_us;
use super::redis::draw_service_us;
use crate::engine::core::{Engine, Event};
use crate::engine::message::MsgState;
use crate::engine::trace::TraceKind;
use crate::scenario::{KeySharedMode, SubscriptionType};

/// `dispatcherMaxRoundRobinBatchSize`.
const RR_BATCH: u32 = 20;
/// `activeConsumerFailoverDelayTimeMillis`.
const FAILOVER_DELAY_US: u64 = 1_000_000;
/// `ackTimeoutTickTime` default.
pub(crate) const ACK_TICK_US: u64 = 1_000_000;
/// The client's minimum negative-ack delay.
pub(crate) const NACK_DELAY_MIN_US: u64 = 100_000;
/// "No live copy": the handler is done with it but it is not acknowledged.
pub(crate) const NO_COPY: u32 = u32::MAX;

impl Engine {
    pub(crate) fn p_log(&self, s: u32, part: u32) -> &PLog {
        let st = &self.pulsar.subs[s as usize];
        if part == RETRY_PART {
            &st.retry_log
        } else {
            &self.pulsar.topics[st.topic as usize].logs[part as usize]
        }
    }

    pub(crate) fn p_ci(st: &PSubState, part: u32) -> usize {
        if part == RETRY_PART {
            st.cursors.len() - 1
        } else {
            part as usize
        }
    }

    /// The logs a subscription reads: its topic's partitions, then its retry log.
    pub(crate) fn p_parts(&self, s: u32) -> Vec<u32> {
        let st = &self.pulsar.subs[s as usize];
        let n = self.pulsar.topics[st.topic as usize].logs.len() as u32;
        let mut v: Vec<u32> = (0..n).collect();
        if self.cfg.pulsar_subscriptions[s as usize]
            .retry_letter_delay
            .is_some()
        {
            v.push(RETRY_PART);
        }
        v
    }

    /// Flow permits consumer `c` has on log `part`: its internal consumer's
    /// receiver queue there (`pulsar.rs`, `p_receiver_queue`) less what is
    /// queued from it. Each partition has its own dispatcher and permits,
    /// so every partition flows at once; the handler takes the one queue
    /// in arrival order.
    pub(crate) fn p_permits(&self, s: u32, c: u32, part: u32) -> usize {
        let st = &self.pulsar.subs[s as usize];
        let cs = &st.consumers[c as usize];
        let ci = Self::p_ci(st, part);
        // A consumer blocked on unacknowledged messages of this log gets no
        // permits on it until its acks unblock it; a log whose dispatcher
        // is blocked (the subscription's cap there) sends nothing
        // (`pulsar_unacked.rs`). Other logs go on.
        if !cs.up || cs.blocked[ci] || st.limits.blocked[ci] {
            return 0;
        }
        st.rq[ci].saturating_sub(cs.queued[ci]) as usize
    }

    /// Is the subscription's dispatcher on log `part` blocked on its cap
    /// of unacknowledged messages (`pulsar_unacked.rs`)?
    pub(crate) fn p_sub_blocked(&self, s: u32, part: u32) -> bool {
        let st = &self.pulsar.subs[s as usize];
        st.limits.blocked[Self::p_ci(st, part)]
    }

    /// The logs on which some consumer of `s` has permits.
    pub(crate) fn p_open_parts(&self, s: u32) -> Vec<u32> {
        let n = self.pulsar.subs[s as usize].consumers.len() as u32;
        self.p_parts(s)
            .into_iter()
            .filter(|&part| (0..n).any(|c| self.p_permits(s, c, part) > 0))
            .collect()
    }

    /// Every consumer of `s` subscribes at the start (one election, no
    /// failover delay).
    pub(crate) fn p_init(&mut self, s: u32) {
        let si = s as usize;
        let sticky = matches!(
            self.cfg.pulsar_subscriptions[si].key_shared,
            Some(KeySharedMode::Sticky { .. })
        );
        for c in 0..self.pulsar.subs[si].consumers.len() {
            self.pulsar.subs[si].consumers[c].up = true;
            if self.pulsar.subs[si].kind == SubscriptionType::KeyShared && !sticky {
                self.pulsar.subs[si].selector.add(c as u32);
            }
        }
        if matches!(
            self.pulsar.subs[si].kind,
            SubscriptionType::Exclusive | SubscriptionType::Failover
        ) {
            self.p_elect(s);
        }
    }

    /// A consumer subscribes again after a crash.
    pub(crate) fn p_join(&mut self, s: u32, c: u32) {
        let si = s as usize;
        let others_up = self.pulsar.subs[si].consumers.iter().any(|x| x.up);
        let cs = &mut self.pulsar.subs[si].consumers[c as usize];
        cs.up = true;
        cs.epoch = cs.epoch.wrapping_add(1);
        // A new consumer object: its ack-timeout tracker starts ticking now.
        cs.subscribed_us = self.now.0;
        match self.pulsar.subs[si].kind {
            SubscriptionType::KeyShared => {
                if !matches!(
                    self.cfg.pulsar_subscriptions[si].key_shared,
                    Some(KeySharedMode::Sticky { .. })
                ) {
                    self.pulsar.subs[si].selector.add(c);
                }
                // Pre-4.0 "recently joined consumers", per cursor: each
                // partition has its own dispatcher in Pulsar, so only a
                // partition with unacknowledged messages before the join
                // position holds the joiner back there (`u64::MAX`: no limit).
                let st = &self.pulsar.subs[si];
                let limits: Vec<u64> = st
                    .cursors
                    .iter()
                    .map(|cur| {
                        if cur.read > cur.md {
                            cur.read
                        } else {
                            u64::MAX
                        }
                    })
                    .collect();
                if others_up && limits.iter().any(|&l| l != u64::MAX) {
                    self.pulsar.subs[si].consumers[c as usize].join_limit = Some(limits);
                }
            }
            SubscriptionType::Exclusive | SubscriptionType::Failover => self.p_elect(s),
            SubscriptionType::Shared => {}
        }
        self.p_dispatch(s);
    }

    /// Exclusive / failover: choose each partition's active consumer (name
    /// order; a partitioned topic's partition i goes to consumer i mod n).
    pub(crate) fn p_elect(&mut self, s: u32) {
        let si = s as usize;
        let partitioned =
            self.cfg.pulsar_topics[self.pulsar.subs[si].topic as usize].partitions > 0;
        let st = &self.pulsar.subs[si];
        let ups: Vec<u32> = st
            .by_name
            .iter()
            .copied()
            .filter(|&c| st.consumers[c as usize].up)
            .collect();
        // Each partition has its own dispatcher: only partitions whose
        // active consumer changed are paused or rewound
        // (`AbstractDispatcherSingleActiveConsumer`: "Active consumer did
        // not change. Do nothing at this point").
        let mut switched: Vec<u32> = Vec::new();
        let mut fresh: Vec<u32> = Vec::new();
        for part in 0..st.active.len() {
            let new = if ups.is_empty() {
                None
            } else if partitioned {
                Some(ups[part % ups.len()])
            } else {
                Some(ups[0])
            };
            let old = self.pulsar.subs[si].active[part];
            if new == old {
                continue;
            }
            self.pulsar.subs[si].active[part] = new;
            if let Some(c) = new {
                let node = self.pulsar.subs[si].node;
                self.trace.record(
                    self.now,
                    TraceKind::PulsarActiveConsumer {
                        partition: part as u32,
                        consumer: c,
                    },
                    None,
                    node,
                );
                if old.is_some() {
                    switched.push(part as u32);
                } else {
                    fresh.push(part as u32);
                }
            }
        }
        if self.pulsar.subs[si].kind == SubscriptionType::Failover {
            // `scheduleReadOnActiveConsumer` delays the rewind and read of a
            // failover subscription whenever its active consumer changes,
            // also from none (the first consumer, or one back after all
            // left): `activeConsumerFailoverDelayTimeMillis`, 1 s.
            switched.append(&mut fresh);
            for &part in &switched {
                let st = &mut self.pulsar.subs[si];
                // A delay already running is not restarted
                // (`if (readOnActiveConsumerTask != null) return;`).
                if st.paused[part as usize] {
                    continue;
                }
                st.paused[part as usize] = true;
                st.epoch[part as usize] = st.epoch[part as usize].wrapping_add(1);
                let epoch = st.epoch[part as usize];
                self.agenda.schedule(
                    self.now.after(FAILOVER_DELAY_US),
                    Event::Pulsar(PulsarEvent::Resume { s, part, epoch }),
                );
            }
        } else {
            fresh.extend_from_slice(&switched);
            fresh.sort_unstable();
        }
        if !fresh.is_empty() {
            self.p_rewind(s, None, Some(&fresh), None);
        }
    }

    /// Exclusive / failover redelivery: back to the mark-delete position of
    /// `parts` (every log when `None`); every unacknowledged message of
    /// those goes out again (a handler already busy with one finishes it).
    /// A request from consumer `by` moves only the logs it is active on:
    /// the broker ignores one from a consumer that is not
    /// (`PersistentDispatcherSingleActiveConsumer.redeliverUnacknowledgedMessages`).
    /// `clear`: that consumer's receiver queue loses those logs' messages,
    /// as the client's `redeliverUnacknowledgedMessages` (nack, ack timeout)
    /// clears its own. A change of active consumer clears nothing: it only
    /// moves the broker's cursor, so the consumer that was active goes on
    /// with what it had received (`activeConsumerChanged` leaves its queue),
    /// and those messages reach the new one too.
    pub(crate) fn p_rewind(
        &mut self,
        s: u32,
        by: Option<u32>,
        parts: Option<&[u32]>,
        clear: Option<u32>,
    ) {
        let si = s as usize;
        let hit = |part: u32| parts.is_none_or(|ps| ps.contains(&part));
        if let Some(c) = clear {
            let cs = &mut self.pulsar.subs[si].consumers[c as usize];
            let mut out = Vec::new();
            cs.queue.retain(|&(pos, copy)| {
                if hit(pos.0) {
                    out.push((pos, copy));
                }
                !hit(pos.0)
            });
            cs.nacks.retain(|&(_, pos)| !hit(pos.0));
            for (pos, copy) in out {
                let st = &mut self.pulsar.subs[si];
                let ci = Self::p_ci(st, pos.0);
                st.consumers[c as usize].queued[ci] -= 1;
                // Still pending with the broker when it ignores the request
                // (`c` lost its partitions and the new consumer's delayed
                // rewind has not run yet): unacknowledged, without a copy.
                if let Some(pos) = st.by_copy.remove(&copy) {
                    self.p_pend(s, pos, c, NO_COPY);
                }
                self.p_copy_done(s, copy, false);
            }
        }
        let st = &self.pulsar.subs[si];
        let moves = |part: u32| {
            hit(part)
                && (part == RETRY_PART
                    || by.is_none_or(|c| st.active.get(part as usize) == Some(&Some(c))))
        };
        let pending: Vec<Pos> = st.pending.keys().filter(|p| moves(p.0)).copied().collect();
        let rewound: Vec<usize> = (0..st.active.len() as u32)
            .chain([RETRY_PART])
            .filter(|&part| moves(part))
            .map(|part| Self::p_ci(st, part))
            .collect();
        let count = pending.len() as u32;
        for pos in pending {
            self.p_unpend(s, pos);
        }
        let st = &mut self.pulsar.subs[si];
        for k in rewound {
            st.cursors[k].read = st.cursors[k].md;
        }
        if count > 0 {
            let node = self.pulsar.subs[si].node;
            self.trace.record(
                self.now,
                TraceKind::PulsarRewound {
                    consumer: by.unwrap_or(u32::MAX),
                    count,
                },
                None,
                node,
            );
        }
        self.p_dispatch(s);
    }

    /// Send what the subscription's consumers have permits for.
    pub(crate) fn p_dispatch(&mut self, s: u32) {
        let st = &self.pulsar.subs[s as usize];
        match st.kind {
            SubscriptionType::Exclusive | SubscriptionType::Failover => self.p_dispatch_single(s),
            // A log blocked on unacknowledged messages has no permits: its
            // dispatcher reads nothing, the others go on (`p_permits`).
            SubscriptionType::Shared => self.p_dispatch_shared(s),
            SubscriptionType::KeyShared => self.p_dispatch_key_shared(s),
        }
    }

    /// The next unacknowledged offset at or after the read position of `part`.
    pub(crate) fn p_next_unread(&self, s: u32, part: u32) -> Option<u64> {
        let st = &self.pulsar.subs[s as usize];
        let cur = &st.cursors[Self::p_ci(st, part)];
        let log = self.p_log(s, part);
        let mut off = cur.read.max(cur.md).max(log.base);
        while off < log.end() {
            if !cur.acked.contains(&off) && !st.pending.contains_key(&(part, off)) {
                return Some(off);
            }
            off += 1;
        }
        None
    }

    pub(crate) fn p_dispatch_single(&mut self, s: u32) {
        for part in self.p_parts(s) {
            let active = if part == RETRY_PART {
                None
            } else {
                self.pulsar.subs[s as usize].active[part as usize]
            };
            let Some(c) = active else { continue };
            if self.pulsar.subs[s as usize].paused[part as usize] {
                continue; // its failover delay is running
            }
            while self.p_permits(s, c, part) > 0 {
                let Some(off) = self.p_next_unread(s, part) else {
                    break;
                };
                let st = &mut self.pulsar.subs[s as usize];
                let ci = Self::p_ci(st, part);
                st.cursors[ci].read = off + 1;
                self.p_deliver(s, c, (part, off));
            }
        }
    }

    /// The oldest never-read message over the logs `parts`, moving delayed
    /// ones aside; `None` when nothing is left to read there.
    pub(crate) fn p_read_new(&mut self, s: u32, parts: &[u32]) -> Option<Pos> {
        loop {
            let mut best: Option<(u64, Pos)> = None;
            for &part in parts {
                if let Some(off) = self.p_next_unread(s, part) {
                    let e = self.p_log(s, part).get(off).expect("unread is stored");
                    if best.is_none_or(|b| e.stored_us < b.0) {
                        best = Some((e.stored_us, (part, off)));
                    }
                }
            }
            let (_, pos) = best?;
            let st = &mut self.pulsar.subs[s as usize];
            let ci = Self::p_ci(st, pos.0);
            st.cursors[ci].read = pos.1 + 1;
            let at = self
                .p_log(s, pos.0)
                .get(pos.1)
                .expect("stored")
                .deliver_at_us;
            // Non-strict cutoff: deliverable once `deliverAt <= now + tick`
            // (`addMessage` keeps nothing within a tick of now).
            if at > self.now.0 + super::pulsar_delayed::DELAYED_TICK_US {
                self.pulsar.subs[s as usize].delayed.insert((at, pos));
                self.p_delayed_timer(s);
                continue;
            }
            return Some(pos);
        }
    }

    /// Shared: replayed messages first, then new ones, each to the next
    /// consumer with permits on its log in that log's round robin, up to
    /// `RR_BATCH` in a row (each partition is its own dispatcher). A
    /// message whose log has no consumer with permits waits (replay).
    pub(crate) fn p_dispatch_shared(&mut self, s: u32) {
        let si = s as usize;
        if self.p_open_parts(s).is_empty() {
            return;
        }
        self.p_release_due(s);
        // Per log: the consumer of the current run and its length.
        let mut runs: Vec<(Option<u32>, u32)> = vec![(None, 0); self.pulsar.subs[si].rr.len()];
        let replay: Vec<Pos> = self.pulsar.subs[si].replay.iter().copied().collect();
        for pos in replay {
            // A delivery brought the subscription to its cap on this log
            // (`pulsar_unacked.rs`): that dispatcher stops, the others go on.
            if self.p_sub_blocked(s, pos.0) {
                continue;
            }
            if self.p_settled(s, pos) {
                self.p_replay_remove(s, pos);
                continue;
            }
            if let Some(c) = self.p_shared_pick(s, pos.0, &mut runs) {
                self.p_replay_remove(s, pos);
                self.p_deliver(s, c, pos);
            }
        }
        loop {
            let open = self.p_open_parts(s);
            if open.is_empty() {
                return;
            }
            let Some(pos) = self.p_read_new(s, &open) else {
                return;
            };
            let c = self
                .p_shared_pick(s, pos.0, &mut runs)
                .expect("an open log has a consumer with permits");
            self.p_deliver(s, c, pos);
        }
    }

    /// Shared: the consumer for the next message of log `part` (`None`:
    /// none has permits there), keeping a run of up to `RR_BATCH` with one
    /// consumer, then moving that log's round robin on.
    fn p_shared_pick(&mut self, s: u32, part: u32, runs: &mut [(Option<u32>, u32)]) -> Option<u32> {
        let si = s as usize;
        let ci = Self::p_ci(&self.pulsar.subs[si], part);
        let n = self.pulsar.subs[si].consumers.len() as u32;
        let c = match runs[ci] {
            (Some(c), run) if run < RR_BATCH && self.p_permits(s, c, part) > 0 => c,
            _ => {
                let start = self.pulsar.subs[si].rr[ci];
                let c = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&c| self.p_permits(s, c, part) > 0)?;
                self.pulsar.subs[si].rr[ci] = (c + 1) % n;
                runs[ci] = (Some(c), 0);
                c
            }
        };
        runs[ci].1 += 1;
        Some(c)
    }

    /// Acknowledged, or out with a consumer already.
    pub(crate) fn p_settled(&self, s: u32, pos: Pos) -> bool {
        let st = &self.pulsar.subs[s as usize];
        st.cursors[Self::p_ci(st, pos.0)].is_acked(pos.1) || st.pending.contains_key(&pos)
    }

    /// Put `pos` in consumer `c`'s receiver queue as a new copy.
    pub(crate) fn p_deliver(&mut self, s: u32, c: u32, pos: Pos) {
        let slot = self.p_log(s, pos.0).get(pos.1).expect("stored").slot;
        // A delivery is not a copy in the totals: the stored message
        // counts once per subscription (`p_store_at`, `in_flight_now`).
        let copy = self.copy_message(slot);
        self.pulsar.copy_entities += 1;
        self.set_state(copy, MsgState::Unacked);
        let st = &mut self.pulsar.subs[s as usize];
        let rc = st.redeliveries.get(&pos).copied().unwrap_or(0);
        st.by_copy.insert(copy, pos);
        st.delivered += 1;
        if st.replayed.remove(&pos) || rc > 0 {
            st.redelivered += 1;
            self.totals.redelivered += 1;
        }
        self.totals.delivered += 1;
        let ci = Self::p_ci(st, pos.0);
        let cs = &mut st.consumers[c as usize];
        cs.queue.push_back((pos, copy));
        cs.queued[ci] += 1;
        let node = st.node;
        self.set_deliveries(copy, rc + 1);
        let mid = self.msgs[copy as usize].id;
        self.trace.record(
            self.now,
            TraceKind::PulsarDelivered {
                consumer: c,
                partition: pos.0,
                offset: pos.1,
                redeliveries: rc,
            },
            Some(mid),
            node,
        );
        // Pending (unacknowledged) from now on; may block `c` (`pulsar_unacked.rs`).
        self.p_pend(s, pos, c, copy);
        self.p_next(s, c);
    }

    /// The handler takes the next message of its receiver queue.
    pub(crate) fn p_next(&mut self, s: u32, c: u32) {
        let si = s as usize;
        loop {
            let cs = &self.pulsar.subs[si].consumers[c as usize];
            if !cs.up || cs.busy.is_some() {
                return;
            }
            let st = &mut self.pulsar.subs[si];
            let Some((pos, copy)) = st.consumers[c as usize].queue.pop_front() else {
                return;
            };
            let ci = Self::p_ci(st, pos.0);
            st.consumers[c as usize].queued[ci] -= 1;
            let rc = self.deliveries(copy) - 1;
            // Newer clients hand a message past maxRedeliverCount straight to the DLQ.
            if self.p_max_redeliver(s).is_some_and(|max| rc > max) {
                self.p_unpend(s, pos);
                self.p_copy_done(s, copy, false);
                self.p_dead_letter(s, pos);
                continue;
            }
            let st = &mut self.pulsar.subs[si];
            let cfg = &self.cfg.pulsar_subscriptions[si];
            let service = cfg
                .consumer_service
                .iter()
                .find(|x| x.consumer == c)
                .map_or(&cfg.service, |x| &x.service);
            let service_us = draw_service_us(service, &mut st.rng);
            let cs = &mut st.consumers[c as usize];
            cs.busy = Some((pos, copy));
            let epoch = cs.epoch;
            self.agenda.schedule(
                self.now.after(service_us),
                Event::Pulsar(PulsarEvent::Done { s, c, epoch }),
            );
            if self.p_acks_on_receive(s) {
                // Acknowledged as the handler gets it: this delivery
                // carries the subscription's share until it is handled.
                let st = &mut self.pulsar.subs[si];
                if !st.cursors[Self::p_ci(st, pos.0)].is_acked(pos.1) {
                    st.carried
                        .insert(copy, crate::engine::trace::Reason::LostAfterAutoAck);
                }
                self.p_ack(s, c, pos, copy);
                return;
            }
            if let Some(t) = self.pulsar.subs[si].ack_timeout_us {
                // The client's UnAckedMessageTracker: ⌈timeout / tick⌉ + 1
                // buckets, ticking every ACK_TICK_US from the consumer's
                // creation; a message goes into the newest bucket and times
                // out on the tick that takes that bucket from the head. With
                // a backoff (UnAckedMessageRedeliveryTracker) that tick
                // stores `tick + backoff`, and the first tick at or after it
                // redelivers.
                let phase = self.pulsar.subs[si].consumers[c as usize].subscribed_us;
                let ticks = (self.now.0 - phase) / ACK_TICK_US + t.div_ceil(ACK_TICK_US) + 1;
                let head = phase + ticks * ACK_TICK_US;
                let due = match &self.cfg.pulsar_subscriptions[si].ack_timeout_backoff {
                    Some(b) => head + backoff_us(b, rc).div_ceil(ACK_TICK_US) * ACK_TICK_US,
                    None => head,
                };
                let gen = self.msgs[copy as usize].gen;
                self.agenda.schedule(
                    crate::engine::time::SimTime(due),
                    Event::Pulsar(PulsarEvent::AckTimeout { s, c, copy, gen }),
                );
            }
            return;
        }
    }

    /// Consumer `c` acknowledges `pos` (its copy `copy`): after its effect,
    /// or with ack mode `auto` as soon as it received it (at-most-once);
    /// individually or cumulatively, then what every subscription acked is
    /// deleted.
    pub(crate) fn p_ack(&mut self, s: u32, c: u32, pos: Pos, copy: u32) {
        let si = s as usize;
        let cumulative =
            self.cfg.pulsar_subscriptions[si].ack == crate::scenario::PulsarAck::Cumulative;
        self.totals.acked += 1;
        self.pulsar.subs[si].acked += 1;
        let node = self.pulsar.subs[si].node;
        let mid = self.msgs[copy as usize].id;
        self.trace.record(
            self.now,
            TraceKind::PulsarAcked {
                consumer: c,
                partition: pos.0,
                offset: pos.1,
                cumulative,
            },
            Some(mid),
            node,
        );
        if cumulative {
            self.p_ack_cumulative(s, pos);
        } else {
            self.p_ack_one(s, pos);
        }
        self.p_after_ack(s, pos.0);
    }
}
