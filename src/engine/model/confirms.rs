//! The producer's side of a delivery guarantee: the link to the broker (drop,
//! duplicate, jitter) and publisher confirms with resends.
//!
//!   send_message ──transmit──► link: dropped? ──yes──► Dropped(network_lost)
//!                                  │ no                    │ confirms on
//!                                  ▼                       ▼
//!              route (now, or Arrive after latency+jitter)  ConfirmDue after `timeout`
//!                (duplicated? a second copy follows)        ▲
//!   confirm lost on the way back ───────────────────────────┤
//!   queue refuses (reject-publish) ──fx_publish_refused─────┘ (negative confirm)
//!   ConfirmDue ──► sends ≤ retries? resend (same business id) : GaveUp
//!
//! RabbitMQ publisher confirms: the broker acks a publish once every queue
//! took it and nacks one a `reject-publish` queue refused; a producer that
//! hears nothing within its timeout cannot tell a lost publish from a lost
//! confirm, so it sends again — and a lost confirm is where duplicates are
//! born. Every draw comes from the link's own stream (`link:<producer>`), so
//! turning a fault on changes no other component's random numbers.
//! Guarantees: at most one resend is pending per business message; a resend
//! keeps the business id (the ledger and dedup stores see one message).

use crate::engine::core::{Engine, Event, Target};
use crate::engine::message::flag;
use crate::engine::model::effects::NO_FX;
use crate::engine::trace::{Reason, TraceKind};

impl Engine {
    /// Put producer `p`'s message `slot` on the wire to `target`.
    pub(crate) fn transmit(&mut self, p: u32, slot: u32, target: Target) {
        let pi = p as usize;
        let cfg = &self.cfg.producers[pi];
        let latency_us = cfg.latency.us();
        let (faults, confirms) = (cfg.faults, cfg.confirms.is_some());
        let transient = !cfg.persistent;
        let m = &mut self.msgs[slot as usize];
        m.set(flag::FROM_PRODUCER, true);
        m.set(flag::TRANSIENT, transient);
        // The AMQP broker's crash: Redis and Pulsar are other servers.
        if self.broker_down && matches!(target, Target::Exchange(_) | Target::Queue(_)) {
            let node = self.producers[pi].node;
            self.refuse_while_down(slot, node);
            return;
        }
        let Some(f) = faults.filter(|f| *f != Default::default()) else {
            self.send_now_or_later(slot, target, latency_us);
            return;
        };
        let link = &mut self.producers[pi].link;
        let dropped = f.drop > 0.0 && link.chance(f.drop);
        let duplicated = !dropped && f.duplicate > 0.0 && link.chance(f.duplicate);
        let confirm_lost =
            confirms && !dropped && f.confirm_drop > 0.0 && link.chance(f.confirm_drop);
        let jitter_us = f.jitter.us();
        let delay = |link: &mut crate::engine::prng::Stream| {
            latency_us
                + if jitter_us > 0 {
                    link.below(jitter_us + 1)
                } else {
                    0
                }
        };
        let node = self.producers[pi].node;
        if dropped {
            if confirms {
                self.fx_expect_resend(slot, false);
            }
            self.drop_message(slot, Reason::NetworkLost, node);
            return;
        }
        let d1 = delay(&mut self.producers[pi].link);
        let second = duplicated.then(|| {
            let d2 = delay(&mut self.producers[pi].link);
            (self.copy_message(slot), d2)
        });
        if confirm_lost {
            self.fx_expect_resend(slot, false);
        }
        if let Some((copy, _)) = second {
            let copy_id = self.msgs[copy as usize].id;
            self.msgs[copy as usize].set(flag::FROM_PRODUCER, true);
            self.totals.copies += 1;
            let id = self.msgs[slot as usize].id;
            self.trace.record(
                self.now,
                TraceKind::NetworkDuplicated { copy: copy_id },
                Some(id),
                node,
            );
        }
        self.send_now_or_later(slot, target, d1);
        if let Some((copy, d2)) = second {
            self.send_now_or_later(copy, target, d2);
        }
    }

    /// Route `slot` now, or schedule its arrival after `delay_us`.
    fn send_now_or_later(&mut self, slot: u32, target: Target, delay_us: u64) {
        if delay_us > 0 {
            let gen = self.msgs[slot as usize].gen;
            self.agenda.schedule(
                self.now.after(delay_us),
                Event::Arrive { slot, gen, target },
            );
        } else {
            self.broker_accept(slot, target);
        }
    }

    /// The broker never took `slot` (it was down): a producer with confirms
    /// hears nothing and will send again.
    pub(crate) fn fx_publish_unconfirmed(&mut self, slot: u32) {
        if self.msgs[slot as usize].has(flag::FROM_PRODUCER) {
            self.fx_expect_resend(slot, false);
        }
    }

    /// A queue refused `slot` (`reject-publish`): if it came straight from a
    /// producer with confirms, that producer hears a negative confirm.
    pub(crate) fn fx_publish_refused(&mut self, slot: u32) {
        if self.msgs[slot as usize].has(flag::FROM_PRODUCER) {
            self.fx_expect_resend(slot, true);
        }
    }

    /// The producer of `slot`'s business message will hear nothing (or a
    /// nack): arm its confirm timer, once per business message.
    fn fx_expect_resend(&mut self, slot: u32, nacked: bool) {
        let e = self.fx_entry_of(slot);
        if e == NO_FX {
            return;
        }
        let en = &mut self.effects.entries[e as usize];
        let p = en.producer;
        let Some(c) = self
            .cfg
            .producers
            .get(p as usize)
            .and_then(|cfg| cfg.confirms)
        else {
            return;
        };
        if en.resend_pending {
            return;
        }
        en.resend_pending = true;
        en.refs += 1; // the pending resend keeps the business message alive
        let original = en.bid;
        let node = self.producers[p as usize].node;
        let id = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::ConfirmMissing { original, nacked },
            Some(id),
            node,
        );
        self.agenda
            .schedule(self.now.after(c.timeout.us()), Event::ConfirmDue { p, e });
    }

    /// A confirm timer ran out: send business message `e` again, or give up.
    pub(crate) fn on_confirm_due(&mut self, p: u32, e: u32) {
        let pi = p as usize;
        let node = self.producers[pi].node;
        let retries = self.cfg.producers[pi].confirms.map_or(0, |c| c.retries);
        let incarnation = self.producers[pi].incarnation;
        let en = &mut self.effects.entries[e as usize];
        en.resend_pending = false;
        let original = en.bid;
        // A producer that crashed since it sent this has forgotten it.
        if en.sends > retries || en.incarnation != incarnation {
            let sends = en.sends;
            self.trace
                .record(self.now, TraceKind::GaveUp { original, sends }, None, node);
            self.fx_unref(e);
            return;
        }
        en.sends += 1;
        let attempt = en.sends;
        let (rk, key, headers, origin) = (en.routing_key, en.key, en.headers, en.origin);
        let ttl = self.cfg.producers[pi].ttl.map(|d| d.us());
        let target = self.producers[pi].target;
        let slot = self.new_message(rk, key, headers, origin, ttl);
        self.published(slot, node, target, Some(original));
        self.fx_attach(slot, e);
        self.fx_unref(e); // the pending resend's reference moves to the message
        self.effects.report.resent += 1;
        let id = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::Resent { original, attempt },
            Some(id),
            node,
        );
        self.transmit(p, slot, target);
    }

    /// `CrashProducer`: the producer stops, and forgets what it was waiting
    /// to hear about — a publish whose confirm never came is not sent again,
    /// a Kafka batch not yet sent or not yet answered is gone. Restarted
    /// after `restart_after_us`, if given.
    pub(crate) fn crash_producer(&mut self, p: u32, restart_after_us: Option<u64>) {
        let pi = p as usize;
        if self.producers[pi].crashed {
            return;
        }
        let ps = &mut self.producers[pi];
        ps.crashed = true;
        ps.paused = true;
        ps.epoch = ps.epoch.wrapping_add(1);
        ps.incarnation = ps.incarnation.wrapping_add(1);
        let incarnation = ps.incarnation;
        let lost = self.forget_topic_batches(p);
        let node = self.producers[pi].node;
        self.trace.record(
            self.now,
            TraceKind::Crashed {
                instance: 0,
                returned: 0,
                lost,
            },
            None,
            node,
        );
        if let Some(d) = restart_after_us {
            self.agenda
                .schedule(self.now.after(d), Event::ProducerRestart { p, incarnation });
        }
    }

    /// A crashed producer's restart delay ran out (ignored if it was
    /// restarted and crashed again meanwhile).
    pub(crate) fn on_producer_restart(&mut self, p: u32, incarnation: u32) {
        if self.producers[p as usize].incarnation == incarnation {
            self.restart_producer(p);
        }
    }

    /// `RestartProducer`: back, publishing from now.
    pub(crate) fn restart_producer(&mut self, p: u32) {
        let ps = &mut self.producers[p as usize];
        if !ps.crashed {
            return;
        }
        ps.crashed = false;
        let node = ps.node;
        self.trace
            .record(self.now, TraceKind::Restarted { instance: 0 }, None, node);
        self.resume_producer(p);
    }
}
