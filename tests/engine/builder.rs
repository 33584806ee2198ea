//! The builder's topology edits (`scenario::edit`): building a preset by
//! hand gives the preset's trace, and every edit either keeps the scenario
//! valid or reports a path-named error and changes nothing.

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::{self, edit, edit::Part};
use serde_json::json;

fn hash_at(sc: scenario::Scenario, until_us: u64) -> u64 {
    let seed = sc.seed;
    let mut e = Engine::new(sc, seed).expect("valid");
    while !e.run_until(SimTime(until_us), 10_000).reached {}
    e.trace_hash()
}

/// The edits the browser builder test makes by mouse, in the same order.
fn build_work_queue() -> scenario::Scenario {
    let mut sc = edit::empty();
    let x = edit::add(&mut sc, Part::Exchange, &[]).unwrap();
    let q = edit::add(&mut sc, Part::Queue, &[]).unwrap();
    let p = edit::add(&mut sc, Part::Producer, &[]).unwrap();
    let c = edit::add(&mut sc, Part::Consumer, &[]).unwrap();
    assert_eq!(
        sc.producers[0].to, x,
        "a new producer publishes to the first exchange"
    );
    assert_eq!(
        sc.consumers[0].queue, q,
        "a new consumer reads the only queue"
    );
    edit::connect(&mut sc, &x, &q).unwrap();
    edit::connect(&mut sc, &p, &x).unwrap();
    edit::connect(&mut sc, &q, &c).unwrap();
    edit::set_field(&mut sc, "producers[0].id", json!("tasks")).unwrap();
    edit::set_field(&mut sc, "exchanges[0].id", json!("work")).unwrap();
    edit::set_field(&mut sc, "queues[0].id", json!("task-queue")).unwrap();
    edit::set_field(&mut sc, "consumers[0].id", json!("workers")).unwrap();
    edit::set_field(&mut sc, "producers[0].rate", json!("40/s")).unwrap();
    edit::set_field(&mut sc, "producers[0].keys", json!({ "random_of_n": 20 })).unwrap();
    edit::set_field(&mut sc, "consumers[0].instances", json!(3)).unwrap();
    edit::set_field(&mut sc, "consumers[0].prefetch", json!(2)).unwrap();
    edit::set_field(
        &mut sc,
        "consumers[0].service",
        json!({ "log_normal": { "median": "45ms", "sigma": 0.4 } }),
    )
    .unwrap();
    sc
}

#[test]
fn building_work_queue_by_hand_gives_the_presets_trace() {
    let built = build_work_queue();
    assert_eq!(built.producers[0].to, "work", "rename follows references");
    assert_eq!(
        built.exchanges[0].bindings[0].queue.as_deref(),
        Some("task-queue")
    );
    assert_eq!(built.consumers[0].queue, "task-queue");
    let preset = scenario::preset("work-queue").unwrap().scenario();
    assert_eq!(hash_at(built, 5_000_000), hash_at(preset, 5_000_000));
}

#[test]
fn an_invalid_field_names_its_path_and_changes_nothing() {
    let mut sc = build_work_queue();
    let before = sc.clone();
    let e = edit::set_field(&mut sc, "consumers[0].prefetch", json!(0)).unwrap_err();
    assert_eq!(e.issues[0].path, "consumers[0].prefetch");
    assert!(e.issues[0].message.contains("at least 1"), "{e}");
    let e = edit::set_field(&mut sc, "producers[0].rate", json!("fast")).unwrap_err();
    assert_eq!(e.issues[0].path, "producers[0].rate");
    assert!(!e.issues[0].message.contains("at line"), "{e}");
    let e = edit::set_field(&mut sc, "queues[0].id", json!("work")).unwrap_err();
    assert!(e.issues[0].message.contains("already the id"), "{e}");
    assert_eq!(sc, before);
}

#[test]
fn deleting_a_queue_takes_its_consumers_and_bindings() {
    let mut sc = build_work_queue();
    let gone = edit::delete(&mut sc, "task-queue").unwrap();
    assert_eq!(gone, vec!["task-queue".to_string(), "workers".to_string()]);
    assert!(sc.exchanges[0].bindings.is_empty());
    assert!(sc.consumers.is_empty());
    scenario::validate(&sc).unwrap();
    let gone = edit::delete(&mut sc, "work").unwrap();
    assert_eq!(gone, vec!["work".to_string(), "tasks".to_string()]);
    assert!(sc.producers.is_empty() && sc.exchanges.is_empty());
}

#[test]
fn connections_follow_the_kinds_and_refuse_the_rest() {
    let mut sc = build_work_queue();
    let dlx = edit::add(&mut sc, Part::Exchange, &[]).unwrap();
    edit::connect(&mut sc, "task-queue", &dlx).unwrap();
    assert_eq!(
        sc.queues[0].dead_letter_exchange.as_deref(),
        Some(dlx.as_str())
    );
    assert!(edit::connect(&mut sc, "workers", "tasks").is_err());
    assert!(
        edit::connect(&mut sc, "work", "task-queue").is_err(),
        "duplicate binding"
    );
    let before = sc.clone();
    assert!(edit::add(&mut edit::empty(), Part::Producer, &[]).is_err());
    let t = edit::add(&mut sc, Part::Topic, &[]).unwrap();
    let g = edit::add(&mut sc, Part::Group, &[]).unwrap();
    assert_eq!(sc.consumer_groups[0].topics, vec![t.clone()]);
    let p = edit::add(&mut sc, Part::Producer, std::slice::from_ref(&t)).unwrap();
    assert_eq!(
        sc.producers[1].to, t,
        "the drop point's neighbour is preferred"
    );
    edit::delete(&mut sc, &t).unwrap();
    assert!(edit::find(&sc, &g).is_none() && edit::find(&sc, &p).is_none());
    assert_eq!(sc, before);
}

#[test]
fn error_paths_point_into_the_text() {
    let text = scenario::preset("work-queue").unwrap().json;
    let at = edit::offset_of_path(text, "consumers[0].prefetch").unwrap();
    assert!(text[at..].starts_with('2'), "{}", &text[at..at + 10]);
    let at = edit::offset_of_path(text, "consumers[0].retry").unwrap();
    assert!(text[at..].starts_with("{ \"id\": \"workers\""));
}

#[test]
fn nested_fields_are_set_by_path() {
    let mut sc = build_work_queue();
    edit::set_field(
        &mut sc,
        "consumers[0].service.log_normal.median",
        json!("60ms"),
    )
    .unwrap();
    edit::set_field(
        &mut sc,
        "consumers[0].service",
        json!({ "uniform": ["10ms", "20ms"] }),
    )
    .unwrap();
    edit::set_field(&mut sc, "consumers[0].service.uniform[1]", json!("30ms")).unwrap();
    let v = serde_json::to_value(&sc.consumers[0].service).unwrap();
    assert_eq!(v, json!({ "uniform": ["10ms", "30ms"] }));
    let e = edit::set_field(&mut sc, "consumers[0].service.uniform[0]", json!("40ms")).unwrap_err();
    assert_eq!(e.issues[0].path, "consumers[0].service.uniform", "{e}");
}

#[test]
fn an_empty_scenario_runs() {
    let sc = edit::empty();
    scenario::validate(&sc).unwrap();
    let _ = hash_at(sc, 1_000_000);
}

/// Alert rules follow their node: renamed with it, deleted with it (the
/// other rule stays), and the scenario stays valid.
#[test]
fn alert_rules_follow_their_node_through_rename_and_delete() {
    let mut sc = scenario::preset("error-rate-alert").unwrap().scenario();
    sc.variants.clear();
    sc.expect.clear();
    edit::rename(&mut sc, "payment-svc", "payments").unwrap();
    assert_eq!(sc.alerts[0].node, "payments");
    let gone = edit::delete(&mut sc, "payments-dlq").unwrap();
    assert_eq!(gone, ["payments-dlq"]);
    let ids: Vec<&str> = sc.alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["payment-errors"], "the DLQ's rule went with it");
    scenario::validate(&sc).expect("still valid");
    edit::delete(&mut sc, "payments").unwrap();
    assert!(sc.alerts.is_empty());
}
