//! The cooperative protocol's join phase (`rebalance.rs`): a rebalance first
//! waits until every member has rejoined at its poll boundary (a crashed
//! one until its session expires), every member reading all it owns
//! meanwhile; only then is the assignment computed and what moves revoked.
//! Kafka: `GroupMetadataManager.maybeCompleteJoinPhase` (the join completes
//! when all members have joined), `ConsumerCoordinator.onJoinComplete`
//! (cooperative revocation after the assignment). Found by review.

use crate::common::{story, Story};
use queuelab::engine::TraceKind;

/// (t_us, member, partition) of the events after `from_us` that `pick` maps
/// to (member, partition).
fn events_after(
    s: &Story,
    from_us: u64,
    pick: impl Fn(&TraceKind) -> Option<(u32, u32)>,
) -> Vec<(u64, u32, u32)> {
    s.trace
        .iter()
        .filter(|e| e.t.0 >= from_us)
        .filter_map(|e| pick(&e.kind).map(|(m, p)| (e.t.0, m, p)))
        .collect()
}

fn revoked_after(s: &Story, from_us: u64) -> Vec<(u64, u32, u32)> {
    events_after(s, from_us, |k| match *k {
        TraceKind::Revoked {
            member, partition, ..
        } => Some((member, partition)),
        _ => None,
    })
}

fn assigned_after(s: &Story, from_us: u64) -> Vec<(u64, u32, u32)> {
    events_after(s, from_us, |k| match *k {
        TraceKind::Assigned {
            member, partition, ..
        } => Some((member, partition)),
        _ => None,
    })
}

/// Times of the fetches of `partition` by `member`.
fn fetches(s: &Story, member: u32, partition: u32) -> Vec<u64> {
    events_after(s, 0, |k| match *k {
        TraceKind::Fetched {
            member, partition, ..
        } => Some((member, partition)),
        _ => None,
    })
    .into_iter()
    .filter(|&(_, m, p)| m == member && p == partition)
    .map(|(t, _, _)| t)
    .collect()
}

/// Two members on 4 partitions; member 0 (p0, p2) takes 400 ms a record,
/// up to 20 a poll; a third member joins at 2 s; `count` records (0: no
/// limit) and `schedule` (JSON entries) after the join.
fn slow_member_story(count: u32, schedule: &str, until_us: u64) -> Story {
    let count = if count > 0 {
        format!(r#", "count": {count}"#)
    } else {
        String::new()
    };
    story(
        &format!(
            r#"{{ "title": "slow member", "seed": 1,
             "producers": [ {{ "id": "p", "to": "t", "rate": "200/s", "arrival": "constant"{count},
                              "keys": {{ "random_of_n": 50 }} }} ],
             "topics": [ {{ "id": "t", "partitions": 4 }} ],
             "consumer_groups": [ {{ "id": "g", "topics": ["t"], "members": 2,
                 "assignment": "cooperative_sticky", "auto_offset_reset": "earliest",
                 "max_poll_records": 20, "max_poll_interval": "60s",
                 "commit": {{ "after_processing": {{ "per": "batch" }} }},
                 "service": {{ "constant": "1ms" }},
                 "member_service": [ {{ "member": 0, "service": {{ "constant": "400ms" }} }} ] }} ],
             "schedule": [ {{ "at": "2s", "command": {{ "do": "add_member", "group": "g" }} }}{schedule} ] }}"#
        ),
        until_us,
    )
}

#[test]
fn a_busy_member_that_keeps_its_partitions_holds_the_join_and_the_mover_keeps_reading() {
    // Member 0 (p0, p2) takes 400 ms a record, up to 20 a poll, so it is
    // mid-batch at 2 s; member 1 (p1, p3) is quick. A third member joins
    // at 2 s; p3 moves to it, but only once member 0 has rejoined at its
    // poll boundary.
    let s = slow_member_story(0, "", 16_000_000);
    // Member 0's poll boundary after 2 s: its first fetch after 2 s.
    let boundary = *fetches(&s, 0, 0)
        .iter()
        .chain(&fetches(&s, 0, 2))
        .filter(|&&t| t > 2_000_000)
        .min()
        .expect("member 0 polls again");
    assert!(boundary > 2_500_000, "member 0 is mid-batch at 2 s");
    let revoked = revoked_after(&s, 2_000_000);
    assert_eq!(
        revoked,
        vec![(boundary, 1, 3)],
        "p3 is revoked when the last member rejoins, not at 2 s"
    );
    // Meanwhile member 1 keeps reading p3.
    assert!(fetches(&s, 1, 3)
        .iter()
        .any(|&t| t > 2_100_000 && t < boundary));
    // The first round ends one pause later, having moved p3 to nobody; the
    // second round's join phase again waits for member 0, which polled a
    // fresh batch of p0 and p2 at `boundary`: p3 goes to member 2 one pause
    // after member 0's next poll boundary.
    let completed = |generation: u32| {
        s.trace
            .iter()
            .find(|e| matches!(e.kind, TraceKind::RebalanceCompleted { generation: g } if g == generation))
            .map(|e| e.t.0)
    };
    assert_eq!(completed(2), Some(boundary + 100_000));
    let next = *fetches(&s, 0, 0)
        .iter()
        .chain(&fetches(&s, 0, 2))
        .filter(|&&t| t > boundary)
        .min()
        .expect("member 0 polls again");
    assert!(next > boundary + 100_000, "member 0 is mid-batch again");
    let assigned = assigned_after(&s, 2_000_000);
    assert_eq!(assigned, vec![(next + 100_000, 2, 3)]);
    assert_eq!(completed(3), Some(next + 100_000));
}

#[test]
fn a_crashed_member_holds_the_join_until_its_session_expires_and_nothing_moves_before() {
    // Member 1 crashes at 1 s (session timeout 10 s); three members join at
    // 2 s. Kafka's join phase waits for member 1 until 11 s, and member 0
    // keeps reading all three of its partitions until then.
    let s = story(
        r#"{ "title": "crash holds join", "seed": 1,
             "producers": [ { "id": "p", "to": "t", "rate": "300/s", "arrival": "constant",
                              "keys": { "random_of_n": 60 } } ],
             "topics": [ { "id": "t", "partitions": 6 } ],
             "consumer_groups": [ { "id": "g", "topics": ["t"], "members": 2,
                 "assignment": "cooperative_sticky", "auto_offset_reset": "earliest",
                 "session_timeout": "10s", "commit": { "after_processing": { "per": "batch" } },
                 "service": { "constant": "1ms" } } ],
             "schedule": [ { "at": "1s", "command": { "do": "crash_member", "group": "g", "member": 1 } },
                           { "at": "2s", "command": { "do": "add_member", "group": "g" } },
                           { "at": "2s", "command": { "do": "add_member", "group": "g" } },
                           { "at": "2s", "command": { "do": "add_member", "group": "g" } } ] }"#,
        13_000_000,
    );
    let revoked = revoked_after(&s, 1_500_000);
    assert!(!revoked.is_empty());
    assert!(
        revoked.iter().all(|&(t, _, _)| t == 11_000_000),
        "nothing is revoked before the session expires: {revoked:?}"
    );
    // Member 0 owned 0, 2, 4 and reads each of them between 2 s and 11 s.
    for p in [0, 2, 4] {
        let f = fetches(&s, 0, p);
        assert!(
            f.iter()
                .filter(|&&t| t > 2_500_000 && t < 11_000_000)
                .count()
                > 10,
            "member 0 keeps reading p{p} during the join phase"
        );
    }
    assert!(revoked.contains(&(11_000_000, 0, 4)), "{revoked:?}");
    // Afterwards every partition has a live owner among members 0, 2, 3, 4.
    // The first round (after the 100 ms pause) hands out the crashed
    // member's partitions, which nobody owns; p4 moves from member 0 to
    // member 4, so it is only revoked then, and the second round assigns it
    // one pause later (Kafka's two cooperative rounds).
    let assigned = assigned_after(&s, 11_000_000);
    assert_eq!(
        assigned,
        vec![
            (11_100_000, 2, 1),
            (11_100_000, 3, 3),
            (11_100_000, 2, 5),
            (11_200_000, 4, 4)
        ]
    );
}

#[test]
fn a_join_and_a_leave_in_one_join_phase_keep_the_stay_ers_partitions() {
    // m0 owns 0, 2, 4 and m1 owns 1, 3, 5; at 1 s a member joins and m1
    // leaves. Kafka's cooperative-sticky assignor sees m0 owning [0, 2, 4]
    // and the newcomer owning nothing: m0 keeps all three, the newcomer
    // gets m1's (`AbstractStickyAssignor`, owned partitions first).
    let s = story(
        r#"{ "title": "join and leave", "seed": 1,
             "producers": [ { "id": "p", "to": "t", "rate": "100/s", "arrival": "constant",
                              "keys": { "random_of_n": 60 } } ],
             "topics": [ { "id": "t", "partitions": 6 } ],
             "consumer_groups": [ { "id": "g", "topics": ["t"], "members": 2,
                 "assignment": "cooperative_sticky", "auto_offset_reset": "earliest",
                 "service": { "constant": "1ms" } } ],
             "schedule": [ { "at": "1s", "command": { "do": "add_member", "group": "g" } },
                           { "at": "1s", "command": { "do": "remove_member", "group": "g", "member": 1 } } ] }"#,
        2_000_000,
    );
    let g = crate::streams::group(&s.engine, "g");
    let parts = |m: usize| {
        let mut v: Vec<u32> = g.members[m].partitions.iter().map(|p| p.1).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(parts(0), vec![0, 2, 4]);
    assert_eq!(parts(2), vec![1, 3, 5]);
}

#[test]
fn a_member_a_seek_leaves_idle_rejoins_at_once() {
    // Member 0 is mid-batch when the join phase starts at 2 s; at 2.1 s a
    // seek to the end drops what it polled, and nothing more is produced,
    // so it never finishes a batch again. Waiting in poll(), it rejoins at
    // once, and the rebalance completes (it waited forever before).
    let s = slow_member_story(
        300,
        r#", { "at": "2.1s", "command": { "do": "seek_group", "group": "g", "to": "end" } }"#,
        5_000_000,
    );
    assert_eq!(revoked_after(&s, 2_000_000), vec![(2_100_000, 1, 3)]);
    // Two cooperative rounds: p3 moves to nobody in the first (done at
    // 2.2 s), to member 2 in the second, one pause later.
    assert_eq!(assigned_after(&s, 2_000_000), vec![(2_300_000, 2, 3)]);
    for generation in [2, 3] {
        assert!(s.trace.iter().any(
            |e| matches!(e.kind, TraceKind::RebalanceCompleted { generation: g } if g == generation)
        ));
    }
}

/// A leaving member whose batch a seek drops has no poll boundary left to
/// reach: the seek must let it rejoin (here: leave) at once, or the join
/// phase waits for it forever. Found by the 1,500-case stream property run
/// (`QL_PROP_SEED=20261205`), reduced by hand.
#[test]
fn a_leaving_member_whose_batch_a_seek_drops_leaves_at_once() {
    let s = story(
        r#"{ "title": "leave, seek, join", "seed": 0,
         "producers": [
           { "id": "p0", "to": "t0", "rate": "600/s", "arrival": "poisson", "latency": "2ms", "keys": { "fixed": "k" } },
           { "id": "p1", "to": "t0", "rate": "600/s", "arrival": "poisson", "keys": { "random_of_n": 1 },
             "partitioner": "round_robin", "max_in_flight": 1 } ],
         "topics": [ { "id": "t0", "partitions": 7, "cleanup": "compact", "compaction_interval": "50ms" } ],
         "consumer_groups": [ { "id": "g0", "topics": ["t0"], "members": 1,
             "service": { "uniform": ["1ms", "8ms"] }, "failure_rate": 0.0,
             "assignment": "cooperative_sticky", "max_poll_records": 500, "session_timeout": "20ms",
             "max_poll_interval": "300s", "rebalance_pause": "0ms",
             "commit": { "after_processing": { "per": "record" } }, "auto_offset_reset": "earliest" } ],
         "schedule": [
           { "at": "77001us", "command": { "do": "remove_member", "group": "g0" } },
           { "at": "77002us", "command": { "do": "seek_group", "group": "g0", "to": "beginning" } },
           { "at": "77003us", "command": { "do": "add_member", "group": "g0" } } ] }"#,
        200_000,
    );
    // The seek drops member 0's batch; it leaves then and there, giving up
    // all seven partitions, and generation 2 completes with nobody in it.
    let revoked = revoked_after(&s, 77_000);
    assert_eq!(revoked, (0..7).map(|p| (77_002, 0, p)).collect::<Vec<_>>());
    let completed = |generation: u32, at_us: u64| {
        s.trace.iter().any(|e| {
            e.t.0 == at_us && matches!(e.kind, TraceKind::RebalanceCompleted { generation: g } if g == generation)
        })
    };
    assert!(completed(2, 77_002), "generation 2 completes at the seek");
    // The member that joins next gets everything in the next generation.
    let assigned = assigned_after(&s, 77_000);
    assert_eq!(assigned, (0..7).map(|p| (77_003, 1, p)).collect::<Vec<_>>());
    assert!(
        completed(3, 77_003),
        "generation 3 completes when member 1 joins"
    );
    // And it reads: the stall left the partitions unread before the fix.
    assert!((0..7).any(|p| !fetches(&s, 1, p).is_empty()));
}

/// Final owner of each partition of group `g`, as member → sorted partitions.
fn owners(s: &Story, g: &str) -> Vec<(usize, Vec<u32>)> {
    let g = crate::streams::group(&s.engine, g);
    g.members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut v: Vec<u32> = m.partitions.iter().map(|p| p.1).collect();
            v.sort_unstable();
            (i, v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Generations that completed, in order, with their times.
fn completions(s: &Story) -> Vec<(u64, u32)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::RebalanceCompleted { generation } => Some((e.t.0, generation)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_second_round_places_moved_partitions_by_what_members_own_after_the_first() {
    // One member owns p0..p3; at 2 s the topic grows to 5 partitions and two
    // members join, in one rebalance. Kafka's cooperative-sticky assignor
    // plans m0 {0, 1}, m1 {2, 4}, m2 {3}; the first round hands out the
    // unowned p4 (to m1) and revokes p2 and p3 from m0
    // (`CooperativeStickyAssignor.adjustAssignment`); the second runs the
    // assignor again on m0 {0, 1}, m1 {4}, m2 {}: p2 goes to m2 and p3 to
    // m1, the least loaded members in member order. One round would have
    // given m1 {2, 4}, m2 {3}.
    let s = story(
        r#"{ "title": "two rounds", "seed": 1,
             "topics": [ { "id": "t", "partitions": 4 } ],
             "consumer_groups": [ { "id": "g", "topics": ["t"], "members": 1,
                 "assignment": "cooperative_sticky", "service": { "constant": "1ms" } } ],
             "schedule": [
               { "at": "2s", "command": { "do": "increase_partitions", "topic": "t", "partitions": 5 } },
               { "at": "2s", "command": { "do": "add_member", "group": "g" } },
               { "at": "2s", "command": { "do": "add_member", "group": "g" } } ] }"#,
        3_000_000,
    );
    assert_eq!(
        owners(&s, "g"),
        vec![(0, vec![0, 1]), (1, vec![3, 4]), (2, vec![2])]
    );
    assert_eq!(
        assigned_after(&s, 2_000_000),
        vec![(2_100_000, 1, 4), (2_200_000, 2, 2), (2_200_000, 1, 3)]
    );
    assert_eq!(
        completions(&s),
        vec![(100_000, 1), (2_100_000, 2), (2_200_000, 3)]
    );
}

#[test]
fn a_crash_then_three_joins_settle_as_kafkas_two_rounds_do() {
    // m0 {0, 2, 4, 6}, m1 {1, 3, 5, 7}; m1 crashes at 2 s (session 5 s),
    // three members join at 3 s and the join phase waits for m1's session
    // to expire at 7 s. The first round gives m1's partitions to the
    // newcomers and revokes p4 and p6 from m0; the second gives p4 to m3
    // and p6 to m4.
    let s = story(
        r#"{ "title": "crash and joins", "seed": 1,
             "topics": [ { "id": "t", "partitions": 8 } ],
             "consumer_groups": [ { "id": "g", "topics": ["t"], "members": 2, "session_timeout": "5s",
                 "assignment": "cooperative_sticky", "service": { "constant": "1ms" } } ],
             "schedule": [
               { "at": "2s", "command": { "do": "crash_member", "group": "g", "member": 1 } },
               { "at": "3s", "command": { "do": "add_member", "group": "g" } },
               { "at": "3s", "command": { "do": "add_member", "group": "g" } },
               { "at": "3s", "command": { "do": "add_member", "group": "g" } } ] }"#,
        8_000_000,
    );
    assert_eq!(
        owners(&s, "g"),
        vec![
            (0, vec![0, 2]),
            (2, vec![1, 5]),
            (3, vec![3, 4]),
            (4, vec![6, 7])
        ]
    );
    assert_eq!(
        completions(&s),
        vec![(100_000, 1), (7_100_000, 2), (7_200_000, 3)]
    );
}

#[test]
fn a_cooperative_rebalance_that_moves_nothing_owned_is_one_round() {
    // m1 crashes; its partitions are nobody's once its session expires and
    // the first round hands them out: nothing is revoked from a live
    // member, so there is no second round.
    let s = story(
        r#"{ "title": "crash only", "seed": 1,
             "topics": [ { "id": "t", "partitions": 6 } ],
             "consumer_groups": [ { "id": "g", "topics": ["t"], "members": 3, "session_timeout": "1s",
                 "assignment": "cooperative_sticky", "service": { "constant": "1ms" } } ],
             "schedule": [ { "at": "2s", "command": { "do": "crash_member", "group": "g", "member": 1 } } ] }"#,
        5_000_000,
    );
    assert_eq!(completions(&s), vec![(100_000, 1), (3_100_000, 2)]);
    assert_eq!(
        owners(&s, "g"),
        vec![(0, vec![0, 1, 3]), (2, vec![2, 4, 5])]
    );
}
