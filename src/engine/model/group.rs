//! Consumer groups: membership, rebalance, fetch, processing, commits and lag.
//!
//!   join / leave / crash ──► start_rebalance ──assignor──► target owners
//!        members finish their batch, revoke (commit) ──► pause ──► RebalanceDone: assigned
//!   idle member ──poll──► fetched (≤ max_poll_records, from `position`) ──ServiceDone──► processed
//!        commit: auto (timer, the polled position) │ after processing (record / batch) │ before
//!
//! Reacts to: `StreamEvent::{ServiceDone, AutoCommit, SessionExpired, RebalanceDone}`;
//! commands `AddMember`, `RemoveMember`, `CrashMember`, `SeekGroup`; appends (topic.rs
//! calls `records_appended`) and partition growth (`group_partitions_changed`).
//!
//! Rules (Kafka's, simplified where the README's "Differences from Kafka" says):
//! - A rebalance takes effect at poll boundaries: a live member finishes the batch it
//!   polled, commits per its policy, then revokes. Eager (`range`, `round_robin`):
//!   every member stops fetching and revokes everything; after the last revocation
//!   and `rebalance_pause`, every partition is assigned. Cooperative
//!   (`cooperative_sticky`): only partitions that move are revoked and paused; the
//!   others keep flowing. As in Kafka it takes two rounds: the first assigns unowned
//!   partitions and revokes the ones moving between live members, the second (the
//!   next generation) runs the assignor again on what members own then.
//! - A crashed member loses its polled records uncommitted; its partitions are not
//!   read until the coordinator notices, exactly `session_timeout` after the crash.
//!   A rebalance started meanwhile (a join, a leave) waits for it too: it cannot
//!   complete before the crashed member's session expires.
//! - A new owner starts at the committed offset (`auto_offset_reset` without one), so
//!   the commit policy decides what a crash re-processes (`reprocessed`: processed
//!   again) or skips (`skipped`: never processed, jumped over).
//! - Within a partition a group processes records in offset order (one owner, one
//!   sequential batch).
//! - More members than partitions: the extra members own nothing and stay idle.
//!
//! Polling, processing and commits live in `fetch.rs`, seeks (replay) in
//! `seek.rs`, the membership commands (join, leave, crash, session expiry) in
//! `membership.rs`, rebalances (target, revoke, assign) in `rebalance.rs`;
//! this file owns the group's state, offsets and lag.

use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::metrics::Latency;
use crate::engine::prng::Stream;
use crate::engine::time::SimTime;
use crate::engine::trace::NodeId;
use crate::scenario::{self, Assignment, CommitPolicy};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One fetched record waiting in a member's batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fetched {
    pub(crate) gp: u32,
    pub(crate) offset: u64,
    pub(crate) msg: u64,
    pub(crate) published_us: u64,
    /// The record's key (a failed record keeps it when it moves to another topic).
    pub(crate) key: crate::engine::message::Sym,
}

#[derive(Clone, Debug)]
pub(crate) struct MemberState {
    /// The process is running.
    pub(crate) alive: bool,
    /// The coordinator counts it (false once it left or its session expired).
    pub(crate) in_group: bool,
    pub(crate) leaving: bool,
    /// Bumped at a crash or a cancelled record: stale events are ignored.
    pub(crate) epoch: u32,
    pub(crate) busy: bool,
    pub(crate) service_us: u64,
    pub(crate) batch: VecDeque<Fetched>,
    /// Next offset to commit per partition after this batch (`per: batch`),
    /// one entry per partition (a batch spans few: a vector, not a map, so
    /// the hot path does not allocate).
    pub(crate) batch_done: Vec<(u32, u64)>,
    /// Output records of the open transaction (`transactions.rs`).
    pub(crate) open_txn: Vec<super::transactions::TxnOut>,
    pub(crate) attempt: u32,
    pub(crate) processed: u64,
    /// The version of its head record's aggregate when it started the
    /// record (`event_store.rs`; 0 unless the output is versioned).
    pub(crate) read_version: u32,
    /// Version conflicts of its head record in the current attempt
    /// (`output.conflict_retries`; reset when the attempt ends).
    pub(crate) conflicts: u32,
    /// Where the next fetch starts among the owned partitions (fairness).
    pub(crate) cursor: usize,
    /// The group partitions it owns, ascending (mirrors `GroupPart::owner`,
    /// checked by `check_groups`; kept so a poll need not scan the group).
    pub(crate) owned: Vec<u32>,
    /// The owned partitions that may have records to fetch, ascending
    /// (`fetchable.rs`): a poll looks at these only.
    pub(crate) fetchable: Vec<u32>,
    pub(crate) stream: Stream,
    /// Spanning transactions, producer epochs held, pause (`txn_fence.rs`).
    pub(crate) txn: super::txn_fence::TxnMember,
    /// Auto-commit, cooperative rebalance: commit every owned partition's
    /// position at the next poll boundary (Kafka's `onJoinPrepare`).
    pub(crate) commit_on_rejoin: bool,
    /// Auto-commit: the interval ran out while the member was processing;
    /// it commits at its next poll (Kafka auto-commits only inside `poll()`,
    /// so what it commits has been processed) and restarts the interval.
    pub(crate) auto_commit_due: bool,
    /// Auto-commit: when the member's live interval runs out (`u64::MAX`:
    /// none). A tick due at another time is stale (a chain stopped by a
    /// switch of commit policy and started again before its tick), and a
    /// pause keeps the deadline, as Kafka's `nextAutoCommitTimer` does.
    pub(crate) auto_commit_at_us: u64,
    /// `max.poll.interval.ms` (`poll_timeout.rs`).
    pub(crate) poll_timer: super::poll_timeout::PollTimer,
}

/// A partition as a group sees it.
#[derive(Clone, Debug)]
pub(crate) struct GroupPart {
    pub(crate) topic: u32,
    pub(crate) partition: u32,
    pub(crate) owner: Option<u32>,
    /// Next offset to fetch (meaningful while owned).
    pub(crate) position: u64,
    pub(crate) committed: Option<u64>,
    /// Every offset below this was processed at least once by the group.
    pub(crate) processed_high: u64,
    /// A jump of the position here is a loss, not a start: some member of
    /// the group has owned it, or it was added while the group ran (records
    /// appended to it before the group resets are never read under
    /// `latest`, the loss Kafka's `auto.offset.reset` documentation warns
    /// of for a partition increase).
    pub(crate) jump_is_loss: bool,
    /// Retry topics: when a `RetryDue` wake-up is scheduled for (0: none).
    pub(crate) wake_us: u64,
    /// Read-process-write: inputs below this had an output written, and
    /// committed (visible to read_committed readers); see `transactions.rs`.
    pub(crate) out_high: u64,
    pub(crate) out_committed_high: u64,
    /// Its lag as last accounted into `GroupState::lag` (`lag.rs`).
    pub(crate) lag: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Rebalance {
    /// Target owner per group partition (empty while `joining` is not).
    pub(crate) target: Vec<Option<u32>>,
    /// Live members that still have to finish their batch and revoke.
    pub(crate) pending: BTreeSet<u32>,
    /// Cooperative protocol only: members that have not rejoined yet. The
    /// join phase lasts until every member has rejoined at its poll
    /// boundary (a crashed one is removed when its session expires); all
    /// the while every member keeps reading every partition it owns, and
    /// only then is the assignment computed and moved partitions revoked
    /// (`rebalance.rs`).
    pub(crate) joining: BTreeSet<u32>,
    /// Cooperative protocol: the owner of each group partition when the
    /// join phase completed, the owned partitions the members' JoinGroup
    /// requests carried. A re-plan of the same rebalance (a member joins or
    /// leaves meanwhile) starts from these, not from what was revoked since.
    pub(crate) owners_at_join: Vec<Option<u32>>,
    /// Cooperative protocol: this round revokes partitions that move from
    /// one live member to another and withholds them from `target`; the
    /// round that follows it assigns them (`rebalance.rs`).
    pub(crate) second_round: bool,
}

impl Rebalance {
    /// Past the join phase: the target assignment is known.
    pub(crate) fn planned(&self) -> bool {
        self.joining.is_empty()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GroupState {
    pub(crate) node: NodeId,
    pub(crate) topics: Vec<u32>,
    /// The `output` topic's index, resolved once at build (topics are never
    /// removed or reordered): read per processed record.
    pub(crate) output_topic: Option<u32>,
    pub(crate) parts: Vec<GroupPart>,
    pub(crate) members: Vec<MemberState>,
    pub(crate) generation: u32,
    pub(crate) rebalance: Option<Rebalance>,
    pub(crate) processed: u64,
    pub(crate) commits: u64,
    /// Read-process-write counters (`transactions.rs`).
    pub(crate) outputs: u64,
    pub(crate) duplicate_outputs: u64,
    pub(crate) duplicate_committed_outputs: u64,
    /// Event-store appends (`event_store.rs`): refused for a stale expected
    /// version, and (check off) appended on a stale version.
    pub(crate) version_conflicts: u64,
    pub(crate) stale_writes: u64,
    /// Attempts failed because a record met more version conflicts than
    /// `output.conflict_retries` allows.
    pub(crate) conflict_give_ups: u64,
    /// `(stale_writes, version_conflicts)` when `set_expected_version` last
    /// switched the check: neither count moves in the mode that forbids it.
    pub(crate) store_counts_at_switch: (u64, u64),
    /// Aggregate loads (`replay_per_event`), the events they replayed, and
    /// the snapshots the group's appends saved (`snapshot_every`).
    pub(crate) loads: u64,
    pub(crate) events_replayed: u64,
    pub(crate) snapshots: u64,
    pub(crate) txn_committed: u64,
    pub(crate) txn_aborted: u64,
    pub(crate) reprocessed: u64,
    /// Records processed for the first time after a later record of the
    /// same key (the queue ledger's `out_of_order`, by record id = publish
    /// order; a record processed again is `reprocessed` instead), and per key
    /// the latest record id processed (indexed by the key's `Sym`; 0: none).
    pub(crate) out_of_order: u64,
    pub(crate) last_by_key: Vec<u64>,
    pub(crate) skipped: u64,
    pub(crate) rebalances: u64,
    /// Members that left at a poll timeout (`poll_timeout.rs`).
    pub(crate) poll_timeouts: u64,
    pub(crate) lag_max: u64,
    /// Sum of the partitions' `lag` (`lag.rs`): the group's lag now.
    pub(crate) lag: u64,
    pub(crate) failed: u64,
    /// Failure handling (`on_failure`, see `recovery.rs`).
    pub(crate) failures: super::recovery::FailureState,
    /// Record time in system (publish → processed) for this group.
    pub(crate) latency: Latency,
    /// Producer epoch per group partition's transactional id (`txn_fence.rs`).
    pub(crate) producer_epochs: Vec<u32>,
    /// The group partition of each (topic, partition) it reads: `[t][part]`,
    /// empty for a topic it does not read (`index_parts`). An append looks
    /// its partition up here instead of scanning `parts`.
    pub(crate) gp_of: Vec<Vec<u32>>,
}

impl Engine {
    pub(crate) fn add_group(&mut self, g: &scenario::ConsumerGroup) {
        let gi = self.streams.groups.len() as u32;
        let (failures, retry_topics) = self.failure_state(g);
        // The group also reads its retry topics (Spring's retry-topic consumers).
        let topics: Vec<u32> = g
            .topics
            .iter()
            .map(|t| self.topic_index(t).expect("validated topic"))
            .chain(retry_topics)
            .collect();
        let mut parts = Vec::new();
        for &t in &topics {
            self.streams.topics[t as usize].readers.push(gi);
            for p in 0..self.streams.topics[t as usize].parts.len() as u32 {
                parts.push(GroupPart {
                    topic: t,
                    partition: p,
                    owner: None,
                    position: 0,
                    committed: None,
                    processed_high: 0,
                    jump_is_loss: false,
                    wake_us: 0,
                    out_high: 0,
                    out_committed_high: 0,
                    lag: 0,
                });
            }
        }
        let output_topic = g.output.as_ref().and_then(|o| self.topic_index(&o.topic));
        self.streams.groups.push(GroupState {
            node: self.node_id(&g.id),
            topics,
            output_topic,
            parts,
            members: Vec::new(),
            generation: 0,
            rebalance: None,
            processed: 0,
            commits: 0,
            reprocessed: 0,
            out_of_order: 0,
            last_by_key: Vec::new(),
            outputs: 0,
            duplicate_outputs: 0,
            duplicate_committed_outputs: 0,
            version_conflicts: 0,
            stale_writes: 0,
            conflict_give_ups: 0,
            store_counts_at_switch: (0, 0),
            loads: 0,
            events_replayed: 0,
            snapshots: 0,
            txn_committed: 0,
            txn_aborted: 0,
            skipped: 0,
            rebalances: 0,
            poll_timeouts: 0,
            lag_max: 0,
            lag: 0,
            failed: 0,
            failures,
            latency: Latency::default(),
            producer_epochs: Vec::new(),
            gp_of: Vec::new(),
        });
        self.index_parts(gi);
        self.refresh_group_lag(gi);
        for _ in 0..g.members {
            self.new_member(gi);
        }
        if g.members > 0 {
            self.start_rebalance(gi);
        }
    }

    pub(crate) fn gcfg(&self, g: u32) -> &scenario::ConsumerGroup {
        &self.cfg.consumer_groups[g as usize]
    }

    pub(crate) fn eager(&self, g: u32) -> bool {
        self.gcfg(g).assignment != Assignment::CooperativeSticky
    }

    pub(crate) fn new_member(&mut self, g: u32) -> u32 {
        let id = self.gcfg(g).id.clone();
        let grp = &mut self.streams.groups[g as usize];
        let m = grp.members.len() as u32;
        grp.members.push(MemberState {
            alive: true,
            in_group: true,
            leaving: false,
            epoch: 0,
            busy: false,
            service_us: 0,
            batch: VecDeque::new(),
            batch_done: Vec::new(),
            open_txn: Vec::new(),
            attempt: 0,
            processed: 0,
            cursor: 0,
            owned: Vec::new(),
            fetchable: Vec::new(),
            stream: Stream::new(self.seed, &format!("group:{id}:{m}")),
            txn: Default::default(),
            commit_on_rejoin: false,
            auto_commit_due: false,
            auto_commit_at_us: u64::MAX,
            poll_timer: Default::default(),
            read_version: 0,
            conflicts: 0,
        });
        self.schedule_auto_commit(g, m);
        m
    }

    /// Start the member's auto-commit interval (a commit left due by the old
    /// one is dropped: one chain per member).
    pub(crate) fn schedule_auto_commit(&mut self, g: u32, m: u32) {
        self.streams.groups[g as usize].members[m as usize].auto_commit_due = false;
        if let CommitPolicy::Auto { interval } = self.gcfg(g).commit {
            self.schedule_auto_commit_at(g, m, self.now.after(interval.us().max(1)));
        } else {
            self.streams.groups[g as usize].members[m as usize].auto_commit_at_us = u64::MAX;
        }
    }

    /// The member's auto-commit tick at `at` (the one live tick: an earlier
    /// one still in the agenda is stale from now on).
    pub(crate) fn schedule_auto_commit_at(&mut self, g: u32, m: u32, at: SimTime) {
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        mem.auto_commit_at_us = at.0;
        let epoch = mem.epoch;
        self.schedule_stream(at, StreamEvent::AutoCommit { g, m, epoch });
    }

    /// Partition `gp`'s log end and start offsets.
    #[inline]
    pub(crate) fn log_bounds(&self, g: u32, gp: u32) -> (u64, u64) {
        let p = &self.streams.groups[g as usize].parts[gp as usize];
        let log = &self.streams.topics[p.topic as usize].parts[p.partition as usize];
        // Readable up to the high watermark (`end` without replication).
        (log.start, log.hw)
    }

    /// Where `auto_offset_reset: latest` starts in partition `gp`: the high
    /// watermark, or for a `read_committed` group the last stable offset
    /// (the first record of a transaction still open, if any below the high
    /// watermark), as Kafka's ListOffsets answers LATEST
    /// (`Partition.fetchOffsetForTimestamp`), so committed records of that
    /// transaction are not skipped. A reset is rare: the scan is fine.
    pub(crate) fn latest_offset(&self, g: u32, gp: u32) -> u64 {
        let (_, end) = self.log_bounds(g, gp);
        if self.gcfg(g).isolation_level != crate::scenario::IsolationLevel::ReadCommitted {
            return end;
        }
        let p = &self.streams.groups[g as usize].parts[gp as usize];
        let log = &self.streams.topics[p.topic as usize].parts[p.partition as usize];
        log.records
            .iter()
            .take_while(|r| r.offset < end)
            .find(|r| r.txn() == super::transactions::TXN_OPEN)
            .map_or(end, |r| r.offset)
    }

    /// Lag of one group partition: log end − committed (no commit: from the log start).
    pub(crate) fn part_lag(&self, g: u32, gp: u32) -> u64 {
        let (start, end) = self.log_bounds(g, gp);
        let c = self.streams.groups[g as usize].parts[gp as usize]
            .committed
            .unwrap_or(start);
        end.saturating_sub(c)
    }

    /// Sum of `part_lag` over the group's partitions. It runs after every
    /// append (`lag_max`), so it walks the parts once instead of indexing the
    /// group again per partition as `part_lag` does.
    pub(crate) fn group_lag(&self, g: u32) -> u64 {
        let topics = &self.streams.topics;
        self.streams.groups[g as usize]
            .parts
            .iter()
            .map(|p| {
                let log = &topics[p.topic as usize].parts[p.partition as usize];
                log.hw.saturating_sub(p.committed.unwrap_or(log.start))
            })
            .sum()
    }

    /// Count never-processed records jumped over by the position (`skipped`).
    /// `first`: the partition's first owner ever is starting on it, on a
    /// partition that was there when the group started (`jump_is_loss`).
    pub(crate) fn note_skip(&mut self, g: u32, gp: u32, first: bool) {
        let grp = &mut self.streams.groups[g as usize];
        let p = &mut grp.parts[gp as usize];
        if p.position > p.processed_high {
            // A first start at `latest` without a commit is a choice, not a
            // loss; any later jump (a crash before the first commit,
            // retention, a new partition's reset past what was appended) is.
            if !first || p.committed.is_some() {
                grp.skipped += p.position - p.processed_high;
            }
            p.processed_high = p.position;
        }
    }

    /// A topic of group `g` grew: add its new partitions and rebalance.
    pub(crate) fn group_partitions_changed(&mut self, g: u32) {
        let gi = g as usize;
        // A partition added after the group ran (owned something) loses,
        // under `latest`, what was appended before its reset; one added
        // before the group ever ran starts as a choice, like the others.
        let ran = self.streams.groups[gi].parts.iter().any(|p| p.jump_is_loss);
        for t in self.streams.groups[gi].topics.clone() {
            let n = self.streams.topics[t as usize].parts.len() as u32;
            let have = self.streams.groups[gi]
                .parts
                .iter()
                .filter(|p| p.topic == t)
                .count() as u32;
            for p in have..n {
                self.streams.groups[gi].parts.push(GroupPart {
                    topic: t,
                    partition: p,
                    owner: None,
                    position: 0,
                    committed: None,
                    processed_high: 0,
                    jump_is_loss: ran,
                    wake_us: 0,
                    out_high: 0,
                    out_committed_high: 0,
                    lag: 0,
                });
            }
        }
        self.index_parts(g);
        self.refresh_group_lag(g);
        if !self.active_members(g).is_empty() {
            self.start_rebalance(g);
        }
    }

    /// Group invariants: committed ≤ log end; owners are members; no idle
    /// member holds up a cooperative join phase; outside a
    /// rebalance, with no crash awaiting detection, every partition has exactly one
    /// live owner (when the group has live members); a member's batch holds only
    /// its own partitions, in offset order per partition.
    pub(crate) fn check_groups(&self) -> Result<(), String> {
        for (gi, grp) in self.streams.groups.iter().enumerate() {
            let g = gi as u32;
            let id = &self.cfg.consumer_groups[gi].id;
            self.check_lag(g)?;
            self.check_fetchable(g)?;
            for (gp, p) in grp.parts.iter().enumerate() {
                let (_, end) = self.log_bounds(g, gp as u32);
                if p.committed.is_some_and(|c| c > end) {
                    return Err(format!(
                        "group {id}: partition {} committed {:?} > log end {end}",
                        p.partition, p.committed
                    ));
                }
                if let Some(o) = p.owner {
                    if o as usize >= grp.members.len() || !grp.members[o as usize].in_group {
                        return Err(format!(
                            "group {id}: partition {} owned by non-member {o}",
                            p.partition
                        ));
                    }
                    if p.position > end {
                        return Err(format!("group {id}: position past log end"));
                    }
                }
            }
            // Liveness of a cooperative join phase: a member waiting in
            // poll() (alive, idle, not paused by a transaction) has rejoined.
            if let Some(rb) = grp.rebalance.as_ref().filter(|rb| !rb.planned()) {
                for &m in &rb.joining {
                    let mem = &grp.members[m as usize];
                    if mem.alive && !mem.busy && mem.batch.is_empty() && !mem.txn.paused {
                        return Err(format!(
                            "group {id}: member {m} is idle but has not rejoined the join phase"
                        ));
                    }
                }
            }
            let awaiting = grp.members.iter().any(|m| !m.alive && m.in_group);
            let live = grp
                .members
                .iter()
                .any(|m| m.alive && m.in_group && !m.leaving);
            if grp.rebalance.is_none() && !awaiting && live {
                for p in &grp.parts {
                    match p.owner {
                        Some(o) if grp.members[o as usize].alive => {}
                        _ => {
                            return Err(format!(
                                "group {id}: after the rebalance partition {} has no live owner",
                                p.partition
                            ))
                        }
                    }
                }
            }
            for (mi, m) in grp.members.iter().enumerate() {
                let owned = (0..grp.parts.len() as u32)
                    .filter(|&gp| grp.parts[gp as usize].owner == Some(mi as u32));
                if !owned.eq(m.owned.iter().copied()) {
                    return Err(format!(
                        "group {id}: member {mi}'s owned list {:?} disagrees with the owners",
                        m.owned
                    ));
                }
                let left = m.poll_timer.left;
                if left && (m.in_group || !m.owned.is_empty()) {
                    return Err(format!(
                        "group {id}: member {mi} left at a poll timeout but is in the group or owns partitions"
                    ));
                }
                let mut last: BTreeMap<u32, u64> = BTreeMap::new();
                for f in &m.batch {
                    // One that left at a poll timeout finishes the batch it holds.
                    if !left && grp.parts[f.gp as usize].owner != Some(mi as u32) {
                        return Err(format!(
                            "group {id}: member {mi} holds a record of a partition it does not own"
                        ));
                    }
                    if last.get(&f.gp).is_some_and(|&o| f.offset <= o) {
                        return Err(format!(
                            "group {id}: member {mi}'s batch is out of offset order"
                        ));
                    }
                    last.insert(f.gp, f.offset);
                }
                if !m.alive && (m.busy || !m.batch.is_empty()) {
                    return Err(format!("group {id}: dead member {mi} holds records"));
                }
            }
        }
        Ok(())
    }
}
