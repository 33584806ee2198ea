//! Which broker a scenario (or one lane of a comparison) runs on, and what
//! that broker documents about ordering and durability: the static half of
//! the broker comparison (`queuelab compare`, the app's Compare lanes). The
//! measured half is `Engine::measured`.
//!
//!   Scenario ──BrokerKind::of──► [RabbitMq, Kafka, SqsStandard, …] (one per broker its producers use)
//!   BrokerKind ──promise()──► (ordering, durability), as the broker's documentation states it
//!
//! Detection follows the producers: a lane is the brokers its producers
//! publish to (an exchange or a plain queue: RabbitMQ; a queue with an `sqs`
//! block: SQS standard or FIFO; a topic: Kafka; a Redis server: Pub/Sub; a
//! Redis stream: Streams). A scenario whose producers publish nowhere known
//! falls back to every broker it declares nodes of.
//!
//! Adding a broker is one enum variant, its `label` and `promise` arms, and
//! one `v.extend(…)` line in `targets` naming the node list producers publish to.

use super::{Duration, Scenario};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The broker's own cost of storing a message: a single broker CPU (a FIFO
/// server) spends `per_message` on each message and `per_batch` on each
/// produce request (Kafka batches), and a stored message becomes visible at
/// the next group commit (`fsync_every`, none: no fsync wait). Unset: free
/// and instant, as every scenario without it. These are modelling
/// assumptions, not benchmarks of the real systems (`BrokerKind::costs`
/// gives a documented starting point per broker).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerCosts {
    #[serde(default)]
    pub per_message: Duration,
    #[serde(default)]
    pub per_batch: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync_every: Option<Duration>,
}

/// Largest cost or fsync interval a scenario may set (1 s).
pub const BROKER_COST_MAX: Duration = Duration(1_000_000);

/// Checks on broker costs; `Err((field, message))`.
pub fn check_broker_costs(c: &BrokerCosts) -> Result<(), (&'static str, String)> {
    for (f, d) in [("per_message", c.per_message), ("per_batch", c.per_batch)] {
        if d > BROKER_COST_MAX {
            return Err((f, format!("{d} is over 1s")));
        }
    }
    if let Some(d) = c.fsync_every {
        if d.us() == 0 || d > BROKER_COST_MAX {
            return Err(("fsync_every", "must be between 1us and 1s".into()));
        }
    }
    Ok(())
}

/// A broker (or a broker mode with its own promise) QueueLab models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BrokerKind {
    /// RabbitMQ / AMQP 0-9-1: exchanges and queues.
    RabbitMq,
    /// Apache Kafka: partitioned topics read by consumer groups.
    Kafka,
    /// Amazon SQS standard queues.
    SqsStandard,
    /// Amazon SQS FIFO queues.
    SqsFifo,
    /// Redis Pub/Sub channels.
    RedisPubSub,
    /// Redis Streams with consumer groups.
    RedisStreams,
    /// Apache Pulsar topics and subscriptions.
    Pulsar,
}

impl BrokerKind {
    /// Short name for a table cell.
    pub fn label(self) -> &'static str {
        match self {
            BrokerKind::RabbitMq => "RabbitMQ",
            BrokerKind::Kafka => "Kafka",
            BrokerKind::SqsStandard => "SQS standard",
            BrokerKind::SqsFifo => "SQS FIFO",
            BrokerKind::RedisPubSub => "Redis Pub/Sub",
            BrokerKind::RedisStreams => "Redis Streams",
            BrokerKind::Pulsar => "Pulsar",
        }
    }

    /// The ordering and durability promise of the broker's documentation
    /// (RabbitMQ "Reliability Guide" and "Queues", Kafka "Design", the SQS
    /// Developer Guide, Redis "Pub/Sub" and "Streams", Pulsar "Messaging"),
    /// one short phrase each. Static text, printed beside what was measured.
    pub fn promise(self) -> (&'static str, &'static str) {
        match self {
            BrokerKind::RabbitMq => (
                "FIFO per queue; redelivered messages may reorder",
                "durable queue + persistent messages survive a restart; at-least-once with manual ack",
            ),
            BrokerKind::Kafka => (
                "order per partition (so per key)",
                "durable, replicated log; at-least-once with commit after processing",
            ),
            BrokerKind::SqsStandard => (
                "best-effort order",
                "at-least-once, occasional duplicates; stored redundantly",
            ),
            BrokerKind::SqsFifo => (
                "order per message group",
                "exactly-once processing within the 5-minute deduplication interval",
            ),
            BrokerKind::RedisPubSub => (
                "order per connection",
                "fire-and-forget, at-most-once: nothing is stored",
            ),
            BrokerKind::RedisStreams => (
                "entry-id order; a group's consumers may finish out of order",
                "at-least-once (pending entries, XACK, XAUTOCLAIM); persistence as configured",
            ),
            BrokerKind::Pulsar => (
                "order per key/partition (exclusive, failover, key_shared); shared: none",
                "durable (BookKeeper), at-least-once; ack timeout and negative acks redeliver",
            ),
        }
    }

    /// A documented starting point for `broker_costs` (assumptions, see the
    /// README's table): Kafka does not fsync per write by default
    /// (`log.flush.interval.messages` is Long.MAX_VALUE: durability comes
    /// from replication) and pays per produce request; Pulsar's bookies
    /// group-commit their journal every 2 ms (`journalMaxGroupWaitMSec`,
    /// BookKeeper's default; the `bookkeeper.conf` Pulsar ships sets 1 ms);
    /// Redis answers before its `appendfsync everysec` background fsync;
    /// RabbitMQ confirms persistent messages after its message store's
    /// batched fsync (1 ms assumed); SQS's cost is its HTTPS round trip,
    /// which is the producer's `latency`.
    pub fn costs(self) -> BrokerCosts {
        let us = Duration;
        match self {
            BrokerKind::RabbitMq => BrokerCosts {
                per_message: us(20),
                per_batch: us(0),
                fsync_every: Some(us(1000)),
            },
            BrokerKind::Kafka => BrokerCosts {
                per_message: us(2),
                per_batch: us(50),
                fsync_every: None,
            },
            BrokerKind::SqsStandard | BrokerKind::SqsFifo => BrokerCosts::default(),
            BrokerKind::RedisPubSub | BrokerKind::RedisStreams => BrokerCosts {
                per_message: us(5),
                per_batch: us(0),
                fsync_every: None,
            },
            BrokerKind::Pulsar => BrokerCosts {
                per_message: us(10),
                per_batch: us(0),
                fsync_every: Some(us(2000)),
            },
        }
    }

    /// The brokers of `s`: those its producers publish to, in enum order,
    /// each once; without any, every broker `s` declares nodes of.
    pub fn of(s: &Scenario) -> Vec<BrokerKind> {
        let nodes = targets(s);
        let mut kinds: Vec<BrokerKind> = s
            .producers
            .iter()
            .filter_map(|p| nodes.iter().find(|(id, _)| *id == p.to).map(|n| n.1))
            .collect();
        if kinds.is_empty() {
            kinds = nodes.iter().map(|n| n.1).collect();
        }
        crate::small_sort::sort(&mut kinds);
        kinds.dedup();
        kinds
    }

    /// The brokers of `s` as one cell: `Kafka`, `RabbitMQ + Kafka`, or `—`.
    pub fn label_of(s: &Scenario) -> String {
        let kinds = BrokerKind::of(s);
        if kinds.is_empty() {
            return "—".into();
        }
        kinds
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Every node a producer may publish to, with the broker it belongs to.
fn targets(s: &Scenario) -> Vec<(&str, BrokerKind)> {
    let queue = |q: &super::Queue| match &q.sqs {
        None => BrokerKind::RabbitMq,
        Some(sq) if sq.fifo() => BrokerKind::SqsFifo,
        Some(_) => BrokerKind::SqsStandard,
    };
    let mut v: Vec<(&str, BrokerKind)> = Vec::new();
    v.extend(
        s.exchanges
            .iter()
            .map(|x| (x.id.as_str(), BrokerKind::RabbitMq)),
    );
    v.extend(s.queues.iter().map(|q| (q.id.as_str(), queue(q))));
    v.extend(s.topics.iter().map(|t| (t.id.as_str(), BrokerKind::Kafka)));
    v.extend(
        s.redis_pubsub
            .iter()
            .map(|r| (r.id.as_str(), BrokerKind::RedisPubSub)),
    );
    v.extend(
        s.redis_streams
            .iter()
            .map(|r| (r.id.as_str(), BrokerKind::RedisStreams)),
    );
    v.extend(
        s.pulsar_topics
            .iter()
            .map(|t| (t.id.as_str(), BrokerKind::Pulsar)),
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Scenario {
        crate::scenario::load(json).expect("valid")
    }

    #[test]
    fn the_broker_follows_the_producers() {
        let s = load(
            r#"{"title":"t","producers":[{"id":"p","to":"s","rate":"1/s"}],
                "queues":[{"id":"q"}],"consumers":[{"id":"c","queue":"q","service":{"constant":"1ms"}}],
                "redis_streams":[{"id":"s"}],
                "redis_groups":[{"id":"g","stream":"s","service":{"constant":"1ms"}}]}"#,
        );
        assert_eq!(BrokerKind::of(&s), vec![BrokerKind::RedisStreams]);
        assert_eq!(BrokerKind::label_of(&s), "Redis Streams");
    }

    #[test]
    fn sqs_queues_are_sqs_and_nodes_are_the_fallback() {
        let s = load(
            r#"{"title":"t","queues":[{"id":"q","sqs":{"type":"fifo"}},{"id":"r"}],
                "consumers":[{"id":"c","queue":"q","service":{"constant":"1ms"}}]}"#,
        );
        assert_eq!(
            BrokerKind::of(&s),
            vec![BrokerKind::RabbitMq, BrokerKind::SqsFifo]
        );
        assert_eq!(BrokerKind::label_of(&s), "RabbitMQ + SQS FIFO");
    }

    #[test]
    fn every_broker_has_a_label_and_a_promise() {
        use BrokerKind::*;
        for k in [
            RabbitMq,
            Kafka,
            SqsStandard,
            SqsFifo,
            RedisPubSub,
            RedisStreams,
            Pulsar,
        ] {
            let (order, durability) = k.promise();
            assert!(!k.label().is_empty() && !order.is_empty() && !durability.is_empty());
        }
    }
}
