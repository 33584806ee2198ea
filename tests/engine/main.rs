//! The engine's native test suite, as one integration binary.
//!
//!   stories (hand-written scenarios, exact traces) ─┐
//!   properties (random scenarios, invariants)       ├─► queuelab::engine::Engine
//!   seed swarm (QL_SWARM_SECS of deep cases)        │
//!   determinism, theory, commands, CLI, links      ─┘
//!
//! Story tests use constant arrivals and constant service so every time and
//! message id in them is exact; each reads top to bottom as what happens.

mod common;

mod ack_path;
mod ack_timeout;
mod alerts;
mod auto_commit;
mod breaker;
mod broker_comparison;
mod broker_crash;
mod builder;
mod cli;
mod commands;
mod consumers;
mod coop_join;
mod dead_letter;
mod definitions;
mod determinism;
mod event_store;
mod expect;
mod export;
mod guarantees;
mod inflight_txn;
mod isr;
mod json_paths;
mod kafka_cleaner;
mod kafka_guarantees;
mod kafka_seek;
mod layout_routes;
mod lessons;
mod links;
mod memory;
mod overflow;
mod poll_timeout;
mod preset_swarm;
mod priority;
mod produce_timeouts;
mod producers;
mod props;
mod publish_one;
mod pulsar;
mod pulsar_partitions;
mod pulsar_unacked;
mod redis;
mod report_metrics;
mod retry;
mod review_fixes;
mod routing;
mod sqs;
mod stream_failures;
mod stream_knobs;
mod stream_props;
mod stream_views;
mod streams;
mod swarm;
mod sweep;
mod theory;
mod ttl;
mod txn_replicated;
mod txn_timeout;
mod variants;
