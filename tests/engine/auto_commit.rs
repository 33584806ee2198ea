//! Auto-commit timers as Kafka's consumer keeps them: one deadline per
//! member (`ConsumerCoordinator`'s `nextAutoCommitTimer`), reset by a
//! commit and by every completed join (the first one included), checked
//! inside `poll()`. Switching the policy off and on again
//! within an interval leaves one chain, not two; a pause does not restart
//! the interval, and a commit that fell due during it (or before it, while
//! the member was busy) is made at the first poll after it.

use crate::common::{story, Story};
use queuelab::engine::TraceKind;
use serde_json::json;

/// Times (µs) of the group's `committed` events.
fn commits(s: &Story) -> Vec<u64> {
    s.trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Committed { .. }))
        .map(|e| e.t.0)
        .collect()
}

/// One partition, one member, auto commit every second; 100 records a
/// second, each 1 ms of work, so the member is idle at every whole second.
fn auto_group(schedule: serde_json::Value) -> String {
    json!({"title": "auto commit", "seed": 1, "duration": "10s",
        "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant"}],
        "topics": [{"id": "t", "partitions": 1}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1,
            "auto_offset_reset": "earliest", "max_poll_records": 1,
            "commit": {"auto": {"interval": "1s"}},
            "service": {"constant": "1ms"}}],
        "schedule": schedule})
    .to_string()
}

#[test]
fn switching_auto_commit_off_and_on_within_an_interval_leaves_one_chain() {
    let s = story(
        &auto_group(json!([
            {"at": "1500ms", "command": {"do": "set_commit_policy", "group": "g",
                "commit": {"after_processing": {"per": "batch"}}}},
            {"at": "1700ms", "command": {"do": "set_commit_policy", "group": "g",
                "commit": {"auto": {"interval": "1s"}}}},
            {"at": "3300ms", "command": {"do": "set_commit_policy", "group": "g",
                "commit": {"after_processing": {"per": "batch"}}}},
            {"at": "3301ms", "command": {"do": "set_commit_policy", "group": "g",
                "commit": {"auto": {"interval": "1s"}}}}
        ])),
        6_000_000,
    );
    let auto_commits: Vec<u64> = commits(&s)
        .into_iter()
        .filter(|&t| !(1_500_000..1_700_000).contains(&t))
        .collect();
    // Before the switch: 1.1 s (one interval after the first join completed
    // at 100 ms). The old chain's tick at 2.1 s is stale; the new
    // chain commits every second from 1.7 s, then from 3.301 s.
    assert_eq!(
        auto_commits,
        [1_100_000, 2_700_000, 4_301_000, 5_301_000],
        "one chain, restarted at each switch on"
    );
}

#[test]
fn a_pause_keeps_the_deadline_and_commits_at_the_first_poll_after_it() {
    // Paused from 1.2 s for 2 s (session timeout 10 s: it stays in the
    // group). The deadline of 2 s runs out during the pause: Kafka commits in
    // the first poll after it (3.2 s), and the interval restarts from there.
    let s = story(
        &auto_group(json!([
            {"at": "1200ms", "command": {"do": "pause_member", "group": "g", "member": 0,
                "duration": "2s"}}
        ])),
        6_000_000,
    );
    let c = commits(&s);
    assert_eq!(
        c[0], 1_100_000,
        "one interval after the first join completed (100 ms)"
    );
    assert_eq!(c[1], 3_200_000, "the commit due during the pause: {c:?}");
    assert_eq!(&c[2..], [4_200_000, 5_200_000]);

    // A short pause that ends before the deadline: the tick stays at 2.1 s.
    let s = story(
        &auto_group(json!([
            {"at": "1200ms", "command": {"do": "pause_member", "group": "g", "member": 0,
                "duration": "300ms"}}
        ])),
        3_500_000,
    );
    assert_eq!(commits(&s), [1_100_000, 2_100_000, 3_100_000]);
}

#[test]
fn a_commit_left_due_by_a_busy_member_survives_a_pause() {
    // Each record takes 700 ms, one a poll: the tick at 1 s finds the member
    // busy, so the commit waits for its poll at 1.4 s. A pause from 1.3 s for
    // 500 ms holds that poll back: the record in service starts again at
    // 1.8 s, and the poll after it (2.5 s) makes the due commit.
    let json = json!({"title": "busy then paused", "seed": 1, "duration": "5s",
        "producers": [{"id": "p", "to": "t", "rate": "10/s", "arrival": "constant"}],
        "topics": [{"id": "t", "partitions": 1}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1,
            "auto_offset_reset": "earliest", "max_poll_records": 1,
            "commit": {"auto": {"interval": "1s"}},
            "service": {"constant": "700ms"}}],
        "schedule": [{"at": "1300ms", "command": {"do": "pause_member", "group": "g",
            "member": 0, "duration": "500ms"}}]})
    .to_string();
    let s = story(&json, 3_000_000);
    let c = commits(&s);
    assert_eq!(c.first(), Some(&2_500_000), "{c:?}");
}

/// A rebalance restarts every member's auto-commit timer when it completes,
/// as Kafka's `ConsumerCoordinator.onJoinComplete` does ("Reschedule the
/// auto commit starting from now"), the group's first join at 100 ms
/// included: a member joining at 2.5 s makes the
/// group commit at the join (`onJoinPrepare`), complete the rebalance 100 ms
/// later, and auto-commit one interval after that, at 3.6 s and 4.6 s, not
/// on the old whole-second schedule.
#[test]
fn a_completed_rebalance_restarts_the_auto_commit_timer() {
    let s = story(
        &auto_group(json!([{"at": "2500ms", "command": {"do": "add_member", "group": "g"}}])),
        5_000_000,
    );
    let done: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::RebalanceCompleted { .. }))
        .map(|e| e.t.0)
        .collect();
    assert_eq!(
        done,
        [100_000, 2_600_000],
        "the first join, then the new member's, 100 ms each"
    );
    assert_eq!(
        commits(&s),
        [1_100_000, 2_100_000, 2_500_000, 3_600_000, 4_600_000]
    );
}
