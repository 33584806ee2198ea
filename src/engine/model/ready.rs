//! A queue's ready messages in delivery order: one FIFO, or for a priority
//! queue (`max_priority`), one FIFO per priority level.
//!
//!   push_back(slot, p) ──► level p ─┐
//!                          …        ├──► front / pop_front: the highest non-empty level's head
//!   push_back(slot, 0) ──► level 0 ─┘
//!
//! This is RabbitMQ's classic priority queue (`rabbit_priority_queue.erl`):
//! one backing queue per priority 0..=max, and every operation that takes
//! "the head" — `fetch` (delivery), `drop` (max-length drop-head) and
//! `dropwhile` (TTL expiry at the head) — walks the levels from the highest
//! down (`find2`), so overflow drops the oldest message of the *highest*
//! non-empty priority, and an expired low-priority message waits until every
//! higher level is empty. A requeued message goes back to its original
//! position in its own level (`insert_returned`), ahead of everything never
//! delivered. Guarantees: `len` is the sum of the levels; with no priorities
//! (`max_priority` 0) it is one `VecDeque` and costs one extra compare per
//! call, so plain queues stay on their fast path.

use std::collections::VecDeque;

#[derive(Clone, Debug, Default)]
pub(crate) struct Ready {
    /// Level 0: messages without a priority, and every message of a plain queue.
    base: VecDeque<u32>,
    /// Levels 1..=max_priority, level p at index p − 1 (empty: a plain queue).
    upper: Vec<VecDeque<u32>>,
    /// Messages in `upper`, so a plain or low-only queue skips the scan.
    upper_len: usize,
}

impl Ready {
    /// An empty queue with priority levels 0..=`max_priority`.
    pub(crate) fn with_max_priority(max_priority: u8) -> Self {
        Ready {
            upper: vec![VecDeque::new(); max_priority as usize],
            ..Default::default()
        }
    }

    /// The highest level (0: not a priority queue).
    #[inline]
    pub(crate) fn max_priority(&self) -> u8 {
        self.upper.len() as u8
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.base.len() + self.upper_len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next message to deliver.
    #[inline]
    pub(crate) fn front(&self) -> Option<&u32> {
        if self.upper_len == 0 {
            return self.base.front();
        }
        self.upper.iter().rev().find_map(|l| l.front())
    }

    /// Take the next message to deliver (or to drop from the head).
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<u32> {
        if self.upper_len == 0 {
            return self.base.pop_front();
        }
        let l = self.upper.iter_mut().rev().find(|l| !l.is_empty())?;
        self.upper_len -= 1;
        l.pop_front()
    }

    /// Append at the tail of level `priority` (at most `max_priority`).
    #[inline]
    pub(crate) fn push_back(&mut self, slot: u32, priority: u8) {
        match priority {
            0 => self.base.push_back(slot),
            p => {
                self.upper[p as usize - 1].push_back(slot);
                self.upper_len += 1;
            }
        }
    }

    /// Put back at the head of level `priority` (tests).
    #[cfg(test)]
    pub(crate) fn push_front(&mut self, slot: u32, priority: u8) {
        match priority {
            0 => self.base.push_front(slot),
            p => {
                self.upper[p as usize - 1].push_front(slot);
                self.upper_len += 1;
            }
        }
    }

    /// Put back into level `priority` at its original position (a
    /// requeue): after the leading messages that came before it
    /// (`earlier(slot)`), so several returns come back in their original
    /// order whatever order they were returned in. The scan stops at the
    /// first later message, normally the first one that was never delivered.
    pub(crate) fn insert_returned(
        &mut self,
        slot: u32,
        priority: u8,
        earlier: impl Fn(u32) -> bool,
    ) {
        let level = match priority {
            0 => &mut self.base,
            p => {
                self.upper_len += 1;
                &mut self.upper[p as usize - 1]
            }
        };
        let at = level
            .iter()
            .position(|&s| !earlier(s))
            .unwrap_or(level.len());
        level.insert(at, slot);
    }

    /// Every ready message in delivery order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &u32> + '_ {
        self.upper.iter().rev().flatten().chain(self.base.iter())
    }

    /// Every ready message with its level, in delivery order.
    pub(crate) fn iter_levels(&self) -> impl Iterator<Item = (u8, u32)> + '_ {
        let top = self.upper.len();
        self.upper
            .iter()
            .rev()
            .enumerate()
            .flat_map(move |(k, l)| l.iter().map(move |&s| ((top - k) as u8, s)))
            .chain(self.base.iter().map(|&s| (0, s)))
    }

    /// Take every message out, in delivery order.
    pub(crate) fn take_all(&mut self) -> Vec<u32> {
        let all: Vec<u32> = self.iter().copied().collect();
        self.base.clear();
        self.upper.iter_mut().for_each(VecDeque::clear);
        self.upper_len = 0;
        all
    }

    /// Keep the messages `keep` says yes to, in order; returns the others in
    /// delivery order.
    pub(crate) fn retain_or_take(&mut self, mut keep: impl FnMut(u32) -> bool) -> Vec<u32> {
        let mut gone = Vec::new();
        for l in self
            .upper
            .iter_mut()
            .rev()
            .chain(std::iter::once(&mut self.base))
        {
            l.retain(|&s| {
                let k = keep(s);
                if !k {
                    gone.push(s);
                }
                k
            });
        }
        self.upper_len = self.upper.iter().map(VecDeque::len).sum();
        gone
    }

    /// Ready messages per level, highest first (empty for a plain queue).
    pub(crate) fn level_lens(&self) -> Vec<u32> {
        if self.upper.is_empty() {
            return Vec::new();
        }
        self.upper
            .iter()
            .rev()
            .chain(std::iter::once(&self.base))
            .map(|l| l.len() as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_queue_is_fifo() {
        let mut r = Ready::default();
        for s in 1..=3 {
            r.push_back(s, 0);
        }
        r.push_front(9, 0);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [9, 1, 2, 3]);
        assert_eq!(r.pop_front(), Some(9));
        assert_eq!(r.len(), 3);
        assert!(r.level_lens().is_empty());
    }

    #[test]
    fn the_highest_level_goes_first_and_fifo_within_a_level() {
        let mut r = Ready::with_max_priority(3);
        r.push_back(10, 0);
        r.push_back(20, 2);
        r.push_back(11, 0);
        r.push_back(30, 3);
        r.push_back(21, 2);
        r.push_front(22, 2);
        assert_eq!(r.front(), Some(&30));
        assert_eq!(r.level_lens(), [1, 3, 0, 2]);
        let levels: Vec<(u8, u32)> = r.iter_levels().collect();
        assert_eq!(
            levels,
            [(3, 30), (2, 22), (2, 20), (2, 21), (0, 10), (0, 11)]
        );
        let order: Vec<u32> = std::iter::from_fn(|| r.pop_front()).collect();
        assert_eq!(order, [30, 22, 20, 21, 10, 11]);
        assert!(r.is_empty() && r.front().is_none());
    }

    #[test]
    fn retain_and_take_keep_the_count() {
        let mut r = Ready::with_max_priority(1);
        for s in 0..6 {
            r.push_back(s, (s % 2) as u8);
        }
        let gone = r.retain_or_take(|s| s < 4);
        assert_eq!(gone, [5, 4]);
        assert_eq!(r.len(), 4);
        assert_eq!(r.take_all(), [1, 3, 0, 2]);
        assert_eq!(r.len(), 0);
    }
}
