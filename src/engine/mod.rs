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
//!   trace buffer and per-call event budgets are all bounded.

pub mod agenda;
pub mod command;
pub mod core;
pub mod invariants;
pub mod message;
pub mod metrics;
pub mod model;
pub mod prng;
pub mod report;
pub mod routing;
pub mod time;
pub mod trace;
pub mod view;

pub use self::core::{Engine, NodeInfo, NodeKind, RunOutcome, DELAY_US_MAX, LIVE_MESSAGES_MAX};
pub use crate::scenario::{Command, LoggedCommand};
pub use command::CommandError;
pub use message::Ledger;
pub use metrics::{LatencySummary, SeriesPoint, Totals};
pub use model::dead_letter::{DEAD_LETTERS_PER_INSTANT_MAX, DEATHS_PER_INSTANT_MAX};
pub use report::Report;
pub use time::SimTime;
pub use trace::{NodeId, Reason, TraceEvent, TraceKind};
pub use view::{InstanceView, MessageView, NodeView, Snapshot};
