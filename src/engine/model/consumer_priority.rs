//! Consumer priorities (RabbitMQ's `x-priority` on `basic.consume`): which
//! of a queue's subscribers gets the next delivery when their consumers'
//! priorities differ.
//!
//!   subscribers, sorted by priority (highest first, stable):
//!   [ p10 p10 │ p5 │ p0 p0 p0 ]      ◄── one group per priority, each its own ring
//!     rr ─┘     rr   rr ─┘
//!   next delivery: the first group with an instance that has prefetch room,
//!   round-robin within that group
//!
//! RabbitMQ's consumer-priority guide: messages go to the highest-priority
//! *active* consumers (round-robin among equals), and to lower ones only while
//! every higher one is blocked (its prefetch full); the broker never waits for
//! a blocked high-priority consumer while a lower one has room. Guarantees:
//! when every consumer of a queue has the same priority (the common case, and
//! every consumer without `priority`) the subscriber list and its single
//! round-robin ring are exactly as before, so such runs are unchanged; the
//! groups are rebuilt whenever the subscriber list changes.

use crate::engine::core::Engine;

/// One priority's run of a queue's `subscribers`: `start..end`, and the
/// index its round-robin resumes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PrioGroup {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) rr: usize,
}

impl Engine {
    /// The `x-priority` of consumer `c` (0 when unset, as in RabbitMQ).
    #[inline]
    pub(crate) fn consumer_priority(&self, c: u32) -> i32 {
        self.cfg.consumers[c as usize].priority.unwrap_or(0)
    }

    /// After the subscriber list of `q` changed: when priorities differ, sort
    /// it by priority (highest first, stable) and cut it into groups; when
    /// they do not, leave it in consumer order with no groups.
    pub(crate) fn group_by_priority(&mut self, q: u32) {
        let qi = q as usize;
        let mut subs = std::mem::take(&mut self.queues[qi].subscribers);
        let same = subs
            .windows(2)
            .all(|w| self.consumer_priority(w[0].0) == self.consumer_priority(w[1].0));
        let mut groups = Vec::new();
        if !same {
            crate::small_sort::sort_by_key(&mut subs, |&(c, _)| {
                std::cmp::Reverse(self.consumer_priority(c))
            });
            let mut start = 0;
            for k in 1..=subs.len() {
                if k == subs.len()
                    || self.consumer_priority(subs[k].0) != self.consumer_priority(subs[k - 1].0)
                {
                    groups.push(PrioGroup {
                        start,
                        end: k,
                        rr: start,
                    });
                    start = k;
                }
            }
        }
        let qs = &mut self.queues[qi];
        qs.subscribers = subs;
        qs.prio_groups = groups;
    }

    /// The next subscriber with room when priorities differ: the first group
    /// (highest priority) with room, round-robin within it.
    pub(crate) fn scan_priority_groups(&mut self, q: u32) -> Option<(u32, u32)> {
        let qi = q as usize;
        for g in 0..self.queues[qi].prio_groups.len() {
            let PrioGroup { start, end, rr } = self.queues[qi].prio_groups[g];
            let mut idx = rr;
            for _ in start..end {
                let (c, i) = self.queues[qi].subscribers[idx];
                idx += 1;
                if idx == end {
                    idx = start;
                }
                if self.instance_has_room(c, i) {
                    self.queues[qi].prio_groups[g].rr = idx;
                    return Some((c, i));
                }
            }
        }
        None
    }
}
