//! Stories of the Kafka half: topics, partitioner, consumer groups, offsets.
//!
//! Each test builds a small topic scenario with constant times, runs it with the
//! invariants checked after every event, and reads the trace (appended, fetched,
//! committed, assigned, revoked, rebalance_*) and the group view.

use crate::common::{story, Story};
use queuelab::engine::view::NodeView;
use queuelab::engine::view_stream::{GroupView, TopicView};
use queuelab::engine::{Command, Engine, SimTime, TraceKind};
use queuelab::scenario::{self, SeekTo};
use std::collections::BTreeMap;

pub(crate) fn group(e: &Engine, id: &str) -> GroupView {
    e.snapshot()
        .nodes
        .into_iter()
        .find_map(|n| match n {
            NodeView::Group(g) if g.id == id => Some(g),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no group {id}"))
}

pub(crate) fn topic(e: &Engine, id: &str) -> TopicView {
    e.snapshot()
        .nodes
        .into_iter()
        .find_map(|n| match n {
            NodeView::Topic(t) if t.id == id => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no topic {id}"))
}

/// Record id → (partition, offset), from the `appended` events.
pub(crate) fn placements(s: &Story) -> BTreeMap<u64, (u32, u64)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Appended {
                partition, offset, ..
            } => Some((e.msg?, (partition, offset))),
            _ => None,
        })
        .collect()
}

/// (member, partition) of every `assigned` event, in order.
fn assigned(s: &Story) -> Vec<(u32, u32)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Assigned {
                member, partition, ..
            } => Some((member, partition)),
            _ => None,
        })
        .collect()
}

fn by_member(pairs: &[(u32, u32)]) -> BTreeMap<u32, Vec<u32>> {
    let mut m: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(member, p) in pairs {
        m.entry(member).or_default().push(p);
    }
    m
}

#[test]
fn keys_land_on_kafkas_partitions() {
    // Partitions from Kafka's murmur2 vectors (UtilsTest.testMurmur2), worked by
    // hand: (hash & 0x7fffffff) % 12. With abs() instead they would be 8, 2, 0, 9, 3.
    let s = story(
        r#"{ "title": "keys",
             "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 5,
                             "keys": { "round_robin": ["21", "foobar", "a-little-bit-long-string",
                                                       "a-little-bit-longer-string", "abc"] } }],
             "topics": [{ "id": "t", "partitions": 12 }] }"#,
        2_000_000,
    );
    let parts: Vec<u32> = placements(&s).values().map(|&(p, _)| p).collect();
    assert_eq!(parts, vec![0, 6, 8, 11, 3]);
    let t = topic(&s.engine, "t");
    assert_eq!(t.appended, 5);
    assert_eq!(t.partitions[6].log_end, 1);
}

#[test]
fn a_key_always_lands_in_the_same_partition_and_keeps_its_order() {
    let s = story(
        r#"{ "title": "order",
             "producers": [{ "id": "p", "to": "t", "rate": "500/s", "keys": { "random_of_n": 20 } }],
             "topics": [{ "id": "t", "partitions": 4 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "auto_offset_reset": "earliest",
                                   "service": { "exponential": "1ms" } }] }"#,
        3_000_000,
    );
    let keys = s.engine.config().producers[0].keys.clone();
    assert!(keys.is_some());
    let place = placements(&s);
    // Per partition, the group processes in offset order.
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for e in &s.trace {
        if let (TraceKind::Processed { .. }, Some(m)) = (e.kind, e.msg) {
            let (p, o) = place[&m];
            if let Some(&prev) = last.get(&p) {
                assert_eq!(o, prev + 1, "partition {p}: offset {o} after {prev}");
            }
            last.insert(p, o);
        }
    }
    assert!(group(&s.engine, "g").processed > 1000);
}

#[test]
fn null_keys_stick_to_a_partition_for_a_batch() {
    let s = story(
        r#"{ "title": "sticky",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 40,
                             "batch_size": 5 }],
             "topics": [{ "id": "t", "partitions": 6 }] }"#,
        2_000_000,
    );
    let parts: Vec<u32> = placements(&s).values().map(|&(p, _)| p).collect();
    for run in parts.chunks(5) {
        assert!(run.iter().all(|&p| p == run[0]), "{parts:?}");
    }
    for w in parts.chunks(5).collect::<Vec<_>>().windows(2) {
        assert_ne!(w[0][0], w[1][0], "the next batch moves on: {parts:?}");
    }
}

#[test]
fn a_lingered_part_batch_does_not_make_the_sticky_partitioner_leave_a_remainder() {
    // KIP-794's example (Kafka's `BuiltInPartitioner.updatePartitionInfo`):
    // batch 16, linger 500 ms, 12 records per linger. Kafka 3.3+ does not
    // switch while the partition's batch is open and unfull: batches of 12,
    // two per partition, instead of 12 then 4.
    let s = story(
        r#"{ "title": "kip-794", "duration": "4s",
             "producers": [{ "id": "p", "to": "t", "rate": "24/s", "arrival": "constant",
                             "linger": "500ms", "batch_size": 16 }],
             "topics": [{ "id": "t", "partitions": 4 }] }"#,
        4_000_000,
    );
    // Appended records per (time, partition): one batch each.
    let mut batches: Vec<(u64, u32, u32)> = Vec::new();
    for e in &s.trace {
        if let TraceKind::Appended { partition, .. } = e.kind {
            match batches.last_mut() {
                Some(b) if b.0 == e.t.0 && b.1 == partition => b.2 += 1,
                _ => batches.push((e.t.0, partition, 1)),
            }
        }
    }
    assert!(batches.len() >= 6, "{batches:?}");
    assert!(batches.iter().all(|b| b.2 == 12), "{batches:?}");
    for pair in batches.chunks(2).filter(|c| c.len() == 2) {
        assert_eq!(
            pair[0].1, pair[1].1,
            "two batches per partition: {batches:?}"
        );
    }
    for w in batches.windows(3).step_by(2) {
        assert_ne!(w[1].1, w[2].1, "then a switch: {batches:?}");
    }
}

#[test]
fn round_robin_partitioner_ignores_keys_and_explicit_partition_wins() {
    let s = story(
        r#"{ "title": "rr",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 6,
                             "keys": { "fixed": "k" }, "partitioner": "round_robin" },
                           { "id": "q", "to": "t", "rate": "100/s", "arrival": "constant", "count": 3,
                             "keys": { "fixed": "k" }, "partition": 2 }],
             "topics": [{ "id": "t", "partitions": 3 }] }"#,
        2_000_000,
    );
    let t = topic(&s.engine, "t");
    let ends: Vec<u64> = t.partitions.iter().map(|p| p.log_end).collect();
    assert_eq!(ends, vec![2, 2, 2 + 3]);
}

#[test]
fn linger_appends_a_batch_as_a_unit() {
    let times = |batch: u32| {
        let s = story(
            &format!(
                r#"{{ "title": "linger",
                     "producers": [{{ "id": "p", "to": "t", "rate": "1000/s", "arrival": "constant", "count": 10,
                                     "keys": {{ "fixed": "k" }}, "linger": "20ms", "batch_size": {batch} }}],
                     "topics": [{{ "id": "t", "partitions": 1 }}] }}"#
            ),
            1_000_000,
        );
        let appended = s
            .trace
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Appended { .. }))
            .map(|e| e.t.0)
            .collect::<Vec<u64>>();
        // The producer's report counts the batches it sent.
        let batches = s.engine.snapshot().nodes.into_iter().find_map(|n| match n {
            NodeView::Producer {
                published,
                batches_sent,
                ..
            } => Some((published, batches_sent)),
            _ => None,
        });
        (appended, batches.unwrap())
    };
    // Records at 1 … 10 ms; the batch opened at 1 ms is sent at 21 ms, whole.
    assert_eq!(times(100), (vec![21_000; 10], (10, 1)));
    // A full batch goes at once: 1–4 ms at 4 ms, 5–8 ms at 8 ms, 9–10 ms linger to 29 ms.
    assert_eq!(
        times(4),
        (
            vec![4_000, 4_000, 4_000, 4_000, 8_000, 8_000, 8_000, 8_000, 29_000, 29_000],
            (10, 3)
        )
    );
}

#[test]
fn without_linger_every_record_is_a_batch_of_its_own() {
    let e = run_preset("kafka-keys-ordering", 5_000_000);
    let r = serde_json::to_value(e.report("kafka-keys-ordering")).unwrap();
    let p = &r["nodes"]["orders-api"];
    assert!(p["published"].as_u64().unwrap() > 500, "{p}");
    assert_eq!(p["batches_sent"], p["published"], "{p}");
    // A queue producer sends no batches and its report says nothing of them.
    let e = run_preset("mm1", 5_000_000);
    let r = serde_json::to_value(e.report("mm1")).unwrap();
    let producers: Vec<&serde_json::Value> = r["nodes"]
        .as_object()
        .unwrap()
        .values()
        .filter(|n| n["kind"] == "producer")
        .collect();
    assert!(!producers.is_empty());
    assert!(producers.iter().all(|p| p.get("batches_sent").is_none()));
}

fn assignment_story(
    strategy: &str,
    members: u32,
    topics: &[(&str, u32)],
) -> BTreeMap<u32, Vec<u32>> {
    let tjson: Vec<String> = topics
        .iter()
        .map(|(id, n)| format!(r#"{{ "id": "{id}", "partitions": {n} }}"#))
        .collect();
    let names: Vec<String> = topics.iter().map(|(id, _)| format!("\"{id}\"")).collect();
    let s = story(
        &format!(
            r#"{{ "title": "assign", "topics": [{}],
                 "consumer_groups": [{{ "id": "g", "topics": [{}], "members": {members},
                                       "assignment": "{strategy}", "service": {{ "constant": "1ms" }} }}] }}"#,
            tjson.join(","),
            names.join(",")
        ),
        1_000_000,
    );
    by_member(&assigned(&s))
}

#[test]
fn range_round_robin_and_sticky_assign_like_kafka() {
    // 3 members, 7 partitions.
    assert_eq!(
        assignment_story("range", 3, &[("t", 7)]),
        BTreeMap::from([(0, vec![0, 1, 2]), (1, vec![3, 4]), (2, vec![5, 6])])
    );
    assert_eq!(
        assignment_story("round_robin", 3, &[("t", 7)]),
        BTreeMap::from([(0, vec![0, 3, 6]), (1, vec![1, 4]), (2, vec![2, 5])])
    );
    assert_eq!(
        assignment_story("cooperative_sticky", 3, &[("t", 7)]),
        BTreeMap::from([(0, vec![0, 3, 6]), (1, vec![1, 4]), (2, vec![2, 5])])
    );
    // RangeAssignor's Javadoc example: C0, C1; t0, t1 with 3 partitions each:
    // C0 [t0p0, t0p1, t1p0, t1p1], C1 [t0p2, t1p2] (partition numbers per topic).
    assert_eq!(
        assignment_story("range", 2, &[("t0", 3), ("t1", 3)]),
        BTreeMap::from([(0, vec![0, 1, 0, 1]), (1, vec![2, 2])])
    );
    // RoundRobinAssignor's Javadoc example: C0 [t0p0, t0p2, t1p1], C1 [t0p1, t1p0, t1p2].
    assert_eq!(
        assignment_story("round_robin", 2, &[("t0", 3), ("t1", 3)]),
        BTreeMap::from([(0, vec![0, 2, 1]), (1, vec![1, 0, 2])])
    );
}

#[test]
fn extra_members_sit_idle() {
    let s = story(
        r#"{ "title": "idle", "topics": [{ "id": "t", "partitions": 3 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 4, "service": { "constant": "1ms" } }] }"#,
        1_000_000,
    );
    let g = group(&s.engine, "g");
    let idle: Vec<u32> = g
        .members
        .iter()
        .filter(|m| m.partitions.is_empty())
        .map(|m| m.member)
        .collect();
    assert_eq!(idle, vec![3]);
}

/// A group of 2 on 6 partitions, busy with a steady stream; a third member joins at 1 s.
fn join_story(strategy: &str) -> Story {
    story(
        &format!(
            r#"{{ "title": "join",
                 "producers": [{{ "id": "p", "to": "t", "rate": "600/s", "arrival": "constant", "partitioner": "round_robin" }}],
                 "topics": [{{ "id": "t", "partitions": 6 }}],
                 "consumer_groups": [{{ "id": "g", "topics": ["t"], "members": 2, "assignment": "{strategy}",
                                       "rebalance_pause": "200ms", "max_poll_records": 1,
                                       "service": {{ "constant": "1ms" }} }}],
                 "schedule": [{{ "at": "1s", "command": {{ "do": "add_member", "group": "g" }} }}] }}"#
        ),
        2_000_000,
    )
}

#[test]
fn cooperative_sticky_moves_only_what_it_must_and_the_rest_keeps_flowing() {
    let s = join_story("cooperative_sticky");
    let revoked: Vec<(u32, u32)> = s
        .trace
        .iter()
        .filter(|e| e.t.0 >= 1_000_000)
        .filter_map(|e| match e.kind {
            TraceKind::Revoked {
                member, partition, ..
            } => Some((member, partition)),
            _ => None,
        })
        .collect();
    // Owned: m0 [0, 2, 4], m1 [1, 3, 5]; quota 2 each: keep the lowest, give up 4 and 5.
    assert_eq!(revoked, vec![(0, 4), (1, 5)]);
    let place = placements(&s);
    let during: Vec<u32> = s
        .trace
        .iter()
        .filter(|e| e.t.0 > 1_001_000 && e.t.0 < 1_200_000)
        .filter(|e| matches!(e.kind, TraceKind::Processed { .. }))
        .map(|e| place[&e.msg.unwrap()].0)
        .collect();
    assert!(!during.is_empty(), "unmoved partitions keep flowing");
    assert!(
        during.iter().all(|p| ![4, 5].contains(p)),
        "moved ones pause"
    );
    let g = group(&s.engine, "g");
    assert_eq!(g.members[2].partitions.len(), 2);
}

#[test]
fn eager_rebalance_stops_everything_for_the_pause() {
    let s = join_story("range");
    let revoked = s
        .trace
        .iter()
        .filter(|e| e.t.0 >= 1_000_000 && matches!(e.kind, TraceKind::Revoked { .. }))
        .count();
    assert_eq!(revoked, 6, "eager: everyone revokes everything");
    let during = s
        .trace
        .iter()
        .filter(|e| e.t.0 > 1_001_000 && e.t.0 < 1_200_000)
        .filter(|e| matches!(e.kind, TraceKind::Processed { .. }))
        .count();
    assert_eq!(during, 0, "nothing is processed during an eager rebalance");
    let done: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::RebalanceCompleted { generation: 2 }))
        .map(|e| e.t.0)
        .collect();
    // Nobody is mid-batch at 1 s (the last record, at 0.9985 s, took 1 ms), so
    // all revoke at once and the 200 ms pause ends the rebalance.
    assert_eq!(done, vec![1_200_000]);
}

#[test]
fn a_crash_is_noticed_exactly_session_timeout_later() {
    let s = story(
        r#"{ "title": "crash",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "partitioner": "round_robin" }],
             "topics": [{ "id": "t", "partitions": 2 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "session_timeout": "3s",
                                   "service": { "constant": "1ms" } }],
             "schedule": [{ "at": "1500ms", "command": { "do": "crash_member", "group": "g", "member": 0 } }] }"#,
        6_000_000,
    );
    let started: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::RebalanceStarted { .. }))
        .map(|e| e.t.0)
        .collect();
    // The first rebalance runs while the engine is built (time 0); a
    // capture turned on before the first step has it too.
    assert_eq!(started, vec![0, 4_500_000]);
    let g = group(&s.engine, "g");
    assert_eq!(g.members[1].partitions.len(), 2, "the survivor owns both");
    assert!(!g.members[0].up);
}

/// One partition of 100 records appended as one batch at 1.001 s; member 0 owns it and polls 30
/// at a time, 10 ms each; member 1 is idle. Member 0 crashes at `crash_ms`; member 1
/// takes over after the session timeout (1 s) and the pause (100 ms).
fn crash_with(commit: &str, crash_ms: u64) -> (GroupView, Story) {
    crash_with_reset(commit, crash_ms, "earliest")
}

fn crash_with_reset(commit: &str, crash_ms: u64, reset: &str) -> (GroupView, Story) {
    let s = story(
        &format!(
            r#"{{ "title": "commit",
                 "producers": [{{ "id": "p", "to": "t", "rate": "100/s", "arrival": {{ "bursts": {{ "size": 100 }} }},
                                  "count": 100, "keys": {{ "fixed": "k" }}, "linger": "1ms", "batch_size": 100 }}],
                 "topics": [{{ "id": "t", "partitions": 1 }}],
                 "consumer_groups": [{{ "id": "g", "topics": ["t"], "members": 2, "max_poll_records": 30,
                                       "session_timeout": "1s", "auto_offset_reset": "{reset}",
                                       "commit": {commit}, "service": {{ "constant": "10ms" }} }}],
                 "schedule": [{{ "at": "{crash_ms}ms", "command": {{ "do": "crash_member", "group": "g", "member": 0 }} }}] }}"#
        ),
        5_000_000,
    );
    (group(&s.engine, "g"), s)
}

/// Offsets member 1 processed, in order.
fn taken_over(s: &Story) -> Vec<u64> {
    let place = placements(s);
    s.trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Processed { instance: 1, .. }))
        .map(|e| place[&e.msg.unwrap()].1)
        .collect()
}

#[test]
fn commit_policies_under_a_crash_give_exactly_the_predicted_ranges() {
    // Crash at 1.155 s: offsets 0..=14 processed (at 1.011 … 1.151 s), 15 in service, 30 polled.
    let (g, s) = crash_with(r#"{ "after_processing": { "per": "record" } }"#, 1155);
    assert_eq!((g.reprocessed, g.skipped), (0, 0));
    assert_eq!(taken_over(&s)[0], 15);

    let (g, s) = crash_with(r#"{ "after_processing": { "per": "batch" } }"#, 1155);
    assert_eq!((g.reprocessed, g.skipped), (15, 0), "0..=14 again");
    assert_eq!(taken_over(&s)[0], 0);

    let (g, s) = crash_with(r#""before_processing""#, 1155);
    assert_eq!((g.reprocessed, g.skipped), (0, 15), "15..=29 lost");
    assert_eq!(taken_over(&s)[0], 30);

    // Auto-commit every 150 ms (from 0 s), but only inside poll(), as Kafka
    // does: at 1.05 s member 0 is busy with its batch, so the commit waits
    // for its next poll (1.301 s); the crash comes first and nothing of the
    // batch was committed: 0..=14 come again, nothing is lost.
    let (g, s) = crash_with(r#"{ "auto": { "interval": "150ms" } }"#, 1155);
    assert_eq!((g.reprocessed, g.skipped), (15, 0));
    assert_eq!(taken_over(&s)[0], 0);
    // Crash at 1.345 s: batch one done at 1.301 s, whose poll commits 30 (due
    // since 1.05 s); batch two (30..=59) polled then, 30..=33 processed:
    // those four come again.
    let (g, s) = crash_with(r#"{ "auto": { "interval": "150ms" } }"#, 1345);
    assert_eq!((g.reprocessed, g.skipped), (4, 0));
    assert_eq!(taken_over(&s)[..5], [30, 31, 32, 33, 34]);
    // Every record was processed in the end, and the group's final lag is 0.
    assert_eq!(g.lag, 0);
    assert_eq!(g.processed, 100 + 4);
}

#[test]
fn a_crash_before_the_first_commit_with_latest_skips_to_the_end() {
    // The first owner started at `latest`... but the records came later, so it
    // read them from offset 0. Nothing committed per batch when it crashes at
    // 1.155 s; the new owner resets to `latest` = 100: 15..=99 are lost.
    let (g, s) = crash_with_reset(
        r#"{ "after_processing": { "per": "batch" } }"#,
        1155,
        "latest",
    );
    assert_eq!((g.processed, g.reprocessed, g.skipped), (15, 0, 85));
    assert!(taken_over(&s).is_empty());
}

#[test]
fn seek_to_the_beginning_replays_and_lag_is_end_minus_committed() {
    let mut s = story(
        r#"{ "title": "seek",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 50,
                             "keys": { "fixed": "k" } }],
             "topics": [{ "id": "t", "partitions": 1 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "commit": { "after_processing": { "per": "record" } },
                                   "auto_offset_reset": "earliest", "service": { "constant": "1ms" } }] }"#,
        1_000_000,
    );
    let g = group(&s.engine, "g");
    assert_eq!((g.processed, g.lag, g.committed), (50, 0, 50));
    s.engine
        .submit(Command::SeekGroup {
            group: "g".into(),
            to: SeekTo::Beginning,
            partition: None,
            topic: None,
        })
        .unwrap();
    assert_eq!(
        group(&s.engine, "g").lag,
        50,
        "lag = 50 − 0 right after the seek"
    );
    s.run_to(2_000_000);
    let g = group(&s.engine, "g");
    assert_eq!((g.processed, g.reprocessed, g.lag), (100, 50, 0));
}

#[test]
fn retention_moves_the_log_start_and_compaction_keeps_the_latest_per_key() {
    let s = story(
        r#"{ "title": "retention",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 30,
                             "keys": { "fixed": "k" } },
                           { "id": "q", "to": "c", "rate": "100/s", "arrival": "constant", "count": 30,
                             "keys": { "round_robin": ["a", "b", "c"] } }],
             "topics": [{ "id": "t", "partitions": 1, "retention": { "records": 10 } },
                        { "id": "c", "partitions": 1, "cleanup": "compact", "compaction_interval": "1s" }] }"#,
        1_500_000,
    );
    let t = topic(&s.engine, "t");
    assert_eq!(
        (
            t.partitions[0].log_start,
            t.partitions[0].log_end,
            t.partitions[0].records
        ),
        (20, 30, 10)
    );
    assert_eq!(t.partitions[0].retention_deleted, 20);
    let c = topic(&s.engine, "c");
    assert_eq!((c.partitions[0].log_end, c.partitions[0].records), (30, 3));
    assert_eq!(c.partitions[0].compacted, 27);
    assert!(s
        .trace
        .iter()
        .any(|e| matches!(e.kind, TraceKind::Compacted { removed: 27, .. })));
}

#[test]
fn time_retention_deletes_old_records() {
    let s = story(
        r#"{ "title": "retention-time",
             "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 20,
                             "keys": { "fixed": "k" } }],
             "topics": [{ "id": "t", "partitions": 1,
                          "retention": { "time": "1s", "check_interval": "100ms" } }] }"#,
        2_500_000,
    );
    // Records at 0.1 … 2.0 s; at 2.5 s those appended before 1.5 s are gone (0.1 … 1.4).
    let t = topic(&s.engine, "t");
    assert_eq!(
        (t.partitions[0].log_start, t.partitions[0].log_end),
        (14, 20)
    );
}

#[test]
fn increasing_partitions_moves_keys_and_rebalances() {
    let mut s = story(
        r#"{ "title": "grow",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "keys": { "fixed": "foobar" } }],
             "topics": [{ "id": "t", "partitions": 3 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "service": { "constant": "1ms" } }] }"#,
        1_000_000,
    );
    // foobar: 1357151166 % 3 = 0, % 12 = 6.
    assert_eq!(topic(&s.engine, "t").partitions[0].log_end, 100);
    s.engine
        .submit(Command::IncreasePartitions {
            topic: "t".into(),
            partitions: 12,
        })
        .unwrap();
    s.run_to(2_000_000);
    let t = topic(&s.engine, "t");
    assert_eq!(t.partitions.len(), 12);
    assert_eq!(t.partitions[6].log_end, 100);
    assert_eq!(
        t.partitions[0].log_end, 100,
        "nothing more on the old partition"
    );
    let g = group(&s.engine, "g");
    assert_eq!(g.partitions.len(), 12);
    assert!(g.partitions.iter().all(|p| p.owner.is_some()));
    assert!(s
        .engine
        .submit(Command::IncreasePartitions {
            topic: "t".into(),
            partitions: 4,
        })
        .is_err());
}

#[test]
fn removing_a_member_rebalances_without_loss() {
    let s = story(
        r#"{ "title": "leave",
             "producers": [{ "id": "p", "to": "t", "rate": "200/s", "arrival": "constant", "partitioner": "round_robin", "count": 400 }],
             "topics": [{ "id": "t", "partitions": 4 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 3, "auto_offset_reset": "earliest",
                                   "commit": { "after_processing": { "per": "batch" } },
                                   "service": { "constant": "2ms" } }],
             "schedule": [{ "at": "1s", "command": { "do": "remove_member", "group": "g" } }] }"#,
        4_000_000,
    );
    let g = group(&s.engine, "g");
    assert_eq!(
        (g.processed, g.reprocessed, g.skipped, g.lag),
        (400, 0, 0, 0)
    );
    assert!(!g.members[2].in_group);
}

#[test]
fn stream_scenario_errors_name_their_paths() {
    let err = scenario::load(
        r#"{ "title": "bad", "topics": [{ "id": "t", "partitions": 0 }],
             "consumer_groups": [{ "id": "g", "topics": ["nope"], "service": { "constant": "1ms" } }] }"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("topics[0].partitions: must be between 1 and 1024"),
        "{err}"
    );
    assert!(
        err.contains("consumer_groups[0].topics[0]: no topic named \"nope\""),
        "{err}"
    );
    let err = scenario::load(
        r#"{ "title": "bad", "topics": [{ "id": "t", "partitions": 2000 }],
             "producers": [{ "id": "p", "to": "t", "rate": "1/s", "partition": 5 }] }"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("topics[0].partitions"), "{err}");
    let err = scenario::load(
        r#"{ "title": "bad", "topics": [{ "id": "t", "partitions": 2 }],
             "producers": [{ "id": "p", "to": "t", "rate": "1/s", "partition": 5 }] }"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("producers[0].partition: topic \"t\" has 2 partitions"),
        "{err}"
    );
    let err = scenario::load(
        r#"{ "title": "bad", "topics": [{ "id": "t", "partitions": 2 }],
             "schedule": [{ "at": "1s", "command": { "do": "add_member", "group": "t" } }] }"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("schedule[0].command.group"), "{err}");
}

#[test]
fn stream_runs_are_deterministic() {
    let json = r#"{ "title": "det",
        "producers": [{ "id": "p", "to": "t", "rate": "300/s", "keys": { "random_of_n": 30 }, "linger": "5ms" }],
        "topics": [{ "id": "t", "partitions": 5, "retention": { "records": 50 } }],
        "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 3, "assignment": "cooperative_sticky",
                              "service": { "exponential": "4ms" }, "failure_rate": 0.1 }],
        "schedule": [{ "at": "1s", "command": { "do": "crash_member", "group": "g", "member": 1 } },
                     { "at": "2s", "command": { "do": "add_member", "group": "g" } }] }"#;
    let run = || {
        let mut e = Engine::new(scenario::load(json).unwrap(), 9).unwrap();
        e.run_until(SimTime(5_000_000), u64::MAX);
        (e.trace_hash(), e.trace_len())
    };
    assert_eq!(run(), run());
}

/// Theory: P partitions fed by uniformly random keys, one member per partition,
/// exponential service: P independent M/M/1 queues. Each partition's arrival
/// rate is its share of the keys (murmur2 does not split 1000 keys exactly
/// evenly), so the expected mean time in system is the arrival-weighted mean of
/// 1/(μ − λ_p), with λ_p measured from the appended counts. At ρ ≈ 0.5 the
/// sample mean over ~120 000 records has a relative standard error near 0.5%,
/// so 3% is a wide margin.
#[test]
fn partitions_with_one_member_each_behave_as_independent_mm1_queues() {
    let json = r#"{ "title": "P x M/M/1",
        "producers": [{ "id": "p", "to": "t", "rate": "200/s", "keys": { "random_of_n": 1000 } }],
        "topics": [{ "id": "t", "partitions": 4 }],
        "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 4, "rebalance_pause": "0ms",
                              "auto_offset_reset": "earliest",
                              "commit": { "after_processing": { "per": "batch" } },
                              "service": { "exponential": "10ms" } }] }"#;
    let secs = 300u64;
    let handles: Vec<_> = [1u64, 2]
        .into_iter()
        .map(|seed| {
            std::thread::spawn(move || {
                let mut e = Engine::new(scenario::load(json).unwrap(), seed).unwrap();
                assert!(e.run_until(SimTime(secs * 1_000_000), u64::MAX).reached);
                let g = group(&e, "g");
                assert!(g.members.iter().all(|m| m.partitions.len() == 1));
                let t = topic(&e, "t");
                let mu = 100.0; // 1 / 10 ms
                let n: Vec<f64> = t.partitions.iter().map(|p| p.log_end as f64).collect();
                let total: f64 = n.iter().sum();
                let expected_s: f64 = n
                    .iter()
                    .map(|&np| (np / total) / (mu - np / secs as f64))
                    .sum();
                (
                    g.latency_us.mean * g.latency_us.count as f64,
                    g.latency_us.count as f64,
                    expected_s * g.latency_us.count as f64,
                )
            })
        })
        .collect();
    let (mut sum_us, mut count, mut expected_sum_s) = (0.0, 0.0, 0.0);
    for h in handles {
        let (s, c, x) = h.join().unwrap();
        sum_us += s;
        count += c;
        expected_sum_s += x;
    }
    let measured = sum_us / count / 1e6;
    let expected = expected_sum_s / count;
    assert!(count > 100_000.0, "{count}");
    let err = (measured - expected).abs() / expected;
    assert!(
        err < 0.03,
        "mean time in system {measured:.5}s vs M/M/1 {expected:.5}s ({:.1}% off)",
        err * 100.0
    );
}

fn run_preset(name: &str, until_us: u64) -> Engine {
    let s = scenario::preset(name).unwrap().scenario();
    let seed = s.seed;
    let mut e = Engine::new(s, seed).unwrap();
    crate::common::run_checked(&mut e, until_us);
    e
}

#[test]
fn preset_commit_policies_shows_duplicates_and_loss() {
    let e = run_preset("kafka-commit-policies", 12_000_000);
    let rs = |id: &str| {
        let g = group(&e, id);
        (g.reprocessed, g.skipped)
    };
    // The crash at 6.2 s hits the batch appended at 6.0125 s: 17 processed, 23 not.
    assert_eq!(rs("per-record"), (0, 0));
    assert_eq!(rs("per-batch"), (17, 0));
    assert_eq!(rs("before"), (0, 23));
    // Auto-commit every second from the first join's completion (100 ms):
    // the last commit before the crash is at 5.1 s, of what was polled by
    // then (the batch of 5.0 s); the batch of 5.5 s and 17 of the next are
    // processed again.
    assert_eq!(rs("auto"), (57, 0), "last auto-commit at 5.1 s");
}

#[test]
fn preset_group_scaling_ends_with_an_idle_fourth_member() {
    let e = run_preset("kafka-group-scaling", 12_000_000);
    let g = group(&e, "sessionizer");
    let owned: Vec<usize> = g.members.iter().map(|m| m.partitions.len()).collect();
    assert_eq!(owned, vec![1, 1, 1, 0]);
    assert_eq!(g.rebalances, 4);
}

#[test]
fn preset_crash_rebalance_cooperative_keeps_flowing() {
    let e = run_preset("kafka-crash-rebalance", 12_000_000);
    let (eager, coop) = (group(&e, "eager"), group(&e, "cooperative"));
    assert!(
        coop.processed > eager.processed,
        "{} vs {}",
        coop.processed,
        eager.processed
    );
    assert!(eager.members[1..].iter().all(|m| m.partitions.len() == 3));
}

#[test]
fn the_json_report_lists_topics_and_groups() {
    let e = run_preset("kafka-replay", 10_000_000);
    let r = serde_json::to_value(e.report("kafka-replay")).unwrap();
    let t = &r["nodes"]["purchases"];
    assert_eq!(t["kind"], "topic");
    let parts = t["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 4);
    let appended: u64 = parts.iter().map(|p| p["appended"].as_u64().unwrap()).sum();
    assert_eq!(appended, t["appended"].as_u64().unwrap());
    assert!(parts
        .iter()
        .all(|p| p["log_start"] == 0 && p["log_end"] == p["appended"]));
    let g = &r["nodes"]["analytics"];
    assert_eq!(g["kind"], "group");
    for field in [
        "processed",
        "committed",
        "reprocessed",
        "skipped",
        "lag",
        "lag_max",
        "rebalances",
    ] {
        assert!(g[field].is_u64(), "{field} missing: {g}");
    }
    assert!(
        g["reprocessed"].as_u64().unwrap() > 0,
        "the replay reprocesses"
    );
    assert_eq!(r["nodes"]["billing"]["reprocessed"], 0);
    assert_eq!(r["totals"]["published"], t["appended"]);
}

#[test]
fn seek_to_a_timestamp_finds_the_first_record_published_then() {
    let mut s = story(
        r#"{ "title": "seek-time",
             "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 20,
                             "keys": { "fixed": "k" } }],
             "topics": [{ "id": "t", "partitions": 1 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "auto_offset_reset": "earliest",
                                   "commit": { "after_processing": { "per": "record" } },
                                   "service": { "constant": "1ms" } }] }"#,
        3_000_000,
    );
    // Records published at 0.1, 0.2, … 2.0 s: the first at or after 0.75 s is offset 7.
    s.engine
        .submit(Command::SeekGroup {
            group: "g".into(),
            to: SeekTo::Timestamp(scenario::Duration::from_ms(750)),
            partition: None,
            topic: None,
        })
        .unwrap();
    let seeked: Vec<u64> = s
        .engine
        .take_trace()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Seeked { offset, .. } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(seeked, vec![7]);
    s.run_to(4_000_000);
    let g = group(&s.engine, "g");
    assert_eq!((g.processed, g.reprocessed, g.lag), (20 + 13, 13, 0));
}

#[test]
fn scheduled_group_commands_are_checked_against_the_scenario() {
    let err = scenario::load(
        r#"{ "title": "bad", "topics": [{ "id": "t", "partitions": 4 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "service": { "constant": "1ms" } }],
             "schedule": [{ "at": "1s", "command": { "do": "crash_member", "group": "g", "member": 2 } },
                          { "at": "2s", "command": { "do": "increase_partitions", "topic": "t", "partitions": 3 } }] }"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("schedule[0].command.member: g never has more than 2 members"),
        "{err}"
    );
    assert!(
        err.contains("schedule[1].command.partitions: \"t\" starts with 4 partitions"),
        "{err}"
    );
    // With an add_member first, member 2 exists.
    assert!(scenario::load(
        r#"{ "title": "ok", "topics": [{ "id": "t", "partitions": 4 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "service": { "constant": "1ms" } }],
             "schedule": [{ "at": "1s", "command": { "do": "add_member", "group": "g" } },
                          { "at": "2s", "command": { "do": "crash_member", "group": "g", "member": 2 } }] }"#,
    )
    .is_ok());
}

#[test]
fn lag_in_time_is_the_age_of_the_oldest_uncommitted_record() {
    let s = story(
        r#"{ "title": "lag-time",
             "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 10,
                             "keys": { "fixed": "k" } }],
             "topics": [{ "id": "t", "partitions": 1 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 0, "service": { "constant": "1ms" } }] }"#,
        1_500_000,
    );
    // No member: nothing committed; the first record (0.1 s) is 1.4 s old.
    let g = group(&s.engine, "g");
    assert_eq!((g.lag, g.lag_time_us), (10, 1_400_000));
    assert_eq!(g.partitions[0].lag_time_us, 1_400_000);
}

#[test]
fn a_rebalance_waits_for_a_crashed_member_until_its_session_expires() {
    // Member 0 crashes at 1 s (session_timeout 10 s); a member joins at 2 s.
    // Kafka's join phase completes only when every known member has
    // rejoined or expired: nothing of member 0 moves before 11 s, and under
    // the eager protocol the whole group stops from the join until then.
    for (assignment, eager) in [("range", true), ("cooperative_sticky", false)] {
        let w = serde_json::json!({
            "title": "wait for the dead", "seed": 1, "duration": "15s",
            "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant",
                "keys": {"random_of_n": 50}}],
            "topics": [{"id": "t", "partitions": 4}],
            "consumer_groups": [{"id": "g", "topics": ["t"], "members": 2,
                "assignment": assignment, "service": {"constant": "1ms"},
                "session_timeout": "10s", "rebalance_pause": "100ms"}],
            "schedule": [
                {"at": "1s", "command": {"do": "crash_member", "group": "g", "member": 0}},
                {"at": "2s", "command": {"do": "add_member", "group": "g"}}
            ]
        })
        .to_string();
        let mut e = crate::common::engine(&w, 1);
        crate::common::run_checked(&mut e, 15_000_000);
        let trace = e.take_trace();
        // Partitions assigned after the start (t > 0.5 s): none before 11 s.
        let late: Vec<(u64, u32, u32)> = trace
            .iter()
            .filter(|ev| ev.t.0 > 500_000)
            .filter_map(|ev| match ev.kind {
                TraceKind::Assigned {
                    member, partition, ..
                } => Some((ev.t.0, member, partition)),
                _ => None,
            })
            .collect();
        assert!(
            !late.is_empty(),
            "{assignment}: the new member gets partitions"
        );
        assert!(
            late.iter().all(|&(t, _, _)| t >= 11_000_000),
            "{assignment}: assigned before the session expired: {late:?}"
        );
        // Member 1 (alive) processes between the join and the expiry only
        // under the cooperative protocol.
        let busy_between = trace.iter().any(|ev| {
            (2_500_000..10_900_000).contains(&ev.t.0)
                && matches!(ev.kind, TraceKind::Fetched { member: 1, .. })
        });
        assert_eq!(busy_between, !eager, "{assignment}");
        let rep = serde_json::to_value(e.report("t")).unwrap();
        // The initial one and the one the join started, which completed
        // once the crashed member was removed.
        assert_eq!(rep["nodes"]["g"]["rebalances"], 2, "{assignment}");
    }
}

#[test]
fn auto_commit_commits_every_partition_before_a_cooperative_rejoin() {
    // Kafka's `ConsumerCoordinator.onJoinPrepare` commits the consumed
    // positions of all assigned partitions before every rejoin, also under
    // the cooperative protocol where a member keeps most of them. Here the
    // auto-commit interval (60 s) never fires: only the rebalance commits.
    let s = story(
        r#"{ "title": "cooperative auto-commit", "duration": "3s",
             "producers": [{ "id": "p", "to": "t", "rate": "200/s", "arrival": "constant", "keys": { "random_of_n": 50 } }],
             "topics": [{ "id": "t", "partitions": 4 }],
             "consumer_groups": [{ "id": "s", "topics": ["t"], "members": 2, "assignment": "cooperative_sticky",
                                   "auto_offset_reset": "earliest", "commit": { "auto": { "interval": "60s" } },
                                   "service": { "constant": "1ms" } }],
             "schedule": [{ "at": "1s", "command": { "do": "add_member", "group": "s" } }] }"#,
        3_000_000,
    );
    let mut committed: Vec<u32> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Committed { partition, .. } => Some(partition),
            _ => None,
        })
        .collect();
    committed.sort_unstable();
    committed.dedup();
    assert_eq!(
        committed,
        vec![0, 1, 2, 3],
        "every partition committed at the rejoin"
    );
}

#[test]
fn a_member_that_crashes_after_it_rejoined_does_not_hold_up_the_rebalance() {
    // A third member joins at 2 s (an eager rebalance: everyone revokes and
    // rejoins at once, they are idle) and crashes at 2.1 s, in the pause.
    // Kafka's join phase already has its JoinGroup: the group syncs and
    // members 0 and 1 consume P0 and P1 from 2.2 s; only P2, the crashed
    // member's, waits until its session expires (5.1 s) and the next
    // rebalance gives it out. The whole group used to stop until 5.3 s.
    let s = story(
        r#"{ "title": "crash in the pause", "seed": 1, "duration": "8s",
             "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant",
                             "partitioner": "round_robin" }],
             "topics": [{ "id": "t", "partitions": 3 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "assignment": "range",
                                   "auto_offset_reset": "earliest", "session_timeout": "3s",
                                   "rebalance_pause": "200ms", "service": { "constant": "1ms" } }],
             "schedule": [{ "at": "2s", "command": { "do": "add_member", "group": "g" } },
                          { "at": "2100ms", "command": { "do": "crash_member", "group": "g", "member": 2 } }] }"#,
        6_000_000,
    );
    let completed: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::RebalanceCompleted { .. }))
        .map(|e| e.t.0)
        .collect();
    assert_eq!(completed, [200_000, 2_200_000, 5_300_000]);
    let g = s.node("g");
    let processed_between = s
        .trace
        .iter()
        .filter(|e| e.node == g && (2_200_000..5_100_000).contains(&e.t.0))
        .filter(|e| matches!(e.kind, TraceKind::Processed { .. }))
        .count();
    // Two of three partitions flow (about 193 records in 2.9 s).
    assert!(processed_between > 150, "{processed_between}");
}

/// Members joining while a rebalance is still in progress take part in it:
/// Kafka's coordinator prepares a rebalance only when the group can
/// rebalance (`GroupCoordinator.maybePrepareRebalance`), so joins during its
/// join phase give one new generation, not one each. Two members of six
/// partitions (records take 200 ms, five a poll, so the owners finish their
/// batches late); members join at 2 s and 2.05 s: one rebalance (generation
/// 2) that assigns range-style over all four, 2-2-1-1. Two joins at the same
/// instant: one rebalance too.
#[test]
fn joins_during_a_rebalance_fold_into_its_generation() {
    let world = |second_at: &str| {
        serde_json::json!({"title": "joins", "seed": 1, "duration": "4s",
            "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant"}],
            "topics": [{"id": "t", "partitions": 6}],
            "consumer_groups": [{"id": "g", "topics": ["t"], "members": 2, "assignment": "range",
                "auto_offset_reset": "earliest", "max_poll_records": 5,
                "service": {"constant": "200ms"}}],
            "schedule": [{"at": "2s", "command": {"do": "add_member", "group": "g"}},
                         {"at": second_at, "command": {"do": "add_member", "group": "g"}}]})
        .to_string()
    };
    for second_at in ["2050ms", "2s"] {
        let s = story(&world(second_at), 4_000_000);
        let g = group(&s.engine, "g");
        assert_eq!(
            (g.generation, g.rebalances),
            (2, 2),
            "second join at {second_at}"
        );
        let started = s
            .matching(|k| matches!(k, TraceKind::RebalanceStarted { .. }))
            .len();
        let completed = s
            .matching(|k| matches!(k, TraceKind::RebalanceCompleted { .. }))
            .len();
        // The build's rebalance (time 0, captured too) and this one.
        assert_eq!(
            (started, completed),
            (2, 2),
            "the first join's rebalance and this one"
        );
        let owners: Vec<usize> = (0..4)
            .map(|m| {
                s.engine
                    .snapshot()
                    .nodes
                    .iter()
                    .find_map(|n| match n {
                        NodeView::Group(g) if g.id == "g" => Some(g.members[m].partitions.len()),
                        _ => None,
                    })
                    .unwrap()
            })
            .collect();
        assert_eq!(owners, [2, 2, 1, 1], "range over four members");
    }
}

/// `groups` groups, each reading `topics` topics of 1024 partitions.
fn wide(topics: u32, groups: u32) -> String {
    let ts: Vec<serde_json::Value> = (0..topics)
        .map(|i| serde_json::json!({"id": format!("t{i}"), "partitions": 1024}))
        .collect();
    let names: Vec<String> = (0..topics).map(|i| format!("t{i}")).collect();
    let gs: Vec<serde_json::Value> = (0..groups)
        .map(|j| {
            serde_json::json!({"id": format!("g{j}"), "topics": names, "members": 2,
                "service": {"constant": "1ms"}})
        })
        .collect();
    serde_json::json!({"title": "wide", "duration": "1s",
        "producers": [{"id": "p", "to": "t0", "rate": "1/s"}],
        "topics": ts, "consumer_groups": gs})
    .to_string()
}

#[test]
fn partitions_over_all_topics_and_groups_are_bounded_before_the_first_event() {
    // Built before the first event, so --max-events cannot bound them.
    assert!(
        scenario::load(&wide(16, 4)).is_ok(),
        "16,384 and 65,536 are allowed"
    );
    let e = scenario::load(&wide(17, 1)).unwrap_err().to_string();
    assert!(
        e.contains("topics: 17408 partitions over all topics; at most 16384"),
        "{e}"
    );
    let e = scenario::load(&wide(16, 5)).unwrap_err().to_string();
    assert!(
        e.contains("consumer_groups: the groups read 81920 partitions in all"),
        "{e}"
    );
    // Growing a topic at run time is held to the same bounds: 16,360
    // partitions plus a topic of 1 grow past 16,384 …
    let mut json: serde_json::Value = serde_json::from_str(&wide(16, 1)).unwrap();
    json["topics"][15]["partitions"] = 1000.into();
    json["topics"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "extra", "partitions": 1}));
    let mut s = story(&json.to_string(), 1_000);
    let grow = |s: &mut Story, topic: &str| {
        s.engine.submit(Command::IncreasePartitions {
            topic: topic.into(),
            partitions: 1024,
        })
    };
    let err = grow(&mut s, "t15").unwrap_err().to_string();
    assert!(
        err.contains("16385 partitions over all topics; at most 16384"),
        "{err}"
    );
    // … and 65 groups reading a topic of 1000 (65,000) past 65,536.
    let mut json: serde_json::Value = serde_json::from_str(&wide(1, 65)).unwrap();
    json["topics"][0]["partitions"] = 1000.into();
    let mut s = story(&json.to_string(), 1_000);
    let err = grow(&mut s, "t0").unwrap_err().to_string();
    assert!(
        err.contains("the groups would read 66560 partitions in all; at most 65536"),
        "{err}"
    );
    json["consumer_groups"].as_array_mut().unwrap().truncate(64);
    let mut s = story(&json.to_string(), 1_000);
    assert!(grow(&mut s, "t0").is_ok());
}
