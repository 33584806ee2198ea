//! Consumer-group rebalances: who the coordinator assigns to, the target
//! assignment from the group's assignor, revoking at poll boundaries, the
//! pause, and handing partitions out (split from `group.rs`, which owns the
//! group's state; the rules are in that file's header).
//!
//! Guarantees: a rebalance completes only when every member it waits for has
//! revoked what it gives up, a crashed member included until its session
//! expires; after it every partition has at most one live owner per group.

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

    /// The target assignment of the current rebalance and who must revoke
    /// first (again, when a member it waited for is removed: the join phase
    /// then completes with the members that are left, same generation).
    pub(crate) fn plan_rebalance(&mut self, g: u32) {
        let gi = g as usize;
        let members = self.active_members(g);
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
                for p in &grp.parts {
                    if let Some(o) = p.owner {
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
        // Partitions of members out of the group (session expired) are
        // nobody's now (nothing to commit). A crashed member whose session
        // has not expired yet keeps its partitions, unread, and the
        // coordinator waits for it: Kafka's join phase completes only when
        // every known member has rejoined or been removed, so a rebalance
        // started meanwhile completes only after that member's session
        // expires (`on_session_expired` then plans it again without it).
        for gp in 0..target.len() as u32 {
            if let Some(o) = self.streams.groups[gi].parts[gp as usize].owner {
                if !self.streams.groups[gi].members[o as usize].in_group {
                    self.revoke(g, o, gp, false);
                }
            }
        }
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
        });
        // Auto-commit: before it rejoins, every member commits the positions
        // of all its partitions (`ConsumerCoordinator.onJoinPrepare`), also
        // under the cooperative protocol, where it keeps most of them. At its
        // poll boundary: now if idle, else when its batch is done. (Eager
        // revokes, and so commits, everything anyway.)
        if !eager && matches!(self.gcfg(g).commit, CommitPolicy::Auto { .. }) {
            for m in 0..self.streams.groups[gi].members.len() as u32 {
                let mem = &mut self.streams.groups[gi].members[m as usize];
                if !mem.alive || !mem.in_group {
                    continue;
                }
                mem.commit_on_rejoin = true;
                if !mem.busy && mem.batch.is_empty() {
                    self.commit_before_rejoin(g, m);
                }
            }
        }
        for m in pending {
            let mem = &self.streams.groups[gi].members[m as usize];
            if mem.alive && !mem.busy && mem.batch.is_empty() {
                self.finish_revoke(g, m);
            }
        }
        self.maybe_rebalance_done(g);
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
        for gp in 0..target.len() as u32 {
            let owner = self.streams.groups[gi].parts[gp as usize].owner;
            if owner == Some(m) && (eager || leaving || target[gp as usize] != Some(m)) {
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
            .is_some_and(|rb| rb.pending.is_empty())
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
        if !rb.pending.is_empty() {
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
