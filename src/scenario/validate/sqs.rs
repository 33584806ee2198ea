//! Validation of SQS queues and the consumers that poll them (split from
//! `validate.rs`; the same `V` collector and path-named errors).

use super::redis::short;
use super::*;

/// Is queue `id` an SQS queue?
fn sqs_queue<'a>(s: &'a Scenario, id: &str) -> Option<&'a SqsQueue> {
    s.queues
        .iter()
        .find(|q| q.id == id)
        .and_then(|q| q.sqs.as_ref())
}

/// The dead-letter cycle through SQS queue `id` of two or more queues, as
/// "a → b → a", if its redrive chain comes back to it (`None` for a chain
/// that ends, or a self-reference, which has its own error).
fn dead_letter_ring(s: &Scenario, id: &str) -> Option<String> {
    let mut ring = vec![id];
    let mut at = id;
    while let Some(next) = sqs_queue(s, at).and_then(|q| q.dead_letter_queue.as_deref()) {
        if next == at || ring.len() > s.queues.len() {
            return None;
        }
        if next == id {
            ring.push(next);
            return Some(
                ring.iter()
                    .map(|r| super::redis::short(r))
                    .collect::<Vec<_>>()
                    .join(" → "),
            );
        }
        ring.push(next);
        at = next;
    }
    None
}

pub(super) fn check_sqs(v: &mut V, s: &Scenario) {
    for (i, q) in s.queues.iter().enumerate() {
        let at = format!("queues[{i}]");
        let Some(sq) = &q.sqs else { continue };
        for (f, e) in check_sqs_queue(sq) {
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
        if q.consumer_timeout.is_some() {
            v.err(
                format!("{at}.consumer_timeout"),
                "does not apply to an SQS queue (its messages come back after sqs.visibility_timeout)",
            );
        }
        // SQS stores every message redundantly until it is deleted or its
        // retention ends; there is no transient queue to ask for.
        if !q.durable {
            v.err(
                format!("{at}.durable"),
                "does not apply to an SQS queue (SQS keeps every message until it is deleted or sqs.retention ends)",
            );
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
                Some(_) => {
                    if let Some(ring) = dead_letter_ring(s, &q.id) {
                        v.err(
                            format!("{at}.sqs.dead_letter_queue"),
                            format!(
                                "dead-letter queues form a cycle ({ring}): a moved message keeps its \
                                 receive count, so at every receive it would move on around the \
                                 cycle; QueueLab refuses a cycle (SQS accepts one)"
                            ),
                        );
                    }
                }
            }
        }
    }
    // SendMessage's `DelaySeconds`: whole seconds from 0 to 900, and not
    // per message on a FIFO queue (InvalidParameterValue in SQS).
    for (i, p) in s.producers.iter().enumerate() {
        let Some(q) = sqs_queue(s, &p.to) else {
            continue;
        };
        if !p.persistent {
            v.err(
                format!("producers[{i}].persistent"),
                format!(
                    "queue {:?} is an SQS queue, and SQS has no transient messages: every \
                     message is kept until it is deleted or the queue's sqs.retention ends",
                    p.to
                ),
            );
        }
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
        if q.fifo() {
            if let Some(at) = p.keys.as_ref().and_then(empty_key_at) {
                v.err(
                    format!("producers[{i}].keys{at}"),
                    format!(
                        "queue {:?} is FIFO, and SQS refuses an empty MessageGroupId: a \
                         message's key is its group id, so give every key a value",
                        p.to
                    ),
                );
            }
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
            if let Err(e) = check_delay_seconds(q, v_) {
                v.err(format!("producers[{i}].{field}.DelaySeconds"), e);
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
            } else {
                for (f, e) in check_sqs_receive(r) {
                    v.err(format!("{at}.sqs.{f}"), e);
                }
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
        // `prefetch` has no default marker: 1 is the default, anything else
        // was asked for. A receive takes up to `sqs.max_messages` instead
        // (the engine sets the instance's room from it).
        if c.prefetch != 1 {
            v.err(
                format!("{at}.prefetch"),
                "does not apply to an SQS consumer (a receive returns up to sqs.max_messages)",
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
}

/// SendMessage's `DelaySeconds` header on a send straight to SQS queue
/// `q`: whole seconds from 0 to 900, and not per message on a FIFO queue
/// (InvalidParameterValue in SQS).
fn check_delay_seconds(q: &SqsQueue, value: &str) -> Result<(), String> {
    if q.fifo() {
        Err(
            "a FIFO queue takes no per-message delay (SQS refuses it): set the queue's sqs.delay"
                .into(),
        )
    } else if !value.parse::<u64>().is_ok_and(|n| n <= 900) {
        Err(format!("{value:?} must be whole seconds from 0 to 900"))
    } else {
        Ok(())
    }
}

/// Where `keys` can give an empty key (`.fixed`, `.round_robin[3]`, …).
fn empty_key_at(keys: &KeyChoice) -> Option<String> {
    fn first<'a>(list: impl Iterator<Item = &'a String>, name: &str) -> Option<String> {
        list.into_iter()
            .position(|k| k.is_empty())
            .map(|j| format!(".{name}[{j}]"))
    }
    match keys {
        KeyChoice::Fixed(k) => k.is_empty().then(|| ".fixed".to_string()),
        KeyChoice::RoundRobin(list) => first(list.iter(), "round_robin"),
        KeyChoice::Random(list) => first(list.iter(), "random"),
        KeyChoice::Weighted(list) => {
            first(list.iter().map(|w| &w.key), "weighted").map(|at| format!("{at}.key"))
        }
        KeyChoice::RandomOfN(_) => None,
    }
}

/// The `key` of a `publish_one` by `producer`, when the producer sends
/// straight to a FIFO queue: the key is the message group id, which SQS
/// requires to be non-empty.
pub(super) fn check_publish_one_key(s: &Scenario, producer: &str, key: &str) -> Result<(), String> {
    let fifo = s
        .producers
        .iter()
        .find(|p| p.id == producer)
        .and_then(|p| sqs_queue(s, &p.to))
        .is_some_and(|q| q.fifo());
    if fifo && key.is_empty() {
        return Err(
            "the producer sends to a FIFO queue, and SQS refuses an empty MessageGroupId (the key)"
                .into(),
        );
    }
    Ok(())
}

/// The `DelaySeconds` header of a `publish_one` by `producer`, when the
/// producer sends straight to an SQS queue (SQS refuses the send as it
/// refuses a producer's own header).
pub(super) fn check_publish_one_delay(
    s: &Scenario,
    producer: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    let Some(value) = headers.get("DelaySeconds") else {
        return Ok(());
    };
    match s
        .producers
        .iter()
        .find(|p| p.id == producer)
        .and_then(|p| sqs_queue(s, &p.to))
    {
        Some(q) => check_delay_seconds(q, value),
        None => Ok(()),
    }
}

/// A scheduled command's SQS rules, as the engine applies them to a live
/// command (`Engine::check_sqs_command`): SQS commands need SQS nodes, AMQP
/// queue and consumer knobs refuse them. Run after the target's kind was
/// checked; a wrong kind of target has its own error there.
pub(super) fn check_sqs_scheduled(v: &mut V, at: &str, cmd: &Command, s: &Scenario) {
    use Command as C;
    let reads_sqs = |c: &str| {
        s.consumers
            .iter()
            .find(|x| x.id == c)
            .is_some_and(|x| sqs_queue(s, &x.queue).is_some())
    };
    let is_amqp_queue = |q: &str| s.queues.iter().any(|x| x.id == q && x.sqs.is_none());
    let is_amqp_consumer = |c: &str| s.consumers.iter().any(|x| x.id == c) && !reads_sqs(c);
    match cmd {
        C::ChangeMessageVisibility { queue, .. } | C::SetVisibilityTimeout { queue, .. }
            if is_amqp_queue(queue) =>
        {
            v.err(
                format!("{at}.queue"),
                format!("{} is not an SQS queue", short(queue)),
            );
        }
        C::RedriveDeadLetters { queue, to } => {
            if is_amqp_queue(queue) {
                v.err(
                    format!("{at}.queue"),
                    format!("{} is not an SQS queue", short(queue)),
                );
            }
            if let Some(t) = to {
                match (sqs_queue(s, queue), sqs_queue(s, t)) {
                    (_, None) => v.err(
                        format!("{at}.to"),
                        format!("{} is not an SQS queue", short(t)),
                    ),
                    (Some(_), Some(_)) if t == queue => {
                        v.err(format!("{at}.to"), "cannot redrive a queue into itself")
                    }
                    (Some(a), Some(b)) if a.kind != b.kind => v.err(
                        format!("{at}.to"),
                        "must be of the same type (standard or FIFO)",
                    ),
                    _ => {}
                }
            }
        }
        C::SetWaitTime { consumer, .. } | C::SetMaxMessages { consumer, .. }
            if is_amqp_consumer(consumer) =>
        {
            v.err(
                format!("{at}.consumer"),
                format!("{} does not read an SQS queue", short(consumer)),
            );
        }
        C::SetPrefetch { consumer, .. }
        | C::SetOnFailure { consumer, .. }
        | C::SetRetry { consumer, .. }
        | C::SetConsumerFaults { consumer, .. }
            if reads_sqs(consumer) =>
        {
            v.err(
                format!("{at}.consumer"),
                format!(
                    "{} reads an SQS queue: use set_max_messages, set_wait_time or change_message_visibility instead",
                    short(consumer)
                ),
            );
        }
        C::CrashConsumer {
            consumer, point, ..
        } if reads_sqs(consumer) && !matches!(point, CrashPoint::Now | CrashPoint::AfterEffect) => {
            v.err(
                format!("{at}.point"),
                "an SQS consumer crashes \"now\" or \"after_effect\" (after the effect, before its DeleteMessage)",
            );
        }
        C::SetMaxLength { queue, .. }
        | C::SetOverflow { queue, .. }
        | C::SetQueueTtl { queue, .. }
            if sqs_queue(s, queue).is_some() =>
        {
            v.err(
                format!("{at}.queue"),
                format!(
                    "{} is an SQS queue: max length, overflow and TTL are RabbitMQ settings (SQS has retention and set_visibility_timeout)",
                    short(queue)
                ),
            );
        }
        _ => {}
    }
}
