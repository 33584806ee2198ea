//! Producers: arrival spacing (constant, bursts, Poisson), count, start and
//! stop, transit latency, key choices and header sets.

use crate::common::*;
use queuelab::engine::{SimTime, TraceKind};

fn producer(fields: &str) -> Story {
    let json = format!(
        r#"{{
  "title": "producer",
  "producers": [{{ "id": "p", "to": "x" {fields} }}],
  "exchanges": [{{ "id": "x", "kind": "fanout", "bindings": [{{ "queue": "q" }}] }}],
  "queues": [{{ "id": "q" }}]
}}"#
    );
    story(&json, 10_000_000)
}

fn published(s: &Story) -> Vec<u64> {
    s.matching(|k| matches!(k, TraceKind::Published { .. }))
        .iter()
        .map(|e| e.t.0)
        .collect()
}

#[test]
fn constant_arrivals_are_one_period_apart_from_start_and_stop_before_stop() {
    let s = producer(r#", "rate": "4/s", "arrival": "constant", "start": "1s", "stop": "2500ms""#);
    assert_eq!(
        published(&s),
        [ms(1250), ms(1500), ms(1750), ms(2000), ms(2250)]
    );
}

#[test]
fn count_limits_the_number_published() {
    let s = producer(r#", "rate": "100/s", "arrival": "constant", "count": 7"#);
    assert_eq!(published(&s).len(), 7);
    assert_eq!(s.engine.totals().published, 7);
}

#[test]
fn bursts_publish_size_messages_at_once_keeping_the_mean_rate() {
    let s = producer(r#", "rate": "10/s", "arrival": { "bursts": { "size": 5 } }, "stop": "2s""#);
    // Bursts of 5 every 500 ms: 10/s on average.
    assert_eq!(
        published(&s),
        [
            ms(500),
            ms(500),
            ms(500),
            ms(500),
            ms(500),
            ms(1000),
            ms(1000),
            ms(1000),
            ms(1000),
            ms(1000),
            ms(1500),
            ms(1500),
            ms(1500),
            ms(1500),
            ms(1500)
        ]
    );
}

#[test]
fn a_burst_is_cut_short_by_the_count() {
    let s = producer(r#", "rate": "10/s", "arrival": { "bursts": { "size": 5 } }, "count": 7"#);
    assert_eq!(
        published(&s),
        [
            ms(500),
            ms(500),
            ms(500),
            ms(500),
            ms(500),
            ms(1000),
            ms(1000)
        ]
    );
}

#[test]
fn poisson_arrivals_have_the_configured_mean_rate() {
    let s = producer(r#", "rate": "200/s", "arrival": "poisson""#);
    let n = published(&s).len() as f64;
    // 10 s at 200/s: 2000 expected, standard deviation about 45.
    assert!((n - 2000.0).abs() < 200.0, "{n} arrivals");
    let mut gaps: Vec<u64> = published(&s).windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    assert!(
        gaps[0] < 500 && *gaps.last().unwrap() > 15_000,
        "gaps look exponential"
    );
}

#[test]
fn latency_delays_arrival_at_the_broker() {
    let s = producer(r#", "rate": "1/s", "arrival": "constant", "count": 2, "latency": "30ms""#);
    assert_eq!(published(&s), [ms(1000), ms(2000)]);
    assert_eq!(s.enqueued("q"), [(ms(1030), 1), (ms(2030), 2)]);
}

#[test]
fn round_robin_keys_and_header_sets_cycle_in_order() {
    let s = producer(
        r#", "rate": "1/s", "arrival": "constant", "count": 4,
        "routing_keys": { "round_robin": ["a", "b", "c"] },
        "keys": { "round_robin": ["k1", "k2"] }"#,
    );
    assert_eq!(s.queue_keys("q"), ["a", "b", "c", "a"]);
    let keys: Vec<Option<String>> = match &s.engine.snapshot().nodes[2] {
        queuelab::engine::NodeView::Queue { head, .. } => {
            head.iter().map(|m| m.key.clone()).collect()
        }
        _ => unreachable!(),
    };
    let want = ["k1", "k2", "k1", "k2"].map(|k| Some(k.to_string()));
    assert_eq!(keys, want);
}

#[test]
fn weighted_keys_follow_their_weights_and_zero_never_comes() {
    let json = r#"{
  "title": "weighted",
  "producers": [{ "id": "p", "to": "x", "rate": "1000/s", "arrival": "constant", "count": 4000,
    "routing_keys": { "weighted": [{ "key": "a", "weight": 3 }, { "key": "b", "weight": 1 }, { "key": "never", "weight": 0 }] } }],
  "exchanges": [{ "id": "x", "kind": "direct", "bindings": [
    { "queue": "qa", "key": "a" }, { "queue": "qb", "key": "b" }, { "queue": "qn", "key": "never" }] }],
  "queues": [{ "id": "qa" }, { "id": "qb" }, { "id": "qn" }]
}"#;
    let s = story(json, 10_000_000);
    let (a, b, n) = (s.depth("qa"), s.depth("qb"), s.depth("qn"));
    assert_eq!((a + b, n), (4000, 0));
    // 3000 expected for a; binomial standard deviation about 27.
    assert!((2850..=3150).contains(&a), "{a} of 4000 are a");
}

/// One burst event can publish 100,000 messages; `run_until`'s budget
/// charges an event the messages it creates, so a small budget stops right
/// after the burst instead of running a hundred more of them.
#[test]
fn a_burst_counts_its_messages_against_the_run_budget() {
    let json = r#"{
  "title": "bursts into a two-way fanout",
  "producers": [{ "id": "p", "to": "x", "rate": "1000/s", "arrival": { "bursts": { "size": 1000 } } }],
  "exchanges": [{ "id": "x", "kind": "fanout", "bindings": [{ "queue": "a" }, { "queue": "b" }] }],
  "queues": [{ "id": "a" }, { "id": "b" }]
}"#;
    let mut e = engine(json, 1);
    let o = e.run_until(SimTime(60_000_000), 1_500);
    assert!(!o.reached);
    // Each burst (one tick every second) creates 1,000 messages and 1,000
    // routing copies: the first costs 2,000 > 1,500, so the call stops right
    // after it (other events before it, such as samples, cost 1 each).
    assert_eq!(e.totals().published, 1_000, "{o:?}");
    assert_eq!(o.work, 2_000 + (o.events - 1), "{o:?}");
    // A budget of 1 still makes progress, one event per call.
    let o = e.run_until(SimTime(60_000_000), 1);
    assert_eq!(o.events, 1);
    // Events that create no message cost 1, as before (the mm1 CLI test
    // relies on `--max-events 100` meaning 100 events there).
    let mut quiet = engine(
        r#"{ "title": "one message", "producers": [{ "id": "p", "to": "q", "rate": "1/s", "count": 1 }], "queues": [{ "id": "q" }] }"#,
        1,
    );
    let o = quiet.run_until(SimTime(10_000_000), u64::MAX);
    assert_eq!(o.work, o.events);
}
