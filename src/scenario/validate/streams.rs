//! Validation of the log-based half: topic producers, topics, consumer groups
//! and their `on_failure` (split from `validate.rs` to keep files small; the
//! same `V` collector and path-named errors).

use super::*;

/// Producer fields that only make sense for a topic, and their limits.
pub(super) fn check_topic_producer(
    v: &mut V,
    at: &str,
    p: &Producer,
    s: &Scenario,
    to_topic: bool,
) {
    let topic_only = [
        ("partition", p.partition.is_some()),
        ("partitioner", p.partitioner.is_some()),
        ("linger", p.linger.is_some()),
        ("batch_size", p.batch_size.is_some()),
        ("tombstone_ratio", p.tombstone_ratio.is_some()),
        ("acks", p.acks.is_some()),
        ("idempotent", p.idempotent.is_some()),
        ("max_in_flight", p.max_in_flight.is_some()),
    ];
    if !to_topic {
        for (field, set) in topic_only {
            if set {
                v.err(
                    format!("{at}.{field}"),
                    "applies only to producers that publish to a topic",
                );
            }
        }
        return;
    }
    let Some(t) = s.topics.iter().find(|t| t.id == p.to) else {
        return;
    };
    if let Some(n) = p.partition {
        if n >= t.partitions {
            v.err(
                format!("{at}.partition"),
                format!(
                    "topic {:?} has {} partitions; there is no partition {n}",
                    t.id, t.partitions
                ),
            );
        }
    }
    if let Some(b) = p.batch_size {
        if b == 0 || b > BATCH_SIZE_MAX {
            v.err(
                format!("{at}.batch_size"),
                format!("must be between 1 and {BATCH_SIZE_MAX}"),
            );
        }
    }
    if p.linger.is_some_and(|d| d.us() > 60_000_000) {
        v.err(format!("{at}.linger"), "must be at most 60s");
    }
    if let Some(n) = p.max_in_flight {
        let idempotent = p.kafka_idempotent();
        if idempotent && !(1..=5).contains(&n) {
            v.err(
                format!("{at}.max_in_flight"),
                "the idempotent producer allows 1 to 5 batches in flight (Kafka requires max.in.flight.requests.per.connection <= 5 with enable.idempotence)",
            );
        } else if !(1..=MAX_IN_FLIGHT_MAX).contains(&n) {
            v.err(
                format!("{at}.max_in_flight"),
                format!("must be between 1 and {MAX_IN_FLIGHT_MAX}"),
            );
        }
    }
    if let Some(r) = p.tombstone_ratio {
        if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
            v.err(format!("{at}.tombstone_ratio"), "must be between 0 and 1");
        } else if r > 0.0 && p.keys.is_none() {
            v.err(
                format!("{at}.tombstone_ratio"),
                "a tombstone deletes a key, so it needs keyed records (`keys`)",
            );
        }
    }
    if t.cleanup.compacts() && p.keys.is_none() {
        v.err(
            format!("{at}.keys"),
            format!(
                "topic {:?} is compacted, and compaction needs keyed records",
                t.id
            ),
        );
    }
    if p.ttl.is_some() {
        v.err(
            format!("{at}.ttl"),
            "topics have retention, not per-message TTL",
        );
    }
}

/// Topics and consumer groups.
pub(super) fn check_streams(v: &mut V, s: &Scenario, is_topic: &dyn Fn(&str) -> bool) {
    for (i, t) in s.topics.iter().enumerate() {
        let at = format!("topics[{i}]");
        if t.partitions == 0 || t.partitions > PARTITIONS_MAX {
            v.err(
                format!("{at}.partitions"),
                format!("must be between 1 and {PARTITIONS_MAX}"),
            );
        }
        if let Some(r) = &t.retention {
            // Accepted on a `compact` topic too, as Kafka does, and not
            // applied there (`Topic::active_retention`).
            if r.time.is_none() && r.records.is_none() {
                v.err(format!("{at}.retention"), "needs time, records or both");
            }
            if r.time.is_some_and(|d| d.us() == 0) {
                v.err(format!("{at}.retention.time"), "must be positive");
            }
            if r.records == Some(0) {
                v.err(format!("{at}.retention.records"), "must be at least 1");
            }
            if r.check_interval.is_some_and(|d| d.us() < 1000) {
                v.err(
                    format!("{at}.retention.check_interval"),
                    "must be at least 1ms",
                );
            }
        }
        if let Some(r) = &t.replication {
            if r.factor == 0 || r.factor > 5 {
                v.err(
                    format!("{at}.replication.factor"),
                    "must be between 1 and 5",
                );
            } else if r.min_insync == 0 || r.min_insync > 5 {
                // Kafka only asks for at least 1: above the factor the topic
                // is created, and every `acks=all` write is refused
                // (NOT_ENOUGH_REPLICAS), as below it with too few in sync.
                v.err(
                    format!("{at}.replication.min_insync"),
                    "must be between 1 and 5",
                );
            }
            if r.in_sync.is_some_and(|n| n + 1 > r.factor) {
                v.err(
                    format!("{at}.replication.in_sync"),
                    format!(
                        "at most {} followers (factor − 1)",
                        r.factor.saturating_sub(1)
                    ),
                );
            }
            if r.out_of_sync_lag
                .is_some_and(|d| d.us() == 0 || d.us() > 86_400_000_000)
            {
                v.err(
                    format!("{at}.replication.out_of_sync_lag"),
                    "must be more than 0 and at most 24h",
                );
            }
            if r.replica_lag_max
                .is_some_and(|d| d.us() == 0 || d.us() > 86_400_000_000)
            {
                v.err(
                    format!("{at}.replication.replica_lag_max"),
                    "must be more than 0 and at most 24h",
                );
            }
            if r.replica_lag.us() == 0 || r.replica_lag.us() > 3_600_000_000 {
                v.err(
                    format!("{at}.replication.replica_lag"),
                    "must be more than 0 and at most 1h",
                );
            }
        }
        match (t.cleanup, t.compaction_interval) {
            (Cleanup::Delete, Some(_)) => v.err(
                format!("{at}.compaction_interval"),
                "applies only with cleanup \"compact\" or \"compact,delete\"",
            ),
            (c, Some(d)) if c.compacts() && d.us() < 1000 => {
                v.err(format!("{at}.compaction_interval"), "must be at least 1ms")
            }
            _ => {}
        }
        match (t.cleanup, t.delete_retention) {
            (Cleanup::Delete, Some(_)) => v.err(
                format!("{at}.delete_retention"),
                "applies only with cleanup \"compact\" or \"compact,delete\"",
            ),
            (c, Some(d)) if c.compacts() && d.us() > 864_000_000_000 => v.err(
                format!("{at}.delete_retention"),
                "must be at most 240h (10 days)",
            ),
            _ => {}
        }
    }
    let total: u64 = s.topics.iter().map(|t| u64::from(t.partitions)).sum();
    if total > u64::from(TOTAL_PARTITIONS_MAX) {
        v.err(
            "topics",
            format!("{total} partitions over all topics; at most {TOTAL_PARTITIONS_MAX}"),
        );
    }
    let partitions_of = |id: &String| {
        s.topics
            .iter()
            .find(|t| t.id == *id)
            .map_or(0, |t| u64::from(t.partitions))
    };
    let read: u64 = s
        .consumer_groups
        .iter()
        .map(|g| {
            let mut ids: Vec<&String> = g.topics.iter().collect();
            ids.sort();
            ids.dedup();
            ids.into_iter().map(partitions_of).sum::<u64>()
        })
        .sum();
    if read > u64::from(GROUP_PARTITIONS_MAX) {
        v.err(
            "consumer_groups",
            format!("the groups read {read} partitions in all (each group counts every partition of its topics); at most {GROUP_PARTITIONS_MAX}"),
        );
    }
    for (i, g) in s.consumer_groups.iter().enumerate() {
        let at = format!("consumer_groups[{i}]");
        if g.topics.is_empty() {
            v.err(format!("{at}.topics"), "needs at least one topic");
        }
        if let Some(o) = &g.output {
            if !is_topic(&o.topic) {
                v.err(
                    format!("{at}.output.topic"),
                    format!("no topic named {:?}", o.topic),
                );
            } else if g.topics.contains(&o.topic) {
                v.err(
                    format!("{at}.output.topic"),
                    "must not be a topic the group reads (a loop)",
                );
            }
            let per_batch = matches!(
                g.commit,
                CommitPolicy::AfterProcessing {
                    per: CommitPer::Batch
                }
            );
            if let Some(n) = o.polls_per_txn {
                if !o.transactional {
                    v.err(
                        format!("{at}.output.polls_per_txn"),
                        "applies only to a transactional output (set output.transactional)",
                    );
                } else if !(1..=POLLS_PER_TXN_MAX).contains(&n) {
                    v.err(
                        format!("{at}.output.polls_per_txn"),
                        format!("must be between 1 and {POLLS_PER_TXN_MAX}"),
                    );
                }
            }
            if let Some(d) = o.transaction_timeout {
                if !o.transactional {
                    v.err(
                        format!("{at}.output.transaction_timeout"),
                        "applies only to a transactional output (set output.transactional)",
                    );
                } else if d.us() < 1000 {
                    v.err(
                        format!("{at}.output.transaction_timeout"),
                        "must be at least 1ms",
                    );
                } else if d.us() > 900_000_000 {
                    // The broker refuses more than its
                    // `transaction.max.timeout.ms` (15 min by default) at
                    // `initTransactions` (InvalidTxnTimeoutException).
                    v.err(
                        format!("{at}.output.transaction_timeout"),
                        "must be at most 15min (the broker's transaction.max.timeout.ms)",
                    );
                }
            }
            if let Some(d) = o.replay_per_event {
                if o.expected_version.is_none() {
                    v.err(
                        format!("{at}.output.replay_per_event"),
                        "applies only to an event store (set output.expected_version)",
                    );
                } else if d.us() > 10_000_000 {
                    v.err(
                        format!("{at}.output.replay_per_event"),
                        "must be at most 10s",
                    );
                }
            }
            if let Some(n) = o.snapshot_every {
                if o.replay_per_event.is_none() {
                    v.err(
                        format!("{at}.output.snapshot_every"),
                        "applies only when loading costs time (set output.replay_per_event)",
                    );
                } else if !(1..=SNAPSHOT_EVERY_MAX).contains(&n) {
                    v.err(
                        format!("{at}.output.snapshot_every"),
                        format!("must be between 1 and {SNAPSHOT_EVERY_MAX}"),
                    );
                }
            }
            if let Some(n) = o.conflict_retries {
                if o.expected_version.is_none() {
                    v.err(
                        format!("{at}.output.conflict_retries"),
                        "applies only to an event store (set output.expected_version)",
                    );
                } else if n > CONFLICT_RETRIES_MAX {
                    v.err(
                        format!("{at}.output.conflict_retries"),
                        format!("must be at most {CONFLICT_RETRIES_MAX}"),
                    );
                }
            }
            if o.expected_version.is_some() && o.transactional {
                v.err(
                    format!("{at}.output.expected_version"),
                    "cannot be combined with a transactional output (an aborted append would still count as a version)",
                );
            }
            if o.transactional && !per_batch {
                v.err(
                    format!("{at}.commit"),
                    "a transactional output commits the offsets with the transaction, after each poll's batch: set commit to {\"after_processing\": {\"per\": \"batch\"}}",
                );
            }
        }
        for (j, t) in g.topics.iter().enumerate() {
            if !is_topic(t) {
                v.err(format!("{at}.topics[{j}]"), format!("no topic named {t:?}"));
            } else if g.topics[..j].contains(t) {
                v.err(
                    format!("{at}.topics[{j}]"),
                    format!("{t:?} is listed twice"),
                );
            }
        }
        if g.members > GROUP_MEMBERS_MAX {
            v.err(
                format!("{at}.members"),
                format!("must be at most {GROUP_MEMBERS_MAX}"),
            );
        }
        if let Err(e) = check_service(&g.service) {
            v.err(format!("{at}.service.{}", e.field), e.msg);
        }
        if g.member_service.len() > GROUP_MEMBERS_MAX as usize {
            v.err(
                format!("{at}.member_service"),
                format!("at most {GROUP_MEMBERS_MAX} entries"),
            );
        }
        for (k, ms) in g.member_service.iter().enumerate() {
            if ms.member >= GROUP_MEMBERS_MAX {
                v.err(
                    format!("{at}.member_service[{k}].member"),
                    format!("must be below {GROUP_MEMBERS_MAX}"),
                );
            } else if g.member_service[..k].iter().any(|o| o.member == ms.member) {
                v.err(
                    format!("{at}.member_service[{k}].member"),
                    format!("member {} is listed twice", ms.member),
                );
            }
            if let Err(e) = check_service(&ms.service) {
                v.err(
                    format!("{at}.member_service[{k}].service.{}", e.field),
                    e.msg,
                );
            }
        }
        // 1.0 would retry one record in place for ever, unless the failure
        // policy gives up after some attempts.
        let gives_up = !matches!(
            g.on_failure,
            None | Some(GroupOnFailure::Blocking { attempts: None, .. })
        );
        if !(g.failure_rate.is_finite() && (0.0..=1.0).contains(&g.failure_rate))
            || (g.failure_rate == 1.0 && !gives_up)
        {
            v.err(
                format!("{at}.failure_rate"),
                if gives_up {
                    "must be between 0 and 1"
                } else {
                    "must be at least 0 and below 1 (or give up: see on_failure)"
                },
            );
        }
        if let Some(f) = &g.on_failure {
            check_on_failure(v, &format!("{at}.on_failure"), f, g, is_topic);
        }
        check_compacted_targets(v, &at, s, g);
        if g.max_poll_records == 0 || g.max_poll_records > MAX_POLL_RECORDS_MAX {
            v.err(
                format!("{at}.max_poll_records"),
                format!("must be between 1 and {MAX_POLL_RECORDS_MAX}"),
            );
        }
        if g.session_timeout.us() < 1000 {
            v.err(format!("{at}.session_timeout"), "must be at least 1ms");
        }
        if g.max_poll_interval.us() < 1000 {
            v.err(format!("{at}.max_poll_interval"), "must be at least 1ms");
        }
        if let CommitPolicy::Auto { interval } = g.commit {
            if interval.us() < 1000 {
                v.err(format!("{at}.commit.auto.interval"), "must be at least 1ms");
            }
        }
    }
}

/// A group's output, dead-letter and retry records keep the key of the record
/// they come from; a compacted topic refuses a record without a key (Kafka's
/// `LogValidator.validateKey`: "Compacted topic cannot accept message without
/// key"), so such a target needs every topic the group reads written with keys.
fn check_compacted_targets(v: &mut V, at: &str, s: &Scenario, g: &ConsumerGroup) {
    let mut targets: Vec<(String, &str)> = Vec::new();
    if let Some(o) = &g.output {
        targets.push((format!("{at}.output.topic"), &o.topic));
    }
    match &g.on_failure {
        Some(GroupOnFailure::DeadLetter { topic, .. }) => {
            targets.push((format!("{at}.on_failure.dead_letter.topic"), topic));
        }
        Some(GroupOnFailure::RetryTopics {
            topics,
            dead_letter,
        }) => {
            for (k, r) in topics.iter().enumerate() {
                targets.push((
                    format!("{at}.on_failure.retry_topics.topics[{k}].topic"),
                    &r.topic,
                ));
            }
            if let Some(t) = dead_letter {
                targets.push((format!("{at}.on_failure.retry_topics.dead_letter"), t));
            }
        }
        _ => {}
    }
    let keyless = s
        .producers
        .iter()
        .find(|p| p.keys.is_none() && g.topics.iter().any(|t| *t == p.to));
    let Some(p) = keyless else {
        return;
    };
    for (path, t) in targets {
        if s.topics.iter().any(|x| x.id == t && x.cleanup.compacts()) {
            v.err(
                path,
                format!(
                    "topic {t:?} is compacted, and compaction needs keyed records, but producer {:?} writes records without keys to {:?}, which this group reads (they keep no key here)",
                    p.id, p.to
                ),
            );
        }
    }
}

/// A group's `on_failure`: its topics exist, are not the group's own, are not
/// repeated; attempts and delays are in range.
fn check_on_failure(
    v: &mut V,
    at: &str,
    f: &GroupOnFailure,
    g: &ConsumerGroup,
    is_topic: &dyn Fn(&str) -> bool,
) {
    let attempts_ok = |n: u32| (1..=FAILURE_ATTEMPTS_MAX).contains(&n);
    let backoff_ok = |d: &Duration| d.us() <= 86_400_000_000;
    let topic = |v: &mut V, path: String, t: &str, seen: &mut Vec<String>| {
        if !is_topic(t) {
            v.err(path, format!("no topic named {t:?}"));
        } else if g.topics.iter().any(|x| x == t) {
            v.err(
                path,
                format!(
                    "{t:?} is a topic the group reads; failed records need a topic of their own"
                ),
            );
        } else if seen.iter().any(|x| x == t) {
            v.err(path, format!("{t:?} is listed twice"));
        }
        seen.push(t.to_string());
    };
    let mut seen = Vec::new();
    match f {
        GroupOnFailure::Skip => {}
        GroupOnFailure::Blocking { backoff, attempts } => {
            if attempts.is_some_and(|n| !attempts_ok(n)) {
                v.err(
                    format!("{at}.blocking.attempts"),
                    format!("must be between 1 and {FAILURE_ATTEMPTS_MAX}"),
                );
            }
            if !backoff_ok(backoff) {
                v.err(format!("{at}.blocking.backoff"), "must be at most 24h");
            }
        }
        GroupOnFailure::DeadLetter {
            topic: t,
            attempts,
            backoff,
        } => {
            topic(v, format!("{at}.dead_letter.topic"), t, &mut seen);
            if !attempts_ok(*attempts) {
                v.err(
                    format!("{at}.dead_letter.attempts"),
                    format!("must be between 1 and {FAILURE_ATTEMPTS_MAX}"),
                );
            }
            if !backoff_ok(backoff) {
                v.err(format!("{at}.dead_letter.backoff"), "must be at most 24h");
            }
        }
        GroupOnFailure::RetryTopics {
            topics,
            dead_letter,
        } => {
            if topics.is_empty() || topics.len() > RETRY_TOPICS_MAX {
                v.err(
                    format!("{at}.retry_topics.topics"),
                    format!("needs 1 to {RETRY_TOPICS_MAX} retry topics"),
                );
            }
            for (k, r) in topics.iter().enumerate() {
                topic(
                    v,
                    format!("{at}.retry_topics.topics[{k}].topic"),
                    &r.topic,
                    &mut seen,
                );
                if r.delay.us() == 0 || !backoff_ok(&r.delay) {
                    v.err(
                        format!("{at}.retry_topics.topics[{k}].delay"),
                        "must be between 1us and 24h",
                    );
                }
            }
            if let Some(t) = dead_letter {
                topic(v, format!("{at}.retry_topics.dead_letter"), t, &mut seen);
            }
        }
    }
}
