//! Kafka's log cleaner and retention, against Kafka's own rules:
//! compaction never cleans past the high watermark or the last stable offset
//! (`LogCleanerManager.cleanableOffsets`), removes aborted transactional
//! records whatever their key (`LogCleaner`), drops a transaction marker once
//! no record of its transaction is left and `delete.retention.ms` has passed
//! (`CleanedTransactionMetadata.onControlBatchRead`), refuses a record without
//! a key (`LogValidator.validateKey`), a `compact` topic has no
//! retention (`UnifiedLog.deleteOldSegments` runs only when the policy
//! includes `delete`), and time retention goes by the record's timestamp
//! (`deleteRetentionMsBreachedSegments`), not by when the broker appended it.

use crate::common::story;
use crate::streams::{group, topic};
use queuelab::engine::{Command, TraceKind};
use queuelab::scenario;

#[test]
fn compaction_stops_at_the_high_watermark_so_a_failover_keeps_the_replicated_value() {
    // Key k at 1 s (offset 0, replicated at 3 s) and at 4 s (offset 1, not
    // replicated before 6 s). Compaction at 5 s may not let offset 1 replace
    // offset 0: the leader crashes at 5.5 s and the new leader truncates
    // offset 1, so offset 0 is all that is left of k.
    let s = story(
        r#"{ "title": "compaction and the high watermark", "duration": "9s",
             "producers": [{ "id": "p", "to": "t", "rate": "1/s", "count": 0, "keys": { "fixed": "k" }, "acks": "1" }],
             "topics": [{ "id": "t", "partitions": 1, "cleanup": "compact", "compaction_interval": "5s",
                          "replication": { "factor": 2, "replica_lag": "2s" } }],
             "consumer_groups": [{ "id": "reader", "topics": ["t"], "members": 0, "auto_offset_reset": "earliest",
                                   "commit": { "after_processing": { "per": "record" } }, "service": { "constant": "1ms" } }],
             "schedule": [
               { "at": "1s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
               { "at": "4s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
               { "at": "5.5s", "command": { "do": "crash_leader", "topic": "t", "partition": 0 } },
               { "at": "7s", "command": { "do": "add_member", "group": "reader" } } ] }"#,
        9_000_000,
    );
    let compacted: Vec<_> = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Compacted { .. }))
        .collect();
    assert!(
        compacted.is_empty(),
        "nothing below the high watermark to clean: {compacted:?}"
    );
    assert_eq!(
        group(&s.engine, "reader").processed,
        1,
        "the replicated value of k survives"
    );
}

#[test]
fn aborted_records_are_cleaned_and_never_stand_for_their_key() {
    // A transactional read-process-write group writes k to a compacted topic:
    // two committed values, then a third whose transaction aborts (the member
    // crashes at 4.2 s). The cleaner at 6 s removes the aborted record and
    // keeps the last committed one, which a read_committed reader then reads.
    let s = story(
        r#"{ "title": "compaction and aborted transactions", "duration": "12s",
             "producers": [{ "id": "p", "to": "in", "rate": "1/s", "count": 0, "keys": { "fixed": "k" } }],
             "topics": [{ "id": "in", "partitions": 1 },
                        { "id": "out", "partitions": 1, "cleanup": "compact", "compaction_interval": "6s" }],
             "consumer_groups": [
               { "id": "rpw", "topics": ["in"], "auto_offset_reset": "earliest",
                 "commit": { "after_processing": { "per": "batch" } }, "service": { "constant": "500ms" },
                 "output": { "topic": "out", "transactional": true } },
               { "id": "reader", "topics": ["out"], "members": 0, "auto_offset_reset": "earliest",
                 "isolation_level": "read_committed", "commit": { "after_processing": { "per": "record" } },
                 "service": { "constant": "1ms" } } ],
             "schedule": [
               { "at": "1s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
               { "at": "3s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
               { "at": "3.1s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
               { "at": "3.2s", "command": { "do": "publish_one", "producer": "p", "key": "k" } },
               { "at": "4.2s", "command": { "do": "crash_member", "group": "rpw", "member": 0 } },
               { "at": "7s", "command": { "do": "add_member", "group": "reader" } } ] }"#,
        12_000_000,
    );
    let out = topic(&s.engine, "out");
    assert!(
        out.partitions[0].compacted >= 1,
        "the cleaner ran: {:?}",
        out.partitions[0]
    );
    let reader = group(&s.engine, "reader");
    assert!(
        reader.processed >= 1,
        "a committed value of k is left for a read_committed reader (processed {})",
        reader.processed
    );
}

#[test]
fn a_compact_topic_ignores_retention_and_compact_delete_has_both() {
    let topic_json = |cleanup: &str| {
        format!(
            r#"{{ "title": "cleanup", "duration": "6s",
                 "producers": [{{ "id": "p", "to": "t", "rate": "1/s", "arrival": "constant", "count": 2,
                                 "keys": {{ "round_robin": ["a", "b"] }} }}],
                 "topics": [{{ "id": "t", "partitions": 1, "cleanup": "{cleanup}",
                              "retention": {{ "time": "2s", "check_interval": "100ms" }} }}] }}"#
        )
    };
    // compact alone: Kafka accepts retention settings and ignores them
    // (every topic has a retention.ms); both records stay.
    let s = story(&topic_json("compact"), 6_000_000);
    let t = topic(&s.engine, "t");
    assert_eq!((t.partitions[0].log_start, t.partitions[0].log_end), (0, 2));
    assert_eq!(t.partitions[0].retention_deleted, 0);
    // compact,delete: both keys' only records are deleted by time (1 s + 2 s, 2 s + 2 s).
    let s = story(&topic_json("compact,delete"), 6_000_000);
    let t = topic(&s.engine, "t");
    assert_eq!((t.partitions[0].log_start, t.partitions[0].log_end), (2, 2));
    // The policy round-trips under Kafka's own spelling.
    let sc = scenario::load(&topic_json("compact,delete")).unwrap();
    assert!(serde_json::to_string(&sc)
        .unwrap()
        .contains(r#""cleanup":"compact,delete""#));
    assert!(scenario::load(&topic_json("delete,compact")).is_ok());
}

#[test]
fn time_retention_counts_from_the_record_timestamp_not_the_append() {
    // Created at 1 s, appended at 6 s (5 s of producer latency): with 10 s of
    // retention it is deleted at the first check past 11 s, not past 16 s.
    let json = r#"{ "title": "retention by timestamp", "duration": "20s",
         "producers": [{ "id": "p", "to": "t", "rate": "1/s", "arrival": "constant", "count": 1,
                         "latency": "5s", "keys": { "fixed": "k" } }],
         "topics": [{ "id": "t", "partitions": 1, "retention": { "time": "10s", "check_interval": "100ms" } }] }"#;
    let mut s = story(json, 10_950_000);
    assert_eq!(topic(&s.engine, "t").partitions[0].log_end, 1, "appended");
    assert_eq!(
        topic(&s.engine, "t").partitions[0].log_start,
        0,
        "still kept at 10.95 s"
    );
    s.run_to(11_200_000);
    assert_eq!(
        topic(&s.engine, "t").partitions[0].log_start,
        1,
        "deleted by 11.2 s"
    );
}

#[test]
fn retry_topic_records_are_timestamped_when_moved() {
    // Records fail and move to a retry topic with 5 s of retention after the
    // group was paused for 10 s. A recoverer produces them anew (the send
    // time is their timestamp), so they are not deleted on arrival: each is
    // retried once and then goes to the dead-letter topic.
    let s = story(
        r#"{ "title": "retry topic retention", "duration": "30s",
             "producers": [{ "id": "p", "to": "orders", "rate": "10/s", "arrival": "constant", "count": 20,
                             "keys": { "random_of_n": 5 } }],
             "topics": [{ "id": "orders", "partitions": 1 },
                        { "id": "orders-retry", "partitions": 1, "retention": { "time": "5s", "check_interval": "100ms" } },
                        { "id": "orders-dlt", "partitions": 1 }],
             "consumer_groups": [{ "id": "g", "topics": ["orders"], "members": 1, "auto_offset_reset": "earliest",
                                   "service": { "constant": "1ms" }, "failure_rate": 1.0,
                                   "on_failure": { "retry_topics": { "topics": [{ "topic": "orders-retry", "delay": "1s" }],
                                                                     "dead_letter": "orders-dlt" } } }],
             "schedule": [{ "at": "0s", "command": { "do": "pause_member", "group": "g", "member": 0, "duration": "10s" } }] }"#,
        30_000_000,
    );
    assert_eq!(group(&s.engine, "g").skipped, 0);
    assert_eq!(topic(&s.engine, "orders-dlt").partitions[0].log_end, 20);
}

/// A transactional read-process-write group writes key k to a compacted
/// topic, one transaction per record: offsets 0 (k) + 1 (commit marker) at
/// 0.6 s, 2 (k) + 3 (commit marker) at 1.6 s; then a transaction spanning two
/// polls writes 4 (k) at 3.3 s and the member crashes at 3.35 s; nobody takes
/// its partition, so the transaction times out 50 ms after it began, at the
/// crash: 4 is aborted and 5 is its abort marker. The cleaner runs every second.
fn markers_story(delete_retention: &str) -> crate::common::Story {
    story(
        &format!(
            r#"{{ "title": "markers in a compacted topic", "duration": "8s",
             "producers": [{{ "id": "p", "to": "in", "rate": "1/s", "count": 0, "keys": {{ "fixed": "k" }} }}],
             "topics": [{{ "id": "in", "partitions": 1 }},
                        {{ "id": "out", "partitions": 1, "cleanup": "compact", "compaction_interval": "1s",
                           "delete_retention": "{delete_retention}" }}],
             "consumer_groups": [
               {{ "id": "rpw", "topics": ["in"], "auto_offset_reset": "earliest",
                  "commit": {{ "after_processing": {{ "per": "batch" }} }}, "service": {{ "constant": "100ms" }},
                  "output": {{ "topic": "out", "transactional": true, "polls_per_txn": 2,
                              "transaction_timeout": "50ms" }} }} ],
             "schedule": [
               {{ "at": "500ms", "command": {{ "do": "publish_one", "producer": "p", "key": "k" }} }},
               {{ "at": "1500ms", "command": {{ "do": "publish_one", "producer": "p", "key": "k" }} }},
               {{ "at": "3200ms", "command": {{ "do": "publish_one", "producer": "p", "key": "k" }} }},
               {{ "at": "3200ms", "command": {{ "do": "publish_one", "producer": "p", "key": "k" }} }},
               {{ "at": "3350ms", "command": {{ "do": "crash_member", "group": "rpw", "member": 0 }} }} ] }}"#
        ),
        8_000_000,
    )
}

/// (time [ms], records removed) of each `compacted` event.
fn compactions(s: &crate::common::Story) -> Vec<(u64, u32)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Compacted { removed, .. } => Some((e.t.0 / 1000, removed)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_transaction_marker_is_cleaned_once_its_records_are_gone_and_delete_retention_passed() {
    let s = markers_story("1s");
    let aborted = s
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::TxnAborted { records: 1, .. }))
        .count();
    assert_eq!(aborted, 1, "the open transaction times out at the crash");
    // 2 s: offset 0 (k, superseded by 2); its commit marker 1 stays, since
    //      its record was still there when the pass began.
    // 3 s: marker 1 (its transaction has no record left, appended at 0.6 s,
    //      more than 1 s ago).
    // 4 s: the aborted record 4; its abort marker 5 outlives it by one pass.
    // 5 s: marker 5. Marker 3 stays for good: record 2 is k's latest value.
    assert_eq!(
        compactions(&s),
        [(2000, 1), (3000, 1), (4000, 1), (5000, 1)]
    );
    let out = topic(&s.engine, "out");
    let p = &out.partitions[0];
    assert_eq!((p.log_end, p.records, p.compacted), (6, 2, 4), "{p:?}");
}

#[test]
fn a_marker_whose_records_are_gone_waits_for_delete_retention() {
    // With 10 s of delete retention no marker is old enough in 8 s: only the
    // superseded record 0 (at 2 s) and the aborted record 4 (at 4 s) go, and
    // markers 1, 3 and 5 stay next to k's latest value 2.
    let s = markers_story("10s");
    assert_eq!(compactions(&s), [(2000, 1), (4000, 1)]);
    let p = &topic(&s.engine, "out").partitions[0];
    assert_eq!((p.log_end, p.records, p.compacted), (6, 4, 2), "{p:?}");
}

#[test]
fn a_record_without_a_key_is_refused_by_a_compacted_topic() {
    let json = |key: &str| {
        format!(
            r#"{{ "title": "keyless into a compacted topic", "duration": "3s",
             "producers": [{{ "id": "p", "to": "t", "rate": "10/s", "count": 5, "arrival": "constant",
                             "keys": {{ "fixed": "a" }} }}],
             "topics": [{{ "id": "t", "partitions": 1, "cleanup": "compact", "compaction_interval": "1s" }}],
             "schedule": [{{ "at": "2s", "command": {{ "do": "publish_one", "producer": "p"{key} }} }}] }}"#
        )
    };
    // In a scenario's schedule: a validation error naming the field.
    for key in [r#", "key": null"#, ""] {
        let e = scenario::load(&json(key)).unwrap_err().to_string();
        assert!(
            e.contains("schedule[0].command.key") && e.contains(r#"topic "t" is compacted"#),
            "{e}"
        );
    }
    // As a live command: refused with the same reason, nothing appended.
    let mut s = story(&json(r#", "key": "a""#), 1_000_000);
    let before = topic(&s.engine, "t").appended;
    let cmd: Command =
        serde_json::from_str(r#"{ "do": "publish_one", "producer": "p", "key": null }"#).unwrap();
    let e = s.engine.submit(cmd).unwrap_err().to_string();
    assert!(
        e.starts_with("key: ") && e.contains(r#"topic "t" is compacted"#),
        "{e}"
    );
    assert_eq!(before, 5, "the producer's own five records");
    s.run_to(1_500_000);
    assert_eq!(
        topic(&s.engine, "t").appended,
        5,
        "the refused record is not appended"
    );
    // With a key it goes in.
    let cmd: Command =
        serde_json::from_str(r#"{ "do": "publish_one", "producer": "p", "key": "b" }"#).unwrap();
    s.engine.submit(cmd).unwrap();
    s.run_to(1_900_000);
    assert_eq!(
        topic(&s.engine, "t").appended,
        6,
        "before the scheduled one at 2 s"
    );
}
