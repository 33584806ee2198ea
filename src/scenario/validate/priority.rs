//! Priorities (RabbitMQ): a classic priority queue's `max_priority`, a
//! producer's message `priority`, and a consumer's `priority` (`x-priority`,
//! any 32-bit integer, which SQS consumers cannot have: they poll). AMQP's `priority` property is one
//! octet, and RabbitMQ accepts `x-max-priority` up to 255
//! (`check_max_priority_arg`); QueueLab refuses 0 rather than silently
//! treating it as 1 as RabbitMQ does (`max(1, …)` in `rabbit_priority_queue`).

use super::{Kind, Scenario, V};

/// The largest priority an AMQP message or queue can have.
pub(crate) const PRIORITY_MAX: u32 = 255;

pub(super) fn check_priorities(v: &mut V, s: &Scenario, kind_of: &dyn Fn(&str) -> Option<Kind>) {
    for (i, q) in s.queues.iter().enumerate() {
        let Some(m) = q.max_priority else { continue };
        let at = format!("queues[{i}].max_priority");
        if q.sqs.is_some() {
            v.err(
                at,
                "SQS has no message priority; remove it from an SQS queue",
            );
        } else if !(1..=PRIORITY_MAX).contains(&m) {
            v.err(
                at,
                format!(
                    "must be between 1 and {PRIORITY_MAX} (leave it out for a plain FIFO queue; \
                     RabbitMQ recommends a single-digit maximum)"
                ),
            );
        }
    }
    let sqs_queue = |id: &str| s.queues.iter().any(|q| q.id == id && q.sqs.is_some());
    for (i, p) in s.producers.iter().enumerate() {
        let Some(prio) = p.priority else { continue };
        let at = format!("producers[{i}].priority");
        let amqp = matches!(kind_of(&p.to), Some(Kind::Exchange | Kind::Queue));
        if !amqp || sqs_queue(&p.to) {
            v.err(
                at,
                "applies only to producers that publish to a RabbitMQ exchange or queue",
            );
        } else if prio > PRIORITY_MAX {
            v.err(
                at,
                format!("must be between 0 and {PRIORITY_MAX} (AMQP's priority is one octet)"),
            );
        }
    }
    for (i, q) in s.queues.iter().enumerate() {
        if q.single_active_consumer && q.sqs.is_some() {
            v.err(
                format!("queues[{i}].single_active_consumer"),
                "SQS consumers poll; single active consumer is RabbitMQ's",
            );
        }
    }
    for (i, c) in s.consumers.iter().enumerate() {
        if c.priority.is_some() && sqs_queue(&c.queue) {
            v.err(
                format!("consumers[{i}].priority"),
                "SQS consumers poll; consumer priority (x-priority) is RabbitMQ's",
            );
        }
    }
}
