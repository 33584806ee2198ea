//! SQS commands: check, then apply — `ChangeMessageVisibility`,
//! `RedriveDeadLetters`, `SetVisibilityTimeout`, `SetWaitTime`,
//! `SetMaxMessages` — and the AMQP-only commands refused for SQS nodes.
//!
//!   Command ──check_sqs_command──► CommandError naming the field (nothing changes)
//!           └─apply_sqs_command──► model::sqs / model::sqs_poll
//!
//! Pure functions of the engine state, so replaying the command log
//! reproduces them exactly.

use super::sqs::{SqsEvent, SqsMsg, SqsStatus, NO_SQS};
use crate::engine::command::CommandError;
use crate::engine::core::Event;
use crate::engine::core::{Engine, NodeKind};
use crate::engine::message::NO_SYM;
use crate::engine::time::SimTime;
use crate::engine::trace::TraceKind;
use crate::scenario::{self, Command, CrashPoint};

impl Engine {
    /// The SQS queue named `id` (engine queue index), or an error.
    fn find_sqs_queue(&self, id: &str) -> Result<u32, CommandError> {
        let q = self.find(id, NodeKind::Queue)?;
        if !self.is_sqs_queue(q) {
            return Err(CommandError(format!("{id} is not an SQS queue")));
        }
        Ok(q)
    }

    fn find_sqs_consumer(&self, id: &str) -> Result<u32, CommandError> {
        let c = self.find(id, NodeKind::Consumer)?;
        if !self.is_sqs_consumer(c) {
            return Err(CommandError(format!("{id} does not read an SQS queue")));
        }
        Ok(c)
    }

    /// Check an SQS command; refuse AMQP-only commands aimed at SQS nodes;
    /// `Ok` for anything else.
    pub(crate) fn check_sqs_command(&self, cmd: &Command) -> Result<(), CommandError> {
        let err = |s: String| Err(CommandError(s));
        match cmd {
            Command::ChangeMessageVisibility {
                queue,
                visibility_timeout,
                message,
            } => {
                let q = self.find_sqs_queue(queue)?;
                scenario::check_visibility_timeout(*visibility_timeout)
                    .map_err(|e| CommandError(format!("visibility_timeout: {e}")))?;
                if let Some(id) = message {
                    if !self.sqs_in_flight(q, *id) {
                        return err(format!("message: {id} is not in flight in {queue}"));
                    }
                }
            }
            Command::RedriveDeadLetters { queue, to } => {
                let q = self.find_sqs_queue(queue)?;
                if let Some(t) = to {
                    let tq = self
                        .find_sqs_queue(t)
                        .map_err(|e| CommandError(format!("to: {e}")))?;
                    if tq == q {
                        return err("to: cannot redrive a queue into itself".into());
                    }
                    let fifo =
                        |q: u32| self.sqs.queues[self.sqs.of_queue[q as usize] as usize].fifo;
                    if fifo(tq) != fifo(q) {
                        return err("to: must be of the same type (standard or FIFO)".into());
                    }
                }
            }
            Command::SetVisibilityTimeout {
                queue,
                visibility_timeout,
            } => {
                self.find_sqs_queue(queue)?;
                scenario::check_visibility_timeout(*visibility_timeout)
                    .map_err(|e| CommandError(format!("visibility_timeout: {e}")))?;
            }
            Command::SetWaitTime {
                consumer,
                wait_time,
            } => {
                self.find_sqs_consumer(consumer)?;
                scenario::check_wait_time(*wait_time)
                    .map_err(|e| CommandError(format!("wait_time: {e}")))?;
            }
            Command::SetMaxMessages {
                consumer,
                max_messages,
            } => {
                self.find_sqs_consumer(consumer)?;
                scenario::check_max_messages(*max_messages)
                    .map_err(|e| CommandError(format!("max_messages: {e}")))?;
            }
            Command::SetPrefetch { consumer, .. }
            | Command::SetOnFailure { consumer, .. }
            | Command::SetRetry { consumer, .. }
            | Command::SetConsumerFaults { consumer, .. } => {
                if let Some(n) = self.node_of(consumer) {
                    if n.kind == NodeKind::Consumer && self.is_sqs_consumer(n.index) {
                        return err(format!(
                            "{consumer} reads an SQS queue: use set_max_messages, set_wait_time or change_message_visibility instead"
                        ));
                    }
                }
            }
            Command::CrashConsumer {
                consumer, point, ..
            } if !matches!(point, CrashPoint::Now | CrashPoint::AfterEffect) => {
                if let Some(n) = self.node_of(consumer) {
                    if n.kind == NodeKind::Consumer && self.is_sqs_consumer(n.index) {
                        return err(
                            "point: an SQS consumer crashes \"now\" or \"after_effect\" (after the effect, before its DeleteMessage)"
                                .into(),
                        );
                    }
                }
            }
            Command::SetMaxLength { queue, .. }
            | Command::SetOverflow { queue, .. }
            | Command::SetQueueTtl { queue, .. } => {
                if let Some(n) = self.node_of(queue) {
                    if n.kind == NodeKind::Queue && self.is_sqs_queue(n.index) {
                        return err(format!(
                            "{queue} is an SQS queue: max length, overflow and TTL are RabbitMQ settings (SQS has retention and set_visibility_timeout)"
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Apply a checked SQS command.
    pub(crate) fn apply_sqs_command(&mut self, cmd: &Command) {
        match cmd {
            Command::ChangeMessageVisibility {
                queue,
                visibility_timeout,
                message,
            } => {
                let q = self.find(queue, NodeKind::Queue).expect("checked");
                self.sqs_change_visibility(q, visibility_timeout.us(), *message);
            }
            Command::RedriveDeadLetters { queue, to } => {
                let q = self.find(queue, NodeKind::Queue).expect("checked");
                let to = to
                    .as_ref()
                    .map(|t| self.find(t, NodeKind::Queue).expect("checked"));
                self.sqs_redrive(q, to);
            }
            Command::SetVisibilityTimeout {
                queue,
                visibility_timeout,
            } => {
                let q = self.find(queue, NodeKind::Queue).expect("checked");
                if let Some(s) = self.cfg.queues[q as usize].sqs.as_mut() {
                    s.visibility_timeout = *visibility_timeout;
                }
            }
            Command::SetWaitTime {
                consumer,
                wait_time,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).expect("checked");
                self.sqs_set_wait_time(c, wait_time.us());
            }
            Command::SetMaxMessages {
                consumer,
                max_messages,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).expect("checked");
                self.sqs_set_max_messages(c, *max_messages);
            }
            _ => {}
        }
    }

    // ------------------------------------------------ commands

    /// `ChangeMessageVisibility` for the in-flight messages of engine queue
    /// `q` (or only message id `message`); returns how many changed.
    pub(crate) fn sqs_change_visibility(&mut self, q: u32, timeout_us: u64, message: Option<u64>) {
        let sq = self.sqs.of_queue[q as usize];
        let slots: Vec<u32> = self
            .sqs
            .msgs
            .iter()
            .filter(|(&s, r)| {
                r.sq == sq
                    && r.status == SqsStatus::InFlight
                    && message.is_none_or(|id| self.msgs[s as usize].id == id)
            })
            .map(|(&s, _)| s)
            .collect();
        for slot in slots {
            self.sqs.queues[sq as usize]
                .counts
                .change_visibility_requests += 1;
            let (id, node) = self.sqs_ids(slot);
            // "The maximum is 12 hours from the time the message was
            // received": a change past it is an error; the timeout stays.
            if self.now.0 + timeout_us
                > self.sqs.msgs[&slot].received_us
                    + crate::scenario::SQS_VISIBILITY_TIMEOUT_MAX.us()
            {
                self.trace.record(
                    self.now,
                    TraceKind::SqsVisibilityRefused { timeout_us },
                    Some(id),
                    node,
                );
                continue;
            }
            self.trace.record(
                self.now,
                TraceKind::SqsVisibilityChanged { timeout_us },
                Some(id),
                node,
            );
            if timeout_us == 0 {
                self.sqs_reappear(slot);
                continue;
            }
            let at = self.now.0 + timeout_us;
            let r = self.sqs.msgs.get_mut(&slot).expect("stored");
            r.visible_at_us = at;
            let receipt = r.receipt();
            let gen = self.msgs[slot as usize].gen;
            self.agenda.schedule(
                SimTime(at),
                Event::Sqs(SqsEvent::Visible { slot, gen, receipt }),
            );
        }
    }

    /// Is message `id` in flight in engine queue `q`?
    pub(crate) fn sqs_in_flight(&self, q: u32, id: u64) -> bool {
        let sq = self.sqs.of_queue[q as usize];
        self.sqs.msgs.iter().any(|(&s, r)| {
            r.sq == sq && r.status == SqsStatus::InFlight && self.msgs[s as usize].id == id
        })
    }

    /// Redrive: every visible or delayed message of DLQ `q` goes back to its
    /// source queue (or to engine queue `to`), with a receive count of 0.
    pub(crate) fn sqs_redrive(&mut self, q: u32, to: Option<u32>) {
        let sq = self.sqs.of_queue[q as usize];
        self.sqs.queues[sq as usize].counts.admin_requests += 1;
        let mut slots: Vec<(u32, SqsMsg)> = self
            .sqs
            .msgs
            .iter()
            .filter(|(_, r)| {
                r.sq == sq && matches!(r.status, SqsStatus::Visible | SqsStatus::Delayed)
            })
            .map(|(&s, r)| (s, r.clone()))
            .collect();
        // "Dead-letter queues redrive messages in the order they are
        // received, starting with the oldest message" (SQS Developer Guide,
        // "Configure a dead-letter queue redrive"): the DLQ's own order, not
        // the arena's, so a FIFO group comes back in its order.
        slots.sort_unstable_by_key(|(_, r)| r.seq);
        for (slot, r) in slots {
            let dest = match to {
                Some(t) => self.sqs.of_queue[t as usize],
                None if r.source != NO_SQS => r.source,
                None => continue, // not a dead letter: stays
            };
            match r.status {
                SqsStatus::Visible => {
                    self.sqs.queues[sq as usize].hide(r.seq, slot, r.group);
                }
                _ => self.sqs.queues[sq as usize].delayed -= 1,
            }
            let dq = self.sqs.queues[dest as usize].q;
            let (id, node) = self.sqs_ids(slot);
            let to_node = self.queues[dq as usize].node;
            self.trace.record(
                self.now,
                TraceKind::SqsRedriven { to: to_node },
                Some(id),
                node,
            );
            self.sqs.queues[sq as usize].counts.redriven += 1;
            self.queues[dq as usize].enqueued += 1;
            self.totals.enqueued += 1;
            self.fx_reached(slot, dq);
            let group = if self.sqs.queues[dest as usize].fifo {
                self.msgs[slot as usize].key
            } else {
                NO_SYM
            };
            // "All redriven messages are considered new messages" with a new
            // enqueue time: the retention period starts over (SQS Developer
            // Guide, "Configure a dead-letter queue redrive").
            self.sqs_store(slot, dest, self.now.0, group, NO_SQS, 0, 0);
        }
    }

    /// SQS `PurgeQueue` (from `queue::purge_queue`): every message of engine
    /// queue `q` is deleted, in flight or not (`purged`); one a consumer is
    /// still working on is dropped when it lets go.
    pub(crate) fn sqs_purge(&mut self, q: u32) {
        let sq = self.sqs.of_queue[q as usize];
        self.sqs.queues[sq as usize].counts.admin_requests += 1;
        let slots: Vec<(u32, SqsMsg)> = self
            .sqs
            .msgs
            .iter()
            .filter(|(_, r)| r.sq == sq && r.status != SqsStatus::Deleted)
            .map(|(&s, r)| (s, r.clone()))
            .collect();
        for (slot, r) in slots {
            match r.status {
                SqsStatus::Visible => {
                    self.sqs.queues[sq as usize].hide(r.seq, slot, r.group);
                }
                SqsStatus::Delayed => self.sqs.queues[sq as usize].delayed -= 1,
                SqsStatus::InFlight => self.sqs_leave_flight(sq, r.group),
                SqsStatus::Deleted => {}
            }
            if r.holders == 0 {
                self.sqs.msgs.remove(&slot);
                self.queue_drop(slot, q, crate::engine::trace::Reason::Purged);
            } else {
                let m = self.sqs.msgs.get_mut(&slot).expect("stored");
                m.status = SqsStatus::Deleted;
                m.gone = Some(crate::engine::trace::Reason::Purged);
                self.sqs.queues[sq as usize].zombies += 1;
            }
        }
    }
}
