//! RabbitMQ's delivery-order features: consumer priorities (`x-priority`),
//! single active consumer (`x-single-active-consumer`, at the end), and
//! classic priority queues (`x-max-priority`), as its priority guide
//! and `rabbit_priority_queue.erl` define them: the highest priority is
//! delivered first and FIFO within a priority; no priority counts as 0 and a
//! priority above the queue's maximum as the maximum; max-length drop-head
//! drops from the head, which is the highest priority; a message expires only
//! at the head, so an expired low-priority message waits behind live
//! high-priority ones. Each story holds the single consumer busy with a
//! blocker (message 1, 10 ms of work) while the others arrive.

use crate::common::*;
use queuelab::engine::{NodeView, Reason, TraceKind};
use serde_json::{json, Value};

/// One producer per `(start_ms, priority, ttl_ms)`, one message each (sent
/// 1 ms after its start: the first gap of a constant 1/ms rate), into
/// queue `q` (`queue` merged into its definition); consumer `c` with
/// prefetch 1 and 10 ms of constant service, unless `consumer` is false.
fn scenario(msgs: &[(u64, Option<u32>, Option<u64>)], queue: Value, consumer: bool) -> String {
    let producers: Vec<Value> = msgs
        .iter()
        .enumerate()
        .map(|(i, &(start_ms, priority, ttl_ms))| {
            let mut p = json!({ "id": format!("p{i}"), "to": "q", "rate": "1/ms",
                "arrival": "constant", "count": 1, "start": format!("{start_ms}ms") });
            if let Some(x) = priority {
                p["priority"] = json!(x);
            }
            if let Some(t) = ttl_ms {
                p["ttl"] = json!(format!("{t}ms"));
            }
            p
        })
        .collect();
    let mut q = json!({ "id": "q" });
    q.as_object_mut()
        .unwrap()
        .extend(queue.as_object().unwrap().clone());
    let consumers = if consumer {
        json!([{ "id": "c", "queue": "q", "prefetch": 1, "service": { "constant": "10ms" } }])
    } else {
        json!([])
    };
    json!({ "title": "priorities", "producers": producers, "queues": [q], "consumers": consumers })
        .to_string()
}

/// Message ids in the order consumer `c` got them.
fn delivery_order(s: &Story) -> Vec<u64> {
    s.deliveries("c").iter().map(|d| d.1).collect()
}

#[test]
fn the_guide_s_example_a1_b3_c2_is_delivered_b_c_a() {
    // Blocker (1), then A (priority 1), B (3), C (2) while the consumer is busy.
    let msgs = [
        (0, None, None),
        (1, Some(1), None),
        (2, Some(3), None),
        (3, Some(2), None),
    ];
    let s = story(
        &scenario(&msgs, json!({ "max_priority": 3 }), true),
        ms(100),
    );
    assert_eq!(delivery_order(&s), [1, 3, 4, 2]);
    // While they waited, the inspector's contents and levels showed the same.
    let mut early = story(&scenario(&msgs, json!({ "max_priority": 3 }), true), ms(5));
    assert_eq!(
        early.queue_head("q"),
        [(3, 0, false), (4, 0, false), (2, 0, false)]
    );
    let levels = early
        .engine
        .snapshot()
        .nodes
        .into_iter()
        .find_map(|n| match n {
            NodeView::Queue {
                priority_levels, ..
            } => Some(priority_levels),
            _ => None,
        });
    assert_eq!(levels, Some(vec![1, 1, 1, 0]), "p3, p2, p1, p0");
    early.run_to(ms(100));
    assert_eq!(delivery_order(&early), [1, 3, 4, 2]);
}

#[test]
fn a_plain_queue_ignores_priorities() {
    let msgs = [
        (0, None, None),
        (1, Some(1), None),
        (2, Some(3), None),
        (3, Some(2), None),
    ];
    let s = story(&scenario(&msgs, json!({}), true), ms(100));
    assert_eq!(delivery_order(&s), [1, 2, 3, 4]);
}

#[test]
fn fifo_within_a_priority_and_none_counts_as_zero() {
    // 2 and 4 have no priority (0), 3 has 0 explicitly, 5 has 1: 5 first,
    // then 2, 3, 4 in arrival order.
    let msgs = [
        (0, None, None),
        (1, None, None),
        (2, Some(0), None),
        (3, None, None),
        (4, Some(1), None),
    ];
    let s = story(
        &scenario(&msgs, json!({ "max_priority": 1 }), true),
        ms(100),
    );
    assert_eq!(delivery_order(&s), [1, 5, 2, 3, 4]);
}

#[test]
fn a_priority_above_the_maximum_counts_as_the_maximum() {
    // 2 has priority 2 (the maximum), 3 has 9: the same level, so FIFO.
    let msgs = [
        (0, None, None),
        (1, Some(2), None),
        (2, Some(9), None),
        (3, Some(1), None),
    ];
    let s = story(
        &scenario(&msgs, json!({ "max_priority": 2 }), true),
        ms(100),
    );
    assert_eq!(delivery_order(&s), [1, 2, 3, 4]);
}

#[test]
fn drop_head_drops_the_highest_priority_first() {
    // No consumer, max_length 2: low (1), high (2), low (3) at 2, 3, 4 ms. The third
    // publish overflows, and the head is the high one: it goes, the lows stay
    // ("higher priority messages might be dropped to make way for lower
    // priority ones").
    let msgs = [(1, None, None), (2, Some(5), None), (3, None, None)];
    let queue = json!({ "max_priority": 5, "max_length": 2 });
    let s = story(&scenario(&msgs, queue, false), ms(100));
    assert_eq!(s.drops(), [(ms(4), 2, Reason::Maxlen)]);
    assert_eq!(s.queue_head("q"), [(1, 0, false), (3, 0, false)]);
}

#[test]
fn an_expired_low_priority_message_waits_behind_live_high_ones() {
    // Blocker (1) from 1 to 11 ms; low 2 at 2 ms with a 3 ms TTL (due at
    // 5 ms), highs 3 and 4 at 3 and 4 ms. In a plain queue 2 is the head and
    // expires at 5 ms. Here the head is a high one, so 2 expires only when
    // it reaches the head: when 4 is delivered at 21 ms (RabbitMQ's `fetch`
    // drops expired heads right after each fetch).
    let msgs = [
        (0, None, None),
        (1, None, Some(3)),
        (2, Some(1), None),
        (3, Some(1), None),
    ];
    let s = story(
        &scenario(&msgs, json!({ "max_priority": 1 }), true),
        ms(100),
    );
    assert_eq!(delivery_order(&s), [1, 3, 4]);
    let expired: Vec<(u64, u64)> = s
        .matching(|k| matches!(k, TraceKind::Expired))
        .iter()
        .map(|e| (e.t.0, e.msg.unwrap()))
        .collect();
    assert_eq!(expired, [(ms(21), 2)]);
    let plain = story(&scenario(&msgs, json!({}), true), ms(100));
    let expired_plain: Vec<u64> = plain
        .matching(|k| matches!(k, TraceKind::Expired))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(expired_plain, [ms(5)]);
}

#[test]
fn a_requeued_message_goes_back_to_the_head_of_its_own_level() {
    // Message 2 (priority 1) is poison: nacked with requeue, it comes back
    // ahead of 3 (priority 1, waiting) and of 4 (no priority); past the
    // delivery limit of 1 return it is dropped, then 3 and 4 follow.
    let msgs = [
        (0, Some(1), None),
        (1, Some(1), None),
        (2, Some(1), None),
        (3, None, None),
    ];
    let queue = json!({ "max_priority": 1, "delivery_limit": 1 });
    let mut v: Value = serde_json::from_str(&scenario(&msgs, queue, true)).unwrap();
    v["producers"][1]["keys"] = json!({ "fixed": "bad" });
    v["consumers"][0]["poison"] = json!({ "key": "bad" });
    v["consumers"][0]["on_failure"] = json!("requeue");
    let s = story(&v.to_string(), ms(200));
    assert_eq!(
        delivery_order(&s),
        [1, 2, 2, 3, 4],
        "{:?}",
        s.deliveries("c")
    );
    assert_eq!(s.drops(), [(ms(31), 2, Reason::DeliveryLimit)]);
}

#[test]
fn each_producer_reports_its_mean_end_to_end_latency() {
    // 1 at 1 ms (done at 11), 2 (no priority) at 2 ms, 3 (priority 1) at
    // 3 ms: 3 is served 11–21 ms, 2 21–31 ms.
    let msgs = [(0, None, None), (1, None, None), (2, Some(1), None)];
    let s = story(
        &scenario(&msgs, json!({ "max_priority": 1 }), true),
        ms(100),
    );
    let mean = |pid: &str| {
        s.engine.snapshot().nodes.into_iter().find_map(|n| match n {
            NodeView::Producer {
                id,
                completed,
                end_to_end_mean_us,
                ..
            } if id == pid => Some((completed, end_to_end_mean_us)),
            _ => None,
        })
    };
    assert_eq!(mean("p0"), Some((1, Some(10_000.0))));
    assert_eq!(mean("p1"), Some((1, Some(29_000.0))));
    assert_eq!(mean("p2"), Some((1, Some(18_000.0))));
}

#[test]
fn bad_priorities_are_refused_with_their_paths() {
    let bad = json!({
        "title": "bad",
        "producers": [
            { "id": "a", "to": "q", "rate": "1/s", "priority": 256 },
            { "id": "b", "to": "t", "rate": "1/s", "priority": 1 },
            { "id": "c", "to": "s", "rate": "1/s", "priority": 1 }
        ],
        "queues": [
            { "id": "q", "max_priority": 0 },
            { "id": "r", "max_priority": 300 },
            { "id": "s", "max_priority": 2, "sqs": {} }
        ],
        "topics": [{ "id": "t", "partitions": 1 }],
        "consumers": [{ "id": "k", "queue": "s", "priority": 3, "service": { "constant": "1ms" } }]
    });
    let err = queuelab::scenario::load(&bad.to_string())
        .unwrap_err()
        .to_string();
    for (path, words) in [
        ("producers[0].priority", "between 0 and 255"),
        (
            "producers[1].priority",
            "applies only to producers that publish to a RabbitMQ",
        ),
        (
            "producers[2].priority",
            "applies only to producers that publish to a RabbitMQ",
        ),
        ("queues[0].max_priority", "between 1 and 255"),
        ("queues[1].max_priority", "between 1 and 255"),
        ("queues[2].max_priority", "SQS has no message priority"),
        ("consumers[0].priority", "SQS consumers poll"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(path) && l.contains(words)),
            "{path}: {words}\n{err}"
        );
    }
}

/// Consumers `hi` (priority 10, two instances), `mid` (priority 5) and `lo`
/// (no priority), prefetch 1 and 100 ms of work each, on one queue; messages
/// at 1, 2, … ms.
fn consumers_with_priorities(count: u32) -> String {
    json!({
        "title": "consumer priorities",
        "producers": [{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": count }],
        "queues": [{ "id": "q" }],
        "consumers": [
            { "id": "lo", "queue": "q", "service": { "constant": "100ms" } },
            { "id": "hi", "queue": "q", "instances": 2, "priority": 10, "service": { "constant": "100ms" } },
            { "id": "mid", "queue": "q", "priority": 5, "service": { "constant": "100ms" } }
        ]
    })
    .to_string()
}

#[test]
fn higher_priority_consumers_get_messages_while_they_have_room() {
    // 1 and 2 go to hi's two instances, 3 to mid (hi is full), 4 to lo (mid
    // full too), 5 waits. When hi #0 finishes 1 at 101 ms, it takes 5 — not
    // lo, which also finishes later, nor round-robin order among all.
    let s = story(&consumers_with_priorities(5), ms(150));
    let by = |c: &str| {
        s.deliveries(c)
            .iter()
            .map(|d| (d.0, d.1, d.2))
            .collect::<Vec<_>>()
    };
    assert_eq!(by("hi"), [(ms(1), 1, 0), (ms(2), 2, 1), (ms(101), 5, 0)]);
    assert_eq!(by("mid"), [(ms(3), 3, 0)]);
    assert_eq!(by("lo"), [(ms(4), 4, 0)]);
}

#[test]
fn equal_priorities_share_round_robin_and_lower_ones_starve_while_higher_have_room() {
    // One message every 60 ms: hi's two instances (100 ms each) always have
    // room between them, so they alternate and mid and lo get nothing.
    let mut v: Value = serde_json::from_str(&consumers_with_priorities(10)).unwrap();
    v["producers"][0]["rate"] = json!("1000/min");
    let s = story(&v.to_string(), 2_000_000);
    let hi: Vec<u32> = s.deliveries("hi").iter().map(|d| d.2).collect();
    assert_eq!(hi, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert!(s.deliveries("mid").is_empty() && s.deliveries("lo").is_empty());
}

#[test]
fn without_priorities_consumers_share_one_round_robin_ring() {
    let mut v: Value = serde_json::from_str(&consumers_with_priorities(4)).unwrap();
    for c in v["consumers"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("priority");
    }
    let s = story(&v.to_string(), ms(50));
    let first: Vec<(u64, u64)> = ["lo", "hi", "mid"]
        .iter()
        .flat_map(|c| s.deliveries(c).into_iter().map(|d| (d.0, d.1)))
        .collect();
    // Consumer order: lo, hi #0, hi #1, mid.
    assert_eq!(first, [(ms(1), 1), (ms(2), 2), (ms(3), 3), (ms(4), 4)]);
    assert_eq!(s.deliveries("lo")[0].1, 1);
    assert_eq!(s.deliveries("mid")[0].1, 4);
}

#[test]
fn removing_a_high_priority_instance_regroups_the_rest() {
    // 1 → hi#0, 2 → hi#1, 3 → mid (1–3 ms). At 50 ms hi drops to one
    // instance: #1 is removed and message 2 comes back. hi#0 and mid are
    // busy, so the regrouped ring gives it to lo at once; after that only
    // hi#0 is left of hi.
    let mut v: Value = serde_json::from_str(&consumers_with_priorities(3)).unwrap();
    v["schedule"] = json!([{ "at": "50ms", "command": { "do": "set_instances", "consumer": "hi", "instances": 1 } }]);
    let s = story(&v.to_string(), ms(400));
    let by = |c: &str| {
        s.deliveries(c)
            .iter()
            .map(|d| (d.0, d.1, d.2))
            .collect::<Vec<_>>()
    };
    assert_eq!(by("hi"), [(ms(1), 1, 0), (ms(2), 2, 1)]);
    assert_eq!(by("mid"), [(ms(3), 3, 0)]);
    assert_eq!(by("lo"), [(ms(50), 2, 0)]);
    assert_eq!(s.engine.totals_now().completed, 3);
}

#[test]
fn the_consumer_priorities_preset_spills_to_the_backup_only_in_the_burst() {
    // Deliveries per consumer before, during and after the 20–30 s burst.
    let s = story(
        queuelab::scenario::preset("consumer-priorities")
            .unwrap()
            .json,
        60_000_000,
    );
    let windows = |c: &str| {
        let mut w = [0u32; 3];
        for d in s.deliveries(c) {
            w[(d.0 >= 20_000_000) as usize + (d.0 >= 30_000_000) as usize] += 1;
        }
        w
    };
    let (main, backup) = (windows("on-prem"), windows("cloud-burst"));
    // Steady load: on-prem's prefetch rarely fills, the backup idles.
    assert!(backup[0] * 20 < main[0], "before: {main:?} {backup:?}");
    // The burst (75/s against on-prem's 40/s): the backup takes a share.
    assert!(backup[1] * 4 > main[1], "burst: {main:?} {backup:?}");
    assert!(backup[2] * 10 < main[2], "after: {main:?} {backup:?}");
}

/// Queue `q` with `x-single-active-consumer`; consumer `c` with three
/// instances (prefetch 1, 10 ms of work) registered in order #0, #1, #2;
/// one message per ms from 1 ms; `schedule` applied.
fn single_active(count: u32, schedule: Value) -> Story {
    story(&single_active_json(count, schedule), 2_000_000)
}

/// The scenario of `single_active`, as JSON text.
fn single_active_json(count: u32, schedule: Value) -> String {
    json!({
        "title": "single active consumer",
        "producers": [{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": count }],
        "queues": [{ "id": "q", "single_active_consumer": true }],
        "consumers": [{ "id": "c", "queue": "q", "instances": 3, "service": { "constant": "10ms" } }],
        "schedule": schedule
    })
    .to_string()
}

#[test]
fn a_single_active_consumer_queue_delivers_to_one_instance_in_order() {
    // Instance #0 gets everything, one at a time, although #1 and #2 are
    // idle and the queue backs up; so the messages are processed in order.
    let s = single_active(20, json!([]));
    let ds = s.deliveries("c");
    assert!(ds.iter().all(|d| d.2 == 0), "{ds:?}");
    let order: Vec<u64> = s.processed("c").iter().map(|p| p.1).collect();
    assert_eq!(order, (1..=20).collect::<Vec<u64>>());
    // Without the flag the three share the work.
    let mut v: Value = serde_json::from_str(&single_active_json(20, json!([]))).unwrap();
    v["queues"][0]["single_active_consumer"] = json!(false);
    let plain = story(&v.to_string(), 2_000_000);
    let used: std::collections::BTreeSet<u32> = plain.deliveries("c").iter().map(|d| d.2).collect();
    assert_eq!(used.len(), 3);
}

#[test]
fn the_next_registered_instance_takes_over_and_a_restarted_one_stands_by() {
    // #0 crashes at 25 ms (holding message 3, returned to the head) and
    // restarts at 30 ms; #1 takes over with message 3. #1 crashes at 65 ms:
    // #2 takes over, not #0, which registered again behind the others.
    let s = single_active(
        12,
        json!([
            { "at": "25ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 0, "restart_after": "5ms" } },
            { "at": "65ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 1 } }
        ]),
    );
    let ds: Vec<(u64, u64, u32)> = s.deliveries("c").iter().map(|d| (d.0, d.1, d.2)).collect();
    assert_eq!(&ds[..3], [(ms(1), 1, 0), (ms(11), 2, 0), (ms(21), 3, 0)]);
    assert_eq!(
        ds[3],
        (ms(25), 3, 1),
        "#1 takes over with the returned message"
    );
    assert!(
        ds.iter().all(|d| d.0 < ms(25) || d.2 != 0),
        "#0 only stands by after its restart: {ds:?}"
    );
    let after: Vec<u32> = ds.iter().filter(|d| d.0 >= ms(65)).map(|d| d.2).collect();
    assert!(
        !after.is_empty() && after.iter().all(|&i| i == 2),
        "#2 after #1's crash: {ds:?}"
    );
    // Every message once processed, in publish order.
    let order: Vec<u64> = s.processed("c").iter().map(|p| p.1).collect();
    assert_eq!(order, (1..=12).collect::<Vec<u64>>());
    // The view says which is active.
    let standby: Vec<bool> = s
        .engine
        .snapshot()
        .nodes
        .into_iter()
        .find_map(|n| match n {
            NodeView::Consumer { instances, .. } => {
                Some(instances.iter().map(|i| i.standby).collect())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        standby,
        [true, false, false],
        "#0 stands by, #1 is down, #2 active"
    );
}

#[test]
fn a_restarted_standby_registers_behind_the_others() {
    // Registration order #0 #1 #2. Standby #1 crashes at 25 ms and restarts
    // at 30 ms: it registers again, behind #2 (#0 #2 #1). When the active #0
    // crashes at 65 ms, RabbitMQ hands over to the head of its consumer list,
    // #2 (`rabbit_queue_consumers:get_consumer`), not to #1, which comes
    // after #0 in scenario order.
    let s = single_active(
        12,
        json!([
            { "at": "25ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 1, "restart_after": "5ms" } },
            { "at": "65ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 0 } }
        ]),
    );
    let ds: Vec<(u64, u32)> = s.deliveries("c").iter().map(|d| (d.0, d.2)).collect();
    assert!(ds.iter().all(|d| d.0 >= ms(65) || d.1 == 0), "{ds:?}");
    let after: Vec<u32> = ds.iter().filter(|d| d.0 >= ms(65)).map(|d| d.1).collect();
    assert!(
        !after.is_empty() && after.iter().all(|&i| i == 2),
        "#2 takes over, not the re-registered #1: {ds:?}"
    );
    // The active instance crashing and restarting before any dispatch is
    // no longer active: it registers behind #1 and #2, and #1 takes over.
    let s = single_active(
        6,
        json!([
            { "at": "25ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 0, "restart_after": "1us" } }
        ]),
    );
    let after: Vec<u32> = s
        .deliveries("c")
        .iter()
        .filter(|d| d.0 >= ms(25))
        .map(|d| d.2)
        .collect();
    assert!(
        !after.is_empty() && after.iter().all(|&i| i == 1),
        "{after:?}"
    );
}

#[test]
fn a_consumer_timeout_hands_the_single_active_consumer_over_to_the_standby() {
    // `slow` (registered first) is active and takes 5 s per message; the
    // consumer timeout is 2 s, checked every second. At 4 s its channel's
    // tick finds message 1, delivered at 1 s, overdue: the channel closes
    // (PRECONDITION_FAILED), message 1 goes back, and the client consumes
    // again on a new channel — behind `fast`. RabbitMQ removes a closed
    // channel's consumers and makes the head of the remaining ones active
    // (`new_single_active_consumer_after_channel_down`), so `fast` gets
    // message 1 again at once and then 2 and 3; `slow` gets nothing more.
    let s = story(
        &json!({
            "title": "SAC and a consumer timeout",
            "channel_tick_interval": "1s",
            "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 3 }],
            "queues": [{ "id": "q", "single_active_consumer": true, "consumer_timeout": "2s" }],
            "consumers": [
                { "id": "slow", "queue": "q", "service": { "constant": "5s" } },
                { "id": "fast", "queue": "q", "service": { "constant": "100ms" } }
            ]
        })
        .to_string(),
        20_000_000,
    );
    let timed_out: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::AckTimedOut { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(timed_out, [ms(4000)]);
    assert_eq!(s.deliveries("slow"), [(ms(1000), 1, 0, false)]);
    assert_eq!(
        s.deliveries("fast"),
        [
            (ms(4000), 1, 0, true),
            (ms(4100), 2, 0, false),
            (ms(4200), 3, 0, false)
        ]
    );
    assert_eq!(
        s.processed("fast"),
        [(ms(4100), 1), (ms(4200), 2), (ms(4300), 3)]
    );
}

#[test]
fn a_doubled_ack_hands_the_single_active_consumer_over_to_the_standby() {
    // `first` is active; every ack of it reaches the broker twice, and the
    // second names an unknown delivery tag: its channel closes at 1.1 s
    // right after message 1's ack. The client consumes again, behind
    // `standby`, which is now the head of the queue's consumers and active:
    // it gets messages 2 and 3, `first` none.
    let s = story(
        &json!({
            "title": "SAC and a doubled ack",
            "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 3 }],
            "queues": [{ "id": "q", "single_active_consumer": true }],
            "consumers": [
                { "id": "first", "queue": "q", "service": { "constant": "100ms" }, "faults": { "ack_duplicate": 1.0 } },
                { "id": "standby", "queue": "q", "service": { "constant": "100ms" } }
            ]
        })
        .to_string(),
        4_000_000,
    );
    let closed: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::ChannelClosed { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(closed, [ms(1100)]);
    assert_eq!(s.deliveries("first"), [(ms(1000), 1, 0, false)]);
    assert_eq!(
        s.deliveries("standby"),
        [(ms(2000), 2, 0, false), (ms(3000), 3, 0, false)]
    );
}

#[test]
fn single_active_consumer_is_refused_on_sqs_and_round_trips_through_definitions() {
    let bad = json!({ "title": "bad", "queues": [{ "id": "s", "sqs": {}, "single_active_consumer": true }] });
    let err = queuelab::scenario::load(&bad.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("queues[0].single_active_consumer") && err.contains("SQS consumers poll"),
        "{err}"
    );
    let s = queuelab::scenario::load(&single_active_json(20, json!([]))).unwrap();
    let (defs, _) = queuelab::definitions::export(&s);
    assert_eq!(
        defs["queues"][0]["arguments"]["x-single-active-consumer"],
        json!(true)
    );
    let back = queuelab::definitions::import(&defs.to_string(), None).unwrap();
    assert!(back.scenario.queues[0].single_active_consumer);
    let odd = r#"{ "queues": [{"name": "x", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-single-active-consumer": "yes"}}] }"#;
    let imp = queuelab::definitions::import(odd, None).unwrap();
    assert!(!imp.scenario.queues[0].single_active_consumer);
    assert!(
        imp.notes
            .join("\n")
            .contains("`x-single-active-consumer` = \"yes\" is not a boolean"),
        "{:?}",
        imp.notes
    );
}

#[test]
fn the_single_active_consumer_preset_keeps_the_ledger_in_order_and_the_shared_queue_not() {
    let s = story(
        queuelab::scenario::preset("single-active-consumer")
            .unwrap()
            .json,
        30_000_000,
    );
    let ids = |c: &str| s.processed(c).iter().map(|p| p.1).collect::<Vec<u64>>();
    let (ledger, workers) = (ids("ledger"), ids("workers"));
    assert!(ledger.len() > 500);
    assert!(
        ledger.windows(2).all(|w| w[0] < w[1]),
        "the ledger processes in queue order"
    );
    assert!(
        workers.windows(2).any(|w| w[0] > w[1]),
        "three workers finish out of order"
    );
    // One instance at a time: deliveries switch from #0 to #1 once, at the crash.
    let by: Vec<u32> = s.deliveries("ledger").iter().map(|d| d.2).collect();
    let switches = by.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switches, 1, "{by:?}");
    // The crash catches #0 in the middle of an order: #1's first delivery is
    // that order again, ahead of every order behind it.
    let d = s.deliveries("ledger");
    let k = d.iter().position(|x| x.2 == 1).unwrap();
    assert_eq!(d[k].1, d[k - 1].1, "#1 starts with the order #0 held");
    assert!(d[k].3, "and it is a redelivery");
}

#[test]
fn with_consumer_priorities_the_highest_priority_instance_is_the_single_active_one() {
    // `lo` is registered first but `hi` has priority 5: it is active (as a
    // quorum queue in RabbitMQ 4 chooses), and `lo` takes over when it crashes.
    let v = json!({
        "title": "sac with priorities",
        "producers": [{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 6 }],
        "queues": [{ "id": "q", "single_active_consumer": true }],
        "consumers": [
            { "id": "lo", "queue": "q", "service": { "constant": "10ms" } },
            { "id": "hi", "queue": "q", "priority": 5, "service": { "constant": "10ms" } }
        ],
        "schedule": [{ "at": "25ms", "command": { "do": "crash_consumer", "consumer": "hi" } }]
    });
    let s = story(&v.to_string(), ms(200));
    let hi: Vec<u64> = s.deliveries("hi").iter().map(|d| d.1).collect();
    let lo: Vec<(u64, u64)> = s.deliveries("lo").iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(hi, [1, 2, 3]);
    assert_eq!(
        lo.first(),
        Some(&(ms(25), 3)),
        "lo takes over with the returned message: {lo:?}"
    );
    assert_eq!(lo.len(), 4);
}
