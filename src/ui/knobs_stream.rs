//! Knob values of the log-based half (commit policy, seek) and the commands
//! they become. Pure functions, like `knobs.rs`: `None` when the input does not
//! parse (the engine checks the rest).

use crate::engine::Command;
use crate::scenario::{CommitPer, CommitPolicy, Duration, SeekTo};

/// The commit-policy choices the knob offers, as (value, label).
pub const COMMIT_CHOICES: [(&str, &str); 5] = [
    ("auto:1000", "auto-commit every 1 s"),
    ("auto:5000", "auto-commit every 5 s"),
    ("record", "after processing, per record"),
    ("batch", "after processing, per batch"),
    ("before", "before processing"),
];

/// The knob value of a commit policy (see `COMMIT_CHOICES`).
pub fn commit_value(c: &CommitPolicy) -> String {
    match c {
        CommitPolicy::Auto { interval } => format!("auto:{}", interval.us() / 1000),
        CommitPolicy::AfterProcessing {
            per: CommitPer::Record,
        } => "record".into(),
        CommitPolicy::AfterProcessing {
            per: CommitPer::Batch,
        } => "batch".into(),
        CommitPolicy::BeforeProcessing => "before".into(),
    }
}

/// Parse a commit-policy knob value.
pub fn commit_of(v: &str) -> Option<CommitPolicy> {
    Some(match v {
        "record" => CommitPolicy::AfterProcessing {
            per: CommitPer::Record,
        },
        "batch" => CommitPolicy::AfterProcessing {
            per: CommitPer::Batch,
        },
        "before" => CommitPolicy::BeforeProcessing,
        other => CommitPolicy::Auto {
            interval: Duration::from_ms(other.strip_prefix("auto:")?.parse().ok()?),
        },
    })
}

/// The seek knob: "beginning", "end", "offset:N" or "time:MS".
pub fn seek_of(group: &str, how: &str, value: &str) -> Option<Command> {
    let to = match how {
        "beginning" => SeekTo::Beginning,
        "end" => SeekTo::End,
        "offset" => SeekTo::Offset(value.trim().parse().ok()?),
        "time" => {
            let ms: f64 = value.trim().parse().ok()?;
            if !(ms.is_finite() && ms >= 0.0) {
                return None;
            }
            SeekTo::Timestamp(Duration((ms * 1e3).round() as u64))
        }
        _ => return None,
    };
    Some(Command::SeekGroup {
        group: group.to_string(),
        to,
        partition: None,
        topic: None,
    })
}
