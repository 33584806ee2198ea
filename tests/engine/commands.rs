//! Commands: each variant, submitted while running, changes behaviour as its
//! docs say; bad commands are refused with an error naming the problem and
//! leave no trace; replaying the command log reproduces the run exactly.

use crate::common::*;
use queuelab::engine::{Command, Engine, Reason, SimTime, TraceKind};
use queuelab::scenario;

fn cmd(json: &str) -> Command {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad command {json}: {e}"))
}

/// p publishes to q at 1 s, 2 s, ...; consumer c has the given settings.
fn base(producer_extra: &str, queue_extra: &str, consumer: &str) -> String {
    format!(
        r#"{{
  "title": "commands",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant" {producer_extra} }}],
  "exchanges": [{{ "id": "dlx", "kind": "fanout", "bindings": [{{ "queue": "dead" }}] }}],
  "queues": [{{ "id": "q" {queue_extra} }}, {{ "id": "dead" }}],
  "consumers": [{consumer}]
}}"#
    )
}

const FAST: &str = r#"{ "id": "c", "queue": "q", "service": { "constant": "100ms" } }"#;
const SLOW2: &str =
    r#"{ "id": "c", "queue": "q", "instances": 2, "service": { "constant": "10s" } }"#;

/// Run `json` to each `(t_us, command)` in turn, submit it, then run to `end_us`.
fn with_commands(json: &str, cmds: &[(u64, &str)], end_us: u64) -> Story {
    let mut e = engine(json, 1);
    for &(t, c) in cmds {
        run_checked(&mut e, t);
        e.submit(cmd(c))
            .unwrap_or_else(|err| panic!("command {c} refused: {err}"));
        e.check_invariants().unwrap();
    }
    run_checked(&mut e, end_us);
    let trace = e.take_trace();
    Story { engine: e, trace }
}

fn publish_times(s: &Story) -> Vec<u64> {
    s.matching(|k| matches!(k, TraceKind::Published { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect()
}

#[test]
fn set_rate_changes_the_spacing_from_now() {
    let s = with_commands(
        &base("", "", FAST),
        &[(
            ms(2500),
            r#"{ "do": "set_rate", "producer": "p", "rate": "10/s" }"#,
        )],
        ms(3050),
    );
    assert_eq!(
        publish_times(&s),
        [
            ms(1000),
            ms(2000),
            ms(2600),
            ms(2700),
            ms(2800),
            ms(2900),
            ms(3000)
        ]
    );
}

#[test]
fn set_rate_zero_stops_and_a_new_rate_restarts() {
    let s = with_commands(
        &base("", "", FAST),
        &[
            (
                ms(1500),
                r#"{ "do": "set_rate", "producer": "p", "rate": "0/s" }"#,
            ),
            (
                ms(4500),
                r#"{ "do": "set_rate", "producer": "p", "rate": "2/s" }"#,
            ),
        ],
        ms(6000),
    );
    assert_eq!(publish_times(&s), [ms(1000), ms(5000), ms(5500), ms(6000)]);
}

#[test]
fn pause_and_resume_producer() {
    let s = with_commands(
        &base("", "", FAST),
        &[
            (ms(2500), r#"{ "do": "pause_producer", "producer": "p" }"#),
            (ms(5500), r#"{ "do": "resume_producer", "producer": "p" }"#),
        ],
        ms(8000),
    );
    assert_eq!(publish_times(&s), [ms(1000), ms(2000), ms(6500), ms(7500)]);
}

#[test]
fn crash_one_instance_then_restart_it() {
    let s = with_commands(
        &base(r#", "count": 2"#, "", SLOW2),
        &[
            (
                ms(3000),
                r#"{ "do": "crash_consumer", "consumer": "c", "instance": 1 }"#,
            ),
            (
                ms(4000),
                r#"{ "do": "restart_consumer", "consumer": "c", "instance": 1 }"#,
            ),
        ],
        ms(30_000),
    );
    assert_eq!(
        s.deliveries("c"),
        [
            (ms(1000), 1, 0, false),
            (ms(2000), 2, 1, false),
            (ms(4000), 2, 1, true)
        ]
    );
    assert_eq!(s.processed("c"), [(ms(11_000), 1), (ms(14_000), 2)]);
}

#[test]
fn crash_with_restart_after_restarts_on_time() {
    let s = with_commands(
        &base(r#", "count": 1"#, "", SLOW2),
        &[(
            ms(1500),
            r#"{ "do": "crash_consumer", "consumer": "c", "restart_after": "2s" }"#,
        )],
        ms(30_000),
    );
    let r: Vec<(u64, TraceKind)> = s
        .matching(|k| matches!(k, TraceKind::Restarted { .. } | TraceKind::Crashed { .. }))
        .iter()
        .map(|e| (e.t.0, e.kind))
        .collect();
    assert_eq!(
        r,
        [
            (
                ms(1500),
                TraceKind::Crashed {
                    instance: 0,
                    returned: 1,
                    lost: 0
                }
            ),
            (
                ms(1500),
                TraceKind::Crashed {
                    instance: 1,
                    returned: 0,
                    lost: 0
                }
            ),
            (ms(3500), TraceKind::Restarted { instance: 0 }),
            (ms(3500), TraceKind::Restarted { instance: 1 }),
        ]
    );
    assert_eq!(s.processed("c"), [(ms(13_500), 1)]);
}

#[test]
fn set_instances_scales_up_and_down() {
    let one = r#"{ "id": "c", "queue": "q", "service": { "constant": "10s" } }"#;
    let s = with_commands(
        &base(r#", "count": 2"#, "", one),
        &[
            // Message 2 waits at 2 s; a second instance takes it at once.
            (
                ms(2500),
                r#"{ "do": "set_instances", "consumer": "c", "instances": 2 }"#,
            ),
            // Scaling back returns it (instance 1 goes away holding it).
            (
                ms(3500),
                r#"{ "do": "set_instances", "consumer": "c", "instances": 1 }"#,
            ),
            // A fresh instance 1 takes it again.
            (
                ms(4000),
                r#"{ "do": "set_instances", "consumer": "c", "instances": 2 }"#,
            ),
        ],
        ms(30_000),
    );
    assert_eq!(
        s.deliveries("c"),
        [
            (ms(1000), 1, 0, false),
            (ms(2500), 2, 1, false),
            (ms(4000), 2, 1, true)
        ]
    );
    // The removed instance's service completion (due at 12.5 s) must not
    // complete the new instance's delivery: 2 finishes 10 s after 4 s.
    assert_eq!(s.processed("c"), [(ms(11_000), 1), (ms(14_000), 2)]);
}

#[test]
fn a_stale_restart_does_not_revive_a_recreated_instance() {
    let s = with_commands(
        &base(r#", "count": 1"#, "", SLOW2),
        &[
            (
                ms(500),
                r#"{ "do": "crash_consumer", "consumer": "c", "instance": 1, "restart_after": "10s" }"#,
            ),
            (
                ms(600),
                r#"{ "do": "set_instances", "consumer": "c", "instances": 1 }"#,
            ),
            (
                ms(700),
                r#"{ "do": "set_instances", "consumer": "c", "instances": 2 }"#,
            ),
            (
                ms(800),
                r#"{ "do": "crash_consumer", "consumer": "c", "instance": 1 }"#,
            ),
        ],
        ms(20_000),
    );
    // The restart scheduled at 0.5 s was for an instance that no longer exists.
    assert!(
        s.matching(|k| matches!(k, TraceKind::Restarted { .. }))
            .is_empty(),
        "instance 1 was crashed at 0.8 s without restart and must stay down"
    );
}

#[test]
fn set_service_changes_later_service_times() {
    let s = with_commands(
        &base(r#", "count": 3"#, "", FAST),
        &[(
            ms(2500),
            r#"{ "do": "set_service", "consumer": "c", "service": { "constant": "300ms" } }"#,
        )],
        ms(10_000),
    );
    assert_eq!(
        s.processed("c"),
        [(ms(1100), 1), (ms(2100), 2), (ms(3300), 3)]
    );
}

#[test]
fn set_failure_rate_makes_processing_fail() {
    let s = with_commands(
        &base(
            r#", "count": 3"#,
            r#", "dead_letter_exchange": "dlx""#,
            FAST,
        ),
        &[(
            ms(2500),
            r#"{ "do": "set_failure_rate", "consumer": "c", "failure_rate": 1.0 }"#,
        )],
        ms(10_000),
    );
    assert_eq!(s.processed("c"), [(ms(1100), 1), (ms(2100), 2)]);
    assert_eq!(s.dead_letters(), [(ms(3100), 3, Reason::Rejected, 1)]);
}

#[test]
fn set_prefetch_lets_more_through_at_once() {
    let one = r#"{ "id": "c", "queue": "q", "service": { "constant": "10s" } }"#;
    let s = with_commands(
        &base(r#", "count": 3"#, "", one),
        &[(
            ms(3500),
            r#"{ "do": "set_prefetch", "consumer": "c", "prefetch": 3 }"#,
        )],
        ms(4000),
    );
    assert_eq!(
        s.deliveries("c")
            .iter()
            .map(|d| (d.0, d.1))
            .collect::<Vec<_>>(),
        [(ms(1000), 1), (ms(3500), 2), (ms(3500), 3)]
    );
}

#[test]
fn set_ack_mode_auto_makes_a_crash_lose_messages() {
    let one = r#"{ "id": "c", "queue": "q", "service": { "constant": "10s" } }"#;
    let s = with_commands(
        &base(r#", "count": 1"#, "", one),
        &[
            (
                ms(500),
                r#"{ "do": "set_ack_mode", "consumer": "c", "ack": "auto" }"#,
            ),
            (ms(1500), r#"{ "do": "crash_consumer", "consumer": "c" }"#),
        ],
        ms(5000),
    );
    assert_eq!(s.drops(), [(ms(1500), 1, Reason::LostAfterAutoAck)]);
}

#[test]
fn set_on_failure_requeue_instead_of_dead_letter() {
    let failing =
        r#"{ "id": "c", "queue": "q", "service": { "constant": "100ms" }, "failure_rate": 1.0 }"#;
    let s = with_commands(
        &base(
            r#", "count": 1"#,
            r#", "dead_letter_exchange": "dlx""#,
            failing,
        ),
        &[(
            ms(500),
            r#"{ "do": "set_on_failure", "consumer": "c", "on_failure": "requeue" }"#,
        )],
        ms(1250),
    );
    assert!(s.dead_letters().is_empty());
    assert_eq!(
        s.deliveries("c"),
        [
            (ms(1000), 1, 0, false),
            (ms(1100), 1, 0, true),
            (ms(1200), 1, 0, true)
        ]
    );
}

#[test]
fn set_retry_changes_the_backoff() {
    let retrying = r#"{ "id": "c", "queue": "q", "service": { "constant": "100ms" }, "failure_rate": 1.0,
        "on_failure": "retry", "retry": { "max_attempts": 3, "backoff": { "fixed": "50ms" } } }"#;
    let s = with_commands(
        &base(r#", "count": 1"#, "", retrying),
        &[(
            ms(500),
            r#"{ "do": "set_retry", "consumer": "c", "retry": { "max_attempts": 2, "backoff": { "fixed": "200ms" } } }"#,
        )],
        ms(5000),
    );
    let sched: Vec<(u64, TraceKind)> = s
        .matching(|k| matches!(k, TraceKind::RetryScheduled { .. }))
        .iter()
        .map(|e| (e.t.0, e.kind))
        .collect();
    assert_eq!(
        sched,
        [(
            ms(1100),
            TraceKind::RetryScheduled {
                attempt: 2,
                delay_us: ms(200)
            }
        )]
    );
    assert_eq!(s.drops(), [(ms(1400), 1, Reason::RetriesExhausted)]);
}

#[test]
fn set_max_length_lower_trims_from_the_head_at_once() {
    let s = with_commands(
        &base(r#", "count": 6"#, r#", "dead_letter_exchange": "dlx""#, ""),
        &[(
            ms(5500),
            r#"{ "do": "set_max_length", "queue": "q", "max_length": 2 }"#,
        )],
        ms(10_000),
    );
    assert_eq!(
        s.dead_letters(),
        [
            (ms(5500), 1, Reason::Maxlen, 1),
            (ms(5500), 2, Reason::Maxlen, 1),
            (ms(5500), 3, Reason::Maxlen, 1),
            (ms(6000), 4, Reason::Maxlen, 1),
        ]
    );
    assert_eq!(s.queue_head("q"), [(5, 0, false), (6, 0, false)]);
}

#[test]
fn set_max_length_none_removes_the_limit() {
    let s = with_commands(
        &base(r#", "count": 4"#, r#", "max_length": 1"#, ""),
        &[(ms(2500), r#"{ "do": "set_max_length", "queue": "q" }"#)],
        ms(10_000),
    );
    assert_eq!(s.drops(), [(ms(2000), 1, Reason::Maxlen)]);
    assert_eq!(s.depth("q"), 3);
}

#[test]
fn set_overflow_switches_to_reject_publish() {
    let s = with_commands(
        &base(r#", "count": 3"#, r#", "max_length": 2"#, ""),
        &[(
            ms(2500),
            r#"{ "do": "set_overflow", "queue": "q", "overflow": "reject-publish" }"#,
        )],
        ms(10_000),
    );
    assert_eq!(s.drops(), [(ms(3000), 3, Reason::QueueFull)]);
    assert_eq!(s.queue_head("q"), [(1, 0, false), (2, 0, false)]);
}

#[test]
fn set_queue_ttl_applies_to_messages_enqueued_from_now() {
    let s = with_commands(
        &base(r#", "count": 2"#, "", ""),
        &[
            (
                ms(500),
                r#"{ "do": "set_queue_ttl", "queue": "q", "ttl": "100ms" }"#,
            ),
            (ms(1500), r#"{ "do": "set_queue_ttl", "queue": "q" }"#),
        ],
        ms(60_000),
    );
    assert_eq!(s.drops(), [(ms(1100), 1, Reason::Expired)]);
    assert_eq!(s.queue_head("q"), [(2, 0, false)]);
}

#[test]
fn purge_queue_drops_every_ready_message() {
    let s = with_commands(
        &base(r#", "count": 4"#, "", ""),
        &[(ms(3500), r#"{ "do": "purge_queue", "queue": "q" }"#)],
        ms(4500),
    );
    assert_eq!(
        s.drops(),
        [
            (ms(3500), 1, Reason::Purged),
            (ms(3500), 2, Reason::Purged),
            (ms(3500), 3, Reason::Purged)
        ]
    );
    assert_eq!(s.queue_head("q"), [(4, 0, false)]);
}

#[test]
fn submitted_commands_are_logged_and_traced() {
    let s = with_commands(
        &base("", "", FAST),
        &[
            (ms(1500), r#"{ "do": "pause_producer", "producer": "p" }"#),
            (ms(2500), r#"{ "do": "purge_queue", "queue": "q" }"#),
        ],
        ms(3000),
    );
    let log = s.engine.command_log();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].at_us, log[1].at_us), (ms(1500), ms(2500)));
    let applied: Vec<(u64, TraceKind, u32)> = s
        .matching(|k| matches!(k, TraceKind::CommandApplied { .. }))
        .iter()
        .map(|e| (e.t.0, e.kind, e.node.0))
        .collect();
    assert_eq!(
        applied,
        [
            (
                ms(1500),
                TraceKind::CommandApplied {
                    index: 0,
                    scheduled: false
                },
                s.node("p").0
            ),
            (
                ms(2500),
                TraceKind::CommandApplied {
                    index: 1,
                    scheduled: false
                },
                s.node("q").0
            ),
        ]
    );
}

#[test]
fn scheduled_commands_apply_at_their_time() {
    let json = r#"{
  "title": "schedule",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant" }],
  "queues": [{ "id": "q" }],
  "schedule": [{ "at": "2500ms", "command": { "do": "pause_producer", "producer": "p" } }]
}"#;
    let s = story(json, ms(6000));
    assert_eq!(publish_times(&s), [ms(1000), ms(2000)]);
    let applied = s.matching(|k| {
        matches!(
            k,
            TraceKind::CommandApplied {
                scheduled: true,
                ..
            }
        )
    });
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].t.0, ms(2500));
    assert!(
        s.engine.command_log().is_empty(),
        "the schedule is part of the scenario"
    );
}

#[test]
fn bad_commands_are_refused_with_the_problem_named_and_leave_no_trace() {
    let retrying = r#"{ "id": "c", "queue": "q", "service": { "constant": "100ms" },
        "on_failure": "retry", "retry": { "max_attempts": 3, "exhausted_to": "dlx" } }"#;
    let json = r#"{
  "title": "bad commands",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant" }],
  "exchanges": [{ "id": "dlx", "kind": "fanout", "bindings": [{ "queue": "dead" }] }],
  "queues": [{ "id": "q" }, { "id": "dead" }],
  "consumers": [RETRYING, { "id": "d", "queue": "dead", "service": { "constant": "1ms" } }]
}"#
    .replace("RETRYING", retrying);
    let mut e = engine(&json, 1);
    run_checked(&mut e, ms(3500));
    let (hash, len) = (e.trace_hash(), e.trace_len());
    let cases: &[(&str, &str)] = &[
        (
            r#"{ "do": "pause_producer", "producer": "nobody" }"#,
            "nobody",
        ),
        (
            r#"{ "do": "pause_producer", "producer": "q" }"#,
            "not a producer",
        ),
        (r#"{ "do": "purge_queue", "queue": "p" }"#, "not a queue"),
        (
            r#"{ "do": "set_prefetch", "consumer": "q", "prefetch": 1 }"#,
            "not a consumer",
        ),
        (
            r#"{ "do": "crash_consumer", "consumer": "c", "instance": 1 }"#,
            "no instance 1",
        ),
        (
            r#"{ "do": "restart_consumer", "consumer": "c", "instance": 7 }"#,
            "no instance 7",
        ),
        (
            r#"{ "do": "set_failure_rate", "consumer": "c", "failure_rate": 1.5 }"#,
            "failure rate",
        ),
        (
            r#"{ "do": "set_failure_rate", "consumer": "c", "failure_rate": -0.1 }"#,
            "failure rate",
        ),
        (
            r#"{ "do": "set_prefetch", "consumer": "c", "prefetch": 0 }"#,
            "prefetch",
        ),
        (
            r#"{ "do": "set_prefetch", "consumer": "c", "prefetch": 1000000 }"#,
            "prefetch",
        ),
        (
            r#"{ "do": "set_instances", "consumer": "c", "instances": 5000 }"#,
            "instances",
        ),
        (
            r#"{ "do": "set_service", "consumer": "c", "service": { "uniform": ["2s", "1s"] } }"#,
            "uniform",
        ),
        (
            r#"{ "do": "set_service", "consumer": "c", "service": { "log_normal": { "median": "1s", "sigma": 9 } } }"#,
            "sigma",
        ),
        (r#"{ "do": "set_retry", "consumer": "c" }"#, "on_failure"),
        (
            r#"{ "do": "set_retry", "consumer": "c", "retry": { "max_attempts": 0, "exhausted_to": "dlx" } }"#,
            "max_attempts",
        ),
        (
            r#"{ "do": "set_retry", "consumer": "c", "retry": { "max_attempts": 2 } }"#,
            "exhausted_to",
        ),
        (
            r#"{ "do": "set_retry", "consumer": "c", "retry": { "max_attempts": 2, "mode": "retry_queue", "exhausted_to": "dlx" } }"#,
            "dead_letter_exchange",
        ),
        (
            r#"{ "do": "set_retry", "consumer": "c", "retry": { "max_attempts": 2, "exhausted_to": "dlx", "backoff": { "exponential": { "initial": "2s", "max": "1s" } } } }"#,
            "max",
        ),
        (
            r#"{ "do": "set_on_failure", "consumer": "d", "on_failure": "retry" }"#,
            "retry policy",
        ),
        (
            r#"{ "do": "set_max_length", "queue": "q", "max_length": 4000000000 }"#,
            "max_length",
        ),
        (
            r#"{ "do": "set_overflow", "queue": "nope", "overflow": "reject-publish-dlx" }"#,
            "nope",
        ),
    ];
    for (c, needle) in cases {
        let err = e.submit(cmd(c)).expect_err(c).to_string();
        assert!(
            err.contains(needle),
            "{c}: error {err:?} should mention {needle:?}"
        );
    }
    assert_eq!(e.trace_hash(), hash, "a refused command changes nothing");
    assert_eq!(e.trace_len(), len);
    assert!(e.command_log().is_empty());
    e.check_invariants().unwrap();
}

#[test]
fn malformed_command_json_is_an_error_not_a_panic() {
    for bad in [
        r#"{ "do": "explode" }"#,
        r#"{ "do": "pause_producer" }"#,
        r#"{ "do": "pause_producer", "producer": "p", "extra": 1 }"#,
        r#"{ "do": "set_rate", "producer": "p", "rate": "-3/s" }"#,
        r#"{ "do": "set_rate", "producer": "p", "rate": "fast" }"#,
        r#"[]"#,
    ] {
        assert!(serde_json::from_str::<Command>(bad).is_err(), "{bad}");
    }
}

/// A session with randomness (Poisson, exponential, failures) and commands at
/// awkward points, among them one between two events of the same instant.
fn session() -> (scenario::Scenario, Engine) {
    let json = r#"{
  "title": "replay",
  "producers": [
    { "id": "a", "to": "x", "rate": "5/s", "arrival": "constant", "routing_keys": { "random": ["k1", "k2"] } },
    { "id": "b", "to": "x", "rate": "5/s", "arrival": "constant", "routing_key": "k2" }
  ],
  "exchanges": [{ "id": "x", "kind": "direct", "bindings": [{ "queue": "q", "key": "k1" }, { "queue": "q", "key": "k2" }, { "queue": "r", "key": "k2" }] }],
  "queues": [{ "id": "q", "max_length": 20 }, { "id": "r", "ttl": "300ms" }],
  "consumers": [
    { "id": "c", "queue": "q", "instances": 2, "prefetch": 2, "service": { "exponential": "150ms" }, "failure_rate": 0.2, "on_failure": "requeue" },
    { "id": "d", "queue": "r", "service": { "exponential": "200ms" } }
  ]
}"#;
    let s = scenario::load(json).unwrap();
    let mut e = Engine::new(s.clone(), 99).unwrap();
    run_checked(&mut e, ms(1000));
    e.submit(cmd(
        r#"{ "do": "set_rate", "producer": "a", "rate": "20/s" }"#,
    ))
    .unwrap();
    // Step until two events share an instant, then submit between them.
    let mut between = false;
    for _ in 0..10_000 {
        e.step();
        if e.next_event_time() == Some(e.now()) {
            e.submit(cmd(r#"{ "do": "crash_consumer", "consumer": "c", "instance": 0, "restart_after": "500ms" }"#))
                .unwrap();
            between = true;
            break;
        }
    }
    assert!(between, "the scenario should produce same-instant events");
    run_checked(&mut e, ms(4000));
    e.submit(cmd(
        r#"{ "do": "set_prefetch", "consumer": "c", "prefetch": 5 }"#,
    ))
    .unwrap();
    e.submit(cmd(r#"{ "do": "purge_queue", "queue": "r" }"#))
        .unwrap();
    run_checked(&mut e, ms(9000));
    (s, e)
}

#[test]
fn replay_reproduces_the_trace_hash_even_between_same_instant_events() {
    let (s, e) = session();
    assert_eq!(e.command_log().len(), 4);
    let r = Engine::replay(s.clone(), 99, e.command_log(), e.now()).unwrap();
    assert_eq!(r.trace_hash(), e.trace_hash());
    assert_eq!(r.events(), e.events());
    assert_eq!(r.totals_now(), e.totals_now());
    assert_eq!(r.command_log(), e.command_log());

    // The log survives JSON (what a share link carries).
    let text = serde_json::to_string(e.command_log()).unwrap();
    let log: Vec<queuelab::engine::LoggedCommand> = serde_json::from_str(&text).unwrap();
    let r2 = Engine::replay(s.clone(), 99, &log, e.now()).unwrap();
    assert_eq!(r2.trace_hash(), e.trace_hash());

    // Without the same-instant crash the run differs: the command mattered.
    let r3 = Engine::replay(s, 99, &e.command_log()[..1], e.now()).unwrap();
    assert_ne!(r3.trace_hash(), e.trace_hash());
}

#[test]
fn replay_refuses_a_log_that_goes_back_in_time() {
    let (s, e) = session();
    let mut earlier = e.command_log()[0].clone();
    earlier.after_events -= 1;
    let log = [e.command_log()[0].clone(), earlier];
    let err = Engine::replay(s.clone(), 99, &log, e.now()).expect_err("refused");
    assert!(
        err.contains("command 1") && err.contains("back in time"),
        "{err}"
    );
    // A log whose event count is reached only after its time is refused too.
    let mut late = e.command_log()[2].clone();
    late.at_us = 1;
    let err = Engine::replay(s, 99, &[late], e.now()).expect_err("refused");
    assert!(
        err.contains("command 0") && err.contains("clock passed"),
        "{err}"
    );
}

#[test]
fn replay_to_an_earlier_time_is_a_prefix_of_the_session() {
    // Rewind: replaying to t gives the state the session had at t.
    let (s, _) = session();
    let mut e = Engine::new(s.clone(), 99).unwrap();
    run_checked(&mut e, ms(1000));
    e.submit(cmd(
        r#"{ "do": "set_rate", "producer": "a", "rate": "20/s" }"#,
    ))
    .unwrap();
    run_checked(&mut e, ms(2000));
    let at2 = (e.trace_hash(), e.events());
    run_checked(&mut e, ms(3000));
    let r = Engine::replay(s, 99, e.command_log(), SimTime(ms(2000))).unwrap();
    assert_eq!((r.trace_hash(), r.events()), at2);
}

#[test]
fn a_scheduled_command_with_a_bad_value_is_a_validation_error() {
    // Before the fix these passed validation and were skipped silently at run time.
    let base = r#"{
  "title": "bad schedule",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s" }],
  "queues": [{ "id": "q" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "1ms" } }],
  "schedule": [{ "at": "1s", "command": COMMAND }]
}"#;
    let cases = [
        (
            r#"{ "do": "set_prefetch", "consumer": "c", "prefetch": 0 }"#,
            "schedule[0].command.prefetch",
        ),
        (
            r#"{ "do": "set_failure_rate", "consumer": "c", "failure_rate": 7 }"#,
            "schedule[0].command.failure_rate",
        ),
        (
            r#"{ "do": "set_instances", "consumer": "c", "instances": 100000 }"#,
            "schedule[0].command.instances",
        ),
        (
            r#"{ "do": "set_service", "consumer": "c", "service": { "uniform": ["2s", "1s"] } }"#,
            "schedule[0].command.service",
        ),
        (
            r#"{ "do": "set_retry", "consumer": "c", "retry": { "max_attempts": 0 } }"#,
            "schedule[0].command.retry",
        ),
        (
            r#"{ "do": "set_overflow", "queue": "q", "overflow": "reject-some" }"#,
            "schedule[0].command",
        ),
        (
            r#"{ "do": "set_prefetch", "consumer": "q", "prefetch": 2 }"#,
            "schedule[0].command.consumer",
        ),
    ];
    for (c, path) in cases {
        let err = scenario::load(&base.replace("COMMAND", c))
            .expect_err(c)
            .to_string();
        assert!(err.contains(path), "{c}: {err}");
    }
    assert!(scenario::load(&base.replace(
        "COMMAND",
        r#"{ "do": "set_prefetch", "consumer": "c", "prefetch": 2 }"#
    ))
    .is_ok());
}

/// Postmortem (found by the property test with seed 3): trimming a queue
/// with `set_max_length` armed the expiry check for the new head at that
/// head's expiry time, which had already passed (it had waited behind a
/// longer-lived message), so the agenda held an event in the past and time
/// went back. Now the trim is followed by a dispatch, which expires the
/// overdue head at once.
#[test]
fn trimming_exposes_an_overdue_head_which_expires_at_once() {
    let json = r#"{
  "title": "overdue head",
  "producers": [
    { "id": "long", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "10s" },
    { "id": "short", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "ttl": "10ms", "start": "1ms" }
  ],
  "queues": [{ "id": "q" }]
}"#;
    let s = with_commands(
        json,
        &[(
            ms(1500),
            r#"{ "do": "set_max_length", "queue": "q", "max_length": 1 }"#,
        )],
        ms(3000),
    );
    assert_eq!(
        s.drops(),
        [
            (ms(1500), 1, Reason::Maxlen),
            (ms(1500), 2, Reason::Expired)
        ]
    );
}

#[test]
fn set_arrival_switches_a_producer_to_bursts_from_now_on() {
    let mut s = story(
        r#"{
  "title": "arrival",
  "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant" }],
  "queues": [{ "id": "q" }]
}"#,
        1_000_000,
    );
    // Constant: one every 100 ms up to 1 s.
    assert_eq!(s.enqueued("q").len(), 10);
    let cmd = serde_json::from_str(
        r#"{ "do": "set_arrival", "producer": "p", "arrival": { "bursts": { "size": 5 } } }"#,
    )
    .unwrap();
    s.engine.submit(cmd).unwrap();
    s.run_to(2_000_000);
    let after: Vec<u64> = s
        .enqueued("q")
        .iter()
        .map(|e| e.0)
        .filter(|&t| t > 1_000_000)
        .collect();
    // Bursts of 5 every 500 ms keep the mean rate: 5 at 1.5 s and 5 at 2.0 s.
    assert_eq!(
        after,
        [1_500_000; 5]
            .into_iter()
            .chain([2_000_000; 5])
            .collect::<Vec<_>>()
    );
    let bad = serde_json::from_str(
        r#"{ "do": "set_arrival", "producer": "p", "arrival": { "bursts": { "size": 0 } } }"#,
    )
    .unwrap();
    let err = s.engine.submit(bad).unwrap_err().to_string();
    assert!(err.contains("burst size"), "{err}");
}
