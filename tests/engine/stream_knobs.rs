//! The live knobs of the log-based models (assignment strategy, commit policy,
//! max poll records, linger): each takes effect as documented, bad values are
//! refused with the field named, and a session with them replays exactly.

use crate::common::{story, Story};
use crate::streams::group;
use queuelab::engine::{Command, Engine, SimTime, TraceKind};
use queuelab::scenario::{self, Assignment, CommitPer, CommitPolicy, Duration};

const TWO_MEMBERS: &str = r#"{ "title": "knobs",
  "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 100,
                  "keys": { "random_of_n": 20 } }],
  "topics": [{ "id": "t", "partitions": 4 }],
  "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "assignment": "range",
                        "rebalance_pause": "10ms", "auto_offset_reset": "earliest",
                        "commit": { "after_processing": { "per": "record" } },
                        "service": { "constant": "1ms" } }] }"#;

fn count(s: &Story, f: impl Fn(&TraceKind) -> bool) -> usize {
    s.matching(f).len()
}

#[test]
fn set_assignment_rebalances_with_the_new_strategy() {
    let mut s = story(TWO_MEMBERS, 200_000);
    let before = group(&s.engine, "g");
    assert_eq!(before.assignment, "Range");
    // Range with 2 members on 4 partitions: #0 gets P0 P1, #1 gets P2 P3.
    assert_eq!(
        before.members[0]
            .partitions
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        [0, 1]
    );
    s.engine
        .submit(Command::SetAssignment {
            group: "g".into(),
            assignment: Assignment::RoundRobin,
        })
        .unwrap();
    let started = count(&s, |k| matches!(k, TraceKind::RebalanceStarted { .. }));
    s.run_to(400_000);
    let after = group(&s.engine, "g");
    assert_eq!(after.assignment, "RoundRobin");
    assert_eq!(
        after.generation,
        before.generation + 1,
        "one more rebalance"
    );
    assert!(count(&s, |k| matches!(k, TraceKind::RebalanceStarted { .. })) > started);
    // Round robin deals the partitions in turn: #0 gets P0 P2, #1 gets P1 P3.
    assert_eq!(
        after.members[0]
            .partitions
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(
        after.members[1]
            .partitions
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn set_commit_policy_switches_auto_commit_on_and_off() {
    let t0 = 100_000;
    let mut s = story(TWO_MEMBERS, t0);
    s.engine
        .submit(Command::SetCommitPolicy {
            group: "g".into(),
            commit: CommitPolicy::Auto {
                interval: Duration::from_ms(100),
            },
        })
        .unwrap();
    let commit_times = |s: &Story, from: usize| -> Vec<u64> {
        s.trace[from..]
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Committed { .. }))
            .map(|e| e.t.0)
            .collect()
    };
    let mark = s.trace.len();
    s.run_to(600_000);
    // Records arrive every 10 ms and take 1 ms, so commits after processing
    // would fall on x1 ms; auto-commit ticks fall on the 100 ms grid from t0.
    let auto = commit_times(&s, mark);
    assert!(!auto.is_empty());
    assert!(
        auto.iter().all(|t| (t - t0) % 100_000 == 0),
        "only auto-commit ticks commit: {auto:?}"
    );
    s.engine
        .submit(Command::SetCommitPolicy {
            group: "g".into(),
            commit: CommitPolicy::AfterProcessing {
                per: CommitPer::Record,
            },
        })
        .unwrap();
    let mark = s.trace.len();
    s.run_to(1_100_000);
    let after = commit_times(&s, mark);
    assert!(after.len() >= 40, "{after:?}");
    assert!(
        after.iter().all(|t| (t - t0) % 100_000 != 0),
        "the auto-commit chain stopped: {after:?}"
    );
    let err = s
        .engine
        .submit(Command::SetCommitPolicy {
            group: "g".into(),
            commit: CommitPolicy::Auto {
                interval: Duration(10),
            },
        })
        .unwrap_err();
    assert!(err.0.contains("commit.auto.interval"), "{err}");
}

#[test]
fn set_max_poll_records_bounds_the_next_polls() {
    let json = TWO_MEMBERS.replace(
        r#""service": { "constant": "1ms" }"#,
        r#""service": { "constant": "50ms" }"#,
    );
    let mut s = story(&json, 10_000);
    s.engine
        .submit(Command::SetMaxPollRecords {
            group: "g".into(),
            max_poll_records: 1,
        })
        .unwrap();
    let mark = s.trace.len();
    s.run_to(3_000_000);
    // Every fetch after the change returns at most one record.
    let big = s.trace[mark..]
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Fetched { count, .. } if count > 1))
        .count();
    assert_eq!(big, 0);
    assert!(s.trace[mark..]
        .iter()
        .any(|e| matches!(e.kind, TraceKind::Fetched { .. })));
    for bad in [0, scenario::MAX_POLL_RECORDS_MAX + 1] {
        let err = s
            .engine
            .submit(Command::SetMaxPollRecords {
                group: "g".into(),
                max_poll_records: bad,
            })
            .unwrap_err();
        assert!(err.0.contains("max_poll_records"), "{err}");
    }
}

#[test]
fn set_linger_batches_records_and_is_refused_for_queue_producers() {
    let mut s = story(TWO_MEMBERS, 100_000);
    let appended_batches = |s: &Story, from: usize| {
        let mut times: Vec<u64> = s.trace[from..]
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Appended { .. }))
            .map(|e| e.t.0)
            .collect();
        times.dedup();
        times.len()
    };
    let before = appended_batches(&s, 0);
    assert_eq!(before, 10, "without linger every record is appended alone");
    s.engine
        .submit(Command::SetLinger {
            producer: "p".into(),
            linger: Some(Duration::from_ms(100)),
        })
        .unwrap();
    let mark = s.trace.len();
    s.run_to(1_100_000);
    let records = s.trace[mark..]
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Appended { .. }))
        .count();
    let instants = appended_batches(&s, mark);
    assert!(records >= 80, "{records}");
    assert!(
        instants * 3 < records,
        "with 100 ms linger records arrive in batches: {records} records at {instants} instants"
    );
    let err = s
        .engine
        .submit(Command::SetLinger {
            producer: "p".into(),
            linger: Some(Duration::from_s(61)),
        })
        .unwrap_err();
    assert!(err.0.contains("linger"), "{err}");
    let mut q = crate::common::engine(
        r#"{ "title": "q", "producers": [{ "id": "p", "to": "q", "rate": "1/s" }],
             "queues": [{ "id": "q" }] }"#,
        1,
    );
    let err = q
        .submit(Command::SetLinger {
            producer: "p".into(),
            linger: None,
        })
        .unwrap_err();
    assert!(err.0.contains("publish to a topic"), "{err}");
}

#[test]
fn a_session_with_every_stream_knob_replays_to_the_same_hash() {
    let s = scenario::load(TWO_MEMBERS).unwrap();
    let mut e = Engine::new(s.clone(), 7).unwrap();
    e.run_until(SimTime(150_000), u64::MAX);
    for c in [
        Command::SetAssignment {
            group: "g".into(),
            assignment: Assignment::CooperativeSticky,
        },
        Command::SetCommitPolicy {
            group: "g".into(),
            commit: CommitPolicy::Auto {
                interval: Duration::from_ms(50),
            },
        },
        Command::SetMaxPollRecords {
            group: "g".into(),
            max_poll_records: 3,
        },
        Command::SetLinger {
            producer: "p".into(),
            linger: Some(Duration::from_ms(20)),
        },
    ] {
        e.submit(c).unwrap();
        let t = e.now().0 + 100_000;
        e.run_until(SimTime(t), u64::MAX);
    }
    e.run_until(SimTime(2_000_000), u64::MAX);
    let r = Engine::replay(s, 7, e.command_log(), e.now()).unwrap();
    assert_eq!(r.trace_hash(), e.trace_hash());
    assert_eq!(e.command_log().len(), 4);
}

#[test]
fn scheduled_stream_knobs_with_bad_values_name_their_field() {
    let with = |cmd: &str| {
        let json = TWO_MEMBERS.replacen(
            r#""topics":"#,
            &format!(r#""schedule": [{{ "at": "1s", "command": {cmd} }}], "topics":"#),
            1,
        );
        scenario::load(&json).map(|_| ()).map_err(|e| e.to_string())
    };
    assert!(
        with(r#"{ "do": "set_max_poll_records", "group": "g", "max_poll_records": 5 }"#).is_ok()
    );
    let e = with(r#"{ "do": "set_max_poll_records", "group": "g", "max_poll_records": 0 }"#)
        .unwrap_err();
    assert!(e.contains("schedule[0].command.max_poll_records"), "{e}");
    let e = with(r#"{ "do": "set_commit_policy", "group": "g", "commit": { "auto": { "interval": "10us" } } }"#)
        .unwrap_err();
    assert!(
        e.contains("schedule[0].command.commit.auto.interval"),
        "{e}"
    );
    let e = with(r#"{ "do": "set_linger", "producer": "p", "linger": "2min" }"#).unwrap_err();
    assert!(e.contains("schedule[0].command.linger"), "{e}");
    let e =
        with(r#"{ "do": "set_assignment", "group": "nope", "assignment": "range" }"#).unwrap_err();
    assert!(e.contains("schedule[0].command.group"), "{e}");
}
