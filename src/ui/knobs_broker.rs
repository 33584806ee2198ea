//! Live knobs of the other brokers (Redis, SQS, Pulsar): form text → engine
//! `Command`, or an error that names the field. Pure functions; the engine
//! still checks each command against its own limits (SQS's 12 h visibility
//! timeout, Pulsar's 1 s ack timeout, …) and its refusal shows the same way.
//!
//!   "30s" / "30" (in the field's unit) / "off" ──parse──► Command ──Msg::Knob──► Sim::submit
//!
//! Durations are typed with a unit (`250ms`, `1.5s`, `2m`) or as a bare
//! number in the unit the field's label names; sizes as bytes or with a unit
//! (`64kb`, `8mb`, `1gb`, powers of 1024 as in redis.conf).

use crate::engine::Command;
use crate::scenario::{parse_duration, Duration, OutputBufferLimit};

/// A duration typed into field `field`: `250ms`, `1.5s`, or a bare number in `unit`.
pub fn duration_in(field: &str, text: &str, unit: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("{field}: type a duration such as \"5{unit}\""));
    }
    let bare = t.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let with_unit = if bare {
        format!("{t}{unit}")
    } else {
        t.to_string()
    };
    parse_duration(&with_unit).map_err(|e| format!("{field}: {e}"))
}

/// Blank, `off` or `none` mean no duration; anything else as in `duration_in`.
pub fn opt_duration_in(field: &str, text: &str, unit: &str) -> Result<Option<Duration>, String> {
    if is_off(text) {
        return Ok(None);
    }
    duration_in(field, text, unit).map(Some)
}

fn is_off(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "" | "off" | "none"
    )
}

/// A whole number typed into field `field`, within `min..=max`.
pub fn count_in(field: &str, text: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = text.trim();
    let n: u64 = t
        .parse()
        .map_err(|_| format!("{field}: {t:?} is not a whole number"))?;
    if n < min || n > max {
        return Err(format!("{field}: must be from {min} to {max}, not {n}"));
    }
    Ok(n)
}

/// A size in bytes: `1048576`, `64kb`, `8mb`, `1gb` (powers of 1024, as redis.conf).
pub fn bytes_in(field: &str, text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let k: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        other => {
            return Err(format!(
                "{field}: unknown size unit {other:?}; use bytes, kb, mb or gb"
            ))
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{field}: {:?} is not a size like \"8mb\"", text.trim()))?;
    n.checked_mul(k)
        .ok_or_else(|| format!("{field}: {:?} is too large", text.trim()))
}

// ---------------------------------------------------------------- Redis

/// `SetOutputBufferLimit` from the three fields (hard, soft, soft seconds).
pub fn output_buffer_limit(
    server: &str,
    hard: &str,
    soft: &str,
    soft_time: &str,
) -> Result<Command, String> {
    Ok(Command::SetOutputBufferLimit {
        server: server.into(),
        limit: OutputBufferLimit {
            hard_bytes: bytes_in("hard limit", hard)?,
            soft_bytes: bytes_in("soft limit", soft)?,
            soft_seconds: duration_in("soft limit time", soft_time, "s")?,
        },
    })
}

/// `Subscribe` / `Unsubscribe`: a name with `*`, `?` or `[` is a pattern
/// (PSUBSCRIBE / PUNSUBSCRIBE), anything else a channel.
pub fn subscription(subscriber: &str, text: &str, subscribe: bool) -> Result<Command, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(format!(
            "channel or pattern: type one name without spaces (e.g. \"orders.eu\" or \"orders.*\"), not {name:?}"
        ));
    }
    let pattern = name.contains(['*', '?', '[']);
    let (channel, pattern) = if pattern {
        (None, Some(name.to_string()))
    } else {
        (Some(name.to_string()), None)
    };
    let subscriber = subscriber.to_string();
    Ok(if subscribe {
        Command::Subscribe {
            subscriber,
            channel,
            pattern,
        }
    } else {
        Command::Unsubscribe {
            subscriber,
            channel,
            pattern,
        }
    })
}

/// `SetMaxlen`: blank, `off` or `none` stop trimming.
pub fn set_maxlen(stream: &str, text: &str) -> Result<Command, String> {
    let maxlen = if is_off(text) {
        None
    } else {
        Some(count_in("MAXLEN", text, 0, u64::MAX)?)
    };
    Ok(Command::SetMaxlen {
        stream: stream.into(),
        maxlen,
    })
}

/// `SetMinIdleTime` (ms by default): blank, `off` or `none` stop claiming.
pub fn set_min_idle_time(group: &str, text: &str) -> Result<Command, String> {
    Ok(Command::SetMinIdleTime {
        group: group.into(),
        min_idle_time: opt_duration_in("min-idle-time", text, "ms")?,
    })
}

// ---------------------------------------------------------------- Pulsar

/// `SetPulsarAckTimeout` (s by default): blank, `off` or `none` turn it off.
pub fn pulsar_ack_timeout(subscription: &str, text: &str) -> Result<Command, String> {
    Ok(Command::SetPulsarAckTimeout {
        subscription: subscription.into(),
        timeout: opt_duration_in("ack timeout", text, "s")?,
    })
}

/// `SetPulsarNackDelay` (s by default).
pub fn pulsar_nack_delay(subscription: &str, text: &str) -> Result<Command, String> {
    Ok(Command::SetPulsarNackDelay {
        subscription: subscription.into(),
        delay: duration_in("negative-ack delay", text, "s")?,
    })
}

// ---------------------------------------------------------------- SQS

/// `SetVisibilityTimeout` (s by default).
pub fn sqs_visibility_timeout(queue: &str, text: &str) -> Result<Command, String> {
    Ok(Command::SetVisibilityTimeout {
        queue: queue.into(),
        visibility_timeout: duration_in("visibility timeout", text, "s")?,
    })
}

/// `ChangeMessageVisibility` for every message in flight (s by default; 0: visible at once).
pub fn sqs_change_visibility(queue: &str, text: &str) -> Result<Command, String> {
    Ok(Command::ChangeMessageVisibility {
        queue: queue.into(),
        visibility_timeout: duration_in("new visibility", text, "s")?,
        message: None,
    })
}

/// `SetWaitTime` (s by default; 0: short polling).
pub fn sqs_wait_time(consumer: &str, text: &str) -> Result<Command, String> {
    Ok(Command::SetWaitTime {
        consumer: consumer.into(),
        wait_time: duration_in("wait time", text, "s")?,
    })
}

/// `SetMaxMessages`: 1 to 10, as SQS allows.
pub fn sqs_max_messages(consumer: &str, text: &str) -> Result<Command, String> {
    Ok(Command::SetMaxMessages {
        consumer: consumer.into(),
        max_messages: count_in("max messages", text, 1, 10)? as u32,
    })
}
