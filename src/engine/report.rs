//! Text and JSON renderings of an engine: the run report (CLI `--json`) and
//! the JSON form of trace events (CLI trace file); their one-line text (UI
//! event log) is in `report_text.rs`.
//!
//!   Engine ──report()──► Report (serde)      TraceEvent ──trace_json / trace_text──► Value / String
//!   Engine ──TraceWriter (trace sink)──► JSON lines, however many events one engine event records
//!
//! Read-only, like `view`; all maps are `BTreeMap`, so output order is fixed.

use super::core::Engine;
use super::metrics::{LatencySummary, Totals};
use super::trace::{NodeId, TraceEvent, TraceKind, TRACE_BUFFER_MAX};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::rc::Rc;

#[derive(Clone, Debug, Serialize)]
pub struct LatencyReport {
    /// Publish → first delivery.
    pub wait: LatencySummary,
    /// Publish → processed and acknowledged (time in system).
    pub end_to_end: LatencySummary,
}

/// The CLI's JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub sim_time_us: u64,
    pub events: u64,
    pub trace_events: u64,
    /// 16 hex digits.
    pub trace_hash: String,
    pub totals: Totals,
    /// Success rate: processing runs that succeeded over every processing
    /// run (`processed / (processed + failed)`, retries and redeliveries
    /// each a run), `null` before the first run ends.
    pub success_rate: Option<f64>,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub latency_us: LatencyReport,
    /// Per-node counters, keyed by node id.
    pub nodes: BTreeMap<String, Value>,
    pub commands: usize,
    /// Effects per business message: exactly once, duplicated, lost (see
    /// `model::effects`).
    pub ledger: crate::engine::model::effects::LedgerReport,
    /// Amazon SQS requests and cost estimate (only with SQS queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs: Option<crate::engine::model::sqs_check::SqsReport>,
    /// Alert rules by id: state, times fired, time firing (only with `alerts`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub alerts: BTreeMap<String, Value>,
}

pub fn hash_hex(h: u64) -> String {
    format!("{h:016x}")
}

impl Engine {
    pub fn report(&self, scenario_name: &str) -> Report {
        let mut nodes = BTreeMap::new();
        let sqs = self.sqs_report();
        for n in self.snapshot_nodes(0) {
            let mut v = serde_json::to_value(&n).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.remove("id");
                m.remove("head");
                if let Some(Value::Array(insts)) = m.get_mut("instances") {
                    for i in insts.iter_mut() {
                        if let Value::Object(im) = i {
                            im.remove("held");
                        }
                    }
                }
            }
            if let (Value::Object(m), Some(r)) = (&mut v, &sqs) {
                if let Some(q) = r.queues.get(n.id()) {
                    m.insert("sqs".into(), serde_json::to_value(q).unwrap_or(Value::Null));
                }
            }
            nodes.insert(n.id().to_string(), v);
        }
        Report {
            scenario: scenario_name.to_string(),
            seed: self.seed(),
            sim_time_us: self.now().0,
            events: self.events(),
            trace_events: self.trace_len(),
            trace_hash: hash_hex(self.trace_hash()),
            totals: self.totals_now(),
            success_rate: self.success_rate(),
            dropped_by_reason: self
                .dropped_by_reason()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            latency_us: LatencyReport {
                wait: self.latency_wait(),
                end_to_end: self.latency_end_to_end(),
            },
            nodes,
            commands: self.command_log().len(),
            ledger: {
                let mut l = self.ledger_report();
                l.explanation = self.guarantee_explanation();
                l
            },
            sqs,
            alerts: self
                .alerts()
                .into_iter()
                .map(|a| {
                    let mut v = serde_json::to_value(&a).unwrap_or(Value::Null);
                    if let Value::Object(m) = &mut v {
                        m.remove("id");
                    }
                    (a.id, v)
                })
                .collect(),
        }
    }

    /// Processing runs that succeeded over all that ended (`None`: none yet).
    pub fn success_rate(&self) -> Option<f64> {
        let t = self.totals();
        let runs = t.processed + t.failed;
        (runs > 0).then(|| t.processed as f64 / runs as f64)
    }

    /// Totals with `in_flight` filled in (`in_flight_now`).
    pub fn totals_now(&self) -> Totals {
        let mut t = *self.totals();
        t.in_flight = self.in_flight_now();
        t
    }

    /// JSON object of one trace event: `t_us`, `seq`, `kind`, `msg`, `node`,
    /// then the kind's fields, with node references as ids.
    pub fn trace_json(&self, ev: &TraceEvent) -> Value {
        trace_json_of(self, ev)
    }

    /// The human description of the command a `CommandApplied` event names.
    fn command_description(&self, index: u32, scheduled: bool) -> Option<String> {
        if scheduled {
            let s = self.config().schedule.get(index as usize)?;
            Some(s.command.describe())
        } else {
            let c = self.command_log().get(index as usize)?;
            Some(c.command.describe())
        }
    }
}

/// What rendering a trace event needs besides the event itself.
pub(crate) trait TraceNaming {
    fn node_name(&self, n: NodeId) -> &str;
    fn command_description(&self, index: u32, scheduled: bool) -> Option<String>;
}

impl TraceNaming for Engine {
    fn node_name(&self, n: NodeId) -> &str {
        Engine::node_name(self, n)
    }
    fn command_description(&self, index: u32, scheduled: bool) -> Option<String> {
        Engine::command_description(self, index, scheduled)
    }
}

/// The JSON form of a trace event (see `Engine::trace_json`).
fn trace_json_of(names: &impl TraceNaming, ev: &TraceEvent) -> Value {
    let mut m = Map::new();
    m.insert("t_us".into(), json!(ev.t.0));
    m.insert("seq".into(), json!(ev.seq));
    m.insert("kind".into(), json!(ev.kind.name()));
    m.insert("msg".into(), json!(ev.msg));
    m.insert("node".into(), json!(names.node_name(ev.node)));
    let name = |n: NodeId| json!(names.node_name(n));
    match ev.kind {
        TraceKind::Published { to, parent } => {
            m.insert("to".into(), name(to));
            if let Some(p) = parent {
                m.insert("parent".into(), json!(p));
            }
        }
        TraceKind::Unroutable { alternate } => {
            m.insert(
                "alternate".into(),
                alternate.map(name).unwrap_or(Value::Null),
            );
        }
        TraceKind::Delivered {
            consumer,
            instance,
            attempt,
            redelivered,
        } => {
            m.insert("consumer".into(), name(consumer));
            m.insert("instance".into(), json!(instance));
            m.insert("attempt".into(), json!(attempt));
            m.insert("redelivered".into(), json!(redelivered));
        }
        TraceKind::DeadLettered {
            reason,
            exchange,
            deaths,
        } => {
            m.insert("reason".into(), json!(reason.name()));
            m.insert("exchange".into(), name(exchange));
            m.insert("deaths".into(), json!(deaths));
        }
        TraceKind::Dropped { reason } => {
            m.insert("reason".into(), json!(reason.name()));
        }
        TraceKind::SqsMovedToDlq { dlq, receive_count } => {
            m.insert("dlq".into(), name(dlq));
            m.insert("receive_count".into(), json!(receive_count));
        }
        TraceKind::SqsRedriven { to } => {
            m.insert("to".into(), name(to));
        }
        TraceKind::SqsEmptyReceive {
            consumer,
            instance,
            waited_us,
        } => {
            m.insert("consumer".into(), name(consumer));
            m.insert("instance".into(), json!(instance));
            m.insert("waited_us".into(), json!(waited_us));
        }
        TraceKind::CommandApplied { index, scheduled } => {
            let cmd = names.command_description(index, scheduled);
            m.insert("index".into(), json!(index));
            m.insert("scheduled".into(), json!(scheduled));
            m.insert("command".into(), json!(cmd));
        }
        TraceKind::Fetched { topic, .. }
        | TraceKind::Committed { topic, .. }
        | TraceKind::Assigned { topic, .. }
        | TraceKind::Revoked { topic, .. }
        | TraceKind::Seeked { topic, .. }
        | TraceKind::SentToRetryTopic { topic, .. }
        | TraceKind::SentToDeadLetterTopic { topic, .. } => {
            // Numbers as they are, the topic by its id.
            if let Ok(Value::Object(fields)) = serde_json::to_value(ev.kind) {
                for (k, v) in fields {
                    if k != "kind" {
                        m.insert(k, v);
                    }
                }
            }
            m.insert("topic".into(), name(topic));
        }
        other => {
            // Remaining kinds carry only numbers and flags: serialize them as they are.
            if let Ok(Value::Object(fields)) = serde_json::to_value(other) {
                for (k, v) in fields {
                    if k != "kind" {
                        m.insert(k, v);
                    }
                }
            }
        }
    }
    Value::Object(m)
}

/// Node names and command descriptions copied out of an engine, so trace
/// events can be rendered while the engine is busy (inside a trace sink).
/// Commands submitted after it was made are described as `null`.
#[derive(Clone, Debug)]
pub struct TraceNames {
    nodes: Vec<String>,
    scheduled: Vec<String>,
    submitted: Vec<String>,
}

impl TraceNaming for TraceNames {
    fn node_name(&self, n: NodeId) -> &str {
        self.nodes.get(n.0 as usize).map_or("", String::as_str)
    }
    fn command_description(&self, index: u32, scheduled: bool) -> Option<String> {
        let list = if scheduled {
            &self.scheduled
        } else {
            &self.submitted
        };
        list.get(index as usize).cloned()
    }
}

impl TraceNames {
    pub fn of(e: &Engine) -> TraceNames {
        TraceNames {
            nodes: e.nodes().iter().map(|n| n.id.clone()).collect(),
            scheduled: e
                .config()
                .schedule
                .iter()
                .map(|s| s.command.describe())
                .collect(),
            submitted: e
                .command_log()
                .iter()
                .map(|c| c.command.describe())
                .collect(),
        }
    }

    /// The same JSON as `Engine::trace_json`.
    pub fn json(&self, ev: &TraceEvent) -> Value {
        trace_json_of(self, ev)
    }
}

/// Streams an engine's trace as JSON lines (one `trace_json` object per
/// line) to `W`, without losing events however many one engine event
/// records: the engine's capture buffer drains into the writer whenever it
/// fills, even in the middle of an event, and `drain` takes the rest between
/// calls. Memory stays bounded by the buffer. The first write error is kept
/// and reported by `drain` / `finish`; later events are then not written.
pub struct TraceWriter<W: Write> {
    shared: Rc<RefCell<TraceWriterState<W>>>,
}

struct TraceWriterState<W> {
    out: W,
    names: TraceNames,
    error: Option<std::io::Error>,
}

impl<W: Write> TraceWriterState<W> {
    fn write(&mut self, buffer: &mut VecDeque<TraceEvent>) {
        for ev in buffer.drain(..) {
            if self.error.is_some() {
                continue;
            }
            let line = serde_json::to_writer(&mut self.out, &self.names.json(&ev))
                .map_err(std::io::Error::from)
                .and_then(|()| self.out.write_all(b"\n"));
            if let Err(e) = line {
                self.error = Some(e);
            }
        }
    }
}

impl<W: Write + 'static> TraceWriter<W> {
    /// Capture `engine`'s trace (at most `TRACE_BUFFER_MAX` events held at
    /// once) and drain it into `out`.
    pub fn attach(engine: &mut Engine, out: W) -> TraceWriter<W> {
        let shared = Rc::new(RefCell::new(TraceWriterState {
            out,
            names: TraceNames::of(engine),
            error: None,
        }));
        let sink = shared.clone();
        engine.set_trace_capture(true, TRACE_BUFFER_MAX);
        engine.set_trace_sink(Some(Rc::new(RefCell::new(
            move |buffer: &mut VecDeque<TraceEvent>| sink.borrow_mut().write(buffer),
        ))));
        TraceWriter { shared }
    }

    /// Write the events recorded since the last drain.
    pub fn drain(&self, engine: &mut Engine) -> std::io::Result<()> {
        let mut st = self.shared.borrow_mut();
        let mut rest: VecDeque<TraceEvent> = engine.take_trace().into();
        st.write(&mut rest);
        match st.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Write the rest, detach from the engine and flush; returns the writer.
    /// (An error if a clone of the engine, made while attached, still holds
    /// the sink.)
    pub fn finish(self, engine: &mut Engine) -> std::io::Result<W> {
        self.drain(engine)?;
        engine.set_trace_sink(None);
        engine.set_trace_capture(false, 0);
        let st = Rc::try_unwrap(self.shared)
            .map_err(|_| std::io::Error::other("trace writer still shared"))?
            .into_inner();
        let mut out = st.out;
        out.flush()?;
        Ok(out)
    }
}
