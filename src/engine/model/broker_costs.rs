//! The broker's own time: a single broker CPU that stores one message (or
//! one produce request of a batch) at a time, and a group commit that makes
//! what was stored visible only at the next fsync tick. Off (instant, free)
//! unless the scenario sets `broker_costs`; then every publish reaching a
//! broker waits here before the model that owns its target sees it. Redis
//! commands skip the group commit (PUBLISH is never written to disk; XADD
//! stamps its id when it runs): they wait for the CPU only.
//!
//!   Arrive ──broker_accept──► CPU (FIFO: per_message, per_batch) ──► next fsync tick ──Stored──► route
//!   Kafka batch ──batch_ready_us──► the same CPU and fsync ──BatchStored──► append
//!
//! Guarantees: with `broker_costs` unset nothing is scheduled and nothing
//! changes (same trace as before); the CPU serves in arrival order, so a
//! later arrival is never stored before an earlier one bound for the same
//! kind of server (group commit or none); every delay is at
//! most one second of work plus one fsync interval per message queued ahead.

use crate::engine::core::{Engine, Event, Target};
use crate::engine::message::MsgState;
use crate::engine::time::SimTime;

impl Engine {
    /// When work of `messages` messages (plus one produce request when
    /// `batch`) reaching the broker now is stored and visible; advances the
    /// broker CPU. `None` when the scenario has no broker costs.
    pub(crate) fn broker_ready_us(&mut self, messages: u64, batch: bool) -> Option<u64> {
        self.broker_done_us(messages, batch, true)
    }

    /// `broker_ready_us`, with `fsync` false for work that no group commit
    /// holds back (Redis: see `broker_accept`).
    fn broker_done_us(&mut self, messages: u64, batch: bool, fsync: bool) -> Option<u64> {
        let c = self.cfg.broker_costs?;
        let work = c.per_message.us() * messages + if batch { c.per_batch.us() } else { 0 };
        let start = self.now.0.max(self.broker_cpu_free_us);
        let done = start + work;
        self.broker_cpu_free_us = done;
        Some(match c.fsync_every {
            Some(f) if fsync => done.div_ceil(f.us()) * f.us(),
            _ => done,
        })
    }

    /// A publish reaches its broker: routed now, or once the broker stored it.
    pub(crate) fn broker_accept(&mut self, slot: u32, target: Target) {
        // Redis runs a command when its CPU gets to it and nothing waits
        // for a disk: PUBLISH is never written to the append-only file
        // (propagated to replicas only), and XADD takes its entry id from
        // the server clock as it runs, the file written afterwards.
        let fsync = !matches!(target, Target::PubSub(_) | Target::Stream(_));
        match self.broker_done_us(1, false, fsync) {
            Some(at) if at > self.now.0 => {
                let gen = self.msgs[slot as usize].gen;
                self.agenda
                    .schedule(SimTime(at), Event::Stored { slot, gen, target });
            }
            _ => self.route(slot, target, None),
        }
    }

    /// The broker stored `slot`: route it, unless it was discarded meanwhile
    /// or the AMQP broker went down while it was being written.
    pub(crate) fn on_stored(&mut self, slot: u32, gen: u32, target: Target) {
        let m = &self.msgs[slot as usize];
        if m.gen != gen || m.state != MsgState::Transit {
            return;
        }
        if self.broker_down && matches!(target, Target::Exchange(_) | Target::Queue(_)) {
            let at = self.target_node(target);
            self.refuse_while_down(slot, at);
            return;
        }
        self.route(slot, target, None);
    }
}
