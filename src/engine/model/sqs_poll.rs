//! SQS consumers: instances that poll (`ReceiveMessage`), process what they
//! got one message at a time, and delete each (`DeleteMessage`).
//!
//!   idle ──sqs_poll──► ReceiveMessage ──got n──► buffer ──service──► effect ──► DeleteMessage ──┐
//!    ▲                     │ none                                                                │
//!    │   short poll: pause `poll_gap`, poll again (an empty receive)                            │
//!    │   long poll: wait ≤ `wait_time` for the first visible message (or an empty receive)      │
//!    └───────────────────────────────────── buffer empty: poll again ◄───────────────────────────┘
//!
//! A receive (`sqs_take`) takes visible messages in send order, FIFO groups
//! in flight skipped, one group first, the first 120,000 messages only.
//!
//! Reacts to: `SqsEvent::Poll`; the consumer model hands over `ServiceDone`
//! and crashes of SQS consumers here; commands `SetWaitTime`, `SetMaxMessages`.
//! Shared with the AMQP consumer (`consumer.rs`): instances, epochs, the
//! buffer (here: the messages of the last receive, at most `max_messages`),
//! service times, failures and poison, handler publishes, the dedup store.
//! Different: a failed message is simply not deleted (it reappears after the
//! visibility timeout); a crash returns nothing at once (the same); there is
//! no prefetch. The ack mode is when the consumer deletes: after processing
//! (`after_processing`, at-least-once: a crash or failure makes the message
//! reappear) or right after receiving it (`auto`, at-most-once: a crash or a
//! failure loses it, reason `lost_after_auto_ack`), as the mode was at the
//! receive (`Receipt::deleted_on_receive`; a later `set_ack_mode` changes
//! later receives only) — the guarantee dial's
//! two SQS positions; the dial's exactly-once adds the dedup store. Short polling here sees every visible message
//! (real short polling samples a subset of servers and may miss some).

use super::sqs::{SqsEvent, SqsStatus, NO_SQS};
use crate::engine::core::Engine;
use crate::engine::core::Event;
use crate::engine::message::Sym;
use crate::engine::time::SimTime;
use crate::engine::trace::TraceKind;
use crate::scenario::SqsReceive;
use std::ops::Bound::{Excluded, Unbounded};

/// Messages a FIFO receive looks at, in flight included (see `sqs_take`),
/// and so a FIFO queue's most messages in flight.
pub(crate) const FIFO_SCAN_MAX: u64 = 120_000;

impl Engine {
    /// The polling settings of consumer `c`.
    fn sqs_receive(&self, c: u32) -> SqsReceive {
        self.cfg.consumers[c as usize]
            .sqs
            .clone()
            .unwrap_or_default()
    }

    /// Hand a received message to instance `i` of consumer `c` with its
    /// receipt handle, at its `attempt`th receive: a delivery, as the AMQP
    /// consumer counts one.
    pub(crate) fn sqs_hand(&mut self, slot: u32, c: u32, i: u32, attempt: u32, receipt: u32) {
        let ci = c as usize;
        let q = self.consumers[ci].queue;
        let deliveries = self.count_delivery(slot);
        let m = &mut self.msgs[slot as usize];
        let id = m.id;
        let first = attempt == 1 && deliveries == 1;
        let waited = self.now.0 - m.published_us;
        if first {
            self.wait.record(waited);
        }
        self.totals.delivered += 1;
        if attempt > 1 {
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
                redelivered: attempt > 1,
            },
            Some(id),
            qnode,
        );
        let deleted_on_receive = self.sqs_deletes_on_receive(c);
        self.sqs.polls[ci][i as usize]
            .receipts
            .push_back(super::sqs::Receipt {
                handle: receipt,
                deleted_on_receive,
            });
        if deleted_on_receive {
            self.sqs_delete(c, i, slot, receipt);
        }
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.buffer.push_back(slot);
        if !inst.busy {
            self.start_service(c, i);
        }
    }

    /// Does consumer `c` delete a message as soon as it receives it (ack mode
    /// `auto`: at-most-once)?
    fn sqs_deletes_on_receive(&self, c: u32) -> bool {
        self.cfg.consumers[c as usize].ack_mode() == crate::scenario::AckMode::Auto
    }

    /// A message a consumer failed or crashed on: if it had deleted it on
    /// receipt (`deleted_on_receive`, decided at that receive), nobody will
    /// see it again — lost once its holders let go.
    fn sqs_lost_if_deleted(&mut self, slot: u32, deleted_on_receive: bool) {
        if !deleted_on_receive {
            return;
        }
        let retry_pending = self.sqs.delete_retries.contains_key(&slot);
        if let Some(r) = self.sqs.msgs.get_mut(&slot) {
            if r.status == super::sqs::SqsStatus::Deleted && r.gone.is_none() {
                r.gone = Some(crate::engine::trace::Reason::LostAfterAutoAck);
            } else if retry_pending {
                r.lost_on_delete = true;
            }
        }
    }

    /// Keep consumer `c`'s pollers as many as its instances.
    fn sqs_fit_pollers(&mut self, c: u32) {
        let n = self.consumers[c as usize].instances.len();
        self.sqs.polls[c as usize].resize_with(n, Default::default);
    }

    /// `queue::dispatch` for an SQS queue: every idle instance polls.
    pub(crate) fn sqs_wake(&mut self, q: u32) {
        for c in 0..self.consumers.len() as u32 {
            if self.consumers[c as usize].queue != q || !self.is_sqs_consumer(c) {
                continue;
            }
            self.sqs_fit_pollers(c);
            for i in 0..self.consumers[c as usize].instances.len() as u32 {
                self.sqs_poll(c, i);
            }
        }
    }

    /// Instance `i` of consumer `c` sends a `ReceiveMessage` if it is idle.
    pub(crate) fn sqs_poll(&mut self, c: u32, i: u32) {
        let ci = c as usize;
        let Some(inst) = self.consumers[ci].instances.get(i as usize) else {
            return;
        };
        if !inst.up || inst.busy || !inst.buffer.is_empty() {
            return;
        }
        let epoch = inst.epoch;
        self.sqs_fit_pollers(c);
        let p = &self.sqs.polls[ci][i as usize];
        if p.waiting || p.sleeping {
            return;
        }
        let q = self.consumers[ci].queue;
        let sq = self.sqs.of_queue[q as usize];
        debug_assert!(sq != NO_SQS);
        self.sqs.queues[sq as usize].counts.receive_requests += 1;
        if self.sqs_throttle(sq, super::sqs::SqsCall::Receive) {
            let at = self.sqs_next_window();
            self.sqs_sleep_until(c, i, epoch, at.0);
            return;
        }
        let r = self.sqs_receive(c);
        if self.sqs_take(sq, c, i, r.max_messages) > 0 {
            return;
        }
        if r.wait_time.us() > 0 {
            let p = &mut self.sqs.polls[ci][i as usize];
            p.waiting = true;
            p.poll = p.poll.wrapping_add(1);
            p.wait_since_us = self.now.0;
            let poll = p.poll;
            self.sqs.queues[sq as usize].waiters.push_back((c, i));
            self.agenda.schedule(
                self.now.after(r.wait_time.us()),
                Event::Sqs(SqsEvent::Poll { c, i, epoch, poll }),
            );
        } else {
            self.sqs_empty_receive(c, i, 0);
            let at = self.now.0 + r.poll_gap.us();
            self.sqs_sleep_until(c, i, epoch, at);
        }
    }

    fn sqs_sleep_until(&mut self, c: u32, i: u32, epoch: u32, at_us: u64) {
        let p = &mut self.sqs.polls[c as usize][i as usize];
        p.sleeping = true;
        p.poll = p.poll.wrapping_add(1);
        let poll = p.poll;
        self.agenda.schedule(
            crate::engine::time::SimTime(at_us),
            Event::Sqs(SqsEvent::Poll { c, i, epoch, poll }),
        );
    }

    fn sqs_empty_receive(&mut self, c: u32, i: u32, waited_us: u64) {
        let q = self.consumers[c as usize].queue;
        let sq = self.sqs.of_queue[q as usize];
        self.sqs.queues[sq as usize].counts.empty_receives += 1;
        let cnode = self.consumers[c as usize].node;
        let qnode = self.queues[q as usize].node;
        self.trace.record(
            self.now,
            TraceKind::SqsEmptyReceive {
                consumer: cnode,
                instance: i,
                waited_us,
            },
            None,
            qnode,
        );
    }

    /// A long poll's wait ended empty, or a pause ended: poll again.
    /// (At time 0 every instance's first poll comes through here too.)
    pub(crate) fn on_sqs_poll(&mut self, c: u32, i: u32, epoch: u32, poll: u32) {
        let ci = c as usize;
        let Some(inst) = self.consumers[ci].instances.get(i as usize) else {
            return;
        };
        if inst.epoch != epoch {
            return;
        }
        self.sqs_fit_pollers(c);
        let p = &mut self.sqs.polls[ci][i as usize];
        if p.poll != poll {
            return;
        }
        if p.waiting {
            p.waiting = false;
            let waited = self.now.0 - p.wait_since_us;
            let q = self.consumers[ci].queue;
            let sq = self.sqs.of_queue[q as usize];
            self.sqs.queues[sq as usize]
                .waiters
                .retain(|&w| w != (c, i));
            self.sqs_empty_receive(c, i, waited);
        }
        self.sqs.polls[ci][i as usize].sleeping = false;
        self.sqs_poll(c, i);
    }

    /// Visible messages arrived in `sq`: waiting long polls return with
    /// them, oldest poll first (each takes up to its `max_messages`).
    pub(crate) fn sqs_serve_waiters(&mut self, sq: u32) {
        if self.sqs.queues[sq as usize].serving {
            return;
        }
        self.sqs.queues[sq as usize].serving = true;
        while let Some(&(c, i)) = self.sqs.queues[sq as usize].waiters.front() {
            if self.sqs.queues[sq as usize].visible.is_empty() {
                break;
            }
            let max = self.sqs_receive(c).max_messages;
            if self.sqs_take(sq, c, i, max) == 0 {
                break;
            }
            self.sqs.queues[sq as usize].waiters.pop_front();
            let p = &mut self.sqs.polls[c as usize][i as usize];
            p.waiting = false;
            p.poll = p.poll.wrapping_add(1);
        }
        self.sqs.queues[sq as usize].serving = false;
    }

    /// `ServiceDone` of an SQS consumer: the effect and a delete (or, on
    /// failure, nothing: the message reappears), then the next message or poll.
    pub(crate) fn sqs_service_done(&mut self, c: u32, i: u32, epoch: u32) {
        let ci = c as usize;
        let Some(inst) = self.consumers[ci].instances.get_mut(i as usize) else {
            return;
        };
        if inst.epoch != epoch || !inst.busy {
            return;
        }
        let slot = inst
            .buffer
            .pop_front()
            .expect("busy instance holds a message");
        inst.busy = false;
        inst.service_pending -= 1;
        inst.busy_total_us += self.now.0 - inst.busy_since_us;
        let service_us = inst.service_us;
        let receipt = self.sqs.polls[ci][i as usize]
            .receipts
            .pop_front()
            .expect("a receipt per held message");
        let q = self.consumers[ci].queue;
        self.queue_note_released(q, 1);
        // A finished handler run, failed or not (`service_mean_us`).
        self.note_handled(c, service_us);
        if !self.handler_fails(c, slot) {
            self.handler_succeeded(c, i, slot, q, service_us);
            // `crash_consumer` armed `after_effect`: the instance dies after
            // the effect, before its DeleteMessage; the message reappears
            // when its visibility timeout ends and is processed again.
            if self.consumers[ci].protocol {
                if let Some(restart) = self.crash_after_effect(c, i) {
                    self.sqs_release_hold(slot);
                    self.protocol_crash(c, i, restart);
                    return;
                }
            }
            // Deleted at the receive or now, as the ack mode of that
            // receive says (not the one in force now).
            if !receipt.deleted_on_receive {
                self.sqs_delete(c, i, slot, receipt.handle);
            }
        } else {
            self.handler_failed(c, i, slot);
            self.sqs_lost_if_deleted(slot, receipt.deleted_on_receive);
        }
        self.sqs_release_hold(slot);
        let inst = &self.consumers[ci].instances[i as usize];
        if !inst.busy && !inst.buffer.is_empty() {
            self.start_service(c, i);
        } else if inst.buffer.is_empty() {
            self.sqs_poll(c, i);
        }
    }

    /// An SQS consumer instance crashes: its receipts are dropped (the
    /// messages reappear when their visibility timeouts run out).
    pub(crate) fn sqs_crash_instance(&mut self, c: u32, i: u32) {
        let ci = c as usize;
        let q = self.consumers[ci].queue;
        let epoch_next = self.consumers[ci].epoch_next;
        if !self.consumers[ci].instances[i as usize].up {
            return;
        }
        self.consumers[ci].epoch_next = epoch_next.wrapping_add(1);
        let inst = &mut self.consumers[ci].instances[i as usize];
        inst.up = false;
        inst.epoch = epoch_next;
        if inst.busy {
            inst.busy_total_us += self.now.0 - inst.busy_since_us;
        }
        inst.busy = false;
        inst.service_pending = 0;
        let held: Vec<u32> = inst.buffer.drain(..).collect();
        self.sqs_fit_pollers(c);
        let p = &mut self.sqs.polls[ci][i as usize];
        let receipts: Vec<super::sqs::Receipt> = p.receipts.drain(..).collect();
        p.sleeping = false;
        p.poll = p.poll.wrapping_add(1);
        if std::mem::take(&mut p.waiting) {
            let sq = self.sqs.of_queue[q as usize];
            self.sqs.queues[sq as usize]
                .waiters
                .retain(|&w| w != (c, i));
        }
        self.totals.crashes += 1;
        let cnode = self.consumers[ci].node;
        self.trace.record(
            self.now,
            TraceKind::Crashed {
                instance: i,
                returned: held.len() as u32,
                lost: 0,
            },
            None,
            cnode,
        );
        self.queue_note_released(q, held.len() as u32);
        for (s, r) in held.into_iter().zip(receipts) {
            self.sqs_lost_if_deleted(s, r.deleted_on_receive);
            self.sqs_release_hold(s);
        }
    }

    /// `SetWaitTime`: from the next poll on.
    pub(crate) fn sqs_set_wait_time(&mut self, c: u32, wait_us: u64) {
        let r = self.cfg.consumers[c as usize]
            .sqs
            .get_or_insert_with(SqsReceive::default);
        r.wait_time = crate::scenario::Duration(wait_us);
    }

    /// `SetMaxMessages`: from the next receive on.
    pub(crate) fn sqs_set_max_messages(&mut self, c: u32, max: u32) {
        let r = self.cfg.consumers[c as usize]
            .sqs
            .get_or_insert_with(SqsReceive::default);
        r.max_messages = max;
        let cs = &mut self.consumers[c as usize];
        cs.prefetch = max;
        cs.prefetch_ceiling = cs.prefetch_ceiling.max(max);
    }

    /// A receive for instance `i` of consumer `c`: up to `max` visible
    /// messages of `sq`, in order, skipping FIFO groups already in flight;
    /// a message received `max_receive_count` times already goes to the
    /// dead-letter queue instead. Returns how many were handed over.
    pub(crate) fn sqs_take(&mut self, sq: u32, c: u32, i: u32, max: u32) -> u32 {
        let q = self.sqs.queues[sq as usize].q as usize;
        let cfg = self.cfg.queues[q].sqs.clone().expect("an SQS queue");
        let fifo = cfg.fifo();
        let mut taken_groups: Vec<Sym> = Vec::new();
        let mut cursor: Option<(u64, u32)> = None;
        let mut got = 0;
        // FIFO: "as many messages with the same message group ID as
        // possible", then other available groups (AWS, ReceiveMessage with
        // MaxNumberOfMessages): a first pass takes from the group of the
        // first available message only, a second from any available group.
        // The first pass looks at most `FIRST_PASS_SCAN` messages, so a
        // receive stays cheap in a deep queue of many groups.
        const FIRST_PASS_SCAN: u32 = 1000;
        // "FIFO queues scan the first 120,000 messages to determine
        // available message groups" (AWS, "Avoid large message backlogs
        // with the same message group ID"): counting the ones in flight,
        // which precede the visible ones of their groups. It also bounds a
        // receive's work in a deep queue.
        let scan_max = if fifo {
            FIFO_SCAN_MAX.saturating_sub(self.sqs.queues[sq as usize].in_flight as u64)
        } else {
            u64::MAX
        };
        let mut examined = 0u64;
        let mut first_pass = fifo;
        let mut scanned = 0u32;
        let mut returned_bytes = 0u64;
        // Every visible message's group in flight: the scan below would
        // skip each one (up to 121,000 of them) and return nothing.
        let none_available = fifo && !self.sqs.queues[sq as usize].any_group_available();
        loop {
            if got >= max || none_available {
                break;
            }
            // "FIFO queues support a maximum of 120,000 in-flight messages
            // ... If this limit is reached, Amazon SQS does not return an
            // error": the receive returns what it has (perhaps nothing).
            if fifo && self.sqs.queues[sq as usize].in_flight as u64 >= FIFO_SCAN_MAX {
                break;
            }
            if first_pass {
                scanned += 1;
                if scanned > FIRST_PASS_SCAN {
                    first_pass = false;
                    cursor = None;
                }
            }
            let st = &self.sqs.queues[sq as usize];
            let next = match cursor {
                None => st.visible.iter().next(),
                Some(k) => st.visible.range((Excluded(k), Unbounded)).next(),
            }
            .copied();
            let Some(key) = next else {
                if first_pass {
                    first_pass = false;
                    cursor = None;
                    continue;
                }
                break;
            };
            cursor = Some(key);
            if !first_pass {
                examined += 1;
                if examined > scan_max {
                    break;
                }
            }
            let slot = key.1;
            let r = &self.sqs.msgs[&slot];
            if fifo
                && st.groups_in_flight.get(&r.group).is_some_and(|&n| n > 0)
                && !taken_groups.contains(&r.group)
            {
                continue;
            }
            if first_pass && taken_groups.first().is_some_and(|&g| g != r.group) {
                continue;
            }
            if cfg.max_receive_count.is_some_and(|m| r.receive_count >= m) {
                let group = r.group;
                self.sqs.queues[sq as usize].hide(key.0, key.1, group);
                self.sqs_move_to_dlq(slot);
                continue;
            }
            let vt = cfg.visibility_timeout.us();
            let now = self.now.0;
            let group = self.sqs.msgs[&slot].group;
            let st = &mut self.sqs.queues[sq as usize];
            st.hide(key.0, key.1, group);
            st.in_flight += 1;
            st.counts.received += 1;
            let r = self.sqs.msgs.get_mut(&slot).expect("visible is stored");
            r.status = SqsStatus::InFlight;
            r.receive_count += 1;
            r.visible_at_us = now + vt;
            r.received_us = now;
            r.holders += 1;
            let (receipt, count, group) = (r.receipt(), r.receive_count, r.group);
            if fifo {
                *st.groups_in_flight.entry(group).or_insert(0) += 1;
                if !taken_groups.contains(&group) {
                    taken_groups.push(group);
                }
            }
            let gen = self.msgs[slot as usize].gen;
            self.agenda.schedule(
                SimTime(now + vt),
                Event::Sqs(SqsEvent::Visible { slot, gen, receipt }),
            );
            returned_bytes += self.payload_bytes(slot) as u64;
            self.sqs_hand(slot, c, i, count, receipt);
            got += 1;
        }
        // The receive request was counted when sent; a reply over 64 KiB is
        // billed once more per further started chunk.
        let chunks = returned_bytes.div_ceil(super::sqs::REQUEST_CHUNK_BYTES);
        self.sqs.queues[sq as usize].counts.receive_requests += chunks.saturating_sub(1);
        got
    }
}
