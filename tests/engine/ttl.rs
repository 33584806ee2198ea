//! Message TTL: per queue (`x-message-ttl`), per message (`expiration`), the
//! lower of the two when both apply, and expiry only at the head of the queue.

use crate::common::*;
use queuelab::engine::{Reason, TraceKind};

fn expiries(s: &Story) -> Vec<(u64, u64)> {
    s.matching(|k| *k == TraceKind::Expired)
        .iter()
        .map(|e| (e.t.0, e.msg.unwrap()))
        .collect()
}

#[test]
fn per_queue_ttl_expires_each_message_after_its_wait() {
    let json = r#"{
  "title": "queue ttl",
  "producers": [{ "id": "p", "to": "q", "rate": "100/s", "arrival": "constant", "count": 3 }],
  "queues": [{ "id": "q", "ttl": "35ms" }]
}"#;
    let s = story(json, 1_000_000);
    // Published at 10, 20, 30 ms; each waits exactly 35 ms.
    assert_eq!(expiries(&s), [(ms(45), 1), (ms(55), 2), (ms(65), 3)]);
    assert_eq!(
        s.drops(),
        [
            (ms(45), 1, Reason::Expired),
            (ms(55), 2, Reason::Expired),
            (ms(65), 3, Reason::Expired)
        ]
    );
}

#[test]
fn per_message_ttl_expires_after_its_expiration() {
    let json = r#"{
  "title": "message ttl",
  "producers": [{ "id": "p", "to": "q", "rate": "100/s", "arrival": "constant", "count": 2, "ttl": "15ms" }],
  "queues": [{ "id": "q" }]
}"#;
    let s = story(json, 1_000_000);
    assert_eq!(expiries(&s), [(ms(25), 1), (ms(35), 2)]);
}

#[test]
fn the_lower_of_queue_and_message_ttl_applies() {
    let json = r#"{
  "title": "both ttls",
  "producers": [
    { "id": "short-msg", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "10ms" },
    { "id": "long-msg", "to": "q2", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "10s" }
  ],
  "queues": [{ "id": "q", "ttl": "50ms" }, { "id": "q2", "ttl": "50ms" }]
}"#;
    let s = story(json, 5_000_000);
    // Both publish at 1 s; ids in producer order.
    assert_eq!(expiries(&s), [(ms(1010), 1), (ms(1050), 2)]);
}

#[test]
fn a_short_ttl_behind_a_long_one_waits_until_it_reaches_the_head() {
    // RabbitMQ expires messages only at the head of the queue: message 2
    // (10 ms TTL) sits behind message 1 (1 s TTL) and is discarded only when
    // message 1 leaves, long after its own expiry.
    let json = r#"{
  "title": "head only",
  "producers": [
    { "id": "long", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "1s" },
    { "id": "short", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "10ms", "start": "1ms" }
  ],
  "queues": [{ "id": "q" }]
}"#;
    let mut s = story(json, ms(1500));
    assert_eq!(
        s.depth("q"),
        2,
        "message 2 is past its expiry but not at the head"
    );
    assert!(expiries(&s).is_empty());
    s.run_to(5_000_000);
    assert_eq!(expiries(&s), [(ms(2000), 1), (ms(2000), 2)]);
}

#[test]
fn a_delivered_message_does_not_expire_while_being_processed() {
    let json = r#"{
  "title": "unacked do not expire",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [{ "id": "q", "ttl": "50ms" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "200ms" } }]
}"#;
    let s = story(json, 5_000_000);
    assert!(expiries(&s).is_empty());
    assert_eq!(s.processed("c"), [(ms(1200), 1)]);
}

#[test]
fn a_message_waiting_for_a_busy_consumer_expires_on_time() {
    let json = r#"{
  "title": "waits then expires",
  "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": 2 }],
  "queues": [{ "id": "q", "ttl": "50ms" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "200ms" } }]
}"#;
    let s = story(json, 5_000_000);
    // 1 at 100 ms goes to the consumer; 2 at 200 ms waits and expires at 250 ms.
    assert_eq!(expiries(&s), [(ms(250), 2)]);
    assert_eq!(s.processed("c"), [(ms(300), 1)]);
}

#[test]
fn zero_ttl_is_delivered_if_a_consumer_is_ready_else_expires() {
    // RabbitMQ: a TTL of 0 expires a message on reaching the queue unless it
    // can be delivered to a consumer immediately.
    let json = r#"{
  "title": "ttl zero",
  "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": 2 }],
  "queues": [{ "id": "q", "ttl": "0ms" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "150ms" } }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.deliveries("c"), [(ms(100), 1, 0, false)]);
    assert_eq!(expiries(&s), [(ms(200), 2)]);
}

/// A quorum queue (`delivery_limit`) gives a TTL-0 message one millisecond
/// (`rabbit_fifo:update_expiry_header`): a consumer free 0.5 ms later gets
/// it, one free 1.5 ms later does not. A classic queue expires it at once.
#[test]
fn zero_ttl_on_a_quorum_queue_waits_one_millisecond_for_a_consumer() {
    let run = |queue: &str, service_us: u64| {
        let json = format!(
            r#"{{
  "title": "quorum ttl zero",
  "producers": [{{ "id": "first", "to": "q", "rate": "1/s", "count": 1, "arrival": "constant" }},
                {{ "id": "zero", "to": "q", "rate": "1/s", "count": 1, "arrival": "constant",
                   "ttl": "0ms", "start": "1s" }}],
  "queues": [{queue}],
  "consumers": [{{ "id": "c", "queue": "q", "prefetch": 1,
                   "service": {{ "constant": "{service_us}us" }} }}]
}}"#
        );
        let s = story(&json, 5_000_000);
        (s.deliveries("c").len(), expiries(&s))
    };
    let quorum = r#"{ "id": "q", "delivery_limit": 20 }"#;
    // Busy until 2.0005 s; the TTL-0 message arrives at 2 s.
    assert_eq!(run(quorum, 1_000_500), (2, vec![]));
    // Busy until 2.0015 s: expired at 2.001 s.
    assert_eq!(run(quorum, 1_001_500), (1, vec![(2_001_000, 2)]));
    // A classic queue: expired on arrival.
    assert_eq!(
        run(r#"{ "id": "q" }"#, 1_000_500),
        (1, vec![(2_000_000, 2)])
    );
}

#[test]
fn a_requeued_message_keeps_its_original_expiry() {
    // Enqueued at 1 s with a 100 ms queue TTL, held by the consumer for
    // 150 ms, then nacked with requeue: it is back at the head already past
    // its expiry, so it expires at once instead of being redelivered.
    let json = r#"{
  "title": "requeue keeps expiry",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [{ "id": "q", "ttl": "100ms" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "150ms" },
                  "failure_rate": 1.0, "on_failure": "requeue" }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.deliveries("c").len(), 1);
    assert_eq!(expiries(&s), [(ms(1150), 1)]);
    assert_eq!(s.kinds_of(1)[5..], ["requeued", "expired", "dropped"]);
}

#[test]
fn a_zero_ttl_message_returned_at_once_expires_instead_of_a_second_delivery() {
    // RabbitMQ drops expired messages at a requeue (`Now >= Expiry`) before
    // delivering again, and a TTL-0 message is always expired by then: its
    // one immediate delivery is spent. Here the first consumer crashes on
    // receiving it, in the same instant; the second consumer is idle, yet
    // the returned message expires rather than going to it.
    let json = r#"{
  "title": "ttl zero returned",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [{ "id": "q", "ttl": "0s" }],
  "consumers": [
    { "id": "crashy", "queue": "q", "prefetch": 1, "service": { "constant": "10ms" },
      "faults": { "crash_after_receive": 1.0, "restart_after": "500ms" } },
    { "id": "ok", "queue": "q", "prefetch": 1, "service": { "constant": "10ms" } }
  ]
}"#;
    let s = story(json, 2_000_000);
    assert_eq!(s.deliveries("crashy"), [(ms(1000), 1, 0, false)]);
    assert!(s.deliveries("ok").is_empty(), "{:?}", s.deliveries("ok"));
    assert_eq!(expiries(&s), [(ms(1000), 1)]);
    assert!(s.processed("ok").is_empty());
}
