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

/// Four messages into `q` (max_length 10, no consumer), then at 1 s the
/// limit drops to 1 and a fifth message arrives at 2.9 s.
fn lowered_limit(overflow: &str) -> Story {
    let json = format!(
        r#"{{
  "title": "lowered",
  "producers": [{{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": 4 }},
                {{ "id": "late", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "start": "1900ms" }}],
  "exchanges": [{{ "id": "dlx", "kind": "fanout", "bindings": [{{ "queue": "dead" }}] }}],
  "queues": [{{ "id": "q", "max_length": 10, "overflow": "{overflow}", "dead_letter_exchange": "dlx" }}, {{ "id": "dead" }}],
  "schedule": [{{ "at": "1s", "command": {{ "do": "set_max_length", "queue": "q", "max_length": 1 }} }}]
}}"#
    );
    story(&json, 3_000_000)
}

/// RabbitMQ's `maybe_drop_head` trims only drop-head queues: a reject-publish
/// queue keeps what it holds when its limit is lowered, stays over it, and
/// refuses every publish until it is below it again.
#[test]
fn a_lowered_limit_trims_drop_head_but_not_reject_publish() {
    let s = lowered_limit("drop-head");
    assert_eq!(s.depth("q"), 1, "drop-head trims to the new limit");
    assert_eq!(
        s.dead_letters().len(),
        4,
        "three at 1 s, then the head at 2.9 s"
    );
    for overflow in ["reject-publish", "reject-publish-dlx"] {
        let s = lowered_limit(overflow);
        assert_eq!(
            s.queue_head("q"),
            [(1, 0, false), (2, 0, false), (3, 0, false), (4, 0, false)],
            "{overflow}: nothing already queued is dropped"
        );
        let refused = s.engine.totals_now().enqueued;
        if overflow == "reject-publish" {
            assert!(s.dead_letters().is_empty(), "{overflow}");
            assert_eq!(s.drops(), [(ms(2900), 5, Reason::QueueFull)], "{overflow}");
            assert_eq!(refused, 4, "{overflow}");
        } else {
            assert_eq!(s.dead_letters(), [(ms(2900), 5, Reason::Maxlen, 1)]);
        }
        s.engine.check_invariants().unwrap();
    }
}

/// Switching an over-long queue to drop-head trims it at once (RabbitMQ's
/// `init_overflow`).
#[test]
fn switching_to_drop_head_trims_an_over_long_queue() {
    let json = r#"{
  "title": "switch",
  "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": 4 }],
  "queues": [{ "id": "q", "max_length": 10, "overflow": "reject-publish" }],
  "schedule": [{ "at": "1s", "command": { "do": "set_max_length", "queue": "q", "max_length": 1 } },
               { "at": "2s", "command": { "do": "set_overflow", "queue": "q", "overflow": "drop-head" } }]
}"#;
    let s = story(json, 3_000_000);
    assert_eq!(s.queue_head("q"), [(4, 0, false)]);
    assert_eq!(
        s.drops(),
        [
            (ms(2000), 1, Reason::Maxlen),
            (ms(2000), 2, Reason::Maxlen),
            (ms(2000), 3, Reason::Maxlen)
        ]
    );
}

/// A nacked message put back into a full reject-publish queue stays (the
/// queue is over its limit for a while); a drop-head queue drops its head
/// at once (`requeue_and_run` calls `maybe_drop_head`).
#[test]
fn a_requeue_into_a_full_queue_drops_only_for_drop_head() {
    for (overflow, dropped) in [("drop-head", true), ("reject-publish", false)] {
        let json = format!(
            r#"{{
  "title": "requeue",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 2 }}],
  "queues": [{{ "id": "q", "max_length": 1, "overflow": "{overflow}" }}],
  "consumers": [{{ "id": "c", "queue": "q", "prefetch": 1, "service": {{ "constant": "10ms" }},
                  "failure_rate": 1.0, "on_failure": "requeue" }}]
}}"#
        );
        let s = story(&json, 11_000);
        // 1 is delivered at 1 ms, 2 waits; at 11 ms 1 is nacked back to the head.
        let requeued = s.matching(|k| matches!(k, TraceKind::Requeued { depth: 2 }));
        assert_eq!(requeued.len(), 1, "{overflow}");
        if dropped {
            assert_eq!(s.drops(), [(ms(11), 1, Reason::Maxlen)], "{overflow}");
        } else {
            assert!(s.drops().is_empty(), "{overflow}: {:?}", s.drops());
        }
        s.engine.check_invariants().unwrap();
    }
}

/// RabbitMQ accepts reject-publish-dlx without a dead-letter exchange: the
/// refused message is nacked and discarded, as with reject-publish.
#[test]
fn reject_publish_dlx_without_a_dlx_refuses_and_drops() {
    let s = three_into_two("reject-publish-dlx", false);
    assert_eq!(s.queue_head("q"), [(1, 0, false), (2, 0, false)]);
    assert_eq!(s.drops(), [(ms(3), 3, Reason::Maxlen)]);
    assert!(s.dead_letters().is_empty());
}
