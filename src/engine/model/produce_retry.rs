//! A Kafka producer's retries of one batch (split from `replication.rs`):
//! the exponential back-off after an error answer (KIP-580), the fixed
//! short retry of a batch held behind a lost one, giving a batch up at
//! `retries` or at `delivery.timeout.ms`, and closing the sequence gap an
//! idempotent producer's given-up batch leaves.
//!
//!   error answer ──► retry_after_error: 100 ms × 2^(n−1) ≤ 1 s, ±20% ──┐
//!   no answer (request timeout) ─────────────────────────────────────┼─► retry_later ──► ProduceRetry
//!                                 sends > retries, or the delivery timeout ──► give_up_batch (gave_up)
//!   acks=all batch waiting for the high watermark (wait_for_hw) ──request timeout──► on_hw_wait_timeout:
//!                                 REQUEST_TIMED_OUT, an error answer (or given up at the delivery timeout)
//!
//! Guarantees: a batch is retried at most once at a time (`retry_pending`),
//! never after its delivery timeout, and every give-up is traced; every
//! draw comes from the producer's link stream.

use super::replication::{
    DELIVERY_TIMEOUT_US, RETRY_BACKOFF_MAX_US, RETRY_BACKOFF_US, TOPIC_RETRIES_DEFAULT,
};
use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;

/// `delay_us` after `now_us`, but no later than the delivery timeout of a
/// batch created at `created_us` (and never before `now_us`).
fn due_by_delivery_timeout(now_us: u64, created_us: u64, delay_us: u64) -> u64 {
    let deadline_us = created_us.saturating_add(DELIVERY_TIMEOUT_US);
    now_us.saturating_add(delay_us).min(deadline_us.max(now_us))
}

impl Engine {
    /// An error answer (offline, not the leader, `NotEnoughReplicas`): send
    /// again after Kafka's exponential back-off (KIP-580,
    /// `ExponentialBackoff`): `retry.backoff.ms` × 2^(attempts − 1), at most
    /// `retry.backoff.max.ms`, times a jitter drawn uniformly from
    /// [0.8, 1.2) on the producer's link stream, capped at the maximum again.
    pub(crate) fn retry_after_error(&mut self, id: u32) {
        let Some(b) = self.streams.tracked.get(&id) else {
            return;
        };
        if b.retry_pending {
            return;
        }
        let (p, sends) = (b.p, b.sends);
        // `ExponentialBackoff.backoff(attempts − 1)`: initial × 2^min(n, expMax)
        // with expMax = log2(max / initial); the attempts are whole, so the
        // term is 100 ms shifted left, and from n = 4 on (past log2 10) the
        // maximum itself (no `exp2`: its table would add 4 KiB to the wasm).
        let n = sends.saturating_sub(1);
        let term = if RETRY_BACKOFF_US << n.min(4) >= RETRY_BACKOFF_MAX_US {
            RETRY_BACKOFF_MAX_US as f64
        } else {
            (RETRY_BACKOFF_US << n) as f64
        };
        let jitter = 0.8 + 0.4 * self.producers[p as usize].link.unit();
        let delay_us = ((term * jitter) as u64).min(RETRY_BACKOFF_MAX_US);
        self.retry_later(id, delay_us);
    }

    /// No answer (or an error): send again after `delay_us` (no later than
    /// the batch's delivery timeout, when it is given up), or give up after
    /// `retries`.
    pub(crate) fn retry_later(&mut self, id: u32, delay_us: u64) {
        let b = self.streams.tracked.get_mut(&id).expect("tracked");
        if b.retry_pending {
            return;
        }
        let retries = self.cfg.producers[b.p as usize]
            .confirms
            .map_or(TOPIC_RETRIES_DEFAULT, |c| c.retries);
        if b.sends > retries {
            self.give_up_batch(id);
            return;
        }
        b.retry_pending = true;
        let at = due_by_delivery_timeout(self.now.0, b.created_us, delay_us);
        self.schedule_stream(
            crate::engine::time::SimTime(at),
            StreamEvent::ProduceRetry { batch: id },
        );
    }

    /// `acks=all` batch `id` waits for the high watermark to reach `end`,
    /// for at most the request timeout: Kafka's broker answers a produce
    /// request still in purgatory after its timeout (`request.timeout.ms`)
    /// with REQUEST_TIMED_OUT, retried like any error answer; and the
    /// producer fails a batch in flight at its delivery timeout.
    pub(super) fn wait_for_hw(&mut self, t: u32, part: u32, end: u64, id: u32) {
        let timeout_us = self.request_timeout_us(self.streams.tracked[&id].p);
        let b = self.streams.tracked.get_mut(&id).expect("tracked");
        b.waits = b.waits.wrapping_add(1);
        let wait = b.waits;
        let due_us = due_by_delivery_timeout(self.now.0, b.created_us, timeout_us);
        let q = &mut self.streams.topics[t as usize].repl[part as usize].waiting;
        // Ordered by end offset (a duplicate's end is an older one).
        let at = q.partition_point(|&(e, _)| e <= end);
        q.insert(at, (end, id));
        self.schedule_stream(
            crate::engine::time::SimTime(due_us),
            StreamEvent::HwWaitTimeout { batch: id, wait },
        );
    }

    /// The request timeout (or the delivery timeout) of batch `id`'s wait
    /// number `wait` for the high watermark: if it still waits, the request
    /// fails — retried after the back-off, or given up at the delivery timeout.
    pub(crate) fn on_hw_wait_timeout(&mut self, id: u32, wait: u32) {
        let Some(b) = self.streams.tracked.get(&id) else {
            return;
        };
        if b.waits != wait {
            return;
        }
        let (t, part) = (b.t as usize, b.part as usize);
        let deadline_us = b.created_us.saturating_add(DELIVERY_TIMEOUT_US);
        let q = &mut self.streams.topics[t].repl[part].waiting;
        let Some(i) = q.iter().position(|&(_, w)| w == id) else {
            return; // answered, or failed by a crash or an ISR change
        };
        q.remove(i);
        if self.now.0 >= deadline_us {
            self.give_up_batch(id);
        } else {
            self.retry_after_error(id);
        }
    }

    /// An idempotent batch with sequence `seq` was given up unappended: the
    /// later batches of that partition move down one sequence number, so
    /// the broker takes them next instead of answering OutOfOrderSequence
    /// for ever (the client's `adjustSequencesDueToFailedBatch`; newer
    /// clients bump the epoch and restart at 0, to the same effect).
    pub(super) fn close_sequence_gap(&mut self, p: u32, part: u32, seq: u64) {
        for b in self.streams.tracked.values_mut() {
            if b.p == p && b.part == part && b.seq > seq {
                b.seq -= 1;
            }
        }
        if let Some(tp) = self.streams.producers[p as usize].as_mut() {
            if let Some(n) = tp.next_seq.get_mut(part as usize) {
                *n -= 1;
            }
        }
    }

    /// Batch `id` is given up (its retries or its delivery timeout ran out):
    /// records never appended are lost.
    pub(super) fn give_up_batch(&mut self, id: u32) {
        let b = self.streams.tracked.remove(&id).expect("tracked");
        if !b.appended {
            self.streams.topics[b.t as usize].repl[b.part as usize].unacked_lost +=
                b.records.len() as u64;
            if self.cfg.producers[b.p as usize].kafka_idempotent() {
                self.close_sequence_gap(b.p, b.part, b.seq);
            }
        }
        let node = self.producers[b.p as usize].node;
        let first = b.records.first().map(|r| r.msg).unwrap_or(0);
        self.trace.record(
            self.now,
            TraceKind::GaveUp {
                original: first,
                sends: b.sends,
            },
            None,
            node,
        );
        self.window_release(b.p, b.part);
    }

    pub(crate) fn on_produce_retry(&mut self, id: u32) {
        let Some(b) = self.streams.tracked.get_mut(&id) else {
            return;
        };
        b.retry_pending = false;
        if self.now.0 >= b.created_us.saturating_add(DELIVERY_TIMEOUT_US) {
            self.give_up_batch(id);
            return;
        }
        let (p, t, part) = (b.p, b.t, b.part);
        self.streams.topics[t as usize].repl[part as usize].resent += b.records.len() as u64;
        let node = self.producers[p as usize].node;
        let (first, attempt) = (b.records.first().map(|r| r.msg).unwrap_or(0), b.sends + 1);
        self.trace.record(
            self.now,
            TraceKind::Resent {
                original: first,
                attempt,
            },
            None,
            node,
        );
        self.send_tracked(id);
    }
}
