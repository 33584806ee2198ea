//! Kafka's window of in-flight produce requests
//! (`max.in.flight.requests.per.connection`, here per partition).
//!
//!   send_batch ──window_admit──► slot free? ──yes──► transmit_batch (latency, produce path)
//!                                    │ no
//!                                    ▼
//!                         waiting (FIFO per partition, in the producer's accumulator)
//!   answer / append / give-up ──window_release──► slot freed ──► oldest waiting batch transmitted
//!
//! A batch holds a slot from the moment it is sent until the producer hears
//! its outcome: its append (no acknowledgement tracking), its answer
//! (`replication.rs`: success, duplicate, or given up after `retries`). A
//! batch that waits for a retry keeps its slot, so with a window of 1 nothing
//! overtakes it. With a window above 1 and no idempotence, a retried batch is
//! appended after later ones that went through: its records reorder (Kafka
//! documents this risk). With idempotence the broker takes only the next
//! sequence of each (producer, partition) and refuses a gap
//! (`OutOfOrderSequence`, retried), so order holds with up to 5 in flight.
//! `acks=0` batches are answered at the send (Kafka completes them without a
//! response), so they never wait.
//! The window applies when `max_in_flight` is set. Unset, no window is kept
//! (the behaviour before this module, which golden traces pin): Kafka's
//! default is 5, and the `kafka-idempotent-producer`
//! preset has more than 5 batches of a partition unanswered while a lost
//! answer waits for its timeout, so enforcing 5 by default would change its
//! trace. Simplifications (README): the window is per
//! partition (Kafka's is per broker connection); a waiting batch is not
//! merged with later records (Kafka appends to the last batch of the
//! partition while it has room).
//! A waiting batch needs no timer of its own for Kafka's delivery timeout
//! (counted from its creation, `replication.rs`): the batches ahead of it
//! were created earlier and each is answered or given up by its own delivery
//! timeout, which frees a slot first.
//! Limit: at most `WAITING_BATCHES_MAX` batches wait per producer; beyond it
//! a batch is dropped (counted as `unacked_lost`, like Kafka's `buffer.memory`
//! exhausted after `max.block.ms`).

use super::batch::OpenBatch;
use crate::engine::core::Engine;
use crate::scenario::Acks;
use std::collections::VecDeque;

/// Batches that may wait for a slot, per producer.
pub const WAITING_BATCHES_MAX: u32 = 100_000;

/// One producer's window state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    /// Unanswered batches per partition.
    pub(crate) in_flight: Vec<u32>,
    /// Batches waiting for a slot per partition, oldest first.
    pub(crate) waiting: Vec<VecDeque<OpenBatch>>,
    /// Batches waiting now, over all partitions.
    pub(crate) waiting_now: u32,
    /// Batches that had to wait, ever.
    pub(crate) waited: u64,
    /// Highest number of batches waiting at once.
    pub(crate) waiting_max: u32,
    /// A release is transmitting waiting batches: nested releases only count.
    draining: bool,
}

impl Engine {
    /// The window of topic producer `p` (`None`: no window: `acks=0`, or
    /// `max_in_flight` unset, see the module header).
    fn window_size(&self, p: u32) -> Option<u32> {
        let cfg = &self.cfg.producers[p as usize];
        cfg.max_in_flight.filter(|_| cfg.acks != Some(Acks::Zero))
    }

    /// Batch `batch` of producer `p` for `part` is ready to go: `Some` (take a
    /// slot and transmit it now) or `None` (it waits for a slot, or is dropped
    /// past the waiting limit).
    pub(crate) fn window_admit(
        &mut self,
        p: u32,
        part: u32,
        batch: OpenBatch,
    ) -> Option<OpenBatch> {
        let Some(max) = self.window_size(p) else {
            return Some(batch);
        };
        let tp = self.streams.producers[p as usize]
            .as_mut()
            .expect("a topic producer");
        let t = tp.topic;
        let w = &mut tp.window;
        let i = part as usize;
        if w.in_flight.len() <= i {
            w.in_flight.resize(i + 1, 0);
            w.waiting.resize(i + 1, VecDeque::new());
        }
        if w.in_flight[i] < max && w.waiting[i].is_empty() {
            w.in_flight[i] += 1;
            return Some(batch);
        }
        if w.waiting_now >= WAITING_BATCHES_MAX {
            self.streams.topics[t as usize].repl[i].unacked_lost += batch.records.len() as u64;
            return None;
        }
        w.waiting[i].push_back(batch);
        w.waiting_now += 1;
        w.waited += 1;
        w.waiting_max = w.waiting_max.max(w.waiting_now);
        None
    }

    /// Producer `p` heard the outcome of a batch for `part`: its slot is free,
    /// and the oldest waiting batches go out (in order, as slots allow).
    pub(crate) fn window_release(&mut self, p: u32, part: u32) {
        let Some(max) = self.window_size(p) else {
            return;
        };
        let Some(tp) = self.streams.producers[p as usize].as_mut() else {
            return;
        };
        let w = &mut tp.window;
        let i = part as usize;
        let Some(n) = w.in_flight.get_mut(i) else {
            return;
        };
        *n = n.saturating_sub(1);
        if w.draining {
            return;
        }
        w.draining = true;
        // A loop, not recursion: a batch answered at once frees its slot
        // while we are here, and the loop sends the next one.
        loop {
            let tp = self.streams.producers[p as usize]
                .as_mut()
                .expect("a topic producer");
            let w = &mut tp.window;
            if w.in_flight[i] >= max {
                break;
            }
            let Some(batch) = w.waiting[i].pop_front() else {
                break;
            };
            w.waiting_now -= 1;
            w.in_flight[i] += 1;
            self.transmit_batch(p, part, batch);
        }
        if let Some(tp) = self.streams.producers[p as usize].as_mut() {
            tp.window.draining = false;
        }
    }

    /// Batches that waited for a slot, over the producers writing to topic `t`.
    pub(crate) fn window_waited(&self, t: u32) -> u64 {
        self.streams
            .producers
            .iter()
            .flatten()
            .filter(|tp| tp.topic == t)
            .map(|tp| tp.window.waited)
            .sum()
    }

    /// A crashed producer forgets its window; returns the records of the
    /// batches that were waiting (never sent).
    pub(crate) fn window_forget(&mut self, p: u32) -> u64 {
        let Some(tp) = self.streams.producers[p as usize].as_mut() else {
            return 0;
        };
        let t = tp.topic as usize;
        let w = &mut tp.window;
        w.in_flight.iter_mut().for_each(|n| *n = 0);
        w.waiting_now = 0;
        let mut lost = Vec::new();
        for (part, q) in w.waiting.iter_mut().enumerate() {
            let n: u64 = q.drain(..).map(|b| b.records.len() as u64).sum();
            if n > 0 {
                lost.push((part, n));
            }
        }
        let mut total = 0;
        for (part, n) in lost {
            self.streams.topics[t].repl[part].unacked_lost += n;
            total += n;
        }
        total
    }
}
