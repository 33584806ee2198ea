//! Validation of the Pulsar half: topics, subscriptions, producers sending to
//! Pulsar, and the Pulsar commands in a schedule (split from `validate.rs`;
//! the same `V` collector and path-named errors). Where Pulsar itself
//! refuses a configuration (a second consumer on an Exclusive subscription,
//! cumulative acks on Shared, overlapping sticky ranges, an ack timeout under
//! 1 s other than 0) the error says so.

use super::redis::short;
use super::*;

/// The Pulsar node ids with their kinds and paths, for the shared id table.
pub(super) fn ids(s: &Scenario) -> Vec<(&str, Kind, String)> {
    let mut all = Vec::new();
    all.extend(s.pulsar_topics.iter().enumerate().map(|(i, x)| {
        (
            x.id.as_str(),
            Kind::PulsarTopic,
            format!("pulsar_topics[{i}]"),
        )
    }));
    all.extend(s.pulsar_subscriptions.iter().enumerate().map(|(i, x)| {
        (
            x.id.as_str(),
            Kind::PulsarSub,
            format!("pulsar_subscriptions[{i}]"),
        )
    }));
    all
}

/// Producer fields: queue-only ones are refused on a Pulsar producer, and
/// `deliver_after` on any other.
pub(super) fn check_pulsar_producer(v: &mut V, at: &str, p: &Producer, to_pulsar: bool) {
    if !to_pulsar {
        if p.deliver_after.is_some() {
            v.err(
                format!("{at}.deliver_after"),
                "applies only to producers that send to a Pulsar topic",
            );
        }
        return;
    }
    let unsupported = [
        ("confirms", p.confirms.is_some()),
        ("faults", p.faults.is_some()),
        ("ttl", p.ttl.is_some()),
    ];
    for (field, set) in unsupported {
        if set {
            v.err(
                format!("{at}.{field}"),
                "does not apply to a producer that sends to Pulsar",
            );
        }
    }
    if let Some(d) = p.deliver_after {
        if let Err(e) = check_pulsar_delay(d) {
            v.err(format!("{at}.deliver_after"), e);
        }
    }
}

/// Topics and subscriptions: references, limits and Pulsar's own refusals.
pub(super) fn check_pulsar(v: &mut V, s: &Scenario, kind_of: &dyn Fn(&str) -> Option<Kind>) {
    for (i, t) in s.pulsar_topics.iter().enumerate() {
        let at = format!("pulsar_topics[{i}]");
        if t.partitions > PULSAR_PARTITIONS_MAX {
            v.err(
                format!("{at}.partitions"),
                format!("at most {PULSAR_PARTITIONS_MAX} (0 is a non-partitioned topic)"),
            );
        }
        if let Some(q) = &t.backlog_quota {
            if q.limit_messages == 0 || q.limit_messages > 10_000_000 {
                v.err(
                    format!("{at}.backlog_quota.limit_messages"),
                    "must be between 1 and 10000000",
                );
            }
        }
        if let Some(d) = t.retention {
            if let Err(e) = check_pulsar_delay(d) {
                v.err(format!("{at}.retention"), e);
            }
        }
    }
    for (i, sub) in s.pulsar_subscriptions.iter().enumerate() {
        let at = format!("pulsar_subscriptions[{i}]");
        if kind_of(&sub.topic) != Some(Kind::PulsarTopic) {
            v.err(
                format!("{at}.topic"),
                format!("no pulsar topic named {:?}", short(&sub.topic)),
            );
        }
        // One error per repeated name (the id check leaves these to us).
        if let Some(j) = s.pulsar_subscriptions[..i]
            .iter()
            .position(|o| o.id == sub.id)
        {
            let why = if s.pulsar_subscriptions[j].topic == sub.topic {
                format!(
                    "pulsar_subscriptions[{j}] already subscribes to {:?} under this name: in Pulsar that is the same subscription (give it more consumers)",
                    short(&sub.topic)
                )
            } else {
                format!(
                    "{:?} is already the id of pulsar_subscriptions[{j}] (on topic {:?}): node ids are one name space here, so a subscription name is used once per scenario, although Pulsar allows one per topic",
                    short(&sub.id),
                    short(&s.pulsar_subscriptions[j].topic)
                )
            };
            v.err(format!("{at}.id"), why);
        }
        if sub.consumers == 0 || sub.consumers > PULSAR_CONSUMERS_MAX {
            v.err(
                format!("{at}.consumers"),
                format!("must be between 1 and {PULSAR_CONSUMERS_MAX}"),
            );
        } else if sub.kind == SubscriptionType::Exclusive && sub.consumers > 1 {
            v.err(
                format!("{at}.consumers"),
                "an exclusive subscription admits one consumer (Pulsar refuses the second with ConsumerBusyException); use failover for standbys",
            );
        }
        if let Err(e) = check_service(&sub.service) {
            v.err(format!("{at}.service.{}", e.field), e.msg);
        }
        for (j, cs) in sub.consumer_service.iter().enumerate() {
            if cs.consumer >= sub.consumers {
                v.err(
                    format!("{at}.consumer_service[{j}].consumer"),
                    format!(
                        "{} has consumers c0..c{}",
                        sub.id,
                        sub.consumers.saturating_sub(1)
                    ),
                );
            } else if sub.consumer_service[..j]
                .iter()
                .any(|o| o.consumer == cs.consumer)
            {
                v.err(
                    format!("{at}.consumer_service[{j}].consumer"),
                    format!("c{} is listed twice", cs.consumer),
                );
            }
            if let Err(e) = check_service(&cs.service) {
                v.err(
                    format!("{at}.consumer_service[{j}].service.{}", e.field),
                    e.msg,
                );
            }
        }
        if let Some(d) = &sub.dedup {
            if let Err((f, e)) = check_dedup(d) {
                v.err(format!("{at}.dedup.{f}"), e);
            }
        }
        if !(0.0..=1.0).contains(&sub.failure_rate) {
            v.err(format!("{at}.failure_rate"), "must be between 0 and 1");
        }
        if sub.ack == PulsarAck::Cumulative
            && matches!(
                sub.kind,
                SubscriptionType::Shared | SubscriptionType::KeyShared
            )
        {
            v.err(
                format!("{at}.ack"),
                "cumulative acknowledgement is not allowed on shared and key_shared subscriptions (Pulsar refuses it)",
            );
        }
        for (field, set) in [
            ("max_unacked_per_consumer", sub.max_unacked_per_consumer),
            (
                "max_unacked_per_subscription",
                sub.max_unacked_per_subscription,
            ),
        ] {
            if set.is_some()
                && matches!(
                    sub.kind,
                    SubscriptionType::Exclusive | SubscriptionType::Failover
                )
            {
                v.err(
                    format!("{at}.{field}"),
                    "applies only to shared and key_shared subscriptions (Pulsar tracks unacknowledged messages per consumer in individual-ack modes only)",
                );
            }
        }
        if sub.receiver_queue_size == 0 || sub.receiver_queue_size > PULSAR_RECEIVER_QUEUE_MAX {
            v.err(
                format!("{at}.receiver_queue_size"),
                format!("must be between 1 and {PULSAR_RECEIVER_QUEUE_MAX}"),
            );
        }
        if let Some(d) = sub.ack_timeout {
            if !pulsar_ack_timeout_ok(d) {
                v.err(
                    format!("{at}.ack_timeout"),
                    format!("{d} is under 1s (the Java client refuses an ack timeout under 1 s; 0 turns it off)"),
                );
            } else if let Err(e) = check_pulsar_delay(d) {
                v.err(format!("{at}.ack_timeout"), e);
            }
        }
        if sub.ack_timeout_backoff.is_some() && sub.ack_timeout_on().is_none() {
            v.err(
                format!("{at}.ack_timeout_backoff"),
                "needs ack_timeout (the backoff only spaces ack-timeout redeliveries)",
            );
        }
        for (field, b) in [
            ("ack_timeout_backoff", &sub.ack_timeout_backoff),
            ("negative_ack_backoff", &sub.negative_ack_backoff),
        ] {
            if let Some(b) = b {
                if let Err((f, e)) = check_backoff(b) {
                    v.err(format!("{at}.{field}.{f}"), e);
                }
            }
        }
        if let Err(e) = check_pulsar_delay(sub.negative_ack_delay) {
            v.err(format!("{at}.negative_ack_delay"), e);
        }
        if let Some(dl) = &sub.dead_letter {
            if dl.max_redeliver_count == 0 || dl.max_redeliver_count > PULSAR_MAX_REDELIVER_MAX {
                v.err(
                    format!("{at}.dead_letter.max_redeliver_count"),
                    format!("must be between 1 and {PULSAR_MAX_REDELIVER_MAX}"),
                );
            }
            if let Some(t) = &dl.topic {
                if kind_of(t) != Some(Kind::PulsarTopic) {
                    v.err(
                        format!("{at}.dead_letter.topic"),
                        format!("no pulsar topic named {:?}", short(t)),
                    );
                } else if *t == sub.topic {
                    v.err(
                        format!("{at}.dead_letter.topic"),
                        "must not be the subscription's own topic",
                    );
                }
            }
            if matches!(
                sub.kind,
                SubscriptionType::Exclusive | SubscriptionType::Failover
            ) {
                v.err(
                    format!("{at}.dead_letter"),
                    "dead-letter topics work on shared and key_shared subscriptions only (exclusive and failover redeliver by rewinding and count no redeliveries)",
                );
            }
        }
        if let Some(d) = sub.retry_letter_delay {
            if sub.kind != SubscriptionType::Shared {
                v.err(
                    format!("{at}.retry_letter_delay"),
                    "the retry-letter topic works on shared subscriptions only (as Pulsar documents)",
                );
            }
            if let Err(e) = check_pulsar_delay(d) {
                v.err(format!("{at}.retry_letter_delay"), e);
            }
        }
        match (&sub.key_shared, sub.kind) {
            (Some(_), k) if k != SubscriptionType::KeyShared => v.err(
                format!("{at}.key_shared"),
                "applies only to a key_shared subscription",
            ),
            (Some(KeySharedMode::Sticky { ranges }), _) => {
                if ranges.len() != sub.consumers as usize {
                    v.err(
                        format!("{at}.key_shared.sticky.ranges"),
                        format!(
                            "{} range lists for {} consumers (one list per consumer)",
                            ranges.len(),
                            sub.consumers
                        ),
                    );
                } else if let Err(e) = check_sticky_ranges(ranges) {
                    v.err(format!("{at}.key_shared.sticky.ranges"), e);
                }
            }
            _ => {}
        }
    }
}

/// A Pulsar command in a schedule: its subscription and consumer exist.
/// Returns whether the command was a Pulsar one.
pub(super) fn check_pulsar_scheduled(v: &mut V, at: &str, cmd: &Command, s: &Scenario) -> bool {
    let (sub, consumer) = match cmd {
        Command::CrashPulsarConsumer {
            subscription,
            consumer,
            ..
        }
        | Command::RestartPulsarConsumer {
            subscription,
            consumer,
        } => (subscription, Some(*consumer)),
        Command::SetPulsarAckTimeout { subscription, .. }
        | Command::SetPulsarNackDelay { subscription, .. } => (subscription, None),
        _ => return false,
    };
    match s.pulsar_subscriptions.iter().find(|x| x.id == *sub) {
        None => v.err(
            format!("{at}.subscription"),
            format!("no pulsar subscription named {:?}", short(sub)),
        ),
        Some(x) => {
            if let Some(c) = consumer {
                if c >= x.consumers {
                    v.err(
                        format!("{at}.consumer"),
                        format!(
                            "{} has consumers c0..c{}",
                            x.id,
                            x.consumers.saturating_sub(1)
                        ),
                    );
                }
            }
        }
    }
    if let Command::SetPulsarAckTimeout { timeout, .. } = cmd {
        if let Some(d) = timeout {
            if !pulsar_ack_timeout_ok(*d) {
                v.err(
                    format!("{at}.timeout"),
                    "must be at least 1s, or 0 (off), as the Java client allows",
                );
            }
        }
    }
    true
}
