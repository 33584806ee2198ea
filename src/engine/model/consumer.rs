//! Consumers: groups of instances that take deliveries from one queue,
//! process them, and acknowledge, fail or crash.
//!
//!   queue::dispatch ──► deliver ──► buffer ──start_service──► ServiceDone
//!                                                               │
//!        processed: handler_publish, ack, complete ◄────────────┤
//!        failed: auto-ack → lost; manual → retry::fail_manual ◄─┘
//!
//!   crashes and restarts: `consumer_crash.rs`
//!
//! A circuit breaker (`model::breaker`) hears every handler outcome and can
//! close the instances to new deliveries (`instance_has_room`).
//!
//! Reacts to: `Event::ServiceDone`; commands `SetInstances`, `SetPrefetch`
//! (`CrashConsumer`, `RestartConsumer` in `consumer_crash.rs`; others only change
//! configuration). Exports: `deliver`, `instance_has_room`. Instance epochs are unique per consumer, so a stale
//! completion or restart never touches a newer instance. Guarantees: an
//! instance holds at most `prefetch_ceiling` deliveries; it is busy exactly
//! when it holds one, with exactly one completion pending — unless its
//! handler is still finishing a delivery its channel gave back to a consumer
//! timeout (`model::ack_timeout`): then it starts nothing until that ends.

use crate::engine::core::{Engine, Event, Target, DELAY_US_MAX};
use crate::engine::message::{flag, HdrId, MsgState, Sym};
use crate::engine::model::protocol::{ArmedCrash, DedupStore};
use crate::engine::prng::Stream;
use crate::engine::time::delay_us_from_f64;
use crate::engine::trace::{NodeId, Reason, TraceKind};
use crate::scenario::{self, AckMode, Service};
use std::collections::VecDeque;

#[derive(Clone, Debug, Default)]
pub(crate) struct Instance {
    pub(crate) up: bool,
    pub(crate) epoch: u32,
    pub(crate) busy: bool,
    /// `ServiceDone` events of the current epoch not yet handled; exactly 1
    /// while busy, 0 otherwise (checked by `check_invariants`).
    pub(crate) service_pending: u32,
    pub(crate) buffer: VecDeque<u32>,
    pub(crate) service_us: u64,
    pub(crate) busy_since_us: u64,
    pub(crate) busy_total_us: u64,
    pub(crate) processed: u64,
    /// The restart delay of a pending protocol-point crash.
    pub(crate) crash_restart_us: Option<u64>,
    /// Deliveries held back on the wire (`model::links`), not yet in `buffer`.
    pub(crate) in_transit: Vec<u32>,
    /// Processed messages whose manual ack is still on its way (`model::links`).
    pub(crate) acking: Vec<u32>,
    /// The delivery just processed, between the end of its service and its
    /// ack: still unacked, so it counts against prefetch while its effects
    /// (handler publishes, dead-lettering) may route messages back into this
    /// queue and dispatch to this very instance (`on_service_done`).
    pub(crate) settling: bool,
    /// Its deliveries in order, for its queue's consumer timeout
    /// (`model::ack_timeout`; empty without one), and the epoch of its
    /// pending channel tick (`None`: no tick pending).
    pub(crate) delivered_log: VecDeque<super::ack_timeout::Delivered>,
    pub(crate) tick_epoch: Option<u32>,
    /// Its handler, still running after a consumer timeout closed its
    /// channel (`model::ack_timeout`): nothing else starts until it ends.
    pub(crate) orphan: Option<super::ack_timeout::Orphan>,
    pub(crate) orphan_next: u32,
}

impl Instance {
    /// Deliveries this instance holds unacked: what counts against prefetch.
    #[inline]
    pub(crate) fn held(&self) -> usize {
        self.buffer.len() + self.in_transit.len() + self.acking.len()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ConsumerState {
    pub(crate) node: NodeId,
    pub(crate) queue: u32,
    pub(crate) stream: Stream,
    /// Protocol-point faults' own stream (`faults:<id>`).
    pub(crate) fault_stream: Stream,
    /// The idempotent consumer's memory (empty without `dedup`).
    pub(crate) dedup: DedupStore,
    /// A crash armed by a command for a protocol point.
    pub(crate) armed: Option<ArmedCrash>,
    /// Anything at the protocol points to look at (an armed crash, faults,
    /// a dedup store)? Kept by `refresh_protocol`, so the hot path reads one
    /// flag instead of the configuration.
    pub(crate) protocol: bool,
    pub(crate) instances: Vec<Instance>,
    /// Handler publishes: target, routing key (unset: the processed
    /// message's), copies, and headers set over the processed message's.
    pub(crate) on_success: Vec<(Target, Option<Sym>, u32, Option<HdrId>)>,
    pub(crate) exhausted_to: Option<u32>,
    /// Next instance epoch to hand out. Epochs are unique per consumer, not
    /// per instance slot, so that an instance removed by `SetInstances` and
    /// later re-created at the same index can never match a stale
    /// `ServiceDone` or `Restart` event of its predecessor.
    pub(crate) epoch_next: u32,
    /// Highest prefetch this consumer has had: lowering prefetch while
    /// running leaves deliveries held until they drain, so this is the hard
    /// bound on what one instance may hold.
    pub(crate) prefetch_ceiling: u32,
    /// The prefetch now (`cfg.consumers[c].prefetch`, kept here by
    /// `set_prefetch`): read for every dispatch decision.
    pub(crate) prefetch: u32,
    pub(crate) processed: u64,
    pub(crate) failed: u64,
    pub(crate) acked: u64,
    pub(crate) nacked: u64,
    /// Handler runs that finished (processed or failed) and their time in
    /// all: the mean processing time (the survey's
    /// `average_processing_time`).
    pub(crate) handled: u64,
    pub(crate) service_total_us: u64,
    /// The circuit breaker (`model::breaker`), if it has one.
    pub(crate) breaker: Option<Box<super::breaker::Breaker>>,
    /// Its breaker is not closed: dispatch asks `breaker_permits`. Kept by
    /// `model::breaker`, so the hot path reads one flag.
    pub(crate) gated: bool,
    /// Tells a pending half-open timer whether it is still current: bumped
    /// at every opening and every `SetCircuitBreaker`, kept when the breaker
    /// is removed (a later breaker must not take an old timer for its own).
    pub(crate) breaker_gen: u32,
}

impl Engine {
    /// Create the state of consumer `c` with all its instances up (called once per consumer by `Engine::new`).
    pub(crate) fn add_consumer(&mut self, c: &scenario::Consumer) {
        let queue = match self.target_of(&c.queue) {
            Target::Queue(i) => i,
            _ => unreachable!("validated: consumers read queues"),
        };
        let on_success = c
            .on_success
            .iter()
            .map(|p| {
                (
                    self.target_of(&p.to),
                    p.routing_key.as_ref().map(|k| self.intern(k)),
                    p.copies,
                    (!p.headers.is_empty()).then(|| self.intern_headers(p.headers.clone())),
                )
            })
            .collect();
        let exhausted_to =
            c.retry
                .as_ref()
                .and_then(|r| r.exhausted_to.as_ref())
                .map(|x| match self.target_of(x) {
                    Target::Exchange(i) => i,
                    _ => unreachable!("validated: exhausted_to is an exchange"),
                });
        let instances = (0..c.instances)
            .map(|_| Instance {
                up: true,
                ..Default::default()
            })
            .collect();
        self.consumers.push(ConsumerState {
            node: self.node_id(&c.id),
            queue,
            stream: Stream::new(self.seed, &format!("consumer:{}", c.id)),
            fault_stream: Stream::new(self.seed, &format!("faults:{}", c.id)),
            dedup: DedupStore::default(),
            armed: None,
            protocol: c.faults.is_some() || c.dedup.is_some(),
            instances,
            on_success,
            exhausted_to,
            epoch_next: 1,
            prefetch_ceiling: c.prefetch,
            prefetch: c.prefetch,
            processed: 0,
            failed: 0,
            acked: 0,
            nacked: 0,
            handled: 0,
            service_total_us: 0,
            breaker: c
                .circuit_breaker
                .map(|b| Box::new(super::breaker::Breaker::new(b))),
            gated: false,
            breaker_gen: 0,
        });
    }

    pub(crate) fn deliver(&mut self, slot: u32, q: u32, c: u32, i: u32) {
        let ci = c as usize;
        self.set_state(slot, MsgState::Unacked);
        let auto = self.cfg.consumers[ci].ack_mode() == AckMode::Auto;
        let attempt = self.count_delivery(slot);
        let m = &mut self.msgs[slot as usize];
        let redelivered = m.redelivered();
        let id = m.id;
        if !auto && self.queues[q as usize].consumer_timeout_us != 0 {
            self.ack_timeout_delivered(c, i, slot, attempt);
        }
        let m = &mut self.msgs[slot as usize];
        let first = !m.has(flag::DELIVERED_ONCE);
        m.set(flag::DELIVERED_ONCE, true);
        m.set(flag::AUTO_ACKED, auto);
        // Link faults are drawn per delivery (`wire_faults`): none carried over.
        m.flags &= !(flag::LOST_ON_WIRE | flag::TWICE_ON_WIRE);
        let waited = self.now.0 - m.published_us;
        if first {
            self.wait.record(waited);
        }
        self.totals.delivered += 1;
        if redelivered {
            self.totals.redelivered += 1;
        }
        let qnode = self.queue_note_delivered(q);
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
            self.queue_note_acked(q);
            self.trace
                .record(self.now, TraceKind::Acked { instance: i }, Some(id), cnode);
        }
        if self.consumers[ci].protocol && self.held_back(c, i, slot) {
            // Held back on the wire (`model::links`): it reaches the
            // instance later, and after_receive runs then.
            self.wire_faults(c, slot);
            return;
        }
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.buffer.push_back(slot);
        if !inst.busy {
            self.start_service(c, i);
        }
        if self.consumers[ci].protocol {
            self.wire_faults(c, slot);
            self.after_receive(c, i, auto);
        }
    }

    pub(crate) fn service_us(&mut self, c: u32) -> u64 {
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

    pub(crate) fn start_service(&mut self, c: u32, i: u32) {
        if self.consumers[c as usize].instances[i as usize]
            .orphan
            .is_some()
        {
            return; // its handler is still busy with a delivery of a closed channel
        }
        let mut service_us = self.service_us(c);
        if self.consumers[c as usize].protocol {
            service_us = service_us.saturating_add(self.wire_delay_us(c));
        }
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

    pub(crate) fn on_service_done(&mut self, c: u32, i: u32, epoch: u32) {
        if self.is_sqs_consumer(c) {
            return self.sqs_service_done(c, i, epoch);
        }
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
        // Unacked until settled below (a swarm case delivered a fifth message
        // to a prefetch-4 instance from its own handler's publish).
        inst.settling = true;
        let q = self.consumers[ci].queue;
        self.queue_note_released(q, 1);
        let cnode = self.consumers[ci].node;
        let wire = self.msgs[slot as usize].flags & (flag::LOST_ON_WIRE | flag::TWICE_ON_WIRE);
        if wire & flag::LOST_ON_WIRE != 0 {
            // The handler never saw this delivery (`model::protocol`).
            self.lost_on_wire(c, slot, q);
        } else if !self.handler_fails(c, slot) {
            self.note_handled(c, service_us);
            self.handler_succeeded(c, i, slot, q, service_us);
            if wire & flag::TWICE_ON_WIRE != 0 {
                self.second_delivery(c, i, slot, q);
            }
            self.settle_after_effect(c, i, slot, q);
        } else {
            self.note_handled(c, service_us);
            self.handler_failed(c, i, slot);
            if self.msgs[slot as usize].auto_acked() {
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
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.settling = false;
        if !inst.busy && !inst.buffer.is_empty() {
            self.start_service(c, i);
        }
        self.dispatch(q);
    }

    /// After the effect: ack and complete — unless the instance crashes
    /// first (the delivery goes back unacked) or the ack is lost (the broker
    /// redelivers). With auto-ack the broker forgot the message already.
    fn settle_after_effect(&mut self, c: u32, i: u32, slot: u32, q: u32) {
        let ci = c as usize;
        let auto = self.msgs[slot as usize].auto_acked();
        if self.consumers[ci].protocol {
            if let Some(restart) = self.crash_after_effect(c, i) {
                if auto {
                    self.complete(slot);
                } else {
                    // Held again, so the crash returns it with the rest.
                    self.queues[q as usize].unacked += 1;
                    let inst = &mut self.consumers[ci].instances[i as usize];
                    inst.buffer.push_front(slot);
                    inst.busy = true;
                    inst.service_pending += 1;
                    inst.busy_since_us = self.now.0;
                }
                self.protocol_crash(c, i, restart);
                return;
            }
            if !auto && self.ack_lost(c) {
                let (id, cnode) = (self.msgs[slot as usize].id, self.consumers[ci].node);
                self.trace.record(
                    self.now,
                    TraceKind::AckLost { instance: i },
                    Some(id),
                    cnode,
                );
                self.requeue(slot, q);
                return;
            }
            if !auto && self.ack_travels(c, i, slot, q) {
                return; // acked when it arrives (`model::links`)
            }
        }
        if !auto {
            self.manual_ack(c, i, slot, q);
        }
        self.complete(slot);
        if !auto && self.consumers[ci].protocol {
            self.after_manual_ack(c, i);
            self.ack_arrived(c, i);
        }
    }

    /// The broker received instance `i`'s manual ack of `slot`: counted and traced.
    pub(crate) fn manual_ack(&mut self, c: u32, i: u32, slot: u32, q: u32) {
        let ci = c as usize;
        let (id, cnode) = (self.msgs[slot as usize].id, self.consumers[ci].node);
        self.totals.acked += 1;
        self.consumers[ci].acked += 1;
        self.queue_note_acked(q);
        self.trace
            .record(self.now, TraceKind::Acked { instance: i }, Some(id), cnode);
    }

    pub(crate) fn nack(&mut self, c: u32, i: u32, slot: u32, requeue: bool) {
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

    /// A handler run of consumer `c` that took `service_us` finished.
    #[inline]
    pub(crate) fn note_handled(&mut self, c: u32, service_us: u64) {
        let cs = &mut self.consumers[c as usize];
        cs.handled += 1;
        cs.service_total_us = cs.service_total_us.saturating_add(service_us);
    }

    /// `SetInstances`: scale the group; removed instances (from the end)
    /// crash first, returning their unacked deliveries.
    pub(crate) fn set_instances(&mut self, c: u32, instances: u32) {
        let ci = c as usize;
        let q = self.consumers[ci].queue;
        let n = instances as usize;
        // Unsubscribe the instances being removed before any of them returns
        // a message: a returned message can overflow its queue and be
        // dead-lettered round a cycle back into this queue, whose dispatch
        // then scans the subscriber list. Rebuilt only after the loop, that
        // list still named instances already popped (an out-of-bounds panic),
        // and an instance about to be removed could take a delivery only to
        // hand it back at once.
        self.unsubscribe_from(q, c, instances);
        while self.consumers[ci].instances.len() > n {
            let last = self.consumers[ci].instances.len() as u32 - 1;
            self.crash_instance(c, last);
            self.consumers[ci].instances.pop();
        }
        while self.consumers[ci].instances.len() < n {
            let epoch = self.consumers[ci].epoch_next;
            self.consumers[ci].epoch_next = epoch.wrapping_add(1);
            self.consumers[ci].instances.push(Instance {
                // A consumer added while the broker is down connects when it is back.
                up: !self.broker_down,
                epoch,
                ..Default::default()
            });
        }
        self.cfg.consumers[ci].instances = instances;
        self.rebuild_subscribers(q);
        self.dispatch(q);
    }

    /// `SetPrefetch`: a lower prefetch lets held deliveries drain; a higher
    /// one may deliver at once.
    pub(crate) fn set_prefetch(&mut self, c: u32, prefetch: u32) {
        self.cfg.consumers[c as usize].prefetch = prefetch;
        let cs = &mut self.consumers[c as usize];
        cs.prefetch_ceiling = cs.prefetch_ceiling.max(prefetch);
        cs.prefetch = prefetch;
        let q = self.consumers[c as usize].queue;
        self.dispatch(q);
    }

    // ------------------------------------------------ exported to other models

    /// Is instance `i` of consumer `c` up with prefetch room (may it take a
    /// delivery now)?
    #[inline]
    pub(crate) fn instance_has_room(&self, c: u32, i: u32) -> bool {
        let cs = &self.consumers[c as usize];
        let inst = &cs.instances[i as usize];
        inst.up
            && inst.held() + usize::from(inst.settling) < cs.prefetch as usize
            && (!cs.gated || self.breaker_permits(c))
    }

    // ------------------------------------------------ invariants

    /// Every instance within its prefetch ceiling; a crashed one holds
    /// nothing; busy exactly when holding a delivery, with exactly one
    /// completion pending.
    pub(crate) fn check_consumers(&self) -> Result<(), String> {
        for (ci, c) in self.consumers.iter().enumerate() {
            for (ii, inst) in c.instances.iter().enumerate() {
                if inst.held() > c.prefetch_ceiling as usize {
                    return Err(format!(
                        "instance {ci}#{ii} holds {} deliveries, prefetch is at most {}",
                        inst.held(),
                        c.prefetch_ceiling
                    ));
                }
                if !inst.up && inst.held() > 0 {
                    return Err(format!("crashed instance {ci}#{ii} still holds deliveries"));
                }
                if inst.service_pending != inst.busy as u32 {
                    return Err(format!(
                        "instance {ci}#{ii} busy={} with {} service completions pending",
                        inst.busy, inst.service_pending
                    ));
                }
                // Busy exactly when it holds a delivery, unless its handler
                // is still finishing one of a closed channel (then idle).
                if inst.busy == (inst.buffer.is_empty() || inst.orphan.is_some()) {
                    return Err(format!(
                        "instance {ci}#{ii} busy={} with {} held, orphaned handler {}",
                        inst.busy,
                        inst.buffer.len(),
                        inst.orphan.is_some()
                    ));
                }
                self.check_ack_timeout(ci, ii, inst)?;
            }
        }
        Ok(())
    }
}
