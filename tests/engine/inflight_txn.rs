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
    // Explicit idempotence (`enable.idempotence=true`): at most 5.
    let e = err(json!({"acks": "all", "idempotent": true, "max_in_flight": 6}));
    assert!(e.contains("producers[0].max_in_flight"), "{e}");
    assert!(e.contains("idempotent"), "{e}");
    // Unset, it is on with acks=all (Kafka 3.0+) unless the window is above
    // 5: then Kafka turns it off with a warning, and the scenario loads.
    assert_eq!(err(json!({"acks": "all", "max_in_flight": 6})), "");
    assert_eq!(
        err(json!({"acks": "all", "idempotent": false, "max_in_flight": 6})),
        ""
    );
    let e = err(json!({"acks": "1", "max_in_flight": 0}));
    assert!(e.contains("producers[0].max_in_flight"), "{e}");
}

// ------------------------------------------------ transactions and zombies

/// 200 orders (constant 1000/s: a backlog of 100 per partition, 2 s of
/// work for each member; keys round-robin) → `in` (2 partitions) →
/// `enricher` (2 members, 20 ms a record, batches of ≤ 10, session timeout
/// 1 s) writes one output per order to `out` → `billing` reads `out`
/// read_committed. `output` merges over the enricher's output.
fn rpw_world(output: Value) -> String {
    let mut out = json!({"topic": "out"});
    out.as_object_mut()
        .unwrap()
        .extend(output.as_object().unwrap().clone());
    json!({
        "title": "read-process-write", "duration": "60s",
        "producers": [{"id": "orders", "to": "in", "rate": "1000/s", "arrival": "constant", "count": 200,
            "keys": {"round_robin": ["a", "b", "c", "d"]}}],
        "topics": [{"id": "in", "partitions": 2}, {"id": "out", "partitions": 2}],
        "consumer_groups": [
            {"id": "enricher", "topics": ["in"], "members": 2, "auto_offset_reset": "earliest",
             "max_poll_records": 10, "service": {"constant": "20ms"}, "session_timeout": "1s",
             "commit": {"after_processing": {"per": "batch"}}, "output": out},
            {"id": "billing", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "1ms"}}
        ]
    })
    .to_string()
}

fn groups(e: &Engine) -> Value {
    serde_json::to_value(e.ledger_report()).unwrap()["streams"]["groups"].clone()
}

/// Run `s`; at `pause_at_us` member 0 of the enricher stops for `pause_us`.
fn paused_run(s: &str, pause_at_us: u64, pause_us: u64) -> crate::common::Story {
    let mut e = engine(s, 9);
    run_checked(&mut e, pause_at_us);
    e.submit(queuelab::engine::Command::PauseMember {
        group: "enricher".into(),
        member: 0,
        duration: queuelab::scenario::Duration::from_ms(pause_us / 1000),
    })
    .unwrap();
    run_checked(&mut e, 60_000_000);
    let trace = e.take_trace();
    crate::common::Story { engine: e, trace }
}

/// Outputs the enricher wrote at instant `t_us` (its `published` events with a parent).
fn outputs_at(s: &crate::common::Story, t_us: u64) -> usize {
    let enricher = s.node("enricher");
    s.trace
        .iter()
        .filter(|ev| {
            ev.t.0 == t_us
                && ev.node == enricher
                && matches!(
                    ev.kind,
                    queuelab::engine::TraceKind::Published {
                        parent: Some(_),
                        ..
                    }
                )
        })
        .count()
}

#[test]
fn a_paused_member_evicted_then_woken_is_a_zombie_that_duplicates_without_transactions() {
    // 1.01 s in, member 0 stops for 5 s (a GC pause) in the middle of a
    // batch. At 2.01 s its session times out: it is evicted and member 1 takes its
    // partition from the last committed offset, processing the zombie's
    // batch again. At 6.01 s the zombie wakes, believes it still owns the
    // partition, and finishes its batch: every output it writes is a second
    // one for an input the new owner already wrote, and billing reads both.
    let s = paused_run(&rpw_world(json!({})), 1_010_000, 5_000_000);
    let names: Vec<&str> = s.trace.iter().map(|ev| ev.kind.name()).collect();
    assert!(names.contains(&"member_paused") && names.contains(&"member_evicted"));
    let woke = s
        .trace
        .iter()
        .find(|ev| {
            matches!(
                ev.kind,
                queuelab::engine::TraceKind::MemberResumed { evicted: true, .. }
            )
        })
        .expect("the zombie wakes");
    assert_eq!(woke.t.0, 6_010_000);
    let zombie_outputs = outputs_at(&s, 6_010_000);
    assert!(zombie_outputs >= 3, "{zombie_outputs}");
    let g = groups(&s.engine);
    let dup = g["enricher"]["duplicate_committed_outputs"]
        .as_u64()
        .unwrap();
    assert!(dup >= zombie_outputs as u64, "{g}");
    assert_eq!(
        g["billing"]["processed"].as_u64().unwrap(),
        200 + dup,
        "billing saw the duplicates: {g}"
    );
    assert!(!names.contains(&"producer_fenced"));
    // Every processing has a time in system, the zombie's included.
    let enricher = crate::streams::group(&s.engine, "enricher");
    assert_eq!(
        enricher.latency_us.count, enricher.processed,
        "{enricher:?}"
    );
}

#[test]
fn with_transactions_the_new_owner_fences_the_zombie_and_read_committed_sees_each_output_once() {
    // The same seed and the same pause, with transactions: member 1's
    // initTransactions for partition 0's transactional id bumps its epoch and
    // aborts the transaction the paused member left open. When the zombie
    // wakes, its first write is refused (ProducerFenced): it stops, and
    // nothing it wrote is ever read committed.
    let s = paused_run(
        &rpw_world(json!({"transactional": true})),
        1_010_000,
        5_000_000,
    );
    let bumped = s
        .trace
        .iter()
        .find(|ev| ev.kind.name() == "producer_epoch_bumped")
        .expect("the new owner bumps the epoch");
    assert!(bumped.t.0 > 2_000_000 && bumped.t.0 < 6_010_000);
    let fenced: Vec<_> = s
        .trace
        .iter()
        .filter(|ev| ev.kind.name() == "producer_fenced")
        .collect();
    assert_eq!(fenced.len(), 1);
    assert_eq!(fenced[0].t.0, 6_010_000);
    assert_eq!(outputs_at(&s, 6_010_000), 0, "the zombie wrote nothing");
    let g = groups(&s.engine);
    assert_eq!(g["enricher"]["duplicate_committed_outputs"], 0, "{g}");
    assert!(
        g["enricher"]["transactions_aborted"].as_u64().unwrap() >= 1,
        "{g}"
    );
    assert_eq!(g["billing"]["processed"], 200, "exactly once: {g}");
    assert_eq!(g["billing"]["reprocessed"], 0, "{g}");
}

#[test]
fn a_pause_shorter_than_the_session_timeout_only_delays() {
    for transactional in [false, true] {
        let s = paused_run(
            &rpw_world(json!({"transactional": transactional})),
            1_000_000,
            500_000,
        );
        let names: Vec<&str> = s.trace.iter().map(|ev| ev.kind.name()).collect();
        assert!(names.contains(&"member_resumed"));
        assert!(!names.contains(&"member_evicted"));
        let g = groups(&s.engine);
        assert_eq!(g["enricher"]["duplicate_outputs"], 0, "{g}");
        assert_eq!(g["billing"]["processed"], 200, "{g}");
    }
}

/// The enricher with `polls_per_txn`, member 0 crashing at 1.5 s.
fn spanning(polls_per_txn: Option<u32>) -> Value {
    let mut out = json!({"transactional": true});
    if let Some(n) = polls_per_txn {
        out["polls_per_txn"] = json!(n);
    }
    let mut e = engine(&rpw_world(out), 9);
    run_checked(&mut e, 1_500_000);
    e.submit(queuelab::engine::Command::CrashMember {
        group: "enricher".into(),
        member: 0,
    })
    .unwrap();
    run_checked(&mut e, 60_000_000);
    groups(&e)
}

#[test]
fn a_transaction_spanning_four_polls_commits_less_often_and_a_crash_aborts_more() {
    let one = spanning(None);
    let four = spanning(Some(4));
    let committed = |g: &Value| g["enricher"]["transactions_committed"].as_u64().unwrap();
    // A transaction per batch against one per four batches (or per idle poll).
    assert!(committed(&four) * 2 < committed(&one), "{one} {four}");
    // The crash aborts the open transaction: with four polls in it, more
    // outputs are thrown away (and written again by the new owner).
    let aborted = |g: &Value| g["enricher"]["duplicate_outputs"].as_u64().unwrap();
    assert!(aborted(&four) > aborted(&one), "{one} {four}");
    for g in [&one, &four] {
        assert_eq!(g["enricher"]["duplicate_committed_outputs"], 0, "{g}");
        assert_eq!(g["billing"]["processed"], 200, "{g}");
    }
    // Unset is exactly one poll per transaction.
    assert_eq!(one, spanning(Some(1)));
}

#[test]
fn polls_per_txn_needs_a_transactional_output() {
    let err = |o: Value| match queuelab::scenario::load(&rpw_world(o)) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    let e = err(json!({"polls_per_txn": 3}));
    assert!(e.contains("consumer_groups[0].output.polls_per_txn"), "{e}");
    let e = err(json!({"transactional": true, "polls_per_txn": 0}));
    assert!(e.contains("consumer_groups[0].output.polls_per_txn"), "{e}");
    assert_eq!(err(json!({"transactional": true, "polls_per_txn": 3})), "");
}

/// Exactly-once read-process-write under lost requests and answers, a
/// bounded window, a transaction spanning polls, a member crash and a GC
/// pause of the other member (shorter or longer than the session timeout).
fn eos_pause_world(
    drop_pct: u32,
    window: u32,
    polls: u32,
    crash_ms: u64,
    pause_ms: u64,
    pause_for_ms: u64,
) -> String {
    json!({
        "title": "eos under a pause", "duration": "20s",
        "producers": [{"id": "app", "to": "in", "rate": "100/s", "count": 300, "keys": {"random_of_n": 8},
            "acks": "all", "max_in_flight": window, "confirms": {"timeout": "300ms", "retries": 100},
            "faults": {"drop": drop_pct as f64 / 200.0, "confirm_drop": drop_pct as f64 / 200.0}}],
        "topics": [{"id": "in", "partitions": 2}, {"id": "out", "partitions": 2}],
        "consumer_groups": [
            {"id": "proc", "topics": ["in"], "members": 3, "auto_offset_reset": "earliest", "session_timeout": "1s",
             "max_poll_records": 10, "service": {"exponential": "10ms"},
             "commit": {"after_processing": {"per": "batch"}},
             "output": {"topic": "out", "transactional": true, "polls_per_txn": polls}},
            {"id": "sink", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "1ms"}}
        ],
        "schedule": [
            {"at": format!("{crash_ms}ms"), "command": {"do": "crash_member", "group": "proc", "member": 0}},
            {"at": format!("{pause_ms}ms"), "command": {"do": "pause_member", "group": "proc", "member": 1,
                "duration": format!("{pause_for_ms}ms")}}
        ]
    })
    .to_string()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, .. Default::default() })]

    #[test]
    fn transactions_keep_exactly_once_through_pauses_zombies_and_windows(
        seed in 0u64..1000, drop_pct in 0u32..=30, window in 1u32..=5, polls in 1u32..=4,
        crash_ms in 300u64..4000, pause_ms in 300u64..4000, pause_for_ms in 200u64..4000,
    ) {
        let s = eos_pause_world(drop_pct, window, polls, crash_ms, pause_ms, pause_for_ms);
        let mut e = engine(&s, seed);
        run_checked(&mut e, 120_000_000);
        let l = serde_json::to_value(e.ledger_report()).unwrap();
        let t = &l["streams"]["topics"]["in"];
        let g = &l["streams"]["groups"];
        proptest::prop_assert_eq!(&t["duplicates_appended"], &json!(0), "{}", t);
        proptest::prop_assert_eq!(&t["unacked_lost"], &json!(0), "{}", t);
        proptest::prop_assert_eq!(&g["proc"]["duplicate_committed_outputs"], &json!(0), "{}", g);
        proptest::prop_assert_eq!(&g["sink"]["processed"], &json!(300), "{}", g);
        proptest::prop_assert_eq!(&g["sink"]["out_of_order"], &json!(0), "{}", g);
    }
}

/// The `kafka-zombie-fencing` preset's lane, run to 30 s: its ledger's
/// groups and the names of its trace kinds.
fn zombie_lane(transactional: bool) -> (Value, Vec<&'static str>) {
    let mut s = queuelab::scenario::preset("kafka-zombie-fencing")
        .unwrap()
        .scenario();
    s.variants.clear();
    s.consumer_groups[0].output.as_mut().unwrap().transactional = transactional;
    let mut e = Engine::new(s, 7).unwrap();
    e.set_trace_capture(true, 1 << 20);
    run_checked(&mut e, 30_000_000);
    let names = e.take_trace().iter().map(|ev| ev.kind.name()).collect();
    (groups(&e), names)
}

#[test]
fn the_zombie_fencing_preset_shows_both_sides() {
    let (plain, plain_kinds) = zombie_lane(false);
    let (txn, txn_kinds) = zombie_lane(true);
    assert!(plain_kinds.contains(&"member_evicted") && txn_kinds.contains(&"member_evicted"));
    assert!(
        plain["enricher"]["duplicate_committed_outputs"]
            .as_u64()
            .unwrap()
            >= 1,
        "{plain}"
    );
    assert!(!plain_kinds.contains(&"producer_fenced"));
    assert_eq!(txn["enricher"]["duplicate_committed_outputs"], 0, "{txn}");
    assert!(txn_kinds.contains(&"producer_epoch_bumped"), "{txn}");
    assert!(txn_kinds.contains(&"producer_fenced"), "{txn}");
}

#[test]
fn pause_member_is_checked_live_and_in_the_schedule() {
    let mut e = engine(&rpw_world(json!({})), 1);
    run_checked(&mut e, 500_000);
    let pause = |member, ms| queuelab::engine::Command::PauseMember {
        group: "enricher".into(),
        member,
        duration: queuelab::scenario::Duration::from_ms(ms),
    };
    assert!(e.submit(pause(5, 100)).is_err(), "no member 5");
    assert!(e.submit(pause(0, 0)).is_err(), "a pause of nothing");
    assert!(e.submit(pause(0, 100)).is_ok());
    assert!(e.submit(pause(0, 100)).is_err(), "already paused");
    let mut s: Value = serde_json::from_str(&rpw_world(json!({}))).unwrap();
    s["schedule"] = json!([{"at": "1s", "command": {"do": "pause_member", "group": "enricher", "member": 7, "duration": "0ms"}}]);
    let err = queuelab::scenario::load(&s.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("schedule[0].command.member"), "{err}");
    assert!(err.contains("schedule[0].command.duration"), "{err}");
}
