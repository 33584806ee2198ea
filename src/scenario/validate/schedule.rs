//! Value checks for a scenario's scheduled commands (split from
//! `validate.rs` to keep files small): what can be judged without the running
//! world, so a bad value is a validation error naming its path instead of a
//! command the engine skips when its time comes.

use super::guarantees::{check_confirms, check_consumer_faults, check_dedup, check_link_faults};
use super::*;

/// Value checks for a scheduled command that do not depend on the running
/// world. Without them a bad value (`prefetch: 0`) passed validation and the
/// engine skipped the command silently when its time came, since a scheduled
/// command that fails `Engine`'s own checks is not applied.
pub(super) fn check_scheduled_values(
    v: &mut V,
    at: &str,
    index: usize,
    cmd: &Command,
    s: &Scenario,
) {
    use Command as C;
    if let C::PauseMember { duration, .. } = cmd {
        if duration.us() == 0 || duration.us() > 3_600_000_000 {
            v.err(
                format!("{at}.duration"),
                "must be more than 0 and at most 1h",
            );
        }
    }
    match cmd {
        C::PublishOne {
            producer,
            routing_key,
            key,
            headers,
        } => {
            if let Err((field, e)) = check_publish_one(
                s,
                producer,
                routing_key.as_deref(),
                key.as_deref(),
                headers,
            ) {
                v.err(format!("{at}.{field}"), e);
            }
        }
        C::ChangeMessageVisibility {
            visibility_timeout: d,
            ..
        }
        | C::SetVisibilityTimeout {
            visibility_timeout: d,
            ..
        } => {
            if let Err(e) = check_visibility_timeout(*d) {
                v.err(format!("{at}.visibility_timeout"), e);
            }
        }
        C::SeekGroup {
            group,
            partition,
            topic,
            ..
        } => check_seek(v, at, index, s, group, topic.as_deref(), *partition),
        C::SetWaitTime { wait_time, .. } => {
            if let Err(e) = check_wait_time(*wait_time) {
                v.err(format!("{at}.wait_time"), e);
            }
        }
        C::SetMaxMessages { max_messages, .. } => {
            if let Err(e) = check_max_messages(*max_messages) {
                v.err(format!("{at}.max_messages"), e);
            }
        }
        C::SetPrefetch { prefetch, .. } if *prefetch == 0 || *prefetch > PREFETCH_MAX => v.err(
            format!("{at}.prefetch"),
            format!("must be between 1 and {PREFETCH_MAX}"),
        ),
        C::SetArrival { producer, arrival } => {
            let rate = s
                .producers
                .iter()
                .find(|p| p.id == *producer)
                .map(|p| p.rate);
            if let Some(Err(e)) = rate.map(|r| check_arrival(arrival, r)) {
                v.err(format!("{at}.arrival"), e);
            }
        }
        C::SetCircuitBreaker {
            consumer,
            circuit_breaker,
        } => {
            let reads_sqs = s
                .consumers
                .iter()
                .find(|c| c.id == *consumer)
                .and_then(|c| s.queues.iter().find(|q| q.id == c.queue))
                .is_some_and(|q| q.sqs.is_some());
            if reads_sqs {
                v.err(
                    format!("{at}.consumer"),
                    "reads an SQS queue: circuit breakers are modelled for AMQP queue consumers only",
                );
            } else if let Some(b) = circuit_breaker {
                if let Err((name, e)) = check_circuit_breaker(b) {
                    v.err(format!("{at}.circuit_breaker.{name}"), e);
                }
            }
        }
        C::SetConsumerFaults {
            faults: Some(f), ..
        } => {
            if let Err((name, e)) = check_consumer_faults(f) {
                v.err(format!("{at}.faults.{name}"), e);
            }
        }
        C::SetLinkFaults {
            producer,
            faults: Some(f),
        } => {
            let to_topic = s
                .producers
                .iter()
                .find(|p| p.id == *producer)
                .is_some_and(|p| s.topics.iter().any(|t| t.id == p.to));
            if let Err((name, e)) = check_link_faults(f, to_topic) {
                v.err(format!("{at}.faults.{name}"), e);
            }
        }
        C::SetConfirms {
            confirms: Some(c), ..
        } => {
            if let Err((name, e)) = check_confirms(c) {
                v.err(format!("{at}.confirms.{name}"), e);
            }
        }
        C::SetDedup { dedup: Some(d), .. } => {
            if let Err((name, e)) = check_dedup(d) {
                v.err(format!("{at}.dedup.{name}"), e);
            }
        }
        C::SetFailureRate { failure_rate, .. }
            if !(failure_rate.is_finite() && (0.0..=1.0).contains(failure_rate)) =>
        {
            v.err(format!("{at}.failure_rate"), "must be between 0 and 1")
        }
        C::CrashConsumer {
            consumer,
            instance: Some(i),
            ..
        }
        | C::RestartConsumer {
            consumer,
            instance: Some(i),
        } => {
            // The most instances this consumer can have at any time: its
            // configured count or any count the schedule scales it to.
            // A missing consumer is named by the reference check; no second
            // error about its instances.
            let Some(configured) = s
                .consumers
                .iter()
                .find(|c| c.id == *consumer)
                .map(|c| c.instances)
            else {
                return;
            };
            let scaled = s
                .schedule
                .iter()
                .filter_map(|sc| match &sc.command {
                    C::SetInstances {
                        consumer: c,
                        instances,
                    } if c == consumer => Some(*instances),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            let most = configured.max(scaled);
            if *i >= most {
                v.err(
                    format!("{at}.instance"),
                    format!(
                        "{consumer} never has more than {most} instances; there is no instance {i}"
                    ),
                );
            }
        }
        C::SetInstances { instances, .. } if *instances > INSTANCES_MAX => v.err(
            format!("{at}.instances"),
            format!("must be at most {INSTANCES_MAX}"),
        ),
        C::SetService { service, .. } => {
            if let Err(e) = check_service(service) {
                v.err(format!("{at}.service.{}", e.field), e.msg);
            }
        }
        C::SetRetry { retry: Some(r), .. } => {
            if let Err(e) = check_retry(r) {
                v.err(format!("{at}.retry.{}", e.field), e.msg);
            }
        }
        C::SetMaxLength {
            max_length: Some(l),
            ..
        } if *l > MAX_LENGTH_MAX => v.err(
            format!("{at}.max_length"),
            format!("must be at most {MAX_LENGTH_MAX}"),
        ),
        C::IncreasePartitions { topic, partitions } => {
            let now_n = s
                .topics
                .iter()
                .find(|t| t.id == *topic)
                .map(|t| t.partitions);
            if *partitions > PARTITIONS_MAX {
                v.err(
                    format!("{at}.partitions"),
                    format!("must be at most {PARTITIONS_MAX}"),
                );
            } else if let Some(n) = now_n.filter(|&n| *partitions <= n) {
                v.err(
                    format!("{at}.partitions"),
                    format!("{topic:?} starts with {n} partitions; partitions can only increase"),
                );
            }
        }
        C::StallFollower {
            topic, duration, ..
        } => {
            // The partition is checked when it runs (partitions can grow).
            let t = s.topics.iter().find(|t| t.id == *topic);
            if let Err(e) = crate::scenario::check_stall(t, None, *duration) {
                v.err(format!("{at}.{}", e.0), e.1);
            }
        }
        C::SetMaxPollRecords {
            max_poll_records, ..
        } if *max_poll_records == 0 || *max_poll_records > MAX_POLL_RECORDS_MAX => v.err(
            format!("{at}.max_poll_records"),
            format!("must be between 1 and {MAX_POLL_RECORDS_MAX}"),
        ),
        C::SetCommitPolicy {
            commit: CommitPolicy::Auto { interval },
            ..
        } if interval.us() < 1000 => {
            v.err(format!("{at}.commit.auto.interval"), "must be at least 1ms")
        }
        C::SetCommitPolicy { group, commit }
            if !matches!(
                commit,
                CommitPolicy::AfterProcessing {
                    per: CommitPer::Batch
                }
            ) && s
                .consumer_groups
                .iter()
                .find(|g| g.id == *group)
                .and_then(|g| g.output.as_ref())
                .is_some_and(|o| o.transactional) =>
        {
            v.err(
                format!("{at}.commit"),
                format!("{group:?} has a transactional output: its offsets commit with the transaction, after each poll's batch, so commit stays {{\"after_processing\": {{\"per\": \"batch\"}}}}"),
            )
        }
        // (A missing group is reported by the node check.)
        C::SetExpectedVersion { group, .. }
            if s.consumer_groups.iter().find(|g| g.id == *group).is_some_and(|g| {
                !g.output
                    .as_ref()
                    .is_some_and(|o| o.expected_version.is_some())
            }) =>
        {
            v.err(
                format!("{at}.group"),
                format!("{group:?} has no event-store output: set output.expected_version in the scenario so that versions are tracked"),
            )
        }
        C::SetLinger { producer, linger } => {
            let to_topic = s
                .producers
                .iter()
                .find(|p| p.id == *producer)
                .is_some_and(|p| s.topics.iter().any(|t| t.id == p.to));
            if !to_topic {
                v.err(
                    format!("{at}.producer"),
                    "linger applies only to producers that publish to a topic",
                );
            } else if linger.is_some_and(|d| d.us() > 60_000_000) {
                v.err(format!("{at}.linger"), "must be at most 60s");
            }
        }
        C::CrashMember { group, member }
        | C::PauseMember { group, member, .. }
        | C::RemoveMember {
            group,
            member: Some(member),
        } => {
            // Members are numbered in join order: the configured ones, then one per add_member.
            // A missing group is named by the reference check; no second
            // error about its members.
            let Some(configured) = s
                .consumer_groups
                .iter()
                .find(|g| g.id == *group)
                .map(|g| g.members)
            else {
                return;
            };
            let added = s
                .schedule
                .iter()
                .filter(|sc| matches!(&sc.command, C::AddMember { group: g } if g == group))
                .count() as u32;
            let most = configured + added;
            if *member >= most {
                v.err(
                    format!("{at}.member"),
                    format!(
                        "{group} never has more than {most} members; there is no member {member}"
                    ),
                );
            }
        }
        _ => {}
    }
}

/// A scheduled seek's `topic` is one the group reads (its retry topics
/// included), and its `partition` exists in that topic by then (an
/// `increase_partitions` that comes first counts: earlier, or at the same
/// time and listed before); a partition without a topic needs a group that
/// reads one topic, since Kafka seeks a `TopicPartition`.
fn check_seek(
    v: &mut V,
    at: &str,
    index: usize,
    s: &Scenario,
    group: &str,
    topic: Option<&str>,
    partition: Option<u32>,
) {
    let Some(g) = s.consumer_groups.iter().find(|g| g.id == group) else {
        return; // the group's own check names it
    };
    let t = match topic {
        Some(t) if !g.read_topics().contains(&t) => {
            return v.err(
                format!("{at}.topic"),
                format!(
                    "{group} does not read topic {t:?} (it reads {})",
                    g.read_topics().join(", ")
                ),
            );
        }
        Some(t) => t,
        None => match (partition, g.topics.as_slice()) {
            (None, _) => return,
            (Some(_), [only]) => only.as_str(),
            (Some(_), many) => {
                return v.err(
                    format!("{at}.topic"),
                    format!(
                        "{group} reads {} topics: a seek of one partition names its topic",
                        many.len()
                    ),
                );
            }
        },
    };
    let (Some(p), Some(cfg)) = (partition, s.topics.iter().find(|x| x.id == t)) else {
        return;
    };
    let seek_at = s.schedule[index].at;
    let grown = s
        .schedule
        .iter()
        .enumerate()
        .filter(|(k, sc)| sc.at < seek_at || (sc.at == seek_at && *k < index))
        .filter_map(|(_, sc)| match &sc.command {
            Command::IncreasePartitions { topic, partitions } if topic == t => Some(*partitions),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let n = cfg.partitions.max(grown);
    if n == 0 {
        return; // the topic's own check names it
    }
    if p >= n {
        v.err(
            format!("{at}.partition"),
            format!("{t} has {n} partitions (0 to {}): no partition {p}", n - 1),
        );
    }
}
