//! Live knobs: turn form values into engine `Command`s. Pure functions: they
//! read the live configuration and return the command to submit, or nothing
//! when the input does not parse (the engine validates the rest).
//!
//!   input text ──parse──► Command ──Sim::submit──► engine (logged, replayable)

use crate::engine::Command;
use crate::scenario::{
    Arrival, Backoff, CircuitBreaker, Consumer, Duration, Rate, RetryMode, RetryPolicy, Service,
};

/// The service time's typical value [ms] (mean or median).
pub fn service_ms(s: &Service) -> f64 {
    match s {
        Service::Constant(d) | Service::Exponential(d) => d.0 as f64 / 1e3,
        Service::Uniform([a, b]) => (a.0 + b.0) as f64 / 2e3,
        Service::LogNormal { median, .. } => median.0 as f64 / 1e3,
    }
}

pub fn service_kind(s: &Service) -> &'static str {
    match s {
        Service::Constant(_) => "constant",
        Service::Exponential(_) => "exponential (mean)",
        Service::Uniform(_) => "uniform (mean)",
        Service::LogNormal { .. } => "log-normal (median)",
    }
}

/// The same distribution rescaled so its typical value is `ms`.
pub fn service_with_ms(s: &Service, ms: f64) -> Service {
    let us = us_of_ms(ms);
    match s {
        Service::Constant(_) => Service::Constant(Duration(us)),
        Service::Exponential(_) => Service::Exponential(Duration(us)),
        Service::Uniform([a, b]) => {
            let mid = (a.0 + b.0) as f64 / 2.0;
            let k = if mid > 0.0 { us as f64 / mid } else { 1.0 };
            Service::Uniform([
                Duration((a.0 as f64 * k).round() as u64),
                Duration((b.0 as f64 * k).round() as u64),
            ])
        }
        Service::LogNormal { sigma, .. } => Service::LogNormal {
            median: Duration(us),
            sigma: *sigma,
        },
    }
}

/// Longest duration a knob accepts [µs]: ten years, like the scenario format.
const DURATION_US_CAP: f64 = 10.0 * 365.0 * 24.0 * 3600.0 * 1e6;

fn us_of_ms(ms: f64) -> u64 {
    (ms * 1e3).round().clamp(0.0, DURATION_US_CAP) as u64
}

fn num(text: &str) -> Option<f64> {
    crate::scenario::parse_f64(text)
}

pub fn set_rate(producer: &str, text: &str) -> Option<Command> {
    let r = num(text)?;
    (r >= 0.0).then(|| Command::SetRate {
        producer: producer.into(),
        rate: Rate(r),
    })
}

/// The arrival-pattern choices the knob offers, as (value, label).
pub const ARRIVAL_CHOICES: [(&str, &str); 5] = [
    ("poisson", "Poisson (random gaps)"),
    ("constant", "constant (even gaps)"),
    ("bursts:10", "bursts of 10"),
    ("bursts:50", "bursts of 50"),
    ("bursts:200", "bursts of 200"),
];

/// The knob value of an arrival pattern (see `ARRIVAL_CHOICES`).
pub fn arrival_value(a: &Arrival) -> String {
    match a {
        Arrival::Poisson => "poisson".into(),
        Arrival::Constant => "constant".into(),
        Arrival::Bursts { size } => format!("bursts:{size}"),
    }
}

pub fn set_arrival(producer: &str, value: &str) -> Option<Command> {
    let arrival = match value {
        "poisson" => Arrival::Poisson,
        "constant" => Arrival::Constant,
        other => Arrival::Bursts {
            size: other.strip_prefix("bursts:")?.parse().ok()?,
        },
    };
    Some(Command::SetArrival {
        producer: producer.into(),
        arrival,
    })
}

pub fn set_service(c: &Consumer, text: &str) -> Option<Command> {
    let ms = num(text)?;
    (ms >= 0.0).then(|| Command::SetService {
        consumer: c.id.clone(),
        service: service_with_ms(&c.service, ms),
    })
}

pub fn set_u32(text: &str) -> Option<u32> {
    let v = num(text)?;
    (v >= 0.0 && v <= u32::MAX as f64).then_some(v.round() as u32)
}

/// Optional duration in ms: blank means none.
pub fn opt_ms(text: &str) -> Option<Option<Duration>> {
    if text.trim().is_empty() {
        return Some(None);
    }
    let v = num(text)?;
    (v >= 0.0).then(|| Some(Duration(us_of_ms(v))))
}

/// Optional count: blank means unlimited.
pub fn opt_u32(text: &str) -> Option<Option<u32>> {
    if text.trim().is_empty() {
        return Some(None);
    }
    set_u32(text).map(Some)
}

/// A retry policy with `attempts` and the given fixed backoff, keeping the
/// current mode and parking lot.
pub fn retry_with(c: &Consumer, attempts: Option<u32>, backoff_ms: Option<f64>) -> Command {
    let cur = c.retry.clone().unwrap_or(RetryPolicy {
        max_attempts: 3,
        backoff: Backoff::Fixed(Duration::from_ms(200)),
        mode: RetryMode::Delayed,
        exhausted_to: None,
    });
    let backoff = match backoff_ms {
        Some(ms) if ms <= 0.0 => Backoff::Immediate,
        Some(ms) => Backoff::Fixed(Duration(us_of_ms(ms))),
        None => cur.backoff.clone(),
    };
    Command::SetRetry {
        consumer: c.id.clone(),
        retry: Some(RetryPolicy {
            max_attempts: attempts.unwrap_or(cur.max_attempts),
            backoff,
            ..cur
        }),
    }
}

pub fn backoff_ms(b: &Backoff) -> f64 {
    match b {
        Backoff::Immediate => 0.0,
        Backoff::Fixed(d) => d.0 as f64 / 1e3,
        Backoff::Exponential { initial, .. } => initial.0 as f64 / 1e3,
    }
}

pub fn backoff_text(b: &Backoff) -> String {
    match b {
        Backoff::Immediate => "immediate".into(),
        Backoff::Fixed(d) => format!("fixed {d}"),
        Backoff::Exponential {
            initial,
            multiplier,
            max,
            ..
        } => format!("exponential {initial} ×{multiplier} up to {max}"),
    }
}

/// "Publish one" form → `PublishOne`: empty routing key means the producer's
/// own, empty key means none; headers are written `name=value`, separated by
/// commas or new lines (blank entries ignored). `None` when a header entry has
/// no `=` or an empty name. The engine checks the length caps.
pub fn publish_one(producer: &str, routing_key: &str, key: &str, headers: &str) -> Option<Command> {
    let mut map = std::collections::BTreeMap::new();
    for entry in headers
        .split([',', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (name, value) = entry.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        map.insert(name.to_string(), value.trim().to_string());
    }
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    Some(Command::PublishOne {
        producer: producer.to_string(),
        routing_key: opt(routing_key),
        key: opt(key),
        headers: map,
    })
}

/// A probability typed as a percentage (0–100) → [0, 1]; None when it does not parse.
pub fn pct(text: &str) -> Option<f64> {
    let v = num(text)?;
    (0.0..=100.0).contains(&v).then_some(v / 100.0)
}

/// Which consumer fault a field sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerFault {
    CrashAfterReceive,
    CrashAfterEffect,
    AckDrop,
    DeliveryDrop,
    DeliveryDuplicate,
    DeliveryReorder,
    AckDuplicate,
}

/// `SetConsumerFaults` with one probability changed (percent text), the others kept.
pub fn consumer_fault(c: &Consumer, which: ConsumerFault, text: &str) -> Option<Command> {
    let p = pct(text)?;
    let mut f = c.faults.unwrap_or_default();
    match which {
        ConsumerFault::CrashAfterReceive => f.crash_after_receive = p,
        ConsumerFault::CrashAfterEffect => f.crash_after_effect = p,
        ConsumerFault::AckDrop => f.ack_drop = p,
        ConsumerFault::DeliveryDrop => f.delivery_drop = p,
        ConsumerFault::DeliveryDuplicate => f.delivery_duplicate = p,
        ConsumerFault::DeliveryReorder => f.delivery_reorder = p,
        ConsumerFault::AckDuplicate => f.ack_duplicate = p,
    }
    let none = f
        == crate::scenario::ConsumerFaults {
            restart_after: f.restart_after,
            reorder_delay: f.reorder_delay,
            ..Default::default()
        };
    Some(Command::SetConsumerFaults {
        consumer: c.id.clone(),
        faults: (!none || c.faults.is_some()).then_some(f),
    })
}

/// `SetCircuitBreaker` with its threshold (failures in a row; blank: no
/// breaker) or its open time (ms) changed, the rest kept. A new breaker
/// starts from 5 failures, 5 s open, 1 probe.
pub fn breaker_with(
    c: &Consumer,
    failures: Option<&str>,
    open_ms: Option<&str>,
) -> Option<Command> {
    let mut b = c.circuit_breaker.unwrap_or(CircuitBreaker {
        failures: 5,
        open_for: Duration::from_s(5),
        probes: 1,
    });
    if let Some(t) = failures {
        if t.trim().is_empty() {
            return Some(Command::SetCircuitBreaker {
                consumer: c.id.clone(),
                circuit_breaker: None,
            });
        }
        b.failures = set_u32(t)?;
    }
    if let Some(t) = open_ms {
        let ms = num(t)?;
        if ms < 0.0 {
            return None;
        }
        b.open_for = Duration(us_of_ms(ms));
    }
    Some(Command::SetCircuitBreaker {
        consumer: c.id.clone(),
        circuit_breaker: Some(b),
    })
}

/// `SetConsumerFaults` with the ack path's mean delay changed (ms text; 0 or
/// blank: none), the other faults kept.
pub fn ack_delay(c: &Consumer, text: &str) -> Option<Command> {
    let ms = if text.trim().is_empty() {
        0.0
    } else {
        num(text)?
    };
    if ms < 0.0 {
        return None;
    }
    let mut f = c.faults.unwrap_or_default();
    f.ack_delay = Duration(us_of_ms(ms));
    Some(Command::SetConsumerFaults {
        consumer: c.id.clone(),
        faults: Some(f),
    })
}

/// `SetDedup` from a window in seconds: blank means no dedup store.
pub fn dedup_window(consumer: &str, text: &str) -> Option<Command> {
    if text.trim().is_empty() {
        return Some(Command::SetDedup {
            consumer: consumer.into(),
            dedup: None,
        });
    }
    let s = num(text)?;
    (s > 0.0).then(|| Command::SetDedup {
        consumer: consumer.into(),
        dedup: Some(crate::scenario::Dedup {
            window: Duration(us_of_ms(s * 1e3)),
        }),
    })
}

/// Which link fault a field sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkFault {
    Drop,
    Duplicate,
    ConfirmDrop,
}

/// `SetLinkFaults` with one probability changed (percent text), the others kept.
pub fn link_fault(
    producer: &str,
    now: Option<crate::scenario::LinkFaults>,
    which: LinkFault,
    text: &str,
) -> Option<Command> {
    let p = pct(text)?;
    let mut f = now.unwrap_or_default();
    match which {
        LinkFault::Drop => f.drop = p,
        LinkFault::Duplicate => f.duplicate = p,
        LinkFault::ConfirmDrop => f.confirm_drop = p,
    }
    Some(Command::SetLinkFaults {
        producer: producer.into(),
        faults: Some(f),
    })
}
