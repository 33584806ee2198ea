//! QueueLab: a deterministic message-broker simulator.
//!
//!   scenario (data) ──► engine (pure state machine) ──┬──► cli  (native: run, validate, schema, list)
//!                                                     └──► ui   (Yew, wasm32 only)
//!
//! The engine has no clock, no DOM and no OS randomness: the same scenario,
//! seed and command log give the same trace hash natively and in the browser.

pub mod engine;
pub mod scenario;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod ui;
