//! The app's model: one engine plus the timeline around it (checkpoints, the
//! command script, the event log), as a plain Rust type with no DOM in it.
//!
//!   play ──advance_to(now + dt×speed, cap)──► Engine ──take_trace──► log + new events
//!   seek(T) ──latest checkpoint ≤ T (an Engine clone)──► replay script ──► run_until(T)
//!   knob ──submit(Command) at now──► script truncated here (the future branches)
//!
//! Why the view at T is the same by play and by seek: the engine is
//! deterministic, checkpoints are exact clones, and the command script is
//! replayed at the very `(events, time)` point where each command first landed.

use crate::engine::{Command, Engine, LoggedCommand, SeriesPoint, SimTime, TraceEvent};
use crate::scenario::{Scenario, ScenarioError};
use std::collections::VecDeque;

/// Event-log entries kept (oldest fall out first).
pub const LOG_MAX: usize = 200_000;
/// Engine events processed per animation frame at most (the frame's time
/// budget, checked every `FRAME_CHUNK` events, usually binds first).
pub const FRAME_EVENTS_MAX: u64 = 60_000;
/// Events between two checks of the frame's time budget.
pub const FRAME_CHUNK: u64 = 2_000;
/// Engine events a single seek may process at most.
pub const SEEK_EVENTS_MAX: u64 = 20_000_000;
/// Checkpoints kept at most; past it, every other one is dropped and spacing doubles.
pub const CHECKPOINTS_MAX: usize = 64;
/// Trace events the engine buffers between two frames.
const TRACE_CAPTURE: usize = 400_000;

pub struct Sim {
    /// The scenario as written (plus dragged node positions), before any command.
    pub scenario: Scenario,
    pub seed: u64,
    pub engine: Engine,
    /// Every command of this timeline, including ones "in the future" after a seek back.
    script: Vec<LoggedCommand>,
    /// Engine clones, increasing in events; the first is the initial state.
    checkpoints: Vec<Engine>,
    checkpoint_every: u64,
    /// Furthest simulated time reached on this timeline [µs].
    pub horizon_us: u64,
    /// The metric series at the horizon (shown whole while the cursor is earlier).
    pub horizon_series: Vec<SeriesPoint>,
    /// Trace events of the timeline, in seq order, up to the horizon.
    pub log: VecDeque<TraceEvent>,
    /// True when the last frame hit the per-frame event cap.
    pub throttled: bool,
    /// Where the run ends [µs]: the scenario's `duration`, moved on by "extend".
    /// Playing stops here; seeking back and playing again runs up to it again.
    pub end_us: u64,
}

impl Sim {
    pub fn new(scenario: Scenario, seed: u64) -> Result<Sim, ScenarioError> {
        let mut engine = Engine::new(scenario.clone(), seed)?;
        engine.set_trace_capture(true, TRACE_CAPTURE);
        let end_us = scenario.duration.us().max(1);
        Ok(Sim {
            scenario,
            seed,
            checkpoints: vec![engine.clone()],
            horizon_series: Vec::new(),
            engine,
            script: Vec::new(),
            checkpoint_every: 50_000,
            horizon_us: 0,
            log: VecDeque::new(),
            throttled: false,
            end_us,
        })
    }

    /// The metric series to chart: the engine's at the horizon, else the
    /// copy kept from the horizon (the future of this timeline).
    pub fn chart_series(&self) -> &[SeriesPoint] {
        if self.engine.now().0 >= self.horizon_us || self.horizon_series.is_empty() {
            self.engine.series()
        } else {
            &self.horizon_series
        }
    }

    pub fn now_us(&self) -> u64 {
        self.engine.now().0
    }

    /// Every command of this timeline (including ones after the current time).
    pub fn script(&self) -> &[LoggedCommand] {
        &self.script
    }

    fn pending(&self) -> Option<&LoggedCommand> {
        self.script.get(self.engine.command_log().len())
    }

    /// Run to `target` [µs] with at most `budget` events, applying scripted
    /// commands at their exact points. Returns whether the target was reached.
    fn run_script(&mut self, target: u64, mut budget: u64) -> bool {
        loop {
            if let Some(cmd) = self.pending().cloned() {
                if cmd.at_us <= target {
                    while self.engine.events() < cmd.after_events {
                        if budget == 0 {
                            return false;
                        }
                        if !self.engine.step() {
                            break;
                        }
                        budget -= 1;
                    }
                    let ok = self
                        .engine
                        .seek_point(cmd.after_events, SimTime(cmd.at_us))
                        .is_ok()
                        && self.engine.submit(cmd.command.clone()).is_ok();
                    if !ok {
                        // Cannot happen for a script this engine wrote; drop the rest
                        // rather than loop forever.
                        self.script.truncate(self.engine.command_log().len());
                    }
                    continue;
                }
            }
            let out = self.engine.run_until(SimTime(target), budget);
            return out.reached;
        }
    }

    /// Take the engine's new trace events, append the unseen ones to the log,
    /// and return them (for token animation).
    fn collect(&mut self) -> Vec<TraceEvent> {
        let evs = self.engine.take_trace();
        let next = self.log.back().map(|e| e.seq + 1).unwrap_or(0);
        // Events are in seq order: the new ones are a tail of `evs`. Make
        // room in one step and append them all (at high speed a frame
        // brings tens of thousands).
        let fresh = &evs[evs.partition_point(|e| e.seq < next)..];
        let fresh = &fresh[fresh.len().saturating_sub(LOG_MAX)..];
        let over = (self.log.len() + fresh.len()).saturating_sub(LOG_MAX);
        self.log.drain(..over);
        // From the slice (block copies), not element by element.
        self.log.extend(fresh);
        evs
    }

    fn after_progress(&mut self) {
        let now = self.engine.now().0;
        if now >= self.horizon_us {
            // At the horizon the engine's own series is the whole story; the
            // copy is taken only when seeking back (see `seek`).
            self.horizon_us = now;
        }
        let last = self.checkpoints.last().map(|c| c.events()).unwrap_or(0);
        if self.engine.events() >= last + self.checkpoint_every {
            self.checkpoints.push(self.engine.clone());
            if self.checkpoints.len() > CHECKPOINTS_MAX {
                let kept: Vec<Engine> = self
                    .checkpoints
                    .drain(..)
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 0)
                    .map(|(_, e)| e)
                    .collect();
                self.checkpoints = kept;
                self.checkpoint_every *= 2;
            }
        }
    }

    /// Advance simulated time by `dt_us` (one animation frame), bounded by the
    /// per-frame event cap and by `out_of_time` (checked every `FRAME_CHUNK`
    /// events), so a frame never overruns its budget.
    pub fn advance(&mut self, dt_us: u64, out_of_time: &dyn Fn() -> bool) -> Vec<TraceEvent> {
        let now = self.engine.now().0;
        let target = now.saturating_add(dt_us).min(self.end_us.max(now));
        let mut spent = 0;
        let mut reached = false;
        while spent < FRAME_EVENTS_MAX {
            let before = self.engine.events();
            reached = self.run_script(target, FRAME_CHUNK.min(FRAME_EVENTS_MAX - spent));
            spent += self.engine.events() - before;
            if reached || out_of_time() {
                break;
            }
        }
        self.throttled = !reached;
        let evs = self.collect();
        self.after_progress();
        evs
    }

    /// Process exactly one engine event (applying a scripted command first if
    /// one is due at this point).
    pub fn step(&mut self) -> Vec<TraceEvent> {
        // A finished run steps no further (extend it first).
        if self
            .engine
            .next_event_time()
            .is_some_and(|t| t.0 > self.end_us)
            && self
                .pending()
                .is_none_or(|c| c.after_events > self.engine.events())
        {
            return Vec::new();
        }
        if let Some(cmd) = self.pending().cloned() {
            if cmd.after_events == self.engine.events() {
                let _ = self.engine.seek_point(cmd.after_events, SimTime(cmd.at_us));
                let _ = self.engine.submit(cmd.command);
                let evs = self.collect();
                self.after_progress();
                return evs;
            }
        }
        self.engine.step();
        let evs = self.collect();
        self.after_progress();
        evs
    }

    /// Step by hop: process engine events until one is about message `id`
    /// (its next hop), the agenda runs dry, or `max_events` have run. Returns
    /// every event processed on the way, the hop last.
    pub fn step_message(&mut self, id: u64, max_events: u64) -> Vec<TraceEvent> {
        let mut out = Vec::new();
        for _ in 0..max_events {
            let pending_cmd = self
                .pending()
                .is_some_and(|c| c.after_events == self.engine.events());
            if self.engine.next_event_time().is_none() && !pending_cmd {
                break;
            }
            let evs = self.step();
            let hop = evs.iter().any(|e| e.msg == Some(id));
            out.extend(evs);
            if hop {
                break;
            }
        }
        out
    }

    /// Finish the current whole millisecond, so a paused view lands on a time
    /// the scrubber can name, and shows the same state as a seek to it.
    pub fn settle(&mut self) {
        let cur = self.engine.now().0;
        let now = (cur.div_ceil(1000) * 1000).min(self.end_us.max(cur));
        self.run_script(now, SEEK_EVENTS_MAX);
        self.collect();
        self.after_progress();
    }

    /// Jump to simulated time `t_us` (backwards, or forwards up to the end of the run).
    pub fn seek(&mut self, t_us: u64) {
        // Up to the horizon, or on to the end of the run (the embed API's seek).
        let t_us = t_us.min(self.horizon_us.max(self.end_us));
        let cur = self.engine.now().0;
        // The latest checkpoint at or before t that is ahead of the current engine
        // when going forward; any at or before t when going back.
        let best = self
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.now().0 <= t_us && c.command_log().len() <= self.script.len())
            .cloned();
        let go_back = t_us < cur;
        if go_back && cur >= self.horizon_us {
            self.horizon_series = self.engine.series().to_vec();
        }
        if let Some(cp) = best {
            if go_back || cp.events() > self.engine.events() {
                self.engine = cp;
                self.engine.take_trace();
            }
        }
        self.run_script(t_us, SEEK_EVENTS_MAX);
        self.collect();
        self.after_progress();
        self.throttled = false;
    }

    /// Apply a user command now. The timeline branches here: scripted commands
    /// after this point, checkpoints and log entries from the old future go.
    pub fn submit(&mut self, cmd: Command) -> Result<Vec<TraceEvent>, String> {
        let applied = self.engine.command_log().len();
        let seq_now = self.engine.trace_len();
        // Validate on a throwaway clone first is unnecessary: submit checks fully
        // before changing anything.
        self.engine.submit(cmd).map_err(|e| e.0)?;
        self.script.truncate(applied);
        self.script.push(
            self.engine
                .command_log()
                .last()
                .cloned()
                .expect("just logged"),
        );
        while self.log.back().is_some_and(|e| e.seq >= seq_now) {
            self.log.pop_back();
        }
        let events = self.engine.events();
        let script_len = self.script.len();
        self.checkpoints
            .retain(|c| c.events() <= events && c.command_log().len() < script_len);
        if self.checkpoints.is_empty() {
            // Unreachable (the first checkpoint has no commands), kept for safety.
            self.checkpoints.push(self.engine.clone());
        }
        self.horizon_us = self.engine.now().0;
        self.horizon_series.clear();
        let evs = self.collect();
        Ok(evs)
    }

    /// The visible part of the log: events up to the current time.
    pub fn visible_log_len(&self) -> usize {
        let upto = self.engine.trace_len();
        self.log.partition_point(|e| e.seq < upto)
    }

    /// A second timeline of this session, at time 0: the same scenario,
    /// seed and command script, so `seek` and `advance` on it replay exactly
    /// what this one shows, without touching this one (the animation export
    /// renders from a fork).
    pub fn fork(&self) -> Sim {
        let first = self.checkpoints[0].clone();
        let mut engine = first.clone();
        engine.take_trace();
        Sim {
            scenario: self.scenario.clone(),
            seed: self.seed,
            engine,
            script: self.script.clone(),
            checkpoints: vec![first],
            checkpoint_every: self.checkpoint_every,
            horizon_us: 0,
            horizon_series: Vec::new(),
            log: VecDeque::new(),
            throttled: false,
            end_us: self.end_us.max(self.horizon_us),
        }
    }

    /// A JSON reproduction of this session: scenario, seed and command log.
    pub fn reproduction(&self) -> String {
        let v = serde_json::json!({
            "scenario": self.scenario,
            "seed": self.seed,
            "commands": self.engine.command_log(),
            "at_us": self.engine.now().0,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}

/// Engine events a share link may ask for while it is opened (its command
/// log and its time); a link past this is refused rather than freezing the tab.
pub const LINK_EVENTS_MAX: u64 = 5_000_000;

impl Sim {
    /// The run has reached its end (the scenario's duration, or as extended).
    pub fn finished(&self) -> bool {
        self.engine.now().0 >= self.end_us
    }

    /// Move the end of the run on by `by_us`.
    pub fn extend(&mut self, by_us: u64) {
        self.end_us = self
            .end_us
            .max(self.engine.now().0)
            .saturating_add(by_us.max(1));
    }

    /// Rebuild a shared session: `scenario` and `seed`, every logged command
    /// replayed at its exact point, then the view moved to `time_us`.
    ///
    /// The log comes from a link, so nothing in it is trusted: each command is
    /// reached by running the engine *up to the command's time* with its event
    /// count as a cap (never by stepping until an event count, which a hostile
    /// `after_events` of 10^18 would turn into an endless loop), and all of it
    /// together may cost at most `LINK_EVENTS_MAX` events. A log that does not
    /// fit this scenario and seed is an error naming the command.
    pub fn from_link(
        scenario: Scenario,
        seed: u64,
        commands: &[LoggedCommand],
        time_us: u64,
        end_us: u64,
    ) -> Result<Sim, String> {
        let mut sim = Sim::new(scenario, seed).map_err(|e| e.to_string())?;
        let mut budget = LINK_EVENTS_MAX;
        let too_long = || {
            format!("replaying it needs more than {LINK_EVENTS_MAX} engine events, the most a link may ask for")
        };
        for (k, c) in commands.iter().enumerate() {
            loop {
                let cap = FRAME_CHUNK
                    .min(budget)
                    .min(c.after_events.saturating_sub(sim.engine.events()));
                if cap == 0 {
                    break;
                }
                let out = sim.engine.run_until(SimTime(c.at_us), cap);
                budget -= out.events;
                sim.collect();
                sim.after_progress();
                if out.reached {
                    break;
                }
            }
            if sim.engine.events() < c.after_events {
                if budget == 0 {
                    return Err(too_long());
                }
                return Err(format!(
                    "command {k} was applied after {} events, but only {} happen by {}",
                    c.after_events,
                    sim.engine.events(),
                    SimTime(c.at_us)
                ));
            }
            sim.engine
                .seek_point(c.after_events, SimTime(c.at_us))
                .map_err(|why| format!("command {k} cannot be replayed: {why}"))?;
            sim.engine
                .submit(c.command.clone())
                .map_err(|why| format!("command {k} cannot be applied: {}", why.0))?;
            sim.script.push(c.clone());
            sim.collect();
            sim.after_progress();
        }
        let now = sim.engine.now().0;
        if time_us > now {
            loop {
                let out = sim
                    .engine
                    .run_until(SimTime(time_us), FRAME_CHUNK.min(budget));
                budget -= out.events;
                sim.collect();
                sim.after_progress();
                if out.reached {
                    break;
                }
                if budget == 0 {
                    return Err(too_long());
                }
            }
        }
        sim.end_us = end_us.max(sim.horizon_us).max(1);
        if time_us < sim.engine.now().0 {
            sim.seek(time_us);
        }
        sim.throttled = false;
        Ok(sim)
    }
}
