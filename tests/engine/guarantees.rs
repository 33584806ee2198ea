//! Delivery guarantees: the mechanics (confirms, resends, dedup stores, crash
//! points, lost acks, network faults) told as stories, the ledger's counts,
//! and properties over many seeds and fault mixes: at-most-once never does
//! an effect twice, at-least-once never loses one on a durable broker, and
//! exactly-once does neither — with the invariants checked after every event.

use crate::common::{engine, run_checked, story};
use proptest::prelude::*;
use queuelab::engine::{Command, SimTime, TraceKind};
use queuelab::scenario::{self, CrashPoint, Duration, Guarantee};
use serde_json::json;

/// One producer → queue → consumer pipeline, `n` messages 100 ms apart,
/// constant 10 ms service; `extra` merges over the top level, `p` over the
/// producer and `c` over the consumer.
fn pipeline(
    n: u64,
    p: serde_json::Value,
    c: serde_json::Value,
    extra: serde_json::Value,
) -> String {
    let mut producer =
        json!({"id": "shop", "to": "orders", "rate": "10/s", "arrival": "constant", "count": n});
    let mut consumer = json!({"id": "charge", "queue": "orders", "service": {"constant": "10ms"}});
    producer
        .as_object_mut()
        .unwrap()
        .extend(p.as_object().unwrap().clone());
    consumer
        .as_object_mut()
        .unwrap()
        .extend(c.as_object().unwrap().clone());
    let mut s = json!({
        "title": "pipeline", "duration": "60s",
        "producers": [producer], "queues": [{"id": "orders"}], "consumers": [consumer]
    });
    s.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    s.to_string()
}

fn kinds(st: &crate::common::Story, name: &str) -> usize {
    st.trace.iter().filter(|e| e.kind.name() == name).count()
}

#[test]
fn a_lost_confirm_resends_and_the_card_is_charged_twice() {
    // Every confirm is lost; one resend allowed, 1 s after the first send.
    let s = pipeline(
        1,
        json!({"confirms": {"timeout": "1s", "retries": 1}, "faults": {"confirm_drop": 1.0}}),
        json!({}),
        json!({}),
    );
    let st = story(&s, 10_000_000);
    let l = st.engine.ledger_report();
    assert_eq!(
        kinds(&st, "confirm_missing"),
        2,
        "the first send and the resend both go unconfirmed"
    );
    assert_eq!(kinds(&st, "resent"), 1);
    assert_eq!(
        kinds(&st, "gave_up"),
        1,
        "after retries the producer gives up"
    );
    assert_eq!(
        (l.expected, l.duplicated, l.extra_effects, l.lost),
        (1, 1, 1, 0)
    );
    assert_eq!(l.guarantee, "at_least_once");
    assert_eq!(l.resent, 1);
    // The example names both messages of business message 1.
    let ex = &l.examples[0];
    assert_eq!(
        (ex.business_id, ex.outcome, ex.effects),
        (1, "duplicated", 2)
    );
    assert_eq!(ex.messages.len(), 2);
}

#[test]
fn an_idempotent_consumer_skips_the_resent_copy() {
    let s = pipeline(
        1,
        json!({"confirms": {"timeout": "1s", "retries": 1}, "faults": {"confirm_drop": 1.0}}),
        json!({"dedup": {"window": "1m"}}),
        json!({}),
    );
    let st = story(&s, 10_000_000);
    let l = st.engine.ledger_report();
    assert_eq!(kinds(&st, "deduplicated"), 1);
    assert_eq!(
        (l.exactly_once, l.duplicated, l.lost, l.deduplicated),
        (1, 0, 0, 1)
    );
    assert_eq!(l.guarantee, "exactly_once");
}

#[test]
fn a_dedup_window_shorter_than_the_resend_forgets_and_duplicates() {
    // Resend after 2 s, window 1 s: the id is forgotten before the copy comes.
    let s = pipeline(
        1,
        json!({"confirms": {"timeout": "2s", "retries": 1}, "faults": {"confirm_drop": 1.0}}),
        json!({"dedup": {"window": "1s"}}),
        json!({}),
    );
    let st = story(&s, 10_000_000);
    let l = st.engine.ledger_report();
    assert_eq!((l.duplicated, l.deduplicated), (1, 0));
    let why = st.engine.guarantee_explanation().join(" ");
    assert!(why.contains("shorter than the longest redelivery"), "{why}");
}

#[test]
fn fire_and_forget_over_a_lossy_link_loses_and_says_why() {
    let s = pipeline(20, json!({"faults": {"drop": 0.5}}), json!({}), json!({}));
    let st = story(&s, 10_000_000);
    let l = st.engine.ledger_report();
    let dropped = st
        .trace
        .iter()
        .filter(
            |e| matches!(e.kind, TraceKind::Dropped { reason } if reason.name() == "network_lost"),
        )
        .count() as u64;
    assert!(
        dropped > 0 && dropped < 20,
        "about half of 20 dropped, got {dropped}"
    );
    assert_eq!(l.lost, dropped);
    assert_eq!(l.lost_by_reason.get("network_lost"), Some(&dropped));
    assert_eq!(l.exactly_once + l.lost, 20);
}

#[test]
fn a_crash_after_the_effect_before_the_ack_redelivers_and_duplicates() {
    let s = pipeline(3, json!({}), json!({"ack": "after_processing"}), json!({}));
    let mut e = engine(&s, 1);
    e.submit(Command::CrashConsumer {
        consumer: "charge".into(),
        instance: None,
        restart_after: Some(Duration::from_ms(500)),
        point: CrashPoint::AfterEffect,
    })
    .unwrap();
    run_checked(&mut e, 10_000_000);
    let trace = e.take_trace();
    let l = e.ledger_report();
    // Message 1: processed (effect), crash before its ack, back in the
    // queue, redelivered after the restart, processed again.
    let m1: Vec<&str> = trace
        .iter()
        .filter(|ev| ev.msg == Some(1))
        .map(|ev| ev.kind.name())
        .collect();
    assert_eq!(
        m1,
        [
            "published",
            "enqueued",
            "delivered",
            "processed",
            "requeued",
            "delivered",
            "processed",
            "acked"
        ]
    );
    assert_eq!(
        (l.duplicated, l.extra_effects, l.exactly_once, l.lost),
        (1, 1, 2, 0)
    );
    // The armed crash fired once.
    assert_eq!(
        trace
            .iter()
            .filter(|ev| ev.kind.name() == "crashed")
            .count(),
        1
    );
}

#[test]
fn with_auto_ack_a_crash_after_receive_loses_the_message() {
    let s = pipeline(3, json!({}), json!({"ack": "auto"}), json!({}));
    let mut e = engine(&s, 1);
    e.submit(Command::CrashConsumer {
        consumer: "charge".into(),
        instance: Some(0),
        restart_after: Some(Duration::from_ms(50)),
        point: CrashPoint::AfterReceive,
    })
    .unwrap();
    run_checked(&mut e, 10_000_000);
    let l = e.ledger_report();
    assert_eq!((l.lost, l.exactly_once, l.duplicated), (1, 2, 0));
    assert_eq!(l.lost_by_reason.get("lost_after_auto_ack"), Some(&1));
    assert_eq!(
        l.guarantee, "at_most_once",
        "auto-ack, fire-and-forget, no dedup store"
    );
}

#[test]
fn a_lost_ack_is_redelivered_and_the_effect_repeats() {
    let s = pipeline(
        1,
        json!({}),
        json!({"faults": {"ack_drop": 1.0}}),
        json!({}),
    );
    let mut e = engine(&s, 1);
    // Let the first ack be lost, then heal the ack path.
    while !e.take_trace().iter().any(|ev| ev.kind.name() == "ack_lost") {
        assert!(e.step(), "an ack is lost before the run ends");
    }
    e.submit(Command::SetConsumerFaults {
        consumer: "charge".into(),
        faults: None,
    })
    .unwrap();
    run_checked(&mut e, 5_000_000);
    let l = e.ledger_report();
    assert_eq!((l.duplicated, l.extra_effects), (1, 1));
}

#[test]
fn a_reject_publish_nack_makes_the_producer_send_again_later() {
    // max_length 0 + reject-publish refuses every publish; the producer hears
    // a negative confirm and resends each second, giving up after 2 resends.
    let s = pipeline(
        1,
        json!({"confirms": {"timeout": "1s", "retries": 2}}),
        json!({}),
        json!({}),
    )
    .replace(
        r#"{"id":"orders"}"#,
        r#"{"id":"orders","max_length":0,"overflow":"reject-publish"}"#,
    );
    let st = story(&s, 10_000_000);
    let nacks = st
        .trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::ConfirmMissing { nacked: true, .. }))
        .count();
    assert_eq!(nacks, 3, "the first send and two resends are all refused");
    let l = st.engine.ledger_report();
    assert_eq!((l.lost, l.resent), (1, 2));
    assert_eq!(l.lost_by_reason.get("queue_full"), Some(&1));
}

#[test]
fn confirms_turned_on_mid_run_cover_only_the_publishes_after_it() {
    // As `confirm.select` on a channel: what was sent fire-and-forget stays
    // so. Every publish is refused (max_length 0, reject-publish); the ten
    // sent before the command are simply lost, the ten after it are each
    // sent once more after their negative confirm, then given up.
    let s = pipeline(20, json!({}), json!({}), json!({})).replace(
        r#"{"id":"orders"}"#,
        r#"{"id":"orders","max_length":0,"overflow":"reject-publish"}"#,
    );
    let mut e = engine(&s, 1);
    run_checked(&mut e, 1_050_000);
    assert_eq!(e.ledger_report().expected, 10);
    e.submit(Command::SetConfirms {
        producer: "shop".into(),
        confirms: Some(scenario::Confirms {
            timeout: Duration::from_ms(100),
            retries: 1,
        }),
    })
    .unwrap();
    run_checked(&mut e, 10_000_000);
    let l = e.ledger_report();
    assert_eq!(
        (l.expected, l.lost, l.resent, l.pending),
        (20, 20, 10, 0),
        "{l:?}"
    );
}

#[test]
fn the_dial_turns_live_and_shows_custom_after_a_knob() {
    let s = pipeline(
        5,
        json!({}),
        json!({}),
        json!({"guarantee": "at_most_once"}),
    );
    let mut e = engine(&s, 1);
    assert_eq!(e.ledger_report().guarantee, "at_most_once");
    e.submit(Command::SetGuarantee {
        guarantee: Guarantee::ExactlyOnce,
    })
    .unwrap();
    assert_eq!(e.ledger_report().guarantee, "exactly_once");
    e.submit(Command::SetDedup {
        consumer: "charge".into(),
        dedup: None,
    })
    .unwrap();
    assert_eq!(e.ledger_report().guarantee, "at_least_once");
    e.submit(Command::SetAckMode {
        consumer: "charge".into(),
        ack: scenario::AckMode::Auto,
    })
    .unwrap();
    assert_eq!(e.ledger_report().guarantee, "custom");
    // Bad values are refused with the field's name, and change nothing.
    let bad = e.submit(Command::SetConsumerFaults {
        consumer: "charge".into(),
        faults: Some(scenario::ConsumerFaults {
            ack_drop: 2.0,
            ..Default::default()
        }),
    });
    assert!(bad.unwrap_err().to_string().contains("faults.ack_drop"));
}

#[test]
fn scenario_errors_name_the_field() {
    let s = pipeline(
        1,
        json!({"faults": {"drop": 1.5}}),
        json!({"dedup": {"window": "0s"}}),
        json!({}),
    );
    let err = scenario::load(&s).unwrap_err().to_string();
    assert!(err.contains("producers[0].faults.drop"), "{err}");
    assert!(err.contains("consumers[0].dedup.window"), "{err}");
    let s = pipeline(1, json!({}), json!({}), json!({"guarantee": "twice"}));
    let err = scenario::load(&s).unwrap_err().to_string();
    assert!(err.contains("guarantee"), "{err}");
}

#[test]
fn the_ledger_does_not_change_the_trace_and_can_be_switched_off() {
    let s = scenario::preset("mm1").unwrap().scenario();
    let mut a = queuelab::engine::Engine::new(s.clone(), 3).unwrap();
    let mut b = queuelab::engine::Engine::new(s, 3).unwrap();
    b.set_ledger(false).unwrap();
    a.run_until(SimTime(200_000_000), u64::MAX);
    b.run_until(SimTime(200_000_000), u64::MAX);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert!(
        a.ledger_report().exactly_once > 100,
        "{:?}",
        a.ledger_report()
    );
    assert_eq!(b.ledger_report().expected, 0);
    // Memory follows the live messages, not the run.
    assert!(a.ledger_live_entries() as u64 <= a.totals_now().in_flight);
    let s = scenario::preset("guarantee-matrix").unwrap().scenario();
    let mut c = queuelab::engine::Engine::new(s, 1).unwrap();
    assert!(c.set_ledger(false).is_err(), "confirms need business ids");
}

/// The ledger keeps a plain message's state in its slot's word (implicit)
/// until it needs an entry: the outcomes, counts and examples must be the
/// same as with an entry for every business message, on every preset and on
/// two fault mixes. (The properties below check the invariants — reference
/// counts, the outcome sum — after every event with implicit entries on.)
#[test]
fn implicit_ledger_entries_count_as_explicit_ones_do() {
    let runs: Vec<(String, scenario::Scenario)> = scenario::presets()
        .iter()
        .map(|p| (p.name.to_string(), p.scenario()))
        .chain([Guarantee::AtMostOnce, Guarantee::AtLeastOnce].map(|g| {
            let s = faults_scenario(g, [40, 60, 50, 80, 70, 90], true);
            (format!("faults {}", g.name()), scenario::load(&s).unwrap())
        }))
        .chain(std::iter::once({
            // A Redis stream trimmed by MAXLEN with no group: records leave
            // unread and without a discard reason (lost, never delivered).
            let s = json!({
                "title": "trimmed", "duration": "20s",
                "producers": [{"id": "p", "to": "events", "rate": "30/s", "count": 40}],
                "redis_streams": [{"id": "events", "maxlen": 5}]
            });
            (
                "trimmed stream".to_string(),
                scenario::load(&s.to_string()).unwrap(),
            )
        }))
        .collect();
    let (mut materialised_some, mut lost_plain) = (false, false);
    for (name, s) in runs {
        let until = 60_000_000.min(s.duration.us());
        let [a, b] = [false, true].map(|explicit| {
            let mut e = queuelab::engine::Engine::new(s.clone(), 7).unwrap();
            e.set_ledger_explicit_only(explicit).unwrap();
            e.run_until(SimTime(until), 200_000);
            e
        });
        assert_eq!(a.trace_hash(), b.trace_hash(), "{name}");
        assert_eq!(a.ledger_report(), b.ledger_report(), "{name}");
        assert!(
            a.ledger_live_entries() as u64 <= b.ledger_live_entries() as u64,
            "{name}"
        );
        let l = a.ledger_report();
        materialised_some |= l.duplicated > 0;
        lost_plain |= l
            .lost_by_reason
            .get("never_delivered")
            .is_some_and(|&n| n > 30);
    }
    assert!(materialised_some, "some run must duplicate");
    assert!(lost_plain, "the trimmed stream loses plain messages");
}

#[test]
fn publishes_overtaking_on_the_wire_are_out_of_order_and_explained() {
    // 50 publishes of one key 10 ms apart, each up to 200 ms late on the
    // wire: later ones arrive first, so the queue's order is not the send
    // order and one consumer handles some of them out of order.
    let s = pipeline(
        50,
        json!({"rate": "100/s", "keys": {"fixed": "k"}, "faults": {"jitter": "200ms"}}),
        json!({}),
        json!({}),
    );
    let st = story(&s, 10_000_000);
    let l = st.engine.ledger_report();
    assert_eq!((l.exactly_once, l.lost, l.duplicated), (50, 0, 0), "{l:?}");
    assert!(l.out_of_order > 0, "{l:?}");
    let why = st.engine.guarantee_explanation();
    assert!(
        why.iter().any(|x| x
            == "shop: each publish spends up to 200ms extra on the wire: a later publish can overtake an earlier one, so the queue's order is not the send order."),
        "{why:#?}"
    );
    // Without jitter, the same run keeps the send order and says nothing of it.
    let calm = story(
        &pipeline(
            50,
            json!({"rate": "100/s", "keys": {"fixed": "k"}}),
            json!({}),
            json!({}),
        ),
        10_000_000,
    );
    assert_eq!(calm.engine.ledger_report().out_of_order, 0);
    assert!(!calm
        .engine
        .guarantee_explanation()
        .iter()
        .any(|x| x.contains("overtake")));
}

/// Drain: stop producing, heal the network, run until nothing is pending.
fn drain(e: &mut queuelab::engine::Engine) {
    let until = e.now().0 + 600_000_000;
    run_checked(e, until);
}

/// A fault mix from numbers in 0..=100 (percent-ish), for the properties.
fn faults_scenario(g: Guarantee, seed_faults: [u32; 6], dup_link: bool) -> String {
    let pct = |x: u32, max: f64| (x % 101) as f64 / 100.0 * max;
    pipeline(
        60,
        json!({
            "rate": "40/s", "arrival": "poisson", "keys": {"random_of_n": 5},
            "faults": {
                "drop": pct(seed_faults[0], 0.3),
                "confirm_drop": pct(seed_faults[1], 0.3),
                "duplicate": if dup_link { pct(seed_faults[2], 0.2) } else { 0.0 },
                "jitter": "20ms"
            },
            "confirms": if g == Guarantee::AtMostOnce { serde_json::Value::Null } else { json!({"timeout": "300ms", "retries": 40}) }
        }),
        json!({
            "instances": 2, "prefetch": 3, "service": {"exponential": "15ms"},
            "faults": {
                "crash_after_receive": pct(seed_faults[3], 0.05),
                "crash_after_effect": pct(seed_faults[4], 0.05),
                "ack_drop": pct(seed_faults[5], 0.1),
                "delivery_drop": pct(seed_faults[5], 0.1),
                "delivery_duplicate": if dup_link { pct(seed_faults[2], 0.1) } else { 0.0 },
                "delivery_reorder": pct(seed_faults[4], 0.2),
                "reorder_delay": "30ms",
                "ack_delay": if dup_link { "20ms" } else { "0s" },
                "ack_duplicate": if dup_link { pct(seed_faults[1], 0.1) } else { 0.0 },
                "restart_after": "200ms"
            }
        }),
        json!({"guarantee": g.name()}),
    )
    .replace(r#","confirms":null"#, "")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn at_most_once_never_duplicates(seed in 0u64..1000, f in proptest::array::uniform6(0u32..=100)) {
        let mut e = engine(&faults_scenario(Guarantee::AtMostOnce, f, false), seed);
        drain(&mut e);
        let l = e.ledger_report();
        prop_assert_eq!(l.guarantee, "at_most_once");
        prop_assert_eq!(l.duplicated, 0, "{:?}", l);
        prop_assert_eq!(l.pending, 0);
    }

    #[test]
    fn at_least_once_never_loses(seed in 0u64..1000, f in proptest::array::uniform6(0u32..=100)) {
        let mut e = engine(&faults_scenario(Guarantee::AtLeastOnce, f, true), seed);
        drain(&mut e);
        let l = e.ledger_report();
        prop_assert_eq!(l.lost, 0, "{:?}", l);
        prop_assert_eq!(l.pending, 0);
        prop_assert_eq!(l.expected, 60);
    }

    #[test]
    fn exactly_once_neither_loses_nor_duplicates(seed in 0u64..1000, f in proptest::array::uniform6(0u32..=100)) {
        let mut e = engine(&faults_scenario(Guarantee::ExactlyOnce, f, true), seed);
        drain(&mut e);
        let l = e.ledger_report();
        prop_assert_eq!((l.lost, l.duplicated, l.exactly_once), (0, 0, 60), "{:?}", l);
    }
}

#[test]
fn a_producer_crash_between_send_and_confirm_forgets_the_resend() {
    // Every publish is dropped on the link; the producer would resend after
    // 1 s, but it crashes at 0.5 s and forgets: the order is lost.
    let s = pipeline(
        1,
        json!({"confirms": {"timeout": "1s", "retries": 5}, "faults": {"drop": 1.0}, "start": "100ms"}),
        json!({}),
        json!({}),
    );
    let mut e = engine(&s, 1);
    run_checked(&mut e, 500_000);
    e.submit(Command::CrashProducer {
        producer: "shop".into(),
        restart_after: Some(Duration::from_s(2)),
    })
    .unwrap();
    run_checked(&mut e, 10_000_000);
    let trace = e.take_trace();
    assert_eq!(
        trace.iter().filter(|ev| ev.kind.name() == "resent").count(),
        0
    );
    assert_eq!(
        trace
            .iter()
            .filter(|ev| ev.kind.name() == "gave_up")
            .count(),
        1
    );
    let l = e.ledger_report();
    assert_eq!((l.lost, l.exactly_once), (1, 0));
    assert_eq!(l.lost_by_reason.get("network_lost"), Some(&1));
    // Without the crash the resend would have gone through... and failed
    // again (drop 1.0) until the retries ran out: the same loss, later.
    let mut f = engine(&s, 1);
    run_checked(&mut f, 10_000_000);
    assert_eq!(
        f.take_trace()
            .iter()
            .filter(|ev| ev.kind.name() == "resent")
            .count(),
        5
    );
}

#[test]
fn a_crashed_producer_publishes_nothing_until_it_restarts() {
    let s = pipeline(100, json!({}), json!({}), json!({}));
    let mut e = engine(&s, 1);
    run_checked(&mut e, 1_050_000);
    e.submit(Command::CrashProducer {
        producer: "shop".into(),
        restart_after: Some(Duration::from_s(2)),
    })
    .unwrap();
    run_checked(&mut e, 20_000_000);
    let trace = e.take_trace();
    let published: Vec<u64> = trace
        .iter()
        .filter(|ev| ev.kind.name() == "published")
        .map(|ev| ev.t.0)
        .collect();
    assert!(
        published.iter().all(|&t| t <= 1_050_000 || t >= 3_050_000),
        "{published:?}"
    );
    assert_eq!(
        published.len(),
        100,
        "the count is still reached after the restart"
    );
}

#[test]
fn the_broker_to_consumer_link_loses_and_doubles_deliveries() {
    // Auto-ack: a delivery lost on the way was already forgotten by the broker.
    let s = pipeline(
        40,
        json!({}),
        json!({"ack": "auto", "faults": {"delivery_drop": 0.25}}),
        json!({}),
    );
    let st = story(&s, 30_000_000);
    let l = st.engine.ledger_report();
    let lost = l.lost_by_reason.get("network_lost").copied().unwrap_or(0);
    assert!(lost >= 3 && lost == l.lost, "{l:?}");
    assert_eq!(l.exactly_once + l.lost, 40);
    // Manual ack: the same losses are redelivered; nothing is lost.
    let s = pipeline(
        40,
        json!({}),
        json!({"faults": {"delivery_drop": 0.25}}),
        json!({}),
    );
    let st = story(&s, 30_000_000);
    let l = st.engine.ledger_report();
    assert_eq!((l.lost, l.exactly_once), (0, 40), "{l:?}");
    assert!(st.engine.totals().redelivered >= 3);
    // A delivery that arrives twice runs the handler twice, unless the
    // consumer deduplicates.
    let s = pipeline(
        40,
        json!({}),
        json!({"faults": {"delivery_duplicate": 0.25}}),
        json!({}),
    );
    let st = story(&s, 30_000_000);
    let twice = kinds(&st, "delivered_twice") as u64;
    assert!(twice >= 3, "{twice}");
    assert_eq!(st.engine.ledger_report().duplicated, twice);
    let s = pipeline(
        40,
        json!({}),
        json!({"faults": {"delivery_duplicate": 0.25}, "dedup": {"window": "1m"}}),
        json!({}),
    );
    let st = story(&s, 30_000_000);
    let l = st.engine.ledger_report();
    assert_eq!(
        (l.duplicated, l.deduplicated),
        (0, twice),
        "same draws, all skipped"
    );
    // A delay drawn per delivery moves processing later, nothing else.
    let slow = pipeline(
        1,
        json!({}),
        json!({"faults": {"delivery_delay": "500ms"}}),
        json!({}),
    );
    let st = story(&slow, 30_000_000);
    let done = st
        .trace
        .iter()
        .find(|e| e.kind.name() == "processed")
        .unwrap()
        .t
        .0;
    assert!(
        done > 10_000 + 100_000,
        "processed at {done}: later than the 10 ms service alone"
    );
}

/// A pipeline without faults is exactly once at every stage: a resize stage
/// passes each image on (one publish: the same business message, one effect
/// at each queue it reaches), and a thumbnail stage fans it out into three
/// sizes (`copies: 3`: three new business messages, one effect each), so no
/// stage's effect counts as a duplicate of another's. (The three thumbnails
/// were counted as three effects of the image at one queue: duplicated.)
#[test]
fn a_fault_free_pipeline_with_a_fan_out_stage_is_exactly_once() {
    let json = json!({
        "title": "pipeline ledger", "duration": "10s",
        "producers": [{"id": "up", "to": "raw", "rate": "1/s", "arrival": "constant", "count": 2}],
        "queues": [{"id": "raw"}, {"id": "resized"}, {"id": "thumbs"}],
        "consumers": [
            {"id": "resizer", "queue": "raw", "service": {"constant": "10ms"},
             "on_success": [{"to": "resized"}]},
            {"id": "thumbnailer", "queue": "resized", "service": {"constant": "10ms"},
             "on_success": [{"to": "thumbs", "copies": 3}]},
            {"id": "cdn", "queue": "thumbs", "service": {"constant": "1ms"}}
        ]
    })
    .to_string();
    let s = story(&json, 10_000_000);
    let l = s.engine.ledger_report();
    assert_eq!(
        (
            l.expected,
            l.exactly_once,
            l.duplicated,
            l.extra_effects,
            l.lost,
            l.pending
        ),
        (8, 8, 0, 0, 0, 0),
        "two images and six thumbnails, each done once: {l:?}"
    );
}

#[test]
fn sixteen_alike_consumers_share_one_line_of_the_explanation() {
    let s = queuelab::scenario::preset("fanout-large")
        .unwrap()
        .scenario();
    let why = s.explain_guarantee();
    let acks: Vec<&String> = why
        .iter()
        .filter(|x| x.contains("ack after the effect"))
        .collect();
    assert_eq!(acks.len(), 1, "{why:#?}");
    assert!(
        acks[0].starts_with("c-01, c-02, c-03 and 13 more: ack after the effect"),
        "{acks:?}"
    );
    assert_eq!(
        why.len(),
        2,
        "the producer's line and the consumers': {why:#?}"
    );
}

#[test]
fn why_names_transient_messages_and_queues_that_a_broker_crash_empties() {
    let mut s = queuelab::scenario::preset("durable-vs-transient")
        .unwrap()
        .scenario();
    let why = s.explain_guarantee();
    for line in [
        "clicks: transient messages (delivery mode 1): a broker crash drops them, even from a durable queue.",
        "clicks-q: transient queue: a broker crash empties it, and everything waiting in it is lost.",
    ] {
        assert!(why.iter().any(|x| x == line), "{line}\n{why:#?}");
    }
    // The variant that makes clicks persistent and its queue durable: neither.
    s.producers[1].persistent = true;
    s.queues[1].durable = true;
    let why = s.explain_guarantee();
    assert!(!why.iter().any(|x| x.contains("transient")), "{why:#?}");
    // A quorum queue (delivery_limit) keeps transient messages through a
    // crash, as the engine does: no sentence for them there.
    s.producers[1].persistent = false;
    s.queues[1].delivery_limit = Some(20);
    let why = s.explain_guarantee();
    assert!(!why.iter().any(|x| x.contains("transient")), "{why:#?}");
}

/// The queue's and the consumer's own rules are named with where a message
/// ends, and the ledger agrees: without a dead-letter exchange it is lost.
#[test]
fn why_names_where_expired_pushed_out_and_failed_messages_end() {
    let lost = |s: &str| {
        let st = story(s, 20_000_000);
        (
            st.engine.ledger_report().lost_by_reason,
            st.engine.guarantee_explanation(),
        )
    };
    // Every message fails; rejected without requeue, no dead-letter exchange.
    let (by, why) = lost(&pipeline(
        10,
        json!({}),
        json!({"failure_rate": 1.0}),
        json!({}),
    ));
    assert_eq!(by.values().sum::<u64>(), 10, "{by:?}");
    assert!(
        why.iter().any(|x| x
            == "charge: a failed message is rejected without requeue and is dropped (lost: its queue has no dead-letter exchange)."),
        "{why:#?}"
    );
    // A 50 ms TTL before a 300 ms consumer: most expire, and are lost.
    let (by, why) = lost(&pipeline(
        10,
        json!({"rate": "20/s"}),
        json!({"service": {"constant": "300ms"}}),
        json!({"queues": [{"id": "orders", "ttl": "50ms"}]}),
    ));
    assert!(by.get("expired").is_some_and(|&n| n >= 5), "{by:?}");
    assert!(
        why.iter().any(|x| x
            == "orders: a message waiting longer than 50ms expires and is lost (no dead-letter exchange)."),
        "{why:#?}"
    );
    // Two ready at most, drop-head: a burst pushes the oldest out.
    let (by, why) = lost(&pipeline(
        10,
        json!({"rate": "100/s"}),
        json!({"service": {"constant": "300ms"}}),
        json!({"queues": [{"id": "orders", "max_length": 2}]}),
    ));
    assert!(by.values().sum::<u64>() >= 5, "{by:?}");
    assert!(
        why.iter().any(|x| x
            == "orders: holds at most 2 ready messages; when full, a publish pushes out the oldest, which is lost (no dead-letter exchange)."),
        "{why:#?}"
    );
    // Reject-publish with confirms: the nack makes the producer send again,
    // as the sentence says, and nothing is lost once the queue drains.
    let st = story(
        &pipeline(
            10,
            json!({"rate": "100/s", "confirms": {"timeout": "1s", "retries": 20}}),
            json!({"service": {"constant": "100ms"}}),
            json!({"queues": [{"id": "orders", "max_length": 2, "overflow": "reject-publish"}]}),
        ),
        60_000_000,
    );
    let l = st.engine.ledger_report();
    assert!(l.resent > 0 && l.lost == 0 && l.exactly_once == 10, "{l:?}");
    assert!(
        st.engine.guarantee_explanation().iter().any(|x| x
            == "orders: holds at most 2 ready messages; when full, it refuses a publish: a producer with confirms hears a nack and sends it again, a fire-and-forget one loses it."),
    );
    // With a dead-letter exchange the sentence names it instead.
    let s = pipeline(
        10,
        json!({}),
        json!({"failure_rate": 1.0, "on_failure": "retry",
               "retry": {"max_attempts": 3, "backoff": {"fixed": "100ms"}}}),
        json!({"queues": [{"id": "orders", "dead_letter_exchange": "dlx"}, {"id": "parked"}],
               "exchanges": [{"id": "dlx", "kind": "fanout", "bindings": [{"queue": "parked"}]}]}),
    );
    let (by, why) = lost(&s);
    assert!(by.is_empty(), "dead-lettered, not lost: {by:?}");
    assert!(
        why.iter().any(|x| x
            == "charge: a failed message is tried again 100ms apart, 3 attempts in all; then it is dead-lettered to dlx."),
        "{why:#?}"
    );
}
