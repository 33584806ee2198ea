//! Helpers shared by the story tests: build an engine from inline JSON, run it
//! with the invariants checked after every event, and query the trace.

use queuelab::engine::{Engine, NodeId, Reason, SimTime, TraceEvent, TraceKind};
use queuelab::scenario;

/// A finished (or paused) run: the engine and every trace event it recorded.
pub struct Story {
    pub engine: Engine,
    pub trace: Vec<TraceEvent>,
}

/// Parse and validate `json`; panics with the scenario error (a test bug).
pub fn engine(json: &str, seed: u64) -> Engine {
    let s = scenario::load(json).unwrap_or_else(|e| panic!("test scenario is invalid: {e}"));
    let mut e = Engine::new(s, seed).expect("valid scenario builds");
    e.set_trace_capture(true, 1 << 20);
    e
}

/// Step `e` until the next event would be after `until`, checking every
/// invariant and that time never goes back after each event.
pub fn run_checked(e: &mut Engine, until: u64) {
    let mut last = e.now();
    while e.next_event_time().is_some_and(|t| t <= SimTime(until)) {
        assert!(e.step());
        assert!(
            e.now() >= last,
            "time went back: {} after {}",
            e.now(),
            last
        );
        last = e.now();
        if let Err(why) = e.check_invariants() {
            panic!(
                "invariant broken at {} (event {}): {why}",
                e.now(),
                e.events()
            );
        }
    }
    e.run_until(SimTime(until), 0);
}

/// Preset `preset`'s variant `name` as its own scenario: the variant's `set`
/// applied to the preset, whose `variants` block is cleared (one lane of
/// `queuelab compare`). The seed is the preset's. Panics on an unknown name.
pub fn preset_variant(preset: &str, name: &str) -> scenario::Scenario {
    let mut base = scenario::preset(preset)
        .unwrap_or_else(|| panic!("no preset {preset}"))
        .scenario();
    let variants = std::mem::take(&mut base.variants);
    let v = variants
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("preset {preset} has no variant {name}"));
    scenario::patch::apply(&base, &v.set).expect("the variant applies")
}

/// `preset_variant` run to `until_us` with the invariants checked.
pub fn run_variant(preset: &str, name: &str, until_us: u64) -> Engine {
    let s = preset_variant(preset, name);
    let seed = s.seed;
    let mut e = Engine::new(s, seed).expect("a preset's variant builds");
    run_checked(&mut e, until_us);
    e
}

/// Build, run to `until_us` with invariants checked, and collect the trace.
pub fn story(json: &str, until_us: u64) -> Story {
    let mut engine = engine(json, 1);
    run_checked(&mut engine, until_us);
    let trace = engine.take_trace();
    Story { engine, trace }
}

impl Story {
    /// Run further, appending to the trace.
    pub fn run_to(&mut self, until_us: u64) {
        run_checked(&mut self.engine, until_us);
        self.trace.extend(self.engine.take_trace());
    }

    pub fn node(&self, id: &str) -> NodeId {
        NodeId(
            self.engine
                .nodes()
                .iter()
                .position(|n| n.id == id)
                .unwrap_or_else(|| panic!("no node {id}")) as u32,
        )
    }

    /// Every event about message `id`, in order.
    pub fn of_msg(&self, id: u64) -> Vec<&TraceEvent> {
        self.trace.iter().filter(|e| e.msg == Some(id)).collect()
    }

    /// Events whose kind passes `f`.
    pub fn matching(&self, f: impl Fn(&TraceKind) -> bool) -> Vec<&TraceEvent> {
        self.trace.iter().filter(|e| f(&e.kind)).collect()
    }

    /// (t_us, msg, reason) of every drop.
    pub fn drops(&self) -> Vec<(u64, u64, Reason)> {
        self.trace
            .iter()
            .filter_map(|e| match e.kind {
                TraceKind::Dropped { reason } => Some((e.t.0, e.msg.unwrap(), reason)),
                _ => None,
            })
            .collect()
    }

    /// (t_us, msg, reason, deaths) of every dead-lettering.
    pub fn dead_letters(&self) -> Vec<(u64, u64, Reason, u32)> {
        self.trace
            .iter()
            .filter_map(|e| match e.kind {
                TraceKind::DeadLettered { reason, deaths, .. } => {
                    Some((e.t.0, e.msg.unwrap(), reason, deaths))
                }
                _ => None,
            })
            .collect()
    }

    /// (t_us, msg, consumer instance, redelivered) of every delivery by `consumer`.
    pub fn deliveries(&self, consumer: &str) -> Vec<(u64, u64, u32, bool)> {
        let c = self.node(consumer);
        self.trace
            .iter()
            .filter_map(|e| match e.kind {
                TraceKind::Delivered {
                    consumer,
                    instance,
                    redelivered,
                    ..
                } if consumer == c => Some((e.t.0, e.msg.unwrap(), instance, redelivered)),
                _ => None,
            })
            .collect()
    }

    /// (t_us, msg) of every successful processing at `consumer`.
    pub fn processed(&self, consumer: &str) -> Vec<(u64, u64)> {
        let c = self.node(consumer);
        self.trace
            .iter()
            .filter(|e| e.node == c && matches!(e.kind, TraceKind::Processed { .. }))
            .map(|e| (e.t.0, e.msg.unwrap()))
            .collect()
    }

    /// (t_us, msg) of every enqueue into `queue`.
    pub fn enqueued(&self, queue: &str) -> Vec<(u64, u64)> {
        let q = self.node(queue);
        self.trace
            .iter()
            .filter(|e| e.node == q && matches!(e.kind, TraceKind::Enqueued { .. }))
            .map(|e| (e.t.0, e.msg.unwrap()))
            .collect()
    }

    /// Names of the kinds of every event about `id`, for readable assertions.
    pub fn kinds_of(&self, id: u64) -> Vec<&'static str> {
        self.of_msg(id).iter().map(|e| e.kind.name()).collect()
    }

    /// The ready messages of `queue` in the current snapshot: (id, deaths, redelivered).
    pub fn queue_head(&self, queue: &str) -> Vec<(u64, u32, bool)> {
        for n in self.engine.snapshot().nodes {
            if let queuelab::engine::NodeView::Queue { id, head, .. } = n {
                if id == queue {
                    return head
                        .iter()
                        .map(|m| (m.id, m.deaths, m.redelivered))
                        .collect();
                }
            }
        }
        panic!("no queue {queue}")
    }

    /// Queue depth in the current snapshot.
    pub fn depth(&self, queue: &str) -> u32 {
        for n in self.engine.snapshot().nodes {
            if let queuelab::engine::NodeView::Queue { id, depth, .. } = n {
                if id == queue {
                    return depth;
                }
            }
        }
        panic!("no queue {queue}")
    }
}

/// Milliseconds to microseconds, for readable expected times.
pub const fn ms(x: u64) -> u64 {
    x * 1000
}

impl Story {
    /// Routing keys of the ready messages of `queue`, head first.
    pub fn queue_keys(&self, queue: &str) -> Vec<String> {
        for n in self.engine.snapshot().nodes {
            if let queuelab::engine::NodeView::Queue { id, head, .. } = n {
                if id == queue {
                    return head.iter().map(|m| m.routing_key.clone()).collect();
                }
            }
        }
        panic!("no queue {queue}")
    }
}
