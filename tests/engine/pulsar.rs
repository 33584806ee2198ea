//! Pulsar stories: Key_Shared's slot of a known key and its auto-split
//! ranges, the documented negative-ack backoff, ack timeouts in 1 s ticks,
//! the dead-letter and retry-letter topics, failover's delayed takeover,
//! delayed delivery on shared vs exclusive, the backlog quota's policies,
//! Pulsar's refusals as validation errors, and a property test with every
//! invariant after every event.

use crate::common::{engine, run_checked, story, Story};
use crate::props::Genes;
use proptest::prelude::*;
use queuelab::engine::{Command, Engine, TraceKind};
use queuelab::scenario::{self, Duration};
use serde_json::{json, Value};

fn report(e: &Engine) -> Value {
    serde_json::to_value(e.report("t")).unwrap()
}

/// One topic `t`, one producer `p` (`producer` fields merged in) and the
/// given subscriptions.
fn world(producer: Value, subs: Value, extra_topics: Value) -> String {
    let mut p = json!({ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant" });
    for (k, v) in producer.as_object().unwrap() {
        p[k] = v.clone();
    }
    let mut topics = vec![json!({ "id": "t" })];
    topics.extend(extra_topics.as_array().cloned().unwrap_or_default());
    json!({
        "title": "pulsar",
        "duration": "60s",
        "producers": [p],
        "pulsar_topics": topics,
        "pulsar_subscriptions": subs,
    })
    .to_string()
}

fn kinds<'a>(st: &'a Story, f: impl Fn(&TraceKind) -> bool + 'a) -> Vec<(u64, TraceKind)> {
    st.matching(f).iter().map(|e| (e.t.0, e.kind)).collect()
}

#[test]
fn key_shared_sends_a_known_key_to_the_owner_of_its_slot() {
    // Pulsar's docs: murmur32("Order-3459134") = 3112179635, mod 65536 = 6067.
    // Four auto-split consumers own [0,16384] c2, [16385,32768] c1,
    // [32769,49152] c3, [49153,65535] c0 (a consumer owns its bound, as
    // Pulsar's `ceilingEntry` routes): slot 6067 belongs to c2.
    let st = story(
        &world(
            json!({ "keys": { "fixed": "Order-3459134" }, "count": 20 }),
            json!([{ "id": "ks", "topic": "t", "type": "key_shared", "consumers": 4,
                     "service": { "constant": "5ms" } }]),
            json!([]),
        ),
        5_000_000,
    );
    assert_eq!(
        st.engine.pulsar_key_ranges("ks"),
        vec![
            (0, 16384, 2),
            (16385, 32768, 1),
            (32769, 49152, 3),
            (49153, 65535, 0)
        ]
    );
    let to: Vec<u32> = kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .into_iter()
        .map(|(_, k)| match k {
            TraceKind::PulsarDelivered { consumer, .. } => consumer,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(to.len(), 20);
    assert!(to.iter().all(|&c| c == 2), "{to:?}");
}

#[test]
fn negative_ack_backoff_follows_the_documented_table() {
    // concepts-messaging.md: min 1 s, max 60 s, multiplier 2 → redelivery
    // 1..8 wait 1, 2, 4, 8, 16, 32, 60, 60 s. The client's tracker (Pulsar
    // ≥ 4.0.2) arms its timer for each lone nack's delay: each comes back
    // exactly its delay after the nack.
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "1ms" },
                     "failure_rate": 1.0,
                     "negative_ack_backoff": { "min_delay": "1s", "max_delay": "60s", "multiplier": 2 } }]),
            json!([]),
        ),
        200_000_000,
    );
    let nacks = kinds(&st, |k| matches!(k, TraceKind::PulsarNacked { .. }));
    let delays: Vec<u64> = nacks
        .iter()
        .map(|(_, k)| match k {
            TraceKind::PulsarNacked { delay_us, .. } => *delay_us / 1_000_000,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(&delays[..8], &[1, 2, 4, 8, 16, 32, 60, 60]);
    let deliveries = kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }));
    for (i, (t_nack, k)) in nacks.iter().take(8).enumerate() {
        let TraceKind::PulsarNacked { delay_us, .. } = k else {
            unreachable!()
        };
        let (t_again, again) = deliveries[i + 1];
        let gap = t_again - t_nack;
        assert_eq!(
            gap,
            *delay_us,
            "redelivery {} came {gap} µs after its nack (delay {delay_us})",
            i + 1
        );
        let TraceKind::PulsarDelivered { redeliveries, .. } = again else {
            unreachable!()
        };
        assert_eq!(redeliveries, i as u32 + 1);
    }
}

#[test]
fn a_nack_comes_back_its_delay_later_even_while_the_timer_runs() {
    // NegativeAcksTracker since Pulsar 4.0.2 (PIP-393): the timer is armed
    // for the nack's delay and, when it fires, re-armed for the earliest
    // nack left. Before, it ticked every delay / 3 and a nack made while it
    // ran came back up to a third late (the second one here at 8.01 s).
    let st = story(
        &world(
            json!({ "count": 1, "rate": "1/s" }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "10ms" },
                     "failure_rate": 1.0, "negative_ack_delay": "3s" }]),
            json!([]),
        ),
        12_000_000,
    );
    let nacks = kinds(&st, |k| matches!(k, TraceKind::PulsarNacked { .. }));
    let deliveries = kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }));
    assert_eq!(nacks[0].0, 1_010_000);
    assert_eq!(
        deliveries[1].0, 4_010_000,
        "nacked at 1.01 s, due 3 s later"
    );
    assert_eq!(nacks[1].0, 4_020_000);
    assert_eq!(
        deliveries[2].0, 7_020_000,
        "nacked at 4.02 s, due 3 s later"
    );
    assert_eq!(deliveries[3].0, 10_030_000);
}

#[test]
fn a_shorter_nack_delay_waits_for_the_timer_a_longer_one_armed() {
    // Two messages (sent at 1 s and 2 s), every handling fails, backoff
    // min 0.5 s ×8 (max 16 s). m1 is nacked at 1.01 s and redelivered at
    // 1.51 s; its second nack (redelivery count 1: 4 s) at 1.52 s arms the
    // timer for 5.52 s. m2 is nacked at 2.01 s with 0.5 s (due 2.51 s), but
    // `add` leaves a running timer alone: m2 waits for the 5.52 s firing,
    // which takes both.
    let st = story(
        &world(
            json!({ "count": 2, "rate": "1/s" }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "10ms" },
                     "failure_rate": 1.0,
                     "negative_ack_backoff": { "min_delay": "500ms", "max_delay": "16s", "multiplier": 8 } }]),
            json!([]),
        ),
        6_000_000,
    );
    let nacks: Vec<u64> = kinds(&st, |k| matches!(k, TraceKind::PulsarNacked { .. }))
        .iter()
        .map(|n| n.0)
        .collect();
    let redelivered: Vec<u64> = kinds(
        &st,
        |k| matches!(k, TraceKind::PulsarDelivered { redeliveries, .. } if *redeliveries > 0),
    )
    .iter()
    .map(|d| d.0)
    .collect();
    assert_eq!(&nacks[..3], &[1_010_000, 1_520_000, 2_010_000], "{nacks:?}");
    assert_eq!(redelivered[0], 1_510_000, "{redelivered:?}");
    assert_eq!(
        &redelivered[1..3],
        &[5_520_000, 5_520_000],
        "both wait for the timer armed at 1.52 s: {redelivered:?}"
    );
}

#[test]
fn an_ack_timeout_redelivers_in_one_second_ticks_and_duplicates_the_effect() {
    // Sent and received at 0.2 s (tick 0), ack timeout 1 s: N = 1 + 1
    // buckets, timed out at tick 2 (2.0 s), redelivered to c1 while c0
    // still works (until 2.7 s): both do the effect.
    let st = story(
        &world(
            json!({ "count": 1, "start": "100ms" }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                     "service": { "constant": "2.5s" }, "ack_timeout": "1s" }]),
            json!([]),
        ),
        10_000_000,
    );
    let timeouts = kinds(&st, |k| matches!(k, TraceKind::PulsarAckTimedOut { .. }));
    assert_eq!(timeouts.len(), 1);
    assert_eq!(timeouts[0].0, 2_000_000);
    let acks = kinds(&st, |k| matches!(k, TraceKind::PulsarAcked { .. }));
    assert_eq!(
        acks.iter().map(|a| a.0).collect::<Vec<_>>(),
        vec![2_700_000, 4_500_000]
    );
    let r = report(&st.engine);
    assert_eq!(r["ledger"]["duplicated"], 1, "{}", r["ledger"]);
}

/// The client's ack-timeout tracker ticks from the consumer's creation: a
/// consumer restarted at 0.6 s ticks at 1.6, 2.6 s, …, so a message it
/// receives at 1.0 s with a 1 s timeout (two buckets) times out at 2.6 s,
/// not on the whole second the first consumer's ticks would give.
#[test]
fn a_restarted_consumers_ack_timeout_ticks_from_its_restart() {
    let json = json!({ "title": "ack timeout phase", "seed": 1, "duration": "5s",
        "producers": [{ "id": "p", "to": "t", "rate": "1/s", "count": 1, "arrival": "constant" }],
        "pulsar_topics": [{ "id": "t" }],
        "pulsar_subscriptions": [{ "id": "s", "topic": "t", "type": "shared", "consumers": 1,
            "service": { "constant": "20s" }, "ack_timeout": "1s" }],
        "schedule": [{ "at": "100ms", "command": { "do": "crash_pulsar_consumer",
            "subscription": "s", "consumer": 0, "restart_after": "500ms" } }] })
    .to_string();
    let st = story(&json, 5_000_000);
    let timeouts = kinds(&st, |k| matches!(k, TraceKind::PulsarAckTimedOut { .. }));
    assert_eq!(
        timeouts.iter().map(|t| t.0).collect::<Vec<_>>(),
        [2_600_000]
    );
}

/// With `ack_timeout_backoff` the tick that empties the message's bucket
/// schedules the redelivery after the backoff, and the first tick at or
/// after that sends it (`UnAckedMessageRedeliveryTracker`): received at
/// 0.2 s, timeout 3 s (bucket emptied at 4 s), backoff 500 ms: redelivered at
/// 5 s; without a backoff at 4 s. Timeout 1.5 s with a 1 s backoff: 3 s, then 4 s.
#[test]
fn an_ack_timeout_backoff_waits_for_the_tick_after_it() {
    let sub = |id: &str, timeout: &str, backoff: Option<&str>| {
        let mut s = json!({ "id": id, "topic": "t", "type": "shared", "consumers": 1,
            "service": { "constant": "20s" }, "ack_timeout": timeout });
        if let Some(b) = backoff {
            s["ack_timeout_backoff"] = json!({ "min_delay": b, "max_delay": b, "multiplier": 2 });
        }
        s
    };
    let st = story(
        &world(
            json!({ "count": 1, "start": "100ms" }),
            json!([
                sub("a", "3s", Some("500ms")),
                sub("b", "3s", None),
                sub("c", "1500ms", Some("1s")),
                sub("d", "1500ms", None)
            ]),
            json!([]),
        ),
        8_000_000,
    );
    let first_timeout = |id: &str| {
        let n = st.node(id);
        st.trace
            .iter()
            .find(|e| e.node == n && matches!(e.kind, TraceKind::PulsarAckTimedOut { .. }))
            .map(|e| e.t.0)
    };
    assert_eq!(first_timeout("a"), Some(5_000_000));
    assert_eq!(first_timeout("b"), Some(4_000_000));
    assert_eq!(first_timeout("c"), Some(4_000_000));
    assert_eq!(first_timeout("d"), Some(3_000_000));
}

#[test]
fn max_redeliver_count_three_means_four_deliveries_then_the_dead_letter_topic() {
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([
                { "id": "s", "topic": "t", "type": "shared", "service": { "constant": "10ms" },
                  "failure_rate": 1.0, "negative_ack_delay": "1s",
                  "dead_letter": { "max_redeliver_count": 3, "topic": "dlq" } },
                { "id": "dlq-reader", "topic": "dlq", "type": "exclusive", "service": { "constant": "10ms" } }
            ]),
            json!([{ "id": "dlq" }]),
        ),
        20_000_000,
    );
    let s = st.node("s");
    let delivered = st
        .matching(|k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .iter()
        .filter(|e| e.node == s)
        .count();
    assert_eq!(delivered, 4);
    let dl = kinds(&st, |k| matches!(k, TraceKind::PulsarDeadLettered { .. }));
    assert_eq!(dl.len(), 1);
    assert!(matches!(
        dl[0].1,
        TraceKind::PulsarDeadLettered { deliveries: 4, .. }
    ));
    let r = report(&st.engine);
    assert_eq!(r["nodes"]["dlq-reader"]["acked"], 1);
    assert_eq!(r["nodes"]["s"]["backlog"], 0);
    assert_eq!(r["nodes"]["dlq"]["stored"], 1);
}

/// Without `dead_letter.topic` the Java client names the DLQ
/// `<topic>-<subscription>-DLQ` (`ConsumerImpl`); a partitioned topic's
/// consumers are per partition and name it after their partition, unless
/// retry is enabled (`ConsumerBuilderImpl` names it after the topic). A
/// topic of that name gets the dead letter; without one it is discarded.
#[test]
fn the_default_dead_letter_topic_is_the_one_named_as_pulsar_names_it() {
    let run = |partitions: u32, retry: bool, topics: &[&str]| {
        let mut sub = json!({ "id": "s", "topic": "t", "type": "shared",
            "service": { "constant": "10ms" }, "failure_rate": 1.0,
            "negative_ack_delay": "1s", "dead_letter": { "max_redeliver_count": 1 } });
        if retry {
            sub["retry_letter_delay"] = json!("1s");
        }
        let mut all = vec![json!({ "id": "t", "partitions": partitions })];
        all.extend(topics.iter().map(|t| json!({ "id": t })));
        let json = json!({
            "title": "default DLQ", "duration": "30s",
            // Key "k" goes to partition 1 of 2 (JavaStringHash("k") = 107).
            "producers": [{ "id": "p", "to": "t", "rate": "1/s", "count": 1,
                            "arrival": "constant", "keys": { "fixed": "k" } }],
            "pulsar_topics": all,
            "pulsar_subscriptions": [sub],
        });
        let st = story(&json.to_string(), 30_000_000);
        let r = report(&st.engine);
        let stored: Vec<(String, u64)> = topics
            .iter()
            .map(|t| (t.to_string(), r["nodes"][*t]["stored"].as_u64().unwrap()))
            .collect();
        (
            stored,
            r["ledger"]["lost_by_reason"]["dead_letter_topic"].as_u64(),
        )
    };
    let named = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    };
    // Not partitioned: t-s-DLQ.
    assert_eq!(
        run(0, false, &["t-s-DLQ", "dlq"]),
        (named(&[("t-s-DLQ", 1), ("dlq", 0)]), None)
    );
    // Partition 1 of 2: its consumer's name.
    assert_eq!(
        run(2, false, &["t-s-DLQ", "t-partition-1-s-DLQ"]),
        (named(&[("t-s-DLQ", 0), ("t-partition-1-s-DLQ", 1)]), None)
    );
    // Retry on: named after the topic, whatever the partition.
    assert_eq!(
        run(2, true, &["t-s-DLQ", "t-partition-1-s-DLQ"]),
        (named(&[("t-s-DLQ", 1), ("t-partition-1-s-DLQ", 0)]), None)
    );
    // No topic of that name: nothing reads it, the letter is discarded.
    assert_eq!(run(0, false, &["dlq"]), (named(&[("dlq", 0)]), Some(1)));
}

#[test]
fn reconsume_later_goes_round_the_retry_letter_topic_then_to_the_dead_letter_topic() {
    // max_redeliver_count 2: reconsumed twice (RECONSUMETIMES 1, 2), the
    // third failure goes to the DLQ: three handlings, 2 s apart (the
    // delayed-delivery tick lets a retry out up to 1 s early).
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "10ms" },
                     "failure_rate": 1.0, "retry_letter_delay": "3s",
                     "dead_letter": { "max_redeliver_count": 2 } }]),
            json!([]),
        ),
        30_000_000,
    );
    let re = kinds(&st, |k| matches!(k, TraceKind::PulsarReconsumeLater { .. }));
    // Each names the position it reconsumes (partition, offset) and the
    // new entry's offset in the retry-letter log: first (0, 0) into retry
    // offset 0, then that retry entry (partition 4294967295, offset 0) into
    // retry offset 1. (The offset was the new entry's, naming the position
    // of another message: (4294967295, 1) for the second.)
    let fields: Vec<(u32, u64, u32, u64)> = re
        .iter()
        .map(|(_, k)| match *k {
            TraceKind::PulsarReconsumeLater {
                partition,
                offset,
                reconsume,
                retry_offset,
                ..
            } => (partition, offset, reconsume, retry_offset),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(fields, [(0, 0, 1, 0), (u32::MAX, 0, 2, 1)]);
    let deliveries = kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }));
    assert_eq!(deliveries.len(), 3);
    for w in deliveries.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!((2_000_000..=3_010_000).contains(&gap), "gap {gap}");
    }
    let dl = kinds(&st, |k| matches!(k, TraceKind::PulsarDeadLettered { .. }));
    assert_eq!(dl.len(), 1);
    assert!(
        matches!(dl[0].1, TraceKind::PulsarDeadLettered { deliveries: 3, .. }),
        "the dead-lettering counts every delivery, reconsumes included: {dl:?}"
    );
    let r = report(&st.engine);
    assert_eq!(r["ledger"]["lost_by_reason"]["dead_letter_topic"], 1);
    // The run's totals: two retries (the reconsumes), one dead letter.
    assert_eq!(
        (
            r["totals"]["retried"].as_u64(),
            r["totals"]["dead_lettered"].as_u64()
        ),
        (Some(2), Some(1))
    );
}

#[test]
fn retry_letters_without_a_dead_letter_policy_reconsume_16_times() {
    // The Java client's `enableRetry` without a `deadLetterPolicy` builds
    // one with `maxRedeliverCount` = `RetryMessageUtil.MAX_RECONSUMETIMES`
    // (16): 16 reconsumes, the 17th failure goes to the default DLQ topic.
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "10ms" },
                     "failure_rate": 1.0, "retry_letter_delay": "1s" }]),
            json!([]),
        ),
        60_000_000,
    );
    let re = kinds(&st, |k| matches!(k, TraceKind::PulsarReconsumeLater { .. }));
    assert_eq!(re.len(), 16);
    let dl = kinds(&st, |k| matches!(k, TraceKind::PulsarDeadLettered { .. }));
    assert_eq!(dl.len(), 1);
    assert!(matches!(
        dl[0].1,
        TraceKind::PulsarDeadLettered { deliveries: 17, .. }
    ));
}

#[test]
fn a_dead_letter_policy_sets_no_ack_timeout() {
    // Pulsar 3.0's Java client (apache/pulsar#19486) no longer turns a 30 s
    // ack timeout on with a dead-letter policy: a 40 s handler is not
    // duplicated by a redelivery.
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                     "service": { "constant": "40s" },
                     "dead_letter": { "max_redeliver_count": 1 } }]),
            json!([]),
        ),
        120_000_000,
    );
    assert!(kinds(&st, |k| matches!(k, TraceKind::PulsarAckTimedOut { .. })).is_empty());
    assert_eq!(
        kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. })).len(),
        1
    );
    assert_eq!(st.engine.ledger_report().duplicated, 0);
}

#[test]
fn failover_hands_over_after_one_second_and_redelivers_the_unacked() {
    // c0 (first by name) is active, but a failover subscription's first
    // active consumer also waits 1 s (activeConsumerFailoverDelayTimeMillis:
    // the active consumer changed from none), so it starts at 1.0 s with
    // ten messages waiting, 80 ms each. It crashes at 2.05 s holding offset
    // 13; c1 becomes active at once but dispatch waits 1 s, then the
    // rewound cursor sends the unacked message first.
    let mut w: Value = serde_json::from_str(&world(
        json!({}),
        json!([{ "id": "f", "topic": "t", "type": "failover", "consumers": 2,
                 "service": { "constant": "80ms" } }]),
        json!([]),
    ))
    .unwrap();
    w["schedule"] = json!([{ "at": "2.05s", "command": { "do": "crash_pulsar_consumer",
        "subscription": "f", "consumer": 0 } }]);
    let st = story(&w.to_string(), 5_000_000);
    // The first election (c0, at the start) is in the trace too.
    let active = kinds(&st, |k| matches!(k, TraceKind::PulsarActiveConsumer { .. }));
    assert_eq!(
        active,
        vec![
            (
                0,
                TraceKind::PulsarActiveConsumer {
                    partition: 0,
                    consumer: 0
                }
            ),
            (
                2_050_000,
                TraceKind::PulsarActiveConsumer {
                    partition: 0,
                    consumer: 1
                }
            )
        ]
    );
    let to_c1: Vec<u64> = kinds(&st, |k| {
        matches!(k, TraceKind::PulsarDelivered { consumer: 1, .. })
    })
    .into_iter()
    .map(|d| d.0)
    .collect();
    assert_eq!(to_c1[0], 3_050_000, "nothing before the 1 s failover delay");
    let to_c0 = kinds(&st, |k| {
        matches!(k, TraceKind::PulsarDelivered { consumer: 0, .. })
    });
    assert_eq!(
        to_c0[0].0, 1_000_000,
        "the first active consumer waits 1 s too"
    );
    // The message c0 was handling (offset 13) comes first.
    let first = kinds(&st, |k| {
        matches!(k, TraceKind::PulsarDelivered { consumer: 1, .. })
    })[0]
        .1;
    assert!(
        matches!(first, TraceKind::PulsarDelivered { offset: 13, .. }),
        "{first:?}"
    );
    let r = report(&st.engine);
    assert_eq!(r["ledger"]["out_of_order"], 0);
}

#[test]
fn a_failover_switch_leaves_the_old_consumers_receiver_queue_alone() {
    // When the active consumer changes, the broker rewinds its cursor for
    // the new one; the old consumer's client is only told it is inactive
    // (ConsumerImpl.activeConsumerChanged) and goes on with what it had
    // received, so those messages are processed twice: the duplicates the
    // failover delay is there to reduce. c0 crashes at 1.5 s, c1 takes
    // over, c0 comes back at 3.5 s and is active again from 4.5 s.
    let json = json!({
        "title": "fo", "duration": "40s",
        "producers": [{ "id": "p", "to": "t", "rate": "20/s", "arrival": "constant", "stop": "4s" }],
        "pulsar_topics": [{ "id": "t" }],
        "pulsar_subscriptions": [{ "id": "fo", "topic": "t", "type": "failover", "consumers": 2,
                                   "service": { "constant": "200ms" } }],
        "schedule": [{ "at": "1.5s", "command": { "do": "crash_pulsar_consumer",
                       "subscription": "fo", "consumer": 0, "restart_after": "2s" } }],
    })
    .to_string();
    let st = story(&json, 40_000_000);
    let rewound: Vec<u64> = kinds(&st, |k| matches!(k, TraceKind::PulsarRewound { .. }))
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        rewound,
        vec![4_500_000],
        "the hand-back, 1 s after the restart"
    );
    let acks = |who: u32, after_us: u64| -> Vec<u64> {
        st.trace
            .iter()
            .filter_map(|e| match e.kind {
                TraceKind::PulsarAcked {
                    consumer, offset, ..
                } if consumer == who && e.t.0 > after_us => Some(offset),
                _ => None,
            })
            .collect()
    };
    let c1_after = acks(1, 4_500_000);
    // c1 had a receiver queue full of the backlog (each takes 200 ms).
    assert!(c1_after.len() > 20, "c1 went on: {c1_after:?}");
    let c0_after = acks(0, 4_500_000);
    let twice = c1_after.iter().filter(|o| c0_after.contains(o)).count();
    assert!(twice > 20, "{twice} offsets processed by both");
    // Every message was processed at least once.
    let mut all: Vec<u64> = acks(0, 0).into_iter().chain(acks(1, 0)).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 79);
}

#[test]
fn a_nack_from_a_consumer_that_just_lost_its_partition_keeps_every_invariant() {
    // c0 crashes, c1 takes over; c0 comes back and is active again after
    // the 1 s failover delay. In that second c1 still holds messages the
    // broker counts as its own, and half of them fail: its nack clears its
    // queue while the broker, no longer taking c1's requests, keeps them
    // unacknowledged until the rewind. (A first cut retired those copies
    // while they were still pending.)
    for seed in 0..40 {
        let json = json!({
            "title": "fo", "duration": "8s", "seed": seed,
            "producers": [{ "id": "p", "to": "t", "rate": "40/s" }],
            "pulsar_topics": [{ "id": "t" }],
            "pulsar_subscriptions": [{ "id": "fo", "topic": "t", "type": "failover",
                                       "consumers": 2, "receiver_queue_size": 3,
                                       "failure_rate": 0.5, "negative_ack_delay": "100ms",
                                       "service": { "exponential": "20ms" } }],
            "schedule": [{ "at": "1s", "command": { "do": "crash_pulsar_consumer",
                           "subscription": "fo", "consumer": 0, "restart_after": "2s" } }],
        })
        .to_string();
        let mut e = engine(&json, seed);
        crate::common::run_checked(&mut e, 8_000_000);
    }
}

#[test]
fn delayed_delivery_waits_on_shared_and_not_on_exclusive() {
    let st = story(
        &world(
            json!({ "count": 1, "deliver_after": "5s" }),
            json!([
                { "id": "sh", "topic": "t", "type": "shared", "service": { "constant": "1ms" } },
                { "id": "ex", "topic": "t", "type": "exclusive", "service": { "constant": "1ms" } }
            ]),
            json!([]),
        ),
        10_000_000,
    );
    let at = |id: &str| {
        let n = st.node(id);
        st.matching(|k| matches!(k, TraceKind::PulsarDelivered { .. }))
            .iter()
            .find(|e| e.node == n)
            .map(|e| e.t.0)
    };
    // Sent at 0.1 s: exclusive ignores deliverAfter; on shared deliverAt =
    // 5.1 s, and the tracker's timer is set for it (`updateTimer`: the
    // next deliverAt, not a tick earlier).
    assert_eq!(at("ex"), Some(100_000));
    assert_eq!(at("sh"), Some(5_100_000));
}

#[test]
fn the_delayed_tracker_lets_out_everything_due_within_a_tick_when_its_timer_runs() {
    // Three messages 625 ms apart, each delayed 5 s: the timer runs at the
    // first one's deliverAt and the non-strict cutoff (now + 1 s tick) lets
    // the second out with it; the third, due 1.25 s after the first, is
    // past the cutoff, so the timer is set again, for its deliverAt.
    let st = story(
        &world(
            json!({ "count": 3, "rate": "1.6/s", "arrival": "constant", "deliver_after": "5s" }),
            json!([
                { "id": "sh", "topic": "t", "type": "shared", "service": { "constant": "1ms" } }
            ]),
            json!([]),
        ),
        10_000_000,
    );
    let sent: Vec<u64> = st
        .matching(|k| matches!(k, TraceKind::Published { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    let got: Vec<u64> = st
        .matching(|k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(sent.len(), 3);
    let due: Vec<u64> = sent.iter().map(|t| t + 5_000_000).collect();
    assert_eq!(due[1] - due[0], 625_000);
    assert_eq!(got[0], due[0], "the timer runs at the first deliverAt");
    assert_eq!(got[1], due[0], "due within the tick: out with it");
    assert_eq!(got[2], due[2], "past the cutoff: its own timer");
}

#[test]
fn under_steady_traffic_each_dispatcher_read_lets_out_what_is_due_within_a_tick() {
    // Pulsar's dispatcher asks the tracker on every read (readMoreEntries →
    // getScheduledMessages with cutoff now + tick), not only when its timer
    // runs: with a message arriving every 100 ms, each 5 s delayed message
    // goes out at the arrival 4 s after it (its deliverAt within the tick).
    // Once the traffic stops only the timer releases, a tick's worth at a
    // time. Released by the timer alone, they went out in bunches of 11
    // every 1.1 s, 4.0 to 5.0 s after their send.
    let st = story(
        &world(
            json!({ "rate": "10/s", "arrival": "constant", "deliver_after": "5s", "stop": "12s" }),
            json!([
                { "id": "sh", "topic": "t", "type": "shared", "service": { "constant": "1ms" } }
            ]),
            json!([]),
        ),
        20_000_000,
    );
    let times =
        |f: fn(&TraceKind) -> bool| -> Vec<u64> { st.matching(f).iter().map(|e| e.t.0).collect() };
    let sent = times(|k| matches!(k, TraceKind::Published { .. }));
    let got = times(|k| matches!(k, TraceKind::PulsarDelivered { .. }));
    assert_eq!(sent.len(), got.len());
    for (i, (s, g)) in sent.iter().zip(&got).enumerate() {
        if s + 4_000_000 <= *sent.last().unwrap() {
            assert_eq!(g - s, 4_000_000, "message {i}: sent {s}, delivered {g}");
        } else {
            // After the last arrival: the timer, a tick apart at most.
            assert!((4_000_000..=5_000_000).contains(&(g - s)), "message {i}");
        }
    }
}

#[test]
fn backlog_quota_policies_refuse_hold_or_evict() {
    let run = |policy: &str| {
        let mut w: Value = serde_json::from_str(&world(
            json!({ "count": 30, "rate": "100/s" }),
            // One message in the receiver queue: the backlog stays on the broker.
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "1s" },
                     "receiver_queue_size": 1 }]),
            json!([]),
        ))
        .unwrap();
        w["pulsar_topics"][0]["backlog_quota"] = json!({ "limit_messages": 10, "policy": policy });
        let st = story(&w.to_string(), 40_000_000);
        // "Why?" names the policy and what it costs.
        let why = st.engine.guarantee_explanation();
        assert!(
            why.iter()
                .any(|x| x.starts_with(&format!("t: backlog quota of 10 messages, {policy}: "))),
            "{why:#?}"
        );
        report(&st.engine)
    };
    let r = run("producer_exception");
    assert_eq!(
        r["ledger"]["lost_by_reason"]["backlog_quota"], 20,
        "{}",
        r["ledger"]
    );
    assert_eq!(r["nodes"]["t"]["refused"], 20, "{}", r);
    assert_eq!(
        r["dropped_by_reason"]["backlog_quota"], 20,
        "{}",
        r["dropped_by_reason"]
    );
    let r = run("producer_request_hold");
    // Held sends go on as the backlog drains: one a second, so those held
    // longer than the 30 s send timeout fail.
    assert_eq!(r["nodes"]["t"]["stored"], 30, "{}", r["nodes"]["t"]);
    let r = run("consumer_backlog_eviction");
    // Evicted down to 90% of the limit at each send past it: 20 skipped,
    // of which the two already pushed to the consumer (in its handler and
    // its one-message receiver queue) are still handled; 18 are lost.
    assert_eq!(r["nodes"]["s"]["evicted"], 20);
    assert_eq!(
        r["ledger"]["lost_by_reason"]["backlog_evicted"], 18,
        "{}",
        r["ledger"]
    );
}

#[test]
fn pulsar_refusals_are_validation_errors_naming_the_field() {
    let bad = |subs: Value| {
        let w = world(json!({}), subs, json!([]));
        scenario::load(&w).unwrap_err().to_string()
    };
    let e = bad(
        json!([{ "id": "s", "topic": "t", "type": "exclusive", "consumers": 2,
                         "service": { "constant": "1ms" } }]),
    );
    assert!(
        e.contains("pulsar_subscriptions[0].consumers") && e.contains("ConsumerBusy"),
        "{e}"
    );
    let e = bad(
        json!([{ "id": "s", "topic": "t", "type": "shared", "ack": "cumulative",
                         "service": { "constant": "1ms" } }]),
    );
    assert!(
        e.contains("pulsar_subscriptions[0].ack") && e.contains("cumulative"),
        "{e}"
    );
    let e = bad(
        json!([{ "id": "s", "topic": "t", "type": "shared", "ack_timeout": "500ms",
                         "service": { "constant": "1ms" } }]),
    );
    assert!(e.contains("ack_timeout") && e.contains("1s"), "{e}");
    let e = bad(
        json!([{ "id": "s", "topic": "t", "type": "key_shared", "consumers": 2,
                         "key_shared": { "sticky": { "ranges": [[[0, 100]], [[50, 200]]] } },
                         "service": { "constant": "1ms" } }]),
    );
    assert!(e.contains("overlaps"), "{e}");
    let e = bad(json!([{ "id": "s", "topic": "t", "type": "failover",
                         "dead_letter": { "max_redeliver_count": 3 },
                         "service": { "constant": "1ms" } }]));
    assert!(e.contains("dead_letter") && e.contains("shared"), "{e}");
    let e = bad(json!([{ "id": "s", "topic": "nope", "service": { "constant": "1ms" } }]));
    assert!(e.contains("no pulsar topic named \"nope\""), "{e}");
}

/// A message every subscription acknowledged is final for the ledger
/// though the topic still stores it behind an ack hole: a shared
/// subscription of two consumers (receiver queues of 1), c0 taking 5 s a
/// message, c1 10 ms; ten messages at 10/s. c0 holds two (one in its
/// handler, one in its receiver queue) for seconds, so the mark-delete
/// position stays before the first and the topic keeps all ten; the eight
/// c1 acknowledged are settled, not pending.
#[test]
fn an_acknowledged_message_behind_an_ack_hole_is_not_pending() {
    let w = world(
        json!({ "count": 10 }),
        json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                 "receiver_queue_size": 1, "service": { "constant": "10ms" },
                 "consumer_service": [{ "consumer": 0, "service": { "constant": "5s" } }] }]),
        json!([]),
    );
    let mut e = engine(&w, 1);
    run_checked(&mut e, 3_000_000);
    let r = report(&e);
    assert_eq!(r["nodes"]["t"]["stored_now"], 10, "{}", r["nodes"]["t"]);
    assert_eq!(r["nodes"]["s"]["acked"], 8, "{}", r["nodes"]["s"]);
    assert_eq!(r["ledger"]["exactly_once"], 8, "{}", r["ledger"]);
    assert_eq!(r["ledger"]["pending"], 2, "{}", r["ledger"]);
    // Alive: the two held messages' stored entries and c0's copies of them.
    assert_eq!(e.ledger().live(), 4, "{:?}", e.ledger());
    run_checked(&mut e, 12_000_000);
    let r = report(&e);
    assert_eq!(r["nodes"]["t"]["stored_now"], 0, "{}", r["nodes"]["t"]);
    assert_eq!(r["ledger"]["exactly_once"], 10, "{}", r["ledger"]);
    assert_eq!(e.ledger().live(), 0);
}

/// A subscription of no consumers with a crash scheduled for one of them:
/// two errors, each naming its field (the scheduled command's check once
/// subtracted 1 from 0; the preset swarm found it in a debug build).
#[test]
fn a_scheduled_crash_on_a_subscription_of_no_consumers_is_an_error_not_a_panic() {
    let mut w: Value = serde_json::from_str(&world(
        json!({}),
        json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 0,
                 "service": { "constant": "1ms" } }]),
        json!([]),
    ))
    .unwrap();
    w["schedule"] = json!([{ "at": "1s", "command": { "do": "crash_pulsar_consumer",
        "subscription": "s", "consumer": 0 } }]);
    let e = scenario::load(&w.to_string()).unwrap_err().to_string();
    assert!(e.contains("pulsar_subscriptions[0].consumers"), "{e}");
    assert!(e.contains("schedule[0].command.consumer"), "{e}");
}

#[test]
fn key_shared_keeps_order_per_key_through_a_crash_and_a_rejoin() {
    let mut w: Value = serde_json::from_str(&world(
        json!({ "rate": "40/s", "arrival": "poisson",
                "keys": { "random": ["a", "b", "c", "d", "e", "f", "g", "h"] } }),
        json!([{ "id": "ks", "topic": "t", "type": "key_shared", "consumers": 3,
                 "service": { "exponential": "60ms" } }]),
        json!([]),
    ))
    .unwrap();
    w["schedule"] = json!([{ "at": "3s", "command": { "do": "crash_pulsar_consumer",
        "subscription": "ks", "consumer": 1, "restart_after": "2s" } }]);
    let st = story(&w.to_string(), 15_000_000);
    let r = report(&st.engine);
    assert_eq!(r["ledger"]["out_of_order"], 0, "{}", r["ledger"]);
    assert!(r["nodes"]["ks"]["redelivered"].as_u64().unwrap() > 0);
}

#[test]
fn a_key_shared_joiner_waits_behind_a_single_unacknowledged_message() {
    // bob's offset 0 is with c0 (5 s) when c1 rejoins at 1.5 s: one message
    // unacknowledged is enough for Pulsar's "recently joined consumers"
    // (`getNumberOfEntriesSinceFirstNotAckedMessage() > 1` counts the read
    // position too), so c1 gets offset 1 only once offset 0 is acked. It
    // used to need two unacknowledged messages and let offset 1 overtake.
    let json = r#"{"title": "t", "seed": 1, "duration": "20s",
      "producers": [{"id": "p", "to": "t", "rate": "1/s", "arrival": "constant", "count": 3,
                     "keys": {"random": ["bob"]}}],
      "pulsar_topics": [{"id": "t"}],
      "pulsar_subscriptions": [{"id": "s", "topic": "t", "type": "key_shared", "consumers": 2,
        "service": {"constant": "5s"}, "consumer_service": [{"consumer": 1, "service": {"constant": "100ms"}}]}],
      "schedule": [{"at": "500ms", "command": {"do": "crash_pulsar_consumer", "subscription": "s",
        "consumer": 1, "restart_after": "1s"}}]}"#;
    let st = story(json, 20_000_000);
    let r = report(&st.engine);
    assert_eq!(r["ledger"]["out_of_order"], 0, "{}", r["ledger"]);
    // Offsets acknowledged in order: 0 by c0 at 6 s, then 1 and 2 by c1.
    let acks: Vec<(u64, u64)> = st
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarAcked { offset, .. } => Some((e.t.0, offset)),
            _ => None,
        })
        .collect();
    assert_eq!(
        acks,
        [(6_000_000, 0), (6_100_000, 1), (6_200_000, 2)],
        "{acks:?}"
    );
}

#[test]
fn shared_round_robins_one_message_at_a_time_when_idle() {
    let st = story(
        &world(
            json!({ "count": 6 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 3,
                     "service": { "constant": "1ms" } }]),
            json!([]),
        ),
        2_000_000,
    );
    let to: Vec<u32> = kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .into_iter()
        .map(|(_, k)| match k {
            TraceKind::PulsarDelivered { consumer, .. } => consumer,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(to, vec![0, 1, 2, 0, 1, 2]);
}

#[test]
fn the_guarantee_dial_sets_when_a_pulsar_handler_acks_and_its_idempotency() {
    // 50 payments; a shared subscription of two consumers whose handler
    // takes 0.1-2.5 s with an ack timeout of 1 s (redeliveries while still
    // working) and fails one time in five; c0 crashes at 2.05 s.
    let run = |g: &str| {
        let mut w: Value = serde_json::from_str(&world(
            json!({ "count": 50, "rate": "20/s" }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                     "service": { "uniform": ["100ms", "2500ms"] }, "failure_rate": 0.2,
                     "negative_ack_delay": "200ms", "ack_timeout": "1s" }]),
            json!([]),
        ))
        .unwrap();
        w["guarantee"] = json!(g);
        w["schedule"] = json!([{ "at": "2.05s", "command": { "do": "crash_pulsar_consumer",
            "subscription": "s", "consumer": 0, "restart_after": "1s" } }]);
        let st = story(&w.to_string(), 120_000_000);
        report(&st.engine)["ledger"].clone()
    };
    // At-most-once: acked on receipt; failures and the crash lose messages,
    // and nothing is ever redelivered, so nothing is done twice.
    let l = run("at_most_once");
    assert_eq!(l["guarantee"], "at_most_once", "{l}");
    assert!(l["lost"].as_u64().unwrap() >= 5, "{l}");
    // The failures (acked, then gone) and the one message c0 held at its crash.
    assert_eq!(l["lost_by_reason"]["consumer_crashed"], 1, "{l}");
    assert_eq!(
        l["lost_by_reason"]["lost_after_auto_ack"].as_u64().unwrap() + 1,
        l["lost"].as_u64().unwrap(),
        "{l}"
    );
    assert_eq!(l["duplicated"], 0, "{l}");
    // At-least-once: nothing lost; the ack timeout doubles slow handlers.
    let l = run("at_least_once");
    assert_eq!(l["lost"], 0, "{l}");
    assert!(l["duplicated"].as_u64().unwrap() > 0, "{l}");
    // Exactly-once: the same redeliveries, skipped by the idempotent handler.
    let l = run("exactly_once");
    assert_eq!(l["lost"], 0, "{l}");
    assert_eq!(l["duplicated"], 0, "{l}");
    assert!(l["deduplicated"].as_u64().unwrap() > 0, "{l}");
    assert!(l["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x.as_str().unwrap().contains("idempotent handler")));
}

/// (time, partition, consumer) of every delivery, and of every ack.
fn deliveries_and_acks(st: &Story) -> (Vec<(u64, u32, u32)>, Vec<u64>) {
    let mut delivered = Vec::new();
    let mut acked = Vec::new();
    for e in &st.trace {
        match e.kind {
            TraceKind::PulsarDelivered {
                consumer,
                partition,
                ..
            } => delivered.push((e.t.0, partition, consumer)),
            TraceKind::PulsarAcked { .. } => acked.push(e.t.0),
            _ => {}
        }
    }
    (delivered, acked)
}

#[test]
fn every_partition_has_its_own_receiver_queue() {
    // The Java client's consumer of a partitioned topic is a
    // MultiTopicsConsumerImpl: one internal consumer, with a receiver queue
    // of min(receiverQueueSize, 50000 / N) flow permits, per partition, so
    // all partitions flow at once. One shared receiver queue of 5 for the
    // whole topic filled from partition 0 first and left partition 3 waiting
    // 14.6 s behind a 200 ms handler.
    for kind in ["failover", "shared"] {
        let json = json!({
            "title": "rq", "duration": "60s",
            "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant",
                            "count": 100, "keys": { "random_of_n": 50 } }],
            "pulsar_topics": [{ "id": "t", "partitions": 4 }],
            "pulsar_subscriptions": [{ "id": "s", "topic": "t", "type": kind, "consumers": 1,
                                       "receiver_queue_size": 5,
                                       "service": { "constant": "200ms" } }],
        })
        .to_string();
        let st = story(&json, 30_000_000);
        let (delivered, acked) = deliveries_and_acks(&st);
        assert_eq!(delivered.len(), 100, "{kind}: every message delivered once");
        for part in 0..4 {
            let first = delivered.iter().find(|d| d.1 == part).unwrap().0;
            // Failover's consumer starts after its 1 s failover delay.
            assert!(
                first <= 1_200_000,
                "{kind}: partition {part} first delivered at {first} us"
            );
        }
        // Outstanding (delivered, not acked): up to 4 × 5 queued plus the
        // one in the handler, never more.
        let mut most = 0;
        for &(t, _, _) in &delivered {
            let out = delivered.iter().filter(|d| d.0 <= t).count()
                - acked.iter().filter(|&&a| a <= t).count();
            most = most.max(out);
        }
        assert!(
            (6..=21).contains(&most),
            "{kind}: {most} outstanding at most"
        );
    }
}

#[test]
fn shared_round_robin_is_per_partition() {
    // Each partition has its own dispatcher with its own round-robin index
    // (PersistentDispatcherMultipleConsumers per partition): keys alternating
    // between two partitions reach both consumers from both partitions. One
    // index for the subscription pinned each consumer to one partition.
    let json = json!({
        "title": "rr", "duration": "2s",
        "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant",
                        "count": 12, "keys": { "round_robin": ["a", "b"] } }],
        "pulsar_topics": [{ "id": "t", "partitions": 2 }],
        "pulsar_subscriptions": [{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                                   "service": { "constant": "1ms" } }],
    })
    .to_string();
    let st = story(&json, 2_000_000);
    let (delivered, _) = deliveries_and_acks(&st);
    assert_eq!(delivered.len(), 12);
    for part in 0..2 {
        let to: Vec<u32> = delivered
            .iter()
            .filter(|d| d.1 == part)
            .map(|d| d.2)
            .collect();
        assert_eq!(to, vec![0, 1, 0, 1, 0, 1], "partition {part}");
    }
}

#[test]
fn a_partitioned_failover_topic_spreads_partitions_over_consumers_by_name() {
    // 3 partitions, 2 failover consumers: partition i -> sorted consumers[i mod 2]
    // (c0, c1, c0). A keyed message goes to JavaStringHash(key) mod 3.
    let keys = ["alice", "bob", "carol", "dave"];
    let mut w: Value = serde_json::from_str(&world(
        json!({ "count": 40, "keys": { "round_robin": keys } }),
        json!([{ "id": "f", "topic": "t", "type": "failover", "consumers": 2,
                 "service": { "constant": "1ms" } }]),
        json!([]),
    ))
    .unwrap();
    w["pulsar_topics"][0]["partitions"] = json!(3);
    let st = story(&w.to_string(), 10_000_000);
    let stored: Vec<u32> = kinds(&st, |k| matches!(k, TraceKind::PulsarStored { .. }))
        .into_iter()
        .map(|(_, k)| match k {
            TraceKind::PulsarStored { partition, .. } => partition,
            _ => unreachable!(),
        })
        .collect();
    let want: Vec<u32> = (0..40)
        .map(|i| {
            let k = keys[i % 4];
            // Java's String.hashCode, masked to a positive int, mod 3.
            let h = k
                .encode_utf16()
                .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32));
            ((h & 0x7fff_ffff) as u32) % 3
        })
        .collect();
    assert_eq!(stored, want);
    for (_, k) in kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. })) {
        let TraceKind::PulsarDelivered {
            consumer,
            partition,
            ..
        } = k
        else {
            unreachable!()
        };
        assert_eq!(
            consumer,
            [0, 1, 0][partition as usize],
            "partition {partition}"
        );
    }
    let r = report(&st.engine);
    assert_eq!(r["nodes"]["f"]["acked"], 40);
    assert_eq!(r["ledger"]["out_of_order"], 0);
}

#[test]
fn sticky_key_shared_ranges_route_by_slot_and_an_unowned_slot_waits() {
    // "a" hashes to slot 27058, "key-1" to 5536 (murmur3 vectors). c0 owns
    // [0, 10000], c1 owns [20000, 30000]; "key-0" (63679) has no owner and
    // waits, unacknowledged, in the backlog.
    let st = story(
        &world(
            json!({ "count": 30, "keys": { "round_robin": ["a", "key-1", "key-0"] } }),
            json!([{ "id": "ks", "topic": "t", "type": "key_shared", "consumers": 2,
                     "key_shared": { "sticky": { "ranges": [[[0, 10000]], [[20000, 30000]]] } },
                     "service": { "constant": "1ms" } }]),
            json!([]),
        ),
        10_000_000,
    );
    let by = |c: u32| {
        kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }))
            .into_iter()
            .filter(
                |(_, k)| matches!(k, TraceKind::PulsarDelivered { consumer, .. } if *consumer == c),
            )
            .count()
    };
    assert_eq!((by(0), by(1)), (10, 10));
    let r = report(&st.engine);
    assert_eq!(r["nodes"]["ks"]["backlog"], 10, "{}", r["nodes"]["ks"]);
    assert_eq!(
        st.engine.pulsar_key_ranges("ks"),
        vec![(0, 10000, 0), (20000, 30000, 1)]
    );
}

#[test]
fn a_failure_after_another_consumer_settled_the_message_moves_nothing() {
    // c0 (2.5 s) times out at 2 s; c1 (10 ms) gets the redelivery, fails
    // and reconsumes it later (acking the original, which is deleted);
    // c0's own failure at 2.6 s finds it settled: no second retry letter.
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                     "service": { "constant": "10ms" },
                     "consumer_service": [{ "consumer": 0, "service": { "constant": "2500ms" } }],
                     "failure_rate": 1.0, "ack_timeout": "1s", "retry_letter_delay": "60s",
                     "dead_letter": { "max_redeliver_count": 1 } }]),
            json!([]),
        ),
        10_000_000,
    );
    let re = kinds(&st, |k| matches!(k, TraceKind::PulsarReconsumeLater { .. }));
    assert_eq!(re.len(), 1, "{re:?}");
    assert_eq!(report(&st.engine)["nodes"]["s"]["reconsumed"], 1);
}

// ------------------------------------------------------------ properties

fn prop_world(g: &mut Genes) -> (String, Vec<(u64, Command)>) {
    let types = ["exclusive", "failover", "shared", "key_shared"];
    let mut subs = Vec::new();
    let n_subs = 1 + g.pick(3);
    for i in 0..n_subs {
        let kind = types[g.pick(4) as usize];
        let consumers = if kind == "exclusive" {
            1
        } else {
            1 + g.pick(3)
        };
        let mut s = json!({
            "id": format!("s{i}"), "topic": "t", "type": kind, "consumers": consumers,
            "service": { "exponential": format!("{}ms", 5 + g.pick(80)) },
            "failure_rate": ([0.0, 0.1, 0.5][g.pick(3) as usize]),
            "negative_ack_delay": format!("{}ms", 100 + g.pick(900)),
            "receiver_queue_size": 1 + g.pick(5),
        });
        if g.pick(2) == 0 {
            s["ack_timeout"] = json!(format!("{}s", 1 + g.pick(2)));
        }
        if g.pick(3) == 0 {
            // A consumer slower than the ack timeout: redeliveries race it.
            s["consumer_service"] = json!([{ "consumer": 0, "service": { "constant": format!("{}ms", 900 + g.pick(1500)) } }]);
        }
        if matches!(kind, "shared" | "key_shared") && g.pick(2) == 0 {
            s["dead_letter"] = json!({ "max_redeliver_count": 1 + g.pick(3), "topic": "dlq" });
        }
        if kind == "shared" && s.get("dead_letter").is_some() && g.pick(2) == 0 {
            s["retry_letter_delay"] = json!("500ms");
        }
        if matches!(kind, "exclusive" | "failover") && g.pick(2) == 0 {
            s["ack"] = json!("cumulative");
        }
        if matches!(kind, "shared" | "key_shared") && g.pick(2) == 0 {
            // Small caps on unacknowledged messages, so blocks happen.
            s["max_unacked_per_consumer"] = json!(g.pick(5));
            s["max_unacked_per_subscription"] = json!(g.pick(9));
        }
        subs.push(s);
    }
    subs.push(
        json!({ "id": "dlq-reader", "topic": "dlq", "type": "shared", "consumers": 1,
                      "service": { "constant": "5ms" } }),
    );
    let mut topic = json!({ "id": "t", "partitions": ([0, 0, 2, 3][g.pick(4) as usize]) });
    if g.pick(3) == 0 {
        topic["backlog_quota"] = json!({
            "limit_messages": 5 + g.pick(20),
            "policy": (["producer_request_hold", "producer_exception", "consumer_backlog_eviction"][g.pick(3) as usize]),
        });
    }
    let w = json!({
        "title": "pulsar props",
        "producers": [{ "id": "p", "to": "t", "rate": format!("{}/s", 5 + g.pick(60)),
                        "keys": { "random_of_n": 1 + g.pick(6) },
                        "deliver_after": format!("{}ms", ([0, 0, 1500][g.pick(3) as usize])) }],
        "pulsar_topics": [topic, { "id": "dlq" }],
        "pulsar_subscriptions": subs,
    });
    let mut cmds = Vec::new();
    for _ in 0..g.pick(5) {
        let at = g.pick(2_900_000) as u64;
        let s = g.pick(n_subs);
        let c = g.pick(3);
        let cmd = match g.pick(4) {
            0 | 1 => Command::CrashPulsarConsumer {
                subscription: format!("s{s}"),
                consumer: c,
                after_effect: g.pick(2) == 0,
                restart_after: (g.pick(2) == 0)
                    .then(|| Duration::from_ms(200 + g.pick(800) as u64)),
            },
            2 => Command::RestartPulsarConsumer {
                subscription: format!("s{s}"),
                consumer: c,
            },
            _ => Command::SetPulsarAckTimeout {
                subscription: format!("s{s}"),
                timeout: (g.pick(2) == 0).then(|| Duration::from_s(1)),
            },
        };
        cmds.push((at, cmd));
    }
    cmds.sort_by_key(|c| c.0);
    (w.to_string(), cmds)
}

fn prop_case(genome: &[u32], seed: u64) -> Result<(), String> {
    let mut g = Genes { g: genome, at: 0 };
    let (w, cmds) = prop_world(&mut g);
    let mut e = engine(&w, seed);
    let check = |e: &mut Engine, until: u64| -> Result<(), String> {
        while e.next_event_time().is_some_and(|t| t.0 <= until) {
            e.step();
            e.check_invariants()
                .map_err(|why| format!("seed {seed} at {}: {why}\n{w}", e.now()))?;
        }
        e.run_until(queuelab::engine::SimTime(until), 0);
        Ok(())
    };
    for (at, cmd) in cmds {
        check(&mut e, at)?;
        let _ = e.submit(cmd); // a consumer index past the subscription's: refused, fine
        e.check_invariants()
            .map_err(|why| format!("seed {seed} after a command: {why}"))?;
    }
    check(&mut e, 3_000_000)?;
    // Every delivery was acked, nacked, timed out, lost in a crash or is in hand.
    let snap = e.snapshot();
    for v in &snap.nodes {
        if let queuelab::engine::NodeView::PulsarSubscription(s) = v {
            if s.acked > s.delivered {
                return Err(format!(
                    "seed {seed}: {} acked {} of {} deliveries",
                    s.id, s.acked, s.delivered
                ));
            }
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("QL_PROP_CASES").unwrap_or(128) as u32,
        rng_seed: proptest::test_runner::RngSeed::Fixed(env("QL_PROP_SEED").unwrap_or(0x9015_a7)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn pulsar_invariants_hold_after_every_event(
        genome in prop::collection::vec(any::<u32>(), 10..80),
        seed in any::<u64>(),
    ) {
        if let Err(why) = prop_case(&genome, seed) {
            prop_assert!(false, "{}", why);
        }
    }
}

#[test]
fn the_inspector_reads_the_timers_the_knobs_set() {
    let json = world(
        json!({ "count": 1 }),
        json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                 "service": { "constant": "1ms" }, "negative_ack_delay": "3s" }]),
        json!([]),
    );
    let mut e = engine(&json, 1);
    assert_eq!(e.pulsar_timers_us("s"), Some((None, 3_000_000)));
    assert_eq!(e.pulsar_timers_us("nope"), None);
    e.submit(Command::SetPulsarAckTimeout {
        subscription: "s".into(),
        timeout: Some(Duration::from_s(2)),
    })
    .unwrap();
    e.submit(Command::SetPulsarNackDelay {
        subscription: "s".into(),
        delay: Duration::from_ms(500),
    })
    .unwrap();
    assert_eq!(e.pulsar_timers_us("s"), Some((Some(2_000_000), 500_000)));
    e.submit(Command::SetPulsarAckTimeout {
        subscription: "s".into(),
        timeout: None,
    })
    .unwrap();
    assert_eq!(e.pulsar_timers_us("s"), Some((None, 500_000)));
}

#[test]
fn a_crash_redelivers_without_counting_a_redelivery() {
    // Pulsar's shared dispatcher puts a removed consumer's pending messages
    // back for replay without touching the redelivery tracker (only a nack
    // or an ack timeout counts one). c0 holds message 0 (5 s handler) when
    // it crashes at 1 s: c1 gets it again with redelivery count 0, and it
    // counts as redelivered in the statistics.
    let mut w: Value = serde_json::from_str(&world(
        json!({ "count": 1 }),
        json!([{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                 "service": { "constant": "5s" } }]),
        json!([]),
    ))
    .unwrap();
    w["schedule"] = json!([{ "at": "1s", "command": { "do": "crash_pulsar_consumer",
        "subscription": "s", "consumer": 0, "restart_after": "10s" } }]);
    let st = story(&w.to_string(), 20_000_000);
    let delivered: Vec<(u32, u32)> = kinds(&st, |k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .into_iter()
        .map(|(_, k)| match k {
            TraceKind::PulsarDelivered {
                consumer,
                redeliveries,
                ..
            } => (consumer, redeliveries),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(delivered, vec![(0, 0), (1, 0)]);
    let r = report(&st.engine);
    assert_eq!(r["nodes"]["s"]["redelivered"], 1);
}

#[test]
fn a_backoff_below_100_ms_is_taken_as_it_is() {
    // The Java client floors the fixed negative-ack delay at 100 ms, not a
    // backoff's delays (`NegativeAcksTracker.add`): min 10 ms stays 10 ms,
    // then 20, 40 ms; the redelivery comes at the tracker's next tick.
    let st = story(
        &world(
            json!({ "count": 1 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "service": { "constant": "1ms" },
                     "failure_rate": 1.0,
                     "negative_ack_backoff": { "min_delay": "10ms", "max_delay": "1s", "multiplier": 2 } }]),
            json!([]),
        ),
        5_000_000,
    );
    let delays: Vec<u64> = kinds(&st, |k| matches!(k, TraceKind::PulsarNacked { .. }))
        .iter()
        .map(|(_, k)| match k {
            TraceKind::PulsarNacked { delay_us, .. } => *delay_us,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(&delays[..3], &[10_000, 20_000, 40_000]);
}

/// (partition, offset) of every `pulsar_delivered` event, with its time.
fn deliveries_of(st: &Story) -> Vec<(u64, u32, u64)> {
    kinds(st, |k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .into_iter()
        .map(|(t, k)| match k {
            TraceKind::PulsarDelivered {
                partition, offset, ..
            } => (t, partition, offset),
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn a_failover_switch_pauses_and_rewinds_only_the_partitions_that_changed_hands() {
    // Three partitions, three failover consumers: p_i → c_i. c1 crashes at
    // 1.2 s; with c0 and c2 left, p1 → c2 and p2 → c0 (i mod 2), while p0
    // stays with c0. Each partition has its own dispatcher in Pulsar, so p0
    // neither pauses nor goes back to its mark-delete position.
    let st = story(
        r#"{ "title": "failover per partition", "seed": 1, "duration": "6s",
             "producers": [{ "id": "p", "to": "t", "rate": "30/s", "arrival": "constant", "count": 30,
                             "keys": { "round_robin": ["a", "b", "c", "d", "e", "f"] } }],
             "pulsar_topics": [{ "id": "t", "partitions": 3 }],
             "pulsar_subscriptions": [{ "id": "fo", "topic": "t", "type": "failover", "consumers": 3,
                                        "service": { "constant": "500ms" } }],
             "schedule": [{ "at": "1200ms", "command": { "do": "crash_pulsar_consumer", "subscription": "fo", "consumer": 1 } }] }"#,
        6_000_000,
    );
    let d = deliveries_of(&st);
    let p0: Vec<u64> = d.iter().filter(|x| x.1 == 0).map(|x| x.2).collect();
    let mut once = p0.clone();
    once.sort_unstable();
    once.dedup();
    assert_eq!(p0, once, "p0 delivered each offset once, in order: {p0:?}");
    // p0 kept flowing through the other partitions' failover delay (1.2–2.2 s).
    let acked_p0_during: usize = kinds(&st, |k| {
        matches!(k, TraceKind::PulsarAcked { partition: 0, .. })
    })
    .iter()
    .filter(|(t, _)| (1_200_000..2_200_000).contains(t))
    .count();
    assert!(
        acked_p0_during >= 1,
        "p0 acks during the delay: {acked_p0_during}"
    );
    // The switched partitions went back to their mark-delete positions after the delay.
    let rewound = kinds(&st, |k| matches!(k, TraceKind::PulsarRewound { .. }));
    assert!(rewound.iter().all(|(t, _)| *t == 2_200_000), "{rewound:?}");
    assert!(
        d.iter().any(|&(t, part, _)| t == 2_200_000 && part == 1),
        "p1 resumed on c2"
    );
}

#[test]
fn an_exclusive_nack_rewinds_only_its_own_partition() {
    // One message on each of two partitions; both fail. p0's nack is due
    // first (0.5 s + 1 s + 0.3 s) while p1's message is still in the
    // handler: only p0's message goes out again then.
    let st = story(
        r#"{ "title": "nack per partition", "seed": 1, "duration": "2200ms",
             "producers": [
               { "id": "pa", "to": "t", "rate": "2/s", "arrival": "constant", "count": 1, "keys": { "fixed": "x0" } },
               { "id": "pb", "to": "t", "rate": "1/s", "arrival": "constant", "count": 1, "keys": { "fixed": "x1" } } ],
             "pulsar_topics": [{ "id": "t", "partitions": 2 }],
             "pulsar_subscriptions": [{ "id": "ex", "topic": "t", "type": "exclusive", "service": { "constant": "1s" },
                                        "failure_rate": 1.0, "negative_ack_delay": "300ms" }] }"#,
        2_200_000,
    );
    let d = deliveries_of(&st);
    let parts: Vec<u32> = d.iter().map(|x| x.1).collect();
    let p1_deliveries = parts.iter().filter(|&&p| p == parts[1]).count();
    assert!(
        d.len() >= 3 && parts[0] != parts[1],
        "two partitions: {d:?}"
    );
    assert_eq!(
        p1_deliveries, 1,
        "the second partition's message was not sent again while in the handler: {d:?}"
    );
}

#[test]
fn key_shared_holds_a_rejoined_consumer_back_only_on_partitions_with_a_backlog() {
    // Key x0 (partition 0) has a backlog behind slow c0; key x1 (partition
    // 1) is fully acknowledged when c1 rejoins at 3 s. Pulsar's
    // recently-joined rule is per partition dispatcher: c1 gets x1's next
    // record (offset 3, sent at 4 s) at once, not after p0's backlog drains.
    let st = story(
        r#"{ "title": "key_shared join per partition", "seed": 1, "duration": "20s",
             "producers": [
               { "id": "pa", "to": "t", "rate": "10/s", "arrival": "constant", "stop": "6s", "keys": { "fixed": "x0" } },
               { "id": "pb1", "to": "t", "rate": "2/s", "arrival": "constant", "stop": "1900ms", "keys": { "fixed": "x1" } },
               { "id": "pb2", "to": "t", "rate": "2/s", "arrival": "constant", "start": "3500ms", "stop": "8s", "keys": { "fixed": "x1" } } ],
             "pulsar_topics": [{ "id": "t", "partitions": 2 }],
             "pulsar_subscriptions": [{ "id": "ks", "topic": "t", "type": "key_shared", "consumers": 2,
                                        "service": { "constant": "10ms" },
                                        "consumer_service": [{ "consumer": 0, "service": { "constant": "200ms" } }] }],
             "schedule": [{ "at": "2s", "command": { "do": "crash_pulsar_consumer", "subscription": "ks", "consumer": 1, "restart_after": "1s" } }] }"#,
        20_000_000,
    );
    let d = deliveries_of(&st);
    let x1_third = d
        .iter()
        .find(|&&(_, part, off)| part == 1 && off == 3)
        .copied();
    assert_eq!(x1_third.map(|x| x.0), Some(4_000_000), "{d:?}");
}

#[test]
fn an_exclusive_ack_timeout_rewinds_every_partition_its_consumer_is_active_on() {
    // The Java client's parent consumer of a partitioned topic tracks ack
    // timeouts and redelivers everything unacknowledged: p0's message times
    // out at 2 s, and p1's (not timed out itself) goes out again with it.
    let st = story(
        r#"{ "title": "ack timeout on a partitioned topic", "seed": 1, "duration": "4s",
             "producers": [
               { "id": "pa", "to": "t", "rate": "2/s", "arrival": "constant", "count": 1, "keys": { "fixed": "x0" } },
               { "id": "pb", "to": "t", "rate": "1/s", "arrival": "constant", "count": 1, "keys": { "fixed": "x1" } } ],
             "pulsar_topics": [{ "id": "t", "partitions": 2 }],
             "pulsar_subscriptions": [{ "id": "ex", "topic": "t", "type": "exclusive", "service": { "constant": "3s" },
                                        "ack_timeout": "1s" }] }"#,
        4_000_000,
    );
    let d = deliveries_of(&st);
    let (first, second) = (d[0].1, d[1].1);
    assert_ne!(first, second, "two partitions: {d:?}");
    let again: Vec<u32> = d.iter().filter(|x| x.0 == 2_000_000).map(|x| x.1).collect();
    assert_eq!(
        again,
        vec![first, second],
        "both partitions went out again at the timeout: {d:?}"
    );
}

#[test]
fn ack_holes_are_the_unacknowledged_messages_behind_acknowledged_ones() {
    // c0 holds offsets 0 and 2 for 10 s; c1 acks 1, 3, 4 and 5: two holes
    // (0 and 2), the cursor still at offset 0. It used to report the four
    // acknowledged offsets as "holes".
    let json = r#"{"title": "t", "seed": 1, "duration": "3s",
      "producers": [{"id": "p", "to": "t", "rate": "10/s", "arrival": "constant", "count": 6}],
      "pulsar_topics": [{"id": "t"}],
      "pulsar_subscriptions": [{"id": "s", "topic": "t", "type": "shared", "consumers": 2,
        "receiver_queue_size": 1, "service": {"constant": "10ms"},
        "consumer_service": [{"consumer": 0, "service": {"constant": "10s"}}]}]}"#;
    let st = story(json, 3_000_000);
    let acked: Vec<u64> = st
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarAcked { offset, .. } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(acked, [1, 3, 4, 5]);
    let s = &report(&st.engine)["nodes"]["s"];
    assert_eq!(
        (s["ack_holes"].as_u64(), s["cursor"].as_str()),
        (Some(2), Some("p0:0")),
        "{s}"
    );
}

#[test]
fn a_later_joiner_gets_no_replayed_message_ahead_of_an_earlier_joiners_held_ones() {
    // Key_Shared, keys d and c. c0 is slow (1 s a message) and holds key d's
    // first messages unacknowledged; c1 rejoins at 1 s and c2 at 2 s, both
    // "recently joined". Replayed messages of d that hash to c2 must not go
    // to it while older ones of d are still held: Pulsar limits a replay
    // read to the earliest recently joined consumer's join position
    // (`getRestrictedMaxEntriesForConsumer`, ReadType.Replay). Per-key order holds.
    let st = story(
        r#"{"title":"ks","seed":1,"duration":"60s",
         "producers":[{"id":"pub","to":"t","rate":"10/s","arrival":"constant","stop":"3s",
           "keys":{"round_robin":["d","c"]}}],
         "pulsar_topics":[{"id":"t"}],
         "pulsar_subscriptions":[{"id":"ks","topic":"t","type":"key_shared","consumers":3,
           "service":{"constant":"10ms"},
           "consumer_service":[{"consumer":0,"service":{"constant":"1s"}}]}],
         "schedule":[
           {"at":"50ms","command":{"do":"crash_pulsar_consumer","subscription":"ks","consumer":1,"restart_after":"950ms"}},
           {"at":"50ms","command":{"do":"crash_pulsar_consumer","subscription":"ks","consumer":2,"restart_after":"1950ms"}}]}"#,
        60_000_000,
    );
    let r = report(&st.engine);
    assert_eq!(r["ledger"]["out_of_order"], 0, "{}", r["ledger"]);
    assert_eq!(r["ledger"]["lost"], 0);
}

#[test]
fn keyless_messages_change_partition_per_10ms_window_as_the_java_clients_default_router() {
    // `RoundRobinPartitionMessageRouter` with batching on (the default):
    // partition = now_ms / partitionSwitchMs (10 ms) + a start drawn per
    // producer, mod N; a keyed message still goes by its key's hash.
    let st = story(
        r#"{ "title": "keyless routing", "seed": 3, "duration": "60ms",
             "producers": [
               { "id": "p", "to": "t", "rate": "1000/s", "arrival": "constant", "count": 50 },
               { "id": "q", "to": "t", "rate": "1000/s", "arrival": "constant", "count": 50 },
               { "id": "k", "to": "t", "rate": "1000/s", "arrival": "constant", "count": 50, "keys": { "fixed": "x1" } } ],
             "pulsar_topics": [{ "id": "t", "partitions": 4 }] }"#,
        60_000_000,
    );
    let stored = |producer: &str| -> Vec<(u64, u32)> {
        let node = st.node(producer);
        let ids: std::collections::BTreeSet<u64> = st
            .trace
            .iter()
            .filter(|e| e.node == node && matches!(e.kind, TraceKind::Published { .. }))
            .filter_map(|e| e.msg)
            .collect();
        st.trace
            .iter()
            .filter_map(|e| match e.kind {
                TraceKind::PulsarStored { partition, .. }
                    if e.msg.is_some_and(|m| ids.contains(&m)) =>
                {
                    Some((e.t.0, partition))
                }
                _ => None,
            })
            .collect()
    };
    for producer in ["p", "q"] {
        let s = stored(producer);
        assert_eq!(s.len(), 50, "{producer}: {s:?}");
        let start = (s[0].1 as u64 + 4 - (s[0].0 / 10_000) % 4) % 4;
        for &(t_us, part) in &s {
            assert_eq!(
                part as u64,
                (t_us / 10_000 + start) % 4,
                "{producer} at {t_us} µs: {s:?}"
            );
        }
        // About ten messages per window over six windows: all four partitions used.
        let used: std::collections::BTreeSet<u32> = s.iter().map(|x| x.1).collect();
        assert_eq!(used.len(), 4, "{producer}: {s:?}");
    }
    let keyed: std::collections::BTreeSet<u32> = stored("k").iter().map(|x| x.1).collect();
    assert_eq!(keyed.len(), 1, "a key stays on its partition: {keyed:?}");
}

/// Each partition of a Key_Shared subscription has its own dispatcher, and
/// only that dispatcher's waiting messages hold a slot back
/// (`getRestrictedMaxEntriesForConsumer` asks its own
/// `redeliveryMessages`). "x442" goes to partition 0 and "x366" to
/// partition 1, both slot 15008, so one consumer owns both. With a receiver
/// queue of 1 and a 1 s handler, x442's second and third messages wait on
/// partition 0; x366, stored on partition 1 at 0.45 s, must go out at once
/// (its partition's permit is free), not at 1.1 s behind them.
#[test]
fn a_key_shared_message_waits_only_behind_its_own_partitions_messages_of_its_slot() {
    let st = story(
        &json!({ "title": "key_shared per partition", "seed": 1, "duration": "6s",
            "producers": [
                { "id": "a", "to": "t", "rate": "10/s", "arrival": "constant", "count": 3, "keys": {"fixed": "x442"} },
                { "id": "b", "to": "t", "rate": "10/s", "arrival": "constant", "count": 1, "start": "0.35s", "keys": {"fixed": "x366"} }],
            "pulsar_topics": [{ "id": "t", "partitions": 2 }],
            "pulsar_subscriptions": [
                { "id": "ks", "topic": "t", "type": "key_shared", "consumers": 2, "receiver_queue_size": 1,
                  "service": { "constant": "1s" } }]
        })
        .to_string(),
        6_000_000,
    );
    let d = deliveries_of(&st);
    let on = |p: u32| {
        d.iter()
            .filter(|x| x.1 == p)
            .map(|x| x.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(on(1), [450_000], "x366 on partition 1: {d:?}");
    // Partition 0 keeps x442 in order, one at a time behind its handler.
    let p0: Vec<u64> = d.iter().filter(|x| x.1 == 0).map(|x| x.2).collect();
    assert_eq!(p0, [0, 1, 2], "{d:?}");
}

/// A sticky Key_Shared consumer needs at least one range: Pulsar refuses an
/// empty list ("Ranges for KeyShared policy must not be empty", in the
/// client's `KeySharedPolicySticky.validate()` and the broker's
/// `validateKeySharedMeta`).
#[test]
fn a_sticky_key_shared_consumer_without_a_range_is_refused() {
    let w = world(
        json!({ "count": 3, "keys": { "fixed": "a" } }),
        json!([{ "id": "ks", "topic": "t", "type": "key_shared", "consumers": 2,
                 "key_shared": { "sticky": { "ranges": [[[0, 100]], []] } },
                 "service": { "constant": "1ms" } }]),
        json!([]),
    );
    let err = scenario::load(&w).unwrap_err().to_string();
    assert!(
        err.contains("pulsar_subscriptions[0].key_shared.sticky.ranges:")
            && err.contains("consumer c1 has no range"),
        "{err}"
    );
}

/// Step `e` to `until`, checking every invariant and that the run's totals
/// add up after every event: published + copies = completed + dropped +
/// in flight.
fn run_summing(e: &mut Engine, until: u64, name: &str) {
    while e.next_event_time().is_some_and(|t| t.0 <= until) {
        e.step();
        if let Err(why) = e.check_invariants() {
            panic!("{name} at {}: {why}", e.now());
        }
        let t = e.totals_now();
        assert_eq!(
            t.published + t.copies,
            t.completed + t.dropped + t.in_flight,
            "{name} at {}: {t:?}",
            e.now()
        );
    }
}

#[test]
fn a_message_a_subscription_lets_go_unhandled_is_dropped_there() {
    // Three ways a subscription acknowledges a message it never handled;
    // each counts as dropped there, with its reason, so the totals add up
    // after every event. Before, the message left the backlog (in flight)
    // and went nowhere: completed + dropped + in flight fell short by one
    // each time.
    let dropped = |e: &Engine, reason: &str| {
        let r = report(e);
        (
            r["totals"]["dropped"].as_u64().unwrap(),
            r["dropped_by_reason"][reason].as_u64().unwrap(),
            r["ledger"]["lost_by_reason"][reason].as_u64().unwrap_or(0),
        )
    };
    // Dead-lettered where nothing reads: five messages failing every time,
    // max_redeliver_count 1, the default DLQ topic not in the scenario.
    let w = r#"{ "title": "dlq nobody has", "duration": "20s",
      "producers": [ { "id": "p", "to": "t", "rate": "1/s", "arrival": "constant", "count": 5 } ],
      "pulsar_topics": [ { "id": "t" } ],
      "pulsar_subscriptions": [ { "id": "s", "topic": "t", "type": "shared", "failure_rate": 1.0,
          "negative_ack_delay": "1s", "dead_letter": { "max_redeliver_count": 1 },
          "service": { "constant": "10ms" } } ] }"#;
    let mut e = engine(w, 1);
    run_summing(&mut e, 20_000_000, "dead letter");
    assert_eq!(dropped(&e, "dead_letter_topic"), (5, 5, 5));
    // A `dropped` record at the subscription for each, when its second
    // failure's nack comes back (1 s, then 1 s more, after each send).
    let s = e.nodes().iter().position(|n| n.id == "s").unwrap() as u32;
    let drops: Vec<u64> = e
        .take_trace()
        .iter()
        .filter(|x| matches!(x.kind, TraceKind::Dropped { .. }) && x.node.0 == s)
        .map(|x| x.t.0)
        .collect();
    assert_eq!(
        drops,
        [3_020_000, 4_020_000, 5_020_000, 6_020_000, 7_020_000]
    );
    // A cumulative ack past nacked messages: exclusive, 30% failures, each
    // failure's redelivery (1 s later) comes after later messages were
    // acknowledged cumulatively, which covered it. 36 handled, 14 skipped.
    let w = r#"{ "title": "cumulative", "duration": "20s",
      "producers": [ { "id": "p", "to": "t", "rate": "20/s", "arrival": "constant", "count": 50 } ],
      "pulsar_topics": [ { "id": "t" } ],
      "pulsar_subscriptions": [ { "id": "s", "topic": "t", "type": "exclusive", "ack": "cumulative",
          "failure_rate": 0.3, "negative_ack_delay": "1s", "service": { "constant": "10ms" } } ] }"#;
    let mut e = engine(w, 1);
    run_summing(&mut e, 20_000_000, "cumulative");
    assert_eq!(dropped(&e, "cumulative_acked"), (14, 14, 14));
    assert_eq!(e.totals_now().completed, 36);
    // Backlog eviction (the preset's lane): the slow subscription's oldest
    // messages are skipped; those already in its consumer's hands are still
    // handled (in flight until then), the others are dropped.
    let s = crate::common::preset_variant("pulsar-backlog-quota", "eviction");
    let mut e = Engine::new(s, 5).unwrap();
    run_summing(&mut e, 60_000_000, "eviction");
    let r = report(&e);
    assert_eq!(r["nodes"]["reports"]["evicted"], 1100, "{}", r["nodes"]);
    assert_eq!(dropped(&e, "backlog_evicted").0, 817);
    assert_eq!(dropped(&e, "backlog_evicted").1, 817);
    let t = e.totals_now();
    assert_eq!((t.published, t.completed, t.in_flight), (1221, 299, 105));
}

#[test]
fn retention_deletes_expired_acknowledged_messages_at_the_next_send() {
    // One message a second, acknowledged at once, kept 2 s; the only
    // consumer crashes at 5.5 s, so nothing is acknowledged after 5.01 s.
    // The README's rule, "checked on the next ack or send": the sends at 6 s
    // and 7 s delete messages 4 and 5 (acknowledged, stored 2 s before).
    // Before, only acks trimmed: the topic kept them for the rest of the run.
    let w = r#"{ "title": "retention", "duration": "20s",
      "producers": [ { "id": "p", "to": "t", "rate": "1/s", "arrival": "constant" } ],
      "pulsar_topics": [ { "id": "t", "retention": "2s" } ],
      "pulsar_subscriptions": [ { "id": "s", "topic": "t", "type": "exclusive", "service": { "constant": "10ms" } } ],
      "schedule": [ { "at": "5500ms", "command": { "do": "crash_pulsar_consumer", "subscription": "s", "consumer": 0 } } ] }"#;
    let mut e = engine(w, 1);
    let mut deleted = Vec::new();
    for until in [5_500_000, 6_500_000, 7_500_000, 20_000_000] {
        run_checked(&mut e, until);
        let r = report(&e);
        deleted.push((
            r["nodes"]["t"]["deleted"].as_u64().unwrap(),
            r["nodes"]["t"]["stored_now"].as_u64().unwrap(),
        ));
    }
    // At 5.01 s the ack trims messages 1-3 (sent at 1-3 s); at 6 s the send
    // deletes 4, at 7 s 5; 6..20 are never acknowledged.
    assert_eq!(deleted, [(3, 2), (4, 2), (5, 2), (5, 15)]);
}

#[test]
fn the_first_active_consumers_are_in_the_captured_trace() {
    // A failover subscription elects its first active consumers while the
    // engine is built (time 0). Those events were hashed and counted but
    // not kept, so a trace file started at seq 2 and had two lines fewer
    // than `trace_events`.
    let w = r#"{ "title": "initial election", "duration": "3s",
      "producers": [ { "id": "p", "to": "t", "rate": "1/s", "arrival": "constant", "count": 2 } ],
      "pulsar_topics": [ { "id": "t", "partitions": 2 } ],
      "pulsar_subscriptions": [ { "id": "s", "topic": "t", "type": "failover", "consumers": 2,
          "service": { "constant": "10ms" } } ] }"#;
    let mut e = engine(w, 1);
    run_checked(&mut e, 3_000_000);
    let trace = e.take_trace();
    assert_eq!(trace.len() as u64, e.trace_len());
    let seqs: Vec<u64> = trace.iter().map(|x| x.seq).collect();
    assert_eq!(seqs, (0..e.trace_len()).collect::<Vec<_>>());
    let first: Vec<(u64, TraceKind)> = trace[..2].iter().map(|x| (x.t.0, x.kind)).collect();
    assert_eq!(
        first,
        [
            (
                0,
                TraceKind::PulsarActiveConsumer {
                    partition: 0,
                    consumer: 0
                }
            ),
            (
                0,
                TraceKind::PulsarActiveConsumer {
                    partition: 1,
                    consumer: 1
                }
            ),
        ]
    );
    // A capture turned on only after the run went on starts where it is
    // turned on: the build's events are not put in front of a gap.
    let s = scenario::load(w).unwrap();
    let mut late = Engine::new(s, 1).unwrap();
    run_checked(&mut late, 1_500_000);
    late.set_trace_capture(true, 1 << 10);
    run_checked(&mut late, 3_000_000);
    let t = late.take_trace();
    assert!(t.iter().all(|x| x.t.0 > 1_500_000), "{t:?}");
}

#[test]
fn an_ack_timeout_of_zero_is_off_as_in_the_java_client() {
    // `ConsumerBuilderImpl.ackTimeout`: `ackTimeout == 0 || millis >=
    // MIN_ACK_TIMEOUT_MILLIS`: 0 is accepted and means no ack timeout. A
    // 3 s handler would be redelivered by any real ack timeout; with 0s
    // nothing is.
    let w = |at: &str| {
        world(
            json!({ "count": 3 }),
            json!([{ "id": "s", "topic": "t", "type": "shared", "ack_timeout": at,
                     "service": { "constant": "3s" } }]),
            json!([]),
        )
    };
    let st = story(&w("0s"), 20_000_000);
    let r = report(&st.engine);
    assert_eq!(r["nodes"]["s"]["ack_timeouts"], 0, "{}", r["nodes"]["s"]);
    assert_eq!(r["totals"]["processed"], 3);
    assert_eq!(r["totals"]["redelivered"], 0);
    // Under 1 s otherwise is still refused, with the field's path.
    let e = scenario::load(&w("500ms")).unwrap_err().to_string();
    assert!(e.contains("pulsar_subscriptions[0].ack_timeout"), "{e}");
    // The command too: 0s switches it off, 500ms is refused.
    let mut e = engine(&w("1s"), 1);
    let set = |t: u64| Command::SetPulsarAckTimeout {
        subscription: "s".into(),
        timeout: Some(Duration(t)),
    };
    assert!(e.submit(set(500_000)).is_err());
    e.submit(set(0)).expect("0 turns the ack timeout off");
    run_checked(&mut e, 20_000_000);
    let r = report(&e);
    assert_eq!(r["nodes"]["s"]["ack_timeouts"], 0, "{}", r["nodes"]["s"]);
    // And a schedule entry of 0s is valid.
    let mut sched: Value = serde_json::from_str(&w("1s")).unwrap();
    sched["schedule"] = json!([{ "at": "1s", "command": { "do": "set_pulsar_ack_timeout",
        "subscription": "s", "timeout": "0s" } }]);
    scenario::load(&sched.to_string()).expect("0s is off");
}

#[test]
fn a_subscription_name_used_twice_is_one_clear_error() {
    let load = |subs: Value, topics: Value| {
        let w = json!({ "title": "t", "duration": "3s",
            "producers": [{ "id": "p", "to": "a", "rate": "1/s" }],
            "pulsar_topics": topics, "pulsar_subscriptions": subs });
        scenario::load(&w.to_string()).unwrap_err().to_string()
    };
    let sub = |topic: &str| json!({ "id": "s", "topic": topic, "service": { "constant": "10ms" } });
    // On one topic: the same subscription in Pulsar. One error, not two.
    let e = load(json!([sub("a"), sub("a")]), json!([{ "id": "a" }]));
    assert_eq!(e.matches("pulsar_subscriptions[1].id").count(), 1, "{e}");
    assert!(e.contains("same subscription"), "{e}");
    // On two topics: Pulsar allows it; here node ids are one name space.
    let e = load(
        json!([sub("a"), sub("b")]),
        json!([{ "id": "a" }, { "id": "b" }]),
    );
    assert_eq!(e.matches("pulsar_subscriptions[1].id").count(), 1, "{e}");
    assert!(e.contains("one name space"), "{e}");
}
