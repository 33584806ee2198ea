//! Kafka's ISR shrinking and expanding, told as stories: a stalled follower
//! holds the high watermark until `replica_lag_max`, then falls out of the
//! ISR and writes go on with the rest; a second stall takes the ISR below
//! `min_insync` and `acks=all` writes are refused until a follower catches up
//! and re-joins; a leader crash while the only other replica is out of the
//! ISR makes the partition offline — or, with unclean election, loses what
//! that replica never fetched. Invariants are checked after every event.

use crate::common::{engine, run_checked};
use queuelab::engine::{Command, Engine, TraceEvent, TraceKind};
use queuelab::scenario::{self, Duration};
use serde_json::{json, Value};

/// One acks=all producer (100/s constant, `count` records, Kafka's default
/// request timeout of 30 s, so held batches are not sent again) → a
/// 1-partition topic with `replication` → one fast group.
fn world(replication: Value, count: u64) -> String {
    json!({
        "title": "isr", "duration": "120s",
        "producers": [{"id": "app", "to": "events", "rate": "100/s", "arrival": "constant",
            "count": count, "acks": "all", "confirms": {"timeout": "30s", "retries": 1000}}],
        "topics": [{"id": "events", "partitions": 1, "replication": replication}],
        "consumer_groups": [{"id": "readers", "topics": ["events"], "members": 1,
            "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}]
    })
    .to_string()
}

fn stall(e: &mut Engine, secs: u64) {
    e.submit(Command::StallFollower {
        topic: "events".into(),
        partition: Some(0),
        duration: Duration::from_s(secs),
    })
    .unwrap();
}

fn at(trace: &[TraceEvent], name: &str) -> Vec<(u64, u32)> {
    trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::IsrShrunk { isr, .. } if name == "isr_shrunk" => Some((ev.t.0, isr)),
            TraceKind::IsrExpanded { isr, .. } if name == "isr_expanded" => Some((ev.t.0, isr)),
            _ => None,
        })
        .collect()
}

fn topic_ledger(e: &Engine) -> (Value, Value) {
    (
        stream_ledger(e, "topics", "events"),
        stream_ledger(e, "groups", "readers"),
    )
}

/// The ledger's stream entry `id` of `kind` ("topics" or "groups").
fn stream_ledger(e: &Engine, kind: &str, id: &str) -> Value {
    let l = serde_json::to_value(e.ledger_report()).unwrap();
    l["streams"][kind][id].clone()
}

#[test]
fn a_stalled_follower_leaves_the_isr_after_replica_lag_max_and_rejoins_caught_up() {
    let repl =
        json!({"factor": 3, "min_insync": 2, "replica_lag": "50ms", "replica_lag_max": "2s"});
    let mut e = engine(&world(repl, 2000), 1);
    run_checked(&mut e, 1_000_000);
    assert_eq!(e.partition_isr("events", 0), Some(3));
    stall(&mut e, 10); // follower A: 1 s → 11 s

    // While A is still in the ISR it holds the high watermark: acks=all waits.
    run_checked(&mut e, 1_100_000);
    let held = e.partition_hw("events", 0).unwrap();
    run_checked(&mut e, 2_990_000);
    assert_eq!(
        e.partition_hw("events", 0),
        Some(held),
        "the high watermark waits"
    );
    assert_eq!(e.partition_isr("events", 0), Some(3));

    // replica_lag_max after the stall: A is out, the ISR is 2, the high
    // watermark catches up with the leader and the follower that fetches.
    run_checked(&mut e, 3_000_000);
    assert_eq!(e.partition_isr("events", 0), Some(2));
    assert!(
        e.partition_hw("events", 0).unwrap() >= held + 190,
        "released"
    );
    run_checked(&mut e, 4_000_000);
    let t1 = e.take_trace();
    assert_eq!(at(&t1, "isr_shrunk"), vec![(3_000_000, 2)]);
    assert!(
        !t1.iter().any(|ev| ev.kind.name() == "resent"),
        "ISR 2 = min_insync: writes go on"
    );

    // Follower B stalls too (4 s → 7 s): at 6 s the ISR is 1 < min_insync:
    // acks=all writes are refused (NotEnoughReplicas) and retried.
    stall(&mut e, 3);
    run_checked(&mut e, 8_000_000);
    let t2 = e.take_trace();
    assert_eq!(at(&t2, "isr_shrunk"), vec![(6_000_000, 1)]);
    // B fetches again at 7 s and has caught up replica_lag later.
    assert_eq!(at(&t2, "isr_expanded"), vec![(7_050_000, 2)]);
    let resent: Vec<u64> = t2
        .iter()
        .filter(|ev| ev.kind.name() == "resent")
        .map(|ev| ev.t.0)
        .collect();
    // Refused from 6 s (the batches waiting then fail too); the idempotent
    // producer's backlog drains in sequence order after 7.05 s.
    assert!(
        resent.len() >= 100,
        "refused for a second: {}",
        resent.len()
    );
    // The first retry after `retry.backoff.ms` (100 ms) with ±20% jitter.
    let first = *resent.iter().min().unwrap();
    assert!((6_080_000..6_120_000).contains(&first), "{first}");

    // A's stall ends at 11 s: the ISR is whole again at 11.05 s.
    run_checked(&mut e, 60_000_000);
    let t3 = e.take_trace();
    assert_eq!(at(&t3, "isr_expanded"), vec![(11_050_000, 3)]);
    assert_eq!(e.partition_isr("events", 0), Some(3));
    // Nothing lost, nothing doubled (acks=all is idempotent by default).
    let (t, g) = topic_ledger(&e);
    assert_eq!(g["processed"], 2000, "{g}");
    assert_eq!(
        (t["acked_lost"].as_u64(), t["duplicates_appended"].as_u64()),
        (Some(0), Some(0)),
        "{t}"
    );
}

#[test]
fn a_short_stall_never_leaves_the_isr_and_the_default_lag_max_is_30s() {
    // No replica_lag_max: Kafka's 30 s. A 5 s stall only delays the high
    // watermark; the follower never leaves the ISR.
    let repl = json!({"factor": 3, "min_insync": 2, "replica_lag": "50ms"});
    let mut e = engine(&world(repl.clone(), 1000), 1);
    run_checked(&mut e, 1_000_000);
    stall(&mut e, 5);
    run_checked(&mut e, 5_900_000);
    let hw = e.partition_hw("events", 0).unwrap();
    assert!(hw <= 100, "held since 1 s: {hw}");
    run_checked(&mut e, 6_100_000);
    assert!(
        e.partition_hw("events", 0).unwrap() > 500,
        "released once caught up"
    );
    run_checked(&mut e, 40_000_000);
    let trace = e.take_trace();
    assert!(at(&trace, "isr_shrunk").is_empty() && at(&trace, "isr_expanded").is_empty());
    // A 40 s stall does leave, at 31 s.
    let mut e = engine(&world(repl, 1000), 1);
    run_checked(&mut e, 1_000_000);
    stall(&mut e, 40);
    run_checked(&mut e, 32_000_000);
    assert_eq!(at(&e.take_trace(), "isr_shrunk"), vec![(31_000_000, 2)]);
}

/// Two replicas, min_insync 1; the follower stalls at 1 s (for 10 s), is out
/// of the ISR at 2 s, and the leader crashes at 3 s (back after 2 s).
fn crash_with_follower_out(unclean: bool) -> (Engine, Vec<TraceEvent>) {
    let repl = json!({"factor": 2, "min_insync": 1, "replica_lag": "50ms",
        "replica_lag_max": "1s", "unclean_election": unclean});
    let mut e = engine(&world(repl, 500), 1);
    run_checked(&mut e, 1_000_000);
    stall(&mut e, 10);
    run_checked(&mut e, 3_000_000);
    assert_eq!(e.partition_isr("events", 0), Some(1));
    e.submit(Command::CrashLeader {
        topic: "events".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(2)),
    })
    .unwrap();
    let isr_after = e.partition_isr("events", 0);
    run_checked(&mut e, 60_000_000);
    let trace = e.take_trace();
    assert_eq!(isr_after, Some(if unclean { 1 } else { 0 }));
    (e, trace)
}

#[test]
fn a_leader_crash_with_the_only_follower_out_of_the_isr_goes_offline_without_unclean_election() {
    let (e, trace) = crash_with_follower_out(false);
    let (t, g) = topic_ledger(&e);
    let crash = trace
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::LeaderCrashed { truncated, .. } => Some(truncated),
            _ => None,
        })
        .unwrap();
    assert_eq!(crash, 0, "offline: nothing truncated");
    assert_eq!(t["acked_lost"], 0, "{t}");
    assert_eq!(g["processed"], 500, "{g}");
    // Offline until the crashed leader is back at 5 s: writes are retried.
    let resent: Vec<u64> = trace
        .iter()
        .filter(|ev| ev.kind.name() == "resent")
        .map(|ev| ev.t.0)
        .collect();
    let span = (resent.len(), resent.iter().min(), resent.iter().max());
    assert!(
        span.0 >= 5 && span.1.is_some_and(|t| (3_080_000..3_120_000).contains(t)),
        "{span:?}"
    );
    // Kafka's exponential back-off (KIP-580): 100 ms doubling up to 1 s,
    // ±20% jitter: the gaps between one batch's sends grow, capped at 1.2 s.
    let first: Vec<u64> = trace
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::Resent { original, .. } if original == resent_first(&trace)))
        .map(|ev| ev.t.0)
        .collect();
    let gaps: Vec<u64> = first.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 2, "{first:?}");
    for (k, g) in gaps.iter().enumerate() {
        let term = (100_000u64 << (k + 1)).min(1_000_000) as f64;
        assert!(
            (*g as f64) >= term * 0.8 - 1.0 && (*g as f64) <= (term * 1.2).min(1_000_000.0) + 1.0,
            "gap {k}: {g} µs, expected about {term}: {gaps:?}"
        );
    }
    // The stalled follower re-joins after its stall (11 s) and catch-up.
    assert_eq!(at(&trace, "isr_expanded"), vec![(11_050_000, 2)]);
}

#[test]
fn unclean_election_hands_the_partition_to_the_stalled_follower_and_loses_acknowledged_records() {
    let (e, trace) = crash_with_follower_out(true);
    let (t, g) = topic_ledger(&e);
    let truncated = trace
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::LeaderCrashed { truncated, .. } => Some(truncated),
            _ => None,
        })
        .unwrap();
    // The follower's log ends where its stall began (1 s): the 2 s after are gone.
    assert!((195..=205).contains(&truncated), "{truncated}");
    // Every one of them had been acknowledged to the acks=all producer with
    // the leader alone holding it: those waiting when the ISR shrank (1 s →
    // 2 s) at the shrink, the later ones (2 s → 3 s) at once. Lost for good.
    let lost = t["acked_lost"].as_u64().unwrap();
    assert!((195..=205).contains(&lost), "{t}");
    assert_eq!(t["unacked_lost"], 0, "{t}");
    // The group had read some of them: it reads the new records at those offsets.
    assert!(g["reprocessed"].as_u64().unwrap() > 0, "{g}");
    // The new leader is the stalled follower; its stall is over.
    assert!(at(&trace, "isr_expanded").iter().all(|&(_, isr)| isr <= 2));
}

/// Kafka accepts `min.insync.replicas` above the replication factor (it
/// only asks for at least 1): the topic exists, every `acks=all` write is
/// refused (NOT_ENOUGH_REPLICAS) and retried, `acks=1` writes go through.
#[test]
fn min_insync_above_the_factor_refuses_every_acks_all_write() {
    let repl = json!({"factor": 2, "min_insync": 3});
    let mut e = engine(&world(repl.clone(), 10), 1);
    run_checked(&mut e, 5_000_000);
    let r = serde_json::to_value(e.report("t")).unwrap();
    assert_eq!(
        r["nodes"]["events"]["appended"], 0,
        "{}",
        r["nodes"]["events"]
    );
    assert_eq!(r["totals"]["processed"], 0);
    let mut s: Value = serde_json::from_str(&world(repl, 10)).unwrap();
    s["producers"][0]["acks"] = json!("1");
    let mut e = engine(&s.to_string(), 1);
    run_checked(&mut e, 5_000_000);
    assert_eq!(e.totals().processed, 10);
    // 0 and more than 5 (the largest factor) are refused, by path.
    for bad in [0, 6] {
        let w = world(json!({"factor": 2, "min_insync": bad}), 10);
        let err = scenario::load(&w).unwrap_err().to_string();
        assert!(
            err.contains("topics[0].replication.min_insync") && err.contains("between 1 and 5"),
            "{err}"
        );
    }
}

#[test]
fn stall_follower_and_replica_lag_max_are_checked() {
    let repl = json!({"factor": 3, "min_insync": 2});
    let mut e = engine(&world(repl, 10), 1);
    for (cmd, want) in [
        (
            Command::StallFollower {
                topic: "events".into(),
                partition: Some(3),
                duration: Duration::from_s(1),
            },
            "partition",
        ),
        (
            Command::StallFollower {
                topic: "events".into(),
                partition: None,
                duration: Duration::ZERO,
            },
            "duration",
        ),
    ] {
        let err = e.submit(cmd).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
    // An unreplicated topic has no follower to stall.
    let mut plain = engine(&world(json!({"factor": 1}), 10), 1);
    let err = plain
        .submit(Command::StallFollower {
            topic: "events".into(),
            partition: None,
            duration: Duration::from_s(1),
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("no in-sync follower"), "{err}");
    let bad = world(json!({"factor": 3, "replica_lag_max": "0s"}), 10);
    let err = scenario::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("topics[0].replication.replica_lag_max"),
        "{err}"
    );
    // A scheduled stall is checked with the path of its field.
    let mut s: Value = serde_json::from_str(&world(json!({"factor": 3}), 10)).unwrap();
    s["schedule"] = json!([{"at": "1s", "command": {"do": "stall_follower", "topic": "events", "duration": "0s"}}]);
    let err = scenario::load(&s.to_string()).unwrap_err().to_string();
    assert!(err.contains("schedule[0].command.duration"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, .. proptest::prelude::ProptestConfig::default() })]

    /// Stalls and leader crashes at random instants, with unclean election
    /// off: the invariants hold after every event, nothing acknowledged is
    /// lost, and once every stall and crash is over the ISR is whole again.
    #[test]
    fn stalls_and_crashes_never_lose_acknowledged_records_and_the_isr_heals(
        seed in 0u64..1000,
        plan in proptest::collection::vec((0u64..8_000, 0u32..2, 200u64..4_000), 1..8),
    ) {
        let repl = json!({"factor": 3, "min_insync": 2, "replica_lag": "20ms", "replica_lag_max": "1s"});
        let mut e = engine(&world(repl, 1000), seed);
        let mut plan = plan;
        plan.sort();
        for (at_ms, what, len_ms) in plan {
            run_checked(&mut e, at_ms * 1000);
            let d = Duration::from_ms(len_ms);
            let cmd = if what == 0 {
                Command::StallFollower { topic: "events".into(), partition: None, duration: d }
            } else {
                Command::CrashLeader { topic: "events".into(), partition: Some(0), restart_after: Some(d) }
            };
            e.submit(cmd).unwrap();
        }
        run_checked(&mut e, 200_000_000);
        let (t, _) = topic_ledger(&e);
        proptest::prop_assert_eq!(&t["acked_lost"], &json!(0), "{}", t);
        proptest::prop_assert_eq!(e.partition_isr("events", 0), Some(3));
        proptest::prop_assert_eq!(e.partition_hw("events", 0), t["appended"].as_u64());
    }
}

#[test]
fn the_isr_preset_shrinks_twice_and_expands_twice() {
    let p = scenario::preset("kafka-isr-shrink").unwrap();
    let mut e = Engine::new(p.scenario(), 3).unwrap();
    e.set_trace_capture(true, 1 << 20);
    run_checked(&mut e, 30_000_000);
    let trace = e.take_trace();
    assert_eq!(
        at(&trace, "isr_shrunk"),
        vec![(8_000_000, 2), (15_000_000, 1)]
    );
    assert_eq!(
        at(&trace, "isr_expanded"),
        vec![(17_100_000, 2), (20_100_000, 3)]
    );
    // Before the ISR fell below min_insync (15 s), batches were sent again
    // only while a stalled in-sync follower held the high watermark longer
    // than the preset's request timeout (1 s): 6 s → 8 s, then 13 s → 15 s,
    // each resend within a back-off (≤ 1.2 s) of the hold's end.
    let early: Vec<u64> = trace
        .iter()
        .filter(|ev| ev.kind.name() == "resent" && ev.t.0 < 15_000_000)
        .map(|ev| ev.t.0)
        .collect();
    assert!(!early.is_empty());
    assert!(
        early
            .iter()
            .all(|t| (6_000_000..9_200_000).contains(t) || (13_000_000..15_000_000).contains(t)),
        "{early:?}"
    );
}

/// 100/s into a 1-partition topic whose followers copy each batch 1 s
/// late, so the high watermark trails the log end by about 100 records.
fn lagging_world(extra_topic: Value, schedule: Value) -> String {
    let mut topic = json!({"id": "t", "partitions": 1,
        "replication": {"factor": 3, "min_insync": 2, "replica_lag": "1s"}});
    for (k, v) in extra_topic.as_object().unwrap() {
        topic[k] = v.clone();
    }
    json!({
        "title": "hw", "duration": "10s",
        "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant",
            "keys": {"random_of_n": 5}}],
        "topics": [topic],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1,
            "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}],
        "schedule": schedule
    })
    .to_string()
}

#[test]
fn retention_never_moves_the_log_start_past_the_high_watermark() {
    // Kafka deletes a segment only once the high watermark is past it: the
    // 10-record limit waits for replication instead of deleting records no
    // consumer could read yet (which a group would then count as skipped).
    let mut e = engine(
        &lagging_world(json!({"retention": {"records": 10}}), json!([])),
        1,
    );
    run_checked(&mut e, 2_500_000);
    let r = serde_json::to_value(e.report("t")).unwrap();
    let p = &r["nodes"]["t"]["partitions"][0];
    let (start, end) = (
        p["log_start"].as_u64().unwrap(),
        p["log_end"].as_u64().unwrap(),
    );
    assert_eq!(end, 250);
    // The high watermark is about 100 records (1 s) behind the log end.
    assert!((140..=160).contains(&start), "log start {start}");
    assert_eq!(r["nodes"]["g"]["skipped"], 0);
    assert!(r["nodes"]["g"]["processed"].as_u64().unwrap() >= 140);
}

#[test]
fn a_seek_by_timestamp_stops_at_the_high_watermark() {
    // At 2 s the record stamped 1.9 s is in the log but not yet replicated:
    // Kafka's ListOffsets offers nothing at or past the high watermark, so
    // the group seeks to the high watermark (about offset 100: what was
    // appended before 1 s), not to the record of 1.9 s (offset 189).
    let seek = json!([{"at": "2s", "command": {"do": "seek_group", "group": "g",
        "to": {"timestamp": "1.9s"}}}]);
    let mut e = engine(&lagging_world(json!({}), seek), 1);
    run_checked(&mut e, 2_000_001);
    let seeked: Vec<u64> = e
        .take_trace()
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::Seeked { offset, .. } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(seeked.len(), 1);
    assert!((95..=105).contains(&seeked[0]), "seeked to {}", seeked[0]);
    run_checked(&mut e, 5_000_000);
    let r = serde_json::to_value(e.report("t")).unwrap();
    assert_eq!(r["nodes"]["g"]["skipped"], 0);
}

#[test]
fn key_less_records_avoid_a_partition_without_a_leader() {
    // Partition 1's only replica is down from 1 s to 2 s: round-robin and
    // sticky (null-key) records go to partitions 0 and 2 meanwhile, as
    // Kafka's partitioners choose among `availablePartitionsForTopic`.
    for partitioner in ["round_robin", "default"] {
        let w = json!({
            "title": "leaderless", "seed": 1, "duration": "3s",
            "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant",
                "partitioner": partitioner, "batch_size": 1}],
            "topics": [{"id": "t", "partitions": 3, "replication": {"factor": 1, "min_insync": 1}}],
            "schedule": [{"at": "1s", "command": {"do": "crash_leader", "topic": "t",
                "partition": 1, "restart_after": "1s"}}]
        })
        .to_string();
        let mut e = engine(&w, 1);
        run_checked(&mut e, 3_000_000);
        let mut per_part = [0u32; 3];
        let mut before = [0u32; 3];
        for ev in e.take_trace() {
            if let TraceKind::Appended { partition, .. } = ev.kind {
                if (1_050_000..1_950_000).contains(&ev.t.0) {
                    per_part[partition as usize] += 1;
                } else if ev.t.0 < 1_000_000 {
                    before[partition as usize] += 1;
                }
            }
        }
        assert_eq!(per_part[1], 0, "{partitioner}: {per_part:?}");
        assert!(
            per_part[0] > 30 && per_part[2] > 30,
            "{partitioner}: {per_part:?}"
        );
        assert!(
            before.iter().all(|&n| n > 20),
            "{partitioner}: all three before: {before:?}"
        );
    }
}

#[test]
fn the_report_gives_the_high_watermark_that_lag_counts_from() {
    // A follower 2 s behind: with acks=1 the leader's log end runs ahead of
    // the high watermark by 2 s of records (20), and a group's lag is the
    // high watermark − committed, as `kafka-consumer-groups.sh` shows it.
    let json = json!({"title": "hw lag", "seed": 1, "duration": "5050ms",
        "producers": [{"id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "acks": "1"}],
        "topics": [{"id": "t", "partitions": 1,
            "replication": {"factor": 2, "min_insync": 1, "replica_lag": "2s"}}],
        "consumer_groups": [{"id": "slow", "topics": ["t"], "members": 1,
            "auto_offset_reset": "earliest", "commit": {"after_processing": {"per": "record"}},
            "service": {"constant": "1s"}}]})
    .to_string();
    let mut e = engine(&json, 1);
    run_checked(&mut e, 5_050_000);
    let r = serde_json::to_value(e.report("t")).unwrap();
    let p = &r["nodes"]["t"]["partitions"][0];
    assert_eq!(
        (p["log_end"].as_u64(), p["high_watermark"].as_u64()),
        (Some(50), Some(30))
    );
    let g = &r["nodes"]["slow"];
    let committed = g["partitions"][0]["committed"].as_u64().unwrap();
    assert_eq!(g["lag"].as_u64(), Some(30 - committed));
}

/// The business id of the first batch resent in `trace`.
fn resent_first(trace: &[queuelab::engine::TraceEvent]) -> u64 {
    trace
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::Resent { original, .. } => Some(original),
            _ => None,
        })
        .unwrap()
}

#[test]
fn with_the_leader_alone_in_the_isr_records_are_readable_and_answered_at_once() {
    // Kafka's high watermark is the lowest log end over the ISR: with the
    // leader alone (its follower stalled out at 3 s) a record is readable
    // and an acks=all batch answered at its append, not a replica_lag later.
    let json = r#"{ "title": "isr of one", "seed": 1, "duration": "10s",
  "producers": [ { "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 80, "acks": "all" } ],
  "topics": [ { "id": "t", "partitions": 1, "replication": {"factor": 2, "min_insync": 1, "replica_lag": "500ms", "replica_lag_max": "1s"} } ],
  "consumer_groups": [ { "id": "g", "topics": ["t"], "auto_offset_reset": "earliest", "service": {"constant": "1ms"} } ],
  "schedule": [ {"at": "2s", "command": {"do": "stall_follower", "topic": "t", "duration": "60s"}} ] }"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 10_000_000);
    let trace = e.take_trace();
    assert_eq!(at(&trace, "isr_shrunk"), vec![(3_000_000, 1)]);
    let when = |kind: &str, offset: u64| {
        trace
            .iter()
            .find(|ev| {
                ev.kind.name() == kind
                    && match ev.kind {
                        TraceKind::Appended { offset: o, .. } => o == offset,
                        TraceKind::Fetched { from, count, .. } => {
                            (from..from + count as u64).contains(&offset)
                        }
                        _ => false,
                    }
            })
            .map(|ev| ev.t.0)
    };
    // Offset 40 is appended at 4.1 s, with the ISR the leader alone.
    let appended = when("appended", 40).unwrap();
    assert_eq!(appended, 4_100_000);
    assert_eq!(when("fetched", 40), Some(appended));
    // Before the shrink a record waited for the follower: offset 5 (0.6 s).
    assert_eq!(
        when("fetched", 5),
        Some(when("appended", 5).unwrap() + 500_000)
    );
}

#[test]
fn acks_all_records_answered_by_a_lone_leader_are_counted_lost_by_a_later_unclean_election() {
    // Factor 3, one in-sync follower. The first crash (5.05 s) elects it
    // cleanly: the ISR is now the new leader alone, the other followers are
    // 2 s behind. Every acks=all batch is answered by that leader alone; the
    // second crash (8.05 s) elects an out-of-sync follower (unclean): what it
    // lacks, 20 records, was acknowledged and is lost.
    let json = r#"{ "title": "unclean after clean", "seed": 1, "duration": "12s",
  "producers": [ { "id": "p", "to": "events", "rate": "10/s", "arrival": "constant", "count": 100, "acks": "all" } ],
  "topics": [ { "id": "events", "partitions": 1, "replication": {"factor": 3, "in_sync": 1, "min_insync": 1,
     "replica_lag": "100ms", "out_of_sync_lag": "2s", "unclean_election": true} } ],
  "consumer_groups": [ { "id": "g", "topics": ["events"], "auto_offset_reset": "earliest", "service": {"constant": "1ms"} } ],
  "schedule": [ {"at": "5.05s", "command": {"do": "crash_leader", "topic": "events"}},
                {"at": "8.05s", "command": {"do": "crash_leader", "topic": "events"}} ] }"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 12_000_000);
    let trace = e.take_trace();
    let truncated: Vec<u32> = trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::LeaderCrashed { truncated, .. } => Some(truncated),
            _ => None,
        })
        .collect();
    assert_eq!(truncated[1], 20, "{truncated:?}");
    let (t, _) = topic_ledger(&e);
    assert_eq!(t["acked_lost"], 20, "{t}");
}

#[test]
fn a_stalled_follower_of_an_idle_partition_stays_in_the_isr_until_the_leader_appends() {
    // Kafka's `Replica.isCaughtUp`: a follower with the leader's log end is
    // never out of sync. Partition 1 gets nothing until 8 s, so its stalled
    // follower (since 1 s) is still caught up at the 6 s check; the leader
    // looks again every replica_lag_max / 2 (8.5 s) and then drops it.
    let json = r#"{ "title": "idle partition", "duration": "12s",
         "producers": [
           { "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "acks": "all", "partition": 0 },
           { "id": "q", "to": "t", "rate": "1/s", "arrival": "constant", "acks": "all", "partition": 1,
             "start": "7s", "count": 1 } ],
         "topics": [{ "id": "t", "partitions": 2,
                      "replication": { "factor": 2, "min_insync": 1, "replica_lag_max": "5s" } }],
         "schedule": [{ "at": "1s", "command": { "do": "stall_follower", "topic": "t", "duration": "15s" } }] }"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 12_000_000);
    let shrunk: Vec<(u64, u32)> = e
        .take_trace()
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::IsrShrunk { partition, .. } => Some((ev.t.0, partition)),
            _ => None,
        })
        .collect();
    assert_eq!(shrunk, [(6_000_000, 0), (8_500_000, 1)]);
}

#[test]
fn a_retried_batch_the_leader_crash_cut_is_appended_again_not_answered_as_a_duplicate() {
    // An idempotent acks=all producer; min_insync 3 and a stalled follower:
    // at 3 s the ISR shrinks below min_insync, so the batches waiting for the
    // high watermark fail (NOT_ENOUGH_REPLICAS_AFTER_APPEND) and are retried.
    // The leader crash at 3.1 s cuts them from the log. The new leader's
    // producer state comes from its log (`rebuildProducerState`), so their
    // retries are appended again instead of being answered "duplicate,
    // success" with nothing in the log.
    let json = r#"{ "title": "cut and retried", "duration": "15s",
         "producers": [{ "id": "p", "to": "events", "rate": "100/s", "arrival": "constant", "acks": "all" }],
         "topics": [{ "id": "events", "partitions": 1,
                      "replication": { "factor": 3, "min_insync": 3, "replica_lag": "500ms", "replica_lag_max": "2s" } }],
         "schedule": [
           { "at": "1s", "command": { "do": "stall_follower", "topic": "events", "partition": 0, "duration": "5s" } },
           { "at": "3.1s", "command": { "do": "crash_leader", "topic": "events", "partition": 0, "restart_after": "1s" } } ] }"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 15_000_000);
    let trace = e.take_trace();
    let crash = trace
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::LeaderCrashed { truncated, .. } => Some((ev.t.0, truncated)),
            _ => None,
        })
        .expect("crashed");
    assert!(crash.1 > 0, "the crash cut records: {crash:?}");
    let appended = |before: bool| -> std::collections::BTreeMap<u64, u64> {
        trace
            .iter()
            .filter(|ev| (ev.t.0 < crash.0) == before)
            .filter_map(|ev| match ev.kind {
                TraceKind::Appended { offset, .. } => Some((ev.msg.unwrap(), offset)),
                _ => None,
            })
            .collect()
    };
    let (before, after) = (appended(true), appended(false));
    let cut_at = before.values().max().unwrap() + 1 - crash.1 as u64;
    let cut: Vec<u64> = before
        .iter()
        .filter(|&(_, &o)| o >= cut_at)
        .map(|(&m, _)| m)
        .collect();
    assert_eq!(cut.len() as u32, crash.1);
    for m in &cut {
        assert_eq!(
            after.get(m),
            before.get(m),
            "record {m} was cut and is appended again at the same offset"
        );
    }
    let (t, _) = topic_ledger(&e);
    assert_eq!(
        (t["acked_lost"].as_u64(), t["unacked_lost"].as_u64()),
        (Some(0), Some(0)),
        "{t}"
    );
}

#[test]
fn an_offline_partition_waits_for_its_last_leader_not_the_first_replica_back() {
    // Three replicas crash at 1, 2 and 3 s (back after 10, 100 and 100 s).
    // Without unclean election only the last in-sync replica (crashed at
    // 3 s, back at 103 s) may lead again: the one back at 11 s lacks the
    // 1–3 s records, so the partition stays offline until 103 s, loses
    // nothing, and then both follow the returned leader.
    let json = r#"{ "title": "offline until the last leader", "duration": "110s",
         "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "acks": "all" }],
         "topics": [{ "id": "t", "partitions": 1, "replication": { "factor": 3, "min_insync": 1 } }],
         "schedule": [
           { "at": "1s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "10s" } },
           { "at": "2s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "100s" } },
           { "at": "3s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "100s" } } ] }"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 110_000_000);
    let appends: Vec<u64> = e
        .take_trace()
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::Appended { .. }))
        .map(|ev| ev.t.0)
        .collect();
    assert!(
        !appends.iter().any(|&t| t > 3_000_000 && t < 103_000_000),
        "offline from 3 s to 103 s"
    );
    assert!(
        appends.iter().any(|&t| t >= 103_000_000),
        "writable again at 103 s"
    );
    let l = serde_json::to_value(e.ledger_report()).unwrap();
    assert_eq!(
        l["streams"]["topics"]["t"]["acked_lost"], 0,
        "{}",
        l["streams"]
    );
    let r = serde_json::to_value(e.report("t")).unwrap();
    assert_eq!(
        r["nodes"]["t"]["partitions"][0]["isr"],
        json!([3, 3]),
        "all three in sync again"
    );
}

/// Records `t`'s partition 0 lost, acknowledged ones, and the trace.
fn run_json(json: &str, until_us: u64) -> (Value, Vec<TraceEvent>) {
    let mut e = engine(json, 1);
    run_checked(&mut e, until_us);
    let trace = e.take_trace();
    (stream_ledger(&e, "topics", "t"), trace)
}

#[test]
fn with_unclean_election_the_first_replica_back_leads_an_offline_partition_and_loses_what_it_missed(
) {
    // Two replicas, acks=all, unclean election. A crashes at 5 s (back at
    // 25 s): B leads alone and acknowledges 5–10 s's records with no
    // follower. B crashes at 10 s (back at 35 s): offline. Kafka elects "the
    // first replica (not necessarily in the ISR) that comes back to life": A,
    // at 25 s, whose log ends at 5 s. The 50 records of 5–10 s are gone.
    let json = r#"{ "title": "stale replica back first", "duration": "40s",
         "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "acks": "all" }],
         "topics": [{ "id": "t", "partitions": 1, "replication":
             { "factor": 2, "min_insync": 1, "replica_lag": "10ms", "unclean_election": true } }],
         "schedule": [
           { "at": "5s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "20s" } },
           { "at": "10s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "25s" } } ] }"#;
    let (t, trace) = run_json(json, 40_000_000);
    let back: Vec<(u64, u32)> = trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::UncleanLeaderBack { truncated, .. } => Some((ev.t.0, truncated)),
            _ => None,
        })
        .collect();
    assert_eq!(back, [(25_000_000, 50)]);
    assert_eq!(t["acked_lost"], 50, "{t}");
    // Writable again from 25 s, at the offsets the lost records had.
    let first_after = trace
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::Appended { offset, .. } if ev.t.0 >= 25_000_000 => Some(offset),
            _ => None,
        })
        .unwrap();
    // A's log: the records of 0.1–4.9 s (the one at 5 s came after the
    // crash, to B), offsets 0..49.
    assert_eq!(first_after, 49);
    // B, back at 35 s, follows A: nothing more is lost.
    assert_eq!(
        trace
            .iter()
            .filter(|ev| matches!(ev.kind, TraceKind::UncleanLeaderBack { .. }))
            .count(),
        1
    );
}

#[test]
fn with_unclean_election_the_last_leader_back_first_loses_nothing() {
    // The same crashes, but B (the last leader) is back first, at 15 s.
    let json = r#"{ "title": "last leader back first", "duration": "40s",
         "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "acks": "all" }],
         "topics": [{ "id": "t", "partitions": 1, "replication":
             { "factor": 2, "min_insync": 1, "replica_lag": "10ms", "unclean_election": true } }],
         "schedule": [
           { "at": "5s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "20s" } },
           { "at": "10s", "command": { "do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "5s" } } ] }"#;
    let (t, trace) = run_json(json, 40_000_000);
    assert_eq!(t["acked_lost"], 0, "{t}");
    assert!(!trace
        .iter()
        .any(|ev| matches!(ev.kind, TraceKind::UncleanLeaderBack { .. })));
}

/// Factor `factor`, acks=1 at 100/s constant, followers `replica_lag` 50 ms
/// behind; a follower stalls at 2 s for 30 s (replica_lag_max 30 s: it stays
/// in the ISR, holding the high watermark) and the leader crashes at 6 s.
fn stalled_then_crash(factor: u32) -> String {
    json!({
        "title": "crash with a stalled in-sync follower", "duration": "12s",
        "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "acks": "1"}],
        "topics": [{"id": "t", "partitions": 1, "replication":
            {"factor": factor, "min_insync": 1, "replica_lag": "50ms", "replica_lag_max": "30s"}}],
        "consumer_groups": [{"id": "readers", "topics": ["t"], "members": 1,
            "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}],
        "schedule": [
            {"at": "2s", "command": {"do": "stall_follower", "topic": "t", "partition": 0, "duration": "30s"}},
            {"at": "6s", "command": {"do": "crash_leader", "topic": "t", "partition": 0}}]
    })
    .to_string()
}

fn truncations(trace: &[TraceEvent]) -> Vec<u32> {
    trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::LeaderCrashed { truncated, .. } => Some(truncated),
            _ => None,
        })
        .collect()
}

#[test]
fn a_caught_up_follower_takes_over_from_a_crashed_leader_while_another_is_stalled() {
    // Factor 3: the caught-up follower leads with what it has, everything
    // but the last 50 ms (5 records) — not the high watermark the stalled
    // follower held at 2 s, which would lose 4 s of acknowledged records.
    let (t, trace) = run_json(&stalled_then_crash(3), 12_000_000);
    assert_eq!(truncations(&trace), [5]);
    assert_eq!(t["acked_lost"], 5, "{t}");
    // The stalled follower is still in the ISR, holding the new leader's
    // high watermark: no shrink before replica_lag_max (32 s).
    assert!(at(&trace, "isr_shrunk").is_empty());
}

#[test]
fn a_stalled_follower_that_takes_over_stops_being_a_stalled_follower() {
    // Factor 2: the only follower is the stalled one; it leads with its log
    // up to the high watermark it held (what it had replicated by 2 s, the
    // records of 1.95 s and before): the 4.05 s after, 405 records, are
    // lost, and its stall is over: no ISR shrink follows for a follower that
    // leads.
    let (t, trace) = run_json(&stalled_then_crash(2), 12_000_000);
    assert_eq!(truncations(&trace), [405]);
    assert_eq!(t["acked_lost"], 405, "{t}");
    assert!(
        at(&trace, "isr_shrunk").is_empty(),
        "{:?}",
        at(&trace, "isr_shrunk")
    );
}

#[test]
fn a_stall_with_no_in_sync_follower_left_does_nothing() {
    // Factor 3; the leader crashes at 2 s (not back in this run): one
    // follower leads, one follows. Stalling twice stalls that one only.
    let json = json!({
        "title": "stall after crash", "duration": "20s",
        "producers": [{"id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "acks": "1"}],
        "topics": [{"id": "t", "partitions": 1, "replication":
            {"factor": 3, "min_insync": 1, "replica_lag": "100ms", "replica_lag_max": "2s"}}],
        "schedule": [
            {"at": "2s", "command": {"do": "crash_leader", "topic": "t", "partition": 0, "restart_after": "60s"}},
            {"at": "3s", "command": {"do": "stall_follower", "topic": "t", "partition": 0, "duration": "10s"}},
            {"at": "4s", "command": {"do": "stall_follower", "topic": "t", "partition": 0, "duration": "10s"}}]
    })
    .to_string();
    let (_, trace) = run_json(&json, 20_000_000);
    let stalls = trace
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::FollowerStalled { .. }))
        .count();
    assert_eq!(stalls, 1, "the second stall finds no in-sync follower");
    assert_eq!(at(&trace, "isr_shrunk"), [(5_000_000, 1)]);
    // Back 100 ms after its stall ends at 13 s, into an ISR of 2.
    assert_eq!(at(&trace, "isr_expanded"), [(13_100_000, 2)]);
}
