//! `x-max-length` overflow modes, as RabbitMQ documents them: `drop-head`
//! discards (dead-letters) the oldest ready message, `reject-publish` refuses
//! the newest, `reject-publish-dlx` refuses the newest and dead-letters it.
//! The limit counts ready messages only, not deliveries awaiting an ack.

use crate::common::*;
use queuelab::engine::{Reason, TraceKind};

/// Three messages at 1, 2 and 3 ms into `q` (max_length 2, no consumer).
fn three_into_two(overflow: &str, dlx: bool) -> Story {
    let dlx_field = if dlx {
        r#", "dead_letter_exchange": "dlx""#
    } else {
        ""
    };
    let json = format!(
        r#"{{
  "title": "overflow",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 3 }}],
  "exchanges": [{{ "id": "dlx", "kind": "fanout", "bindings": [{{ "queue": "dead" }}] }}],
  "queues": [{{ "id": "q", "max_length": 2, "overflow": "{overflow}" {dlx_field} }}, {{ "id": "dead" }}]
}}"#
    );
    story(&json, 1_000_000)
}

#[test]
fn drop_head_discards_the_oldest() {
    let s = three_into_two("drop-head", false);
    assert_eq!(s.queue_head("q"), [(2, 0, false), (3, 0, false)]);
    assert_eq!(s.drops(), [(ms(3), 1, Reason::Maxlen)]);
    // The newest was enqueued (depth 3 for an instant) before the head went.
    assert_eq!(s.enqueued("q"), [(ms(1), 1), (ms(2), 2), (ms(3), 3)]);
}

#[test]
fn drop_head_dead_letters_the_oldest_with_maxlen() {
    let s = three_into_two("drop-head", true);
    assert_eq!(s.queue_head("q"), [(2, 0, false), (3, 0, false)]);
    assert_eq!(s.dead_letters(), [(ms(3), 1, Reason::Maxlen, 1)]);
    assert_eq!(s.queue_head("dead"), [(1, 1, false)]);
}

#[test]
fn reject_publish_refuses_the_newest() {
    let s = three_into_two("reject-publish", false);
    assert_eq!(s.queue_head("q"), [(1, 0, false), (2, 0, false)]);
    assert_eq!(s.drops(), [(ms(3), 3, Reason::QueueFull)]);
    assert_eq!(s.enqueued("q"), [(ms(1), 1), (ms(2), 2)]);
    // A refused publish was never enqueued: the counter agrees with the trace.
    assert_eq!(s.engine.totals_now().enqueued, 2);
}

#[test]
fn reject_publish_never_dead_letters_even_with_a_dlx() {
    let s = three_into_two("reject-publish", true);
    assert_eq!(s.drops(), [(ms(3), 3, Reason::QueueFull)]);
    assert!(s.dead_letters().is_empty());
    assert_eq!(s.depth("dead"), 0);
}

#[test]
fn reject_publish_dlx_refuses_the_newest_and_dead_letters_it() {
    let s = three_into_two("reject-publish-dlx", true);
    assert_eq!(s.queue_head("q"), [(1, 0, false), (2, 0, false)]);
    assert_eq!(s.dead_letters(), [(ms(3), 3, Reason::Maxlen, 1)]);
    assert_eq!(s.queue_head("dead"), [(3, 1, false)]);
    assert!(s.drops().is_empty());
    assert_eq!(s.engine.totals_now().enqueued, 3, "2 in q, 1 in dead");
}

#[test]
fn max_length_counts_ready_messages_not_unacked_ones() {
    // A slow consumer holds message 1; the queue may still keep 1 ready message.
    let json = r#"{
  "title": "ready only",
  "producers": [{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 3 }],
  "queues": [{ "id": "q", "max_length": 1 }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "1s" } }]
}"#;
    let s = story(json, ms(500));
    assert_eq!(s.deliveries("c"), [(ms(1), 1, 0, false)]);
    // 2 is ready; 3 arrives and drop-head pushes 2 out.
    assert_eq!(s.drops(), [(ms(3), 2, Reason::Maxlen)]);
    assert_eq!(s.queue_head("q"), [(3, 0, false)]);
}

#[test]
fn max_length_zero_with_drop_head_keeps_nothing_ready() {
    let json = r#"{
  "title": "zero",
  "producers": [{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 2 }],
  "queues": [{ "id": "q", "max_length": 0, "overflow": "reject-publish" }]
}"#;
    let s = story(json, ms(500));
    assert_eq!(
        s.drops(),
        [(ms(1), 1, Reason::QueueFull), (ms(2), 2, Reason::QueueFull)]
    );
    assert!(s
        .matching(|k| matches!(k, TraceKind::Enqueued { .. }))
        .is_empty());
}
