//! The Redis half of the scenario format: Pub/Sub servers and subscribers,
//! Streams and their consumer groups.
//!
//!   producer ──PUBLISH channel (= routing key)──► redis_pubsub ──► redis_subscribers
//!   producer ──XADD──► redis_streams ──XREADGROUP / XACK / XAUTOCLAIM──► redis_groups
//!
//! Plain serde data like `types.rs`; every struct rejects unknown fields and
//! every list is skipped when empty, so scenarios without Redis parse and hash
//! as before. Defaults are Redis's own (redis.conf: `client-output-buffer-limit
//! pubsub 32mb 8mb 60`; XAUTOCLAIM's `COUNT` 100).

use super::types::Service;
use super::units::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Redis server's Pub/Sub: producers publishing to it PUBLISH to the channel
/// named by their routing key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisPubSub {
    pub id: String,
    /// `client-output-buffer-limit pubsub <hard> <soft> <soft-seconds>`.
    #[serde(default)]
    pub output_buffer: OutputBufferLimit,
}

/// The pub/sub class of `client-output-buffer-limit`: a subscriber whose
/// output buffer passes `hard_bytes`, or stays above `soft_bytes` for more
/// than `soft_seconds`, is disconnected. A limit of 0 is off (as in Redis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputBufferLimit {
    /// Hard limit [bytes] (Redis default 32mb = 33554432).
    #[serde(default = "hard_default")]
    pub hard_bytes: u64,
    /// Soft limit [bytes] (Redis default 8mb = 8388608).
    #[serde(default = "soft_default")]
    pub soft_bytes: u64,
    /// How long the soft limit may be exceeded continuously (Redis default 60s).
    #[serde(default = "soft_time_default")]
    pub soft_seconds: Duration,
}

fn hard_default() -> u64 {
    32 * 1024 * 1024
}
fn soft_default() -> u64 {
    8 * 1024 * 1024
}
fn soft_time_default() -> Duration {
    Duration::from_s(60)
}

impl Default for OutputBufferLimit {
    fn default() -> Self {
        OutputBufferLimit {
            hard_bytes: hard_default(),
            soft_bytes: soft_default(),
            soft_seconds: soft_time_default(),
        }
    }
}

/// A Pub/Sub client: SUBSCRIBE to `channels`, PSUBSCRIBE to `patterns`, reads
/// and handles one message at a time (`service`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSubscriber {
    pub id: String,
    /// The `redis_pubsub` server it is connected to.
    pub server: String,
    /// Exact channel names (SUBSCRIBE).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Glob patterns (PSUBSCRIBE; Redis's `stringmatchlen` rules).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Time to handle one message.
    pub service: Service,
    /// Connected at the start (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub connected: bool,
    /// After the server disconnects it (output-buffer limit), reconnect and
    /// subscribe again after this long (unset: stay away until a command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_after: Option<Duration>,
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// A Redis stream (a key holding an append-only log of entries).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisStream {
    pub id: String,
    /// `XADD … MAXLEN <n>` (exact trimming, no `~`): entries kept at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u64>,
}

/// A consumer group on a stream (XGROUP CREATE … `$`): `consumers` named
/// `c0`, `c1`, … each running XREADGROUP `>` one entry at a time, XACK after
/// handling it, and XAUTOCLAIM every `claim_every` for entries idle longer
/// than `min_idle_time`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisGroup {
    pub id: String,
    pub stream: String,
    #[serde(default = "one")]
    pub consumers: u32,
    /// Time to handle one entry.
    pub service: Service,
    /// XAUTOCLAIM's min-idle-time (unset: no consumer claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_idle_time: Option<Duration>,
    /// How often each consumer runs XAUTOCLAIM (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_every: Option<Duration>,
    /// XAUTOCLAIM's COUNT (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_count: Option<u32>,
}

fn one() -> u32 {
    1
}

/// Most subscriptions (channels plus patterns) of one subscriber.
pub const SUBSCRIPTIONS_MAX: usize = 64;
/// Longest channel name or pattern [bytes].
pub const CHANNEL_LEN_MAX: usize = 255;
/// Most entries MAXLEN may keep.
pub const REDIS_MAXLEN_MAX: u64 = 10_000_000;
/// Most consumers in one group.
pub const REDIS_CONSUMERS_MAX: u32 = 1000;
/// Largest output-buffer limit [bytes] (1 GiB).
pub const OUTPUT_BUFFER_MAX: u64 = 1 << 30;
/// Longest min-idle-time, claim interval, soft-seconds or reconnect delay.
const REDIS_DELAY_US_MAX: u64 = 24 * 3600 * 1_000_000;

/// Checks on an output-buffer limit; `Err((field, message))`.
pub fn check_output_buffer(o: &OutputBufferLimit) -> Result<(), (&'static str, String)> {
    if o.hard_bytes > OUTPUT_BUFFER_MAX {
        return Err(("hard_bytes", format!("at most {OUTPUT_BUFFER_MAX} bytes")));
    }
    if o.soft_bytes > OUTPUT_BUFFER_MAX {
        return Err(("soft_bytes", format!("at most {OUTPUT_BUFFER_MAX} bytes")));
    }
    if o.soft_seconds.us() > REDIS_DELAY_US_MAX {
        return Err(("soft_seconds", "at most 24h".into()));
    }
    Ok(())
}

/// Checks on a MAXLEN value.
pub fn check_maxlen(n: u64) -> Result<(), String> {
    if n == 0 || n > REDIS_MAXLEN_MAX {
        return Err(format!("must be between 1 and {REDIS_MAXLEN_MAX}"));
    }
    Ok(())
}

/// Checks on a delay knob (min-idle-time, claim interval, reconnect delay).
pub fn check_redis_delay(d: Duration, zero_ok: bool) -> Result<(), String> {
    if d.us() > REDIS_DELAY_US_MAX {
        return Err("must be at most 24h".into());
    }
    if !zero_ok && d.us() == 0 {
        return Err("must be positive".into());
    }
    Ok(())
}

/// Checks on a channel name or pattern.
pub fn check_channel(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > CHANNEL_LEN_MAX {
        return Err(format!(
            "at most {CHANNEL_LEN_MAX} bytes, not {}",
            name.len()
        ));
    }
    Ok(())
}

impl super::Scenario {
    /// Is `id` a Redis server or stream (a producer target that is not a queue)?
    pub fn is_redis_target(&self, id: &str) -> bool {
        self.redis_pubsub.iter().any(|x| x.id == id)
            || self.redis_streams.iter().any(|x| x.id == id)
    }

    /// Producer targets outside the AMQP broker: topics and Redis nodes
    /// (publisher confirms and the guarantee dial do not apply to them).
    pub fn non_queue_targets(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.topics.iter().map(|t| t.id.as_str()).collect();
        v.extend(self.redis_pubsub.iter().map(|x| x.id.as_str()));
        v.extend(self.redis_streams.iter().map(|x| x.id.as_str()));
        v.extend(self.pulsar_topics.iter().map(|x| x.id.as_str()));
        v
    }
}
