//! `publish_one`: a user publishes one message from a producer with a chosen
//! routing key, key and headers. It enters as a logged command, is published at
//! the command's time with exactly those fields, is routed as the key says,
//! leaves the producer's own schedule alone, respects the same caps as a
//! scenario and is replayed exactly.

use crate::common::*;
use queuelab::engine::{Command, Engine, TraceKind};
use queuelab::scenario;

fn cmd(json: &str) -> Command {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad command {json}: {e}"))
}

/// p publishes "a.info" at 1 s, 2 s, ... into topic exchange x; `errors` takes
/// `*.error`, `all` takes `#`, `pdf` takes headers format=pdf via h.
const TOPIC: &str = r##"{
  "title": "publish one",
  "producers": [{ "id": "p", "to": "x", "rate": "1/s", "arrival": "constant", "routing_key": "a.info", "headers": { "tenant": "acme" } },
                { "id": "hp", "to": "h", "rate": "1/s" }],
  "exchanges": [
    { "id": "x", "kind": "topic", "bindings": [{ "queue": "errors", "key": "*.error" }, { "queue": "all", "key": "#" }] },
    { "id": "h", "kind": "headers", "bindings": [{ "queue": "pdf", "x_match": "all", "headers": { "format": "pdf" } }] }
  ],
  "queues": [{ "id": "errors" }, { "id": "all" }, { "id": "pdf" }],
  "consumers": [{ "id": "c", "queue": "errors", "service": { "constant": "100ms" } }]
}"##;

#[test]
fn publish_one_is_published_at_the_command_time_and_routed_by_its_key() {
    let mut e = engine(TOPIC, 1);
    run_checked(&mut e, ms(1500));
    e.submit(cmd(
        r#"{ "do": "publish_one", "producer": "p", "routing_key": "db.error", "key": "order-7" }"#,
    ))
    .unwrap();
    run_checked(&mut e, ms(2500));
    let trace = e.take_trace();
    let s = Story { engine: e, trace };

    // Published at 1.5 s exactly, between the producer's own ticks, which stay put.
    let p = s.node("p");
    let published: Vec<(u64, u64)> = s
        .matching(|k| matches!(k, TraceKind::Published { .. }))
        .iter()
        .filter(|ev| ev.node == p)
        .map(|ev| (ev.t.0, ev.msg.unwrap()))
        .collect();
    assert_eq!(
        published.iter().map(|p| p.0).collect::<Vec<_>>(),
        [ms(1000), ms(1500), ms(2000)]
    );
    let id = published[1].1;
    // "db.error" matches both `*.error` and `#`; the producer's "a.info" only `#`.
    assert!(s
        .enqueued("errors")
        .iter()
        .any(|&(t, m)| t == ms(1500) && m == id));
    assert_eq!(
        s.enqueued("errors").len(),
        1,
        "only the published-one message goes to errors"
    );
    assert_eq!(s.enqueued("all").len(), 3);
    // It carries its key and routing key (as the snapshot shows the ready copy in `all`).
    let snap = s.engine.snapshot();
    let all = snap
        .nodes
        .iter()
        .find_map(|n| match n {
            queuelab::engine::NodeView::Queue { id, head, .. } if id == "all" => Some(head.clone()),
            _ => None,
        })
        .unwrap();
    let copy = all
        .iter()
        .find(|m| m.routing_key == "db.error")
        .expect("copy in all");
    assert_eq!(copy.key.as_deref(), Some("order-7"));
    // Then it is consumed from `errors` by c: delivered at 1.5 s, processed at 1.6 s.
    assert!(s.processed("c").iter().any(|&(t, _)| t == ms(1600)));
    // The command is logged at its time.
    let log = s.engine.command_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].at_us, ms(1500));
}

#[test]
fn publish_one_headers_merge_over_the_producers_and_route_a_headers_exchange() {
    let mut e = engine(TOPIC, 1);
    run_checked(&mut e, ms(100));
    e.submit(cmd(
        r#"{ "do": "publish_one", "producer": "hp", "headers": { "format": "pdf" } }"#,
    ))
    .unwrap();
    e.submit(cmd(
        r#"{ "do": "publish_one", "producer": "hp", "headers": { "format": "zip" } }"#,
    ))
    .unwrap();
    run_checked(&mut e, ms(200));
    let trace = e.take_trace();
    let s = Story { engine: e, trace };
    assert_eq!(s.enqueued("pdf").len(), 1);
    assert_eq!(s.depth("pdf"), 1);
    let dropped = s.drops();
    assert_eq!(dropped.len(), 1, "the zip message matches no binding");
}

#[test]
fn publish_one_leaves_the_producers_own_run_unchanged() {
    let mut plain = engine(TOPIC, 3);
    run_checked(&mut plain, ms(5000));
    let mut with = engine(TOPIC, 3);
    run_checked(&mut with, ms(2500));
    with.submit(cmd(r#"{ "do": "publish_one", "producer": "p" }"#))
        .unwrap();
    run_checked(&mut with, ms(5000));
    let p = plain.nodes().iter().position(|n| n.id == "p").unwrap() as u32;
    let pubs = |e: &mut Engine| {
        e.take_trace()
            .iter()
            .filter(|ev| matches!(ev.kind, TraceKind::Published { .. }) && ev.node.0 == p)
            .map(|ev| ev.t.0)
            .collect::<Vec<_>>()
    };
    let mut expected = pubs(&mut plain);
    expected.push(ms(2500));
    expected.sort();
    assert_eq!(pubs(&mut with), expected);
}

#[test]
fn publish_one_refuses_oversized_fields_and_unknown_producers() {
    let mut e = engine(TOPIC, 1);
    let long = "k".repeat(256);
    let refused = |e: &mut Engine, c: Command| e.submit(c).expect_err("refused").to_string();
    let one = |rk: Option<String>, key: Option<String>, n: usize| Command::PublishOne {
        producer: "p".into(),
        routing_key: rk,
        key,
        headers: (0..n).map(|i| (format!("h{i}"), "v".into())).collect(),
    };
    let err = refused(&mut e, one(Some(long.clone()), None, 0));
    assert!(
        err.contains("routing_key") && err.contains("255 bytes"),
        "{err}"
    );
    let err = refused(&mut e, one(None, Some(long.clone()), 0));
    assert!(err.starts_with("key") && err.contains("not 256"), "{err}");
    let err = refused(&mut e, one(None, None, 65));
    assert!(err.contains("at most 64 headers"), "{err}");
    let err = refused(
        &mut e,
        cmd(r#"{ "do": "publish_one", "producer": "errors" }"#),
    );
    assert!(err.contains("not a producer"), "{err}");
    // 255 bytes and 64 headers are fine.
    e.submit(one(Some("k".repeat(255)), Some("k".repeat(255)), 64))
        .unwrap();
    assert_eq!(e.command_log().len(), 1, "refused commands are not logged");

    // A scenario's schedule gets the same check, by path.
    let mut v: serde_json::Value = serde_json::from_str(TOPIC).unwrap();
    v["schedule"] = serde_json::json!([{ "at": "1s", "command": { "do": "publish_one", "producer": "p", "key": long } }]);
    let err = scenario::load(&v.to_string())
        .expect_err("refused")
        .to_string();
    assert!(err.contains("schedule[0].command.key"), "{err}");
}

#[test]
fn publish_one_is_replayed_exactly_and_survives_json() {
    let s = scenario::load(TOPIC).unwrap();
    let mut e = Engine::new(s.clone(), 5).unwrap();
    run_checked(&mut e, ms(700));
    e.submit(cmd(
        r#"{ "do": "publish_one", "producer": "p", "routing_key": "x.error", "key": "k", "headers": { "a": "b" } }"#,
    ))
    .unwrap();
    run_checked(&mut e, ms(3000));
    let text = serde_json::to_string(e.command_log()).unwrap();
    let log: Vec<queuelab::engine::LoggedCommand> = serde_json::from_str(&text).unwrap();
    let r = Engine::replay(s.clone(), 5, &log, e.now()).unwrap();
    assert_eq!(r.trace_hash(), e.trace_hash());
    let without = Engine::replay(s, 5, &[], e.now()).unwrap();
    assert_ne!(without.trace_hash(), e.trace_hash());
}
