//! Retry schedules: the delays and the instants at which they fire are exact.
//!
//! Every scenario here publishes one message at t = 1 s (constant arrival at
//! 1/s: the first gap is one period) into a consumer whose constant 10 ms
//! service always fails, so each attempt ends 10 ms after it starts.

use crate::common::*;
use queuelab::engine::{Reason, TraceKind};

fn one_failing_message(retry: &str, queue_extra: &str, extra_nodes: &str) -> String {
    format!(
        r#"{{
  "title": "one message that always fails",
  "producers": [{{ "id": "p", "to": "work", "rate": "1/s", "arrival": "constant", "count": 1 }}],
  "exchanges": [
    {{ "id": "dlx", "kind": "fanout", "bindings": [{{ "queue": "dead" }}] }},
    {{ "id": "parking-x", "kind": "fanout", "bindings": [{{ "queue": "parking" }}] }}
    {extra_nodes}
  ],
  "queues": [{{ "id": "work" {queue_extra} }}, {{ "id": "dead" }}, {{ "id": "parking" }}],
  "consumers": [{{
    "id": "c", "queue": "work", "service": {{ "constant": "10ms" }},
    "failure_rate": 1.0, "on_failure": "retry", "retry": {retry}
  }}]
}}"#
    )
}

/// (t_us, attempt, delay_us) of every RetryScheduled, and (t_us, attempt) of every Retried.
type Schedule = (Vec<(u64, u32, u64)>, Vec<(u64, u32)>);

fn schedule(s: &Story) -> Schedule {
    let sched = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::RetryScheduled { attempt, delay_us } => Some((e.t.0, attempt, delay_us)),
            _ => None,
        })
        .collect();
    let fired = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Retried { attempt } => Some((e.t.0, attempt)),
            _ => None,
        })
        .collect();
    (sched, fired)
}

#[test]
fn exponential_backoff_doubles_then_caps_and_gives_up_after_max_attempts() {
    let json = one_failing_message(
        r#"{ "max_attempts": 4, "backoff": { "exponential": { "initial": "100ms", "max": "250ms" } } }"#,
        "",
        "",
    );
    let s = story(&json, 10_000_000);
    let (sched, fired) = schedule(&s);
    // Attempt 1 fails at 1.010 s; waits 100 ms, 200 ms, then 400 ms capped to 250 ms.
    assert_eq!(
        sched,
        [
            (ms(1010), 2, ms(100)),
            (ms(1120), 3, ms(200)),
            (ms(1330), 4, ms(250)),
        ]
    );
    // Each retry fires exactly when scheduled: failure time + delay.
    assert_eq!(fired, [(ms(1110), 2), (ms(1320), 3), (ms(1580), 4)]);
    // Attempts start when the retry fires (the consumer is idle).
    let starts: Vec<(u64, bool)> = s
        .deliveries("c")
        .iter()
        .map(|&(t, _, _, r)| (t, r))
        .collect();
    assert_eq!(
        starts,
        [
            (ms(1000), false),
            (ms(1110), true),
            (ms(1320), true),
            (ms(1580), true)
        ]
    );
    // The fourth failure exhausts the policy; the queue has no dead-letter
    // exchange, so the message is dropped with that reason.
    assert_eq!(s.drops(), [(ms(1590), 1, Reason::RetriesExhausted)]);
    let t = s.engine.totals_now();
    assert_eq!(
        (t.failed, t.retried, t.delivered, t.redelivered),
        (4, 3, 4, 3)
    );
    assert_eq!(t.in_flight, 0);
    assert_eq!(
        s.kinds_of(1),
        [
            "published",
            "enqueued",
            "delivered",
            "failed",
            "retry_scheduled",
            "retried",
            "enqueued",
            "delivered",
            "failed",
            "retry_scheduled",
            "retried",
            "enqueued",
            "delivered",
            "failed",
            "retry_scheduled",
            "retried",
            "enqueued",
            "delivered",
            "failed",
            "nacked",
            "dropped",
        ]
    );
}

#[test]
fn exponential_multiplier_other_than_two() {
    let json = one_failing_message(
        r#"{ "max_attempts": 4, "backoff": { "exponential": { "initial": "10ms", "multiplier": 3, "max": "1s" } } }"#,
        "",
        "",
    );
    let (sched, _) = schedule(&story(&json, 10_000_000));
    let delays: Vec<u64> = sched.iter().map(|s| s.2).collect();
    assert_eq!(delays, [ms(10), ms(30), ms(90)]);
}

#[test]
fn fixed_backoff_waits_the_same_each_time() {
    let json = one_failing_message(
        r#"{ "max_attempts": 3, "backoff": { "fixed": "50ms" } }"#,
        "",
        "",
    );
    let s = story(&json, 10_000_000);
    let (sched, fired) = schedule(&s);
    assert_eq!(sched, [(ms(1010), 2, ms(50)), (ms(1070), 3, ms(50))]);
    assert_eq!(fired, [(ms(1060), 2), (ms(1120), 3)]);
    assert_eq!(s.drops(), [(ms(1130), 1, Reason::RetriesExhausted)]);
}

#[test]
fn immediate_retry_redelivers_at_the_same_instant() {
    let json = one_failing_message(r#"{ "max_attempts": 3 }"#, "", "");
    let s = story(&json, 10_000_000);
    let (sched, fired) = schedule(&s);
    assert_eq!(sched, [(ms(1010), 2, 0), (ms(1020), 3, 0)]);
    assert_eq!(fired, [(ms(1010), 2), (ms(1020), 3)]);
    assert_eq!(s.drops(), [(ms(1030), 1, Reason::RetriesExhausted)]);
}

#[test]
fn max_attempts_one_means_no_retry() {
    let json = one_failing_message(r#"{ "max_attempts": 1 }"#, "", "");
    let s = story(&json, 10_000_000);
    assert_eq!(schedule(&s), (vec![], vec![]));
    assert_eq!(s.drops(), [(ms(1010), 1, Reason::RetriesExhausted)]);
}

#[test]
fn exhausted_retries_dead_letter_through_the_queue_dlx() {
    let json = one_failing_message(
        r#"{ "max_attempts": 2, "backoff": { "fixed": "50ms" } }"#,
        r#", "dead_letter_exchange": "dlx""#,
        "",
    );
    let s = story(&json, 10_000_000);
    assert_eq!(s.dead_letters(), [(ms(1070), 1, Reason::Rejected, 1)]);
    assert_eq!(s.enqueued("dead"), [(ms(1070), 1)]);
    assert!(s.drops().is_empty());
    assert_eq!(s.queue_head("dead"), [(1, 1, false)], "one death recorded");
}

#[test]
fn exhausted_to_sends_to_the_parking_lot_not_the_dlx() {
    let json = one_failing_message(
        r#"{ "max_attempts": 2, "backoff": { "fixed": "50ms" }, "exhausted_to": "parking-x" }"#,
        r#", "dead_letter_exchange": "dlx""#,
        "",
    );
    let s = story(&json, 10_000_000);
    let x = s.node("parking-x");
    let dl: Vec<_> = s
        .matching(|k| matches!(k, TraceKind::DeadLettered { .. }))
        .iter()
        .map(|e| (e.t.0, e.kind))
        .collect();
    assert_eq!(
        dl,
        [(
            ms(1070),
            TraceKind::DeadLettered {
                reason: Reason::Rejected,
                exchange: x,
                deaths: 1
            }
        )]
    );
    assert_eq!(s.enqueued("parking"), [(ms(1070), 1)]);
    assert!(s.enqueued("dead").is_empty());
}

#[test]
fn jitter_spreads_delays_within_bounds_and_is_seeded() {
    let json = one_failing_message(
        r#"{ "max_attempts": 6, "backoff": { "exponential": { "initial": "100ms", "multiplier": 1, "max": "100ms", "jitter": 0.5 } } }"#,
        "",
        "",
    );
    let s = story(&json, 10_000_000);
    let (sched, fired) = schedule(&s);
    assert_eq!(sched.len(), 5);
    for (&(t, attempt, d), &(tf, af)) in sched.iter().zip(&fired) {
        assert!((ms(50)..=ms(150)).contains(&d), "delay {d} outside ±50%");
        assert_eq!((tf, af), (t + d, attempt), "fires exactly after its delay");
    }
    let mut distinct: Vec<u64> = sched.iter().map(|s| s.2).collect();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() > 1,
        "jitter should vary the delays: {sched:?}"
    );
    // Same seed, same jitter.
    let again = story(&json, 10_000_000);
    assert_eq!(schedule(&again).0, sched);
}

#[test]
fn retry_queue_pattern_loops_through_ttl_and_dead_letter_exchange() {
    // The plugin-free RabbitMQ pattern: reject to a DLX that routes to a wait
    // queue with a TTL; when the TTL runs out the wait queue dead-letters the
    // message back to the work exchange. After 3 attempts, the parking lot.
    let json = r#"{
  "title": "retry queue",
  "producers": [{ "id": "p", "to": "work-x", "rate": "1/s", "arrival": "constant", "count": 1, "routing_key": "job" }],
  "exchanges": [
    { "id": "work-x", "kind": "direct", "bindings": [{ "queue": "work", "key": "job" }] },
    { "id": "retry-x", "kind": "fanout", "bindings": [{ "queue": "wait" }] },
    { "id": "parking-x", "kind": "fanout", "bindings": [{ "queue": "parking" }] }
  ],
  "queues": [
    { "id": "work", "dead_letter_exchange": "retry-x" },
    { "id": "wait", "ttl": "500ms", "dead_letter_exchange": "work-x", "dead_letter_routing_key": "job" },
    { "id": "parking" }
  ],
  "consumers": [{
    "id": "c", "queue": "work", "service": { "constant": "10ms" }, "failure_rate": 1.0,
    "on_failure": "retry", "retry": { "max_attempts": 3, "mode": "retry_queue", "exhausted_to": "parking-x" }
  }]
}"#;
    let s = story(json, 10_000_000);
    assert_eq!(
        s.dead_letters(),
        [
            (ms(1010), 1, Reason::Rejected, 1), // work → retry-x → wait
            (ms(1510), 1, Reason::Expired, 2),  // wait → work-x → work
            (ms(1520), 1, Reason::Rejected, 3),
            (ms(2020), 1, Reason::Expired, 4),
            (ms(2030), 1, Reason::Rejected, 5), // exhausted: to the parking lot
        ]
    );
    assert_eq!(
        s.enqueued("work"),
        [(ms(1000), 1), (ms(1510), 1), (ms(2020), 1)]
    );
    assert_eq!(s.enqueued("wait"), [(ms(1010), 1), (ms(1520), 1)]);
    assert_eq!(s.enqueued("parking"), [(ms(2030), 1)]);
    assert_eq!(s.queue_head("parking"), [(1, 5, false)]);
    let t = s.engine.totals_now();
    assert_eq!(
        (t.retried, t.failed, t.expired, t.dead_lettered),
        (2, 3, 2, 5)
    );
}

#[test]
fn exhausted_to_keeps_the_message_routing_key_not_the_queue_dead_letter_key() {
    // The retry-queue pattern with routing keys: `work` dead-letters with
    // key "retry" into the wait queue, which dead-letters back with "job".
    // After the second failure (1.12 s) the message goes to the parking
    // exchange, which binds "job". `dead_letter_routing_key` is
    // `x-dead-letter-routing-key`, used only with the queue's own
    // `x-dead-letter-exchange` (rabbitmq.com/docs/dlx): `exhausted_to` is
    // not that exchange, so the message keeps "job" and is parked, not
    // turned into "retry" and dropped as unroutable.
    let json = r#"{
  "title": "exhausted_to and a dead-letter routing key",
  "producers": [{ "id": "p", "to": "work-x", "routing_key": "job", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "work-x", "kind": "direct", "bindings": [{ "queue": "work", "key": "job" }] },
    { "id": "retry-x", "kind": "direct", "bindings": [{ "queue": "wait", "key": "retry" }] },
    { "id": "parking-x", "kind": "direct", "bindings": [{ "queue": "parking", "key": "job" }] }
  ],
  "queues": [
    { "id": "work", "dead_letter_exchange": "retry-x", "dead_letter_routing_key": "retry" },
    { "id": "wait", "ttl": "100ms", "dead_letter_exchange": "work-x", "dead_letter_routing_key": "job" },
    { "id": "parking" }
  ],
  "consumers": [{
    "id": "c", "queue": "work", "service": { "constant": "10ms" }, "failure_rate": 1.0,
    "on_failure": "retry", "retry": { "max_attempts": 2, "mode": "retry_queue", "exhausted_to": "parking-x" }
  }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.enqueued("wait"), [(ms(1010), 1)]);
    assert_eq!(s.enqueued("parking"), [(ms(1120), 1)]);
    assert_eq!(s.queue_keys("parking"), ["job"]);
    assert!(s.drops().is_empty(), "{:?}", s.drops());
    assert_eq!(s.engine.totals_now().unroutable, 0);
}

#[test]
fn retry_queue_mode_without_a_parking_lot_stops_after_max_attempts() {
    // In retry_queue mode the queue's dead-letter exchange *is* the retry
    // loop, so an exhausted message must not be dead-lettered through it
    // (that sent it round the loop for ever); with no `exhausted_to` it is
    // dropped as retries_exhausted.
    let json = r#"{
  "title": "retry queue, no parking lot",
  "producers": [{ "id": "p", "to": "work", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "retry-x", "kind": "fanout", "bindings": [{ "queue": "wait" }] },
    { "id": "back-x", "kind": "fanout", "bindings": [{ "queue": "work" }] }
  ],
  "queues": [
    { "id": "work", "dead_letter_exchange": "retry-x" },
    { "id": "wait", "ttl": "100ms", "dead_letter_exchange": "back-x" }
  ],
  "consumers": [{
    "id": "c", "queue": "work", "service": { "constant": "10ms" }, "failure_rate": 1.0,
    "on_failure": "retry", "retry": { "max_attempts": 2, "mode": "retry_queue" }
  }]
}"#;
    let s = story(json, 10_000_000);
    assert_eq!(s.deliveries("c").len(), 2);
    assert_eq!(s.drops(), [(ms(1120), 1, Reason::RetriesExhausted)]);
    assert_eq!(s.engine.totals_now().in_flight, 0);
}
