//! Exchanges end to end, on RabbitMQ's rules: topic wildcards and edge cases,
//! headers `x-match`, one copy per queue however many bindings match,
//! unroutable messages counted or sent to an alternate exchange, and
//! exchange-to-exchange bindings.

use crate::common::*;
use queuelab::engine::{Reason, TraceKind};

/// A producer publishing each of `keys` once (constant 1/s, round robin) to `x`.
fn publish_keys(keys: &[&str]) -> String {
    let list: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    format!(
        r##"{{ "id": "p", "to": "x", "rate": "1/s", "arrival": "constant", "count": {}, "routing_keys": {{ "round_robin": [{}] }} }}"##,
        keys.len(),
        list.join(", ")
    )
}

#[test]
fn topic_exchange_follows_the_rabbitmq_tutorial() {
    // Tutorial 5: Q1 binds *.orange.*, Q2 binds *.*.rabbit and lazy.#.
    let keys = [
        "quick.orange.rabbit",
        "lazy.orange.elephant",
        "quick.orange.fox",
        "lazy.brown.fox",
        "lazy.pink.rabbit",
        "quick.brown.fox",
        "orange",
        "quick.orange.new.rabbit",
        "lazy.orange.new.rabbit",
    ];
    let json = format!(
        r##"{{
  "title": "topic",
  "producers": [{}],
  "exchanges": [{{ "id": "x", "kind": "topic", "bindings": [
    {{ "queue": "q1", "key": "*.orange.*" }},
    {{ "queue": "q2", "key": "*.*.rabbit" }},
    {{ "queue": "q2", "key": "lazy.#" }}
  ] }}],
  "queues": [{{ "id": "q1" }}, {{ "id": "q2" }}]
}}"##,
        publish_keys(&keys)
    );
    let s = story(&json, 20_000_000);
    assert_eq!(
        s.queue_keys("q1"),
        [
            "quick.orange.rabbit",
            "lazy.orange.elephant",
            "quick.orange.fox"
        ]
    );
    // lazy.pink.rabbit matches both of q2's bindings and arrives once.
    assert_eq!(
        s.queue_keys("q2"),
        [
            "quick.orange.rabbit",
            "lazy.orange.elephant",
            "lazy.brown.fox",
            "lazy.pink.rabbit",
            "lazy.orange.new.rabbit"
        ]
    );
    let t = s.engine.totals_now();
    assert_eq!(t.published, 9);
    assert_eq!(
        t.unroutable, 3,
        "quick.brown.fox, orange, quick.orange.new.rabbit"
    );
    assert_eq!(t.copies, 2, "two keys went to both queues");
    let routed: Vec<u32> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Routed { queues } => Some(queues),
            _ => None,
        })
        .collect();
    assert_eq!(routed, [2, 2, 1, 1, 1, 1]);
}

#[test]
fn topic_edge_cases_empty_key_empty_words_and_hash_alone() {
    let keys = ["", "a", "a..b", "a.b", "a.", ".a"];
    let json = format!(
        r##"{{
  "title": "topic edges",
  "producers": [{}],
  "exchanges": [{{ "id": "x", "kind": "topic", "bindings": [
    {{ "queue": "hash", "key": "#" }},
    {{ "queue": "star", "key": "*" }},
    {{ "queue": "empty-binding", "key": "" }},
    {{ "queue": "a-star-b", "key": "a.*.b" }},
    {{ "queue": "a-hash-b", "key": "a.#.b" }},
    {{ "queue": "a-star", "key": "a.*" }},
    {{ "queue": "star-a", "key": "*.a" }}
  ] }}],
  "queues": [{{ "id": "hash" }}, {{ "id": "star" }}, {{ "id": "empty-binding" }}, {{ "id": "a-star-b" }},
             {{ "id": "a-hash-b" }}, {{ "id": "a-star" }}, {{ "id": "star-a" }}]
}}"##,
        publish_keys(&keys)
    );
    let s = story(&json, 20_000_000);
    assert_eq!(
        s.queue_keys("hash"),
        keys,
        "# matches every key, the empty one too"
    );
    assert_eq!(s.queue_keys("star"), ["a"], "* needs exactly one word");
    assert_eq!(s.queue_keys("empty-binding"), [""]);
    assert_eq!(
        s.queue_keys("a-star-b"),
        ["a..b"],
        "an empty word is a word"
    );
    assert_eq!(
        s.queue_keys("a-hash-b"),
        ["a..b", "a.b"],
        "# matches zero words"
    );
    assert_eq!(s.queue_keys("a-star"), ["a.b", "a."]);
    assert_eq!(s.queue_keys("star-a"), [".a"]);
    assert_eq!(s.engine.totals_now().unroutable, 0);
}

#[test]
fn direct_exchange_with_duplicate_bindings_delivers_one_copy() {
    let json = format!(
        r##"{{
  "title": "direct",
  "producers": [{}],
  "exchanges": [{{ "id": "x", "kind": "direct", "bindings": [
    {{ "queue": "q", "key": "k" }}, {{ "queue": "q", "key": "k" }}, {{ "queue": "r", "key": "k" }}, {{ "queue": "r", "key": "other" }}
  ] }}],
  "queues": [{{ "id": "q" }}, {{ "id": "r" }}]
}}"##,
        publish_keys(&["k", "other", "nope"])
    );
    let s = story(&json, 20_000_000);
    assert_eq!(s.queue_keys("q"), ["k"]);
    assert_eq!(s.queue_keys("r"), ["k", "other"]);
    assert_eq!(s.engine.totals_now().unroutable, 1);
}

#[test]
fn fanout_copies_to_every_bound_queue_each_its_own_message() {
    let json = r##"{
  "title": "fanout",
  "producers": [{ "id": "p", "to": "x", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [{ "id": "x", "kind": "fanout", "bindings": [{ "queue": "a" }, { "queue": "b" }, { "queue": "c" }] }],
  "queues": [{ "id": "a" }, { "id": "b" }, { "id": "c" }]
}"##;
    let s = story(json, 5_000_000);
    // The original keeps id 1 and goes to the first queue; copies get 2 and 3.
    assert_eq!(s.enqueued("a"), [(ms(1000), 1)]);
    assert_eq!(s.enqueued("b"), [(ms(1000), 2)]);
    assert_eq!(s.enqueued("c"), [(ms(1000), 3)]);
    let copies: Vec<u64> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Copied { copy } => Some(copy),
            _ => None,
        })
        .collect();
    assert_eq!(copies, [2, 3]);
    let l = s.engine.ledger();
    assert_eq!((l.created, l.queued), (3, 3));
}

/// A key on a fanout binding is valid and ignored, as in RabbitMQ
/// (`rabbit_exchange_type_fanout`: any binding validates, every binding
/// routes): bound with "eu" and "us", both queues get a message published
/// with the routing key "asia".
#[test]
fn fanout_binding_keys_are_accepted_and_ignored() {
    let json = r##"{
  "title": "fanout keys",
  "producers": [{ "id": "p", "to": "x", "rate": "1/s", "arrival": "constant", "count": 1,
                  "routing_keys": { "round_robin": ["asia"] } }],
  "exchanges": [{ "id": "x", "kind": "fanout", "bindings": [{ "queue": "a", "key": "eu" }, { "queue": "b", "key": "us" }] }],
  "queues": [{ "id": "a" }, { "id": "b" }]
}"##;
    let s = story(json, 5_000_000);
    assert_eq!(s.enqueued("a"), [(ms(1000), 1)]);
    assert_eq!(s.enqueued("b"), [(ms(1000), 2)]);
}

#[test]
fn headers_exchange_x_match_modes() {
    let json = r##"{
  "title": "headers",
  "producers": [{ "id": "p", "to": "x", "rate": "1/s", "arrival": "constant", "count": 4,
    "header_sets": [
      { "format": "pdf", "type": "report" },
      { "format": "zip", "type": "report", "x-tenant": "acme" },
      { "format": "pdf" },
      {}
    ] }],
  "exchanges": [{ "id": "x", "kind": "headers", "bindings": [
    { "queue": "all-pdf-report", "x_match": "all", "headers": { "format": "pdf", "type": "report" } },
    { "queue": "any-pdf-or-report", "x_match": "any", "headers": { "format": "pdf", "type": "report" } },
    { "queue": "has-format", "headers": { "format": null } },
    { "queue": "all-ignores-x", "x_match": "all", "headers": { "format": "zip", "x-tenant": "other" } },
    { "queue": "all-with-x", "x_match": "all-with-x", "headers": { "format": "zip", "x-tenant": "acme" } },
    { "queue": "any-with-x", "x_match": "any-with-x", "headers": { "x-tenant": "acme" } },
    { "queue": "any-without-x", "x_match": "any", "headers": { "x-tenant": "acme" } },
    { "queue": "all-empty", "x_match": "all" }
  ] }],
  "queues": [{ "id": "all-pdf-report" }, { "id": "any-pdf-or-report" }, { "id": "has-format" },
             { "id": "all-ignores-x" }, { "id": "all-with-x" }, { "id": "any-with-x" },
             { "id": "any-without-x" }, { "id": "all-empty" }]
}"##;
    let s = story(json, 20_000_000);
    let ids = |q: &str| -> Vec<u64> {
        // Copies get fresh ids; the original publish order is the enqueue order.
        s.enqueued(q).iter().map(|&(t, _)| t / 1_000_000).collect()
    };
    // Messages are published at 1, 2, 3, 4 s: read the publish second.
    assert_eq!(ids("all-pdf-report"), [1]);
    assert_eq!(ids("any-pdf-or-report"), [1, 2, 3]);
    assert_eq!(ids("has-format"), [1, 2, 3]);
    assert_eq!(
        ids("all-ignores-x"),
        [2],
        "x- headers are not compared by all"
    );
    assert_eq!(ids("all-with-x"), [2]);
    assert_eq!(ids("any-with-x"), [2]);
    assert!(
        ids("any-without-x").is_empty(),
        "any ignores x- headers: nothing left to match"
    );
    assert_eq!(
        ids("all-empty"),
        [1, 2, 3, 4],
        "all over no headers matches"
    );
}

/// RabbitMQ's binding arguments carry the mode as an `x-match` entry: a
/// binding that writes it among its headers gets that mode (it is never
/// compared itself); a bad value or one contradicting `x_match` is a
/// path-named error.
#[test]
fn an_x_match_entry_among_binding_headers_sets_the_mode() {
    let json = |binding: &str| {
        format!(
            r##"{{
  "title": "x-match in headers",
  "producers": [{{ "id": "p", "to": "x", "rate": "1/s", "arrival": "constant", "count": 1,
    "header_sets": [{{ "a": "1" }}] }}],
  "exchanges": [{{ "id": "x", "kind": "headers", "bindings": [{binding}] }}],
  "queues": [{{ "id": "q" }}]
}}"##
        )
    };
    let s = story(
        &json(r#"{ "queue": "q", "headers": { "x-match": "any", "a": "1", "b": "2" } }"#),
        2_000_000,
    );
    assert_eq!(s.depth("q"), 1, "any: a=1 is enough");
    let s = story(
        &json(r#"{ "queue": "q", "headers": { "x-match": "all", "a": "1", "b": "2" } }"#),
        2_000_000,
    );
    assert_eq!(s.depth("q"), 0, "all: b is missing");
    for (binding, says) in [
        (
            r#"{ "queue": "q", "headers": { "x-match": "some", "a": "1" } }"#,
            "exchanges[0].bindings[0].headers.x-match: must be",
        ),
        (
            r#"{ "queue": "q", "x_match": "all", "headers": { "x-match": "any", "a": "1" } }"#,
            "exchanges[0].bindings[0].headers.x-match: \"any\" contradicts x_match \"all\"",
        ),
    ] {
        let err = queuelab::scenario::load(&json(binding))
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn alternate_exchange_takes_unroutable_messages() {
    let json = format!(
        r##"{{
  "title": "alternate",
  "producers": [{}],
  "exchanges": [
    {{ "id": "x", "kind": "direct", "alternate_exchange": "ae", "bindings": [{{ "queue": "q", "key": "known" }}] }},
    {{ "id": "ae", "kind": "fanout", "bindings": [{{ "queue": "unrouted" }}] }}
  ],
  "queues": [{{ "id": "q" }}, {{ "id": "unrouted" }}]
}}"##,
        publish_keys(&["known", "stray"])
    );
    let s = story(&json, 20_000_000);
    assert_eq!(s.queue_keys("q"), ["known"]);
    assert_eq!(s.queue_keys("unrouted"), ["stray"]);
    let ae = s.node("ae");
    let x = s.node("x");
    let un = s.matching(|k| matches!(k, TraceKind::Unroutable { .. }));
    assert_eq!(un.len(), 1);
    assert_eq!(
        (un[0].node, un[0].kind),
        (
            x,
            TraceKind::Unroutable {
                alternate: Some(ae)
            }
        )
    );
    // RabbitMQ counts a message its alternate routed as routed, not as
    // unroutable (`messages_unroutable_*` only for an empty final route):
    // the exchange counts it as handed to its alternate.
    let t = s.engine.totals_now();
    assert_eq!((t.unroutable, t.routed, t.dropped), (0, 2, 0));
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(r["nodes"]["x"]["to_alternate"], 1);
    assert_eq!(r["nodes"]["x"]["unroutable"], 0);
    assert_eq!(r["nodes"]["ae"]["routed"], 1);
}

#[test]
fn unroutable_counts_only_messages_no_alternate_could_route() {
    // The alternate has its own alternate, which routes nothing: the stray
    // message goes x → ae → ae2 and reaches no queue, so it is unroutable
    // (once, in the totals and at the entry exchange) and dropped.
    let json = format!(
        r##"{{
  "title": "alternate chain",
  "producers": [{}],
  "exchanges": [
    {{ "id": "x", "kind": "direct", "alternate_exchange": "ae", "bindings": [{{ "queue": "q", "key": "known" }}] }},
    {{ "id": "ae", "kind": "direct", "alternate_exchange": "ae2", "bindings": [{{ "queue": "q", "key": "other" }}] }},
    {{ "id": "ae2", "kind": "direct", "bindings": [{{ "queue": "q", "key": "nope" }}] }}
  ],
  "queues": [{{ "id": "q" }}]
}}"##,
        publish_keys(&["known", "stray"])
    );
    let s = story(&json, 20_000_000);
    assert_eq!(s.queue_keys("q"), ["known"]);
    let t = s.engine.totals_now();
    assert_eq!((t.unroutable, t.routed, t.dropped), (1, 1, 1));
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(r["nodes"]["x"]["unroutable"], 1);
    assert_eq!(r["nodes"]["x"]["to_alternate"], 0);
    assert_eq!(r["dropped_by_reason"]["unroutable"], 1);
}

#[test]
fn an_exchange_reached_by_an_exchange_binding_falls_back_to_its_own_alternate_counted_and_traced() {
    // x (fanout) → x2 (direct, binds q on "known", alternate ae). The stray
    // message (2 s) matches nothing at x2, which hands it to its own
    // alternate (`rabbit_exchange:route1` does so for every exchange on the
    // way): counted in x2's `to_alternate`, traced as `unroutable` at x2
    // naming ae, and routed: not in x's counters, nor unroutable.
    let json = format!(
        r##"{{
  "title": "alternate on the way",
  "producers": [{}],
  "exchanges": [
    {{ "id": "x", "kind": "fanout", "bindings": [{{ "exchange": "x2" }}] }},
    {{ "id": "x2", "kind": "direct", "alternate_exchange": "ae", "bindings": [{{ "queue": "q", "key": "known" }}] }},
    {{ "id": "ae", "kind": "fanout", "bindings": [{{ "queue": "unrouted" }}] }}
  ],
  "queues": [{{ "id": "q" }}, {{ "id": "unrouted" }}]
}}"##,
        publish_keys(&["known", "stray"])
    );
    let s = story(&json, 20_000_000);
    assert_eq!(s.queue_keys("q"), ["known"]);
    assert_eq!(s.queue_keys("unrouted"), ["stray"]);
    let un: Vec<_> = s
        .matching(|k| matches!(k, TraceKind::Unroutable { .. }))
        .iter()
        .map(|e| (e.t.0, e.msg, e.node, e.kind))
        .collect();
    assert_eq!(
        un,
        [(
            ms(2000),
            Some(2),
            s.node("x2"),
            TraceKind::Unroutable {
                alternate: Some(s.node("ae"))
            }
        )]
    );
    let t = s.engine.totals_now();
    assert_eq!((t.unroutable, t.routed, t.dropped), (0, 2, 0));
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    assert_eq!(r["nodes"]["x2"]["to_alternate"], 1);
    assert_eq!(r["nodes"]["x"]["to_alternate"], 0);
    assert_eq!(r["nodes"]["x"]["routed"], 2);
    assert_eq!(r["nodes"]["x"]["unroutable"], 0);

    // A chain of alternates that routes nowhere: x falls back to ae, ae to
    // ae2; each fallback is traced where it happened, none counts in
    // `to_alternate` (nothing was routed), and the message is unroutable
    // once, at the exchange it was published to.
    let json = format!(
        r##"{{
  "title": "alternate chain",
  "producers": [{}],
  "exchanges": [
    {{ "id": "x", "kind": "direct", "alternate_exchange": "ae", "bindings": [{{ "queue": "q", "key": "known" }}] }},
    {{ "id": "ae", "kind": "direct", "alternate_exchange": "ae2", "bindings": [{{ "queue": "q", "key": "other" }}] }},
    {{ "id": "ae2", "kind": "direct", "bindings": [{{ "queue": "q", "key": "nope" }}] }}
  ],
  "queues": [{{ "id": "q" }}]
}}"##,
        publish_keys(&["stray"])
    );
    let s = story(&json, 20_000_000);
    let un: Vec<_> = s
        .matching(|k| matches!(k, TraceKind::Unroutable { .. }))
        .iter()
        .map(|e| (e.node, e.kind))
        .collect();
    let alt = |n: &str| TraceKind::Unroutable {
        alternate: Some(s.node(n)),
    };
    assert_eq!(un, [(s.node("x"), alt("ae")), (s.node("ae"), alt("ae2"))]);
    assert_eq!(s.drops(), [(ms(1000), 1, Reason::Unroutable)]);
    let r = serde_json::to_value(s.engine.report("t")).unwrap();
    for x in ["x", "ae", "ae2"] {
        assert_eq!(r["nodes"][x]["to_alternate"], 0, "{x}");
    }
    assert_eq!(r["nodes"]["x"]["unroutable"], 1);
    assert_eq!(r["nodes"]["ae"]["unroutable"], 0);
}

#[test]
fn unroutable_without_alternate_is_counted_and_dropped() {
    let json = format!(
        r##"{{
  "title": "unroutable",
  "producers": [{}],
  "exchanges": [{{ "id": "x", "kind": "topic", "bindings": [{{ "queue": "q", "key": "a.*" }}] }}],
  "queues": [{{ "id": "q" }}]
}}"##,
        publish_keys(&["b.c", "a.b", "a"])
    );
    let s = story(&json, 20_000_000);
    assert_eq!(s.queue_keys("q"), ["a.b"]);
    let t = s.engine.totals_now();
    assert_eq!((t.published, t.routed, t.unroutable), (3, 1, 2));
    assert_eq!(s.drops().iter().map(|d| d.1).collect::<Vec<_>>(), [1, 3]);
}

#[test]
fn exchange_to_exchange_bindings_route_through_and_keep_one_copy_per_queue() {
    // x (topic) → q directly and → y (fanout) → q and r. q still gets one copy.
    let json = format!(
        r##"{{
  "title": "e2e",
  "producers": [{}],
  "exchanges": [
    {{ "id": "x", "kind": "topic", "bindings": [{{ "queue": "q", "key": "a.#" }}, {{ "exchange": "y", "key": "#" }}] }},
    {{ "id": "y", "kind": "fanout", "bindings": [{{ "queue": "q" }}, {{ "queue": "r" }}, {{ "exchange": "x" }}] }}
  ],
  "queues": [{{ "id": "q" }}, {{ "id": "r" }}]
}}"##,
        publish_keys(&["a.b", "z"])
    );
    let s = story(&json, 20_000_000);
    assert_eq!(s.queue_keys("q"), ["a.b", "z"]);
    assert_eq!(s.queue_keys("r"), ["a.b", "z"]);
    let routed: Vec<u32> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Routed { queues } => Some(queues),
            _ => None,
        })
        .collect();
    assert_eq!(routed, [2, 2], "the x ↔ y cycle is followed once");
    assert_eq!(s.engine.totals_now().copies, 2);
}

/// Keys and header names are AMQP short strings: at most 255 bytes; header
/// values are long strings (RabbitMQ takes longer ones), capped at 65,535. A 1 M-word routing key used to make every publish match every topic
/// binding word by word (12 events took 7 s); now it is refused up front,
/// with the path of the field, wherever a key or header can be written.
#[test]
fn long_keys_header_names_and_header_values_are_refused_with_their_path() {
    let long = "a.".repeat(128); // 256 bytes
    let ok = "a".repeat(255);
    let base = r#"{
  "title": "keys",
  "producers": [{ "id": "p", "to": "x", "rate": "1/s" PRODUCER }],
  "exchanges": [{ "id": "x", "kind": "headers", "bindings": [{ "queue": "q" BINDING }] },
                { "id": "dlx", "kind": "fanout", "bindings": [{ "queue": "q" }] }],
  "queues": [{ "id": "q", "dead_letter_exchange": "dlx" QUEUE }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "1ms" } CONSUMER }]
}"#;
    let fill = |slot: &str, text: &str| {
        let mut s = base.to_string();
        for k in ["PRODUCER", "BINDING", "QUEUE", "CONSUMER"] {
            s = s.replace(k, if k == slot { text } else { "" });
        }
        s
    };
    let cases = [
        (
            "PRODUCER",
            format!(r#", "routing_key": "{long}""#),
            "producers[0].routing_key",
        ),
        (
            "PRODUCER",
            format!(r#", "routing_keys": {{ "fixed": "{long}" }}"#),
            "producers[0].routing_keys.fixed",
        ),
        (
            "PRODUCER",
            format!(r#", "routing_keys": {{ "round_robin": ["a", "{long}"] }}"#),
            "producers[0].routing_keys.round_robin[1]",
        ),
        (
            "PRODUCER",
            format!(r#", "keys": {{ "random": ["{long}"] }}"#),
            "producers[0].keys.random[0]",
        ),
        (
            "PRODUCER",
            format!(r#", "routing_keys": {{ "weighted": [{{ "key": "{long}", "weight": 1 }}] }}"#),
            "producers[0].routing_keys.weighted[0].key",
        ),
        (
            "PRODUCER",
            format!(r#", "headers": {{ "{long}": "v" }}"#),
            "producers[0].headers",
        ),
        (
            "QUEUE",
            format!(r#", "dead_letter_routing_key": "{long}""#),
            "queues[0].dead_letter_routing_key",
        ),
        (
            "CONSUMER",
            format!(r#", "poison": {{ "key": "{long}" }}"#),
            "consumers[0].poison.key",
        ),
        (
            "CONSUMER",
            format!(r#", "on_success": [{{ "to": "x", "routing_key": "{long}" }}]"#),
            "consumers[0].on_success[0].routing_key",
        ),
    ];
    for (slot, text, path) in &cases {
        let err = queuelab::scenario::load(&fill(slot, text))
            .expect_err(&format!("{path} accepted a 256-byte string"));
        assert!(
            err.issues
                .iter()
                .any(|i| i.path == *path && i.message.contains("255 bytes")),
            "{path}: {err}"
        );
        // The error never echoes the long string.
        assert!(!err.to_string().contains(&long), "{path}: {err}");
        // Exactly 255 bytes is fine.
        let at_limit = text.replace(&long, &ok);
        queuelab::scenario::load(&fill(slot, &at_limit))
            .unwrap_or_else(|e| panic!("{path} refused 255 bytes: {e}"));
    }
    // Header values: 65,535 bytes are fine (a 256-byte one is accepted,
    // as RabbitMQ does), one more is refused with the path.
    let value_ok = "v".repeat(65_535);
    let value_long = "v".repeat(65_536);
    let value_cases = [
        (
            "PRODUCER",
            r#", "headers": { "h": "VALUE" }"#,
            "producers[0].headers.h",
        ),
        (
            "PRODUCER",
            r#", "header_sets": [{}, { "h": "VALUE" }]"#,
            "producers[0].header_sets[1].h",
        ),
        (
            "BINDING",
            r#", "headers": { "h": "VALUE" }"#,
            "exchanges[0].bindings[0].headers.h",
        ),
        (
            "CONSUMER",
            r#", "poison": { "header": { "name": "m", "value": "VALUE" } }"#,
            "consumers[0].poison.header.value",
        ),
    ];
    for (slot, text, path) in value_cases {
        for fine in [&long, &value_ok] {
            queuelab::scenario::load(&fill(slot, &text.replace("VALUE", fine)))
                .unwrap_or_else(|e| panic!("{path} refused {} bytes: {e}", fine.len()));
        }
        let err = queuelab::scenario::load(&fill(slot, &text.replace("VALUE", &value_long)))
            .expect_err(&format!("{path} accepted 65,536 bytes"));
        assert!(
            err.issues
                .iter()
                .any(|i| i.path == path && i.message.contains("at most 65535 bytes, not 65536")),
            "{path}: {err}"
        );
    }
    // Too many headers in one map.
    let many: Vec<String> = (0..65).map(|i| format!(r#""h{i}": "v""#)).collect();
    let err = queuelab::scenario::load(&fill(
        "PRODUCER",
        &format!(r#", "headers": {{ {} }}"#, many.join(", ")),
    ))
    .unwrap_err();
    assert!(
        err.issues
            .iter()
            .any(|i| i.path == "producers[0].headers" && i.message.contains("64 headers")),
        "{err}"
    );
    // Commands name nodes by id: an over-long id is refused without echoing it.
    let mut e = engine(&fill("", ""), 1);
    let id = "c".repeat(100_000);
    let why = e
        .submit(queuelab::engine::Command::PauseProducer {
            producer: id.clone(),
        })
        .unwrap_err()
        .to_string();
    assert!(why.contains("at most 64") && why.len() < 200, "{why}");
}

/// Routing results are cached per (exchange, routing key, headers), the
/// unroutable ones too, so a stream of publishes nobody binds to is matched
/// against the bindings once, not once per publish.
#[test]
fn routing_results_are_cached_unroutable_ones_too() {
    let json = r#"{
  "title": "unroutable stream",
  "producers": [{ "id": "p", "to": "x", "rate": "1000/s", "arrival": "constant", "count": 500,
                  "routing_keys": { "round_robin": ["nobody.listens", "a.b"] } }],
  "exchanges": [{ "id": "x", "kind": "topic", "bindings": [{ "queue": "q", "key": "a.*" }] }],
  "queues": [{ "id": "q" }]
}"#;
    let s = story(json, 2_000_000);
    assert_eq!(s.engine.totals().unroutable, 250);
    assert_eq!(s.engine.totals().enqueued, 250);
    // Two keys, two cached results (before, only the routable one was kept).
    assert_eq!(s.engine.route_cache_len(), 2);
}

/// A handler's publish may set headers over the processed message's (an
/// upcaster stamping `schema: 2`): the new message keeps `region` and
/// carries the new `schema`, so an `x-match all` binding on both takes it,
/// and one on the old schema does not.
#[test]
fn a_handler_publish_sets_headers_over_the_processed_messages() {
    let json = r#"{
      "title": "upcast",
      "producers": [{ "id": "p", "to": "in", "rate": "1/s", "arrival": "constant", "count": 3,
                      "headers": { "schema": "1", "region": "eu" } }],
      "exchanges": [{ "id": "x2", "kind": "headers", "bindings": [
          { "queue": "v2-eu", "x_match": "all", "headers": { "schema": "2", "region": "eu" } },
          { "queue": "v1", "headers": { "schema": "1" } } ] }],
      "queues": [{ "id": "in" }, { "id": "v2-eu" }, { "id": "v1" }],
      "consumers": [{ "id": "upcaster", "queue": "in", "service": { "constant": "10ms" },
                      "on_success": [{ "to": "x2", "headers": { "schema": "2" } }] }]
    }"#;
    let s = story(json, 5_000_000);
    assert_eq!(s.processed("upcaster").len(), 3);
    assert_eq!(s.enqueued("v2-eu").len(), 3);
    assert_eq!(s.enqueued("v1").len(), 0);
    // Bad headers on a handler publish name their path.
    let bad = json.replace(
        r#""headers": { "schema": "2" } }]"#,
        &format!(r#""headers": {{ "{}": "2" }} }}]"#, "k".repeat(300)),
    );
    let e = queuelab::scenario::load(&bad).unwrap_err().to_string();
    assert!(e.contains("consumers[0].on_success[0].headers"), "{e}");
}
