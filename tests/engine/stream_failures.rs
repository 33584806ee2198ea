//! Stories of a stream consumer's failed records (`on_failure`) and of tombstones.
//!
//! Blocking retry stalls the partition behind the failing record; `skip` and
//! `dead_letter` move on; `retry_topics` moves failed records through retry
//! topics with delays (order per key is given up), then the dead-letter topic.
//! Tombstones delete their key at the first compaction after `delete_retention`.

use crate::common::{story, Story};
use crate::streams::{group, topic};
use queuelab::engine::{SimTime, TraceKind};
use queuelab::scenario;

/// One partition, three records 100 ms apart, 10 ms service, every attempt fails.
fn failing(on_failure: &str, extra_topics: &str) -> Story {
    story(
        &format!(
            r#"{{ "title": "failing",
             "producers": [{{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 3,
                             "keys": {{ "fixed": "k" }} }}],
             "topics": [{{ "id": "t", "partitions": 1 }}{extra_topics}],
             "consumer_groups": [{{ "id": "g", "topics": ["t"], "rebalance_pause": "0ms",
                 "auto_offset_reset": "earliest", "commit": {{ "after_processing": {{ "per": "record" }} }},
                 "service": {{ "constant": "10ms" }}, "failure_rate": 1.0,
                 "on_failure": {on_failure} }}] }}"#
        ),
        10_000_000,
    )
}

/// (t_us, msg) of every event of a kind.
fn times(s: &Story, f: impl Fn(&TraceKind) -> bool) -> Vec<(u64, u64)> {
    s.matching(f)
        .iter()
        .map(|e| (e.t.0, e.msg.unwrap_or(0)))
        .collect()
}

#[test]
fn blocking_retry_stalls_the_partition_behind_the_failing_record() {
    let s = failing(
        r#"{ "blocking": { "backoff": "100ms", "attempts": 3 } }"#,
        "",
    );
    // Record 1 (appended at 100 ms): attempts end at 110, 220, 330 ms (10 ms
    // service + 100 ms back-off each), then it is given up; records 2 and 3
    // (appended at 200 and 300 ms) wait behind it, head-of-line.
    let failed = times(&s, |k| matches!(k, TraceKind::Failed { .. }));
    let ms = |v: &[u64]| v.iter().map(|t| t * 1000).collect::<Vec<u64>>();
    assert_eq!(
        failed.iter().map(|x| x.0).collect::<Vec<_>>(),
        ms(&[110, 220, 330, 340, 450, 560, 570, 680, 790])
    );
    assert_eq!(
        failed.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec![1, 1, 1, 2, 2, 2, 3, 3, 3]
    );
    let backoffs = s.matching(|k| {
        matches!(
            k,
            TraceKind::RetryScheduled {
                delay_us: 100_000,
                ..
            }
        )
    });
    assert_eq!(backoffs.len(), 6);
    let dropped = times(&s, |k| matches!(k, TraceKind::Dropped { .. }));
    assert_eq!(dropped, vec![(330_000, 1), (560_000, 2), (790_000, 3)]);
    let g = group(&s.engine, "g");
    assert_eq!(
        (
            g.processed,
            g.failed,
            g.retried,
            g.failed_skipped,
            g.dead_lettered
        ),
        (0, 9, 6, 3, 0)
    );
    // The partition moved on past every given-up record and committed it.
    assert_eq!(g.partitions[0].committed, Some(3));
    assert_eq!(g.lag, 0);
}

#[test]
fn skip_gives_up_at_once_and_the_partition_keeps_flowing() {
    let s = failing(r#""skip""#, "");
    let dropped = times(&s, |k| matches!(k, TraceKind::Dropped { .. }));
    assert_eq!(dropped, vec![(110_000, 1), (210_000, 2), (310_000, 3)]);
    let g = group(&s.engine, "g");
    assert_eq!((g.failed, g.retried, g.failed_skipped), (3, 0, 3));
}

#[test]
fn dead_letter_topic_gets_the_record_after_n_attempts() {
    let s = failing(
        r#"{ "dead_letter": { "topic": "t-dlt", "attempts": 2, "backoff": "50ms" } }"#,
        r#", { "id": "t-dlt", "partitions": 1 }"#,
    );
    let sent: Vec<(u64, u64, u64, u32)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::SentToDeadLetterTopic { copy, attempts, .. } => {
                Some((e.t.0, e.msg?, copy, attempts))
            }
            _ => None,
        })
        .collect();
    // Attempt 1 ends at 110 ms, attempt 2 at 170 ms: off to the DLT as a new record.
    assert_eq!(sent[0], (170_000, 1, 2, 2));
    assert_eq!(sent.len(), 3);
    // Each copy is a real append to the dead-letter topic, in order.
    let dlt = s.node("t-dlt");
    let appended: Vec<(u64, u64)> = s
        .trace
        .iter()
        .filter(|e| e.node == dlt)
        .filter_map(|e| match e.kind {
            TraceKind::Appended { offset, .. } => Some((e.msg?, offset)),
            _ => None,
        })
        .collect();
    assert_eq!(
        appended,
        sent.iter()
            .enumerate()
            .map(|(i, x)| (x.2, i as u64))
            .collect::<Vec<_>>()
    );
    let t = topic(&s.engine, "t-dlt");
    assert_eq!(t.appended, 3);
    let g = group(&s.engine, "g");
    assert_eq!(
        (g.failed, g.retried, g.dead_lettered, g.failed_skipped),
        (6, 3, 3, 0)
    );
    assert_eq!(g.partitions[0].committed, Some(3));
    // The run's totals (the header strip) count them as a queue's would.
    let totals = s.engine.totals();
    assert_eq!(
        (totals.failed, totals.retried, totals.dead_lettered),
        (6, 3, 3)
    );
}

#[test]
fn retry_topics_wait_their_delay_then_dead_letter() {
    let s = failing(
        r#"{ "retry_topics": { "topics": [{ "topic": "t-retry-0", "delay": "1s" },
                                          { "topic": "t-retry-1", "delay": "2s" }],
                               "dead_letter": "t-dlt" } }"#,
        r#", { "id": "t-retry-0", "partitions": 1 }, { "id": "t-retry-1", "partitions": 1 },
            { "id": "t-dlt", "partitions": 1 }"#,
    );
    // Every record: fails on t, waits 1 s in t-retry-0, fails, waits 2 s in
    // t-retry-1, fails, goes to t-dlt. The main partition never waits.
    let to_retry: Vec<(u64, u64, u32)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::SentToRetryTopic { copy, attempt, .. } => Some((e.t.0, copy, attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(to_retry.len(), 6);
    assert_eq!(
        &to_retry[..3],
        &[(110_000, 2, 1), (210_000, 4, 1), (310_000, 6, 1)],
        "the main partition moves on at once"
    );
    // A retry topic's record is fetched exactly its delay after it was appended.
    let retry0 = s.node("t-retry-0");
    let fetched0: Vec<u64> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Fetched { topic, .. } if topic == retry0 => Some(e.t.0),
            _ => None,
        })
        .collect();
    assert_eq!(fetched0, vec![1_110_000, 1_210_000, 1_310_000]);
    let dead: Vec<u32> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::SentToDeadLetterTopic { attempts, .. } => Some(attempts),
            _ => None,
        })
        .collect();
    assert_eq!(dead, vec![3, 3, 3]);
    let g = group(&s.engine, "g");
    assert_eq!(
        (g.failed, g.sent_to_retry_topics, g.dead_lettered, g.lag),
        (9, 6, 3, 0)
    );
    assert_eq!(topic(&s.engine, "t-dlt").appended, 3);
    let totals = s.engine.totals();
    assert_eq!(
        (totals.retried, totals.dead_lettered),
        (6, 3),
        "retry-topic sends are retries"
    );
}

#[test]
fn retry_topics_recover_records_but_lose_order_per_key() {
    let s = story(
        r#"{ "title": "retry topics order",
             "producers": [{ "id": "p", "to": "t", "rate": "20/s", "arrival": "constant", "count": 100,
                             "keys": { "fixed": "k" } }],
             "topics": [{ "id": "t", "partitions": 1 }, { "id": "t-retry", "partitions": 1 },
                        { "id": "t-dlt", "partitions": 1 }],
             "consumer_groups": [{ "id": "g", "topics": ["t"], "rebalance_pause": "0ms",
                 "auto_offset_reset": "earliest", "service": { "constant": "5ms" }, "failure_rate": 0.3,
                 "commit": { "after_processing": { "per": "record" } },
                 "on_failure": { "retry_topics": { "topics": [{ "topic": "t-retry", "delay": "500ms" }],
                                                   "dead_letter": "t-dlt" } } }] }"#,
        20_000_000,
    );
    let g = group(&s.engine, "g");
    // Every record ends exactly one way: processed first time, recovered from
    // the retry topic, or dead-lettered.
    assert_eq!(g.processed + g.dead_lettered, 100);
    assert_eq!(g.sent_to_retry_topics, g.recovered + g.dead_lettered);
    assert!(g.recovered > 5 && g.dead_lettered > 0, "{g:?}");
    // Publish time of each processed record (by key "k"), in processing order:
    // retried records are processed after later ones, so it is not sorted.
    let mut published = std::collections::BTreeMap::new();
    for e in &s.trace {
        if matches!(e.kind, TraceKind::Published { .. }) {
            published.insert(e.msg.unwrap(), e.t.0);
        }
    }
    let mut origin = std::collections::BTreeMap::new();
    for e in &s.trace {
        if let TraceKind::SentToRetryTopic { copy, .. } = e.kind {
            origin.insert(copy, published[&e.msg.unwrap()]);
        }
    }
    let order: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::Processed { .. }))
        .iter()
        .map(|e| {
            let m = e.msg.unwrap();
            published.get(&m).or(origin.get(&m)).copied().unwrap()
        })
        .collect();
    assert!(
        order.windows(2).any(|w| w[0] > w[1]),
        "order per key is lost"
    );
}

#[test]
fn without_failures_on_failure_changes_nothing() {
    let run = |on_failure: &str| {
        story(
            &format!(
                r#"{{ "title": "no failures",
                 "producers": [{{ "id": "p", "to": "t", "rate": "200/s", "count": 300,
                                 "keys": {{ "random_of_n": 20 }} }}],
                 "topics": [{{ "id": "t", "partitions": 3 }}, {{ "id": "t-retry", "partitions": 3 }}],
                 "consumer_groups": [{{ "id": "g", "topics": ["t"], "members": 2,
                     "auto_offset_reset": "earliest", "service": {{ "exponential": "2ms" }}
                     {on_failure} }}] }}"#
            ),
            5_000_000,
        )
    };
    let plain = run("");
    let with = run(
        r#", "on_failure": { "retry_topics": { "topics": [{ "topic": "t-retry", "delay": "1s" }] } }"#,
    );
    // The same records, each processed once (members also own the empty retry
    // topic's partitions, so polls may take partitions in another turn).
    let processed = |s: &Story| {
        let mut v: Vec<u64> = s
            .matching(|k| matches!(k, TraceKind::Processed { .. }))
            .iter()
            .map(|e| e.msg.unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(processed(&plain), (1..=300).collect::<Vec<u64>>());
    assert_eq!(processed(&plain), processed(&with));
    assert_eq!(topic(&with.engine, "t-retry").appended, 0);
    assert_eq!(group(&with.engine, "g").failed, 0);
}

#[test]
fn tombstones_delete_their_key_after_delete_retention() {
    let s = story(
        r#"{ "title": "tombstones",
             "producers": [{ "id": "p", "to": "c", "rate": "10/s", "arrival": "constant", "count": 6,
                             "keys": { "round_robin": ["a", "b", "c"] } },
                           { "id": "del", "to": "c", "rate": "10/s", "arrival": "constant", "count": 1,
                             "start": "600ms", "keys": { "fixed": "a" }, "tombstone_ratio": 1.0 }],
             "topics": [{ "id": "c", "partitions": 1, "cleanup": "compact",
                          "compaction_interval": "1s", "delete_retention": "2s" }],
             "consumer_groups": [{ "id": "g", "topics": ["c"], "auto_offset_reset": "earliest",
                                   "service": { "constant": "1ms" } }] }"#,
        1_500_000,
    );
    // a b c a b c at 0.1 … 0.6 s, the tombstone for a at 0.7 s (offset 6).
    let tomb: Vec<u64> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Appended {
                tombstone: true,
                offset,
                ..
            } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(tomb, vec![6]);
    // At 1 s compaction keeps the latest per key: b@4, c@5, and a's tombstone@6.
    let c = topic(&s.engine, "c");
    assert_eq!(
        (c.partitions[0].records, c.partitions[0].tombstones),
        (3, 1)
    );
    // Consumers read the tombstone like any record.
    assert_eq!(group(&s.engine, "g").processed, 7);
    let mut s = s;
    s.run_to(3_500_000);
    // At 3 s the tombstone (appended 0.7 s) is past 2 s of delete retention: a is gone.
    let c = topic(&s.engine, "c");
    assert_eq!(
        (
            c.partitions[0].records,
            c.partitions[0].tombstones,
            c.partitions[0].tombstones_removed
        ),
        (2, 0, 1)
    );
    let at3: Vec<(u64, u32, u32)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Compacted {
                removed,
                tombstones,
                ..
            } => Some((e.t.0, removed, tombstones)),
            _ => None,
        })
        .collect();
    assert_eq!(at3, vec![(1_000_000, 4, 0), (3_000_000, 1, 1)]);
    assert!(s.engine.now() >= SimTime(3_000_000));
}

#[test]
fn failure_and_tombstone_errors_name_their_paths() {
    let err = |json: &str| match scenario::load(json) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e.to_string(),
    };
    let group = |on_failure: &str, rate: &str| {
        format!(
            r#"{{ "title": "x",
             "producers": [{{ "id": "p", "to": "t", "rate": "1/s", "keys": {{ "fixed": "k" }} }}],
             "topics": [{{ "id": "t", "partitions": 1 }}, {{ "id": "t-dlt", "partitions": 1 }}],
             "consumer_groups": [{{ "id": "g", "topics": ["t"], "service": {{ "constant": "1ms" }},
                 "failure_rate": {rate}, "on_failure": {on_failure} }}] }}"#
        )
    };
    let e = err(&group(
        r#"{ "retry_topics": { "topics": [{ "topic": "nope", "delay": "1s" }] } }"#,
        "0.1",
    ));
    assert!(
        e.contains(
            "consumer_groups[0].on_failure.retry_topics.topics[0].topic: no topic named \"nope\""
        ),
        "{e}"
    );
    let e = err(&group(r#"{ "dead_letter": { "topic": "t" } }"#, "0.1"));
    assert!(
        e.contains("consumer_groups[0].on_failure.dead_letter.topic") && e.contains("reads"),
        "{e}"
    );
    let e = err(&group(r#"{ "blocking": { "backoff": "1ms" } }"#, "1.0"));
    assert!(e.contains("consumer_groups[0].failure_rate"), "{e}");
    // Giving up makes 1.0 fine.
    assert!(scenario::load(&group(r#"{ "dead_letter": { "topic": "t-dlt" } }"#, "1.0")).is_ok());
    let e = err(r#"{ "title": "x",
             "producers": [{ "id": "p", "to": "t", "rate": "1/s", "tombstone_ratio": 0.5 }],
             "topics": [{ "id": "t", "partitions": 1, "delete_retention": "1s" }] }"#);
    assert!(e.contains("producers[0].tombstone_ratio"), "{e}");
    assert!(e.contains("topics[0].delete_retention"), "{e}");
    // The limits name units the format accepts, and the right amount.
    let e = err(r#"{ "title": "x",
             "producers": [{ "id": "p", "to": "t", "rate": "1/s", "keys": { "fixed": "k" } }],
             "topics": [{ "id": "t", "partitions": 1, "cleanup": "compact",
                          "delete_retention": "241h" }] }"#);
    assert!(e.contains("must be at most 240h (10 days)"), "{e}");
    assert!(scenario::load(&e_ok_240h()).is_ok());
    let e = err(r#"{ "title": "x", "duration": "-1s",
             "producers": [{ "id": "p", "to": "t", "rate": "1/s" }],
             "topics": [{ "id": "t", "partitions": 1 }] }"#);
    assert!(e.contains("duration") && e.contains("is negative"), "{e}");
}

fn e_ok_240h() -> String {
    r#"{ "title": "x",
         "producers": [{ "id": "p", "to": "t", "rate": "1/s", "keys": { "fixed": "k" } }],
         "topics": [{ "id": "t", "partitions": 1, "cleanup": "compact", "delete_retention": "240h" }] }"#
        .to_string()
}

fn run_preset(name: &str, until_us: u64) -> queuelab::engine::Engine {
    let s = scenario::preset(name).unwrap().scenario();
    let seed = s.seed;
    let mut e = queuelab::engine::Engine::new(s, seed).unwrap();
    crate::common::run_checked(&mut e, until_us);
    e
}

#[test]
fn preset_slow_group_lag_grows_then_drains() {
    let mut e = run_preset("kafka-slow-group", 10_000_000);
    let at10 = group(&e, "reporting");
    assert!(at10.lag > 200, "reporting falls behind: lag {}", at10.lag);
    assert!(group(&e, "fraud-check").lag < 30);
    crate::common::run_checked(&mut e, 25_000_000);
    let end = group(&e, "reporting");
    assert!(end.lag_max >= at10.lag && end.lag < 20, "{end:?}");
    assert_eq!(end.skipped + end.reprocessed, 0, "behind, but nothing lost");
}

#[test]
fn preset_retry_topics_compares_the_three_failure_modes() {
    let e = run_preset("kafka-retry-topics", 30_000_000);
    let (b, d, r) = (
        group(&e, "blocking"),
        group(&e, "dead-letter"),
        group(&e, "retry-topics"),
    );
    // Head-of-line blocking shows as lag; the others keep their partitions flowing.
    assert!(b.lag_max > 2 * d.lag_max, "{} vs {}", b.lag_max, d.lag_max);
    assert!(b.retried > 0 && b.dead_lettered == 0 && b.sent_to_retry_topics == 0);
    assert!(d.dead_lettered > 0 && d.sent_to_retry_topics == 0);
    assert_eq!(topic(&e, "payments-dlt").appended, d.dead_lettered);
    assert!(r.retried == 0 && r.recovered > r.dead_lettered);
    assert_eq!(topic(&e, "payments-retry-dlt").appended, r.dead_lettered);
    assert_eq!(
        topic(&e, "payments-retry-1s").appended,
        r.sent_to_retry_topics - topic(&e, "payments-retry-5s").appended
    );
}

#[test]
fn the_json_report_and_trace_show_failure_handling_and_tombstones() {
    let s = failing(
        r#"{ "retry_topics": { "topics": [{ "topic": "t-retry", "delay": "1s" }], "dead_letter": "t-dlt" } }"#,
        r#", { "id": "t-retry", "partitions": 1 }, { "id": "t-dlt", "partitions": 1 }"#,
    );
    let r = serde_json::to_value(s.engine.report("failing")).unwrap();
    let g = &r["nodes"]["g"];
    for (field, want) in [
        ("failed", 6),
        ("sent_to_retry_topics", 3),
        ("dead_lettered", 3),
        ("recovered", 0),
        ("retried", 0),
        ("failed_skipped", 0),
    ] {
        assert_eq!(g[field], want, "{field}: {g}");
    }
    assert_eq!(r["nodes"]["t-dlt"]["appended"], 3);
    let lines: Vec<serde_json::Value> = s.trace.iter().map(|e| s.engine.trace_json(e)).collect();
    let sent = lines
        .iter()
        .find(|l| l["kind"] == "sent_to_retry_topic")
        .expect("a sent_to_retry_topic line");
    assert_eq!(sent["topic"], "t-retry", "{sent}");
    assert_eq!(
        (sent["msg"].as_u64(), sent["copy"].as_u64()),
        (Some(1), Some(2))
    );
    let dead = lines
        .iter()
        .find(|l| l["kind"] == "sent_to_dead_letter_topic")
        .unwrap();
    assert_eq!(
        (dead["topic"].as_str(), dead["attempts"].as_u64()),
        (Some("t-dlt"), Some(2))
    );
    // Plain appends carry no tombstone field; their text says what they are.
    let appended = lines.iter().find(|l| l["kind"] == "appended").unwrap();
    assert!(appended.get("tombstone").is_none(), "{appended}");
    for kind in ["sent_to_retry_topic", "sent_to_dead_letter_topic"] {
        assert!(TraceKind::NAMES.contains(&kind));
    }
    let text = s
        .engine
        .trace_text(&s.matching(|k| matches!(k, TraceKind::SentToDeadLetterTopic { .. }))[0]);
    assert!(text.contains("dead-letter topic t-dlt"), "{text}");
}

#[test]
fn a_compacted_target_of_a_group_reading_unkeyed_records_is_refused() {
    // Dead-letter and output records keep their source record's key; Kafka
    // refuses a record without a key in a compacted topic
    // (`LogValidator.validateKey`), so this can never run as written.
    let json = r#"{ "title": "x",
        "producers": [{ "id": "p", "to": "t", "rate": "100/s" }],
        "topics": [{ "id": "t", "partitions": 1 },
                   { "id": "dlt", "partitions": 1, "cleanup": "compact" },
                   { "id": "out", "partitions": 1, "cleanup": "compact" }],
        "consumer_groups": [{ "id": "g", "topics": ["t"], "failure_rate": 0.3, "service": { "constant": "1ms" },
            "on_failure": { "dead_letter": { "topic": "dlt" } }, "output": { "topic": "out" } }] }"#;
    let e = scenario::load(json).map(|_| ()).unwrap_err().to_string();
    assert!(
        e.contains("consumer_groups[0].on_failure.dead_letter.topic: topic \"dlt\" is compacted"),
        "{e}"
    );
    assert!(
        e.contains("consumer_groups[0].output.topic: topic \"out\" is compacted"),
        "{e}"
    );
    assert!(
        e.contains("producer \"p\" writes records without keys"),
        "{e}"
    );
    // With keys it is fine.
    let keyed = json.replace(
        r#""rate": "100/s" }"#,
        r#""rate": "100/s", "keys": { "fixed": "k" } }"#,
    );
    assert!(scenario::load(&keyed).is_ok());
}
