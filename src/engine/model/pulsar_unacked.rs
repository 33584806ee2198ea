//! Pulsar's caps on unacknowledged messages (shared and key_shared
//! subscriptions, the individual-ack modes): the bookkeeping of what each
//! consumer holds unacknowledged on each log, and the broker's two blocks
//! on it, both per log.
//!
//!   deliver ──unacked(c, log) ≥ max per consumer──► c blocked on log: no permits there
//!   ack / redelivery ──unacked(c, log) ≤ max / 2──► c unblocked on log (dispatch resumes)
//!   deliver ──unacked(sub, log) ≥ max per subscription──► log's dispatcher sends nothing
//!   ack / redelivery ──unacked(sub, log) < max / 2──► it dispatches again
//!
//! As the broker does it (`Consumer.incrementUnackedMessages` and
//! `removePendingAcks`; `PersistentDispatcherMultipleConsumers.addUnAckedMessages`):
//! a consumer blocks once a send brings it to `maxUnackedMessagesPerConsumer`
//! (default 50,000) and unblocks when an ack brings it to half or less; a
//! subscription blocks at `maxUnackedMessagesPerSubscription` (default
//! 200,000) and unblocks below half. 0 turns a cap off. A negatively
//! acknowledged message stays pending (and counted) until it is redelivered.
//!
//! Per log: each partition of a partitioned topic is a topic of its own to
//! the broker, with its own dispatcher, and the Java client's multi-topics
//! consumer subscribes to each through an internal consumer of its own, so
//! the broker keeps one count (and one block) per (consumer, partition) and
//! one per (subscription, partition). The retry-letter topic is one more
//! topic, so its log has its own counts too. A log is indexed as the
//! cursors are (`Engine::p_ci`: partitions, then the retry log); the trace
//! names it as positions do (partition index, `RETRY_PART` for the retry
//! log). A non-partitioned topic without retry letters is one log: one
//! count per consumer and one per subscription, as before.
//!
//! Guarantees: every change to a subscription's `pending` map goes through
//! `p_pend` / `p_unpend`, so each (consumer, log) count equals the pending
//! entries of that log it holds, and each log's subscription count the
//! pending entries of the log (checked after every event in
//! `pulsar_check.rs`); no consumer or subscription holds more than its cap
//! on any log (a dispatch stops at the delivery that reaches it: a blocked
//! log has no permits); a consumer blocked on a log has more than half its
//! cap unacknowledged there, a subscription blocked on a log at least half
//! of its own; exclusive and failover subscriptions never block.

use super::pulsar::{PSubState, Pos, RETRY_PART};
use super::pulsar_dispatch::NO_COPY;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;
use crate::scenario::{
    PulsarSubscription, SubscriptionType, PULSAR_MAX_UNACKED_PER_CONSUMER,
    PULSAR_MAX_UNACKED_PER_SUBSCRIPTION,
};

/// `consumer` of the block trace kinds for the subscription as a whole.
pub(crate) const WHOLE_SUBSCRIPTION: u32 = u32::MAX;

/// A subscription's caps (0: no cap), counts and blocks, per log.
#[derive(Clone, Debug, Default)]
pub(crate) struct UnackedLimits {
    pub(crate) per_consumer: u32,
    pub(crate) per_subscription: u32,
    /// Per log (partitions, then the retry log): pending deliveries from it.
    pub(crate) unacked: Vec<u32>,
    /// Per log: `blockedSubscriptionOnUnackedMsgs` of its dispatcher.
    pub(crate) blocked: Vec<bool>,
    /// Times a consumer, or the subscription, was blocked (on any log).
    pub(crate) consumer_blocks: u64,
    pub(crate) subscription_blocks: u64,
}

impl UnackedLimits {
    /// `logs`: the topic's partitions plus the retry log.
    pub(crate) fn new(cfg: &PulsarSubscription, logs: usize) -> Self {
        let individual = matches!(
            cfg.kind,
            SubscriptionType::Shared | SubscriptionType::KeyShared
        );
        let cap = |set: Option<u32>, default: u32| {
            if individual {
                set.unwrap_or(default)
            } else {
                0
            }
        };
        UnackedLimits {
            per_consumer: cap(
                cfg.max_unacked_per_consumer,
                PULSAR_MAX_UNACKED_PER_CONSUMER,
            ),
            per_subscription: cap(
                cfg.max_unacked_per_subscription,
                PULSAR_MAX_UNACKED_PER_SUBSCRIPTION,
            ),
            unacked: vec![0; logs],
            blocked: vec![false; logs],
            consumer_blocks: 0,
            subscription_blocks: 0,
        }
    }
}

/// The trace's name of log index `ci` of a subscription with `logs` logs:
/// its partition, or `RETRY_PART` for the last (the retry log).
pub(crate) fn log_part(ci: usize, logs: usize) -> u32 {
    if ci + 1 == logs {
        RETRY_PART
    } else {
        ci as u32
    }
}

impl Engine {
    /// `pos` is pending with consumer `c` as `copy` (`NO_COPY`: handled and
    /// negatively acknowledged); an entry it replaces is no longer counted
    /// for its consumer. A new delivery may block `c`, or the subscription,
    /// on the log of `pos`.
    pub(crate) fn p_pend(&mut self, s: u32, pos: Pos, c: u32, copy: u32) {
        let st = &mut self.pulsar.subs[s as usize];
        let ci = Self::p_ci(st, pos.0);
        match st.pending.insert(pos, (c, copy)) {
            Some((old, _)) => st.consumers[old as usize].unacked[ci] -= 1,
            None => st.limits.unacked[ci] += 1,
        }
        // Pending is not owed a dispatch: out of the replay set now, not at
        // the next dispatch pass (which would drop it as settled), so the
        // replay set holds only what may still go out (`check_pulsar`).
        if st.replay.contains(&pos) {
            self.p_replay_remove(s, pos);
        }
        let st = &mut self.pulsar.subs[s as usize];
        let cs = &mut st.consumers[c as usize];
        cs.unacked[ci] += 1;
        let (unacked, total) = (cs.unacked[ci], st.limits.unacked[ci]);
        let lim = &mut st.limits;
        let mut blocks = Vec::new();
        if lim.per_consumer > 0 && unacked >= lim.per_consumer && !cs.blocked[ci] {
            cs.blocked[ci] = true;
            lim.consumer_blocks += 1;
            blocks.push((c, unacked));
        }
        if lim.per_subscription > 0 && total >= lim.per_subscription && !lim.blocked[ci] {
            lim.blocked[ci] = true;
            lim.subscription_blocks += 1;
            blocks.push((WHOLE_SUBSCRIPTION, total));
        }
        let node = st.node;
        for (consumer, unacked) in blocks {
            self.trace.record(
                self.now,
                TraceKind::PulsarBlocked {
                    consumer,
                    partition: pos.0,
                    unacked,
                },
                None,
                node,
            );
        }
    }

    /// Forget the pending delivery at `pos` (its copy, if live, stays with
    /// whoever holds it): its consumer, or the subscription, may unblock on
    /// that log. Every path that unpends dispatches afterwards.
    pub(crate) fn p_unpend(&mut self, s: u32, pos: Pos) {
        let st = &mut self.pulsar.subs[s as usize];
        let Some((c, copy)) = st.pending.remove(&pos) else {
            return;
        };
        if copy != NO_COPY {
            st.by_copy.remove(&copy);
        }
        let ci = Self::p_ci(st, pos.0);
        let lim = &mut st.limits;
        lim.unacked[ci] -= 1;
        let cs = &mut st.consumers[c as usize];
        cs.unacked[ci] -= 1;
        let mut unblocks = Vec::new();
        if cs.blocked[ci] && cs.unacked[ci] <= lim.per_consumer / 2 {
            cs.blocked[ci] = false;
            unblocks.push((c, cs.unacked[ci]));
        }
        let total = lim.unacked[ci];
        if lim.blocked[ci] && total < lim.per_subscription / 2 {
            lim.blocked[ci] = false;
            unblocks.push((WHOLE_SUBSCRIPTION, total));
        }
        let node = st.node;
        for (consumer, unacked) in unblocks {
            self.trace.record(
                self.now,
                TraceKind::PulsarUnblocked {
                    consumer,
                    partition: pos.0,
                    unacked,
                },
                None,
                node,
            );
        }
    }

    /// Invariants of the caps (for `check_pulsar`), per log.
    pub(crate) fn check_pulsar_unacked(st: &PSubState, id: &str) -> Result<(), String> {
        let logs = st.cursors.len();
        let mut held = vec![vec![0u32; logs]; st.consumers.len()];
        let mut per_log = vec![0u32; logs];
        for (&(part, _), &(c, _)) in &st.pending {
            let ci = Self::p_ci(st, part);
            held[c as usize][ci] += 1;
            per_log[ci] += 1;
        }
        let lim = &st.limits;
        if lim.unacked != per_log || lim.blocked.len() != logs {
            return Err(format!(
                "subscription {id}: counts {:?} unacked per log but holds {per_log:?}",
                lim.unacked
            ));
        }
        for (c, cs) in st.consumers.iter().enumerate() {
            if cs.unacked != held[c] || cs.blocked.len() != logs {
                return Err(format!(
                    "subscription {id}: c{c} counts {:?} unacked per log but holds {:?}",
                    cs.unacked, held[c]
                ));
            }
            for ci in 0..logs {
                let (n, part) = (cs.unacked[ci], log_part(ci, logs));
                if lim.per_consumer > 0 && n > lim.per_consumer {
                    return Err(format!(
                        "subscription {id}: c{c} holds {n} unacked of partition {part}, over its cap of {}",
                        lim.per_consumer
                    ));
                }
                if cs.blocked[ci] && (lim.per_consumer == 0 || n <= lim.per_consumer / 2) {
                    return Err(format!(
                        "subscription {id}: c{c} blocked on partition {part} with {n} unacked (cap {})",
                        lim.per_consumer
                    ));
                }
            }
        }
        for ci in 0..logs {
            let (n, part) = (lim.unacked[ci], log_part(ci, logs));
            if lim.per_subscription > 0 && n > lim.per_subscription {
                return Err(format!(
                    "subscription {id}: {n} unacked on partition {part}, over its cap of {}",
                    lim.per_subscription
                ));
            }
            if lim.blocked[ci] && (lim.per_subscription == 0 || n < lim.per_subscription / 2) {
                return Err(format!(
                    "subscription {id}: blocked on partition {part} with {n} unacked (cap {})",
                    lim.per_subscription
                ));
            }
        }
        Ok(())
    }
}
