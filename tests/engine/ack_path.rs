//! The broker → consumer link and the ack path, told as stories: a delivery
//! held back behind the ones after it breaks per-key order; a delayed ack
//! keeps its message unacked (against prefetch) and dies with a crash, so the
//! card is charged twice; an ack delivered twice closes the channel
//! (PRECONDITION_FAILED, unknown delivery tag) and requeues what was unacked
//! on it. Invariants are checked after every event.

use crate::common::{engine, run_checked, story};
use queuelab::engine::{Command, TraceKind};
use queuelab::scenario::{self, ConsumerFaults, CrashPoint, Duration};
use serde_json::{json, Value};

/// `n` orders with one key, `rate` apart-ish, into one queue read by one
/// manual-ack consumer (10 ms constant service); `c` merges over the consumer.
fn shop(n: u64, rate: &str, c: Value) -> String {
    let mut consumer = json!({"id": "charge", "queue": "orders", "ack": "after_processing",
        "service": {"constant": "10ms"}});
    consumer
        .as_object_mut()
        .unwrap()
        .extend(c.as_object().unwrap().clone());
    json!({
        "title": "ack path", "duration": "60s",
        "producers": [{"id": "shop", "to": "orders", "rate": rate, "arrival": "constant",
            "count": n, "keys": {"fixed": "alice"}}],
        "queues": [{"id": "orders"}],
        "consumers": [consumer]
    })
    .to_string()
}

fn count(st: &crate::common::Story, name: &str) -> usize {
    st.trace.iter().filter(|e| e.kind.name() == name).count()
}

#[test]
fn a_held_back_delivery_is_overtaken_and_the_ledger_counts_it_out_of_order() {
    // 40 orders of one customer, 5 ms apart, prefetch 10: a held-back
    // delivery (100 ms on the wire) is handled after the ones sent behind it.
    let faults = json!({"delivery_reorder": 0.2, "reorder_delay": "100ms"});
    let st = story(
        &shop(40, "200/s", json!({"prefetch": 10, "faults": faults})),
        30_000_000,
    );
    let held = count(&st, "delivery_held_back");
    let l = st.engine.ledger_report();
    assert!(held >= 3, "some deliveries held back: {held}");
    assert!(l.out_of_order >= 1, "{l:?}");
    // Reordering loses and doubles nothing.
    assert_eq!((l.exactly_once, l.lost, l.duplicated), (40, 0, 0), "{l:?}");
    // Each held-back delivery is processed 100 ms (plus queueing) after it left.
    let first = st
        .matching(|k| matches!(k, TraceKind::DeliveryHeldBack { .. }))
        .first()
        .map(|e| (e.t.0, e.msg.unwrap()))
        .unwrap();
    let done = st
        .of_msg(first.1)
        .into_iter()
        .find(|e| e.kind.name() == "processed")
        .unwrap()
        .t
        .0;
    assert!(done >= first.0 + 100_000 + 10_000, "{first:?} done {done}");

    // The same run without the knob keeps the order; so does prefetch 1,
    // where nothing can overtake the held-back delivery (it is only late).
    let calm = story(&shop(40, "200/s", json!({"prefetch": 10})), 30_000_000);
    assert_eq!(calm.engine.ledger_report().out_of_order, 0);
    let one = story(
        &shop(40, "200/s", json!({"prefetch": 1, "faults": faults})),
        30_000_000,
    );
    assert!(count(&one, "delivery_held_back") >= 3);
    let l1 = one.engine.ledger_report();
    assert_eq!((l1.out_of_order, l1.exactly_once), (0, 40), "{l1:?}");
}

#[test]
fn a_delayed_ack_holds_its_prefetch_slot_until_it_arrives() {
    // prefetch 1: the second order waits for the first one's ack to reach
    // the broker, not for the handler.
    let st = story(
        &shop(
            2,
            "1000/s",
            json!({"prefetch": 1, "faults": {"ack_delay": "500ms"}}),
        ),
        10_000_000,
    );
    let delayed: Vec<(u64, u64)> = st
        .matching(|k| matches!(k, TraceKind::AckDelayed { .. }))
        .iter()
        .map(|e| match e.kind {
            TraceKind::AckDelayed { delay_us, .. } => (e.t.0, delay_us),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(delayed.len(), 2, "both acks travel");
    let (sent, delay) = delayed[0];
    let processed = st
        .of_msg(1)
        .iter()
        .find(|e| e.kind.name() == "processed")
        .unwrap()
        .t
        .0;
    assert_eq!(
        sent, processed,
        "the first ack leaves when the handler is done"
    );
    let acked = st
        .of_msg(1)
        .iter()
        .find(|e| e.kind.name() == "acked")
        .unwrap()
        .t
        .0;
    assert_eq!(acked, sent + delay, "acked when it arrives");
    let second = st.deliveries("charge");
    assert_eq!(second.len(), 2);
    assert_eq!(
        second[1].0, acked,
        "the second delivery waited for the slot"
    );
    let l = st.engine.ledger_report();
    assert_eq!((l.exactly_once, l.duplicated), (2, 0));
}

#[test]
fn a_crash_before_a_delayed_ack_arrives_charges_the_card_twice() {
    // The ack takes on average 10 s; the consumer crashes 100 ms after the
    // effect: the ack dies with the connection and the broker redelivers.
    let s = shop(
        1,
        "10/s",
        json!({"faults": {"ack_delay": "10s", "restart_after": "200ms"}}),
    );
    let mut e = engine(&s, 1);
    run_checked(&mut e, 110_000);
    let before = e.take_trace();
    let d = before
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::AckDelayed { delay_us, .. } => Some(delay_us),
            _ => None,
        })
        .expect("the ack is on its way");
    assert!(d > 100_000, "this seed's ack is slower than the crash: {d}");
    assert!(!before.iter().any(|ev| ev.kind.name() == "acked"));
    e.submit(Command::CrashConsumer {
        consumer: "charge".into(),
        instance: None,
        restart_after: Some(Duration::from_ms(200)),
        point: CrashPoint::Now,
    })
    .unwrap();
    run_checked(&mut e, 30_000_000);
    let after = e.take_trace();
    let crashed = after
        .iter()
        .find_map(|ev| match ev.kind {
            TraceKind::Crashed { returned, .. } => Some(returned),
            _ => None,
        })
        .unwrap();
    assert_eq!(crashed, 1, "the message with its ack on the way goes back");
    let redelivered = after.iter().any(|ev| {
        matches!(
            ev.kind,
            TraceKind::Delivered {
                redelivered: true,
                ..
            }
        )
    });
    assert!(redelivered);
    let l = e.ledger_report();
    assert_eq!((l.duplicated, l.extra_effects, l.lost), (1, 1, 0), "{l:?}");
    // The stale ack never lands: exactly one ack, the redelivery's.
    assert_eq!(
        after.iter().filter(|ev| ev.kind.name() == "acked").count(),
        1
    );
}

#[test]
fn a_duplicated_ack_closes_the_channel_and_requeues_the_rest() {
    // Three orders 1 ms apart, prefetch 3: the instance holds all three when
    // its first ack arrives twice. The broker closes the channel and the two
    // others go back, redelivered.
    let st = story(
        &shop(
            3,
            "1000/s",
            json!({"prefetch": 3, "faults": {"ack_duplicate": 1.0}}),
        ),
        10_000_000,
    );
    let closes: Vec<(u64, u32)> = st
        .matching(|k| matches!(k, TraceKind::ChannelClosed { .. }))
        .iter()
        .map(|e| match e.kind {
            TraceKind::ChannelClosed { requeued, .. } => (e.t.0, requeued),
            _ => unreachable!(),
        })
        .collect();
    let first_done = st.processed("charge")[0].0;
    assert_eq!(closes[0], (first_done, 2), "{closes:?}");
    assert_eq!(closes.len(), 3, "every ack arrives twice: {closes:?}");
    let again: Vec<u64> = st
        .deliveries("charge")
        .iter()
        .filter(|d| d.3)
        .map(|d| d.1)
        .collect();
    assert!(again.contains(&2) && again.contains(&3), "{again:?}");
    let l = st.engine.ledger_report();
    // Requeued before their effects: nothing is done twice here.
    assert_eq!((l.exactly_once, l.duplicated, l.channel_closes), (3, 0, 3));
}

#[test]
fn a_duplicated_ack_requeues_messages_whose_acks_are_still_on_the_way() {
    // With slow acks, a channel closed by one doubled ack also takes back
    // messages already processed whose acks had not arrived: their effects
    // repeat — unless a dedup store remembers them.
    let faults = json!({"ack_delay": "300ms", "ack_duplicate": 0.3});
    let plain = story(
        &shop(30, "50/s", json!({"prefetch": 5, "faults": faults})),
        60_000_000,
    );
    let lp = plain.engine.ledger_report();
    assert!(lp.channel_closes >= 1, "{lp:?}");
    assert!(lp.duplicated >= 1, "{lp:?}");
    assert_eq!((lp.lost, lp.pending), (0, 0), "{lp:?}");
    let dedup = story(
        &shop(
            30,
            "50/s",
            json!({"prefetch": 5, "faults": faults, "dedup": {"window": "1m"}}),
        ),
        60_000_000,
    );
    let ld = dedup.engine.ledger_report();
    assert_eq!(
        ld.channel_closes, lp.channel_closes,
        "same draws, same closes"
    );
    assert_eq!((ld.exactly_once, ld.duplicated), (30, 0), "{ld:?}");
    assert!(ld.deduplicated >= 1);
    // The explanation names the cause.
    let why = plain.engine.guarantee_explanation().join(" ");
    assert!(why.contains("PRECONDITION_FAILED"), "{why}");
    assert!(why.contains("a crash before its ack arrives"), "{why}");
}

#[test]
fn the_ack_knobs_change_live_and_are_checked() {
    let mut e = engine(&shop(20, "20/s", json!({"prefetch": 3})), 1);
    run_checked(&mut e, 500_000);
    assert!(e
        .take_trace()
        .iter()
        .all(|ev| ev.kind.name() != "channel_closed"));
    let f = ConsumerFaults {
        ack_duplicate: 1.0,
        ..Default::default()
    };
    e.submit(Command::SetConsumerFaults {
        consumer: "charge".into(),
        faults: Some(f),
    })
    .unwrap();
    run_checked(&mut e, 1_000_000);
    let t = e.take_trace();
    assert!(t.iter().any(|ev| ev.kind.name() == "channel_closed"));
    // A probability out of range is refused, naming the field.
    for (field, bad) in [
        (
            "ack_duplicate",
            ConsumerFaults {
                ack_duplicate: 1.5,
                ..f
            },
        ),
        (
            "delivery_reorder",
            ConsumerFaults {
                delivery_reorder: -0.1,
                ..f
            },
        ),
        (
            "reorder_delay",
            ConsumerFaults {
                reorder_delay: Duration::ZERO,
                ..f
            },
        ),
    ] {
        let err = e
            .submit(Command::SetConsumerFaults {
                consumer: "charge".into(),
                faults: Some(bad),
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("faults.{field}")), "{err}");
    }
    // And in a scenario file, with the path.
    let bad = shop(1, "1/s", json!({"faults": {"ack_duplicate": 2.0}}));
    let err = scenario::load(&bad).unwrap_err().to_string();
    assert!(err.contains("consumers[0].faults.ack_duplicate"), "{err}");
}

#[test]
fn scenarios_without_the_new_knobs_serialize_as_before() {
    let s = scenario::load(&shop(1, "1/s", json!({"faults": {"ack_drop": 0.1}}))).unwrap();
    let text = serde_json::to_string(&s).unwrap();
    for k in [
        "delivery_reorder",
        "reorder_delay",
        "ack_delay",
        "ack_duplicate",
    ] {
        assert!(!text.contains(k), "{k} in {text}");
    }
}

#[test]
fn a_crash_at_a_protocol_point_also_kills_the_acks_still_on_the_way() {
    // Order 1's ack is on its way (10 s on average) when the instance
    // crashes after order 2's effect, before its ack: both go back, both
    // effects repeat.
    let s = shop(
        2,
        "10/s",
        json!({"prefetch": 2, "faults": {"ack_delay": "10s", "restart_after": "200ms"}}),
    );
    let mut e = engine(&s, 1);
    let t = e.next_event_time().unwrap().0;
    run_checked(&mut e, t + 50_000);
    let before = e.take_trace();
    assert!(before.iter().any(|ev| ev.kind.name() == "ack_delayed"));
    assert!(!before.iter().any(|ev| ev.kind.name() == "acked"));
    e.submit(Command::CrashConsumer {
        consumer: "charge".into(),
        instance: None,
        restart_after: Some(Duration::from_ms(200)),
        point: CrashPoint::AfterEffect,
    })
    .unwrap();
    run_checked(&mut e, 60_000_000);
    let trace = e.take_trace();
    let returned: Vec<u32> = trace
        .iter()
        .filter_map(|ev| match ev.kind {
            TraceKind::Crashed { returned, .. } => Some(returned),
            _ => None,
        })
        .collect();
    assert_eq!(
        returned,
        vec![2],
        "order 1 with its ack on the way, and order 2"
    );
    let l = e.ledger_report();
    assert_eq!((l.lost, l.pending), (0, 0), "{l:?}");
    assert_eq!((l.duplicated, l.extra_effects), (2, 2), "{l:?}");
}

#[test]
fn a_processed_message_holds_its_prefetch_slot_while_its_effects_route_back() {
    // c0 (prefetch 2) finishes a message; its handler publishes to q1, which
    // is full and dead-letters the copy back into q0, whose dispatch offers
    // it to c0 at once. The finished message is not acked yet (its ack is
    // still to be sent, then travels 50 ms), so c0 has no room: it used to
    // take the copy too and hold 3 deliveries (found by the seed swarm).
    let json = json!({"title": "settle", "seed": 1, "duration": "2s",
        "producers": [{"id": "p", "to": "q0", "rate": "100/s", "arrival": {"bursts": {"size": 2}}, "count": 2}],
        "exchanges": [{"id": "back", "kind": "fanout", "bindings": [{"queue": "q0"}]}],
        "queues": [{"id": "q0"},
                   {"id": "q1", "max_length": 1, "overflow": "reject-publish-dlx", "dead_letter_exchange": "back"}],
        "consumers": [{"id": "c0", "queue": "q0", "instances": 1, "prefetch": 2,
                       "service": {"constant": "10ms"}, "faults": {"ack_delay": "50ms"},
                       "on_success": [{"to": "q1", "copies": 1}]}]})
    .to_string();
    // `story` checks every invariant (prefetch included) after every event.
    let st = story(&json, 2_000_000);
    assert!(count(&st, "dead_lettered") > 10, "the copies loop back");
    assert!(count(&st, "processed") > 10);
}
