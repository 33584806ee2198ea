//! Pulsar's commands, queries and invariants (split from `pulsar.rs`):
//! checking and applying `crash_pulsar_consumer`, `restart_pulsar_consumer`,
//! `set_pulsar_ack_timeout` and `set_pulsar_nack_delay`; the key ranges of a
//! Key_Shared subscription; and `check_pulsar`, run after every event by the
//! invariant checker.
//!
//! Guarantees checked: every stored message is `Queued` and every held send
//! `Transit`; a cursor never passes its log's end and its ack holes lie after
//! its mark-delete position; each subscription's backlog counter equals a
//! recount; every pending delivery is held by an up consumer through a live
//! `Unacked` copy indexed by that copy (or none, once negatively
//! acknowledged); a crashed consumer holds nothing; each (consumer, log)
//! and (subscription, log) unacknowledged count equals the pending
//! deliveries of that log, none is over its cap, and the blocks agree with
//! the counts (`pulsar_unacked.rs`).

use super::pulsar::SETTLED;
use crate::engine::command::CommandError;
use crate::engine::core::{Engine, NodeKind};
use crate::engine::message::MsgState;
use crate::scenario::{self, Command, KeySharedMode, SubscriptionType};

impl Engine {
    /// Checks on a Pulsar command; `Ok(false)` when it is not one.
    pub(crate) fn check_pulsar_command(&self, cmd: &Command) -> Result<bool, CommandError> {
        let (sub, consumer) = match cmd {
            Command::CrashPulsarConsumer {
                subscription,
                consumer,
                ..
            }
            | Command::RestartPulsarConsumer {
                subscription,
                consumer,
            } => (subscription, Some(*consumer)),
            Command::SetPulsarAckTimeout {
                subscription,
                timeout,
            } => {
                if timeout.is_some_and(|d| !scenario::pulsar_ack_timeout_ok(d)) {
                    return Err(CommandError(
                        "ack timeout must be at least 1s, or 0 (off) (the Java client refuses the rest)"
                            .into(),
                    ));
                }
                (subscription, None)
            }
            Command::SetPulsarNackDelay {
                subscription,
                delay,
            } => {
                scenario::check_pulsar_delay(*delay).map_err(CommandError)?;
                (subscription, None)
            }
            Command::SetConfirms { producer, .. } | Command::SetLinkFaults { producer, .. } => {
                let p = self.find(producer, NodeKind::Producer)?;
                if self.cfg.is_pulsar_topic(&self.cfg.producers[p as usize].to) {
                    return Err(CommandError(format!(
                        "{producer} sends to Pulsar: confirms and link faults are for queue producers"
                    )));
                }
                return Ok(false);
            }
            _ => return Ok(false),
        };
        let s = self.find(sub, NodeKind::PulsarSubscription)?;
        if let Some(c) = consumer {
            let n = self.cfg.pulsar_subscriptions[s as usize].consumers;
            if c >= n {
                return Err(CommandError(format!(
                    "{sub} has consumers c0..c{}, not c{c}",
                    n.saturating_sub(1)
                )));
            }
        }
        Ok(true)
    }

    /// Apply a checked Pulsar command; `false` when it is not one.
    pub(crate) fn apply_pulsar_command(&mut self, cmd: &Command) -> bool {
        let sub_of = |this: &Self, id: &str| this.node_of(id).expect("checked").index;
        match cmd {
            Command::CrashPulsarConsumer {
                subscription,
                consumer,
                after_effect,
                restart_after,
            } => {
                let s = sub_of(self, subscription);
                self.p_crash(s, *consumer, *after_effect, restart_after.map(|d| d.us()));
            }
            Command::RestartPulsarConsumer {
                subscription,
                consumer,
            } => {
                let s = sub_of(self, subscription);
                if !self.pulsar.subs[s as usize].consumers[*consumer as usize].up {
                    self.p_restart(s, *consumer);
                }
            }
            Command::SetPulsarAckTimeout {
                subscription,
                timeout,
            } => {
                let s = sub_of(self, subscription);
                // 0 turns it off, as the Java client's `ackTimeout(0, …)`.
                self.pulsar.subs[s as usize].ack_timeout_us =
                    timeout.map(|d| d.us()).filter(|&us| us > 0);
            }
            Command::SetPulsarNackDelay {
                subscription,
                delay,
            } => {
                let s = sub_of(self, subscription);
                self.pulsar.subs[s as usize].nack_delay_us = delay.us();
            }
            _ => return false,
        }
        true
    }

    /// Subscription `sub`'s consumers' key ranges now, `(start, end,
    /// consumer)` inclusive (Key_Shared; empty otherwise). For tests and views.
    pub fn pulsar_key_ranges(&self, sub: &str) -> Vec<(u32, u32, u32)> {
        let Some(n) = self.node_of(sub) else {
            return Vec::new();
        };
        if n.kind != NodeKind::PulsarSubscription {
            return Vec::new();
        }
        let s = &self.pulsar.subs[n.index as usize];
        match &self.cfg.pulsar_subscriptions[n.index as usize].key_shared {
            Some(KeySharedMode::Sticky { ranges }) => {
                let mut out: Vec<(u32, u32, u32)> = ranges
                    .iter()
                    .enumerate()
                    .filter(|(c, _)| s.consumers[*c].up)
                    .flat_map(|(c, rs)| rs.iter().map(move |r| (r[0], r[1], c as u32)))
                    .collect();
                out.sort_unstable();
                out
            }
            _ if s.kind == SubscriptionType::KeyShared => s.selector.ranges(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn check_pulsar(&self) -> Result<(u64, u64), String> {
        let (mut queued, mut unacked) = (0u64, 0u64);
        for (t, tp) in self.pulsar.topics.iter().enumerate() {
            let id = &self.cfg.pulsar_topics[t].id;
            for (part, log) in tp.logs.iter().enumerate() {
                let live_before = queued;
                for (i, e) in log.entries.iter().enumerate() {
                    if e.slot == SETTLED {
                        let off = log.base + i as u64;
                        if let Some(&k) = tp
                            .subs
                            .iter()
                            .find(|&&k| !self.pulsar.subs[k as usize].cursors[part].is_acked(off))
                        {
                            return Err(format!(
                                "{id}: p{part}:{off} settled but not acknowledged by {}",
                                self.cfg.pulsar_subscriptions[k as usize].id
                            ));
                        }
                        continue;
                    }
                    self.expect_state(e.slot, MsgState::Queued, id)?;
                    queued += 1;
                }
                let settled = log.entries.len() as u64 - (queued - live_before);
                if settled != log.settled {
                    return Err(format!(
                        "{id}: p{part} has {settled} settled entries, counted {}",
                        log.settled
                    ));
                }
            }
            for &(slot, _, _, _) in &tp.held {
                self.expect_state(slot, MsgState::Transit, id)?;
            }
        }
        for (s, st) in self.pulsar.subs.iter().enumerate() {
            let id = &self.cfg.pulsar_subscriptions[s].id;
            let retry_cursor = st.cursors.last();
            let live_before = queued;
            for (i, e) in st.retry_log.entries.iter().enumerate() {
                if e.slot == SETTLED {
                    let off = st.retry_log.base + i as u64;
                    if !retry_cursor.is_some_and(|c| c.is_acked(off)) {
                        return Err(format!("{id}: retry:{off} settled but not acknowledged"));
                    }
                    continue;
                }
                self.expect_state(e.slot, MsgState::Queued, id)?;
                queued += 1;
            }
            let settled = st.retry_log.entries.len() as u64 - (queued - live_before);
            if settled != st.retry_log.settled {
                return Err(format!(
                    "{id}: retry log has {settled} settled entries, counted {}",
                    st.retry_log.settled
                ));
            }
            let tp = &self.pulsar.topics[st.topic as usize];
            let mut backlog = 0;
            for (part, cur) in st.cursors.iter().enumerate() {
                let log = if part < tp.logs.len() {
                    &tp.logs[part]
                } else {
                    &st.retry_log
                };
                if cur.md > log.end() || cur.read > log.end() {
                    return Err(format!("subscription {id}: cursor past the log end"));
                }
                if cur.acked.iter().next().is_some_and(|&a| a <= cur.md) {
                    return Err(format!("subscription {id}: ack hole bookkeeping off"));
                }
                if part < tp.logs.len() {
                    backlog += cur.unacked_below(log.end());
                }
            }
            if backlog != st.backlog {
                return Err(format!(
                    "subscription {id}: backlog {} but {backlog} unacknowledged",
                    st.backlog
                ));
            }
            Self::check_pulsar_unacked(st, id)?;
            // A replay entry is stored and still owed: an ack or a delivery
            // takes it out at once (`p_ack_one`, `p_pend`), which lets a
            // Key_Shared dispatch skip a replay set none of whose keys can
            // go anywhere (`p_dispatch_key_shared`).
            for &pos in &st.replay {
                let stored = if (pos.0 as usize) < tp.logs.len() {
                    tp.logs[pos.0 as usize].get(pos.1).is_some()
                } else {
                    st.retry_log.get(pos.1).is_some()
                };
                if !stored || st.pending.contains_key(&pos) {
                    return Err(format!(
                        "subscription {id}: replay holds {pos:?}, which is {}",
                        if stored { "pending" } else { "not stored" }
                    ));
                }
                if st.cursors[Self::p_ci(st, pos.0)].is_acked(pos.1) {
                    return Err(format!(
                        "subscription {id}: replay holds acknowledged {pos:?}"
                    ));
                }
            }
            let mut held = 0u64;
            for (&pos, &(c, copy)) in &st.pending {
                let cs = &st.consumers[c as usize];
                if !cs.up {
                    return Err(format!("subscription {id}: crashed c{c} holds {pos:?}"));
                }
                if copy == u32::MAX {
                    continue; // handled and negatively acknowledged: a redelivery is due
                }
                self.expect_state(copy, MsgState::Unacked, id)?;
                if st.by_copy.get(&copy) != Some(&pos) {
                    return Err(format!("subscription {id}: copy index off at {pos:?}"));
                }
                held += 1;
            }
            // Copies in receiver queues and handlers: pending ones, plus
            // handlers still busy with a message redelivered meanwhile.
            let mut copies = 0u64;
            for cs in &st.consumers {
                copies += cs.queue.len() as u64 + cs.busy.is_some() as u64;
                let mut per_log = vec![0u32; cs.queued.len()];
                for &(pos, _) in &cs.queue {
                    per_log[Self::p_ci(st, pos.0)] += 1;
                }
                if per_log != cs.queued {
                    return Err(format!(
                        "subscription {id}: receiver queue counts per log {:?}, held {per_log:?}",
                        cs.queued
                    ));
                }
                for (ci, &n) in per_log.iter().enumerate() {
                    if n > st.rq[ci] {
                        return Err(format!(
                            "subscription {id}: {n} queued from log {ci}, over its receiver queue of {}",
                            st.rq[ci]
                        ));
                    }
                }
                if !cs.up && (cs.busy.is_some() || !cs.queue.is_empty()) {
                    return Err(format!(
                        "subscription {id}: a crashed consumer holds messages"
                    ));
                }
            }
            if copies < held {
                return Err(format!(
                    "subscription {id}: {held} pending but {copies} copies held"
                ));
            }
            unacked += copies;
        }
        Ok((queued, unacked))
    }
}
