//! The broker → consumer link and the ack path: a delivery held back behind
//! the ones sent after it (reorder), an ack that travels a while (delay), and
//! an ack the network delivers twice (duplicate). Drop, duplicate and delay
//! of deliveries and a lost ack live in `protocol.rs`.
//!
//!   deliver ──reorder?──► in_transit (DeliveryHeldBack) ──reorder_delay──► DeliveryArrives ──► buffer
//!   effect ──► ack ──delay?──► acking (AckDelayed) ──exp(ack_delay)──► AckArrives ──► acked, complete
//!                   │                    └── crash first: the ack dies with the connection, the
//!                   │                        message is requeued (redelivered=true): the effect repeats
//!                   └─ twice?──► ChannelClosed: every other message unacked on the channel is requeued
//!
//! RabbitMQ documentation, "Consumer Acknowledgements and Publisher Confirms"
//! (<https://www.rabbitmq.com/docs/confirms>): a delivery stays unacknowledged,
//! and counts against the channel's prefetch, until the broker receives its
//! ack; when a channel or connection closes, every delivery unacknowledged on
//! it is requeued and redelivered with `redelivered` set; acknowledging the
//! same delivery tag twice is a channel-level protocol error
//! (`PRECONDITION_FAILED - unknown delivery tag`) that closes the channel.
//! Modelled per consumer instance (one instance, one channel): the client
//! opens a new channel at once, so the instance stays up; what it was
//! processing is requeued with the rest (its ack could only fail on the new
//! channel). Only AMQP consumers with manual acks have an ack path; SQS
//! consumers ignore these knobs.
//!
//! Every draw comes from the consumer's fault stream (`faults:<consumer>`),
//! and only when its knob is set, so scenarios without them draw as before.

use crate::engine::core::{Engine, Event, DELAY_US_MAX};
use crate::engine::time::delay_us_from_f64;
use crate::engine::trace::TraceKind;

impl Engine {
    /// A delivery of `slot` to instance `i` leaves the broker: is it held
    /// back on the wire? If so it waits in the instance's `in_transit` (it
    /// counts against prefetch) until `reorder_delay` has passed.
    pub(crate) fn held_back(&mut self, c: u32, i: u32, slot: u32) -> bool {
        let Some(f) = self.cfg.consumers[c as usize].faults else {
            return false;
        };
        if !(f.delivery_reorder > 0.0
            && self.consumers[c as usize]
                .fault_stream
                .chance(f.delivery_reorder))
        {
            return false;
        }
        let held_us = f.reorder_delay.us().max(1);
        let inst = &mut self.consumers[c as usize].instances[i as usize];
        inst.in_transit.push(slot);
        let epoch = inst.epoch;
        self.agenda.schedule(
            self.now.after(held_us),
            Event::DeliveryArrives { c, i, epoch, slot },
        );
        let (id, node) = (self.msgs[slot as usize].id, self.consumers[c as usize].node);
        self.trace.record(
            self.now,
            TraceKind::DeliveryHeldBack {
                instance: i,
                held_us,
            },
            Some(id),
            node,
        );
        true
    }

    /// A held-back delivery reaches instance `i` (unless its channel closed
    /// or it crashed meanwhile: then the delivery was requeued already).
    pub(crate) fn on_delivery_arrives(&mut self, c: u32, i: u32, epoch: u32, slot: u32) {
        let Some(inst) = self.consumers[c as usize].instances.get_mut(i as usize) else {
            return;
        };
        if inst.epoch != epoch || !inst.up {
            return;
        }
        let Some(k) = inst.in_transit.iter().position(|&s| s == slot) else {
            return;
        };
        inst.in_transit.remove(k);
        inst.buffer.push_back(slot);
        if !inst.busy {
            self.start_service(c, i);
        }
        let auto = self.msgs[slot as usize].auto_acked();
        self.after_receive(c, i, auto);
    }

    /// A manual ack of `slot` is sent: does it travel a while? If so the
    /// message stays unacked (held by instance `i`, against prefetch) until
    /// `AckArrives`; returns true then.
    pub(crate) fn ack_travels(&mut self, c: u32, i: u32, slot: u32, q: u32) -> bool {
        let delay_us = match self.cfg.consumers[c as usize].faults {
            Some(f) if f.ack_delay.us() > 0 => {
                let mean = f.ack_delay.us() as f64;
                let d = self.consumers[c as usize].fault_stream.exponential(mean);
                delay_us_from_f64(d, DELAY_US_MAX)
            }
            _ => 0,
        };
        if delay_us == 0 {
            return false;
        }
        // Held again: released when the ack arrives, requeued on a crash.
        self.queues[q as usize].unacked += 1;
        let inst = &mut self.consumers[c as usize].instances[i as usize];
        inst.acking.push(slot);
        let epoch = inst.epoch;
        self.agenda.schedule(
            self.now.after(delay_us),
            Event::AckArrives { c, i, epoch, slot },
        );
        let (id, node) = (self.msgs[slot as usize].id, self.consumers[c as usize].node);
        self.trace.record(
            self.now,
            TraceKind::AckDelayed {
                instance: i,
                delay_us,
            },
            Some(id),
            node,
        );
        true
    }

    /// A delayed ack reaches the broker — unless the instance's connection
    /// or channel went down meanwhile (the ack died with it; the message
    /// was requeued then).
    pub(crate) fn on_ack_arrives(&mut self, c: u32, i: u32, epoch: u32, slot: u32) {
        let Some(inst) = self.consumers[c as usize].instances.get_mut(i as usize) else {
            return;
        };
        if inst.epoch != epoch || !inst.up {
            return;
        }
        let Some(k) = inst.acking.iter().position(|&s| s == slot) else {
            return;
        };
        inst.acking.remove(k);
        let q = self.consumers[c as usize].queue;
        self.queue_note_released(q, 1);
        self.manual_ack(c, i, slot, q);
        self.complete(slot);
        self.after_manual_ack(c, i);
        self.ack_arrived(c, i);
        self.dispatch(q);
    }

    /// A manual ack of instance `i` reached the broker: does the network
    /// deliver it a second time? The second names a delivery tag the broker
    /// no longer knows: the channel closes (callers dispatch the queue).
    pub(crate) fn ack_arrived(&mut self, c: u32, i: u32) {
        let twice = match self.cfg.consumers[c as usize].faults {
            Some(f) if f.ack_duplicate > 0.0 => self.consumers[c as usize]
                .fault_stream
                .chance(f.ack_duplicate),
            _ => false,
        };
        if twice {
            self.close_channel(c, i);
        }
    }

    /// PRECONDITION_FAILED on instance `i`'s channel: it closes, every
    /// message unacked on it (being processed, prefetched, held back on the
    /// wire, or with its ack still on the way) is requeued; the client opens
    /// a new channel at once and consumes again (on a single-active-consumer
    /// queue, behind the others). Does not dispatch.
    pub(crate) fn close_channel(&mut self, c: u32, i: u32) {
        let held = self.take_held(c, i);
        let node = self.consumers[c as usize].node;
        self.effects.report.channel_closes += 1;
        self.trace.record(
            self.now,
            TraceKind::ChannelClosed {
                instance: i,
                requeued: held.len() as u32,
            },
            None,
            node,
        );
        let q = self.consumers[c as usize].queue;
        self.return_held(c, q, &held);
        // A closed channel's consumers leave the queue; the client's new
        // `basic.consume` registers behind the others, so on a
        // single-active-consumer queue the next one becomes active (RabbitMQ:
        // `rabbit_amqqueue_process:new_single_active_consumer_after_channel_down`
        // takes the head of the remaining consumers,
        // `rabbit_queue_consumers:get_consumer`; a quorum queue cancels the
        // consumer and activates the next).
        self.sac_reregister(q, c, i);
    }
}
