//! Guided lessons: every built-in lesson plays natively and each question is
//! answered by the run; broken lessons fail `lessons check` naming the step
//! and what is wrong; playing is deterministic.

use queuelab::lesson::{self, Lesson};
use queuelab::scenario;
use std::process::Command;

fn broken(mutate: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(lesson::lesson("why-queues-grow").unwrap().json).unwrap();
    mutate(&mut v);
    v.to_string()
}

fn play_text(text: &str) -> Result<Vec<lesson::StepResult>, String> {
    let l: Lesson = lesson::parse(text)?;
    lesson::play("t", &l)
}

#[test]
fn twelve_lessons_cover_the_seed_topics_and_all_play() {
    let all = lesson::lessons();
    assert!(all.len() >= 12);
    let mut presets_used = std::collections::BTreeSet::new();
    for l in all {
        let parsed = lesson::parse(l.json).unwrap_or_else(|e| panic!("{}: {e}", l.name));
        let results = lesson::play(l.name, &parsed).unwrap_or_else(|e| panic!("{}: {e}", l.name));
        assert_eq!(results.len(), parsed.steps.len());
        for (s, r) in parsed.steps.iter().zip(&results) {
            if let Some(p) = &s.predict {
                assert!(
                    r.right_choice.is_some() != r.number.is_some(),
                    "{}: {:?} has exactly one kind of answer",
                    l.name,
                    p.question
                );
            }
            if let Some(name) = &s.scenario {
                presets_used.insert(name.clone());
            }
        }
    }
    // The lessons are built on the presets, AMQP and Kafka alike.
    for p in [
        "work-queue",
        "pubsub-fanout",
        "mm1",
        "retry-backoff",
        "kafka-keys-ordering",
        "kafka-group-scaling",
        "event-sourcing-cqrs",
        "saga-compensation",
    ] {
        assert!(presets_used.contains(p), "no lesson uses {p}");
    }
}

#[test]
fn the_outcome_is_read_from_the_run() {
    // why-queues-grow step 0 asks for the M/M/1 mean at rho = 0.5: theory
    // says 200 ms; the lesson does not contain the number, the run does.
    let l = lesson::parse(lesson::lesson("why-queues-grow").unwrap().json).unwrap();
    let r = lesson::play("why", &l).unwrap();
    let mean_ms = r[0].number.unwrap();
    assert!((150.0..250.0).contains(&mean_ms), "{mean_ms}");
    let report_us = r[0].report["latency_us"]["end_to_end"]["mean"]
        .as_f64()
        .unwrap();
    assert_eq!(mean_ms, report_us / 1000.0);
    // rho = 0.8 is slower than rho = 0.5.
    assert!(r[1].number.unwrap() > mean_ms * 1.8);
    // Deterministic: playing again gives the same reports.
    assert_eq!(lesson::play("why", &l).unwrap(), r);
}

#[test]
fn guesses_count_within_the_tolerance() {
    let n = lesson::NumberAnswer {
        field: "x".into(),
        unit: Some("ms".into()),
        tolerance_pct: 25.0,
    };
    assert!(lesson::number_is_right(&n, 200.0, 183.5));
    assert!(lesson::number_is_right(&n, 229.0, 183.5));
    assert!(!lesson::number_is_right(&n, 240.0, 183.5));
    assert!(lesson::number_is_right(&n, 0.0, 0.0));
}

#[test]
fn broken_lessons_fail_naming_the_step() {
    let cases: Vec<(String, &str)> = vec![
        (
            broken(|v| v["steps"][0]["highlight"] = serde_json::json!(["nope"])),
            "steps[0] (\"Half busy\"): highlight[0]: no node \"nope\"",
        ),
        (
            broken(|v| {
                v["steps"][2]["predict"]["choices"][0]["when"] = "totals.published < 0".into()
            }),
            "steps[2] (\"95 % busy\"): predict: no choice holds",
        ),
        (
            broken(|v| {
                v["steps"][2]["predict"]["choices"][1]["when"] = "totals.published > 0".into()
            }),
            "choices [0, 1] all hold in the run",
        ),
        (
            broken(|v| v["steps"][1]["predict"]["number"]["field"] = "latency_us.nope".into()),
            "`latency_us.nope` is not in `latency_us`",
        ),
        (
            broken(|v| v["steps"][0]["set"] = serde_json::json!({"producers[3].rate": "5/s"})),
            "the list has 1 item(s)",
        ),
        (
            broken(|v| v["steps"][0]["set"] = serde_json::json!({"producers[0].rate": "fast"})),
            "the changed scenario is invalid: producers[0].rate",
        ),
        (
            broken(|v| v["steps"][0]["scenario"] = "no-such".into()),
            "steps[0].scenario: no preset named \"no-such\"",
        ),
        (
            broken(|v| {
                v["steps"][0].as_object_mut().unwrap().remove("scenario");
            }),
            "the first step must name a preset",
        ),
        (
            broken(|v| {
                v["steps"][1]["commands"] = serde_json::json!([{"do": "set_instances", "consumer": "ghost", "instances": 2}])
            }),
            "steps[1] (\"80 % busy\"): commands[0]",
        ),
        (
            broken(|v| v["steps"][0]["predict"]["number"]["tolerance_pct"] = 0.into()),
            "tolerance_pct: between 0 and 100",
        ),
        (
            broken(|v| v["steps"][0]["colour"] = "red".into()),
            "unknown field `colour`",
        ),
    ];
    for (text, says) in cases {
        let err = play_text(&text).expect_err(says);
        assert!(err.contains(says), "expected {says:?} in: {err}");
    }
}

#[test]
fn lessons_check_cli_passes_and_fails_with_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_queuelab");
    let o = Command::new(bin)
        .args(["lessons", "check"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "{n} lessons, {n} passed, 0 failed",
            n = lesson::lessons().len()
        )),
        "{out}"
    );
    let dir = std::env::temp_dir().join(format!("queuelab-lessons-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.json");
    std::fs::write(
        &f,
        broken(|v| v["steps"][0]["highlight"] = serde_json::json!(["nope"])),
    )
    .unwrap();
    let o = Command::new(bin)
        .args(["lessons", "check"])
        .arg(&f)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("bad: FAILED") && out.contains("highlight[0]"),
        "{out}"
    );
    let o = Command::new(bin)
        .args(["lessons", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("why-queues-grow"));
    let o = Command::new(bin)
        .args(["lessons", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn set_changes_a_preset_and_is_validated() {
    let base = scenario::preset("mm1").unwrap().scenario();
    let mut set = std::collections::BTreeMap::new();
    set.insert("consumers[0].instances".to_string(), serde_json::json!(2));
    let s = lesson::apply_set(&base, &set).unwrap();
    assert_eq!(s.consumers[0].instances, 2);
    set.insert("consumers[0].prefetch".to_string(), serde_json::json!(0));
    let err = lesson::apply_set(&base, &set).unwrap_err();
    assert!(err.contains("consumers[0].prefetch"), "{err}");
}
