//! Delivery guarantees as scenario data: the one-word dial, the knobs it sets,
//! and the faults that strike between the steps of the protocol.
//!
//!   guarantee (dial) ──apply_guarantee──► producers[].confirms, consumers[].ack, consumers[].dedup
//!                                          (only where the scenario left the knob unset)
//!   knobs now ──guarantee_label──► "at_most_once" | "at_least_once" | "exactly_once" | "custom"
//!   knobs now ──explain_guarantee──► one sentence per mechanism that gives or breaks the promise
//!
//! The bundles (queue family; the log-based half has its own knobs, acks,
//! idempotence and transactions, which `explain_log` reads):
//!
//! | dial            | producer               | consumer ack          | consumer dedup |
//! |-----------------|------------------------|-----------------------|----------------|
//! | at_most_once    | fire-and-forget        | auto (before effect)  | none           |
//! | at_least_once   | confirms, resend       | after processing      | none           |
//! | exactly_once    | confirms, resend       | after processing      | dedup store    |
//!
//! Pure data and pure functions: nothing here draws a random number.

use super::sqs::{SqsDedup, SqsType, SQS_DEDUP_WINDOW};
use super::units::Duration;
use super::{AckMode, Scenario};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The guarantee dial: sets a bundle of producer and consumer knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// Fire-and-forget producers, consumers ack on delivery: a crash or a
    /// dropped publish loses the message; nothing is ever done twice.
    AtMostOnce,
    /// Publisher confirms with resends, ack after processing: nothing is lost
    /// on a durable broker, but a lost confirm or a crash between the effect
    /// and the ack does the effect twice.
    AtLeastOnce,
    /// At-least-once plus an idempotent consumer: a dedup store, written in
    /// the same transaction as the effect (the inbox), skips redeliveries.
    ExactlyOnce,
}

impl Guarantee {
    pub const ALL: [Guarantee; 3] = [
        Guarantee::AtMostOnce,
        Guarantee::AtLeastOnce,
        Guarantee::ExactlyOnce,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "at_most_once",
            Guarantee::AtLeastOnce => "at_least_once",
            Guarantee::ExactlyOnce => "exactly_once",
        }
    }
    /// The consumer ack mode of the bundle.
    pub fn ack(self) -> AckMode {
        match self {
            Guarantee::AtMostOnce => AckMode::Auto,
            _ => AckMode::AfterProcessing,
        }
    }
    /// The producer confirms of the bundle.
    pub fn confirms(self) -> Option<Confirms> {
        (self != Guarantee::AtMostOnce).then(Confirms::default)
    }
    /// The consumer dedup store of the bundle.
    pub fn dedup(self) -> Option<Dedup> {
        (self == Guarantee::ExactlyOnce).then(Dedup::default)
    }
}

/// Publisher confirms (RabbitMQ `confirm.select`): the producer waits for the
/// broker's ack; with none within `timeout` (the publish or its confirm was
/// lost), or on a negative confirm (`reject-publish`), it sends again, up to
/// `retries` times, then gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirms {
    #[serde(default = "default_confirm_timeout")]
    pub timeout: Duration,
    #[serde(default = "default_confirm_retries")]
    pub retries: u32,
}

fn default_confirm_timeout() -> Duration {
    Duration::from_s(1)
}
fn default_confirm_retries() -> u32 {
    5
}

impl Default for Confirms {
    fn default() -> Self {
        Confirms {
            timeout: default_confirm_timeout(),
            retries: default_confirm_retries(),
        }
    }
}

/// An idempotent consumer: message ids seen within `window` are remembered in
/// a store written atomically with the effect (the transactional inbox), and
/// a redelivery of a remembered id is acked without doing the effect again.
/// An id older than the window is forgotten, so a later redelivery repeats
/// the effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dedup {
    #[serde(default = "default_dedup_window")]
    pub window: Duration,
}

fn default_dedup_window() -> Duration {
    Duration::from_s(3600)
}

impl Default for Dedup {
    fn default() -> Self {
        Dedup {
            window: default_dedup_window(),
        }
    }
}

/// Faults on the producer → broker link and its confirm path, each drawn
/// from the link's own random stream (`link:<producer>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkFaults {
    /// Probability in [0, 1] that a publish never reaches the broker.
    #[serde(default)]
    pub drop: f64,
    /// Probability in [0, 1] that the network delivers a publish twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Probability in [0, 1] that the broker's confirm never reaches the producer.
    #[serde(default)]
    pub confirm_drop: f64,
    /// Extra transit delay, uniform in [0, jitter]: publishes can overtake
    /// each other (reordering).
    #[serde(default)]
    pub jitter: Duration,
}

/// Faults at a consumer's protocol points, each drawn from the consumer's
/// own fault stream (`faults:<consumer>`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerFaults {
    /// Probability in [0, 1], per delivery, of a crash after receiving it
    /// and before processing it.
    #[serde(default)]
    pub crash_after_receive: f64,
    /// Probability in [0, 1], per processed message, of a crash after the
    /// side effect and before the ack.
    #[serde(default)]
    pub crash_after_effect: f64,
    /// Probability in [0, 1] that a manual ack is lost on the way to the
    /// broker; the broker redelivers the message.
    #[serde(default)]
    pub ack_drop: f64,
    /// Broker → consumer link: probability in [0, 1] that a delivery never
    /// reaches the consumer (auto-ack: lost; manual ack: redelivered when the
    /// consumer is found not to have it).
    #[serde(default)]
    pub delivery_drop: f64,
    /// Broker → consumer link: probability in [0, 1] that a delivery arrives
    /// twice (the handler runs, and does its effect, twice).
    #[serde(default)]
    pub delivery_duplicate: f64,
    /// Broker → consumer link: mean of an exponential extra delay before a
    /// delivery reaches the handler (0: none).
    #[serde(default)]
    pub delivery_delay: Duration,
    /// Broker → consumer link: probability in [0, 1] that a delivery is held
    /// back on the wire for `reorder_delay`, so the deliveries sent after it
    /// reach the handler first (with prefetch > 1; with prefetch 1 nothing can
    /// overtake it and it is only late).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delivery_reorder: f64,
    /// How long a reordered delivery is held back (default 50 ms).
    #[serde(
        default = "default_reorder_delay",
        skip_serializing_if = "is_default_reorder_delay"
    )]
    pub reorder_delay: Duration,
    /// Ack path: mean of an exponential delay before a manual ack reaches
    /// the broker (0: none). Until it arrives the message is unacked and
    /// counts against prefetch; a crash before it arrives kills the ack with
    /// the connection and the broker redelivers (the effect repeats).
    #[serde(default, skip_serializing_if = "is_zero_duration")]
    pub ack_delay: Duration,
    /// Ack path: probability in [0, 1] that the network delivers a manual
    /// ack twice. The second ack names a delivery tag the broker no longer
    /// knows: a channel error (PRECONDITION_FAILED) that closes the channel
    /// and requeues every other message unacked on it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ack_duplicate: f64,
    /// How long a crashed instance stays down.
    #[serde(default = "default_restart_after")]
    pub restart_after: Duration,
}

fn default_restart_after() -> Duration {
    Duration::from_s(1)
}
fn default_reorder_delay() -> Duration {
    Duration::from_ms(50)
}
fn is_default_reorder_delay(d: &Duration) -> bool {
    *d == default_reorder_delay()
}
fn is_zero_duration(d: &Duration) -> bool {
    d.us() == 0
}
fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

impl Default for ConsumerFaults {
    fn default() -> Self {
        ConsumerFaults {
            crash_after_receive: 0.0,
            crash_after_effect: 0.0,
            ack_drop: 0.0,
            delivery_drop: 0.0,
            delivery_duplicate: 0.0,
            delivery_delay: Duration::ZERO,
            delivery_reorder: 0.0,
            reorder_delay: default_reorder_delay(),
            ack_delay: Duration::ZERO,
            ack_duplicate: 0.0,
            restart_after: default_restart_after(),
        }
    }
}

/// Where in the consumer's protocol a `crash_consumer` command strikes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    /// At once, whatever the instance is doing.
    #[default]
    Now,
    /// At its next delivery, after receiving it and before processing it.
    AfterReceive,
    /// At its next processed message, after the side effect, before the ack.
    AfterEffect,
    /// At its next ack, after the ack and before the side effect (with
    /// auto-ack, the ack comes first; with manual ack this is after both).
    AfterAck,
}

impl CrashPoint {
    pub fn is_now(&self) -> bool {
        *self == CrashPoint::Now
    }
}

impl Scenario {
    /// Fill the knobs the dial sets where the scenario left them unset.
    /// Producers to topics keep theirs (the Kafka mechanics are not modelled).
    pub fn apply_guarantee(&mut self) {
        let Some(g) = self.guarantee else {
            return;
        };
        let topics: Vec<String> = self
            .non_queue_targets()
            .into_iter()
            .map(String::from)
            .collect();
        for p in &mut self.producers {
            if p.confirms.is_none() && !topics.contains(&p.to) {
                p.confirms = g.confirms();
            }
        }
        for c in &mut self.consumers {
            if c.ack.is_none() {
                c.ack = Some(g.ack());
            }
            if c.dedup.is_none() {
                c.dedup = g.dedup();
            }
        }
        for s in &mut self.pulsar_subscriptions {
            if s.ack_mode.is_none() {
                s.ack_mode = Some(g.ack());
            }
            if s.dedup.is_none() {
                s.dedup = g.dedup();
            }
        }
    }

    /// The dial's position for the knobs as they are now: the bundle every
    /// queue producer and consumer matches, or "custom"; "not_applicable"
    /// for a scenario with neither (the log-based half has no dial).
    pub fn guarantee_label(&self) -> &'static str {
        let topics = self.non_queue_targets();
        if self.consumers.is_empty()
            && self.pulsar_subscriptions.is_empty()
            && self
                .producers
                .iter()
                .all(|p| topics.contains(&p.to.as_str()))
        {
            return "not_applicable";
        }
        Guarantee::ALL
            .into_iter()
            .find(|g| {
                self.producers
                    .iter()
                    .filter(|p| !topics.contains(&p.to.as_str()))
                    .all(|p| p.confirms.is_some() == g.confirms().is_some())
                    && self.consumers.iter().all(|c| {
                        c.ack_mode() == g.ack() && c.dedup.is_some() == g.dedup().is_some()
                    })
                    && self.pulsar_subscriptions.iter().all(|s| {
                        s.ack_mode.unwrap_or_default() == g.ack()
                            && s.dedup.is_some() == g.dedup().is_some()
                    })
            })
            .map_or("custom", |g| g.name())
    }

    /// One sentence per mechanism that gives or breaks the promise, in
    /// scenario order: what a learner needs to read the ledger.
    pub fn explain_guarantee(&self) -> Vec<String> {
        let mut out = Vec::new();
        let topics = self.non_queue_targets();
        for p in self
            .producers
            .iter()
            .filter(|p| !topics.contains(&p.to.as_str()))
        {
            let f = p.faults.unwrap_or_default();
            match p.confirms {
                None if f.drop > 0.0 => out.push(format!(
                    "{}: fire-and-forget over a lossy link ({:.0}% dropped): every dropped publish is lost (at-most-once).",
                    p.id,
                    f.drop * 100.0
                )),
                None => out.push(format!(
                    "{}: fire-and-forget: a publish the broker never stores is lost, and nobody notices.",
                    p.id
                )),
                Some(c) => out.push(format!(
                    "{}: publisher confirms with up to {} resends after {}: nothing sent is given up lightly, but a lost confirm sends the message again (a duplicate unless the consumer deduplicates).",
                    p.id, c.retries, c.timeout
                )),
            }
            out.extend(self.explain_producer_link(p, &f));
            let to_quorum = self
                .queues
                .iter()
                .any(|q| q.id == p.to && (q.delivery_limit.is_some() || q.sqs.is_some()));
            if !p.persistent && !to_quorum {
                out.push(format!(
                    "{}: transient messages (delivery mode 1): a broker crash drops them, even from a durable queue.",
                    p.id
                ));
            }
        }
        for q in self.queues.iter().filter(|q| q.sqs.is_none()) {
            out.extend(explain_queue(q));
        }
        out.extend(self.explain_sqs_queues());
        let longest_resend_us = self
            .producers
            .iter()
            .filter_map(|p| {
                p.confirms
                    .map(|c| c.timeout.us().saturating_mul(c.retries as u64))
            })
            .max()
            .unwrap_or(0);
        for c in &self.consumers {
            let f = c.faults.unwrap_or_default();
            let sqs = self
                .queues
                .iter()
                .any(|q| q.id == c.queue && q.sqs.is_some());
            let text = match (c.ack_mode(), c.dedup) {
                (AckMode::Auto, _) if sqs => format!(
                    "{}: deletes each SQS message as soon as it receives it, before the effect: a crash or a failure while processing loses it (at-most-once).",
                    c.id
                ),
                (AckMode::AfterProcessing, None) if sqs => format!(
                    "{}: deletes each SQS message after the effect: a crash, a failure or work longer than the visibility timeout makes it reappear and the effect happens twice (at-least-once).",
                    c.id
                ),
                (AckMode::Auto, _) => format!(
                    "{}: auto-ack on delivery, before the effect: a crash while processing loses the message (at-most-once).",
                    c.id
                ),
                (AckMode::AfterProcessing, None) => format!(
                    "{}: ack after the effect: a crash or a lost ack between the two redelivers the message and the effect happens twice (at-least-once).",
                    c.id
                ),
                (AckMode::AfterProcessing, Some(d)) => {
                    let redelivery_us = longest_resend_us.max(f.restart_after.us());
                    if d.window.us() < redelivery_us {
                        format!(
                            "{}: dedup window {} is shorter than the longest redelivery ({}): an id forgotten before its redelivery arrives is processed twice.",
                            c.id,
                            d.window,
                            Duration(redelivery_us)
                        )
                    } else {
                        format!(
                            "{}: idempotent consumer, ids kept {} in a store written with the effect: redeliveries are skipped (effectively once).",
                            c.id, d.window
                        )
                    }
                }
            };
            out.push(text);
            if !sqs && (c.failure_rate > 0.0 || c.poison.is_some()) {
                out.push(self.explain_failure(c));
            }
            out.extend(explain_links(c, &f, sqs));
        }
        // Redis: Pub/Sub is at-most-once by design; a stream group is
        // at-least-once when someone claims a crashed consumer's entries.
        for sub in &self.redis_subscribers {
            out.push(format!(
                "{}: Redis Pub/Sub subscriber: fire-and-forget; what is published while it is away, or thrown away with its output buffer, is gone (at-most-once).",
                sub.id
            ));
        }
        for g in &self.redis_groups {
            out.push(match g.min_idle_time {
                Some(d) => format!(
                    "{}: Redis stream group: an entry stays pending until XACK, and XAUTOCLAIM hands a crashed consumer's entries to another after {d} idle: a crash between the effect and the XACK repeats the effect (at-least-once).",
                    g.id
                ),
                None => format!(
                    "{}: Redis stream group without XAUTOCLAIM: a crashed consumer's pending entries wait for good, and are lost once MAXLEN trims them.",
                    g.id
                ),
            });
        }
        for t in &self.pulsar_topics {
            let Some(q) = &t.backlog_quota else { continue };
            use super::BacklogPolicy;
            let n = q.limit_messages;
            out.push(match q.policy {
                BacklogPolicy::ProducerRequestHold => format!(
                    "{}: backlog quota of {n} messages, producer_request_hold: while the slowest subscription's backlog is at it, a send is held, and one held past the producer's 30 s send timeout fails (lost).",
                    t.id
                ),
                BacklogPolicy::ProducerException => format!(
                    "{}: backlog quota of {n} messages, producer_exception: while the slowest subscription's backlog is at it, a send fails at once (lost).",
                    t.id
                ),
                BacklogPolicy::ConsumerBacklogEviction => format!(
                    "{}: backlog quota of {n} messages, consumer_backlog_eviction: every send is taken, and the slowest subscription's oldest backlog is evicted: what was not yet pushed to a consumer is never handled there (lost to it).",
                    t.id
                ),
            });
        }
        for s in &self.pulsar_subscriptions {
            let mut t = if s.ack_mode == Some(AckMode::Auto) {
                format!(
                    "{}: Pulsar {} subscription: the handler acknowledges a message as soon as it receives it, before its effect: a crash or a failure loses it (at-most-once)",
                    s.id,
                    sub_type(s.kind)
                )
            } else if let Some(d) = s.dedup {
                format!(
                    "{}: Pulsar {} subscription with an idempotent handler: acknowledged after the effect, and a redelivery (crash, negative ack, ack timeout) of an id seen in the last {} is skipped (effectively once)",
                    s.id,
                    sub_type(s.kind),
                    d.window
                )
            } else {
                format!(
                "{}: Pulsar {} subscription: the handler acknowledges after its effect, and a crash, a negative ack or an ack timeout sends the message again (at-least-once)",
                s.id,
                sub_type(s.kind)
            )
            };
            if let Some(d) = s
                .ack_timeout_on()
                .filter(|_| s.ack_mode != Some(AckMode::Auto))
            {
                t.push_str(&format!(
                    "; with an ack timeout of {d}, a handler slower than that is redelivered while it still works, so the effect repeats"
                ));
            }
            if let Some(dl) = &s.dead_letter {
                t.push_str(&format!(
                    "; after {} redeliveries a message goes to the dead-letter topic {} (not handled here)",
                    dl.max_redeliver_count,
                    dl.topic.as_deref().unwrap_or("<topic>-<subscription>-DLQ")
                ));
            }
            t.push('.');
            out.push(t);
        }
        out.extend(self.explain_log());
        merge_same_sentences(out)
    }

    /// The sentences for a queue producer's link faults other than loss
    /// (which the fire-and-forget sentence names): a publish delivered twice,
    /// and jitter that lets publishes overtake each other.
    fn explain_producer_link(&self, p: &super::Producer, f: &LinkFaults) -> Vec<String> {
        let mut out = Vec::new();
        if f.duplicate > 0.0 {
            let fifo = self
                .queues
                .iter()
                .any(|q| q.id == p.to && q.sqs.as_ref().is_some_and(|x| x.kind == SqsType::Fifo));
            out.push(if fifo {
                format!(
                    "{}: the network delivers {:.0}% of sends twice (a client retrying after a lost response); the FIFO queue {} recognises the repeated deduplication id and does not enqueue the copy.",
                    p.id,
                    f.duplicate * 100.0,
                    p.to
                )
            } else {
                format!(
                    "{}: the network delivers {:.0}% of publishes twice: the broker stores the copy as a second message, and its effect happens twice unless the consumer deduplicates.",
                    p.id,
                    f.duplicate * 100.0
                )
            });
        }
        if f.jitter.us() > 0 {
            out.push(format!(
                "{}: each publish spends up to {} extra on the wire: a later publish can overtake an earlier one, so the queue's order is not the send order.",
                p.id, f.jitter
            ));
        }
        out
    }

    /// What a consumer that can fail does with a failed message, and where
    /// the message ends (its queue's dead-letter exchange, a parking lot, or
    /// nowhere). Said only when processing can fail.
    fn explain_failure(&self, c: &super::Consumer) -> String {
        use super::{Backoff, OnFailure, RetryMode};
        let dlx = self
            .queues
            .iter()
            .find(|q| q.id == c.queue)
            .and_then(|q| q.dead_letter_exchange.as_deref());
        let fate = |to: Option<&str>| match to {
            Some(x) => format!("is dead-lettered to {x}"),
            None => "is dropped (lost: its queue has no dead-letter exchange)".to_string(),
        };
        match (c.on_failure, &c.retry) {
            (OnFailure::Requeue, _) => format!(
                "{}: a failed message is nacked back to the head of its queue and tried again at once: one that always fails (a poison message) comes back for ever unless a delivery limit stops it.",
                c.id
            ),
            (OnFailure::Retry, Some(r)) => {
                let backoff = match &r.backoff {
                    _ if r.mode == RetryMode::RetryQueue => format!(
                        "after a wait in a retry queue (nacked to {}, whose queue's TTL sends it back)",
                        dlx.unwrap_or("its dead-letter exchange")
                    ),
                    Backoff::Immediate => "at once".to_string(),
                    Backoff::Fixed(d) => format!("{d} apart"),
                    Backoff::Exponential { initial, max, .. } => {
                        format!("with exponential back-off from {initial} up to {max}")
                    }
                };
                let end = match &r.exhausted_to {
                    Some(x) => format!("is published to {x}"),
                    None => fate(dlx),
                };
                format!(
                    "{}: a failed message is tried again {backoff}, {} attempts in all; then it {end}.",
                    c.id, r.max_attempts
                )
            }
            _ => format!(
                "{}: a failed message is rejected without requeue and {}.",
                c.id,
                fate(dlx)
            ),
        }
    }

    /// One sentence per SQS queue: what its type promises about duplicates
    /// and order (the consumer's sentence says when it deletes).
    fn explain_sqs_queues(&self) -> Vec<String> {
        let mut out = Vec::new();
        for q in &self.queues {
            let Some(x) = &q.sqs else { continue };
            let text = match x.kind {
                SqsType::Fifo => {
                    let id = match x.deduplication {
                        SqsDedup::BusinessId => "the producer's message id",
                        SqsDedup::Content => {
                            "a hash of the body, so two different messages with the same body count as one"
                        }
                    };
                    debug_assert_eq!(SQS_DEDUP_WINDOW.us(), 300_000_000);
                    format!(
                        "SQS FIFO: a send repeating a MessageDeduplicationId ({id}) from the last 5 minutes is acknowledged but not enqueued, and a group's next message waits while one of the group is in flight: once per message and in order per group, unless work outlasts the visibility timeout ({}).",
                        x.visibility_timeout
                    )
                }
                SqsType::Standard if x.duplicate_rate > 0.0 => {
                    let pct = format!("{:.1}", x.duplicate_rate * 100.0);
                    format!(
                        "SQS standard: no deduplication, best-effort order, and {}% of deletes miss a stored copy, which is received again (at-least-once: the effect repeats).",
                        pct.trim_end_matches(".0")
                    )
                }
                SqsType::Standard => "SQS standard: no deduplication (a repeated send is a second message) and best-effort order (messages of one key can overtake each other).".to_string(),
            };
            out.push(format!("{}: {text}", q.id));
        }
        out
    }

    /// The same for the log-based half: topic producers, topics, groups.
    fn explain_log(&self) -> Vec<String> {
        use super::{Acks, CommitPer, CommitPolicy, IsolationLevel};
        let mut out = Vec::new();
        for p in &self.producers {
            let Some(t) = self.topics.iter().find(|t| t.id == p.to) else {
                continue;
            };
            let acks = p.acks.unwrap_or(Acks::All);
            let idempotent = p.kafka_idempotent();
            let isr_alone = t.replication.is_some_and(|r| r.in_sync_followers() == 0);
            out.push(match acks {
                Acks::Zero => format!(
                    "{}: acks=0: no answer, no retry; whatever the network or a crash loses is lost silently.",
                    p.id
                ),
                Acks::One => format!(
                    "{}: acks=1: answered once the leader appended, before the followers have it; a leader crash then loses acknowledged records.",
                    p.id
                ),
                Acks::All if isr_alone => format!(
                    "{}: acks=all, but the ISR of {} is the leader alone: answered before any follower has the record{}.",
                    p.id,
                    t.id,
                    if t.replication.is_some_and(|r| r.unclean_election) {
                        ", and unclean election can lose it"
                    } else {
                        ""
                    }
                ),
                Acks::All => format!(
                    "{}: acks=all: answered once every in-sync replica has the batch; a leader crash loses nothing acknowledged.",
                    p.id
                ),
            });
            if acks != Acks::Zero {
                out.push(if idempotent {
                    format!(
                        "{}: idempotent producer: a retried batch the broker already has is dropped by its sequence number.",
                        p.id
                    )
                } else {
                    format!(
                        "{}: not idempotent: a retry after a lost answer appends the batch a second time.",
                        p.id
                    )
                });
                match p.max_in_flight {
                    Some(1) => out.push(format!(
                        "{}: one batch in flight per partition: nothing overtakes a resent batch, so keys keep their order (one batch per round trip).",
                        p.id
                    )),
                    Some(n) if !idempotent => out.push(format!(
                        "{}: {n} batches in flight without idempotence: a resent batch lands after later ones, so a key's records can reorder.",
                        p.id
                    )),
                    _ => {}
                }
            }
        }
        for t in &self.topics {
            out.extend(explain_topic(t));
        }
        for g in &self.consumer_groups {
            let commit = match &g.commit {
                CommitPolicy::BeforeProcessing => {
                    "commits before processing: a crash skips the rest of the batch (at-most-once)"
                }
                CommitPolicy::AfterProcessing { per: CommitPer::Record } => {
                    "commits after each record: a crash repeats at most the record in hand (at-least-once)"
                }
                CommitPolicy::AfterProcessing { per: CommitPer::Batch } => {
                    "commits after each batch: a crash repeats the processed part of the batch (at-least-once)"
                }
                CommitPolicy::Auto { .. } => {
                    "auto-commits the polled position inside poll() when the interval has run out: a crash can repeat records, never skip them (at-least-once)"
                }
            };
            out.push(format!("{}: {commit}.", g.id));
            if g.failure_rate > 0.0 {
                out.push(format!("{}: {}", g.id, explain_group_failure(g)));
            }
            if let Some(o) = &g.output {
                if let Some(n) = o.polls_per_txn.filter(|&n| o.transactional && n > 1) {
                    out.push(format!(
                        "{}: a transaction spans up to {n} polls: fewer commits, but read_committed readers wait longer and a crash aborts more.",
                        g.id
                    ));
                }
                out.push(if o.transactional {
                    format!(
                        "{}: writes {} in transactions with its offsets: a crash aborts the batch's outputs, so read_committed readers see each once.",
                        g.id, o.topic
                    )
                } else {
                    format!(
                        "{}: writes {} outside a transaction: outputs of a batch repeated after a crash are read twice.",
                        g.id, o.topic
                    )
                });
            }
            if g.isolation_level == IsolationLevel::ReadCommitted {
                out.push(format!(
                    "{}: read_committed: reads only committed records, up to the last stable offset.",
                    g.id
                ));
            }
        }
        out
    }
}

/// What a topic's cleanup takes from a group that reads behind it.
fn explain_topic(t: &super::Topic) -> Vec<String> {
    use super::Cleanup;
    let mut out = Vec::new();
    if t.cleanup != Cleanup::Compact {
        if let Some(r) = &t.retention {
            let what = match (r.time, r.records) {
                (Some(d), Some(n)) => {
                    format!("records older than {d} or beyond the last {n} of a partition")
                }
                (Some(d), None) => format!("records older than {d}"),
                (None, Some(n)) => format!("all but the last {n} records of a partition"),
                (None, None) => String::new(),
            };
            if !what.is_empty() {
                out.push(format!(
                    "{}: retention deletes {what}, read or not: a group further behind than that skips them (lost to it).",
                    t.id
                ));
            }
        }
    }
    if t.cleanup != Cleanup::Delete {
        out.push(format!(
            "{}: compaction keeps only the latest record of each key: a group reading behind the cleaner sees the latest value, not every change.",
            t.id
        ));
    }
    out
}

/// What a consumer group does with a record whose processing failed, and
/// what that costs: a blocked partition, a skipped record, or order.
fn explain_group_failure(g: &super::ConsumerGroup) -> String {
    use super::GroupOnFailure;
    let apart = |b: Duration| {
        if b.us() > 0 {
            format!(" {b} apart")
        } else {
            String::new()
        }
    };
    match &g.on_failure {
        None => "a failed record is retried in place at once, for ever: its partition waits behind it (head-of-line blocking).".to_string(),
        Some(GroupOnFailure::Blocking { backoff, attempts }) => match attempts {
            Some(n) => format!(
                "a failed record is retried in place{}, its partition waiting behind it, {n} attempts in all; then it is dropped (retries_exhausted: lost to this group).",
                apart(*backoff)
            ),
            None => format!(
                "a failed record is retried in place{}, for ever: its partition waits behind it (head-of-line blocking).",
                apart(*backoff)
            ),
        },
        Some(GroupOnFailure::Skip) => {
            "a failed record is dropped at once (retries_exhausted) and the partition moves on: lost to this group.".to_string()
        }
        Some(GroupOnFailure::DeadLetter { topic, attempts, backoff }) => format!(
            "a failed record is retried in place{}, {attempts} attempts in all, then appended to the dead-letter topic {topic}, and the partition moves on.",
            apart(*backoff)
        ),
        Some(GroupOnFailure::RetryTopics { topics, dead_letter }) => {
            let stages: Vec<String> = topics
                .iter()
                .map(|r| format!("{} (after {})", r.topic, r.delay))
                .collect();
            let end = match dead_letter {
                Some(d) => format!("the dead-letter topic {d}"),
                None => "nowhere (dropped: lost to this group)".to_string(),
            };
            format!(
                "a failed record goes on to the retry topics {}, then to {end}: the partition does not wait, but a key's records no longer keep their order.",
                stages.join(", ")
            )
        }
    }
}

/// The sentences for a queue's own rules that take messages away from its
/// consumers: durability, TTL, length limit, delivery limit, consumer
/// timeout. Each says where
/// the message goes: its dead-letter exchange, or nowhere (lost).
fn explain_queue(q: &super::Queue) -> Vec<String> {
    use super::Overflow;
    let mut out = Vec::new();
    let fate = match &q.dead_letter_exchange {
        Some(x) => format!("is dead-lettered to {x}"),
        None => "is lost (no dead-letter exchange)".to_string(),
    };
    if !q.durable {
        out.push(format!(
            "{}: transient queue: a broker crash empties it, and everything waiting in it is lost.",
            q.id
        ));
    }
    if let Some(ttl) = q.ttl {
        out.push(format!(
            "{}: a message waiting longer than {ttl} expires and {fate}.",
            q.id
        ));
    }
    if let Some(n) = q.max_length {
        out.push(match q.overflow {
            Overflow::DropHead => format!(
                "{}: holds at most {n} ready messages; when full, a publish pushes out the oldest, which {fate}.",
                q.id
            ),
            Overflow::RejectPublish => format!(
                "{}: holds at most {n} ready messages; when full, it refuses a publish: a producer with confirms hears a nack and sends it again, a fire-and-forget one loses it.",
                q.id
            ),
            Overflow::RejectPublishDlx => format!(
                "{}: holds at most {n} ready messages; when full, it refuses a publish, which {fate}, and nacks it: a producer with confirms sends it again.",
                q.id
            ),
        });
    }
    if let Some(n) = q.delivery_limit.filter(|&n| n != u32::MAX) {
        out.push(format!(
            "{}: a message returned more than {n} times (a failure, a crash, a requeue) {fate}.",
            q.id
        ));
    }
    if let Some(t) = q.consumer_timeout {
        out.push(format!(
            "{}: a delivery left unacked longer than {t} (consumer_timeout) closes its channel at the next check and comes back with everything unacked on it; the handler still finishes it, so its effect repeats unless the consumer deduplicates.",
            q.id
        ));
    }
    out
}

/// Components that get the same sentence share one line, at the place of
/// the first ("c-01, c-02, c-03 and 13 more: ack after the effect: …"), so
/// sixteen alike consumers do not bury the one that differs. Every line is
/// "<id>: <text>"; an id has no spaces (validation), so the first ": " ends it.
/// The app's log ledger merges its topic lines the same way.
pub fn merge_same_sentences(lines: Vec<String>) -> Vec<String> {
    const NAMED: usize = 4;
    let mut merged: Vec<(Vec<&str>, &str)> = Vec::new();
    for line in &lines {
        let (id, text) = line.split_once(": ").unwrap_or(("", line));
        match merged.iter_mut().find(|(_, t)| *t == text) {
            Some((ids, _)) if !id.is_empty() && !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => merged.push((vec![id], text)),
        }
    }
    merged
        .into_iter()
        .map(|(ids, text)| match ids.as_slice() {
            [""] => text.to_string(),
            few if few.len() <= NAMED => format!("{}: {text}", few.join(", ")),
            many => format!(
                "{} and {} more: {text}",
                many[..NAMED - 1].join(", "),
                many.len() - (NAMED - 1)
            ),
        })
        .collect()
}

/// The sentences for a consumer's link and ack-path faults that break (or
/// strain) the promise: duplicated and delayed acks, reordered deliveries.
fn explain_links(c: &super::Consumer, f: &ConsumerFaults, sqs: bool) -> Vec<String> {
    let mut out = Vec::new();
    if sqs {
        return out;
    }
    let repeat = if c.dedup.is_some() {
        "redelivered (the dedup store skips the repeated effect)"
    } else {
        "redelivered and their effects repeat"
    };
    if c.ack_mode() == AckMode::AfterProcessing && f.ack_duplicate > 0.0 {
        out.push(format!(
            "{}: {:.0}% of acks arrive twice: the second names an unknown delivery tag (PRECONDITION_FAILED), the broker closes the channel and every message unacked on it is {repeat}.",
            c.id,
            f.ack_duplicate * 100.0
        ));
    }
    if c.ack_mode() == AckMode::AfterProcessing && f.ack_delay.us() > 0 {
        out.push(format!(
            "{}: acks take {} on average to reach the broker: the message stays unacked meanwhile (against prefetch), and a crash before its ack arrives kills the ack with the connection: it is {repeat}.",
            c.id, f.ack_delay
        ));
    }
    if f.delivery_reorder > 0.0 {
        out.push(format!(
            "{}: {:.0}% of deliveries are held back {} on the wire: deliveries sent after them are handled first, so per-key order breaks (with prefetch above 1).",
            c.id,
            f.delivery_reorder * 100.0,
            f.reorder_delay
        ));
    }
    out
}

/// A Pulsar subscription type as its scenario word.
fn sub_type(k: super::SubscriptionType) -> &'static str {
    match k {
        super::SubscriptionType::Exclusive => "exclusive",
        super::SubscriptionType::Failover => "failover",
        super::SubscriptionType::Shared => "shared",
        super::SubscriptionType::KeyShared => "key_shared",
    }
}

#[cfg(test)]
mod tests {
    use super::merge_same_sentences;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn alike_components_share_a_line_at_the_first_ones_place() {
        let got = merge_same_sentences(lines(&[
            "p: fire-and-forget.",
            "a: ack after.",
            "q: fire-and-forget.",
            "b: auto-ack.",
            "c: ack after.",
            "p: fire-and-forget.",
        ]));
        assert_eq!(
            got,
            lines(&["p, q: fire-and-forget.", "a, c: ack after.", "b: auto-ack."])
        );
    }

    #[test]
    fn one_component_keeps_its_different_sentences_and_many_are_counted() {
        let many: Vec<String> = (1..=6).map(|i| format!("c{i}: ack after.")).collect();
        let mut input = lines(&["k: acks=all.", "k: idempotent."]);
        input.extend(many);
        assert_eq!(
            merge_same_sentences(input),
            lines(&[
                "k: acks=all.",
                "k: idempotent.",
                "c1, c2, c3 and 3 more: ack after."
            ])
        );
        // Four are named; a line without an id is kept as it is.
        let four: Vec<String> = (1..=4).map(|i| format!("c{i}: x.")).collect();
        assert_eq!(merge_same_sentences(four), lines(&["c1, c2, c3, c4: x."]));
        assert_eq!(
            merge_same_sentences(lines(&["no id here"])),
            lines(&["no id here"])
        );
    }
}
