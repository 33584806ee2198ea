//! The broker itself crashing and coming back: what survives is what was
//! both persistent and in a durable queue, and everything in a quorum
//! queue (RabbitMQ's rules).
//!
//!   CrashBroker ──► every consumer instance drops (unacked deliveries back
//!                   to their queues, auto-acked ones lost)
//!               ──► transient queues emptied, transient messages dropped
//!                   from durable ones (`broker_crash`; a quorum queue —
//!                   one with `delivery_limit` — keeps everything); what a classic
//!                   queue keeps comes back flagged redelivered (recovery
//!                   after a dirty shutdown counts it as delivered before);
//!                   only then is a drop-head queue trimmed to its limit
//!               ──► down: publishes and arrivals are refused (`broker_down`;
//!                   a producer with confirms hears nothing and resends later)
//!   BrokerRestart / RestartBroker ──► up; every consumer instance reconnects
//!
//! Simplifications (README, differences table): queues keep their
//! definitions (a real transient queue is deleted and redeclared by its
//! client), TTLs keep running while down, and delayed retries held by the
//! engine survive. Reacts to: `Event::BrokerRestart`; commands `CrashBroker`,
//! `RestartBroker`. Guarantee: while down, no message enters or leaves a queue
//! through a client (no delivery: every instance is down; no publish).

use crate::engine::core::{Engine, Event};
use crate::engine::message::flag;
use crate::engine::trace::{NodeId, Reason, TraceKind};

impl Engine {
    /// `CrashBroker`.
    pub(crate) fn crash_broker(&mut self, restart_after_us: Option<u64>) {
        if self.broker_down {
            return;
        }
        self.broker_down = true;
        self.broker_epoch = self.broker_epoch.wrapping_add(1);
        // Connections drop: every instance crashes (no dispatch in between),
        // and each queue gets its deliveries back in queue order.
        let every: Vec<(u32, u32)> = (0..self.consumers.len() as u32)
            .flat_map(|c| {
                (0..self.consumers[c as usize].instances.len() as u32).map(move |i| (c, i))
            })
            .collect();
        self.crash_instances(&every);
        let mut lost = 0u32;
        for q in 0..self.queues.len() {
            let qc = &self.cfg.queues[q];
            let durable = qc.durable;
            // A classic queue recovered after a crash (a dirty shutdown)
            // marks every message it recovers as delivered before
            // (rabbit_variable_queue: "redeliver_seq_id becomes the seq_id
            // of the most recent message in the queue"), so each comes back
            // with `redelivered` set; a quorum queue (`delivery_limit`)
            // counts only real returns.
            let classic = qc.delivery_limit.is_none() && qc.sqs.is_none();
            // A quorum queue is always durable and writes every message to
            // its log, transient ones too ("persisted on disk regardless of
            // the message delivery mode", the Quorum Queues guide).
            let quorum = qc.delivery_limit.is_some() && qc.sqs.is_none();
            let msgs = &mut self.msgs;
            let gone = self.queues[q].ready.retain_or_take(|s| {
                let m = &mut msgs[s as usize];
                let keep = quorum || (durable && !m.has(flag::TRANSIENT));
                if keep && classic {
                    m.set(flag::REDELIVERED, true);
                }
                keep
            });
            for s in gone {
                lost += 1;
                self.queue_drop(s, q as u32, Reason::BrokerCrash);
            }
        }
        // Only what survives counts toward a length limit: RabbitMQ recovers
        // a queue without its transient messages
        // (`rabbit_classic_queue_index_v2:recover_segment`), then applies
        // `x-max-length` (`init_max_length`, `maybe_drop_head`). The held
        // deliveries went back untrimmed (`return_together`).
        for q in 0..self.queues.len() as u32 {
            self.enforce_max_length(q);
        }
        self.trace
            .record(self.now, TraceKind::BrokerCrashed { lost }, None, NodeId(0));
        if let Some(d) = restart_after_us {
            let epoch = self.broker_epoch;
            self.agenda
                .schedule(self.now.after(d), Event::BrokerRestart { epoch });
        }
    }

    /// A scheduled restart came due (ignored if the broker restarted and
    /// crashed again meanwhile).
    pub(crate) fn on_broker_restart(&mut self, epoch: u32) {
        if self.broker_epoch == epoch {
            self.restart_broker();
        }
    }

    /// `RestartBroker`: up again; consumers reconnect.
    pub(crate) fn restart_broker(&mut self) {
        if !self.broker_down {
            return;
        }
        self.broker_down = false;
        self.broker_epoch = self.broker_epoch.wrapping_add(1);
        self.trace
            .record(self.now, TraceKind::BrokerRestarted, None, NodeId(0));
        for c in 0..self.consumers.len() as u32 {
            for i in 0..self.consumers[c as usize].instances.len() as u32 {
                self.restart_instance(c, i);
            }
        }
    }

    /// A message reaches a broker that is down: refused. A producer with
    /// confirms hears nothing, so it will send again.
    pub(crate) fn refuse_while_down(&mut self, slot: u32, at: NodeId) {
        self.fx_publish_unconfirmed(slot);
        self.drop_message(slot, Reason::BrokerDown, at);
    }

    /// Is the broker down now?
    pub fn broker_is_down(&self) -> bool {
        self.broker_down
    }
}
