//! Validation of SQS queues and the consumers that poll them (split from
//! `validate.rs`; the same `V` collector and path-named errors).

use super::*;

/// Is queue `id` an SQS queue?
fn sqs_queue<'a>(s: &'a Scenario, id: &str) -> Option<&'a SqsQueue> {
    s.queues
        .iter()
        .find(|q| q.id == id)
        .and_then(|q| q.sqs.as_ref())
}

pub(super) fn check_sqs(v: &mut V, s: &Scenario) {
    for (i, q) in s.queues.iter().enumerate() {
        let at = format!("queues[{i}]");
        let Some(sq) = &q.sqs else { continue };
        if let Err((f, e)) = check_sqs_queue(sq) {
            v.err(format!("{at}.sqs.{f}"), e);
        }
        let amqp_only = [
            ("max_length", q.max_length.is_some()),
            ("ttl", q.ttl.is_some()),
            ("dead_letter_exchange", q.dead_letter_exchange.is_some()),
            (
                "dead_letter_routing_key",
                q.dead_letter_routing_key.is_some(),
            ),
            ("delivery_limit", q.delivery_limit.is_some()),
            ("overflow", q.overflow != Overflow::DropHead),
        ];
        for (field, set) in amqp_only {
            if set {
                v.err(
                    format!("{at}.{field}"),
                    "does not apply to an SQS queue (use sqs.retention, sqs.dead_letter_queue)",
                );
            }
        }
        if let Some(d) = &sq.dead_letter_queue {
            match sqs_queue(s, d) {
                None => v.err(
                    format!("{at}.sqs.dead_letter_queue"),
                    format!("{d:?} is not an SQS queue"),
                ),
                Some(dq) if dq.kind != sq.kind => v.err(
                    format!("{at}.sqs.dead_letter_queue"),
                    "a dead-letter queue must be of the same type (standard or FIFO) as its source",
                ),
                Some(_) if *d == q.id => v.err(
                    format!("{at}.sqs.dead_letter_queue"),
                    "a queue cannot be its own dead-letter queue",
                ),
                Some(_) => {}
            }
        }
    }
    // SendMessage's `DelaySeconds`: whole seconds from 0 to 900, and not
    // per message on a FIFO queue (InvalidParameterValue in SQS).
    for (i, p) in s.producers.iter().enumerate() {
        let Some(q) = sqs_queue(s, &p.to) else {
            continue;
        };
        if p.ttl.is_some() {
            v.err(
                format!("producers[{i}].ttl"),
                format!(
                    "queue {:?} is an SQS queue, and SQS has no per-message TTL: a message \
                     lives for the queue's retention period (set its sqs.retention)",
                    p.to
                ),
            );
        }
        if q.fifo() && p.keys.is_none() {
            v.err(
                format!("producers[{i}].keys"),
                format!(
                    "queue {:?} is FIFO, and SQS refuses a send to a FIFO queue without a \
                     MessageGroupId: give the producer keys (a message's key is its group id)",
                    p.to
                ),
            );
        }
        let sets = std::iter::once(("headers".to_string(), &p.headers)).chain(
            p.header_sets
                .iter()
                .enumerate()
                .map(|(k, h)| (format!("header_sets[{k}]"), h)),
        );
        for (field, h) in sets {
            let Some(v_) = h.get("DelaySeconds") else {
                continue;
            };
            let at = format!("producers[{i}].{field}.DelaySeconds");
            if q.fifo() {
                v.err(
                    at,
                    "a FIFO queue takes no per-message delay (SQS refuses it): set the queue's sqs.delay",
                );
            } else if !v_.parse::<u64>().is_ok_and(|n| n <= 900) {
                v.err(at, format!("{v_:?} must be whole seconds from 0 to 900"));
            }
        }
    }
    for (i, c) in s.consumers.iter().enumerate() {
        let at = format!("consumers[{i}]");
        let reads_sqs = sqs_queue(s, &c.queue).is_some();
        if let Some(r) = &c.sqs {
            if !reads_sqs {
                v.err(
                    format!("{at}.sqs"),
                    "applies only to consumers of an SQS queue",
                );
            } else if let Err((f, e)) = check_sqs_receive(r) {
                v.err(format!("{at}.sqs.{f}"), e);
            }
        }
        if !reads_sqs {
            continue;
        }
        if c.circuit_breaker.is_some() {
            v.err(
                format!("{at}.circuit_breaker"),
                "is modelled for consumers of AMQP queues only, not of an SQS queue",
            );
        }
        let amqp_only = [
            ("on_failure", c.on_failure != OnFailure::default()),
            ("retry", c.retry.is_some()),
            ("faults", c.faults.is_some()),
        ];
        for (field, set) in amqp_only {
            if set {
                v.err(
                    format!("{at}.{field}"),
                    "does not apply to an SQS consumer (a failed message reappears after the visibility timeout)",
                );
            }
        }
    }
    // A scheduled crash of an SQS consumer: now, or after the effect and
    // before its DeleteMessage (the engine refuses the other points, so a
    // schedule holding one would silently do nothing).
    for (i, e) in s.schedule.iter().enumerate() {
        if let Command::CrashConsumer {
            consumer, point, ..
        } = &e.command
        {
            let sqs = s
                .consumers
                .iter()
                .any(|c| c.id == *consumer && sqs_queue(s, &c.queue).is_some());
            if sqs && !matches!(point, CrashPoint::Now | CrashPoint::AfterEffect) {
                v.err(
                    format!("schedule[{i}].command.point"),
                    "an SQS consumer crashes \"now\" or \"after_effect\" (after the effect, before its DeleteMessage)",
                );
            }
        }
    }
}
