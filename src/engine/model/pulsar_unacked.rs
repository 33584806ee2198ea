//! Pulsar's caps on unacknowledged messages (shared and key_shared
//! subscriptions, the individual-ack modes): the bookkeeping of what each
//! consumer holds unacknowledged, and the broker's two blocks on it.
//!
//!   deliver ──unacked(c) ≥ max per consumer──► c blocked: no permits, nothing dispatched to it
//!   ack / redelivery ──unacked(c) ≤ max / 2──► c unblocked (dispatch resumes)
//!   deliver ──unacked(sub) ≥ max per subscription──► the subscription dispatches nothing
//!   ack / redelivery ──unacked(sub) < max / 2──► it dispatches again
//!
//! As the broker does it (`Consumer.incrementUnackedMessages` and
//! `removePendingAcks`; `PersistentDispatcherMultipleConsumers.addUnAckedMessages`):
//! a consumer blocks once a send brings it to `maxUnackedMessagesPerConsumer`
//! (default 50,000) and unblocks when an ack brings it to half or less; a
//! subscription blocks at `maxUnackedMessagesPerSubscription` (default
//! 200,000) and unblocks below half. 0 turns a cap off. A negatively
//! acknowledged message stays pending (and counted) until it is redelivered.
//!
//! Guarantees: every change to a subscription's `pending` map goes through
//! `p_pend` / `p_unpend`, so each consumer's `unacked` equals the pending
//! entries it holds (checked after every event in `pulsar_check.rs`); no
//! consumer or subscription holds more than its cap (a dispatch stops at
//! the delivery that reaches it); a blocked consumer has more than half its
//! cap unacknowledged, a blocked subscription at least half of its own;
//! exclusive and failover subscriptions never block.

use super::pulsar::{PSubState, Pos};
use super::pulsar_dispatch::NO_COPY;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;
use crate::scenario::{
    PulsarSubscription, SubscriptionType, PULSAR_MAX_UNACKED_PER_CONSUMER,
    PULSAR_MAX_UNACKED_PER_SUBSCRIPTION,
};

/// `consumer` of the block trace kinds for the subscription as a whole.
pub(crate) const WHOLE_SUBSCRIPTION: u32 = u32::MAX;

/// A subscription's caps (0: no cap) and blocks.
#[derive(Clone, Debug, Default)]
pub(crate) struct UnackedLimits {
    pub(crate) per_consumer: u32,
    pub(crate) per_subscription: u32,
    /// `blockedSubscriptionOnUnackedMsgs`.
    pub(crate) blocked: bool,
    /// Times a consumer, or the subscription, was blocked.
    pub(crate) consumer_blocks: u64,
    pub(crate) subscription_blocks: u64,
}

impl UnackedLimits {
    pub(crate) fn new(cfg: &PulsarSubscription) -> Self {
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
            ..Default::default()
        }
    }
}

impl Engine {
    /// `pos` is pending with consumer `c` as `copy` (`NO_COPY`: handled and
    /// negatively acknowledged); an entry it replaces is no longer counted
    /// for its consumer. A new delivery may block `c` or the subscription.
    pub(crate) fn p_pend(&mut self, s: u32, pos: Pos, c: u32, copy: u32) {
        let st = &mut self.pulsar.subs[s as usize];
        if let Some((old, _)) = st.pending.insert(pos, (c, copy)) {
            st.consumers[old as usize].unacked -= 1;
        }
        st.consumers[c as usize].unacked += 1;
        let (unacked, total) = (st.consumers[c as usize].unacked, st.pending.len() as u32);
        let lim = &mut st.limits;
        let mut blocks = Vec::new();
        if lim.per_consumer > 0 && unacked >= lim.per_consumer && !st.consumers[c as usize].blocked
        {
            st.consumers[c as usize].blocked = true;
            lim.consumer_blocks += 1;
            blocks.push((c, unacked));
        }
        if lim.per_subscription > 0 && total >= lim.per_subscription && !lim.blocked {
            lim.blocked = true;
            lim.subscription_blocks += 1;
            blocks.push((WHOLE_SUBSCRIPTION, total));
        }
        let node = st.node;
        for (consumer, unacked) in blocks {
            self.trace.record(
                self.now,
                TraceKind::PulsarBlocked { consumer, unacked },
                None,
                node,
            );
        }
    }

    /// Forget the pending delivery at `pos` (its copy, if live, stays with
    /// whoever holds it): its consumer, or the subscription, may unblock.
    /// Every path that unpends dispatches afterwards.
    pub(crate) fn p_unpend(&mut self, s: u32, pos: Pos) {
        let st = &mut self.pulsar.subs[s as usize];
        let Some((c, copy)) = st.pending.remove(&pos) else {
            return;
        };
        if copy != NO_COPY {
            st.by_copy.remove(&copy);
        }
        let cs = &mut st.consumers[c as usize];
        cs.unacked -= 1;
        let mut unblocks = Vec::new();
        if cs.blocked && cs.unacked <= st.limits.per_consumer / 2 {
            cs.blocked = false;
            unblocks.push((c, cs.unacked));
        }
        let total = st.pending.len() as u32;
        if st.limits.blocked && total < st.limits.per_subscription / 2 {
            st.limits.blocked = false;
            unblocks.push((WHOLE_SUBSCRIPTION, total));
        }
        let node = st.node;
        for (consumer, unacked) in unblocks {
            self.trace.record(
                self.now,
                TraceKind::PulsarUnblocked { consumer, unacked },
                None,
                node,
            );
        }
    }

    /// Invariants of the caps (for `check_pulsar`).
    pub(crate) fn check_pulsar_unacked(st: &PSubState, id: &str) -> Result<(), String> {
        let mut held = vec![0u32; st.consumers.len()];
        for &(c, _) in st.pending.values() {
            held[c as usize] += 1;
        }
        let lim = &st.limits;
        for (c, cs) in st.consumers.iter().enumerate() {
            if cs.unacked != held[c] {
                return Err(format!(
                    "subscription {id}: c{c} counts {} unacked but holds {}",
                    cs.unacked, held[c]
                ));
            }
            if lim.per_consumer > 0 && cs.unacked > lim.per_consumer {
                return Err(format!(
                    "subscription {id}: c{c} holds {} unacked, over its cap of {}",
                    cs.unacked, lim.per_consumer
                ));
            }
            if cs.blocked && (lim.per_consumer == 0 || cs.unacked <= lim.per_consumer / 2) {
                return Err(format!(
                    "subscription {id}: c{c} blocked with {} unacked (cap {})",
                    cs.unacked, lim.per_consumer
                ));
            }
        }
        if lim.per_subscription > 0 && st.pending.len() as u32 > lim.per_subscription {
            return Err(format!(
                "subscription {id}: {} unacked, over its cap of {}",
                st.pending.len(),
                lim.per_subscription
            ));
        }
        if lim.blocked
            && (lim.per_subscription == 0 || (st.pending.len() as u32) < lim.per_subscription / 2)
        {
            return Err(format!(
                "subscription {id}: blocked with {} unacked (cap {})",
                st.pending.len(),
                lim.per_subscription
            ));
        }
        Ok(())
    }
}
