//! Kafka producer timeouts, told as stories: an `acks=all` batch waiting for
//! a high watermark held by a stalled in-sync follower is answered
//! REQUEST_TIMED_OUT after the request timeout and sent again (appended
//! twice by a plain producer, a duplicate answered only once the high
//! watermark passes it for an idempotent one), and given up at the delivery
//! timeout, which counts from the batch's creation (linger included), not
//! from its arrival at the broker. Invariants are checked after every event.

use crate::common::{engine, run_checked};
use queuelab::engine::{Command, Engine, TraceEvent, TraceKind};
use queuelab::scenario::Duration;
use serde_json::{json, Value};

/// Producer `app` (acks=all, 1/s constant, 2 records, request timeout 1 s)
/// → a 1-partition topic, factor 2, `replica_lag_max` as given; the
/// follower stalls at 1.5 s, after the first record is replicated.
fn stalled(idempotent: bool, lag_max: &str) -> (Engine, Vec<TraceEvent>) {
    let s = json!({
        "title": "hw wait", "duration": "200s",
        "producers": [{"id": "app", "to": "events", "rate": "1/s", "arrival": "constant",
            "count": 2, "acks": "all", "idempotent": idempotent,
            "confirms": {"timeout": "1s", "retries": 1000}}],
        "topics": [{"id": "events", "partitions": 1,
            "replication": {"factor": 2, "min_insync": 1, "replica_lag": "10ms",
                "replica_lag_max": lag_max}}]
    })
    .to_string();
    let mut e = engine(&s, 1);
    run_checked(&mut e, 1_500_000);
    e.submit(Command::StallFollower {
        topic: "events".into(),
        partition: Some(0),
        duration: Duration::from_s(300),
    })
    .unwrap();
    run_checked(&mut e, 200_000_000);
    let trace = e.take_trace();
    (e, trace)
}

fn topic(e: &Engine) -> Value {
    serde_json::to_value(e.ledger_report()).unwrap()["streams"]["topics"]["events"].clone()
}

/// Time of record `msg`'s publish, and of every resend and give-up of its batch.
fn story_of(trace: &[TraceEvent], msg: u64) -> (u64, Vec<u64>, Vec<u64>) {
    let published = trace
        .iter()
        .find(|ev| ev.msg == Some(msg) && matches!(ev.kind, TraceKind::Published { .. }))
        .map(|ev| ev.t.0)
        .expect("published");
    let resent = trace
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::Resent { original, .. } if original == msg))
        .map(|ev| ev.t.0)
        .collect();
    let gave_up = trace
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::GaveUp { original, .. } if original == msg))
        .map(|ev| ev.t.0)
        .collect();
    (published, resent, gave_up)
}

/// The second record's id (the first is replicated before the stall).
fn second(trace: &[TraceEvent]) -> u64 {
    trace
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::Published { .. }))
        .nth(1)
        .and_then(|ev| ev.msg)
        .expect("two records")
}

#[test]
fn a_batch_held_by_a_stalled_follower_times_out_is_appended_again_and_given_up_at_the_delivery_timeout(
) {
    // The follower stays in the ISR for 200 s: longer than the delivery timeout.
    let (e, trace) = stalled(false, "200s");
    let msg = second(&trace);
    let (published, resent, gave_up) = story_of(&trace, msg);
    // Appended at once, unanswered: 1 s later REQUEST_TIMED_OUT, sent again
    // after the first back-off (100 ms ± 20%).
    let first = resent[0] - published;
    assert!((1_080_000..=1_120_000).contains(&first), "{first}");
    // Every attempt waits its request timeout, then backs off (≤ 1 s).
    for w in resent.windows(2) {
        let gap = w[1] - w[0];
        assert!((1_080_000..=2_000_000).contains(&gap), "{gap}: {resent:?}");
    }
    // Given up exactly 120 s after the record was produced, and never sent after.
    assert_eq!(gave_up, vec![published + 120_000_000], "{resent:?}");
    assert!(resent.iter().all(|&t| t < published + 120_000_000));
    // A plain producer's every resend is appended again: all in the log,
    // nothing lost, the high watermark still held at the first copy.
    let t = topic(&e);
    assert!(resent.len() >= 55, "{}", resent.len());
    assert_eq!(t["duplicates_appended"], resent.len() as u64, "{t}");
    assert_eq!(t["unacked_lost"], 0, "{t}");
    assert_eq!(e.partition_hw("events", 0), Some(1));
}

#[test]
fn an_idempotent_resend_is_a_duplicate_answered_only_when_the_high_watermark_passes_it() {
    // The follower leaves the ISR 60 s after its stall began (at 61.5 s):
    // the high watermark then reaches the record and the batch is answered.
    let (e, trace) = stalled(true, "60s");
    let msg = second(&trace);
    let (_, resent, gave_up) = story_of(&trace, msg);
    let shrunk = trace
        .iter()
        .find(|ev| matches!(ev.kind, TraceKind::IsrShrunk { .. }))
        .map(|ev| ev.t.0)
        .expect("isr shrunk");
    assert_eq!(shrunk, 61_500_000);
    // Each resend is a DuplicateSequence that waits for the high watermark
    // again (it is not a success before then), so it times out again: the
    // batch is sent about every 2 s until the shrink; a resend still in its
    // back-off then is the last (answered at once: the watermark is past it).
    assert!(resent.len() >= 25, "{resent:?}");
    assert!(
        resent.iter().filter(|&&t| t >= shrunk).count() <= 1,
        "{resent:?}"
    );
    assert!(resent.iter().all(|&t| t < shrunk + 1_000_000), "{resent:?}");
    assert!(gave_up.is_empty(), "{gave_up:?}");
    let t = topic(&e);
    assert_eq!(t["duplicates_rejected"], resent.len() as u64, "{t}");
    assert_eq!(t["duplicates_appended"], 0, "{t}");
    assert_eq!(
        e.partition_hw("events", 0),
        Some(2),
        "both records, once each"
    );
}

#[test]
fn the_delivery_timeout_counts_from_the_batch_creation_linger_included() {
    // A batch opened at 1 s lingers 50 s; its partition is offline (the only
    // replica crashed, back at 300 s): error answers are retried with back-off
    // until 120 s after the batch was created — 121 s, not 171 s.
    let s = json!({
        "title": "delivery timeout", "duration": "200s",
        "producers": [{"id": "app", "to": "events", "rate": "1/s", "arrival": "constant",
            "count": 1, "acks": "all", "linger": "50s", "batch_size": 100}],
        "topics": [{"id": "events", "partitions": 1, "replication": {"factor": 1}}]
    })
    .to_string();
    let mut e = engine(&s, 1);
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(300)),
    })
    .unwrap();
    run_checked(&mut e, 200_000_000);
    let trace = e.take_trace();
    let msg = trace
        .iter()
        .find(|ev| matches!(ev.kind, TraceKind::Published { .. }))
        .and_then(|ev| ev.msg)
        .unwrap();
    let (published, resent, gave_up) = story_of(&trace, msg);
    assert_eq!(published, 1_000_000);
    assert!(
        resent.first().is_some_and(|&t| t > 51_000_000),
        "{resent:?}"
    );
    assert_eq!(gave_up, vec![121_000_000], "{resent:?}");
    assert_eq!(topic(&e)["unacked_lost"], 1);
}
