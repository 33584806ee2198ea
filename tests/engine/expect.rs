//! Scenario assertions: every preset states what its description promises in
//! an `expect` block, `queuelab check` verifies them all, and a false or
//! broken expectation fails with the measured value or the field's path.

use queuelab::scenario::{self, expect};
use std::process::{Command, Output};

fn queuelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch_file(name: &str, body: &str) -> String {
    let d = std::env::temp_dir().join(format!("queuelab-expect-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

/// Preset `name` with its `expect` block replaced.
fn preset_expecting(name: &str, exps: &[&str]) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(scenario::preset(name).unwrap().json).unwrap();
    v["expect"] = serde_json::json!(exps);
    v.to_string()
}

/// mm1 with its `expect` block replaced.
fn mm1_expecting(exps: &[&str]) -> String {
    preset_expecting("mm1", exps)
}

#[test]
fn every_preset_has_expectations_that_parse() {
    for p in scenario::presets() {
        let s = p.scenario();
        assert!(
            s.expect.len() >= 2,
            "{}: a preset states what its description promises in at least two expectations",
            p.name
        );
        for e in &s.expect {
            expect::parse(e).unwrap_or_else(|why| panic!("{}: {e}: {why}", p.name));
        }
    }
}

#[test]
fn check_passes_on_every_preset() {
    let names: Vec<&str> = scenario::presets().iter().map(|p| p.name).collect();
    let mut args = vec!["check"];
    args.extend(&names);
    let o = queuelab(&args);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    for n in &names {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{n}: ok"))),
            "{n} not reported ok:\n{out}"
        );
    }
    assert!(
        out.contains(&format!("{} passed, 0 failed", names.len())),
        "{out}"
    );
}

#[test]
fn a_false_expectation_fails_with_the_measured_value() {
    let f = scratch_file(
        "false.json",
        &mm1_expecting(&["totals.processed < 0", "totals.dropped == 0"]),
    );
    let o = queuelab(&["check", &f]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // The measured value is the run's own: compare with `run --json`.
    let run = queuelab(&["run", &f, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let processed = report["totals"]["processed"].as_u64().unwrap();
    assert!(processed > 0);
    assert!(
        out.contains(&format!(
            "expect[0] totals.processed < 0: measured {processed}, compared with 0"
        )),
        "{out}"
    );
    assert!(
        !out.contains("expect[1]"),
        "the true one is not listed: {out}"
    );
    assert!(out.contains("FAILED — 1 of 2"), "{out}");
}

#[test]
fn a_missing_field_fails_and_names_it() {
    let f = scratch_file(
        "missing.json",
        &mm1_expecting(&["nodes.no-such-queue.depth == 0"]),
    );
    let o = queuelab(&["check", &f]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("`nodes.no-such-queue` is not in `nodes`") && out.contains("mm1-queue"),
        "{out}"
    );
}

#[test]
fn broken_expectation_text_is_an_invalid_scenario_with_its_path() {
    let f = scratch_file(
        "broken.json",
        &mm1_expecting(&["totals.dropped == 0", "latency_us.end_to_end.p99 <"]),
    );
    for cmd in ["check", "validate"] {
        let o = queuelab(&[cmd, &f]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("expect[1]: nothing to compare"),
            "{cmd}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn one_failing_file_does_not_hide_the_others() {
    let bad = scratch_file("bad.json", &mm1_expecting(&["totals.published > 10000000"]));
    let o = queuelab(&["check", &bad, "work-queue"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("bad: FAILED") && out.contains("work-queue: ok"),
        "{out}"
    );
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn check_usage_errors_are_named() {
    let o = queuelab(&["check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("at least one scenario"));
    let o = queuelab(&["check", "mm1", "--seed", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--seed"));
}

/// An on-call engineer asserts the payment alert fires within 2 s of the
/// run's start. It fires at 13 s, so the check must fail: `first_fired_s`
/// counts seconds, and "2s" is 2 there (it was once compared as 2,000,000
/// µs and passed). `firing_ms` counts milliseconds. A duration beside a
/// count (`processed`) is no comparison at all: the scenario is invalid.
#[test]
fn a_quoted_duration_is_compared_in_the_unit_of_the_fields_name() {
    let run = queuelab(&["run", "error-rate-alert", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let first = report["alerts"]["payment-errors"]["first_fired_s"]
        .as_f64()
        .unwrap();
    let firing_ms = report["alerts"]["payment-errors"]["firing_ms"]
        .as_f64()
        .unwrap();
    assert!((13.0..=14.0).contains(&first), "{first}");
    assert!(firing_ms > 1000.0, "{firing_ms}");
    // As the report writes them (13.0).
    let first = &report["alerts"]["payment-errors"]["first_fired_s"];
    let firing_ms = &report["alerts"]["payment-errors"]["firing_ms"];

    let f = scratch_file(
        "seconds.json",
        &preset_expecting(
            "error-rate-alert",
            &[
                "alerts.payment-errors.first_fired_s < \"2s\"",
                "alerts.payment-errors.firing_ms < \"1s\"",
                "alerts.payment-errors.first_fired_s > \"10s\"",
                "alerts.payment-errors.first_fired_s < \"15000ms\"",
                "alerts.payment-errors.firing_ms > \"1s\"",
            ],
        ),
    );
    let o = queuelab(&["check", &f]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "expect[0] alerts.payment-errors.first_fired_s < \"2s\": measured {first}, compared with \"2s\" (2 s)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "expect[1] alerts.payment-errors.firing_ms < \"1s\": measured {firing_ms}, compared with \"1s\" (1000 ms)"
        )),
        "{out}"
    );
    assert!(out.contains("FAILED — 2 of 5"), "{out}");

    let f = scratch_file(
        "count.json",
        &preset_expecting(
            "error-rate-alert",
            &[
                "totals.dropped == 0",
                "nodes.payment-svc.processed < \"1s\"",
            ],
        ),
    );
    let o = queuelab(&["validate", &f]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("expect[1]: `nodes.payment-svc.processed` is not a time"),
        "{err}"
    );
}

/// `totals.published > "abc"` is no comparison: "abc" is not a duration and
/// a string is only equal or not. A syntax error, so the scenario is invalid
/// (exit 2) for `validate` as for `check`, not a failed check (exit 1).
#[test]
fn an_ordered_comparison_with_a_quoted_string_is_an_invalid_scenario() {
    let f = scratch_file(
        "ordered-string.json",
        &mm1_expecting(&["totals.published > \"abc\""]),
    );
    for cmd in ["validate", "check"] {
        let o = queuelab(&[cmd, &f]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains(
                "expect[0]: > needs a number, a duration or a field; \"abc\" is not a duration"
            ),
            "{cmd}: {err}"
        );
    }
}

/// A CI step checks a scenario whose run the event budget cuts short. The
/// truncated report would satisfy `sim_time_us < "1s"` (the clock stopped
/// early) though the run to `duration` does not: the check must fail the
/// file, say where the run stopped, and evaluate nothing.
#[test]
fn a_run_cut_short_by_the_event_budget_fails_its_check() {
    let f = scratch_file(
        "budget.json",
        &mm1_expecting(&["sim_time_us < \"1s\"", "totals.dropped == 0"]),
    );
    let o = queuelab(&["check", &f, "--max-events", "100"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(
        out.contains("budget: FAILED — the run stopped at --max-events 100 at ")
            && out
                .contains("before its duration 600s (seed 1); its 2 expectations were not checked"),
        "{out}"
    );
    assert!(!out.contains("expect[0]"), "nothing evaluated: {out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    // With the default budget the same file runs to 600 s and fails honestly.
    let o = queuelab(&["check", &f]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("expect[0] sim_time_us < \"1s\": measured 600000000"),
        "{out}"
    );
    let o = queuelab(&["check", "mm1", "--max-events", "many"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--max-events: \"many\" is not a whole number"));
}

/// `queuelab check docs/examples/*.json` with one broken file among them:
/// every other file is still run and reported, the broken one is named
/// INVALID with its problem on stderr, and the exit code is 2 (invalid
/// input wins over a failed expectation: the file could not be checked).
#[test]
fn an_invalid_file_does_not_stop_the_others_and_exits_2() {
    let broken = scratch_file("broken-json.json", "{\"duration\": ");
    let invalid = scratch_file(
        "zero-duration.json",
        &mm1_expecting(&["totals.dropped == 0"]).replace("\"600s\"", "\"0s\""),
    );
    let failing = scratch_file("failing.json", &mm1_expecting(&["totals.published < 0"]));
    let o = queuelab(&[
        "check",
        &broken,
        "mm1",
        &invalid,
        &failing,
        "no-such-preset",
    ]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(out.contains("broken-json.json: INVALID"), "{out}");
    assert!(out.contains("zero-duration.json: INVALID"), "{out}");
    assert!(out.contains("no-such-preset: INVALID"), "{out}");
    assert!(out.contains("mm1: ok"), "{out}");
    assert!(out.contains("failing: FAILED — 1 of 1"), "{out}");
    assert!(
        out.contains("1 passed, 1 failed, 0 without expectations, 3 invalid"),
        "{out}"
    );
    assert!(err.contains("duration: must be positive"), "{err}");
    assert!(
        err.contains("no file, preset or link named \"no-such-preset\""),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A team asserts its command handler never gives up on a version conflict
/// and no consumer channel is closed for an ack timeout. Both counters are 0
/// in this run, and were left out of the report when 0, so the assertion
/// failed with "`totals.ack_timeouts` is not in `totals`". A counter is
/// always in the report.
#[test]
fn a_zero_counter_can_be_asserted() {
    let mut v: serde_json::Value =
        serde_json::from_str(scenario::preset("event-store-concurrency").unwrap().json).unwrap();
    v["expect"] = serde_json::json!([
        "totals.ack_timeouts == 0",
        "nodes.command-handler.conflict_give_ups == 0",
        "nodes.command-handler.version_conflicts > 0"
    ]);
    let f = scratch_file("zero-counters.json", &v.to_string());
    let o = queuelab(&["check", &f]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("zero-counters: ok — 3 expectations hold"),
        "{out}"
    );
}
