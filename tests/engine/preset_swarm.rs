//! The preset swarm: every preset, mutated, run with every invariant
//! checked after every event, for a wall-clock budget; each case is fixed
//! by the one number a failure prints.
//!
//!   case seed ──Stream──► preset + 1–4 mutations ──load──► invalid: counted, skipped
//!                                                    └───► run, check_invariants after every event
//!                                                          (1 case in 8: run again, same trace hash)
//!
//! Where the seed swarm (`swarm.rs`) draws AMQP topologies from a grammar,
//! this one starts from the presets, so it reaches every broker family the
//! presets cover (Kafka, Pulsar, SQS, Redis, the event store) with their
//! schedules of faults and knobs. A mutation keeps a value's type: a whole
//! number is scaled (×0, ×½, ×2, ×3, ×10, ±1, never below 0), a fraction
//! scaled, a switch flipped, a text replaced by a value the same field has
//! in some preset (a duration, a rate, a mode); ids and references are left
//! alone, so most mutants are valid scenarios. Up to `EVENTS_MAX` events a
//! case. It found a Key_Shared dispatch that did O(held-back messages)
//! work per arrival (`pulsar_key_shared.rs`).
//!
//! Environment: `QL_PRESET_SWARM_SECS` (else `QL_SWARM_SECS`, else 3),
//! `QL_PRESET_SWARM_SEED` (base seed; default from the clock, printed),
//! `QL_PRESET_SWARM_CASE` (run only this case seed; with `QL_PRESET_SWARM_PRINT`
//! set, only print its scenario).

use crate::swarm::{base_seed, case_seed, env_u64, panic_text, run_budgeted};
use queuelab::engine::prng::Stream;
use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::{load, presets};
use serde_json::Value;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Events a case runs at most (invariants are checked after each; some
/// cost O(messages alive), which an unoptimized build, as CI's, feels: a
/// 40,000-event case of a large preset took it 50 s).
const EVENTS_MAX: u64 = if cfg!(debug_assertions) {
    8_000
} else {
    40_000
};

/// Fields that name other parts of the scenario (or describe it): left alone.
const KEEP: &[&str] = &[
    "id",
    "to",
    "queue",
    "queues",
    "topic",
    "topics",
    "exchange",
    "source",
    "destination",
    "subscription",
    "group",
    "producer",
    "consumer",
    "member",
    "stream",
    "channel",
    "dead_letter_exchange",
    "dead_letter_queue",
    "name",
    "title",
    "description",
    "expect",
    "variants",
    "theory",
];

/// Every text value each field name has in some preset (the mutation pool).
fn pools() -> BTreeMap<String, Vec<String>> {
    fn walk(v: &Value, key: Option<&str>, out: &mut BTreeMap<String, Vec<String>>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, Some(k), out)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, key, out)),
            Value::String(s) => {
                if let Some(k) = key {
                    out.entry(k.to_string()).or_default().push(s.clone());
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for p in presets() {
        walk(&serde_json::from_str(p.json).unwrap(), None, &mut out);
    }
    out
}

/// Paths (object keys and array indexes) to the leaves a mutation may change.
fn leaves(v: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if !KEEP.contains(&k.as_str()) {
                    path.push(Value::String(k.clone()));
                    leaves(x, path, out);
                    path.pop();
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Value::from(i));
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k {
        Value::String(k) => &mut v[k.as_str()],
        _ => &mut v[k.as_u64().unwrap() as usize],
    })
}

/// The field name a leaf belongs to (its last key; an array's own key).
fn field(path: &[Value]) -> Option<&str> {
    path.iter().rev().find_map(|k| k.as_str())
}

fn mutate(s: &mut Value, r: &mut Stream, pools: &BTreeMap<String, Vec<String>>) {
    let mut out = Vec::new();
    leaves(s, &mut Vec::new(), &mut out);
    if out.is_empty() {
        return;
    }
    let path = &out[r.below(out.len() as u64) as usize];
    let pool = field(path).and_then(|f| pools.get(f));
    let leaf = at(s, path);
    *leaf = match leaf.clone() {
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) if n.is_u64() || n.is_i64() => {
            let x = n.as_i64().unwrap_or(i64::MAX) as f64;
            let scaled = x * [0.0, 0.5, 2.0, 3.0, 10.0][r.below(5) as usize];
            let nudged = scaled as i64 + [0, 1, -1][r.below(3) as usize];
            Value::from(nudged.max(0))
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0) * [0.0, 0.5, 2.0, 10.0][r.below(4) as usize];
            serde_json::Number::from_f64(x).map_or(Value::from(0), Value::Number)
        }
        Value::String(t) => match pool {
            Some(p) if !p.is_empty() => Value::String(p[r.below(p.len() as u64) as usize].clone()),
            _ => Value::String(t),
        },
        other => other,
    };
}

/// The scenario of a case: a preset and 1–4 mutations, as JSON text.
fn case(case_seed: u64, pools: &BTreeMap<String, Vec<String>>) -> (String, String, u64) {
    let mut r = Stream::new(case_seed, "preset-swarm");
    let all = presets();
    let p = &all[r.below(all.len() as u64) as usize];
    let mut s: Value = serde_json::from_str(p.json).unwrap();
    for _ in 0..1 + r.below(4) {
        mutate(&mut s, &mut r, pools);
    }
    if let Some(m) = s.as_object_mut() {
        m.remove("expect");
        m.remove("variants");
    }
    (p.name.to_string(), s.to_string(), r.next_u64())
}

/// Run the scenario to its duration or `EVENTS_MAX` events; the trace hash.
fn run(json: &str, seed: u64, check: bool) -> Result<u64, String> {
    let s = load(json).map_err(|e| format!("became invalid: {e}"))?;
    let until = SimTime(s.duration.us());
    let mut e = Engine::new(s, seed).map_err(|e| format!("engine refused it: {e}"))?;
    let mut events = 0;
    while e.next_event_time().is_some_and(|t| t.0 <= until.0) && events < EVENTS_MAX {
        e.step();
        events += 1;
        if check {
            e.check_invariants()
                .map_err(|why| format!("at {} (event {events}): {why}", e.now()))?;
        }
    }
    Ok(e.trace_hash())
}

/// One case: `Ok(None)` for an invalid mutant, `Ok(Some(()))` for a run
/// that kept every invariant, `Err` with what went wrong (panics caught).
fn run_case(c: u64, pools: &BTreeMap<String, Vec<String>>) -> Result<bool, String> {
    let (name, json, seed) = case(c, pools);
    // Validation runs inside the catch too: a mutant may reach a check
    // no preset does.
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<bool, String> {
        if load(&json).is_err() {
            return Ok(false);
        }
        let h = run(&json, seed, true)?;
        if c % 8 == 0 {
            let again = run(&json, seed, false)?;
            if again != h {
                return Err(format!("trace hash {h:016x}, then {again:016x}"));
            }
        }
        Ok(true)
    }));
    let why = match outcome {
        Ok(Ok(valid)) => return Ok(valid),
        Ok(Err(why)) => why,
        Err(panic) => panic_text(&*panic),
    };
    Err(format!(
        "PRESET SWARM FAILURE, case seed {c} (a mutant of {name}, engine seed {seed})\n\
         reproduce: QL_PRESET_SWARM_CASE={c} cargo test --release --test engine preset_swarm -- --nocapture\n\
         {why}\nscenario: {json}"
    ))
}

#[test]
fn preset_swarm_keeps_every_invariant() {
    let pools = pools();
    if let Some(c) = env_u64("QL_PRESET_SWARM_CASE") {
        let (name, json, seed) = case(c, &pools);
        eprintln!("preset swarm: case {c}, a mutant of {name}, engine seed {seed}:\n{json}");
        if std::env::var_os("QL_PRESET_SWARM_PRINT").is_some() {
            return; // the scenario only, to run with the CLI
        }
        match run_case(c, &pools) {
            Ok(valid) => eprintln!("preset swarm: case {c} passed (valid mutant: {valid})"),
            Err(why) => panic!("{why}"),
        }
        return;
    }
    let secs = env_u64("QL_PRESET_SWARM_SECS")
        .or_else(|| env_u64("QL_SWARM_SECS"))
        .unwrap_or(3);
    let base = base_seed("QL_PRESET_SWARM_SEED");
    eprintln!("preset swarm: base seed {base} (QL_PRESET_SWARM_SEED), budget {secs} s");
    let done = run_budgeted(secs, base, |c| {
        let t0 = Instant::now();
        let outcome = run_case(c, &pools);
        // Not a failure (machines differ), but worth a look: mostly the
        // invariants (some cost O(messages alive) after each event),
        // sometimes an engine doing unbounded work per event; `queuelab
        // run` on the printed scenario times the engine alone.
        if t0.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "preset swarm: case {c} took {:.1} s (QL_PRESET_SWARM_CASE={c})",
                t0.elapsed().as_secs_f64()
            );
        }
        outcome.map(u64::from)
    });
    eprintln!(
        "preset swarm: {} cases, {} valid mutants run, {} threads",
        done.cases, done.counted, done.threads
    );
    assert!(done.failures.is_empty(), "{}", done.failures.join("\n\n"));
    assert!(done.counted > 0, "no valid mutant ran within the budget");
}

#[test]
fn preset_swarm_cases_are_fixed_by_their_seed_and_mostly_valid() {
    let pools = pools();
    assert_eq!(case(7, &pools), case(7, &pools));
    assert_ne!(case(7, &pools).1, case(8, &pools).1);
    // Mutations keep types and references: most mutants load. (If this
    // falls, the swarm mostly tests validation, not the engine.)
    let valid = (0..200)
        .filter(|&i| load(&case(case_seed(1, i), &pools).1).is_ok())
        .count();
    assert!(valid >= 100, "only {valid} of 200 mutants are valid");
}
