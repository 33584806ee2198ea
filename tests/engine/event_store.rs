//! Event-store appends with an expected version (`model::event_store`): a
//! race between two writers of one aggregate, timed by hand; the preset's
//! three variants (conflicts refused, stale writes let through, no race when
//! commands are keyed by aggregate), with the invariants checked after every
//! event (among them: no stale write while the check is on); and the
//! validation of a bad combination.

use crate::common::*;
use queuelab::engine::{Engine, TraceKind};
use queuelab::scenario;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MS: u64 = 1_000;
const S: u64 = 1_000_000;

/// Two commands for one account, 100 ms apart, round-robin over two
/// partitions, each owned by its own member; handling one takes 150 ms.
fn race(check: Option<bool>, partitioner: &str) -> String {
    let mut output = json!({ "topic": "events" });
    if let Some(c) = check {
        output["expected_version"] = json!(c);
    }
    json!({
        "title": "race", "duration": "5s",
        "producers": [{ "id": "api", "to": "commands", "rate": "10/s", "arrival": "constant",
                        "count": 2, "keys": { "random_of_n": 1 }, "partitioner": partitioner }],
        "topics": [{ "id": "commands", "partitions": 2 }, { "id": "events", "partitions": 1 }],
        "consumer_groups": [{ "id": "handler", "topics": ["commands"], "members": 2,
                              "auto_offset_reset": "earliest",
                              "service": { "constant": "150ms" }, "output": output }]
    })
    .to_string()
}

/// (t, msg) of every record appended to `topic`.
fn appends(s: &Story, topic: &str) -> Vec<(u64, u64)> {
    let n = s.node(topic);
    s.trace
        .iter()
        .filter(|e| e.node == n && matches!(e.kind, TraceKind::Appended { .. }))
        .map(|e| (e.t.0, e.msg.unwrap()))
        .collect()
}

fn group_json(e: &Engine, id: &str) -> Value {
    let r = serde_json::to_value(e.report("t")).unwrap();
    r["nodes"][id].clone()
}

#[test]
fn a_second_writer_of_one_aggregate_is_refused_and_decides_again() {
    let s = story(&race(Some(true), "round_robin"), 5 * S);
    let cmds = appends(&s, "commands");
    assert_eq!(cmds.len(), 2);
    let (a, b) = (cmds[0], cmds[1]);
    assert_eq!(b.0 - a.0, 100 * MS, "constant arrivals 100 ms apart");
    let conflicts: Vec<_> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::VersionConflict {
                expected, actual, ..
            } => Some((e.t.0, e.msg.unwrap(), expected, actual)),
            _ => None,
        })
        .collect();
    // A is read at version 0 and appended at +150 ms (version 1). B was read
    // at version 0 too (+100 ms, before A's append); at +250 ms the store is
    // at 1: refused. B reloads (version 1) and appends at +400 ms.
    let first_start = a.0;
    assert_eq!(
        conflicts,
        vec![(first_start + 250 * MS, b.1, 0, 1)],
        "exactly one conflict, B's, when it tried to append"
    );
    let events = appends(&s, "events");
    assert_eq!(
        events.iter().map(|e| e.0 - first_start).collect::<Vec<_>>(),
        vec![150 * MS, 400 * MS],
        "A's event, then B's after a second 150 ms"
    );
    let g = group_json(&s.engine, "handler");
    assert_eq!(g["version_conflicts"], 1, "{g}");
    assert_eq!(g["stale_writes"], 0);
    assert_eq!(
        g["processed"], 2,
        "a refused append is not a processed record"
    );
    assert_eq!(g["expected_version"], true);
}

#[test]
fn without_the_check_the_same_race_is_a_stale_write() {
    let s = story(&race(Some(false), "round_robin"), 5 * S);
    let first_start = appends(&s, "commands")[0].0;
    let stale: Vec<_> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::StaleWrite { read, actual, .. } => Some((e.t.0 - first_start, read, actual)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stale,
        vec![(250 * MS, 0, 1)],
        "B appends on version 0, the store is at 1"
    );
    let events = appends(&s, "events");
    assert_eq!(
        events.iter().map(|e| e.0 - first_start).collect::<Vec<_>>(),
        vec![150 * MS, 250 * MS],
        "nothing refuses B"
    );
    let g = group_json(&s.engine, "handler");
    assert_eq!(
        (g["stale_writes"].as_u64(), g["version_conflicts"].as_u64()),
        (Some(1), Some(0))
    );
    // Unset: nothing tracked, nothing reported.
    let s = story(&race(None, "round_robin"), 5 * S);
    assert!(!s.trace.iter().any(|e| matches!(
        e.kind,
        TraceKind::StaleWrite { .. } | TraceKind::VersionConflict { .. }
    )));
    let g = group_json(&s.engine, "handler");
    assert!(
        g.get("stale_writes").is_none() && g.get("expected_version").is_none(),
        "{g}"
    );
}

#[test]
fn commands_keyed_by_aggregate_have_one_writer_and_never_conflict() {
    // Both commands in one partition: one member handles them in turn.
    let s = story(&race(Some(true), "default"), 5 * S);
    let g = group_json(&s.engine, "handler");
    assert_eq!(g["version_conflicts"], 0, "{g}");
    assert_eq!(appends(&s, "events").len(), 2);
}

/// The preset's lane `name` (a variant) as a story, invariants checked.
/// The preset's variant `name` as a scenario, with the preset's seed.
fn variant(name: &str) -> (scenario::Scenario, u64) {
    let s = preset_variant("event-store-concurrency", name);
    let seed = s.seed;
    (s, seed)
}

fn lane(name: &str) -> Story {
    let (s, seed) = variant(name);
    let mut e = Engine::new(s, seed).unwrap();
    e.set_trace_capture(true, 1 << 22);
    run_checked(&mut e, 30 * S);
    let trace = e.take_trace();
    Story { engine: e, trace }
}

#[test]
fn the_preset_lanes_show_conflicts_stale_writes_and_none() {
    let rr = lane("round-robin");
    let g = group_json(&rr.engine, "command-handler");
    let conflicts = g["version_conflicts"].as_u64().unwrap();
    assert!(conflicts > 100, "round-robin commands race often: {g}");
    assert_eq!(g["stale_writes"], 0);
    // Every refusal is traced, each one saw the aggregate ahead of its read.
    let traced: Vec<(u32, u32)> = rr
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::VersionConflict {
                expected, actual, ..
            } => Some((expected, actual)),
            _ => None,
        })
        .collect();
    assert_eq!(traced.len() as u64, conflicts);
    assert!(traced.iter().all(|(x, a)| x < a), "{traced:?}");
    // A refused input is processed once in the end: one output per input.
    let outputs_per_input = outputs_by_parent(&rr);
    assert!(outputs_per_input.values().all(|&n| n == 1));
    assert_eq!(
        outputs_per_input.len() as u64,
        g["processed"].as_u64().unwrap()
    );

    let nc = lane("no-check");
    let g = group_json(&nc.engine, "command-handler");
    assert!(g["stale_writes"].as_u64().unwrap() > 100, "{g}");
    assert_eq!(g["version_conflicts"], 0);

    let keyed = lane("keyed-by-account");
    let g = group_json(&keyed.engine, "command-handler");
    assert_eq!(
        (g["version_conflicts"].as_u64(), g["stale_writes"].as_u64()),
        (Some(0), Some(0))
    );
}

/// Output records per input record (by the input's message id).
fn outputs_by_parent(s: &Story) -> BTreeMap<u64, u32> {
    let group = s.node("command-handler");
    let mut n = BTreeMap::new();
    for e in &s.trace {
        if let TraceKind::Published {
            parent: Some(p), ..
        } = e.kind
        {
            if e.node == group {
                *n.entry(p).or_insert(0) += 1;
            }
        }
    }
    n
}

#[test]
fn the_check_cannot_be_combined_with_transactions() {
    let mut v: Value = serde_json::from_str(&race(Some(true), "default")).unwrap();
    v["consumer_groups"][0]["output"]["transactional"] = json!(true);
    v["consumer_groups"][0]["commit"] = json!({ "after_processing": { "per": "batch" } });
    let err = scenario::load(&v.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("consumer_groups[0].output.expected_version: cannot be combined with a transactional output"),
        "{err}"
    );
    let mut v: Value = serde_json::from_str(&race(Some(true), "default")).unwrap();
    v["consumer_groups"][0]["output"]["expected_version"] = json!("yes");
    let err = scenario::load(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("expected_version"), "{err}");
}

/// Five commands for one account, 100 ms apart, into one partition; deciding
/// takes 10 ms plus 1 ms per event replayed to load the account.
fn loads(snapshot_every: Option<u32>) -> String {
    let mut output =
        json!({ "topic": "events", "expected_version": true, "replay_per_event": "1ms" });
    if let Some(n) = snapshot_every {
        output["snapshot_every"] = json!(n);
    }
    json!({
        "title": "loads", "duration": "5s",
        "producers": [{ "id": "api", "to": "commands", "rate": "10/s", "arrival": "constant",
                        "count": 5, "keys": { "random_of_n": 1 } }],
        "topics": [{ "id": "commands", "partitions": 1 }, { "id": "events", "partitions": 1 }],
        "consumer_groups": [{ "id": "handler", "topics": ["commands"], "members": 1,
                              "auto_offset_reset": "earliest",
                              "service": { "constant": "10ms" }, "output": output }]
    })
    .to_string()
}

/// Service times of the group's processed records, in order [µs].
fn service_times(s: &Story) -> Vec<u64> {
    s.trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Processed { service_us, .. } => Some(service_us),
            _ => None,
        })
        .collect()
}

#[test]
fn loading_an_aggregate_replays_its_history_unless_a_snapshot_cuts_it() {
    // Record i reads version i: without snapshots it replays i events.
    let s = story(&loads(None), 5 * S);
    assert_eq!(
        service_times(&s),
        vec![10 * MS, 11 * MS, 12 * MS, 13 * MS, 14 * MS],
        "10 ms + 1 ms per event so far"
    );
    let g = group_json(&s.engine, "handler");
    assert_eq!(
        (
            g["loads"].as_u64(),
            g["events_replayed"].as_u64(),
            g["snapshots"].as_u64()
        ),
        (Some(5), Some(10), Some(0)),
        "{g}"
    );
    // A snapshot at versions 2 and 4: record i replays i mod 2 events.
    let s = story(&loads(Some(2)), 5 * S);
    assert_eq!(
        service_times(&s),
        vec![10 * MS, 11 * MS, 10 * MS, 11 * MS, 10 * MS]
    );
    let saved: Vec<u32> = s
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::SnapshotSaved { version, .. } => Some(version),
            _ => None,
        })
        .collect();
    assert_eq!(saved, vec![2, 4], "a snapshot at every second version");
    let g = group_json(&s.engine, "handler");
    assert_eq!(
        (g["events_replayed"].as_u64(), g["snapshots"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn the_snapshots_preset_keeps_the_latency_flat() {
    let lane = |name: &str| {
        let e = run_variant("event-store-snapshots", name, 90 * S);
        group_json(&e, "command-handler")
    };
    let (none, every50) = (lane("no-snapshots"), lane("snapshot-every-50"));
    let per_load =
        |g: &Value| g["events_replayed"].as_f64().unwrap() / g["loads"].as_f64().unwrap();
    // About 10 events a second per account over 90 s: half of 900 on average.
    assert!((400.0..500.0).contains(&per_load(&none)), "{none}");
    assert!(
        per_load(&every50) < 25.0,
        "at most 49, about 24.5 on average: {every50}"
    );
    assert_eq!(none["snapshots"], 0);
    assert!(
        every50["snapshots"].as_u64().unwrap() >= 4 * 17,
        "each account passes 850 versions: {every50}"
    );
    let mean = |g: &Value| g["latency_us"]["mean"].as_f64().unwrap();
    assert!(
        mean(&none) > 3.0 * mean(&every50),
        "{} vs {}",
        mean(&none),
        mean(&every50)
    );
}

/// The load error of scenario `json` after `edit` (which must make it invalid).
fn load_error(json: &str, edit: &dyn Fn(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(json).unwrap();
    edit(&mut v);
    scenario::load(&v.to_string()).unwrap_err().to_string()
}

#[test]
fn replay_and_snapshot_settings_need_an_event_store() {
    let err = |f: &dyn Fn(&mut Value)| load_error(&loads(Some(2)), f);
    let e = err(&|v| {
        v["consumer_groups"][0]["output"]
            .as_object_mut()
            .unwrap()
            .remove("expected_version");
    });
    assert!(
        e.contains("consumer_groups[0].output.replay_per_event: applies only to an event store"),
        "{e}"
    );
    let e = err(&|v| {
        v["consumer_groups"][0]["output"]
            .as_object_mut()
            .unwrap()
            .remove("replay_per_event");
    });
    assert!(
        e.contains(
            "consumer_groups[0].output.snapshot_every: applies only when loading costs time"
        ),
        "{e}"
    );
    let e = err(&|v| v["consumer_groups"][0]["output"]["snapshot_every"] = json!(0));
    assert!(
        e.contains("consumer_groups[0].output.snapshot_every: must be between 1 and 1000000"),
        "{e}"
    );
}

/// The `no-check` lane with the check switched on at `on_s` (by a scheduled
/// command) and off again at `off_s`, invariants checked after every event.
fn switched(on_s: u64, off_s: u64, until_s: u64) -> Story {
    let (mut s, seed) = variant("no-check");
    let mut j = serde_json::to_value(&s).unwrap();
    j["schedule"] = json!([
        { "at": format!("{on_s}s"), "command": { "do": "set_expected_version", "group": "command-handler", "expected_version": true } },
        { "at": format!("{off_s}s"), "command": { "do": "set_expected_version", "group": "command-handler", "expected_version": false } }
    ]);
    s = scenario::load(&j.to_string()).unwrap();
    let mut e = Engine::new(s, seed).unwrap();
    e.set_trace_capture(true, 1 << 22);
    run_checked(&mut e, until_s * S);
    let trace = e.take_trace();
    Story { engine: e, trace }
}

/// Switch `group`'s check on, live.
fn switch(e: &mut Engine, group: &str) -> Result<(), String> {
    e.submit(scenario::Command::SetExpectedVersion {
        group: group.into(),
        expected_version: true,
    })
    .map_err(|e| e.to_string())
}

#[test]
fn switching_the_check_at_run_time_stops_stale_writes_and_starts_refusals() {
    let s = switched(10, 20, 30);
    let at = |kind: fn(&TraceKind) -> bool| -> Vec<u64> {
        s.trace
            .iter()
            .filter(|e| kind(&e.kind))
            .map(|e| e.t.0)
            .collect()
    };
    let stale = at(|k| matches!(k, TraceKind::StaleWrite { .. }));
    let refused = at(|k| matches!(k, TraceKind::VersionConflict { .. }));
    // Unchecked before 10 s and after 20 s: stale writes, no refusal; checked
    // in between: refusals, and no stale write decided there.
    assert!(
        stale.iter().filter(|&&t| t < 10 * S).count() > 20,
        "{stale:?}"
    );
    assert!(
        stale.iter().filter(|&&t| t > 20 * S).count() > 20,
        "{stale:?}"
    );
    assert!(
        stale.iter().all(|&t| t <= 10 * S || t >= 20 * S),
        "no stale write while checked: {stale:?}"
    );
    assert!(refused.len() > 20, "{refused:?}");
    assert!(
        refused.iter().all(|&t| t >= 10 * S && t <= 20 * S),
        "refusals only while checked: {refused:?}"
    );
    let g = group_json(&s.engine, "command-handler");
    assert_eq!(g["expected_version"], false, "switched off again: {g}");
    assert_eq!(g["stale_writes"].as_u64(), Some(stale.len() as u64));
    assert_eq!(g["version_conflicts"].as_u64(), Some(refused.len() as u64));
    // Both switches are traced as applied, at their times.
    let applied = at(|k| {
        matches!(
            k,
            TraceKind::CommandApplied {
                scheduled: true,
                ..
            }
        )
    });
    assert_eq!(applied, vec![10 * S, 20 * S]);
    // The same switch submitted live at 10 s gives the same run.
    let (s1, seed) = variant("no-check");
    let mut e = Engine::new(s1, seed).unwrap();
    run_checked(&mut e, 10 * S);
    switch(&mut e, "command-handler").unwrap();
    run_checked(&mut e, 20 * S);
    let live = group_json(&e, "command-handler");
    let s2 = switched(10, 40, 20);
    let scheduled = group_json(&s2.engine, "command-handler");
    assert_eq!(live["version_conflicts"], scheduled["version_conflicts"]);
    assert_eq!(live["stale_writes"], scheduled["stale_writes"]);
}

#[test]
fn the_check_switches_only_on_an_event_store() {
    // Live: a group whose output does not track versions is refused, by name.
    let mut e = Engine::new(scenario::load(&race(None, "round_robin")).unwrap(), 1).unwrap();
    let err = switch(&mut e, "handler").unwrap_err();
    assert!(err.contains("handler has no event-store output"), "{err}");
    let err = switch(&mut e, "nobody").unwrap_err();
    assert!(err.contains("nobody"), "{err}");
    // In a file: the schedule names the field.
    let mut v: Value = serde_json::from_str(&race(None, "round_robin")).unwrap();
    v["schedule"] = json!([{ "at": "1s", "command": { "do": "set_expected_version", "group": "handler", "expected_version": true } }]);
    let err = scenario::load(&v.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("schedule[0].command.group") && err.contains("no event-store output"),
        "{err}"
    );
    v["schedule"][0]["command"]["expected_version"] = json!("yes");
    let err = scenario::load(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("schedule[0]"), "{err}");
    // Tracked (false): switching is accepted.
    let mut e = Engine::new(
        scenario::load(&race(Some(false), "round_robin")).unwrap(),
        1,
    )
    .unwrap();
    switch(&mut e, "handler").unwrap();
}

/// The hand-timed race with `conflict_retries` and, optionally, an
/// `on_failure` policy.
fn race_with_limit(retries: u32, on_failure: Option<Value>) -> String {
    let mut v: Value = serde_json::from_str(&race(Some(true), "round_robin")).unwrap();
    let g = &mut v["consumer_groups"][0];
    g["output"]["conflict_retries"] = json!(retries);
    if let Some(f) = on_failure {
        g["on_failure"] = f;
        v["topics"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "id": "commands-dlt", "partitions": 1 }));
    }
    v.to_string()
}

/// (t after the first command's append, msg) of every `Failed` event.
fn failures(s: &Story, first_start: u64) -> Vec<(u64, u64)> {
    s.trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Failed { .. }))
        .map(|e| (e.t.0 - first_start, e.msg.unwrap()))
        .collect()
}

#[test]
fn past_its_conflict_retries_a_command_fails_and_the_failure_policy_takes_it() {
    // One reload allowed: B's single conflict is reloaded as without a limit.
    let s = story(&race_with_limit(1, None), 5 * S);
    let first_start = appends(&s, "commands")[0].0;
    assert!(failures(&s, first_start).is_empty());
    let events = appends(&s, "events");
    assert_eq!(
        events.iter().map(|e| e.0 - first_start).collect::<Vec<_>>(),
        vec![150 * MS, 400 * MS]
    );
    let g = group_json(&s.engine, "handler");
    assert_eq!(
        (
            g["version_conflicts"].as_u64(),
            g["conflict_give_ups"].as_u64()
        ),
        (Some(1), Some(0))
    );

    // None allowed, and a dead-letter topic after one attempt: B's conflict at
    // +250 ms fails the attempt there, and B goes to the dead-letter topic
    // instead of the store; A's event is the only one.
    let dlt = json!({ "dead_letter": { "topic": "commands-dlt", "attempts": 1 } });
    let s = story(&race_with_limit(0, Some(dlt)), 5 * S);
    let cmds = appends(&s, "commands");
    let (first_start, b) = (cmds[0].0, cmds[1].1);
    assert_eq!(failures(&s, first_start), vec![(250 * MS, b)]);
    assert_eq!(
        appends(&s, "events")
            .iter()
            .map(|e| e.0 - first_start)
            .collect::<Vec<_>>(),
        vec![150 * MS],
        "B's event is never appended"
    );
    assert_eq!(appends(&s, "commands-dlt").len(), 1, "B is dead-lettered");
    let g = group_json(&s.engine, "handler");
    assert_eq!(g["version_conflicts"], 1);
    assert_eq!(g["conflict_give_ups"], 1);
    assert_eq!(g["failed"], 1, "{g}");
    assert_eq!(g["processed"], 1, "only A");

    // None allowed, default failure handling (retry in place, no back-off):
    // the failed attempt starts again at once, reloads version 1, and B's
    // event is appended a service time later, as with a reload.
    let s = story(&race_with_limit(0, None), 5 * S);
    let first_start = appends(&s, "commands")[0].0;
    assert_eq!(failures(&s, first_start).len(), 1);
    assert_eq!(
        appends(&s, "events")
            .iter()
            .map(|e| e.0 - first_start)
            .collect::<Vec<_>>(),
        vec![150 * MS, 400 * MS]
    );
    let g = group_json(&s.engine, "handler");
    assert_eq!(
        (g["conflict_give_ups"].as_u64(), g["processed"].as_u64()),
        (Some(1), Some(2))
    );
}

#[test]
fn conflict_retries_needs_an_event_store_and_a_bound() {
    let err = |f: &dyn Fn(&mut Value)| load_error(&race_with_limit(3, None), f);
    let e = err(&|v| {
        v["consumer_groups"][0]["output"]
            .as_object_mut()
            .unwrap()
            .remove("expected_version");
    });
    assert!(
        e.contains("consumer_groups[0].output.conflict_retries: applies only to an event store"),
        "{e}"
    );
    let e = err(&|v| v["consumer_groups"][0]["output"]["conflict_retries"] = json!(1001));
    assert!(
        e.contains("consumer_groups[0].output.conflict_retries: must be at most 1000"),
        "{e}"
    );
    // Checked off (observed only) is still an event store: accepted.
    let mut v: Value = serde_json::from_str(&race_with_limit(3, None)).unwrap();
    v["consumer_groups"][0]["output"]["expected_version"] = json!(false);
    assert!(scenario::load(&v.to_string()).is_ok());
}
