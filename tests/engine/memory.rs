//! What a message costs in memory: a plain queued message at most 64 bytes,
//! and a bounded cost however often a message is dead-lettered or copied.

use crate::common::{engine, run_checked};
use queuelab::engine::SimTime;

/// The issue-6 budget for a plain queued message (slot, queue entry and heap share).
const PLAIN_QUEUED_BYTES_MAX: f64 = 64.0;

#[test]
fn a_plain_queued_message_costs_at_most_64_bytes() {
    // A producer and a queue nobody reads: every message stays queued.
    let json = r#"{
  "title": "parked",
  "producers": [{ "id": "p", "to": "park", "rate": "1000/s", "arrival": "constant" }],
  "queues": [{ "id": "park" }]
}"#;
    let mut e = engine(json, 1);
    e.set_trace_capture(false, 1);
    e.run_until(SimTime(20_000_000), u64::MAX);
    assert_eq!(e.ledger().queued, 20_000);
    let bytes = e.bytes_per_live_message();
    assert!(
        bytes <= PLAIN_QUEUED_BYTES_MAX,
        "a plain queued message costs {bytes} B"
    );
    assert!(bytes >= 40.0, "the count must include the slot: {bytes} B");
}

#[test]
fn fan_out_copies_share_their_history_instead_of_copying_it() {
    // 16 queues behind one fanout, nobody consuming: 16 entities per publish,
    // the 15 copies sharing one extension record with the original.
    let queues: Vec<String> = (0..16).map(|i| format!(r#"{{ "id": "q{i}" }}"#)).collect();
    let bindings: Vec<String> = (0..16)
        .map(|i| format!(r#"{{ "queue": "q{i}" }}"#))
        .collect();
    let json = format!(
        r#"{{
  "title": "fan-out parked",
  "producers": [{{ "id": "p", "to": "fan", "rate": "100/s", "arrival": "constant" }}],
  "exchanges": [{{ "id": "fan", "kind": "fanout", "bindings": [{}] }}],
  "queues": [{}]
}}"#,
        bindings.join(","),
        queues.join(",")
    );
    let mut e = engine(&json, 1);
    run_checked(&mut e, 5_000_000);
    assert_eq!(e.ledger().queued, 16 * 500);
    let bytes = e.bytes_per_live_message();
    assert!(bytes <= 72.0, "a fan-out copy costs {bytes} B");
}

/// A ring of short-TTL, length-capped queues whose consumers reject every
/// message, all dead-lettering into one fanout bound to every queue of the
/// ring: rejections keep the cycle rule from cutting the loop, so every
/// message is copied and dead-lettered over and over, for every reason.
fn dead_letter_ring(n: usize) -> String {
    let ids: Vec<String> = (0..n).map(|i| format!("ring-{i}")).collect();
    let queues: Vec<String> = ids
        .iter()
        .map(|q| {
            format!(
                r#"{{ "id": "{q}", "ttl": "3ms", "max_length": 20, "dead_letter_exchange": "fan" }}"#
            )
        })
        .collect();
    let consumers: Vec<String> = ids
        .iter()
        .map(|q| {
            format!(
                r#"{{ "id": "c-{q}", "queue": "{q}", "service": {{ "constant": "1ms" }}, "failure_rate": 1.0, "on_failure": "dead_letter" }}"#
            )
        })
        .collect();
    let bindings: Vec<String> = ids
        .iter()
        .map(|q| format!(r#"{{ "queue": "{q}" }}"#))
        .collect();
    format!(
        r#"{{
  "title": "dead-letter ring",
  "producers": [{{ "id": "p", "to": "ring-0", "rate": "50/s", "arrival": "constant" }}],
  "exchanges": [{{ "id": "fan", "kind": "fanout", "bindings": [{}] }}],
  "queues": [{}],
  "consumers": [{}]
}}"#,
        bindings.join(","),
        queues.join(","),
        consumers.join(",")
    )
}

#[test]
fn the_death_log_stays_bounded_in_a_dead_letter_ring() {
    let mut e = engine(&dead_letter_ring(4), 1);
    e.set_trace_capture(false, 1);
    let mut bytes_max: f64 = 0.0;
    let mut deaths_max = 0;
    for step in 1..=20 {
        run_checked(&mut e, step * 250_000);
        bytes_max = bytes_max.max(e.bytes_per_live_message());
        for n in e.snapshot().nodes {
            if let queuelab::engine::NodeView::Queue { head, .. } = n {
                deaths_max = deaths_max.max(head.iter().map(|m| m.deaths).max().unwrap_or(0));
            }
        }
    }
    assert!(e.totals().dead_lettered > 10_000, "{:?}", e.totals());
    // Many more deaths than (queue, reason) pairs: a log with one entry per
    // dead-lettering would have outgrown the bound below long ago.
    assert!(
        deaths_max > 50,
        "deaths per message reached only {deaths_max}"
    );
    // Slot + queue entry + extension record + at most 4 queues × 4 reasons
    // of 12-byte log entries (56 + 4 + 80 + 16 × 12 = 332).
    assert!(
        bytes_max <= 332.0,
        "a message in the ring costs up to {bytes_max} B"
    );
}
