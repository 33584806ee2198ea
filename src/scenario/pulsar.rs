//! The scenario format's Apache Pulsar half: topics (partitioned or not) and
//! named subscriptions on them, each with its own cursor, subscription type
//! and consumers.
//!
//!   producer ──send (key, deliver_after)──► pulsar_topics ──► pulsar_subscriptions
//!                                                              exclusive | failover | shared | key_shared
//!
//! Plain serde data like `types.rs`; every struct rejects unknown fields and
//! every list is skipped when empty, so scenarios without Pulsar parse and
//! hash as before. Defaults are the Java client's and the broker's
//! (`ConsumerConfigurationData`, `broker.conf`): receiver queue 1000,
//! negative-ack redelivery delay 1 min, ack timeout off, initial position
//! `latest`. The engine's `model::pulsar` cites the documentation.

use super::types::Service;
use super::units::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most partitions of one partitioned topic.
pub const PULSAR_PARTITIONS_MAX: u32 = 256;
/// Most consumers on one subscription.
pub const PULSAR_CONSUMERS_MAX: u32 = 1000;
/// Largest receiver queue (the Java client's is 1000 by default).
pub const PULSAR_RECEIVER_QUEUE_MAX: u32 = 100_000;
/// The Java client refuses an ack timeout under one second, except 0, which
/// turns it off (`pulsar_ack_timeout_ok`).
pub const PULSAR_ACK_TIMEOUT_MIN: Duration = Duration(1_000_000);

/// An ack timeout the Java client accepts: 0 (off) or at least 1 s
/// (`ConsumerBuilderImpl.ackTimeout`: `checkArgument(ackTimeout == 0 ||
/// timeUnit.toMillis(ackTimeout) >= MIN_ACK_TIMEOUT_MILLIS)`).
pub fn pulsar_ack_timeout_ok(d: Duration) -> bool {
    d.us() == 0 || d >= PULSAR_ACK_TIMEOUT_MIN
}
/// Key_Shared hash range: `[0, 65535]` (Pulsar's `DEFAULT_RANGE_SIZE`, 2^16).
pub const PULSAR_HASH_RANGE: u32 = 65_536;
/// Longest delay, timeout or backoff a scenario may set (1 day).
const PULSAR_DELAY_US_MAX: u64 = 24 * 3600 * 1_000_000;
/// Largest `max_redeliver_count`.
pub const PULSAR_MAX_REDELIVER_MAX: u32 = 1000;

/// A Pulsar topic. Producers whose `to` names it send to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PulsarTopic {
    pub id: String,
    /// 0 (the default): a non-partitioned topic; N: a partitioned topic of N
    /// internal topics. A keyed message goes to `JavaStringHash(key) mod N`,
    /// an unkeyed one round-robin (the Java client's `RoundRobinPartition`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partitions: u32,
    /// The namespace's backlog quota (unset: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog_quota: Option<BacklogQuota>,
    /// Retention of acknowledged messages (unset: deleted as soon as every
    /// subscription acknowledged them, Pulsar's default of no retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Duration>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A backlog quota: a limit on the backlog of the slowest subscription and
/// what the broker does when it is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacklogQuota {
    /// Unacknowledged messages allowed in one subscription's backlog
    /// (Pulsar counts bytes, `limitSize`; here messages, see the README).
    pub limit_messages: u64,
    #[serde(default)]
    pub policy: BacklogPolicy,
}

/// `RetentionPolicy` of a backlog quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BacklogPolicy {
    /// The broker holds the producer's send until the backlog shrinks
    /// (the send fails after the producer's send timeout, 30 s).
    #[default]
    ProducerRequestHold,
    /// The send fails at once (`ProducerBlockedQuotaExceededException`).
    ProducerException,
    /// The broker evicts the oldest messages of the slowest subscription's
    /// backlog (moves its cursor on): they are never delivered there.
    ConsumerBacklogEviction,
}

/// A subscription type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionType {
    /// One consumer only; a second is refused (`ConsumerBusyException`).
    #[default]
    Exclusive,
    /// One active consumer per partition, the others stand by and take over.
    Failover,
    /// Round-robin over the consumers; per-message acks; no ordering.
    Shared,
    /// Keys to consumers by hash range: order per key.
    KeyShared,
}

/// How a consumer acknowledges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PulsarAck {
    /// `acknowledge(msg)`: this message only.
    #[default]
    Individual,
    /// `acknowledgeCumulative(msg)`: this one and everything before it in
    /// its partition (Exclusive and Failover only, as Pulsar allows).
    Cumulative,
}

/// `MultiplierRedeliveryBackoff`: the n-th redelivery (n = the message's
/// redelivery count, 0 for the first) waits `min(min_delay × multiplier^n,
/// max_delay)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliveryBackoff {
    pub min_delay: Duration,
    pub max_delay: Duration,
    #[serde(default = "two")]
    pub multiplier: f64,
}

fn two() -> f64 {
    2.0
}

/// `DeadLetterPolicy` (Shared and Key_Shared subscriptions only: Exclusive
/// and Failover redeliver by rewinding and keep no redelivery count).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterPolicy {
    /// `maxRedeliverCount`: a message redelivered this many times goes to the
    /// dead-letter topic the next time it fails (`1 + n` deliveries in all).
    pub max_redeliver_count: u32,
    /// The dead-letter topic: a `pulsar_topics` id (its subscriptions read
    /// the dead letters), or unset for Pulsar's default name
    /// `<topic>-<subscription>-DLQ` (`<topic>-partition-<i>-<subscription>-DLQ`
    /// for partition `i` of a partitioned topic without retry), stored when
    /// a topic of that id exists, else discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// How a subscription picks consumers for keys (Key_Shared only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySharedMode {
    /// `AUTO_SPLIT` with hash-range splitting: the first consumer owns the
    /// whole range, each new one takes half of the largest range.
    #[default]
    AutoSplit,
    /// `STICKY`: each consumer's own ranges of slots, `[start, end]`
    /// inclusive within `[0, 65535]`, never overlapping (consumer `i` gets
    /// `ranges[i]`); a key whose slot nobody owns waits.
    Sticky { ranges: Vec<Vec<[u32; 2]>> },
}

/// A named subscription on a topic, with `consumers` consumers named `c0`,
/// `c1`, … that each handle one message at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PulsarSubscription {
    /// The subscription's name (and node id).
    pub id: String,
    /// The `pulsar_topics` id.
    pub topic: String,
    #[serde(default, rename = "type")]
    pub kind: SubscriptionType,
    #[serde(default = "one")]
    pub consumers: u32,
    /// Time to handle one message.
    pub service: Service,
    /// Consumers with their own service time (e.g. one slow consumer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_service: Vec<ConsumerService>,
    /// Probability in [0, 1] that handling a message fails: the consumer
    /// negatively acknowledges it (or, with `retry_letter`, reconsumes it later).
    #[serde(default)]
    pub failure_rate: f64,
    #[serde(default)]
    pub ack: PulsarAck,
    /// When the handler acknowledges: `after_processing` (after its effect,
    /// at-least-once; the default) or `auto` (as soon as it receives the
    /// message, before the effect: a crash or failure loses it,
    /// at-most-once). Unset: the scenario's `guarantee`, else after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_mode: Option<super::AckMode>,
    /// An idempotent handler: business ids it did the effect for, kept for
    /// the window, are skipped (unset: the scenario's `guarantee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<super::Dedup>,
    /// `receiverQueueSize`: messages the broker may push to a consumer ahead
    /// of its handler (its flow permits).
    #[serde(default = "receiver_queue_default")]
    pub receiver_queue_size: u32,
    /// `ackTimeout` (at least 1 s; unset or 0: off — the Java client's 0 —,
    /// with or without a dead-letter policy, as the Java client since 3.0;
    /// `ack_timeout_on`): a message received but not
    /// acknowledged this long after is redelivered (checked every 1 s tick).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_timeout: Option<Duration>,
    /// `ackTimeoutRedeliveryBackoff` (replaces the fixed `ack_timeout` per redelivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_timeout_backoff: Option<RedeliveryBackoff>,
    /// `negativeAckRedeliveryDelay` (default 1 min).
    #[serde(default = "nack_delay_default")]
    pub negative_ack_delay: Duration,
    /// `negativeAckRedeliveryBackoff` (replaces the fixed delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_ack_backoff: Option<RedeliveryBackoff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetterPolicy>,
    /// `enableRetry` with `reconsumeLater(msg, delay)`: a failed message is
    /// acknowledged and sent to the retry-letter topic
    /// `<topic>-<subscription>-RETRY`, which the consumer also reads, to come
    /// back after `delay`; after `dead_letter.max_redeliver_count` reconsumes
    /// it goes to the dead-letter topic (without `dead_letter`, after 16, to
    /// the default dead-letter topic, as the Java client's `enableRetry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_letter_delay: Option<Duration>,
    /// Key_Shared only: how keys map to consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_shared: Option<KeySharedMode>,
    /// `maxUnackedMessagesPerConsumer` (shared and key_shared only; unset:
    /// the broker's 50,000; 0: no limit): a consumer holding this many
    /// unacknowledged messages gets nothing more until its acks bring it
    /// down to half (negatively acknowledged messages count until they are
    /// redelivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unacked_per_consumer: Option<u32>,
    /// `maxUnackedMessagesPerSubscription` (shared and key_shared only;
    /// unset: the broker's 200,000; 0: no limit): with this many
    /// unacknowledged messages over all its consumers the subscription
    /// dispatches nothing until they fall below half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unacked_per_subscription: Option<u32>,
}

impl PulsarSubscription {
    /// The ack timeout in force: `ack_timeout` unless unset or 0 (off, as
    /// the Java client's `ackTimeout(0, …)`).
    pub fn ack_timeout_on(&self) -> Option<Duration> {
        self.ack_timeout.filter(|d| d.us() > 0)
    }

    /// The name of the topic a dead letter of this subscription goes to,
    /// for a message of `partition` of its topic (`partitions`: the topic's
    /// count, 0 when not partitioned): `dead_letter.topic` when set, else
    /// the Java client's default `<topic>-<subscription>-DLQ`. The default
    /// is named per consumer (`ConsumerImpl`), and a partitioned topic has
    /// one consumer per partition, named after it, so its dead letters go
    /// to `<topic>-partition-<i>-<subscription>-DLQ`; with retry enabled
    /// (`retry_letter_delay`) `ConsumerBuilderImpl` names both letter
    /// topics once, after the topic itself. The engine stores the dead
    /// letter there when a `pulsar_topics` entry has that id, else it is
    /// discarded (a topic nobody reads).
    pub fn dead_letter_topic_name(&self, partitions: u32, partition: u32) -> String {
        if let Some(t) = self.dead_letter.as_ref().and_then(|d| d.topic.as_ref()) {
            return t.clone();
        }
        if partitions > 0 && self.retry_letter_delay.is_none() {
            format!("{}-partition-{partition}-{}-DLQ", self.topic, self.id)
        } else {
            format!("{}-{}-DLQ", self.topic, self.id)
        }
    }

    /// Every topic name `dead_letter_topic_name` can give (one per
    /// partition for the per-consumer default on a partitioned topic).
    pub fn dead_letter_topic_names(&self, partitions: u32) -> Vec<String> {
        let mut names: Vec<String> = (0..partitions.max(1))
            .map(|i| self.dead_letter_topic_name(partitions, i))
            .collect();
        names.dedup();
        names
    }
}

/// The broker's `maxUnackedMessagesPerConsumer` default.
pub const PULSAR_MAX_UNACKED_PER_CONSUMER: u32 = 50_000;
/// The broker's `maxUnackedMessagesPerSubscription` default.
pub const PULSAR_MAX_UNACKED_PER_SUBSCRIPTION: u32 = 200_000;

/// One consumer's own service time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerService {
    pub consumer: u32,
    pub service: Service,
}

fn one() -> u32 {
    1
}
fn receiver_queue_default() -> u32 {
    1000
}
fn nack_delay_default() -> Duration {
    Duration::from_s(60)
}

/// Checks on a backoff; `Err((field, message))`.
pub fn check_backoff(b: &RedeliveryBackoff) -> Result<(), (&'static str, String)> {
    if b.min_delay.us() > PULSAR_DELAY_US_MAX {
        return Err(("min_delay", "at most 24h".into()));
    }
    if b.max_delay.us() > PULSAR_DELAY_US_MAX {
        return Err(("max_delay", "at most 24h".into()));
    }
    if b.max_delay < b.min_delay {
        return Err((
            "max_delay",
            format!("{} is less than min_delay {}", b.max_delay, b.min_delay),
        ));
    }
    if !(b.multiplier.is_finite() && (1.0..=100.0).contains(&b.multiplier)) {
        return Err(("multiplier", "must be between 1 and 100".into()));
    }
    Ok(())
}

/// Checks on a delay knob (ack timeout, nack delay, retry delay).
pub fn check_pulsar_delay(d: Duration) -> Result<(), String> {
    if d.us() > PULSAR_DELAY_US_MAX {
        return Err("must be at most 24h".into());
    }
    Ok(())
}

/// Checks on a sticky range list for one consumer.
pub fn check_sticky_ranges(all: &[Vec<[u32; 2]>]) -> Result<(), String> {
    let mut seen: Vec<(u32, u32, usize)> = Vec::new();
    for (c, ranges) in all.iter().enumerate() {
        if ranges.is_empty() {
            // `KeySharedPolicySticky.validate()` in the client and
            // `validateKeySharedMeta` in the broker: "Ranges for KeyShared
            // policy must not be empty".
            return Err(format!(
                "consumer c{c} has no range, and Pulsar refuses a sticky consumer without one (\"Ranges for KeyShared policy must not be empty\"): give it at least one [start, end]"
            ));
        }
        for r in ranges {
            if r[0] > r[1] || r[1] >= PULSAR_HASH_RANGE {
                return Err(format!(
                    "consumer c{c}: range [{}, {}] must have start <= end <= {}",
                    r[0],
                    r[1],
                    PULSAR_HASH_RANGE - 1
                ));
            }
            if let Some(o) = seen.iter().find(|o| r[0] <= o.1 && o.0 <= r[1]) {
                return Err(format!(
                    "consumer c{c}: range [{}, {}] overlaps c{}'s [{}, {}] (Pulsar refuses overlapping sticky ranges)",
                    r[0], r[1], o.2, o.0, o.1
                ));
            }
            seen.push((r[0], r[1], c));
        }
    }
    Ok(())
}

impl super::Scenario {
    /// Is `id` a Pulsar topic (a producer target)?
    pub fn is_pulsar_topic(&self, id: &str) -> bool {
        self.pulsar_topics.iter().any(|t| t.id == id)
    }
}
