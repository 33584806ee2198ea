//! The engine core: the clock, the agenda, the message arena (its lifecycle
//! functions are in `arena.rs`), the ledger, the trace and the metrics; it pops
//! events and hands each to the model that owns it.
//!
//!   agenda ──pop (time, seq)──► step ──handle(Event)──► model::{producer, exchange,
//!     ▲                                                   queue, consumer, retry}
//!     └──────────── models schedule follow-up events ◄──────────┘
//!
//! Event               owner (handler)
//! ─────────────────   ────────────────────────────────────────────
//! ProducerTick        model/producer.rs   (`on_producer_tick`)
//! Arrive              model/exchange.rs   (`route`, after publish latency)
//! ExpiryCheck         model/queue.rs      (`on_expiry_check`)
//! ServiceDone         model/consumer.rs   (`on_service_done`)
//! Restart             model/consumer.rs   (`on_restart`)
//! DeliveryArrives     model/links.rs      (`on_delivery_arrives`: a held-back delivery)
//! AckArrives          model/links.rs      (`on_ack_arrives`: a delayed ack)
//! AckTimeoutTick      model/ack_timeout.rs (`on_ack_timeout_tick`: consumer_timeout)
//! OrphanDone          model/ack_timeout.rs (`on_orphan_done`: a handler outliving its channel)
//! RetryDue            model/retry.rs      (`on_retry_due`)
//! Stream(..)          model/topic.rs      (`on_stream_event`: topics, batches, groups)
//! Redis(..)           model/redis.rs      (`on_redis_event`: Pub/Sub, Streams)
//! Pulsar(..)          model/pulsar.rs     (`on_pulsar_event`: dispatch, acks, timers)
//! Sqs(..)             model/sqs.rs        (`on_sqs_event`: visibility, delays, retention, polls)
//! Stored              model/broker_costs.rs (`on_stored`: after the broker's own time)
//! Scheduled           command.rs          (`apply_scheduled`)
//! Sample              sampling.rs         (`on_sample`: the time series)
//! AlertCheck          alerts.rs           (`on_alert_check`: alert rules, watching only)
//!
//! No broker semantics live here: this file knows when things happen, not what
//! a queue or a consumer does about them. Every state change happens inside
//! `Engine::step` (agenda events) or `Engine::submit` (commands); nothing reads
//! a clock or the OS.

use super::agenda::Agenda;
use super::message::{ExtId, HdrId, Ledger, Message, MsgExt, Sym};
use super::metrics::{Latency, LatencySummary, Series, SeriesPoint, Totals, WindowLatency};
use super::model::effects::Effects;
use super::model::pulsar::{Pulsar, PulsarEvent};
use super::model::redis::{Redis, RedisEvent};
use super::model::sqs::{Sqs, SqsEvent};
use super::model::topic::{StreamEvent, Streams};
use super::model::{CachedRoute, ConsumerState, ExchangeState, ProducerState, QueueState};
use super::time::SimTime;
use super::trace::{NodeId, Reason, TraceEvent, TraceLog, TraceSink};
use crate::scenario::{self, LoggedCommand, Scenario, ScenarioError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Most messages alive at once; publishing past it drops with `queue_full`
/// semantics at the producer, so a runaway scenario cannot eat the machine.
pub const LIVE_MESSAGES_MAX: usize = 2_000_000;

/// Longest single delay any draw may produce (service time, backoff, gap).
pub const DELAY_US_MAX: u64 = 24 * 3600 * 1_000_000;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Producer,
    Exchange,
    Queue,
    Consumer,
    Topic,
    Group,
    /// A Redis server's Pub/Sub (`model::pubsub`).
    RedisPubSub,
    RedisSubscriber,
    /// A Redis stream (`model::xstream`).
    RedisStream,
    RedisGroup,
    /// A Pulsar topic (`model::pulsar`).
    PulsarTopic,
    /// A Pulsar subscription with its consumers (`model::pulsar_dispatch`).
    PulsarSubscription,
}

/// One node of the scenario, as the trace and the views name it.
#[derive(Clone, Debug, Serialize)]
pub struct NodeInfo {
    pub id: String,
    pub kind: NodeKind,
    /// Index within the scenario's list of that kind.
    pub index: u32,
}

/// Where a publish goes: an exchange, or a queue through the default exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Exchange(u32),
    Queue(u32),
    /// A Redis server: PUBLISH to the channel named by the routing key.
    PubSub(u32),
    /// A Redis stream: XADD.
    Stream(u32),
    /// A Pulsar topic, sent to by producer `p`.
    Pulsar {
        t: u16,
        p: u16,
    },
}

/// Scheduled work; the table at the top names each variant's handler.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    ProducerTick {
        p: u32,
        epoch: u32,
    },
    Arrive {
        slot: u32,
        gen: u32,
        target: Target,
    },
    ServiceDone {
        c: u32,
        i: u32,
        epoch: u32,
    },
    RetryDue {
        slot: u32,
        gen: u32,
    },
    ExpiryCheck {
        q: u32,
    },
    Restart {
        c: u32,
        i: u32,
        epoch: u32,
    },
    /// A producer's confirm timer for business message `e` (an effects entry).
    ConfirmDue {
        p: u32,
        e: u32,
    },
    /// A consumer's circuit breaker may let probes through (`model::breaker`).
    BreakerHalfOpen {
        c: u32,
        generation: u32,
    },
    /// A crash at a consumer protocol point (after receive, after ack).
    ProtocolCrash {
        c: u32,
        i: u32,
        epoch: u32,
    },
    /// A channel's tick checks its oldest unacked delivery against the
    /// queue's consumer timeout (`model::ack_timeout`).
    AckTimeoutTick {
        c: u32,
        i: u32,
        epoch: u32,
    },
    /// A handler whose channel a consumer timeout closed finishes
    /// (`model::ack_timeout`); `seq` names it, so a crash makes it stale.
    OrphanDone {
        c: u32,
        i: u32,
        seq: u32,
    },
    /// A delivery held back on the broker → consumer link arrives (`model::links`).
    DeliveryArrives {
        c: u32,
        i: u32,
        epoch: u32,
        slot: u32,
    },
    /// A delayed manual ack reaches the broker (`model::links`).
    AckArrives {
        c: u32,
        i: u32,
        epoch: u32,
        slot: u32,
    },
    /// A crashed broker's restart delay ran out.
    BrokerRestart {
        epoch: u32,
    },
    /// A crashed producer's restart delay ran out.
    ProducerRestart {
        p: u32,
        incarnation: u32,
    },
    Scheduled {
        index: u32,
    },
    Sample,
    /// Alert rule `a` is evaluated (`alerts.rs`).
    AlertCheck {
        a: u32,
    },
    Stream(StreamEvent),
    Redis(RedisEvent),
    Sqs(SqsEvent),
    Pulsar(PulsarEvent),
    /// The broker finished storing a publish (`broker_costs`).
    Stored {
        slot: u32,
        gen: u32,
        target: Target,
    },
}

/// What `run_until` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Engine events processed.
    pub events: u64,
    /// Work done, as `run_until` counts it against its budget: for each
    /// event, the messages it created, at least 1.
    pub work: u64,
    /// False when `max_events` stopped it before the target time.
    pub reached: bool,
}

/// The simulator. See the crate docs for the ordering and determinism guarantees.
#[derive(Clone, Debug)]
pub struct Engine {
    /// The scenario as it is now (commands change it).
    pub(crate) cfg: Scenario,
    pub(crate) seed: u64,
    /// The clock [µs]; moves only forward, in `step`, `run_until` and `seek_point`.
    pub(crate) now: SimTime,
    /// Engine events processed so far.
    pub(crate) events: u64,
    /// Pending events in `(time, seq)` order.
    pub(crate) agenda: Agenda<Event>,
    /// Every node in scenario order: producers, exchanges, queues, consumers.
    pub(crate) nodes: Vec<NodeInfo>,
    // Each model's state, indexed like the scenario's list of that kind.
    pub(crate) producers: Vec<ProducerState>,
    pub(crate) exchanges: Vec<ExchangeState>,
    pub(crate) queues: Vec<QueueState>,
    pub(crate) consumers: Vec<ConsumerState>,
    /// Topics, consumer groups and topic producers (see `model::topic`).
    pub(crate) streams: Streams,
    /// Redis Pub/Sub and Streams (see `model::redis`).
    pub(crate) redis: Redis,
    /// Apache Pulsar topics and subscriptions (see `model::pulsar`).
    pub(crate) pulsar: Pulsar,
    /// When the broker CPU is free again (`model::broker_costs`).
    pub(crate) broker_cpu_free_us: u64,
    /// Alert rules (`alerts.rs`), in `cfg.alerts` order.
    pub(crate) alerts: Vec<super::alerts::AlertState>,
    /// Amazon SQS queues and pollers (see `model::sqs`).
    pub(crate) sqs: Sqs,
    /// The message arena (see `message`); `free` lists recyclable slots.
    pub(crate) msgs: Vec<Message>,
    pub(crate) free: Vec<u32>,
    /// The messages' extension records (see `message::MsgExt`); `ext_free`
    /// lists recyclable ones.
    pub(crate) exts: Vec<MsgExt>,
    pub(crate) ext_free: Vec<ExtId>,
    pub(crate) next_msg_id: u64,
    /// Interned routing keys and keys (`Sym`) and header sets (`HdrId`).
    pub(crate) syms: Vec<String>,
    pub(crate) sym_index: BTreeMap<String, Sym>,
    pub(crate) hdrs: Vec<BTreeMap<String, String>>,
    pub(crate) hdr_index: BTreeMap<BTreeMap<String, String>, HdrId>,
    /// Direct routing results per (exchange, routing key, headers); see `model::exchange`.
    pub(crate) route_cache: BTreeMap<(u32, Sym, HdrId), CachedRoute>,
    /// The trace hash (always) and capture buffer (when asked).
    pub(crate) trace: TraceLog,
    // Metrics: counters, latency histograms, the sampled time series.
    pub(crate) totals: Totals,
    pub(crate) dropped_by_reason: [u64; Reason::ALL.len()],
    /// Messages by state: the conservation ledger.
    pub(crate) ledger: Ledger,
    /// Effects per business message: the guarantee ledger (`model::effects`).
    pub(crate) effects: Effects,
    /// The broker crashed and has not restarted (`model::broker`).
    pub(crate) broker_down: bool,
    /// Bumped at every broker crash and restart: stale restarts are ignored.
    pub(crate) broker_epoch: u32,
    pub(crate) wait: Latency,
    pub(crate) end_to_end: Latency,
    pub(crate) interval: WindowLatency,
    pub(crate) series: Series,
    /// Keep the time series? (The CLI, which never reads it, turns it off.)
    pub(crate) series_on: bool,
    /// Commands submitted so far, for replay.
    pub(crate) commands: Vec<LoggedCommand>,
    /// Dead-letterings at the instant `dl_instant_us` (see `DEAD_LETTERS_PER_INSTANT_MAX`).
    pub(crate) dl_instant_us: u64,
    pub(crate) dl_instant_count: u32,
}

impl Engine {
    /// Build a world from a scenario (validated here) and a seed.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Engine, ScenarioError> {
        scenario::validate(&scenario)?;
        let mut scenario = scenario;
        scenario.apply_guarantee();
        let mut consumer_queue = vec![false; scenario.queues.len()];
        for c in &scenario.consumers {
            if let Some(q) = scenario.queues.iter().position(|q| q.id == c.queue) {
                consumer_queue[q] = true;
            }
        }
        let mut e = Engine {
            effects: Effects::new(true, consumer_queue),
            broker_down: false,
            broker_epoch: 0,
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
            streams: Streams::default(),
            redis: Redis::default(),
            pulsar: Pulsar::default(),
            broker_cpu_free_us: 0,
            alerts: Vec::new(),
            sqs: Sqs::default(),
            msgs: Vec::new(),
            free: Vec::new(),
            exts: Vec::new(),
            ext_free: Vec::new(),
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
            series_on: true,
            commands: Vec::new(),
            dl_instant_us: 0,
            dl_instant_count: 0,
        };
        // Building records events (a Pulsar exclusive or failover
        // subscription's first active consumers): kept for a capture turned
        // on before the first step, so a trace file starts at seq 0.
        e.trace.begin_setup();
        e.build();
        e.trace.end_setup();
        e.interval.reset(true);
        Ok(e)
    }

    pub(crate) fn node_of(&self, id: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The trace node of a validated node id.
    pub(crate) fn node_id(&self, id: &str) -> NodeId {
        NodeId(
            self.nodes
                .iter()
                .position(|n| n.id == id)
                .expect("validated reference") as u32,
        )
    }

    pub(crate) fn target_of(&self, id: &str) -> Target {
        let n = self.node_of(id).expect("validated reference");
        match n.kind {
            NodeKind::Exchange => Target::Exchange(n.index),
            NodeKind::Queue => Target::Queue(n.index),
            NodeKind::RedisPubSub => Target::PubSub(n.index),
            NodeKind::RedisStream => Target::Stream(n.index),
            NodeKind::PulsarTopic => Target::Pulsar {
                t: n.index as u16,
                p: u16::MAX,
            },
            _ => unreachable!("validation allows only exchanges, queues and Redis as targets"),
        }
    }

    /// A producer's target (`Exchange(u32::MAX)` for a Kafka topic producer,
    /// whose records never route).
    pub(crate) fn target_of_producer(&self, id: &str, to_topic: bool) -> Target {
        if to_topic {
            Target::Exchange(u32::MAX)
        } else {
            self.target_of(id)
        }
    }

    pub(crate) fn target_node(&self, t: Target) -> NodeId {
        match t {
            Target::Exchange(i) => self.exchanges[i as usize].node,
            Target::Queue(i) => self.queues[i as usize].node,
            Target::PubSub(i) => self.redis.servers[i as usize].node,
            Target::Stream(i) => self.redis.streams[i as usize].node,
            Target::Pulsar { t, .. } => self.pulsar.topics[t as usize].node,
        }
    }

    /// The node table, then every model's state, in scenario order, then the
    /// first producer ticks, the scheduled commands and the first sample.
    fn build(&mut self) {
        let cfg = self.cfg.clone();
        // One node table, in scenario order: producers, exchanges, queues, consumers,
        // topics, consumer groups.
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
            (NodeKind::Topic, cfg.topics.iter().map(|t| &t.id).collect()),
            (
                NodeKind::Group,
                cfg.consumer_groups.iter().map(|g| &g.id).collect(),
            ),
            (
                NodeKind::RedisPubSub,
                cfg.redis_pubsub.iter().map(|x| &x.id).collect(),
            ),
            (
                NodeKind::RedisSubscriber,
                cfg.redis_subscribers.iter().map(|x| &x.id).collect(),
            ),
            (
                NodeKind::RedisStream,
                cfg.redis_streams.iter().map(|x| &x.id).collect(),
            ),
            (
                NodeKind::RedisGroup,
                cfg.redis_groups.iter().map(|x| &x.id).collect(),
            ),
            (
                NodeKind::PulsarTopic,
                cfg.pulsar_topics.iter().map(|x| &x.id).collect(),
            ),
            (
                NodeKind::PulsarSubscription,
                cfg.pulsar_subscriptions.iter().map(|x| &x.id).collect(),
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
        for x in &cfg.exchanges {
            self.add_exchange(x);
        }
        for q in &cfg.queues {
            self.add_queue(q);
        }
        for p in &cfg.producers {
            self.add_producer(p);
        }
        for c in &cfg.consumers {
            self.add_consumer(c);
        }
        for q in 0..self.queues.len() {
            self.rebuild_subscribers(q as u32);
        }
        self.refresh_breaker_readers();
        self.build_streams();
        self.build_redis();
        self.build_sqs();
        self.build_pulsar();
        self.build_alerts();
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

    /// Keep the time series (on by default). Off, the `Sample` events still
    /// happen (event counts and the trace do not change) but record nothing.
    pub fn set_series(&mut self, on: bool) {
        self.series_on = on;
        self.interval.reset(on && self.series.wants_next());
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

    /// While capturing, hand the buffer to `sink` whenever it fills, even in
    /// the middle of an event, instead of losing the oldest events (one event
    /// can record more than the buffer holds: a burst into a fanout). `None`
    /// stops. See `report::TraceWriter` for a sink that writes JSON lines.
    pub fn set_trace_sink(&mut self, sink: Option<TraceSink>) {
        self.trace.set_sink(sink);
    }

    /// Routing results cached now (at most `ROUTE_CACHE_MAX`; see `model::exchange`).
    pub fn route_cache_len(&self) -> usize {
        self.route_cache.len()
    }
    /// Events lost because nobody took them before the buffer filled.
    pub fn trace_overwritten(&self) -> u64 {
        self.trace.overwritten()
    }

    /// Process the next event. Returns false when nothing is left to do.
    #[inline]
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

    /// Process the events at or before `until` within a work budget of
    /// `max_events`. When it reaches `until` the clock is set to `until`.
    ///
    /// The budget counts work, not only events: an event costs the number of
    /// messages it creates (producer and handler publishes, routing copies),
    /// and at least 1, because one event can publish a whole burst (up to
    /// `scenario::BURST_MAX` messages, each copied to every queue it
    /// matches). An event publishing one message costs 1, as before.
    /// The budget is checked between events, so a call overruns it by at most
    /// the messages of its last event; with `max_events >= 1` a call always
    /// processes at least one due event, so repeated calls make progress.
    pub fn run_until(&mut self, until: SimTime, max_events: u64) -> RunOutcome {
        let mut events = 0;
        let mut work = 0u64;
        while let Some(t) = self.agenda.peek_time() {
            if t > until {
                break;
            }
            if work >= max_events {
                return RunOutcome {
                    events,
                    work,
                    reached: false,
                };
            }
            let created = self.ledger.created;
            self.step();
            events += 1;
            work = work.saturating_add((self.ledger.created - created).max(1));
        }
        if until > self.now {
            self.now = until;
        }
        RunOutcome {
            events,
            work,
            reached: true,
        }
    }

    /// Hand one event to the model that owns it (see the table at the top).
    /// Inlined into `step`, so the popped event stays in registers.
    #[inline(always)]
    fn handle(&mut self, ev: Event) {
        match ev {
            Event::ProducerTick { p, epoch } => self.on_producer_tick(p, epoch),
            Event::Arrive { slot, gen, target } => self.on_arrive(slot, gen, target),
            Event::ServiceDone { c, i, epoch } => self.on_service_done(c, i, epoch),
            Event::RetryDue { slot, gen } => self.on_retry_due(slot, gen),
            Event::ExpiryCheck { q } => self.on_expiry_check(q),
            Event::Restart { c, i, epoch } => self.on_restart(c, i, epoch),
            Event::ConfirmDue { p, e } => self.on_confirm_due(p, e),
            Event::ProtocolCrash { c, i, epoch } => self.on_protocol_crash(c, i, epoch),
            Event::AckTimeoutTick { c, i, epoch } => self.on_ack_timeout_tick(c, i, epoch),
            Event::OrphanDone { c, i, seq } => self.on_orphan_done(c, i, seq),
            Event::BreakerHalfOpen { c, generation } => self.on_breaker_half_open(c, generation),
            Event::DeliveryArrives { c, i, epoch, slot } => {
                self.on_delivery_arrives(c, i, epoch, slot)
            }
            Event::AckArrives { c, i, epoch, slot } => self.on_ack_arrives(c, i, epoch, slot),
            Event::BrokerRestart { epoch } => self.on_broker_restart(epoch),
            Event::ProducerRestart { p, incarnation } => self.on_producer_restart(p, incarnation),
            Event::Scheduled { index } => self.apply_scheduled(index),
            Event::Sample => self.on_sample(),
            Event::AlertCheck { a } => self.on_alert_check(a),
            Event::Stream(ev) => self.on_stream_event(ev),
            Event::Redis(ev) => self.on_redis_event(ev),
            Event::Sqs(ev) => self.on_sqs_event(ev),
            Event::Pulsar(ev) => self.on_pulsar_event(ev),
            Event::Stored { slot, gen, target } => self.on_stored(slot, gen, target),
        }
    }
}
