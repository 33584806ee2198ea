//! A broker crash: what survives is what was persistent *and* in a durable
//! queue; publishes while it is down are refused (a producer with confirms
//! sends them again after it is back); consumers reconnect at the restart.

use crate::common::{engine, run_checked, story};
use queuelab::engine::{Command, SimTime};
use queuelab::scenario::Duration;
use serde_json::json;

/// Two producers (persistent, transient) into a durable and a transient
/// queue each, 10/s for 2 s; consumers too slow to keep up, so backlogs build.
fn world(confirms: bool) -> String {
    let conf = if confirms {
        json!({"timeout": "500ms", "retries": 20})
    } else {
        serde_json::Value::Null
    };
    let mut s = json!({
        "title": "broker crash", "duration": "60s",
        "producers": [
            {"id": "p-durable", "to": "fan", "rate": "10/s", "arrival": "constant", "count": 20, "confirms": conf},
            {"id": "p-transient", "to": "durable-q2", "rate": "10/s", "arrival": "constant", "count": 20, "persistent": false}
        ],
        "exchanges": [{"id": "fan", "kind": "fanout", "bindings": [{"queue": "durable-q"}, {"queue": "transient-q"}]}],
        "queues": [{"id": "durable-q"}, {"id": "transient-q", "durable": false}, {"id": "durable-q2"}],
        "consumers": [
            {"id": "c1", "queue": "durable-q", "service": {"constant": "1s"}},
            {"id": "c2", "queue": "transient-q", "service": {"constant": "1s"}},
            {"id": "c3", "queue": "durable-q2", "service": {"constant": "1s"}}
        ]
    });
    if !confirms {
        s["producers"][0]
            .as_object_mut()
            .unwrap()
            .remove("confirms");
    }
    s.to_string()
}

fn node_dropped(e: &queuelab::engine::Engine, id: &str) -> u64 {
    let r = serde_json::to_value(e.report("t")).unwrap();
    r["nodes"][id]["dropped"].as_u64().unwrap_or(0)
}

#[test]
fn only_persistent_messages_in_durable_queues_survive_a_crash() {
    let mut e = engine(&world(false), 1);
    run_checked(&mut e, 1_050_000);
    e.submit(Command::CrashBroker {
        restart_after: Some(Duration::from_s(2)),
    })
    .unwrap();
    assert!(e.broker_is_down());
    let r = serde_json::to_value(e.report("t")).unwrap();
    let by = &r["dropped_by_reason"];
    // durable-q keeps its persistent messages; transient-q loses all; durable-q2
    // loses its transient messages.
    assert_eq!(node_dropped(&e, "durable-q"), 0);
    assert!(node_dropped(&e, "transient-q") >= 8, "{r}");
    assert!(node_dropped(&e, "durable-q2") >= 8, "{r}");
    assert_eq!(
        by["broker_crash"].as_u64().unwrap(),
        node_dropped(&e, "transient-q") + node_dropped(&e, "durable-q2")
    );
    // While down, publishes are refused.
    run_checked(&mut e, 2_500_000);
    assert!(by["broker_down"].as_u64().is_some());
    let r2 = serde_json::to_value(e.report("t")).unwrap();
    assert!(
        r2["dropped_by_reason"]["broker_down"].as_u64().unwrap() >= 20,
        "{r2}"
    );
    // Back up at 3.05 s: consumers reconnect and drain the durable backlog.
    run_checked(&mut e, 60_000_000);
    assert!(!e.broker_is_down());
    let l = e.ledger_report();
    assert_eq!(l.pending, 0);
    assert!(l.lost_by_reason.get("broker_crash").copied().unwrap_or(0) > 0);
    let trace = e.take_trace();
    assert_eq!(
        trace
            .iter()
            .filter(|ev| ev.kind.name() == "broker_crashed")
            .count(),
        1
    );
    assert_eq!(
        trace
            .iter()
            .filter(|ev| ev.kind.name() == "broker_restarted")
            .count(),
        1
    );
}

#[test]
fn with_confirms_publishes_refused_while_down_are_sent_again_after() {
    let mut e = engine(&world(true), 1);
    run_checked(&mut e, 1_050_000);
    e.submit(Command::CrashBroker {
        restart_after: Some(Duration::from_s(2)),
    })
    .unwrap();
    run_checked(&mut e, 120_000_000);
    let r = serde_json::to_value(e.report("t")).unwrap();
    // Every business message of the confirming producer reached durable-q
    // and was processed there once: none lost, none duplicated.
    assert_eq!(
        r["nodes"]["c1"]["processed"].as_u64(),
        Some(20),
        "{}",
        r["nodes"]["c1"]
    );
    assert!(e.ledger_report().resent > 0);
}

#[test]
fn a_broker_crash_is_checked_and_replayable() {
    let mut e = engine(&world(false), 1);
    let bad = e.submit(Command::CrashBroker {
        restart_after: Some(Duration(25 * 3600 * 1_000_000)),
    });
    assert!(bad.unwrap_err().to_string().contains("restart_after"));
    e.submit(Command::CrashBroker {
        restart_after: None,
    })
    .unwrap();
    run_checked(&mut e, 5_000_000);
    assert!(e.broker_is_down(), "no restart without restart_after");
    e.submit(Command::RestartBroker).unwrap();
    assert!(!e.broker_is_down());
    let _ = SimTime(0);
}

/// Three messages (one burst at 1 s) wait in a durable queue behind one slow
/// consumer (prefetch 1, 1 s each) when the
/// broker crashes at 1.5 s (back at 2 s). Recovery after a crash marks every
/// message a classic queue recovers as delivered before
/// (`rabbit_variable_queue`: on dirty recovery `redeliver_seq_id` becomes the
/// newest message's), so messages 2 and 3, never delivered, come back with
/// `redelivered` set like message 1, which was in hand. A quorum queue (here:
/// one with a delivery limit) counts real returns only: just message 1.
#[test]
fn a_classic_queue_recovered_after_a_crash_flags_every_message_redelivered() {
    let world = |queue: serde_json::Value| {
        json!({
            "title": "recovered", "duration": "5s",
            "producers": [{"id": "p", "to": "q", "rate": "3/s",
                           "arrival": {"bursts": {"size": 3}}, "count": 3}],
            "queues": [queue],
            "consumers": [{"id": "c", "queue": "q", "prefetch": 1, "service": {"constant": "1s"}}],
            "schedule": [{"at": "1500ms", "command": {"do": "crash_broker", "restart_after": "500ms"}}]
        })
        .to_string()
    };
    let classic = story(&world(json!({"id": "q"})), 5_000_000);
    assert_eq!(
        classic.deliveries("c"),
        vec![
            (1_000_000, 1, 0, false),
            (2_000_000, 1, 0, true),
            (3_000_000, 2, 0, true),
            (4_000_000, 3, 0, true),
        ]
    );
    let r = serde_json::to_value(classic.engine.report("t")).unwrap();
    assert_eq!(r["totals"]["redelivered"], 3, "{}", r["totals"]);
    let quorum = story(&world(json!({"id": "q", "delivery_limit": 5})), 5_000_000);
    assert_eq!(
        quorum.deliveries("c"),
        vec![
            (1_000_000, 1, 0, false),
            (2_000_000, 1, 0, true),
            (3_000_000, 2, 0, false),
            (4_000_000, 3, 0, false),
        ]
    );
}

/// The AMQP broker's crash refuses AMQP publishes only: Redis is another
/// server, so PUBLISH and XADD go on while the RabbitMQ broker is down.
#[test]
fn a_broker_crash_does_not_refuse_redis_commands() {
    let w = json!({
        "title": "crash beside redis", "duration": "3s",
        "producers": [
            {"id": "amqp", "to": "q", "rate": "10/s", "arrival": "constant"},
            {"id": "pub", "to": "r", "rate": "10/s", "arrival": "constant", "routing_key": "c"},
            {"id": "add", "to": "st", "rate": "10/s", "arrival": "constant"}
        ],
        "queues": [{"id": "q"}],
        "redis_pubsub": [{"id": "r"}],
        "redis_subscribers": [{"id": "s", "server": "r", "channels": ["c"], "service": {"constant": "1ms"}}],
        "redis_streams": [{"id": "st"}],
        "redis_groups": [{"id": "g", "stream": "st", "service": {"constant": "1ms"}}],
        "schedule": [{"at": "1s", "command": {"do": "crash_broker", "restart_after": "1s"}}]
    });
    let s = story(&w.to_string(), 3_000_000);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    // 30 sends each (0.1 s … 3 s); the AMQP ones in [1 s, 2 s) are refused.
    assert_eq!(r["dropped_by_reason"]["broker_down"], 10);
    assert_eq!(r["nodes"]["r"]["published"], 30);
    assert_eq!(r["nodes"]["st"]["added"], 30);
}

/// `broker_costs`: a group commit holds back what the broker stores, but
/// Redis writes no PUBLISH to disk and stamps an XADD's id when it runs, so
/// Redis commands wait only for the CPU: a publish at 10 ms is delivered at
/// 10 ms + 5 µs, and the stream's ids are the send times in ms.
#[test]
fn redis_commands_do_not_wait_for_the_group_commit() {
    let w = json!({
        "title": "redis and fsync", "duration": "1s",
        "broker_costs": {"per_message": "5us", "fsync_every": "50ms"},
        "producers": [
            {"id": "pub", "to": "r", "rate": "100/s", "arrival": "constant", "routing_key": "c", "count": 4},
            {"id": "add", "to": "st", "rate": "100/s", "arrival": "constant", "count": 4}
        ],
        "redis_pubsub": [{"id": "r"}],
        "redis_subscribers": [{"id": "s", "server": "r", "channels": ["c"], "service": {"constant": "1ms"}}],
        "redis_streams": [{"id": "st"}]
    });
    let s = story(&w.to_string(), 1_000_000);
    let published: Vec<u64> = s
        .matching(|k| matches!(k, queuelab::engine::TraceKind::PubsubPublished { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(published, [10_005, 20_005, 30_005, 40_005]);
    let ids: Vec<u64> = s
        .matching(|k| matches!(k, queuelab::engine::TraceKind::XAdded { .. }))
        .iter()
        .map(|e| match e.kind {
            queuelab::engine::TraceKind::XAdded { ms, .. } => ms,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(ids, [10, 20, 30, 40]);
}

/// A quorum queue (one with `delivery_limit`) writes every message to its
/// log, transient ones too ("persisted on disk regardless of the message
/// delivery mode", RabbitMQ's Quorum Queues guide), and is always durable:
/// a broker crash loses nothing of it, even declared `durable: false`. A
/// classic durable queue beside it loses the same transient messages.
#[test]
fn a_quorum_queue_keeps_transient_messages_through_a_broker_crash() {
    let w = json!({
        "title": "quorum and transient", "duration": "10s",
        "producers": [
            {"id": "pq", "to": "qq", "rate": "1/s", "arrival": "constant", "count": 2, "persistent": false},
            {"id": "pc", "to": "cq", "rate": "1/s", "arrival": "constant", "count": 2, "persistent": false}
        ],
        "queues": [{"id": "qq", "delivery_limit": 20, "durable": false}, {"id": "cq"}],
        "schedule": [{"at": "5s", "command": {"do": "crash_broker", "restart_after": "1s"}}]
    });
    let s = story(&w.to_string(), 10_000_000);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(r["nodes"]["qq"]["depth"], 2, "{}", r["nodes"]["qq"]);
    assert_eq!(r["nodes"]["cq"]["depth"], 0, "{}", r["nodes"]["cq"]);
    assert_eq!(r["dropped_by_reason"]["broker_crash"], 2);
}

/// A drop-head queue over its limit only because of transient messages the
/// crash loses is not trimmed: RabbitMQ recovers the queue without its
/// transient messages (`rabbit_classic_queue_index_v2:recover_segment`) and
/// only then applies `x-max-length` (`init_max_length`, `maybe_drop_head`).
/// Here a persistent message held unacked goes back beside two transient
/// ready ones (3 > 2); they are dropped, and the persistent one stays,
/// redelivered after the restart, instead of being dead-lettered for
/// `maxlen`. Found by a RabbitMQ fidelity review.
#[test]
fn a_broker_crash_trims_a_queue_only_after_dropping_what_it_loses() {
    let w = json!({
        "title": "crash, drop-head and transient", "duration": "3s",
        "producers": [
            {"id": "durable", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1},
            {"id": "transient", "to": "q", "rate": "10/s", "arrival": "constant", "count": 2,
             "persistent": false, "start": "1000ms"}
        ],
        "exchanges": [{"id": "dlx", "kind": "fanout", "bindings": [{"queue": "dead"}]}],
        "queues": [{"id": "q", "max_length": 2, "dead_letter_exchange": "dlx"}, {"id": "dead"}],
        "consumers": [{"id": "c", "queue": "q", "prefetch": 1, "service": {"constant": "5s"}}],
        "schedule": [{"at": "1500ms", "command": {"do": "crash_broker", "restart_after": "500ms"}}]
    });
    let s = story(&w.to_string(), 3_000_000);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(r["nodes"]["dead"]["enqueued"], 0, "{}", r["nodes"]["dead"]);
    assert_eq!(r["dropped_by_reason"]["broker_crash"], 2);
    assert!(r["dropped_by_reason"]["maxlen"].is_null() || r["dropped_by_reason"]["maxlen"] == 0);
    // The persistent message is delivered again after the restart at 2 s.
    let redelivered: Vec<u64> = s
        .trace
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                queuelab::engine::TraceKind::Delivered {
                    redelivered: true,
                    ..
                }
            )
        })
        .map(|e| e.t.0)
        .collect();
    assert_eq!(redelivered, vec![2_000_000]);
}
