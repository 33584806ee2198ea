//! Property tests: random topologies from a small grammar, random seeds and
//! random command sequences; every invariant is checked after every event.
//!
//!   genome (Vec<u32>) ──grammar──► scenario JSON ──► Engine(seed) ──step──► check_invariants
//!                                   commands ──submit at random instants──┘
//!
//! The scenario is built from a list of numbers read by a cursor, where 0
//! always picks the simplest option, so proptest's shrinking (towards zeros)
//! also shrinks the topology. A failure prints the seed, the scenario JSON and
//! the commands, which is everything needed to reproduce it.

use proptest::prelude::*;
use queuelab::engine::{Command, Engine, SimTime, TraceEvent, TraceKind};
use queuelab::scenario;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Reads choices from the genome; past its end every choice is 0.
pub(crate) struct Genes<'a> {
    pub(crate) g: &'a [u32],
    pub(crate) at: usize,
}

impl Genes<'_> {
    pub(crate) fn pick(&mut self, n: u32) -> u32 {
        let v = self.g.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        v % n.max(1)
    }
    /// True `in_four` times out of four; a 0 gene always says no.
    fn chance(&mut self, in_four: u32) -> bool {
        self.pick(4) + in_four >= 4
    }
    fn one<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.pick(xs.len() as u32) as usize].clone()
    }
}

const KEYS: [&str; 6] = ["a", "b", "a.b", "", "a.b.c", "b.a"];
const PATTERNS: [&str; 8] = ["a", "#", "*", "a.*", "a.#", "*.b", "", "#.c"];

fn duration(g: &mut Genes) -> String {
    g.one(&["0ms", "1ms", "5ms", "20ms", "100ms", "350ms"])
        .to_string()
}

fn service(g: &mut Genes) -> Value {
    let d = g.one(&["1ms", "10ms", "40ms", "150ms"]);
    match g.pick(4) {
        0 => json!({ "constant": d }),
        1 => json!({ "exponential": d }),
        2 => json!({ "uniform": ["1ms", d] }),
        _ => json!({ "log_normal": { "median": d, "sigma": 0.8 } }),
    }
}

/// Build a scenario from the genome.
pub(crate) fn scenario_json(g: &mut Genes) -> Value {
    let nq = 1 + g.pick(3) as usize;
    let nx = g.pick(4) as usize;
    let queue = |i: usize| format!("q{i}");
    let exch = |i: usize| format!("x{i}");

    let mut exchanges = Vec::new();
    for i in 0..nx {
        let kind = g.one(&["direct", "fanout", "topic", "headers"]);
        let mut bindings = Vec::new();
        for _ in 0..g.pick(4) {
            let mut b = serde_json::Map::new();
            if nx > 1 && g.chance(1) {
                b.insert("exchange".into(), json!(exch(g.pick(nx as u32) as usize)));
            } else {
                b.insert("queue".into(), json!(queue(g.pick(nq as u32) as usize)));
            }
            match kind {
                "direct" => {
                    b.insert("key".into(), json!(g.one(&KEYS)));
                }
                "topic" => {
                    b.insert("key".into(), json!(g.one(&PATTERNS)));
                }
                "headers" => {
                    b.insert(
                        "x_match".into(),
                        json!(g.one(&["all", "any", "all-with-x", "any-with-x"])),
                    );
                    let mut h = serde_json::Map::new();
                    for _ in 0..g.pick(3) {
                        let v = if g.chance(1) {
                            Value::Null
                        } else {
                            json!(g.one(&["1", "2"]))
                        };
                        h.insert(g.one(&["k", "x-k", "m"]).to_string(), v);
                    }
                    b.insert("headers".into(), Value::Object(h));
                }
                _ => {}
            }
            bindings.push(Value::Object(b));
        }
        let mut x = json!({ "id": exch(i), "kind": kind, "bindings": bindings });
        if nx > 1 && g.chance(1) {
            x["alternate_exchange"] = json!(exch(g.pick(nx as u32) as usize));
        }
        exchanges.push(x);
    }

    let mut queues = Vec::new();
    let mut has_dlx = vec![false; nq];
    for (i, dlx) in has_dlx.iter_mut().enumerate() {
        let mut q = json!({ "id": queue(i) });
        if g.chance(2) {
            q["max_length"] = json!(g.pick(6));
        }
        if g.chance(1) {
            q["ttl"] = json!(duration(g));
        }
        if nx > 0 && g.chance(2) {
            *dlx = true;
            q["dead_letter_exchange"] = json!(exch(g.pick(nx as u32) as usize));
            if g.chance(1) {
                q["dead_letter_routing_key"] = json!(g.one(&KEYS));
            }
        }
        // reject-publish-dlx without a DLX is valid (the refused message is dropped).
        q["overflow"] = json!(g.one(&["drop-head", "reject-publish", "reject-publish-dlx"]));
        if g.chance(1) {
            q["delivery_limit"] = json!(g.pick(3));
        }
        if g.chance(2) {
            q["max_priority"] = json!(1 + g.pick(3));
        }
        if g.chance(1) {
            q["single_active_consumer"] = json!(true);
        }
        queues.push(q);
    }

    let mut producers = Vec::new();
    for i in 0..1 + g.pick(2) as usize {
        let to = if nx > 0 && g.chance(3) {
            exch(g.pick(nx as u32) as usize)
        } else {
            queue(g.pick(nq as u32) as usize)
        };
        let mut p = json!({
            "id": format!("p{i}"),
            "to": to,
            "rate": g.one(&["20/s", "100/s", "300/s", "5/s"]),
            "arrival": match g.pick(3) { 0 => json!("poisson"), 1 => json!("constant"), _ => json!({ "bursts": { "size": 1 + g.pick(8) } }) },
            "routing_keys": { "random": KEYS },
            "header_sets": [{ "k": "1" }, { "x-k": "2", "m": "1" }, {}],
        });
        if g.chance(1) {
            p["count"] = json!(1 + g.pick(300));
        }
        if g.chance(1) {
            p["ttl"] = json!(duration(g));
        }
        if g.chance(1) {
            p["priority"] = json!(g.pick(6));
        }
        if g.chance(1) {
            p["keys"] = json!({ "round_robin": ["k1", "k2", "bad"] });
        }
        if g.chance(1) {
            p["latency"] = json!(duration(g));
        }
        if g.chance(1) {
            p["routing_keys"] = json!({ "weighted": [{ "key": "a", "weight": 3 }, { "key": "a.b", "weight": 1 }, { "key": "z", "weight": 0 }] });
        }
        if g.chance(1) {
            p["start"] = json!(g.one(&["0ms", "500ms"]));
            p["stop"] = json!(g.one(&["1s", "3s"]));
        }
        producers.push(p);
    }

    let mut consumers = Vec::new();
    for i in 0..g.pick(4) as usize {
        let qi = g.pick(nq as u32) as usize;
        let mut c = json!({
            "id": format!("c{i}"),
            "queue": queue(qi),
            "instances": g.pick(4),
            "prefetch": 1 + g.pick(4),
            "service": service(g),
            "ack": g.one(&["after_processing", "auto"]),
            "failure_rate": g.one(&[0.0, 0.3, 1.0]),
        });
        match g.pick(4) {
            1 => c["poison"] = json!({ "key": "bad" }),
            2 => c["poison"] = json!({ "header": { "name": "m", "value": "1" } }),
            _ => {}
        }
        let on_failure = g.one(&["dead_letter", "requeue", "retry"]);
        c["on_failure"] = json!(on_failure);
        if g.chance(2) {
            // Consumer priorities (`model::consumer_priority`): they choose
            // the subscriber, so dispatch must stay work-conserving.
            c["priority"] = json!(g.pick(3) as i32 - 1);
        }
        if g.chance(1) {
            // A circuit breaker (`model::breaker`): it gates dispatch.
            c["circuit_breaker"] = json!({
                "failures": 1 + g.pick(3),
                "open_for": g.one(&["1ms", "20ms", "200ms"]),
                "probes": 1 + g.pick(2),
            });
        }
        if on_failure == "retry" || g.chance(1) {
            let mut r = json!({
                "max_attempts": 1 + g.pick(4),
                "backoff": match g.pick(3) {
                    0 => json!("immediate"),
                    1 => json!({ "fixed": duration(g) }),
                    _ => json!({ "exponential": { "initial": "1ms", "max": "50ms", "jitter": g.one(&[0.0, 0.5]) } }),
                },
            });
            if has_dlx[qi] && g.chance(2) {
                // The wait queue's TTL is the delay: no backoff in this mode.
                r["mode"] = json!("retry_queue");
                r["backoff"] = json!("immediate");
            }
            if nx > 0 && g.chance(1) {
                r["exhausted_to"] = json!(exch(g.pick(nx as u32) as usize));
            }
            c["retry"] = r;
        }
        // Handlers publish only "downstream" (to a queue with a higher index)
        // so a handler can never feed its own queue and grow without bound.
        if qi + 1 < nq && g.chance(1) {
            let to = queue(qi + 1 + g.pick((nq - qi - 1) as u32) as usize);
            c["on_success"] = json!([{ "to": to, "copies": 1 + g.pick(2) }]);
        }
        consumers.push(c);
    }

    // Drawn last, so the draws above (and the topologies they make) stay
    // as they were before RabbitMQ's consumer timeout was modelled.
    for q in queues.iter_mut() {
        if g.chance(1) {
            q["consumer_timeout"] = json!(g.one(&["1ms", "20ms", "100ms", "1s"]));
        }
    }
    let mut s = json!({
        "title": "random",
        "producers": producers,
        "exchanges": exchanges,
        "queues": queues,
        "consumers": consumers,
    });
    if g.chance(3) {
        s["channel_tick_interval"] = json!(g.one(&["5ms", "50ms", "200ms"]));
    }
    s
}

/// A random command about the scenario's nodes; some are invalid on purpose.
/// A `fault` is one of crash, restart, scale, max-length and purge.
pub(crate) fn command(g: &mut Genes, s: &Value, fault: bool) -> Value {
    let ids = |kind: &str| -> Vec<String> {
        s[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (producers, queues, mut consumers) = (ids("producers"), ids("queues"), ids("consumers"));
    if consumers.is_empty() {
        consumers.push("nobody".into());
    }
    let p = g.one(&producers);
    let q = g.one(&queues);
    let c = g.one(&consumers);
    let which = if fault {
        [3, 4, 5, 12, 15][g.pick(5) as usize]
    } else {
        g.pick(18)
    };
    match which {
        0 => json!({ "do": "set_rate", "producer": p, "rate": g.one(&["0/s", "10/s", "500/s"]) }),
        1 => json!({ "do": "pause_producer", "producer": p }),
        2 => json!({ "do": "resume_producer", "producer": p }),
        3 => {
            let mut v = json!({ "do": "crash_consumer", "consumer": c });
            if g.chance(2) {
                v["instance"] = json!(g.pick(4));
            }
            if g.chance(2) {
                v["restart_after"] = json!(duration(g));
            }
            v
        }
        4 => json!({ "do": "restart_consumer", "consumer": c }),
        5 => json!({ "do": "set_instances", "consumer": c, "instances": g.pick(4) }),
        6 => json!({ "do": "set_service", "consumer": c, "service": service(g) }),
        7 => {
            json!({ "do": "set_failure_rate", "consumer": c, "failure_rate": g.one(&[0.0, 0.5, 1.0, 2.0]) })
        }
        8 => json!({ "do": "set_prefetch", "consumer": c, "prefetch": g.pick(5) }),
        9 => {
            json!({ "do": "set_ack_mode", "consumer": c, "ack": g.one(&["auto", "after_processing"]) })
        }
        10 => {
            json!({ "do": "set_on_failure", "consumer": c, "on_failure": g.one(&["dead_letter", "requeue", "retry"]) })
        }
        11 => {
            let mut r = json!({ "max_attempts": g.pick(4), "backoff": { "fixed": duration(g) } });
            if g.chance(1) {
                r["mode"] = json!("retry_queue");
                r["backoff"] = json!("immediate");
            }
            json!({ "do": "set_retry", "consumer": c, "retry": r })
        }
        12 => {
            json!({ "do": "set_max_length", "queue": q, "max_length": if g.chance(2) { json!(g.pick(4)) } else { Value::Null } })
        }
        13 => {
            json!({ "do": "set_overflow", "queue": q, "overflow": g.one(&["drop-head", "reject-publish", "reject-publish-dlx"]) })
        }
        14 => {
            json!({ "do": "set_queue_ttl", "queue": q, "ttl": if g.chance(2) { json!(duration(g)) } else { Value::Null } })
        }
        15 => json!({ "do": "purge_queue", "queue": q }),
        16 => {
            let b = if g.chance(3) {
                json!({ "failures": 1 + g.pick(3), "open_for": g.one(&["1ms", "20ms", "200ms"]), "probes": 1 + g.pick(2) })
            } else {
                Value::Null
            };
            json!({ "do": "set_circuit_breaker", "consumer": c, "circuit_breaker": b })
        }
        _ => {
            // Link and ack-path faults (`model::links`, `model::protocol`).
            let p = |g: &mut Genes| g.one(&[0.0, 0.1, 0.5, 1.0]);
            json!({ "do": "set_consumer_faults", "consumer": c, "faults": {
                "delivery_reorder": p(g), "reorder_delay": g.one(&["1ms", "30ms"]),
                "ack_delay": g.one(&["0s", "5ms", "50ms"]), "ack_duplicate": p(g),
                "ack_drop": p(g), "crash_after_effect": g.one(&[0.0, 0.05]),
                "restart_after": "20ms"
            }})
        }
    }
}

/// A tiny reference model of one message's life, fed from the trace: every
/// event must be legal in the state the model has the message in, no message
/// has events after it finished, and at the end the model's counts must equal
/// the engine's ledger. It knows nothing of the engine's internals.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Life {
    Transit,
    Queued,
    Held { acked: bool, processed: bool },
    RetryWait,
    Done,
}

#[derive(Default)]
struct Model {
    msgs: BTreeMap<u64, Life>,
    next_seq: u64,
    last_t: u64,
    last_new_id: u64,
    live: u64,
    completed: u64,
    dropped: u64,
}

impl Model {
    fn new_msg(&mut self, id: u64) -> Result<(), String> {
        if id <= self.last_new_id || self.msgs.contains_key(&id) {
            return Err(format!("message id {id} reused or out of order"));
        }
        self.last_new_id = id;
        self.live += 1;
        self.msgs.insert(id, Life::Transit);
        Ok(())
    }

    fn feed(&mut self, ev: &TraceEvent) -> Result<(), String> {
        if ev.seq != self.next_seq {
            return Err(format!("trace seq {} after {}", ev.seq, self.next_seq));
        }
        self.next_seq += 1;
        if ev.t.0 < self.last_t {
            return Err(format!("trace time went back at seq {}", ev.seq));
        }
        self.last_t = ev.t.0;
        let Some(id) = ev.msg else { return Ok(()) };
        if let TraceKind::Published { .. } = ev.kind {
            return self.new_msg(id);
        }
        if let TraceKind::FinishedAfterClose { .. } = ev.kind {
            // A handler whose channel closed under it finishes a delivery the
            // broker already took back: whatever has become of the message
            // since (even finished), this changes nothing.
            return Ok(());
        }
        let Some(&life) = self.msgs.get(&id) else {
            return Err(format!("{:?} for unknown message {id}", ev.kind));
        };
        use Life::*;
        let next = match (ev.kind, life) {
            (_, Done) => return Err(format!("{:?} for message {id} after it finished", ev.kind)),
            (TraceKind::Copied { copy }, Transit) => {
                self.new_msg(copy)?;
                Transit
            }
            (TraceKind::Routed { .. } | TraceKind::Unroutable { .. }, Transit) => Transit,
            (TraceKind::Enqueued { .. }, Transit) => Queued,
            (TraceKind::Requeued { .. }, Held { .. }) => Queued,
            (TraceKind::Delivered { .. }, Queued) => Held {
                acked: false,
                processed: false,
            },
            (
                TraceKind::Acked { .. },
                Held {
                    acked: false,
                    processed: true,
                },
            ) => {
                self.completed += 1;
                Done
            }
            (
                TraceKind::Acked { .. },
                Held {
                    acked: false,
                    processed: false,
                },
            ) => Held {
                acked: true,
                processed: false,
            },
            (
                TraceKind::Processed { .. },
                Held {
                    acked: true,
                    processed: false,
                },
            ) => {
                self.completed += 1;
                Done
            }
            (
                TraceKind::Processed { .. },
                Held {
                    acked: false,
                    processed: false,
                },
            ) => Held {
                acked: false,
                processed: true,
            },
            (
                TraceKind::Failed { .. } | TraceKind::Nacked { .. },
                h @ Held {
                    processed: false, ..
                },
            ) => h,
            (
                TraceKind::RetryScheduled { .. },
                Held {
                    acked: false,
                    processed: false,
                },
            ) => RetryWait,
            // The link and the ack path (`set_consumer_faults`): a delivery
            // held back on the wire, an ack on its way or lost.
            (
                TraceKind::DeliveryHeldBack { .. },
                h @ Held {
                    processed: false, ..
                },
            ) => h,
            (
                TraceKind::AckDelayed { .. } | TraceKind::AckLost { .. },
                h @ Held {
                    acked: false,
                    processed: true,
                },
            ) => h,
            // The consumer timeout names the channel's oldest unacked
            // delivery; the requeues that follow move it (`model::ack_timeout`).
            (TraceKind::AckTimedOut { .. }, h @ Held { acked: false, .. }) => h,
            (TraceKind::Retried { .. }, RetryWait) => Transit,
            (TraceKind::Expired, Queued) => Transit,
            // A held message returned past a quorum queue's delivery limit
            // (a crash, a closed channel) is dead-lettered instead of
            // requeued, also once processed if its ack died on the way.
            (
                TraceKind::DeadLettered { .. },
                Transit
                | Queued
                | Held {
                    processed: false, ..
                }
                | Held { acked: false, .. },
            ) => Transit,
            (TraceKind::Dropped { .. }, _) => {
                self.dropped += 1;
                Done
            }
            (kind, life) => return Err(format!("{kind:?} for message {id} in state {life:?}")),
        };
        if next == Done {
            self.live -= 1;
        }
        self.msgs.insert(id, next);
        Ok(())
    }

    fn agrees_with(&self, e: &Engine) -> Result<(), String> {
        let l = e.ledger();
        let counts = (
            self.msgs.len() as u64,
            self.live,
            self.completed,
            self.dropped,
        );
        let want = (l.created, l.live(), l.completed, l.discarded);
        if counts != want {
            return Err(format!(
                "model (created, live, completed, dropped) = {counts:?}, engine ledger {want:?}"
            ));
        }
        Ok(())
    }
}

/// How deep one case goes: how many commands, how far apart, how long a
/// run after them, and how many engine events at most (which keeps a case's
/// cost bounded whatever the topology).
#[derive(Clone, Copy, Debug)]
pub struct Depth {
    /// Most commands per case (the genes choose how many).
    pub commands_max: u32,
    /// Simulated time between commands [µs], chosen by the genes.
    pub gaps_us: &'static [u64],
    /// How long to run after the last command [µs], chosen by the genes.
    pub tails_us: &'static [u64],
    /// Most engine events per case.
    pub events_max: u64,
    /// Out of four commands, how many are faults (crash, restart, scale,
    /// max-length, purge) rather than any command.
    pub faults_in_four: u32,
    /// When not 0, an event also costs `peak live messages / live_per_event`
    /// of the budget: checking the invariants walks the whole message arena,
    /// which is as large as the most messages ever alive at once, so this
    /// bounds a case's time, not just its events.
    pub live_per_event: u64,
}

/// What the named regressions were found with (their genomes decode with it).
pub const SHALLOW: Depth = Depth {
    commands_max: 12,
    gaps_us: &[0, 1, 999, 20_000, 300_000],
    tails_us: &[4_000_000],
    events_max: 30_000,
    faults_in_four: 0,
    live_per_event: 0,
};

/// The fixed proptest cases: deeper than `SHALLOW`, still well under a
/// minute for the whole property in a debug build.
pub const PROPS: Depth = Depth {
    commands_max: 24,
    gaps_us: &[0, 1, 999, 20_000, 300_000, 2_000_000],
    tails_us: &[4_000_000, 15_000_000],
    events_max: 60_000,
    faults_in_four: 1,
    live_per_event: 0,
};

/// The seed swarm (`swarm.rs`): long runs, many commands, many faults.
pub const SWARM: Depth = Depth {
    commands_max: 48,
    gaps_us: &[0, 1, 999, 20_000, 300_000, 2_000_000, 10_000_000],
    tails_us: &[4_000_000, 20_000_000, 60_000_000],
    events_max: 250_000,
    faults_in_four: 2,
    live_per_event: 64,
};

/// Run `e` to `until`, checking every invariant after every event.
fn run_checked(e: &mut Engine, until: SimTime, budget: &mut u64) -> Result<(), String> {
    let mut b = Budget::new(*budget, &SHALLOW);
    let res = run_modelled(e, until, &mut b, &mut None);
    *budget = b.left;
    res
}

/// What is left of a case's budget (see `Depth`).
#[derive(Clone, Copy, Debug)]
struct Budget {
    left: u64,
    live_per_event: u64,
    live_peak: u64,
}

impl Budget {
    fn new(events: u64, d: &Depth) -> Budget {
        Budget {
            left: events,
            live_per_event: d.live_per_event,
            live_peak: 0,
        }
    }
    /// Charge one event just run by `e`.
    fn charge(&mut self, e: &Engine) {
        let extra = match self.live_per_event {
            0 => 0,
            n => {
                self.live_peak = self.live_peak.max(e.ledger().live());
                self.live_peak / n
            }
        };
        self.left = self.left.saturating_sub(1 + extra);
    }
}

fn run_modelled(
    e: &mut Engine,
    until: SimTime,
    budget: &mut Budget,
    model: &mut Option<Model>,
) -> Result<(), String> {
    while e.next_event_time().is_some_and(|t| t <= until) && budget.left > 0 {
        let before = e.now();
        e.step();
        budget.charge(e);
        if e.now() < before {
            return Err(format!("time went back from {before} to {}", e.now()));
        }
        e.check_invariants()
            .map_err(|w| format!("after event {} at {}: {w}", e.events(), e.now()))?;
        feed(e, model)?;
    }
    if budget.left > 0 {
        e.run_until(until, 0);
    }
    Ok(())
}

fn feed(e: &mut Engine, model: &mut Option<Model>) -> Result<(), String> {
    if let Some(m) = model {
        for ev in e.take_trace() {
            // Views of any event never panic and name the event's node.
            let j = e.trace_json(&ev);
            if j["node"].as_str().is_none_or(str::is_empty) || j["kind"] != ev.kind.name() {
                return Err(format!("bad trace JSON {j}"));
            }
            m.feed(&ev)
                .map_err(|w| format!("model at {} (event {}): {w}", ev.t, e.events()))?;
        }
        m.agrees_with(e)?;
    }
    Ok(())
}

/// The whole property: build, run with commands at random instants, check
/// invariants all along, then check that replay gives the same trace hash.
fn check_case(genome: &[u32], seed: u64) -> Result<(), String> {
    check_case_at(genome, seed, &SHALLOW).map(|_| ())
}

/// `check_case` at depth `d`; returns the number of engine events run.
pub fn check_case_at(genome: &[u32], seed: u64, d: &Depth) -> Result<u64, String> {
    let mut g = Genes { g: genome, at: 0 };
    let json = scenario_json(&mut g);
    let text = serde_json::to_string_pretty(&json).unwrap();
    let s = scenario::load(&text).map_err(|e| format!("generated an invalid scenario: {e}"))?;
    let mut e = Engine::new(s.clone(), seed).map_err(|e| e.to_string())?;
    e.set_trace_capture(true, 1 << 20);
    let mut model = Some(Model::default());
    let mut budget = Budget::new(d.events_max, d);
    let mut t = 0u64;
    let mut tried = Vec::new();
    for _ in 0..g.pick(d.commands_max) {
        t += d.gaps_us[g.pick(d.gaps_us.len() as u32) as usize];
        // Sometimes step a few events instead, to land between same-instant events.
        if g.chance(1) {
            for _ in 0..g.pick(5) {
                if budget.left == 0 || !e.step() {
                    break;
                }
                budget.charge(&e);
                e.check_invariants()?;
                feed(&mut e, &mut model)?;
            }
            t = t.max(e.now().0);
        } else {
            run_modelled(&mut e, SimTime(t), &mut budget, &mut model)?;
        }
        let fault = d.faults_in_four > 0 && g.chance(d.faults_in_four);
        let c = command(&mut g, &json, fault);
        let cmd: Command = serde_json::from_value(c.clone())
            .map_err(|err| format!("generated a malformed command {c}: {err}"))?;
        let ok = e.submit(cmd).is_ok();
        tried.push((e.now().0, c, ok));
        e.check_invariants()
            .map_err(|w| format!("after command {}: {w}", tried.len() - 1))?;
        feed(&mut e, &mut model)?;
    }
    // (A single choice reads no gene, so `SHALLOW` genomes decode as before.)
    let tail_us = match d.tails_us {
        [only] => *only,
        tails => tails[g.pick(tails.len() as u32) as usize],
    };
    let end = SimTime(t.max(e.now().0) + tail_us);
    // Halfway, a clone must continue exactly like the original.
    let mid = SimTime((e.now().0 + end.0) / 2);
    run_modelled(&mut e, mid, &mut budget, &mut model)?;
    let mut twin = e.clone();
    let mut twin_budget = budget;
    run_modelled(&mut e, end, &mut budget, &mut model)?;
    run_modelled(&mut twin, end, &mut twin_budget, &mut None)?;
    if twin.trace_hash() != e.trace_hash() {
        return Err("a clone taken mid-run diverged from the original".into());
    }
    if std::env::var_os("PROPS_TIME").is_some() {
        eprintln!(
            "CASE events={} cmds={} published={}",
            e.events(),
            tried.len(),
            e.totals().published
        );
    }
    // Views of the final state serialize (what the CLI and the UI do).
    serde_json::to_string(&e.snapshot()).map_err(|w| w.to_string())?;
    serde_json::to_string(&e.report("random")).map_err(|w| w.to_string())?;
    // Determinism: replaying the command log gives the same trace.
    let r = Engine::replay(s, seed, e.command_log(), e.now())
        .map_err(|why| format!("replay failed: {why}"))?;
    if budget.left > 0 && (r.trace_hash(), r.events()) != (e.trace_hash(), e.events()) {
        return Err(format!(
            "replay diverged: {:016x}/{} vs {:016x}/{}",
            r.trace_hash(),
            r.events(),
            e.trace_hash(),
            e.events()
        ));
    }
    Ok(e.events())
}

/// The failure report: the reason, the seed and the scenario the genome makes.
pub fn report(genome: &[u32], seed: u64, why: &str) -> String {
    let mut g = Genes { g: genome, at: 0 };
    let json = scenario_json(&mut g);
    format!(
        "{why}\nseed: {seed}\nscenario:\n{}\ngenome: {genome:?}",
        serde_json::to_string_pretty(&json).unwrap()
    )
}

/// `QL_PROP_SEED` and `QL_PROP_CASES` explore beyond the fixed CI cases.
fn config() -> ProptestConfig {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("QL_PROP_CASES").unwrap_or(256) as u32,
        // Fixed, so CI runs the same cases every time; failures print the
        // genome and seed, and minimized ones become named regressions below.
        rng_seed: proptest::test_runner::RngSeed::Fixed(env("QL_PROP_SEED").unwrap_or(0x5eed_f00d)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn invariants_hold_after_every_event(
        genome in prop::collection::vec(any::<u32>(), 40..600),
        seed in any::<u64>(),
    ) {
        if std::env::var_os("PROPS_TRACE").is_some() {
            eprintln!("START {seed} {genome:?}");
        }
        let t0 = std::time::Instant::now();
        let res = check_case_at(&genome, seed, &PROPS);
        if std::env::var_os("PROPS_TIME").is_some() {
            eprintln!("TIME {:?} {seed}", t0.elapsed());
        }
        if let Err(why) = res {
            prop_assert!(false, "{}", report(&genome, seed, &why));
        }
    }
}

/// Postmortem: the checker claimed "message delivered after 1 failures" for a
/// consumer with `max_attempts: 1`. The message had exhausted its retries,
/// been dead-lettered, and routed back into the same queue: a legitimate new
/// delivery. The old check looked at failures of held messages; the fixed
/// check looks at pending delayed retries, the only place a limit applies.
#[test]
fn regression_dead_lettered_back_after_exhausting_retries() {
    let json = r#"{
  "title": "exhausted, dead-lettered back into the same queue",
  "producers": [{ "id": "p", "to": "q", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "exchanges": [{ "id": "back", "kind": "fanout", "bindings": [{ "queue": "q" }] }],
  "queues": [{ "id": "q", "dead_letter_exchange": "back" }],
  "consumers": [{ "id": "c", "queue": "q", "service": { "constant": "10ms" }, "failure_rate": 1.0,
                  "on_failure": "retry", "retry": { "max_attempts": 2, "backoff": { "fixed": "5ms" } } }]
}"#;
    let mut e = Engine::new(scenario::load(json).unwrap(), 1).unwrap();
    let mut budget = 10_000;
    run_checked(&mut e, SimTime(1_100_000), &mut budget).unwrap();
    // Attempt 1 at 1.000, retry at 1.015, exhausted at 1.025 and dead-lettered
    // back; delivered again at once with 2 failures behind it, and so on.
    assert!(e.totals().dead_lettered >= 3, "{:?}", e.totals());
    assert!(e.totals().delivered >= 6);
}

/// Postmortem: the property test overflowed the stack. A queue whose
/// dead-letter exchange fans out back into itself (and into a full
/// reject-publish-dlx queue that does the same) nested one `dispatch` inside
/// another for every expiry, and each fan-out copy restarted the per-instant
/// death budget, so the cascade was unbounded. Fixed by making `dispatch` and
/// `enforce_max_length` non-re-entrant per queue, letting copies inherit the
/// budget, and applying RabbitMQ's dead-letter cycle rule.
#[test]
fn regression_fanout_dead_letter_cycle_terminates() {
    let json = r#"{
  "title": "fan-out dead-letter cycle",
  "producers": [{ "id": "p", "to": "x0", "rate": "100/s", "arrival": "constant", "count": 54, "ttl": "5ms" }],
  "exchanges": [{ "id": "x0", "kind": "fanout", "bindings": [{ "queue": "q2" }, { "queue": "q0" }, { "queue": "q0" }] }],
  "queues": [
    { "id": "q0", "max_length": 4, "overflow": "reject-publish-dlx", "dead_letter_exchange": "x0", "delivery_limit": 0 },
    { "id": "q2", "ttl": "0ms", "dead_letter_exchange": "x0", "overflow": "reject-publish", "delivery_limit": 0 }
  ],
  "consumers": [{ "id": "c0", "queue": "q2", "ack": "auto", "prefetch": 4, "on_failure": "requeue", "service": { "constant": "40ms" } }]
}"#;
    let mut e = Engine::new(scenario::load(json).unwrap(), 1).unwrap();
    let mut budget = 100_000;
    run_checked(&mut e, SimTime(5_000_000), &mut budget).unwrap();
    assert!(budget > 0);
    let t = e.totals_now();
    assert_eq!(t.published, 54);
    assert_eq!(
        t.in_flight, 4,
        "q0 keeps 4; everything else finished: {t:?}"
    );
    // Each publish makes at most a handful of copies before cycles are cut.
    assert!(t.copies < 54 * 4, "{t:?}");
}

/// Postmortem: `QL_PROP_SEED=2` found a panic after 4,164 passing cases
/// (index out of bounds in `has_room`): `set_instances` lowering a consumer
/// left removed instances in the queue's subscriber list while the crashes
/// of the others returned messages that cycled back into the queue. This is
/// proptest's minimized case; the story test
/// `consumers::scaling_down_survives_a_returned_message_cycling_back_into_the_queue`
/// shows the mechanism.
#[test]
fn regression_scaling_down_while_dead_letters_cycle_back() {
    let genome = [
        2099234125, 188870733, 3130116441, 1857455343, 0, 0, 497863909, 1576501954, 0, 31630332,
        1020358542, 0, 631748588, 0, 832, 49230994, 1528731915, 2876000, 786409934, 0, 3241292,
        3296368335, 373696528, 872509627, 0, 0, 0, 72185585, 117285580, 452849068, 212291632, 0,
        49310536, 0, 127882584, 1211134600, 355439417, 2299713456, 8760, 39292956, 1498782724, 0,
        6332592, 0, 9339120, 630784494, 2323842732, 179963, 121613101, 580456103, 404226803,
        1661753556, 0, 0, 1008404598, 12212536, 8609252, 3138168650, 0, 0, 0, 0, 0, 0, 0,
        2114304773, 0, 1568663013, 0, 555219380, 107673624, 14526759, 181532689, 234521212, 0, 0,
        0, 36906255, 38017225, 3999491599, 0, 0, 0, 0, 1557382431, 1110941030, 269335228, 0, 0,
        691960808, 892572885, 159091428,
    ];
    check_case(&genome, 395_822_322_576_752_233).unwrap();
}

/// Replace one value somewhere in `v` (chosen by the genes) with junk, or
/// delete an object key. Returns false when `v` has nothing to mutate.
fn mutate(v: &mut Value, g: &mut Genes) -> bool {
    let junk = [
        json!(0),
        json!(-1),
        json!(1e300),
        json!(4294967296u64),
        json!(""),
        json!("x"),
        json!(null),
        json!([]),
        json!({}),
        json!("0ms"),
        json!("1000000h"),
        json!("99999999/s"),
        json!("nobody"),
        json!("q0"),
        json!("x0"),
        json!("p0"),
        json!("c0"),
        json!(true),
        json!(0.5),
        json!("a".repeat(300)),
    ];
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = &keys[g.pick(keys.len() as u32) as usize];
            match g.pick(8) {
                0 => {
                    map.remove(k);
                }
                1 | 2 => {
                    map[k] = junk[g.pick(junk.len() as u32) as usize].clone();
                }
                _ => {
                    if !mutate(map.get_mut(k).unwrap(), g) {
                        map[k] = junk[g.pick(junk.len() as u32) as usize].clone();
                    }
                }
            }
            true
        }
        Value::Array(items) if !items.is_empty() => {
            let i = g.pick(items.len() as u32) as usize;
            if g.chance(1) || !mutate(&mut items[i], g) {
                items[i] = junk[g.pick(junk.len() as u32) as usize].clone();
            }
            true
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..config() })]

    /// Broken scenarios are refused with a path, never a panic; whatever
    /// validation accepts builds and runs with every invariant holding.
    #[test]
    fn mutated_scenarios_are_refused_or_run_cleanly(
        genome in prop::collection::vec(any::<u32>(), 40..300),
        mutations in prop::collection::vec(any::<u32>(), 0..40),
        seed in any::<u64>(),
    ) {
        let mut g = Genes { g: &genome, at: 0 };
        let mut json = scenario_json(&mut g);
        let mut m = Genes { g: &mutations, at: 0 };
        for _ in 0..1 + m.pick(3) {
            mutate(&mut json, &mut m);
        }
        let text = serde_json::to_string(&json).unwrap();
        match scenario::load(&text) {
            Err(e) => prop_assert!(!e.issues.is_empty() && !e.to_string().is_empty()),
            Ok(s) => {
                let mut e = Engine::new(s, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut budget = 5_000;
                if let Err(why) = run_checked(&mut e, SimTime(2_000_000), &mut budget) {
                    prop_assert!(false, "{why}\nscenario: {text}");
                }
            }
        }
    }
}

/// Random scenarios with alert rules on every consumer (error rate) and
/// queue (depth), evaluated every 10 ms: the run is the one without them
/// (every other trace event, in order, and the totals), and each rule's
/// counts agree with its own trace events.
fn alerts_only_watch(genome: &[u32], seed: u64) -> Result<(), String> {
    let mut g = Genes { g: genome, at: 0 };
    let plain = scenario_json(&mut g);
    let mut watched = plain.clone();
    let mut rules = Vec::new();
    for (i, c) in plain["consumers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (above, hold) = ([0.0, 0.2, 0.5][i % 3], ["0s", "20ms"][i % 2]);
        rules.push(
            json!({ "id": format!("e{i}"), "metric": "error_rate", "node": c["id"],
                           "above": above, "window": "50ms", "every": "10ms", "for": hold }),
        );
    }
    for (i, q) in plain["queues"].as_array().into_iter().flatten().enumerate() {
        let hold = ["0s", "30ms"][i % 2];
        rules.push(
            json!({ "id": format!("d{i}"), "metric": "depth", "node": q["id"],
                           "above": i % 3, "every": "10ms", "for": hold }),
        );
    }
    watched["alerts"] = Value::Array(rules);
    let run = |v: &Value| -> Result<(Vec<TraceEvent>, Engine), String> {
        let s = scenario::load(&v.to_string()).map_err(|e| format!("invalid: {e}"))?;
        let mut e = Engine::new(s, seed).map_err(|e| e.to_string())?;
        e.set_trace_capture(true, 1 << 20);
        // Both runs stop at the same simulated time; alert checks are extra events.
        e.run_until(SimTime(1_000_000), 40_000);
        let t = e.take_trace();
        Ok((t, e))
    };
    let (t0, e0) = run(&plain)?;
    let (t1, e1) = run(&watched)?;
    if e0.now() != SimTime(1_000_000) || e1.now() != SimTime(1_000_000) {
        return Ok(()); // the event budget stopped one: nothing to compare
    }
    let key = |t: &[TraceEvent], skip_alerts: bool| -> Vec<_> {
        t.iter()
            .filter(|x| {
                !(skip_alerts
                    && matches!(
                        x.kind,
                        TraceKind::AlertFired { .. } | TraceKind::AlertResolved { .. }
                    ))
            })
            .map(|x| (x.t, x.kind, x.msg, x.node))
            .collect()
    };
    if key(&t0, false) != key(&t1, true) || e0.totals() != e1.totals() {
        return Err("alerts changed the run".into());
    }
    for (a, v) in e1.alerts().iter().enumerate() {
        let mine: Vec<bool> = t1
            .iter()
            .filter_map(|x| match x.kind {
                TraceKind::AlertFired { alert, .. } if alert as usize == a => Some(true),
                TraceKind::AlertResolved { alert, .. } if alert as usize == a => Some(false),
                _ => None,
            })
            .collect();
        let alternates = mine.iter().enumerate().all(|(i, &f)| f == (i % 2 == 0));
        let fired = mine.iter().filter(|&&f| f).count() as u32;
        let firing = mine.last() == Some(&true);
        if !alternates || fired != v.fired || firing != (v.state == "firing") {
            return Err(format!(
                "alert {} disagrees with its trace: {mine:?} vs {v:?}",
                v.id
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..config() })]

    #[test]
    fn alert_rules_only_watch(
        genome in prop::collection::vec(any::<u32>(), 40..300),
        seed in any::<u64>(),
    ) {
        if let Err(why) = alerts_only_watch(&genome, seed) {
            prop_assert!(false, "{}", report(&genome, seed, &why));
        }
    }
}
