//! Read-only views of the Pulsar nodes (topics and subscriptions) for the UI
//! and the run report (`nodes.<id>.…`), and their text in the picture.
//!
//!   Engine ──pulsar_*_view(i)──► plain data (counters, cursor, key ranges)
//!
//! Views never change the engine; lists are bounded (`CONSUMERS_SHOWN_MAX`).

use super::core::Engine;
use super::model::pulsar::RETRY_PART;
use super::view_redis::{RedisText, CONSUMERS_SHOWN_MAX};
use crate::scenario::SubscriptionType;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PulsarTopicView {
    pub id: String,
    /// 0: non-partitioned.
    pub partitions: u32,
    /// Messages stored now (unacknowledged somewhere, or retained).
    pub stored_now: u64,
    pub stored: u64,
    pub deleted: u64,
    /// Sends refused or timed out by the backlog quota.
    pub refused: u64,
    /// Sends held by the backlog quota now.
    pub held: u32,
    pub subscriptions: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PulsarConsumerView {
    pub name: String,
    pub up: bool,
    pub busy: bool,
    /// Messages in its receiver queue.
    pub queued: u32,
    /// Dispatched to it and not acknowledged: its total over the
    /// partitions (and the retry-letter topic).
    pub unacked: u32,
    /// `blockedConsumerOnUnackedMsgs` on some partition: its unacked
    /// messages of that partition reached `max_unacked_per_consumer` (the
    /// cap holds per partition, as Pulsar's per-partition consumers keep
    /// it); it gets nothing more of it until half are acknowledged.
    pub blocked: bool,
    /// The partitions it is blocked on (4294967295: the retry-letter topic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_on: Vec<u32>,
    /// Messages its handler processed successfully (a nacked run is not counted).
    pub processed: u64,
    /// Failover / exclusive: the partitions it is active for.
    pub active_for: Vec<u32>,
    /// Key_Shared: its hash ranges, `[start, end]` inclusive.
    pub ranges: Vec<[u32; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PulsarSubscriptionView {
    pub id: String,
    pub topic: String,
    /// `exclusive`, `failover`, `shared`, `key_shared`.
    pub sub_type: String,
    /// Unacknowledged messages (the backlog).
    pub backlog: u64,
    /// The first unacknowledged offset per partition (`p0:17`: Pulsar's
    /// mark-delete position is 16).
    pub cursor: String,
    /// Ack holes: unacknowledged messages behind individually acknowledged
    /// ones (between the cursor and the last acknowledged offset).
    pub ack_holes: u64,
    /// Dispatched and not acknowledged.
    pub unacked: u32,
    /// Waiting to go out again (redeliveries; Key_Shared: held back).
    pub replay: u32,
    /// Delayed messages not deliverable yet.
    pub delayed: u32,
    /// Messages in the retry-letter topic now.
    pub retry_letter: u64,
    pub delivered: u64,
    pub redelivered: u64,
    pub acked: u64,
    pub nacked: u64,
    pub ack_timeouts: u64,
    pub dead_lettered: u64,
    pub reconsumed: u64,
    pub evicted: u64,
    /// `blockedSubscriptionOnUnackedMsgs` on some partition: its unacked
    /// messages of that partition reached `max_unacked_per_subscription`
    /// (per partition, as each has its own dispatcher in Pulsar); nothing
    /// of it is dispatched until they fall under half.
    pub blocked: bool,
    /// The partitions it is blocked on (4294967295: the retry-letter topic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_on: Vec<u32>,
    /// Times a consumer was blocked on its unacked messages, and times the
    /// subscription was.
    pub consumer_blocks: u64,
    pub subscription_blocks: u64,
    pub consumers: Vec<PulsarConsumerView>,
}

impl Engine {
    pub(crate) fn pulsar_topic_view(&self, i: usize) -> PulsarTopicView {
        let t = &self.pulsar.topics[i];
        PulsarTopicView {
            id: self.cfg.pulsar_topics[i].id.clone(),
            partitions: self.cfg.pulsar_topics[i].partitions,
            stored_now: t.logs.iter().map(|l| l.entries.len() as u64).sum(),
            stored: t.stored,
            deleted: t.deleted,
            refused: t.refused,
            held: t.held.len() as u32,
            subscriptions: t.subs.len() as u32,
        }
    }

    pub(crate) fn pulsar_subscription_view(&self, i: usize) -> PulsarSubscriptionView {
        let s = &self.pulsar.subs[i];
        let cfg = &self.cfg.pulsar_subscriptions[i];
        let n_parts = s.cursors.len() - 1;
        let cursor = s.cursors[..n_parts]
            .iter()
            .enumerate()
            .map(|(p, c)| format!("p{p}:{}", c.md))
            .collect::<Vec<_>>()
            .join(" ");
        let ranges = self.pulsar_key_ranges(&cfg.id);
        let consumers = s
            .consumers
            .iter()
            .enumerate()
            .take(CONSUMERS_SHOWN_MAX)
            .map(|(c, cs)| PulsarConsumerView {
                name: format!("c{c}"),
                up: cs.up,
                busy: cs.busy.is_some(),
                queued: cs.queue.len() as u32,
                unacked: cs.unacked_total(),
                blocked: cs.blocked.contains(&true),
                blocked_on: blocked_logs(&cs.blocked),
                processed: cs.processed,
                active_for: s
                    .active
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| **a == Some(c as u32))
                    .map(|(p, _)| p as u32)
                    .collect(),
                ranges: ranges
                    .iter()
                    .filter(|r| r.2 == c as u32)
                    .map(|r| [r.0, r.1])
                    .collect(),
            })
            .collect();
        PulsarSubscriptionView {
            id: cfg.id.clone(),
            topic: cfg.topic.clone(),
            sub_type: match s.kind {
                SubscriptionType::Exclusive => "exclusive",
                SubscriptionType::Failover => "failover",
                SubscriptionType::Shared => "shared",
                SubscriptionType::KeyShared => "key_shared",
            }
            .into(),
            backlog: s.backlog,
            cursor,
            ack_holes: s
                .cursors
                .iter()
                .map(|c| {
                    c.acked
                        .last()
                        .map_or(0, |&hi| hi + 1 - c.md - c.acked.len() as u64)
                })
                .sum(),
            unacked: s.pending.len() as u32,
            replay: s.replay.len() as u32,
            delayed: s.delayed.len() as u32,
            retry_letter: s.retry_log.entries.len() as u64,
            delivered: s.delivered,
            redelivered: s.redelivered,
            acked: s.acked,
            nacked: s.nacked,
            ack_timeouts: s.ack_timeouts,
            dead_lettered: s.dead_lettered,
            reconsumed: s.reconsumed,
            evicted: s.evicted,
            blocked: s.limits.blocked.contains(&true),
            blocked_on: blocked_logs(&s.limits.blocked),
            consumer_blocks: s.limits.consumer_blocks,
            subscription_blocks: s.limits.subscription_blocks,
            consumers,
        }
    }
}

/// The logs flagged in `blocked` (per log: partitions, then the retry
/// log), named as the trace names them.
fn blocked_logs(blocked: &[bool]) -> Vec<u32> {
    let n = blocked.len();
    (0..n)
        .filter(|&ci| blocked[ci])
        .map(|ci| crate::engine::model::pulsar_unacked::log_part(ci, n))
        .collect()
}

/// Logs for people: `p1, retry`.
pub fn log_names(logs: &[u32]) -> String {
    logs.iter()
        .map(|&p| {
            if p == RETRY_PART {
                "retry".to_string()
            } else {
                format!("p{p}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl super::view::NodeView {
    /// The text of a node of another broker than RabbitMQ or Kafka (Redis,
    /// Pulsar); `None` for every other kind.
    pub fn broker_text(&self) -> Option<RedisText> {
        self.redis_text().or_else(|| self.pulsar_text())
    }

    /// The text of a Pulsar node (`None` for every other kind).
    pub fn pulsar_text(&self) -> Option<RedisText> {
        use super::view::NodeView as V;
        Some(match self {
            V::PulsarTopic(t) => RedisText {
                compact: format!("{} stored", t.stored_now),
                detail: format!(
                    "{}stored {}{}",
                    if t.partitions == 0 {
                        String::new()
                    } else {
                        format!("{} partitions · ", t.partitions)
                    },
                    t.stored_now,
                    if t.held > 0 {
                        format!(" · held {}", t.held)
                    } else if t.refused > 0 {
                        format!(" · refused {}", t.refused)
                    } else {
                        String::new()
                    }
                ),
                rows: vec![
                    ("partitions", t.partitions.to_string()),
                    ("stored now", t.stored_now.to_string()),
                    ("stored", t.stored.to_string()),
                    ("deleted", t.deleted.to_string()),
                    ("held by backlog quota", t.held.to_string()),
                    ("refused or timed out", t.refused.to_string()),
                    ("subscriptions", t.subscriptions.to_string()),
                ],
            },
            V::PulsarSubscription(s) => RedisText {
                compact: format!("backlog {}", s.backlog),
                detail: format!(
                    "{} · backlog {} · unacked {}{}",
                    s.sub_type,
                    s.backlog,
                    s.unacked,
                    if s.dead_lettered > 0 {
                        format!(" · DLQ {}", s.dead_lettered)
                    } else if s.redelivered > 0 {
                        format!(" · redelivered {}", s.redelivered)
                    } else {
                        String::new()
                    }
                ),
                rows: {
                    let mut rows = vec![
                        ("type", s.sub_type.clone()),
                        ("backlog", s.backlog.to_string()),
                        ("cursor (first unacked)", s.cursor.clone()),
                        ("ack holes", s.ack_holes.to_string()),
                        ("unacked", s.unacked.to_string()),
                        ("to redeliver", s.replay.to_string()),
                        ("delayed", s.delayed.to_string()),
                        ("retry-letter topic", s.retry_letter.to_string()),
                        ("delivered", s.delivered.to_string()),
                        ("redelivered", s.redelivered.to_string()),
                        ("acked", s.acked.to_string()),
                        ("negative acks", s.nacked.to_string()),
                        ("ack timeouts", s.ack_timeouts.to_string()),
                        ("dead-lettered", s.dead_lettered.to_string()),
                        ("reconsumed later", s.reconsumed.to_string()),
                        ("evicted", s.evicted.to_string()),
                        (
                            "blocked on unacked",
                            format!(
                                "{} · consumers {}× · subscription {}×",
                                if s.blocked {
                                    format!("yes ({})", log_names(&s.blocked_on))
                                } else {
                                    "no".into()
                                },
                                s.consumer_blocks,
                                s.subscription_blocks
                            ),
                        ),
                    ];
                    for c in &s.consumers {
                        let mut line = format!(
                            "{} {} · unacked {} · handled {}",
                            c.name,
                            if !c.up {
                                "crashed"
                            } else if c.busy {
                                "busy"
                            } else {
                                "idle"
                            },
                            c.unacked,
                            c.processed
                        );
                        if !c.active_for.is_empty() {
                            line.push_str(" · active");
                        }
                        if c.blocked {
                            line.push_str(&format!(" · blocked ({})", log_names(&c.blocked_on)));
                        }
                        if !c.ranges.is_empty() {
                            let r: Vec<String> = c
                                .ranges
                                .iter()
                                .map(|r| format!("{}-{}", r[0], r[1]))
                                .collect();
                            line.push_str(&format!(" · slots {}", r.join(",")));
                        }
                        rows.push(("consumer", line));
                    }
                    rows
                },
            },
            _ => return None,
        })
    }
}

/// The retry log's partition number, for readers of the trace.
pub const PULSAR_RETRY_PARTITION: u32 = RETRY_PART;

impl Engine {
    /// Subscription `id`'s live client timers: `ackTimeout` [µs] (`None`:
    /// off) and `negativeAckRedeliveryDelay` [µs], as the knobs left them.
    pub fn pulsar_timers_us(&self, id: &str) -> Option<(Option<u64>, u64)> {
        let i = self
            .cfg
            .pulsar_subscriptions
            .iter()
            .position(|s| s.id == id)?;
        let s = self.pulsar.subs.get(i)?;
        Some((s.ack_timeout_us, s.nack_delay_us))
    }
}
