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
fn the_decision_tree_lesson_walks_the_seed_tree_and_each_branch_shows_its_cost() {
    // The seed's "Message Pattern Decision Tree", in its order: real-time,
    // request-response, fire-and-forget, event stream, else pub/sub; each
    // branch on the model that answers it, first in the picker.
    assert_eq!(lesson::lessons()[0].name, "choosing-a-pattern");
    let l = lesson::parse(lesson::lesson("choosing-a-pattern").unwrap().json).unwrap();
    let presets: Vec<&str> = l
        .steps
        .iter()
        .filter_map(|s| s.scenario.as_deref())
        .collect();
    assert_eq!(
        presets,
        [
            "redis-pubsub-disconnect",
            "request-reply",
            "work-queue",
            "kafka-replay",
            "pubsub-fanout"
        ]
    );
    let r = lesson::play("choosing-a-pattern", &l).unwrap();
    let n = |k: usize, node: &str, field: &str| -> u64 {
        r[k].report["nodes"][node][field]
            .as_u64()
            .unwrap_or_else(|| panic!("step {k}: nodes.{node}.{field}"))
    };
    // Real-time push stores nothing: the 50 orders published while mobile
    // was away (10/s for 5 s) are lost, the connected subscribers miss none.
    assert_eq!(r[0].right_choice, Some(0));
    assert_eq!(n(0, "mobile", "missed"), 50);
    assert_eq!(n(0, "audit", "missed"), 0);
    // Request-reply: one reply per processed request, two messages a trip.
    assert_eq!(r[1].right_choice, Some(0));
    let requests = n(1, "client", "published");
    assert_eq!(
        r[1].report["totals"]["published"].as_u64().unwrap(),
        requests + n(1, "server", "processed")
    );
    // Fire-and-forget at 80/s against ~61/s of workers: the producer is not
    // slowed (it published its rate), the queue takes the difference.
    assert_eq!(r[2].right_choice, Some(0));
    let published = n(2, "tasks", "published");
    assert!((1_450..1_750).contains(&published), "{published}");
    let depth = n(2, "task-queue", "depth");
    assert!((200..600).contains(&depth), "{depth}");
    // The log keeps what was read: analytics replays hundreds, billing none.
    assert_eq!(r[3].right_choice, Some(1));
    assert!(n(3, "analytics", "reprocessed") >= 100);
    assert_eq!(n(3, "billing", "reprocessed"), 0);
    // Pub/sub: one queue per subscriber, so the slow one backs up alone.
    assert_eq!(r[4].right_choice, Some(0));
    assert!(n(4, "analytics", "depth_max") > 5 * n(4, "billing", "depth_max"));
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
