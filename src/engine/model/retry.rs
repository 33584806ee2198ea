//! Failure handling for manually acknowledged deliveries: requeue, dead-letter,
//! or retry (delayed in place, or through a retry queue), with backoff.
//!
//!   ServiceDone (failed) ──► fail_manual ──┬─ requeue ──────────► queue::requeue
//!                                          ├─ dead_letter ──────► dead_letter (`rejected`)
//!                                          └─ retry ─┬─ delayed ─► RetryDue ──► queue::enqueue
//!                                                    ├─ retry_queue ─► dead_letter (the loop)
//!                                                    └─ exhausted ───► exhausted_to / DLX / drop
//!
//! Reacts to: `Event::RetryDue`. Backoff draws come from the consumer's stream
//! and every delay is capped at `DELAY_US_MAX`. A delayed retry is only ever
//! pending with attempts left under the policy that scheduled it.

use crate::engine::core::{Engine, Event, DELAY_US_MAX};
use crate::engine::message::{flag, MsgState};
use crate::engine::time::delay_us_from_f64;
use crate::engine::trace::{Reason, TraceKind};
use crate::scenario::{self, Backoff, OnFailure, RetryMode};

impl Engine {
    pub(crate) fn fail_manual(&mut self, c: u32, i: u32, slot: u32, q: u32) {
        let ci = c as usize;
        match self.cfg.consumers[ci].on_failure {
            OnFailure::Requeue => {
                self.nack(c, i, slot, true);
                self.requeue(slot, q);
            }
            OnFailure::DeadLetter => {
                self.nack(c, i, slot, false);
                self.set_state(slot, MsgState::Queued);
                self.dead_letter_or_drop(slot, q, Reason::Rejected);
            }
            OnFailure::Retry => {
                let policy = self.cfg.consumers[ci]
                    .retry
                    .clone()
                    .expect("validated: retry needs a policy");
                let failures = self.failures(slot);
                if failures < policy.max_attempts {
                    self.totals.retried += 1;
                    match policy.mode {
                        RetryMode::Delayed => {
                            let delay_us = self.backoff_us(c, &policy.backoff, failures);
                            self.set_state(slot, MsgState::RetryWait);
                            self.ext_mut(slot).retry_limit = policy.max_attempts;
                            let id = self.msgs[slot as usize].id;
                            let cnode = self.consumers[ci].node;
                            self.trace.record(
                                self.now,
                                TraceKind::RetryScheduled {
                                    attempt: failures + 1,
                                    delay_us,
                                },
                                Some(id),
                                cnode,
                            );
                            let gen = self.msgs[slot as usize].gen;
                            self.agenda
                                .schedule(self.now.after(delay_us), Event::RetryDue { slot, gen });
                        }
                        RetryMode::RetryQueue => {
                            self.nack(c, i, slot, false);
                            self.set_state(slot, MsgState::Queued);
                            self.dead_letter_or_drop(slot, q, Reason::Rejected);
                        }
                    }
                } else {
                    self.nack(c, i, slot, false);
                    self.set_state(slot, MsgState::Queued);
                    match self.consumers[ci].exhausted_to {
                        // A parking exchange, not the queue's DLX: the
                        // queue's `dead_letter_routing_key` (RabbitMQ's
                        // `x-dead-letter-routing-key`, applied only when
                        // dead-lettering to `x-dead-letter-exchange`,
                        // rabbitmq.com/docs/dlx) does not apply; the
                        // message keeps its own routing key.
                        Some(x) => self.dead_letter_to(slot, q, Some(x), None, Reason::Rejected),
                        // In retry_queue mode the queue's dead-letter exchange
                        // is the retry loop itself: going through it would
                        // send the exhausted message round again, for ever.
                        None if self.queue_has_dlx(q) && policy.mode == RetryMode::Delayed => {
                            self.dead_letter_or_drop(slot, q, Reason::Rejected)
                        }
                        None => {
                            self.queue_drop(slot, q, Reason::RetriesExhausted);
                        }
                    }
                }
            }
        }
    }

    /// Delay before attempt `failures + 1`: `initial * multiplier^(failures-1)`,
    /// capped, then jittered uniformly by ±jitter (via the consumer's stream).
    pub(crate) fn backoff_us(&mut self, c: u32, b: &Backoff, failures: u32) -> u64 {
        match b {
            Backoff::Immediate => 0,
            Backoff::Fixed(d) => d.us(),
            Backoff::Exponential {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                let exp = libm::pow(*multiplier, failures.saturating_sub(1) as f64);
                let raw = (initial.us() as f64 * exp).min(max.us() as f64);
                let j = if *jitter > 0.0 {
                    let u = self.consumers[c as usize].stream.unit();
                    1.0 + jitter * (2.0 * u - 1.0)
                } else {
                    1.0
                };
                delay_us_from_f64(raw * j, DELAY_US_MAX)
            }
        }
    }

    pub(crate) fn on_retry_due(&mut self, slot: u32, gen: u32) {
        let m = &mut self.msgs[slot as usize];
        if m.gen != gen || m.state != MsgState::RetryWait {
            return;
        }
        m.set(flag::REDELIVERED, true);
        let q = m.queue as u32;
        let id = m.id;
        let attempt = self.failures(slot) + 1;
        let qnode = self.queues[q as usize].node;
        self.trace
            .record(self.now, TraceKind::Retried { attempt }, Some(id), qnode);
        self.set_state(slot, MsgState::Transit);
        self.enqueue(slot, q);
    }

    // ------------------------------------------------ invariants

    /// A delayed retry is only pending with attempts left.
    pub(crate) fn check_retry_waits(&self) -> Result<(), String> {
        // Attempts within their limit. A message's failures count over its
        // whole life (the retry-queue pattern relies on that), so a message
        // dead-lettered back into a queue, or handed to another consumer
        // group, may legitimately be delivered again with failures at or past
        // some policy's limit. What must hold is that a delayed retry is only
        // ever pending with attempts left under the policy that scheduled it.
        for (slot, m) in self.msgs.iter().enumerate() {
            if m.state != MsgState::RetryWait {
                continue;
            }
            let (failures, limit) = self
                .ext(slot as u32)
                .map_or((0, 0), |x| (x.failures, x.retry_limit));
            if !(failures >= 1 && failures < limit && limit <= scenario::ATTEMPTS_MAX) {
                return Err(format!(
                    "message {} waits for a retry after {failures} failures (limit {limit})",
                    m.id
                ));
            }
        }
        Ok(())
    }
}
