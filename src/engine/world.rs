//! The world: every node's state, the message arena, and the event handlers.
//!
//!   ProducerTick ─► publish ─► route (exchange) ─► enqueue (queue) ─► dispatch ─► deliver
//!        ▲                                              ▲                           │
//!        └── next tick                       requeue / retry / dead-letter ◄── ServiceDone
//!
//! All state changes happen inside `Engine::step` (agenda events) or
//! `Engine::submit` (commands), each recording past-tense trace events. Nothing
//! here reads a clock or the OS; every random draw comes from a per-component
//! `Stream`. Messages live in an arena whose slots are recycled once a message
//! is finished, so memory follows the number of live messages, not the run length.

use super::agenda::Agenda;
use super::metrics::{Latency, LatencySummary, Series, SeriesPoint, Totals, WindowLatency};
use super::prng::Stream;
use super::report::{InstanceView, MessageView, NodeView};
use super::routing::{headers_match, topic_matches};
use super::time::{delay_us_from_f64, SimTime};
use super::trace::{NodeId, Reason, TraceEvent, TraceKind, TraceLog};
use crate::scenario::{
    self, AckMode, Arrival, Backoff, Command, ExchangeKind, KeyChoice, LoggedCommand, OnFailure,
    Overflow, Poison, RetryMode, Scenario, ScenarioError, Service,
};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// Most messages alive at once; publishing past it drops with `queue_full`
/// semantics at the producer, so a runaway scenario cannot eat the machine.
pub const LIVE_MESSAGES_MAX: usize = 2_000_000;
/// Most times one message may be dead-lettered in a single instant before it
/// is dropped. RabbitMQ's own cycle rule (see `Engine::without_cycles`) cuts
/// automatic cycles; this backstop bounds the rest (and the work any one
/// message can cause at one instant), so it is a simulator limit.
pub const DEATHS_PER_INSTANT_MAX: u32 = 8;
/// Most dead-letterings the whole world performs in one simulated instant;
/// past it, further dead-letters at that instant are dropped. Bounds the work
/// of a zero-time dead-letter storm (a fanout DLX feeding queues that expire
/// at once into the same DLX multiplies copies at every hop) that the
/// per-message limits above cannot, since every copy has its own budget.
pub const DEAD_LETTERS_PER_INSTANT_MAX: u32 = 10_000;
/// Longest single delay any draw may produce (service time, backoff, gap).
pub const DELAY_US_MAX: u64 = 24 * 3600 * 1_000_000;
/// Upper bound on the route cache before it is cleared.
const ROUTE_CACHE_MAX: usize = 65_536;

/// Interned string.
type Sym = u32;
/// Interned header set (0 is the empty set).
type HdrId = u32;
const NO_SYM: Sym = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Producer,
    Exchange,
    Queue,
    Consumer,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeInfo {
    pub id: String,
    pub kind: NodeKind,
    /// Index within the scenario's list of that kind.
    pub index: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MsgState {
    Free,
    Transit,
    Queued,
    Unacked,
    RetryWait,
}

#[derive(Clone, Debug)]
struct Message {
    id: u64,
    gen: u32,
    state: MsgState,
    correlation: u64,
    parent: Option<u64>,
    routing_key: Sym,
    key: Sym,
    headers: HdrId,
    payload_bytes: u32,
    published_us: u64,
    msg_ttl_us: Option<u64>,
    expires_us: u64,
    /// When it last entered a queue (kept across requeues, like its expiry).
    enqueued_us: u64,
    queue: u32,
    deliveries: u32,
    failures: u32,
    /// `max_attempts` of the policy that scheduled the pending delayed retry
    /// (checked by `check_invariants` while the message waits).
    retry_limit: u32,
    returns: u32,
    deaths: u32,
    /// RabbitMQ's `x-death` in brief: (queue, reason) of each dead-lettering,
    /// most recent first, one entry per pair (a repeat moves to the front).
    /// At most one entry per queue and reason, so it stays small.
    death_log: Vec<(u32, Reason)>,
    deaths_now: u32,
    last_death_us: u64,
    redelivered: bool,
    auto_acked: bool,
    delivered_once: bool,
}

/// Where a publish goes: an exchange, or a queue through the default exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Exchange(u32),
    Queue(u32),
}

#[derive(Clone, Debug)]
enum Event {
    ProducerTick { p: u32, epoch: u32 },
    Arrive { slot: u32, gen: u32, target: Target },
    ServiceDone { c: u32, i: u32, epoch: u32 },
    RetryDue { slot: u32, gen: u32 },
    ExpiryCheck { q: u32 },
    Restart { c: u32, i: u32, epoch: u32 },
    Scheduled { index: u32 },
    Sample,
}

#[derive(Clone, Debug)]
struct ProducerState {
    node: NodeId,
    target: Target,
    stream: Stream,
    epoch: u32,
    paused: bool,
    sent: u64,
    rk_rr: usize,
    key_rr: usize,
    hdr_rr: usize,
    routing_keys: Vec<Sym>,
    keys: Vec<Sym>,
    key_weights: Vec<u32>,
    header_sets: Vec<HdrId>,
}

#[derive(Clone, Debug)]
struct ExchangeState {
    node: NodeId,
    alternate: Option<u32>,
    routed: u64,
    unroutable: u64,
}

#[derive(Clone, Debug, Default)]
struct QueueState {
    node: NodeId,
    ready: VecDeque<u32>,
    subscribers: Vec<(u32, u32)>,
    rr: usize,
    dlx: Option<u32>,
    dlrk: Option<Sym>,
    /// The queue's id as an interned routing key (default-exchange publishes).
    name_sym: Sym,
    expiry_check_us: Option<u64>,
    /// Re-entrancy guards for `dispatch` and `enforce_max_length` (see there).
    dispatching: bool,
    trimming: bool,
    unacked: u32,
    enqueued: u64,
    delivered: u64,
    acked: u64,
    expired: u64,
    dead_lettered: u64,
    dropped: u64,
    depth_max: u32,
}

#[derive(Clone, Debug, Default)]
struct Instance {
    up: bool,
    epoch: u32,
    busy: bool,
    /// `ServiceDone` events of the current epoch not yet handled; exactly 1
    /// while busy, 0 otherwise (checked by `check_invariants`).
    service_pending: u32,
    buffer: VecDeque<u32>,
    service_us: u64,
    busy_since_us: u64,
    busy_total_us: u64,
    processed: u64,
}

#[derive(Clone, Debug)]
struct ConsumerState {
    node: NodeId,
    queue: u32,
    stream: Stream,
    instances: Vec<Instance>,
    on_success: Vec<(Target, Option<Sym>, u32)>,
    exhausted_to: Option<u32>,
    /// Next instance epoch to hand out. Epochs are unique per consumer, not
    /// per instance slot, so that an instance removed by `SetInstances` and
    /// later re-created at the same index can never match a stale
    /// `ServiceDone` or `Restart` event of its predecessor.
    epoch_next: u32,
    /// Highest prefetch this consumer has had: lowering prefetch while
    /// running leaves deliveries held until they drain, so this is the hard
    /// bound on what one instance may hold.
    prefetch_ceiling: u32,
    processed: u64,
    failed: u64,
    acked: u64,
    nacked: u64,
}

/// Messages by state right now, plus the finished ones: the conservation ledger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    /// Message entities ever created (publishes plus routing copies).
    pub created: u64,
    pub in_transit: u64,
    pub queued: u64,
    pub unacked: u64,
    pub retry_wait: u64,
    pub completed: u64,
    pub discarded: u64,
}

impl Ledger {
    pub fn live(&self) -> u64 {
        self.in_transit + self.queued + self.unacked + self.retry_wait
    }
    fn count(&mut self, s: MsgState) -> &mut u64 {
        match s {
            MsgState::Transit => &mut self.in_transit,
            MsgState::Queued => &mut self.queued,
            MsgState::Unacked => &mut self.unacked,
            MsgState::RetryWait => &mut self.retry_wait,
            MsgState::Free => unreachable!("free slots are not counted"),
        }
    }
}

/// Why `submit` refused a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError(pub String);

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CommandError {}

/// What `run_until` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub events: u64,
    /// False when `max_events` stopped it before the target time.
    pub reached: bool,
}

/// The simulator. See the crate docs for the ordering and determinism guarantees.
#[derive(Clone, Debug)]
pub struct Engine {
    cfg: Scenario,
    seed: u64,
    now: SimTime,
    events: u64,
    agenda: Agenda<Event>,
    nodes: Vec<NodeInfo>,
    producers: Vec<ProducerState>,
    exchanges: Vec<ExchangeState>,
    queues: Vec<QueueState>,
    consumers: Vec<ConsumerState>,
    msgs: Vec<Message>,
    free: Vec<u32>,
    next_msg_id: u64,
    syms: Vec<String>,
    sym_index: BTreeMap<String, Sym>,
    hdrs: Vec<BTreeMap<String, String>>,
    hdr_index: BTreeMap<BTreeMap<String, String>, HdrId>,
    route_cache: BTreeMap<(u32, Sym, HdrId), Rc<[u32]>>,
    trace: TraceLog,
    totals: Totals,
    dropped_by_reason: [u64; Reason::ALL.len()],
    ledger: Ledger,
    wait: Latency,
    end_to_end: Latency,
    interval: WindowLatency,
    series: Series,
    commands: Vec<LoggedCommand>,
    /// Dead-letterings at the instant `dl_instant_us` (see `DEAD_LETTERS_PER_INSTANT_MAX`).
    dl_instant_us: u64,
    dl_instant_count: u32,
}

fn pick_weighted(stream: &mut Stream, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|&w| w as u64).sum();
    let mut r = stream.below(total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if r < w as u64 {
            return i;
        }
        r -= w as u64;
    }
    weights.len() - 1
}

impl Engine {
    /// Build a world from a scenario (validated here) and a seed.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Engine, ScenarioError> {
        scenario::validate(&scenario)?;
        let mut e = Engine {
            cfg: scenario,
            seed,
            now: SimTime::ZERO,
            events: 0,
            agenda: Agenda::default(),
            nodes: Vec::new(),
            producers: Vec::new(),
            exchanges: Vec::new(),
            queues: Vec::new(),
            consumers: Vec::new(),
            msgs: Vec::new(),
            free: Vec::new(),
            next_msg_id: 1,
            syms: Vec::new(),
            sym_index: BTreeMap::new(),
            hdrs: vec![BTreeMap::new()],
            hdr_index: BTreeMap::from([(BTreeMap::new(), 0)]),
            route_cache: BTreeMap::new(),
            trace: TraceLog::new(),
            totals: Totals::default(),
            dropped_by_reason: [0; Reason::ALL.len()],
            ledger: Ledger::default(),
            wait: Latency::default(),
            end_to_end: Latency::default(),
            interval: WindowLatency::default(),
            series: Series::new(),
            commands: Vec::new(),
            dl_instant_us: 0,
            dl_instant_count: 0,
        };
        e.build();
        Ok(e)
    }

    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&i) = self.sym_index.get(s) {
            return i;
        }
        let i = self.syms.len() as Sym;
        self.syms.push(s.to_string());
        self.sym_index.insert(s.to_string(), i);
        i
    }

    fn intern_headers(&mut self, h: BTreeMap<String, String>) -> HdrId {
        if let Some(&i) = self.hdr_index.get(&h) {
            return i;
        }
        let i = self.hdrs.len() as HdrId;
        self.hdrs.push(h.clone());
        self.hdr_index.insert(h, i);
        i
    }

    fn node_of(&self, id: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == id)
    }

    fn target_of(&self, id: &str) -> Target {
        let n = self.node_of(id).expect("validated reference");
        match n.kind {
            NodeKind::Exchange => Target::Exchange(n.index),
            NodeKind::Queue => Target::Queue(n.index),
            _ => unreachable!("validation allows only exchanges and queues as targets"),
        }
    }

    fn build(&mut self) {
        let cfg = self.cfg.clone();
        // One node table, in scenario order: producers, exchanges, queues, consumers.
        let ids = [
            (
                NodeKind::Producer,
                cfg.producers.iter().map(|p| &p.id).collect::<Vec<_>>(),
            ),
            (
                NodeKind::Exchange,
                cfg.exchanges.iter().map(|x| &x.id).collect(),
            ),
            (NodeKind::Queue, cfg.queues.iter().map(|q| &q.id).collect()),
            (
                NodeKind::Consumer,
                cfg.consumers.iter().map(|c| &c.id).collect(),
            ),
        ];
        for (kind, list) in ids {
            for (i, id) in list.into_iter().enumerate() {
                self.nodes.push(NodeInfo {
                    id: id.clone(),
                    kind,
                    index: i as u32,
                });
            }
        }
        let node_id = |nodes: &Vec<NodeInfo>, id: &str| {
            NodeId(nodes.iter().position(|n| n.id == id).unwrap() as u32)
        };

        for x in &cfg.exchanges {
            let alternate = x
                .alternate_exchange
                .as_ref()
                .map(|a| match self.target_of(a) {
                    Target::Exchange(i) => i,
                    Target::Queue(_) => unreachable!("validated: alternate is an exchange"),
                });
            self.exchanges.push(ExchangeState {
                node: node_id(&self.nodes, &x.id),
                alternate,
                routed: 0,
                unroutable: 0,
            });
        }
        for q in &cfg.queues {
            let dlx = q
                .dead_letter_exchange
                .as_ref()
                .map(|a| match self.target_of(a) {
                    Target::Exchange(i) => i,
                    Target::Queue(_) => {
                        unreachable!("validated: dead-letter exchange is an exchange")
                    }
                });
            let dlrk = q.dead_letter_routing_key.as_ref().map(|k| self.intern(k));
            let name_sym = self.intern(&q.id);
            self.queues.push(QueueState {
                node: node_id(&self.nodes, &q.id),
                dlx,
                dlrk,
                name_sym,
                ..Default::default()
            });
        }
        for p in &cfg.producers {
            let target = self.target_of(&p.to);
            let mut key_weights = Vec::new();
            let choice = |c: &Option<KeyChoice>,
                          this: &mut Self,
                          weights: Option<&mut Vec<u32>>|
             -> Vec<Sym> {
                match c {
                    None => vec![],
                    Some(KeyChoice::Fixed(s)) => vec![this.intern(s)],
                    Some(KeyChoice::RoundRobin(v)) | Some(KeyChoice::Random(v)) => {
                        v.iter().map(|s| this.intern(s)).collect()
                    }
                    Some(KeyChoice::RandomOfN(n)) => {
                        (0..*n).map(|i| this.intern(&format!("key-{i}"))).collect()
                    }
                    Some(KeyChoice::Weighted(v)) => {
                        if let Some(w) = weights {
                            *w = v.iter().map(|k| k.weight).collect();
                        }
                        v.iter().map(|k| this.intern(&k.key)).collect()
                    }
                }
            };
            let mut rk_weights = Vec::new();
            let mut routing_keys = choice(&p.routing_keys, self, Some(&mut rk_weights));
            if routing_keys.is_empty() {
                routing_keys = vec![self.intern(&p.routing_key)];
            }
            let keys = choice(&p.keys, self, Some(&mut key_weights));
            let header_sets: Vec<HdrId> = if p.header_sets.is_empty() {
                vec![self.intern_headers(p.headers.clone())]
            } else {
                p.header_sets
                    .iter()
                    .map(|hs| {
                        let mut h = p.headers.clone();
                        h.extend(hs.iter().map(|(k, v)| (k.clone(), v.clone())));
                        self.intern_headers(h)
                    })
                    .collect()
            };
            let _ = rk_weights;
            self.producers.push(ProducerState {
                node: node_id(&self.nodes, &p.id),
                target,
                stream: Stream::new(self.seed, &format!("producer:{}", p.id)),
                epoch: 0,
                paused: false,
                sent: 0,
                rk_rr: 0,
                key_rr: 0,
                hdr_rr: 0,
                routing_keys,
                keys,
                key_weights,
                header_sets,
            });
        }
        for c in &cfg.consumers {
            let queue = match self.target_of(&c.queue) {
                Target::Queue(i) => i,
                Target::Exchange(_) => unreachable!("validated: consumers read queues"),
            };
            let on_success = c
                .on_success
                .iter()
                .map(|p| {
                    (
                        self.target_of(&p.to),
                        p.routing_key.as_ref().map(|k| self.intern(k)),
                        p.copies,
                    )
                })
                .collect();
            let exhausted_to = c
                .retry
                .as_ref()
                .and_then(|r| r.exhausted_to.as_ref())
                .map(|x| match self.target_of(x) {
                    Target::Exchange(i) => i,
                    Target::Queue(_) => unreachable!("validated: exhausted_to is an exchange"),
                });
            let instances = (0..c.instances)
                .map(|_| Instance {
                    up: true,
                    ..Default::default()
                })
                .collect();
            self.consumers.push(ConsumerState {
                node: node_id(&self.nodes, &c.id),
                queue,
                stream: Stream::new(self.seed, &format!("consumer:{}", c.id)),
                instances,
                on_success,
                exhausted_to,
                epoch_next: 1,
                prefetch_ceiling: c.prefetch,
                processed: 0,
                failed: 0,
                acked: 0,
                nacked: 0,
            });
        }
        for q in 0..self.queues.len() {
            self.rebuild_subscribers(q as u32);
        }
        for p in 0..self.producers.len() {
            let start = self.cfg.producers[p].start.us();
            self.schedule_tick(p as u32, SimTime(start));
        }
        for (i, s) in cfg.schedule.iter().enumerate() {
            self.agenda
                .schedule(SimTime(s.at.us()), Event::Scheduled { index: i as u32 });
        }
        self.agenda
            .schedule(SimTime(self.cfg.sample_interval.us().max(1)), Event::Sample);
    }

    fn rebuild_subscribers(&mut self, q: u32) {
        let mut subs = Vec::new();
        for (ci, c) in self.consumers.iter().enumerate() {
            if c.queue == q {
                for ii in 0..c.instances.len() {
                    subs.push((ci as u32, ii as u32));
                }
            }
        }
        let qs = &mut self.queues[q as usize];
        qs.subscribers = subs;
        if qs.rr >= qs.subscribers.len() {
            qs.rr = 0;
        }
    }

    // ---------------------------------------------------------------- accessors

    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Engine events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }
    pub fn trace_len(&self) -> u64 {
        self.trace.count()
    }
    pub fn totals(&self) -> &Totals {
        &self.totals
    }
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
    /// The scenario as it is now: the original with every applied command's changes.
    pub fn config(&self) -> &Scenario {
        &self.cfg
    }
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }
    pub fn node_name(&self, n: NodeId) -> &str {
        &self.nodes[n.0 as usize].id
    }
    pub fn command_log(&self) -> &[LoggedCommand] {
        &self.commands
    }
    pub fn series(&self) -> &[SeriesPoint] {
        self.series.points()
    }
    pub fn dropped_by_reason(&self) -> Vec<(&'static str, u64)> {
        Reason::ALL
            .iter()
            .map(|r| (r.name(), self.dropped_by_reason[r.index()]))
            .collect()
    }
    pub fn latency_wait(&self) -> LatencySummary {
        self.wait.summary()
    }
    pub fn latency_end_to_end(&self) -> LatencySummary {
        self.end_to_end.summary()
    }
    /// Time of the next pending event, if any.
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.agenda.peek_time()
    }
    /// Keep trace events for `take_trace` (at most `capacity` waiting).
    pub fn set_trace_capture(&mut self, on: bool, capacity: usize) {
        self.trace.set_capture(on, capacity);
    }
    /// Take the trace events recorded since the last call, oldest first.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.trace.take()
    }
    /// Events lost because nobody took them before the buffer filled.
    pub fn trace_overwritten(&self) -> u64 {
        self.trace.overwritten()
    }

    // ---------------------------------------------------------------- running

    /// Process the next event. Returns false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        let Some((t, _seq, ev)) = self.agenda.pop() else {
            return false;
        };
        debug_assert!(t >= self.now, "time went back");
        self.now = t;
        self.events += 1;
        self.handle(ev);
        true
    }

    /// Process every event at or before `until`, at most `max_events` of them.
    /// When it reaches `until` the clock is set to `until`.
    pub fn run_until(&mut self, until: SimTime, max_events: u64) -> RunOutcome {
        let mut n = 0;
        while let Some(t) = self.agenda.peek_time() {
            if t > until {
                break;
            }
            if n >= max_events {
                return RunOutcome {
                    events: n,
                    reached: false,
                };
            }
            self.step();
            n += 1;
        }
        if until > self.now {
            self.now = until;
        }
        RunOutcome {
            events: n,
            reached: true,
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::ProducerTick { p, epoch } => self.on_producer_tick(p, epoch),
            Event::Arrive { slot, gen, target } => {
                if self.msgs[slot as usize].gen == gen
                    && self.msgs[slot as usize].state == MsgState::Transit
                {
                    self.route(slot, target, None);
                }
            }
            Event::ServiceDone { c, i, epoch } => self.on_service_done(c, i, epoch),
            Event::RetryDue { slot, gen } => self.on_retry_due(slot, gen),
            Event::ExpiryCheck { q } => {
                let qs = &mut self.queues[q as usize];
                if qs.expiry_check_us == Some(self.now.0) {
                    qs.expiry_check_us = None;
                }
                self.dispatch(q);
            }
            Event::Restart { c, i, epoch } => {
                let inst = &self.consumers[c as usize].instances.get(i as usize);
                if inst.is_some_and(|inst| !inst.up && inst.epoch == epoch) {
                    self.restart_instance(c, i);
                }
            }
            Event::Scheduled { index } => {
                let cmd = self.cfg.schedule[index as usize].command.clone();
                // Validated with the scenario; a command that has become
                // impossible (e.g. an instance scaled away) is skipped quietly.
                if self.check_command(&cmd).is_ok() {
                    self.apply_command(&cmd);
                    let node = self
                        .node_of(cmd.target())
                        .map(|n| n.id.clone())
                        .unwrap_or_default();
                    let node = self.nodes.iter().position(|n| n.id == node).unwrap_or(0) as u32;
                    self.trace.record(
                        self.now,
                        TraceKind::CommandApplied {
                            index,
                            scheduled: true,
                        },
                        None,
                        NodeId(node),
                    );
                }
            }
            Event::Sample => self.on_sample(),
        }
    }

    // ---------------------------------------------------------------- producers

    fn producer_gap_us(&mut self, p: u32) -> u64 {
        let cfg = &self.cfg.producers[p as usize];
        let rate = cfg.rate.per_s();
        if rate <= 0.0 {
            return DELAY_US_MAX;
        }
        let mean_us = 1e6 / rate;
        let gap = match cfg.arrival {
            Arrival::Constant => mean_us,
            Arrival::Poisson => self.producers[p as usize].stream.exponential(mean_us),
            Arrival::Bursts { size } => mean_us * size.max(1) as f64,
        };
        delay_us_from_f64(gap, DELAY_US_MAX).max(1)
    }

    fn schedule_tick(&mut self, p: u32, from: SimTime) {
        if self.cfg.producers[p as usize].rate.per_s() <= 0.0 {
            return;
        }
        let gap = self.producer_gap_us(p);
        let epoch = self.producers[p as usize].epoch;
        self.agenda
            .schedule(from.after(gap), Event::ProducerTick { p, epoch });
    }

    fn on_producer_tick(&mut self, p: u32, epoch: u32) {
        let ps = &self.producers[p as usize];
        if ps.epoch != epoch || ps.paused {
            return;
        }
        let cfg = &self.cfg.producers[p as usize];
        if cfg.stop.is_some_and(|s| self.now.0 >= s.us()) {
            return;
        }
        let burst = match cfg.arrival {
            Arrival::Bursts { size } => size.max(1),
            _ => 1,
        };
        for _ in 0..burst {
            if self.cfg.producers[p as usize]
                .count
                .is_some_and(|n| self.producers[p as usize].sent >= n)
            {
                return;
            }
            self.producer_publish(p);
        }
        self.schedule_tick(p, self.now);
    }

    fn producer_publish(&mut self, p: u32) {
        let pi = p as usize;
        let ps = &mut self.producers[pi];
        ps.sent += 1;
        let cfg = &self.cfg.producers[pi];
        let routing_key = match &cfg.routing_keys {
            Some(KeyChoice::Random(_)) | Some(KeyChoice::RandomOfN(_)) => {
                ps.routing_keys[ps.stream.below(ps.routing_keys.len() as u64) as usize]
            }
            Some(KeyChoice::Weighted(v)) => {
                let w: Vec<u32> = v.iter().map(|k| k.weight).collect();
                ps.routing_keys[pick_weighted(&mut ps.stream, &w)]
            }
            _ => {
                let k = ps.routing_keys[ps.rk_rr % ps.routing_keys.len()];
                ps.rk_rr += 1;
                k
            }
        };
        let key = if ps.keys.is_empty() {
            NO_SYM
        } else {
            match &cfg.keys {
                Some(KeyChoice::Random(_)) | Some(KeyChoice::RandomOfN(_)) => {
                    ps.keys[ps.stream.below(ps.keys.len() as u64) as usize]
                }
                Some(KeyChoice::Weighted(_)) => {
                    ps.keys[pick_weighted(&mut ps.stream, &ps.key_weights)]
                }
                _ => {
                    let k = ps.keys[ps.key_rr % ps.keys.len()];
                    ps.key_rr += 1;
                    k
                }
            }
        };
        let headers = ps.header_sets[ps.hdr_rr % ps.header_sets.len()];
        ps.hdr_rr += 1;
        let target = ps.target;
        let node = ps.node;
        let latency_us = cfg.latency.us();
        let msg_ttl_us = cfg.ttl.map(|d| d.us());
        let payload_bytes = cfg.payload_bytes;
        let slot = self.new_message(None, routing_key, key, headers, payload_bytes, msg_ttl_us);
        let id = self.msgs[slot as usize].id;
        self.msgs[slot as usize].correlation = id;
        self.published(slot, node, target, None);
        if self.ledger.live() as usize > LIVE_MESSAGES_MAX {
            // The bound `LIVE_MESSAGES_MAX` promises: a runaway scenario (fast
            // producer, no consumer, no max-length) is refused at the producer
            // instead of eating the machine's memory.
            self.drop_message(slot, Reason::QueueFull, node);
            return;
        }
        if latency_us > 0 {
            let gen = self.msgs[slot as usize].gen;
            self.agenda.schedule(
                self.now.after(latency_us),
                Event::Arrive { slot, gen, target },
            );
        } else {
            self.route(slot, target, None);
        }
    }

    fn published(&mut self, slot: u32, node: NodeId, target: Target, parent: Option<u64>) {
        let to = self.target_node(target);
        let m = &self.msgs[slot as usize];
        self.totals.published += 1;
        self.totals.bytes_published += m.payload_bytes as u64;
        self.trace.record(
            self.now,
            TraceKind::Published { to, parent },
            Some(m.id),
            node,
        );
    }

    fn target_node(&self, t: Target) -> NodeId {
        match t {
            Target::Exchange(i) => self.exchanges[i as usize].node,
            Target::Queue(i) => self.queues[i as usize].node,
        }
    }

    // ---------------------------------------------------------------- messages

    fn new_message(
        &mut self,
        parent: Option<u64>,
        routing_key: Sym,
        key: Sym,
        headers: HdrId,
        payload_bytes: u32,
        msg_ttl_us: Option<u64>,
    ) -> u32 {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        let m = Message {
            id,
            gen: 0,
            state: MsgState::Transit,
            correlation: id,
            parent,
            routing_key,
            key,
            headers,
            payload_bytes,
            published_us: self.now.0,
            msg_ttl_us,
            expires_us: u64::MAX,
            enqueued_us: 0,
            queue: u32::MAX,
            deliveries: 0,
            failures: 0,
            retry_limit: 0,
            returns: 0,
            deaths: 0,
            death_log: Vec::new(),
            deaths_now: 0,
            last_death_us: 0,
            redelivered: false,
            auto_acked: false,
            delivered_once: false,
        };
        self.ledger.created += 1;
        self.ledger.in_transit += 1;
        match self.free.pop() {
            Some(slot) => {
                let gen = self.msgs[slot as usize].gen.wrapping_add(1);
                self.msgs[slot as usize] = Message { gen, ..m };
                slot
            }
            None => {
                self.msgs.push(m);
                (self.msgs.len() - 1) as u32
            }
        }
    }

    fn copy_message(&mut self, slot: u32) -> u32 {
        let src = self.msgs[slot as usize].clone();
        let c = self.new_message(
            src.parent,
            src.routing_key,
            src.key,
            src.headers,
            src.payload_bytes,
            src.msg_ttl_us,
        );
        let m = &mut self.msgs[c as usize];
        m.correlation = src.correlation;
        m.published_us = src.published_us;
        // A copy is the same message in another queue: same history.
        m.deliveries = src.deliveries;
        m.failures = src.failures;
        m.returns = src.returns;
        m.deaths = src.deaths;
        m.death_log = src.death_log.clone();
        // Copies inherit the dead-letter cycle budget: otherwise a zero-time
        // cycle through a fanout DLX restarts the count at every copy and
        // recurses without end (route → enqueue → expire → dead-letter → route).
        m.deaths_now = src.deaths_now;
        m.last_death_us = src.last_death_us;
        c
    }

    fn set_state(&mut self, slot: u32, s: MsgState) {
        let old = self.msgs[slot as usize].state;
        *self.ledger.count(old) -= 1;
        *self.ledger.count(s) += 1;
        self.msgs[slot as usize].state = s;
    }

    fn release(&mut self, slot: u32) {
        let old = self.msgs[slot as usize].state;
        *self.ledger.count(old) -= 1;
        let m = &mut self.msgs[slot as usize];
        m.state = MsgState::Free;
        m.gen = m.gen.wrapping_add(1);
        self.free.push(slot);
    }

    fn drop_message(&mut self, slot: u32, reason: Reason, at: NodeId) {
        let id = self.msgs[slot as usize].id;
        self.trace
            .record(self.now, TraceKind::Dropped { reason }, Some(id), at);
        self.totals.dropped += 1;
        self.dropped_by_reason[reason.index()] += 1;
        self.ledger.discarded += 1;
        self.release(slot);
    }

    fn complete(&mut self, slot: u32) {
        let m = &self.msgs[slot as usize];
        let e2e = self.now.0 - m.published_us;
        self.end_to_end.record(e2e);
        self.interval.record(e2e);
        self.totals.completed += 1;
        self.ledger.completed += 1;
        self.release(slot);
    }

    // ---------------------------------------------------------------- routing

    /// Queues an exchange routes (routing key, headers) to, following
    /// exchange-to-exchange bindings and alternate exchanges. Returns the queue
    /// list (each queue once, in binding order) and the alternate used, if any.
    fn resolve(&self, x: u32, rk: Sym, hdr: HdrId) -> (Vec<u32>, Option<u32>) {
        let mut out = Vec::new();
        let mut visited = Vec::new();
        let entry_matched = self.resolve_into(x, rk, hdr, &mut out, &mut visited);
        let alternate = if entry_matched {
            None
        } else {
            self.exchanges[x as usize].alternate
        };
        (out, alternate)
    }

    /// Collect the queues exchange `x` routes to. As in RabbitMQ
    /// (`rabbit_exchange:route1`), every exchange visited whose own bindings
    /// match nothing hands the message to its alternate exchange; a matching
    /// exchange-to-exchange binding counts as a match. Each exchange is
    /// visited once per publish. Returns whether `x`'s own bindings matched.
    fn resolve_into(
        &self,
        x: u32,
        rk: Sym,
        hdr: HdrId,
        out: &mut Vec<u32>,
        visited: &mut Vec<u32>,
    ) -> bool {
        if visited.contains(&x) {
            return true;
        }
        visited.push(x);
        let cfg = &self.cfg.exchanges[x as usize];
        let key = &self.syms[rk as usize];
        let mut matched_any = false;
        for b in &cfg.bindings {
            let matched = match cfg.kind {
                ExchangeKind::Direct => b.key == *key,
                ExchangeKind::Fanout => true,
                ExchangeKind::Topic => topic_matches(&b.key, key),
                ExchangeKind::Headers => headers_match(
                    b.x_match.unwrap_or_default(),
                    &b.headers,
                    &self.hdrs[hdr as usize],
                ),
            };
            if !matched {
                continue;
            }
            matched_any = true;
            if let Some(q) = &b.queue {
                let qi = self.node_of(q).expect("validated").index;
                if !out.contains(&qi) {
                    out.push(qi);
                }
            } else if let Some(x2) = &b.exchange {
                let xi = self.node_of(x2).expect("validated").index;
                self.resolve_into(xi, rk, hdr, out, visited);
            }
        }
        if !matched_any {
            if let Some(ae) = self.exchanges[x as usize].alternate {
                self.resolve_into(ae, rk, hdr, out, visited);
            }
        }
        matched_any
    }

    /// Route a message (in transit) to its target; `from` is the queue it was
    /// dead-lettered from, for trace placement of drops.
    fn route(&mut self, slot: u32, target: Target, from: Option<u32>) {
        let x = match target {
            Target::Queue(q) => {
                // RabbitMQ's default exchange: publishing to a queue means
                // publishing with the queue's name as the routing key (which a
                // later dead-lettering without `dead_letter_routing_key` reuses).
                let name = self.queues[q as usize].name_sym;
                self.msgs[slot as usize].routing_key = name;
                self.enqueue(slot, q);
                return;
            }
            Target::Exchange(x) => x,
        };
        let (rk, hdr, id) = {
            let m = &self.msgs[slot as usize];
            (m.routing_key, m.headers, m.id)
        };
        let key = (x, rk, hdr);
        let queues: Rc<[u32]>;
        let alternate;
        if let Some(hit) = self.route_cache.get(&key) {
            queues = hit.clone();
            alternate = None;
            // The cache only holds direct hits (no alternate); see below.
        } else {
            let (qs, ae) = self.resolve(x, rk, hdr);
            queues = qs.into();
            alternate = ae;
            if ae.is_none() && !queues.is_empty() {
                if self.route_cache.len() >= ROUTE_CACHE_MAX {
                    self.route_cache.clear();
                }
                self.route_cache.insert(key, queues.clone());
            }
        }
        let xnode = self.exchanges[x as usize].node;
        if queues.is_empty() || alternate.is_some() {
            self.totals.unroutable += 1;
            self.exchanges[x as usize].unroutable += 1;
            let alt_node = alternate.map(|a| self.exchanges[a as usize].node);
            self.trace.record(
                self.now,
                TraceKind::Unroutable {
                    alternate: alt_node,
                },
                Some(id),
                xnode,
            );
            if queues.is_empty() {
                self.drop_message(slot, Reason::Unroutable, xnode);
                return;
            }
        }
        let via = alternate.unwrap_or(x);
        let vnode = self.exchanges[via as usize].node;
        let queues = match from {
            Some(_) => match self.without_cycles(slot, &queues) {
                Some(kept) => kept,
                None => {
                    // Every target would close a dead-letter cycle: RabbitMQ
                    // drops the message (the drop keeps the death's reason).
                    let reason = self.msgs[slot as usize].death_log[0].1;
                    self.drop_message(slot, reason, vnode);
                    return;
                }
            },
            None => queues,
        };
        self.totals.routed += 1;
        self.exchanges[via as usize].routed += 1;
        self.trace.record(
            self.now,
            TraceKind::Routed {
                queues: queues.len() as u32,
            },
            Some(id),
            vnode,
        );
        // Copies first (each its own entity), so the original goes last and keeps its slot.
        let mut slots = Vec::with_capacity(queues.len());
        slots.push(slot);
        for _ in 1..queues.len() {
            let c = self.copy_message(slot);
            self.totals.copies += 1;
            let cid = self.msgs[c as usize].id;
            self.trace
                .record(self.now, TraceKind::Copied { copy: cid }, Some(id), vnode);
            slots.push(c);
        }
        for (s, &q) in slots.into_iter().zip(queues.iter()) {
            if s != slot && self.ledger.live() as usize > LIVE_MESSAGES_MAX {
                // The live-message bound holds for routing copies too.
                let qnode = self.queues[q as usize].node;
                self.queues[q as usize].dropped += 1;
                self.drop_message(s, Reason::QueueFull, qnode);
                continue;
            }
            self.enqueue(s, q);
        }
    }

    /// RabbitMQ's dead-letter cycle rule: a message dead-lettered for an
    /// automatic reason (not `rejected`) is not delivered to a queue it was
    /// already dead-lettered from, unless a rejection happened in between
    /// ("messages that reach the same queue twice will be dropped if there
    /// was no rejections in the entire cycle"). Returns the targets that do
    /// not close such a cycle, or None when every one does.
    fn without_cycles(&self, slot: u32, queues: &Rc<[u32]>) -> Option<Rc<[u32]>> {
        let log = &self.msgs[slot as usize].death_log;
        let is_cycle = |t: u32| {
            for &(dq, reason) in log.iter() {
                if reason == Reason::Rejected {
                    return false;
                }
                if dq == t {
                    return true;
                }
            }
            false
        };
        if queues.iter().all(|&t| !is_cycle(t)) {
            return Some(queues.clone());
        }
        let kept: Vec<u32> = queues.iter().copied().filter(|&t| !is_cycle(t)).collect();
        (!kept.is_empty()).then(|| kept.into())
    }

    // ---------------------------------------------------------------- queues

    fn enqueue(&mut self, slot: u32, q: u32) {
        let qi = q as usize;
        let qnode = self.queues[qi].node;
        let qttl = self.cfg.queues[qi].ttl.map(|d| d.us());
        {
            let now = self.now.0;
            let m = &mut self.msgs[slot as usize];
            m.queue = q;
            m.enqueued_us = now;
            let ttl = match (qttl, m.msg_ttl_us) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            m.expires_us = ttl.map_or(u64::MAX, |t| now.saturating_add(t));
        }
        let id = self.msgs[slot as usize].id;
        let max_length = self.cfg.queues[qi].max_length;
        // RabbitMQ tries delivery before applying the length limit
        // (`deliver_or_enqueue`): a message an idle consumer can take at once
        // is never refused or pushed out, even with `max_length` 0.
        let deliverable_now = self.queues[qi].ready.is_empty() && self.has_room(q);
        let full = !deliverable_now
            && max_length.is_some_and(|l| self.queues[qi].ready.len() >= l as usize);
        if full {
            match self.cfg.queues[qi].overflow {
                Overflow::RejectPublish => {
                    self.set_state(slot, MsgState::Queued);
                    self.queues[qi].dropped += 1;
                    self.drop_message(slot, Reason::QueueFull, qnode);
                    return;
                }
                Overflow::RejectPublishDlx => {
                    self.set_state(slot, MsgState::Queued);
                    self.dead_letter_or_drop(slot, q, Reason::Maxlen);
                    return;
                }
                Overflow::DropHead => {}
            }
        }
        // Counted only once appended: a refused publish was never enqueued
        // (and has no `Enqueued` trace event).
        self.totals.enqueued += 1;
        self.queues[qi].enqueued += 1;
        self.set_state(slot, MsgState::Queued);
        self.queues[qi].ready.push_back(slot);
        let depth = self.queues[qi].ready.len() as u32;
        self.trace
            .record(self.now, TraceKind::Enqueued { depth }, Some(id), qnode);
        if deliverable_now {
            self.dispatch(q);
            self.enforce_max_length(q);
        } else {
            self.enforce_max_length(q);
            self.dispatch(q);
        }
    }

    /// Does any up instance subscribed to `q` have prefetch room? (No side effects.)
    fn has_room(&self, q: u32) -> bool {
        self.queues[q as usize].subscribers.iter().any(|&(c, i)| {
            let prefetch = self.cfg.consumers[c as usize].prefetch as usize;
            let inst = &self.consumers[c as usize].instances[i as usize];
            inst.up && inst.buffer.len() < prefetch
        })
    }

    /// Drop from the head (dead-lettering with `maxlen`) until the queue fits.
    ///
    /// Not re-entrant per queue: a dead-lettered head may be routed straight
    /// back into this queue, whose enqueue trims again. The loop below re-reads
    /// the length on every turn, so the inner call returns at once; otherwise
    /// the stack would grow with the queue's length (a deep queue cut down by
    /// `SetMaxLength` overflowed it).
    fn enforce_max_length(&mut self, q: u32) {
        let qi = q as usize;
        if self.queues[qi].trimming {
            return;
        }
        self.queues[qi].trimming = true;
        while let Some(l) = self.cfg.queues[qi].max_length {
            if self.queues[qi].ready.len() <= l as usize {
                break;
            }
            let head = self.queues[qi]
                .ready
                .pop_front()
                .expect("longer than limit");
            self.dead_letter_or_drop(head, q, Reason::Maxlen);
        }
        self.queues[qi].trimming = false;
    }

    fn note_depth(&mut self, q: u32) {
        let qs = &mut self.queues[q as usize];
        let d = qs.ready.len() as u32;
        if d > qs.depth_max {
            qs.depth_max = d;
        }
    }

    /// Expire heads whose TTL ran out, then hand ready messages to instances
    /// with prefetch room, round-robin; finally arm the next expiry check.
    ///
    /// Not re-entrant per queue: an expired head is dead-lettered, and the
    /// dead-letter exchange may route it (or a copy) back into this queue,
    /// whose enqueue dispatches again. The loop below re-reads the head on
    /// every turn, so the inner call has nothing to add and returns at once.
    /// Without this guard every expiry nested one level deeper and a queue
    /// full of due messages overflowed the stack (found by the property test).
    fn dispatch(&mut self, q: u32) {
        let qi = q as usize;
        self.note_depth(q);
        if self.queues[qi].dispatching {
            return;
        }
        self.queues[qi].dispatching = true;
        while let Some(&head) = self.queues[qi].ready.front() {
            let m = &self.msgs[head as usize];
            let due = m.expires_us <= self.now.0;
            // RabbitMQ: a TTL of 0 expires a message on reaching the queue
            // "unless it can be delivered to a consumer immediately". Such a
            // message is due the instant it arrives; it may still be handed
            // to a consumer with room in that same dispatch, never later.
            let deliverable_when_due = m.expires_us == m.enqueued_us && m.enqueued_us == self.now.0;
            if due && !deliverable_when_due {
                self.queues[qi].ready.pop_front();
                self.expire(head, q);
                continue;
            }
            let Some((c, i)) = self.next_subscriber_with_room(q) else {
                if due {
                    self.queues[qi].ready.pop_front();
                    self.expire(head, q);
                    continue;
                }
                break;
            };
            self.queues[qi].ready.pop_front();
            self.deliver(head, q, c, i);
        }
        self.queues[qi].dispatching = false;
        self.arm_expiry(q);
    }

    fn next_subscriber_with_room(&mut self, q: u32) -> Option<(u32, u32)> {
        let qs = &self.queues[q as usize];
        let n = qs.subscribers.len();
        for k in 0..n {
            let idx = (qs.rr + k) % n;
            let (c, i) = qs.subscribers[idx];
            let prefetch = self.cfg.consumers[c as usize].prefetch as usize;
            let inst = &self.consumers[c as usize].instances[i as usize];
            if inst.up && inst.buffer.len() < prefetch {
                self.queues[q as usize].rr = (idx + 1) % n;
                return Some((c, i));
            }
        }
        None
    }

    fn arm_expiry(&mut self, q: u32) {
        let qi = q as usize;
        let Some(&head) = self.queues[qi].ready.front() else {
            return;
        };
        let at = self.msgs[head as usize].expires_us;
        if at == u64::MAX {
            return;
        }
        // Never schedule in the past. Every caller dispatches first, which
        // expires overdue heads, so this only guards against a future caller.
        debug_assert!(at >= self.now.0, "expiry check armed in the past");
        let at = at.max(self.now.0);
        let qs = &mut self.queues[qi];
        if qs.expiry_check_us.is_none_or(|t| t > at) {
            qs.expiry_check_us = Some(at);
            self.agenda.schedule(SimTime(at), Event::ExpiryCheck { q });
        }
    }

    fn expire(&mut self, slot: u32, q: u32) {
        let id = self.msgs[slot as usize].id;
        let qnode = self.queues[q as usize].node;
        self.trace
            .record(self.now, TraceKind::Expired, Some(id), qnode);
        self.totals.expired += 1;
        self.queues[q as usize].expired += 1;
        self.dead_letter_or_drop(slot, q, Reason::Expired);
    }

    /// Republish to the queue's dead-letter exchange with `reason`, or drop.
    fn dead_letter_or_drop(&mut self, slot: u32, q: u32, reason: Reason) {
        let dlx = self.queues[q as usize].dlx;
        self.dead_letter_to(slot, q, dlx, reason);
    }

    fn dead_letter_to(&mut self, slot: u32, q: u32, dlx: Option<u32>, reason: Reason) {
        let qnode = self.queues[q as usize].node;
        let Some(x) = dlx else {
            self.queues[q as usize].dropped += 1;
            self.drop_message(slot, reason, qnode);
            return;
        };
        let now = self.now.0;
        let dlrk = self.queues[q as usize].dlrk;
        let m = &mut self.msgs[slot as usize];
        if m.last_death_us == now && m.deaths > 0 {
            m.deaths_now += 1;
        } else {
            m.deaths_now = 1;
        }
        m.last_death_us = now;
        m.deaths += 1;
        if let Some(k) = m.death_log.iter().position(|&d| d == (q, reason)) {
            m.death_log.remove(k);
        }
        m.death_log.insert(0, (q, reason));
        let deaths = m.deaths;
        let id = m.id;
        if self.dl_instant_us != now {
            self.dl_instant_us = now;
            self.dl_instant_count = 0;
        }
        self.dl_instant_count += 1;
        let m = &mut self.msgs[slot as usize];
        if m.deaths_now > DEATHS_PER_INSTANT_MAX
            || self.dl_instant_count > DEAD_LETTERS_PER_INSTANT_MAX
        {
            // Backstop for zero-time dead-letter chains that the cycle rule in
            // `route` does not catch (e.g. repeated rejections at one instant).
            self.queues[q as usize].dropped += 1;
            self.drop_message(slot, reason, qnode);
            return;
        }
        // RabbitMQ removes the per-message expiration when it dead-letters,
        // and a delivery limit counts returns to the queue it now leaves.
        m.returns = 0;
        m.msg_ttl_us = None;
        m.expires_us = u64::MAX;
        m.redelivered = false;
        if let Some(k) = dlrk {
            m.routing_key = k;
        }
        let xnode = self.exchanges[x as usize].node;
        self.trace.record(
            self.now,
            TraceKind::DeadLettered {
                reason,
                exchange: xnode,
                deaths,
            },
            Some(id),
            qnode,
        );
        self.totals.dead_lettered += 1;
        self.queues[q as usize].dead_lettered += 1;
        self.set_state(slot, MsgState::Transit);
        self.route(slot, Target::Exchange(x), Some(q));
    }

    /// Put a returned delivery back at the head (or dead-letter it past the delivery limit).
    fn requeue(&mut self, slot: u32, q: u32) {
        let qi = q as usize;
        let m = &mut self.msgs[slot as usize];
        m.returns += 1;
        let returns = m.returns;
        if self.cfg.queues[qi]
            .delivery_limit
            .is_some_and(|l| returns > l)
        {
            self.set_state(slot, MsgState::Queued);
            self.dead_letter_or_drop(slot, q, Reason::DeliveryLimit);
            return;
        }
        self.msgs[slot as usize].redelivered = true;
        self.set_state(slot, MsgState::Queued);
        self.queues[qi].ready.push_front(slot);
        self.totals.requeued += 1;
        let depth = self.queues[qi].ready.len() as u32;
        let id = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::Requeued { depth },
            Some(id),
            self.queues[qi].node,
        );
        self.enforce_max_length(q);
    }

    // ---------------------------------------------------------------- consumers

    fn deliver(&mut self, slot: u32, q: u32, c: u32, i: u32) {
        let ci = c as usize;
        self.set_state(slot, MsgState::Unacked);
        let auto = self.cfg.consumers[ci].ack == AckMode::Auto;
        let m = &mut self.msgs[slot as usize];
        m.deliveries += 1;
        let attempt = m.deliveries;
        let redelivered = m.redelivered;
        let id = m.id;
        let first = !m.delivered_once;
        m.delivered_once = true;
        m.auto_acked = auto;
        let waited = self.now.0 - m.published_us;
        if first {
            self.wait.record(waited);
        }
        self.totals.delivered += 1;
        if redelivered {
            self.totals.redelivered += 1;
        }
        let qs = &mut self.queues[q as usize];
        qs.delivered += 1;
        qs.unacked += 1;
        let qnode = qs.node;
        let cnode = self.consumers[ci].node;
        self.trace.record(
            self.now,
            TraceKind::Delivered {
                consumer: cnode,
                instance: i,
                attempt,
                redelivered,
            },
            Some(id),
            qnode,
        );
        if auto {
            self.totals.acked += 1;
            self.consumers[ci].acked += 1;
            self.queues[q as usize].acked += 1;
            self.trace
                .record(self.now, TraceKind::Acked { instance: i }, Some(id), cnode);
        }
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.buffer.push_back(slot);
        if !inst.busy {
            self.start_service(c, i);
        }
    }

    fn service_us(&mut self, c: u32) -> u64 {
        let cs = &mut self.consumers[c as usize];
        let us = match &self.cfg.consumers[c as usize].service {
            Service::Constant(d) => d.us() as f64,
            Service::Uniform([a, b]) => {
                let (lo, hi) = (a.us().min(b.us()) as f64, a.us().max(b.us()) as f64);
                lo + (hi - lo) * cs.stream.unit()
            }
            Service::Exponential(mean) => cs.stream.exponential(mean.us() as f64),
            Service::LogNormal { median, sigma } => {
                cs.stream.log_normal(median.us() as f64, *sigma)
            }
        };
        // At least 1 us: processing always takes time, so the clock moves.
        delay_us_from_f64(us, DELAY_US_MAX).max(1)
    }

    fn start_service(&mut self, c: u32, i: u32) {
        let service_us = self.service_us(c);
        let inst = &mut self.consumers[c as usize].instances[i as usize];
        debug_assert!(!inst.buffer.is_empty());
        inst.busy = true;
        inst.service_pending += 1;
        inst.service_us = service_us;
        inst.busy_since_us = self.now.0;
        let epoch = inst.epoch;
        self.agenda.schedule(
            self.now.after(service_us),
            Event::ServiceDone { c, i, epoch },
        );
    }

    fn is_poison(&self, c: u32, slot: u32) -> bool {
        let m = &self.msgs[slot as usize];
        match &self.cfg.consumers[c as usize].poison {
            None => false,
            Some(Poison::Key(k)) => m.key != NO_SYM && self.syms[m.key as usize] == *k,
            Some(Poison::Header { name, value }) => {
                self.hdrs[m.headers as usize].get(name) == Some(value)
            }
        }
    }

    fn on_service_done(&mut self, c: u32, i: u32, epoch: u32) {
        let ci = c as usize;
        let Some(inst) = self.consumers[ci].instances.get_mut(i as usize) else {
            return;
        };
        if inst.epoch != epoch || !inst.busy {
            return; // the instance crashed or was removed meanwhile
        }
        let slot = inst
            .buffer
            .pop_front()
            .expect("busy instance holds its delivery");
        inst.busy = false;
        inst.service_pending -= 1;
        inst.busy_total_us += self.now.0 - inst.busy_since_us;
        let service_us = inst.service_us;
        let q = self.consumers[ci].queue;
        self.queues[q as usize].unacked -= 1;
        let cnode = self.consumers[ci].node;
        let id = self.msgs[slot as usize].id;
        let failure_rate = self.cfg.consumers[ci].failure_rate;
        let failed = self.is_poison(c, slot)
            || (failure_rate > 0.0 && self.consumers[ci].stream.chance(failure_rate));
        if !failed {
            self.totals.processed += 1;
            self.consumers[ci].processed += 1;
            self.consumers[ci].instances[i as usize].processed += 1;
            self.trace.record(
                self.now,
                TraceKind::Processed {
                    instance: i,
                    service_us,
                },
                Some(id),
                cnode,
            );
            self.handler_publish(c, slot);
            if !self.msgs[slot as usize].auto_acked {
                self.totals.acked += 1;
                self.consumers[ci].acked += 1;
                self.queues[q as usize].acked += 1;
                self.trace
                    .record(self.now, TraceKind::Acked { instance: i }, Some(id), cnode);
            }
            self.complete(slot);
        } else {
            self.totals.failed += 1;
            self.consumers[ci].failed += 1;
            let m = &mut self.msgs[slot as usize];
            m.failures += 1;
            let attempt = m.failures;
            self.trace.record(
                self.now,
                TraceKind::Failed {
                    instance: i,
                    attempt,
                },
                Some(id),
                cnode,
            );
            if self.msgs[slot as usize].auto_acked {
                self.drop_message(slot, Reason::LostAfterAutoAck, cnode);
            } else {
                self.fail_manual(c, i, slot, q);
            }
        }
        // The instance may already be serving again: handler publishes and
        // dead-lettering above can route a message straight back into this
        // queue, and that nested dispatch may deliver to this (idle) instance,
        // which starts its service. Starting it a second time scheduled two
        // completions for one delivery.
        let inst = &self.consumers[ci].instances[i as usize];
        if !inst.busy && !inst.buffer.is_empty() {
            self.start_service(c, i);
        }
        self.dispatch(q);
    }

    fn nack(&mut self, c: u32, i: u32, slot: u32, requeue: bool) {
        let cnode = self.consumers[c as usize].node;
        let id = self.msgs[slot as usize].id;
        self.totals.nacked += 1;
        self.consumers[c as usize].nacked += 1;
        self.trace.record(
            self.now,
            TraceKind::Nacked {
                instance: i,
                requeue,
            },
            Some(id),
            cnode,
        );
    }

    fn fail_manual(&mut self, c: u32, i: u32, slot: u32, q: u32) {
        let ci = c as usize;
        match self.cfg.consumers[ci].on_failure {
            OnFailure::Requeue => {
                self.nack(c, i, slot, true);
                self.requeue(slot, q);
            }
            OnFailure::DeadLetter => {
                self.nack(c, i, slot, false);
                self.set_state(slot, MsgState::Queued);
                self.dead_letter_or_drop(slot, q, Reason::Rejected);
            }
            OnFailure::Retry => {
                let policy = self.cfg.consumers[ci]
                    .retry
                    .clone()
                    .expect("validated: retry needs a policy");
                let failures = self.msgs[slot as usize].failures;
                if failures < policy.max_attempts {
                    self.totals.retried += 1;
                    match policy.mode {
                        RetryMode::Delayed => {
                            let delay_us = self.backoff_us(c, &policy.backoff, failures);
                            self.set_state(slot, MsgState::RetryWait);
                            self.msgs[slot as usize].retry_limit = policy.max_attempts;
                            let id = self.msgs[slot as usize].id;
                            let cnode = self.consumers[ci].node;
                            self.trace.record(
                                self.now,
                                TraceKind::RetryScheduled {
                                    attempt: failures + 1,
                                    delay_us,
                                },
                                Some(id),
                                cnode,
                            );
                            let gen = self.msgs[slot as usize].gen;
                            self.agenda
                                .schedule(self.now.after(delay_us), Event::RetryDue { slot, gen });
                        }
                        RetryMode::RetryQueue => {
                            self.nack(c, i, slot, false);
                            self.set_state(slot, MsgState::Queued);
                            self.dead_letter_or_drop(slot, q, Reason::Rejected);
                        }
                    }
                } else {
                    self.nack(c, i, slot, false);
                    self.set_state(slot, MsgState::Queued);
                    match self.consumers[ci].exhausted_to {
                        Some(x) => self.dead_letter_to(slot, q, Some(x), Reason::Rejected),
                        // In retry_queue mode the queue's dead-letter exchange
                        // is the retry loop itself: going through it would
                        // send the exhausted message round again, for ever.
                        None if self.queues[q as usize].dlx.is_some()
                            && policy.mode == RetryMode::Delayed =>
                        {
                            self.dead_letter_or_drop(slot, q, Reason::Rejected)
                        }
                        None => {
                            let qnode = self.queues[q as usize].node;
                            self.queues[q as usize].dropped += 1;
                            self.drop_message(slot, Reason::RetriesExhausted, qnode);
                        }
                    }
                }
            }
        }
    }

    /// Delay before attempt `failures + 1`: `initial * multiplier^(failures-1)`,
    /// capped, then jittered uniformly by ±jitter (via the consumer's stream).
    fn backoff_us(&mut self, c: u32, b: &Backoff, failures: u32) -> u64 {
        match b {
            Backoff::Immediate => 0,
            Backoff::Fixed(d) => d.us(),
            Backoff::Exponential {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                let exp = libm::pow(*multiplier, failures.saturating_sub(1) as f64);
                let raw = (initial.us() as f64 * exp).min(max.us() as f64);
                let j = if *jitter > 0.0 {
                    let u = self.consumers[c as usize].stream.unit();
                    1.0 + jitter * (2.0 * u - 1.0)
                } else {
                    1.0
                };
                delay_us_from_f64(raw * j, DELAY_US_MAX)
            }
        }
    }

    fn on_retry_due(&mut self, slot: u32, gen: u32) {
        let m = &mut self.msgs[slot as usize];
        if m.gen != gen || m.state != MsgState::RetryWait {
            return;
        }
        m.redelivered = true;
        let q = m.queue;
        let id = m.id;
        let attempt = m.failures + 1;
        let qnode = self.queues[q as usize].node;
        self.trace
            .record(self.now, TraceKind::Retried { attempt }, Some(id), qnode);
        self.set_state(slot, MsgState::Transit);
        self.enqueue(slot, q);
    }

    fn handler_publish(&mut self, c: u32, slot: u32) {
        let ci = c as usize;
        if self.consumers[ci].on_success.is_empty() {
            return;
        }
        let cnode = self.consumers[ci].node;
        // Only the fields a reply inherits: cloning the whole message would
        // also copy its death log on every successful handler run.
        let m = &self.msgs[slot as usize];
        let (id, routing_key, key, headers, payload_bytes, correlation) = (
            m.id,
            m.routing_key,
            m.key,
            m.headers,
            m.payload_bytes,
            m.correlation,
        );
        for k in 0..self.consumers[ci].on_success.len() {
            let (target, rk, copies) = self.consumers[ci].on_success[k];
            for _ in 0..copies {
                if self.ledger.live() as usize >= LIVE_MESSAGES_MAX {
                    return;
                }
                let n = self.new_message(
                    Some(id),
                    rk.unwrap_or(routing_key),
                    key,
                    headers,
                    payload_bytes,
                    None,
                );
                self.msgs[n as usize].correlation = correlation;
                self.published(n, cnode, target, Some(id));
                self.route(n, target, None);
            }
        }
    }

    /// Crash one instance: its unacked deliveries go back to the queue (at
    /// the head, in order), its auto-acked ones are lost. Does not dispatch:
    /// when several instances go down together, the returned messages must
    /// not be handed to an instance that is about to crash too (that would
    /// count a spurious redelivery, and a return toward the delivery limit).
    /// Callers dispatch the queue once everything has gone down.
    fn crash_instance(&mut self, c: u32, i: u32) {
        let ci = c as usize;
        let q = self.consumers[ci].queue;
        let epoch_next = self.consumers[ci].epoch_next;
        let inst = &mut self.consumers[ci].instances[i as usize];
        if !inst.up {
            return;
        }
        self.consumers[ci].epoch_next = epoch_next.wrapping_add(1);
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.up = false;
        inst.epoch = epoch_next;
        if inst.busy {
            inst.busy_total_us += self.now.0 - inst.busy_since_us;
        }
        inst.busy = false;
        // Its pending completion is now stale (the epoch changed).
        inst.service_pending = 0;
        let held: Vec<u32> = inst.buffer.drain(..).collect();
        let lost = held
            .iter()
            .filter(|&&s| self.msgs[s as usize].auto_acked)
            .count() as u32;
        let returned = held.len() as u32 - lost;
        self.totals.crashes += 1;
        let cnode = self.consumers[ci].node;
        self.trace.record(
            self.now,
            TraceKind::Crashed {
                instance: i,
                returned,
                lost,
            },
            None,
            cnode,
        );
        self.queues[q as usize].unacked -= held.len() as u32;
        // Return in reverse so the original order ends up at the head.
        for &s in held.iter().rev() {
            if self.msgs[s as usize].auto_acked {
                self.drop_message(s, Reason::LostAfterAutoAck, cnode);
            } else {
                self.requeue(s, q);
            }
        }
    }

    fn restart_instance(&mut self, c: u32, i: u32) {
        let ci = c as usize;
        let inst = &mut self.consumers[ci].instances[i as usize];
        if inst.up {
            return;
        }
        inst.up = true;
        let cnode = self.consumers[ci].node;
        self.trace
            .record(self.now, TraceKind::Restarted { instance: i }, None, cnode);
        let q = self.consumers[ci].queue;
        self.dispatch(q);
    }

    // ---------------------------------------------------------------- sampling

    fn on_sample(&mut self) {
        let depth = self.queues.iter().map(|q| q.ready.len() as u32).collect();
        let unacked = self.queues.iter().map(|q| q.unacked).collect();
        let p = SeriesPoint {
            t_us: self.now.0,
            published: self.totals.published,
            processed: self.totals.processed,
            completed: self.totals.completed,
            retried: self.totals.retried,
            dead_lettered: self.totals.dead_lettered,
            expired: self.totals.expired,
            dropped: self.totals.dropped,
            in_flight: self.ledger.live(),
            depth,
            unacked,
            latency_p50_us: self.interval.quantile_us(0.5),
            latency_p99_us: self.interval.quantile_us(0.99),
        };
        self.series.offer(p);
        self.interval.reset();
        let every = self.cfg.sample_interval.us().max(1);
        self.agenda.schedule(self.now.after(every), Event::Sample);
    }

    // ---------------------------------------------------------------- commands

    /// Apply a command at the current time and log it.
    pub fn submit(&mut self, command: Command) -> Result<(), CommandError> {
        self.check_command(&command)?;
        self.apply_command(&command);
        let index = self.commands.len() as u32;
        self.commands.push(LoggedCommand {
            at_us: self.now.0,
            after_events: self.events,
            command,
        });
        let node = self
            .nodes
            .iter()
            .position(|n| n.id == self.commands[index as usize].command.target())
            .unwrap_or(0);
        self.trace.record(
            self.now,
            TraceKind::CommandApplied {
                index,
                scheduled: false,
            },
            None,
            NodeId(node as u32),
        );
        Ok(())
    }

    fn find(&self, id: &str, kind: NodeKind) -> Result<u32, CommandError> {
        match self.node_of(id) {
            Some(n) if n.kind == kind => Ok(n.index),
            Some(n) => Err(CommandError(
                format!("{id:?} is a {:?}, not a {:?}", n.kind, kind).to_lowercase(),
            )),
            None => Err(CommandError(format!("no node named {id:?}"))),
        }
    }

    fn check_command(&self, cmd: &Command) -> Result<(), CommandError> {
        let err = |s: String| Err(CommandError(s));
        match cmd {
            Command::SetRate { producer, rate } => {
                self.find(producer, NodeKind::Producer)?;
                if rate.per_s().is_nan() || rate.per_s() < 0.0 {
                    return err("rate must not be negative".into());
                }
            }
            Command::PauseProducer { producer } | Command::ResumeProducer { producer } => {
                self.find(producer, NodeKind::Producer)?;
            }
            Command::SetArrival { producer, arrival } => {
                let p = self.find(producer, NodeKind::Producer)?;
                let rate = self.cfg.producers[p as usize].rate;
                scenario::check_arrival(arrival, rate).map_err(CommandError)?;
            }
            Command::CrashConsumer {
                consumer, instance, ..
            }
            | Command::RestartConsumer { consumer, instance } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                let n = self.consumers[c as usize].instances.len() as u32;
                if let Some(i) = instance {
                    if *i >= n {
                        return err(format!(
                            "{consumer} has {n} instances; there is no instance {i}"
                        ));
                    }
                }
            }
            Command::SetInstances {
                consumer,
                instances,
            } => {
                self.find(consumer, NodeKind::Consumer)?;
                if *instances > scenario::INSTANCES_MAX {
                    return err(format!(
                        "instances must be at most {}",
                        scenario::INSTANCES_MAX
                    ));
                }
            }
            Command::SetService { consumer, service } => {
                self.find(consumer, NodeKind::Consumer)?;
                scenario::check_service(service).map_err(CommandError)?;
            }
            Command::SetFailureRate {
                consumer,
                failure_rate,
            } => {
                self.find(consumer, NodeKind::Consumer)?;
                if !(0.0..=1.0).contains(failure_rate) {
                    return err("failure rate must be between 0 and 1".into());
                }
            }
            Command::SetPrefetch { consumer, prefetch } => {
                self.find(consumer, NodeKind::Consumer)?;
                if *prefetch == 0 || *prefetch > scenario::PREFETCH_MAX {
                    return err(format!(
                        "prefetch must be between 1 and {}",
                        scenario::PREFETCH_MAX
                    ));
                }
            }
            Command::SetAckMode { consumer, .. } => {
                self.find(consumer, NodeKind::Consumer)?;
            }
            Command::SetOnFailure {
                consumer,
                on_failure,
            } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                if *on_failure == OnFailure::Retry && self.cfg.consumers[c as usize].retry.is_none()
                {
                    return err(format!("{consumer} has no retry policy; set one first"));
                }
            }
            Command::SetRetry { consumer, retry } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                let cfg = &self.cfg.consumers[c as usize];
                match retry {
                    None if cfg.on_failure == OnFailure::Retry => {
                        return err(format!("{consumer} retries on failure; change on_failure before removing the policy"))
                    }
                    None => {}
                    Some(r) => {
                        scenario::check_retry(r).map_err(CommandError)?;
                        if r.exhausted_to.as_ref() != cfg.retry.as_ref().and_then(|x| x.exhausted_to.as_ref()) {
                            return err("exhausted_to cannot change while running".into());
                        }
                        let q = self.consumers[c as usize].queue;
                        if r.mode == RetryMode::RetryQueue && self.queues[q as usize].dlx.is_none() {
                            return err(format!("retry_queue mode needs {} to have a dead_letter_exchange", cfg.queue));
                        }
                    }
                }
            }
            Command::SetMaxLength { queue, max_length } => {
                self.find(queue, NodeKind::Queue)?;
                if max_length.is_some_and(|l| l > scenario::MAX_LENGTH_MAX) {
                    return err(format!(
                        "max_length must be at most {}",
                        scenario::MAX_LENGTH_MAX
                    ));
                }
            }
            Command::SetOverflow { queue, overflow } => {
                let q = self.find(queue, NodeKind::Queue)?;
                // The same rule scenario validation applies: without a DLX,
                // reject-publish-dlx would silently behave as a drop.
                if *overflow == Overflow::RejectPublishDlx && self.queues[q as usize].dlx.is_none()
                {
                    return err(format!(
                        "reject-publish-dlx needs {queue} to have a dead_letter_exchange"
                    ));
                }
            }
            Command::SetQueueTtl { queue, .. } | Command::PurgeQueue { queue } => {
                self.find(queue, NodeKind::Queue)?;
            }
        }
        Ok(())
    }

    fn apply_command(&mut self, cmd: &Command) {
        match cmd {
            Command::SetRate { producer, rate } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.cfg.producers[p as usize].rate = *rate;
                let ps = &mut self.producers[p as usize];
                ps.epoch = ps.epoch.wrapping_add(1);
                if !ps.paused {
                    self.schedule_tick(p, self.now);
                }
            }
            Command::SetArrival { producer, arrival } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.cfg.producers[p as usize].arrival = arrival.clone();
                let ps = &mut self.producers[p as usize];
                ps.epoch = ps.epoch.wrapping_add(1);
                if !ps.paused {
                    self.schedule_tick(p, self.now);
                }
            }
            Command::PauseProducer { producer } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                let ps = &mut self.producers[p as usize];
                ps.paused = true;
                ps.epoch = ps.epoch.wrapping_add(1);
            }
            Command::ResumeProducer { producer } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                let ps = &mut self.producers[p as usize];
                if ps.paused {
                    ps.paused = false;
                    ps.epoch = ps.epoch.wrapping_add(1);
                    self.schedule_tick(p, self.now);
                }
            }
            Command::CrashConsumer {
                consumer,
                instance,
                restart_after,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                let n = self.consumers[c as usize].instances.len() as u32;
                let which: Vec<u32> = match instance {
                    Some(i) => vec![*i],
                    None => (0..n).collect(),
                };
                for i in which {
                    self.crash_instance(c, i);
                    if let Some(d) = restart_after {
                        let epoch = self.consumers[c as usize].instances[i as usize].epoch;
                        self.agenda
                            .schedule(self.now.after(d.us()), Event::Restart { c, i, epoch });
                    }
                }
                let q = self.consumers[c as usize].queue;
                self.dispatch(q);
            }
            Command::RestartConsumer { consumer, instance } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                let n = self.consumers[c as usize].instances.len() as u32;
                let which: Vec<u32> = match instance {
                    Some(i) => vec![*i],
                    None => (0..n).collect(),
                };
                for i in which {
                    self.restart_instance(c, i);
                }
            }
            Command::SetInstances {
                consumer,
                instances,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                let ci = c as usize;
                let q = self.consumers[ci].queue;
                let n = *instances as usize;
                while self.consumers[ci].instances.len() > n {
                    let last = self.consumers[ci].instances.len() as u32 - 1;
                    self.crash_instance(c, last);
                    self.consumers[ci].instances.pop();
                }
                while self.consumers[ci].instances.len() < n {
                    let epoch = self.consumers[ci].epoch_next;
                    self.consumers[ci].epoch_next = epoch.wrapping_add(1);
                    self.consumers[ci].instances.push(Instance {
                        up: true,
                        epoch,
                        ..Default::default()
                    });
                }
                self.cfg.consumers[ci].instances = *instances;
                self.rebuild_subscribers(q);
                self.dispatch(q);
            }
            Command::SetService { consumer, service } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].service = service.clone();
            }
            Command::SetFailureRate {
                consumer,
                failure_rate,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].failure_rate = *failure_rate;
            }
            Command::SetPrefetch { consumer, prefetch } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].prefetch = *prefetch;
                let cs = &mut self.consumers[c as usize];
                cs.prefetch_ceiling = cs.prefetch_ceiling.max(*prefetch);
                let q = self.consumers[c as usize].queue;
                self.dispatch(q);
            }
            Command::SetAckMode { consumer, ack } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].ack = *ack;
            }
            Command::SetOnFailure {
                consumer,
                on_failure,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].on_failure = *on_failure;
            }
            Command::SetRetry { consumer, retry } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].retry = retry.clone();
            }
            Command::SetMaxLength { queue, max_length } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.cfg.queues[q as usize].max_length = *max_length;
                self.enforce_max_length(q);
                // Dispatch, not just re-arm: the trim may expose a head whose
                // TTL already ran out behind a longer-lived message. It must
                // expire now; arming a check at its (past) expiry time put an
                // event before `now` on the agenda.
                self.dispatch(q);
            }
            Command::SetOverflow { queue, overflow } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.cfg.queues[q as usize].overflow = *overflow;
            }
            Command::SetQueueTtl { queue, ttl } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.cfg.queues[q as usize].ttl = *ttl;
            }
            Command::PurgeQueue { queue } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                let qnode = self.queues[q as usize].node;
                let ready: Vec<u32> = self.queues[q as usize].ready.drain(..).collect();
                for s in ready {
                    self.queues[q as usize].dropped += 1;
                    self.drop_message(s, Reason::Purged, qnode);
                }
            }
        }
    }

    /// Rebuild a session: same scenario and seed, then every logged command at
    /// the exact point it was first applied, then run to `until`.
    pub fn replay(
        scenario: Scenario,
        seed: u64,
        log: &[LoggedCommand],
        until: SimTime,
    ) -> Result<Engine, String> {
        let mut e = Engine::new(scenario, seed).map_err(|e| e.to_string())?;
        for (k, entry) in log.iter().enumerate() {
            e.seek_point(entry.after_events, SimTime(entry.at_us))
                .map_err(|why| format!("command {k} cannot be replayed: {why}"))?;
            e.submit(entry.command.clone())
                .map_err(|why| format!("command {k}: {why}"))?;
        }
        e.run_until(until, u64::MAX);
        Ok(e)
    }

    /// Advance to exactly `events` processed events with the clock at `at`.
    pub fn seek_point(&mut self, events: u64, at: SimTime) -> Result<(), String> {
        if events < self.events || at < self.now {
            return Err("the log goes back in time".into());
        }
        while self.events < events {
            if !self.step() {
                return Err("ran out of events".into());
            }
        }
        if self.now > at {
            return Err("the clock passed the command's time".into());
        }
        if self.agenda.peek_time().is_some_and(|t| t < at) {
            // Setting the clock past a pending event would make time go back.
            return Err("the command's time skips over pending events".into());
        }
        self.now = at;
        Ok(())
    }

    // ---------------------------------------------------------------- checking

    /// Check every invariant; returns the first violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let l = &self.ledger;
        if l.created != l.live() + l.completed + l.discarded {
            return Err(format!("conservation: {l:?}"));
        }
        let mut by_state = [0u64; 5];
        for m in &self.msgs {
            by_state[m.state as usize] += 1;
        }
        let expect = [
            self.free.len() as u64,
            l.in_transit,
            l.queued,
            l.unacked,
            l.retry_wait,
        ];
        if by_state != expect {
            return Err(format!(
                "arena states {by_state:?} disagree with ledger {expect:?}"
            ));
        }
        if self.totals.dropped != l.discarded {
            return Err(format!(
                "dropped {} != discarded {}",
                self.totals.dropped, l.discarded
            ));
        }
        let mut queued = 0;
        let mut unacked = 0;
        for (qi, q) in self.queues.iter().enumerate() {
            queued += q.ready.len() as u64;
            if let Some(max) = self.cfg.queues[qi].max_length {
                if q.ready.len() > max as usize {
                    return Err(format!(
                        "queue {} holds {} > max_length {max}",
                        self.cfg.queues[qi].id,
                        q.ready.len()
                    ));
                }
            }
            for &s in &q.ready {
                let m = &self.msgs[s as usize];
                if m.state != MsgState::Queued || m.queue != qi as u32 {
                    return Err(format!(
                        "message {} in queue {qi} has state {:?}",
                        m.id, m.state
                    ));
                }
            }
            let held: u32 = self
                .consumers
                .iter()
                .filter(|c| c.queue == qi as u32)
                .flat_map(|c| c.instances.iter())
                .map(|i| i.buffer.len() as u32)
                .sum();
            if held != q.unacked {
                return Err(format!(
                    "queue {qi} counts {} unacked, consumers hold {held}",
                    q.unacked
                ));
            }
            unacked += held as u64;
            // Dispatch is work-conserving: no ready message waits while an
            // instance reading this queue is up and has prefetch room. (A
            // stuck queue would pass every conservation check.)
            if !q.ready.is_empty() {
                for &(c, i) in &q.subscribers {
                    let inst = &self.consumers[c as usize].instances[i as usize];
                    let prefetch = self.cfg.consumers[c as usize].prefetch as usize;
                    if inst.up && inst.buffer.len() < prefetch {
                        return Err(format!(
                            "queue {} has {} ready while {}#{i} is up with {} of {prefetch} held",
                            self.cfg.queues[qi].id,
                            q.ready.len(),
                            self.cfg.consumers[c as usize].id,
                            inst.buffer.len()
                        ));
                    }
                }
            }
        }
        if queued != l.queued || unacked != l.unacked {
            return Err(format!(
                "queued {queued}/{} unacked {unacked}/{}",
                l.queued, l.unacked
            ));
        }
        for (ci, c) in self.consumers.iter().enumerate() {
            for (ii, inst) in c.instances.iter().enumerate() {
                if inst.buffer.len() > c.prefetch_ceiling as usize {
                    return Err(format!(
                        "instance {ci}#{ii} holds {} deliveries, prefetch is at most {}",
                        inst.buffer.len(),
                        c.prefetch_ceiling
                    ));
                }
                if !inst.up && !inst.buffer.is_empty() {
                    return Err(format!("crashed instance {ci}#{ii} still holds deliveries"));
                }
                if inst.service_pending != inst.busy as u32 {
                    return Err(format!(
                        "instance {ci}#{ii} busy={} with {} service completions pending",
                        inst.busy, inst.service_pending
                    ));
                }
                if inst.busy == inst.buffer.is_empty() {
                    return Err(format!(
                        "instance {ci}#{ii} busy={} with {} held",
                        inst.busy,
                        inst.buffer.len()
                    ));
                }
            }
        }
        // Attempts within their limit. A message's failures count over its
        // whole life (the retry-queue pattern relies on that), so a message
        // dead-lettered back into a queue, or handed to another consumer
        // group, may legitimately be delivered again with failures at or past
        // some policy's limit. What must hold is that a delayed retry is only
        // ever pending with attempts left under the policy that scheduled it.
        for m in &self.msgs {
            if m.state == MsgState::RetryWait
                && !(m.failures >= 1
                    && m.failures < m.retry_limit
                    && m.retry_limit <= scenario::ATTEMPTS_MAX)
            {
                return Err(format!(
                    "message {} waits for a retry after {} failures (limit {})",
                    m.id, m.failures, m.retry_limit
                ));
            }
        }
        if self.totals.published + self.totals.copies != l.created {
            return Err(format!(
                "published {} + copies {} != created {}",
                self.totals.published, self.totals.copies, l.created
            ));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- views

    fn message_view(&self, slot: u32) -> MessageView {
        let m = &self.msgs[slot as usize];
        MessageView {
            id: m.id,
            correlation: m.correlation,
            routing_key: self.syms[m.routing_key as usize].clone(),
            key: (m.key != NO_SYM).then(|| self.syms[m.key as usize].clone()),
            deliveries: m.deliveries,
            failures: m.failures,
            deaths: m.deaths,
            redelivered: m.redelivered,
            age_us: self.now.0 - m.published_us,
        }
    }

    pub(crate) fn view_of(&self, kind: NodeKind, i: usize, head_max: usize) -> NodeView {
        match kind {
            NodeKind::Producer => {
                let c = &self.cfg.producers[i];
                let p = &self.producers[i];
                NodeView::Producer {
                    id: c.id.clone(),
                    to: c.to.clone(),
                    rate_per_s: c.rate.per_s(),
                    paused: p.paused,
                    published: p.sent,
                }
            }
            NodeKind::Exchange => {
                let c = &self.cfg.exchanges[i];
                let x = &self.exchanges[i];
                NodeView::Exchange {
                    id: c.id.clone(),
                    exchange_kind: format!("{:?}", c.kind).to_lowercase(),
                    routed: x.routed,
                    unroutable: x.unroutable,
                }
            }
            NodeKind::Queue => {
                let c = &self.cfg.queues[i];
                let q = &self.queues[i];
                NodeView::Queue {
                    id: c.id.clone(),
                    depth: q.ready.len() as u32,
                    depth_max: q.depth_max,
                    unacked: q.unacked,
                    max_length: c.max_length,
                    ttl_us: c.ttl.map(|d| d.us()),
                    enqueued: q.enqueued,
                    delivered: q.delivered,
                    acked: q.acked,
                    expired: q.expired,
                    dead_lettered: q.dead_lettered,
                    dropped: q.dropped,
                    head: q
                        .ready
                        .iter()
                        .take(head_max)
                        .map(|&s| self.message_view(s))
                        .collect(),
                }
            }
            NodeKind::Consumer => {
                let c = &self.cfg.consumers[i];
                let cs = &self.consumers[i];
                let now = self.now.0;
                NodeView::Consumer {
                    id: c.id.clone(),
                    queue: c.queue.clone(),
                    prefetch: c.prefetch,
                    processed: cs.processed,
                    failed: cs.failed,
                    acked: cs.acked,
                    nacked: cs.nacked,
                    instances: cs
                        .instances
                        .iter()
                        .map(|inst| {
                            let busy_us = inst.busy_total_us
                                + if inst.busy {
                                    now - inst.busy_since_us
                                } else {
                                    0
                                };
                            InstanceView {
                                up: inst.up,
                                busy: inst.busy,
                                held: inst
                                    .buffer
                                    .iter()
                                    .take(head_max)
                                    .map(|&s| self.message_view(s))
                                    .collect(),
                                processed: inst.processed,
                                utilization: if now == 0 {
                                    0.0
                                } else {
                                    busy_us as f64 / now as f64
                                },
                            }
                        })
                        .collect(),
                }
            }
        }
    }
}
