//! Moving messages: turn trace events into short token animations.
//!
//!   Published ──► token producer→exchange   Enqueued ──► token exchange→queue
//!   Delivered ──► token queue→consumer      Retried / Requeued ──► token back along the loop
//!   DeadLettered ──► token queue→DLX        Dropped / Expired ──► fade where it happened
//!
//! Engine hops often take zero simulated time, so each token gets a short
//! *visual* travel time (shorter at higher speeds), and a message's hops are
//! chained one after the other. Past `TOKEN_CAP` tokens are not drawn one by
//! one: the edge shows a count instead, so frames stay smooth.

use crate::engine::{NodeId, Reason, TraceEvent, TraceKind};
use std::collections::{BTreeMap, HashMap};

pub const TOKEN_CAP: usize = 6_000;
pub const EFFECT_CAP: usize = 2_000;
/// Trace events turned into tokens per frame at most.
pub const INGEST_MAX: usize = 4_000;
/// Messages tracked for chaining at most (older state is forgotten).
const TRACK_MAX: usize = 200_000;

/// Fate classes, also the legend order.
pub const NEW: u8 = 0;
pub const RETRIED: u8 = 1;
pub const DEAD: u8 = 2;
pub const EXPIRED: u8 = 3;
pub const DROPPED: u8 = 4;
pub const DONE: u8 = 5;
pub const COMMAND: u8 = 6;
/// A failed processing run: a small red pop at the consumer.
pub const FAILED_POP: u8 = 7;

pub const FATE_NAMES: [&str; 6] = [
    "first attempt",
    "retried",
    "dead-lettered",
    "expired",
    "dropped",
    "processed",
];
/// One colour per meaning: the six fates, then a command applied (sky) and
/// a failed processing run (pink — not the red of a dropped message).
pub const FATE_COLORS: [&str; 8] = [
    "#3b82f6", "#f59e0b", "#a855f7", "#94a3b8", "#ef4444", "#22c55e", "#0ea5e9", "#ec4899",
];

#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub from: u32,
    pub to: u32,
    /// Start [wall ms] and travel time [ms].
    pub t0: f64,
    pub dur: f64,
    pub fate: u8,
    pub msg: u64,
}

/// A fade or pop at a node.
#[derive(Clone, Copy, Debug)]
pub struct Effect {
    pub node: u32,
    pub t0: f64,
    pub dur: f64,
    pub fate: u8,
}

#[derive(Clone, Copy, Debug)]
struct Track {
    at: u32,
    ready: f64,
    fate: u8,
}

/// Tokens not drawn on one edge, counted per one-second window of wall time
/// so the label shows a steady rate instead of a number that grows for ever.
#[derive(Clone, Copy, Debug, Default)]
pub struct Aggregate {
    /// Count in the window that started at `window_ms`.
    pub count: u64,
    pub window_ms: f64,
    /// Count of the last complete window (what the label shows).
    pub per_s: u64,
    /// Wall time of the last token counted [ms].
    pub last_ms: f64,
}

impl Aggregate {
    fn add(&mut self, now: f64) {
        if self.count == 0 && self.per_s == 0 {
            self.window_ms = now;
        }
        if now - self.window_ms >= 1000.0 {
            // A gap of more than one window means nothing was skipped in between.
            self.per_s = if now - self.window_ms >= 2000.0 {
                0
            } else {
                self.count
            };
            self.count = 0;
            self.window_ms = now;
        }
        self.count += 1;
        self.last_ms = now;
    }

    /// Tokens per second not drawn: the last full window, or the current one
    /// before a window has completed.
    pub fn rate(&self) -> u64 {
        self.per_s.max(if self.per_s == 0 { self.count } else { 0 })
    }
}

#[derive(Default)]
pub struct Tokens {
    pub tokens: Vec<Token>,
    pub effects: Vec<Effect>,
    track: HashMap<u64, Track>,
    /// Tokens not drawn because of the cap, per edge, as a rate.
    pub overflow: BTreeMap<(u32, u32), Aggregate>,
    rng: u64,
}

/// Visual travel time of one hop [ms] at a given speed.
pub fn hop_ms(speed: f64) -> f64 {
    (500.0 * speed.max(0.01).powf(-0.3)).clamp(140.0, 900.0)
}

impl Tokens {
    pub fn clear(&mut self) {
        self.tokens.clear();
        self.effects.clear();
        self.track.clear();
        self.overflow.clear();
    }

    pub fn live(&self) -> usize {
        self.tokens.len()
    }

    fn push_token(&mut self, from: u32, to: u32, msg: u64, fate: u8, now: f64, speed: f64) {
        let dur = hop_ms(speed);
        let tr = self.track.get(&msg).copied();
        let start = tr.map(|t| t.ready.max(now)).unwrap_or(now).min(now + 700.0);
        if from != to {
            if self.tokens.len() < TOKEN_CAP {
                self.tokens.push(Token {
                    from,
                    to,
                    t0: start,
                    dur,
                    fate,
                    msg,
                });
            } else {
                self.overflow.entry((from, to)).or_default().add(now);
            }
        }
        if self.track.len() >= TRACK_MAX {
            self.track.clear();
        }
        self.track.insert(
            msg,
            Track {
                at: to,
                ready: if from != to { start + dur } else { start },
                fate,
            },
        );
    }

    fn effect(&mut self, node: u32, fate: u8, msg: Option<u64>, now: f64) {
        if self.effects.len() >= EFFECT_CAP {
            return;
        }
        let start = msg
            .and_then(|m| self.track.get(&m))
            .map(|t| t.ready.max(now))
            .unwrap_or(now)
            .min(now + 700.0);
        self.effects.push(Effect {
            node,
            t0: start,
            dur: if fate == COMMAND { 900.0 } else { 600.0 },
            fate,
        });
    }

    fn fate_of(&self, m: u64) -> u8 {
        self.track.get(&m).map(|t| t.fate).unwrap_or(NEW)
    }

    fn at_of(&self, m: u64, default: NodeId) -> u32 {
        self.track.get(&m).map(|t| t.at).unwrap_or(default.0)
    }

    /// Turn new trace events into tokens and effects starting at wall time `now`.
    pub fn ingest(&mut self, evs: &[TraceEvent], now: f64, speed: f64) {
        // Past INGEST_MAX events in one frame nobody can follow single tokens:
        // the older ones only count towards the per-edge aggregate labels.
        let skip = evs.len().saturating_sub(INGEST_MAX);
        for ev in &evs[..skip] {
            let edge = match ev.kind {
                TraceKind::Published { to, .. } => Some((ev.node.0, to.0)),
                TraceKind::Delivered { consumer, .. } => Some((ev.node.0, consumer.0)),
                TraceKind::DeadLettered { exchange, .. } => Some((ev.node.0, exchange.0)),
                _ => None,
            };
            if let Some(e) = edge {
                self.overflow.entry(e).or_default().add(now);
            }
        }
        for ev in &evs[skip..] {
            let node = ev.node.0;
            let Some(m) = ev.msg else {
                match ev.kind {
                    TraceKind::Crashed { .. } => self.effect(node, DROPPED, None, now),
                    TraceKind::Restarted { .. } => self.effect(node, DONE, None, now),
                    TraceKind::CommandApplied { .. } => self.effect(node, COMMAND, None, now),
                    _ => {}
                }
                continue;
            };
            match ev.kind {
                TraceKind::Published { to, .. } => {
                    self.track.remove(&m);
                    self.push_token(node, to.0, m, NEW, now, speed);
                }
                TraceKind::Routed { .. } => {}
                TraceKind::Copied { copy } => {
                    if let Some(t) = self.track.get(&m).copied() {
                        self.track.insert(copy, t);
                    }
                }
                TraceKind::Unroutable { alternate: Some(a) } => {
                    let f = self.fate_of(m);
                    self.push_token(node, a.0, m, f, now, speed)
                }
                // A Redis push into a subscriber's output buffer moves like
                // an enqueue (from the server, where Published left it).
                TraceKind::Enqueued { .. } | TraceKind::PubsubBuffered { .. } => {
                    let from = self.at_of(m, ev.node);
                    let f = self.fate_of(m);
                    self.push_token(from, node, m, f, now, speed);
                }
                TraceKind::Requeued { .. } | TraceKind::Retried { .. } => {
                    let from = self.at_of(m, ev.node);
                    self.push_token(from, node, m, RETRIED, now, speed);
                }
                TraceKind::Delivered {
                    consumer,
                    attempt,
                    redelivered,
                    ..
                } => {
                    let f = if attempt > 1 || redelivered {
                        RETRIED
                    } else {
                        self.fate_of(m)
                    };
                    self.push_token(node, consumer.0, m, f, now, speed);
                }
                TraceKind::Processed { .. } | TraceKind::XAcked { .. } => {
                    self.effect(node, DONE, Some(m), now);
                    self.track.remove(&m);
                }
                // Missed by a subscriber that is away: a flash there; the
                // message itself goes on to the others.
                TraceKind::PubsubMissed => self.effect(node, DROPPED, None, now),
                TraceKind::Failed { .. } => {
                    self.effect(node, FAILED_POP, Some(m), now);
                    if let Some(t) = self.track.get_mut(&m) {
                        t.fate = RETRIED;
                    }
                }
                TraceKind::DeadLettered { exchange, .. } => {
                    self.push_token(node, exchange.0, m, DEAD, now, speed);
                }
                TraceKind::Expired => {
                    if let Some(t) = self.track.get_mut(&m) {
                        t.fate = EXPIRED;
                    }
                }
                TraceKind::Dropped { reason } => {
                    let f = if reason == Reason::Expired {
                        EXPIRED
                    } else {
                        DROPPED
                    };
                    self.effect(node, f, Some(m), now);
                    self.track.remove(&m);
                }
                _ => {}
            }
        }
    }

    /// Forget finished animations.
    pub fn prune(&mut self, now: f64) {
        self.tokens.retain(|t| t.t0 + t.dur > now);
        self.effects.retain(|e| e.t0 + e.dur > now);
        self.overflow.retain(|_, v| now - v.last_ms < 1000.0);
    }

    /// Benchmark mode: keep `n` synthetic tokens moving along `edges`.
    pub fn keep_synthetic(&mut self, n: usize, edges: &[(u32, u32)], now: f64) {
        if edges.is_empty() {
            return;
        }
        while self.tokens.len() < n.min(TOKEN_CAP) {
            self.rng = self
                .rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (self.rng >> 33) as usize;
            let (from, to) = edges[r % edges.len()];
            let dur = 800.0 + (r % 1200) as f64;
            let age = (r / 7 % 1000) as f64 / 1000.0 * dur;
            self.tokens.push(Token {
                from,
                to,
                t0: now - age,
                dur,
                fate: (r % 6) as u8,
                msg: 0,
            });
        }
    }
}
