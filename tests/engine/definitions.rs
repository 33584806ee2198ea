//! RabbitMQ definitions in and out: a definitions file in RabbitMQ's
//! documented export format imports with policies and arguments resolved as
//! RabbitMQ resolves them, every ignored item is noted, exporting and
//! importing again keeps the topology, and every AMQP preset round-trips.

use queuelab::definitions;
use queuelab::scenario::{self, Overflow, Scenario, XMatch};

const FIXTURE: &str = include_str!("../fixtures/rabbitmq-definitions.json");

/// The exchanges as definitions can carry them: a presence-only header
/// match (`null`) has no spelling there (RabbitMQ's import refuses null
/// arguments), so export leaves it out with a note.
fn without_presence_matches(xs: &[scenario::Exchange]) -> Vec<scenario::Exchange> {
    let mut xs = xs.to_vec();
    for x in &mut xs {
        for b in &mut x.bindings {
            b.headers.retain(|_, v| v.is_some());
        }
    }
    xs
}

fn queue<'a>(s: &'a Scenario, id: &str) -> &'a scenario::Queue {
    s.queues
        .iter()
        .find(|q| q.id == id)
        .unwrap_or_else(|| panic!("no queue {id}"))
}

#[test]
fn a_definitions_file_imports_with_policies_and_arguments_resolved() {
    let imp = definitions::import(FIXTURE, None).unwrap();
    let s = &imp.scenario;
    // Argument 500 and policy 1000: the lower wins. TTL and DLX come from the
    // policy; overflow from the argument.
    let orders = queue(s, "orders");
    assert_eq!(orders.max_length, Some(500));
    assert_eq!(orders.ttl.map(|d| d.us()), Some(60_000_000));
    assert_eq!(orders.dead_letter_exchange.as_deref(), Some("orders.dlx"));
    assert_eq!(orders.overflow, Overflow::RejectPublishDlx);
    // Only the highest-priority policy applies: orders did not get max-length 5.
    assert_eq!(queue(s, "orders.dead").max_length, Some(5));
    let inv = queue(s, "invoices");
    assert_eq!(
        (inv.delivery_limit, inv.dead_letter_routing_key.as_deref()),
        (Some(3), Some("invoices"))
    );
    // Renamed: a space, and an exchange sharing a queue's name.
    assert!(s.queues.iter().any(|q| q.id == "audit-log"));
    // A classic priority queue (`x-max-priority` 10).
    assert_eq!(queue(s, "audit-log").max_priority, Some(10));
    assert!(s.exchanges.iter().any(|x| x.id == "orders-x"));
    let shop = s.exchanges.iter().find(|x| x.id == "shop").unwrap();
    assert_eq!(shop.alternate_exchange.as_deref(), Some("unrouted"));
    assert!(shop
        .bindings
        .iter()
        .any(|b| b.exchange.as_deref() == Some("docs") && b.key == "doc.#"));
    let docs = s.exchanges.iter().find(|x| x.id == "docs").unwrap();
    assert_eq!(docs.bindings[0].x_match, Some(XMatch::Any));
    assert_eq!(docs.bindings[0].headers.get("urgent"), Some(&None));
    // Traffic added on the entry exchange; consumers on the queues it feeds,
    // through the exchange-to-exchange binding too; none on the dead-letter queue.
    assert_eq!(s.producers.len(), 1);
    let fed: Vec<&str> = s.consumers.iter().map(|c| c.queue.as_str()).collect();
    assert!(
        fed.contains(&"orders") && fed.contains(&"invoices") && fed.contains(&"eu-docs"),
        "{fed:?}"
    );
    assert!(!fed.contains(&"orders.dead"));
    // Nothing dropped silently.
    let notes = imp.notes.join("\n");
    for says in [
        "`ha-mode` not modelled",
        "`users`: 1 entries ignored",
        "named \"audit-log\"",
        "named \"orders-x\"",
    ] {
        assert!(notes.contains(says), "{says} in\n{notes}");
    }
    assert!(!notes.contains("x-max-priority"), "{notes}");
    // And it runs.
    let mut e = queuelab::engine::Engine::new(s.clone(), 1).unwrap();
    e.run_until(queuelab::engine::SimTime(5_000_000), 1_000_000);
    assert!(e.totals().processed > 0);
}

/// RabbitMQ's queue-type rules (`rabbit_policy:matches`,
/// `rabbit_queue_type:is_policy_applicable`, quorum overflow precedence),
/// `x-` binding arguments, and the built-in `amq.*` exchanges.
#[test]
fn policies_follow_queue_types_and_builtin_exchanges_and_x_arguments_import() {
    let defs = r##"{
  "policies": [
    { "vhost": "/", "name": "qq-dlx", "pattern": "^qq$", "apply-to": "quorum_queues", "priority": 0,
      "definition": { "dead-letter-exchange": "dlx", "max-length": 5 } },
    { "vhost": "/", "name": "cq-limit", "pattern": "^cq$", "apply-to": "queues", "priority": 0,
      "definition": { "dead-letter-exchange": "dlx", "delivery-limit": 3 } },
    { "vhost": "/", "name": "qq2-ovf", "pattern": "^qq2$", "apply-to": "queues", "priority": 0,
      "definition": { "overflow": "drop-head" } },
    { "vhost": "/", "name": "classic-only", "pattern": "^qq$", "apply-to": "classic_queues", "priority": 9,
      "definition": { "max-length": 1 } },
    { "vhost": "/", "name": "odd", "pattern": ".*", "apply-to": "everything", "priority": 99,
      "definition": { "max-length": 1 } },
    { "vhost": "/", "name": "st-len", "pattern": "^st$", "apply-to": "queues", "priority": 0,
      "definition": { "max-length": 5 } }
  ],
  "queues": [
    { "vhost": "/", "name": "qq", "durable": true, "arguments": { "x-queue-type": "quorum" } },
    { "vhost": "/", "name": "cq", "durable": true, "arguments": { "x-queue-type": "classic" } },
    { "vhost": "/", "name": "qq2", "durable": true,
      "arguments": { "x-queue-type": "quorum", "x-max-length": 2, "x-overflow": "reject-publish" } },
    { "vhost": "/", "name": "qq3", "durable": true,
      "arguments": { "x-queue-type": "quorum", "x-max-length": 2, "x-overflow": "reject-publish-dlx" } },
    { "vhost": "/", "name": "dead", "durable": true, "arguments": {} },
    { "vhost": "/", "name": "tenant-a", "durable": true, "arguments": {} },
    { "vhost": "/", "name": "st", "durable": true, "arguments": { "x-queue-type": "stream" } }
  ],
  "exchanges": [
    { "vhost": "/", "name": "dlx", "type": "fanout", "durable": true, "arguments": {} },
    { "vhost": "/", "name": "hx", "type": "headers", "durable": true, "arguments": {} }
  ],
  "bindings": [
    { "vhost": "/", "source": "dlx", "destination": "dead", "destination_type": "queue", "routing_key": "", "arguments": {} },
    { "vhost": "/", "source": "hx", "destination": "tenant-a", "destination_type": "queue", "routing_key": "",
      "arguments": { "x-match": "any-with-x", "x-tenant": "a" } },
    { "vhost": "/", "source": "amq.topic", "destination": "dead", "destination_type": "queue", "routing_key": "#", "arguments": {} }
  ]
}"##;
    let imp = definitions::import(defs, None).unwrap();
    let s = &imp.scenario;
    // apply-to quorum_queues reaches a quorum queue; classic_queues does not.
    let qq = queue(s, "qq");
    assert_eq!(
        (qq.max_length, qq.dead_letter_exchange.as_deref()),
        (Some(5), Some("dlx"))
    );
    // A classic queue refuses a policy holding delivery-limit: none of it applies.
    let cq = queue(s, "cq");
    assert_eq!(
        (cq.delivery_limit, cq.dead_letter_exchange.as_deref()),
        (None, None)
    );
    // Quorum queues: the policy's overflow beats the argument, and
    // reject-publish-dlx falls back to drop-head.
    assert_eq!(queue(s, "qq2").overflow, Overflow::DropHead);
    assert_eq!(queue(s, "qq3").overflow, Overflow::DropHead);
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("qq3") && n.contains("reject-publish-dlx")),
        "{:?}",
        imp.notes
    );
    // A stream refuses max-length: the policy does not apply to it.
    assert_eq!(queue(s, "st").max_length, None);
    // An unknown apply-to is noted and ignored (else max-length 1 everywhere).
    assert!(
        imp.notes.iter().any(|n| n.contains("\"everything\"")),
        "{:?}",
        imp.notes
    );
    // x- binding arguments stay for *-with-x matching.
    let hx = s.exchanges.iter().find(|x| x.id == "hx").unwrap();
    assert_eq!(
        hx.bindings[0]
            .headers
            .get("x-tenant")
            .and_then(|v| v.as_deref()),
        Some("a")
    );
    // amq.topic is declared with its built-in type, with its binding.
    let amq = s
        .exchanges
        .iter()
        .find(|x| x.id == "amq.topic")
        .expect("amq.topic imported");
    assert_eq!(format!("{:?}", amq.kind), "Topic");
    assert_eq!(amq.bindings.len(), 1);
}

#[test]
fn a_quorum_queue_exports_durable() {
    let mut s = definitions::import(FIXTURE, None).unwrap().scenario;
    let q = s
        .queues
        .iter_mut()
        .find(|q| q.delivery_limit.is_some())
        .unwrap();
    q.durable = false;
    let id = q.id.clone();
    let (defs, notes) = definitions::export(&s);
    let out = defs["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == id.as_str())
        .unwrap();
    assert_eq!(
        (
            out["durable"].as_bool(),
            out["arguments"]["x-queue-type"].as_str()
        ),
        (Some(true), Some("quorum"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&id) && n.contains("durable")),
        "{notes:?}"
    );
}

#[test]
fn export_then_import_keeps_the_topology() {
    let first = definitions::import(FIXTURE, None).unwrap().scenario;
    let (doc, notes) = definitions::export(&first);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("\"urgent\" by presence only")),
        "{notes:?}"
    );
    assert!(
        !doc.to_string().contains("null"),
        "RabbitMQ refuses null arguments"
    );
    let second = definitions::import(&doc.to_string(), None)
        .unwrap()
        .scenario;
    assert_eq!(without_presence_matches(&first.exchanges), second.exchanges);
    assert_eq!(first.queues, second.queues);
}

#[test]
fn every_amqp_preset_round_trips_through_definitions() {
    for p in scenario::presets() {
        let s = p.scenario();
        // SQS queues are not RabbitMQ definitions.
        if s.queues.is_empty() || s.queues.iter().any(|q| q.sqs.is_some()) {
            continue;
        }
        let (doc, notes) = definitions::export(&s);
        assert!(
            notes.iter().any(|n| n.contains("clients")),
            "{}: {notes:?}",
            p.name
        );
        let back = definitions::import(&doc.to_string(), None)
            .unwrap_or_else(|e| panic!("{}: {e}", p.name))
            .scenario;
        assert_eq!(back.queues, s.queues, "{}", p.name);
        assert_eq!(
            back.exchanges,
            without_presence_matches(&s.exchanges),
            "{}",
            p.name
        );
    }
}

#[test]
fn bad_files_are_clear_errors() {
    assert!(definitions::import("nope", None)
        .unwrap_err()
        .contains("not JSON"));
    assert!(definitions::import("[1]", None)
        .unwrap_err()
        .contains("JSON object"));
    let two = r#"{"queues": [{"name": "a", "vhost": "x"}, {"name": "b", "vhost": "y"}]}"#;
    let e = definitions::import(two, None).unwrap_err();
    assert!(
        e.contains("several virtual hosts (x, y)") && e.contains("--vhost"),
        "{e}"
    );
    let one = definitions::import(two, Some("y")).unwrap();
    assert_eq!(one.scenario.queues.len(), 1);
    assert!(one.notes.iter().any(|n| n.contains("vhost \"x\": skipped")));
    let bad_policy = r#"{"policies": [{"name": "p", "pattern": "(", "definition": {"max-length": 1}}], "queues": [{"name": "q"}]}"#;
    let imp = definitions::import(bad_policy, None).unwrap();
    assert!(imp
        .notes
        .iter()
        .any(|n| n.contains("not a regular expression")));
}

/// Dead-lettering through the default exchange (`x-dead-letter-exchange: ""`
/// with a routing key naming a queue) is valid RabbitMQ; a reject-publish-dlx
/// queue without a DLX too; a quorum queue without a limit gets RabbitMQ 4's
/// delivery limit of 20 (3.x had none); `x-match` in typed arguments is noted.
#[test]
fn default_exchange_dead_letters_quorum_defaults_and_typed_arguments_import() {
    let defs = r##"{
  "rabbit_version": "4.1.0",
  "queues": [
    { "name": "work", "vhost": "/", "durable": true, "auto_delete": false,
      "arguments": { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "work.dlq" } },
    { "name": "work.dlq", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {} },
    { "name": "full", "vhost": "/", "durable": true, "auto_delete": false,
      "arguments": { "x-max-length": 2, "x-overflow": "reject-publish-dlx" } },
    { "name": "qq", "vhost": "/", "durable": true, "auto_delete": false,
      "arguments": { "x-queue-type": "quorum" } },
    { "name": "qq-unlimited", "vhost": "/", "durable": true, "auto_delete": false,
      "arguments": { "x-queue-type": "quorum", "x-delivery-limit": -1 } },
    { "name": "orphan", "vhost": "/", "durable": true, "auto_delete": false,
      "arguments": { "x-dead-letter-exchange": "nowhere", "x-dead-letter-routing-key": "k" } }
  ],
  "exchanges": [
    { "name": "x", "vhost": "/", "type": "direct", "durable": true, "auto_delete": false, "internal": false, "arguments": {} },
    { "name": "h", "vhost": "/", "type": "headers", "durable": true, "auto_delete": false, "internal": false, "arguments": {} }
  ],
  "bindings": [
    { "source": "x", "vhost": "/", "destination": "work", "destination_type": "queue", "routing_key": "work", "arguments": {} },
    { "source": "h", "vhost": "/", "destination": "full", "destination_type": "queue", "routing_key": "",
      "arguments": { "x-match": "any", "n": 1 } }
  ]
}"##;
    let imp = definitions::import(defs, None).unwrap();
    let s = &imp.scenario;
    let work = queue(s, "work");
    let dx = work
        .dead_letter_exchange
        .as_deref()
        .expect("a dead-letter exchange");
    assert_eq!(work.dead_letter_routing_key.as_deref(), Some("work.dlq"));
    let x = s.exchanges.iter().find(|x| x.id == dx).unwrap();
    assert_eq!(format!("{:?}", x.kind), "Direct");
    assert!(x
        .bindings
        .iter()
        .any(|b| b.queue.as_deref() == Some("work.dlq") && b.key == "work.dlq"));
    assert_eq!(queue(s, "full").overflow, Overflow::RejectPublishDlx);
    assert_eq!(queue(s, "qq").delivery_limit, Some(20));
    // No limit (-1): still a quorum queue, with a limit never reached.
    assert_eq!(queue(s, "qq-unlimited").delivery_limit, Some(u32::MAX));
    assert_eq!(queue(s, "orphan").dead_letter_routing_key, None);
    let notes = imp.notes.join("\n");
    for says in [
        "default of 20",
        "\"nowhere\" is not defined",
        "routing key \"k\" ignored",
        "compared as the text \"1\"",
    ] {
        assert!(notes.contains(says), "{says} in\n{notes}");
    }
    // A dead letter of `work` reaches `work.dlq` through the default exchange.
    let mut run = s.clone();
    run.consumers
        .retain(|c| c.queue != "work" && c.queue != "work.dlq");
    run.queues.iter_mut().find(|q| q.id == "work").unwrap().ttl = Some(scenario::Duration(100_000));
    let json = serde_json::to_string(&run).unwrap();
    let st = crate::common::story(&json, 3_000_000);
    let depth = |id: &str| st.depth(id);
    assert!(depth("work.dlq") > 0, "dead letters reach work.dlq");
    // And 3.x definitions keep a quorum queue unlimited.
    let v3 = defs.replace("\"4.1.0\"", "\"3.13.7\"");
    let imp3 = definitions::import(&v3, None).unwrap();
    assert_eq!(queue(&imp3.scenario, "qq").delivery_limit, Some(u32::MAX));
    // A quorum queue keeps transient messages across a broker crash, the
    // imported unlimited one included.
    let mut crash: serde_json::Value = serde_json::json!({
        "title": "crash", "duration": "3s",
        "producers": [{ "id": "p", "to": "qq-unlimited", "rate": "10/s", "count": 5,
                        "arrival": "constant", "persistent": false }],
        "queues": [queue(s, "qq-unlimited")],
        "schedule": [{ "at": "1s", "command": { "do": "crash_broker", "restart_after": "100ms" } }]
    });
    let st = crate::common::story(&crash.to_string(), 3_000_000);
    assert_eq!(st.depth("qq-unlimited"), 5, "nothing lost in the crash");
    crash["queues"][0]
        .as_object_mut()
        .unwrap()
        .remove("delivery_limit");
    let st = crate::common::story(&crash.to_string(), 3_000_000);
    assert_eq!(
        st.depth("qq-unlimited"),
        0,
        "a classic queue loses transient messages"
    );
}

#[test]
fn an_argument_the_queue_type_refuses_is_left_out_with_a_note() {
    // RabbitMQ refuses to declare a classic queue with `x-delivery-limit`
    // (or a quorum queue with `x-max-priority`): precondition_failed,
    // "invalid arg … for queue type". It used to import as a delivery limit.
    let defs = r#"{ "queues": [
      {"name": "cq", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-delivery-limit": 3}},
      {"name": "qq", "vhost": "/", "durable": true, "auto_delete": false,
       "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 3, "x-max-priority": 5}} ] }"#;
    let imp = definitions::import(defs, None).unwrap();
    assert_eq!(queue(&imp.scenario, "cq").delivery_limit, None);
    assert_eq!(queue(&imp.scenario, "qq").delivery_limit, Some(3));
    let notes = imp.notes.join("\n");
    assert!(
        notes.contains(
            "queue \"cq\": RabbitMQ refuses argument `x-delivery-limit` on a classic queue"
        ),
        "{notes}"
    );
    assert!(
        notes
            .contains("queue \"qq\": RabbitMQ refuses argument `x-max-priority` on a quorum queue"),
        "{notes}"
    );
    // Said once, not also as "not modelled".
    assert!(!notes.contains("`x-max-priority` not modelled"), "{notes}");
    // No exchange feeds a queue: the description does not claim clients were added.
    assert!(
        imp.scenario
            .description
            .contains("no producers or consumers were added"),
        "{}",
        imp.scenario.description
    );
}

#[test]
fn invalid_limits_and_unmodelled_lifetimes_are_noted_not_imported_silently() {
    // RabbitMQ refuses a declaration whose `x-message-ttl` is negative, whose
    // `x-max-length` is not an integer, or whose `x-delivery-limit` is a
    // string (`rabbit_amqqueue:check_non_neg_int_arg`), and a policy with a
    // fractional `message-ttl`. They used to import silently: the string
    // limit dropped the quorum default too (no limit at all), the policy's
    // 1.7 became 1 ms.
    let defs = r#"{ "queues": [
      {"name": "q", "vhost": "/", "durable": true, "auto_delete": true,
       "arguments": {"x-message-ttl": -5, "x-max-length": 1e20, "x-delivery-limit": "5",
                     "x-queue-type": "quorum"}},
      {"name": "ex", "vhost": "/", "durable": true, "exclusive": true, "arguments": {"x-delivery-limit": -1, "x-queue-type": "quorum"}},
      {"name": "c", "vhost": "/", "durable": true, "arguments": {}} ],
      "policies": [{"vhost": "/", "name": "p", "pattern": "^c$", "apply-to": "queues",
                    "definition": {"message-ttl": 1.7}, "priority": 0}] }"#;
    let imp = definitions::import(defs, None).unwrap();
    let q = queue(&imp.scenario, "q");
    assert_eq!((q.ttl, q.max_length), (None, None));
    assert_eq!(q.delivery_limit, Some(20), "the quorum default applies");
    // A negative delivery limit is valid in RabbitMQ 4: no limit, and the
    // queue stays a quorum queue (a limit never reached).
    assert_eq!(queue(&imp.scenario, "ex").delivery_limit, Some(u32::MAX));
    assert_eq!(queue(&imp.scenario, "c").ttl, None);
    let notes = imp.notes.join("\n");
    for want in [
        "queue \"q\": argument `x-message-ttl` = -5 is not a non-negative integer",
        "queue \"q\": argument `x-max-length` = 1e+20 is not a non-negative integer",
        "queue \"q\": argument `x-delivery-limit` = \"5\" is not an integer",
        "queue \"c\": policy \"p\" sets `message-ttl` = 1.7, not a non-negative integer",
        "queue \"q\": `auto_delete` is not modelled",
        "queue \"ex\": `exclusive` is not modelled",
    ] {
        assert!(notes.contains(want), "missing {want:?} in\n{notes}");
    }
    assert!(!notes.contains("x-delivery-limit` = -1"), "{notes}");
}

#[test]
fn priority_queues_import_and_export_as_x_max_priority() {
    // 0 counts as 1 (`rabbit_priority_queue:priorities/1`); 300 and a
    // string make RabbitMQ refuse the declaration (`check_max_priority_arg`).
    let defs = r#"{ "queues": [
      {"name": "p3", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-max-priority": 3}},
      {"name": "p0", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-max-priority": 0}},
      {"name": "big", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-max-priority": 300}},
      {"name": "str", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-max-priority": "5"}} ] }"#;
    let imp = definitions::import(defs, None).unwrap();
    let notes = imp.notes.join("\n");
    assert_eq!(queue(&imp.scenario, "p3").max_priority, Some(3));
    assert_eq!(queue(&imp.scenario, "p0").max_priority, Some(1));
    assert!(
        notes.contains("queue \"p0\": `x-max-priority` 0 counts as 1"),
        "{notes}"
    );
    for q in ["big", "str"] {
        assert_eq!(queue(&imp.scenario, q).max_priority, None);
        assert!(
            notes.contains(&format!("queue \"{q}\": argument `x-max-priority`"))
                && notes.contains("not an integer from 0 to 255"),
            "{notes}"
        );
    }
    // Export writes it back; a queue exported as quorum (delivery limit) cannot have it.
    let mut s = scenario::preset("priority-queue").unwrap().scenario();
    let (out, _) = definitions::export(&s);
    assert_eq!(
        out["queues"][0]["arguments"]["x-max-priority"],
        serde_json::json!(5)
    );
    s.queues[0].delivery_limit = Some(3);
    let (out, notes) = definitions::export(&s);
    assert!(out["queues"][0]["arguments"]
        .get("x-max-priority")
        .is_none());
    assert!(
        notes.join("\n").contains("x-max-priority left out"),
        "{notes:?}"
    );
}

/// A scenario that dead-letters through the default exchange
/// (`dead_letter_exchange: ""`, loaded as a direct `amq.default`) exports
/// as RabbitMQ writes it: `x-dead-letter-exchange: ""`, with no `amq.`
/// exchange declared (RabbitMQ refuses to declare one) and none of its
/// bindings.
#[test]
fn the_default_exchange_exports_as_the_empty_name() {
    let s = scenario::load(
        r#"{ "title": "t",
  "queues": [ { "id": "work", "ttl": "100ms", "dead_letter_exchange": "", "dead_letter_routing_key": "parking" },
              { "id": "parking" } ] }"#,
    )
    .unwrap();
    assert!(s.exchanges.iter().any(|x| x.id == "amq.default"));
    let (doc, _) = definitions::export(&s);
    assert_eq!(
        doc["queues"][0]["arguments"]["x-dead-letter-exchange"],
        serde_json::json!("")
    );
    assert_eq!(doc["exchanges"], serde_json::json!([]));
    assert_eq!(doc["bindings"], serde_json::json!([]));
}

/// A vhost's `default_queue_type` (RabbitMQ 3.11+, `metadata` of the vhost)
/// types every queue declared without `x-queue-type` that can be of it:
/// durable, not exclusive, not auto-delete (`rabbit_amqqueue:
/// augment_declare_args`); the others stay classic. A quorum queue then has
/// 4.x's default delivery limit of 20. Only the imported vhost's default counts.
#[test]
fn a_vhosts_default_queue_type_types_the_queues_that_name_none() {
    let defs = serde_json::json!({
        "rabbit_version": "4.1.4",
        "vhosts": [
            {"name": "/", "metadata": {"description": "", "tags": [], "default_queue_type": "quorum"}},
            {"name": "other", "metadata": {"default_queue_type": "classic"}}],
        "queues": [
            {"name": "orders", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {}},
            {"name": "typed", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-queue-type": "classic"}},
            {"name": "temp", "vhost": "/", "durable": true, "auto_delete": true, "arguments": {}},
            {"name": "transient", "vhost": "/", "durable": false, "auto_delete": false, "arguments": {}}],
        "exchanges": [], "bindings": [], "policies": []
    });
    let imp = definitions::import(&defs.to_string(), None).unwrap();
    let s = &imp.scenario;
    assert_eq!(queue(s, "orders").delivery_limit, Some(20));
    for classic in ["typed", "temp", "transient"] {
        assert_eq!(queue(s, classic).delivery_limit, None, "{classic}");
    }
    let notes = imp.notes.join("\n");
    assert!(
        notes.contains("queue \"orders\": no `x-queue-type`; the vhost's default_queue_type \"quorum\" applies"),
        "{notes}"
    );
    assert!(
        !notes.contains("queue \"temp\": no `x-queue-type`"),
        "{notes}"
    );
}

/// Operator policies (exported under `parameters`, component
/// `operator_policy`) apply beside the regular policy and are merged as
/// `rabbit_policy:get/2` does: the lower `max-length` and `message-ttl`
/// (`rabbit_policies:merge_policy_value`), a key only one sets from it.
/// They used to be dropped with the other runtime parameters.
#[test]
fn operator_policies_cap_the_queues_they_match() {
    let defs = serde_json::json!({
        "rabbit_version": "4.1.4",
        "queues": [
            {"name": "orders", "vhost": "/", "durable": true, "arguments": {"x-queue-type": "classic"}},
            {"name": "audit", "vhost": "/", "durable": true, "arguments": {"x-queue-type": "classic"}}],
        "exchanges": [{"name": "dlx", "vhost": "/", "type": "fanout", "durable": true, "arguments": {}}],
        "bindings": [],
        "policies": [{"vhost": "/", "name": "orders-limits", "pattern": "^orders$", "apply-to": "queues",
                      "priority": 0, "definition": {"max-length": 5000, "message-ttl": 1000, "dead-letter-exchange": "dlx"}}],
        "parameters": [
            {"vhost": "/", "component": "operator_policy", "name": "cap-queues",
             "value": {"pattern": ".*", "apply-to": "queues", "priority": 0,
                       "definition": {"max-length": 1000, "message-ttl": 600000}}},
            {"vhost": "/", "component": "shovel", "name": "s", "value": {}}]
    });
    let imp = definitions::import(&defs.to_string(), None).unwrap();
    let s = &imp.scenario;
    let orders = queue(s, "orders");
    assert_eq!(orders.max_length, Some(1000), "the operator's lower cap");
    assert_eq!(
        orders.ttl.map(|d| d.us()),
        Some(1_000_000),
        "the policy's lower TTL"
    );
    assert_eq!(orders.dead_letter_exchange.as_deref(), Some("dlx"));
    let audit = queue(s, "audit");
    assert_eq!(
        (audit.max_length, audit.ttl.map(|d| d.us())),
        (Some(1000), Some(600_000_000))
    );
    let notes = imp.notes.join("\n");
    for says in [
        "queue \"orders\": policy \"orders-limits\" with operator policy \"cap-queues\" applied",
        "queue \"audit\": operator policy \"cap-queues\" applied",
        "`parameters`: 1 entries ignored",
    ] {
        assert!(notes.contains(says), "{says} in\n{notes}");
    }
}

/// RabbitMQ matches policy patterns with Erlang's `re` (PCRE), so a
/// look-ahead such as `^(?!audit\.)` ("every queue but the audit ones")
/// and a back-reference are valid patterns; they used to be refused with a
/// note and the policy dropped.
#[test]
fn policy_patterns_are_pcre_with_look_around_and_back_references() {
    let defs = serde_json::json!({
        "rabbit_version": "3.13.7",
        "queues": [
            {"name": "orders", "vhost": "/", "durable": true, "arguments": {}},
            {"name": "audit.orders", "vhost": "/", "durable": true, "arguments": {}},
            {"name": "aa", "vhost": "/", "durable": true, "arguments": {}}],
        "exchanges": [], "bindings": [],
        "policies": [
            {"vhost": "/", "name": "not-audit", "pattern": "^(?!audit\\.)", "apply-to": "queues",
             "priority": 0, "definition": {"max-length": 100}},
            {"vhost": "/", "name": "doubled", "pattern": "^(a)\\1$", "apply-to": "queues",
             "priority": 1, "definition": {"max-length": 7}}]
    });
    let imp = definitions::import(&defs.to_string(), None).unwrap();
    let s = &imp.scenario;
    assert_eq!(queue(s, "orders").max_length, Some(100));
    assert_eq!(queue(s, "audit.orders").max_length, None);
    assert_eq!(queue(s, "aa").max_length, Some(7));
    let notes = imp.notes.join("\n");
    assert!(!notes.contains("is not a regular expression"), "{notes}");
}

/// "Skipping import of a queue whose name begins with 'amq.'"
/// (`rabbit_definitions:add_queue_int`): the prefix is reserved, so such a
/// queue is left out with a note, and a binding to it names a queue that is
/// not defined.
#[test]
fn a_queue_named_amq_is_skipped_as_rabbitmq_skips_it() {
    let defs = serde_json::json!({
        "queues": [
            {"name": "amq.gen-1", "vhost": "/", "durable": true, "arguments": {}},
            {"name": "orders", "vhost": "/", "durable": true, "arguments": {}}],
        "exchanges": [{"name": "x", "vhost": "/", "type": "fanout", "durable": true, "arguments": {}}],
        "bindings": [
            {"source": "x", "vhost": "/", "destination": "amq.gen-1", "destination_type": "queue", "routing_key": "", "arguments": {}},
            {"source": "x", "vhost": "/", "destination": "orders", "destination_type": "queue", "routing_key": "", "arguments": {}}],
        "policies": []
    });
    let imp = definitions::import(&defs.to_string(), None).unwrap();
    let ids: Vec<&str> = imp.scenario.queues.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["orders"]);
    let notes = imp.notes.join("\n");
    for says in [
        "queue \"amq.gen-1\": skipped, as RabbitMQ skips importing",
        "bindings[0]: queue \"amq.gen-1\" is not defined; ignored",
    ] {
        assert!(notes.contains(says), "{says} in\n{notes}");
    }
}
