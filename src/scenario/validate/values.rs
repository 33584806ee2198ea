//! Validation of single values a command can also set live (a service-time
//! distribution, an arrival process, a retry policy): each returns the first
//! problem in words with the field it is in (`FieldError`), and the caller
//! adds the value's own JSON path (split from
//! `validate.rs`).

use super::*;

/// A problem with one field inside a checked value: `field` is its path
/// below the value (`exponential`, `backoff.exponential.jitter`), appended to
/// the value's own path in a validation error; `msg` reads on its own (a
/// command's error shows only it).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub field: &'static str,
    pub msg: String,
}

impl FieldError {
    fn new(field: &'static str, msg: impl Into<String>) -> Self {
        FieldError {
            field,
            msg: msg.into(),
        }
    }
}

pub fn check_service(s: &Service) -> Result<(), FieldError> {
    // A zero service time would let a failing, requeueing consumer loop
    // forever without the clock moving.
    let positive = |d: &Duration, field: &'static str, what: &str| {
        if d.us() == 0 {
            Err(FieldError::new(
                field,
                format!("{what} must be at least 1us"),
            ))
        } else {
            Ok(())
        }
    };
    match s {
        Service::Constant(d) => positive(d, "constant", "constant service time"),
        Service::Exponential(d) => positive(d, "exponential", "exponential mean"),
        Service::Uniform([a, _]) if a.us() == 0 => Err(FieldError::new(
            "uniform[0]",
            "uniform low bound must be at least 1us",
        )),
        Service::LogNormal { median, .. } if median.us() == 0 => Err(FieldError::new(
            "log_normal.median",
            "log_normal median must be at least 1us",
        )),
        Service::Uniform([a, b]) if a > b => Err(FieldError::new(
            "uniform",
            "uniform bounds must be [low, high]",
        )),
        Service::Uniform(_) => Ok(()),
        Service::LogNormal { sigma, .. }
            if !(sigma.is_finite() && *sigma >= 0.0 && *sigma <= 5.0) =>
        {
            Err(FieldError::new(
                "log_normal.sigma",
                "log_normal sigma must be between 0 and 5",
            ))
        }
        Service::LogNormal { .. } => Ok(()),
    }
}

/// Checks for an arrival pattern given the producer's rate (used by the
/// `set_arrival` command; scenario validation reports the same rules by field).
pub fn check_arrival(a: &Arrival, rate: Rate) -> Result<(), String> {
    if let Arrival::Bursts { size } = a {
        if *size == 0 || *size > BURST_MAX {
            return Err(format!("burst size must be between 1 and {BURST_MAX}"));
        }
        if rate.per_s() > 0.0 && *size as f64 / rate.per_s() > 86_400.0 {
            return Err("bursts must come at least once a day at this rate".into());
        }
    }
    Ok(())
}

pub fn check_retry(r: &RetryPolicy) -> Result<(), FieldError> {
    if r.mode == RetryMode::RetryQueue && r.backoff != Backoff::Immediate {
        return Err(FieldError::new(
            "backoff",
            "backoff does not apply to retry_queue mode (the wait queue's ttl is the delay); remove it or use mode \"delayed\"",
        ));
    }
    if r.max_attempts == 0 || r.max_attempts > ATTEMPTS_MAX {
        return Err(FieldError::new(
            "max_attempts",
            format!("max_attempts must be between 1 and {ATTEMPTS_MAX}"),
        ));
    }
    if let Backoff::Exponential {
        initial,
        multiplier,
        max,
        jitter,
    } = &r.backoff
    {
        if !(multiplier.is_finite() && *multiplier >= 1.0 && *multiplier <= 100.0) {
            return Err(FieldError::new(
                "backoff.exponential.multiplier",
                "backoff multiplier must be between 1 and 100",
            ));
        }
        if !(jitter.is_finite() && *jitter >= 0.0 && *jitter <= 1.0) {
            return Err(FieldError::new(
                "backoff.exponential.jitter",
                "backoff jitter must be a fraction between 0 and 1",
            ));
        }
        if max < initial {
            return Err(FieldError::new(
                "backoff.exponential.max",
                "backoff max must be at least initial",
            ));
        }
    }
    Ok(())
}
