//! Kafka transactions beyond one poll: a transaction spanning several poll
//! batches (`output.polls_per_txn`), a member paused (a long GC pause,
//! `PauseMember`), and zombie fencing by producer epoch (KIP-98).
//!
//!   batch done ──txn_batch_done──► offsets kept with the open transaction
//!        └─ polls_per_txn reached, an empty poll, or a revoke ──txn_flush──► offsets + outputs commit together
//!   PauseMember ──► busy, no heartbeats ──PauseEnded──► runs again (record restarted, next poll)
//!        └─ longer than session_timeout ──PauseEvicted──► out of the group, partitions move, batch kept in memory
//!   new owner assigned ──txn_on_assign──► initTransactions: the partition's producer epoch + 1;
//!        a zombie's open transaction holding it is aborted (`producer_epoch_bumped`)
//!   first output ──arm_txn_timeout──► TxnTimeout transaction_timeout later: still open ──► aborted
//!        (crashed: as below; live: commit refused, batch dropped, it rejoins; paused: the same when it wakes)
//!   zombie wakes ──zombie_wakes──► transactional: stale epoch ──► `producer_fenced`, aborted, it stops
//!                                 not transactional: finishes its batch: outputs written again
//!                                 (duplicates of the new owner's), offset commit refused, it stops
//!
//! Kafka (KIP-98, KIP-129; Kafka Streams under exactly-once with EOS v1):
//! the transactional id belongs to the input partition (`<group>-<topic>-<partition>`),
//! so whoever owns that partition uses it; `initTransactions` bumps its
//! epoch and aborts the transaction the previous holder left open, and the
//! broker refuses the old epoch afterwards (`ProducerFenced`). Kafka Streams
//! commits every `commit.interval.ms`; here every `polls_per_txn` poll
//! batches. Simplifications (README): one transaction per member (its outputs
//! from every partition it owns), fenced as a whole when any partition it held
//! moved on; a zombie finishes its in-memory batch at the instant it wakes
//! (its service time is not modelled again) and then stops rather than
//! rejoining; an empty poll ends a spanning transaction (Kafka Streams would
//! wait for the interval); a transactional zombie nobody fenced (no other
//! member took its partitions) aborts, as its offset commit is refused.

use super::group::Fetched;
use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::time::SimTime;
use crate::engine::trace::TraceKind;
use crate::scenario::CommitPolicy;
use std::collections::VecDeque;

/// A member's transaction and pause state.
#[derive(Clone, Debug, Default)]
pub(crate) struct TxnMember {
    /// Poll batches in the open spanning transaction.
    pub(crate) polls: u32,
    /// Offsets to commit with the open transaction: (group partition, next offset).
    pub(crate) offsets: Vec<(u32, u64)>,
    /// The producer epoch it got per input partition: (group partition, epoch).
    pub(crate) held: Vec<(u32, u32)>,
    /// Paused until its `PauseEnded`.
    pub(crate) paused: bool,
    /// Evicted while paused: the records it still holds in memory.
    pub(crate) zombie_batch: VecDeque<Fetched>,
    /// When its open transaction began (its first output) [µs].
    pub(crate) started_us: u64,
    /// Transactions it began, counting the open one (names a timeout's transaction).
    pub(crate) begun: u32,
    /// Its transaction timed out while it was paused: it learns so when it
    /// wakes (its next send or commit is refused) and rejoins.
    pub(crate) timed_out: bool,
}

impl Engine {
    fn txn_output(&self, g: u32) -> bool {
        self.gcfg(g)
            .output
            .as_ref()
            .is_some_and(|o| o.transactional)
    }

    /// Does group `g`'s transaction span more than one poll batch?
    pub(crate) fn txn_spans_polls(&self, g: u32) -> bool {
        self.gcfg(g)
            .output
            .as_ref()
            .is_some_and(|o| o.transactional && o.polls_per_txn.unwrap_or(1) > 1)
    }

    /// Member `m`'s poll batch is done: its offsets join the open transaction,
    /// which commits once it spans `polls_per_txn` batches.
    pub(crate) fn txn_batch_done(&mut self, g: u32, m: u32) {
        let n = self
            .gcfg(g)
            .output
            .as_ref()
            .and_then(|o| o.polls_per_txn)
            .unwrap_or(1);
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        for &(gp, next) in &mem.batch_done {
            match mem.txn.offsets.iter_mut().find(|(x, _)| *x == gp) {
                Some(o) => o.1 = o.1.max(next),
                None => mem.txn.offsets.push((gp, next)),
            }
        }
        mem.batch_done.clear();
        mem.txn.polls += 1;
        if mem.txn.polls >= n {
            self.txn_flush(g, m);
        }
    }

    /// Commit member `m`'s spanning transaction now: its offsets, then its outputs.
    pub(crate) fn txn_flush(&mut self, g: u32, m: u32) {
        if !self.txn_spans_polls(g) {
            return;
        }
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        if mem.txn.polls == 0 && mem.txn.offsets.is_empty() && mem.open_txn.is_empty() {
            return;
        }
        let mut offsets = std::mem::take(&mut mem.txn.offsets);
        mem.txn.polls = 0;
        offsets.sort_unstable_by_key(|&(gp, _)| gp);
        for &(gp, next) in &offsets {
            self.commit(g, gp, next);
        }
        self.commit_txn(g, m);
    }

    /// Member `m`'s transaction was aborted: the offsets it kept are dropped
    /// (never committed, so those records are processed again).
    pub(crate) fn txn_span_forget(&mut self, g: u32, m: u32) {
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        mem.txn.offsets.clear();
        mem.txn.polls = 0;
    }

    /// Member `m` becomes the owner of group partition `gp`: with
    /// transactional outputs, its `initTransactions` for the partition's
    /// transactional id bumps the producer epoch and aborts a zombie's open
    /// transaction.
    pub(crate) fn txn_on_assign(&mut self, g: u32, m: u32, gp: u32) {
        if !self.txn_output(g) {
            return;
        }
        let gi = g as usize;
        let grp = &mut self.streams.groups[gi];
        if grp.producer_epochs.len() <= gp as usize {
            grp.producer_epochs.resize(gp as usize + 1, 0);
        }
        grp.producer_epochs[gp as usize] += 1;
        let epoch = grp.producer_epochs[gp as usize];
        let held = &mut grp.members[m as usize].txn.held;
        match held.iter_mut().find(|(x, _)| *x == gp) {
            Some(h) => h.1 = epoch,
            None => held.push((gp, epoch)),
        }
        // A zombie (alive, evicted) that held this transactional id.
        let zombies: Vec<u32> = grp
            .members
            .iter()
            .enumerate()
            .filter(|&(x, mem)| {
                x as u32 != m
                    && (!mem.alive || !mem.in_group)
                    && !mem.open_txn.is_empty()
                    && mem.txn.held.iter().any(|&(h, e)| h == gp && e != epoch)
            })
            .map(|(x, _)| x as u32)
            .collect();
        let (node, partition) = (grp.node, grp.parts[gp as usize].partition);
        for z in zombies {
            self.trace.record(
                self.now,
                TraceKind::ProducerEpochBumped {
                    partition,
                    epoch,
                    fenced: z,
                },
                None,
                node,
            );
            self.abort_txn(g, z);
        }
    }

    /// Member `m`'s transaction just began (its first output): the
    /// coordinator aborts it `transaction_timeout` later unless it ended
    /// before (`on_txn_timeout`). Kafka: `TransactionStateManager.
    /// timedOutTransactions` picks every Ongoing transaction whose
    /// `txnStartTimestamp` is older than its timeout, whether its producer
    /// is alive or not; `TransactionCoordinator.abortTimedOutTransactions`
    /// runs every `transaction.abort.timed.out.transaction.cleanup.interval.ms`
    /// (10 s), here exactly at expiry, and bumps the producer epoch.
    pub(crate) fn arm_txn_timeout(&mut self, g: u32, m: u32) {
        let timeout_us = self
            .gcfg(g)
            .output
            .as_ref()
            .map_or(0, |o| o.transaction_timeout_us());
        let mem = &self.streams.groups[g as usize].members[m as usize];
        let due_us = mem.txn.started_us.saturating_add(timeout_us);
        let txn = mem.txn.begun;
        self.schedule_stream(SimTime(due_us), StreamEvent::TxnTimeout { g, m, txn });
    }

    /// Member `m` crashed. Its open transaction stays open, holding back
    /// `read_committed` readers of every output partition it wrote to (their
    /// last stable offset stops at its first record), until the member that
    /// takes one of its input partitions fences it (`txn_on_assign`) or the
    /// coordinator aborts it `transaction_timeout` after it began
    /// (`on_txn_timeout`, armed when it began), whichever comes first.
    pub(crate) fn txn_on_crash(&mut self, g: u32, m: u32) {
        if self.streams.groups[g as usize].members[m as usize]
            .open_txn
            .is_empty()
        {
            // Nothing written: only the offsets it kept, never committed.
            self.txn_span_forget(g, m);
        }
    }

    /// `transaction_timeout` after member `m`'s transaction `txn` began: if
    /// it is still open (not committed, not fenced), the coordinator aborts
    /// it. A live member learns at its next send or commit, which the
    /// bumped epoch refuses: Kafka Streams then closes its tasks and rejoins
    /// the group (`TaskMigratedException`, as after a poll timeout), so it
    /// drops its batch at once (a paused one when it wakes), and whoever
    /// owns its partitions after the rebalance starts at the committed
    /// offsets: nothing of the aborted transaction counts.
    pub(crate) fn on_txn_timeout(&mut self, g: u32, m: u32, txn: u32) {
        let grp = &self.streams.groups[g as usize];
        let mem = &grp.members[m as usize];
        if mem.txn.begun != txn || mem.open_txn.is_empty() {
            return;
        }
        let node = grp.node;
        let (alive, in_group, paused) = (mem.alive, mem.in_group, mem.txn.paused);
        self.trace
            .record(self.now, TraceKind::TxnTimedOut { member: m }, None, node);
        self.abort_txn(g, m);
        if !alive || !in_group {
            // Crashed, or an evicted zombie (fenced when it wakes).
            return;
        }
        if paused {
            self.streams.groups[g as usize].members[m as usize]
                .txn
                .timed_out = true;
        } else {
            self.txn_timed_out_rejoin(g, m);
        }
    }

    /// Live member `m` found its transaction aborted by the coordinator:
    /// it leaves the group (its partitions revoked without a commit), drops
    /// its batch, and rejoins (or is gone, if it was leaving).
    fn txn_timed_out_rejoin(&mut self, g: u32, m: u32) {
        let grp = &mut self.streams.groups[g as usize];
        let mem = &mut grp.members[m as usize];
        mem.txn.timed_out = false;
        mem.in_group = false;
        let leaving = mem.leaving;
        if let Some(rb) = &mut grp.rebalance {
            rb.pending.remove(&m);
        }
        self.rebalance_for_membership(g);
        self.drop_batch_and_rejoin(g, m, leaving);
    }

    /// Member `m`, out of the group with its transaction aborted, drops the
    /// batch it holds (its commit is refused) and rejoins the group at
    /// once, or is gone if it was leaving (`remove_member`).
    pub(crate) fn drop_batch_and_rejoin(&mut self, g: u32, m: u32, leaving: bool) {
        let gi = g as usize;
        let node = self.streams.groups[gi].node;
        let mem = &mut self.streams.groups[gi].members[m as usize];
        mem.epoch = mem.epoch.wrapping_add(1);
        mem.busy = false;
        mem.batch.clear();
        mem.batch_done.clear();
        mem.attempt = 0;
        mem.poll_timer.left = false;
        mem.commit_on_rejoin = false;
        mem.auto_commit_due = false;
        self.trace
            .record(self.now, TraceKind::CommitFailed { member: m }, None, node);
        if leaving {
            self.streams.groups[gi].members[m as usize].alive = false;
        } else {
            self.streams.groups[gi].members[m as usize].in_group = true;
            self.rebalance_for_membership(g);
        }
    }

    /// `PauseMember`: member `m` stops for `pause_us` (no heartbeats, no
    /// processing); longer than the session timeout, the group evicts it.
    pub(crate) fn pause_member(&mut self, g: u32, m: u32, pause_us: u64) {
        let timeout_us = self.gcfg(g).session_timeout.us();
        let grp = &mut self.streams.groups[g as usize];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        mem.busy = true;
        mem.epoch = mem.epoch.wrapping_add(1);
        mem.txn.paused = true;
        let epoch = mem.epoch;
        self.trace.record(
            self.now,
            TraceKind::MemberPaused {
                member: m,
                pause_us,
            },
            None,
            node,
        );
        if pause_us > timeout_us {
            self.schedule_stream(
                self.now.after(timeout_us),
                StreamEvent::PauseEvicted { g, m, epoch },
            );
        }
        self.schedule_stream(
            self.now.after(pause_us),
            StreamEvent::PauseEnded { g, m, epoch },
        );
    }

    /// May member `m` be paused now?
    pub(crate) fn can_pause(&self, g: u32, m: u32) -> bool {
        self.streams.groups[g as usize]
            .members
            .get(m as usize)
            .is_some_and(|x| x.alive && x.in_group && !x.leaving && !x.txn.paused)
    }

    /// The coordinator heard nothing from paused member `m` for the session
    /// timeout: it leaves the group (its batch stays in its memory) and its
    /// partitions are handed out again.
    pub(crate) fn on_pause_evicted(&mut self, g: u32, m: u32, epoch: u32) {
        let grp = &mut self.streams.groups[g as usize];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        if mem.epoch != epoch || !mem.txn.paused || !mem.in_group {
            return;
        }
        mem.in_group = false;
        let batch = std::mem::take(&mut mem.batch);
        mem.txn.zombie_batch = batch;
        mem.batch_done.clear();
        let owned = mem.owned.clone();
        if let Some(rb) = &mut grp.rebalance {
            rb.pending.remove(&m);
        }
        self.trace
            .record(self.now, TraceKind::MemberEvicted { member: m }, None, node);
        for gp in owned {
            self.revoke(g, m, gp, false);
        }
        self.start_rebalance(g);
    }

    /// Paused member `m` runs again.
    pub(crate) fn on_pause_ended(&mut self, g: u32, m: u32, epoch: u32) {
        let grp = &mut self.streams.groups[g as usize];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        if mem.epoch != epoch || !mem.txn.paused {
            return;
        }
        mem.txn.paused = false;
        let evicted = !mem.in_group;
        self.trace.record(
            self.now,
            TraceKind::MemberResumed { member: m, evicted },
            None,
            node,
        );
        if evicted {
            mem.txn.timed_out = false;
            self.zombie_wakes(g, m);
            return;
        }
        if mem.txn.timed_out {
            // Its transaction was aborted while it slept.
            self.txn_timed_out_rejoin(g, m);
            return;
        }
        let auto = matches!(self.gcfg(g).commit, CommitPolicy::Auto { .. });
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        mem.busy = false;
        let has_batch = !mem.batch.is_empty();
        // The auto-commit deadline ran on through the pause (Kafka's timer
        // is reset only by a commit): run out, or left due before the pause,
        // the member commits at its next poll, which restarts the interval;
        // otherwise its tick comes at the old deadline.
        if auto {
            let due_at = mem.auto_commit_at_us;
            if due_at == u64::MAX && !mem.auto_commit_due {
                self.schedule_auto_commit(g, m);
            } else if mem.auto_commit_due || due_at <= self.now.0 {
                mem.auto_commit_due = true;
                mem.auto_commit_at_us = u64::MAX;
            } else {
                self.schedule_auto_commit_at(g, m, SimTime(due_at));
            }
        }
        if has_batch {
            // The record it was on is processed again from its start.
            self.start_record(g, m);
        } else {
            self.batch_finished(g, m);
        }
    }

    /// An evicted member wakes up believing it still owns its partitions.
    fn zombie_wakes(&mut self, g: u32, m: u32) {
        let gi = g as usize;
        if self.txn_output(g) {
            let epochs = &self.streams.groups[gi].producer_epochs;
            let mem = &self.streams.groups[gi].members[m as usize];
            let stale = mem
                .txn
                .held
                .iter()
                .find(|&&(gp, e)| epochs.get(gp as usize).is_some_and(|&now| now != e))
                .map(|&(gp, _)| epochs[gp as usize]);
            let has_work = !mem.txn.zombie_batch.is_empty() || !mem.open_txn.is_empty();
            if let Some(epoch) = stale.filter(|_| has_work) {
                let node = self.streams.groups[gi].node;
                self.trace.record(
                    self.now,
                    TraceKind::ProducerFenced { member: m, epoch },
                    None,
                    node,
                );
            }
            // Fenced, or its offset commit refused: nothing it writes commits.
            self.abort_txn(g, m);
        } else {
            let batch =
                std::mem::take(&mut self.streams.groups[gi].members[m as usize].txn.zombie_batch);
            for rec in batch {
                self.zombie_processes(g, m, rec);
            }
            // Its offset commit is refused (it is no longer in the group).
        }
        let mem = &mut self.streams.groups[gi].members[m as usize];
        mem.txn.zombie_batch.clear();
        mem.txn.held.clear();
        mem.alive = false;
        mem.busy = false;
        mem.epoch = mem.epoch.wrapping_add(1);
    }

    /// A non-transactional zombie processes a record it still held: the
    /// effect and the output happen again.
    fn zombie_processes(&mut self, g: u32, m: u32, rec: Fetched) {
        let grp = &mut self.streams.groups[g as usize];
        let node = grp.node;
        grp.processed += 1;
        let p = &mut grp.parts[rec.gp as usize];
        if rec.offset < p.processed_high {
            grp.reprocessed += 1;
        } else {
            p.processed_high = rec.offset + 1;
        }
        self.totals.processed += 1;
        // Its time in system counts as any processing's does (`record_done`).
        let e2e = self.now.0.saturating_sub(rec.published_us);
        self.streams.groups[g as usize].latency.record(e2e);
        self.end_to_end.record(e2e);
        self.interval.record(e2e);
        self.trace.record(
            self.now,
            TraceKind::Processed {
                instance: m,
                service_us: 0,
            },
            Some(rec.msg),
            node,
        );
        if self.gcfg(g).output.is_some() {
            self.produce_output(g, m, rec);
        }
    }
}
