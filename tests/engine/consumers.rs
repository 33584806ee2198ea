//! Consumers: round-robin dispatch among instances with prefetch room,
//! prefetch limits, crash and restart (unacked messages come back flagged
//! redelivered; auto-acked ones are lost), nack with requeue, poison
//! messages, and handlers that publish (pipelines, request-reply).

use crate::common::*;
use queuelab::engine::{Reason, TraceKind};

fn work_queue(producer_extra: &str, consumer: &str) -> String {
    format!(
        r#"{{
  "title": "consumers",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant" {producer_extra} }}],
  "queues": [{{ "id": "q" }}],
  "consumers": [{consumer}]
}}"#
    )
}

#[test]
fn round_robin_among_instances_with_prefetch_room() {
    // Service 2.5 s with 3 instances: each message finds the next instance free.
    let json = work_queue(
        r#", "count": 6"#,
        r#"{ "id": "c", "queue": "q", "instances": 3, "service": { "constant": "2500ms" } }"#,
    );
    let s = story(&json, 20_000_000);
    let who: Vec<(u64, u32)> = s.deliveries("c").iter().map(|d| (d.1, d.2)).collect();
    assert_eq!(who, [(1, 0), (2, 1), (3, 2), (4, 0), (5, 1), (6, 2)]);
}

#[test]
fn round_robin_skips_an_instance_without_room() {
    // Service 1.5 s with 2 instances, one message a second: instance 0 is busy
    // from 1 s to 2.5 s, so message 2 goes to 1; message 3 (at 3 s) to 0 again.
    let json = work_queue(
        r#", "count": 4"#,
        r#"{ "id": "c", "queue": "q", "instances": 2, "service": { "constant": "1500ms" } }"#,
    );
    let s = story(&json, 20_000_000);
    let who: Vec<(u64, u64, u32)> = s.deliveries("c").iter().map(|d| (d.0, d.1, d.2)).collect();
    assert_eq!(
        who,
        [
            (ms(1000), 1, 0),
            (ms(2000), 2, 1),
            (ms(3000), 3, 0),
            (ms(4000), 4, 1)
        ]
    );
}

#[test]
fn prefetch_limits_unacked_deliveries_per_instance() {
    let json = work_queue(
        r#", "count": 5"#,
        r#"{ "id": "c", "queue": "q", "prefetch": 2, "service": { "constant": "10s" } }"#,
    );
    let mut s = story(&json, ms(5500));
    // Two held (one in service, one buffered), three waiting in the queue.
    assert_eq!(
        s.deliveries("c")
            .iter()
            .map(|d| (d.0, d.1))
            .collect::<Vec<_>>(),
        [(ms(1000), 1), (ms(2000), 2)]
    );
    assert_eq!(s.depth("q"), 3);
    s.run_to(40_000_000);
    // Each ack frees one slot: 1 done at 11 s (3 delivered), 2 at 21 s (4), ...
    assert_eq!(
        s.processed("c"),
        [(ms(11_000), 1), (ms(21_000), 2), (ms(31_000), 3)]
    );
    assert_eq!(
        s.deliveries("c")
            .iter()
            .map(|d| (d.0, d.1))
            .collect::<Vec<_>>(),
        [
            (ms(1000), 1),
            (ms(2000), 2),
            (ms(11_000), 3),
            (ms(21_000), 4),
            (ms(31_000), 5)
        ]
    );
}

fn crash_at_5s(ack: &str) -> Story {
    let json = format!(
        r#"{{
  "title": "crash",
  "producers": [{{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 3 }}],
  "queues": [{{ "id": "q" }}],
  "consumers": [{{ "id": "c", "queue": "q", "prefetch": 3, "ack": "{ack}", "service": {{ "constant": "10s" }} }}],
  "schedule": [{{ "at": "5s", "command": {{ "do": "crash_consumer", "consumer": "c", "restart_after": "1s" }} }}]
}}"#
    );
    story(&json, 60_000_000)
}

#[test]
fn crash_returns_unacked_messages_in_order_flagged_redelivered() {
    let s = crash_at_5s("after_processing");
    let crashed = s.matching(|k| matches!(k, TraceKind::Crashed { .. }));
    assert_eq!(crashed.len(), 1);
    assert_eq!(
        (crashed[0].t.0, crashed[0].kind),
        (
            ms(5000),
            TraceKind::Crashed {
                instance: 0,
                returned: 3,
                lost: 0
            }
        )
    );
    assert_eq!(
        s.matching(|k| matches!(k, TraceKind::Requeued { .. }))
            .len(),
        3
    );
    let restarted = s.matching(|k| matches!(k, TraceKind::Restarted { .. }));
    assert_eq!(restarted[0].t.0, ms(6000));
    // On restart the three come back in their original order, flagged.
    assert_eq!(
        s.deliveries("c"),
        [
            (ms(1000), 1, 0, false),
            (ms(2000), 2, 0, false),
            (ms(3000), 3, 0, false),
            (ms(6000), 1, 0, true),
            (ms(6000), 2, 0, true),
            (ms(6000), 3, 0, true),
        ]
    );
    assert_eq!(
        s.processed("c"),
        [(ms(16_000), 1), (ms(26_000), 2), (ms(36_000), 3)]
    );
    let t = s.engine.totals_now();
    assert_eq!((t.redelivered, t.completed, t.dropped), (3, 3, 0));
}

#[test]
fn auto_ack_messages_are_lost_when_the_consumer_crashes() {
    let s = crash_at_5s("auto");
    let crashed = s.matching(|k| matches!(k, TraceKind::Crashed { .. }));
    assert_eq!(
        crashed[0].kind,
        TraceKind::Crashed {
            instance: 0,
            returned: 0,
            lost: 3
        }
    );
    let mut drops = s.drops();
    drops.sort_by_key(|d| d.1);
    assert_eq!(
        drops,
        [
            (ms(5000), 1, Reason::LostAfterAutoAck),
            (ms(5000), 2, Reason::LostAfterAutoAck),
            (ms(5000), 3, Reason::LostAfterAutoAck)
        ]
    );
    // Acked at delivery, never redelivered, never processed.
    assert_eq!(
        s.matching(|k| matches!(k, TraceKind::Acked { .. })).len(),
        3
    );
    assert_eq!(s.deliveries("c").len(), 3);
    assert!(s.processed("c").is_empty());
}

#[test]
fn auto_ack_failure_loses_the_message() {
    let json = work_queue(
        r#", "count": 1"#,
        r#"{ "id": "c", "queue": "q", "ack": "auto", "failure_rate": 1.0, "on_failure": "requeue", "service": { "constant": "10ms" } }"#,
    );
    let s = story(&json, 5_000_000);
    assert_eq!(s.drops(), [(ms(1010), 1, Reason::LostAfterAutoAck)]);
    assert!(s
        .matching(|k| matches!(k, TraceKind::Requeued { .. }))
        .is_empty());
}

#[test]
fn nack_with_requeue_puts_the_message_back_at_the_head() {
    // Two messages queued behind a failing one: the requeued message goes
    // first again (head), flagged redelivered, with a growing attempt count.
    let json = r#"{
  "title": "nack requeue",
  "producers": [{ "id": "p", "to": "q", "rate": "1/ms", "arrival": "constant", "count": 2, "keys": { "round_robin": ["bad", "good"] } }],
  "queues": [{ "id": "q" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" },
                  "poison": { "key": "bad" }, "on_failure": "requeue" }]
}"#;
    let s = story(json, ms(35));
    let attempts: Vec<(u64, u64, u32, bool)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Delivered {
                attempt,
                redelivered,
                ..
            } => Some((e.t.0, e.msg.unwrap(), attempt, redelivered)),
            _ => None,
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (ms(1), 1, 1, false),
            (ms(11), 1, 2, true),
            (ms(21), 1, 3, true),
            (ms(31), 1, 4, true)
        ]
    );
    let nacks = s.matching(|k| matches!(k, TraceKind::Nacked { requeue: true, .. }));
    assert_eq!(nacks.len(), 3);
    assert_eq!(
        s.queue_head("q"),
        [(2, 0, false)],
        "the good one starves behind it"
    );
}

#[test]
fn poison_by_header_fails_only_those_messages() {
    let json = r#"{
  "title": "poison header",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 4,
                  "header_sets": [{ "kind": "ok" }, { "kind": "poison" }] }],
  "queues": [{ "id": "q" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" },
                  "poison": { "header": { "name": "kind", "value": "poison" } } }]
}"#;
    let s = story(json, 10_000_000);
    assert_eq!(
        s.processed("c").iter().map(|p| p.1).collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(
        s.drops(),
        [
            (ms(2010), 2, Reason::Rejected),
            (ms(4010), 4, Reason::Rejected)
        ]
    );
}

#[test]
fn handlers_publish_on_success_keeping_the_correlation_id() {
    // Request-reply through a two-stage pipeline: the reply's parent is the
    // stage-1 output, and its correlation id is still the request's id.
    let json = r#"{
  "title": "request-reply",
  "producers": [{ "id": "client", "to": "requests", "rate": "1/s", "arrival": "constant", "count": 1, "routing_key": "rpc" }],
  "exchanges": [{ "id": "replies", "kind": "direct", "bindings": [{ "queue": "reply-q", "key": "reply.client" }] }],
  "queues": [{ "id": "requests" }, { "id": "middle" }, { "id": "reply-q" }],
  "consumers": [
    { "id": "stage1", "queue": "requests", "service": { "constant": "20ms" }, "on_success": [{ "to": "middle" }] },
    { "id": "stage2", "queue": "middle", "service": { "constant": "30ms" },
      "on_success": [{ "to": "replies", "routing_key": "reply.client" }] }
  ]
}"#;
    let s = story(json, 5_000_000);
    let published: Vec<(u64, u64, Option<u64>)> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Published { parent, .. } => Some((e.t.0, e.msg.unwrap(), parent)),
            _ => None,
        })
        .collect();
    assert_eq!(
        published,
        [
            (ms(1000), 1, None),
            (ms(1020), 2, Some(1)),
            (ms(1050), 3, Some(2))
        ]
    );
    assert_eq!(s.enqueued("reply-q"), [(ms(1050), 3)]);
    let reply = queue_messages(&s, "reply-q");
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].routing_key, "reply.client");
    assert_eq!(
        reply[0].correlation, 1,
        "the reply carries the request's correlation id"
    );
    // The handler published before acking the request it processed.
    let order: Vec<&str> = s
        .trace
        .iter()
        .filter(|e| e.t.0 == ms(1020))
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(
        order,
        ["processed", "published", "enqueued", "delivered", "acked"]
    );
}

#[test]
fn handler_copies_fan_out() {
    let json = r#"{
  "title": "fan-out handler",
  "producers": [{ "id": "p", "to": "in", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [{ "id": "in" }, { "id": "out" }],
  "consumers": [{ "id": "c", "queue": "in", "service": { "constant": "5ms" }, "on_success": [{ "to": "out", "copies": 3 }] }]
}"#;
    let s = story(json, 5_000_000);
    assert_eq!(
        s.enqueued("out"),
        [(ms(1005), 2), (ms(1005), 3), (ms(1005), 4)]
    );
    assert!(queue_messages(&s, "out").iter().all(|m| m.correlation == 1));
}

fn queue_messages(s: &Story, queue: &str) -> Vec<queuelab::engine::MessageView> {
    for n in s.engine.snapshot().nodes {
        if let queuelab::engine::NodeView::Queue { id, head, .. } = n {
            if id == queue {
                return head;
            }
        }
    }
    panic!("no queue {queue}")
}

/// Postmortem (found as a property-test case that ran 10 s): when a failed
/// message was dead-lettered straight back into the consumer's own queue, the
/// nested dispatch handed it to the same (now idle) instance and started its
/// service; `on_service_done` then started service a second time. Two
/// completions were pending for one delivery, the second one finishing the
/// next message with no service time, and the events multiplied.
#[test]
fn a_message_rejected_back_into_its_own_queue_is_served_at_the_normal_pace() {
    let json = r#"{
  "title": "reject loop",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [{ "id": "back", "kind": "fanout", "bindings": [{ "queue": "q" }] }],
  "queues": [{ "id": "q", "dead_letter_exchange": "back" }],
  "consumers": [{ "id": "c", "queue": "q", "prefetch": 2, "service": { "constant": "10ms" }, "failure_rate": 1.0 }]
}"#;
    let s = story(json, ms(1055));
    let failed: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::Failed { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(failed, [ms(1010), ms(1020), ms(1030), ms(1040), ms(1050)]);
    let done: Vec<u64> = s
        .matching(|k| matches!(k, TraceKind::Delivered { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(
        done,
        [ms(1000), ms(1010), ms(1020), ms(1030), ms(1040), ms(1050)]
    );
}

/// Service times of `service` drawn by 4000 deliveries (one instance, fast arrivals).
fn service_samples(service: &str) -> Vec<u64> {
    let json = format!(
        r#"{{
  "title": "service",
  "producers": [{{ "id": "p", "to": "q", "rate": "1000/s", "arrival": "constant", "count": 4000 }}],
  "queues": [{{ "id": "q" }}],
  "consumers": [{{ "id": "c", "queue": "q", "instances": 50, "service": {service} }}]
}}"#
    );
    let s = story(&json, 1_000_000_000);
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Processed { service_us, .. } => Some(service_us),
            _ => None,
        })
        .collect()
}

#[test]
fn service_time_distributions_have_their_parameters() {
    let c = service_samples(r#"{ "constant": "7ms" }"#);
    assert_eq!(c.len(), 4000);
    assert!(c.iter().all(|&s| s == ms(7)));

    let u = service_samples(r#"{ "uniform": ["10ms", "30ms"] }"#);
    assert!(u.iter().all(|&s| (ms(10)..=ms(30)).contains(&s)));
    let mean = u.iter().sum::<u64>() as f64 / u.len() as f64;
    assert!((mean - 20_000.0).abs() < 400.0, "uniform mean {mean}");

    let x = service_samples(r#"{ "exponential": "20ms" }"#);
    let mean = x.iter().sum::<u64>() as f64 / x.len() as f64;
    assert!((mean - 20_000.0).abs() < 1_000.0, "exponential mean {mean}");

    let mut l = service_samples(r#"{ "log_normal": { "median": "20ms", "sigma": 0.5 } }"#);
    l.sort();
    let median = l[l.len() / 2] as f64;
    assert!(
        (median - 20_000.0).abs() < 800.0,
        "log-normal median {median}"
    );
}

/// Postmortem (issue 6, found by the property test with `QL_PROP_SEED=2`):
/// lowering a consumer's instances panicked with an index out of bounds.
/// `SetInstances` crashed and removed the instances one at a time but rebuilt
/// the queue's subscriber list only after the loop. A message returned by a
/// later crash overflowed its queue (max_length 0) and was dead-lettered to a
/// full queue, which pushed out a message of its own, dead-lettered back to
/// the first queue; never having been there, no cycle rule stopped it, and
/// enqueueing it asked the already removed instance for prefetch room. Fixed
/// at the root: the instances leave the subscriber list before any of them
/// returns a message.
#[test]
fn scaling_down_survives_a_returned_message_cycling_back_into_the_queue() {
    let json = r#"{
  "title": "scale down while returned messages cycle back",
  "producers": [
    { "id": "p", "to": "work", "rate": "1000/s", "arrival": "constant", "count": 2 },
    { "id": "b", "to": "parking", "rate": "1000/s", "arrival": "constant", "count": 2 }
  ],
  "exchanges": [
    { "id": "to-parking", "kind": "fanout", "bindings": [{ "queue": "parking" }] },
    { "id": "to-work", "kind": "fanout", "bindings": [{ "queue": "work" }] }
  ],
  "queues": [
    { "id": "work", "max_length": 0, "dead_letter_exchange": "to-parking" },
    { "id": "parking", "max_length": 2, "dead_letter_exchange": "to-work" }
  ],
  "consumers": [{ "id": "c", "queue": "work", "instances": 2, "prefetch": 1,
                  "service": { "constant": "10s" } }],
  "schedule": [{ "at": "1s", "command": { "do": "set_instances", "consumer": "c", "instances": 0 } }]
}"#;
    // Invariants are checked after every event, the scaling one included.
    let s = story(json, 3_000_000);
    // m1 and m3 are held by #0 and #1; m2 and m4 wait in parking. At 1 s
    // #1 goes first: m3 returns, is dead-lettered to parking and pushes m2
    // out towards work, where it has no room either; m2's second death would
    // close a cycle (parking → work → parking) and it is dropped. Then #0:
    // m1 the same way, pushing out m4, which used to find instance #1 gone.
    assert_eq!(
        s.drops(),
        [(ms(1000), 2, Reason::Maxlen), (ms(1000), 4, Reason::Maxlen)]
    );
    assert_eq!(s.queue_head("parking"), [(3, 1, false), (1, 1, false)]);
    assert_eq!(s.depth("work"), 0);
    assert_eq!(s.engine.config().consumers[0].instances, 0);
}

/// Message ids in the order `q` delivers them after `crash` at 50 ms: two
/// instances (prefetch 1) hold messages 1 and 2, messages 3 and 4 wait.
fn redelivery_order(crash: serde_json::Value) -> Vec<u64> {
    let json = serde_json::json!({"title": "crash order", "duration": "3s",
        "producers": [{"id": "p", "to": "q", "rate": "1000/s", "arrival": "constant", "count": 4}],
        "queues": [{"id": "q"}],
        "consumers": [{"id": "c", "queue": "q", "instances": 2, "prefetch": 1,
            "service": {"constant": "100ms"}}],
        "schedule": [{"at": "50ms", "command": crash}]})
    .to_string();
    let s = crate::common::story(&json, 3_000_000);
    s.trace
        .iter()
        .filter(|e| e.t.0 > 50_000)
        .filter(|e| matches!(e.kind, queuelab::engine::TraceKind::Delivered { .. }))
        .filter_map(|e| e.msg)
        .collect()
}

#[test]
fn deliveries_returned_together_go_back_in_queue_order() {
    // RabbitMQ puts requeued messages back in their original positions
    // (classic queues; `requeue_and_run`), so after every instance crashes
    // at once the queue is 1, 2, 3, 4 again, not instance after instance
    // (2, 1, 3, 4). The same when the broker crashes and restarts.
    let all =
        serde_json::json!({"do": "crash_consumer", "consumer": "c", "restart_after": "100ms"});
    assert_eq!(redelivery_order(all), [1, 2, 3, 4]);
    let broker = serde_json::json!({"do": "crash_broker", "restart_after": "1s"});
    assert_eq!(redelivery_order(broker), [1, 2, 3, 4]);
}

/// Message ids in the order the consumer of `work` gets them again after it
/// crashes at 1 s holding everything.
fn redelivered_after_crash(json: serde_json::Value) -> Vec<u64> {
    let s = story(&json.to_string(), 3_000_000);
    s.trace
        .iter()
        .filter(|e| e.t.0 > 1_000_000)
        .filter(|e| matches!(e.kind, TraceKind::Delivered { .. }))
        .filter_map(|e| e.msg)
        .collect()
}

#[test]
fn a_requeue_goes_back_in_arrival_order_not_publish_order() {
    // RabbitMQ numbers a message when it reaches the queue
    // (`rabbit_variable_queue`: `publish1` takes `next_seq_id`) and merges
    // requeued ones back by that number (`requeue/3`). Message 1 is
    // published first (100 ms) but 100 ms late (producer latency), so
    // message 2 (150 ms) reaches the queue first: they come back 2, 1. Before, the requeue
    // went by message id, 1, 2. Found by a RabbitMQ fidelity review.
    let late = serde_json::json!({"title": "overtaken", "duration": "3s",
        "producers": [
            {"id": "slow", "to": "work", "rate": "10/s", "arrival": "constant", "count": 1, "latency": "100ms"},
            {"id": "fast", "to": "work", "rate": "10/s", "arrival": "constant", "count": 1, "start": "50ms"}],
        "queues": [{"id": "work"}],
        "consumers": [{"id": "c", "queue": "work", "prefetch": 10, "service": {"constant": "5s"}}],
        "schedule": [{"at": "1s", "command": {"do": "crash_consumer", "consumer": "c", "restart_after": "100ms"}}]});
    assert_eq!(redelivered_after_crash(late), [2, 1]);
    // A message dead-lettered in from another queue keeps its (older) id
    // but arrives after messages 2 and 3: it goes back after them.
    let dead_lettered = serde_json::json!({"title": "dead-lettered in", "duration": "3s",
        "producers": [
            {"id": "pa", "to": "a", "rate": "10/s", "arrival": "constant", "count": 1},
            {"id": "pw", "to": "work", "rate": "10/s", "arrival": "constant", "count": 2, "start": "100ms"}],
        "exchanges": [{"id": "dlx", "kind": "fanout", "bindings": [{"queue": "work"}]}],
        "queues": [{"id": "a", "ttl": "500ms", "dead_letter_exchange": "dlx"}, {"id": "work"}],
        "consumers": [{"id": "c", "queue": "work", "prefetch": 10, "service": {"constant": "5s"}}],
        "schedule": [{"at": "1s", "command": {"do": "crash_consumer", "consumer": "c", "restart_after": "100ms"}}]});
    assert_eq!(redelivered_after_crash(dead_lettered), [2, 3, 1]);
}

#[test]
fn messages_returned_at_different_times_come_back_in_their_original_order() {
    // RabbitMQ: "When a message is requeued, it will be placed to its
    // original position in its queue, if possible" (a quorum queue serves
    // its returns first, in the order returned: the same here). Messages
    // 1 and 2 go to #0 and #1; #0 crashes first (1 returns), then #1 (2
    // returns, returned later): 1 is delivered again before 2, and both
    // before 3 and 4, which were never delivered.
    let json = r#"{
  "title": "requeue order",
  "producers": [{ "id": "p", "to": "q", "rate": "4/s", "count": 4, "arrival": { "bursts": { "size": 4 } } }],
  "queues": [{ "id": "q" }],
  "consumers": [{ "id": "c", "queue": "q", "instances": 2, "prefetch": 1, "service": { "constant": "1s" } }],
  "schedule": [
    { "at": "1500ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 0, "restart_after": "2s" } },
    { "at": "1600ms", "command": { "do": "crash_consumer", "consumer": "c", "instance": 1, "restart_after": "2s" } }
  ]
}"#;
    let s = story(json, 10_000_000);
    let redelivered: Vec<u64> = s
        .deliveries("c")
        .iter()
        .filter(|d| d.0 >= 3_500_000)
        .map(|d| d.1)
        .collect();
    assert_eq!(&redelivered[..2], [1, 2], "{:?}", s.deliveries("c"));
    let order: Vec<u64> = s.deliveries("c").iter().map(|d| d.1).collect();
    let first_3 = order.iter().position(|&m| m == 3).unwrap();
    let last_2 = order.iter().rposition(|&m| m == 2).unwrap();
    assert!(
        last_2 < first_3,
        "returns before never-delivered messages: {order:?}"
    );
}
