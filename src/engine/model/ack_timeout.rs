//! RabbitMQ's delivery acknowledgement timeout: a queue's `consumer_timeout`
//! (the `x-consumer-timeout` queue argument or the `consumer-timeout` policy).
//!
//!   deliver (manual ack) ──► log (slot, generation, attempt, delivered_us)
//!        └─ no tick pending ──► AckTimeoutTick one channel tick later
//!   tick ──► oldest delivery still unacked on the channel?
//!        none                         ──► the tick stops (the next delivery starts it)
//!        delivered_us < now − timeout ──► AckTimedOut: the channel closes, all it holds
//!                                         is requeued (redelivered), a new channel opens
//!        else                         ──► the next tick
//!
//! Each consumer instance is one AMQP channel. As `rabbit_channel` does
//! (RabbitMQ 3.8.15–4.2), the check runs on the channel's tick, every
//! `channel_tick_interval` (60 s by default; the scenario's
//! `channel_tick_interval` sets it, as rabbitmq.conf does), and looks only at the oldest
//! delivery unacked on the channel: it times out when it was delivered
//! strictly more than the timeout before the tick. So a 90 s timeout on a
//! delivery made at 0 s fires at the 120 s tick, and a 60 s one at 120 s too
//! (at 60 s it is exactly 60 s old, not more). The channel is closed with
//! PRECONDITION_FAILED, every delivery unacked on it (being processed,
//! prefetched, on the wire, or with its ack on the way) goes back to the queue
//! flagged redelivered and counts as a return toward `delivery_limit`, and the
//! client opens a new channel at once. A channel's timer is cancelled when it
//! hibernates with nothing unacked; here the tick stops when it finds nothing
//! unacked and the next delivery starts it again.
//!
//! The handler does not know: it runs on with the delivery it was processing
//! (an `Orphan`, holding a reference to its business message in the ledger),
//! finishes when its service would have ended, does its side effect unless it
//! fails or an idempotent consumer's store has seen the message, and its ack
//! has no channel to go to (`finished_after_close`). The redelivered copy is
//! processed again — the duplicate a too-short timeout causes. The instance
//! is one handler thread: what its new channel delivers meanwhile waits in
//! its buffer (and can time out in turn). A crash kills the orphan with the
//! instance, its effect never done. Its `on_success` publishes are not made.
//!
//! Only queues with `consumer_timeout` log deliveries or tick, so every other
//! scenario's events and trace are unchanged (RabbitMQ's 30-minute default is
//! not applied). Bounded: the log holds one entry per delivery not yet seen
//! settled; a tick pops the settled ones at its head, and a delivery compacts
//! the log to what is still held once it is longer than `LOG_SLACK` plus four
//! times what the instance holds. Deterministic: ticks are agenda events.

use super::consumer::Instance;
use crate::engine::core::{Engine, Event};
use crate::engine::message::{flag, MsgState, Sym};
use crate::engine::time::SimTime;
use crate::engine::trace::TraceKind;

/// RabbitMQ's `channel_tick_interval` default (`rabbit.app`): 60 s; a
/// scenario's `channel_tick_interval` replaces it.
pub const CHANNEL_TICK_US: u64 = 60_000_000;

/// Log entries allowed beyond four per held delivery before it is compacted.
const LOG_SLACK: usize = 64;

/// One delivery on a channel, as the ack timeout remembers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) slot: u32,
    pub(crate) gen: u32,
    /// The message's delivery count at this delivery: a later redelivery of
    /// the same message (to this instance or another) is a different entry.
    pub(crate) attempt: u32,
    pub(crate) at_us: u64,
}

/// A handler still running after its channel was closed under it: it
/// finishes its delivery (`Event::OrphanDone`, when its service would have
/// ended), does the side effect unless it fails, and its ack goes nowhere.
/// The instance (one handler thread) starts nothing else until then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Orphan {
    /// Its number on the instance (the event names it: a crash drops it).
    pub(crate) seq: u32,
    /// The delivered message's id, its business message's ledger entry
    /// (`NO_FX`: outside the ledger; one reference held, `fx_hold`) and id,
    /// and its key (effects per key keep publish order).
    pub(crate) msg: u64,
    pub(crate) entry: u32,
    pub(crate) bid: u64,
    pub(crate) key: Sym,
    /// A poison message fails whatever the draw.
    pub(crate) poison: bool,
    /// When its channel closed (its busy time is counted from there).
    pub(crate) since_us: u64,
}

impl Engine {
    /// How often a channel checks its oldest unacked delivery.
    #[inline]
    fn channel_tick_us(&self) -> u64 {
        self.cfg
            .channel_tick_interval
            .map_or(CHANNEL_TICK_US, |d| d.us())
    }

    /// Queue `q`'s consumer timeout in µs (0: none).
    #[inline]
    pub(crate) fn consumer_timeout_us(&self, q: u32) -> u64 {
        self.queues[q as usize].consumer_timeout_us
    }

    /// Is `d` still unacked on the channel that logged it? A message settles
    /// (acked, requeued, dead-lettered, retried) by leaving `Unacked` or
    /// being delivered again; a freed slot changes its generation.
    fn still_unacked(&self, d: &Delivered) -> bool {
        let m = &self.msgs[d.slot as usize];
        m.gen == d.gen && m.state == MsgState::Unacked && self.deliveries(d.slot) == d.attempt
    }

    /// Instance `i` of consumer `c` was just handed `slot` (manual ack) from
    /// a queue with a consumer timeout: log it and make sure a tick is coming.
    pub(crate) fn ack_timeout_delivered(&mut self, c: u32, i: u32, slot: u32, attempt: u32) {
        let gen = self.msgs[slot as usize].gen;
        let now_us = self.now.0;
        let inst = &self.consumers[c as usize].instances[i as usize];
        if inst.delivered_log.len() > LOG_SLACK + 4 * inst.held() {
            let log =
                std::mem::take(&mut self.consumers[c as usize].instances[i as usize].delivered_log);
            let kept = log.into_iter().filter(|d| self.still_unacked(d)).collect();
            self.consumers[c as usize].instances[i as usize].delivered_log = kept;
        }
        let inst = &mut self.consumers[c as usize].instances[i as usize];
        inst.delivered_log.push_back(Delivered {
            slot,
            gen,
            attempt,
            at_us: now_us,
        });
        if inst.tick_epoch != Some(inst.epoch) {
            let epoch = inst.epoch;
            inst.tick_epoch = Some(epoch);
            self.agenda.schedule(
                self.now.after(self.channel_tick_us()),
                Event::AckTimeoutTick { c, i, epoch },
            );
        }
    }

    /// The channel's tick (`Event::AckTimeoutTick`); stale after a crash,
    /// a channel close or the instance's removal (its epoch changed).
    pub(crate) fn on_ack_timeout_tick(&mut self, c: u32, i: u32, epoch: u32) {
        let ci = c as usize;
        let Some(inst) = self.consumers[ci].instances.get_mut(i as usize) else {
            return;
        };
        if inst.tick_epoch != Some(epoch) || inst.epoch != epoch {
            return;
        }
        inst.tick_epoch = None;
        // The oldest delivery still unacked on this channel.
        let oldest = loop {
            let Some(&d) = self.consumers[ci].instances[i as usize]
                .delivered_log
                .front()
            else {
                break None;
            };
            if self.still_unacked(&d) {
                break Some(d);
            }
            self.consumers[ci].instances[i as usize]
                .delivered_log
                .pop_front();
        };
        let Some(oldest) = oldest else {
            return; // nothing unacked: the timer stops until the next delivery
        };
        let q = self.consumers[ci].queue;
        let timeout_us = self.consumer_timeout_us(q);
        if oldest.at_us.saturating_add(timeout_us) < self.now.0 {
            self.ack_timed_out(c, i, q, oldest.slot, timeout_us);
            self.dispatch(q);
        } else {
            self.consumers[ci].instances[i as usize].tick_epoch = Some(epoch);
            self.agenda.schedule(
                self.now.after(self.channel_tick_us()),
                Event::AckTimeoutTick { c, i, epoch },
            );
        }
    }

    /// PRECONDITION_FAILED: "delivery acknowledgement on channel timed out".
    /// The channel closes, what it holds goes back to queue `q` (oldest
    /// first), and the client opens a new one at once, consuming anew (on a
    /// single-active-consumer queue, behind the others). Does not dispatch.
    fn ack_timed_out(&mut self, c: u32, i: u32, q: u32, oldest: u32, timeout_us: u64) {
        let id = self.msgs[oldest as usize].id;
        let running = self.orphan_of(c, i);
        let held = self.take_held(c, i);
        if let Some((orphan, end_us)) = running {
            let seq = orphan.seq;
            self.consumers[c as usize].instances[i as usize].orphan = Some(orphan);
            self.agenda
                .schedule(SimTime(end_us), Event::OrphanDone { c, i, seq });
        }
        self.totals.ack_timeouts += 1;
        self.queues[q as usize].ack_timeouts += 1;
        let node = self.consumers[c as usize].node;
        self.trace.record(
            self.now,
            TraceKind::AckTimedOut {
                instance: i,
                requeued: held.len() as u32,
                timeout_us,
            },
            Some(id),
            node,
        );
        self.return_held(c, q, &held);
        // The closed channel's consumer is gone from the queue and the
        // client's new `basic.consume` registers behind the others: on a
        // single-active-consumer queue the next one takes over
        // (`rabbit_amqqueue_process:new_single_active_consumer_after_channel_down`).
        self.sac_reregister(q, c, i);
    }

    /// Invariants of instance `ii` of consumer `ci`: its tick belongs to its
    /// current channel; its log is bounded; on a queue with a consumer
    /// timeout every delivery it holds unacked is in its log and a tick is
    /// coming, so no delivery can outstay the timeout unchecked.
    pub(crate) fn check_ack_timeout(
        &self,
        ci: usize,
        ii: usize,
        inst: &Instance,
    ) -> Result<(), String> {
        if inst.tick_epoch.is_some_and(|e| e != inst.epoch) {
            return Err(format!(
                "instance {ci}#{ii}: ack-timeout tick of an old channel"
            ));
        }
        let ceiling = self.consumers[ci].prefetch_ceiling as usize;
        if inst.delivered_log.len() > LOG_SLACK + 4 * ceiling + 1 {
            return Err(format!(
                "instance {ci}#{ii}: ack-timeout log of {} entries",
                inst.delivered_log.len()
            ));
        }
        let q = self.consumers[ci].queue;
        if self.consumer_timeout_us(q) == 0 || !inst.up {
            return Ok(());
        }
        let held = inst
            .acking
            .iter()
            .chain(&inst.buffer)
            .chain(&inst.in_transit);
        for &slot in held {
            if self.msgs[slot as usize].auto_acked() {
                continue;
            }
            let gen = self.msgs[slot as usize].gen;
            let attempt = self.deliveries(slot);
            let logged = inst
                .delivered_log
                .iter()
                .any(|d| d.slot == slot && d.gen == gen && d.attempt == attempt);
            if !logged {
                return Err(format!(
                    "instance {ci}#{ii} holds message {} unacked outside its ack-timeout log",
                    self.msgs[slot as usize].id
                ));
            }
            if inst.tick_epoch != Some(inst.epoch) {
                return Err(format!(
                    "instance {ci}#{ii} holds message {} unacked with no ack-timeout tick coming",
                    self.msgs[slot as usize].id
                ));
            }
        }
        Ok(())
    }

    /// The handler of instance `i` while its channel is closed under it: an
    /// orphan holding its business message, and when its service ends.
    fn orphan_of(&mut self, c: u32, i: u32) -> Option<(Orphan, u64)> {
        let inst = &self.consumers[c as usize].instances[i as usize];
        if !inst.busy {
            return None;
        }
        let slot = *inst.buffer.front()?;
        if self.msgs[slot as usize].has(flag::LOST_ON_WIRE) {
            return None; // lost on the way in: the handler never had it
        }
        let end_us = inst.busy_since_us.saturating_add(inst.service_us);
        let seq = inst.orphan_next;
        self.consumers[c as usize].instances[i as usize].orphan_next = seq.wrapping_add(1);
        let poison = self.is_poison(c, slot);
        let entry = self.fx_hold(slot);
        let m = &self.msgs[slot as usize];
        let (msg, key) = (m.id, m.key);
        let bid = self.business_id(slot);
        let since_us = self.now.0;
        let orphan = Orphan {
            seq,
            msg,
            entry,
            bid,
            key,
            poison,
            since_us,
        };
        Some((orphan, end_us))
    }

    /// `Event::OrphanDone`: the orphaned handler of instance `i` finishes.
    /// Unless it fails (the failure rate's draw, or poison) or an idempotent
    /// consumer's store has seen its business message, it does the side
    /// effect; either way its ack has no channel to go to. Then the
    /// instance takes up what its new channel delivered meanwhile.
    pub(crate) fn on_orphan_done(&mut self, c: u32, i: u32, seq: u32) {
        let ci = c as usize;
        let Some(inst) = self.consumers[ci].instances.get_mut(i as usize) else {
            return;
        };
        let Some(o) = inst.orphan.filter(|o| o.seq == seq) else {
            return; // the instance crashed meanwhile: the handler died with it
        };
        inst.orphan = None;
        inst.busy_total_us += self.now.0 - o.since_us;
        let rate = self.cfg.consumers[ci].failure_rate;
        let fails = o.poison || (rate > 0.0 && self.consumers[ci].stream.chance(rate));
        let effect =
            !fails && !(self.consumers[ci].protocol && self.dedup_seen(c, i, o.bid, o.msg));
        let q = self.consumers[ci].queue;
        if effect {
            self.fx_effect_held(o.entry, q, o.key);
        }
        let node = self.consumers[ci].node;
        self.trace.record(
            self.now,
            TraceKind::FinishedAfterClose {
                instance: i,
                effect,
            },
            Some(o.msg),
            node,
        );
        self.fx_let_go(o.entry);
        let inst = &self.consumers[ci].instances[i as usize];
        if !inst.busy && !inst.buffer.is_empty() {
            self.start_service(c, i);
        }
    }

    /// Instance `i` goes down (a crash, its removal, the broker's crash):
    /// an orphaned handler dies with it, its effect never done.
    pub(crate) fn drop_orphan(&mut self, c: u32, i: u32) {
        let inst = &mut self.consumers[c as usize].instances[i as usize];
        if let Some(o) = inst.orphan.take() {
            inst.busy_total_us += self.now.0 - o.since_us;
            self.fx_let_go(o.entry);
        }
    }
}
