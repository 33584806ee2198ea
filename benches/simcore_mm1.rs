//! M/M/1 written with the `simcore` discrete-event framework (crates.io
//! `simcore` 0.1), the way its own docs and `examples/intro-callbacks.rs`
//! write a model: components holding their `SimulationContext`, registered as
//! `Rc<RefCell<dyn EventHandler>>`, event payloads that are `Clone +
//! Serialize` structs matched with `cast!`, delays in f64 seconds, and random
//! draws from the simulation-wide generator via `sample_from_distribution`
//! (rand_distr's `Exp`).
//!
//! Same model as the engine's `mm1` preset and the bare loop (λ = 8/s,
//! μ = 10/s, exponential gaps and services, one server, FIFO), not the same
//! random numbers: simcore owns its generator (PCG64 from the seed).
//!
//! Two ways of writing it, both idiomatic:
//!
//! - `run_components`: a `Source` and a `JobServer` component, as the docs'
//!   two-process example is built; the source sends each `Job` (carrying its
//!   arrival time) to the server as an event. Three framework events per
//!   message.
//!
//!   Source ─Generate (self, after Exp(λ))─► Source ─Job─► JobServer ─Done (self, after Exp(μ))─► JobServer
//!
//! - `run_single`: one `Server` component that schedules its own arrivals;
//!   two events per message, the same event structure as the bare loop.
//!
//! Used only by the benchmark; wall-clock time is read by the caller.

use rand_distr_simcore::Exp;
use serde::Serialize;
use simcore::{cast, Event, EventHandler, Id, Simulation, SimulationContext};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

#[derive(Clone, Serialize)]
struct Arrival {}

#[derive(Clone, Serialize)]
struct Departure {}

/// `run_single`: the server with its waiting line, generating its own arrivals.
struct Server {
    ctx: SimulationContext,
    gap: Exp<f64>,
    service: Exp<f64>,
    /// Arrival times (s) of the waiting messages, oldest first.
    waiting: VecDeque<f64>,
    /// Arrival time (s) of the message in service.
    in_service: Option<f64>,
    completed: u64,
    sojourn_s_sum: f64,
    /// Events handled (simcore's `event_count` counts emitted ones).
    handled: u64,
}

impl Server {
    fn start_service_if_idle(&mut self) {
        if self.in_service.is_none() {
            if let Some(arrived) = self.waiting.pop_front() {
                self.in_service = Some(arrived);
                let service_s = self.ctx.sample_from_distribution(&self.service);
                self.ctx.emit_self(Departure {}, service_s);
            }
        }
    }
}

impl EventHandler for Server {
    fn on(&mut self, event: Event) {
        self.handled += 1;
        cast!(match event.data {
            Arrival {} => {
                self.waiting.push_back(self.ctx.time());
                let gap_s = self.ctx.sample_from_distribution(&self.gap);
                self.ctx.emit_self(Arrival {}, gap_s);
                self.start_service_if_idle();
            }
            Departure {} => {
                if let Some(arrived) = self.in_service.take() {
                    self.completed += 1;
                    self.sojourn_s_sum += self.ctx.time() - arrived;
                }
                self.start_service_if_idle();
            }
        })
    }
}

/// What one simcore run did.
pub struct SimcoreOutcome {
    pub completed: u64,
    pub events: u64,
    pub mean_sojourn_s: f64,
}

/// One component: run M/M/1 (`arrival_per_s`, `service_per_s`) for `sim_secs` simulated seconds.
pub fn run_single(
    seed: u64,
    arrival_per_s: f64,
    service_per_s: f64,
    sim_secs: f64,
) -> SimcoreOutcome {
    let mut sim = Simulation::new(seed);
    let ctx = sim.create_context("server");
    let server = Rc::new(RefCell::new(Server {
        ctx,
        gap: Exp::new(arrival_per_s).expect("positive arrival rate"),
        service: Exp::new(service_per_s).expect("positive service rate"),
        waiting: VecDeque::new(),
        in_service: None,
        completed: 0,
        sojourn_s_sum: 0.0,
        handled: 0,
    }));
    sim.add_handler("server", server.clone());
    let first_gap_s = server
        .borrow()
        .ctx
        .sample_from_distribution(&server.borrow().gap);
    server.borrow().ctx.emit_self(Arrival {}, first_gap_s);
    sim.step_until_time(sim_secs);
    let s = server.borrow();
    SimcoreOutcome {
        completed: s.completed,
        events: s.handled,
        mean_sojourn_s: s.sojourn_s_sum / s.completed.max(1) as f64,
    }
}

// --- `run_components`: a source and a server, talking through events. ---

#[derive(Clone, Serialize)]
struct Generate {}

#[derive(Clone, Serialize)]
struct Job {
    arrived_s: f64,
}

#[derive(Clone, Serialize)]
struct Done {}

/// Emits a `Job` to the server now and its next `Generate` after Exp(λ).
struct Source {
    ctx: SimulationContext,
    gap: Exp<f64>,
    server: Id,
    handled: u64,
}

impl Source {
    fn schedule_next(&self) {
        let gap_s = self.ctx.sample_from_distribution(&self.gap);
        self.ctx.emit_self(Generate {}, gap_s);
    }
}

impl EventHandler for Source {
    fn on(&mut self, event: Event) {
        self.handled += 1;
        cast!(match event.data {
            Generate {} => {
                self.ctx.emit_now(
                    Job {
                        arrived_s: self.ctx.time(),
                    },
                    self.server,
                );
                self.schedule_next();
            }
        })
    }
}

/// Serves `Job`s in arrival order, one at a time, each for Exp(μ).
struct JobServer {
    ctx: SimulationContext,
    service: Exp<f64>,
    waiting: VecDeque<f64>,
    in_service: Option<f64>,
    completed: u64,
    sojourn_s_sum: f64,
    handled: u64,
}

impl JobServer {
    fn start_service_if_idle(&mut self) {
        if self.in_service.is_none() {
            if let Some(arrived) = self.waiting.pop_front() {
                self.in_service = Some(arrived);
                let service_s = self.ctx.sample_from_distribution(&self.service);
                self.ctx.emit_self(Done {}, service_s);
            }
        }
    }
}

impl EventHandler for JobServer {
    fn on(&mut self, event: Event) {
        self.handled += 1;
        cast!(match event.data {
            Job { arrived_s } => {
                self.waiting.push_back(arrived_s);
                self.start_service_if_idle();
            }
            Done {} => {
                if let Some(arrived) = self.in_service.take() {
                    self.completed += 1;
                    self.sojourn_s_sum += self.ctx.time() - arrived;
                }
                self.start_service_if_idle();
            }
        })
    }
}

/// Source and server components: run M/M/1 for `sim_secs` simulated seconds.
pub fn run_components(
    seed: u64,
    arrival_per_s: f64,
    service_per_s: f64,
    sim_secs: f64,
) -> SimcoreOutcome {
    let mut sim = Simulation::new(seed);
    let server_ctx = sim.create_context("server");
    let server = Rc::new(RefCell::new(JobServer {
        ctx: server_ctx,
        service: Exp::new(service_per_s).expect("positive service rate"),
        waiting: VecDeque::new(),
        in_service: None,
        completed: 0,
        sojourn_s_sum: 0.0,
        handled: 0,
    }));
    let server_id = sim.add_handler("server", server.clone());
    let source_ctx = sim.create_context("source");
    let source = Rc::new(RefCell::new(Source {
        ctx: source_ctx,
        gap: Exp::new(arrival_per_s).expect("positive arrival rate"),
        server: server_id,
        handled: 0,
    }));
    sim.add_handler("source", source.clone());
    source.borrow().schedule_next();
    sim.step_until_time(sim_secs);
    let s = server.borrow();
    let source_handled = source.borrow().handled;
    SimcoreOutcome {
        completed: s.completed,
        events: s.handled + source_handled,
        mean_sojourn_s: s.sojourn_s_sum / s.completed.max(1) as f64,
    }
}
