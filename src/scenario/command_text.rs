//! A command's one-line description for the event log (split from
//! `command.rs` to keep files small): what the user did, in words, naming
//! the node and the new value. Pure text; nothing here checks or applies.

use super::{Arrival, Command, CrashPoint, SeekTo};

impl Command {
    /// A one-line human description for the event log.
    pub fn describe(&self) -> String {
        match self {
            Command::SetRate { producer, rate } => format!("{producer}: rate → {rate}"),
            Command::SetArrival { producer, arrival } => match arrival {
                Arrival::Bursts { size } => format!("{producer}: arrivals → bursts of {size}"),
                other => format!("{producer}: arrivals → {other:?}").to_ascii_lowercase(),
            },
            Command::PauseProducer { producer } => format!("{producer}: paused"),
            Command::ResumeProducer { producer } => format!("{producer}: resumed"),
            Command::PublishOne {
                producer,
                routing_key,
                key,
                headers,
            } => {
                let mut s = format!("{producer}: publish one");
                if let Some(rk) = routing_key {
                    s += &format!(" routing key {rk:?}");
                }
                if let Some(k) = key {
                    s += &format!(" key {k:?}");
                }
                if !headers.is_empty() {
                    let h: Vec<String> = headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    s += &format!(" headers {}", h.join(","));
                }
                s
            }
            Command::CrashConsumer {
                consumer,
                instance,
                restart_after,
                point,
            } => {
                let who = instance
                    .map(|i| format!("{consumer}#{i}"))
                    .unwrap_or(format!("{consumer} (all)"));
                let when = match point {
                    CrashPoint::Now => "crash",
                    CrashPoint::AfterReceive => "crash after the next receive",
                    CrashPoint::AfterEffect => "crash after the next effect, before its ack",
                    CrashPoint::AfterAck => "crash after the next ack",
                };
                match restart_after {
                    Some(d) => format!("{who}: {when}, restart after {d}"),
                    None => format!("{who}: {when}"),
                }
            }
            Command::RestartConsumer { consumer, instance } => {
                let who = instance
                    .map(|i| format!("{consumer}#{i}"))
                    .unwrap_or(format!("{consumer} (all)"));
                format!("{who}: restart")
            }
            Command::SetInstances {
                consumer,
                instances,
            } => format!("{consumer}: instances → {instances}"),
            Command::SetService { consumer, service } => {
                format!("{consumer}: service → {service:?}")
            }
            Command::SetFailureRate {
                consumer,
                failure_rate,
            } => {
                format!("{consumer}: failure rate → {:.0}%", failure_rate * 100.0)
            }
            Command::SetPrefetch { consumer, prefetch } => {
                format!("{consumer}: prefetch → {prefetch}")
            }
            Command::SetAckMode { consumer, ack } => format!("{consumer}: ack → {ack:?}"),
            Command::SetOnFailure {
                consumer,
                on_failure,
            } => format!("{consumer}: on failure → {on_failure:?}"),
            Command::SetRetry { consumer, retry } => match retry {
                Some(r) => format!(
                    "{consumer}: retry → {} attempts, {:?}",
                    r.max_attempts, r.backoff
                ),
                None => format!("{consumer}: retry → none"),
            },
            Command::SetMaxLength { queue, max_length } => match max_length {
                Some(n) => format!("{queue}: max-length → {n}"),
                None => format!("{queue}: max-length → unlimited"),
            },
            Command::SetOverflow { queue, overflow } => format!("{queue}: overflow → {overflow:?}"),
            Command::SetQueueTtl { queue, ttl } => match ttl {
                Some(d) => format!("{queue}: TTL → {d}"),
                None => format!("{queue}: TTL → none"),
            },
            Command::PurgeQueue { queue } => format!("{queue}: purged"),
            Command::AddMember { group } => format!("{group}: member joins"),
            Command::RemoveMember { group, member } => match member {
                Some(m) => format!("{group}#{m}: leaves"),
                None => format!("{group}: a member leaves"),
            },
            Command::CrashMember { group, member } => format!("{group}#{member}: crash"),
            Command::PauseMember {
                group,
                member,
                duration,
            } => format!("{group}#{member}: paused for {duration}"),
            Command::SeekGroup {
                group,
                to,
                partition,
                topic,
            } => {
                let whither = match to {
                    SeekTo::Beginning => "the beginning".to_string(),
                    SeekTo::End => "the end".to_string(),
                    SeekTo::Offset(o) => format!("offset {o}"),
                    SeekTo::Timestamp(t) => format!("time {t}"),
                };
                match (partition, topic) {
                    (Some(p), Some(t)) => format!("{group}: partition {t}/{p} seeks to {whither}"),
                    (Some(p), None) => format!("{group}: partition {p} seeks to {whither}"),
                    (None, Some(t)) => format!("{group}: {t} seeks to {whither}"),
                    (None, None) => format!("{group}: seeks to {whither}"),
                }
            }
            Command::IncreasePartitions { topic, partitions } => {
                format!("{topic}: partitions → {partitions}")
            }
            Command::SetAssignment { group, assignment } => {
                format!("{group}: assignment → {assignment:?}")
            }
            Command::SetCommitPolicy { group, commit } => {
                format!("{group}: commit → {commit:?}")
            }
            Command::SetMaxPollRecords {
                group,
                max_poll_records,
            } => format!("{group}: max poll records → {max_poll_records}"),
            Command::SetExpectedVersion {
                group,
                expected_version,
            } => format!(
                "{group}: expected version → {}",
                if *expected_version { "checked" } else { "unchecked" }
            ),
            Command::SetLinger { producer, linger } => match linger {
                Some(d) => format!("{producer}: linger → {d}"),
                None => format!("{producer}: linger → none"),
            },
            Command::CrashBroker { restart_after } => match restart_after {
                Some(d) => format!("broker: crash, restart after {d}"),
                None => "broker: crash".into(),
            },
            Command::RestartBroker => "broker: restart".into(),
            Command::CrashProducer {
                producer,
                restart_after,
            } => match restart_after {
                Some(d) => format!("{producer}: crash, restart after {d}"),
                None => format!("{producer}: crash"),
            },
            Command::RestartProducer { producer } => format!("{producer}: restart"),
            Command::CrashLeader {
                topic,
                partition,
                restart_after,
            } => {
                let which = partition.map_or(format!("{topic} (every partition)"), |p| format!("{topic}/{p}"));
                match restart_after {
                    Some(d) => format!("{which}: leader crash, replica back after {d}"),
                    None => format!("{which}: leader crash"),
                }
            }
            Command::StallFollower {
                topic,
                partition,
                duration,
            } => {
                let which = partition.map_or(format!("{topic} (every partition)"), |p| format!("{topic}/{p}"));
                format!("{which}: a follower stalls for {duration}")
            }
            Command::DisconnectSubscriber {
                subscriber,
                reconnect_after,
            } => match reconnect_after {
                Some(d) => format!("{subscriber}: disconnect, reconnect after {d}"),
                None => format!("{subscriber}: disconnect"),
            },
            Command::ReconnectSubscriber { subscriber } => format!("{subscriber}: reconnect"),
            Command::Subscribe {
                subscriber,
                channel,
                pattern,
            } => match (channel, pattern) {
                (Some(c), _) => format!("{subscriber}: SUBSCRIBE {c}"),
                (_, p) => format!("{subscriber}: PSUBSCRIBE {}", p.as_deref().unwrap_or("")),
            },
            Command::Unsubscribe {
                subscriber,
                channel,
                pattern,
            } => match (channel, pattern) {
                (Some(c), _) => format!("{subscriber}: UNSUBSCRIBE {c}"),
                (_, p) => format!("{subscriber}: PUNSUBSCRIBE {}", p.as_deref().unwrap_or("")),
            },
            Command::SetOutputBufferLimit { server, limit } => format!(
                "{server}: client-output-buffer-limit pubsub {} {} {}",
                limit.hard_bytes, limit.soft_bytes, limit.soft_seconds
            ),
            Command::SetMaxlen { stream, maxlen } => match maxlen {
                Some(n) => format!("{stream}: MAXLEN {n}"),
                None => format!("{stream}: no MAXLEN"),
            },
            Command::SetMinIdleTime {
                group,
                min_idle_time,
            } => match min_idle_time {
                Some(d) => format!("{group}: XAUTOCLAIM min-idle-time {d}"),
                None => format!("{group}: no XAUTOCLAIM"),
            },
            Command::CrashStreamConsumer {
                group,
                consumer,
                after_effect,
                ..
            } => format!(
                "{group}: c{consumer} crashes{}",
                if *after_effect { " after its effect" } else { "" }
            ),
            Command::CrashPulsarConsumer {
                subscription,
                consumer,
                after_effect,
                ..
            } => format!(
                "{subscription}: c{consumer} crashes{}",
                if *after_effect { " after its effect" } else { "" }
            ),
            Command::RestartPulsarConsumer {
                subscription,
                consumer,
            } => format!("{subscription}: c{consumer} subscribes again"),
            Command::SetPulsarAckTimeout {
                subscription,
                timeout,
            } => match timeout {
                Some(d) => format!("{subscription}: ack timeout {d}"),
                None => format!("{subscription}: no ack timeout"),
            },
            Command::SetPulsarNackDelay {
                subscription,
                delay,
            } => format!("{subscription}: negative-ack delay {delay}"),
            Command::SetGuarantee { guarantee } => {
                format!("guarantee → {}", guarantee.name().replace('_', "-"))
            }
            Command::SetDedup { consumer, dedup } => match dedup {
                Some(d) => format!("{consumer}: dedup window → {}", d.window),
                None => format!("{consumer}: dedup → none"),
            },
            Command::SetCircuitBreaker {
                consumer,
                circuit_breaker,
            } => match circuit_breaker {
                Some(b) => format!(
                    "{consumer}: circuit breaker → opens after {} failures in a row, open {}, {} probe(s)",
                    b.failures, b.open_for, b.probes
                ),
                None => format!("{consumer}: circuit breaker → none"),
            },
            Command::SetConsumerFaults { consumer, faults } => match faults {
                Some(f) => format!(
                    "{consumer}: faults → crash after receive {:.0}%, after effect {:.0}%, ack lost {:.0}%",
                    f.crash_after_receive * 100.0,
                    f.crash_after_effect * 100.0,
                    f.ack_drop * 100.0
                ),
                None => format!("{consumer}: faults → none"),
            },
            Command::SetConfirms { producer, confirms } => match confirms {
                Some(c) => format!(
                    "{producer}: confirms → timeout {}, {} resends",
                    c.timeout, c.retries
                ),
                None => format!("{producer}: confirms → off (fire-and-forget)"),
            },
            Command::SetLinkFaults { producer, faults } => match faults {
                Some(f) => format!(
                    "{producer}: link → drop {:.0}%, duplicate {:.0}%, confirm lost {:.0}%",
                    f.drop * 100.0,
                    f.duplicate * 100.0,
                    f.confirm_drop * 100.0
                ),
                None => format!("{producer}: link → perfect"),
            },
            Command::ChangeMessageVisibility {
                queue,
                visibility_timeout,
                message,
            } => match message {
                Some(m) => format!("{queue}: message {m} visible in {visibility_timeout}"),
                None => format!("{queue}: messages in flight visible in {visibility_timeout}"),
            },
            Command::RedriveDeadLetters { queue, to } => match to {
                Some(t) => format!("{queue}: redrive dead letters to {t}"),
                None => format!("{queue}: redrive dead letters to their source queues"),
            },
            Command::SetVisibilityTimeout {
                queue,
                visibility_timeout,
            } => format!("{queue}: visibility timeout → {visibility_timeout}"),
            Command::SetWaitTime {
                consumer,
                wait_time,
            } => format!("{consumer}: wait time → {wait_time}"),
            Command::SetMaxMessages {
                consumer,
                max_messages,
            } => format!("{consumer}: max messages → {max_messages}"),
        }
    }
}
