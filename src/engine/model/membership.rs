//! Consumer-group membership commands: a member joins (`add_member`), leaves
//! gracefully (`remove_member`), or crashes (`crash_member`: its polled records
//! are lost uncommitted, its open transaction is left open until fenced or
//! timed out, and the coordinator
//! notices `session_timeout` later, `on_session_expired`). Each starts or
//! completes a rebalance through `group.rs` (split from it to keep files
//! small; the rules are in that file's header).

use super::group::MemberState;
use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;

impl Engine {
    pub(crate) fn add_member(&mut self, g: u32) {
        self.new_member(g);
        self.rebalance_for_membership(g);
    }

    /// A join or a leave: a new rebalance (the next generation), or, while
    /// one is still in progress, the same one planned again with the new
    /// membership. Kafka's coordinator prepares a rebalance only when the
    /// group can rebalance (`GroupCoordinator.maybePrepareRebalance`); a
    /// member joining or leaving during one takes part in that join phase,
    /// and the generation moves once when it completes. (QueueLab's
    /// `rebalance_pause` stands for the whole join and sync, so a change
    /// during the pause joins that rebalance too.)
    pub(crate) fn rebalance_for_membership(&mut self, g: u32) {
        if self.streams.groups[g as usize].rebalance.is_some() {
            self.plan_rebalance(g);
        } else {
            self.start_rebalance(g);
        }
    }

    /// The member `RemoveMember` names (or the newest live one), if any.
    pub(crate) fn member_to_remove(&self, g: u32, member: Option<u32>) -> Option<u32> {
        let grp = &self.streams.groups[g as usize];
        let ok = |m: &MemberState| m.alive && m.in_group && !m.leaving;
        match member {
            Some(m) => grp.members.get(m as usize).filter(|x| ok(x)).map(|_| m),
            None => grp.members.iter().rposition(ok).map(|m| m as u32),
        }
    }

    pub(crate) fn remove_member(&mut self, g: u32, m: u32) {
        self.streams.groups[g as usize].members[m as usize].leaving = true;
        self.rebalance_for_membership(g);
    }

    pub(crate) fn crash_member(&mut self, g: u32, m: u32) {
        let gi = g as usize;
        let timeout = self.gcfg(g).session_timeout.us();
        let grp = &mut self.streams.groups[gi];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        mem.alive = false;
        mem.busy = false;
        mem.epoch = mem.epoch.wrapping_add(1);
        let lost = mem.batch.len() as u32;
        mem.batch.clear();
        mem.batch_done.clear();
        mem.attempt = 0;
        // A crashed process commits nothing before a rejoin.
        mem.commit_on_rejoin = false;
        mem.auto_commit_due = false;
        let epoch = mem.epoch;
        // A rebalance the member has not rejoined yet (it is still pending)
        // now waits for its session to expire. One it has rejoined (it gave
        // up its partitions, or had none to give up) goes on without it, as
        // Kafka's join phase has its JoinGroup: its target partitions stay
        // unread until its session expires and the next rebalance starts.
        self.trace.record(
            self.now,
            TraceKind::Crashed {
                instance: m,
                returned: 0,
                lost,
            },
            None,
            node,
        );
        // Its open transaction outlives it, until fenced or timed out (`txn_fence.rs`).
        self.txn_on_crash(g, m);
        self.schedule_stream(
            self.now.after(timeout),
            StreamEvent::SessionExpired { g, m, epoch },
        );
        self.maybe_rebalance_done(g);
    }

    pub(crate) fn on_session_expired(&mut self, g: u32, m: u32, epoch: u32) {
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        if mem.epoch != epoch || mem.alive || !mem.in_group {
            return;
        }
        mem.in_group = false;
        let grp = &mut self.streams.groups[g as usize];
        match &mut grp.rebalance {
            // A rebalance was waiting for this member: its join phase now
            // completes without it (one rebalance, as in Kafka).
            Some(rb) => {
                rb.pending.remove(&m);
                let node = grp.node;
                self.trace
                    .record(self.now, TraceKind::MemberEvicted { member: m }, None, node);
                self.plan_rebalance(g);
            }
            None => self.start_rebalance(g),
        }
    }
}
