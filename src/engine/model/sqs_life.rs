//! The rest of an SQS message's life once stored (split from `sqs.rs` to keep
//! files small; the rules are in that file's header): visible again when its
//! visibility timeout runs out, deleted by retention, deleted by a consumer
//! with its receipt handle (stale and missed deletes included), and freed
//! once deleted and no consumer still holds a receipt.
//! Exports: `sqs_delete`, `sqs_release_hold` (for `sqs_poll.rs`), `sqs_reappear`,
//! `sqs_leave_flight`.

use super::sqs::*;
use crate::engine::core::{Engine, Event};
use crate::engine::message::{MsgState, Sym};
use crate::engine::time::SimTime;
use crate::engine::trace::{Reason, TraceKind};

impl Engine {
    pub(crate) fn on_sqs_visible(&mut self, slot: u32, gen: u32, receipt: u32) {
        if !self.sqs_live(slot, gen, SqsStatus::InFlight) {
            return;
        }
        let r = &self.sqs.msgs[&slot];
        if r.receipt() != receipt || r.visible_at_us != self.now.0 {
            return;
        }
        self.sqs_reappear(slot);
    }

    /// An in-flight message becomes visible again (timeout or visibility 0).
    pub(crate) fn sqs_reappear(&mut self, slot: u32) {
        let r = &self.sqs.msgs[&slot];
        let (sq, group, receive_count) = (r.sq, r.group, r.receive_count);
        self.sqs_leave_flight(sq, group);
        self.sqs.queues[sq as usize].counts.visible_again += 1;
        let (id, node) = self.sqs_ids(slot);
        self.trace.record(
            self.now,
            TraceKind::SqsVisibleAgain { receive_count },
            Some(id),
            node,
        );
        self.sqs_make_visible(slot);
    }

    /// One message of `group` is no longer in flight in `sq`.
    pub(crate) fn sqs_leave_flight(&mut self, sq: u32, group: Sym) {
        let st = &mut self.sqs.queues[sq as usize];
        st.in_flight -= 1;
        if st.fifo {
            if let Some(n) = st.groups_in_flight.get_mut(&group) {
                *n -= 1;
                if *n == 0 {
                    st.groups_in_flight.remove(&group);
                }
            }
        }
    }

    pub(crate) fn on_sqs_retention(&mut self, slot: u32, gen: u32) {
        let m = &self.msgs[slot as usize];
        if m.gen != gen || m.state == MsgState::Free {
            return;
        }
        let Some(r) = self.sqs.msgs.get(&slot) else {
            return;
        };
        if r.status == SqsStatus::Deleted {
            return;
        }
        let q = self.sqs.queues[r.sq as usize].q as usize;
        let retention = self.cfg.queues[q]
            .sqs
            .as_ref()
            .map_or(0, |s| s.retention.us());
        let due = r.sent_us.saturating_add(retention);
        if due > self.now.0 {
            // Moved to a queue with a longer retention: check again then.
            self.agenda
                .schedule(SimTime(due), Event::Sqs(SqsEvent::Retention { slot, gen }));
            return;
        }
        let (sq, status, seq, group, holders) = (r.sq, r.status, r.seq, r.group, r.holders);
        match status {
            SqsStatus::Visible => {
                self.sqs.queues[sq as usize].hide(seq, slot, group);
            }
            SqsStatus::Delayed => self.sqs.queues[sq as usize].delayed -= 1,
            SqsStatus::InFlight => self.sqs_leave_flight(sq, group),
            SqsStatus::Deleted => {}
        }
        let (id, node) = self.sqs_ids(slot);
        self.trace
            .record(self.now, TraceKind::Expired, Some(id), node);
        self.totals.expired += 1;
        self.queues[q].expired += 1;
        if holders == 0 {
            self.sqs.msgs.remove(&slot);
            self.queue_drop(slot, q as u32, Reason::Expired);
        } else {
            let r = self.sqs.msgs.get_mut(&slot).expect("stored");
            r.status = SqsStatus::Deleted;
            r.gone = Some(Reason::Expired);
            self.sqs.queues[sq as usize].zombies += 1;
        }
        if status == SqsStatus::InFlight {
            // Its FIFO group is free again: waiting polls may find it.
            self.sqs_serve_waiters(sq);
        }
    }

    /// `DeleteMessage` by instance `i` of consumer `c` (reading engine queue
    /// `q`) with receipt handle `receipt`.
    pub(crate) fn sqs_delete(&mut self, c: u32, i: u32, slot: u32, receipt: u32) {
        let q = self.consumers[c as usize].queue;
        let sq = self.sqs.of_queue[q as usize];
        self.sqs.queues[sq as usize].counts.delete_requests += 1;
        if self.sqs_throttle(sq, super::sqs::SqsCall::Delete { instance: i }) {
            // The SDK retries at the next second; until then the retry holds
            // the receipt, so the message is not freed under it.
            if let Some(r) = self.sqs.msgs.get_mut(&slot) {
                r.holders += 1;
                *self.sqs.delete_retries.entry(slot).or_insert(0) += 1;
                let epoch = self.consumers[c as usize].instances[i as usize].epoch;
                self.agenda.schedule(
                    self.sqs_next_window(),
                    Event::Sqs(SqsEvent::DeleteRetry {
                        c,
                        i,
                        epoch,
                        slot,
                        receipt,
                    }),
                );
            }
            return;
        }
        let id = self.msgs[slot as usize].id;
        let qnode = self.queues[q as usize].node;
        let cnode = self.consumers[c as usize].node;
        // The latest receipt handle deletes the message. On a standard
        // queue it does so even when its visibility timeout ran out
        // meanwhile (nobody received it since); a FIFO queue's handle
        // expires with the visibility timeout ("The receipt handle has
        // expired", AWS Knowledge Center `sqs-receipt-handle-error`), so the
        // message stays and is received again.
        let fifo = self.sqs.queues[sq as usize].fifo;
        let current = self.sqs.msgs.get(&slot).is_some_and(|r| {
            r.sq == sq
                && match r.status {
                    SqsStatus::InFlight => true,
                    SqsStatus::Visible => !fifo,
                    _ => false,
                }
                && r.receipt() == receipt
        });
        if !current {
            self.sqs.queues[sq as usize].counts.stale_deletes += 1;
            self.trace.record(
                self.now,
                TraceKind::SqsDeleteStale { instance: i },
                Some(id),
                qnode,
            );
            return;
        }
        let dup = self.cfg.queues[q as usize]
            .sqs
            .as_ref()
            .map_or(0.0, |s| s.duplicate_rate);
        if dup > 0.0 && self.sqs.queues[sq as usize].stream.chance(dup) {
            // A copy on an unavailable server survives: the message stays
            // in flight and is received again when its timeout runs out.
            self.sqs.queues[sq as usize].counts.delete_missed += 1;
            self.trace.record(
                self.now,
                TraceKind::SqsDeleteMissed { instance: i },
                Some(id),
                qnode,
            );
            return;
        }
        let r = &self.sqs.msgs[&slot];
        let (group, status, seq) = (r.group, r.status, r.seq);
        if status == SqsStatus::InFlight {
            self.sqs_leave_flight(sq, group);
        } else {
            self.sqs.queues[sq as usize].hide(seq, slot, group);
        }
        let st = &mut self.sqs.queues[sq as usize];
        st.counts.deleted += 1;
        st.zombies += 1;
        let r = self.sqs.msgs.get_mut(&slot).expect("stored");
        r.status = SqsStatus::Deleted;
        if r.lost_on_delete && r.gone.is_none() {
            r.gone = Some(Reason::LostAfterAutoAck);
        }
        self.totals.acked += 1;
        self.consumers[c as usize].acked += 1;
        self.queue_note_acked(q);
        self.trace
            .record(self.now, TraceKind::Acked { instance: i }, Some(id), cnode);
        // A deleted FIFO message unblocks its group.
        self.sqs_serve_waiters(sq);
    }

    /// A consumer let go of its receipt for `slot` (done, failed or
    /// crashed): the last holder of a deleted message frees it.
    pub(crate) fn sqs_release_hold(&mut self, slot: u32) {
        let Some(r) = self.sqs.msgs.get_mut(&slot) else {
            return;
        };
        r.holders -= 1;
        if r.status != SqsStatus::Deleted || r.holders > 0 {
            return;
        }
        let (sq, gone) = (r.sq, r.gone);
        self.sqs.msgs.remove(&slot);
        self.sqs.queues[sq as usize].zombies -= 1;
        if let Some(reason) = gone {
            let q = self.sqs.queues[sq as usize].q;
            self.queue_drop(slot, q, reason);
        } else {
            self.complete(slot);
        }
    }
}
