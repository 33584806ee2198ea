//! QueueLab: a deterministic message-broker simulator.
//!
//!   scenario (data) ──► engine (pure state machine) ──┬──► cli  (native: run, validate, schema, list)
//!                                                     └──► ui   (Yew, wasm32 only)
//!
//! The engine has no clock, no DOM and no OS randomness: the same scenario,
//! seed and command log give the same trace hash natively and in the browser;
//! `link` packs them into a share link both sides read.

pub mod animation;
pub mod engine;
pub mod export;
pub mod lesson;
pub mod link;
pub mod markdown;
pub mod scenario;
pub mod small_sort;
pub mod sweep;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod definitions;

#[cfg(target_arch = "wasm32")]
pub mod ui;

/// The pure picture modules of the app (the layout and the SVG export),
/// built natively too so that the CLI draws the same topology the app does
/// (`queuelab export svg`): the same source files as `ui::layout` and
/// `ui::svg`; nothing in them touches a browser.
#[cfg(not(target_arch = "wasm32"))]
#[path = "ui/layout/mod.rs"]
pub mod layout;
#[cfg(not(target_arch = "wasm32"))]
#[path = "ui/svg.rs"]
pub mod svg;
