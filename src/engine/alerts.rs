//! Alert rules at run time (`scenario::alert`): each rule is evaluated by its
//! own `AlertCheck` event every `every`, from the first interval on, and moves
//! between inactive, pending and firing as Prometheus' rule evaluation does.
//!
//!   AlertCheck(a) ──value(a)──► value > above? ──► phase change ──► trace (fired / resolved)
//!        ▲                                                              │
//!        └──────────────────────── next check at now + every ◄──────────┘
//!
//! A firing rule whose condition fails is resolved at once, or with
//! `keep_firing_for` at the first evaluation at least that long after the
//! first one that found it false (Prometheus' `KeepFiringSince`); the
//! condition holding again meanwhile clears that mark.
//!
//! An error rate is taken over the trailing window from the watched node's
//! cumulative counters (handler failures, handler runs) kept at each
//! evaluation; the history is bounded by the window (at most
//! `ALERT_WINDOW_STEPS_MAX + 1` points, checked by validation). A window
//! with no handler run has no value and never satisfies the condition.
//!
//! Guarantees: alerts only read the other models' state; they draw no random
//! number and change nothing else, so adding or removing a rule changes the
//! trace only by its own checks and its fired/resolved events. A scenario
//! without `alerts` schedules nothing and its trace is unchanged.

use super::core::{Engine, Event, NodeKind};
use super::trace::{NodeId, TraceKind};
use crate::scenario::{AlertMetric, AlertRule};
use serde::Serialize;
use std::collections::VecDeque;

/// What a rule reads its value from.
#[derive(Clone, Copy, Debug)]
enum Watched {
    Consumer(u32),
    Group(u32),
    Queue(u32),
}

/// Where a rule stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Inactive,
    /// The condition holds since `since_us`, not yet for `for`.
    Pending {
        since_us: u64,
    },
    /// Fired at `since_us`. `kept_since_us`: the first evaluation of the
    /// current run of evaluations that found the condition false, while
    /// `keep_firing_for` keeps it firing (Prometheus' `KeepFiringSince`).
    Firing {
        since_us: u64,
        kept_since_us: Option<u64>,
    },
}

/// One rule's state.
#[derive(Clone, Debug)]
pub(crate) struct AlertState {
    rule: AlertRule,
    watched: Watched,
    node: NodeId,
    /// `(t_us, failures, runs)` at each evaluation inside the window, oldest
    /// first (error rate only).
    history: VecDeque<(u64, u64, u64)>,
    pub(crate) phase: Phase,
    /// The metric at the last evaluation (`None`: no evaluation yet, or an
    /// error rate over a window without handler runs).
    value: Option<f64>,
    fired: u32,
    firing_before_us: u64,
    first_fired_us: Option<u64>,
    last_resolved_us: Option<u64>,
    /// When it fired, the first `FIRED_AT_MAX` times (timeline marks).
    fired_at_us: Vec<u64>,
}

/// Firing times an alert keeps for the timeline and the report.
pub const FIRED_AT_MAX: usize = 100;

/// A rule as the report and the app show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertView {
    pub id: String,
    pub metric: &'static str,
    pub node: String,
    /// The rule in words: `error rate > 5% over 10s for 2s`.
    pub rule: String,
    pub above: f64,
    /// `inactive`, `pending` or `firing`.
    pub state: &'static str,
    /// The metric at the last evaluation (`null` before the first, or for an
    /// error rate over a window with no handler run).
    pub value: Option<f64>,
    /// That value as people read it (`12.5%`, `40 ready`, `lag 300`), empty without one.
    pub value_text: String,
    /// Times it fired.
    pub fired: u32,
    /// Time spent firing, up to now [ms].
    pub firing_ms: f64,
    /// When it first fired [s] (`null`: never).
    pub first_fired_s: Option<f64>,
    /// When it was last resolved [s] (`null`: never).
    pub last_resolved_s: Option<f64>,
    /// When it fired [s], the first `FIRED_AT_MAX` (100) times.
    pub fired_at_s: Vec<f64>,
    /// Firing although its condition no longer holds, kept by
    /// `keep_firing_for` since this evaluation [s] (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_since_s: Option<f64>,
}

impl Engine {
    /// Set up every rule and schedule its first evaluation (called by `Engine::new`).
    pub(crate) fn build_alerts(&mut self) {
        let rules = self.cfg.alerts.clone();
        for (a, rule) in rules.into_iter().enumerate() {
            let info = self.node_of(&rule.node).expect("validated alert node");
            let watched = match info.kind {
                NodeKind::Consumer => Watched::Consumer(info.index),
                NodeKind::Group => Watched::Group(info.index),
                NodeKind::Queue => Watched::Queue(info.index),
                _ => unreachable!("validated: alerts watch consumers, groups and queues"),
            };
            let node = self.node_id(&rule.node);
            let every_us = rule.every.us().max(1);
            let mut history = VecDeque::new();
            if rule.metric == AlertMetric::ErrorRate {
                history.push_back((0, 0, 0));
            }
            self.alerts.push(AlertState {
                rule,
                watched,
                node,
                history,
                phase: Phase::Inactive,
                value: None,
                fired: 0,
                firing_before_us: 0,
                first_fired_us: None,
                last_resolved_us: None,
                fired_at_us: Vec::new(),
            });
            self.agenda
                .schedule(self.now.after(every_us), Event::AlertCheck { a: a as u32 });
        }
    }

    /// Handler failures and handler runs of the watched node, cumulative.
    fn alert_counts(&self, w: Watched) -> (u64, u64) {
        match w {
            Watched::Consumer(c) => {
                let cs = &self.consumers[c as usize];
                (cs.failed, cs.failed + cs.processed)
            }
            Watched::Group(g) => {
                let gs = &self.streams.groups[g as usize];
                (gs.failed, gs.failed + gs.processed)
            }
            Watched::Queue(_) => (0, 0),
        }
    }

    /// Evaluate rule `a` now, move its phase, trace a change, schedule the next check.
    pub(crate) fn on_alert_check(&mut self, a: u32) {
        let ai = a as usize;
        let now = self.now.0;
        let st = &self.alerts[ai];
        let value = match (st.rule.metric, st.watched) {
            (AlertMetric::ErrorRate, w) => {
                let (failed, runs) = self.alert_counts(w);
                let window_us = st.rule.window_or_default().us();
                let st = &mut self.alerts[ai];
                st.history.push_back((now, failed, runs));
                // Keep the newest point at or before the window's start as the base.
                while st.history.len() > 1 && st.history[1].0 <= now.saturating_sub(window_us) {
                    st.history.pop_front();
                }
                // The counters only grow; saturating all the same, so a
                // future reset can never wrap into a huge rate.
                let (_, f0, r0) = st.history[0];
                let runs = runs.saturating_sub(r0);
                (runs > 0).then(|| failed.saturating_sub(f0) as f64 / runs as f64)
            }
            (AlertMetric::Depth, Watched::Queue(q)) => Some(
                self.sqs_depths(q)
                    .map_or(self.queues[q as usize].ready.len() as u32, |d| d.0)
                    as f64,
            ),
            (AlertMetric::Lag, Watched::Group(g)) => Some(self.group_lag(g) as f64),
            _ => unreachable!("validated: the metric matches the node"),
        };
        let st = &mut self.alerts[ai];
        st.value = value;
        let holds = value.is_some_and(|v| v > st.rule.above);
        let hold_us = st.rule.hold.us();
        let value_milli = value.map_or(0, |v| (v * 1000.0).round() as u64);
        let mut event = None;
        let keep_us = st.rule.keep_firing_for.us();
        let fire = Phase::Firing {
            since_us: now,
            kept_since_us: None,
        };
        st.phase = match (st.phase, holds) {
            (Phase::Inactive, true) if hold_us == 0 => fire,
            (Phase::Inactive, true) => Phase::Pending { since_us: now },
            (Phase::Pending { since_us }, true) if now - since_us >= hold_us => fire,
            // Holding again: a later failure starts `keep_firing_for` afresh.
            (Phase::Firing { since_us, .. }, true) => Phase::Firing {
                since_us,
                kept_since_us: None,
            },
            // Prometheus: firing, condition false, `keep_firing_for` set: it
            // keeps firing while less than that has passed since the first
            // evaluation that found it false.
            (
                Phase::Firing {
                    since_us,
                    kept_since_us,
                },
                false,
            ) if keep_us > 0 && now - kept_since_us.unwrap_or(now) < keep_us => Phase::Firing {
                since_us,
                kept_since_us: Some(kept_since_us.unwrap_or(now)),
            },
            (Phase::Firing { since_us, .. }, false) => {
                st.firing_before_us += now - since_us;
                st.last_resolved_us = Some(now);
                event = Some(TraceKind::AlertResolved {
                    alert: a,
                    value_milli,
                });
                Phase::Inactive
            }
            (Phase::Pending { .. }, false) => Phase::Inactive,
            (p, _) => p,
        };
        if matches!(st.phase, Phase::Firing { since_us, .. } if since_us == now) {
            st.fired += 1;
            st.first_fired_us.get_or_insert(now);
            if st.fired_at_us.len() < FIRED_AT_MAX {
                st.fired_at_us.push(now);
            }
            event = Some(TraceKind::AlertFired {
                alert: a,
                value_milli,
            });
        }
        let (node, every_us) = (st.node, st.rule.every.us().max(1));
        if let Some(kind) = event {
            self.trace.record(self.now, kind, None, node);
        }
        self.agenda
            .schedule(self.now.after(every_us), Event::AlertCheck { a });
    }

    /// Every rule, as the report and the app show it.
    pub fn alerts(&self) -> Vec<AlertView> {
        let now = self.now.0;
        let s = |us: u64| us as f64 / 1e6;
        self.alerts
            .iter()
            .map(|st| {
                let firing_now = match st.phase {
                    Phase::Firing { since_us, .. } => now - since_us,
                    _ => 0,
                };
                let kept_since_us = match st.phase {
                    Phase::Firing { kept_since_us, .. } => kept_since_us,
                    _ => None,
                };
                AlertView {
                    id: st.rule.id.clone(),
                    metric: st.rule.metric.name(),
                    node: st.rule.node.clone(),
                    rule: st.rule.describe(),
                    above: st.rule.above,
                    state: match st.phase {
                        Phase::Inactive => "inactive",
                        Phase::Pending { .. } => "pending",
                        Phase::Firing { .. } => "firing",
                    },
                    value: st.value,
                    value_text: st.value.map(|v| st.rule.metric.show(v)).unwrap_or_default(),
                    fired: st.fired,
                    firing_ms: (st.firing_before_us + firing_now) as f64 / 1000.0,
                    first_fired_s: st.first_fired_us.map(s),
                    last_resolved_s: st.last_resolved_us.map(s),
                    fired_at_s: st.fired_at_us.iter().map(|&t| s(t)).collect(),
                    kept_since_s: kept_since_us.map(s),
                }
            })
            .collect()
    }

    /// The name of alert `a` (for the trace's text and JSON).
    pub(crate) fn alert_name(&self, a: u32) -> &str {
        self.cfg
            .alerts
            .get(a as usize)
            .map_or("", |r| r.id.as_str())
    }

    /// A traced value of alert `a` (`value_milli`) as people read it.
    pub(crate) fn alert_value_text(&self, a: u32, value_milli: u64) -> String {
        self.cfg
            .alerts
            .get(a as usize)
            .map(|r| r.metric.show(value_milli as f64 / 1000.0))
            .unwrap_or_default()
    }
}
