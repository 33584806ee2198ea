//! Validation of the delivery-guarantee knobs: link faults, consumer faults,
//! publisher confirms and dedup stores (split from `validate.rs` to keep files
//! small). Each check returns the offending field's name, so the scenario
//! validator and the engine's command checks name the same path.

use super::*;

/// Longest delay a fault, confirm or dedup setting may ask for (the
/// engine's own bound on one delay).
const FAULT_DELAY_US_MAX: u64 = 24 * 3600 * 1_000_000;

/// A probability field: finite and in [0, 1].
fn prob_ok(p: f64) -> bool {
    p.is_finite() && (0.0..=1.0).contains(&p)
}

/// Check link faults; the error names the field. A topic producer's link
/// takes only `drop` and `confirm_drop` (a lost request or response).
pub fn check_link_faults(
    f: &crate::scenario::LinkFaults,
    to_topic: bool,
) -> Result<(), (&'static str, String)> {
    for (name, set) in [
        ("duplicate", f.duplicate > 0.0),
        ("jitter", f.jitter.us() > 0),
    ] {
        if to_topic && set {
            return Err((
                name,
                "a topic producer's link takes `drop` and `confirm_drop` (a lost request or response); `duplicate` and `jitter` are for queue producers".into(),
            ));
        }
    }
    for (name, p) in [
        ("drop", f.drop),
        ("duplicate", f.duplicate),
        ("confirm_drop", f.confirm_drop),
    ] {
        if !prob_ok(p) {
            return Err((name, "must be between 0 and 1".into()));
        }
    }
    if f.jitter.us() > FAULT_DELAY_US_MAX {
        return Err(("jitter", "must be at most 24h".into()));
    }
    Ok(())
}

/// Check consumer faults; the error names the field.
pub fn check_consumer_faults(
    f: &crate::scenario::ConsumerFaults,
) -> Result<(), (&'static str, String)> {
    for (name, p) in [
        ("crash_after_receive", f.crash_after_receive),
        ("crash_after_effect", f.crash_after_effect),
        ("ack_drop", f.ack_drop),
        ("delivery_drop", f.delivery_drop),
        ("delivery_duplicate", f.delivery_duplicate),
        ("delivery_reorder", f.delivery_reorder),
        ("ack_duplicate", f.ack_duplicate),
    ] {
        if !prob_ok(p) {
            return Err((name, "must be between 0 and 1".into()));
        }
    }
    for (name, d) in [
        ("delivery_delay", f.delivery_delay),
        ("ack_delay", f.ack_delay),
    ] {
        if d.us() > FAULT_DELAY_US_MAX {
            return Err((name, "must be at most 24h".into()));
        }
    }
    // A held-back delivery must come back later than the instant it left.
    if f.reorder_delay.us() == 0 || f.reorder_delay.us() > FAULT_DELAY_US_MAX {
        return Err((
            "reorder_delay",
            "must be more than 0 and at most 24h".into(),
        ));
    }
    // A crash at every delivery with no downtime would never let the
    // clock move past the instant: a restart takes at least 1 ms.
    if f.restart_after.us() < 1000 || f.restart_after.us() > FAULT_DELAY_US_MAX {
        return Err(("restart_after", "must be between 1ms and 24h".into()));
    }
    Ok(())
}

/// Check publisher confirms; the error names the field.
pub fn check_confirms(c: &crate::scenario::Confirms) -> Result<(), (&'static str, String)> {
    if c.timeout.us() < 1000 || c.timeout.us() > FAULT_DELAY_US_MAX {
        return Err(("timeout", "must be between 1ms and 24h".into()));
    }
    if c.retries > ATTEMPTS_MAX {
        return Err(("retries", format!("must be at most {ATTEMPTS_MAX}")));
    }
    Ok(())
}

/// Check a dedup store; the error names the field.
pub fn check_dedup(d: &crate::scenario::Dedup) -> Result<(), (&'static str, String)> {
    if d.window.us() == 0 || d.window.us() > FAULT_DELAY_US_MAX {
        return Err(("window", "must be more than 0 and at most 24h".into()));
    }
    Ok(())
}
