//! Kafka's window of in-flight batches (`max_in_flight`) and transactions
//! that span polls with zombie fencing: each story runs the same seed with
//! one knob turned, and reads the difference off the ledger and the trace.

use crate::common::{engine, run_checked};
use queuelab::engine::Engine;
use serde_json::{json, Value};

/// One producer (constant `rate`, 300 records of one key) → a 1-partition
/// topic → one group with a fast member. `p` merges over the producer.
fn one_key_world(rate: &str, p: Value) -> String {
    let mut producer = json!({"id": "app", "to": "events", "rate": rate, "arrival": "constant",
        "count": 300, "keys": {"fixed": "order-7"}, "latency": "5ms"});
    producer
        .as_object_mut()
        .unwrap()
        .extend(p.as_object().unwrap().clone());
    json!({
        "title": "in-flight window", "duration": "60s",
        "producers": [producer], "topics": [{"id": "events", "partitions": 1}],
        "consumer_groups": [{"id": "readers", "topics": ["events"], "members": 1,
            "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}]
    })
    .to_string()
}

fn ledger(e: &Engine) -> (Value, Value) {
    let l = serde_json::to_value(e.ledger_report()).unwrap();
    (
        l["streams"]["topics"]["events"].clone(),
        l["streams"]["groups"]["readers"].clone(),
    )
}

fn run(s: &str, seed: u64, until_us: u64) -> Engine {
    let mut e = engine(s, seed);
    run_checked(&mut e, until_us);
    e
}

/// A lossy link to the broker: 10% of produce requests are lost and resent
/// after a 200 ms request timeout.
fn lossy(idempotent: bool, max_in_flight: u32) -> Value {
    json!({"acks": "all", "idempotent": idempotent, "max_in_flight": max_in_flight,
        "faults": {"drop": 0.1}, "confirms": {"timeout": "200ms", "retries": 50}})
}

#[test]
fn five_in_flight_without_idempotence_reorders_a_key_and_one_in_flight_does_not() {
    // Every record is its own batch (no linger). With five in flight, a lost
    // request is resent 200 ms later, after the batches sent behind it went
    // through: the log holds order-7's records out of publish order, and the
    // group processes them so.
    let five = run(&one_key_world("100/s", lossy(false, 5)), 3, 60_000_000);
    let (t5, g5) = ledger(&five);
    assert!(t5["resent"].as_u64().unwrap() > 10, "{t5}");
    assert_eq!(g5["processed"], 300, "{g5}");
    assert!(g5["out_of_order"].as_u64().unwrap() > 10, "{g5}");
    // The same link and the same losses (the link's own stream), one batch in
    // flight: nothing overtakes the batch being resent, so the key keeps its order.
    let one = run(&one_key_world("100/s", lossy(false, 1)), 3, 60_000_000);
    let (t1, g1) = ledger(&one);
    assert!(t1["resent"].as_u64().unwrap() > 10, "{t1}");
    assert_eq!(g1["processed"], 300, "{g1}");
    assert_eq!(g1["out_of_order"], 0, "{g1}");
    // The cost: batches waited in the producer for the window.
    assert!(t1["batches_waited"].as_u64().unwrap() > 50, "{t1}");
    assert_eq!(t1["unacked_lost"], 0, "{t1}");
}

#[test]
fn the_idempotent_producer_keeps_the_order_with_five_in_flight() {
    // The broker takes only the next sequence: the batches behind a lost one
    // are refused (OutOfOrderSequence) and resent after it, in order.
    let e = run(&one_key_world("100/s", lossy(true, 5)), 3, 60_000_000);
    let (t, g) = ledger(&e);
    assert!(t["resent"].as_u64().unwrap() > 10, "{t}");
    assert_eq!(g["processed"], 300, "{g}");
    assert_eq!(g["out_of_order"], 0, "{g}");
    assert_eq!(t["duplicates_appended"], 0, "{t}");
    assert_eq!(t["unacked_lost"], 0, "{t}");
}

#[test]
fn one_batch_in_flight_caps_throughput_at_one_batch_per_round_trip() {
    // 500 records/s, each its own batch, 20 ms to the broker: one in flight
    // lets 50 batches a second through, five let 250; without a window all
    // 300 (published in 0.6 s) are appended 20 ms after their send.
    let world = |n: u32| {
        one_key_world(
            "500/s",
            json!({"acks": "all", "max_in_flight": n, "latency": "20ms"}),
        )
    };
    let one = run(&world(1), 1, 1_000_000);
    let five = run(&world(5), 1, 1_000_000);
    let unlimited = run(
        &one_key_world("500/s", json!({"latency": "20ms"})),
        1,
        1_000_000,
    );
    let appended = |e: &Engine| ledger(e).0["appended"].as_u64().unwrap();
    let (a1, a5, au) = (appended(&one), appended(&five), appended(&unlimited));
    assert!((48..=50).contains(&a1), "one in flight: {a1}");
    assert!((240..=250).contains(&a5), "five in flight: {a5}");
    assert_eq!(au, 300, "no window: all 300 by 0.62 s");
    assert!(ledger(&one).0["batches_waited"].as_u64().unwrap() > 250);
    assert!(ledger(&unlimited).0.get("batches_waited").is_none());
}

#[test]
fn max_in_flight_is_checked_against_idempotence() {
    let err = |p: Value| match queuelab::scenario::load(&one_key_world("10/s", p)) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    // Unset idempotence with acks=all is on (Kafka 3.0+): at most 5.
    let e = err(json!({"acks": "all", "max_in_flight": 6}));
    assert!(e.contains("producers[0].max_in_flight"), "{e}");
    assert!(e.contains("idempotent"), "{e}");
    assert_eq!(
        err(json!({"acks": "all", "idempotent": false, "max_in_flight": 6})),
        ""
    );
    let e = err(json!({"acks": "1", "max_in_flight": 0}));
    assert!(e.contains("producers[0].max_in_flight"), "{e}");
}
