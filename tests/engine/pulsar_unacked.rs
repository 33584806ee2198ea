//! Pulsar's caps on unacknowledged messages: a shared consumer at
//! `maxUnackedMessagesPerConsumer` gets nothing until its acks bring it to
//! half; a subscription at `maxUnackedMessagesPerSubscription` dispatches
//! nothing until it is under half; the broker's defaults (50,000 per
//! consumer) apply unset; exclusive and failover subscriptions never block;
//! the caps are refused where Pulsar ignores them. On a partitioned topic
//! both caps hold per partition (each partition is a topic of its own to
//! the broker, with its own dispatcher and one broker consumer per client
//! consumer): a block stops only its partition.

use crate::common::{engine, story, Story};
use queuelab::engine::{SimTime, TraceKind};
use queuelab::scenario;
use serde_json::{json, Value};

const WHOLE: u32 = u32::MAX;

/// Producer `p` at 10/s (constant, from 100 ms) into topic `t`, read by
/// shared subscription `s` (`sub` fields merged in) with two consumers.
fn world(sub: Value) -> String {
    let mut s = json!({ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                        "service": { "constant": "10ms" } });
    for (k, v) in sub.as_object().unwrap() {
        s[k] = v.clone();
    }
    json!({
        "title": "unacked caps",
        "duration": "60s",
        "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant" }],
        "pulsar_topics": [{ "id": "t" }],
        "pulsar_subscriptions": [s],
    })
    .to_string()
}

/// (t, consumer) of every delivery.
fn deliveries(st: &Story) -> Vec<(u64, u32)> {
    st.matching(|k| matches!(k, TraceKind::PulsarDelivered { .. }))
        .iter()
        .map(|e| match e.kind {
            TraceKind::PulsarDelivered { consumer, .. } => (e.t.0, consumer),
            _ => unreachable!(),
        })
        .collect()
}

/// (t, consumer, unacked) of every block (`blocked`) or unblock, on the
/// one partition (0) of a non-partitioned topic.
fn blocks(st: &Story, blocked: bool) -> Vec<(u64, u32, u32)> {
    st.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarBlocked {
                consumer,
                partition: 0,
                unacked,
            } if blocked => Some((e.t.0, consumer, unacked)),
            TraceKind::PulsarUnblocked {
                consumer,
                partition: 0,
                unacked,
            } if !blocked => Some((e.t.0, consumer, unacked)),
            TraceKind::PulsarBlocked { partition, .. }
            | TraceKind::PulsarUnblocked { partition, .. }
                if partition != 0 =>
            {
                panic!("a non-partitioned topic blocked on partition {partition}")
            }
            _ => None,
        })
        .collect()
}

fn sub_view(st: &Story) -> Value {
    let r = serde_json::to_value(st.engine.report("t")).unwrap();
    r["nodes"]["s"].clone()
}

#[test]
fn a_consumer_at_its_cap_gets_nothing_until_acks_bring_it_to_half() {
    // c0 takes 5 s a message, c1 10 ms. The round robin gives c0 every
    // other message: its 4th unacked one blocks it, and everything after
    // goes to c1 until c0's second ack brings it to 2 = 4 / 2.
    let mut st = story(
        &world(json!({
            "max_unacked_per_consumer": 4,
            "consumer_service": [{ "consumer": 0, "service": { "constant": "5s" } }],
        })),
        3_000_000,
    );
    let to_c0: Vec<u64> = deliveries(&st)
        .into_iter()
        .filter(|d| d.1 == 0)
        .map(|d| d.0)
        .collect();
    assert_eq!(to_c0.len(), 4, "c0 got {to_c0:?}");
    let blocked = blocks(&st, true);
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!((blocked[0].0, blocked[0].1, blocked[0].2), (to_c0[3], 0, 4));
    let v = sub_view(&st);
    assert_eq!(v["consumers"][0]["blocked"], json!(true), "{v}");
    assert_eq!(v["consumers"][0]["unacked"], json!(4));
    assert_eq!(v["consumers"][1]["blocked"], json!(false));
    assert_eq!(v["consumer_blocks"], json!(1));
    assert_eq!(v["blocked"], json!(false));

    st.run_to(12_000_000);
    let acks_c0: Vec<u64> = st
        .matching(|k| matches!(k, TraceKind::PulsarAcked { consumer: 0, .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(acks_c0.len(), 2, "{acks_c0:?}");
    // The first ack leaves it at 3 (> 2): still blocked; the second unblocks.
    let unblocked = blocks(&st, false);
    assert_eq!(unblocked, vec![(acks_c0[1], 0, 2)]);
    let d = deliveries(&st);
    assert!(
        !d.iter()
            .any(|&(t, c)| c == 0 && t > to_c0[3] && t < acks_c0[1]),
        "c0 got a message while blocked: {d:?}"
    );
    assert!(
        d.iter().any(|&(t, c)| c == 0 && t >= acks_c0[1]),
        "c0 gets messages again once unblocked"
    );
    // Nothing was held back from the subscription meanwhile: c1 took it all.
    let published = st
        .matching(|k| matches!(k, TraceKind::PulsarStored { .. }))
        .len();
    assert_eq!(
        d.len(),
        published,
        "every stored message went out to someone"
    );
}

#[test]
fn a_subscription_at_its_cap_dispatches_nothing_until_it_is_under_half() {
    // Both consumers take 5 s a message: six deliveries reach the cap of 6;
    // the broker resumes once fewer than 3 are unacknowledged (2, after the
    // fourth ack: 3 is not under half).
    let mut st = story(
        &world(json!({
            "max_unacked_per_subscription": 6,
            "service": { "constant": "5s" },
        })),
        3_000_000,
    );
    let d = deliveries(&st);
    assert_eq!(d.len(), 6, "{d:?}");
    let blocked = blocks(&st, true);
    assert_eq!(blocked, vec![(d[5].0, WHOLE, 6)]);
    assert_eq!(sub_view(&st)["blocked"], json!(true));
    assert_eq!(sub_view(&st)["subscription_blocks"], json!(1));

    st.run_to(12_000_000);
    let acks: Vec<u64> = st
        .matching(|k| matches!(k, TraceKind::PulsarAcked { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert!(acks.len() >= 4, "{acks:?}");
    assert_eq!(blocks(&st, false), vec![(acks[3], WHOLE, 2)]);
    let d = deliveries(&st);
    assert!(
        !d.iter().any(|&(t, _)| t > blocked[0].0 && t < acks[3]),
        "a delivery while the subscription was blocked: {d:?}"
    );
    assert!(d.iter().any(|&(t, _)| t >= acks[3]));
    // Unblocked with a backlog waiting, it dispatches back up to the cap
    // (4 more) and blocks again at once: never over 6 unacknowledged.
    let again = blocks(&st, true);
    assert_eq!(again.get(1), Some(&(acks[3], WHOLE, 6)), "{again:?}");
    assert_eq!(d.iter().filter(|&&(t, _)| t == acks[3]).count(), 4, "{d:?}");
    assert!(sub_view(&st)["unacked"].as_u64().unwrap() <= 6);
    // The backlog waited in the topic, not lost.
    assert!(sub_view(&st)["backlog"].as_u64().unwrap() > 6);
}

/// A consumer that never finishes, with the largest receiver queue, under
/// 20,000 messages a second for 4 s (80,000 messages).
fn flood(kind: &str) -> (Vec<(u32, u32)>, Value) {
    let w = json!({
        "title": "flood",
        "duration": "4s",
        "producers": [{ "id": "p", "to": "t", "rate": "20000/s", "arrival": "constant" }],
        "pulsar_topics": [{ "id": "t" }],
        "pulsar_subscriptions": [{ "id": "s", "topic": "t", "type": kind, "consumers": 1,
                                   "receiver_queue_size": 100000,
                                   "service": { "constant": "1h" } }],
    })
    .to_string();
    let mut e = engine(&w, 1);
    while !e.run_until(SimTime(4_000_000), 100_000).reached {}
    let trace = e.take_trace();
    let blocked = trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::PulsarBlocked {
                consumer,
                partition: 0,
                unacked,
            } => Some((consumer, unacked)),
            _ => None,
        })
        .collect();
    let r = serde_json::to_value(e.report("t")).unwrap();
    (blocked, r["nodes"]["s"].clone())
}

#[test]
fn the_brokers_default_cap_is_50000_per_consumer_and_only_in_individual_ack_modes() {
    let (blocked, v) = flood("shared");
    assert_eq!(blocked, vec![(0, 50_000)]);
    assert_eq!(v["delivered"], json!(50_000), "{v}");
    assert_eq!(v["consumers"][0]["blocked"], json!(true));
    // Exclusive keeps no per-consumer unacked count: the receiver queue is the only limit.
    let (blocked, v) = flood("exclusive");
    assert!(blocked.is_empty(), "{blocked:?}");
    assert!(v["delivered"].as_u64().unwrap() > 50_000, "{v}");
}

#[test]
fn caps_are_refused_where_pulsar_ignores_them() {
    for (kind, field) in [
        ("exclusive", "max_unacked_per_consumer"),
        ("failover", "max_unacked_per_subscription"),
    ] {
        let mut w: Value = serde_json::from_str(&world(json!({}))).unwrap();
        w["pulsar_subscriptions"][0]["type"] = json!(kind);
        w["pulsar_subscriptions"][0]["consumers"] = json!(1);
        w["pulsar_subscriptions"][0][field] = json!(10);
        let err = scenario::load(&w.to_string()).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "pulsar_subscriptions[0].{field}: applies only to shared and key_shared"
            )),
            "{err}"
        );
    }
    // 0 turns a cap off.
    let st = story(
        &world(json!({
            "max_unacked_per_consumer": 0,
            "max_unacked_per_subscription": 0,
            "service": { "constant": "5s" },
        })),
        3_000_000,
    );
    assert!(blocks(&st, true).is_empty());
    let stored = st
        .matching(|k| matches!(k, TraceKind::PulsarStored { .. }))
        .len();
    assert!(stored > 20);
    assert_eq!(deliveries(&st).len(), stored, "every message went out");
}

#[test]
fn a_capped_subscriptions_box_has_room_to_say_blocked() {
    use queuelab::layout::{Layout, NORMAL};
    // Three consumers, each of which may be written "cN blocked": the box
    // is sized for that when the scenario sets a per-consumer cap, so the
    // third one is not squeezed into "+1".
    let width = |sub: Value| {
        let s = scenario::load(&world(sub)).expect("valid");
        let saved = s.layout.clone();
        let e = queuelab::engine::Engine::new(s, 1).expect("builds");
        let l = Layout::compute_styled(&e, &saved, usize::MAX / 4, &NORMAL);
        l.nodes
            .iter()
            .find(|n| n.id == "s")
            .expect("the subscription")
            .w
    };
    let plain = width(json!({ "consumers": 3 }));
    let capped = width(json!({ "consumers": 3, "max_unacked_per_consumer": 4 }));
    assert!(capped > plain + 100.0, "capped {capped} vs {plain}");
}

/// Partitioned topic `t1` (4 partitions) fed 40 messages at 20/s with keys
/// a, b, c, d in turn (Java string hashes 97..100: partitions 1, 2, 3, 0),
/// read by a one-consumer shared subscription that takes 10 s a message
/// and may hold 4 unacknowledged per partition.
fn four_partitions(duration: &str) -> String {
    json!({"title":"t","seed":1,"duration":duration,
     "producers":[{"id":"p","to":"t1","rate":"20/s","count":40,"arrival":"constant",
                   "keys":{"round_robin":["a","b","c","d"]}}],
     "pulsar_topics":[{"id":"t1","partitions":4}],
     "pulsar_subscriptions":[{"id":"s","topic":"t1","type":"shared","consumers":1,
                              "service":{"constant":"10s"},"max_unacked_per_consumer":4}]})
    .to_string()
}

/// (t, consumer, partition, unacked) of every block (`blocked`) or unblock.
fn part_blocks(st: &Story, blocked: bool) -> Vec<(u64, u32, u32, u32)> {
    st.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarBlocked {
                consumer,
                partition,
                unacked,
            } if blocked => Some((e.t.0, consumer, partition, unacked)),
            TraceKind::PulsarUnblocked {
                consumer,
                partition,
                unacked,
            } if !blocked => Some((e.t.0, consumer, partition, unacked)),
            _ => None,
        })
        .collect()
}

/// (t, consumer, partition) of every delivery.
fn part_deliveries(st: &Story) -> Vec<(u64, u32, u32)> {
    st.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarDelivered {
                consumer,
                partition,
                ..
            } => Some((e.t.0, consumer, partition)),
            _ => None,
        })
        .collect()
}

/// Times of the acks of partition `part`'s messages.
fn part_acks(st: &Story, part: u32) -> Vec<u64> {
    st.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::PulsarAcked { partition, .. } if partition == part => Some(e.t.0),
            _ => None,
        })
        .collect()
}

#[test]
fn the_per_consumer_cap_holds_per_partition() {
    // The consumer is one broker consumer per partition: 4 unacknowledged
    // of each partition block it there only, so it gets 16, not 4.
    let st = story(&four_partitions("3s"), 3_000_000);
    let d = part_deliveries(&st);
    assert_eq!(d.len(), 16, "{d:?}");
    for part in 0..4 {
        let n = d.iter().filter(|x| x.2 == part).count();
        assert_eq!(n, 4, "partition {part}: {d:?}");
    }
    // Keys a, b, c, d are partitions 1, 2, 3, 0: the fourth message of each
    // blocks it on its partition, in that order.
    let b = part_blocks(&st, true);
    let on: Vec<(u32, u32, u32)> = b.iter().map(|x| (x.1, x.2, x.3)).collect();
    assert_eq!(
        on,
        vec![(0, 1, 4), (0, 2, 4), (0, 3, 4), (0, 0, 4)],
        "{b:?}"
    );
    // A block on one partition did not stop the others: partition 0's
    // fourth message went out after partition 1 was blocked.
    assert!(d.iter().any(|&(t, _, p)| p == 0 && t > b[0].0), "{d:?}");
    assert!(part_blocks(&st, false).is_empty());
    let v = sub_view(&st);
    assert_eq!(
        v["consumers"][0]["unacked"],
        json!(16),
        "total over partitions: {v}"
    );
    assert_eq!(v["consumers"][0]["blocked"], json!(true));
    assert_eq!(v["consumers"][0]["blocked_on"], json!([0, 1, 2, 3]));
    assert_eq!(v["consumer_blocks"], json!(4));
    assert_eq!(v["unacked"], json!(16));
    assert_eq!(v["blocked"], json!(false));
}

#[test]
fn a_consumer_unblocks_per_partition_at_half_its_cap() {
    // One message every 10 s, in arrival order: a (p1), b (p2), c (p3),
    // d (p0), a (p1). The fifth ack is the second of partition 1: 2 = 4 / 2
    // left there, so the consumer is unblocked on partition 1 alone, takes
    // two more of it and is blocked there again; the acks of partitions 2,
    // 3 and 0 (3 left each) unblock nothing.
    let mut st = story(&four_partitions("60s"), 3_000_000);
    assert_eq!(part_deliveries(&st).len(), 16);
    st.run_to(55_000_000);
    let acks: Vec<u64> = st
        .matching(|k| matches!(k, TraceKind::PulsarAcked { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(acks.len(), 5, "{acks:?}");
    let p1 = part_acks(&st, 1);
    assert_eq!(p1, vec![acks[0], acks[4]]);
    assert_eq!(part_blocks(&st, false), vec![(acks[4], 0, 1, 2)]);
    let later: Vec<(u64, u32, u32)> = part_deliveries(&st)
        .into_iter()
        .filter(|d| d.0 > 3_000_000)
        .collect();
    assert_eq!(later, vec![(acks[4], 0, 1), (acks[4], 0, 1)]);
    assert_eq!(part_blocks(&st, true).last(), Some(&(acks[4], 0, 1, 4)));
    let v = sub_view(&st);
    assert_eq!(v["consumers"][0]["blocked_on"], json!([0, 1, 2, 3]), "{v}");
    assert_eq!(v["consumers"][0]["unacked"], json!(13));
}

/// Partitioned topic `t` (2 partitions) fed 20 messages at 10/s with keys
/// a, a, a, b in turn (a: partition 1, b: partition 0), read by a shared
/// subscription of two consumers that take 5 s a message and may hold 6
/// unacknowledged per partition.
fn two_partitions_sub_cap() -> String {
    json!({"title":"sub cap","duration":"60s",
     "producers":[{"id":"p","to":"t","rate":"10/s","count":20,"arrival":"constant",
                   "keys":{"round_robin":["a","a","a","b"]}}],
     "pulsar_topics":[{"id":"t","partitions":2}],
     "pulsar_subscriptions":[{"id":"s","topic":"t","type":"shared","consumers":2,
                              "service":{"constant":"5s"},"max_unacked_per_subscription":6}]})
    .to_string()
}

#[test]
fn the_per_subscription_cap_blocks_only_the_partition_that_reached_it() {
    // Partition 1 gets 15 messages, partition 0 five: partition 1's
    // dispatcher stops at its sixth delivery, partition 0's goes on and
    // sends all five (11 unacknowledged in all, over the cap of 6, as
    // Pulsar's per-partition dispatchers allow).
    let mut st = story(&two_partitions_sub_cap(), 3_000_000);
    let d = part_deliveries(&st);
    let p1: Vec<u64> = d.iter().filter(|x| x.2 == 1).map(|x| x.0).collect();
    let p0: Vec<u64> = d.iter().filter(|x| x.2 == 0).map(|x| x.0).collect();
    assert_eq!((p1.len(), p0.len()), (6, 5), "{d:?}");
    let b = part_blocks(&st, true);
    assert_eq!(b, vec![(p1[5], WHOLE, 1, 6)]);
    assert!(p0.iter().filter(|&&t| t > p1[5]).count() >= 3, "{d:?}");
    let v = sub_view(&st);
    assert_eq!(v["blocked"], json!(true), "{v}");
    assert_eq!(v["blocked_on"], json!([1]));
    assert_eq!(v["unacked"], json!(11));
    assert_eq!(v["subscription_blocks"], json!(1));

    // Unblocked below half on its own count: the fourth ack of a partition-1
    // message leaves 2 there (< 3); acks of partition 0 do not count. It
    // dispatches back up to 6 at once and blocks again; partition 0,
    // never at its cap, never blocked.
    st.run_to(12_000_000);
    let acks1 = part_acks(&st, 1);
    assert!(acks1.len() >= 4, "{acks1:?}");
    let unblocked = part_blocks(&st, false);
    assert_eq!(unblocked, vec![(acks1[3], WHOLE, 1, 2)]);
    let b = part_blocks(&st, true);
    assert_eq!(b, vec![(p1[5], WHOLE, 1, 6), (acks1[3], WHOLE, 1, 6)]);
    let d = part_deliveries(&st);
    assert!(
        !d.iter()
            .any(|&(t, _, p)| p == 1 && t > p1[5] && t < acks1[3]),
        "a partition-1 delivery while it was blocked: {d:?}"
    );
    assert_eq!(
        d.iter()
            .filter(|&&(t, _, p)| p == 1 && t == acks1[3])
            .count(),
        4,
        "{d:?}"
    );
}

#[test]
fn the_retry_letter_topic_has_its_own_counts() {
    // The retry-letter topic is a topic of its own, with its own broker
    // consumer: every handling fails and is reconsumed later, and the
    // consumer, blocked at 2 unacknowledged of the topic, still takes the
    // retry letters, up to 2 of them (4 unacknowledged in all).
    let st = story(
        &json!({"title":"retry caps","duration":"20s",
         "producers":[{"id":"p","to":"t","rate":"10/s","count":30,"arrival":"constant"}],
         "pulsar_topics":[{"id":"t"}],
         "pulsar_subscriptions":[{"id":"s","topic":"t","type":"shared","consumers":1,
            "service":{"constant":"1s"},"failure_rate":1.0,"retry_letter_delay":"1s",
            "max_unacked_per_consumer":2}]})
        .to_string(),
        2_500_000,
    );
    const RETRY: u32 = u32::MAX;
    let b: Vec<(u32, u32, u32)> = part_blocks(&st, true)
        .iter()
        .map(|x| (x.1, x.2, x.3))
        .collect();
    assert_eq!(b, vec![(0, 0, 2), (0, 0, 2), (0, 0, 2), (0, RETRY, 2)]);
    // In trace order: a retry letter delivered while the consumer was
    // blocked on the topic's partition 0.
    let mut blocked_on_topic = false;
    let mut while_blocked = 0;
    for e in &st.trace {
        match e.kind {
            TraceKind::PulsarBlocked { partition: 0, .. } => blocked_on_topic = true,
            TraceKind::PulsarUnblocked { partition: 0, .. } => blocked_on_topic = false,
            TraceKind::PulsarDelivered {
                partition: RETRY, ..
            } if blocked_on_topic => while_blocked += 1,
            _ => {}
        }
    }
    assert_eq!(while_blocked, 2, "{:?}", part_deliveries(&st));
    let v = sub_view(&st);
    assert_eq!(v["consumers"][0]["unacked"], json!(4), "{v}");
    assert_eq!(v["consumers"][0]["blocked_on"], json!([0, RETRY]));
}
