//! The broker comparison (issue 10, section 4): the `broker-comparison`
//! preset runs one workload as four lanes, one per broker, each lane
//! swapping whole sections of the scenario by variant; `Engine::measured`
//! puts every lane in the same terms, and `queuelab compare` prints the
//! table with each broker's documented promise. These tests pin the
//! differences the preset is meant to show.

use super::common::{preset_variant, run_checked, story};
use queuelab::engine::{Engine, Measured, SimTime, TraceKind};
use queuelab::scenario::{self, patch, BrokerKind, Scenario};
use std::process::Command;

const UNTIL_US: u64 = 30_000_000;

/// The preset's lanes, by name, each a whole scenario.
fn lanes() -> Vec<(String, Scenario)> {
    let s = scenario::preset("broker-comparison").unwrap().scenario();
    let mut base = s.clone();
    base.variants.clear();
    s.variants
        .iter()
        .map(|v| (v.name.clone(), patch::apply(&base, &v.set).expect("lane")))
        .collect()
}

/// Run one lane for the preset's 30 s; invariants checked at the end.
fn measure(s: &Scenario) -> (Engine, Measured) {
    let mut e = Engine::new(s.clone(), s.seed).unwrap();
    e.run_until(SimTime(UNTIL_US), u64::MAX);
    e.check_invariants().expect("invariants hold");
    let m = e.measured();
    (e, m)
}

fn lane<'a>(all: &'a [(String, Scenario)], name: &str) -> &'a Scenario {
    &all.iter().find(|(n, _)| n == name).expect("lane").1
}

#[test]
fn each_lane_is_one_broker_swapped_in_whole() {
    let all = lanes();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["rabbitmq", "kafka", "sqs", "redis", "pulsar"]);
    let kinds = |n: &str| BrokerKind::of(lane(&all, n));
    assert_eq!(kinds("rabbitmq"), [BrokerKind::RabbitMq]);
    assert_eq!(kinds("kafka"), [BrokerKind::Kafka]);
    assert_eq!(kinds("sqs"), [BrokerKind::SqsStandard]);
    assert_eq!(kinds("redis"), [BrokerKind::RedisPubSub]);
    assert_eq!(kinds("pulsar"), [BrokerKind::Pulsar]);
    // Whole sections replaced: nothing of the RabbitMQ lane is left over.
    let k = lane(&all, "kafka");
    assert!(k.queues.is_empty() && k.consumers.is_empty());
    assert_eq!(k.consumer_groups[0].member_service[0].member, 2);
    let r = lane(&all, "redis");
    assert!(r.queues.is_empty() && r.topics.is_empty());
    assert_eq!(r.producers[0].to, "redis");
    // The workload itself is the same in every lane.
    for (_, s) in &all {
        assert_eq!(s.producers.len(), 1);
        assert_eq!(s.producers[0].rate, all[0].1.producers[0].rate);
        assert_eq!(s.producers[0].keys, all[0].1.producers[0].keys);
        assert_eq!(s.producers[0].payload_bytes, 512);
    }
}

#[test]
fn a_variant_replacing_a_section_with_the_wrong_shape_names_it() {
    let s = scenario::preset("broker-comparison").unwrap().scenario();
    let mut base = s.clone();
    base.variants.clear();
    let set = |k: &str, v: serde_json::Value| [(k.to_string(), v)].into_iter().collect();
    let err = patch::apply(&base, &set("queues", serde_json::json!(3))).unwrap_err();
    assert!(
        err.contains("the changed scenario is invalid: queues"),
        "{err}"
    );
    // The generated JSON is one line: a position in it would mean nothing.
    assert!(!err.contains(" at line "), "{err}");
    // Emptying the queues leaves the producer and consumers pointing nowhere.
    let err = patch::apply(&base, &set("queues", serde_json::json!([]))).unwrap_err();
    assert!(err.contains("producers[0].to"), "{err}");
}

#[test]
fn the_measured_differences_are_the_documented_ones() {
    let all = lanes();
    let m: Vec<(String, Measured)> = all.iter().map(|(n, s)| (n.clone(), measure(s).1)).collect();
    let get = |n: &str| &m.iter().find(|(k, _)| k == n).unwrap().1;
    let (rabbit, kafka, sqs, redis) = (get("rabbitmq"), get("kafka"), get("sqs"), get("redis"));
    let pulsar = get("pulsar");
    for (n, x) in &m {
        eprintln!("{n}: {x:?}");
    }
    // Every lane handled most of some 6000 orders.
    for (n, x) in &m {
        assert!(x.delivered > 5000, "{n}: {x:?}");
        assert!(x.p50_us.is_some() && x.p99_us >= x.p50_us, "{n}: {x:?}");
    }
    // Redis Pub/Sub: at-most-once. The 3 s outage of w0 loses the orders
    // published to orders.0 meanwhile (a third of 600) for good; nothing is
    // ever done twice.
    assert!(redis.lost >= 150, "{redis:?}");
    assert_eq!(redis.duplicated, 0);
    // The at-least-once brokers lose nothing.
    for x in [rabbit, kafka, sqs, pulsar] {
        assert_eq!(x.lost, 0, "{x:?}");
    }
    // Pulsar key_shared: the crash after a side effect redelivers that
    // message to the consumer that took over its hash range (done twice),
    // yet no key is overtaken: held-back replay per slot and the
    // recently-joined rule keep order per key without Kafka's session wait.
    assert!(pulsar.duplicated >= 1, "{pulsar:?}");
    assert_eq!(pulsar.out_of_order, 0, "{pulsar:?}");
    assert!(pulsar.p99_us < kafka.p99_us, "{pulsar:?} vs {kafka:?}");
    // RabbitMQ and SQS: the crash after a side effect redelivers that
    // message (done twice), and what the consumer held comes back after
    // later messages of its keys were done (out of order).
    assert!(
        rabbit.duplicated >= 1 && rabbit.out_of_order >= 1,
        "{rabbit:?}"
    );
    assert!(sqs.duplicated >= 1 && sqs.out_of_order >= 1, "{sqs:?}");
    // Kafka notices the dead member only after the session timeout (5 s):
    // its partitions wait that long, the longest tail of the four.
    assert!(kafka.p99_us > Some(1_000_000), "{kafka:?}");
    for x in [rabbit, sqs, redis] {
        assert!(kafka.p99_us > x.p99_us, "{kafka:?} vs {x:?}");
    }
    // Only SQS counts requests.
    assert!(sqs.requests.is_some_and(|r| r > 0));
    for x in [rabbit, kafka, redis, pulsar] {
        assert_eq!(x.requests, None);
    }
    // Kafka: a partition is read in order by one member, so a key is never
    // overtaken by its own later record. The crash replays what member 0
    // processed since its last auto commit (up to 5 s of its records, a few
    // hundred): duplicates, as the description promises, not reorderings.
    assert!(kafka.duplicated >= 50, "{kafka:?}");
    assert_eq!(kafka.out_of_order, 0, "{kafka:?}");
}

#[test]
fn the_lanes_share_their_publishes() {
    // Common random numbers: the producer draws from its own stream, so
    // every lane publishes the same orders at the same times (the transit
    // delay differs, the publish does not).
    let times = |s: &Scenario| {
        let mut e = Engine::new(s.clone(), s.seed).unwrap();
        e.set_trace_capture(true, 1 << 20);
        e.run_until(SimTime(5_000_000), u64::MAX);
        e.take_trace()
            .into_iter()
            .filter(|t| matches!(t.kind, TraceKind::Published { parent: None, .. }))
            .map(|t| t.t.0)
            .collect::<Vec<_>>()
    };
    let all = lanes();
    let first = times(&all[0].1);
    assert!(first.len() > 800);
    for (n, s) in &all[1..] {
        assert_eq!(times(s), first, "lane {n}");
    }
}

#[test]
fn a_kafka_member_can_be_slower_than_its_group() {
    let st = story(
        r#"{"title":"t","producers":[{"id":"p","to":"t","rate":"100/s","arrival":"constant","partitioner":"round_robin"}],
            "topics":[{"id":"t","partitions":2}],
            "consumer_groups":[{"id":"g","topics":["t"],"members":2,"auto_offset_reset":"earliest",
              "service":{"constant":"1ms"},"member_service":[{"member":0,"service":{"constant":"2ms"}},
                {"member":1,"service":{"constant":"7ms"}}]}]}"#,
        3_000_000,
    );
    let mut by_member = [Vec::new(), Vec::new()];
    for ev in &st.trace {
        if let TraceKind::Processed {
            instance,
            service_us,
        } = ev.kind
        {
            by_member[instance as usize].push(service_us);
        }
    }
    assert!(by_member.iter().all(|v| v.len() > 50), "{by_member:?}");
    assert!(by_member[0].iter().all(|&us| us == 2_000));
    assert!(by_member[1].iter().all(|&us| us == 7_000));
    let bad = scenario::load(
        r#"{"title":"t","topics":[{"id":"t","partitions":1}],
            "consumer_groups":[{"id":"g","topics":["t"],"service":{"constant":"1ms"},
              "member_service":[{"member":0,"service":{"constant":"0ms"}},
                {"member":0,"service":{"constant":"1ms"}}]}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("consumer_groups[0].member_service[0].service")
            && bad
                .contains("consumer_groups[0].member_service[1].member: member 0 is listed twice"),
        "{bad}"
    );
}

#[test]
fn kafka_retry_topics_break_order_per_key_and_blocking_keeps_it() {
    let s = scenario::preset("kafka-retry-topics").unwrap().scenario();
    let mut e = Engine::new(s.clone(), s.seed).unwrap();
    run_checked(&mut e, 20_000_000);
    let st = e.ledger_report().streams.expect("topics");
    assert_eq!(st.groups["blocking"].out_of_order, 0);
    assert!(st.groups["retry-topics"].out_of_order > 0, "{st:?}");
}

#[test]
fn compare_prints_the_broker_table_with_every_lane() {
    let o = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["compare", "broker-comparison"])
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("broker comparison (measured)"), "{out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("lane "))
        .expect("table header");
    for col in [
        "broker",
        "delivered",
        "lost",
        "duplicated",
        "out of order",
        "p50 ms",
        "p99 ms",
        "backlog",
        "requests",
    ] {
        assert!(header.contains(col), "{header}");
    }
    for (lane, broker) in [
        ("rabbitmq", "RabbitMQ"),
        ("kafka", "Kafka"),
        ("sqs", "SQS standard"),
        ("redis", "Redis Pub/Sub"),
        ("pulsar", "Pulsar"),
    ] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("{lane} ")) && l.contains(broker))
            .unwrap_or_else(|| panic!("no row for {lane} in\n{out}"));
        // Requests: a number for SQS, a dash elsewhere.
        assert_eq!(row.trim_end().ends_with('–'), lane != "sqs", "{row}");
        assert!(out.contains(&format!("{lane} ({broker})")), "{out}");
    }
    assert!(out.contains("fire-and-forget, at-most-once"), "{out}");
    assert!(out.contains("order per partition"), "{out}");
    // JSON: each lane with its broker and measured row.
    let o = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["compare", "broker-comparison", "--json", "--until", "12s"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lanes = v["variants"].as_array().unwrap();
    assert_eq!(lanes.len(), 5);
    assert_eq!(lanes[4]["broker"], "Pulsar");
    assert_eq!(lanes[3]["broker"], "Redis Pub/Sub");
    assert!(lanes[3]["measured"]["lost"].as_u64().unwrap() > 0);
    assert!(lanes[2]["measured"]["requests"].as_u64().unwrap() > 0);
    assert!(lanes[0]["measured"]["requests"].is_null());
}

#[test]
fn backlog_counts_what_waits_not_what_a_stream_keeps() {
    // The streams lane of redis-pubsub-vs-streams: MAXLEN 200 keeps 200
    // entries after they are acknowledged; by 30 s the consumer has long
    // caught up with its 5 s outage, so almost nothing waits, and what the
    // group acknowledged is settled: neither in flight nor pending.
    let s = scenario::preset("redis-pubsub-vs-streams")
        .unwrap()
        .scenario();
    let mut base = s.clone();
    base.variants.clear();
    let streams = patch::apply(&base, &s.variants[1].set).unwrap();
    let (e, m) = measure(&streams);
    let r = serde_json::to_value(e.report("streams")).unwrap();
    assert_eq!(
        r["nodes"]["orders-stream"]["length"], 200,
        "the stream keeps its entries"
    );
    assert!(e.ledger().live() < 10, "{:?}", e.ledger());
    assert!(
        r["ledger"]["pending"].as_u64().unwrap() < 10,
        "{}",
        r["ledger"]
    );
    assert!(m.backlog < 10, "{m:?}");
    assert_eq!(m.lost, 0);
}

/// The backlog counts messages still on their way to a log beside the log's
/// unacknowledged entries, and only those: a producer 500 ms from the broker
/// at 20/s keeps about 10 in transit, while a Redis stream (MAXLEN 200) and
/// a Pulsar topic (retained 60 s) keep hundreds of settled entries that
/// must neither count nor cancel the ones in transit.
#[test]
fn backlog_counts_messages_in_transit_beside_settled_entries() {
    let redis = r#"{ "title": "t", "duration": "30s", "seed": 1,
        "producers": [{ "id": "p", "to": "s", "rate": "20/s", "arrival": "constant", "latency": "500ms" }],
        "redis_streams": [{ "id": "s", "maxlen": 200 }],
        "redis_groups": [{ "id": "g", "stream": "s", "consumers": 1, "service": { "constant": "1ms" } }] }"#;
    let pulsar = r#"{ "title": "t", "duration": "30s", "seed": 1,
        "producers": [{ "id": "p", "to": "s", "rate": "20/s", "arrival": "constant", "latency": "500ms" }],
        "pulsar_topics": [{ "id": "s", "retention": "60s" }],
        "pulsar_subscriptions": [{ "id": "g", "topic": "s", "service": { "constant": "1ms" } }] }"#;
    for (name, json) in [("redis", redis), ("pulsar", pulsar)] {
        let (e, m) = measure(&scenario::load(json).unwrap());
        let r = serde_json::to_value(e.report("t")).unwrap();
        let kept = match name {
            "redis" => &r["nodes"]["s"]["length"],
            _ => &r["nodes"]["s"]["stored_now"],
        };
        assert!(kept.as_u64().unwrap() >= 200, "{name}: {}", r["nodes"]["s"]);
        // In transit, plus at most the one entry being handled.
        assert!((9..=11).contains(&m.backlog), "{name}: {m:?}");
        // Live: in transit, and at most that entry and its delivery.
        assert!(
            (9..=12).contains(&e.ledger().live()),
            "{name}: {:?}",
            e.ledger()
        );
    }
}

#[test]
fn every_lane_charges_its_brokers_documented_costs() {
    // The preset's broker_costs are BrokerKind::costs (the README's table):
    // one source of the assumptions, checked here.
    for (name, s) in lanes() {
        let kinds = BrokerKind::of(&s);
        assert_eq!(kinds.len(), 1, "{name}");
        let want = kinds[0].costs();
        let got = s.broker_costs.unwrap_or_default();
        assert_eq!(
            got, want,
            "{name}: preset costs differ from BrokerKind::costs"
        );
    }
}

#[test]
fn broker_costs_queue_on_one_cpu_and_wait_for_the_group_commit() {
    // Three publishes at 0 (constant arrival of 1000/s starts at 1 ms apart;
    // a burst of 3 lands together): per_message 300 µs on one CPU, fsync
    // every 1 ms. Stored at 0.3, 0.6, 0.9 ms of CPU, all visible at the 1 ms
    // commit; the fourth burst's first (at 2 ms) at 3 ms.
    let json = r#"{
      "title": "costs",
      "broker_costs": { "per_message": "300us", "fsync_every": "1ms" },
      "producers": [{ "id": "p", "to": "q", "rate": "1000/s", "arrival": { "bursts": { "size": 3 } }, "count": 6 }],
      "queues": [{ "id": "q" }],
      "consumers": [{ "id": "c", "queue": "q", "instances": 6, "service": { "constant": "1us" } }]
    }"#;
    let st = crate::common::story(json, 100_000);
    let enq: Vec<u64> = st
        .matching(|k| matches!(k, queuelab::engine::TraceKind::Enqueued { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    let pubs: Vec<u64> = st
        .matching(|k| matches!(k, queuelab::engine::TraceKind::Published { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(pubs.len(), 6);
    // Every message becomes visible at a commit tick, after its CPU time.
    for (p, e) in pubs.iter().zip(&enq) {
        assert_eq!(e % 1000, 0, "visible only at a 1 ms group commit: {enq:?}");
        assert!(e >= &(p + 300), "{pubs:?} -> {enq:?}");
    }
    // Without costs: stored the instant it arrives.
    let free = crate::common::story(
        &json.replace(
            r#""broker_costs": { "per_message": "300us", "fsync_every": "1ms" },"#,
            "",
        ),
        100_000,
    );
    let enq_free: Vec<u64> = free
        .matching(|k| matches!(k, queuelab::engine::TraceKind::Enqueued { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(enq_free, pubs);
    // Validation names the field.
    let bad = json.replace("300us", "2s");
    let e = queuelab::scenario::load(&bad).unwrap_err().to_string();
    assert!(e.contains("broker_costs.per_message"), "{e}");
}

/// A stored Pulsar message or Redis stream entry counts in "in flight" once
/// per subscription or group that still owes it, and not again for its
/// delivery in a consumer's hands; one read by n readers is n - 1 copies,
/// as a fanout exchange's. So the counters add up after every event as the
/// CLI's do for queues: published + copies = completed + dropped + in
/// flight (a dead-lettered message is in flight in its dead-letter topic,
/// or parked once where nobody reads it). These cases process no message
/// twice: a Pulsar or Redis duplicate completes once more. Before, every
/// delivery was a copy and counted in flight beside its entry: the
/// backlog-quota preset showed 452 in flight for 441 messages on their way.
#[test]
fn in_flight_counts_a_stored_message_once_per_reader_that_owes_it() {
    let redis_two_groups = r#"{ "title": "t", "duration": "20s", "seed": 3,
        "producers": [{ "id": "p", "to": "s", "rate": "40/s", "latency": "20ms" }],
        "redis_streams": [{ "id": "s", "maxlen": 5000 }],
        "redis_groups": [
          { "id": "fast", "stream": "s", "consumers": 2, "service": { "exponential": "20ms" } },
          { "id": "slow", "stream": "s", "consumers": 1, "service": { "exponential": "40ms" } } ] }"#;
    let pulsar_two_subs = r#"{ "title": "t", "duration": "20s", "seed": 3,
        "producers": [{ "id": "p", "to": "s", "rate": "40/s", "latency": "20ms" }],
        "pulsar_topics": [{ "id": "s" }],
        "pulsar_subscriptions": [
          { "id": "shared", "topic": "s", "type": "shared", "consumers": 2, "service": { "exponential": "20ms" } },
          { "id": "one", "topic": "s", "consumers": 1, "service": { "exponential": "40ms" } } ] }"#;
    // Dead letters parked in a topic nobody reads (kept by its retention),
    // beside a stream no group reads: each counted once, as a queue
    // without a consumer counts its messages.
    let parked = r#"{ "title": "t", "duration": "20s", "seed": 3,
        "producers": [{ "id": "p", "to": "s", "rate": "40/s", "latency": "20ms" },
                      { "id": "r", "to": "x", "rate": "5/s" }],
        "pulsar_topics": [{ "id": "s" }, { "id": "dlq", "retention": "10m" }],
        "pulsar_subscriptions": [
          { "id": "shared", "topic": "s", "type": "shared", "consumers": 2,
            "service": { "exponential": "20ms" }, "failure_rate": 0.3, "negative_ack_delay": "200ms",
            "dead_letter": { "max_redeliver_count": 1, "topic": "dlq" } } ],
        "redis_streams": [{ "id": "x" }] }"#;
    let cases: Vec<(&str, Scenario, u64)> = vec![
        ("parked", scenario::load(parked).unwrap(), 1),
        (
            "pulsar-backlog-quota",
            scenario::preset("pulsar-backlog-quota").unwrap().scenario(),
            1,
        ),
        (
            "pulsar-redelivery",
            scenario::preset("pulsar-redelivery").unwrap().scenario(),
            1,
        ),
        (
            "pulsar-redelivery retry-letter",
            preset_variant("pulsar-redelivery", "retry-letter"),
            1,
        ),
        (
            "redis two groups",
            scenario::load(redis_two_groups).unwrap(),
            2,
        ),
        (
            "pulsar two subscriptions",
            scenario::load(pulsar_two_subs).unwrap(),
            2,
        ),
    ];
    for (name, s, readers) in cases {
        let until = SimTime(s.duration.us());
        let seed = s.seed;
        let mut e = Engine::new(s, seed).unwrap();
        let mut deliveries_in_hand_seen = false;
        while e.next_event_time().is_some_and(|t| t <= until) {
            e.step();
            let t = e.totals_now();
            assert_eq!(
                t.published + t.copies,
                t.completed + t.dropped + t.in_flight,
                "{name} at {}: {t:?}",
                e.now()
            );
            deliveries_in_hand_seen |= e.ledger().unacked > 0;
        }
        let t = e.totals_now();
        assert!(t.processed > 100, "{name}: {t:?}");
        // One copy per extra reader of each stored message (at most a
        // couple of publishes still in transit at the end).
        let stored = t.published.saturating_sub(2)..=t.published;
        let copies = stored.start() * (readers - 1)..=stored.end() * (readers - 1);
        assert!(copies.contains(&t.copies), "{name}: {t:?}");
        assert!(deliveries_in_hand_seen, "{name}: no delivery was ever out");
        if name == "parked" {
            assert!(t.dead_lettered > 10, "{name}: {t:?}");
        }
    }
}

/// One order, its publisher confirm lost: the producer resends it after the
/// 2 s confirm timeout, and the consumer's 10 s dedup store has seen it. The
/// handler succeeds twice (`processed` = 2) but only the first run does the
/// fulfilment; the comparison's `delivered` counts effects, so it is 1.
#[test]
fn a_deduplicated_run_is_not_delivered() {
    let st = story(
        r#"{"title":"t","seed":1,"duration":"10s",
            "producers":[{"id":"orders","to":"fulfilment","rate":"1/s","arrival":"constant","count":1,
              "confirms":{"timeout":"2s","retries":1},"faults":{"confirm_drop":1.0}}],
            "queues":[{"id":"fulfilment"}],
            "consumers":[{"id":"fulfil","queue":"fulfilment","service":{"constant":"10ms"},
              "dedup":{"window":"10s"}}]}"#,
        10_000_000,
    );
    let dedups = st
        .trace
        .iter()
        .filter(|ev| matches!(ev.kind, TraceKind::Deduplicated { .. }))
        .count();
    assert_eq!(dedups, 1);
    assert_eq!(st.engine.totals().processed, 2);
    let m = st.engine.measured();
    assert_eq!(m.delivered, 1);
    assert_eq!(m.duplicated, 0);
}
