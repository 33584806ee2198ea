//! A crashed read-process-write member's open transaction: it stays open,
//! holding `read_committed` readers at the last stable offset, until the
//! member that takes its partitions fences it (`initTransactions` bumps the
//! producer epoch) or the coordinator aborts it `transaction_timeout` after
//! it began — Kafka's `transaction.timeout.ms` (KIP-98). Stories read the
//! trace; every run checks the invariants after each event.

use crate::common::{story, Story};
use queuelab::engine::TraceKind;
use serde_json::{json, Value};

/// Times [µs] of the events whose kind passes `f`.
fn times(s: &Story, f: impl Fn(&TraceKind) -> bool) -> Vec<u64> {
    s.matching(f).iter().map(|e| e.t.0).collect()
}

/// (time, records) of each transaction of member 0 the coordinator aborted.
fn aborted_of_member_0(s: &Story) -> Vec<(u64, u32)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::TxnAborted { member: 0, records } => Some((e.t.0, records)),
            _ => None,
        })
        .collect()
}

/// (time, partition) of each record group `group` processed from topic `topic`.
fn processed_from(s: &Story, group: &str, topic: &str) -> Vec<(u64, u32)> {
    let (g, t) = (s.node(group), s.node(topic));
    let partition_of = |msg: Option<u64>| {
        s.trace.iter().find_map(|e| match e.kind {
            TraceKind::Appended { partition, .. } if e.node == t && e.msg == msg => Some(partition),
            _ => None,
        })
    };
    s.trace
        .iter()
        .filter(|e| e.node == g && matches!(e.kind, TraceKind::Processed { .. }))
        .filter_map(|e| partition_of(e.msg).map(|p| (e.t.0, p)))
        .collect()
}

/// The `kafka-transactions` preset's transactions lane (enricher member 0
/// crashes at 8.05 s; session timeout 3 s), with `output` merged over the
/// enricher's output.
fn preset_lane(output: Value) -> Story {
    let mut s: Value = serde_json::from_str(
        queuelab::scenario::preset("kafka-transactions")
            .unwrap()
            .json,
    )
    .unwrap();
    s.as_object_mut().unwrap().remove("variants");
    let out = s["consumer_groups"][0]["output"].as_object_mut().unwrap();
    out.insert("transactional".into(), json!(true));
    out.extend(output.as_object().unwrap().clone());
    story(&s.to_string(), 30_000_000)
}

const CRASH_US: u64 = 8_050_000;

#[test]
fn the_member_that_takes_a_crashed_members_partition_fences_its_open_transaction() {
    let s = preset_lane(json!({}));
    let aborted = times(&s, |k| matches!(k, TraceKind::TxnAborted { member: 0, .. }));
    let fenced = times(&s, |k| {
        matches!(k, TraceKind::ProducerEpochBumped { fenced: 0, .. })
    });
    // Not at the crash: when the survivor is assigned the crashed member's
    // partition, after the session timeout and the rebalance.
    assert_eq!(aborted.len(), 1, "{aborted:?}");
    assert_eq!(fenced, aborted);
    assert!(aborted[0] >= CRASH_US + 3_000_000, "{aborted:?}");
    assert!(times(&s, |k| matches!(k, TraceKind::TxnTimedOut { .. })).is_empty());
    // Meanwhile billing (read_committed) reads nothing of enriched partition
    // 0, where the open transaction's records are (the inputs' keys decide
    // it), and goes on with partition 1; audit (read_uncommitted) reads the
    // open records as they come.
    let window = |r: &[(u64, u32)], p: u32| {
        r.iter()
            .filter(|&&(t, q)| q == p && t > CRASH_US && t < aborted[0])
            .count()
    };
    let billing = processed_from(&s, "billing", "enriched");
    let audit = processed_from(&s, "audit", "enriched");
    assert_eq!(window(&billing, 0), 0, "{billing:?}");
    assert!(window(&billing, 1) > 20, "{billing:?}");
    assert!(window(&audit, 0) > 0, "{audit:?}");
    // Right after the abort billing passes the aborted records.
    assert!(billing
        .iter()
        .any(|&(t, p)| p == 0 && t > aborted[0] && t < aborted[0] + 500_000));
}

#[test]
fn a_transaction_timeout_shorter_than_the_fence_aborts_first() {
    let s = preset_lane(json!({"transaction_timeout": "1s"}));
    let timed_out = times(&s, |k| matches!(k, TraceKind::TxnTimedOut { member: 0 }));
    let aborted = times(&s, |k| matches!(k, TraceKind::TxnAborted { member: 0, .. }));
    assert_eq!(timed_out.len(), 1);
    assert_eq!(aborted, timed_out, "the abort follows the timeout at once");
    // A transaction begins at its first output, before the crash; it times
    // out 1 s after that, not 1 s after the crash.
    assert!(
        timed_out[0] > CRASH_US && timed_out[0] < CRASH_US + 1_000_000,
        "{timed_out:?}"
    );
    // The survivor's fence finds nothing left to abort.
    assert!(times(&s, |k| matches!(
        k,
        TraceKind::ProducerEpochBumped { fenced: 0, .. }
    ))
    .is_empty());
}

/// One read-process-write member (`rpw`, constant 50 ms per record, a
/// transaction per poll batch) copies `in` to `out`; `direct` also writes to
/// `out` (100/s); `billing` reads `out` read_committed, `audit`
/// read_uncommitted. `rpw` crashes at 2.12 s, two records into a batch of five;
/// nobody takes its partition.
fn lonely_world(transaction_timeout: &str) -> String {
    json!({
        "title": "transaction timeout", "duration": "12s",
        "producers": [
            {"id": "p", "to": "in", "rate": "40/s", "arrival": "constant"},
            {"id": "direct", "to": "out", "rate": "100/s", "arrival": "constant"}
        ],
        "topics": [{"id": "in", "partitions": 1}, {"id": "out", "partitions": 1}],
        "consumer_groups": [
            {"id": "rpw", "topics": ["in"], "members": 1, "auto_offset_reset": "earliest",
             "service": {"constant": "50ms"}, "max_poll_records": 5,
             "commit": {"after_processing": {"per": "batch"}},
             "output": {"topic": "out", "transactional": true, "transaction_timeout": transaction_timeout}},
            {"id": "billing", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "1ms"}},
            {"id": "audit", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "service": {"constant": "1ms"}}
        ],
        "schedule": [{"at": "2120ms", "command": {"do": "crash_member", "group": "rpw", "member": 0}}]
    })
    .to_string()
}

#[test]
fn a_crashed_members_transaction_nobody_fences_holds_read_committed_readers_until_it_times_out() {
    let s = story(&lonely_world("3s"), 12_000_000);
    let crash_us = 2_120_000;
    let (out, rpw) = (s.node("out"), s.node("rpw"));
    // The transaction began with its first output after rpw's last commit.
    let last_commit = *times(&s, |k| matches!(k, TraceKind::TxnCommitted { .. }))
        .iter()
        .filter(|&&t| t < crash_us)
        .max()
        .unwrap();
    let direct: Vec<Option<u64>> = s
        .trace
        .iter()
        .filter(|e| e.node == s.node("direct") && matches!(e.kind, TraceKind::Published { .. }))
        .map(|e| e.msg)
        .collect();
    let open: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| e.node == out && matches!(e.kind, TraceKind::Appended { .. }))
        .filter(|e| e.t.0 > last_commit && e.t.0 < crash_us && !direct.contains(&e.msg))
        .map(|e| e.t.0)
        .collect();
    assert!(
        !open.is_empty(),
        "the crash leaves outputs in an open transaction"
    );
    let timed_out: Vec<_> = s.matching(|k| matches!(k, TraceKind::TxnTimedOut { member: 0 }));
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0].node, rpw);
    assert_eq!(timed_out[0].t.0, open[0] + 3_000_000, "3 s after it began");
    let aborted = aborted_of_member_0(&s);
    assert_eq!(aborted, [(timed_out[0].t.0, open.len() as u32)]);
    // Until then billing's last stable offset stays at the first open
    // record: it reads none of `direct`'s records after it, while audit does.
    let t_abort = aborted[0].0;
    let between = |g: &str| {
        processed_from(&s, g, "out")
            .iter()
            .filter(|&&(t, _)| t > open[0] + 10_000 && t < t_abort)
            .count()
    };
    assert_eq!(between("billing"), 0);
    assert!(between("audit") > 200, "{}", between("audit"));
    // Then billing catches up: it reads every committed record — all of
    // `direct`'s and rpw's committed outputs — and audit the aborted ones too.
    let billing = processed_from(&s, "billing", "out").len();
    let audit = processed_from(&s, "audit", "out").len();
    assert_eq!(
        audit - billing,
        open.len(),
        "billing skips only the aborted outputs"
    );
    let g: Value =
        serde_json::to_value(s.engine.ledger_report()).unwrap()["streams"]["groups"]["rpw"].clone();
    assert_eq!(g["transactions_aborted"], 1, "{g}");
}

#[test]
fn the_timeout_is_a_checked_option_of_a_transactional_output() {
    let load = |output: Value| {
        let mut s: Value = serde_json::from_str(&lonely_world("3s")).unwrap();
        s["consumer_groups"][0]["output"] = output;
        queuelab::scenario::load(&s.to_string()).map(|_| ())
    };
    assert!(load(json!({"topic": "out", "transactional": true})).is_ok());
    let err = |output: Value| load(output).unwrap_err().to_string();
    let e = err(json!({"topic": "out", "transaction_timeout": "10s"}));
    assert!(
        e.contains("consumer_groups[0].output.transaction_timeout") && e.contains("transactional"),
        "{e}"
    );
    let e = err(json!({"topic": "out", "transactional": true, "transaction_timeout": "0s"}));
    assert!(e.contains("must be at least 1ms"), "{e}");
    let e = err(json!({"topic": "out", "transactional": true, "transaction_timeout": "16min"}));
    assert!(e.contains("transaction.max.timeout.ms"), "{e}");
}

/// One live read-process-write member (`rpw`, constant 50 ms per record,
/// batches of 5) whose transaction spans `polls` poll batches, with a 2 s
/// transaction timeout; `billing` reads `out` read_committed. A 40/s input
/// keeps its batches full, so 10 batches take 2.5 s: longer than the timeout.
fn spanning_world(polls: u32, schedule: Value) -> String {
    json!({
        "title": "a live member's transaction times out", "duration": "12s",
        "producers": [{"id": "p", "to": "in", "rate": "40/s", "arrival": "constant"}],
        "topics": [{"id": "in", "partitions": 1}, {"id": "out", "partitions": 1}],
        "consumer_groups": [
            {"id": "rpw", "topics": ["in"], "members": 1, "auto_offset_reset": "earliest",
             "service": {"constant": "50ms"}, "max_poll_records": 5,
             "commit": {"after_processing": {"per": "batch"}},
             "output": {"topic": "out", "transactional": true, "polls_per_txn": polls,
                        "transaction_timeout": "2s"}},
            {"id": "billing", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "1ms"}}
        ],
        "schedule": schedule
    })
    .to_string()
}

/// Time of the first output `rpw` appended to `out` (its transaction's start).
fn first_output_us(s: &Story) -> u64 {
    let out = s.node("out");
    s.trace
        .iter()
        .find(|e| e.node == out && matches!(e.kind, TraceKind::Appended { .. }))
        .unwrap()
        .t
        .0
}

#[test]
fn a_live_members_transaction_open_past_the_timeout_is_aborted_and_it_rejoins() {
    let s = story(&spanning_world(10, json!([])), 3_500_000);
    let began = first_output_us(&s);
    let timed_out = times(&s, |k| matches!(k, TraceKind::TxnTimedOut { member: 0 }));
    // Kafka's coordinator aborts any Ongoing transaction older than its
    // timeout, whether its producer is alive or not.
    assert_eq!(timed_out, [began + 2_000_000]);
    let at = timed_out[0];
    let aborted = aborted_of_member_0(&s);
    // 2 s at 50 ms a record: 40 outputs in the transaction.
    assert_eq!(aborted, [(at, 40)]);
    assert!(times(&s, |k| matches!(k, TraceKind::TxnCommitted { .. })).is_empty());
    // Its next commit is refused and it rejoins: a rebalance gives its
    // partition back, at the committed offset (nothing was committed, so
    // the earliest), and it processes the same records again.
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::CommitFailed { member: 0 })),
        [at]
    );
    let rpw = s.node("rpw");
    let assigned: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| e.node == rpw && matches!(e.kind, TraceKind::Assigned { member: 0, .. }))
        .map(|e| e.t.0)
        .collect();
    assert_eq!(assigned.len(), 2, "{assigned:?}");
    assert!(assigned[1] > at);
    let refetched: Vec<u64> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Fetched { from, .. } if e.node == rpw && e.t.0 >= at => Some(from),
            _ => None,
        })
        .collect();
    assert_eq!(refetched.first(), Some(&0), "{refetched:?}");
    // billing never saw an aborted output.
    assert!(processed_from(&s, "billing", "out").is_empty());
}

#[test]
fn a_paused_members_transaction_times_out_while_it_sleeps_and_it_rejoins_when_it_wakes() {
    // Paused at 1.01 s for 4 s (its session timeout is 45 s: not evicted).
    let pause = json!([{"at": "1010ms", "command":
        {"do": "pause_member", "group": "rpw", "member": 0, "duration": "4s"}}]);
    let s = story(&spanning_world(10, pause), 8_000_000);
    let began = first_output_us(&s);
    let timed_out = times(&s, |k| matches!(k, TraceKind::TxnTimedOut { member: 0 }));
    assert_eq!(timed_out.first(), Some(&(began + 2_000_000)));
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::TxnAborted { member: 0, .. })).first(),
        Some(&timed_out[0])
    );
    // It learns when it wakes at 5.01 s: its commit is refused, it drops its
    // batch and rejoins; it committed nothing of the aborted transaction.
    let woke = times(&s, |k| {
        matches!(
            k,
            TraceKind::MemberResumed {
                member: 0,
                evicted: false
            }
        )
    });
    assert_eq!(woke, [5_010_000]);
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::CommitFailed { member: 0 })).first(),
        Some(&5_010_000)
    );
    assert!(times(&s, |k| matches!(k, TraceKind::TxnCommitted { .. }))
        .iter()
        .all(|&t| t > 5_010_000));
    assert!(processed_from(&s, "billing", "out")
        .iter()
        .all(|&(t, _)| t > 5_010_000));
}
