//! The invariants the engine promises, checked on demand (tests and the swarm
//! run them after every event).
//!
//! Conservation (ledger ⇔ arena ⇔ queues and consumers), per-queue
//! `max_length`, work-conserving dispatch, per-instance prefetch and service
//! bookkeeping, retry limits, and `published + copies = created`. Returns the
//! first violation found, in words.

use crate::engine::core::Engine;
use crate::engine::message::MsgState;
use crate::scenario::{self};

impl Engine {
    /// Check every invariant; returns the first violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let l = &self.ledger;
        if l.created != l.live() + l.completed + l.discarded {
            return Err(format!("conservation: {l:?}"));
        }
        let mut by_state = [0u64; 5];
        for m in &self.msgs {
            by_state[m.state as usize] += 1;
        }
        let expect = [
            self.free.len() as u64,
            l.in_transit,
            l.queued,
            l.unacked,
            l.retry_wait,
        ];
        if by_state != expect {
            return Err(format!(
                "arena states {by_state:?} disagree with ledger {expect:?}"
            ));
        }
        if self.totals.dropped != l.discarded {
            return Err(format!(
                "dropped {} != discarded {}",
                self.totals.dropped, l.discarded
            ));
        }
        let mut queued = 0;
        let mut unacked = 0;
        for (qi, q) in self.queues.iter().enumerate() {
            queued += q.ready.len() as u64;
            if let Some(max) = self.cfg.queues[qi].max_length {
                if q.ready.len() > max as usize {
                    return Err(format!(
                        "queue {} holds {} > max_length {max}",
                        self.cfg.queues[qi].id,
                        q.ready.len()
                    ));
                }
            }
            for &s in &q.ready {
                let m = &self.msgs[s as usize];
                if m.state != MsgState::Queued || m.queue != qi as u32 {
                    return Err(format!(
                        "message {} in queue {qi} has state {:?}",
                        m.id, m.state
                    ));
                }
            }
            let held: u32 = self
                .consumers
                .iter()
                .filter(|c| c.queue == qi as u32)
                .flat_map(|c| c.instances.iter())
                .map(|i| i.buffer.len() as u32)
                .sum();
            if held != q.unacked {
                return Err(format!(
                    "queue {qi} counts {} unacked, consumers hold {held}",
                    q.unacked
                ));
            }
            unacked += held as u64;
            // Dispatch is work-conserving: no ready message waits while an
            // instance reading this queue is up and has prefetch room. (A
            // stuck queue would pass every conservation check.)
            if !q.ready.is_empty() {
                for &(c, i) in &q.subscribers {
                    let inst = &self.consumers[c as usize].instances[i as usize];
                    let prefetch = self.cfg.consumers[c as usize].prefetch as usize;
                    if inst.up && inst.buffer.len() < prefetch {
                        return Err(format!(
                            "queue {} has {} ready while {}#{i} is up with {} of {prefetch} held",
                            self.cfg.queues[qi].id,
                            q.ready.len(),
                            self.cfg.consumers[c as usize].id,
                            inst.buffer.len()
                        ));
                    }
                }
            }
        }
        if queued != l.queued || unacked != l.unacked {
            return Err(format!(
                "queued {queued}/{} unacked {unacked}/{}",
                l.queued, l.unacked
            ));
        }
        for (ci, c) in self.consumers.iter().enumerate() {
            for (ii, inst) in c.instances.iter().enumerate() {
                if inst.buffer.len() > c.prefetch_ceiling as usize {
                    return Err(format!(
                        "instance {ci}#{ii} holds {} deliveries, prefetch is at most {}",
                        inst.buffer.len(),
                        c.prefetch_ceiling
                    ));
                }
                if !inst.up && !inst.buffer.is_empty() {
                    return Err(format!("crashed instance {ci}#{ii} still holds deliveries"));
                }
                if inst.service_pending != inst.busy as u32 {
                    return Err(format!(
                        "instance {ci}#{ii} busy={} with {} service completions pending",
                        inst.busy, inst.service_pending
                    ));
                }
                if inst.busy == inst.buffer.is_empty() {
                    return Err(format!(
                        "instance {ci}#{ii} busy={} with {} held",
                        inst.busy,
                        inst.buffer.len()
                    ));
                }
            }
        }
        // Attempts within their limit. A message's failures count over its
        // whole life (the retry-queue pattern relies on that), so a message
        // dead-lettered back into a queue, or handed to another consumer
        // group, may legitimately be delivered again with failures at or past
        // some policy's limit. What must hold is that a delayed retry is only
        // ever pending with attempts left under the policy that scheduled it.
        for m in &self.msgs {
            if m.state == MsgState::RetryWait
                && !(m.failures >= 1
                    && m.failures < m.retry_limit
                    && m.retry_limit <= scenario::ATTEMPTS_MAX)
            {
                return Err(format!(
                    "message {} waits for a retry after {} failures (limit {})",
                    m.id, m.failures, m.retry_limit
                ));
            }
        }
        if self.totals.published + self.totals.copies != l.created {
            return Err(format!(
                "published {} + copies {} != created {}",
                self.totals.published, self.totals.copies, l.created
            ));
        }
        Ok(())
    }
}
