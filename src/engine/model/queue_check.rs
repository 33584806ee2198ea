//! The queues' invariants, checked after every event in tests
//! (`Engine::check_invariants`): each queue within its `max_length`, holding
//! only its own queued messages, its unacked count matching what its
//! consumers hold, and work-conserving. Split from `queue.rs`; reads only.

use crate::engine::core::Engine;
use crate::engine::message::MsgState;
use crate::scenario::Overflow;

impl Engine {
    /// Every queue within its `max_length`, holding only its own queued
    /// messages, its unacked count matching what its consumers hold, and no
    /// message waiting while a subscriber has room. Returns the totals
    /// (queued, unacked) for the ledger check.
    pub(crate) fn check_queues(&self) -> Result<(u64, u64), String> {
        let mut queued = 0;
        let mut unacked = 0;
        for (qi, q) in self.queues.iter().enumerate() {
            queued += q.ready.len() as u64;
            let sqs = self.is_sqs_queue(qi as u32);
            if sqs {
                // SQS keeps its messages `Queued` until deleted, received or not.
                queued += self.sqs_stored_in(qi as u32);
            }
            // Only drop-head enforces the limit on what is already queued
            // (reject-publish refuses new publishes instead).
            if let (Some(max), Overflow::DropHead) =
                (self.cfg.queues[qi].max_length, self.cfg.queues[qi].overflow)
            {
                if q.ready.len() > max as usize {
                    return Err(format!(
                        "queue {} holds {} > max_length {max}",
                        self.cfg.queues[qi].id,
                        q.ready.len()
                    ));
                }
            }
            for (level, s) in q.ready.iter_levels() {
                let m = &self.msgs[s as usize];
                if m.state != MsgState::Queued || m.queue as usize != qi {
                    return Err(format!(
                        "message {} in queue {qi} has state {:?}",
                        m.id, m.state
                    ));
                }
                if level != self.priority_in(s, qi as u32) {
                    return Err(format!(
                        "message {} waits at priority {level} in queue {qi}, its priority there is {}",
                        m.id,
                        self.priority_in(s, qi as u32)
                    ));
                }
            }
            let held: u32 = self
                .consumers
                .iter()
                .filter(|c| c.queue == qi as u32)
                .flat_map(|c| c.instances.iter())
                .map(|i| i.held() as u32)
                .sum();
            if held != q.unacked {
                return Err(format!(
                    "queue {qi} counts {} unacked, consumers hold {held}",
                    q.unacked
                ));
            }
            if sqs {
                continue;
            }
            unacked += held as u64;
            // Dispatch is work-conserving: no ready message waits while an
            // instance reading this queue is up and has prefetch room, and
            // its consumer's circuit breaker lets deliveries through. (A
            // stuck queue would pass every conservation check.)
            if !q.ready.is_empty() {
                // A single-active-consumer queue: only the active instance.
                let active = q.sac.then(|| self.sac_candidate(qi as u32));
                for &(c, i) in &q.subscribers {
                    if active.is_some_and(|a| a != Some((c, i))) {
                        continue;
                    }
                    let inst = &self.consumers[c as usize].instances[i as usize];
                    let prefetch = self.cfg.consumers[c as usize].prefetch as usize;
                    let gated = self.consumers[c as usize].gated && !self.breaker_permits(c);
                    if inst.up && inst.held() < prefetch && !gated {
                        return Err(format!(
                            "queue {} has {} ready while {}#{i} is up with {} of {prefetch} held",
                            self.cfg.queues[qi].id,
                            q.ready.len(),
                            self.cfg.consumers[c as usize].id,
                            inst.held()
                        ));
                    }
                }
            }
        }
        Ok((queued, unacked))
    }
}
