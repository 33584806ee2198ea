//! Seeks and partition growth as Kafka's consumer does them (found by an audit
//! against Kafka's sources): a seek names a `TopicPartition`, `seekToEnd`
//! under `read_committed` stops at the last stable offset, and a partition
//! added while the group runs loses, under `latest`, what was appended to it
//! before the group reset (`ConsumerConfig`'s `auto.offset.reset` warning).

use crate::common::{engine, story, Story};
use queuelab::engine::{Command, Engine, NodeId, TraceKind};
use queuelab::scenario::{self, SeekTo};
use serde_json::{json, Value};

fn group(e: &Engine, id: &str) -> Value {
    serde_json::to_value(e.report("t")).unwrap()["nodes"][id].clone()
}

/// Every `seeked` event: (topic, partition, offset).
fn seeks(s: &Story) -> Vec<(NodeId, u32, u64)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Seeked {
                topic,
                partition,
                offset,
            } => Some((topic, partition, offset)),
            _ => None,
        })
        .collect()
}

/// `rpw` copies `in` to `out` in transactions of 300 polls; `reader`
/// (read_committed) seeks `to` at 1.5 s, while a transaction is open.
fn read_committed_seek(to: Value) -> Story {
    let json = json!({"title": "rc seek", "seed": 1, "duration": "8s",
        "producers": [{"id": "p", "to": "in", "rate": "2000/s"}],
        "topics": [{"id": "in", "partitions": 1}, {"id": "out", "partitions": 1}],
        "consumer_groups": [
            {"id": "rpw", "topics": ["in"], "members": 1, "auto_offset_reset": "earliest",
             "max_poll_records": 10, "commit": {"after_processing": {"per": "batch"}},
             "service": {"constant": "1ms"},
             "output": {"topic": "out", "transactional": true, "polls_per_txn": 300}},
            {"id": "reader", "topics": ["out"], "members": 1, "auto_offset_reset": "earliest",
             "isolation_level": "read_committed", "service": {"constant": "10us"}}],
        "schedule": [{"at": "1500ms", "command": {"do": "seek_group", "group": "reader", "to": to}}]})
    .to_string();
    story(&json, 8_000_000)
}

/// One group reading two 2-partition topics; `schedule` as given.
fn two_topics(schedule: Value) -> String {
    json!({"title": "seek", "seed": 1, "duration": "3s",
        "producers": [{"id": "p1", "to": "t1", "rate": "20/s", "arrival": "constant"},
                      {"id": "p2", "to": "t2", "rate": "20/s", "arrival": "constant"}],
        "topics": [{"id": "t1", "partitions": 2}, {"id": "t2", "partitions": 2}],
        "consumer_groups": [{"id": "g", "topics": ["t1", "t2"], "members": 1,
            "auto_offset_reset": "earliest", "service": {"constant": "1ms"},
            "commit": {"after_processing": {"per": "record"}}}],
        "schedule": schedule})
    .to_string()
}

#[test]
fn a_seek_of_one_partition_moves_that_topics_partition_only() {
    let s = story(
        &two_topics(
            json!([{"at": "2s", "command": {"do": "seek_group", "group": "g",
            "to": "beginning", "topic": "t2", "partition": 0}}]),
        ),
        3_000_000,
    );
    let t2 = s.node("t2");
    // It used to move partition 0 of t1 as well.
    assert_eq!(seeks(&s), vec![(t2, 0, 0)]);
    // Partition 0 of t2 is read again from offset 0: those records twice.
    assert!(group(&s.engine, "g")["reprocessed"].as_u64().unwrap() > 0);
    // A whole topic without a partition: both of t2's, none of t1's.
    let s = story(
        &two_topics(
            json!([{"at": "2s", "command": {"do": "seek_group", "group": "g",
            "to": "beginning", "topic": "t2"}}]),
        ),
        3_000_000,
    );
    let moved: Vec<_> = seeks(&s).iter().map(|&(t, p, _)| (t == t2, p)).collect();
    assert_eq!(moved, vec![(true, 0), (true, 1)]);
}

#[test]
fn a_partition_without_its_topic_is_refused_when_the_group_reads_several() {
    // In a schedule: a path-named validation error.
    let bad = two_topics(
        json!([{"at": "2s", "command": {"do": "seek_group", "group": "g",
        "to": "beginning", "partition": 0}}]),
    );
    let err = scenario::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("schedule[0].command.topic") && err.contains("reads 2 topics"),
        "{err}"
    );
    let missing = two_topics(
        json!([{"at": "2s", "command": {"do": "seek_group", "group": "g",
        "to": "beginning", "topic": "t2", "partition": 2}}]),
    );
    let err = scenario::load(&missing).unwrap_err().to_string();
    assert!(
        err.contains("schedule[0].command.partition") && err.contains("no partition 2"),
        "{err}"
    );
    let unread = two_topics(
        json!([{"at": "2s", "command": {"do": "seek_group", "group": "g",
        "to": "end", "topic": "p1"}}]),
    );
    let err = scenario::load(&unread).unwrap_err().to_string();
    assert!(err.contains("does not read topic \"p1\""), "{err}");
    // As a command: refused with the reason, nothing moves.
    let mut e = engine(&two_topics(json!([])), 1);
    let seek = |topic: Option<&str>, partition| Command::SeekGroup {
        group: "g".into(),
        to: SeekTo::Beginning,
        partition,
        topic: topic.map(str::to_string),
    };
    let err = e.submit(seek(None, Some(0))).unwrap_err().0;
    assert!(err.contains("name the partition's `topic`"), "{err}");
    let err = e.submit(seek(Some("t1"), Some(5))).unwrap_err().0;
    assert!(err.contains("t1 has 2 partitions: no partition 5"), "{err}");
    assert!(e.submit(seek(Some("t1"), Some(1))).is_ok());
}

#[test]
fn a_read_committed_seek_to_the_end_stops_at_the_open_transaction() {
    // `reader` (read_committed) seeks to the end while a transaction is
    // open. Kafka's seekToEnd under READ_COMMITTED answers the last stable
    // offset, so when the transaction commits, `reader` reads all of it;
    // seeking to the high watermark skipped the open transaction's records.
    let s = read_committed_seek(json!("end"));
    let offset = seeks(&s)[0].2;
    // Records up to the seek time were all committed before the seek or are
    // in the open transaction: the last stable offset is what the reader
    // had read by then, so the seek does not move it forward.
    let read_before: u64 = s
        .matching(|k| matches!(k, TraceKind::Processed { .. }))
        .iter()
        .filter(|e| e.t.0 <= 1_500_000 && e.node == s.node("reader"))
        .count() as u64;
    assert_eq!(offset, read_before, "seek to the last stable offset");
    let reader = group(&s.engine, "reader");
    assert_eq!(reader["skipped"], 0, "{reader}");
    assert_eq!(reader["reprocessed"], 0, "{reader}");
}

#[test]
fn a_partition_added_while_running_loses_its_first_records_under_latest() {
    // Partition 1 appears at 1 s; the group owns it only after the
    // rebalance, so under `latest` what was appended to it before is never
    // read: Kafka's documented loss, now counted as skipped. Under
    // `earliest` nothing is lost.
    let world = |reset: &str| {
        json!({"title": "grow", "seed": 1, "duration": "2s",
            "producers": [{"id": "p", "to": "t", "rate": "1000/s", "keys": {"random_of_n": 100}}],
            "topics": [{"id": "t", "partitions": 1}],
            "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1,
                "assignment": "cooperative_sticky", "auto_offset_reset": reset,
                "service": {"constant": "10us"}}],
            "schedule": [{"at": "1s", "command": {"do": "increase_partitions", "topic": "t", "partitions": 2}}]})
        .to_string()
    };
    let s = story(&world("latest"), 2_000_000);
    let first_fetch = s
        .matching(|k| matches!(k, TraceKind::Fetched { partition: 1, .. }))
        .first()
        .map(|e| match e.kind {
            TraceKind::Fetched { from, .. } => from,
            _ => unreachable!(),
        })
        .expect("partition 1 is read");
    assert!(first_fetch > 0, "records were appended before the reset");
    let g = group(&s.engine, "g");
    assert_eq!(g["skipped"].as_u64(), Some(first_fetch), "{g}");
    let ledger = serde_json::to_value(s.engine.ledger_report()).unwrap();
    assert_eq!(
        ledger["streams"]["groups"]["g"]["skipped"].as_u64(),
        Some(first_fetch)
    );
    // The partition that was there from the start: a first start at
    // `latest` is a choice, not a loss (nothing was skipped on it).
    let s = story(&world("earliest"), 2_000_000);
    assert_eq!(group(&s.engine, "g")["skipped"], 0);
}

#[test]
fn a_scheduled_seek_sees_only_the_partitions_grown_before_it() {
    // Partition 3 exists from 2 s on: a seek of it at 1 s is an error (the
    // engine would skip it when due), at 3 s it is fine.
    let world = |seek_at: &str| {
        json!({"title": "grow", "seed": 1, "duration": "4s",
            "producers": [{"id": "p", "to": "t", "rate": "10/s"}],
            "topics": [{"id": "t", "partitions": 2}],
            "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1, "service": {"constant": "1ms"}}],
            "schedule": [
                {"at": seek_at, "command": {"do": "seek_group", "group": "g", "to": "beginning", "partition": 3}},
                {"at": "2s", "command": {"do": "increase_partitions", "topic": "t", "partitions": 4}}]})
        .to_string()
    };
    let err = scenario::load(&world("1s")).unwrap_err().to_string();
    assert!(
        err.contains("schedule[0].command.partition") && err.contains("t has 2 partitions"),
        "{err}"
    );
    let s = story(&world("3s"), 4_000_000);
    assert_eq!(seeks(&s).iter().filter(|x| x.1 == 3).count(), 1);
    // A topic with no partitions is its own error, not a panic here.
    let zero = world("3s").replace(r#""partitions":2"#, r#""partitions":0"#);
    let err = scenario::load(&zero).unwrap_err().to_string();
    assert!(err.contains("topics[0].partitions"), "{err}");
}

#[test]
fn a_read_committed_seek_by_timestamp_stops_at_the_open_transaction_too() {
    // As `a_read_committed_seek_to_the_end…`, by timestamp (1 s): every
    // record from 1 s on is in the open transaction, so the answer is the
    // last stable offset (0), not an offset inside the transaction.
    let s = read_committed_seek(json!({"timestamp": "1s"}));
    assert_eq!(seeks(&s)[0].2, 0);
}

#[test]
fn a_partition_added_before_the_group_ever_ran_starts_as_a_choice() {
    // No member until 2 s; partition 1 appears at 1 s. The first start at
    // `latest` on either partition is a choice: nothing skipped.
    let json = json!({"title": "grow early", "seed": 1, "duration": "3s",
        "producers": [{"id": "p", "to": "t", "rate": "1000/s", "keys": {"random_of_n": 100}}],
        "topics": [{"id": "t", "partitions": 1}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 0,
            "auto_offset_reset": "latest", "service": {"constant": "10us"}}],
        "schedule": [
            {"at": "1s", "command": {"do": "increase_partitions", "topic": "t", "partitions": 2}},
            {"at": "2s", "command": {"do": "add_member", "group": "g"}}]})
    .to_string();
    let s = story(&json, 3_000_000);
    let g = group(&s.engine, "g");
    assert!(g["processed"].as_u64().unwrap() > 0, "{g}");
    assert_eq!(g["skipped"], 0, "{g}");
}

#[test]
fn a_retry_topic_of_the_group_can_be_named_in_a_seek() {
    let json = json!({"title": "retry seek", "seed": 1, "duration": "3s",
        "producers": [{"id": "p", "to": "main", "rate": "20/s"}],
        "topics": [{"id": "main", "partitions": 1}, {"id": "main-retry", "partitions": 1}],
        "consumer_groups": [{"id": "g", "topics": ["main"], "members": 1, "failure_rate": 0.3,
            "service": {"constant": "1ms"},
            "on_failure": {"retry_topics": {"topics": [{"topic": "main-retry", "delay": "100ms"}]}}}],
        "schedule": [{"at": "2s", "command": {"do": "seek_group", "group": "g", "to": "beginning",
            "topic": "main-retry", "partition": 0}}]})
    .to_string();
    let s = story(&json, 3_000_000);
    let retry = s.node("main-retry");
    let topics: Vec<_> = seeks(&s).iter().map(|x| x.0).collect();
    assert_eq!(topics, vec![retry]);
}

#[test]
fn a_seek_outside_the_log_applies_auto_offset_reset_as_the_next_fetch_does() {
    // 100 records, retention keeps the last 50 (log start 50, end 100). Kafka's
    // consumer does not clamp a seek: the next fetch gets OFFSET_OUT_OF_RANGE
    // and `auto.offset.reset` decides (`FetchCollector`).
    let json = json!({"title": "seek out of range", "seed": 1, "duration": "3s",
        "producers": [{"id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 100}],
        "topics": [{"id": "t", "partitions": 1, "retention": {"records": 50}}],
        "consumer_groups": [
            {"id": "lat", "topics": ["t"], "service": {"constant": "1ms"},
             "auto_offset_reset": "latest", "commit": {"after_processing": {"per": "record"}}},
            {"id": "ear", "topics": ["t"], "service": {"constant": "1ms"},
             "auto_offset_reset": "earliest", "commit": {"after_processing": {"per": "record"}}},
            {"id": "mid", "topics": ["t"], "service": {"constant": "1ms"},
             "auto_offset_reset": "earliest", "commit": {"after_processing": {"per": "record"}}}],
        "schedule": [
            {"at": "2s", "command": {"do": "seek_group", "group": "lat", "to": {"offset": 10}}},
            {"at": "2s", "command": {"do": "seek_group", "group": "ear", "to": {"offset": 1000}}},
            {"at": "2s", "command": {"do": "seek_group", "group": "mid", "to": {"offset": 70}}}]})
    .to_string();
    let s = story(&json, 3_000_000);
    let offsets: Vec<u64> = seeks(&s).into_iter().map(|(_, _, o)| o).collect();
    // Below the log start under latest: the end; past the end under
    // earliest: the log start; inside the log: the offset itself.
    assert_eq!(offsets, [100, 50, 70]);
    assert_eq!(group(&s.engine, "lat")["reprocessed"], 0);
    assert_eq!(group(&s.engine, "ear")["reprocessed"], 50);
    assert_eq!(group(&s.engine, "mid")["reprocessed"], 30);
}

#[test]
fn a_timestamp_seek_in_a_dead_letter_topic_uses_the_append_time() {
    // Records published every 100 ms fail at once and are moved to `dlt`
    // one every 150 ms (at 0.25 s, 0.4 s, …, 1.0 s for the sixth). The
    // recoverer produces them anew, so their timestamp in `dlt` is the
    // append time, as retention there already reads it: a seek to 1 s finds
    // the record appended at 1.0 s (offset 5), not the first one published
    // at or after 1 s by the original producer.
    let json = json!({"title": "dlt seek by time", "seed": 1, "duration": "3s",
        "producers": [{"id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 10}],
        "topics": [{"id": "t", "partitions": 1}, {"id": "dlt", "partitions": 1}],
        "consumer_groups": [
            {"id": "g2", "topics": ["t"], "auto_offset_reset": "earliest",
             "service": {"constant": "150ms"}, "failure_rate": 1,
             "on_failure": {"dead_letter": {"topic": "dlt"}}},
            {"id": "h", "topics": ["dlt"], "auto_offset_reset": "earliest",
             "service": {"constant": "1ms"}, "commit": {"after_processing": {"per": "record"}}}],
        "schedule": [{"at": "2500ms", "command": {"do": "seek_group", "group": "h",
            "to": {"timestamp": "1s"}}}]})
    .to_string();
    let s = story(&json, 3_000_000);
    let dlt_appends: Vec<(u64, u64)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Appended { offset, .. } if e.node == s.node("dlt") => Some((e.t.0, offset)),
            _ => None,
        })
        .collect();
    assert_eq!(dlt_appends[5], (1_000_000, 5), "{dlt_appends:?}");
    let offsets: Vec<u64> = seeks(&s).into_iter().map(|(_, _, o)| o).collect();
    assert_eq!(offsets, [5]);
}

/// The `kafka-offset-reset` preset: two groups with no committed offsets join
/// a topic at 8 s. `earliest` processes every record once, from offset 0;
/// `latest` starts each partition at the log end of its first fetch: every
/// record from there on is processed once, none before it, and the ones
/// before it were all appended before that fetch.
#[test]
fn auto_offset_reset_earliest_reads_the_history_latest_starts_at_the_log_end() {
    let s = story(
        queuelab::scenario::preset("kafka-offset-reset")
            .unwrap()
            .json,
        20_000_000,
    );
    let topic = s.node("user-signups");
    // Record id → (partition, offset, appended at).
    let mut at = std::collections::BTreeMap::new();
    let mut ends = [0u64; 3];
    for e in &s.trace {
        if let TraceKind::Appended {
            partition, offset, ..
        } = e.kind
        {
            at.insert(e.msg.unwrap(), (partition, offset, e.t.0));
            ends[partition as usize] = offset + 1;
        }
    }
    let processed = |group: &str| {
        let g = s.node(group);
        let mut per = vec![Vec::new(); 3];
        for e in s.trace.iter().filter(|e| e.node == g) {
            if let TraceKind::Processed { .. } = e.kind {
                let (p, o, _) = at[&e.msg.unwrap()];
                per[p as usize].push(o);
            }
        }
        per
    };
    let first_fetch = |group: &str, p: u32| {
        let g = s.node(group);
        s.trace
            .iter()
            .find(|e| {
                e.node == g
                    && matches!(e.kind, TraceKind::Fetched { topic: t, partition, .. } if t == topic && partition == p)
            })
            .map(|e| e.t.0)
            .expect("the group fetched the partition")
    };
    let early = processed("welcome-emails");
    let late = processed("fraud-model");
    for p in 0..3u32 {
        let pi = p as usize;
        // Earliest: the whole log once, in offset order (the last record may still be in flight).
        let want: Vec<u64> = (0..early[pi].len() as u64).collect();
        assert_eq!(early[pi], want, "welcome-emails, partition {p}");
        assert!(early[pi].len() as u64 + 2 >= ends[pi]);
        // Latest: a contiguous run from a reset point, once each.
        let from = late[pi][0];
        let want: Vec<u64> = (from..from + late[pi].len() as u64).collect();
        assert_eq!(late[pi], want, "fraud-model, partition {p}");
        let fetched_at = first_fetch("fraud-model", p);
        assert!(fetched_at >= 8_000_000, "no member before 8 s");
        let appended_at = |o: u64| at.values().find(|v| v.0 == p && v.1 == o).unwrap().2;
        assert!(
            from > 100,
            "partition {p}: 8 s of history skipped (from offset {from})"
        );
        assert!(
            appended_at(from - 1) <= fetched_at,
            "what it skipped was there at its first fetch"
        );
        assert!(
            appended_at(from) >= 8_000_000,
            "it reads what came after it joined"
        );
    }
}

/// A partition whose position only a `latest` reset set: partition 1 got 100
/// records before the group had a member; the member that joins at 2 s
/// starts it at 100 and then processes partition 0's records only.
fn reset_only(crash_ms: Option<u64>) -> Story {
    reset_only_with(crash_ms, json!({"after_processing": {"per": "batch"}}))
}

/// `reset_only` with another commit policy.
fn reset_only_with(crash_ms: Option<u64>, commit: serde_json::Value) -> Story {
    let mut schedule = vec![json!({"at": "2s", "command": {"do": "add_member", "group": "g"}})];
    if let Some(ms) = crash_ms {
        schedule.push(json!({"at": format!("{ms}ms"), "command": {"do": "crash_member", "group": "g", "member": 0}}));
        schedule
            .push(json!({"at": format!("{ms}ms"), "command": {"do": "add_member", "group": "g"}}));
    }
    let json = json!({"title": "reset only", "seed": 1, "duration": "8s",
        "producers": [
            {"id": "pre", "to": "t", "rate": "100/s", "arrival": "constant", "partition": 1, "stop": "1005ms"},
            {"id": "late", "to": "t", "rate": "100/s", "arrival": "constant", "partition": 1,
             "start": "3500ms", "stop": "3595ms"},
            {"id": "p", "to": "t", "rate": "50/s", "arrival": "constant", "partition": 0}],
        "topics": [{"id": "t", "partitions": 2}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 0, "auto_offset_reset": "latest",
            "session_timeout": "100ms", "commit": commit,
            "service": {"constant": "1ms"}}],
        "schedule": schedule})
    .to_string();
    story(&json, 8_000_000)
}

/// When partition 1's reset position (100) was first committed [µs].
fn first_commit_of_reset_position(s: &Story) -> Option<u64> {
    let t = s.node("t");
    s.trace
        .iter()
        .find(|e| matches!(e.kind, TraceKind::Committed { topic, partition: 1, offset: 100, .. } if topic == t))
        .map(|e| e.t.0)
}

#[test]
fn a_batch_commit_also_commits_a_position_only_a_reset_set() {
    // Kafka's `commitSync()` after a batch commits `allConsumed()`: the
    // position of every assigned partition, so partition 1's 100 is
    // committed at the first batch, although no record of it was processed
    // (without that commit its lag would count the 100 records it never
    // had to read).
    let s = reset_only(None);
    let g = group(&s.engine, "g");
    let p1 = &g["partitions"][1];
    assert_eq!(p1["lag"], 0, "{p1}");
    let first_p1_commit = first_commit_of_reset_position(&s);
    assert!(
        first_p1_commit.is_some_and(|at| (2_000_000..2_200_000).contains(&at)),
        "committed with the first batch after the join: {first_p1_commit:?}"
    );
}

#[test]
fn a_new_owner_resumes_at_the_committed_reset_position_and_loses_nothing() {
    // The member crashes at 3.5 s, and records reach partition 1 while the
    // group notices (session timeout 100 ms). The new owner starts partition
    // 1 from the committed 100 and processes them; had the reset position
    // not been committed, it would reset to `latest` and never see them.
    let s = reset_only(Some(3500));
    let late = group(&s.engine, "late")["published"].as_u64().unwrap();
    assert!(late >= 5, "{late}");
    let g = group(&s.engine, "g");
    let p1 = &g["partitions"][1];
    assert_eq!(p1["committed"].as_u64(), Some(100 + late), "{p1}");
    let fetched_p1: Vec<u64> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Fetched {
                partition: 1, from, ..
            } => Some(from),
            _ => None,
        })
        .collect();
    assert_eq!(fetched_p1.first(), Some(&100), "{fetched_p1:?}");
}

/// Commit before processing is the `commitSync()` between `poll()` and the
/// processing, and a bare `commitSync()` commits the position of every
/// assigned partition (`SubscriptionState.allConsumed()`): partition 1's
/// reset position is committed with the first poll, and a new owner after
/// the crash resumes there, losing none of the records that came while the
/// group noticed (it used to commit only the polled partitions, so the new
/// owner reset to `latest` and skipped them).
#[test]
fn a_commit_before_processing_also_commits_a_position_only_a_reset_set() {
    let s = reset_only_with(Some(3500), json!("before_processing"));
    let late = group(&s.engine, "late")["published"].as_u64().unwrap();
    assert!(late >= 5, "{late}");
    let g = group(&s.engine, "g");
    assert_eq!(g["skipped"], 0, "{g}");
    let p1 = &g["partitions"][1];
    assert_eq!(p1["committed"].as_u64(), Some(100 + late), "{p1}");
    let first_p1_commit = first_commit_of_reset_position(&s);
    assert!(
        first_p1_commit.is_some_and(|at| (2_000_000..2_200_000).contains(&at)),
        "committed with the first poll after the join: {first_p1_commit:?}"
    );
}

#[test]
fn why_says_retention_skips_what_a_slow_group_has_not_read() {
    // 200 records/s into one partition that keeps the last 50; the group
    // takes 20 ms a record (50/s): retention deletes records it has not read,
    // its position jumps to the log start, and the jump is counted skipped.
    let world = json!({"title": "behind", "seed": 1, "duration": "5s",
        "producers": [{"id": "p", "to": "t", "rate": "200/s", "arrival": "constant"}],
        "topics": [{"id": "t", "partitions": 1, "retention": {"records": 50}}],
        "consumer_groups": [{"id": "g", "topics": ["t"], "members": 1,
            "auto_offset_reset": "earliest", "service": {"constant": "20ms"}}]})
    .to_string();
    let s = story(&world, 5_000_000);
    let skipped = group(&s.engine, "g")["skipped"].as_u64().unwrap();
    assert!(skipped > 100, "skipped {skipped}");
    let why = s.engine.guarantee_explanation();
    assert!(
        why.iter().any(|x| x
            == "t: retention deletes all but the last 50 records of a partition, read or not: a group further behind than that skips them (lost to it)."),
        "{why:#?}"
    );
}

#[test]
fn why_names_each_groups_failure_handling_and_what_it_costs() {
    let s = scenario::preset("kafka-retry-topics").unwrap().scenario();
    let why = s.explain_guarantee();
    for start in [
        "blocking: a failed record is retried in place 200ms apart, its partition waiting behind it, 5 attempts in all; then it is dropped",
        "dead-letter: a failed record is retried in place 50ms apart, 2 attempts in all, then appended to the dead-letter topic payments-dlt",
        "retry-topics: a failed record goes on to the retry topics payments-retry-1s (after 1s), payments-retry-5s (after 5s), then to the dead-letter topic",
    ] {
        assert!(why.iter().any(|x| x.starts_with(start)), "{start}\n{why:#?}");
    }
    // A group that cannot fail gets no such sentence; compaction is named.
    let s = scenario::preset("kafka-compaction").unwrap().scenario();
    let why = s.explain_guarantee();
    assert!(
        !why.iter().any(|x| x.contains("a failed record")),
        "{why:#?}"
    );
    assert!(
        why.iter().any(|x| x
            .starts_with("account-balances: compaction keeps only the latest record of each key")),
        "{why:#?}"
    );
}
