//! SQS commands: check, then apply — `ChangeMessageVisibility`,
//! `RedriveDeadLetters`, `SetVisibilityTimeout`, `SetWaitTime`,
//! `SetMaxMessages` — and the AMQP-only commands refused for SQS nodes.
//!
//!   Command ──check_sqs_command──► CommandError naming the field (nothing changes)
//!           └─apply_sqs_command──► model::sqs / model::sqs_poll
//!
//! Pure functions of the engine state, so replaying the command log
//! reproduces them exactly.

use crate::engine::command::CommandError;
use crate::engine::core::{Engine, NodeKind};
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
            | Command::SetAckMode { consumer, .. }
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
            } if *point != CrashPoint::Now => {
                if let Some(n) = self.node_of(consumer) {
                    if n.kind == NodeKind::Consumer && self.is_sqs_consumer(n.index) {
                        return err("point: SQS consumers crash only now".into());
                    }
                }
            }
            Command::SetGuarantee { .. } if !self.sqs.queues.is_empty() => {
                return err("the guarantee dial does not apply to SQS queues".into());
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
}
