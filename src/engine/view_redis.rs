//! Read-only views of the Redis nodes (Pub/Sub servers and subscribers,
//! streams and groups) for the UI and the run report (`nodes.<id>.…`).
//!
//!   Engine ──redis_*_view(i)──► plain data (counters, ids as `ms-seq` text)
//!
//! Views never change the engine; lists are bounded (`CONSUMERS_SHOWN_MAX`).

use super::core::Engine;
use serde::Serialize;

/// Consumers listed per group view.
pub const CONSUMERS_SHOWN_MAX: usize = 64;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisPubSubView {
    pub id: String,
    /// PUBLISH calls.
    pub published: u64,
    /// Sum of PUBLISH's return values.
    pub receivers: u64,
    /// PUBLISH calls that reached no one.
    pub no_receivers: u64,
    /// Subscribers connected now.
    pub connected: u32,
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_us: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisSubscriberView {
    pub id: String,
    pub server: String,
    pub connected: bool,
    pub channels: Vec<String>,
    pub patterns: Vec<String>,
    /// Messages in the output buffer, and their bytes.
    pub buffered: u32,
    pub buffer_bytes: u64,
    pub buffer_bytes_max: u64,
    pub busy: bool,
    /// Messages handled.
    pub delivered: u64,
    /// Matching publishes while it was away.
    pub missed: u64,
    /// Messages lost when its connection dropped.
    pub lost: u64,
    pub disconnects: u64,
    /// Disconnections by the output-buffer limits.
    pub limit_disconnects: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisStreamView {
    pub id: String,
    pub length: u64,
    pub maxlen: Option<u64>,
    pub added: u64,
    pub trimmed: u64,
    /// `ms-seq` of the first entry kept and of the last id given out.
    pub first_id: Option<String>,
    pub last_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisConsumerView {
    pub name: String,
    pub up: bool,
    pub busy: bool,
    /// PEL entries it owns.
    pub pending: u32,
    pub processed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisGroupView {
    pub id: String,
    pub stream: String,
    pub last_delivered_id: String,
    /// Entries in the pending entries list.
    pub pending: u32,
    /// Entries after the last-delivered id (not read by the group yet).
    pub lag: u64,
    pub delivered: u64,
    pub acked: u64,
    pub claimed: u64,
    pub claim_deleted: u64,
    pub min_idle_us: Option<u64>,
    pub consumers: Vec<RedisConsumerView>,
}

impl Engine {
    pub(crate) fn redis_pubsub_view(&self, i: usize) -> RedisPubSubView {
        let x = &self.redis.servers[i];
        RedisPubSubView {
            id: self.cfg.redis_pubsub[i].id.clone(),
            published: x.published,
            receivers: x.receivers,
            no_receivers: x.no_receivers,
            connected: self
                .redis
                .subs
                .iter()
                .filter(|s| s.server == i as u32 && s.connected)
                .count() as u32,
            hard_bytes: x.limit.hard_bytes,
            soft_bytes: x.limit.soft_bytes,
            soft_us: x.limit.soft_seconds.us(),
        }
    }

    pub(crate) fn redis_subscriber_view(&self, i: usize) -> RedisSubscriberView {
        let s = &self.redis.subs[i];
        let cfg = &self.cfg.redis_subscribers[i];
        RedisSubscriberView {
            id: cfg.id.clone(),
            server: cfg.server.clone(),
            connected: s.connected,
            channels: cfg.channels.clone(),
            patterns: cfg.patterns.clone(),
            buffered: s.buffer.len() as u32,
            buffer_bytes: s.buffer_bytes,
            buffer_bytes_max: s.buffer_bytes_max,
            busy: s.busy.is_some(),
            delivered: s.delivered,
            missed: s.missed,
            lost: s.lost,
            disconnects: s.disconnects,
            limit_disconnects: s.limit_disconnects,
        }
    }

    pub(crate) fn redis_stream_view(&self, i: usize) -> RedisStreamView {
        let s = &self.redis.streams[i];
        RedisStreamView {
            id: self.cfg.redis_streams[i].id.clone(),
            length: s.entries.len() as u64,
            maxlen: s.maxlen,
            added: s.added,
            trimmed: s.trimmed,
            first_id: s.entries.front().map(|e| e.0.to_string()),
            last_id: s.last_id.to_string(),
        }
    }

    pub(crate) fn redis_group_view(&self, i: usize) -> RedisGroupView {
        let g = &self.redis.groups[i];
        let cfg = &self.cfg.redis_groups[i];
        let st = &self.redis.streams[g.stream as usize];
        let lag = st.entries.len() - st.entries.partition_point(|e| e.0 <= g.last_delivered);
        RedisGroupView {
            id: cfg.id.clone(),
            stream: cfg.stream.clone(),
            last_delivered_id: g.last_delivered.to_string(),
            pending: g.pel.len() as u32,
            lag: lag as u64,
            delivered: g.delivered,
            acked: g.acked,
            claimed: g.claimed,
            claim_deleted: g.claim_deleted,
            min_idle_us: cfg.min_idle_time.map(|d| d.us()),
            consumers: g
                .consumers
                .iter()
                .enumerate()
                .take(CONSUMERS_SHOWN_MAX)
                .map(|(c, cs)| RedisConsumerView {
                    name: format!("c{c}"),
                    up: cs.up,
                    busy: cs.busy.is_some(),
                    pending: g.pel.values().filter(|p| p.consumer == c as u32).count() as u32,
                    processed: cs.processed,
                })
                .collect(),
        }
    }
}

/// How a UI shows a Redis node without knowing its fields: the one number
/// for a compact box, one detail line, and label/value rows for a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisText {
    pub compact: String,
    pub detail: String,
    pub rows: Vec<(&'static str, String)>,
}

impl super::view::NodeView {
    /// The text of a Redis node (`None` for every other kind).
    pub fn redis_text(&self) -> Option<RedisText> {
        use super::view::NodeView as V;
        Some(match self {
            V::RedisPubSub(x) => RedisText {
                compact: format!("{} published", x.published),
                detail: format!("published {} · subs {}", x.published, x.connected),
                rows: vec![
                    ("published", x.published.to_string()),
                    ("receivers", x.receivers.to_string()),
                    ("reached no one", x.no_receivers.to_string()),
                    ("connected subscribers", x.connected.to_string()),
                    (
                        "output buffer limit",
                        format!(
                            "hard {} B, soft {} B for {} s",
                            x.hard_bytes,
                            x.soft_bytes,
                            x.soft_us as f64 / 1e6
                        ),
                    ),
                ],
            },
            V::RedisSubscriber(s) => RedisText {
                compact: if s.connected {
                    format!("{} handled", s.delivered)
                } else {
                    "away".into()
                },
                detail: format!(
                    "{}buf {} · missed {} · lost {}",
                    if s.connected { "" } else { "away · " },
                    short_bytes(s.buffer_bytes),
                    s.missed,
                    s.lost
                ),
                rows: vec![
                    ("connected", s.connected.to_string()),
                    ("channels", s.channels.join(" ")),
                    ("patterns", s.patterns.join(" ")),
                    ("handled", s.delivered.to_string()),
                    ("missed while away", s.missed.to_string()),
                    ("lost on disconnect", s.lost.to_string()),
                    (
                        "output buffer",
                        format!("{} msgs, {} B", s.buffered, s.buffer_bytes),
                    ),
                    ("buffer max", format!("{} B", s.buffer_bytes_max)),
                    (
                        "disconnects",
                        format!("{} ({} by limit)", s.disconnects, s.limit_disconnects),
                    ),
                ],
            },
            V::RedisStream(s) => RedisText {
                compact: format!("{} entries", s.length),
                detail: format!("length {} · last {}", s.length, s.last_id),
                rows: vec![
                    ("length", s.length.to_string()),
                    ("MAXLEN", s.maxlen.map_or("none".into(), |n| n.to_string())),
                    ("added", s.added.to_string()),
                    ("trimmed", s.trimmed.to_string()),
                    ("first id", s.first_id.clone().unwrap_or_default()),
                    ("last id", s.last_id.clone()),
                ],
            },
            V::RedisGroup(g) => RedisText {
                compact: format!("pending {}", g.pending),
                detail: format!(
                    "pending {} · lag {} · claimed {}",
                    g.pending, g.lag, g.claimed
                ),
                rows: {
                    let mut rows = vec![
                        ("last delivered id", g.last_delivered_id.clone()),
                        ("pending (PEL)", g.pending.to_string()),
                        ("lag", g.lag.to_string()),
                        ("delivered", g.delivered.to_string()),
                        ("acked", g.acked.to_string()),
                        ("claimed", g.claimed.to_string()),
                        (
                            "min-idle-time",
                            g.min_idle_us
                                .map_or("off".into(), |us| format!("{} ms", us as f64 / 1000.0)),
                        ),
                    ];
                    for c in &g.consumers {
                        rows.push((
                            "consumer",
                            format!(
                                "{} {} · pending {} · handled {}",
                                c.name,
                                if !c.up {
                                    "crashed"
                                } else if c.busy {
                                    "busy"
                                } else {
                                    "idle"
                                },
                                c.pending,
                                c.processed
                            ),
                        ));
                    }
                    rows
                },
            },
            _ => return None,
        })
    }
}

/// Bytes in at most four digits and a unit (`512 B`, `565 KB`, `1.2 MB`), so
/// a subscriber's line keeps its width however full the buffer gets.
fn short_bytes(b: u64) -> String {
    const K: u64 = 1024;
    match b {
        b if b < K => format!("{b} B"),
        b if b < K * K => format!("{} KB", b / K),
        b if b < 100 * K * K => format!("{:.1} MB", b as f64 / (K * K) as f64),
        b => format!("{} MB", b / (K * K)),
    }
}
