//! Pulsar's dead-letter and retry-letter topics: where a message goes when a
//! subscription gives up on it, and `reconsumeLater` (split from
//! `pulsar_acks.rs`, which decides when; this file moves the message).
//!
//!   redeliveries > maxRedeliverCount ──► DLQ topic (a scenario topic: copied there and
//!                                        owed by its subscriptions; none: dropped,
//!                                        reason `dead_letter_topic`) ──► acked here
//!   reconsume_later(delay) ──► RETRY log, back after the delay ──> reconsumes > max? ──► DLQ
//!
//! Guarantees: a message acknowledged meanwhile by another consumer (after an
//! ack-timeout redelivery) is not moved; every move acknowledges the original
//! on this subscription, so `published + copies = completed + dropped +
//! in_flight` holds (Pulsar's `DeadLetterPolicy`, `RetryMessageUtil`).

use super::pulsar::{PEntry, Pos};
use crate::engine::core::Engine;
use crate::engine::message::MsgState;
use crate::engine::trace::{Reason, TraceKind};

/// The Java client's `RetryMessageUtil.MAX_RECONSUMETIMES`: the
/// `maxRedeliverCount` of the dead-letter policy it builds for retry letters
/// when none is given.
const RECONSUME_MAX: u32 = 16;

impl Engine {
    /// The subscription's `maxRedeliverCount`: its dead-letter policy's, or
    /// with retry letters and no policy the one the Java client builds
    /// (`RetryMessageUtil.MAX_RECONSUMETIMES`, 16, into the default DLQ
    /// topic, which nothing reads here); `None`: no dead-lettering.
    pub(crate) fn p_max_redeliver(&self, s: u32) -> Option<u32> {
        let cfg = &self.cfg.pulsar_subscriptions[s as usize];
        match (&cfg.dead_letter, cfg.retry_letter_delay) {
            (Some(d), _) => Some(d.max_redeliver_count),
            (None, Some(_)) => Some(RECONSUME_MAX),
            (None, None) => None,
        }
    }

    /// The topic index a dead letter of subscription `s` from `partition`
    /// goes to: the policy's topic, or a topic with Pulsar's default name
    /// (`PulsarSubscription::dead_letter_topic_name`); `None`: no such
    /// topic, the letter goes where nothing reads it.
    fn p_dead_letter_topic(&self, s: u32, partition: u32) -> Option<u32> {
        let cfg = &self.cfg.pulsar_subscriptions[s as usize];
        let t = self.pulsar.subs[s as usize].topic as usize;
        let partitions = self.cfg.pulsar_topics[t].partitions;
        // The retry log's letters: with retry on, the name is per topic.
        let partition = if partition == super::pulsar::RETRY_PART {
            0
        } else {
            partition
        };
        let name = cfg.dead_letter_topic_name(partitions, partition);
        self.node_of(&name)
            .filter(|n| n.kind == crate::engine::NodeKind::PulsarTopic)
            .map(|n| n.index)
    }

    /// To the dead-letter topic (a scenario topic, or Pulsar's default
    /// `<topic>-<subscription>-DLQ` that nothing reads), then acknowledged here.
    pub(crate) fn p_dead_letter(&mut self, s: u32, pos: Pos) {
        let si = s as usize;
        // Another consumer may have handled and acknowledged it meanwhile
        // (after an ack-timeout redelivery): then there is nothing to move.
        let Some(e) = self.p_unacked_entry(s, pos) else {
            return;
        };
        let rc = self.pulsar.subs[si]
            .redeliveries
            .get(&pos)
            .copied()
            .unwrap_or(0);
        let node = self.pulsar.subs[si].node;
        let mid = self.msgs[e.slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::PulsarDeadLettered {
                partition: pos.0,
                offset: pos.1,
                // Every delivery of the message: its retry-letter copies'
                // (one each) and this copy's redeliveries.
                deliveries: e.reconsume + rc + 1,
            },
            Some(mid),
            node,
        );
        self.pulsar.subs[si].dead_lettered += 1;
        self.totals.dead_lettered += 1;
        match self.p_dead_letter_topic(s, pos.0) {
            Some(ti) => {
                // Owed by the dead-letter topic's subscriptions now, not
                // by this one: counted as copies where it is stored.
                let copy = self.copy_message(e.slot);
                self.pulsar.copy_entities += 1;
                self.p_store(copy, ti, u16::MAX);
            }
            None => self.p_drop_share(s, pos, e.slot, Reason::DeadLetterTopic),
        }
        self.p_ack_one(s, pos);
        self.p_after_ack(s, pos.0);
    }

    /// `reconsumeLater(msg, delay)`: to the retry-letter log, back after the
    /// delay; past `max_redeliver_count` reconsumes, to the dead-letter topic.
    pub(crate) fn p_reconsume_later(&mut self, s: u32, pos: Pos, delay_us: u64) {
        let si = s as usize;
        let Some(e) = self.p_unacked_entry(s, pos) else {
            return; // acknowledged by another consumer meanwhile
        };
        let reconsume = e.reconsume + 1;
        let max = self.p_max_redeliver(s).unwrap_or(RECONSUME_MAX);
        if reconsume > max {
            self.p_dead_letter(s, pos);
            return;
        }
        // Still owed by this subscription, in its retry-letter log: no
        // copy in the totals.
        let copy = self.copy_message(e.slot);
        self.pulsar.copy_entities += 1;
        self.set_state(copy, MsgState::Queued);
        let now = self.now.0;
        let st = &mut self.pulsar.subs[si];
        let off = st.retry_log.end();
        st.retry_log.entries.push_back(PEntry {
            slot: copy,
            hash: e.hash,
            deliver_at_us: now + delay_us,
            stored_us: now,
            reconsume,
        });
        st.reconsumed += 1;
        // Sent to the retry letter topic: a retry, in the run's totals.
        self.totals.retried += 1;
        let node = st.node;
        let mid = self.msgs[copy as usize].id;
        self.trace.record(
            self.now,
            TraceKind::PulsarReconsumeLater {
                // The reconsumed message's position, and its new entry's
                // offset in the retry-letter log.
                partition: pos.0,
                offset: pos.1,
                reconsume,
                delay_us,
                retry_offset: off,
            },
            Some(mid),
            node,
        );
        self.p_ack_one(s, pos);
        self.p_after_ack(s, pos.0);
    }
}
