//! Consumer crashes and restarts (split from `consumer.rs`): an instance
//! going down takes back what it held (acks on the way, its buffer,
//! deliveries on the wire) and returns it to its queue, unacked ones at the
//! head in queue order and auto-acked ones lost; instances that go down
//! together (`CrashConsumer` without an instance, a broker crash) return
//! theirs merged, so the queue keeps its order. Reacts to `Event::Restart`
//! and the commands `CrashConsumer`, `RestartConsumer`. Guarantees: nothing
//! is dispatched until every instance that goes down together is down; a
//! stale restart (the instance crashed again or was removed) is ignored.

use crate::engine::core::{Engine, Event};
use crate::engine::trace::{Reason, TraceKind};

impl Engine {
    /// Crash one instance: its unacked deliveries go back to the queue (at
    /// the head, in order), its auto-acked ones are lost. Does not dispatch:
    /// when several instances go down together, the returned messages must
    /// not be handed to an instance that is about to crash too (that would
    /// count a spurious redelivery, and a return toward the delivery limit).
    /// Callers dispatch the queue once everything has gone down.
    pub(crate) fn crash_instance(&mut self, c: u32, i: u32) {
        self.crash_instances(&[(c, i)]);
    }

    /// Crash instances together (`crash_consumer` without an instance, a
    /// broker crash): what they held goes back to each queue merged in
    /// queue order (by arrival, each instance's own order kept), not
    /// instance after instance. RabbitMQ puts requeued messages back in
    /// their original positions (classic queues; a quorum queue returns
    /// them in the order they come back, which for one crash is the order
    /// they were delivered in), so two instances' deliveries 1 and 2 come
    /// back as 1, 2, not 2, 1. Does not dispatch (see `crash_instance`).
    pub(crate) fn crash_instances(&mut self, which: &[(u32, u32)]) {
        let mut taken: Vec<(u32, Vec<u32>)> = Vec::new();
        for &(c, i) in which {
            if self.is_sqs_consumer(c) {
                self.sqs_crash_instance(c, i);
            } else {
                let held = self.crash_taking(c, i);
                if !held.is_empty() {
                    taken.push((c, held));
                }
            }
        }
        // Per queue, in the order the queues first appear.
        let mut queues: Vec<u32> = Vec::new();
        for (c, _) in &taken {
            let q = self.consumers[*c as usize].queue;
            if !queues.contains(&q) {
                queues.push(q);
            }
        }
        for q in queues {
            let mut lists: Vec<(u32, &[u32])> = taken
                .iter()
                .filter(|(c, _)| self.consumers[*c as usize].queue == q)
                .map(|(c, held)| (*c, held.as_slice()))
                .collect();
            for (_, held) in &lists {
                self.queue_note_released(q, held.len() as u32);
            }
            // A k-way merge by arrival (k instances: a scan per pick).
            let mut merged: Vec<(u32, u32)> = Vec::new();
            loop {
                let next = lists
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, l))| !l.is_empty())
                    .min_by_key(|(_, (_, l))| self.arrival_key(l[0]))
                    .map(|(k, _)| k);
                let Some(k) = next else { break };
                let (c, l) = &mut lists[k];
                merged.push((*c, l[0]));
                *l = &l[1..];
            }
            self.return_together(q, &merged);
        }
    }

    /// Deliveries taken from consumers go back to queue `q` together, in the
    /// order given (delivered, or queue order), as RabbitMQ returns what a
    /// closed channel held in one go: those past the delivery limit are
    /// dead-lettered first, in that order (`rabbit_fifo:return_all` walks
    /// the checked-out messages by ascending id); auto-acked ones are lost;
    /// the rest go back to their original positions, and only then is a
    /// drop-head queue trimmed (`requeue_and_run` requeues them all, then
    /// `maybe_drop_head`), so the oldest are the ones dead-lettered.
    fn return_together(&mut self, q: u32, list: &[(u32, u32)]) {
        let mut back: Vec<(u32, u32)> = Vec::with_capacity(list.len());
        for &(c, s) in list {
            if self.msgs[s as usize].auto_acked() || !self.return_past_limit(s, q) {
                back.push((c, s));
            }
        }
        // In reverse, each usually lands at the head of what is ready (a
        // short scan in `insert_returned`).
        for &(c, s) in back.iter().rev() {
            if self.msgs[s as usize].auto_acked() {
                let cnode = self.consumers[c as usize].node;
                self.drop_message(s, Reason::LostAfterAutoAck, cnode);
            } else {
                self.put_back(s, q);
            }
        }
        // A broker crash trims once it has dropped what does not survive
        // (`crash_broker`).
        if !self.broker_down {
            self.enforce_max_length(q);
        }
    }

    /// Instance `i` of consumer `c` goes down: what it held is taken (the
    /// caller returns it) and the crash is traced.
    fn crash_taking(&mut self, c: u32, i: u32) -> Vec<u32> {
        let ci = c as usize;
        if !self.consumers[ci].instances[i as usize].up {
            return Vec::new();
        }
        self.drop_orphan(c, i);
        let held = self.take_held(c, i);
        self.consumers[ci].instances[i as usize].up = false;
        let lost = held
            .iter()
            .filter(|&&s| self.msgs[s as usize].auto_acked())
            .count() as u32;
        let returned = held.len() as u32 - lost;
        self.totals.crashes += 1;
        let cnode = self.consumers[ci].node;
        self.trace.record(
            self.now,
            TraceKind::Crashed {
                instance: i,
                returned,
                lost,
            },
            None,
            cnode,
        );
        held
    }

    /// Instance `i` drops its connection or channel: a new epoch (its pending
    /// completion, held-back deliveries and delayed acks go stale), and
    /// everything it held, oldest first: acks on the way, the buffer, then
    /// deliveries still on the wire. The caller returns them (`return_held`).
    pub(crate) fn take_held(&mut self, c: u32, i: u32) -> Vec<u32> {
        let ci = c as usize;
        let epoch_next = self.consumers[ci].epoch_next;
        self.consumers[ci].epoch_next = epoch_next.wrapping_add(1);
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.epoch = epoch_next;
        if inst.busy {
            inst.busy_total_us += self.now.0 - inst.busy_since_us;
        }
        inst.busy = false;
        // Its pending completion is now stale (the epoch changed).
        inst.service_pending = 0;
        // A new channel: the old one's ack-timeout log and tick are gone.
        inst.delivered_log.clear();
        inst.tick_epoch = None;
        let mut held: Vec<u32> = inst.acking.drain(..).collect();
        held.extend(inst.buffer.drain(..));
        held.extend(inst.in_transit.drain(..));
        held
    }

    /// Deliveries taken from instance(s) of consumer `c` go back to queue
    /// `q` together (`return_together`); auto-acked ones are lost.
    pub(crate) fn return_held(&mut self, c: u32, q: u32, held: &[u32]) {
        self.queue_note_released(q, held.len() as u32);
        let list: Vec<(u32, u32)> = held.iter().map(|&s| (c, s)).collect();
        self.return_together(q, &list);
    }

    pub(crate) fn restart_instance(&mut self, c: u32, i: u32) {
        let ci = c as usize;
        let inst = &mut self.consumers[ci].instances[i as usize];
        if inst.up {
            return;
        }
        inst.up = true;
        let cnode = self.consumers[ci].node;
        self.trace
            .record(self.now, TraceKind::Restarted { instance: i }, None, cnode);
        let q = self.consumers[ci].queue;
        self.sac_reregister(q, c, i);
        self.dispatch(q);
    }

    /// A crashed instance's restart delay ran out; ignored if the instance
    /// was restarted, crashed again or removed meanwhile (epoch changed).
    pub(crate) fn on_restart(&mut self, c: u32, i: u32, epoch: u32) {
        let inst = &self.consumers[c as usize].instances.get(i as usize);
        if inst.is_some_and(|inst| !inst.up && inst.epoch == epoch) {
            self.restart_instance(c, i);
        }
    }

    /// `CrashConsumer`: crash one instance or all, optionally restarting each
    /// after `restart_after_us`; the queue is dispatched once all are down.
    pub(crate) fn crash_consumer(
        &mut self,
        c: u32,
        instance: Option<u32>,
        restart_after_us: Option<u64>,
    ) {
        let n = self.consumers[c as usize].instances.len() as u32;
        let which: Vec<u32> = match instance {
            Some(i) => vec![i],
            None => (0..n).collect(),
        };
        let pairs: Vec<(u32, u32)> = which.iter().map(|&i| (c, i)).collect();
        self.crash_instances(&pairs);
        for i in which {
            if let Some(d) = restart_after_us {
                let epoch = self.consumers[c as usize].instances[i as usize].epoch;
                self.agenda
                    .schedule(self.now.after(d), Event::Restart { c, i, epoch });
            }
        }
        let q = self.consumers[c as usize].queue;
        self.dispatch(q);
    }

    /// `RestartConsumer`: bring one instance or all back up.
    pub(crate) fn restart_consumer(&mut self, c: u32, instance: Option<u32>) {
        let n = self.consumers[c as usize].instances.len() as u32;
        let which: Vec<u32> = match instance {
            Some(i) => vec![i],
            None => (0..n).collect(),
        };
        for i in which {
            self.restart_instance(c, i);
        }
    }
}
