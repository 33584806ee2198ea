//! Alert rules (`alerts[]`): the survey's "implement alerting for high error
//! rates" and "monitor queue depth and processing lag", evaluated the way
//! Prometheus evaluates an alerting rule.
//!
//!   every `every`: value ──value > above?──► inactive ──► pending (held `for`) ──► firing
//!                                              ▲                                     │
//!                                              └────────── condition false ◄─────────┘
//!
//! A rule watches one node: the error rate of a consumer or consumer group
//! (handler failures over handler runs in the trailing `window`, retries and
//! redeliveries each a run), the depth of a queue, or the lag of a consumer
//! group. As in Prometheus, a rule whose condition holds becomes *pending*
//! and *fires* once it has held for `for` (0: at once); a pending rule whose
//! condition fails goes back to inactive without firing; a firing one is
//! *resolved* — or, with `keep_firing_for`, keeps firing until the
//! condition has failed at every evaluation for that long (Prometheus'
//! `keep_firing_for`, against an alert that flaps around its threshold). A
//! window with no handler run has no error rate (Prometheus' NaN), which
//! never satisfies the condition. Alerts watch; they never change the run.

use super::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One alerting rule. The condition is `value > above`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Name, unique among the alerts (letters, digits, `- _ . :`, at most 64 characters).
    pub id: String,
    /// What is watched: `error_rate` (a consumer or consumer group), `depth`
    /// (a queue's ready messages; an SQS queue's visible ones) or `lag` (a
    /// consumer group's records behind the log end).
    pub metric: AlertMetric,
    /// The node watched.
    pub node: String,
    /// The threshold: the alert's condition is `value > above` (an error
    /// rate is a fraction, 0.05 for 5%; depth and lag are messages).
    pub above: f64,
    /// `error_rate` only: the trailing window the rate is taken over
    /// (default 10s; at least `every`, at most 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// How long the condition must hold before the alert fires (Prometheus'
    /// `for`; default 0: at the first evaluation that sees it).
    #[serde(default, rename = "for", skip_serializing_if = "is_zero")]
    pub hold: Duration,
    /// How long a firing alert keeps firing after its condition stopped
    /// holding (Prometheus' `keep_firing_for`; default 0: resolved at the
    /// first evaluation that finds it false). Counted from that evaluation;
    /// the condition holding again restarts it. At most 1h.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_firing_for: Duration,
    /// Evaluation interval (default 1s; 10ms to 1h).
    #[serde(default = "default_every")]
    pub every: Duration,
}

/// What an alert rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// Handler failures ÷ handler runs of a consumer or consumer group over
    /// the trailing `window`.
    ErrorRate,
    /// A queue's ready messages (an SQS queue's visible ones), at the evaluation.
    Depth,
    /// A consumer group's lag in records (log end − committed, summed over
    /// its partitions), at the evaluation.
    Lag,
}

impl AlertMetric {
    pub fn name(self) -> &'static str {
        match self {
            AlertMetric::ErrorRate => "error_rate",
            AlertMetric::Depth => "depth",
            AlertMetric::Lag => "lag",
        }
    }

    /// A value of this metric as people read it: `12.5%`, `40 messages`.
    pub fn show(self, value: f64) -> String {
        match self {
            AlertMetric::ErrorRate => {
                let pct = value * 100.0;
                if pct != 0.0 && pct < 1.0 {
                    format!("{pct:.2}%")
                } else {
                    format!("{pct:.1}%")
                }
            }
            AlertMetric::Depth => format!("{value:.0} ready"),
            AlertMetric::Lag => format!("lag {value:.0}"),
        }
    }
}

impl AlertRule {
    /// The rule's condition in words: `error rate > 5% over 10s`.
    pub fn describe(&self) -> String {
        let cond = match self.metric {
            AlertMetric::ErrorRate => format!(
                "error rate > {} over {}",
                trim_pct(self.above),
                self.window_or_default()
            ),
            AlertMetric::Depth => format!("depth > {}", self.above),
            AlertMetric::Lag => format!("lag > {}", self.above),
        };
        let cond = if self.hold.us() > 0 {
            format!("{cond} for {}", self.hold)
        } else {
            cond
        };
        if self.keep_firing_for.us() > 0 {
            format!("{cond}, keep firing for {}", self.keep_firing_for)
        } else {
            cond
        }
    }

    /// The error-rate window, its default filled in.
    pub fn window_or_default(&self) -> Duration {
        self.window.unwrap_or(DEFAULT_WINDOW)
    }
}

/// A fraction as a percentage without trailing zeros: 0.05 → `5%`, 0.125 → `12.5%`.
fn trim_pct(f: f64) -> String {
    let s = format!("{:.3}", f * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// The default error-rate window.
pub const DEFAULT_WINDOW: Duration = Duration(10_000_000);
/// Limits: rules per scenario, the evaluation interval, the window and `for`.
pub const ALERTS_MAX: usize = 64;
pub const ALERT_EVERY_MIN_US: u64 = 10_000;
pub const ALERT_SPAN_MAX_US: u64 = 3_600_000_000;
/// Evaluations a window may span (bounds the history a rule keeps).
pub const ALERT_WINDOW_STEPS_MAX: u64 = 10_000;

fn default_every() -> Duration {
    Duration(1_000_000)
}

fn is_zero(d: &Duration) -> bool {
    d.us() == 0
}
