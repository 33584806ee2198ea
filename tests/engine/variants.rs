//! Variants side by side: a `variants` block is validated with path-named
//! errors, `queuelab compare` runs every lane under one seed, and common
//! random numbers hold — a lane that changes only a consumer publishes
//! exactly the same messages at the same times as the scenario as written.

use queuelab::engine::{Engine, SimTime, TraceKind};
use queuelab::scenario::{self, patch};
use std::process::{Command, Output};

fn queuelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(args)
        .output()
        .expect("runs")
}

fn with_variants(preset: &str, variants: serde_json::Value) -> Result<scenario::Scenario, String> {
    let mut v: serde_json::Value =
        serde_json::from_str(scenario::preset(preset).unwrap().json).unwrap();
    v["variants"] = variants;
    scenario::load(&v.to_string()).map_err(|e| e.to_string())
}

/// Publish times of a run, in order.
fn publish_times(s: scenario::Scenario, seed: u64) -> Vec<u64> {
    let mut e = Engine::new(s, seed).unwrap();
    e.set_trace_capture(true, 1_000_000);
    e.run_until(SimTime(20_000_000), u64::MAX);
    e.take_trace()
        .into_iter()
        .filter(|t| matches!(t.kind, TraceKind::Published { parent: None, .. }))
        .map(|t| t.t.0)
        .collect()
}

#[test]
fn a_consumer_only_change_keeps_the_producers_stream() {
    let s = scenario::preset("retry-backoff").unwrap().scenario();
    let mut base = s.clone();
    base.variants.clear();
    let lanes: Vec<_> = s
        .variants
        .iter()
        .map(|v| patch::apply(&base, &v.set).unwrap())
        .collect();
    assert_eq!(lanes.len(), 2);
    assert_ne!(lanes[0].consumers[0].retry, lanes[1].consumers[0].retry);
    let a = publish_times(lanes[0].clone(), 3);
    let b = publish_times(lanes[1].clone(), 3);
    assert!(a.len() > 100);
    assert_eq!(
        a, b,
        "common random numbers: the same publishes in both lanes"
    );
}

#[test]
fn compare_prints_one_column_per_variant_and_json() {
    let o = queuelab(&["compare", "mm1", "--until", "120s"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("rho-0.5") && out.contains("rho-0.8") && out.contains("rho-0.95"),
        "{out}"
    );
    assert!(out.contains("seed 1, 120s, 3 variants"), "{out}");
    let o = queuelab(&["compare", "mm1", "--until", "300s", "--json", "--seed", "4"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["seed"], 4);
    let lanes = v["variants"].as_array().unwrap();
    assert_eq!(lanes.len(), 3);
    let mean = |k: usize| {
        lanes[k]["report"]["latency_us"]["end_to_end"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(
        mean(0) < mean(1) && mean(1) < mean(2),
        "waiting grows with utilization"
    );
    // The lane as written is the plain run of the preset.
    let run = queuelab(&["run", "mm1", "--until", "300s", "--json", "--seed", "4"]);
    let r: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(lanes[1]["report"]["trace_hash"], r["trace_hash"]);
}

#[test]
fn compare_needs_variants() {
    let o = queuelab(&["compare", "work-queue"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no `variants` block"));
    let o = queuelab(&["compare", "mm1", "--trace", "/tmp/x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_variants_are_named_by_path() {
    use serde_json::json as j;
    for (v, says) in [
        (j!([{"name": "only"}]), "variants: two to 6 variants, not 1"),
        (
            j!([{"name": "a"}, {"name": "a"}]),
            "variants[1].name: \"a\" is used twice",
        ),
        (
            j!([{"name": "a"}, {"name": "b c"}]),
            "variants[1].name: may use only",
        ),
        (
            j!([{"name": "a"}, {"name": "b", "set": {"consumers[5].prefetch": 2}}]),
            "variants[1]: set.\"consumers[5].prefetch\": the list has 1 item(s)",
        ),
        (
            j!([{"name": "a"}, {"name": "b", "set": {"consumers[0].prefetch": 0}}]),
            "variants[1]: the changed scenario is invalid: consumers[0].prefetch",
        ),
        (
            j!([{"name": "a"}, {"name": "b", "set": {"variants": []}}]),
            "a variant cannot change the variants",
        ),
        (
            j!([{"name": "a"}, {"name": "b", "colour": 1}]),
            "unknown field `colour`",
        ),
    ] {
        let err = with_variants("mm1", v).expect_err(says);
        assert!(err.contains(says), "expected {says:?} in {err}");
    }
}

/// The app notes which lane its picture is only where the lanes draw
/// different pictures: a variant that swaps sections or re-points a node.
#[test]
fn variants_that_change_the_topology_are_told_apart_from_knob_turns() {
    use queuelab::scenario::{patch::variants_change_topology, preset};
    let changes = |name: &str| variants_change_topology(&preset(name).unwrap().scenario().variants);
    for name in [
        "broker-comparison",
        "redis-pubsub-vs-streams",
        "message-versioning",
    ] {
        assert!(changes(name), "{name}");
    }
    for name in [
        "mm1",
        "guarantee-matrix",
        "sqs-visibility-timeout",
        "kafka-acks-leader-crash",
    ] {
        assert!(!changes(name), "{name}");
    }
}

/// Lanes that differ only in one alert rule lead with that rule's state.
#[test]
fn variants_that_change_only_an_alert_rule_name_it() {
    use queuelab::scenario::{patch::variants_only_change_alert, preset, Variant};
    let of = |name: &str| variants_only_change_alert(&preset(name).unwrap().scenario().variants);
    assert_eq!(of("error-rate-alert"), Some(0));
    for name in [
        "mm1",
        "guarantee-matrix",
        "broker-comparison",
        "kafka-acks-leader-crash",
    ] {
        assert_eq!(of(name), None, "{name}");
    }
    let v = |keys: &[&str]| Variant {
        name: "v".into(),
        set: keys
            .iter()
            .map(|k| (k.to_string(), serde_json::json!(1)))
            .collect(),
    };
    assert_eq!(
        variants_only_change_alert(&[v(&["alerts[2].above"]), v(&[])]),
        Some(2)
    );
    assert_eq!(
        variants_only_change_alert(&[v(&["alerts[0].above", "alerts[1].above"])]),
        None,
        "two rules"
    );
    assert_eq!(
        variants_only_change_alert(&[v(&["alerts[0].above", "consumers[0].prefetch"])]),
        None,
        "a knob too"
    );
    assert_eq!(
        variants_only_change_alert(&[v(&["alerts"])]),
        None,
        "the whole list"
    );
    assert_eq!(
        variants_only_change_alert(&[v(&[]), v(&[])]),
        None,
        "no change at all"
    );
}
