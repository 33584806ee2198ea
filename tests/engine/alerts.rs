//! Alert rules (`engine::alerts`): when an error-rate, depth or lag rule goes
//! pending, fires and resolves, checked against an oracle recomputed from the
//! trace; that alerts only watch; and the validation of bad rules.

use crate::common::*;
use queuelab::engine::{Engine, SimTime, TraceKind};
use queuelab::scenario::{self, preset};
use serde_json::{json, Value};

const S: u64 = 1_000_000;

/// (t_us, alert index, fired?, value_milli) of every alert event.
fn alert_events(s: &Story) -> Vec<(u64, u32, bool, u64)> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::AlertFired { alert, value_milli } => Some((e.t.0, alert, true, value_milli)),
            TraceKind::AlertResolved { alert, value_milli } => {
                Some((e.t.0, alert, false, value_milli))
            }
            _ => None,
        })
        .collect()
}

/// The story of a preset, run to `until_us` with invariants checked.
fn preset_story(name: &str, until_us: u64) -> Story {
    story(preset(name).expect("preset").json, until_us)
}

#[test]
fn the_error_rate_alert_fires_and_resolves_as_an_oracle_over_the_trace_says() {
    let s = preset_story("error-rate-alert", 45 * S);
    let c = s.node("payment-svc");
    // Handler runs of payment-svc from the trace: (t, failed?).
    let runs: Vec<(u64, bool)> = s
        .trace
        .iter()
        .filter(|e| e.node == c)
        .filter_map(|e| match e.kind {
            TraceKind::Processed { .. } => Some((e.t.0, false)),
            TraceKind::Failed { .. } => Some((e.t.0, true)),
            _ => None,
        })
        .collect();
    assert!(
        runs.iter().filter(|r| r.1).count() > 100,
        "the outage fails many runs"
    );
    // The rule: error rate over (t - 10 s, t] > 5%, held 2 s, evaluated every 1 s.
    let (window, hold, above) = (10 * S, 2 * S, 0.05);
    let mut expected = Vec::new();
    let mut pending_since: Option<u64> = None;
    let mut firing = false;
    for k in 1..=45u64 {
        let t = k * S;
        let inside = runs
            .iter()
            .filter(|r| r.0 > t.saturating_sub(window) && r.0 <= t);
        let (n, f) = inside.fold((0u64, 0u64), |(n, f), r| (n + 1, f + r.1 as u64));
        let holds = n > 0 && f as f64 / n as f64 > above;
        let milli = if n > 0 {
            (f as f64 / n as f64 * 1000.0).round() as u64
        } else {
            0
        };
        match (holds, firing, pending_since) {
            (true, false, None) => pending_since = Some(t),
            (true, false, Some(p)) if t - p >= hold => {
                firing = true;
                expected.push((t, 0, true, milli));
            }
            (false, true, _) => {
                firing = false;
                pending_since = None;
                expected.push((t, 0, false, milli));
            }
            (false, false, _) => pending_since = None,
            _ => {}
        }
    }
    let got: Vec<_> = alert_events(&s).into_iter().filter(|e| e.1 == 0).collect();
    assert_eq!(got, expected, "payment-errors against the oracle");
    // What the description promises: it fires 3-4 s into the outage (10 s)
    // and resolves 9-10 s after the recovery (25 s), once each.
    assert_eq!(got.len(), 2);
    assert!(
        (13 * S..=14 * S).contains(&got[0].0),
        "fired at {}",
        got[0].0
    );
    assert!(
        (34 * S..=35 * S).contains(&got[1].0),
        "resolved at {}",
        got[1].0
    );
    let views = s.engine.alerts();
    assert_eq!(views[0].state, "inactive");
    assert_eq!(views[0].fired, 1);
    assert_eq!(views[0].firing_ms, (got[1].0 - got[0].0) as f64 / 1000.0);
}

#[test]
fn a_dead_letter_queue_alert_fires_at_the_first_evaluation_after_the_first_dead_letter() {
    let s = preset_story("error-rate-alert", 45 * S);
    let first_dl = s.enqueued("payments-dlq")[0].0;
    let fired: Vec<_> = alert_events(&s).into_iter().filter(|e| e.1 == 1).collect();
    // Evaluations are at whole seconds; the first one after the dead letter sees depth 1.
    assert_eq!(fired, vec![((first_dl / S + 1) * S, 1, true, 1000)]);
    let v = &s.engine.alerts()[1];
    assert_eq!((v.state, v.fired), ("firing", 1), "nobody drains the DLQ");
    assert_eq!(v.value, Some(s.engine.alerts()[1].value.unwrap()));
    assert_eq!(
        v.value_text,
        format!("{} ready", s.enqueued("payments-dlq").len())
    );
}

/// A queue with no consumer, 10 messages a second from 50 ms, a depth rule
/// (> 5 for 1 s, every 100 ms) and purges at the given times.
fn depth_world(purges: &[&str]) -> String {
    let schedule: Vec<Value> = purges
        .iter()
        .map(|t| json!({ "at": t, "command": { "do": "purge_queue", "queue": "q" } }))
        .collect();
    json!({
        "title": "depth alert",
        "producers": [{ "id": "p", "to": "q", "rate": "10/s", "arrival": "constant", "start": "50ms" }],
        "queues": [{ "id": "q" }],
        "alerts": [{ "id": "backlog", "metric": "depth", "node": "q", "above": 5,
                     "for": "1s", "every": "100ms" }],
        "schedule": schedule,
    })
    .to_string()
}

#[test]
fn a_condition_that_holds_less_than_for_stays_pending_and_never_fires() {
    // The first publish is one gap after `start`: arrivals at 0.15 s, 0.25 s,
    // …, so the sixth (depth 6 > 5) is at 0.65 s and the rule is pending from
    // the 0.7 s evaluation. A purge at 1.28 s ends it after 0.5 s < 1 s: no
    // alert. The sixth arrival after the purge is at 1.85 s: pending from
    // 1.9 s, fires at 2.9 s; the purge at 3.48 s resolves it at the 3.5 s
    // evaluation. (Purges fall between arrivals and evaluations.)
    let s = story(&depth_world(&["1.28s", "3.48s"]), 5 * S);
    assert_eq!(
        alert_events(&s),
        vec![(2_900_000, 0, true, 16_000), (3_500_000, 0, false, 0)],
        "depth 16 when it fired (1.35 s … 2.85 s), 0 after the purge"
    );
    // Pending shows in the view between the two.
    let mut e = engine(&depth_world(&["1.28s", "3.48s"]), 1);
    e.run_until(SimTime(700_000), u64::MAX);
    assert_eq!(e.alerts()[0].state, "pending");
    e.run_until(SimTime(1_400_000), u64::MAX);
    assert_eq!(e.alerts()[0].state, "inactive");
    assert_eq!(e.alerts()[0].fired, 0);
}

/// `depth_world` with `for` 0 and Prometheus' `keep_firing_for` set to `keep`.
fn flapping_world(keep: &str) -> String {
    let mut w: Value = serde_json::from_str(&depth_world(&["1.28s", "1.98s", "2.68s"])).unwrap();
    let rule = &mut w["alerts"][0];
    rule.as_object_mut().unwrap().remove("for");
    if !keep.is_empty() {
        rule["keep_firing_for"] = json!(keep);
    }
    w.to_string()
}

#[test]
fn keep_firing_for_holds_a_flapping_alert_as_prometheus_does() {
    // Depth > 5 (no `for`) at the evaluation after each sixth arrival
    // (0.7 s, then 0.6 s after each purge), false at the first after each
    // purge (1.3, 2.0, 2.7 s). Without keep_firing_for it flaps: four
    // firings, three resolutions.
    let t = |ms: u64| ms * 1000;
    let s = story(&flapping_world(""), 4 * S);
    let flips: Vec<(u64, bool)> = alert_events(&s).iter().map(|e| (e.0, e.2)).collect();
    assert_eq!(
        flips,
        vec![
            (t(700), true),
            (t(1300), false),
            (t(1900), true),
            (t(2000), false),
            (t(2600), true),
            (t(2700), false),
            (t(3300), true)
        ]
    );
    // keep_firing_for 1s: each false stretch (0.6 s) is shorter, and the
    // condition holding again clears the mark: it fires once and stays firing.
    let s = story(&flapping_world("1s"), 4 * S);
    let flips: Vec<(u64, bool)> = alert_events(&s).iter().map(|e| (e.0, e.2)).collect();
    assert_eq!(flips, vec![(t(700), true)]);
    assert_eq!(
        (s.engine.alerts()[0].state, s.engine.alerts()[0].fired),
        ("firing", 1)
    );
    // Kept, with the first false evaluation named, only while it is false.
    let mut e = engine(&flapping_world("1s"), 1);
    e.run_until(SimTime(t(1500)), u64::MAX);
    let v = &e.alerts()[0];
    assert_eq!((v.state, v.kept_since_s), ("firing", Some(1.3)));
    assert!(v.rule.ends_with(", keep firing for 1s"), "{}", v.rule);
    e.run_until(SimTime(t(1950)), u64::MAX);
    assert_eq!(e.alerts()[0].kept_since_s, None, "holding again clears it");
    // keep_firing_for 500ms: resolved at the first evaluation 0.5 s after
    // the first false one (Prometheus keeps firing while less has passed),
    // then fires again when the condition next holds.
    let s = story(&flapping_world("500ms"), 4 * S);
    let flips: Vec<(u64, bool, u64)> = alert_events(&s).iter().map(|e| (e.0, e.2, e.3)).collect();
    assert_eq!(
        flips,
        vec![
            (t(700), true, 6000),
            (t(1800), false, 5000),
            (t(1900), true, 6000),
            (t(2500), false, 5000),
            (t(2600), true, 6000),
            (t(3200), false, 5000),
            (t(3300), true, 6000)
        ]
    );
    let bad = flapping_world("2h");
    let err = scenario::load(&bad).unwrap_err().to_string();
    assert_eq!(err, "alerts[0].keep_firing_for: must be at most 3600s");
}

#[test]
fn an_error_rate_over_a_window_without_handler_runs_has_no_value() {
    let json = json!({
        "title": "idle consumer",
        "producers": [{ "id": "p", "to": "busy", "rate": "10/s" }],
        "queues": [{ "id": "busy" }, { "id": "idle" }],
        "consumers": [{ "id": "c", "queue": "idle", "service": { "constant": "1ms" } }],
        "alerts": [{ "id": "errors", "metric": "error_rate", "node": "c", "above": 0 }],
    })
    .to_string();
    let s = story(&json, 30 * S);
    assert!(alert_events(&s).is_empty());
    let v = &s.engine.alerts()[0];
    assert_eq!(
        (v.state, v.value, v.value_text.as_str()),
        ("inactive", None, "")
    );
}

#[test]
fn a_lag_alert_on_a_slow_group_fires_above_its_threshold_and_resolves_below() {
    let mut sc = preset("kafka-slow-group").unwrap().scenario();
    let group = "reporting".to_string();
    assert!(sc.consumer_groups.iter().any(|g| g.id == group));
    sc.alerts = vec![scenario::AlertRule {
        id: "lagging".into(),
        metric: scenario::AlertMetric::Lag,
        node: group.clone(),
        above: 200.0,
        window: None,
        hold: scenario::Duration(0),
        keep_firing_for: scenario::Duration(0),
        every: scenario::Duration(500_000),
    }];
    scenario::validate(&sc).expect("valid");
    let mut e = Engine::new(sc.clone(), 1).unwrap();
    e.set_trace_capture(true, 1 << 22);
    run_checked(&mut e, sc.duration.us());
    let trace = e.take_trace();
    let s = Story { engine: e, trace };
    let ev = alert_events(&s);
    assert!(!ev.is_empty(), "the slow group's lag passes 200");
    assert!(ev.iter().all(|e| e.0 % 500_000 == 0), "only at evaluations");
    for (i, &(_, _, fired, milli)) in ev.iter().enumerate() {
        assert_eq!(fired, i % 2 == 0, "fired and resolved alternate");
        assert_eq!(
            fired,
            milli > 200_000,
            "fired above, resolved at or below 200"
        );
    }
    assert_eq!(
        s.trace
            .iter()
            .find(|t| matches!(t.kind, TraceKind::AlertFired { .. }))
            .unwrap()
            .node,
        s.node(&group)
    );
}

#[test]
fn the_presets_keep_firing_variant_pages_once_where_the_low_threshold_flapped() {
    // error-rate-alert's last two variants: a 2% threshold over 2 s (below
    // the normal error rate's noise) flaps; keep_firing_for 5s makes it one
    // page that stays firing almost the whole run. What the description says.
    let lane = |name: &str| {
        let until_us = preset_variant("error-rate-alert", name).duration.us();
        run_variant("error-rate-alert", name, until_us).alerts()[0].clone()
    };
    let flapping = lane("2s-window-2pct");
    let kept = lane("2pct-keep-firing");
    assert_eq!((flapping.fired, flapping.first_fired_s), (5, Some(1.0)));
    assert_eq!((kept.fired, kept.first_fired_s), (1, Some(1.0)));
    assert!(kept.rule.ends_with("keep firing for 5s"), "{}", kept.rule);
    assert!(
        kept.firing_ms > 40_000.0 && kept.firing_ms > flapping.firing_ms,
        "kept {} ms, flapping {} ms",
        kept.firing_ms,
        flapping.firing_ms
    );
}

#[test]
fn alerts_only_watch_the_run_is_the_same_without_them() {
    let with = preset("error-rate-alert").unwrap().scenario();
    let mut without = with.clone();
    without.alerts.clear();
    without.expect.clear();
    without.variants.clear();
    let run = |sc: &scenario::Scenario| {
        let mut e = Engine::new(sc.clone(), 7).unwrap();
        e.set_trace_capture(true, 1 << 22);
        e.run_until(SimTime(45 * S), u64::MAX);
        let t: Vec<_> = e
            .take_trace()
            .into_iter()
            .filter(|x| {
                !matches!(
                    x.kind,
                    TraceKind::AlertFired { .. } | TraceKind::AlertResolved { .. }
                )
            })
            .map(|x| (x.t, x.kind, x.msg, x.node))
            .collect();
        (t, *e.totals())
    };
    let (a, b) = (run(&with), run(&without));
    assert!(a.0.len() > 5000);
    assert_eq!(a, b);
}

#[test]
fn bad_alert_rules_are_refused_with_their_paths() {
    let base = |alert: Value| {
        json!({
            "title": "t",
            "producers": [{ "id": "p", "to": "q", "rate": "1/s" }],
            "queues": [{ "id": "q" }],
            "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "1ms" } }],
            "alerts": [alert],
        })
        .to_string()
    };
    let cases = [
        (json!({ "id": "a", "metric": "error_rate", "node": "q", "above": 0.1 }),
         "alerts[0].node: \"q\" is a queue; an error_rate alert watches a consumer or consumer group"),
        (json!({ "id": "a", "metric": "depth", "node": "nope", "above": 1 }),
         "alerts[0].node: no node \"nope\" (the depth alert watches a queue)"),
        (json!({ "id": "a", "metric": "error_rate", "node": "c", "above": 5 }),
         "alerts[0].above: an error rate is a fraction: must be below 1 (0.05 is 5%)"),
        (json!({ "id": "a", "metric": "depth", "node": "q", "above": -1 }),
         "alerts[0].above: must be a number, at least 0"),
        (json!({ "id": "a", "metric": "depth", "node": "q", "above": 1, "window": "5s" }),
         "alerts[0].window: applies only to error_rate alerts"),
        (json!({ "id": "a", "metric": "error_rate", "node": "c", "above": 0.1, "window": "500ms" }),
         "alerts[0].window: must be at least the evaluation interval `every` (1s)"),
        (json!({ "id": "a", "metric": "depth", "node": "q", "above": 1, "every": "1ms" }),
         "alerts[0].every: must be between 10ms and 3600s"),
        (json!({ "id": "a b", "metric": "depth", "node": "q", "above": 1 }),
         "alerts[0].id: may use only letters, digits and - _ . :"),
        (json!({ "id": "a", "metric": "latency", "node": "q", "above": 1 }),
         "alerts[0].metric: unknown variant `latency`"),
    ];
    for (alert, want) in cases {
        let err = scenario::load(&base(alert.clone()))
            .expect_err(&alert.to_string())
            .to_string();
        assert!(err.starts_with(want), "{alert}: got {err:?}, want {want:?}");
    }
    let twice = json!({
        "title": "t", "queues": [{ "id": "q" }],
        "alerts": [{ "id": "a", "metric": "depth", "node": "q", "above": 1 },
                   { "id": "a", "metric": "depth", "node": "q", "above": 2 }],
    });
    let err = scenario::load(&twice.to_string()).unwrap_err().to_string();
    assert_eq!(err, "alerts[1].id: \"a\" is used twice");
}
