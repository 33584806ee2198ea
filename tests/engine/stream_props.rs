//! Property tests of the Kafka half: random topics, producers, groups, crashes,
//! joins, leaves, seeks and partition growth; every invariant after every event,
//! then trace-level checks.
//!
//!   genome ──grammar──► scenario JSON (topics, groups) ──► Engine(seed) ──step──► check_invariants
//!          commands (add / remove / crash member, seek, increase partitions) ──submit──┘
//!
//! Trace checks: a group's committed offset for a partition never moves back
//! except by a seek; per partition a group processes in offset order between
//! (re)assignments and seeks; and, without crashes, seeks or retention, with
//! commit-after-processing, every record is processed exactly once per group
//! and, for a group writing to an event store with the expected-version
//! check, stored exactly once (a refused append is processed again).
//! Genes work as in `props.rs` (0 is always the simplest choice).

use crate::props::Genes;
use proptest::prelude::*;
use queuelab::engine::{Command, Engine, NodeId, SimTime, TraceEvent, TraceKind};
use queuelab::scenario::{self, SeekTo};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn one<T: Clone>(g: &mut Genes, xs: &[T]) -> T {
    xs[g.pick(xs.len() as u32) as usize].clone()
}

/// `faults`: allow crashes, seeks and retention (else exactly-once must hold).
fn scenario_json(g: &mut Genes, faults: bool) -> Value {
    let nt = 1 + g.pick(2) as usize;
    let mut topics = Vec::new();
    for t in 0..nt {
        let mut topic = json!({ "id": format!("t{t}"), "partitions": 1 + g.pick(8) });
        if faults {
            match g.pick(4) {
                1 => topic["retention"] = json!({ "records": 1 + g.pick(30) }),
                2 => {
                    topic["retention"] =
                        json!({ "time": one(g, &["50ms", "300ms"]), "check_interval": "20ms" })
                }
                3 => {
                    topic["cleanup"] = json!("compact");
                    topic["compaction_interval"] = json!(one(g, &["50ms", "500ms"]));
                }
                _ => {}
            }
        }
        topics.push(topic);
    }
    let np = 1 + g.pick(2) as usize;
    let mut producers = Vec::new();
    for p in 0..np {
        let to = format!("t{}", g.pick(nt as u32));
        let mut prod = json!({
            "id": format!("p{p}"), "to": to,
            "rate": one(g, &["100/s", "300/s", "600/s"]),
            "arrival": one(g, &[json!("poisson"), json!("constant"), json!({ "bursts": { "size": 7 } })]),
            "keys": { "random_of_n": 1 + g.pick(40) },
        });
        match g.pick(4) {
            1 => {
                prod.as_object_mut().unwrap().remove("keys");
            }
            2 => prod["partitioner"] = json!("round_robin"),
            3 => prod["partition"] = json!(0),
            _ => {}
        }
        if g.pick(2) == 1 {
            prod["linger"] = json!(one(g, &["1ms", "10ms"]));
            prod["batch_size"] = json!(1 + g.pick(20));
        }
        if g.pick(2) == 1 {
            prod["latency"] = json!("2ms");
        }
        if g.pick(3) == 1 {
            // The window of in-flight batches (1..=5: idempotent by default).
            prod["max_in_flight"] = json!(1 + g.pick(5));
        }
        producers.push(prod);
    }
    // A compacted topic needs keyed producers.
    for prod in producers.iter_mut() {
        let to = prod["to"].as_str().unwrap().to_string();
        let compact = topics
            .iter()
            .any(|t| t["id"] == json!(to) && t["cleanup"] == json!("compact"));
        if compact && prod.get("keys").is_none() {
            prod["keys"] = json!({ "fixed": "k" });
        }
    }
    let ng = 1 + g.pick(2) as usize;
    let mut groups = Vec::new();
    for k in 0..ng {
        let topics_of: Vec<String> = if nt == 2 && g.pick(2) == 1 {
            vec!["t0".into(), "t1".into()]
        } else {
            vec![format!("t{}", g.pick(nt as u32))]
        };
        let commit = if faults {
            one(
                g,
                &[
                    json!({ "after_processing": { "per": "record" } }),
                    json!({ "after_processing": { "per": "batch" } }),
                    json!("before_processing"),
                    json!({ "auto": { "interval": "30ms" } }),
                ],
            )
        } else {
            one(
                g,
                &[
                    json!({ "after_processing": { "per": "record" } }),
                    json!({ "after_processing": { "per": "batch" } }),
                ],
            )
        };
        // Failed records: the default (in place, for ever) or one of the
        // `on_failure` modes, with topics of the group's own to move them to.
        let on_failure = if faults {
            let own = |name: &str, topics: &mut Vec<Value>, g: &mut Genes| {
                let id = format!("g{k}-{name}");
                topics.push(json!({ "id": id, "partitions": 1 + g.pick(3) }));
                id
            };
            match g.pick(5) {
                1 => {
                    json!({ "blocking": { "backoff": one(g, &["0ms", "5ms"]), "attempts": 1 + g.pick(3) } })
                }
                2 => json!("skip"),
                3 => {
                    let dlt = own("dlt", &mut topics, g);
                    json!({ "dead_letter": { "topic": dlt, "attempts": 1 + g.pick(2), "backoff": "2ms" } })
                }
                4 => {
                    let r0 = own("r0", &mut topics, g);
                    let r1 = own("r1", &mut topics, g);
                    let dlt = own("dlt", &mut topics, g);
                    json!({ "retry_topics": {
                        "topics": [{ "topic": r0, "delay": one(g, &["1ms", "20ms"]) },
                                   { "topic": r1, "delay": "50ms" }],
                        "dead_letter": dlt } })
                }
                _ => Value::Null,
            }
        } else {
            Value::Null
        };
        groups.push(json!({
            "id": format!("g{k}"), "topics": topics_of,
            "members": g.pick(5),
            "service": one(g, &[json!({ "constant": "1ms" }), json!({ "exponential": "3ms" }), json!({ "uniform": ["1ms", "8ms"] })]),
            "failure_rate": one(g, &[0.0, 0.2]),
            "assignment": one(g, &["range", "round_robin", "cooperative_sticky"]),
            "max_poll_records": one(g, &[1, 5, 500]),
            "session_timeout": one(g, &["20ms", "200ms"]),
            "max_poll_interval": if faults { one(g, &["12ms", "300s"]) } else { "300s" },
            "rebalance_pause": one(g, &["0ms", "30ms"]),
            "commit": commit,
            "auto_offset_reset": if faults { one(g, &["earliest", "latest"]) } else { "earliest" },
        }));
        if !on_failure.is_null() {
            groups[k]["on_failure"] = on_failure;
        }
    }
    // Read-process-write to a topic of the group's own, sometimes as an
    // event store (`expected_version`: checked, observed only, or off).
    for (k, group) in groups.iter_mut().enumerate() {
        if g.pick(3) == 0 {
            continue;
        }
        let id = format!("g{k}-out");
        topics.push(json!({ "id": id, "partitions": 1 + g.pick(3) }));
        let mut output = json!({ "topic": id });
        match g.pick(3) {
            1 => output["expected_version"] = json!(true),
            2 => output["expected_version"] = json!(false),
            _ => {}
        }
        // Loading an aggregate costs time, sometimes cut by snapshots.
        if !output["expected_version"].is_null() && g.pick(2) == 1 {
            output["replay_per_event"] = json!("100us");
            if g.pick(2) == 1 {
                output["snapshot_every"] = json!(1 + g.pick(5));
            }
        }
        // A bounded number of reloads after conflicts (then the attempt
        // fails and the group's failure handling takes the record).
        if output["expected_version"] == json!(true) && g.pick(2) == 1 {
            output["conflict_retries"] = json!(g.pick(3));
        }
        group["output"] = output;
    }
    json!({
        "title": "stream property case",
        "producers": producers,
        "topics": topics,
        "consumer_groups": groups,
    })
}

fn commands(g: &mut Genes, s: &Value, faults: bool) -> Vec<(u64, Command)> {
    let groups: Vec<String> = s["consumer_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    let topics: Vec<(String, u32)> = s["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().to_string(),
                x["partitions"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    // Groups whose output is an event store: their check can be switched.
    let stores: Vec<String> = s["consumer_groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !x["output"]["expected_version"].is_null())
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    let mut t = 0;
    let mut out = Vec::new();
    for _ in 0..g.pick(8) {
        t += 1 + g.pick(300) as u64 * 1000;
        if !stores.is_empty() && g.pick(6) == 0 {
            let group = one(g, &stores);
            out.push((
                t,
                Command::SetExpectedVersion {
                    group,
                    expected_version: g.pick(2) == 1,
                },
            ));
            continue;
        }
        let group = one(g, &groups);
        let kinds = if faults { 6 } else { 3 };
        let cmd = match g.pick(kinds) {
            0 => Command::AddMember { group },
            1 => Command::RemoveMember {
                group,
                member: None,
            },
            2 => {
                let (topic, n) = one(g, &topics);
                Command::IncreasePartitions {
                    topic,
                    partitions: n + 1 + g.pick(3),
                }
            }
            3 => Command::CrashMember {
                group,
                member: g.pick(5),
            },
            // A GC pause, shorter or longer than the session timeout.
            4 => Command::PauseMember {
                group,
                member: g.pick(5),
                duration: queuelab::scenario::Duration::from_ms(one(g, &[10, 150, 400])),
            },
            _ => {
                // All partitions, or partition 0 of one of the group's topics.
                let read: Vec<String> = s["consumer_groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["id"] == group.as_str())
                    .map(|x| {
                        x["topics"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|t| t.as_str().unwrap().to_string())
                            .collect()
                    })
                    .unwrap();
                let (partition, topic) = if g.pick(2) == 1 {
                    (Some(0), Some(one(g, &read)))
                } else {
                    (None, None)
                };
                Command::SeekGroup {
                    group,
                    to: one(g, &[SeekTo::Beginning, SeekTo::End, SeekTo::Offset(3)]),
                    partition,
                    topic,
                }
            }
        };
        out.push((t, cmd));
    }
    out
}

/// Run with invariants after every event and the trace kept; stop producers at
/// `stop_us` by pausing them, then drain until `until_us`.
fn run(
    json: &Value,
    seed: u64,
    cmds: &[(u64, Command)],
    stop_us: u64,
    until_us: u64,
) -> Result<(Engine, Vec<TraceEvent>), String> {
    let s = scenario::load(&json.to_string()).map_err(|e| format!("invalid: {e}"))?;
    let mut e = Engine::new(s, seed).map_err(|e| e.to_string())?;
    e.set_trace_capture(true, 1 << 22);
    let mut trace = Vec::new();
    let mut pending: Vec<(u64, Command)> = cmds.to_vec();
    let producers: Vec<String> = e.config().producers.iter().map(|p| p.id.clone()).collect();
    pending.extend(
        producers
            .into_iter()
            .map(|producer| (stop_us, Command::PauseProducer { producer })),
    );
    pending.sort_by_key(|(t, _)| *t);
    let mut budget = 2_000_000u64;
    let mut next = 0;
    loop {
        let t_cmd = pending.get(next).map(|(t, _)| *t).unwrap_or(u64::MAX);
        match e.next_event_time() {
            Some(t) if t.0 <= until_us && t.0 <= t_cmd => {
                e.step();
                budget = budget.checked_sub(1).ok_or("event budget exhausted")?;
                e.check_invariants()
                    .map_err(|w| format!("at {} (event {}): {w}", e.now(), e.events()))?;
            }
            _ if t_cmd <= until_us => {
                e.run_until(SimTime(t_cmd), 0);
                // Refused commands (e.g. crashing a member that is not there) are fine.
                let _ = e.submit(pending[next].1.clone());
                e.check_invariants()
                    .map_err(|w| format!("after a command at {}: {w}", e.now()))?;
                next += 1;
            }
            _ => break,
        }
        trace.extend(e.take_trace());
    }
    trace.extend(e.take_trace());
    Ok((e, trace))
}

/// Commits never go back except by a seek; processing is in offset order per
/// (group, partition) between assignments and seeks — except by a zombie (a
/// member evicted during a pause) finishing its batch when it wakes, and by
/// a member that left at a poll timeout finishing its batch (until its
/// commit fails).
fn check_trace(trace: &[TraceEvent]) -> Result<(), String> {
    let mut zombie: Option<(NodeId, u32, u64)> = None;
    let mut left: std::collections::BTreeSet<(NodeId, u32)> = Default::default();
    // msg → (topic node, partition, offset)
    let mut place: BTreeMap<u64, (NodeId, u32, u64)> = BTreeMap::new();
    let mut committed: BTreeMap<(NodeId, NodeId, u32), u64> = BTreeMap::new();
    let mut last: BTreeMap<(NodeId, NodeId, u32), u64> = BTreeMap::new();
    for ev in trace {
        match ev.kind {
            TraceKind::Appended {
                partition, offset, ..
            } => {
                place.insert(ev.msg.unwrap(), (ev.node, partition, offset));
            }
            TraceKind::Committed {
                topic,
                partition,
                offset,
            } => {
                let k = (ev.node, topic, partition);
                if committed.get(&k).is_some_and(|&c| offset < c) {
                    return Err(format!("commit went back at {}: {k:?} to {offset}", ev.t));
                }
                committed.insert(k, offset);
            }
            TraceKind::Seeked {
                topic,
                partition,
                offset,
            } => {
                committed.insert((ev.node, topic, partition), offset);
                last.remove(&(ev.node, topic, partition));
            }
            TraceKind::Assigned {
                topic, partition, ..
            } => {
                last.remove(&(ev.node, topic, partition));
            }
            TraceKind::MemberResumed {
                member,
                evicted: true,
            } => zombie = Some((ev.node, member, ev.t.0)),
            TraceKind::Processed { instance, .. }
                if zombie == Some((ev.node, instance, ev.t.0)) => {}
            TraceKind::PollTimeout { member } => {
                left.insert((ev.node, member));
            }
            TraceKind::CommitFailed { member } => {
                left.remove(&(ev.node, member));
            }
            TraceKind::Processed { instance, .. } if left.contains(&(ev.node, instance)) => {}
            TraceKind::Processed { .. } => {
                let Some(&(topic, partition, offset)) = ev.msg.and_then(|m| place.get(&m)) else {
                    continue; // an AMQP message, not a record
                };
                let k = (ev.node, topic, partition);
                if last.get(&k).is_some_and(|&o| offset <= o) {
                    return Err(format!(
                        "out of order at {}: {k:?} offset {offset} after {}",
                        ev.t, last[&k]
                    ));
                }
                last.insert(k, offset);
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_case(genome: &[u32], seed: u64, faults: bool) -> Result<(), String> {
    let mut g = Genes { g: genome, at: 0 };
    let json = scenario_json(&mut g, faults);
    let cmds = commands(&mut g, &json, faults);
    let report = |why: String| {
        format!(
            "{why}\nseed {seed}\nscenario {}\ncommands {cmds:?}",
            serde_json::to_string_pretty(&json).unwrap()
        )
    };
    // Without faults, run until nothing is left to do, so every group drains.
    let until = if faults { 4_000_000 } else { 3_600_000_000 };
    let (e, trace) = run(&json, seed, &cmds, 1_000_000, until).map_err(report)?;
    check_trace(&trace).map_err(report)?;
    if !faults {
        // Every record appended to a group's topics is processed exactly once
        // by that group (when the group has members at the end).
        for n in e.snapshot().nodes {
            let queuelab::engine::view::NodeView::Group(gv) = n else {
                continue;
            };
            let live = gv.members.iter().any(|m| m.up && m.in_group);
            if !live || gv.members.is_empty() {
                continue;
            }
            let appended: u64 = gv
                .topics
                .iter()
                .map(|t| crate::streams::topic(&e, t).appended)
                .sum();
            if gv.processed != appended || gv.reprocessed != 0 || gv.skipped != 0 || gv.lag != 0 {
                return Err(report(format!(
                    "group {}: processed {} of {appended}, reprocessed {}, skipped {}, lag {}",
                    gv.id, gv.processed, gv.reprocessed, gv.skipped, gv.lag
                )));
            }
            // An event store with the check: a refused append is processed
            // again, so every record lands in the store exactly once.
            if let Some(es) = gv.event_store {
                let out = crate::streams::topic(&e, &format!("{}-out", gv.id)).appended;
                if es.expected_version && out != gv.processed {
                    return Err(report(format!(
                        "group {}: {out} events stored for {} records processed ({} conflicts)",
                        gv.id, gv.processed, es.version_conflicts
                    )));
                }
            }
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("QL_PROP_CASES").unwrap_or(32) as u32,
        rng_seed: proptest::test_runner::RngSeed::Fixed(env("QL_PROP_SEED").unwrap_or(0x5eed_0008)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn stream_invariants_hold_after_every_event(
        genome in prop::collection::vec(any::<u32>(), 20..120),
        seed in any::<u64>(),
    ) {
        if let Err(why) = check_case(&genome, seed, true) {
            prop_assert!(false, "{}", why);
        }
    }

    #[test]
    fn without_faults_every_record_is_processed_exactly_once_per_group(
        genome in prop::collection::vec(any::<u32>(), 20..120),
        seed in any::<u64>(),
    ) {
        if let Err(why) = check_case(&genome, seed, false) {
            prop_assert!(false, "{}", why);
        }
    }
}
