//! Run-twice determinism on every preset: same scenario and seed give the
//! same trace hash, event count and report; a clone taken mid-run continues
//! exactly like the original; capturing the trace does not change the hash;
//! another seed gives another trace.

use crate::common::run_checked;
use queuelab::engine::{Engine, SimTime, TraceEvent};
use queuelab::scenario::{self, presets};

/// Simulated time per preset run: long enough for every feature the preset
/// shows (crashes at 10 s, retries, TTLs), short enough for a debug build.
fn horizon(name: &str) -> SimTime {
    let s = scenario::preset(name).unwrap().scenario();
    let cap = if name == "fanout-large" { 5 } else { 30 };
    SimTime(s.duration.us().min(cap * 1_000_000))
}

fn run(name: &str, seed: u64, capture: bool) -> Engine {
    let mut e = Engine::new(scenario::preset(name).unwrap().scenario(), seed).unwrap();
    e.set_trace_capture(capture, 1 << 16);
    let until = horizon(name);
    while !e.run_until(until, 10_000).reached {
        if capture {
            e.take_trace();
        }
    }
    e
}

fn report_json(e: &Engine, name: &str) -> String {
    serde_json::to_string(&e.report(name)).unwrap()
}

#[test]
fn there_are_presets_and_each_is_valid_with_a_title_and_description() {
    assert!(presets().len() >= 10);
    for p in presets() {
        let s = scenario::load(p.json).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert!(!s.title.trim().is_empty(), "{}", p.name);
        assert!(s.description.len() > 40, "{}: needs a paragraph", p.name);
    }
}

#[test]
fn every_preset_runs_twice_to_the_same_trace() {
    for p in presets() {
        let a = run(p.name, 7, false);
        let b = run(p.name, 7, true);
        assert!(a.events() > 100, "{} did almost nothing", p.name);
        assert!(a.totals().published > 0, "{} published nothing", p.name);
        assert_eq!(
            (a.trace_hash(), a.events(), a.trace_len()),
            (b.trace_hash(), b.events(), b.trace_len()),
            "{}: two runs with seed 7 differ (trace capture on in the second)",
            p.name
        );
        assert_eq!(
            report_json(&a, p.name),
            report_json(&b, p.name),
            "{}",
            p.name
        );
    }
}

/// Presets with no randomness at all (constant arrivals and service, no
/// failure draws): the seed cannot change them, and that is asserted too.
const SEED_FREE: [&str; 3] = ["ttl-overflow", "kafka-commit-policies", "sqs-long-polling"];

#[test]
fn every_preset_gives_another_trace_for_another_seed() {
    for p in presets() {
        let a = run(p.name, 7, false);
        let c = run(p.name, 8, false);
        if SEED_FREE.contains(&p.name) {
            assert_eq!(
                a.trace_hash(),
                c.trace_hash(),
                "{} has no random draws",
                p.name
            );
        } else {
            assert_ne!(
                a.trace_hash(),
                c.trace_hash(),
                "{}: seed 8 = seed 7",
                p.name
            );
        }
    }
}

#[test]
fn a_clone_continues_exactly_like_the_original() {
    for p in presets() {
        let until = horizon(p.name);
        let fresh = run(p.name, 3, false);
        let mut original = Engine::new(p.scenario(), 3).unwrap();
        original.run_until(SimTime(until.0 / 2), u64::MAX);
        // Step a few events past the half so the clone lands mid-instant sometimes.
        for _ in 0..3 {
            original.step();
        }
        let mut copy = original.clone();
        original.run_until(until, u64::MAX);
        copy.run_until(until, u64::MAX);
        assert_eq!(copy.trace_hash(), original.trace_hash(), "{}", p.name);
        assert_eq!(copy.trace_hash(), fresh.trace_hash(), "{}", p.name);
        assert_eq!(copy.events(), fresh.events(), "{}", p.name);
    }
}

#[test]
fn run_until_in_small_slices_equals_one_long_run() {
    // What a UI does per animation frame: many short run_until calls, with
    // event budgets that stop mid-instant.
    for name in [
        "work-queue",
        "crash-recovery",
        "retry-backoff",
        "ttl-overflow",
    ] {
        let whole = run(name, 11, false);
        let mut e = Engine::new(scenario::preset(name).unwrap().scenario(), 11).unwrap();
        let until = horizon(name);
        let mut t = 0;
        while t < until.0 {
            t = (t + 16_667).min(until.0);
            while !e.run_until(SimTime(t), 7).reached {}
        }
        assert_eq!(e.trace_hash(), whole.trace_hash(), "{name}");
    }
}

#[test]
fn invariants_hold_after_every_event_on_every_preset() {
    for p in presets() {
        let mut e = Engine::new(p.scenario(), 5).unwrap();
        let until = if p.name == "fanout-large" {
            500_000
        } else {
            15_000_000
        };
        run_checked(&mut e, until);
        let l = e.ledger();
        assert_eq!(
            l.created,
            l.live() + l.completed + l.discarded,
            "{}",
            p.name
        );
    }
}

#[test]
fn presets_show_what_their_descriptions_promise() {
    let t = |name: &str| run(name, 1, false).totals_now();
    let crash = t("crash-recovery");
    assert!(crash.redelivered > 0, "crash-recovery: {crash:?}");
    assert!(crash.crashes >= 4, "crash-recovery: {crash:?}");
    let e = run("crash-recovery", 1, false);
    let lost = e
        .dropped_by_reason()
        .into_iter()
        .find(|(r, _)| *r == "lost_after_auto_ack")
        .unwrap()
        .1;
    assert!(lost > 0, "the auto-ack group loses messages");
    let retry = t("retry-backoff");
    assert!(
        retry.retried > 0 && retry.dead_lettered > 0,
        "retry-backoff: {retry:?}"
    );
    let rq = t("retry-queue");
    assert!(
        rq.retried > 0 && rq.expired > 0 && rq.dead_lettered > 0,
        "retry-queue: {rq:?}"
    );
    let ttl = t("ttl-overflow");
    assert!(
        ttl.expired > 0 || ttl.dead_lettered > 0 || ttl.dropped > 0,
        "ttl-overflow: {ttl:?}"
    );
    let topic = t("topic-routing");
    assert!(topic.routed > 0, "topic-routing: {topic:?}");
    let fan = t("pubsub-fanout");
    assert!(fan.copies > 0, "pubsub-fanout: {fan:?}");
}

#[test]
fn the_time_series_is_sampled_at_the_fixed_interval() {
    let mut e = Engine::new(scenario::preset("work-queue").unwrap().scenario(), 2).unwrap();
    let every = e.config().sample_interval.us();
    e.run_until(SimTime(20_000_000), u64::MAX);
    let pts = e.series();
    assert_eq!(pts.len() as u64, 20_000_000 / every);
    for (k, p) in pts.iter().enumerate() {
        assert_eq!(p.t_us, (k as u64 + 1) * every);
    }
    assert!(pts.windows(2).all(|w| w[0].published <= w[1].published));
    let last = pts.last().unwrap();
    assert_eq!(last.published, e.totals().published);
}

/// A trace sink sees every event, in order, even when one engine event
/// records many times more events than the capture buffer holds; the trace
/// hash does not depend on it.
#[test]
fn a_trace_sink_drains_a_full_buffer_mid_event() {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    let json = r#"{ "title": "burst",
  "producers": [{ "id": "p", "to": "x", "rate": "500/s", "arrival": { "bursts": { "size": 500 } }, "count": 1000 }],
  "exchanges": [{ "id": "x", "kind": "fanout", "bindings": [{ "queue": "a" }, { "queue": "b" }, { "queue": "c" }] }],
  "queues": [{ "id": "a" }, { "id": "b" }, { "id": "c" }] }"#;
    let s = scenario::load(json).unwrap();
    let mut plain = Engine::new(s.clone(), 7).unwrap();
    plain.run_until(SimTime(5_000_000), u64::MAX);
    let mut e = Engine::new(s, 7).unwrap();
    let seen: Rc<RefCell<Vec<u64>>> = Rc::default();
    let sink = seen.clone();
    e.set_trace_capture(true, 100);
    e.set_trace_sink(Some(Rc::new(RefCell::new(
        move |buf: &mut VecDeque<TraceEvent>| {
            sink.borrow_mut().extend(buf.drain(..).map(|ev| ev.seq))
        },
    ))));
    e.run_until(SimTime(5_000_000), u64::MAX);
    seen.borrow_mut()
        .extend(e.take_trace().iter().map(|ev| ev.seq));
    assert_eq!(e.trace_overwritten(), 0);
    let all = seen.borrow();
    assert_eq!(all.len() as u64, e.trace_len());
    assert!(
        all.iter().enumerate().all(|(i, &s)| s == i as u64),
        "in order, once each"
    );
    assert_eq!(e.trace_hash(), plain.trace_hash());
    // Without a sink the same buffer loses events (what the CLI used to hit).
    let mut lossy = Engine::new(scenario::load(json).unwrap(), 7).unwrap();
    lossy.set_trace_capture(true, 100);
    lossy.run_until(SimTime(5_000_000), u64::MAX);
    assert!(lossy.trace_overwritten() > 0);
}
