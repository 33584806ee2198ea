//! Kafka's produce path under faults: acks 0 / 1 / all against a leader
//! crash with replication, the high watermark, lost answers with and without
//! the idempotent producer, `min_insync` — each counted in the ledger's
//! `streams` section, with the invariants checked after every event.

use crate::common::{engine, run_checked};
use queuelab::engine::{Command, Engine, TraceKind};
use queuelab::scenario::Duration;
use serde_json::{json, Value};

/// One producer (constant 100/s, `count` records) → a 1-partition topic with
/// `replication` → one group with a fast member. `p` merges over the producer.
fn world(replication: Value, p: Value, count: u64) -> String {
    let mut producer = json!({"id": "app", "to": "events", "rate": "100/s", "arrival": "constant", "count": count});
    producer
        .as_object_mut()
        .unwrap()
        .extend(p.as_object().unwrap().clone());
    let mut topic = json!({"id": "events", "partitions": 1});
    if !replication.is_null() {
        topic["replication"] = replication;
    }
    json!({
        "title": "kafka guarantees", "duration": "60s",
        "producers": [producer], "topics": [topic],
        "consumer_groups": [{"id": "readers", "topics": ["events"], "members": 1, "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}]
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

fn crash_at(s: &str, at_us: u64) -> Engine {
    let mut e = engine(s, 1);
    run_checked(&mut e, at_us);
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(1)),
    })
    .unwrap();
    run_checked(&mut e, 30_000_000);
    e
}

const REPL: fn() -> Value = || json!({"factor": 3, "min_insync": 2, "replica_lag": "50ms"});

#[test]
fn acks_1_loses_acknowledged_records_when_the_leader_crashes() {
    let e = crash_at(&world(REPL(), json!({"acks": "1"}), 200), 1_025_000);
    let (t, g) = ledger(&e);
    // Records appended in the 50 ms before the crash were acknowledged by the
    // leader but not yet on the followers: the new leader never had them.
    let lost = t["acked_lost"].as_u64().unwrap();
    assert!((4..=6).contains(&lost), "{t}");
    assert_eq!(g["processed"].as_u64().unwrap() + lost, 200, "{g}");
    assert_eq!(t["resent"], 0);
    let trace_crash = e.command_log().len();
    assert_eq!(trace_crash, 1);
}

#[test]
fn acks_0_loses_what_the_crash_truncated_and_the_ledger_counts_it() {
    // The same crash with acks=0: the records the followers had not copied
    // yet are truncated, nobody answered for them and nobody resends them.
    // They are lost without an answer (`unacked_lost`), not acknowledged.
    let mut e = crash_at(&world(REPL(), json!({"acks": "0"}), 200), 1_025_000);
    let (t, g) = ledger(&e);
    let lost = t["unacked_lost"].as_u64().unwrap();
    assert!((4..=6).contains(&lost), "{t}");
    assert_eq!(t["acked_lost"], 0, "{t}");
    assert_eq!(t["resent"], 0, "acks=0 never retries");
    // Every record is either processed or counted lost.
    assert_eq!(g["processed"].as_u64().unwrap() + lost, 200, "{g}");
    let truncated: u32 = e
        .take_trace()
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::LeaderCrashed { truncated, .. } => Some(truncated),
            _ => None,
        })
        .sum();
    assert_eq!(truncated as u64, lost);
}

#[test]
fn acks_all_resends_what_the_crash_truncated_and_loses_nothing() {
    let e = crash_at(&world(REPL(), json!({"acks": "all"}), 200), 1_025_000);
    let (t, g) = ledger(&e);
    assert_eq!(t["acked_lost"], 0, "{t}");
    assert_eq!(t["unacked_lost"], 0, "{t}");
    assert!(t["resent"].as_u64().unwrap() >= 4, "{t}");
    // Every record reached the group exactly once.
    assert_eq!(g["processed"], 200, "{g}");
    assert_eq!(t["duplicates_appended"], 0);
}

#[test]
fn consumers_read_only_below_the_high_watermark() {
    let mut e = engine(&world(REPL(), json!({"acks": "all", "start": "1s"}), 1), 1);
    run_checked(&mut e, 5_000_000);
    let trace = e.take_trace();
    let appended = trace
        .iter()
        .find(|ev| ev.kind.name() == "appended")
        .unwrap()
        .t
        .0;
    let fetched = trace
        .iter()
        .find(|ev| ev.kind.name() == "fetched")
        .unwrap()
        .t
        .0;
    assert_eq!(
        fetched - appended,
        50_000,
        "fetched exactly replica_lag after the append"
    );
}

#[test]
fn a_lost_answer_duplicates_unless_the_producer_is_idempotent() {
    let faults = json!({"confirm_drop": 0.3});
    let conf = json!({"timeout": "200ms", "retries": 20});
    let plain = world(
        Value::Null,
        json!({"acks": "all", "idempotent": false, "faults": faults, "confirms": conf}),
        300,
    );
    let idem = world(
        Value::Null,
        json!({"acks": "all", "idempotent": true, "faults": faults, "confirms": conf}),
        300,
    );
    let mut a = engine(&plain, 4);
    run_checked(&mut a, 60_000_000);
    let mut b = engine(&idem, 4);
    run_checked(&mut b, 60_000_000);
    let (ta, ga) = ledger(&a);
    let (tb, gb) = ledger(&b);
    let dups = ta["duplicates_appended"].as_u64().unwrap();
    assert!(dups > 30, "{ta}");
    assert_eq!(ga["processed"].as_u64().unwrap(), 300 + dups, "{ga}");
    assert_eq!(tb["duplicates_appended"], 0, "{tb}");
    assert!(tb["duplicates_rejected"].as_u64().unwrap() > 30, "{tb}");
    assert_eq!(gb["processed"], 300, "{gb}");
    // The same faults (the link's own stream) in both runs.
    assert_eq!(ta["resent"], tb["resent"]);
}

#[test]
fn min_insync_refuses_acks_all_writes_while_a_replica_is_down() {
    let repl = json!({"factor": 2, "min_insync": 2, "replica_lag": "10ms"});
    let mut e = engine(&world(repl, json!({"acks": "all"}), 300), 1);
    run_checked(&mut e, 1_000_000);
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: None,
        restart_after: Some(Duration::from_s(1)),
    })
    .unwrap();
    run_checked(&mut e, 1_900_000);
    let before = e.ledger_report();
    let (t, _) = (
        serde_json::to_value(&before).unwrap()["streams"]["topics"]["events"].clone(),
        (),
    );
    // While one of two replicas is down nothing new is appended.
    let appended_at_crash = t["appended"].as_u64().unwrap();
    assert!(appended_at_crash <= 102, "{t}");
    run_checked(&mut e, 30_000_000);
    let (t, g) = ledger(&e);
    assert_eq!(g["processed"], 300, "{t}");
    assert_eq!(
        (t["acked_lost"].as_u64(), t["unacked_lost"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn acks_0_over_a_lossy_link_loses_silently() {
    let e = {
        let mut e = engine(
            &world(
                Value::Null,
                json!({"acks": "0", "faults": {"drop": 0.2}}),
                200,
            ),
            2,
        );
        run_checked(&mut e, 30_000_000);
        e
    };
    let (t, g) = ledger(&e);
    let lost = t["unacked_lost"].as_u64().unwrap();
    assert!(lost > 10 && lost < 80, "{t}");
    assert_eq!(g["processed"].as_u64().unwrap() + lost, 200);
    assert_eq!(t["resent"], 0, "acks=0 never retries");
}

#[test]
fn without_replicas_a_crashed_leader_takes_its_partition_offline() {
    let mut e = engine(
        &world(
            Value::Null,
            json!({"acks": "all", "confirms": {"timeout": "100ms", "retries": 50}}),
            300,
        ),
        1,
    );
    run_checked(&mut e, 1_000_000);
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(1)),
    })
    .unwrap();
    run_checked(&mut e, 30_000_000);
    let trace = e.take_trace();
    // Nothing was appended while the partition had no leader.
    let appended_while_down = trace
        .iter()
        .filter(|ev| ev.kind.name() == "appended" && ev.t.0 > 1_000_000 && ev.t.0 < 2_000_000)
        .count();
    assert_eq!(appended_while_down, 0);
    assert!(trace
        .iter()
        .any(|ev| matches!(ev.kind, TraceKind::LeaderCrashed { truncated: 0, .. })));
    let (t, g) = ledger(&e);
    assert_eq!(g["processed"], 300, "{t}");
}

#[test]
fn crash_leader_is_checked() {
    let mut e = engine(&world(REPL(), json!({}), 10), 1);
    let err = e
        .submit(Command::CrashLeader {
            topic: "events".into(),
            partition: Some(3),
            restart_after: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("no partition 3"), "{err}");
    // Above the factor is Kafka-legal (isr.rs); above 5 is not taken.
    let bad = queuelab::scenario::load(&world(json!({"factor": 2, "min_insync": 6}), json!({}), 1))
        .unwrap_err();
    assert!(
        bad.to_string().contains("topics[0].replication.min_insync"),
        "{bad}"
    );
    let bad = queuelab::scenario::load(&world(
        Value::Null,
        json!({"acks": "1", "idempotent": true}),
        1,
    ))
    .unwrap_err();
    assert!(bad.to_string().contains("producers[0].idempotent"), "{bad}");
}

/// The `kafka-transactions` preset's two lanes, read from their ledgers.
fn transactions_lane(transactional: bool) -> Value {
    let mut s = queuelab::scenario::preset("kafka-transactions")
        .unwrap()
        .scenario();
    s.variants.clear();
    s.consumer_groups[0].output.as_mut().unwrap().transactional = transactional;
    let mut e = Engine::new(s, 6).unwrap();
    let mut last = e.now();
    while e.next_event_time().is_some_and(|t| t.0 <= 30_000_000) {
        assert!(e.step());
        assert!(e.now() >= last);
        last = e.now();
        if let Err(why) = e.check_invariants() {
            panic!("invariant broken at {}: {why}", e.now());
        }
    }
    serde_json::to_value(e.ledger_report()).unwrap()["streams"]["groups"].clone()
}

#[test]
fn without_transactions_a_crash_mid_batch_writes_outputs_twice_for_every_reader() {
    let g = transactions_lane(false);
    let dup = g["enricher"]["duplicate_outputs"].as_u64().unwrap();
    assert!(dup >= 1, "{g}");
    assert_eq!(
        g["enricher"]["duplicate_committed_outputs"].as_u64(),
        Some(dup)
    );
    assert_eq!(g["enricher"]["reprocessed"].as_u64(), Some(dup));
    // Both readers see every output, duplicates included.
    let outputs = g["enricher"]["outputs"].as_u64().unwrap();
    assert_eq!(g["billing"]["processed"].as_u64(), Some(outputs));
    assert_eq!(g["audit"]["processed"].as_u64(), Some(outputs));
}

#[test]
fn with_transactions_read_committed_sees_each_output_once() {
    let g = transactions_lane(true);
    let e = &g["enricher"];
    let dup = e["duplicate_outputs"].as_u64().unwrap();
    assert!(dup >= 1, "the aborted outputs are still in the log: {g}");
    assert_eq!(e["duplicate_committed_outputs"], 0, "{g}");
    assert_eq!(e["transactions_aborted"], 1);
    let outputs = e["outputs"].as_u64().unwrap();
    // read_committed skips the aborted outputs; read_uncommitted reads them.
    assert_eq!(
        g["billing"]["processed"].as_u64(),
        Some(outputs - dup),
        "{g}"
    );
    assert_eq!(g["audit"]["processed"].as_u64(), Some(outputs), "{g}");
}

#[test]
fn a_transactional_output_needs_per_batch_commits_and_another_topic() {
    let mut s: Value = serde_json::from_str(
        queuelab::scenario::preset("kafka-transactions")
            .unwrap()
            .json,
    )
    .unwrap();
    s["consumer_groups"][0]["commit"] = json!({"after_processing": {"per": "record"}});
    s["consumer_groups"][0]["output"] = json!({"topic": "orders", "transactional": true});
    let err = queuelab::scenario::load(&s.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("consumer_groups[0].commit"), "{err}");
    assert!(err.contains("consumer_groups[0].output.topic"), "{err}");
}

use proptest::prelude::*;

/// The exactly-once bundle for the log: acks=all, idempotent, replicated,
/// read-process-write in transactions, read by a read_committed group —
/// under lost answers, a leader crash and a member crash at random times.
fn eos_world(drop_pct: u32, crash_leader_ms: u64, crash_member_ms: u64) -> String {
    json!({
        "title": "eos", "duration": "20s",
        "producers": [{"id": "app", "to": "in", "rate": "50/s", "count": 300, "keys": {"random_of_n": 8},
            "acks": "all", "confirms": {"timeout": "300ms", "retries": 100},
            "faults": {"confirm_drop": drop_pct as f64 / 100.0}}],
        "topics": [
            {"id": "in", "partitions": 2, "replication": {"factor": 3, "min_insync": 2, "replica_lag": "30ms"}},
            {"id": "out", "partitions": 2}
        ],
        "consumer_groups": [
            {"id": "proc", "topics": ["in"], "members": 2, "auto_offset_reset": "earliest", "session_timeout": "1s",
             "max_poll_records": 10, "service": {"exponential": "10ms"},
             "commit": {"after_processing": {"per": "batch"}}, "output": {"topic": "out", "transactional": true}},
            {"id": "sink", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "1ms"}}
        ],
        "schedule": [
            {"at": format!("{crash_leader_ms}ms"), "command": {"do": "crash_leader", "topic": "in", "restart_after": "2s"}},
            {"at": format!("{crash_member_ms}ms"), "command": {"do": "crash_member", "group": "proc", "member": 0}}
        ]
    })
    .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn the_log_exactly_once_bundle_neither_loses_nor_duplicates(
        seed in 0u64..1000, drop_pct in 0u32..=30, leader_ms in 500u64..6000, member_ms in 500u64..6000,
    ) {
        let mut e = engine(&eos_world(drop_pct, leader_ms, member_ms), seed);
        run_checked(&mut e, 120_000_000);
        let l = serde_json::to_value(e.ledger_report()).unwrap();
        let t = &l["streams"]["topics"]["in"];
        let g = &l["streams"]["groups"];
        prop_assert_eq!(&t["duplicates_appended"], &json!(0), "{}", t);
        prop_assert_eq!(&t["acked_lost"], &json!(0), "{}", t);
        prop_assert_eq!(&t["unacked_lost"], &json!(0), "{}", t);
        prop_assert_eq!(&g["proc"]["duplicate_committed_outputs"], &json!(0), "{}", g);
        // Every input record's output reached the read_committed sink once.
        prop_assert_eq!(&g["sink"]["processed"], &json!(300), "{}", g);
    }
}

/// Factor 3 with both followers out of sync (2 s behind): the ISR is the leader alone.
fn isr_alone(unclean: bool) -> String {
    world(
        json!({"factor": 3, "min_insync": 1, "in_sync": 0, "out_of_sync_lag": "2s", "unclean_election": unclean}),
        json!({"acks": "all"}),
        1000,
    )
}

#[test]
fn unclean_election_loses_records_that_acks_all_had_acknowledged() {
    // 100/s from 10 ms; the leader crashes at 5.005 s. The out-of-sync
    // follower that takes over has only what was appended by 3.005 s.
    let mut e = engine(&isr_alone(true), 1);
    run_checked(&mut e, 5_005_000);
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(10)),
    })
    .unwrap();
    let (t, _) = ledger(&e);
    // Appended in (3.005 s, 5.005 s]: 200 records, each acknowledged at once
    // (acks=all with an ISR of one is answered by the leader alone).
    assert_eq!(t["acked_lost"], 200, "{t}");
    run_checked(&mut e, 60_000_000);
    let trace = e.take_trace();
    assert!(trace
        .iter()
        .any(|ev| matches!(ev.kind, TraceKind::LeaderCrashed { truncated: 200, .. })));
    // The partition stayed available: appends went on right after the crash.
    assert!(trace
        .iter()
        .any(|ev| ev.kind.name() == "appended" && ev.t.0 > 5_005_000 && ev.t.0 < 5_200_000));
}

#[test]
fn without_unclean_election_the_partition_waits_offline_and_loses_nothing() {
    let mut e = engine(&isr_alone(false), 1);
    run_checked(&mut e, 5_005_000);
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(3)),
    })
    .unwrap();
    run_checked(&mut e, 120_000_000);
    let (t, g) = ledger(&e);
    assert_eq!(
        (t["acked_lost"].as_u64(), t["unacked_lost"].as_u64()),
        (Some(0), Some(0)),
        "{t}"
    );
    assert_eq!(g["processed"], 1000, "{g}");
    let trace = e.take_trace();
    let appended_while_offline = trace
        .iter()
        .filter(|ev| ev.kind.name() == "appended" && ev.t.0 > 5_005_000 && ev.t.0 < 8_005_000)
        .count();
    assert_eq!(appended_while_offline, 0, "no leader, no writes");
}

#[test]
fn the_explanation_names_the_log_mechanisms() {
    let report = |name: &str, set: Option<(&str, Value)>| {
        let mut s: Value =
            serde_json::from_str(queuelab::scenario::preset(name).unwrap().json).unwrap();
        if let Some((k, v)) = set {
            s["producers"][0][k] = v;
        }
        let mut e = Engine::new(queuelab::scenario::load(&s.to_string()).unwrap(), 1).unwrap();
        e.run_until(queuelab::engine::SimTime(1_000_000), u64::MAX);
        serde_json::to_value(e.report(name)).unwrap()["ledger"]["explanation"].to_string()
    };
    let one = report("kafka-acks-leader-crash", None);
    assert!(
        one.contains("acks=1: answered once the leader appended"),
        "{one}"
    );
    let all = report("kafka-acks-leader-crash", Some(("acks", json!("all"))));
    assert!(
        all.contains("a leader crash loses nothing acknowledged"),
        "{all}"
    );
    let idem = report("kafka-idempotent-producer", None);
    assert!(idem.contains("not idempotent"), "{idem}");
    let txn = report("kafka-transactions", None);
    assert!(
        txn.contains("outside a transaction") && txn.contains("read_committed"),
        "{txn}"
    );
}

#[test]
fn a_topic_producers_confirms_and_link_faults_are_knobs_too() {
    // The scenario accepts them on a topic producer; so must the commands.
    let mut e = engine(&world(Value::Null, json!({}), 10), 1);
    e.submit(Command::SetConfirms {
        producer: "app".into(),
        confirms: Some(queuelab::scenario::Confirms {
            timeout: Duration::from_ms(200),
            retries: 3,
        }),
    })
    .unwrap();
    e.submit(Command::SetLinkFaults {
        producer: "app".into(),
        faults: Some(queuelab::scenario::LinkFaults {
            confirm_drop: 0.5,
            ..Default::default()
        }),
    })
    .unwrap();
    let bad = e.submit(Command::SetLinkFaults {
        producer: "app".into(),
        faults: Some(queuelab::scenario::LinkFaults {
            duplicate: 0.5,
            ..Default::default()
        }),
    });
    assert!(bad.unwrap_err().to_string().contains("faults.duplicate"));
    run_checked(&mut e, 30_000_000);
    let (t, _) = ledger(&e);
    assert!(t["resent"].as_u64().unwrap() > 0, "{t}");
}

#[test]
fn latest_under_read_committed_starts_at_the_last_stable_offset() {
    // A transactional read-process-write group writes `out` in transactions
    // of 20 polls; a read_committed reader with `latest` joins at 3 s while
    // one is open. Kafka answers LATEST with the last stable offset (the
    // open transaction's first record), so once it commits the reader gets
    // all of it; starting at the high watermark would skip its committed
    // records.
    let w = json!({
        "title": "lso", "seed": 1, "duration": "6s",
        "producers": [{"id": "p", "to": "in", "rate": "100/s", "arrival": "constant",
            "keys": {"random_of_n": 5}}],
        "topics": [{"id": "in", "partitions": 1}, {"id": "out", "partitions": 1}],
        "consumer_groups": [
            {"id": "rw", "topics": ["in"], "members": 1, "service": {"constant": "20ms"},
             "auto_offset_reset": "earliest", "max_poll_records": 5,
             "commit": {"after_processing": {"per": "batch"}},
             "output": {"topic": "out", "transactional": true, "polls_per_txn": 20}},
            {"id": "r", "topics": ["out"], "members": 0, "service": {"constant": "1ms"},
             "isolation_level": "read_committed", "auto_offset_reset": "latest",
             "commit": {"after_processing": {"per": "record"}}}
        ],
        "schedule": [{"at": "3s", "command": {"do": "add_member", "group": "r"}}]
    })
    .to_string();
    let mut e = crate::common::engine(&w, 1);
    crate::common::run_checked(&mut e, 6_000_000);
    let trace = e.take_trace();
    let node = |id: &str| {
        let i = e
            .nodes()
            .iter()
            .position(|n| n.id == id)
            .expect("node exists");
        queuelab::engine::NodeId(i as u32)
    };
    let (out, r) = (node("out"), node("r"));
    // The offsets of `out` whose transaction was open at 3 s.
    let assigned: Vec<u64> = trace
        .iter()
        .filter(|ev| ev.node == r)
        .filter_map(|ev| match ev.kind {
            TraceKind::Fetched { topic, from, .. } if topic == out => Some(from),
            _ => None,
        })
        .collect();
    let first_open = trace
        .iter()
        .filter(|ev| ev.t.0 <= 3_000_000 && ev.node == out)
        .filter_map(|ev| match ev.kind {
            TraceKind::Appended { offset, .. } => Some(offset),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert!(!assigned.is_empty(), "the reader fetched");
    // The reader's first fetch starts inside what was appended by 3 s, not
    // at its end (the high watermark then).
    let end_at_3s = first_open.last().unwrap() + 1;
    assert!(
        assigned[0] < end_at_3s,
        "first fetch from {} (log end at 3 s {end_at_3s})",
        assigned[0]
    );
    let rep = serde_json::to_value(e.report("t")).unwrap();
    assert_eq!(rep["nodes"]["r"]["skipped"], 0);
}

#[test]
fn an_idempotent_producer_goes_on_after_a_lost_batch_and_after_a_restart() {
    // A batch given up unappended leaves a hole in the sequence numbers; the
    // client closes it (later batches move down one), and a restarted
    // producer has a new producer id whose sequences start over. Either
    // way the partition keeps taking writes; only the given-up records
    // are lost.
    let world = |confirms: Value, schedule: Value, latency: &str, drop: f64| {
        json!({
            "title": "idempotent gaps", "seed": 1, "duration": "20s",
            "producers": [{"id": "p", "to": "t", "rate": "50/s", "acks": "all",
                "latency": latency, "max_in_flight": 5, "confirms": confirms,
                "faults": {"drop": drop}}],
            "topics": [{"id": "t", "partitions": 1}],
            "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1,
                "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}],
            "schedule": schedule
        })
        .to_string()
    };
    let appended_after = |e: &mut Engine, t_us: u64| {
        e.take_trace()
            .iter()
            .filter(|ev| ev.t.0 > t_us && matches!(ev.kind, TraceKind::Appended { .. }))
            .count()
    };
    // Five tries with a 2 s timeout: batches behind a dropped one are held
    // (OutOfOrderSequence, retried every 100 ms without using up their
    // tries, as Kafka holds them) until the dropped one is through.
    let mut e = engine(
        &world(
            json!({"timeout": "2s", "retries": 5}),
            json!([]),
            "50ms",
            0.1,
        ),
        1,
    );
    run_checked(&mut e, 20_000_000);
    let (topic, _) = {
        let l = serde_json::to_value(e.ledger_report()).unwrap();
        (l["streams"]["topics"]["t"].clone(), ())
    };
    // Slowly (each dropped batch holds the five slots for its 2 s timeout),
    // but to the end; with the hole left open, one record was ever appended.
    let appended = topic["appended"].as_u64().unwrap();
    assert!(appended >= 10, "the partition kept taking writes: {topic}");
    assert_eq!(
        topic["unacked_lost"], 0,
        "held batches keep their tries: {topic}"
    );
    assert!(appended_after(&mut e, 15_000_000) >= 1, "{topic}");
    // A producer crash and restart: writes go on after it.
    let crash = json!([{"at": "5s", "command": {"do": "crash_producer", "producer": "p",
        "restart_after": "1s"}}]);
    let mut e = engine(
        &world(
            json!({"timeout": "1s", "retries": 1000}),
            crash,
            "5ms",
            0.03,
        ),
        1,
    );
    run_checked(&mut e, 20_000_000);
    // About as many as without the crash (about 100); none before the fix.
    assert!(appended_after(&mut e, 7_000_000) > 50);
}

#[test]
fn an_explicitly_idempotent_producer_needs_retries_and_zero_retries_turn_the_default_off() {
    let world = |idem: Value| {
        let mut p = json!({"id": "p", "to": "t", "rate": "10/s", "acks": "all",
            "confirms": {"timeout": "1s", "retries": 0}});
        if !idem.is_null() {
            p["idempotent"] = idem;
        }
        json!({"title": "r0", "producers": [p], "topics": [{"id": "t", "partitions": 1}]})
            .to_string()
    };
    let err = queuelab::scenario::load(&world(json!(true)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("producers[0].confirms.retries"), "{err}");
    let s = queuelab::scenario::load(&world(Value::Null)).unwrap();
    assert!(
        !s.producers[0].kafka_idempotent(),
        "retries 0: idempotence off by default"
    );
}

#[test]
fn more_than_five_in_flight_turns_default_idempotence_off_and_is_refused_with_it_explicit() {
    let world = |idem: Value| {
        let mut p = json!({"id": "p", "to": "t", "rate": "10/s", "acks": "all",
            "max_in_flight": 6});
        if !idem.is_null() {
            p["idempotent"] = idem;
        }
        json!({"title": "mif", "producers": [p], "topics": [{"id": "t", "partitions": 1}]})
            .to_string()
    };
    // Kafka: "Idempotence will be disabled because
    // max.in.flight.requests.per.connection is set to 6".
    let s = queuelab::scenario::load(&world(Value::Null)).unwrap();
    assert!(!s.producers[0].kafka_idempotent());
    // With enable.idempotence=true: "Must set max.in.flight.requests.per.connection
    // to at most 5 to use the idempotent producer."
    let err = queuelab::scenario::load(&world(json!(true)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("producers[0].max_in_flight"), "{err}");
    let mut five: Value = serde_json::from_str(&world(Value::Null)).unwrap();
    five["producers"][0]["max_in_flight"] = json!(5);
    let s = queuelab::scenario::load(&five.to_string()).unwrap();
    assert!(s.producers[0].kafka_idempotent(), "5 keeps the default on");
}

/// A transactional read-process-write group commits its offsets with the
/// transaction after each poll's batch (sendOffsetsToTransaction): switching
/// it to another commit policy at run time would leave a transaction open
/// and a read_committed reader stuck, so the command is refused, in a
/// schedule by validation too.
#[test]
fn a_transactional_group_keeps_its_commit_policy() {
    let s = r#"{"title":"txl","duration":"5s","seed":1,
   "producers":[{"id":"p","to":"in","rate":"100/s","arrival":"constant","count":50,"keys":{"random_of_n":4}}],
   "topics":[{"id":"in","partitions":1},{"id":"out","partitions":1}],
   "consumer_groups":[{"id":"g","topics":["in"],"members":1,"max_poll_records":10,"auto_offset_reset":"earliest","commit":{"after_processing":{"per":"batch"}},"service":{"constant":"1ms"},"output":{"topic":"out","transactional":true}}]
   SCHEDULE}"#;
    let mut e = engine(&s.replace("SCHEDULE", ""), 1);
    let cmd: Command = serde_json::from_str(
        r#"{"do":"set_commit_policy","group":"g","commit":{"auto":{"interval":"1s"}}}"#,
    )
    .unwrap();
    let err = e.submit(cmd).unwrap_err().to_string();
    assert!(err.contains("transactional output"), "{err}");
    let ok: Command = serde_json::from_str(
        r#"{"do":"set_commit_policy","group":"g","commit":{"after_processing":{"per":"batch"}}}"#,
    )
    .unwrap();
    e.submit(ok).unwrap();
    let scheduled = s.replace(
        "SCHEDULE",
        r#","schedule":[{"at":"100ms","command":{"do":"set_commit_policy","group":"g","commit":{"before_processing":{}}}}]"#,
    );
    let err = queuelab::scenario::load(&scheduled)
        .unwrap_err()
        .to_string();
    assert!(err.contains("schedule[0].command.commit"), "{err}");
}

#[test]
fn a_per_batch_group_drained_past_transaction_markers_ends_with_lag_zero() {
    // `A` copies `in` to `out` in transactions (a crash at 1.305 s aborts
    // one); `B` (read_committed) and `C` (read_uncommitted) read `out` and
    // commit after each poll's batch. The last offset of `out` is a commit
    // marker: the consumer's position passes it (`FetchCollector`) and
    // `commitSync()` commits the position, so both end with lag 0 (they
    // ended at 1, the marker's age counted as a waiting record's).
    let group = |id: &str, iso: &str| {
        json!({"id": id, "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
            "isolation_level": iso, "commit": {"after_processing": {"per": "batch"}},
            "service": {"constant": "1ms"}})
    };
    let json = json!({"title": "markers", "seed": 1, "duration": "6s",
        "producers": [{"id": "p", "to": "in", "rate": "50/s", "arrival": "constant",
            "keys": {"fixed": "k"}, "count": 100, "linger": "400ms", "batch_size": 20}],
        "topics": [{"id": "in", "partitions": 1}, {"id": "out", "partitions": 1}],
        "consumer_groups": [
            {"id": "A", "topics": ["in"], "members": 2, "max_poll_records": 20,
             "session_timeout": "1s", "auto_offset_reset": "earliest",
             "commit": {"after_processing": {"per": "batch"}}, "service": {"constant": "10ms"},
             "output": {"topic": "out", "transactional": true}},
            group("B", "read_committed"), group("C", "read_uncommitted")],
        "schedule": [{"at": "1305ms", "command": {"do": "crash_member", "group": "A", "member": 0}}]})
    .to_string();
    let mut e = crate::common::engine(&json, 1);
    crate::common::run_checked(&mut e, 6_000_000);
    let r = serde_json::to_value(e.report("t")).unwrap();
    let out_end = r["nodes"]["out"]["partitions"][0]["log_end"]
        .as_u64()
        .unwrap();
    assert!(out_end > 100, "markers take offsets: {out_end}");
    for g in ["B", "C"] {
        let n = &r["nodes"][g];
        assert_eq!(
            n["partitions"][0]["committed"].as_u64(),
            Some(out_end),
            "{g}"
        );
        assert_eq!(
            (n["lag"].as_u64(), n["lag_time_us"].as_u64()),
            (Some(0), Some(0)),
            "{g}"
        );
    }
}

/// With one batch in flight a non-idempotent producer's retries duplicate
/// records but never reorder them (the retry goes before the next batch):
/// a copy appended again is counted as a duplicate append, not as a
/// record processed out of order.
#[test]
fn duplicate_appends_with_one_in_flight_are_not_counted_as_reordering() {
    let s = r#"{"title":"dup","seed":3,"duration":"20s",
     "producers":[{"id":"p","to":"events","rate":"200/s","keys":{"random_of_n":5},"acks":"all",
       "idempotent":false,"linger":"5ms","batch_size":5,"max_in_flight":1,"latency":"20ms",
       "confirms":{"timeout":"100ms","retries":1000},"faults":{"confirm_drop":0.2}}],
     "topics":[{"id":"events","partitions":1}],
     "consumer_groups":[{"id":"readers","topics":["events"],"members":1,
       "auto_offset_reset":"earliest","service":{"constant":"1ms"}}]}"#;
    let mut e = engine(s, 3);
    run_checked(&mut e, 20_000_000);
    let (topic, group) = ledger(&e);
    assert!(
        topic["duplicates_appended"].as_u64().unwrap() > 100,
        "{topic}"
    );
    assert_eq!(group["out_of_order"], 0, "{group}");
    // Five in flight without idempotence and requests lost on the way: a
    // resent batch lands after later ones, a real reordering, still counted.
    let five = s
        .replace(r#""max_in_flight":1"#, r#""max_in_flight":5"#)
        .replace(r#""confirm_drop":0.2"#, r#""drop":0.2"#);
    let mut e = engine(&five, 3);
    run_checked(&mut e, 20_000_000);
    assert!(ledger(&e).1["out_of_order"].as_u64().unwrap() > 0);
}

#[test]
fn delivery_timeout_gives_a_batch_up_120_s_after_it_was_created() {
    // A lone replica crashes at 0.5 s. Kafka's producer retries (KIP-580
    // back-off, at most ~1 s apart) until `delivery.timeout.ms` (120 s)
    // after each batch was created, whatever `retries` allows: back at
    // 110.5 s, every record gets through; back at 200.5 s, each batch is
    // given up exactly 120 s after its send and its record is lost.
    let world = |restart: &str| {
        json!({"title": "delivery timeout", "seed": 1, "duration": "300s",
            "producers": [{"id": "p", "to": "events", "rate": "1/s", "arrival": "constant",
                "count": 5, "acks": "all"}],
            "topics": [{"id": "events", "partitions": 1, "replication": {"factor": 1}}],
            "consumer_groups": [{"id": "readers", "topics": ["events"], "auto_offset_reset": "earliest",
                "service": {"constant": "1ms"}}],
            "schedule": [{"at": "500ms", "command": {"do": "crash_leader", "topic": "events",
                "restart_after": restart}}]})
        .to_string()
    };
    let mut e = engine(&world("110s"), 1);
    run_checked(&mut e, 300_000_000);
    let (t, g) = ledger(&e);
    assert_eq!(
        (g["processed"].clone(), t["unacked_lost"].clone()),
        (json!(5), json!(0)),
        "{t}"
    );
    assert!(e
        .take_trace()
        .iter()
        .all(|ev| !matches!(ev.kind, TraceKind::GaveUp { .. })));

    let mut e = engine(&world("200s"), 1);
    run_checked(&mut e, 300_000_000);
    let gave_up: Vec<u64> = e
        .take_trace()
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::GaveUp { .. }))
        .map(|ev| ev.t.0)
        .collect();
    assert_eq!(
        gave_up,
        [
            121_000_000,
            122_000_000,
            123_000_000,
            124_000_000,
            125_000_000
        ]
    );
    let (t, g) = ledger(&e);
    assert_eq!(
        (g["processed"].clone(), t["unacked_lost"].clone()),
        (json!(0), json!(5)),
        "{t}"
    );
}
