//! Preset scenarios, embedded from `scenarios/*.json` so the CLI and the app
//! ship them without touching the file system.

use super::{load, Scenario};

/// A preset: its name (file stem) and the JSON text.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    pub name: &'static str,
    pub json: &'static str,
}

impl Preset {
    /// The parsed scenario. Presets are checked by tests, so this cannot fail
    /// in a released build; an error here is a bug and says which preset.
    pub fn scenario(&self) -> Scenario {
        load(self.json).unwrap_or_else(|e| panic!("preset {} is invalid: {e}", self.name))
    }
}

macro_rules! presets {
    ($($name:literal),* $(,)?) => {
        &[$(Preset { name: $name, json: include_str!(concat!("../../scenarios/", $name, ".json")) }),*]
    };
}

static PRESETS: &[Preset] = presets![
    "work-queue",
    "pubsub-fanout",
    "topic-routing",
    "headers-routing",
    "retry-backoff",
    "poison-requeue",
    "retry-queue",
    "circuit-breaker",
    "error-rate-alert",
    "message-versioning",
    "ttl-overflow",
    "priority-queue",
    "consumer-priorities",
    "single-active-consumer",
    "consumer-timeout",
    "request-reply",
    "pipeline",
    "scatter-gather",
    "saga-compensation",
    "crash-recovery",
    "guarantee-matrix",
    "dedup-window",
    "durable-vs-transient",
    "mm1",
    "mmc",
    "md1",
    "fanout-large",
    "kafka-keys-ordering",
    "kafka-group-scaling",
    "kafka-crash-rebalance",
    "kafka-commit-policies",
    "kafka-replay",
    "kafka-offset-reset",
    "kafka-hot-partition",
    "kafka-compaction",
    "kafka-slow-group",
    "kafka-poll-timeout",
    "kafka-retry-topics",
    "kafka-three-groups",
    "kafka-acks-leader-crash",
    "kafka-idempotent-producer",
    "kafka-transactions",
    "kafka-zombie-fencing",
    "kafka-isr-shrink",
    "event-sourcing-cqrs",
    "event-store-concurrency",
    "event-store-snapshots",
    "redis-pubsub-disconnect",
    "redis-pubsub-slow-subscriber",
    "redis-streams-claim",
    "redis-pubsub-vs-streams",
    "sqs-visibility-timeout",
    "sqs-fifo-groups",
    "sqs-long-polling",
    "pulsar-subscription-types",
    "pulsar-redelivery",
    "pulsar-backlog-quota",
    "broker-comparison",
];

pub fn presets() -> &'static [Preset] {
    PRESETS
}

pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}
