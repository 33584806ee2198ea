//! What a consumer group does with a record whose processing failed (`on_failure`).
//!
//!   ServiceDone, failed ──► blocking:     RetryScheduled ──backoff──► BackoffDone ──► again
//!                      │                  (the partition waits: head-of-line blocking)
//!                      ├─► skip:          Dropped (retries_exhausted) ──► next record
//!                      ├─► dead_letter:   in place `attempts` times, then
//!                      │                  SentToDeadLetterTopic ──append──► DLT ──► next record
//!                      └─► retry_topics:  SentToRetryTopic ──append──► retry topic k ──► next record
//!                                         the group reads topic k; a record there is fetched
//!                                         once `delay_k` has passed since its append
//!                                         (RetryDue wakes the owner); it fails again ──►
//!                                         topic k+1 … then the dead-letter topic (or dropped)
//!
//! Reacts to: `StreamEvent::{BackoffDone, RetryDue}`; called by `fetch.rs` when a
//! record fails (`record_failed`) and while polling a retry topic (`retry_due_us`).
//!
//! The modelled semantics follow Spring Kafka's error handling: `DefaultErrorHandler`
//! (blocking retries with a back-off, then a recoverer), `DeadLetterPublishingRecoverer`
//! (the record goes to a dead-letter topic, by default to the same partition number)
//! and non-blocking retries with retryable topics ("Non-Blocking Retries" in the Spring
//! Kafka reference: each retry topic's consumer waits until the record's back-off is
//! due, so order per key is not kept); and Kafka Connect's `errors.tolerance: all`
//! (skip) with `errors.deadletterqueue.topic.name`. Guarantees: a moved record is a
//! real append to its topic (a new record id, the original key and publish time, the
//! original partition number when the target has it, else the key's partition); the
//! source partition moves on past it and commits as if it were processed; in-place
//! retries keep the partition in offset order. Without `on_failure` a failed record
//! is retried in place at once, for ever (as before `on_failure` existed).

use super::group::Fetched;
use super::partitioner::partition_for_key;
use super::topic::{Record, StreamEvent};
use crate::engine::core::Engine;
use crate::engine::message::NO_SYM;
use crate::engine::trace::{Reason, TraceKind};
use crate::scenario::{self, GroupOnFailure};

/// Per-group failure handling state and counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct FailureState {
    /// Retry topics in order (topic indices), for `retry_topics`.
    pub(crate) retry_topics: Vec<u32>,
    /// Their delays [µs].
    pub(crate) delays_us: Vec<u64>,
    /// In-place retries (blocking and `dead_letter`'s attempts before giving up).
    pub(crate) retried: u64,
    /// Records appended to a retry topic.
    pub(crate) sent_to_retry: u64,
    /// Records appended to the dead-letter topic.
    pub(crate) dead_lettered: u64,
    /// Failed records given up on without a topic to go to (skipped).
    pub(crate) dropped: u64,
    /// Records processed successfully from a retry topic.
    pub(crate) recovered: u64,
}

impl Engine {
    /// The failure state of a new group and the retry topics it must also read.
    pub(crate) fn failure_state(&self, g: &scenario::ConsumerGroup) -> (FailureState, Vec<u32>) {
        let mut st = FailureState::default();
        if let Some(GroupOnFailure::RetryTopics { topics, .. }) = &g.on_failure {
            for r in topics {
                st.retry_topics
                    .push(self.topic_index(&r.topic).expect("validated topic"));
                st.delays_us.push(r.delay.us());
            }
        }
        let reads = st.retry_topics.clone();
        (st, reads)
    }

    /// 0 for a partition of a topic the group subscribed to; k for one of its
    /// k-th retry topic.
    pub(crate) fn retry_stage(&self, g: u32, gp: u32) -> usize {
        let grp = &self.streams.groups[g as usize];
        if grp.failures.retry_topics.is_empty() {
            return 0;
        }
        let t = grp.parts[gp as usize].topic;
        grp.failures
            .retry_topics
            .iter()
            .position(|&x| x == t)
            .map_or(0, |k| k + 1)
    }

    /// For a retry-topic partition: the delay after which its records are due.
    pub(crate) fn retry_delay_us(&self, g: u32, gp: u32) -> Option<u64> {
        match self.retry_stage(g, gp) {
            0 => None,
            k => Some(self.streams.groups[g as usize].failures.delays_us[k - 1]),
        }
    }

    /// The head of a retry-topic partition is due at `due_us`: wake its owner then.
    pub(crate) fn wake_at(&mut self, g: u32, gp: u32, due_us: u64) {
        let p = &mut self.streams.groups[g as usize].parts[gp as usize];
        if p.wake_us == due_us {
            return;
        }
        p.wake_us = due_us;
        self.schedule_stream(
            crate::engine::time::SimTime(due_us),
            StreamEvent::RetryDue { g, gp },
        );
    }

    pub(crate) fn on_retry_topic_due(&mut self, g: u32, gp: u32) {
        let p = &mut self.streams.groups[g as usize].parts[gp as usize];
        if p.wake_us == self.now.0 {
            p.wake_us = 0;
        }
        if let Some(m) = p.owner {
            self.poll(g, m);
        }
    }

    pub(crate) fn on_backoff_done(&mut self, g: u32, m: u32, epoch: u32) {
        let mem = &self.streams.groups[g as usize].members[m as usize];
        if mem.epoch == epoch && mem.alive && mem.busy && !mem.batch.is_empty() {
            self.start_record(g, m);
        }
    }

    /// Member `m`'s head record `rec` failed its `attempt`-th attempt here.
    pub(crate) fn record_failed(&mut self, g: u32, m: u32, rec: Fetched, attempt: u32) {
        let stage = self.retry_stage(g, rec.gp);
        let policy = self.gcfg(g).on_failure.clone();
        match policy {
            None => self.retry_in_place(g, m, rec, attempt, 0),
            Some(GroupOnFailure::Blocking { backoff, attempts }) => {
                if attempts.is_some_and(|n| attempt >= n) {
                    self.give_up(g, m, rec, None, attempt);
                } else {
                    self.retry_in_place(g, m, rec, attempt, backoff.us());
                }
            }
            Some(GroupOnFailure::Skip) => self.give_up(g, m, rec, None, attempt),
            Some(GroupOnFailure::DeadLetter {
                topic,
                attempts,
                backoff,
            }) => {
                if attempt >= attempts {
                    let t = self.topic_index(&topic);
                    self.give_up(g, m, rec, t.map(|t| (t, true)), attempt);
                } else {
                    self.retry_in_place(g, m, rec, attempt, backoff.us());
                }
            }
            Some(GroupOnFailure::RetryTopics { dead_letter, .. }) => {
                // One attempt per stage: the main topic's, then one per retry topic.
                let total = stage as u32 + attempt;
                let retry = &self.streams.groups[g as usize].failures.retry_topics;
                let to = match retry.get(stage) {
                    Some(&t) => Some((t, false)),
                    None => dead_letter
                        .as_deref()
                        .and_then(|d| self.topic_index(d))
                        .map(|t| (t, true)),
                };
                self.give_up(g, m, rec, to, total);
            }
        }
    }

    /// Try the head record again after `backoff_us` (at once when 0).
    fn retry_in_place(&mut self, g: u32, m: u32, rec: Fetched, attempt: u32, backoff_us: u64) {
        self.streams.groups[g as usize].failures.retried += 1;
        self.totals.retried += 1;
        // The consumer seeks back and polls the record again: a poll.
        self.poll_timer_restart(g, m);
        if backoff_us == 0 {
            self.start_record(g, m);
            return;
        }
        let node = self.streams.groups[g as usize].node;
        self.trace.record(
            self.now,
            TraceKind::RetryScheduled {
                attempt,
                delay_us: backoff_us,
            },
            Some(rec.msg),
            node,
        );
        let epoch = self.streams.groups[g as usize].members[m as usize].epoch;
        self.schedule_stream(
            self.now.after(backoff_us),
            StreamEvent::BackoffDone { g, m, epoch },
        );
    }

    /// Stop trying `rec` here: append it to `to` (topic, dead letter?) or drop
    /// it, then move on to the next record as if it were processed.
    fn give_up(&mut self, g: u32, m: u32, rec: Fetched, to: Option<(u32, bool)>, attempts: u32) {
        let node = self.streams.groups[g as usize].node;
        match to {
            None => {
                self.streams.groups[g as usize].failures.dropped += 1;
                self.trace.record(
                    self.now,
                    TraceKind::Dropped {
                        reason: Reason::RetriesExhausted,
                    },
                    Some(rec.msg),
                    node,
                );
            }
            Some((t, dead)) => {
                let copy = self.next_msg_id;
                self.next_msg_id += 1;
                let tnode = self.streams.topics[t as usize].node;
                let f = &mut self.streams.groups[g as usize].failures;
                // In the run's totals as a queue's dead letters and retries.
                let kind = if dead {
                    f.dead_lettered += 1;
                    self.totals.dead_lettered += 1;
                    TraceKind::SentToDeadLetterTopic {
                        topic: tnode,
                        copy,
                        attempts,
                    }
                } else {
                    f.sent_to_retry += 1;
                    self.totals.retried += 1;
                    TraceKind::SentToRetryTopic {
                        topic: tnode,
                        copy,
                        attempt: attempts,
                    }
                };
                self.trace.record(self.now, kind, Some(rec.msg), node);
                // Spring's recoverer keeps the partition number when the target
                // has it; otherwise the key decides, as the producer would.
                let from = self.streams.groups[g as usize].parts[rec.gp as usize].partition;
                let n = self.streams.topics[t as usize].parts.len() as u32;
                let part = if from < n {
                    from
                } else if rec.key != NO_SYM {
                    partition_for_key(self.syms[rec.key as usize].as_bytes(), n)
                } else {
                    from % n
                };
                let record = Record::new(rec.key, copy, rec.published_us, false);
                self.append_batch(t, part, vec![record]);
            }
        }
        self.record_done(g, m, rec, false);
    }
}
