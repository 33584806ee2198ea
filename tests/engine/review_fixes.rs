//! Regression tests for the problems an independent review found, each with a
//! short postmortem. Every test failed before its fix.

use crate::common::*;
use queuelab::engine::{Engine, LoggedCommand, Reason, SimTime, TraceKind};
use queuelab::scenario;

/// Postmortem: alternate exchanges were only tried at the exchange a message
/// was published to, and only when the whole graph matched nothing. RabbitMQ
/// (`rabbit_exchange:route1`) tries the alternate of every exchange it visits
/// whose own bindings match nothing; an e2e binding counts as a match.
#[test]
fn an_inner_exchange_uses_its_own_alternate() {
    let s = story(
        r#"{
  "title": "ae",
  "producers": [{ "id": "p", "to": "outer", "rate": "1/s", "arrival": "constant", "count": 1, "routing_key": "k" }],
  "exchanges": [
    { "id": "outer", "kind": "direct", "alternate_exchange": "outer-ae", "bindings": [{ "exchange": "inner", "key": "k" }] },
    { "id": "inner", "kind": "direct", "alternate_exchange": "inner-ae", "bindings": [{ "queue": "q-inner", "key": "other" }] },
    { "id": "outer-ae", "kind": "fanout", "bindings": [{ "queue": "q-outer-ae" }] },
    { "id": "inner-ae", "kind": "fanout", "bindings": [{ "queue": "q-inner-ae" }] }
  ],
  "queues": [{ "id": "q-inner" }, { "id": "q-inner-ae" }, { "id": "q-outer-ae" }]
}"#,
        2_000_000,
    );
    assert_eq!(s.enqueued("q-inner-ae"), [(1_000_000, 1)]);
    assert!(s.enqueued("q-outer-ae").is_empty());
    assert!(s.enqueued("q-inner").is_empty());
}

/// Postmortem: publishing straight to a queue kept the producer's routing
/// key; RabbitMQ's default exchange routes by the queue's name, and a later
/// dead-lettering without `dead_letter_routing_key` reuses that name.
#[test]
fn the_default_exchange_routes_by_queue_name_and_dead_lettering_keeps_it() {
    let s = story(
        r#"{
  "title": "default exchange",
  "producers": [{ "id": "p", "to": "orders", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [{ "id": "dlx", "kind": "direct", "bindings": [{ "queue": "orders-dead", "key": "orders" }] }],
  "queues": [{ "id": "orders", "ttl": "100ms", "dead_letter_exchange": "dlx" }, { "id": "orders-dead" }]
}"#,
        2_000_000,
    );
    assert_eq!(s.enqueued("orders-dead"), [(1_100_000, 1)]);
    assert_eq!(s.queue_keys("orders-dead"), ["orders"]);
}

/// Postmortem: with `max_length` 0 and drop-head, the queue trimmed before it
/// dispatched, so even an idle consumer never got a message. RabbitMQ tries
/// delivery first for drop-head (`deliver_or_enqueue`), but for the reject
/// modes it checks `will_overflow` (ready + 1 > max-length) first
/// (`maybe_deliver_or_enqueue`), so they refuse every publish at max-length 0
/// even with an idle consumer.
#[test]
fn max_length_zero_delivers_to_an_idle_consumer_only_with_drop_head() {
    for (overflow, processed, refused) in [("drop-head", 3, 0), ("reject-publish", 0, 3)] {
        let s = story(
            &format!(
                r#"{{
  "title": "ml0",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 3 }}],
  "queues": [{{ "id": "q", "max_length": 0, "overflow": "{overflow}" }}],
  "consumers": [{{ "id": "c", "queue": "q", "service": {{ "constant": "10ms" }} }}]
}}"#
            ),
            5_000_000,
        );
        assert_eq!(s.processed("c").len(), processed, "{overflow}");
        assert_eq!(s.drops().len(), refused, "{overflow}: {:?}", s.drops());
    }
}

/// Postmortem: a fanout DLX feeding queues that expire at once into the same
/// DLX multiplied copies at every hop; each copy had its own per-instant
/// budget, so one event did factorial work (35 s for 12 queues). The world
/// now caps dead-letterings per instant.
#[test]
fn a_dead_letter_storm_is_bounded_within_one_instant() {
    let n = 12;
    let queues: Vec<String> = (0..n)
        .map(|i| format!(r#"{{ "id": "q{i}", "ttl": "0us", "dead_letter_exchange": "dlx" }}"#))
        .collect();
    let bindings: Vec<String> = (0..n)
        .map(|i| format!(r#"{{ "queue": "q{i}" }}"#))
        .collect();
    let json = format!(
        r#"{{
  "title": "storm",
  "producers": [{{ "id": "p", "to": "q0", "rate": "1/s", "arrival": "constant", "count": 1 }}],
  "exchanges": [{{ "id": "dlx", "kind": "fanout", "bindings": [{}] }}],
  "queues": [{}]
}}"#,
        bindings.join(","),
        queues.join(",")
    );
    let mut e = engine(&json, 1);
    e.run_until(SimTime(3_000_000), 1_000);
    assert!(e.check_invariants().is_ok());
    let dead = e.totals().dead_lettered;
    assert!(dead > 0);
    assert!(
        dead <= 2 * queuelab::engine::DEAD_LETTERS_PER_INSTANT_MAX as u64,
        "{dead}"
    );
}

/// Postmortem: `seek_point` accepted a command time beyond pending events,
/// setting the clock forward; the next event then ran in the past.
#[test]
fn replay_refuses_a_log_that_skips_pending_events() {
    let s = scenario::preset("mm1").unwrap().scenario();
    let log = [LoggedCommand {
        at_us: 10_000_000,
        after_events: 0,
        command: serde_json::from_str(r#"{ "do": "pause_producer", "producer": "arrivals" }"#)
            .unwrap(),
    }];
    let err = Engine::replay(s, 1, &log, SimTime(20_000_000)).unwrap_err();
    assert!(err.contains("skips over pending events"), "{err}");
}

/// Postmortem: retry_queue mode silently ignored `backoff`; a zero service time
/// let a failing, requeueing consumer spin without the clock moving; a
/// scheduled crash of an instance that never exists was skipped silently;
/// `"µs"` was advertised but refused; `[]` parsed as a scenario.
#[test]
fn validation_names_what_used_to_be_silently_wrong() {
    let bad = |json: &str, want: &str| {
        let err = scenario::load(json).unwrap_err().to_string();
        assert!(err.contains(want), "{err} does not mention {want}");
    };
    let base = |consumer: &str, extra: &str| {
        format!(
            r#"{{ "title": "t", "exchanges": [{{ "id": "x", "kind": "fanout", "bindings": [{{ "queue": "q" }}] }}],
              "queues": [{{ "id": "q", "dead_letter_exchange": "x" }}],
              "consumers": [{consumer}] {extra} }}"#
        )
    };
    bad(
        &base(
            r#"{ "id": "c", "queue": "q", "service": { "constant": "1ms" }, "on_failure": "retry",
                 "retry": { "max_attempts": 3, "mode": "retry_queue", "backoff": { "fixed": "1s" } } }"#,
            "",
        ),
        "consumers[0].retry",
    );
    bad(
        &base(
            r#"{ "id": "c", "queue": "q", "service": { "constant": "0us" } }"#,
            "",
        ),
        "consumers[0].service",
    );
    bad(
        &base(
            r#"{ "id": "c", "queue": "q", "instances": 2, "service": { "constant": "1ms" } }"#,
            r#", "schedule": [{ "at": "1s", "command": { "do": "crash_consumer", "consumer": "c", "instance": 7 } }]"#,
        ),
        "schedule[0].command.instance",
    );
    bad("[]", "JSON object");
    assert_eq!(scenario::parse_duration("40µs").unwrap().us(), 40);
}

/// Postmortem: dead-lettering to a fanout DLX gave the original its history
/// (returns) and the copies none, so identical copies hit a delivery limit at
/// different times depending on binding order.
#[test]
fn copies_made_by_dead_lettering_share_their_history_and_start_fresh_returns() {
    let s = story(
        r#"{
  "title": "copies",
  "producers": [{ "id": "p", "to": "a", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [{ "id": "dlx", "kind": "fanout", "bindings": [{ "queue": "b" }, { "queue": "c" }] }],
  "queues": [{ "id": "a", "delivery_limit": 2, "dead_letter_exchange": "dlx" },
             { "id": "b", "delivery_limit": 1 }, { "id": "c", "delivery_limit": 1 }],
  "consumers": [
    { "id": "ca", "queue": "a", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "requeue" },
    { "id": "cb", "queue": "b", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "requeue" },
    { "id": "cc", "queue": "c", "service": { "constant": "10ms" }, "failure_rate": 1.0, "on_failure": "requeue" }
  ]
}"#,
        3_000_000,
    );
    let b = s.deliveries("cb").len();
    let c = s.deliveries("cc").len();
    assert_eq!(b, c, "both copies get the same number of deliveries");
    assert_eq!(
        b, 2,
        "limit 1: delivered, returned once, delivered, returned twice → dropped"
    );
    let limit_drops = s
        .drops()
        .iter()
        .filter(|d| d.2 == Reason::DeliveryLimit)
        .count();
    assert_eq!(limit_drops, 2);
    let _ = s.matching(|k| matches!(k, TraceKind::DeadLettered { .. }));
}

/// A bad field inside a service time or a retry policy is named by its own
/// path, below the value's: the builder and the app's JSON view jump to it.
#[test]
fn a_bad_field_inside_a_service_or_retry_policy_is_named_by_its_own_path() {
    let consumer = |fields: &str| {
        format!(
            r#"{{ "title": "t", "queues": [{{ "id": "q" }}],
              "consumers": [{{ "id": "c", "queue": "q", {fields} }}] }}"#
        )
    };
    let cases = [
        (
            r#""service": { "exponential": "0ms" }"#,
            "consumers[0].service.exponential",
            "exponential mean must be at least 1us",
        ),
        (
            r#""service": { "constant": "0ms" }"#,
            "consumers[0].service.constant",
            "constant service time must be at least 1us",
        ),
        (
            r#""service": { "uniform": ["0ms", "1ms"] }"#,
            "consumers[0].service.uniform[0]",
            "uniform low bound",
        ),
        (
            r#""service": { "uniform": ["2ms", "1ms"] }"#,
            "consumers[0].service.uniform",
            "[low, high]",
        ),
        (
            r#""service": { "log_normal": { "median": "0ms", "sigma": 1 } }"#,
            "consumers[0].service.log_normal.median",
            "median",
        ),
        (
            r#""service": { "log_normal": { "median": "1ms", "sigma": 9 } }"#,
            "consumers[0].service.log_normal.sigma",
            "between 0 and 5",
        ),
        (
            r#""service": { "constant": "1ms" }, "on_failure": "retry", "retry": { "max_attempts": 0 }"#,
            "consumers[0].retry.max_attempts",
            "between 1 and",
        ),
        (
            r#""service": { "constant": "1ms" }, "on_failure": "retry",
               "retry": { "max_attempts": 3, "backoff": { "exponential": { "initial": "1s", "max": "2s", "jitter": 3 } } }"#,
            "consumers[0].retry.backoff.exponential.jitter",
            "between 0 and 1",
        ),
        (
            r#""service": { "constant": "1ms" }, "on_failure": "retry",
               "retry": { "max_attempts": 3, "backoff": { "exponential": { "initial": "1s", "max": "2s", "multiplier": 0.5 } } }"#,
            "consumers[0].retry.backoff.exponential.multiplier",
            "between 1 and 100",
        ),
        (
            r#""service": { "constant": "1ms" }, "on_failure": "retry",
               "retry": { "max_attempts": 3, "backoff": { "exponential": { "initial": "2s", "max": "1s" } } }"#,
            "consumers[0].retry.backoff.exponential.max",
            "at least initial",
        ),
    ];
    for (fields, path, words) in cases {
        let text = consumer(fields);
        let e = queuelab::scenario::load(&text).unwrap_err();
        assert_eq!(e.issues.len(), 1, "{e}");
        assert_eq!(e.issues[0].path, path, "{e}");
        assert!(e.issues[0].message.contains(words), "{e}");
        // The JSON view can put the cursor on the field.
        let at = queuelab::scenario::edit::offset_of_path(&text, path)
            .unwrap_or_else(|| panic!("{path} is not found in the text"));
        let field = path
            .rsplit(['.', '['])
            .next()
            .unwrap()
            .trim_end_matches(']');
        let before = &text[..at];
        assert!(
            field.parse::<u32>().is_ok() || before.trim_end().ends_with(':'),
            "{path} points at a value: {}",
            &text[at..]
        );
    }
    // A command's error reads on its own, without the path.
    let e = queuelab::scenario::check_retry(&queuelab::scenario::RetryPolicy {
        max_attempts: 0,
        backoff: queuelab::scenario::Backoff::Immediate,
        mode: queuelab::scenario::RetryMode::Delayed,
        exhausted_to: None,
    })
    .unwrap_err();
    assert_eq!(e.field, "max_attempts");
    assert_eq!(e.msg, "max_attempts must be between 1 and 1000");
}
