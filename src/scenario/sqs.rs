//! The scenario format's Amazon SQS settings: an `sqs` block on a queue makes
//! it an SQS queue (standard or FIFO), an `sqs` block on a consumer sets how
//! it polls. Pure data plus the checks on their values (each error names its
//! field), shared by validation and the run-time commands.
//!
//! Defaults and limits follow the Amazon SQS Developer Guide ("Amazon SQS
//! quotas", "Amazon SQS visibility timeout", "Amazon SQS short and long
//! polling", "Amazon SQS delay queues", "Using dead-letter queues in Amazon
//! SQS") and the SQS pricing page; the engine's `model::sqs` cites the pages.

use super::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest visibility timeout SQS accepts (12 hours).
pub const SQS_VISIBILITY_TIMEOUT_MAX: Duration = Duration(12 * 3600 * 1_000_000);
/// Longest queue delay or message timer (15 minutes).
pub const SQS_DELAY_MAX: Duration = Duration(15 * 60 * 1_000_000);
/// Retention period bounds: 60 seconds to 14 days; the default is 4 days.
pub const SQS_RETENTION_MIN: Duration = Duration(60 * 1_000_000);
pub const SQS_RETENTION_MAX: Duration = Duration(14 * 24 * 3600 * 1_000_000);
pub const SQS_RETENTION_DEFAULT: Duration = Duration(4 * 24 * 3600 * 1_000_000);
/// Longest long-poll wait (`WaitTimeSeconds` ≤ 20).
pub const SQS_WAIT_TIME_MAX: Duration = Duration(20 * 1_000_000);
/// Most messages one `ReceiveMessage` returns.
pub const SQS_MAX_MESSAGES_MAX: u32 = 10;
/// `maxReceiveCount` bounds (1 to 1,000).
pub const SQS_MAX_RECEIVE_COUNT_MAX: u32 = 1000;
/// FIFO queues: 300 API calls per second per action without batching.
pub const SQS_FIFO_THROUGHPUT_DEFAULT: u32 = 300;
/// Highest per-second cap a scenario may set (high-throughput FIFO's order of magnitude).
pub const SQS_THROUGHPUT_MAX: u32 = 100_000;
/// The FIFO deduplication interval: 5 minutes.
pub const SQS_DEDUP_WINDOW: Duration = Duration(5 * 60 * 1_000_000);
/// Published prices per million requests (us-east-1, after the free tier),
/// from <https://aws.amazon.com/sqs/pricing/>: an assumption to override.
pub const SQS_PRICE_STANDARD_USD: f64 = 0.40;
pub const SQS_PRICE_FIFO_USD: f64 = 0.50;

/// Standard or FIFO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SqsType {
    /// At-least-once, best-effort order, an occasional duplicate.
    #[default]
    Standard,
    /// Exactly-once processing within the dedup interval, order per message group.
    Fifo,
}

/// Where a FIFO queue's `MessageDeduplicationId` comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SqsDedup {
    /// The producer sets it to its business message id: its resends and the
    /// network's duplicates of one publish carry the same id.
    #[default]
    BusinessId,
    /// Content-based deduplication: the id is a hash of the body (here: the
    /// routing key, key, headers and payload size stand for the body).
    Content,
}

/// An SQS queue's attributes (a queue with this block is an SQS queue).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqsQueue {
    #[serde(default, rename = "type")]
    pub kind: SqsType,
    /// `VisibilityTimeout`: how long a received message stays invisible (default 30s).
    #[serde(default = "vt_default")]
    pub visibility_timeout: Duration,
    /// `DelaySeconds`: every new message is invisible this long first (default 0).
    #[serde(default = "zero")]
    pub delay: Duration,
    /// `MessageRetentionPeriod` (default 4 days).
    #[serde(default = "retention_default")]
    pub retention: Duration,
    /// Redrive policy: the dead-letter queue (an SQS queue of the same type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    /// Redrive policy: `maxReceiveCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_receive_count: Option<u32>,
    /// Standard queues: probability in [0, 1] that a `DeleteMessage` misses a
    /// stored copy, which is then received again (the documented occasional
    /// duplicate). Default 0.
    #[serde(default)]
    pub duplicate_rate: f64,
    /// FIFO queues: where the deduplication id comes from.
    #[serde(default)]
    pub deduplication: SqsDedup,
    /// FIFO queues: `SendMessage`, `ReceiveMessage` and `DeleteMessage` calls
    /// per second, each method its own budget (default 300, the documented
    /// limit without batching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_per_s: Option<u32>,
    /// Price per million requests in USD (default 0.40 standard, 0.50 FIFO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_million_usd: Option<f64>,
}

fn vt_default() -> Duration {
    Duration(30 * 1_000_000)
}

fn zero() -> Duration {
    Duration::ZERO
}

fn retention_default() -> Duration {
    SQS_RETENTION_DEFAULT
}

impl SqsQueue {
    pub fn fifo(&self) -> bool {
        self.kind == SqsType::Fifo
    }
    /// The price per million requests in force.
    pub fn price_usd(&self) -> f64 {
        self.price_per_million_usd.unwrap_or(if self.fifo() {
            SQS_PRICE_FIFO_USD
        } else {
            SQS_PRICE_STANDARD_USD
        })
    }
    /// The per-second cap on sends, receives and deletes (each its own), if
    /// any (FIFO only).
    pub fn throughput_cap(&self) -> Option<u32> {
        self.fifo()
            .then(|| self.throughput_per_s.unwrap_or(SQS_FIFO_THROUGHPUT_DEFAULT))
    }
}

/// How a consumer of an SQS queue polls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqsReceive {
    /// `WaitTimeSeconds`: 0 is short polling; up to 20s long polling (default 0).
    #[serde(default = "zero")]
    pub wait_time: Duration,
    /// `MaxNumberOfMessages`: 1 to 10 (default 1).
    #[serde(default = "one")]
    pub max_messages: u32,
    /// Short polling: pause after an empty receive before the next (default
    /// 100ms; a client loop's choice, not an SQS attribute).
    #[serde(default = "gap_default")]
    pub poll_gap: Duration,
}

fn one() -> u32 {
    1
}

fn gap_default() -> Duration {
    Duration(100_000)
}

impl Default for SqsReceive {
    fn default() -> Self {
        SqsReceive {
            wait_time: zero(),
            max_messages: 1,
            poll_gap: gap_default(),
        }
    }
}

pub fn check_visibility_timeout(d: Duration) -> Result<(), String> {
    if d > SQS_VISIBILITY_TIMEOUT_MAX {
        return Err("must be at most 12h (SQS's limit)".into());
    }
    Ok(())
}

pub fn check_wait_time(d: Duration) -> Result<(), String> {
    if d > SQS_WAIT_TIME_MAX {
        return Err("must be at most 20s (SQS's WaitTimeSeconds limit)".into());
    }
    Ok(())
}

pub fn check_max_messages(n: u32) -> Result<(), String> {
    if n == 0 || n > SQS_MAX_MESSAGES_MAX {
        return Err(format!("must be between 1 and {SQS_MAX_MESSAGES_MAX}"));
    }
    Ok(())
}

/// An SQS queue's values (not its references); every error, each naming its field.
pub fn check_sqs_queue(s: &SqsQueue) -> Vec<(&'static str, String)> {
    let mut errs = Vec::new();
    if let Err(e) = check_visibility_timeout(s.visibility_timeout) {
        errs.push(("visibility_timeout", e));
    }
    if s.delay > SQS_DELAY_MAX {
        errs.push(("delay", "must be at most 15m (SQS's limit)".into()));
    }
    if s.retention < SQS_RETENTION_MIN || s.retention > SQS_RETENTION_MAX {
        errs.push(("retention", "must be between 60s and 14 days".into()));
    }
    if let Some(n) = s.max_receive_count {
        if n == 0 || n > SQS_MAX_RECEIVE_COUNT_MAX {
            errs.push((
                "max_receive_count",
                format!("must be between 1 and {SQS_MAX_RECEIVE_COUNT_MAX}"),
            ));
        }
    }
    if s.max_receive_count.is_some() != s.dead_letter_queue.is_some() {
        errs.push((
            "max_receive_count",
            "a redrive policy needs both dead_letter_queue and max_receive_count".into(),
        ));
    }
    if !(0.0..=1.0).contains(&s.duplicate_rate) {
        errs.push(("duplicate_rate", "must be a probability in [0, 1]".into()));
    }
    if s.fifo() && s.duplicate_rate > 0.0 {
        errs.push((
            "duplicate_rate",
            "FIFO queues do not duplicate; only standard queues take a duplicate_rate".into(),
        ));
    }
    if let Some(t) = s.throughput_per_s {
        if !s.fifo() {
            errs.push((
                "throughput_per_s",
                "only FIFO queues have a throughput limit".into(),
            ));
        }
        if t == 0 || t > SQS_THROUGHPUT_MAX {
            errs.push((
                "throughput_per_s",
                format!("must be between 1 and {SQS_THROUGHPUT_MAX}"),
            ));
        }
    }
    if let Some(p) = s.price_per_million_usd {
        if !(0.0..=1000.0).contains(&p) {
            errs.push(("price_per_million_usd", "must be between 0 and 1000".into()));
        }
    }
    errs
}

/// A consumer's polling values; every error, each naming its field.
pub fn check_sqs_receive(r: &SqsReceive) -> Vec<(&'static str, String)> {
    let mut errs = Vec::new();
    if let Err(e) = check_wait_time(r.wait_time) {
        errs.push(("wait_time", e));
    }
    if let Err(e) = check_max_messages(r.max_messages) {
        errs.push(("max_messages", e));
    }
    if r.poll_gap.us() < 1000 || r.poll_gap.us() > 60_000_000 {
        errs.push(("poll_gap", "must be between 1ms and 60s".into()));
    }
    errs
}
