//! `max.poll.interval.ms`: a group member still busy with the batch it polled
//! `max_poll_interval` after that poll leaves the group (KIP-62).
//!
//!   poll ──► batch ──start_record: would this record end past the deadline?──► arm PollTimeout
//!   PollTimeout (still on that batch) ──► left: out of the group, partitions move (no commit)
//!        └─ it finishes its batch (effects, outputs happen again later: duplicates)
//!           ──► its commits fail (`commit_failed`) ──► it rejoins at its next poll: a rebalance
//!
//! Kafka: the consumer's heartbeat thread notices that `poll()` was not called
//! within `max.poll.interval.ms` and sends LeaveGroup ("consumer poll timeout
//! has expired", `AbstractCoordinator`); the coordinator rebalances at once,
//! without waiting for the session timeout. The application, still working
//! through the records it has, then gets `CommitFailedException` on commit,
//! and its next `poll()` rejoins the group. Its partitions' new owners start
//! at the last committed offset, so what it processed since is processed again.
//!
//! Guarantees: the timer never costs an agenda event for a batch that ends in
//! time (it is armed only when a record about to start would end past the
//! deadline); a member that left commits nothing until it has rejoined; a
//! retry in place counts as a poll (the consumer seeks back and polls the
//! record again, as Spring Kafka's `DefaultErrorHandler` does). A member
//! paused by `pause_member` (no heartbeats either) is left to its session
//! timeout; its timer is armed again when it runs. Under transactional
//! outputs the member's open transaction is aborted when it leaves and it
//! drops its batch and rejoins at once (Kafka Streams' `TaskMigratedException`):
//! nothing it wrote commits. A member that was leaving (`remove_member`)
//! times out like any other; its closing commit fails and it is gone.

use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;

/// A member's poll timer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PollTimer {
    /// When the member last polled a batch (or retried its head record).
    pub(crate) polled_us: u64,
    /// Bumped at every poll: a `PollTimeout` of an older poll is stale.
    pub(crate) poll: u32,
    /// A `PollTimeout` for this poll is in the agenda.
    pub(crate) armed: bool,
    /// Left the group at a poll timeout: it finishes its batch, its commits
    /// fail, it rejoins at its next poll.
    pub(crate) left: bool,
}

impl Engine {
    /// Member `m` polled a batch (or seeks back to retry its head record): the timer restarts.
    #[inline]
    pub(crate) fn poll_timer_restart(&mut self, g: u32, m: u32) {
        let now_us = self.now.0;
        let t = &mut self.streams.groups[g as usize].members[m as usize].poll_timer;
        t.polled_us = now_us;
        t.poll = t.poll.wrapping_add(1);
        t.armed = false;
    }

    /// Member `m` starts a record that takes `service_us`: if it would end
    /// past the poll deadline, the timeout goes into the agenda (once per poll).
    #[inline]
    pub(crate) fn poll_timer_check(&mut self, g: u32, m: u32, service_us: u64) {
        let limit_us = self.cfg.consumer_groups[g as usize].max_poll_interval.us();
        let now_us = self.now.0;
        let t = &mut self.streams.groups[g as usize].members[m as usize].poll_timer;
        let deadline_us = t.polled_us.saturating_add(limit_us);
        if t.armed || t.left || now_us.saturating_add(service_us) <= deadline_us {
            return;
        }
        t.armed = true;
        let poll = t.poll;
        self.schedule_stream(
            crate::engine::time::SimTime(deadline_us.max(now_us)),
            StreamEvent::PollTimeout { g, m, poll },
        );
    }

    /// `max_poll_interval` since member `m`'s poll `poll`, and it is still at work.
    pub(crate) fn on_poll_timeout(&mut self, g: u32, m: u32, poll: u32) {
        let gi = g as usize;
        let transactional = self.cfg.consumer_groups[gi]
            .output
            .as_ref()
            .is_some_and(|o| o.transactional);
        let grp = &mut self.streams.groups[gi];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        if mem.poll_timer.poll != poll || !mem.poll_timer.armed {
            return;
        }
        mem.poll_timer.armed = false;
        let working = mem.busy || !mem.batch.is_empty();
        // Paused: no heartbeat thread either; the session timeout decides.
        // A member on its way out (`remove_member`) is no exception: the
        // heartbeat thread leaves the group whatever the application means
        // to do after its batch, and the commit it makes then fails.
        if !mem.alive || !mem.in_group || mem.txn.paused || !working {
            return;
        }
        let leaving = mem.leaving;
        mem.in_group = false;
        mem.poll_timer.left = true;
        // Nothing it commits counts from now on.
        mem.commit_on_rejoin = false;
        mem.auto_commit_due = false;
        if let Some(rb) = &mut grp.rebalance {
            rb.pending.remove(&m);
        }
        self.streams.groups[gi].poll_timeouts += 1;
        self.trace
            .record(self.now, TraceKind::PollTimeout { member: m }, None, node);
        // Its partitions go: plan_rebalance revokes a departed member's
        // partitions without a commit.
        self.rebalance_for_membership(g);
        if transactional {
            // Its transaction is aborted and the batch dropped; it joins the
            // rebalance at once (unless it was leaving anyway).
            self.abort_txn(g, m);
            self.drop_batch_and_rejoin(g, m, leaving);
        }
    }

    /// Member `m`, out of the group since a poll timeout, finished its batch:
    /// its commit fails and it rejoins (a rebalance).
    pub(crate) fn poll_timeout_rejoin(&mut self, g: u32, m: u32) {
        let gi = g as usize;
        let node = self.streams.groups[gi].node;
        // The outputs of a non-transactional group stay written; an open
        // spanning transaction cannot commit its offsets any more.
        self.abort_txn(g, m);
        let mem = &mut self.streams.groups[gi].members[m as usize];
        mem.poll_timer.left = false;
        mem.batch_done.clear();
        mem.commit_on_rejoin = false;
        mem.auto_commit_due = false;
        self.trace
            .record(self.now, TraceKind::CommitFailed { member: m }, None, node);
        if mem.leaving {
            // It was closing: it is gone now, nothing to rejoin.
            mem.alive = false;
            mem.epoch = mem.epoch.wrapping_add(1);
            return;
        }
        mem.in_group = true;
        self.rebalance_for_membership(g);
    }
}
