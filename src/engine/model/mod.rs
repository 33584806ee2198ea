//! The broker models, one room each: its state, the events and commands it
//! reacts to, and the small functions other models may call.
//!
//!   producer ──publish──► exchange ──route──► queue ──dispatch──► consumer
//!                            ▲                  │  ▲                 │
//!                            │   dead_letter ◄──┘  └── requeue ──────┤ failed: retry
//!                            └──────────────────┘      enqueue ◄─────┘ (delayed)
//!
//! | file             | owns                                   | where it drops a message        |
//! |------------------|----------------------------------------|---------------------------------|
//! | `producer.rs`    | publish timing, key choice             | live-message limit              |
//! | `exchange.rs`    | bindings, alternates, copies           | `unroutable`                    |
//! | `queue.rs`       | ready list, TTL, length limit, dispatch| `queue_full`, `purged`          |
//! | `single_active.rs` | single active consumer: the one instance a queue delivers to, failover | — |
//! | `ready.rs`       | ready messages per priority level (classic priority queues) | —        |
//! | `dead_letter.rs` | DLX republish, death log, cycle rule   | no DLX, cycle, per-instant caps |
//! | `consumer.rs`    | instances, service, ack, crash         | `lost_after_auto_ack`           |
//! | `consumer_priority.rs` | consumer priorities (`x-priority`): which subscriber gets the next delivery | — |
//! | `handler.rs`     | the handler's outcome (poison, failure draw), its effect and `on_success` publishes | — |
//! | `retry.rs`       | on-failure policy, backoff, retry wait | `retries_exhausted`             |
//! | `breaker.rs`     | consumers' circuit breakers: closed, open (no deliveries), half-open probes | — |
//! | `topic.rs`       | partition logs, retention, compaction  | retention / compaction (traced) |
//! | `batch.rs`       | topic producers: partition, batching   | —                               |
//! | `inflight.rs`    | topic producers: the window of in-flight batches | past `WAITING_BATCHES_MAX` (`unacked_lost`) |
//! | `partitioner.rs` | murmur2, sticky, round-robin (pure)    | —                               |
//! | `group.rs`       | consumer groups: state, rebalance      | —                               |
//! | `membership.rs`| groups: join, leave, crash, session expiry | a crash: polled, uncommitted   |
//! | `poll_timeout.rs` | groups: `max.poll.interval.ms`, a slow member leaves, its commits fail, it rejoins | — |
//! | `fetch.rs`       | group members: poll, process, commit   | —                               |
//! | `fetchable.rs`   | group members: the owned partitions a poll looks at | —                  |
//! | `record.rs`      | a log record packed in 32 bytes (append time, flags) | —               |
//! | `lag.rs`         | groups' lag as a running sum (`lag_max` per append) | —              |
//! | `recovery.rs`    | groups' failed records: blocking retry, skip, DLT, retry topics | `skip`, no DLT (`retries_exhausted`) |
//! | `seek.rs`        | seeking a group (replay, skip ahead)   | —                               |
//! | `assignor.rs`    | range, round-robin, cooperative-sticky (pure) | —                       |
//! | `stream_knobs.rs`| live knobs: assignment, commit, max poll, linger, partitions (increase only) | — |
//! | `confirms.rs`    | producer link faults, publisher confirms, resends | `network_lost`       |
//! | `protocol.rs`    | consumer dedup store, crashes at protocol points, lost acks | —          |
//! | `links.rs`       | broker → consumer reorder, delayed and duplicated acks (channel closed) | — |
//! | `ack_timeout.rs` | `consumer_timeout`: a channel tick closes a channel holding a delivery unacked too long | — (requeued) |
//! | `broker.rs`      | the broker crashing: durable vs transient | `broker_crash`, `broker_down` |
//! | `replication.rs` | Kafka acks, retries, idempotence, high watermark | — |
//! | `leader.rs`      | Kafka leader crash and return: who leads, where its log is cut, unclean election | `leader_crashed`, `unclean_leader_back` |
//! | `isr.rs`         | Kafka ISR: a stalled follower holds the high watermark, leaves after `replica_lag_max`, re-joins caught up | — |
//! | `transactions.rs`| read-process-write outputs, transactions, read_committed | aborted outputs (never read committed) |
//! | `event_store.rs` | event-store appends with an expected version: aggregate versions, conflicts, stale writes; loading aggregates, snapshots | — (a conflict is processed again) |
//! | `txn_fence.rs`   | transactions spanning polls, paused members, zombie fencing (producer epochs) | a fenced zombie's writes (aborted) |
//! | `pubsub.rs`      | Redis Pub/Sub: PUBLISH, output buffers | `no_subscribers`, `subscriber_disconnected`, `output_buffer_limit` |
//! | `xstream.rs`     | Redis Streams: XADD, PEL, XACK, XAUTOCLAIM | `stream_trimmed`, `consumer_crashed` |
//! | `xstream_check.rs` | Redis Streams invariants, the PEL read-out | — |
//! | `glob.rs`        | Redis glob patterns (pure)             | —                               |
//! | `redis.rs`       | Redis state, events, commands, checks  | —                               |
//! | `sqs.rs`         | SQS queues: visibility, receive count, DLQ, dedup, delay, retention | `sqs_deduplicated`, retention (`expired`) |
//! | `sqs_life.rs`    | SQS messages: visible again, retention, delete, release | retention (`expired`) |
//! | `sqs_poll.rs`    | SQS consumers: short/long polling, delete | —                         |
//! | `pulsar.rs`      | Pulsar: state, building, events (send timeouts) | `send_timeout` |
//! | `pulsar_topic.rs` | Pulsar topics: routing to partitions, backlog quota, storing, retention, deletion | `backlog_quota`, `backlog_evicted`, `no_subscribers` |
//! | `pulsar_dispatch.rs` | Pulsar subscriptions: exclusive/failover/shared/key_shared dispatch, delayed delivery, receiver queues, handlers | — |
//! | `pulsar_key_shared.rs` | Pulsar Key_Shared: slot owners, held-back messages, recently joined consumers | — |
//! | `pulsar_delayed.rs` | Pulsar: the delayed-delivery tracker (deliverAfter, retry-letter delays) | — |
//! | `pulsar_acks.rs` | Pulsar: acks, cumulative acks, nack tracker, ack timeout, redelivery counts, crashes | `cumulative_acked`, `consumer_crashed` |
//! | `pulsar_dlq.rs`  | Pulsar: dead-letter topic, retry letters (`reconsume_later`) | `dead_letter_topic` |
//! | `pulsar_check.rs` | Pulsar commands, key ranges, invariants | — |
//! | `pulsar_hash.rs` | murmur3, Java string hash, Key_Shared auto-split ranges (pure) | — |
//! | `broker_costs.rs`| the broker's own time: one CPU, per message / per batch, group commit (off unless `broker_costs`) | — |
//! | `effects.rs`     | the ledger: effects per business message (lost, duplicated) | —          |
//!
//! Each file is an `impl Engine` block: the engine core owns the clock, agenda
//! and message arena, and the models' state vectors live on `Engine` too, so a
//! model reaches another model's state only through the functions named in
//! that model's header ("Exports").

pub(crate) mod ack_timeout;
pub mod assignor;
pub(crate) mod batch;
pub(crate) mod breaker;
pub(crate) mod broker;
pub(crate) mod broker_costs;
pub(crate) mod confirms;
pub mod consumer;
pub mod consumer_crash;
pub(crate) mod consumer_priority;
pub mod dead_letter;
pub mod effects;
pub(crate) mod effects_check;
pub(crate) mod event_store;
pub mod exchange;
pub(crate) mod fetch;
pub(crate) mod fetchable;
pub mod glob;
pub(crate) mod group;
pub(crate) mod handler;
pub(crate) mod inflight;
pub(crate) mod isr;
pub(crate) mod lag;
pub(crate) mod leader;
pub(crate) mod links;
pub(crate) mod membership;
pub mod partitioner;
pub(crate) mod poll_timeout;
pub(crate) mod produce_retry;
pub mod producer;
pub mod protocol;
pub mod pubsub;
pub(crate) mod pulsar;
pub(crate) mod pulsar_acks;
pub(crate) mod pulsar_check;
pub(crate) mod pulsar_delayed;
pub(crate) mod pulsar_dispatch;
pub(crate) mod pulsar_dlq;
pub mod pulsar_hash;
pub(crate) mod pulsar_key_shared;
pub(crate) mod pulsar_topic;
pub(crate) mod pulsar_unacked;
pub mod queue;
pub(crate) mod queue_check;
pub(crate) mod ready;
pub(crate) mod rebalance;
pub(crate) mod record;
pub(crate) mod recovery;
pub(crate) mod redis;
pub(crate) mod replication;
pub mod retry;
pub(crate) mod seek;
pub(crate) mod single_active;
pub mod sqs;
pub mod sqs_check;
pub(crate) mod sqs_knobs;
pub(crate) mod sqs_life;
pub(crate) mod sqs_poll;
pub(crate) mod stream_knobs;
pub(crate) mod topic;
pub(crate) mod transactions;
pub(crate) mod txn_fence;
pub mod xstream;
pub(crate) mod xstream_check;

pub(crate) use consumer::ConsumerState;
pub(crate) use exchange::{CachedRoute, ExchangeState};
pub(crate) use producer::ProducerState;
pub(crate) use queue::QueueState;
