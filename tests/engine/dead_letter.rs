//! Each dead-letter reason RabbitMQ names, and the death count on the message.

use crate::common::*;
use queuelab::engine::{Reason, TraceKind};

/// One queue `q` with `queue_extra`, a DLX `dlx` (direct) that routes key
/// `dead` to queue `dead`, and whatever consumer/producers are given.
fn topology(producer: &str, queue_extra: &str, consumers: &str) -> String {
    format!(
        r#"{{
  "title": "dead letters",
  "producers": [{producer}],
  "exchanges": [{{ "id": "dlx", "kind": "direct", "bindings": [{{ "queue": "dead", "key": "dead" }}] }}],
  "queues": [
    {{ "id": "q", "dead_letter_exchange": "dlx", "dead_letter_routing_key": "dead" {queue_extra} }},
    {{ "id": "dead" }}
  ],
  "consumers": [{consumers}]
}}"#
    )
}

const ONE_AT_1S: &str = r#"{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "routing_key": "orig" }"#;
const THREE_AT_1MS: &str = r#"{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 3, "routing_key": "orig" }"#;

#[test]
fn rejected_when_a_consumer_nacks_without_requeue() {
    let json = topology(
        ONE_AT_1S,
        "",
        r#"{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "dead_letter" }"#,
    );
    let s = story(&json, 5_000_000);
    assert_eq!(s.dead_letters(), [(ms(1010), 1, Reason::Rejected, 1)]);
    let nacks = s.matching(|k| matches!(k, TraceKind::Nacked { requeue: false, .. }));
    assert_eq!(nacks.len(), 1);
    assert_eq!(nacks[0].t.0, ms(1010));
    // The dead-letter routing key replaced "orig", so the direct DLX routed it.
    assert_eq!(s.queue_keys("dead"), ["dead"]);
    assert_eq!(s.queue_head("dead"), [(1, 1, false)]);
}

#[test]
fn expired_when_the_queue_ttl_runs_out() {
    let json = topology(ONE_AT_1S, r#", "ttl": "250ms""#, "");
    let s = story(&json, 5_000_000);
    assert_eq!(s.dead_letters(), [(ms(1250), 1, Reason::Expired, 1)]);
    assert_eq!(s.matching(|k| *k == TraceKind::Expired)[0].t.0, ms(1250));
    assert_eq!(s.engine.totals_now().expired, 1);
}

#[test]
fn maxlen_when_drop_head_pushes_the_oldest_out() {
    let json = topology(THREE_AT_1MS, r#", "max_length": 2"#, "");
    let s = story(&json, 5_000_000);
    assert_eq!(s.dead_letters(), [(ms(3), 1, Reason::Maxlen, 1)]);
    assert_eq!(s.queue_head("q"), [(2, 0, false), (3, 0, false)]);
}

#[test]
fn delivery_limit_when_returned_too_often() {
    // delivery_limit 2: two returns are allowed, the third dead-letters.
    let json = topology(
        ONE_AT_1S,
        r#", "delivery_limit": 2"#,
        r#"{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "requeue" }"#,
    );
    let s = story(&json, 5_000_000);
    let delivered: Vec<(u64, bool)> = s
        .deliveries("c")
        .iter()
        .map(|&(t, _, _, r)| (t, r))
        .collect();
    assert_eq!(
        delivered,
        [(ms(1000), false), (ms(1010), true), (ms(1020), true)]
    );
    assert_eq!(
        s.matching(|k| matches!(k, TraceKind::Requeued { .. }))
            .len(),
        2
    );
    assert_eq!(s.dead_letters(), [(ms(1030), 1, Reason::DeliveryLimit, 1)]);
}

#[test]
fn delivery_limit_zero_dead_letters_on_the_first_return() {
    let json = topology(
        ONE_AT_1S,
        r#", "delivery_limit": 0"#,
        r#"{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "requeue" }"#,
    );
    let s = story(&json, 5_000_000);
    assert_eq!(s.deliveries("c").len(), 1);
    assert_eq!(s.dead_letters(), [(ms(1010), 1, Reason::DeliveryLimit, 1)]);
}

#[test]
fn without_a_dead_letter_exchange_the_reason_is_on_the_drop() {
    let json = r#"{
  "title": "no dlx",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [{ "id": "q", "ttl": "100ms" }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.drops(), [(ms(1100), 1, Reason::Expired)]);
    assert!(s.dead_letters().is_empty());
}

#[test]
fn death_count_grows_with_each_dead_lettering() {
    // q1 (ttl 100ms) → x1 → q2 (ttl 200ms) → x2 → q3: two deaths, two reasons' times.
    let json = r#"{
  "title": "two deaths",
  "producers": [{ "id": "p", "to": "q1", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "x1", "kind": "fanout", "bindings": [{ "queue": "q2" }] },
    { "id": "x2", "kind": "fanout", "bindings": [{ "queue": "q3" }] }
  ],
  "queues": [
    { "id": "q1", "ttl": "100ms", "dead_letter_exchange": "x1" },
    { "id": "q2", "ttl": "200ms", "dead_letter_exchange": "x2" },
    { "id": "q3" }
  ]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(
        s.dead_letters(),
        [
            (ms(1100), 1, Reason::Expired, 1),
            (ms(1300), 1, Reason::Expired, 2)
        ]
    );
    assert_eq!(s.queue_head("q3"), [(1, 2, false)]);
}

#[test]
fn dead_lettering_removes_the_per_message_ttl() {
    // RabbitMQ strips `expiration` on dead-lettering, so the message does not
    // expire again in the dead-letter queue.
    let json = r#"{
  "title": "expiration removed",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "100ms" }],
  "exchanges": [{ "id": "dlx", "kind": "fanout", "bindings": [{ "queue": "dead" }] }],
  "queues": [{ "id": "q", "dead_letter_exchange": "dlx" }, { "id": "dead" }]
}"#;
    let s = story(json, 60_000_000);
    assert_eq!(s.dead_letters(), [(ms(1100), 1, Reason::Expired, 1)]);
    assert_eq!(s.depth("dead"), 1, "still there a minute later");
}

#[test]
fn dead_letter_to_an_exchange_that_routes_nowhere_is_dropped_unroutable() {
    let json = r#"{
  "title": "dlx routes nowhere",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "routing_key": "a" }],
  "exchanges": [{ "id": "dlx", "kind": "direct", "bindings": [{ "queue": "dead", "key": "b" }] }],
  "queues": [{ "id": "q", "ttl": "1ms", "dead_letter_exchange": "dlx" }, { "id": "dead" }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.dead_letters(), [(ms(1001), 1, Reason::Expired, 1)]);
    assert_eq!(s.drops(), [(ms(1001), 1, Reason::Unroutable)]);
    assert_eq!(s.engine.totals_now().unroutable, 1);
}

#[test]
fn a_ttl_ping_pong_is_a_cycle_and_is_dropped() {
    // RabbitMQ: "messages that reach the same queue twice will be dropped if
    // there was no rejections in the entire cycle", even when time passes.
    let json = r#"{
  "title": "ping-pong",
  "producers": [{ "id": "p", "to": "a", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "to-b", "kind": "fanout", "bindings": [{ "queue": "b" }] },
    { "id": "to-a", "kind": "fanout", "bindings": [{ "queue": "a" }] }
  ],
  "queues": [
    { "id": "a", "ttl": "100ms", "dead_letter_exchange": "to-b" },
    { "id": "b", "ttl": "100ms", "dead_letter_exchange": "to-a" }
  ]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(
        s.dead_letters(),
        [
            (ms(1100), 1, Reason::Expired, 1),
            (ms(1200), 1, Reason::Expired, 2)
        ]
    );
    assert_eq!(s.enqueued("a"), [(ms(1000), 1)], "not back into a");
    assert_eq!(s.drops(), [(ms(1200), 1, Reason::Expired)]);
}

#[test]
fn a_cycle_with_a_rejection_in_it_is_not_dropped() {
    // The retry-queue pattern: reject → wait (TTL) → back. A rejection in the
    // cycle makes it deliberate, so RabbitMQ lets it loop.
    let json = r#"{
  "title": "deliberate loop",
  "producers": [{ "id": "p", "to": "work", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "to-wait", "kind": "fanout", "bindings": [{ "queue": "wait" }] },
    { "id": "to-work", "kind": "fanout", "bindings": [{ "queue": "work" }] }
  ],
  "queues": [
    { "id": "work", "dead_letter_exchange": "to-wait" },
    { "id": "wait", "ttl": "100ms", "dead_letter_exchange": "to-work" }
  ],
  "consumers": [{ "id": "c", "queue": "work", "service": { "constant": "10ms" }, "failure_rate": 1.0 }]
}"#;
    let s = story(json, ms(1500));
    assert_eq!(
        s.enqueued("work").iter().map(|e| e.0).collect::<Vec<_>>(),
        [ms(1000), ms(1110), ms(1220), ms(1330), ms(1440)]
    );
    assert!(s.drops().is_empty());
}

#[test]
fn a_cycle_drops_only_the_cycling_copy() {
    // q (TTL) dead-letters to a fanout bound to q itself and to `audit`: the
    // copy for `audit` is delivered, the one back into q is cut.
    let json = r#"{
  "title": "partial cycle",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [{ "id": "dlx", "kind": "fanout", "bindings": [{ "queue": "q" }, { "queue": "audit" }] }],
  "queues": [{ "id": "q", "ttl": "100ms", "dead_letter_exchange": "dlx" }, { "id": "audit" }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.dead_letters(), [(ms(1100), 1, Reason::Expired, 1)]);
    assert_eq!(s.enqueued("audit"), [(ms(1100), 1)]);
    assert_eq!(s.enqueued("q"), [(ms(1000), 1)]);
    assert_eq!(s.engine.totals_now().copies, 0);
}

#[test]
fn death_headers_name_the_first_and_the_last_death_and_a_with_x_binding_routes_on_them() {
    // Expired in `short`, then rejected in `work`: RabbitMQ sets
    // x-first-death-{queue,reason} once and x-last-death-{queue,reason} at
    // every dead-lettering, and a headers exchange in all-with-x mode sees them.
    let json = r#"{
  "title": "death headers",
  "producers": [{ "id": "p", "to": "short", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "dlx1", "kind": "fanout", "bindings": [{ "queue": "work" }] },
    { "id": "dlx2", "kind": "headers", "bindings": [
      { "queue": "audit", "x_match": "all-with-x", "headers": {
          "x-first-death-queue": "short", "x-first-death-reason": "expired",
          "x-last-death-queue": "work", "x-last-death-reason": "rejected" } },
      { "queue": "wrong", "x_match": "any-with-x", "headers": { "x-last-death-reason": "expired" } } ] }
  ],
  "queues": [
    { "id": "short", "ttl": "100ms", "dead_letter_exchange": "dlx1" },
    { "id": "work", "dead_letter_exchange": "dlx2" },
    { "id": "audit" }, { "id": "wrong" }
  ],
  "consumers": [{ "id": "c", "queue": "work", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "dead_letter" }]
}"#;
    let s = story(json, 3_000_000);
    assert_eq!((s.depth("audit"), s.depth("wrong")), (1, 0));
    let reasons: Vec<Reason> = s
        .matching(|k| matches!(k, TraceKind::DeadLettered { .. }))
        .iter()
        .map(|e| match e.kind {
            TraceKind::DeadLettered { reason, .. } => reason,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(reasons, vec![Reason::Expired, Reason::Rejected]);
}

#[test]
fn a_republished_dead_letter_starts_its_death_headers_over() {
    // A consumer of the dead-letter queue republishes what it takes (a new
    // message carrying the old headers); when that one dies in `q2`, its
    // first death is q2's: RabbitMQ records deaths as broker annotations,
    // which a republish through a client does not carry, and they win over
    // client-supplied `x-first-death-*` headers.
    let json = r#"{
  "title": "republished",
  "producers": [{ "id": "p", "to": "q1", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [
    { "id": "dlx1", "kind": "fanout", "bindings": [{ "queue": "dlq" }] },
    { "id": "x2", "kind": "fanout", "bindings": [{ "queue": "q2" }] },
    { "id": "hx", "kind": "headers", "bindings": [
      { "queue": "fresh", "x_match": "all-with-x", "headers": { "x-first-death-queue": "q2", "x-last-death-queue": "q2" } },
      { "queue": "stale", "x_match": "any-with-x", "headers": { "x-first-death-queue": "q1" } } ] }
  ],
  "queues": [
    { "id": "q1", "ttl": "100ms", "dead_letter_exchange": "dlx1" }, { "id": "dlq" },
    { "id": "q2", "ttl": "100ms", "dead_letter_exchange": "hx" }, { "id": "fresh" }, { "id": "stale" }
  ],
  "consumers": [{ "id": "redrive", "queue": "dlq", "service": { "constant": "10ms" }, "on_success": [{ "to": "x2" }] }]
}"#;
    let s = story(json, 3_000_000);
    assert_eq!((s.depth("fresh"), s.depth("stale")), (1, 0));
}

/// RabbitMQ dead-letters every message a burst overflows or expires; only its
/// cycle rule drops on the dead-letter path. A burst of 12,000 into a queue of
/// at most 100 (drop-head) dead-letters 11,900 at one instant, all of them;
/// 15,000 with a 1 s TTL expire at one instant and all reach the audit queue.
#[test]
fn a_large_burst_is_dead_lettered_whole() {
    for (queue, n, dead) in [
        (
            r#"{ "id": "q", "max_length": 100, "dead_letter_exchange": "dlx" }"#,
            12_000,
            11_900,
        ),
        (
            r#"{ "id": "q", "ttl": "1s", "dead_letter_exchange": "dlx" }"#,
            15_000,
            15_000,
        ),
    ] {
        let json = format!(
            r#"{{
  "title": "burst into a dead-letter exchange",
  "producers": [{{ "id": "p", "to": "q", "rate": "{n}/s", "arrival": {{ "bursts": {{ "size": {n} }} }}, "count": {n} }}],
  "exchanges": [{{ "id": "dlx", "kind": "fanout", "bindings": [{{ "queue": "audit" }}] }}],
  "queues": [{queue}, {{ "id": "audit" }}]
}}"#
        );
        let s = story(&json, 5_000_000);
        let t = s.engine.totals_now();
        assert_eq!((t.dead_lettered, t.dropped), (dead, 0), "{queue}");
        assert_eq!(s.depth("audit"), dead as u32, "{queue}");
    }
}

/// A chain of ten queues with a TTL of 0, each dead-lettering into the next:
/// no cycle, so the message passes all ten at one instant and reaches the
/// last queue (RabbitMQ has no limit on deaths; QueueLab's backstop is 32).
#[test]
fn a_chain_of_expiring_queues_without_a_cycle_is_followed_to_its_end() {
    let n = 10;
    let exchanges: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{ "id": "x{i}", "kind": "fanout", "bindings": [{{ "queue": "q{}" }}] }}"#,
                i + 1
            )
        })
        .collect();
    let mut queues: Vec<String> = (0..n)
        .map(|i| format!(r#"{{ "id": "q{i}", "ttl": "0s", "dead_letter_exchange": "x{i}" }}"#))
        .collect();
    queues.push(format!(r#"{{ "id": "q{n}" }}"#));
    let json = format!(
        r#"{{ "title": "chain",
  "producers": [{{ "id": "p", "to": "q0", "rate": "1/s", "arrival": "constant", "count": 1 }}],
  "exchanges": [{}], "queues": [{}] }}"#,
        exchanges.join(","),
        queues.join(",")
    );
    let s = story(&json, 3_000_000);
    assert_eq!(s.dead_letters().len(), n);
    assert!(s.drops().is_empty(), "{:?}", s.drops());
    assert_eq!(s.depth("q10"), 1);
    assert_eq!(s.dead_letters().last().unwrap().3, n as u32, "deaths");
}

/// `"dead_letter_exchange": ""` is RabbitMQ's default exchange: the dead
/// letter goes to the queue its `dead_letter_routing_key` names (or, without
/// one, the queue named by the key it was published with). The scenario
/// gets a direct exchange `amq.default` binding every queue by its id.
#[test]
fn the_default_exchange_as_dead_letter_exchange_routes_by_queue_name() {
    let json = r#"{
  "title": "default exchange",
  "producers": [
    { "id": "p", "to": "work", "rate": "10/s", "arrival": "constant", "count": 3 },
    { "id": "p2", "to": "x", "rate": "10/s", "arrival": "constant", "count": 2, "routing_key": "orders" }
  ],
  "exchanges": [{ "id": "x", "kind": "direct", "bindings": [{ "queue": "inbox", "key": "orders" }] }],
  "queues": [
    { "id": "work", "ttl": "100ms", "dead_letter_exchange": "", "dead_letter_routing_key": "parking" },
    { "id": "inbox", "ttl": "100ms", "dead_letter_exchange": "" },
    { "id": "parking" }, { "id": "orders" }
  ]
}"#;
    let sc = queuelab::scenario::load(json).unwrap();
    let d = sc.exchanges.iter().find(|x| x.id == "amq.default").unwrap();
    assert_eq!(d.bindings.len(), 4);
    assert_eq!(
        sc.queues[0].dead_letter_exchange.as_deref(),
        Some("amq.default")
    );
    let s = story(json, 3_000_000);
    assert_eq!(s.depth("parking"), 3);
    // Published with key "orders" to x, expired from inbox: the default
    // exchange takes the key as a queue name.
    assert_eq!(s.depth("orders"), 2);
    assert!(s.drops().is_empty());
}

/// RabbitMQ reserves the `amq.` prefix: declaring a new exchange or queue
/// so named is ACCESS_REFUSED (`rabbit_channel:check_name`), while its own
/// exchanges exist and redeclaring one with its type is accepted. A
/// scenario may name `amq.direct`… with their types and `amq.default` (the
/// default exchange as a scenario models it, which a saved scenario keeps),
/// nothing else; an exchange that takes `amq.default` from
/// `"dead_letter_exchange": ""` is named as the clash it is.
#[test]
fn reserved_amq_names_are_refused_but_the_broker_exchanges_and_the_default_load() {
    let err = |json: &str| queuelab::scenario::load(json).unwrap_err().to_string();
    let e = err(r#"{ "title": "t",
  "producers": [{ "id": "p", "to": "amq.foo", "rate": "1/s" }],
  "exchanges": [{ "id": "amq.foo", "kind": "fanout", "bindings": [{ "queue": "amq.q" }] }],
  "queues": [{ "id": "amq.q" }] }"#);
    assert!(
        e.contains("exchanges[0].id: \"amq.foo\" begins with the reserved prefix \"amq.\"")
            && e.contains("queues[0].id: \"amq.q\" begins with the reserved prefix \"amq.\""),
        "{e}"
    );
    let e = err(r#"{ "title": "t",
  "exchanges": [{ "id": "amq.topic", "kind": "fanout", "bindings": [{ "queue": "q" }] }],
  "queues": [{ "id": "q" }] }"#);
    assert!(
        e.contains("exchanges[0].id: \"amq.topic\" is RabbitMQ's built-in topic exchange: declaring it as fanout fails"),
        "{e}"
    );
    // The built-in exchanges with their types load.
    queuelab::scenario::load(
        r##"{ "title": "t",
  "exchanges": [
    { "id": "amq.topic", "kind": "topic", "bindings": [{ "queue": "q", "key": "#" }] },
    { "id": "amq.match", "kind": "headers", "bindings": [] }
  ],
  "queues": [{ "id": "q" }] }"##,
    )
    .unwrap();
    // A scenario with `"dead_letter_exchange": ""` gains `amq.default`, and
    // saved as it stands it loads again.
    let json = r#"{ "title": "t",
  "queues": [{ "id": "work", "ttl": "100ms", "dead_letter_exchange": "", "dead_letter_routing_key": "dead" }, { "id": "dead" }] }"#;
    let sc = queuelab::scenario::load(json).unwrap();
    let again = queuelab::scenario::load(&queuelab::scenario::to_pretty_json(&sc)).unwrap();
    assert_eq!(again, sc);
    // A scenario's own `amq.default` (even a direct one) clashes with the
    // default exchange: the error says so instead of "no exchange named """.
    let clash = queuelab::scenario::load(r#"{ "title": "t",
  "exchanges": [{ "id": "amq.default", "kind": "direct", "bindings": [{ "queue": "other", "key": "other" }] }],
  "queues": [{ "id": "work", "ttl": "100ms", "dead_letter_exchange": "", "dead_letter_routing_key": "dead" }, { "id": "dead" }, { "id": "other" }] }"#)
    .unwrap_err();
    let e = clash.to_string();
    assert_eq!(clash.issues.len(), 1, "{e}");
    assert!(
        e.contains("queues[0].dead_letter_exchange: \"\" is RabbitMQ's default exchange, which QueueLab models as a direct exchange \"amq.default\"")
            && e.contains("exchanges[0] already has the id \"amq.default\": rename it"),
        "{e}"
    );
}

/// The message ids of `Published` and of `DeadLettered` (with `reason`),
/// each in trace order.
fn published_and_dead_lettered(s: &Story, reason: Reason) -> (Vec<u64>, Vec<u64>) {
    let ids = |f: &dyn Fn(&TraceKind) -> bool| -> Vec<u64> {
        s.matching(f).iter().filter_map(|e| e.msg).collect()
    };
    (
        ids(&|k| matches!(k, TraceKind::Published { .. })),
        ids(&|k| matches!(k, TraceKind::DeadLettered { reason: r, .. } if *r == reason)),
    )
}

/// `count` messages published 100 ms apart to `q` (with `queue_extra`), a
/// consumer holding three of them (prefetch 3, a minute each) that
/// crashes at 2 s; the story runs to 3 s.
fn crash_holding_three(count: u32, queue_extra: &str) -> Story {
    let json = topology(
        &format!(
            r#"{{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": {count} }}"#
        ),
        queue_extra,
        r#"{ "id": "c", "queue": "q", "prefetch": 3, "service": { "constant": "60s" } }"#,
    )
    .replace(
        r#""consumers""#,
        r#""schedule": [{ "at": "2s", "command": { "do": "crash_consumer", "consumer": "c" } }], "consumers""#,
    );
    story(&json, 3_000_000)
}

/// A crash returns three deliveries to a full drop-head queue: RabbitMQ
/// requeues a closed channel's messages together, each to its original
/// position, and only then drops from the head (`requeue_and_run`, then
/// `maybe_drop_head`), so the three oldest are dead-lettered oldest first.
/// Returned one at a time, each overflowed the queue on its own and the
/// dead-letter queue got them newest first.
#[test]
fn a_crash_into_a_full_drop_head_queue_dead_letters_the_oldest_first() {
    let s = crash_holding_three(5, r#", "max_length": 2"#);
    let (published, dead) = published_and_dead_lettered(&s, Reason::Maxlen);
    assert_eq!(published.len(), 5);
    assert_eq!(dead, published[..3], "the three returned, oldest first");
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(r["nodes"]["q"]["depth"], 2, "{}", r["nodes"]["q"]);
}

/// The same on a quorum queue past its delivery limit: `rabbit_fifo`
/// returns a consumer's checked-out messages by ascending id, so they are
/// dead-lettered in the order they were delivered.
#[test]
fn a_crash_past_the_delivery_limit_dead_letters_in_delivery_order() {
    let s = crash_holding_three(3, r#", "delivery_limit": 0"#);
    let (published, dead) = published_and_dead_lettered(&s, Reason::DeliveryLimit);
    assert_eq!(dead, published, "dead-lettered in delivery order");
}

/// The `poison-requeue` preset: a poison message nacked with requeue goes
/// back to the head and comes straight back, so two of them keep both
/// instances failing and the queue starves; rejecting without requeue
/// dead-letters each at its first failure, a delivery limit of 5 after its
/// fifth return.
#[test]
fn the_poison_requeue_preset_starves_with_requeue_and_flows_with_either_way_out() {
    let lane = |name: &str| {
        let s = preset_variant("poison-requeue", name);
        story(&serde_json::to_string(&s).unwrap(), 30_000_000)
    };
    let requeue = lane("requeue");
    let published = requeue.engine.totals().published;
    assert!(requeue.dead_letters().is_empty());
    // After the first poison orders arrive, both instances only fail.
    let ok_late = requeue
        .processed("billing")
        .iter()
        .filter(|p| p.0 > 10_000_000)
        .count();
    assert_eq!(ok_late, 0, "nothing but poison after 10 s");
    assert!(requeue.engine.totals().processed * 5 < published);

    for (name, reason, returns) in [
        ("dead-letter", Reason::Rejected, 0),
        ("delivery-limit", Reason::DeliveryLimit, 5),
    ] {
        let s = lane(name);
        let dl = s.dead_letters();
        assert!(dl.len() >= 10, "{name}: {dl:?}");
        assert!(dl.iter().all(|d| d.2 == reason), "{name}: {dl:?}");
        // Every dead-lettered order was delivered once plus once per return.
        for &(_, msg, _, _) in &dl {
            let n = s
                .deliveries("billing")
                .iter()
                .filter(|d| d.1 == msg)
                .count();
            assert_eq!(n, 1 + returns, "{name}: message {msg}");
        }
        assert!(
            s.engine.totals().processed * 10 > published * 9,
            "{name} flows"
        );
    }
}

/// One message fails on `work` (failure_rate 1) at 1.1 s and is dead-lettered
/// through a fanout to `dlq-a` and `dlq-b`: the message itself goes to one,
/// a copy to the other. Its `wait` (publish → first delivery) was recorded
/// once, at 1 s; neither dead letter records a second one, and both carry
/// the same delivery count (attempt 2: the one on `work`, then theirs).
#[test]
fn a_dead_letter_fanout_copy_records_no_second_wait() {
    let st = story(
        r#"{"title":"t","seed":1,"duration":"10s",
            "producers":[{"id":"p","to":"work","rate":"1/s","arrival":"constant","count":1}],
            "exchanges":[{"id":"dlx","kind":"fanout","bindings":[{"queue":"dlq-a"},{"queue":"dlq-b"}]}],
            "queues":[{"id":"work","dead_letter_exchange":"dlx"},{"id":"dlq-a"},{"id":"dlq-b"}],
            "consumers":[{"id":"w","queue":"work","service":{"constant":"100ms"},"failure_rate":1.0},
              {"id":"a","queue":"dlq-a","service":{"constant":"100ms"}},
              {"id":"b","queue":"dlq-b","service":{"constant":"100ms"}}]}"#,
        10_000_000,
    );
    let dl: Vec<(String, u32)> = st
        .trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::Delivered { attempt, .. } => {
                Some((st.engine.node_name(ev.node).to_string(), attempt))
            }
            _ => None,
        })
        .collect();
    assert_eq!(dl.len(), 3, "{dl:?}");
    assert_eq!(dl[0].0, "work");
    let mut dlq: Vec<(String, u32)> = dl[1..].to_vec();
    dlq.sort();
    assert_eq!(dlq[0].0, "dlq-a");
    assert_eq!(dlq[1].0, "dlq-b");
    assert_eq!(dlq[0].1, dlq[1].1, "both dead letters, the same attempt");
    let wait = st.engine.latency_wait();
    assert_eq!(wait.count, 1, "one wait: the first delivery, from work");
}
