//! Amazon SQS: visibility timeout, receive counts and the dead-letter queue,
//! FIFO message groups and deduplication, long vs short polling, requests
//! and cost — each story exact to the microsecond.

use crate::common::*;
use queuelab::engine::{Command, Reason, TraceKind};

fn cmd(json: &str) -> Command {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad command {json}: {e}"))
}

/// (t_us, msg, instance, attempt) of every delivery (SQS receive) by `consumer`.
fn receives(s: &Story, consumer: &str) -> Vec<(u64, u64, u32, u32)> {
    let c = s.node(consumer);
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Delivered {
                consumer,
                instance,
                attempt,
                ..
            } if consumer == c => Some((e.t.0, e.msg.unwrap(), instance, attempt)),
            _ => None,
        })
        .collect()
}

fn times(s: &Story, f: impl Fn(&TraceKind) -> bool) -> Vec<u64> {
    s.matching(f).iter().map(|e| e.t.0).collect()
}

/// One message; visibility timeout 1 s; two slow instances (1.5 s each);
/// `maxReceiveCount` 2 into a DLQ read by a fast consumer.
const SLOW: &str = r#"{
  "title": "visibility timeout",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [
    { "id": "q", "sqs": { "visibility_timeout": "1s", "dead_letter_queue": "dlq", "max_receive_count": 2 } },
    { "id": "dlq", "sqs": {} }
  ],
  "consumers": [
    { "id": "slow", "queue": "q", "instances": 2, "service": { "constant": "1500ms" }, "sqs": { "wait_time": "20s" } },
    { "id": "fix", "queue": "dlq", "service": { "constant": "10ms" }, "sqs": { "wait_time": "20s" } }
  ]
}"#;

#[test]
fn a_slow_consumer_sees_its_message_reappear_then_go_to_the_dlq() {
    let s = story(SLOW, 10_000_000);
    // Received at 1 s by #0; invisible for exactly 1 s; #1 (long-polling)
    // receives it again the instant it reappears.
    assert_eq!(
        receives(&s, "slow"),
        [(1_000_000, 1, 0, 1), (2_000_000, 1, 1, 2)]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsVisibleAgain { .. })),
        [2_000_000, 3_000_000]
    );
    // At 3 s it has been received twice (= maxReceiveCount): the next receive
    // (#0's long poll) moves it to the DLQ instead of returning it.
    let moved = s.matching(|k| matches!(k, TraceKind::SqsMovedToDlq { .. }));
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].t.0, 3_000_000);
    assert!(matches!(
        moved[0].kind,
        TraceKind::SqsMovedToDlq {
            receive_count: 2,
            ..
        }
    ));
    assert_eq!(receives(&s, "fix"), [(3_000_000, 1, 0, 3)]);
    // Both slow instances finish and delete with receipt handles that are
    // no longer the latest: nothing deleted by them.
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsDeleteStale { .. })),
        [2_500_000, 3_500_000]
    );
    // The DLQ consumer deleted it at 3.01 s; freed when the last holder let go.
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::Acked { .. })),
        [3_010_000]
    );
    let l = s.engine.ledger_report();
    assert_eq!(
        (l.duplicated, l.extra_effects, l.lost, l.pending),
        (1, 1, 0, 0)
    );
    assert_eq!(s.engine.ledger().live(), 0);
    let c = s.engine.sqs_counts("q").unwrap();
    assert_eq!(
        (c.received, c.moved_to_dlq, c.stale_deletes, c.deleted),
        (2, 1, 2, 0)
    );
}

/// An SQS consumer reports the mean time of its finished handler runs like
/// a queue consumer (`service_mean_us`): the two 1.5 s runs of `slow` (the
/// message was received twice before it moved to the DLQ) and the 10 ms run
/// of `fix`. It was `null` for every SQS consumer.
#[test]
fn an_sqs_consumer_reports_its_mean_service_time() {
    let s = story(SLOW, 10_000_000);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(
        r["nodes"]["slow"]["service_mean_us"], 1_500_000.0,
        "{}",
        r["nodes"]["slow"]
    );
    assert_eq!(
        r["nodes"]["fix"]["service_mean_us"], 10_000.0,
        "{}",
        r["nodes"]["fix"]
    );
}

/// `crash_consumer` with `point: after_effect` on an SQS consumer: the
/// instance does the effect, then dies before its DeleteMessage, so the
/// message reappears when its visibility timeout (1 s from the receive at
/// 1 s) ends and is processed again: a duplicate. Received at 1 s and 2 s,
/// processed at 1.1 s and 2.1 s. (It used to be refused at run time, so a
/// scheduled one silently did nothing.) The points an SQS consumer has no
/// hook for are refused by validation, with their path.
#[test]
fn an_sqs_consumer_crashing_after_the_effect_processes_the_message_twice() {
    let json = |point: &str| {
        serde_json::json!({
            "title": "crash after effect", "duration": "5s",
            "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
            "queues": [{ "id": "q", "sqs": { "visibility_timeout": "1s" } }],
            "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "100ms" },
                            "sqs": { "wait_time": "20s" } }],
            "schedule": [{ "at": "500ms", "command": { "do": "crash_consumer", "consumer": "c",
                           "point": point, "restart_after": "200ms" } }]
        })
        .to_string()
    };
    let s = story(&json("after_effect"), 5_000_000);
    assert_eq!(
        receives(&s, "c"),
        [(1_000_000, 1, 0, 1), (2_000_000, 1, 0, 2)]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::Processed { .. })),
        [1_100_000, 2_100_000]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::Crashed { .. })),
        [1_100_000]
    );
    assert_eq!(s.engine.ledger_report().duplicated, 1);
    for point in ["after_receive", "after_ack"] {
        let e = queuelab::scenario::load(&json(point))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("schedule[0].command.point") && e.contains("after_effect"),
            "{e}"
        );
    }
}

#[test]
fn a_message_deleted_after_its_timeout_but_before_another_receive_is_deleted() {
    // One instance only: the message reappears at 2 s but nobody receives it
    // before #0 deletes it at 2.5 s with the still-latest receipt handle.
    let json = SLOW.replace(r#""instances": 2"#, r#""instances": 1"#);
    let s = story(&json, 10_000_000);
    assert_eq!(receives(&s, "slow"), [(1_000_000, 1, 0, 1)]);
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::Acked { .. })),
        [2_500_000]
    );
    let l = s.engine.ledger_report();
    assert_eq!((l.exactly_once, l.duplicated), (1, 0));
}

#[test]
fn a_fifo_receipt_handle_expires_with_the_visibility_timeout() {
    // The same late delete on a FIFO queue: its receipt handle expired at
    // 2 s ("The receipt handle has expired"), so the delete at 2.5 s deletes
    // nothing and the message is received again (by #0, now idle) at 2.5 s.
    // The second try is quicker (fix: 500 ms) and deletes it in time.
    let json = r#"{"title": "fifo handle", "seed": 1, "duration": "10s",
      "producers": [{"id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "keys": {"fixed": "g"}}],
      "queues": [{"id": "q", "sqs": {"type": "fifo", "visibility_timeout": "1s"}}],
      "consumers": [{"id": "c", "queue": "q", "instances": 1, "service": {"constant": "1500ms"},
        "sqs": {"wait_time": "20s"}}],
      "schedule": [{"at": "2s", "command": {"do": "set_service", "consumer": "c", "service": {"constant": "500ms"}}}]}"#;
    let s = story(json, 10_000_000);
    assert_eq!(
        receives(&s, "c"),
        [(1_000_000, 1, 0, 1), (2_500_000, 1, 0, 2)]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsDeleteStale { .. })),
        [2_500_000]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::Acked { .. })),
        [3_000_000]
    );
    let c = s.engine.sqs_counts("q").unwrap();
    assert_eq!((c.received, c.stale_deletes, c.deleted), (2, 1, 1));
    let l = s.engine.ledger_report();
    assert_eq!((l.exactly_once, l.duplicated), (0, 1));
}

#[test]
fn change_message_visibility_extends_the_timeout_exactly() {
    let mut e = engine(&SLOW.replace(r#""instances": 2"#, r#""instances": 1"#), 1);
    run_checked(&mut e, 1_200_000);
    e.submit(cmd(
        r#"{ "do": "change_message_visibility", "queue": "q", "visibility_timeout": "5s" }"#,
    ))
    .unwrap();
    run_checked(&mut e, 10_000_000);
    let trace = e.take_trace();
    let s = Story { engine: e, trace };
    // No reappearance at 2 s: the new deadline is 6.2 s, but #0 deletes at 2.5 s.
    assert!(times(&s, |k| matches!(k, TraceKind::SqsVisibleAgain { .. })).is_empty());
    assert_eq!(
        s.engine.sqs_counts("q").unwrap().change_visibility_requests,
        1
    );
    // Bad values name the field.
    let mut e2 = engine(SLOW, 1);
    let err = e2
        .submit(cmd(
            r#"{ "do": "change_message_visibility", "queue": "q", "visibility_timeout": "13h" }"#,
        ))
        .unwrap_err();
    assert!(err.0.contains("visibility_timeout"), "{err}");
    let err = e2
        .submit(cmd(
            r#"{ "do": "set_max_messages", "consumer": "slow", "max_messages": 11 }"#,
        ))
        .unwrap_err();
    assert!(err.0.contains("max_messages"), "{err}");
    let err = e2
        .submit(cmd(
            r#"{ "do": "set_prefetch", "consumer": "slow", "prefetch": 5 }"#,
        ))
        .unwrap_err();
    assert!(err.0.contains("SQS"), "{err}");
}

#[test]
fn redrive_moves_dead_letters_back_with_a_fresh_receive_count() {
    // Poison: always fails, so it goes to the DLQ after 2 receives; no DLQ consumer.
    let json = r#"{
  "title": "redrive",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [
    { "id": "q", "sqs": { "visibility_timeout": "1s", "dead_letter_queue": "dlq", "max_receive_count": 2 } },
    { "id": "dlq", "sqs": {} }
  ],
  "consumers": [
    { "id": "c", "queue": "q", "service": { "constant": "100ms" }, "failure_rate": 1.0, "sqs": { "wait_time": "20s" } }
  ]
}"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 5_000_000);
    // Receives at 1 s and 2 s (the timeout counts from the receive, not from
    // the failure at 1.1 s); at 3 s the waiting poll moves it to the DLQ.
    assert_eq!(e.sqs_counts("q").unwrap().moved_to_dlq, 1);
    assert_eq!(e.sqs_receive_count(1), Some(2));
    e.submit(cmd(r#"{ "do": "redrive_dead_letters", "queue": "dlq" }"#))
        .unwrap();
    assert_eq!(e.sqs_counts("dlq").unwrap().redriven, 1);
    run_checked(&mut e, 5_000_001);
    // Received again at once by the waiting consumer, as a first receive.
    assert_eq!(e.sqs_receive_count(1), Some(1));
    let trace = e.take_trace();
    let s = Story { engine: e, trace };
    let r = receives(&s, "c");
    assert_eq!(
        r,
        [
            (1_000_000, 1, 0, 1),
            (2_000_000, 1, 0, 2),
            (5_000_000, 1, 0, 1)
        ]
    );
}

/// FIFO: keys a, a, b at 100, 200, 300 ms; two long-polling instances, 1 s each.
const FIFO: &str = r#"{
  "title": "fifo groups",
  "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": 3,
                  "keys": { "round_robin": ["a", "a", "b"] } }],
  "queues": [{ "id": "q", "sqs": { "type": "fifo", "visibility_timeout": "30s" } }],
  "consumers": [{ "id": "c", "queue": "q", "instances": 2, "service": { "constant": "1s" },
                  "sqs": { "wait_time": "20s" } }]
}"#;

#[test]
fn fifo_blocks_a_group_while_one_of_its_messages_is_in_flight() {
    let s = story(FIFO, 5_000_000);
    // m2 (group a) waits although #1 is idle: m1 of group a is in flight.
    // #1 takes m3 (group b) instead; m2 goes out when m1 is deleted at 1.1 s.
    assert_eq!(
        receives(&s, "c"),
        [(100_000, 1, 0, 1), (300_000, 3, 1, 1), (1_100_000, 2, 0, 1)]
    );
    let l = s.engine.ledger_report();
    assert_eq!((l.exactly_once, l.duplicated, l.out_of_order), (3, 0, 0));
}

#[test]
fn fifo_deduplicates_within_five_minutes_and_accepts_after() {
    let json = r#"{
  "title": "fifo dedup",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "start": "1h", "keys": { "fixed": "k" } }],
  "queues": [{ "id": "q", "sqs": { "type": "fifo", "deduplication": "content" } }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "sqs": { "wait_time": "20s" } }],
  "schedule": [
    { "at": "1s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
    { "at": "2m", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
    { "at": "300999999us", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
    { "at": "301s", "command": { "do": "publish_one", "producer": "p", "key": "k" } }
  ]
}"#;
    let s = story(json, 302_000_000);
    // The same content within 5 minutes of the first accepted send: accepted,
    // not enqueued. Exactly 5 minutes later it is new again.
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsDeduplicated)),
        [120_000_000, 300_999_999]
    );
    assert_eq!(
        s.drops()
            .iter()
            .filter(|d| d.2 == Reason::SqsDeduplicated)
            .count(),
        2
    );
    assert_eq!(
        receives(&s, "c").iter().map(|r| r.0).collect::<Vec<_>>(),
        [1_000_000, 301_000_000]
    );
    let c = s.engine.sqs_counts("q").unwrap();
    assert_eq!((c.send_requests, c.stored, c.deduplicated), (4, 2, 2));
}

#[test]
fn fifo_dedup_by_business_id_removes_network_duplicates_from_the_ledger() {
    let make = |kind: &str| {
        format!(
            r#"{{
  "title": "dup link",
  "seed": 5,
  "producers": [{{ "id": "p", "to": "q", "rate": "20/s", "count": 200, "keys": {{ "fixed": "g" }}, "faults": {{ "duplicate": 0.2 }} }}],
  "queues": [{{ "id": "q", "sqs": {{ "type": "{kind}" }} }}],
  "consumers": [{{ "id": "c", "queue": "q", "instances": 2, "service": {{ "constant": "5ms" }}, "sqs": {{ "wait_time": "20s", "max_messages": 10 }} }}]
}}"#
        )
    };
    let std = story(&make("standard"), 30_000_000);
    let fifo = story(&make("fifo"), 30_000_000);
    let (ls, lf) = (std.engine.ledger_report(), fifo.engine.ledger_report());
    assert!(ls.duplicated > 20, "standard: {ls:?}");
    assert_eq!(
        (lf.duplicated, lf.lost, lf.exactly_once),
        (0, 0, 200),
        "fifo: {lf:?}"
    );
    assert_eq!(
        fifo.engine.sqs_counts("q").unwrap().deduplicated,
        ls.duplicated
    );
    // The ledger counts the copies the queue kept out (its own
    // `deduplicated` is a consumer dedup store's, none here).
    assert_eq!(
        (
            lf.broker_deduplicated,
            lf.deduplicated,
            ls.broker_deduplicated
        ),
        (ls.duplicated, 0, 0)
    );
    // "Why?" names both mechanisms: the link that doubles sends and what
    // each queue type does with the copy.
    let why_std = std.engine.guarantee_explanation();
    let why_fifo = fifo.engine.guarantee_explanation();
    assert!(
        why_std.iter().any(
            |x| x.starts_with("p: the network delivers 20% of publishes twice")
                && x.contains("stores the copy as a second message")
        ),
        "{why_std:#?}"
    );
    assert!(
        why_std
            .iter()
            .any(|x| x.starts_with("q: SQS standard: no deduplication")),
        "{why_std:#?}"
    );
    assert!(
        why_fifo.iter().any(
            |x| x.starts_with("p: the network delivers 20% of sends twice")
                && x.contains("FIFO queue q recognises the repeated deduplication id")
        ),
        "{why_fifo:#?}"
    );
    assert!(
        why_fifo.iter().any(|x| x.starts_with("q: SQS FIFO:")
            && x.contains("(the producer's message id) from the last 5 minutes")
            && x.contains("visibility timeout (30s)")),
        "{why_fifo:#?}"
    );
    // Content-based deduplication says what it costs: equal bodies are one.
    let mut s: queuelab::scenario::Scenario = serde_json::from_str(&make("fifo")).unwrap();
    s.queues[0].sqs.as_mut().unwrap().deduplication = queuelab::scenario::SqsDedup::Content;
    let why = s.explain_guarantee();
    assert!(
        why.iter()
            .any(|x| x.contains("two different messages with the same body count as one")),
        "{why:#?}"
    );
}

#[test]
fn a_standard_queue_duplicate_is_counted_by_the_ledger() {
    let json = r#"{
  "title": "standard duplicates",
  "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "count": 100 }],
  "queues": [{ "id": "q", "sqs": { "visibility_timeout": "2s", "duplicate_rate": 0.1 } }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "sqs": { "wait_time": "20s" } }]
}"#;
    let s = story(json, 60_000_000);
    let c = s.engine.sqs_counts("q").unwrap();
    let l = s.engine.ledger_report();
    assert!(c.delete_missed >= 3, "{c:?}");
    // Every missed delete is received again 2 s later and done twice (or more).
    assert_eq!(l.extra_effects, c.delete_missed);
    assert_eq!(l.lost, 0);
    assert_eq!(l.pending, 0);
    let why = s.engine.guarantee_explanation();
    assert!(
        why.iter()
            .any(|x| x.starts_with("q: SQS standard: no deduplication, best-effort order, and 10% of deletes miss a stored copy")),
        "{why:#?}"
    );
}

#[test]
fn a_queue_and_its_dead_letter_queue_share_one_sqs_sentence() {
    let s = queuelab::scenario::preset("sqs-visibility-timeout")
        .unwrap()
        .scenario();
    let why = s.explain_guarantee();
    let sqs: Vec<&String> = why.iter().filter(|x| x.contains("SQS standard")).collect();
    assert_eq!(sqs.len(), 1, "{why:#?}");
    assert!(
        sqs[0].starts_with("jobs, jobs-dlq: SQS standard"),
        "{sqs:?}"
    );
}

/// One message at 5 s; one consumer.
fn polling(wait: &str) -> String {
    format!(
        r#"{{
  "title": "polling",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1, "start": "4s" }}],
  "queues": [{{ "id": "q", "sqs": {{}} }}],
  "consumers": [{{ "id": "c", "queue": "q", "service": {{ "constant": "10ms" }}, "sqs": {{ "wait_time": "{wait}" }} }}]
}}"#
    )
}

#[test]
fn a_long_poll_returns_at_the_first_arrival_or_after_its_wait() {
    let s = story(&polling("20s"), 30_000_000);
    assert_eq!(receives(&s, "c"), [(5_000_000, 1, 0, 1)]);
    // The poll sent at 0 returned with the message at 5 s; the next one,
    // sent after the delete at 5.01 s, waited the full 20 s.
    let empty: Vec<(u64, u64)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::SqsEmptyReceive { waited_us, .. } => Some((e.t.0, waited_us)),
            _ => None,
        })
        .collect();
    assert_eq!(empty, [(25_010_000, 20_000_000)]);
    let c = s.engine.sqs_counts("q").unwrap();
    assert_eq!(
        (
            c.send_requests,
            c.receive_requests,
            c.delete_requests,
            c.empty_receives
        ),
        (1, 3, 1, 1)
    );
    let r = s.engine.sqs_report().unwrap();
    assert_eq!(r.requests, 5);
    assert!((r.cost_usd - 5.0 * 0.40 / 1e6).abs() < 1e-15);
}

#[test]
fn short_polling_costs_an_empty_receive_every_poll_gap() {
    let s = story(&polling("0s"), 30_000_000);
    let c = s.engine.sqs_counts("q").unwrap();
    // Polls at 0, 0.1, ..., every 100 ms (about 300 in 30 s), all empty but one.
    assert_eq!(c.receive_requests, c.empty_receives + 1);
    assert!((295..=305).contains(&c.empty_receives), "{c:?}");
    assert_eq!(receives(&s, "c").len(), 1);
    let r = s.engine.sqs_report().unwrap();
    assert_eq!(r.requests, c.receive_requests + 2);
}

#[test]
fn the_fifo_throughput_limit_throttles_sends_past_the_cap() {
    let json = r#"{
  "title": "throughput",
  "producers": [{ "id": "p", "to": "q", "rate": "50/s", "arrival": "constant", "count": 50, "keys": { "fixed": "g" } }],
  "queues": [{ "id": "q", "sqs": { "type": "fifo", "throughput_per_s": 10 } }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "1ms" }, "sqs": { "wait_time": "20s", "max_messages": 10 } }]
}"#;
    let s = story(json, 20_000_000);
    let c = s.engine.sqs_counts("q").unwrap();
    assert_eq!(c.stored, 50);
    assert!(c.throttled > 0);
    // Never more than 10 sends accepted in one second.
    let mut per_s = std::collections::BTreeMap::new();
    for e in s.matching(|k| matches!(k, TraceKind::Enqueued { .. })) {
        *per_s.entry(e.t.0 / 1_000_000).or_insert(0) += 1;
    }
    assert!(per_s.values().all(|&n| n <= 10), "{per_s:?}");
    assert_eq!(s.engine.ledger_report().exactly_once, 50);
}

#[test]
fn the_fifo_throughput_limit_throttles_deletes_too() {
    // SQS FIFO: 300 calls per second per action, DeleteMessage included.
    // Here 5 per second: 50 messages in 10 groups are sent (throttled too)
    // while the consumer is down; from 15 s each receive returns 10 messages,
    // but at most 5 deletes succeed in any second; a throttled delete is
    // retried next second (the message stays in flight), and every message
    // is still done exactly once.
    let json = r#"{
  "title": "delete throughput",
  "producers": [{ "id": "p", "to": "q", "rate": "1000/s", "arrival": "constant", "count": 50,
                  "keys": { "round_robin": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] } }],
  "queues": [{ "id": "q", "sqs": { "type": "fifo", "throughput_per_s": 5, "visibility_timeout": "10m" } }],
  "consumers": [{ "id": "c", "queue": "q", "instances": 2, "service": { "constant": "1ms" },
                  "sqs": { "wait_time": "20s", "max_messages": 10 } }],
  "schedule": [{ "at": "0s", "command": { "do": "crash_consumer", "consumer": "c", "restart_after": "15s" } }]
}"#;
    let s = story(json, 60_000_000);
    let deletes_throttled = s.matching(|k| matches!(k, TraceKind::SqsDeleteThrottled { .. }));
    assert!(!deletes_throttled.is_empty(), "deletes were throttled");
    let mut per_s = std::collections::BTreeMap::new();
    for e in s.matching(|k| matches!(k, TraceKind::Acked { .. })) {
        *per_s.entry(e.t.0 / 1_000_000).or_insert(0) += 1;
    }
    assert!(
        per_s.values().all(|&n| n <= 5),
        "at most 5 deletes a second: {per_s:?}"
    );
    assert_eq!(
        per_s.values().sum::<i32>(),
        50,
        "every message deleted: {per_s:?}"
    );
    assert_eq!(s.engine.ledger_report().exactly_once, 50);
}

#[test]
fn an_auto_ack_delete_throttled_then_a_failure_is_a_loss_not_a_success() {
    // ack auto deletes on receive; the delete is throttled, the handler fails
    // before the retry, and the retry deletes the message: it is lost after
    // its auto-ack, as if the delete had gone through at once.
    let json = r#"{ "title": "auto ack fifo throttled delete", "duration": "20s",
  "producers": [{ "id": "p", "to": "q", "rate": "1000/s", "arrival": "constant", "count": 20,
                  "keys": { "round_robin": ["a","b","c","d","e","f","g","h","i","j"] } }],
  "queues": [{ "id": "q", "sqs": { "type": "fifo", "throughput_per_s": 2, "visibility_timeout": "10m" } }],
  "consumers": [{ "id": "c", "queue": "q", "ack": "auto", "service": { "constant": "1ms" }, "failure_rate": 1.0,
                  "sqs": { "wait_time": "20s", "max_messages": 10 } }],
  "schedule": [{ "at": "0s", "command": { "do": "crash_consumer", "consumer": "c", "restart_after": "15s" } }] }"#;
    let s = story(json, 20_000_000);
    let l = s.engine.ledger_report();
    assert_eq!(l.exactly_once, 0, "nothing succeeded");
    assert!(l.lost > 0);
    let drops = s.drops();
    assert_eq!(drops.len() as u64, l.lost, "{drops:?}");
    assert!(
        drops.iter().all(|d| d.2 == Reason::LostAfterAutoAck),
        "{drops:?}"
    );
}

#[test]
fn sqs_fields_are_validated_with_their_paths() {
    let bad = r#"{
  "title": "bad",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s" }],
  "queues": [{ "id": "q", "ttl": "1s", "sqs": { "visibility_timeout": "13h", "max_receive_count": 3 } }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "1ms" }, "sqs": { "wait_time": "21s" } }]
}"#;
    let err = queuelab::scenario::load(bad).unwrap_err().to_string();
    for path in [
        "queues[0].sqs.visibility_timeout",
        "queues[0].ttl",
        "consumers[0].sqs.wait_time",
    ] {
        assert!(err.contains(path), "{path} not in {err}");
    }
}

#[test]
fn a_fifo_send_needs_a_message_group_id() {
    // SQS: "MessageGroupId is required for FIFO queues" (a send without one fails).
    let fifo = |keys: &str| {
        format!(
            r#"{{ "title": "fifo", "producers": [{{ "id": "p", "to": "q.fifo", "rate": "1/s"{keys} }}],
                 "queues": [{{ "id": "q.fifo", "sqs": {{ "type": "fifo" }} }}] }}"#
        )
    };
    let err = queuelab::scenario::load(&fifo("")).unwrap_err().to_string();
    assert!(
        err.contains("producers[0].keys") && err.contains("MessageGroupId"),
        "{err}"
    );
    queuelab::scenario::load(&fifo(r#", "keys": { "fixed": "g1" }"#)).unwrap();
}

#[test]
fn a_producer_ttl_is_refused_for_an_sqs_queue() {
    // SQS has no per-message expiry (a message lives for the queue's
    // MessageRetentionPeriod); a producer's `ttl` was accepted and ignored.
    let with_ttl = |ttl: &str| {
        format!(
            r#"{{ "title": "ttl", "producers": [{{ "id": "p", "to": "q", "rate": "1/s"{ttl} }}],
                 "queues": [{{ "id": "q", "sqs": {{ "type": "standard" }} }}],
                 "consumers": [{{ "id": "c", "queue": "q", "service": {{ "constant": "10ms" }} }}] }}"#
        )
    };
    let err = queuelab::scenario::load(&with_ttl(r#", "ttl": "1s""#))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("producers[0].ttl") && err.contains("sqs.retention"),
        "{err}"
    );
    queuelab::scenario::load(&with_ttl("")).unwrap();
}

#[test]
fn durable_false_persistent_false_and_prefetch_are_refused_for_sqs() {
    // SQS keeps every message until it is deleted or its retention ends:
    // there is no transient queue or message, and a consumer's receive takes
    // up to `sqs.max_messages`, not a `basic.qos` prefetch. Each was accepted
    // and did nothing (prefetch was overwritten by max_messages), though the
    // README said `prefetch` is refused; every other RabbitMQ-only field was.
    let sc = |queue: &str, producer: &str, consumer: &str| {
        format!(
            r#"{{ "title": "sqs", "producers": [{{ "id": "p", "to": "q", "rate": "1/s"{producer} }}],
                 "queues": [{{ "id": "q", "sqs": {{}}{queue} }}],
                 "consumers": [{{ "id": "c", "queue": "q", "service": {{ "constant": "10ms" }},
                                 "sqs": {{ "max_messages": 2 }}{consumer} }}] }}"#
        )
    };
    let err = queuelab::scenario::load(&sc(
        r#", "durable": false"#,
        r#", "persistent": false"#,
        r#", "prefetch": 50"#,
    ))
    .unwrap_err();
    let paths: Vec<&str> = err.issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "queues[0].durable",
            "producers[0].persistent",
            "consumers[0].prefetch"
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("queues[0].durable: does not apply to an SQS queue")
            && text.contains("consumers[0].prefetch: does not apply to an SQS consumer"),
        "{text}"
    );
    // The defaults, written out or not, are fine.
    queuelab::scenario::load(&sc("", "", "")).unwrap();
    queuelab::scenario::load(&sc(
        r#", "durable": true"#,
        r#", "persistent": true"#,
        r#", "prefetch": 1"#,
    ))
    .unwrap();
}

#[test]
fn sqs_runs_keep_every_invariant_over_seeds() {
    let json = r#"{
  "title": "mix",
  "producers": [{ "id": "p", "to": "q", "rate": "40/s", "keys": { "random_of_n": 4 }, "count": 300, "faults": { "duplicate": 0.1 } },
                { "id": "p2", "to": "f", "rate": "40/s", "keys": { "random_of_n": 3 }, "count": 300 }],
  "queues": [
    { "id": "q", "sqs": { "visibility_timeout": "300ms", "duplicate_rate": 0.05, "dead_letter_queue": "dlq", "max_receive_count": 3, "retention": "60s" } },
    { "id": "dlq", "sqs": { "retention": "60s" } },
    { "id": "f", "sqs": { "type": "fifo", "visibility_timeout": "200ms", "dead_letter_queue": "fdlq", "max_receive_count": 2, "throughput_per_s": 30, "retention": "60s" } },
    { "id": "fdlq", "sqs": { "type": "fifo", "retention": "60s" } }
  ],
  "consumers": [
    { "id": "c", "queue": "q", "instances": 3, "service": { "exponential": "150ms" }, "failure_rate": 0.1, "sqs": { "wait_time": "1s", "max_messages": 4 } },
    { "id": "d", "queue": "dlq", "service": { "constant": "50ms" } },
    { "id": "g", "queue": "f", "instances": 2, "service": { "exponential": "100ms" }, "failure_rate": 0.1, "sqs": { "max_messages": 3, "poll_gap": "50ms" } }
  ],
  "schedule": [
    { "at": "2s", "command": { "do": "crash_consumer", "consumer": "c", "instance": 1, "restart_after": "1s" } },
    { "at": "3s", "command": { "do": "change_message_visibility", "queue": "q", "visibility_timeout": "0s" } },
    { "at": "4s", "command": { "do": "redrive_dead_letters", "queue": "fdlq" } },
    { "at": "5s", "command": { "do": "set_instances", "consumer": "g", "instances": 1 } },
    { "at": "6s", "command": { "do": "set_wait_time", "consumer": "g", "wait_time": "2s" } },
    { "at": "7s", "command": { "do": "set_instances", "consumer": "g", "instances": 3 } },
    { "at": "8s", "command": { "do": "set_visibility_timeout", "queue": "q", "visibility_timeout": "2s" } }
  ]
}"#;
    for seed in 1..=6 {
        let mut e = engine(json, seed);
        run_checked(&mut e, 130_000_000);
        let l = e.ledger_report();
        // Retention (60 s) has emptied everything by 130 s.
        assert_eq!(l.pending, 0, "seed {seed}: {l:?}");
        assert_eq!(e.ledger().live(), 0, "seed {seed}");
    }
}

#[test]
fn a_delay_queue_and_a_message_timer_hold_messages_back_exactly() {
    let json = r#"{
  "title": "delays",
  "producers": [
    { "id": "p", "to": "delayed", "rate": "1/s", "arrival": "constant", "count": 1 },
    { "id": "t", "to": "timers", "rate": "1/s", "arrival": "constant", "count": 1, "headers": { "DelaySeconds": "5" } }
  ],
  "queues": [
    { "id": "delayed", "sqs": { "delay": "2s" } },
    { "id": "timers", "sqs": {} }
  ],
  "consumers": [
    { "id": "a", "queue": "delayed", "service": { "constant": "10ms" }, "sqs": { "wait_time": "20s" } },
    { "id": "b", "queue": "timers", "service": { "constant": "10ms" }, "sqs": { "wait_time": "20s" } }
  ]
}"#;
    let s = story(json, 10_000_000);
    assert_eq!(receives(&s, "a"), [(3_000_000, 1, 0, 1)]);
    assert_eq!(receives(&s, "b"), [(6_000_000, 2, 0, 1)]);
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsDelayEnded)),
        [3_000_000, 6_000_000]
    );
}

#[test]
fn retention_deletes_old_messages_even_while_one_is_being_worked_on() {
    let json = r#"{
  "title": "retention",
  "producers": [
    { "id": "p", "to": "idle", "rate": "1/s", "arrival": "constant", "count": 1 },
    { "id": "h", "to": "held", "rate": "1/s", "arrival": "constant", "count": 1 }
  ],
  "queues": [
    { "id": "idle", "sqs": { "retention": "60s" } },
    { "id": "held", "sqs": { "retention": "60s", "visibility_timeout": "12h" } }
  ],
  "consumers": [
    { "id": "slow", "queue": "held", "service": { "constant": "100s" }, "sqs": { "wait_time": "20s" } }
  ]
}"#;
    let s = story(json, 200_000_000);
    // Both sent at 1 s; both past retention at 61 s. The held one is dropped
    // when its consumer lets go at 101 s (its delete finds nothing to delete).
    assert_eq!(
        times(&s, |k| *k == TraceKind::Expired),
        [61_000_000, 61_000_000]
    );
    assert_eq!(
        s.drops(),
        [
            (61_000_000, 1, Reason::Expired),
            (101_000_000, 2, Reason::Expired)
        ]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsDeleteStale { .. })),
        [101_000_000]
    );
}

#[test]
fn purge_deletes_every_message_and_amqp_knobs_are_refused() {
    let json = r#"{
  "title": "purge",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 3 }],
  "queues": [{ "id": "q", "sqs": {} }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10s" }, "sqs": { "wait_time": "20s" } }]
}"#;
    let mut e = engine(json, 1);
    run_checked(&mut e, 3_500_000);
    e.submit(cmd(r#"{ "do": "purge_queue", "queue": "q" }"#))
        .unwrap();
    let err = e
        .submit(cmd(
            r#"{ "do": "set_max_length", "queue": "q", "max_length": 5 }"#,
        ))
        .unwrap_err();
    assert!(err.0.contains("SQS"), "{err}");
    run_checked(&mut e, 30_000_000);
    let trace = e.take_trace();
    let s = Story { engine: e, trace };
    // m2 and m3 (visible) at once; m1 (in flight) when its consumer is done.
    assert_eq!(
        s.drops(),
        [
            (3_500_000, 2, Reason::Purged),
            (3_500_000, 3, Reason::Purged),
            (11_000_000, 1, Reason::Purged)
        ]
    );
    assert_eq!(s.engine.ledger().live(), 0);
}

// ------------------------------------------------ properties

/// A random SQS scenario (standard or FIFO, with or without a DLQ, delays,
/// duplicates, throttling, short or long polling) and random commands.
fn random_sqs(genes: &[u32]) -> (String, Vec<(u64, String)>) {
    let mut at = 0;
    let mut pick = |n: u32| {
        let v = genes.get(at).copied().unwrap_or(0);
        at += 1;
        v % n
    };
    let fifo = pick(2) == 1;
    let kind = if fifo { "fifo" } else { "standard" };
    let vt = ["100ms", "300ms", "1s", "3s"][pick(4) as usize];
    let mut q = format!(r#""type": "{kind}", "visibility_timeout": "{vt}""#);
    let dlq = pick(2) == 1;
    if dlq {
        q += &format!(
            r#", "dead_letter_queue": "dlq", "max_receive_count": {}"#,
            1 + pick(3)
        );
    }
    if !fifo && pick(2) == 1 {
        q += &format!(
            r#", "duplicate_rate": {}"#,
            ["0.05", "0.3"][pick(2) as usize]
        );
    }
    if fifo {
        q += &format!(
            r#", "deduplication": "{}", "throughput_per_s": {}"#,
            ["business_id", "content"][pick(2) as usize],
            [300, 20, 5][pick(3) as usize]
        );
    }
    if pick(2) == 1 {
        q += r#", "delay": "200ms""#;
    }
    if pick(2) == 1 {
        q += r#", "retention": "60s""#;
    }
    let wait = ["0s", "500ms", "20s"][pick(3) as usize];
    let json = format!(
        r#"{{
  "title": "random sqs",
  "producers": [{{ "id": "p", "to": "q", "rate": "{rate}/s", "count": {count},
                   "keys": {{ "random_of_n": {keys} }}, "faults": {{ "duplicate": {dup} }}{hdr} }}],
  "queues": [{{ "id": "q", "sqs": {{ {q} }} }}, {{ "id": "dlq", "sqs": {{ "type": "{kind}" }} }}],
  "consumers": [
    {{ "id": "c", "queue": "q", "instances": {inst}, "service": {{ "exponential": "{svc}" }},
       "failure_rate": {fail}, "sqs": {{ "wait_time": "{wait}", "max_messages": {max}, "poll_gap": "50ms" }} }},
    {{ "id": "d", "queue": "dlq", "service": {{ "constant": "20ms" }} }}
  ]
}}"#,
        rate = [5, 20, 60][pick(3) as usize],
        count = 50 + pick(150),
        keys = 1 + pick(5),
        dup = ["0", "0.2"][pick(2) as usize],
        hdr = if !fifo && pick(3) == 0 {
            r#", "headers": { "DelaySeconds": "1" }"#
        } else {
            ""
        },
        inst = 1 + pick(3),
        svc = ["20ms", "200ms", "800ms"][pick(3) as usize],
        fail = ["0", "0.2"][pick(2) as usize],
        max = 1 + pick(10),
    );
    let commands = [
        r#"{ "do": "crash_consumer", "consumer": "c", "instance": 0, "restart_after": "500ms" }"#,
        r#"{ "do": "change_message_visibility", "queue": "q", "visibility_timeout": "0s" }"#,
        r#"{ "do": "change_message_visibility", "queue": "q", "visibility_timeout": "2s" }"#,
        r#"{ "do": "redrive_dead_letters", "queue": "dlq", "to": "q" }"#,
        r#"{ "do": "set_visibility_timeout", "queue": "q", "visibility_timeout": "200ms" }"#,
        r#"{ "do": "set_wait_time", "consumer": "c", "wait_time": "0s" }"#,
        r#"{ "do": "set_wait_time", "consumer": "c", "wait_time": "5s" }"#,
        r#"{ "do": "set_max_messages", "consumer": "c", "max_messages": 3 }"#,
        r#"{ "do": "set_instances", "consumer": "c", "instances": 1 }"#,
        r#"{ "do": "set_instances", "consumer": "c", "instances": 3 }"#,
        r#"{ "do": "purge_queue", "queue": "q" }"#,
        r#"{ "do": "crash_broker", "restart_after": "1s" }"#,
    ];
    let n = pick(6);
    let mut cmds = Vec::new();
    for _ in 0..n {
        let t = 100_000 + pick(10_000) as u64 * 1000;
        cmds.push((
            t,
            commands[pick(commands.len() as u32) as usize].to_string(),
        ));
    }
    cmds.sort();
    (json, cmds)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5e5_5e5),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]
    #[test]
    fn random_sqs_scenarios_keep_every_invariant(
        genes in proptest::collection::vec(0u32..1000, 40),
        seed in 0u64..1000,
    ) {
        let (json, cmds) = random_sqs(&genes);
        let mut e = engine(&json, seed);
        for (t, c) in &cmds {
            run_checked(&mut e, *t);
            // A command may be refused (e.g. a redrive with nothing to move
            // is fine; none here should be): it must never break anything.
            e.submit(cmd(c)).unwrap_or_else(|err| panic!("{c}: {err}\n{json}"));
        }
        run_checked(&mut e, 120_000_000);
        let l = e.ledger_report();
        proptest::prop_assert_eq!(l.expected, l.exactly_once + l.duplicated + l.lost + l.pending);
    }
}

#[test]
fn the_snapshot_shows_visible_and_in_flight_with_the_next_reappearance() {
    let mut e = engine(SLOW, 1);
    run_checked(&mut e, 1_500_000);
    let snap = e.snapshot();
    let q = &snap.sqs[0];
    assert_eq!(snap.nodes[q.node].id(), "q");
    assert_eq!((q.fifo, q.visible, q.in_flight), (false, 0, 1));
    // Received at 1 s with a 1 s timeout: visible again in 0.5 s.
    assert_eq!(q.next_visible_in_us, Some(500_000));
    match &snap.nodes[q.node] {
        queuelab::engine::NodeView::Queue { depth, unacked, .. } => {
            assert_eq!((*depth, *unacked), (0, 1))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rabbitmq_definitions_leave_sqs_queues_out_with_a_note() {
    let s = queuelab::scenario::load(SLOW).unwrap();
    let (doc, notes) = queuelab::definitions::export(&s);
    assert_eq!(doc["queues"].as_array().map(|a| a.len()), Some(0));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("\"q\" is an Amazon SQS queue")),
        "{notes:?}"
    );
}

#[test]
fn run_json_reports_requests_and_cost_per_queue_and_in_total() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["run", "sqs-long-polling", "--json", "--until", "30s"])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = r["sqs"]["requests"].as_u64().unwrap();
    let node = &r["nodes"]["inbox"]["sqs"];
    assert_eq!(node["requests"].as_u64(), Some(total));
    assert_eq!(node["type"], "standard");
    assert_eq!(node["price_per_million_usd"].as_f64(), Some(0.40));
    let cost = r["sqs"]["cost_usd"].as_f64().unwrap();
    assert!((cost - total as f64 * 0.40 / 1e6).abs() < 1e-12);
    // One send a second at 1 s .. 30 s; each deleted 20 ms after it arrives,
    // so the one sent at 30 s is not deleted yet.
    assert_eq!(node["send_requests"].as_u64(), Some(30));
    assert_eq!(node["delete_requests"].as_u64(), Some(29));
    assert_eq!(total, 30 + 29 + node["receive_requests"].as_u64().unwrap());
}

#[test]
fn renaming_or_deleting_a_dead_letter_queue_keeps_the_scenario_valid() {
    use queuelab::scenario::edit;
    let mut s = queuelab::scenario::load(SLOW).unwrap();
    edit::rename(&mut s, "dlq", "parking").unwrap();
    let sq = s.queues[0].sqs.as_ref().unwrap();
    assert_eq!(sq.dead_letter_queue.as_deref(), Some("parking"));
    edit::delete(&mut s, "parking").unwrap();
    let sq = s.queues[0].sqs.as_ref().unwrap();
    assert_eq!(
        (sq.dead_letter_queue.as_ref(), sq.max_receive_count),
        (None, None)
    );
    queuelab::scenario::validate(&s).unwrap();
}

/// Ten orders at 1 a second into a standard queue (visibility timeout 2 s);
/// one consumer (300 ms a message) crashes at 3.1 s while handling the
/// fourth and comes back at 3.5 s; the guarantee dial decides when it deletes.
fn dial(guarantee: &str) -> String {
    format!(
        r#"{{
  "title": "sqs dial", "guarantee": "{guarantee}",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 10 }}],
  "queues": [{{ "id": "q", "sqs": {{ "visibility_timeout": "2s" }} }}],
  "consumers": [{{ "id": "c", "queue": "q", "service": {{ "constant": "300ms" }}, "sqs": {{ "wait_time": "20s" }} }}],
  "schedule": [{{ "at": "3.1s", "command": {{ "do": "crash_consumer", "consumer": "c", "restart_after": "400ms" }} }}]
}}"#
    )
}

#[test]
fn the_guarantee_dial_moves_the_sqs_delete_before_or_after_the_effect() {
    let ledger = |g: &str| {
        let st = story(&dial(g), 30_000_000);
        let r = serde_json::to_value(st.engine.report("t")).unwrap();
        (r["ledger"].clone(), st)
    };
    // At-most-once: deleted on receipt at 3.0 s, the crash at 3.1 s loses it.
    let (l, st) = ledger("at_most_once");
    assert_eq!(l["guarantee"], "at_most_once");
    assert_eq!(l["lost"], 1, "{l}");
    assert_eq!(l["lost_by_reason"]["lost_after_auto_ack"], 1, "{l}");
    assert_eq!(st.drops().len(), 1);
    assert!(
        l["explanation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("as soon as it receives it")),
        "{l}"
    );
    // At-least-once: not deleted yet, it reappears when its visibility
    // timeout runs out (5.0 s) and is done then; nothing lost.
    let (l, st) = ledger("at_least_once");
    assert_eq!(l["lost"], 0, "{l}");
    assert_eq!(l["exactly_once"], 10, "{l}");
    let again = times(&st, |k| {
        matches!(k, TraceKind::Delivered { attempt: 2, .. })
    });
    assert_eq!(again, vec![5_000_000]);
    // The dial is a live command too.
    let mut e = engine(&dial("at_least_once"), 1);
    e.submit(cmd(
        r#"{ "do": "set_guarantee", "guarantee": "at_most_once" }"#,
    ))
    .expect("the dial turns on an SQS scenario");
    assert_eq!(
        e.config().consumers[0].ack,
        Some(queuelab::scenario::AckMode::Auto)
    );
}

#[test]
fn a_fifo_receive_fills_up_from_one_message_group_first() {
    // Four messages A1 B2 A3 B4 (groups round robin), one consumer taking up
    // to 2 per receive. AWS: a receive returns "as many messages with the
    // same message group ID as possible", then others. While A1 is being
    // handled group A is blocked, so the next receive is B2 and B4 (not B2
    // and A3, which walking the queue in send order would give).
    let w = r#"{ "title": "fifo grouping", "seed": 1, "duration": "30s",
  "producers": [ { "id": "p", "to": "jobs", "rate": "100/s", "arrival": "constant", "count": 4,
                   "keys": { "round_robin": ["A", "B"] } } ],
  "queues": [ { "id": "jobs", "sqs": { "type": "fifo", "delay": "1s" } } ],
  "consumers": [ { "id": "w", "queue": "jobs", "instances": 1, "service": { "constant": "100ms" },
                   "sqs": { "wait_time": "20s", "max_messages": 2 } } ] }"#;
    let st = story(w, 30_000_000);
    let mut batches: Vec<(u64, Vec<u64>)> = Vec::new();
    for ev in st.matching(|k| matches!(k, TraceKind::Delivered { .. })) {
        let id = ev.msg.expect("a delivery names its message");
        match batches.last_mut() {
            Some((t, ids)) if *t == ev.t.0 => ids.push(id),
            _ => batches.push((ev.t.0, vec![id])),
        }
    }
    let ids: Vec<Vec<u64>> = batches.into_iter().map(|b| b.1).collect();
    // Message ids follow publish order: A1 = first id, B2, A3, B4.
    let first = ids[0][0];
    let (a1, b2, a3, b4) = (first, first + 1, first + 2, first + 3);
    assert_eq!(ids[0], vec![a1], "{ids:?}");
    assert_eq!(ids[1], vec![b2, b4], "{ids:?}");
    assert_eq!(ids[2], vec![a3], "{ids:?}");
}

#[test]
fn a_per_message_delay_is_whole_seconds_up_to_900_and_never_on_fifo() {
    // SendMessage: DelaySeconds 0..=900; "When you set FifoQueue, you can't
    // set DelaySeconds per message" (InvalidParameterValue).
    let world = |kind: &str, delay: &str| {
        format!(
            r#"{{ "title": "d", "producers": [ {{ "id": "p", "to": "q", "rate": "1/s",
                 "header_sets": [ {{ "DelaySeconds": "{delay}" }} ] }} ],
               "queues": [ {{ "id": "q", "sqs": {{ "type": "{kind}" }} }} ] }}"#
        )
    };
    let err = queuelab::scenario::load(&world("fifo", "10"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("producers[0].header_sets[0].DelaySeconds") && err.contains("FIFO"),
        "{err}"
    );
    let err = queuelab::scenario::load(&world("standard", "5000"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("0 to 900"), "{err}");
    let err = queuelab::scenario::load(&world("standard", "1.5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("whole seconds"), "{err}");
    assert!(queuelab::scenario::load(&world("standard", "900")).is_ok());
}

/// The same rules for a `publish_one` whose producer sends straight to an
/// SQS queue, scheduled or live: SQS refuses the send. Before, its header
/// slipped past the producer's check (found by an SQS fidelity review).
#[test]
fn a_publish_one_delay_follows_the_same_rules() {
    let world = r#"{ "title": "d",
        "producers": [ { "id": "f", "to": "q.fifo", "rate": "1/s", "keys": { "fixed": "A" } },
                       { "id": "s", "to": "std", "rate": "1/s" } ],
        "queues": [ { "id": "q.fifo", "sqs": { "type": "fifo" } }, { "id": "std", "sqs": {} } ] }"#;
    let scheduled = |producer: &str, delay: &str| {
        let mut v: serde_json::Value = serde_json::from_str(world).unwrap();
        v["schedule"] = serde_json::json!([{ "at": "1s", "command": {
            "do": "publish_one", "producer": producer, "headers": { "DelaySeconds": delay } } }]);
        queuelab::scenario::load(&v.to_string()).map_err(|e| e.to_string())
    };
    let err = scheduled("f", "5").unwrap_err();
    assert!(
        err.contains("schedule[0].command.headers.DelaySeconds") && err.contains("FIFO"),
        "{err}"
    );
    for bad in ["1000", "-3", "1.5"] {
        let err = scheduled("s", bad).unwrap_err();
        assert!(err.contains("whole seconds from 0 to 900"), "{bad}: {err}");
    }
    assert!(scheduled("s", "900").is_ok());
    // Live, from the app or a commands file: refused, not logged.
    let mut e = engine(world, 1);
    let one = |producer: &str, delay: &str| Command::PublishOne {
        producer: producer.into(),
        routing_key: None,
        key: None,
        headers: [("DelaySeconds".to_string(), delay.to_string())].into(),
    };
    let err = e.submit(one("s", "901")).unwrap_err().to_string();
    assert!(err.contains("0 to 900"), "{err}");
    assert!(e.submit(one("f", "1")).is_err());
    e.submit(one("s", "3")).unwrap();
    assert_eq!(e.command_log().len(), 1);
}

#[test]
fn a_visibility_change_cannot_reach_past_12_hours_from_the_receive() {
    // ChangeMessageVisibility: "the maximum is 12 hours from the time the
    // message was received"; past it SQS returns an error and the message
    // keeps its timeout. Received at 1 s with 12 h; at 1 h a change to 12 h
    // more (13 h from the receive) is refused, so it reappears at 12 h 1 s.
    // At 2 h a change to 10 h (12 h from the receive) is accepted.
    let w = |at: &str, to: &str| {
        format!(
            r#"{{ "title": "cmv 12h", "seed": 1, "duration": "14h",
  "producers": [ {{ "id": "p", "to": "jobs", "rate": "1/s", "count": 1, "arrival": "constant" }} ],
  "queues": [ {{ "id": "jobs", "sqs": {{ "visibility_timeout": "12h" }} }} ],
  "consumers": [ {{ "id": "w", "queue": "jobs", "service": {{ "constant": "13h" }}, "sqs": {{ "wait_time": "20s" }} }} ],
  "schedule": [ {{ "at": "{at}", "command": {{ "do": "change_message_visibility", "queue": "jobs", "visibility_timeout": "{to}" }} }} ] }}"#
        )
    };
    let again = |st: &Story| -> Vec<u64> {
        st.matching(|k| matches!(k, TraceKind::SqsVisibleAgain { .. }))
            .iter()
            .map(|e| e.t.0)
            .collect()
    };
    let h = 3_600_000_000u64;
    let st = story(&w("1h", "12h"), 14 * h);
    assert_eq!(
        st.matching(|k| matches!(k, TraceKind::SqsVisibilityRefused { .. }))
            .len(),
        1
    );
    assert_eq!(again(&st)[0], 12 * h + 1_000_000);
    let st = story(&w("2h", "10h"), 14 * h);
    assert!(st
        .matching(|k| matches!(k, TraceKind::SqsVisibilityRefused { .. }))
        .is_empty());
    assert_eq!(again(&st)[0], 12 * h);
}

#[test]
fn a_redriven_message_starts_its_retention_over() {
    // Sent at 1 s, dead-lettered after one receive, redriven at 100 s into
    // a queue with 120 s retention: it expires at 220 s, not at 121 s.
    let json = r#"{"title":"redrive-retention","seed":1,"duration":"300s",
"producers":[{"id":"p","to":"q","rate":"1/s","count":1,"arrival":"constant"}],
"queues":[{"id":"q","sqs":{"visibility_timeout":"5s","retention":"120s","dead_letter_queue":"dlq","max_receive_count":1}},{"id":"dlq","sqs":{"retention":"336h"}}],
"consumers":[{"id":"w","queue":"q","instances":1,"service":{"constant":"100ms"},"failure_rate":1.0,"sqs":{"wait_time":"20s"}}],
"schedule":[{"at":"30s","command":{"do":"crash_consumer","consumer":"w"}},
            {"at":"100s","command":{"do":"redrive_dead_letters","queue":"dlq"}}]}"#;
    let s = story(json, 300_000_000);
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::SqsRedriven { .. })),
        [100_000_000]
    );
    assert_eq!(
        times(&s, |k| matches!(k, TraceKind::Expired)),
        [220_000_000]
    );
}

#[test]
fn a_fifo_receive_looks_at_the_first_120000_messages_only() {
    // AWS: "FIFO queues scan the first 120,000 messages to determine
    // available message groups": behind 120,500 messages of group A (its
    // head in flight), a message of group B is not found. With 100 fewer A
    // messages it is. Long-polling waiters also must not rescan the whole
    // blocked backlog at every send (this ran for minutes).
    let world = |n_a: u32| {
        format!(
            r#"{{"title":"fifo-scan","seed":1,"duration":"70s",
"producers":[{{"id":"pa","to":"q.fifo","rate":"100000/s","count":{n_a},"arrival":"constant","keys":{{"fixed":"A"}}}},
             {{"id":"pb","to":"q.fifo","rate":"1/s","count":1,"start":"5s","arrival":"constant","keys":{{"fixed":"B"}}}}],
"queues":[{{"id":"q.fifo","sqs":{{"type":"fifo","visibility_timeout":"12h","throughput_per_s":100000}}}}],
"consumers":[{{"id":"w","queue":"q.fifo","instances":2,"service":{{"constant":"1h"}},"sqs":{{"wait_time":"20s","max_messages":1}}}}]}}"#
        )
    };
    // Run without the per-event invariant checks of `story` (each walks the
    // whole backlog); they run once at the end.
    let b_received = |n_a: u32| {
        let mut e = crate::common::engine(&world(n_a), 1);
        e.run_until(queuelab::engine::SimTime(70_000_000), u64::MAX);
        e.check_invariants().unwrap();
        e.take_trace()
            .iter()
            .any(|t| matches!(t.kind, TraceKind::Delivered { .. }) && t.msg == Some(n_a as u64 + 1))
    };
    assert!(!b_received(120_500), "B lies past the first 120,000");
    assert!(b_received(119_900), "B lies within the first 120,000");
}

#[test]
fn a_fifo_queue_holds_at_most_120000_messages_in_flight() {
    // AWS: "FIFO queues support a maximum of 120,000 in-flight messages
    // ... If this limit is reached, Amazon SQS does not return an error."
    // 125,000 messages, each its own group, none ever deleted (every handling
    // fails, the visibility timeout is 12 h): receives stop at exactly
    // 120,000 in flight and the last 5,000 stay visible.
    let keys = |p: &str| {
        (0..62_500)
            .map(|i| format!("\"{p}{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let producer = |p: &str| {
        format!(
            r#"{{"id":"{p}","to":"q","rate":"62500/s","count":62500,"arrival":{{"bursts":{{"size":62500}}}},"keys":{{"round_robin":[{}]}}}}"#,
            keys(p)
        )
    };
    let json = format!(
        r#"{{"title":"fifo in flight","seed":1,"duration":"200s",
"producers":[{},{}],
"queues":[{{"id":"q","sqs":{{"type":"fifo","visibility_timeout":"12h","throughput_per_s":100000}}}}],
"consumers":[{{"id":"c","queue":"q","instances":20,"service":{{"constant":"1ms"}},"failure_rate":1.0,
  "sqs":{{"wait_time":"0s","poll_gap":"30s","max_messages":10}}}}]}}"#,
        producer("a"),
        producer("b")
    );
    let mut e = crate::common::engine(&json, 1);
    e.set_trace_capture(false, 0);
    e.run_until(queuelab::engine::SimTime(200_000_000), u64::MAX);
    e.check_invariants().unwrap();
    let r = e.sqs_report().unwrap();
    let q = &r.queues["q"];
    assert_eq!((q.in_flight, q.visible), (120_000, 5_000));
    assert_eq!(q.counts.received, 120_000);
}

#[test]
fn a_keyless_message_routed_to_a_fifo_queue_is_refused() {
    // SendMessage to a FIFO queue without a MessageGroupId fails
    // (`MissingParameter`); a keyless producer sending straight to the
    // queue is refused by validation, one reaching it through an exchange
    // has its messages dropped as `sqs_missing_group_id`, and a keyed one
    // on the same route gets through (its first send: 1 s after its start).
    let json = r#"{
  "title": "fifo via exchange",
  "producers": [
    { "id": "plain", "to": "x", "routing_key": "k", "rate": "1/s", "arrival": "constant", "count": 2 },
    { "id": "keyed", "to": "x", "routing_key": "k", "rate": "1/s", "arrival": "constant", "count": 1,
      "start": "500ms", "keys": { "fixed": "g" } }
  ],
  "exchanges": [{ "id": "x", "kind": "direct", "bindings": [{ "queue": "q", "key": "k" }] }],
  "queues": [{ "id": "q", "sqs": { "type": "fifo" } }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "sqs": { "wait_time": "20s" } }]
}"#;
    let s = story(json, 5_000_000);
    let missing: Vec<u64> = s
        .drops()
        .iter()
        .filter(|d| d.2 == Reason::SqsMissingGroupId)
        .map(|d| d.0)
        .collect();
    assert_eq!(missing, [1_000_000, 2_000_000]);
    assert_eq!(
        receives(&s, "c").iter().map(|r| r.0).collect::<Vec<_>>(),
        [1_500_000]
    );
    let c = s.engine.sqs_counts("q").unwrap();
    assert_eq!(c.stored, 1);
    let direct = json.replace(
        r#""to": "x", "routing_key": "k", "rate": "1/s", "arrival": "constant", "count": 2"#,
        r#""to": "q", "rate": "1/s", "arrival": "constant", "count": 2"#,
    );
    let err = queuelab::scenario::load(&direct).unwrap_err().to_string();
    assert!(err.contains("producers[0].keys"), "{err}");
}

/// "You must associate a non-empty MessageGroupId with a message" (SQS
/// `SendMessage`): an empty key is refused like a missing one, by
/// validation for a producer that sends straight to a FIFO queue (naming
/// the empty entry) and for a `publish_one` key, and at the send for a
/// message routed in through an exchange.
#[test]
fn a_fifo_message_group_id_must_not_be_empty() {
    let direct = |keys: serde_json::Value| {
        serde_json::json!({
            "title": "empty group", "seed": 1, "duration": "10s",
            "producers": [{"id": "p", "to": "q", "rate": "1/s", "count": 2, "keys": keys}],
            "queues": [{"id": "q", "sqs": {"type": "fifo"}}],
            "consumers": [{"id": "c", "queue": "q", "service": {"constant": "10ms"}}]
        })
        .to_string()
    };
    for (keys, at) in [
        (serde_json::json!({"fixed": ""}), "producers[0].keys.fixed:"),
        (
            serde_json::json!({"round_robin": ["a", ""]}),
            "producers[0].keys.round_robin[1]:",
        ),
        (
            serde_json::json!({"weighted": [{"key": "a", "weight": 1}, {"key": "", "weight": 1}]}),
            "producers[0].keys.weighted[1].key:",
        ),
    ] {
        let err = queuelab::scenario::load(&direct(keys))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(at) && err.contains("empty MessageGroupId"),
            "{err}"
        );
    }
    queuelab::scenario::load(&direct(serde_json::json!({"random_of_n": 3})))
        .expect("non-empty keys");
    let w = direct(serde_json::json!({"fixed": "g"})).replace(
        r#""duration":"10s","#,
        r#""duration":"10s","schedule":[{"at":"1s","command":{"do":"publish_one","producer":"p","key":""}}],"#,
    );
    let err = queuelab::scenario::load(&w).unwrap_err().to_string();
    assert!(
        err.contains("schedule[0].command.key:") && err.contains("empty MessageGroupId"),
        "{err}"
    );
    // Through an exchange: dropped at the send, as a missing group id.
    let via = serde_json::json!({
        "title": "empty group via exchange", "seed": 1, "duration": "10s",
        "producers": [{"id": "p", "to": "x", "routing_key": "k", "rate": "1/s", "arrival": "constant",
                       "count": 2, "keys": {"fixed": ""}}],
        "exchanges": [{"id": "x", "kind": "direct", "bindings": [{"queue": "q", "key": "k"}]}],
        "queues": [{"id": "q", "sqs": {"type": "fifo"}}],
        "consumers": [{"id": "c", "queue": "q", "service": {"constant": "10ms"}}]
    });
    let s = story(&via.to_string(), 10_000_000);
    let missing = s
        .drops()
        .iter()
        .filter(|d| d.2 == Reason::SqsMissingGroupId)
        .count();
    assert_eq!(missing, 2);
    assert_eq!(s.engine.sqs_counts("q").unwrap().stored, 0);
}

// ------------------------------------------------- review against AWS docs

fn sqs_counts(s: &Story, queue: &str) -> serde_json::Value {
    serde_json::to_value(s.engine.report("t")).unwrap()["nodes"][queue]["sqs"].clone()
}

/// "Each 64 KB chunk of a payload is billed as 1 request" (SQS pricing):
/// one receive that returns ten 10 KiB messages (100 KiB) is two requests,
/// beside the two empty receives before the messages came.
#[test]
fn a_receive_is_billed_per_started_64_kib_of_what_it_returns() {
    let w = serde_json::json!({
        "title": "bill", "seed": 1, "duration": "61s",
        "producers": [{"id": "p", "to": "q", "rate": "10/s", "count": 10, "arrival": "constant", "payload_bytes": 10240}],
        "queues": [{"id": "q", "sqs": {}}],
        "consumers": [{"id": "c", "queue": "q", "service": {"constant": "1ms"}, "sqs": {"max_messages": 10, "poll_gap": "60s"}}]
    });
    let s = story(&w.to_string(), 61_000_000);
    let c = sqs_counts(&s, "q");
    assert_eq!(c["empty_receives"], 2);
    assert_eq!(c["received"], 10);
    assert_eq!(c["receive_requests"], 2 + 2);
    assert_eq!(c["send_requests"], 10);
}

/// "All redriven messages are considered new messages" (SQS, DLQ redrive):
/// a receipt handle taken before the redrive must not delete the redriven
/// message. `slow` received it at 1 s and works 30 s; it moved to the DLQ
/// at 6 s, came back at 10 s, was received by `failing` (which fails) and
/// held 60 s by a visibility change at 11 s. `slow`'s delete at 31 s is
/// stale; the message reappears at 71 s and moves to the DLQ again.
#[test]
fn a_receipt_from_before_a_redrive_does_not_delete_the_redriven_message() {
    let w = serde_json::json!({
        "title": "redrive receipt", "seed": 1, "duration": "100s",
        "producers": [{"id": "p", "to": "q", "rate": "1/s", "count": 1, "arrival": "constant"}],
        "queues": [{"id": "q", "sqs": {"visibility_timeout": "5s", "dead_letter_queue": "dlq", "max_receive_count": 1}},
                   {"id": "dlq", "sqs": {}}],
        "consumers": [
            {"id": "slow", "queue": "q", "service": {"constant": "30s"}, "sqs": {"wait_time": "20s"}},
            {"id": "failing", "queue": "q", "service": {"constant": "1ms"}, "failure_rate": 1.0, "sqs": {"wait_time": "20s"}}],
        "schedule": [
            {"at": "10s", "command": {"do": "redrive_dead_letters", "queue": "dlq"}},
            {"at": "11s", "command": {"do": "change_message_visibility", "queue": "q", "visibility_timeout": "60s"}}]
    });
    let s = story(&w.to_string(), 100_000_000);
    let c = sqs_counts(&s, "q");
    assert_eq!(
        (c["deleted"].clone(), c["stale_deletes"].clone()),
        (0.into(), 1.into())
    );
    assert_eq!(c["moved_to_dlq"], 2);
    let moved: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::SqsMovedToDlq { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(moved, [6_000_000, 71_000_000]);
    assert_eq!(sqs_counts(&s, "dlq")["admin_requests"], 1);
}

/// The same rule when nobody receives the redriven message: `c` received it
/// at 1 s (handle 1) and works 10 s; `d` received it at 3 s, which moved it
/// to the DLQ; at 5 s it is redriven back to `q` and waits there. `c`'s
/// delete at 11 s carries a handle from before the redrive: stale, the
/// message stays visible (it used to be deleted: the redriven message's
/// first handle equalled the last one given out). `c` then receives it
/// anew and deletes it with that handle at 21 s.
#[test]
fn a_receipt_from_before_a_redrive_is_stale_while_nobody_received_it_since() {
    let w = serde_json::json!({
        "title": "redrive stale", "seed": 1, "duration": "30s",
        "producers": [{"id": "p", "to": "q", "rate": "1/s", "count": 0}],
        "queues": [{"id": "q", "sqs": {"visibility_timeout": "2s", "dead_letter_queue": "dlq", "max_receive_count": 1}},
                   {"id": "dlq", "sqs": {}}],
        "consumers": [
            {"id": "c", "queue": "q", "service": {"constant": "10s"}, "sqs": {"wait_time": "20s"}},
            {"id": "d", "queue": "q", "instances": 0, "service": {"constant": "10ms"}, "sqs": {"wait_time": "20s"}}],
        "schedule": [
            {"at": "1s", "command": {"do": "publish_one", "producer": "p"}},
            {"at": "2s", "command": {"do": "set_instances", "consumer": "d", "instances": 1}},
            {"at": "4s", "command": {"do": "set_instances", "consumer": "d", "instances": 0}},
            {"at": "5s", "command": {"do": "redrive_dead_letters", "queue": "dlq"}}]
    });
    let s = story(&w.to_string(), 30_000_000);
    let c = sqs_counts(&s, "q");
    assert_eq!(c["moved_to_dlq"], 1);
    assert_eq!(
        (c["deleted"].clone(), c["stale_deletes"].clone()),
        (1.into(), 1.into()),
        "{c}"
    );
    let stale: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::SqsDeleteStale { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(stale, [11_000_000]);
    let received_by_c: Vec<u64> = s.deliveries("c").iter().map(|d| d.0).collect();
    assert_eq!(received_by_c, [1_000_000, 11_000_000]);
    assert_eq!(s.engine.totals().completed, 1);
}

/// "Dead-letter queues redrive messages in the order they are received,
/// starting with the oldest message" (SQS, DLQ redrive). Three group-X
/// messages are processed first, so their arena slots are free again; A1,
/// A2, A3 then fail into the FIFO DLQ in that order and reuse the slots in
/// another order. The redrive must bring them back A1, A2, A3, and group A
/// is then processed in send order (it came back A3, A2, A1: the arena's order).
#[test]
fn a_redrive_moves_the_oldest_dead_letter_first() {
    let w = serde_json::json!({
        "title": "fifo redrive order", "seed": 1, "duration": "60s",
        "producers": [{"id": "p", "to": "q", "rate": "1/s", "count": 0, "keys": {"fixed": "A"}}],
        "queues": [{"id": "q", "sqs": {"type": "fifo", "visibility_timeout": "2s", "dead_letter_queue": "dlq", "max_receive_count": 1}},
                   {"id": "dlq", "sqs": {"type": "fifo"}}],
        "consumers": [{"id": "c", "queue": "q", "service": {"constant": "100ms"}, "sqs": {"wait_time": "20s"}}],
        "schedule": [
            {"at": "1s", "command": {"do": "publish_one", "producer": "p", "key": "X"}},
            {"at": "1s", "command": {"do": "publish_one", "producer": "p", "key": "X"}},
            {"at": "1s", "command": {"do": "publish_one", "producer": "p", "key": "X"}},
            {"at": "3s", "command": {"do": "set_failure_rate", "consumer": "c", "failure_rate": 1.0}},
            {"at": "4s", "command": {"do": "publish_one", "producer": "p", "key": "A"}},
            {"at": "4.1s", "command": {"do": "publish_one", "producer": "p", "key": "A"}},
            {"at": "4.2s", "command": {"do": "publish_one", "producer": "p", "key": "A"}},
            {"at": "20s", "command": {"do": "set_failure_rate", "consumer": "c", "failure_rate": 0.0}},
            {"at": "25s", "command": {"do": "redrive_dead_letters", "queue": "dlq"}}]
    });
    let s = story(&w.to_string(), 60_000_000);
    let moved: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::SqsMovedToDlq { .. }))
        .iter()
        .map(|e| e.msg.unwrap())
        .collect();
    assert_eq!(moved.len(), 3, "A1, A2, A3 dead-lettered");
    let redriven: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::SqsRedriven { .. }))
        .iter()
        .map(|e| e.msg.unwrap())
        .collect();
    assert_eq!(redriven, moved, "redriven oldest first");
    let after: Vec<u64> = s
        .deliveries("c")
        .into_iter()
        .filter(|&(t, ..)| t >= 25_000_000)
        .map(|(_, m, ..)| m)
        .collect();
    assert_eq!(
        after, moved,
        "group A processed in send order after the redrive"
    );
}

/// Two queues that are each other's dead-letter queue would move a message
/// back and forth at every receive (it keeps its receive count): refused at
/// load, naming the cycle (this used to run forever within one instant).
#[test]
fn dead_letter_queues_in_a_cycle_are_refused() {
    let w = serde_json::json!({
        "title": "cycle",
        "queues": [{"id": "a", "sqs": {"dead_letter_queue": "b", "max_receive_count": 1}},
                   {"id": "b", "sqs": {"dead_letter_queue": "c", "max_receive_count": 1}},
                   {"id": "c", "sqs": {"dead_letter_queue": "a", "max_receive_count": 1}},
                   {"id": "d", "sqs": {"dead_letter_queue": "a", "max_receive_count": 1}}]
    });
    let err = queuelab::scenario::load(&w.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "queues[0].sqs.dead_letter_queue: dead-letter queues form a cycle (a → b → c → a)"
        ),
        "{err}"
    );
    // d leads into the cycle but is not on it: no error of its own.
    assert!(!err.contains("queues[3]"), "{err}");
}

/// Every bad value of an SQS block is reported at once, and scheduled SQS
/// commands aimed at the wrong kind of node are load errors (they used to
/// pass and then be skipped at run time).
#[test]
fn sqs_validation_reports_every_problem_and_checks_scheduled_commands() {
    let w = serde_json::json!({
        "title": "bad",
        "producers": [{"id": "p", "to": "amqp", "rate": "1/s"}],
        "queues": [{"id": "amqp"}, {"id": "q", "sqs": {"delay": "901s", "retention": "59s"}}, {"id": "f", "sqs": {"type": "fifo"}}],
        "consumers": [{"id": "c", "queue": "amqp", "service": {"constant": "1ms"}},
                      {"id": "s", "queue": "q", "service": {"constant": "1ms"}, "sqs": {"wait_time": "21s", "max_messages": 11}}],
        "schedule": [
            {"at": "1s", "command": {"do": "change_message_visibility", "queue": "amqp", "visibility_timeout": "1s"}},
            {"at": "1s", "command": {"do": "set_wait_time", "consumer": "c", "wait_time": "5s"}},
            {"at": "1s", "command": {"do": "redrive_dead_letters", "queue": "q", "to": "f"}},
            {"at": "1s", "command": {"do": "redrive_dead_letters", "queue": "q", "to": "q"}},
            {"at": "1s", "command": {"do": "set_max_length", "queue": "q", "max_length": 5}},
            {"at": "1s", "command": {"do": "set_prefetch", "consumer": "s", "prefetch": 5}}]
    });
    let err = queuelab::scenario::load(&w.to_string())
        .unwrap_err()
        .to_string();
    for want in [
        "queues[1].sqs.delay:",
        "queues[1].sqs.retention:",
        "consumers[1].sqs.wait_time:",
        "consumers[1].sqs.max_messages:",
        "schedule[0].command.queue: amqp is not an SQS queue",
        "schedule[1].command.consumer: c does not read an SQS queue",
        "schedule[2].command.to: must be of the same type",
        "schedule[3].command.to: cannot redrive a queue into itself",
        "schedule[4].command.queue: q is an SQS queue",
        "schedule[5].command.consumer: s reads an SQS queue",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
}

/// One message at 1 s, received at once by a long-polling consumer that
/// takes 2 s over it (visibility timeout 3 s); at 1.5 s, while it holds the
/// message, a command flips when the consumer deletes.
fn ack_switch(ack: &str, failure_rate: f64, command: &str) -> String {
    format!(
        r#"{{ "title": "ack mode switched while a message is held", "duration": "10s",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }}],
  "queues": [{{ "id": "q", "sqs": {{ "visibility_timeout": "3s" }} }}],
  "consumers": [{{ "id": "c", "queue": "q", "ack": "{ack}", "service": {{ "constant": "2s" }},
                  "failure_rate": {failure_rate}, "sqs": {{ "wait_time": "20s" }} }}],
  "schedule": [{{ "at": "1.5s", "command": {command} }}] }}"#
    )
}

#[test]
fn the_ack_mode_of_the_receive_decides_its_delete_not_the_mode_at_the_end() {
    // The consumer is its SQS client: it either deleted the message right
    // after ReceiveMessage (auto) or deletes it after the handler's effect
    // (after_processing). A later `set_ack_mode` or `set_guarantee` changes
    // what it does with its next receives, not with the message in hand
    // (the AMQP consumer records `AUTO_ACKED` per delivery likewise).
    let deletes = |s: &Story| {
        let r = serde_json::to_value(s.engine.report("t")).unwrap();
        r["nodes"]["q"]["sqs"]["delete_requests"].as_u64().unwrap()
    };
    let acked = |s: &Story| times(s, |k| matches!(k, TraceKind::Acked { .. }));
    let to_auto = r#"{ "do": "set_ack_mode", "consumer": "c", "ack": "auto" }"#;
    let to_after = r#"{ "do": "set_ack_mode", "consumer": "c", "ack": "after_processing" }"#;
    let dial_amo = r#"{ "do": "set_guarantee", "guarantee": "at_most_once" }"#;
    // Received at 1 s under after_processing, switched to auto at 1.5 s (by
    // the knob or by the dial): still deleted after its effect at 3 s, once.
    // Before, nothing deleted it (the consumer thought it had at receive),
    // it reappeared at 4 s and was handled a second time.
    for cmd in [to_auto, dial_amo] {
        let s = story(&ack_switch("after_processing", 0.0, cmd), 10_000_000);
        assert_eq!(receives(&s, "c"), [(1_000_000, 1, 0, 1)], "{cmd}");
        assert_eq!(acked(&s), [3_000_000], "{cmd}");
        assert_eq!(deletes(&s), 1, "{cmd}");
        let t = s.engine.totals_now();
        assert_eq!(
            (t.processed, t.redelivered, t.completed),
            (1, 0, 1),
            "{cmd}"
        );
        assert_eq!(s.engine.ledger_report().exactly_once, 1, "{cmd}");
    }
    // Received at 1 s under auto (deleted at once), switched to
    // after_processing: no second DeleteMessage at 3 s.
    let s = story(&ack_switch("auto", 0.0, to_after), 10_000_000);
    assert_eq!(acked(&s), [1_000_000]);
    assert_eq!(deletes(&s), 1, "one DeleteMessage, at the receive");
    assert_eq!(s.engine.totals_now().completed, 1);
    // The same with a failing handler: the message deleted on receipt is
    // lost at 3 s (`lost_after_auto_ack`), as without the switch.
    let s = story(&ack_switch("auto", 1.0, to_after), 10_000_000);
    assert_eq!(s.drops(), [(3_000_000, 1, Reason::LostAfterAutoAck)]);
    assert_eq!(s.engine.ledger_report().lost, 1);
    assert_eq!(receives(&s, "c").len(), 1, "nobody sees it again");
}
