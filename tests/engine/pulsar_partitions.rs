//! A partitioned Pulsar topic is one topic per partition, to the broker and
//! to the client. The backlog quota holds per partition: each partition has
//! its own ledger, quota check and eviction (`BrokerService.monitorBacklogQuota`
//! per topic, `BacklogQuotaManager` per ledger). A consumer's negative acks
//! go to the partition's own `ConsumerImpl`, whose `NegativeAcksTracker`
//! has its own timer. Found by review: QueueLab summed the backlog over all
//! partitions and ran one nack timer per consumer.

use crate::common::story;
use queuelab::engine::TraceKind;
use serde_json::Value;

/// Four partitions, a producer at 20/s, a subscription handling 5/s, a
/// quota of 100 messages with `policy`; the subscription's report after 60 s.
fn quota_run(policy: &str) -> (Value, Vec<u64>) {
    let s = story(
        &format!(
            r#"{{ "title": "quota per partition", "seed": 5, "duration": "60s",
                 "producers": [ {{ "id": "pub", "to": "events", "rate": "20/s", "arrival": "poisson" }} ],
                 "pulsar_topics": [ {{ "id": "events", "partitions": 4,
                     "backlog_quota": {{ "limit_messages": 100, "policy": "{policy}" }} }} ],
                 "pulsar_subscriptions": [ {{ "id": "reports", "topic": "events", "type": "shared",
                     "receiver_queue_size": 10, "service": {{ "constant": "200ms" }} }} ] }}"#
        ),
        60_000_000,
    );
    let report = serde_json::to_value(s.engine.report("t")).unwrap();
    let held: Vec<u64> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarHeld { backlog } => Some(backlog),
            _ => None,
        })
        .collect();
    (report, held)
}

/// The subscription's backlog over all partitions.
fn backlog(report: &Value) -> u64 {
    report["nodes"]["reports"]["backlog"].as_u64().unwrap()
}

#[test]
fn producer_exception_refuses_only_past_each_partitions_quota() {
    let (r, _) = quota_run("producer_exception");
    // 20/s against 5/s: every partition fills to its own limit of 100.
    assert_eq!(backlog(&r), 400, "100 per partition, not 100 in all");
    assert!(r["nodes"]["events"]["refused"].as_u64().unwrap() > 0);
}

#[test]
fn producer_request_hold_holds_at_each_partitions_quota() {
    let (r, held) = quota_run("producer_request_hold");
    assert!(!held.is_empty(), "sends are held");
    assert!(
        held.iter().all(|&b| b == 100),
        "a send is held when its partition's backlog is at the limit: {held:?}"
    );
    let b = backlog(&r);
    assert!(b > 100 && b <= 400, "backlog {b}");
}

#[test]
fn consumer_backlog_eviction_evicts_per_partition() {
    let (r, _) = quota_run("consumer_backlog_eviction");
    let b = backlog(&r);
    // Each partition is cut back to 90 when it reaches 100: 4 × 90..=100.
    assert!((360..=400).contains(&b), "backlog {b}");
    assert!(r["nodes"]["reports"]["evicted"].as_u64().unwrap() > 0);
}

#[test]
fn each_partitions_nack_tracker_has_its_own_timer() {
    // One consumer, two partitions, every handling fails, nack delay 1 s.
    // Partition 1's message is nacked at 0.6 s, partition 0's at 1.1 s: each
    // comes back one delay after its own nack (each partition's tracker arms
    // its own timer), not on the timer the other partition started.
    let s = story(
        r#"{ "title": "nack per partition", "seed": 1, "duration": "2.5s",
             "producers": [ { "id": "p", "to": "t", "rate": "2/s", "arrival": "constant", "count": 2,
                              "keys": { "round_robin": ["a", "b"] } } ],
             "pulsar_topics": [ { "id": "t", "partitions": 2 } ],
             "pulsar_subscriptions": [ { "id": "s", "topic": "t", "type": "shared",
                 "service": { "constant": "100ms" }, "failure_rate": 1.0,
                 "negative_ack_delay": "1s" } ] }"#,
        2_500_000,
    );
    let events = |want_redelivered: bool| -> Vec<(u64, u32)> {
        s.trace
            .iter()
            .filter_map(|e| match e.kind {
                TraceKind::PulsarNacked { partition, .. } if !want_redelivered => {
                    Some((e.t.0, partition))
                }
                TraceKind::PulsarDelivered {
                    partition,
                    redeliveries: 1,
                    ..
                } if want_redelivered => Some((e.t.0, partition)),
                _ => None,
            })
            .collect()
    };
    let nacked = events(false);
    let redelivered = events(true);
    for part in [0, 1] {
        let first_nack = nacked.iter().find(|n| n.1 == part).expect("nacked").0;
        let back = redelivered.iter().find(|n| n.1 == part).expect("back").0;
        let after = back - first_nack;
        assert!(
            (1_000_000..1_000_010).contains(&after),
            "partition {part}: nacked at {first_nack}, back at {back}"
        );
    }
}
