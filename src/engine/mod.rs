//! The deterministic discrete-event engine.
//!
//!   Scenario + seed ──► Engine::new ──► step / run_until ──► trace, metrics, snapshot
//!                                  ▲
//!               Command (logged) ──┘ submit at `now`
//!
//! # Guarantees
//!
//! - **Time** is integer microseconds (`SimTime`).
//! - **Order**: events run in `(time, seq)` order, `seq` being the order in which
//!   they were scheduled (see `agenda`). Same-instant events therefore run in
//!   scheduling order, on every platform.
//! - **Randomness** comes only from the seed, split into one ChaCha8 stream per
//!   component (see `prng`); transcendental math goes through `libm`.
//! - **Reproduction**: `(scenario, seed, command log)` gives the same trace, bit
//!   for bit, natively and in WebAssembly; `Engine::replay` rebuilds any session.
//! - **Conservation**: every message created is exactly one of in transit,
//!   queued, unacked, waiting for a retry, completed or discarded (with a
//!   reason); `Engine::check_invariants` verifies it and the other invariants.
//! - **Limits**: queue capacity, instances, prefetch, attempts, live messages,
//!   key and header lengths, the route cache, the trace buffer and the work of
//!   one `run_until` call are all bounded. The per-call budget charges each
//!   event the messages it creates, at least 1 (a burst event publishing
//!   100,000 messages costs 100,000), so a budget bounds time even for bursty
//!   scenarios.
//!
//! # Where things are
//!
//! ```text
//! core.rs        Engine: clock, agenda, message arena, ledger, trace, metrics;
//!                step / run_until dispatch each Event to its model
//! arena.rs       the message arena's lifecycle: create, copy, side records,
//!                drop (with a reason), complete, release
//! message.rs     what a message is (states, ledger, interned keys)
//! model/         one room per broker model, each an `impl Engine` block with
//!                its state, event handlers, builder, commands and invariants:
//!   producer.rs    publish timing and key choice
//!   exchange.rs    routing: bindings, alternates, copies (matching rules: routing.rs)
//!   queue.rs       ready list, TTL expiry, max-length / overflow, dispatch
//!   dead_letter.rs dead-letter exchanges, death log, cycle rule
//!   consumer.rs    instances, service, ack, crash / restart / scaling
//!   retry.rs       on-failure policy, backoff, delayed retries
//!   topic.rs       partition logs, retention, compaction (+ the `Streams` state)
//!   batch.rs       topic producers: partition choice, linger and batch size
//!   partitioner.rs Kafka's murmur2 / sticky / round-robin partitioners (pure)
//!   group.rs       consumer groups: membership, rebalance, invariants
//!   seek.rs        group seeks: beginning, end, offset, timestamp (replay)
//!   fetch.rs       group members: poll, processing, commits, lag upkeep
//!   assignor.rs    range / round-robin / cooperative-sticky assignors (pure)
//!   confirms.rs    queue producers' link faults, publisher confirms, resends, producer crash
//!   protocol.rs    consumers' dedup store, crashes at protocol points, lost acks
//!   broker.rs      the broker crashing: durable vs transient
//!   replication.rs Kafka acks, retries, idempotence, high watermark, leader crash
//!   transactions.rs read-process-write outputs, transactions, read_committed
//!   effects.rs     the ledger of effects per business message (lost, duplicated)
//!   redis.rs       Redis: shared state, events, commands, invariants
//!   pubsub.rs      Redis Pub/Sub: PUBLISH, output buffers and their limits
//!   xstream.rs     Redis Streams: XADD / MAXLEN, groups, PEL, XACK, XAUTOCLAIM
//!   glob.rs        Redis's glob patterns for PSUBSCRIBE (pure)
//!   pulsar.rs      Pulsar topics: storing, backlog quota, retention; state, events
//!   pulsar_dispatch.rs  Pulsar subscriptions: dispatch by type, receiver queues, handlers
//!   pulsar_acks.rs Pulsar acks, nacks, ack timeout, DLQ, retry letter, crashes
//!   pulsar_check.rs Pulsar commands, key ranges, invariants
//!   pulsar_hash.rs Pulsar's murmur3, Java string hash, Key_Shared ranges (pure)
//! command.rs     run-time commands: check, then hand to the owning model
//! replay.rs      a session rebuilt from its command log (rewind, share links)
//! invariants.rs  check_invariants (conservation; calls each model's checks)
//! alerts.rs      alert rules (error rate, depth, lag) evaluated as Prometheus does; they only watch
//! measured.rs    one row of the broker comparison (delivered, lost, duplicated, order, latency, backlog)
//! view.rs        snapshots for a UI (topics and groups: view_stream.rs; Redis: view_redis.rs; Pulsar: view_pulsar.rs);  report.rs: CLI report, trace JSON / text
//! agenda.rs, prng.rs, time.rs, trace.rs (+ trace_codes.rs), reason.rs, metrics.rs: the core's tools
//! ```

pub mod agenda;
mod alerts;
mod arena;
mod command;
mod core;
mod invariants;
pub mod measured;
mod message;
pub mod metrics;
mod model;
pub mod prng;
mod reason;
mod replay;
pub mod report;
mod report_text;
pub mod routing;
mod sampling;
pub mod time;
pub mod trace;
mod trace_codes;
pub mod view;
pub mod view_pulsar;
pub mod view_redis;
pub mod view_stream;

pub use self::core::{Engine, NodeInfo, NodeKind, RunOutcome, DELAY_US_MAX, LIVE_MESSAGES_MAX};
pub use crate::scenario::{Command, LoggedCommand};
pub use alerts::AlertView;
pub use command::CommandError;
pub use measured::Measured;
pub use message::Ledger;
pub use metrics::{LatencySummary, SeriesPoint, Totals};
pub use model::dead_letter::{DEAD_LETTERS_PER_INSTANT_MAX, DEATHS_PER_INSTANT_MAX};
pub use model::effects::StreamLedger;
pub use model::glob::glob_match;
pub use model::pubsub::push_bytes;
pub use report::{Report, TraceNames, TraceWriter};
pub use time::SimTime;
pub use trace::{DisconnectCause, NodeId, Reason, TraceEvent, TraceKind, TraceSink};
pub use view::{InstanceView, MessageView, NodeView, Snapshot};
