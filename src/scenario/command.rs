//! Commands: what a user (or a scenario's schedule) asks the running world to do.
//!
//!   UI click / CLI / scenario schedule ──Command──► Engine::submit ──► log + apply at `now`
//!
//! A command is scenario data (a scenario's `schedule` holds commands), so the
//! type lives here and the engine consumes it (`engine::command` checks and
//! applies it). Commands name nodes by their scenario id, so a command log is
//! plain JSON that a share link can carry. `Engine::submit` validates a command
//! completely before it changes anything: a rejected command leaves no trace
//! and is not logged.

use super::{
    AckMode, Arrival, Assignment, CircuitBreaker, CommitPolicy, Confirms, ConsumerFaults,
    CrashPoint, Dedup, Duration, Guarantee, LinkFaults, OnFailure, Overflow, Rate, RetryPolicy,
    SeekTo, Service,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Change a producer's mean rate (takes effect from now).
    SetRate {
        producer: String,
        rate: Rate,
    },
    /// Change how a producer spaces its publishes (constant, Poisson, bursts).
    SetArrival {
        producer: String,
        arrival: Arrival,
    },
    /// Stop a producer publishing until resumed.
    PauseProducer {
        producer: String,
    },
    ResumeProducer {
        producer: String,
    },
    /// Publish one message from a producer now, with the given routing key
    /// (default: the producer's `routing_key`), key and headers (merged over
    /// the producer's `headers`). The producer's schedule, counters and random
    /// stream are untouched, so the rest of the run is unchanged.
    PublishOne {
        producer: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        routing_key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    /// Crash one instance (or all, when `instance` is absent): unacked deliveries
    /// go back to the queue; auto-acked ones are lost. Optionally restart later.
    CrashConsumer {
        consumer: String,
        #[serde(default)]
        instance: Option<u32>,
        #[serde(default)]
        restart_after: Option<Duration>,
        /// Where in the protocol it strikes: `now`, or armed until the
        /// instance next reaches that point.
        #[serde(default, skip_serializing_if = "CrashPoint::is_now")]
        point: CrashPoint,
    },
    RestartConsumer {
        consumer: String,
        #[serde(default)]
        instance: Option<u32>,
    },
    /// Scale a consumer group; removed instances return their unacked deliveries.
    SetInstances {
        consumer: String,
        instances: u32,
    },
    SetService {
        consumer: String,
        service: Service,
    },
    SetFailureRate {
        consumer: String,
        failure_rate: f64,
    },
    SetPrefetch {
        consumer: String,
        prefetch: u32,
    },
    SetAckMode {
        consumer: String,
        ack: AckMode,
    },
    SetOnFailure {
        consumer: String,
        on_failure: OnFailure,
    },
    SetRetry {
        consumer: String,
        #[serde(default)]
        retry: Option<RetryPolicy>,
    },
    /// Change `x-max-length`; a lower limit trims the queue from the head at once.
    SetMaxLength {
        queue: String,
        #[serde(default)]
        max_length: Option<u32>,
    },
    SetOverflow {
        queue: String,
        overflow: Overflow,
    },
    /// Change `x-message-ttl` for messages enqueued from now on.
    SetQueueTtl {
        queue: String,
        #[serde(default)]
        ttl: Option<Duration>,
    },
    /// Remove every ready message from a queue.
    PurgeQueue {
        queue: String,
    },
    /// A new member joins a consumer group (triggers a rebalance).
    AddMember {
        group: String,
    },
    /// A member leaves gracefully: it finishes its batch, commits and leaves
    /// (triggers a rebalance). Without `member`, the newest live member leaves.
    RemoveMember {
        group: String,
        #[serde(default)]
        member: Option<u32>,
    },
    /// A member crashes: its polled records are lost uncommitted; the group
    /// notices `session_timeout` later and rebalances.
    CrashMember {
        group: String,
        member: u32,
    },
    /// A member stops for `duration` (a long GC pause): no heartbeats, no
    /// processing. Longer than `session_timeout`, the group evicts it and
    /// its partitions move; when it wakes it is a zombie (see `txn_fence.rs`).
    PauseMember {
        group: String,
        member: u32,
        duration: Duration,
    },
    /// Move a group's committed offsets (all its partitions, one topic's, or
    /// one partition) and restart consumption there. A `partition` is one of
    /// `topic`'s (Kafka seeks a `TopicPartition`); `topic` may be left out
    /// when the group reads one topic.
    SeekGroup {
        group: String,
        to: SeekTo,
        #[serde(default)]
        partition: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
    /// Grow a topic to `partitions` (increase only, as in Kafka).
    IncreasePartitions {
        topic: String,
        partitions: u32,
    },
    /// Change a group's `partition.assignment.strategy`: every member rejoins
    /// with it, so a rebalance starts now.
    SetAssignment {
        group: String,
        assignment: Assignment,
    },
    /// Change when a group commits, from now on (records already polled
    /// commit under the new policy).
    SetCommitPolicy {
        group: String,
        commit: CommitPolicy,
    },
    /// Change a group's `max.poll.records`, from its members' next poll.
    SetMaxPollRecords {
        group: String,
        max_poll_records: u32,
    },
    /// Switch an event-store group's expected-version check (its output
    /// must set `expected_version`): true refuses appends on a stale
    /// version from now on, false appends them and counts stale writes.
    /// A record in service is checked under the setting in force when its
    /// service ends.
    SetExpectedVersion {
        group: String,
        expected_version: bool,
    },
    /// Change a topic producer's `linger` (none: send every record at once),
    /// for batches opened from now on.
    SetLinger {
        producer: String,
        #[serde(default)]
        linger: Option<Duration>,
    },
    /// Crash the broker: every consumer connection drops (unacked deliveries
    /// go back to their queues), transient queues and transient messages are
    /// lost, publishes fail until it restarts (never, without `restart_after`).
    CrashBroker {
        #[serde(default)]
        restart_after: Option<Duration>,
    },
    /// Bring a crashed broker back.
    RestartBroker,
    /// A producer crashes: it stops publishing and forgets the publishes it
    /// was waiting to hear about (between send and confirm); back after
    /// `restart_after`, if given.
    CrashProducer {
        producer: String,
        #[serde(default)]
        restart_after: Option<Duration>,
    },
    RestartProducer {
        producer: String,
    },
    /// The leader of a topic partition (every partition, without
    /// `partition`) crashes: an in-sync follower takes over with the log up
    /// to the high watermark; the crashed replica is back after `restart_after`.
    CrashLeader {
        topic: String,
        #[serde(default)]
        partition: Option<u32>,
        #[serde(default)]
        restart_after: Option<Duration>,
    },
    /// A follower of a topic partition (every partition, without
    /// `partition`) stops fetching from the leader for `duration` (a long GC
    /// pause, a slow disk): after `replication.replica_lag_max` it falls out
    /// of the ISR; when the stall ends it catches up and re-joins.
    StallFollower {
        topic: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        duration: Duration,
    },
    /// Redis Pub/Sub: a subscriber's connection drops (its process crashed or
    /// the network failed): what its output buffer held and the message it
    /// was handling are lost, and it misses everything published until it
    /// reconnects (after `reconnect_after`, or a `reconnect_subscriber`).
    DisconnectSubscriber {
        subscriber: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reconnect_after: Option<Duration>,
    },
    /// Redis Pub/Sub: the subscriber connects and subscribes again.
    ReconnectSubscriber {
        subscriber: String,
    },
    /// Redis Pub/Sub: SUBSCRIBE to `channel` or PSUBSCRIBE to `pattern` (exactly one).
    Subscribe {
        subscriber: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Redis Pub/Sub: UNSUBSCRIBE from `channel` or PUNSUBSCRIBE from `pattern`.
    Unsubscribe {
        subscriber: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Redis Pub/Sub: CONFIG SET client-output-buffer-limit (pubsub class).
    SetOutputBufferLimit {
        server: String,
        limit: super::OutputBufferLimit,
    },
    /// Redis Streams: the MAXLEN later XADDs trim to (`null`: no trimming).
    SetMaxlen {
        stream: String,
        maxlen: Option<u64>,
    },
    /// Redis Streams: XAUTOCLAIM's min-idle-time for a group (`null`: no claiming).
    SetMinIdleTime {
        group: String,
        min_idle_time: Option<Duration>,
    },
    /// Redis Streams: consumer `consumer` (0 = `c0`) of a group crashes: the
    /// entry it was handling stays in the pending entries list (its effect
    /// done first when `after_effect`), for another consumer to claim.
    CrashStreamConsumer {
        group: String,
        consumer: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        after_effect: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_after: Option<Duration>,
    },
    /// Pulsar: consumer `consumer` (0 = `c0`) of a subscription crashes: the
    /// broker redelivers what it had received and not acknowledged (its
    /// effect done first when `after_effect`); on a failover subscription
    /// the next consumer becomes active.
    CrashPulsarConsumer {
        subscription: String,
        consumer: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        after_effect: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_after: Option<Duration>,
    },
    /// Pulsar: a crashed consumer subscribes again.
    RestartPulsarConsumer {
        subscription: String,
        consumer: u32,
    },
    /// Pulsar: the subscription's consumers' `ackTimeout` (none: off).
    SetPulsarAckTimeout {
        subscription: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<Duration>,
    },
    /// Pulsar: the subscription's consumers' `negativeAckRedeliveryDelay`.
    SetPulsarNackDelay {
        subscription: String,
        delay: Duration,
    },
    /// Turn the guarantee dial: every queue producer's confirms and every
    /// consumer's ack mode and dedup store take the bundle's values.
    SetGuarantee {
        guarantee: Guarantee,
    },
    /// Give a consumer a dedup store (an idempotent consumer), or none.
    SetDedup {
        consumer: String,
        #[serde(default)]
        dedup: Option<Dedup>,
    },
    /// Change a consumer's protocol-point faults (none: no faults).
    SetConsumerFaults {
        consumer: String,
        #[serde(default)]
        faults: Option<ConsumerFaults>,
    },
    /// Give a consumer a circuit breaker (these settings, starting closed) or none.
    SetCircuitBreaker {
        consumer: String,
        #[serde(default)]
        circuit_breaker: Option<CircuitBreaker>,
    },
    /// Turn a queue producer's publisher confirms on (with these settings) or off.
    SetConfirms {
        producer: String,
        #[serde(default)]
        confirms: Option<Confirms>,
    },
    /// Change the faults on a producer's link to the broker (none: a perfect link).
    SetLinkFaults {
        producer: String,
        #[serde(default)]
        faults: Option<LinkFaults>,
    },
    /// SQS `ChangeMessageVisibility`: the messages of SQS `queue` in flight
    /// now (or only message `message`) become visible again
    /// `visibility_timeout` from now (0: at once). One request per message.
    ChangeMessageVisibility {
        queue: String,
        visibility_timeout: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<u64>,
    },
    /// SQS dead-letter queue redrive: move every visible message of
    /// dead-letter queue `queue` back to the queue it came from (or to `to`).
    RedriveDeadLetters {
        queue: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// Change an SQS queue's `VisibilityTimeout` (for receives from now on).
    SetVisibilityTimeout {
        queue: String,
        visibility_timeout: Duration,
    },
    /// Change an SQS consumer's long-poll `WaitTimeSeconds` (0: short polling).
    SetWaitTime {
        consumer: String,
        wait_time: Duration,
    },
    /// Change an SQS consumer's `MaxNumberOfMessages` per receive (1 to 10).
    SetMaxMessages {
        consumer: String,
        max_messages: u32,
    },
}

impl Command {
    /// The node this command is about.
    pub fn target(&self) -> &str {
        match self {
            Command::SetRate { producer, .. }
            | Command::SetArrival { producer, .. }
            | Command::PauseProducer { producer }
            | Command::ResumeProducer { producer }
            | Command::PublishOne { producer, .. }
            | Command::SetLinger { producer, .. }
            | Command::SetConfirms { producer, .. }
            | Command::CrashProducer { producer, .. }
            | Command::RestartProducer { producer }
            | Command::SetLinkFaults { producer, .. } => producer,
            Command::CrashConsumer { consumer, .. }
            | Command::RestartConsumer { consumer, .. }
            | Command::SetInstances { consumer, .. }
            | Command::SetService { consumer, .. }
            | Command::SetFailureRate { consumer, .. }
            | Command::SetPrefetch { consumer, .. }
            | Command::SetAckMode { consumer, .. }
            | Command::SetOnFailure { consumer, .. }
            | Command::SetRetry { consumer, .. }
            | Command::SetDedup { consumer, .. }
            | Command::SetConsumerFaults { consumer, .. }
            | Command::SetCircuitBreaker { consumer, .. }
            | Command::SetWaitTime { consumer, .. }
            | Command::SetMaxMessages { consumer, .. } => consumer,
            Command::SetMaxLength { queue, .. }
            | Command::SetOverflow { queue, .. }
            | Command::SetQueueTtl { queue, .. }
            | Command::PurgeQueue { queue }
            | Command::ChangeMessageVisibility { queue, .. }
            | Command::RedriveDeadLetters { queue, .. }
            | Command::SetVisibilityTimeout { queue, .. } => queue,
            Command::AddMember { group }
            | Command::RemoveMember { group, .. }
            | Command::CrashMember { group, .. }
            | Command::PauseMember { group, .. }
            | Command::SeekGroup { group, .. }
            | Command::SetAssignment { group, .. }
            | Command::SetCommitPolicy { group, .. }
            | Command::SetMaxPollRecords { group, .. }
            | Command::SetExpectedVersion { group, .. } => group,
            Command::IncreasePartitions { topic, .. }
            | Command::CrashLeader { topic, .. }
            | Command::StallFollower { topic, .. } => topic,
            Command::DisconnectSubscriber { subscriber, .. }
            | Command::ReconnectSubscriber { subscriber }
            | Command::Subscribe { subscriber, .. }
            | Command::Unsubscribe { subscriber, .. } => subscriber,
            Command::SetOutputBufferLimit { server, .. } => server,
            Command::SetMaxlen { stream, .. } => stream,
            Command::SetMinIdleTime { group, .. } | Command::CrashStreamConsumer { group, .. } => {
                group
            }
            Command::CrashPulsarConsumer { subscription, .. }
            | Command::RestartPulsarConsumer { subscription, .. }
            | Command::SetPulsarAckTimeout { subscription, .. }
            | Command::SetPulsarNackDelay { subscription, .. } => subscription,
            // The whole scenario: no one node.
            Command::SetGuarantee { .. } | Command::CrashBroker { .. } | Command::RestartBroker => {
                ""
            }
        }
    }
}

/// A command as it was applied: when, and after how many engine events, so
/// that replaying the log reproduces the session exactly even when a command
/// landed between two events of the same instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggedCommand {
    pub at_us: u64,
    pub after_events: u64,
    pub command: Command,
}
