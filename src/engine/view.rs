//! Snapshots: read-only, plain-data views of an engine for a UI to draw.
//!
//!   Engine ──snapshot()──► Snapshot { totals, latencies, nodes: [NodeView] }
//!                                                        └─ MessageView (queue heads, held deliveries)
//!
//! Views never change the engine and own no state; the core does not import
//! this module (views read the models' state, never the other way round).
//! Lists are bounded (`SNAPSHOT_HEAD_MAX` messages per queue or instance).

use super::core::{Engine, NodeKind};
use super::message::NO_SYM;
use super::metrics::{LatencySummary, Totals};
use super::report::hash_hex;
use serde::Serialize;

/// A message as seen in a queue or a consumer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub id: u64,
    /// Correlation id: the id of the message that started the exchange
    /// (kept by routing copies, dead-lettering and handler publishes).
    pub correlation: u64,
    pub routing_key: String,
    pub key: Option<String>,
    /// Deliveries so far.
    pub deliveries: u32,
    pub failures: u32,
    pub deaths: u32,
    pub redelivered: bool,
    pub age_us: u64,
    /// Its AMQP `priority` property (its producer's), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
}

/// A consumer's circuit breaker (`model::breaker`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerView {
    /// `closed`, `open` or `half_open`.
    pub state: &'static str,
    /// Handler failures in a row so far (closed), and how many open it.
    pub failures_in_a_row: u32,
    pub failures_to_open: u32,
    /// Times it opened, and the time it spent open.
    pub opens: u64,
    pub open_total_us: u64,
    /// While open: when it lets probes through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub half_open_at_us: Option<u64>,
}

impl BreakerView {
    /// One line for the inspector: the state and what it means now.
    pub fn describe(&self) -> String {
        match (self.state, self.half_open_at_us) {
            ("open", Some(at)) => format!(
                "open: no deliveries until {}",
                crate::scenario::Duration(at)
            ),
            ("half_open", _) => "half-open: letting probes through".into(),
            _ => format!(
                "closed ({} of {} failures in a row)",
                self.failures_in_a_row, self.failures_to_open
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceView {
    pub up: bool,
    pub busy: bool,
    /// Deliveries held unacked (the first is being processed when busy), then
    /// those held back on the wire and those whose ack is on its way.
    pub held: Vec<MessageView>,
    pub processed: u64,
    /// Fraction of time busy since the start.
    pub utilization: f64,
    /// Up but not its single-active-consumer queue's active instance: it
    /// waits to take over (`model::single_active`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub standby: bool,
    /// The message its handler is still finishing after a consumer timeout
    /// closed its channel (`model::ack_timeout`): the handler is busy with
    /// it, what `held` shows waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finishing: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeView {
    Producer {
        id: String,
        to: String,
        rate_per_s: f64,
        paused: bool,
        published: u64,
        /// Its messages processed and acked (routing copies and handler
        /// publishes included), and their mean time from publish to ack.
        #[serde(skip_serializing_if = "is_zero")]
        completed: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_to_end_mean_us: Option<f64>,
        /// A producer to a Kafka topic: batches sent (one per record without
        /// linger; resends of a batch count again), so published ÷ this is
        /// the mean batch size.
        #[serde(skip_serializing_if = "is_zero")]
        batches_sent: u64,
    },
    Exchange {
        id: String,
        exchange_kind: String,
        routed: u64,
        unroutable: u64,
        to_alternate: u64,
    },
    Queue {
        id: String,
        depth: u32,
        depth_max: u32,
        unacked: u32,
        max_length: Option<u32>,
        ttl_us: Option<u64>,
        enqueued: u64,
        delivered: u64,
        acked: u64,
        expired: u64,
        dead_lettered: u64,
        dropped: u64,
        /// The first messages from the head.
        head: Vec<MessageView>,
        /// A priority queue's ready messages per priority, highest first
        /// (`max_priority` down to 0); empty for a plain queue.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        priority_levels: Vec<u32>,
    },
    Consumer {
        id: String,
        queue: String,
        prefetch: u32,
        processed: u64,
        failed: u64,
        acked: u64,
        nacked: u64,
        /// Mean time of a finished handler run (processed or failed), in µs;
        /// `None` before the first.
        service_mean_us: Option<f64>,
        instances: Vec<InstanceView>,
        /// Its circuit breaker, if it has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        breaker: Option<BreakerView>,
    },
    /// A Kafka-style topic (see `view_stream`).
    Topic(super::view_stream::TopicView),
    /// A Kafka-style consumer group (see `view_stream`).
    Group(super::view_stream::GroupView),
    /// A Redis server's Pub/Sub (see `view_redis`).
    RedisPubSub(super::view_redis::RedisPubSubView),
    RedisSubscriber(super::view_redis::RedisSubscriberView),
    RedisStream(super::view_redis::RedisStreamView),
    RedisGroup(super::view_redis::RedisGroupView),
    /// A Pulsar topic and a subscription (see `view_pulsar`).
    PulsarTopic(super::view_pulsar::PulsarTopicView),
    PulsarSubscription(super::view_pulsar::PulsarSubscriptionView),
}

impl NodeView {
    pub fn id(&self) -> &str {
        match self {
            NodeView::Producer { id, .. }
            | NodeView::Exchange { id, .. }
            | NodeView::Queue { id, .. }
            | NodeView::Consumer { id, .. } => id,
            NodeView::Topic(t) => &t.id,
            NodeView::Group(g) => &g.id,
            NodeView::RedisPubSub(v) => &v.id,
            NodeView::RedisSubscriber(v) => &v.id,
            NodeView::RedisStream(v) => &v.id,
            NodeView::RedisGroup(v) => &v.id,
            NodeView::PulsarTopic(v) => &v.id,
            NodeView::PulsarSubscription(v) => &v.id,
        }
    }
}

/// Everything a UI needs to draw one frame, as plain data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    pub t_us: u64,
    pub events: u64,
    pub trace_hash: String,
    pub totals: Totals,
    pub latency_wait: LatencySummary,
    pub latency_end_to_end: LatencySummary,
    /// Nodes in scenario order: producers, exchanges, queues, consumers, topics, groups.
    pub nodes: Vec<NodeView>,
    /// The SQS queues among `nodes` (their `Queue` views show visible
    /// messages as `depth` and in-flight ones as `unacked`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sqs: Vec<crate::engine::model::sqs_check::SqsQueueView>,
    /// The alert rules, in `alerts` order (see `engine::alerts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::engine::AlertView>,
}

/// How many head messages a snapshot lists per queue.
pub const SNAPSHOT_HEAD_MAX: usize = 50;

impl Engine {
    /// Everything a UI needs to draw the current state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            t_us: self.now().0,
            events: self.events(),
            trace_hash: hash_hex(self.trace_hash()),
            totals: self.totals_now(),
            latency_wait: self.latency_wait(),
            latency_end_to_end: self.latency_end_to_end(),
            nodes: self.snapshot_nodes(SNAPSHOT_HEAD_MAX),
            sqs: self.sqs_views(),
            alerts: self.alerts(),
        }
    }

    /// Every node's view, in scenario order; `head_max` bounds listed messages.
    pub(crate) fn snapshot_nodes(&self, head_max: usize) -> Vec<NodeView> {
        self.nodes()
            .iter()
            .map(|n| self.node_view(n.kind, n.index as usize, head_max))
            .collect()
    }
}

impl Engine {
    pub(crate) fn message_view(&self, slot: u32) -> MessageView {
        let m = &self.msgs[slot as usize];
        MessageView {
            id: m.id,
            correlation: self.correlation(slot),
            routing_key: self.syms[m.routing_key as usize].clone(),
            key: (m.key != NO_SYM).then(|| self.syms[m.key as usize].clone()),
            deliveries: self.deliveries(slot),
            failures: self.failures(slot),
            deaths: self.deaths(slot),
            redelivered: m.redelivered(),
            age_us: self.now.0 - m.published_us,
            priority: self.cfg.producers[m.origin as usize].priority,
        }
    }

    fn node_view(&self, kind: NodeKind, i: usize, head_max: usize) -> NodeView {
        match kind {
            NodeKind::Topic => NodeView::Topic(self.topic_view(i)),
            NodeKind::Group => NodeView::Group(self.group_view(i)),
            NodeKind::RedisPubSub => NodeView::RedisPubSub(self.redis_pubsub_view(i)),
            NodeKind::RedisSubscriber => NodeView::RedisSubscriber(self.redis_subscriber_view(i)),
            NodeKind::RedisStream => NodeView::RedisStream(self.redis_stream_view(i)),
            NodeKind::RedisGroup => NodeView::RedisGroup(self.redis_group_view(i)),
            NodeKind::PulsarTopic => NodeView::PulsarTopic(self.pulsar_topic_view(i)),
            NodeKind::PulsarSubscription => {
                NodeView::PulsarSubscription(self.pulsar_subscription_view(i))
            }
            NodeKind::Producer => {
                let c = &self.cfg.producers[i];
                let p = &self.producers[i];
                NodeView::Producer {
                    id: c.id.clone(),
                    to: c.to.clone(),
                    rate_per_s: c.rate.per_s(),
                    paused: p.paused,
                    published: p.sent,
                    completed: p.completed,
                    end_to_end_mean_us: (p.completed > 0)
                        .then(|| p.end_to_end_sum_us as f64 / p.completed as f64),
                    batches_sent: self
                        .streams
                        .producers
                        .get(i)
                        .and_then(Option::as_ref)
                        .map_or(0, |tp| tp.sent_batches),
                }
            }
            NodeKind::Exchange => {
                let c = &self.cfg.exchanges[i];
                let x = &self.exchanges[i];
                NodeView::Exchange {
                    id: c.id.clone(),
                    exchange_kind: format!("{:?}", c.kind).to_ascii_lowercase(),
                    routed: x.routed,
                    unroutable: x.unroutable,
                    to_alternate: x.to_alternate,
                }
            }
            NodeKind::Queue => {
                let c = &self.cfg.queues[i];
                let q = &self.queues[i];
                // An SQS queue: visible (and delayed) as ready, in flight as unacked.
                // Otherwise RabbitMQ's messages_unacknowledged: an auto-ack
                // consumer's deliveries count as acknowledged when sent,
                // although prefetch still bounds what it holds here.
                let (depth, unacked) = self
                    .sqs_depths(i as u32)
                    .unwrap_or_else(|| (q.ready.len() as u32, self.queue_unacked(i as u32)));
                NodeView::Queue {
                    id: c.id.clone(),
                    depth,
                    depth_max: q.depth_max,
                    unacked,
                    max_length: c.max_length,
                    ttl_us: c.ttl.map(|d| d.us()),
                    enqueued: q.enqueued,
                    delivered: q.delivered,
                    acked: q.acked,
                    expired: q.expired,
                    dead_lettered: q.dead_lettered,
                    dropped: q.dropped,
                    head: q
                        .ready
                        .iter()
                        .take(head_max)
                        .map(|&s| self.message_view(s))
                        .collect(),
                    priority_levels: if self.is_sqs_queue(i as u32) {
                        Vec::new()
                    } else {
                        q.ready.level_lens()
                    },
                }
            }
            NodeKind::Consumer => {
                let c = &self.cfg.consumers[i];
                let cs = &self.consumers[i];
                let now = self.now.0;
                NodeView::Consumer {
                    id: c.id.clone(),
                    queue: c.queue.clone(),
                    prefetch: c.prefetch,
                    processed: cs.processed,
                    failed: cs.failed,
                    acked: cs.acked,
                    nacked: cs.nacked,
                    service_mean_us: (cs.handled > 0)
                        .then(|| cs.service_total_us as f64 / cs.handled as f64),
                    breaker: self.breaker_view(i as u32),
                    instances: cs
                        .instances
                        .iter()
                        .enumerate()
                        .map(|(k, inst)| {
                            let busy_us = inst.busy_total_us
                                + if inst.busy {
                                    now - inst.busy_since_us
                                } else {
                                    0
                                }
                                + inst.orphan.map_or(0, |o| now - o.since_us);
                            InstanceView {
                                up: inst.up,
                                busy: inst.busy,
                                held: inst
                                    .buffer
                                    .iter()
                                    .chain(&inst.in_transit)
                                    .chain(&inst.acking)
                                    .take(head_max)
                                    .map(|&s| self.message_view(s))
                                    .collect(),
                                processed: inst.processed,
                                utilization: if now == 0 {
                                    0.0
                                } else {
                                    busy_us as f64 / now as f64
                                },
                                standby: self.sac_standby(i as u32, k as u32),
                                finishing: inst.orphan.map(|o| o.msg),
                            }
                        })
                        .collect(),
                }
            }
        }
    }
}

/// For `skip_serializing_if` on the engine's report and view counters
/// (also used by `view_stream.rs` and `model/effects.rs`).
pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Node kinds in words, beside the views that name them (`NodeKind` itself
/// lives in `core`).
impl NodeKind {
    /// The kind in words, for messages ("a redis group").
    pub fn noun(self) -> &'static str {
        match self {
            NodeKind::Producer => "producer",
            NodeKind::Exchange => "exchange",
            NodeKind::Queue => "queue",
            NodeKind::Consumer => "consumer",
            NodeKind::Topic => "topic",
            NodeKind::Group => "consumer group",
            NodeKind::RedisPubSub => "redis pubsub server",
            NodeKind::RedisSubscriber => "redis subscriber",
            NodeKind::RedisStream => "redis stream",
            NodeKind::RedisGroup => "redis group",
            NodeKind::PulsarTopic => "pulsar topic",
            NodeKind::PulsarSubscription => "pulsar subscription",
        }
    }
}
