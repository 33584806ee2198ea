//! Circuit breakers on consumers (`model::breaker`): when they open, what an
//! open breaker holds back, how probes close or re-open it, and the knob.
//!
//! Every scenario here publishes one message every 100 ms from t = 100 ms
//! (constant arrival at 10/s) into one consumer with a constant 10 ms
//! service, so every instant below is exact.

use crate::common::*;
use queuelab::engine::{Command, TraceKind};
use queuelab::scenario;
use serde_json::{json, Value};

/// Producer p → queue q → consumer c (`consumer` fields merged in); the
/// schedule as given.
fn world(consumer: Value, schedule: Value) -> String {
    let mut c = json!({ "id": "c", "queue": "q", "service": { "constant": "10ms" } });
    for (k, v) in consumer.as_object().unwrap() {
        c[k] = v.clone();
    }
    json!({
        "title": "breaker",
        "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant",
                        "keys": { "round_robin": ["bad", "bad", "ok"] } }],
        "queues": [{ "id": "q" }],
        "consumers": [c],
        "schedule": schedule,
    })
    .to_string()
}

/// (t_us, event) of every breaker transition.
fn transitions(s: &Story) -> Vec<(u64, TraceKind)> {
    s.matching(|k| {
        matches!(
            k,
            TraceKind::BreakerOpened { .. }
                | TraceKind::BreakerHalfOpen { .. }
                | TraceKind::BreakerClosed { .. }
        )
    })
    .into_iter()
    .map(|e| (e.t.0, e.kind))
    .collect()
}

fn opened(failures: u32, open_us: u64) -> TraceKind {
    TraceKind::BreakerOpened { failures, open_us }
}

fn delivered_in(s: &Story, from_us: u64, to_us: u64) -> usize {
    s.deliveries("c")
        .iter()
        .filter(|&&(t, ..)| t >= from_us && t < to_us)
        .count()
}

fn cmd(json: Value) -> Command {
    serde_json::from_value(json).expect("a command")
}

#[test]
fn opens_after_failures_in_a_row_holds_messages_then_a_probe_closes_it() {
    // The downstream is down until 2 s (every call fails), then healthy.
    let json = world(
        json!({ "failure_rate": 1.0,
                "circuit_breaker": { "failures": 3, "open_for": "1s" } }),
        json!([{ "at": "2s", "command": { "do": "set_failure_rate", "consumer": "c", "failure_rate": 0.0 } }]),
    );
    let s = story(&json, ms(3550));
    // Messages 1-3 fail at 110, 210, 310 ms: the third opens it for 1 s.
    // At 1310 one probe goes through and fails at 1320: open again. At 2320
    // the probe succeeds (the downstream is back): closed at 2330.
    assert_eq!(
        transitions(&s),
        [
            (ms(310), opened(3, ms(1000))),
            (ms(1310), TraceKind::BreakerHalfOpen { probes: 1 }),
            (ms(1320), opened(1, ms(1000))),
            (ms(2320), TraceKind::BreakerHalfOpen { probes: 1 }),
            (ms(2330), TraceKind::BreakerClosed { probes: 1 }),
        ]
    );
    // Nothing is delivered while it is open; one probe at a time while half-open.
    assert_eq!(delivered_in(&s, ms(311), ms(1310)), 0);
    assert_eq!(delivered_in(&s, ms(1310), ms(1320)), 1);
    assert_eq!(delivered_in(&s, ms(1321), ms(2320)), 0);
    assert_eq!(delivered_in(&s, ms(2320), ms(2330)), 1);
    // The held-back messages waited in the queue instead of failing: only
    // the three that opened it and the failed probe were rejected (no DLX:
    // dropped); the other 31 published by 3.5 s were processed.
    assert_eq!(s.drops().len(), 4);
    assert_eq!(s.processed("c").len(), 31);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    let b = &r["nodes"]["c"]["breaker"];
    assert_eq!(b["state"], "closed");
    assert_eq!(b["opens"], 2);
    assert_eq!(b["open_total_us"], 2_000_000);
}

#[test]
fn only_failures_in_a_row_count_a_success_resets_them() {
    // Keys bad, bad, ok, bad, bad, ok, ...: "bad" is poison (always fails).
    let poison = |failures: u32| {
        world(
            json!({ "poison": { "key": "bad" },
                    "circuit_breaker": { "failures": failures, "open_for": "1s" } }),
            json!([]),
        )
    };
    // Two failures, then a success: a threshold of 3 is never reached.
    let s = story(&poison(3), ms(5000));
    assert_eq!(transitions(&s), []);
    assert_eq!(s.processed("c").len(), 16);
    // A threshold of 2 opens at the second failure (210 ms).
    let s = story(&poison(2), ms(500));
    assert_eq!(transitions(&s)[0], (ms(210), opened(2, ms(1000))));
}

#[test]
fn half_open_lets_exactly_the_probes_through_across_instances_and_prefetch() {
    // Three instances holding up to four each, but two probes: at 1110 two
    // deliveries go out; the first success alone does not close it (the
    // other probe is still out), the second does, and the backlog flows.
    let json = world(
        json!({ "failure_rate": 1.0, "instances": 3, "prefetch": 4,
                "circuit_breaker": { "failures": 1, "open_for": "1s", "probes": 2 } }),
        json!([{ "at": "500ms", "command": { "do": "set_failure_rate", "consumer": "c", "failure_rate": 0.0 } }]),
    );
    let s = story(&json, ms(1150));
    assert_eq!(
        transitions(&s),
        [
            (ms(110), opened(1, ms(1000))),
            (ms(1110), TraceKind::BreakerHalfOpen { probes: 2 }),
            (ms(1120), TraceKind::BreakerClosed { probes: 2 }),
        ]
    );
    assert_eq!(delivered_in(&s, ms(111), ms(1110)), 0);
    assert_eq!(delivered_in(&s, ms(1110), ms(1111)), 2);
    // Messages 4..=11 waited (published 400..1100 ms): all eight at once.
    assert_eq!(delivered_in(&s, ms(1120), ms(1121)), 8);
}

#[test]
fn removing_an_open_breaker_resumes_deliveries_and_its_timer_does_nothing() {
    let json = world(
        json!({ "failure_rate": 1.0,
                "circuit_breaker": { "failures": 1, "open_for": "10s" } }),
        json!([]),
    );
    let mut s = story(&json, ms(550));
    assert_eq!(transitions(&s), [(ms(110), opened(1, ms(10_000)))]);
    assert_eq!(delivered_in(&s, ms(111), ms(550)), 0);
    s.engine
        .submit(cmd(json!({ "do": "set_circuit_breaker", "consumer": "c" })))
        .expect("valid");
    s.run_to(ms(12_000));
    // The four waiting messages are delivered at once (one instance: one
    // now, the next as each finishes), and the old 10 s timer is stale.
    assert_eq!(delivered_in(&s, ms(550), ms(551)), 1);
    assert!(s
        .matching(|k| matches!(k, TraceKind::BreakerHalfOpen { .. }))
        .is_empty());
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert!(r["nodes"]["c"].get("breaker").is_none());

    // A breaker set after a removal starts its counts from zero.
    s.engine
        .submit(cmd(json!({ "do": "set_circuit_breaker", "consumer": "c",
                            "circuit_breaker": { "failures": 2, "open_for": "1s" } })))
        .expect("valid");
    s.run_to(ms(12_400));
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    let b = &r["nodes"]["c"]["breaker"];
    assert_eq!(b["state"], "open");
    assert_eq!(b["opens"], 1, "no: {b}");
}

#[test]
fn a_breaker_re_added_before_the_old_timer_fires_ignores_that_timer() {
    // Open at 110 ms for 10 s (timer at 10.11 s); removed at 1 s; a new
    // breaker (open 60 s) at 2 s opens on the next failure. The old timer
    // must not make the new one half-open at 10.11 s.
    let json = world(
        json!({ "failure_rate": 1.0,
                "circuit_breaker": { "failures": 1, "open_for": "10s" } }),
        json!([
            { "at": "1s", "command": { "do": "set_circuit_breaker", "consumer": "c" } },
            { "at": "2s", "command": { "do": "set_circuit_breaker", "consumer": "c",
                                       "circuit_breaker": { "failures": 1, "open_for": "60s" } } }
        ]),
    );
    let s = story(&json, ms(30_000));
    let t = transitions(&s);
    assert_eq!(t[0], (ms(110), opened(1, ms(10_000))));
    assert!(
        matches!(
            t[1].1,
            TraceKind::BreakerOpened {
                open_us: 60_000_000,
                ..
            }
        ),
        "{t:?}"
    );
    assert_eq!(t.len(), 2, "no half-open before 60 s: {t:?}");
    let last_open = t[1].0;
    assert_eq!(delivered_in(&s, last_open + 1, ms(30_000)), 0);
}

#[test]
fn breaker_settings_are_checked_with_the_field_named() {
    let bad = |breaker: Value| {
        let json = world(json!({ "circuit_breaker": breaker }), json!([]));
        scenario::load(&json).unwrap_err().to_string()
    };
    let e = bad(json!({ "failures": 0, "open_for": "1s" }));
    assert!(e.contains("consumers[0].circuit_breaker.failures"), "{e}");
    let e = bad(json!({ "failures": 3, "open_for": "0s" }));
    assert!(e.contains("consumers[0].circuit_breaker.open_for"), "{e}");
    let e = bad(json!({ "failures": 3, "open_for": "1s", "probes": 1001 }));
    assert!(e.contains("consumers[0].circuit_breaker.probes"), "{e}");
    let e = bad(json!({ "failures": 3 }));
    assert!(e.contains("open_for"), "{e}");
    // In a schedule, the command's path is named.
    let json = world(
        json!({}),
        json!([{ "at": "1s", "command": { "do": "set_circuit_breaker", "consumer": "c",
                  "circuit_breaker": { "failures": 3, "open_for": "25h" } } }]),
    );
    let e = scenario::load(&json).unwrap_err().to_string();
    assert!(
        e.contains("schedule[0].command.circuit_breaker.open_for"),
        "{e}"
    );
    // A live command with a bad value is refused and changes nothing.
    let mut eng = engine(&world(json!({}), json!([])), 1);
    let err = eng
        .submit(cmd(json!({ "do": "set_circuit_breaker", "consumer": "c",
                            "circuit_breaker": { "failures": 1, "open_for": "1s", "probes": 0 } })))
        .unwrap_err()
        .to_string();
    assert!(err.contains("circuit_breaker.probes"), "{err}");
    assert_eq!(eng.command_log().len(), 0);
    // An SQS consumer has no breaker (refused in the scenario and live).
    let sqs = json!({
        "title": "sqs",
        "producers": [{ "id": "p", "to": "q", "rate": "1/s" }],
        "queues": [{ "id": "q", "sqs": {} }],
        "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" },
                        "circuit_breaker": { "failures": 1, "open_for": "1s" } }],
    });
    let e = scenario::load(&sqs.to_string()).unwrap_err().to_string();
    assert!(e.contains("consumers[0].circuit_breaker"), "{e}");
    assert!(e.contains("SQS"), "{e}");
    let mut sqs = sqs;
    sqs["consumers"][0]
        .as_object_mut()
        .unwrap()
        .remove("circuit_breaker");
    sqs["schedule"] = json!([{ "at": "1s", "command": { "do": "set_circuit_breaker", "consumer": "c",
                                "circuit_breaker": { "failures": 1, "open_for": "1s" } } }]);
    let e = scenario::load(&sqs.to_string()).unwrap_err().to_string();
    assert!(e.contains("schedule[0].command.consumer"), "{e}");
}

#[test]
fn the_preset_dead_letters_far_less_with_the_breaker() {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/circuit-breaker.json"
    ))
    .unwrap();
    let s = story(&json, 45_000_000);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    let depth = |q: &str| r["nodes"][q]["depth"].as_u64().unwrap();
    // The plain consumer dead-letters most orders of the 15 s outage (20/s);
    // the guarded one holds them in its queue and processes them afterwards.
    assert!(depth("plain-dlq") > 200, "{}", depth("plain-dlq"));
    assert!(depth("guarded-dlq") <= 5, "{}", depth("guarded-dlq"));
    assert_eq!(depth("guarded-q"), 0);
    // While it was open the guarded queue grew: deliveries stopped.
    let opens = s.matching(|k| matches!(k, TraceKind::BreakerOpened { .. }));
    assert!(opens.len() >= 3);
    assert!(opens
        .iter()
        .all(|e| e.t.0 >= 10_000_000 && e.t.0 < 26_000_000));
}
