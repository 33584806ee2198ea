//! Consumer-group rebalances: who the coordinator assigns to, the
//! cooperative protocol's join phase, the target assignment from the
//! group's assignor, revoking at poll boundaries, the pause, and handing
//! partitions out (split from `group.rs`, which owns the group's state; the
//! rules are in that file's header).
//!
//! Guarantees: a rebalance completes only when every member it waits for has
//! revoked what it gives up, a crashed member included until its session
//! expires; under the cooperative protocol nothing is revoked before every
//! member has rejoined, and a partition moving between live members is only
//! revoked in one round and assigned in the next; after it every partition
//! has at most one live owner per group.

use super::assignor::{self, TopicPartition, TopicsView};
use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;
use crate::scenario::{Assignment, CommitPolicy, OffsetReset};
use std::collections::{BTreeMap, BTreeSet};

use super::group::Rebalance;

impl Engine {
    /// Members the coordinator assigns to: alive, in the group, not leaving.
    pub(crate) fn active_members(&self, g: u32) -> Vec<u32> {
        self.streams.groups[g as usize]
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.alive && m.in_group && !m.leaving)
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Compute the target assignment and start revoking.
    pub(crate) fn start_rebalance(&mut self, g: u32) {
        let gi = g as usize;
        let members = self.active_members(g);
        let grp = &mut self.streams.groups[gi];
        grp.generation += 1;
        grp.rebalances += 1;
        let generation = grp.generation;
        let node = grp.node;
        self.trace.record(
            self.now,
            TraceKind::RebalanceStarted {
                generation,
                members: members.len() as u32,
            },
            None,
            node,
        );
        self.plan_rebalance(g);
    }

    /// Plan the current rebalance (again, when a member it waited for is
    /// removed or one joins or leaves: the join phase then completes with
    /// the members there are, same generation).
    ///
    /// Eager protocol: at once (every member revokes everything at its poll
    /// boundary, so the revocation is the join). Cooperative protocol: a
    /// join phase first, as Kafka's coordinator completes a join only when
    /// every known member has sent its JoinGroup
    /// (`GroupMetadataManager.maybeCompleteJoinPhase`) and a consumer sends
    /// it from `poll()`, keeping every partition it owns meanwhile; only the
    /// assignment then computed revokes (`ConsumerCoordinator.onJoinComplete`).
    pub(crate) fn plan_rebalance(&mut self, g: u32) {
        let gi = g as usize;
        self.revoke_departed(g);
        let in_join = self.streams.groups[gi]
            .rebalance
            .as_ref()
            .is_none_or(|rb| !rb.planned());
        if self.eager(g) || !in_join {
            self.plan_assignment(g);
            return;
        }
        let grp = &self.streams.groups[gi];
        // Who still has to rejoin: at the start every member of the group
        // (a crashed one too, until its session expires); on a re-plan the
        // ones that have not yet, still in the group. A member that joins
        // now is at its poll boundary and joins at once.
        let mut joining: BTreeSet<u32> = match &grp.rebalance {
            Some(rb) => rb.joining.clone(),
            None => (0..grp.members.len() as u32).collect(),
        };
        joining.retain(|&m| grp.members[m as usize].in_group);
        // A leaving member revokes everything and leaves at its poll
        // boundary (`close()`), without waiting for the join.
        let leaving: BTreeSet<u32> = joining
            .iter()
            .copied()
            .filter(|&m| grp.members[m as usize].leaving)
            .collect();
        let fresh = grp.rebalance.is_none();
        self.streams.groups[gi].rebalance = Some(Rebalance {
            target: Vec::new(),
            pending: leaving.clone(),
            joining: joining.clone(),
            owners_at_join: Vec::new(),
            second_round: false,
        });
        // Auto-commit: before it rejoins, every member commits the positions
        // of all its partitions (`ConsumerCoordinator.onJoinPrepare`), also
        // under the cooperative protocol, where it keeps most of them. At its
        // poll boundary: now if idle, else when its batch is done.
        let auto = matches!(self.gcfg(g).commit, CommitPolicy::Auto { .. });
        for &m in &joining {
            let mem = &mut self.streams.groups[gi].members[m as usize];
            if fresh && auto && mem.alive {
                mem.commit_on_rejoin = true;
            }
        }
        // Members at their poll boundary (idle) rejoin now.
        for m in joining {
            let mem = &self.streams.groups[gi].members[m as usize];
            if mem.alive && !mem.busy && mem.batch.is_empty() {
                self.commit_before_rejoin(g, m);
                if leaving.contains(&m) {
                    self.finish_revoke(g, m);
                }
                if let Some(rb) = &mut self.streams.groups[gi].rebalance {
                    rb.joining.remove(&m);
                }
            }
        }
        if self.streams.groups[gi]
            .rebalance
            .as_ref()
            .is_some_and(|rb| rb.planned())
        {
            self.plan_assignment(g);
        }
    }

    /// Member `m` is at its poll boundary during a cooperative join phase:
    /// it has rejoined. The last one completes the join phase.
    pub(crate) fn rejoined(&mut self, g: u32, m: u32) {
        let Some(rb) = &mut self.streams.groups[g as usize].rebalance else {
            return;
        };
        if rb.planned() || !rb.joining.remove(&m) {
            return;
        }
        if rb.planned() {
            self.plan_assignment(g);
        }
    }

    /// The target assignment of the current rebalance and who must revoke
    /// first.
    fn plan_assignment(&mut self, g: u32) {
        let gi = g as usize;
        let members = self.active_members(g);
        let owners_at_join: Vec<Option<u32>> = match &self.streams.groups[gi].rebalance {
            Some(rb) if !rb.owners_at_join.is_empty() => rb.owners_at_join.clone(),
            _ => self.streams.groups[gi]
                .parts
                .iter()
                .map(|p| p.owner)
                .collect(),
        };
        // The assignors see topics by index within the group.
        let grp = &self.streams.groups[gi];
        let names: Vec<&str> = grp
            .topics
            .iter()
            .map(|&t| self.cfg.topics[t as usize].id.as_str())
            .collect();
        let counts: Vec<u32> = grp
            .topics
            .iter()
            .map(|&t| self.streams.topics[t as usize].parts.len() as u32)
            .collect();
        let local = |t: u32| grp.topics.iter().position(|&x| x == t).unwrap_or(0) as u32;
        let view = TopicsView {
            names: &names,
            partitions: &counts,
        };
        let result = match self.gcfg(g).assignment {
            Assignment::Range => assignor::range(&members, &view),
            Assignment::RoundRobin => assignor::round_robin(&members, &view),
            Assignment::CooperativeSticky => {
                let mut owned: BTreeMap<u32, Vec<TopicPartition>> = BTreeMap::new();
                for (gp, p) in grp.parts.iter().enumerate() {
                    let owner = match owners_at_join.get(gp) {
                        Some(&o) => o.filter(|o| members.contains(o)),
                        None => p.owner,
                    };
                    if let Some(o) = owner {
                        owned
                            .entry(o)
                            .or_default()
                            .push((local(p.topic), p.partition));
                    }
                }
                assignor::cooperative_sticky(&members, &view, &owned)
            }
        };
        let index: BTreeMap<(u32, u32), u32> = grp
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| ((local(p.topic), p.partition), i as u32))
            .collect();
        let mut target = vec![None; grp.parts.len()];
        for (m, tps) in result {
            for tp in tps {
                if let Some(&gp) = index.get(&tp) {
                    target[gp as usize] = Some(m);
                }
            }
        }
        let eager = self.eager(g);
        // Cooperative protocol: a partition that moves from one live member
        // to another is only revoked this round and withheld from the new
        // owner (`CooperativeStickyAssignor.adjustAssignment`); the revoking
        // member rejoins (`ConsumerCoordinator.onJoinComplete` requests it),
        // and the next round runs the assignor again on what the members own
        // then, which places it. Unowned partitions (new ones, a departed
        // member's) are assigned this round.
        let mut second_round = false;
        if !eager {
            for (gp, t) in target.iter_mut().enumerate() {
                let was = owners_at_join
                    .get(gp)
                    .copied()
                    .flatten()
                    .filter(|o| members.contains(o));
                if was.is_some() && *t != was {
                    *t = None;
                    second_round = true;
                }
            }
        }
        // Partitions of members out of the group (session expired) are
        // nobody's now (nothing to commit). A crashed member whose session
        // has not expired yet keeps its partitions, unread, and the
        // coordinator waits for it: Kafka's join phase completes only when
        // every known member has rejoined or been removed, so a rebalance
        // started meanwhile completes only after that member's session
        // expires (`on_session_expired` then plans it again without it).
        self.revoke_departed(g);
        let mut pending = BTreeSet::new();
        for (i, m) in self.streams.groups[gi].members.iter().enumerate() {
            let i = i as u32;
            if !m.in_group {
                continue;
            }
            if !m.alive {
                pending.insert(i); // awaited until its session expires
                continue;
            }
            let gives_up = self.streams.groups[gi]
                .parts
                .iter()
                .enumerate()
                .any(|(gp, p)| p.owner == Some(i) && (eager || target[gp] != Some(i)));
            if gives_up || m.leaving {
                pending.insert(i);
            }
        }
        self.streams.groups[gi].rebalance = Some(Rebalance {
            target,
            pending: pending.clone(),
            joining: BTreeSet::new(),
            owners_at_join,
            second_round,
        });
        for m in pending {
            let mem = &self.streams.groups[gi].members[m as usize];
            if mem.alive && !mem.busy && mem.batch.is_empty() {
                self.finish_revoke(g, m);
            }
        }
        self.maybe_rebalance_done(g);
    }

    /// Partitions of members out of the group (session expired, left after
    /// a poll timeout) are nobody's now (nothing to commit).
    fn revoke_departed(&mut self, g: u32) {
        let gi = g as usize;
        for gp in 0..self.streams.groups[gi].parts.len() as u32 {
            if let Some(o) = self.streams.groups[gi].parts[gp as usize].owner {
                if !self.streams.groups[gi].members[o as usize].in_group {
                    self.revoke(g, o, gp, false);
                }
            }
        }
    }

    /// `commit_on_rejoin`: commit the position of every partition member
    /// `m` owns, in partition order.
    pub(crate) fn commit_before_rejoin(&mut self, g: u32, m: u32) {
        let auto = matches!(self.gcfg(g).commit, CommitPolicy::Auto { .. });
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        // Nothing flagged, or switched away from auto-commit by a command meanwhile.
        if !std::mem::take(&mut mem.commit_on_rejoin) || !auto {
            return;
        }
        let owned = mem.owned.clone();
        for gp in owned {
            let pos = self.streams.groups[g as usize].parts[gp as usize].position;
            self.commit(g, gp, pos);
        }
    }

    /// Give up partition `gp` held by member `m`; `graceful` commits first.
    pub(crate) fn revoke(&mut self, g: u32, m: u32, gp: u32, graceful: bool) {
        if graceful {
            let pos = self.streams.groups[g as usize].parts[gp as usize].position;
            if self.gcfg(g).commit != CommitPolicy::BeforeProcessing {
                // The batch is finished, so the position is what was processed.
                self.commit(g, gp, pos);
            }
        }
        let grp = &mut self.streams.groups[g as usize];
        let p = &mut grp.parts[gp as usize];
        if let Some(o) = p.owner.take() {
            grp.members[o as usize].owned.retain(|&x| x != gp);
            self.unmark_fetchable(g, o, gp);
        }
        let grp = &mut self.streams.groups[g as usize];
        let p = &grp.parts[gp as usize];
        let (topic, partition) = (p.topic, p.partition);
        let tnode = self.streams.topics[topic as usize].node;
        let node = grp.node;
        self.trace.record(
            self.now,
            TraceKind::Revoked {
                member: m,
                topic: tnode,
                partition,
            },
            None,
            node,
        );
    }

    /// Member `m` finished its batch during a rebalance: revoke what it gives up.
    pub(crate) fn finish_revoke(&mut self, g: u32, m: u32) {
        // A transaction spanning polls commits before its partitions go.
        self.txn_flush(g, m);
        let gi = g as usize;
        let eager = self.eager(g);
        let Some(rb) = &self.streams.groups[gi].rebalance else {
            return;
        };
        let target = rb.target.clone();
        let leaving = self.streams.groups[gi].members[m as usize].leaving;
        // (During a join phase only a leaving member gets here, and the
        // target is not known yet: it gives up everything.)
        for gp in 0..self.streams.groups[gi].parts.len() as u32 {
            let owner = self.streams.groups[gi].parts[gp as usize].owner;
            let kept = target.get(gp as usize) == Some(&Some(m));
            if owner == Some(m) && (eager || leaving || !kept) {
                self.revoke(g, m, gp, true);
            }
        }
        let grp = &mut self.streams.groups[gi];
        if let Some(rb) = &mut grp.rebalance {
            rb.pending.remove(&m);
        }
        if leaving {
            let mem = &mut grp.members[m as usize];
            mem.in_group = false;
            mem.alive = false;
            mem.epoch = mem.epoch.wrapping_add(1);
        }
        self.maybe_rebalance_done(g);
    }

    pub(crate) fn maybe_rebalance_done(&mut self, g: u32) {
        let grp = &self.streams.groups[g as usize];
        if grp
            .rebalance
            .as_ref()
            .is_some_and(|rb| rb.planned() && rb.pending.is_empty())
        {
            let generation = grp.generation;
            let pause = self.gcfg(g).rebalance_pause.us();
            self.schedule_stream(
                self.now.after(pause),
                StreamEvent::RebalanceDone { g, generation },
            );
        }
    }

    pub(crate) fn on_rebalance_done(&mut self, g: u32, generation: u32) {
        let gi = g as usize;
        if self.streams.groups[gi].generation != generation {
            return;
        }
        let Some(rb) = self.streams.groups[gi].rebalance.take() else {
            return;
        };
        if !rb.planned() || !rb.pending.is_empty() {
            self.streams.groups[gi].rebalance = Some(rb);
            return;
        }
        for (gp, t) in rb.target.iter().enumerate() {
            let gp = gp as u32;
            let Some(m) = *t else { continue };
            let owner = self.streams.groups[gi].parts[gp as usize].owner;
            // A target that crashed meanwhile gets nothing: the session timeout
            // will start the next rebalance.
            if owner.is_none() && self.streams.groups[gi].members[m as usize].alive {
                self.assign(g, m, gp);
            }
        }
        let node = self.streams.groups[gi].node;
        self.trace.record(
            self.now,
            TraceKind::RebalanceCompleted { generation },
            None,
            node,
        );
        // The cooperative protocol's second round (started below): every
        // member rejoins at its poll boundary, at once if it is idle.
        let second_round = rb.second_round;
        // Every member's join completes here: Kafka's consumer restarts its
        // auto-commit timer then ("Reschedule the auto commit starting from
        // now", ConsumerCoordinator.onJoinComplete), so the next auto commit
        // is one interval after the rebalance, not on the old schedule.
        if matches!(self.gcfg(g).commit, CommitPolicy::Auto { .. }) {
            for m in 0..self.streams.groups[gi].members.len() as u32 {
                let mem = &self.streams.groups[gi].members[m as usize];
                if mem.alive && mem.in_group && !mem.leaving {
                    self.schedule_auto_commit(g, m);
                }
            }
        }
        if second_round && !self.active_members(g).is_empty() {
            self.start_rebalance(g);
        }
        for m in 0..self.streams.groups[gi].members.len() as u32 {
            self.poll(g, m);
        }
    }

    /// Give partition `gp` to member `m`, starting at the committed offset.
    fn assign(&mut self, g: u32, m: u32, gp: u32) {
        let (start, _) = self.log_bounds(g, gp);
        let latest = self.latest_offset(g, gp);
        // A retry topic holds only what this group put there: read it all.
        let reset = if self.retry_stage(g, gp) > 0 {
            OffsetReset::Earliest
        } else {
            self.gcfg(g).auto_offset_reset
        };
        let grp = &mut self.streams.groups[g as usize];
        let owned = &mut grp.members[m as usize].owned;
        if let Err(at) = owned.binary_search(&gp) {
            owned.insert(at, gp);
        }
        let p = &mut grp.parts[gp as usize];
        p.owner = Some(m);
        let first = !p.jump_is_loss;
        p.jump_is_loss = true;
        p.position = match (p.committed, reset) {
            (Some(c), _) => c,
            (None, OffsetReset::Earliest) => start,
            (None, OffsetReset::Latest) => latest,
        };
        self.mark_fetchable(g, gp);
        let grp = &mut self.streams.groups[g as usize];
        let p = &grp.parts[gp as usize];
        let (topic, partition) = (p.topic, p.partition);
        let node = grp.node;
        let tnode = self.streams.topics[topic as usize].node;
        self.trace.record(
            self.now,
            TraceKind::Assigned {
                member: m,
                topic: tnode,
                partition,
            },
            None,
            node,
        );
        self.note_skip(g, gp, first);
        self.txn_on_assign(g, m, gp);
    }
}
