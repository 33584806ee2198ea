//! The scenario format: topology + workload + faults + narration, as plain serde data.
//!
//!   producers ──► exchanges ──bindings──► queues ──► consumers ──(on_success)──► exchanges …
//!
//! Every struct rejects unknown fields, so a typo is an error with its path, not a
//! silently ignored knob. Semantic checks (references, limits) live in `validate`.

use super::units::{Duration, Rate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short title shown in the preset picker.
    pub title: String,
    /// One paragraph: what the scenario shows and what to look for.
    #[serde(default)]
    pub description: String,
    /// Default seed when none is given on the command line or in the app.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Default run length when `--until` is not given.
    #[serde(default = "default_duration")]
    pub duration: Duration,
    /// Simulated interval between two metric samples (charts).
    #[serde(default = "default_sample_interval")]
    pub sample_interval: Duration,
    #[serde(default)]
    pub producers: Vec<Producer>,
    #[serde(default)]
    pub exchanges: Vec<Exchange>,
    #[serde(default)]
    pub queues: Vec<Queue>,
    #[serde(default)]
    pub consumers: Vec<Consumer>,
    /// Kafka-style topics: partitioned, append-only logs (see `stream.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<super::stream::Topic>,
    /// Kafka-style consumer groups reading topics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<super::stream::ConsumerGroup>,
    /// Redis Pub/Sub servers (see `redis.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redis_pubsub: Vec<super::RedisPubSub>,
    /// Redis Pub/Sub subscribers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redis_subscribers: Vec<super::RedisSubscriber>,
    /// Redis streams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redis_streams: Vec<super::RedisStream>,
    /// Redis stream consumer groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redis_groups: Vec<super::RedisGroup>,
    /// The broker's own per-message and per-batch time and its group-commit
    /// interval (unset: free and instant; see `broker.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_costs: Option<super::BrokerCosts>,
    /// Apache Pulsar topics (see `pulsar.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pulsar_topics: Vec<super::PulsarTopic>,
    /// Pulsar subscriptions, each on one topic, with its consumers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pulsar_subscriptions: Vec<super::PulsarSubscription>,
    /// RabbitMQ's `channel_tick_interval`: how often a channel checks its
    /// oldest unacked delivery against its queue's `consumer_timeout`
    /// (unset: RabbitMQ's default, 60s; see `model::ack_timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_tick_interval: Option<Duration>,
    /// Commands applied at fixed simulated times (faults, knob changes).
    #[serde(default)]
    pub schedule: Vec<ScheduledCommand>,
    /// Assertions on the run's report, checked by `queuelab check`
    /// (e.g. `"totals.dropped == 0"`, `"latency_us.end_to_end.p99 < \"2s\""`;
    /// see `scenario::expect`). They never change the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<String>,
    /// Alert rules: a consumer's error rate, a queue's depth or a group's lag
    /// above a threshold, evaluated as Prometheus does (see `scenario::alert`).
    /// They watch and never change the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<super::AlertRule>,
    /// The closed-form mean time in system, for theory presets: the app
    /// shows it beside the measured mean and its 95% confidence interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory: Option<Theory>,
    /// Two to six variants of this scenario, run side by side under one seed
    /// (`queuelab compare`): each a name and field changes by path. Every
    /// component draws from its own random stream in every variant (common
    /// random numbers), so the only difference between lanes is the change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// The delivery-guarantee dial: fills each queue producer's `confirms`
    /// and each consumer's `ack` and `dedup` that the scenario leaves unset
    /// (see `scenario::guarantee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<super::Guarantee>,
    /// Saved node positions for the topology view, by node id (x, y in layout units).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layout: BTreeMap<String, [f64; 2]>,
}

/// A queueing-theory prediction to compare the run with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Theory {
    /// Predicted mean end-to-end latency (time in system).
    pub mean_latency: Duration,
    /// Where it comes from, e.g. `M/M/1: W = 1/(μ − λ)` (at most 200 bytes).
    pub formula: String,
}

/// One lane of a side-by-side comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Lane name (letters, digits, `- _ . :`, at most 64 characters).
    pub name: String,
    /// Field changes by path, e.g. `{"consumers[0].ack": "auto"}` (see
    /// `scenario::patch`); empty for the scenario as written.
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
}

fn default_seed() -> u64 {
    1
}
fn default_duration() -> Duration {
    Duration::from_s(60)
}
fn default_sample_interval() -> Duration {
    Duration::from_ms(500)
}

/// A source of messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Producer {
    pub id: String,
    /// Exchange id to publish to, a queue id (RabbitMQ's default exchange),
    /// or a topic id (Kafka producer; see `partition`, `partitioner`, `linger`).
    pub to: String,
    /// Mean publish rate.
    pub rate: Rate,
    /// How publishes are spaced in time.
    #[serde(default)]
    pub arrival: Arrival,
    /// Stop after publishing this many messages.
    #[serde(default)]
    pub count: Option<u64>,
    /// First publish no earlier than this.
    #[serde(default)]
    pub start: Duration,
    /// No publishes at or after this time.
    #[serde(default)]
    pub stop: Option<Duration>,
    /// Routing key of every message; `routing_keys` overrides it.
    #[serde(default)]
    pub routing_key: String,
    /// Routing keys chosen per message (e.g. to exercise a topic exchange).
    #[serde(default)]
    pub routing_keys: Option<KeyChoice>,
    /// Message (partition/ordering) keys chosen per message.
    #[serde(default)]
    pub keys: Option<KeyChoice>,
    /// Headers on every message.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header sets chosen round-robin per message, merged over `headers`.
    #[serde(default)]
    pub header_sets: Vec<BTreeMap<String, String>>,
    /// Payload size in bytes (shown, counted in byte totals).
    #[serde(default = "default_payload")]
    pub payload_bytes: u32,
    /// Per-message TTL (RabbitMQ `expiration`).
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Transit delay from producer to broker.
    #[serde(default)]
    pub latency: Duration,
    /// Topic producers only: write every record to this partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Topic producers only: how a partition is chosen when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioner: Option<super::stream::Partitioner>,
    /// Topic producers only: `linger.ms`, how long a batch may wait to fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linger: Option<Duration>,
    /// Topic producers only: records per batch (Kafka counts bytes; see README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// Topic producers only: probability in [0, 1] that a keyed record is a
    /// tombstone (a null value: compaction deletes its key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tombstone_ratio: Option<f64>,
    /// Publisher confirms with resends (queue producers; unset: fire-and-forget,
    /// unless the scenario's `guarantee` sets them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirms: Option<super::Confirms>,
    /// Network faults on the link to the broker and on the confirm path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<super::LinkFaults>,
    /// Topic producers only: `acks` (`"0"`, `"1"`, `"all"`; unset: `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks: Option<super::Acks>,
    /// Topic producers only: `enable.idempotence` (unset: on with `acks=all`,
    /// as in Kafka 3.0+): the broker drops a retried batch it already has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// Topic producers only: `max.in.flight.requests.per.connection`, the
    /// unanswered batches a partition may have at once; further batches wait
    /// in the producer. At most 5 when idempotent (Kafka's rule). Unset: no
    /// window is modelled (Kafka's default is 5: set it for Kafka's behaviour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Persistent messages (delivery mode 2) survive a broker crash in a
    /// durable queue; transient ones do not.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub persistent: bool,
    /// AMQP `priority` (0..=255) of every message; only a queue with
    /// `max_priority` orders by it (unset: no priority, which counts as 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Pulsar producers only: `deliverAfter`, every message is delivered no
    /// earlier than this after it is sent (Shared and Key_Shared
    /// subscriptions; Exclusive and Failover ones deliver it at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_after: Option<Duration>,
}

impl Producer {
    /// Is this topic producer idempotent? As Kafka's `ProducerConfig`
    /// (`postProcessAndValidateIdempotenceConfigs`): the default is on with
    /// `acks=all`, unless `retries` is 0 or more than 5 batches may be in
    /// flight (then it is off: "Idempotence will be disabled because
    /// retries is set to 0" / "max.in.flight.requests.per.connection is set
    /// to 6"); set explicitly, those settings are errors instead.
    pub fn kafka_idempotent(&self) -> bool {
        let acks_all = self.acks.unwrap_or(super::Acks::All) == super::Acks::All;
        let retries = self.confirms.map_or(1, |c| c.retries);
        let window_ok = self.max_in_flight.is_none_or(|n| n <= 5);
        self.idempotent
            .unwrap_or(acks_all && retries != 0 && window_ok)
    }
}

fn default_payload() -> u32 {
    256
}

/// How a producer spaces its publishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrival {
    /// Exactly 1/rate apart.
    Constant,
    /// Exponential gaps with mean 1/rate (a Poisson process).
    #[default]
    Poisson,
    /// `size` messages at once, bursts spaced so the mean rate is `rate`.
    Bursts { size: u32 },
}

/// How a per-message string is chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyChoice {
    /// Always this value.
    Fixed(String),
    /// Cycle through these values in order.
    RoundRobin(Vec<String>),
    /// Uniformly random among these values.
    Random(Vec<String>),
    /// `key-0` … `key-(n-1)`, uniformly random.
    RandomOfN(u32),
    /// Random with weights.
    Weighted(Vec<WeightedKey>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedKey {
    pub key: String,
    pub weight: u32,
}

/// An AMQP exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub id: String,
    pub kind: ExchangeKind,
    #[serde(default)]
    pub bindings: Vec<Binding>,
    /// Where unroutable messages go instead of being counted and discarded.
    #[serde(default)]
    pub alternate_exchange: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeKind {
    Direct,
    Fanout,
    Topic,
    Headers,
}

/// A binding from an exchange to a queue or to another exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// Destination queue id (exactly one of `queue` and `exchange`).
    #[serde(default)]
    pub queue: Option<String>,
    /// Destination exchange id (exchange-to-exchange binding).
    #[serde(default)]
    pub exchange: Option<String>,
    /// Binding key (direct: equal; topic: pattern with `*` and `#`).
    #[serde(default)]
    pub key: String,
    /// Headers exchange: `x-match` mode.
    #[serde(default)]
    pub x_match: Option<XMatch>,
    /// Headers exchange: header values to match; `null` matches presence only.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum XMatch {
    #[default]
    All,
    Any,
    AllWithX,
    AnyWithX,
}

impl XMatch {
    pub const ALL: [XMatch; 4] = [XMatch::All, XMatch::Any, XMatch::AllWithX, XMatch::AnyWithX];

    /// The mode as RabbitMQ's `x-match` argument spells it.
    pub fn name(self) -> &'static str {
        match self {
            XMatch::All => "all",
            XMatch::Any => "any",
            XMatch::AllWithX => "all-with-x",
            XMatch::AnyWithX => "any-with-x",
        }
    }

    pub fn parse(s: &str) -> Option<XMatch> {
        XMatch::ALL.into_iter().find(|m| m.name() == s)
    }
}

impl Binding {
    /// The headers-exchange mode: `x_match`, or else an `x-match` entry in
    /// `headers` (where RabbitMQ's binding arguments carry it), or else `all`.
    pub fn x_match_mode(&self) -> XMatch {
        self.x_match
            .or_else(|| {
                self.headers
                    .get("x-match")
                    .and_then(|v| v.as_deref())
                    .and_then(XMatch::parse)
            })
            .unwrap_or_default()
    }
}

/// A queue with RabbitMQ's limits, TTL and dead-lettering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub id: String,
    /// `x-max-length`: ready messages kept at most.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// `x-overflow`: what happens when `max_length` is reached.
    #[serde(default)]
    pub overflow: Overflow,
    /// `x-message-ttl`: time a message may wait in this queue.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// `x-dead-letter-exchange`.
    #[serde(default)]
    pub dead_letter_exchange: Option<String>,
    /// `x-dead-letter-routing-key`; when absent the message keeps its routing key.
    #[serde(default)]
    pub dead_letter_routing_key: Option<String>,
    /// `x-delivery-limit` (quorum queues): returns allowed before dead-lettering.
    #[serde(default)]
    pub delivery_limit: Option<u32>,
    /// `x-consumer-timeout` (or the `consumer-timeout` policy): a channel
    /// holding a delivery of this queue unacked for longer is closed with
    /// PRECONDITION_FAILED when its next minute tick finds it, and everything
    /// unacked on it is requeued (see `model::ack_timeout`). Unset: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_timeout: Option<Duration>,
    /// A durable queue survives a broker crash with its persistent messages;
    /// a transient one loses everything (RabbitMQ `durable`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub durable: bool,
    /// Makes this an Amazon SQS queue (see `model::sqs`): polled, with a
    /// visibility timeout instead of acks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<super::SqsQueue>,
    /// `x-max-priority` (1..=255): a classic priority queue. Messages are
    /// delivered highest priority first, FIFO within a priority; a message's
    /// priority above this counts as this (see `model::ready`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_priority: Option<u32>,
    /// `x-single-active-consumer`: one consumer instance at a time receives
    /// (the first registered), the others stand by and the next takes over
    /// when it goes away (see `model::single_active`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_active_consumer: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    #[default]
    DropHead,
    RejectPublish,
    RejectPublishDlx,
}

/// A consumer group: `instances` competing consumers on one queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    pub id: String,
    pub queue: String,
    #[serde(default = "one")]
    pub instances: u32,
    /// Unacknowledged deliveries each instance may hold (`basic.qos`).
    #[serde(default = "one")]
    pub prefetch: u32,
    /// Time to process one message.
    pub service: Service,
    /// When to ack (unset: after processing, unless the scenario's
    /// `guarantee` says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<AckMode>,
    /// Probability in [0, 1] that processing fails.
    #[serde(default)]
    pub failure_rate: f64,
    /// Messages that always fail.
    #[serde(default)]
    pub poison: Option<Poison>,
    /// What a failed (manual-ack) delivery becomes.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Retry policy, used when `on_failure` is `retry`.
    #[serde(default)]
    pub retry: Option<RetryPolicy>,
    /// Messages published when processing succeeds (pipelines, replies, fan-out).
    #[serde(default)]
    pub on_success: Vec<Publish>,
    /// An idempotent consumer's dedup store (unset: none, unless the
    /// scenario's `guarantee` is `exactly_once`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<super::Dedup>,
    /// Crashes and lost acks at protocol points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<super::ConsumerFaults>,
    /// How it polls, when it reads an SQS queue (unset: the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<super::SqsReceive>,
    /// A circuit breaker around the handler's downstream call (unset: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// RabbitMQ consumer priority (`x-priority`; unset: 0, negative allowed):
    /// a queue delivers to its highest-priority consumers with prefetch
    /// room, round-robin among equals, and to lower ones only while every
    /// higher one is full (see `model::consumer_priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

/// A circuit breaker around a consumer's downstream dependency (Nygard's
/// pattern, counting consecutive failures as Polly's basic breaker does).
/// Closed: deliveries flow; `failures` handler failures in a row open it.
/// Open: the consumer takes no deliveries for `open_for` (it pauses, as a
/// listener container does when its breaker opens), so messages wait in the
/// queue instead of failing, burning retries and dead-lettering. Then
/// half-open: `probes` deliveries are let through; if all succeed it closes,
/// if one fails it opens again for another `open_for`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Consecutive handler failures that open the breaker (1..=100000).
    pub failures: u32,
    /// How long it stays open before letting probes through (more than 0, at most 24h).
    pub open_for: Duration,
    /// Deliveries let through while half-open (1..=1000; default 1).
    #[serde(default = "one")]
    pub probes: u32,
}

/// Limits of a circuit breaker's settings.
pub const BREAKER_FAILURES_MAX: u32 = 100_000;
pub const BREAKER_PROBES_MAX: u32 = 1000;
pub const BREAKER_OPEN_US_MAX: u64 = 24 * 3600 * 1_000_000;

/// Check a circuit breaker; the error names the field.
pub fn check_circuit_breaker(b: &CircuitBreaker) -> Result<(), (&'static str, String)> {
    if b.failures == 0 || b.failures > BREAKER_FAILURES_MAX {
        return Err((
            "failures",
            format!("must be between 1 and {BREAKER_FAILURES_MAX}"),
        ));
    }
    if b.open_for.us() == 0 || b.open_for.us() > BREAKER_OPEN_US_MAX {
        return Err(("open_for", "must be more than 0 and at most 24h".into()));
    }
    if b.probes == 0 || b.probes > BREAKER_PROBES_MAX {
        return Err((
            "probes",
            format!("must be between 1 and {BREAKER_PROBES_MAX}"),
        ));
    }
    Ok(())
}

impl Consumer {
    /// The ack mode in force (unset means after processing).
    pub fn ack_mode(&self) -> AckMode {
        self.ack.unwrap_or_default()
    }
}

fn one() -> u32 {
    1
}

/// Service-time distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Service {
    Constant(Duration),
    /// Uniform between the two bounds.
    Uniform([Duration; 2]),
    /// Exponential with this mean.
    Exponential(Duration),
    /// Log-normal with this median and shape `sigma`.
    LogNormal {
        median: Duration,
        sigma: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// `autoAck`: the broker forgets the message on delivery (at-most-once).
    Auto,
    /// Manual ack once processing succeeds (at-least-once).
    #[default]
    AfterProcessing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// `basic.nack(requeue=true)`: back to the head of the queue.
    Requeue,
    /// `basic.nack(requeue=false)`: dead-letter (reason `rejected`) or drop.
    #[default]
    DeadLetter,
    /// Apply the consumer's `retry` policy.
    Retry,
}

/// Messages a consumer always fails on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Poison {
    /// Message key equals this.
    Key(String),
    /// Header `name` equals `value`.
    Header { name: String, value: String },
}

/// Retry policy of a consumer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    #[serde(default)]
    pub backoff: Backoff,
    /// `delayed`: the broker holds the message and redelivers it after the backoff.
    /// `retry_queue`: the real-world pattern: nack to the queue's dead-letter exchange,
    /// which routes to a retry queue whose TTL dead-letters it back.
    #[serde(default)]
    pub mode: RetryMode,
    /// When attempts are exhausted, publish here instead of dead-lettering
    /// through the queue's own dead-letter exchange (a "parking lot").
    #[serde(default)]
    pub exhausted_to: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum RetryMode {
    #[default]
    Delayed,
    RetryQueue,
}

/// Delay before attempt n+1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Backoff {
    #[default]
    Immediate,
    Fixed(Duration),
    /// `initial * multiplier^(n-1)`, capped at `max`, then jittered by ±`jitter` (a fraction).
    Exponential {
        initial: Duration,
        #[serde(default = "two")]
        multiplier: f64,
        max: Duration,
        #[serde(default)]
        jitter: f64,
    },
}

fn two() -> f64 {
    2.0
}

/// A message published by a consumer after it processed one successfully.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// Exchange id, or queue id for the default exchange.
    pub to: String,
    /// Routing key; when absent the processed message's routing key is kept.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// How many messages to publish (fan-out from a handler).
    #[serde(default = "one")]
    pub copies: u32,
    /// Headers the handler sets on the new message, over those of the
    /// processed message (an upcaster stamping `schema: 2`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// A command applied at a fixed simulated time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledCommand {
    pub at: Duration,
    pub command: super::Command,
}
