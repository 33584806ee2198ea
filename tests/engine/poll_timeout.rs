//! `max.poll.interval.ms` as Kafka's consumer enforces it (KIP-62): a member
//! still on the batch it polled `max_poll_interval` after the poll leaves the
//! group at once (no session timeout), its partitions move, it finishes the
//! records it holds, its commits fail, and its next poll rejoins; the new
//! owner starts at the last committed offset, so what the member processed
//! after it left is processed again. A retry in place counts as a poll.

use crate::common::{story, Story};
use queuelab::engine::TraceKind;
use queuelab::scenario;
use serde_json::{json, Value};

/// One partition and one member taking 1 s a record; 10 records a second
/// arrive, polls return up to `max_poll` records, the poll interval is 5.5 s,
/// and every record's offset is committed after it is processed.
fn slow_member(max_poll: u32, extra: Value) -> String {
    let mut group = json!({"id": "g", "topics": ["t"], "members": 1,
        "auto_offset_reset": "earliest", "max_poll_records": max_poll,
        "max_poll_interval": "5500ms",
        "commit": {"after_processing": {"per": "record"}},
        "service": {"constant": "1s"}});
    group
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"title": "poll timeout", "seed": 1, "duration": "30s",
        "producers": [{"id": "p", "to": "t", "rate": "10/s", "arrival": "constant"}],
        "topics": [{"id": "t", "partitions": 1}],
        "consumer_groups": [group]})
    .to_string()
}

/// (t_us, kind name) of the group's membership and commit events.
fn times(s: &Story, name: &str) -> Vec<u64> {
    s.trace
        .iter()
        .filter(|e| e.kind.name() == name)
        .map(|e| e.t.0)
        .collect()
}

fn group_view(s: &Story) -> Value {
    serde_json::to_value(crate::streams::group(&s.engine, "g")).unwrap()
}

#[test]
fn a_member_past_max_poll_interval_leaves_at_once_and_its_commits_fail() {
    let s = story(&slow_member(10, json!({})), 10_300_000);
    // Joined at 100 ms (the rebalance pause); the poll at 1.1 s returns 9
    // records (offsets 1..=9) that take 9 s.
    let fetches: Vec<(u64, u64, u32)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Fetched { from, count, .. } => Some((e.t.0, from, count)),
            _ => None,
        })
        .collect();
    assert_eq!(fetches[1], (1_100_000, 1, 9));
    // Exactly max_poll_interval after that poll it leaves: a rebalance at
    // once, its partition revoked (no session timeout to wait for).
    assert_eq!(times(&s, "poll_timeout"), [6_600_000]);
    assert!(times(&s, "rebalance_started").contains(&6_600_000));
    assert!(times(&s, "revoked").contains(&6_600_000));
    // Offsets 1..=5 were processed (2.1 s .. 6.1 s) and committed; offsets
    // 6..=9 it still processes after leaving (7.1 s .. 10.1 s), and none of
    // those commits is accepted: it learns at the end of its batch.
    let committed = times(&s, "committed");
    assert_eq!(committed.last(), Some(&6_100_000), "{committed:?}");
    let after: Vec<u64> = times(&s, "processed")
        .into_iter()
        .filter(|&t| t > 6_600_000)
        .collect();
    assert_eq!(after, [7_100_000, 8_100_000, 9_100_000, 10_100_000]);
    assert_eq!(times(&s, "commit_failed"), [10_100_000]);
    // Its next poll rejoins: a new rebalance, and it starts again at the
    // committed offset 6, so offsets 6..=9 are processed a second time.
    assert!(times(&s, "rebalance_started").contains(&10_100_000));
    let refetch = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Fetched { from, .. } if e.t.0 > 10_100_000 => Some((e.t.0, from)),
            _ => None,
        })
        .next();
    assert_eq!(refetch, Some((10_200_000, 6)));
    let g = group_view(&s);
    assert_eq!(g["poll_timeouts"], 1);
    assert_eq!(g["rebalances"], 3, "join, leave at the timeout, rejoin");
}

#[test]
fn the_storm_repeats_and_every_cycle_reprocesses_what_was_done_after_leaving() {
    let mut s = story(&slow_member(10, json!({})), 10_300_000);
    s.run_to(30_000_000);
    let g = group_view(&s);
    // Each cycle: a poll of 10, 5 processed and committed before the
    // timeout, the other 5 done again by the next cycle.
    assert_eq!(g["poll_timeouts"], 3, "{g}");
    assert!(
        g["reprocessed"].as_u64().unwrap() >= 8,
        "two full cycles reprocessed: {g}"
    );
}

#[test]
fn a_batch_that_fits_in_the_interval_never_times_out() {
    // Polls of 5 records take 5 s < 5.5 s.
    let s = story(&slow_member(5, json!({})), 30_000_000);
    assert!(times(&s, "poll_timeout").is_empty());
    let g = group_view(&s);
    assert_eq!(g["reprocessed"], 0);
    assert_eq!(g["rebalances"], 1);
}

#[test]
fn a_retry_in_place_is_a_poll_and_restarts_the_timer() {
    // Every attempt fails; each record is tried 4 times with 2 s between
    // (4 × 1 s + 3 × 2 s = 10 s per record, past 5.5 s), then skipped. The
    // consumer seeks back and polls the record again for each retry (Spring
    // Kafka's DefaultErrorHandler), so the timer never runs out.
    let s = story(
        &slow_member(
            1,
            json!({"failure_rate": 1.0,
                "on_failure": {"blocking": {"backoff": "2s", "attempts": 4}}}),
        ),
        30_000_000,
    );
    assert!(!times(&s, "failed").is_empty());
    assert!(times(&s, "poll_timeout").is_empty());
}

#[test]
fn the_other_member_takes_the_partitions_after_the_rebalance_pause() {
    // Two partitions, two members; member 1 is slow (1 s a record) with
    // polls of up to 10, member 0 fast. Member 1 times out; member 0 owns
    // both partitions one rebalance pause later.
    let json = json!({"title": "poll timeout, two members", "seed": 1, "duration": "30s",
        "producers": [{"id": "p", "to": "t", "rate": "20/s", "arrival": "constant",
            "partitioner": "round_robin"}],
        "topics": [{"id": "t", "partitions": 2}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 2,
            "auto_offset_reset": "earliest", "max_poll_records": 10,
            "max_poll_interval": "5s", "rebalance_pause": "200ms",
            "commit": {"after_processing": {"per": "batch"}},
            "service": {"constant": "5ms"},
            "member_service": [{"member": 1, "service": {"constant": "1s"}}]}]})
    .to_string();
    let s = story(&json, 20_000_000);
    let timeout = s
        .trace
        .iter()
        .find(|e| matches!(e.kind, TraceKind::PollTimeout { member: 1 }))
        .expect("member 1 times out")
        .t
        .0;
    let took_over = s
        .trace
        .iter()
        .filter(|e| e.t.0 >= timeout)
        .filter(|e| matches!(e.kind, TraceKind::Assigned { member: 0, .. }))
        .map(|e| e.t.0)
        .next();
    assert_eq!(took_over, Some(timeout + 200_000));
    let g = group_view(&s);
    assert!(g["reprocessed"].as_u64().unwrap() > 0, "{g}");
}

#[test]
fn a_transactional_member_aborts_drops_its_batch_and_rejoins_at_once() {
    let json = json!({"title": "poll timeout, transactions", "seed": 1, "duration": "30s",
        "producers": [{"id": "p", "to": "in", "rate": "10/s", "arrival": "constant",
            "keys": {"round_robin": ["a", "b"]}}],
        "topics": [{"id": "in", "partitions": 1}, {"id": "out", "partitions": 1}],
        "consumer_groups": [
            {"id": "g", "topics": ["in"], "members": 1, "auto_offset_reset": "earliest",
             "max_poll_records": 10, "max_poll_interval": "5500ms",
             "commit": {"after_processing": {"per": "batch"}},
             "output": {"topic": "out", "transactional": true},
             "service": {"constant": "1s"}},
            {"id": "reader", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "1ms"}}]})
    .to_string();
    let s = story(&json, 12_000_000);
    let t = times(&s, "poll_timeout")[0];
    assert_eq!(t, 6_600_000);
    assert_eq!(times(&s, "commit_failed"), [t], "it gives up at once");
    assert!(
        times(&s, "txn_aborted").contains(&t),
        "its transaction aborted"
    );
    let g = s.node("g");
    let processed_after: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| e.node == g && e.t.0 > t && e.t.0 < t + 100_000)
        .filter(|e| matches!(e.kind, TraceKind::Processed { .. }))
        .map(|e| e.t.0)
        .collect();
    assert!(processed_after.is_empty(), "its batch was dropped");
    // It rejoined in the same rebalance and starts at the committed offset.
    assert!(times(&s, "assigned").contains(&(t + 100_000)));
}

#[test]
fn max_poll_interval_defaults_to_kafkas_five_minutes_and_must_be_positive() {
    let s = scenario::load(&slow_member(1, json!({}))).unwrap();
    let mut v: Value = serde_json::from_str(&slow_member(1, json!({}))).unwrap();
    v["consumer_groups"][0]
        .as_object_mut()
        .unwrap()
        .remove("max_poll_interval");
    let d = scenario::load(&v.to_string()).unwrap();
    assert_eq!(d.consumer_groups[0].max_poll_interval.us(), 300_000_000);
    assert_eq!(s.consumer_groups[0].max_poll_interval.us(), 5_500_000);
    v["consumer_groups"][0]["max_poll_interval"] = json!("0s");
    let err = scenario::load(&v.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("consumer_groups[0].max_poll_interval: must be at least 1ms"),
        "{err}"
    );
}

#[test]
fn a_leaving_member_past_the_interval_times_out_too_and_its_closing_commit_fails() {
    // Member 0 polls 23 records at 0.1 s (100 ms each: 2.3 s of work) and
    // is asked to leave at 1 s. Kafka's heartbeat thread still leaves the
    // group at the poll deadline (2.1 s), whatever the application means
    // to do after its batch, so the commit it makes when it closes at 2.4 s
    // fails and the new owner (member 1, fast) processes those records again.
    let json = json!({"title": "leaving", "seed": 1, "duration": "20s",
        "producers": [{"id": "p", "to": "t", "rate": "400/s", "count": 100,
            "partitioner": "round_robin"}],
        "topics": [{"id": "t", "partitions": 2}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 2,
            "auto_offset_reset": "earliest", "max_poll_records": 100,
            "max_poll_interval": "2s", "session_timeout": "10s",
            "commit": {"after_processing": {"per": "batch"}},
            "service": {"constant": "100ms"},
            "member_service": [{"member": 1, "service": {"constant": "1ms"}}]}],
        "schedule": [{"at": "1s", "command": {"do": "remove_member", "group": "g", "member": 0}}]})
    .to_string();
    let s = story(&json, 20_000_000);
    let timeouts: Vec<(u64, u32)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PollTimeout { member } => Some((e.t.0, member)),
            _ => None,
        })
        .collect();
    assert_eq!(timeouts, [(2_100_000, 0)]);
    let failed: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::CommitFailed { member: 0 }))
        .map(|e| e.t.0)
        .collect();
    assert_eq!(failed, [2_400_000], "once, and no rejoin after it");
    let g = crate::streams::group(&s.engine, "g");
    assert!(g.reprocessed > 0, "{g:?}");
    assert!(
        !g.members[0].up && !g.members[0].in_group,
        "member 0 is gone"
    );
}
