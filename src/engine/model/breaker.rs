//! Circuit breakers on AMQP queue consumers (`consumers[].circuit_breaker`):
//! the downstream dependency's guard, as Nygard's pattern with Polly's
//! consecutive-failure count.
//!
//!   closed ──`failures` in a row──► open ──`open_for`──► half-open
//!     ▲                               ▲                     │
//!     └──── every probe succeeded ────┼── a probe failed ◄──┘
//!
//! While open the consumer takes no deliveries: `instance_has_room` answers
//! no, so messages wait in the queue instead of failing, burning retries and
//! dead-lettering (a listener container pausing its consumer while the
//! breaker is open). Deliveries already held when it opens still finish;
//! their outcomes do not move the breaker. Half-open lets `probes`
//! deliveries through (what the instances hold counts against them), so a
//! crashed probe's return frees its place.
//!
//! Reacts to: `Event::BreakerHalfOpen`; command `SetCircuitBreaker`.
//! Exports: `breaker_permits` (dispatch), `breaker_success` and
//! `breaker_failure` (the handler's outcomes). Guarantees: an open breaker
//! gets no delivery; a stale half-open timer (the breaker replaced, removed or opened
//! again since) does nothing; every transition is traced on the consumer.

use crate::engine::core::{Engine, Event};
use crate::engine::trace::TraceKind;
use crate::scenario::CircuitBreaker;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Closed,
    Open,
    HalfOpen,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::Open => "open",
            Phase::HalfOpen => "half_open",
        }
    }
}

/// One consumer's breaker: its settings and where it stands.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    pub(crate) cfg: CircuitBreaker,
    pub(crate) phase: Phase,
    /// Handler failures in a row while closed.
    pub(crate) consecutive: u32,
    /// Probes that succeeded in this half-open spell.
    pub(crate) probe_successes: u32,
    /// The consumer is the only one reading its queue, so what its instances
    /// hold is the queue's unacked count (`refresh_breaker_readers`): the
    /// half-open gate then costs O(1), not a sum over every instance for
    /// every instance dispatch looks at.
    pub(crate) sole_reader: bool,
    /// When the current open spell ends (open only).
    pub(crate) open_until_us: u64,
    /// Times it opened (a failed probe opens it again).
    pub(crate) opens: u64,
    /// Time spent open, spells that ended; the current one is added in views.
    pub(crate) open_total_us: u64,
    pub(crate) opened_at_us: u64,
}

impl Breaker {
    pub(crate) fn new(cfg: CircuitBreaker) -> Self {
        Breaker {
            cfg,
            phase: Phase::Closed,
            consecutive: 0,
            probe_successes: 0,
            sole_reader: false,
            open_until_us: 0,
            opens: 0,
            open_total_us: 0,
            opened_at_us: 0,
        }
    }
}

impl Engine {
    /// May consumer `c` take one more delivery, as far as its breaker goes?
    /// Called only when it has a breaker that is not closed (`gated`).
    #[inline(never)]
    pub(crate) fn breaker_permits(&self, c: u32) -> bool {
        let cs = &self.consumers[c as usize];
        let Some(b) = &cs.breaker else {
            return true;
        };
        match b.phase {
            Phase::Closed => true,
            Phase::Open => false,
            Phase::HalfOpen => {
                let held = if b.sole_reader {
                    self.queues[cs.queue as usize].unacked as usize
                } else {
                    cs.instances.iter().map(|i| i.held()).sum()
                };
                held < b.cfg.probes.saturating_sub(b.probe_successes) as usize
            }
        }
    }

    /// The handler of consumer `c` succeeded.
    #[inline]
    pub(crate) fn breaker_success(&mut self, c: u32) {
        if self.consumers[c as usize].breaker.is_some() {
            self.breaker_outcome(c, true);
        }
    }

    /// The handler of consumer `c` failed.
    #[inline]
    pub(crate) fn breaker_failure(&mut self, c: u32) {
        if self.consumers[c as usize].breaker.is_some() {
            self.breaker_outcome(c, false);
        }
    }

    #[inline(never)]
    fn breaker_outcome(&mut self, c: u32, ok: bool) {
        let cs = &mut self.consumers[c as usize];
        let node = cs.node;
        let Some(b) = cs.breaker.as_mut() else {
            return;
        };
        match (b.phase, ok) {
            (Phase::Closed, true) => b.consecutive = 0,
            (Phase::Closed, false) => {
                b.consecutive += 1;
                if b.consecutive >= b.cfg.failures {
                    let failures = b.consecutive;
                    self.breaker_open(c, failures);
                }
            }
            // Outcomes of deliveries taken before it opened.
            (Phase::Open, _) => {}
            (Phase::HalfOpen, true) => {
                b.probe_successes += 1;
                if b.probe_successes >= b.cfg.probes {
                    let probes = b.cfg.probes;
                    b.phase = Phase::Closed;
                    b.consecutive = 0;
                    b.probe_successes = 0;
                    cs.gated = false;
                    self.trace
                        .record(self.now, TraceKind::BreakerClosed { probes }, None, node);
                    // The caller (a service completion) dispatches the queue.
                }
            }
            (Phase::HalfOpen, false) => self.breaker_open(c, 1),
        }
    }

    fn breaker_open(&mut self, c: u32, failures: u32) {
        let now_us = self.now.0;
        let cs = &mut self.consumers[c as usize];
        let node = cs.node;
        let Some(b) = cs.breaker.as_mut() else {
            return;
        };
        let open_us = b.cfg.open_for.us();
        b.phase = Phase::Open;
        b.consecutive = 0;
        b.probe_successes = 0;
        b.opens += 1;
        b.opened_at_us = now_us;
        b.open_until_us = now_us.saturating_add(open_us);
        cs.breaker_gen = cs.breaker_gen.wrapping_add(1);
        let generation = cs.breaker_gen;
        cs.gated = true;
        self.trace.record(
            self.now,
            TraceKind::BreakerOpened { failures, open_us },
            None,
            node,
        );
        self.agenda.schedule(
            self.now.after(open_us),
            Event::BreakerHalfOpen { c, generation },
        );
    }

    /// The open time of consumer `c`'s breaker ran out: let probes through.
    pub(crate) fn on_breaker_half_open(&mut self, c: u32, generation: u32) {
        let now_us = self.now.0;
        let cs = &mut self.consumers[c as usize];
        let node = cs.node;
        let q = cs.queue;
        if cs.breaker_gen != generation {
            return;
        }
        let Some(b) = cs.breaker.as_mut() else {
            return;
        };
        if b.phase != Phase::Open {
            return;
        }
        b.phase = Phase::HalfOpen;
        b.probe_successes = 0;
        b.open_total_us += now_us - b.opened_at_us;
        let probes = b.cfg.probes;
        self.trace
            .record(self.now, TraceKind::BreakerHalfOpen { probes }, None, node);
        self.dispatch(q);
    }

    /// `SetCircuitBreaker`: a new breaker starts closed, or the consumer has
    /// none; either way a pending half-open timer is void and the queue is
    /// dispatched, since an open breaker may have been holding it back. A
    /// breaker that replaces one keeps its counts (opens, time open); after
    /// a removal they start from zero.
    pub(crate) fn set_circuit_breaker(&mut self, c: u32, cfg: Option<CircuitBreaker>) {
        let ci = c as usize;
        self.cfg.consumers[ci].circuit_breaker = cfg;
        let now_us = self.now.0;
        let cs = &mut self.consumers[ci];
        cs.breaker_gen = cs.breaker_gen.wrapping_add(1);
        let old = cs.breaker.take();
        cs.breaker = cfg.map(|cfg| {
            let mut b = Breaker::new(cfg);
            if let Some(o) = &old {
                b.opens = o.opens;
                b.open_total_us = o.open_total_us
                    + if o.phase == Phase::Open {
                        now_us - o.opened_at_us
                    } else {
                        0
                    };
            }
            Box::new(b)
        });
        cs.gated = false;
        let q = cs.queue;
        self.refresh_breaker_readers();
        self.dispatch(q);
    }

    /// Mark every breaker whose consumer is the only one reading its queue
    /// (after the consumers are built, and whenever a breaker is set).
    pub(crate) fn refresh_breaker_readers(&mut self) {
        for c in 0..self.consumers.len() {
            if self.consumers[c].breaker.is_none() {
                continue;
            }
            let q = self.consumers[c].queue;
            let sole = self
                .consumers
                .iter()
                .enumerate()
                .all(|(k, o)| k == c || o.queue != q);
            if let Some(b) = self.consumers[c].breaker.as_mut() {
                b.sole_reader = sole;
            }
        }
    }

    /// Consumer `c`'s breaker as the inspector and the report show it.
    pub(crate) fn breaker_view(&self, c: u32) -> Option<crate::engine::view::BreakerView> {
        let b = self.consumers[c as usize].breaker.as_ref()?;
        let open_now = if b.phase == Phase::Open {
            self.now.0 - b.opened_at_us
        } else {
            0
        };
        Some(crate::engine::view::BreakerView {
            state: b.phase.name(),
            failures_in_a_row: b.consecutive,
            failures_to_open: b.cfg.failures,
            opens: b.opens,
            open_total_us: b.open_total_us + open_now,
            half_open_at_us: (b.phase == Phase::Open).then_some(b.open_until_us),
        })
    }

    /// The dispatch gate agrees with every breaker's phase, and a closed
    /// breaker is below its threshold: checked after every event with the
    /// other invariants (that an open breaker gets no delivery is a trace
    /// property, tested in `tests/engine/breaker.rs`).
    pub(crate) fn check_breakers(&self) -> Result<(), String> {
        for (ci, cs) in self.consumers.iter().enumerate() {
            let Some(b) = &cs.breaker else {
                if cs.gated {
                    return Err(format!("consumer {ci} gated without a breaker"));
                }
                continue;
            };
            if cs.gated != (b.phase != Phase::Closed) {
                return Err(format!(
                    "consumer {ci}: gated={} with its breaker {}",
                    cs.gated,
                    b.phase.name()
                ));
            }
            if b.phase == Phase::Closed && b.consecutive >= b.cfg.failures {
                return Err(format!(
                    "consumer {ci}: breaker closed after {} failures in a row (opens at {})",
                    b.consecutive, b.cfg.failures
                ));
            }
        }
        Ok(())
    }
}
