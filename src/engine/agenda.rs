//! The agenda: pending events ordered by `(time, seq)`.
//!
//!   schedule(t, ev) ──► [binary heap keyed (t, seq)] ──pop──► earliest event
//!
//! # Ordering guarantee
//!
//! Events run in increasing simulated time. Events at the same instant run in
//! the order they were scheduled: every `schedule` takes the next value of a
//! counter `seq`, and the heap orders by `(time, seq)`. No other tie-break
//! exists, so the order never depends on memory layout, hashing or platform.

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Debug)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)`.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A priority queue of events; see the module docs for the ordering guarantee.
#[derive(Clone, Debug)]
pub struct Agenda<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for Agenda<E> {
    fn default() -> Self {
        Agenda {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> Agenda<E> {
    pub fn schedule(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
    }
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }
    pub fn pop(&mut self) -> Option<(SimTime, u64, E)> {
        self.heap.pop().map(|e| (e.time, e.seq, e.event))
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_instant_runs_in_scheduling_order() {
        let mut a = Agenda::default();
        a.schedule(SimTime(5), "b");
        a.schedule(SimTime(1), "a");
        a.schedule(SimTime(5), "c");
        a.schedule(SimTime(5), "d");
        let order: Vec<_> = std::iter::from_fn(|| a.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }
}
