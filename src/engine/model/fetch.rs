//! Consumer-group members at work: poll, process, commit, and lag upkeep.
//!
//!   idle member ──poll──► fetched (≤ max_poll_records per poll, from `position`,
//!        │                         partitions taken in turn for fairness; only
//!        │                         those that may have records, `fetchable.rs`)
//!        └─ StreamEvent::ServiceDone ──► processed (offset order) ──► commit per policy
//!                                   └──► failed ──► `recovery.rs` (retry, skip, move on)
//!   StreamEvent::AutoCommit ──► commit the polled position now if idle, else at the next poll (auto-commit)
//!   topic append ──records_appended──► wake the partition's owner, track lag_max
//!
//! The state types and the rebalance rules are in `group.rs`. A commit never
//! moves an offset back (`seek_group` is the only way back). `reprocessed`
//! counts records processed again; a record's time in system (publish →
//! processed) goes into the group's latency and the engine's end-to-end latency.

use super::group::{Fetched, GroupState};
use super::topic::{StreamEvent, Streams};
use super::transactions::{TXN_ABORTED, TXN_OPEN};
use crate::engine::core::{Engine, DELAY_US_MAX};
use crate::engine::time::delay_us_from_f64;
use crate::engine::trace::TraceKind;
use crate::scenario::{CommitPer, CommitPolicy, IsolationLevel, OffsetReset, Service};

impl Engine {
    /// An idle member polls its fetchable partitions.
    ///
    /// Inlined guard: about half the calls (every append to a partition whose
    /// owner is busy) find the member busy, so that answer costs no call and
    /// no configuration reads; the fetch itself is `poll_idle`.
    #[inline]
    pub(crate) fn poll(&mut self, g: u32, m: u32) {
        let mem = &self.streams.groups[g as usize].members[m as usize];
        if !mem.alive || !mem.in_group || mem.leaving || mem.busy || !mem.batch.is_empty() {
            return;
        }
        self.poll_idle(g, m);
    }

    /// `poll` for a member that is alive, in the group and has no batch.
    #[inline(never)]
    fn poll_idle(&mut self, g: u32, m: u32) {
        let gi = g as usize;
        // A member waiting in poll() rejoins a cooperative join phase at
        // once (`rebalance.rs`). The ways to go idle mid-rebalance rejoin
        // before they poll (`rebalance_at_poll_boundary`: a finished batch,
        // a seek that dropped one); this is the net behind them, one check.
        if self.streams.groups[gi]
            .rebalance
            .as_ref()
            .is_some_and(|rb| !rb.planned() && rb.joining.contains(&m))
        {
            self.rejoined(g, m);
        }
        let eager = self.eager(g);
        let max = self.gcfg(g).max_poll_records as usize;
        let reset = self.gcfg(g).auto_offset_reset;
        let read_committed = self.gcfg(g).isolation_level == IsolationLevel::ReadCommitted;
        let grp = &self.streams.groups[gi];
        let mem = &grp.members[m as usize];
        if let Some(rb) = &grp.rebalance {
            if eager || rb.pending.contains(&m) {
                return;
            }
        }
        // During a cooperative join phase every member reads all it owns,
        // as when no rebalance runs; once planned, only what it keeps.
        let planned = grp.rebalance.as_ref().filter(|rb| rb.planned());
        let cursor_raw = mem.cursor;
        if planned.is_none() && !mem.owned.is_empty() && mem.fetchable.is_empty() {
            // About a third of the polls (a member keeping up, after its
            // batch) find nothing: no owned partition may have records
            // (`fetchable.rs`). The outcome of the fetch below when it
            // passes over every partition, without setting it up.
            let len = mem.owned.len();
            self.streams.groups[gi].members[m as usize].cursor = cursor_raw % len + 1;
            self.txn_flush(g, m);
            return;
        }
        // Scratch vectors and the member's (empty) batch are reused, so a poll
        // allocates nothing once the run is warm. The partitions are taken in
        // turn from the member's cursor among its owned ones (fairness), and
        // of those only the ones that may have records are looked at: the
        // others would be passed over without a side effect. During a
        // cooperative rebalance, only those that stay with the member.
        let mut order = std::mem::take(&mut self.streams.scratch_parts);
        order.clear();
        let mem = &self.streams.groups[gi].members[m as usize];
        let planned = self.streams.groups[gi]
            .rebalance
            .as_ref()
            .filter(|rb| rb.planned());
        let cursor = match planned {
            None if mem.owned.is_empty() => None,
            None => {
                let cursor = cursor_raw % mem.owned.len();
                let first = mem.owned[cursor];
                let f = &mem.fetchable;
                let k = f.partition_point(|&gp| gp < first);
                order.extend_from_slice(&f[k..]);
                order.extend_from_slice(&f[..k]);
                Some(cursor)
            }
            Some(rb) => {
                order.extend(
                    mem.owned
                        .iter()
                        .copied()
                        .filter(|&gp| rb.target[gp as usize] == Some(m)),
                );
                (!order.is_empty()).then(|| {
                    let cursor = cursor_raw % order.len();
                    order.rotate_left(cursor);
                    cursor
                })
            }
        };
        let Some(cursor) = cursor else {
            self.streams.scratch_parts = order;
            return;
        };
        let mut batch = std::mem::take(&mut self.streams.groups[gi].members[m as usize].batch);
        let mut fetched = std::mem::take(&mut self.streams.scratch_fetched);
        fetched.clear();
        // A partition whose position moved past markers or aborted records
        // without a record to return.
        let mut passed_only = false;
        for &gp in &order {
            if batch.len() >= max {
                break;
            }
            // One look-up of the group partition and its log (this runs for
            // every partition a poll looks at).
            let p = &self.streams.groups[gi].parts[gp as usize];
            let (topic, partition, pos) = (p.topic, p.partition, p.position);
            let tstate = &self.streams.topics[topic as usize];
            let log = &tstate.parts[partition as usize];
            // Readable up to the high watermark (`log_bounds`).
            let (start, end) = (log.start, log.hw);
            if tstate.degraded > 0 && self.partition_offline(topic, partition) {
                continue; // no leader to fetch from
            }
            if pos >= end && pos >= start {
                self.unmark_fetchable(g, m, gp);
                continue; // nothing new here
            }
            if pos < start {
                // OffsetOutOfRange: retention deleted what this position pointed at.
                let to = match reset {
                    OffsetReset::Earliest => start,
                    OffsetReset::Latest => self.latest_offset(g, gp),
                };
                self.streams.groups[gi].parts[gp as usize].position = to;
                self.note_skip(g, gp, false);
            }
            let from = self.streams.groups[gi].parts[gp as usize].position;
            let log = &self.streams.topics[topic as usize].parts[partition as usize];
            let mut n = 0u32;
            let mut next = from;
            let delay_us = self.retry_delay_us(g, gp);
            let mut wake = None;
            let mut passed = false;
            for r in log.records.range(log.index_from(from)..) {
                if batch.len() >= max || r.offset >= log.hw {
                    break;
                }
                // Transactions (`transactions.rs`): markers are never returned;
                // read_committed stops at the last stable offset (the first
                // open record) and passes over aborted records.
                if r.is_marker() || (read_committed && r.txn() == TXN_ABORTED) {
                    next = r.offset + 1;
                    passed = true;
                    continue;
                }
                if read_committed && r.txn() == TXN_OPEN {
                    break;
                }
                if let Some(d) = delay_us {
                    // A retry topic's consumer waits until the record's back-off is due.
                    let due = log.appended_us(r).saturating_add(d);
                    if due > self.now.0 {
                        wake = Some(due);
                        break;
                    }
                }
                batch.push_back(Fetched {
                    gp,
                    offset: r.offset,
                    msg: r.msg,
                    published_us: r.published_us,
                    key: r.key,
                });
                next = r.offset + 1;
                n += 1;
            }
            if n > 0 || passed {
                self.streams.groups[gi].parts[gp as usize].position = next;
            }
            // Drained to the high watermark: the next poll would pass over it
            // and drop it from the set; drop it now, so that poll (usually the
            // one right after this batch) takes the no-records path.
            if wake.is_none() && next >= end && next >= start {
                self.unmark_fetchable(g, m, gp);
            }
            passed_only |= n == 0 && passed;
            if n > 0 {
                fetched.push((gp, from, n));
            }
            if let Some(due) = wake {
                self.wake_at(g, gp, due);
            }
        }
        self.streams.scratch_parts = order;
        let grp = &mut self.streams.groups[gi];
        grp.members[m as usize].cursor = cursor + 1;
        if batch.is_empty() {
            grp.members[m as usize].batch = batch;
            self.streams.scratch_fetched = fetched;
            if passed_only {
                self.commit_passed(g, m);
            }
            // Nothing new: a transaction spanning polls commits (`txn_fence.rs`).
            self.txn_flush(g, m);
            return;
        }
        let node = grp.node;
        for &(gp, from, count) in &fetched {
            let p = &grp.parts[gp as usize];
            let tnode = self.streams.topics[p.topic as usize].node;
            self.trace.record(
                self.now,
                TraceKind::Fetched {
                    member: m,
                    topic: tnode,
                    partition: p.partition,
                    from,
                    count,
                },
                None,
                node,
            );
        }
        let mem = &mut self.streams.groups[gi].members[m as usize];
        mem.batch = batch;
        mem.batch_done.clear();
        self.poll_timer_restart(g, m);
        if self.gcfg(g).commit == CommitPolicy::BeforeProcessing {
            for &(gp, _, _) in &fetched {
                let pos = self.streams.groups[gi].parts[gp as usize].position;
                self.commit(g, gp, pos);
            }
            // The `commitSync()` between poll and processing commits every
            // assigned position, as after a batch (`commit_other_positions`).
            self.commit_other_positions(g, m);
        }
        self.streams.scratch_fetched = fetched;
        self.start_record(g, m);
    }

    /// An empty poll moved member `m`'s position past transaction markers or
    /// aborted records: a group that commits after each poll's batch, or
    /// between poll and processing, commits that position (the consumer's
    /// `commitSync()` after the poll), so a drained partition of a
    /// transactional topic shows lag 0. Offsets that wait for the group's
    /// own transaction (`transactions.rs`) are left to it.
    #[cold]
    fn commit_passed(&mut self, g: u32, m: u32) {
        let per_batch = matches!(
            self.gcfg(g).commit,
            CommitPolicy::AfterProcessing {
                per: CommitPer::Batch
            } | CommitPolicy::BeforeProcessing
        );
        let own_txn = self
            .gcfg(g)
            .output
            .as_ref()
            .is_some_and(|o| o.transactional);
        if !per_batch || own_txn {
            return;
        }
        let owned = self.streams.groups[g as usize].members[m as usize]
            .owned
            .clone();
        for gp in owned {
            let pos = self.streams.groups[g as usize].parts[gp as usize].position;
            self.commit(g, gp, pos);
        }
    }

    /// After a batch, the consumer's `commitSync()` commits the position of
    /// every partition it is assigned (`allConsumed()`), not only of those
    /// the batch held: a partition whose position only a reset set (or that
    /// was never committed) gets it committed too, so its lag is 0 and a
    /// later owner resumes there instead of resetting again. Not with a
    /// transactional output, whose offsets are the transaction's.
    fn commit_other_positions(&mut self, g: u32, m: u32) {
        let grp = &self.streams.groups[g as usize];
        let stale = |gp: u32| {
            let p = &grp.parts[gp as usize];
            p.owner == Some(m) && p.committed.is_none_or(|c| p.position > c)
        };
        if !grp.members[m as usize].owned.iter().any(|&gp| stale(gp))
            || self
                .gcfg(g)
                .output
                .as_ref()
                .is_some_and(|o| o.transactional)
        {
            return;
        }
        let owned = grp.members[m as usize].owned.clone();
        for gp in owned {
            let pos = self.streams.groups[g as usize].parts[gp as usize].position;
            self.commit(g, gp, pos);
        }
    }

    pub(crate) fn start_record(&mut self, g: u32, m: u32) {
        self.read_version(g, m);
        // Loading the aggregate from an event store (`event_store.rs`).
        let replay_us = self.replay_us(g, m);
        let cfg = self.gcfg(g);
        let service = cfg
            .member_service
            .iter()
            .find(|x| x.member == m)
            .map_or(&cfg.service, |x| &x.service)
            .clone();
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        let us = match &service {
            Service::Constant(d) => d.us() as f64,
            Service::Uniform([a, b]) => {
                let (lo, hi) = (a.us().min(b.us()) as f64, a.us().max(b.us()) as f64);
                lo + (hi - lo) * mem.stream.unit()
            }
            Service::Exponential(mean) => mem.stream.exponential(mean.us() as f64),
            Service::LogNormal { median, sigma } => {
                mem.stream.log_normal(median.us() as f64, *sigma)
            }
        };
        let service_us = (delay_us_from_f64(us, DELAY_US_MAX).max(1) + replay_us).min(DELAY_US_MAX);
        mem.busy = true;
        mem.service_us = service_us;
        let epoch = mem.epoch;
        self.schedule_stream(
            self.now.after(service_us),
            StreamEvent::ServiceDone { g, m, epoch },
        );
        self.poll_timer_check(g, m, service_us);
    }

    pub(crate) fn on_member_service_done(&mut self, g: u32, m: u32, epoch: u32) {
        let gi = g as usize;
        let failure_rate = self.gcfg(g).failure_rate;
        let grp = &mut self.streams.groups[gi];
        let mem = &mut grp.members[m as usize];
        if mem.epoch != epoch || !mem.alive || !mem.busy {
            return;
        }
        let Some(&rec) = mem.batch.front() else {
            mem.busy = false;
            return;
        };
        if failure_rate > 0.0 && mem.stream.chance(failure_rate) {
            self.attempt_failed(g, m, rec);
            return;
        }
        // An event store refused the append: processed again, or the
        // attempt failed after too many conflicts (`event_store.rs`).
        if self.version_conflict(g, m, rec) {
            return;
        }
        self.record_done(g, m, rec, true);
    }

    /// Member `m`'s attempt at its head record `rec` failed: counted and
    /// traced, then retried in place, skipped, or moved to another topic
    /// (`recovery.rs`).
    pub(crate) fn attempt_failed(&mut self, g: u32, m: u32, rec: super::group::Fetched) {
        let grp = &mut self.streams.groups[g as usize];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        mem.attempt += 1;
        mem.conflicts = 0;
        let attempt = mem.attempt;
        grp.failed += 1;
        self.totals.failed += 1;
        self.trace.record(
            self.now,
            TraceKind::Failed {
                instance: m,
                attempt,
            },
            Some(rec.msg),
            node,
        );
        self.record_failed(g, m, rec, attempt);
    }

    /// Member `m` is done with its head record `rec`: `processed`, or given up
    /// on (skipped or moved to another topic). Either way the partition moves
    /// on and commits past it; then the next record, or the next poll.
    pub(crate) fn record_done(
        &mut self,
        g: u32,
        m: u32,
        rec: super::group::Fetched,
        processed: bool,
    ) {
        let gi = g as usize;
        let commit = self.gcfg(g).commit.clone();
        let stage = if processed {
            self.retry_stage(g, rec.gp)
        } else {
            0
        };
        let grp = &mut self.streams.groups[gi];
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        mem.attempt = 0;
        mem.conflicts = 0;
        mem.batch.pop_front();
        mem.processed += processed as u64;
        mem.busy = false;
        let service_us = mem.service_us;
        match mem.batch_done.iter_mut().find(|(gp, _)| *gp == rec.gp) {
            Some(done) => done.1 = rec.offset + 1,
            None => mem.batch_done.push((rec.gp, rec.offset + 1)),
        }
        let last_of_batch = mem.batch.is_empty();
        // Out of the group since a poll timeout: every commit fails.
        let left = mem.poll_timer.left;
        let p = &mut grp.parts[rec.gp as usize];
        if !processed {
            p.processed_high = p.processed_high.max(rec.offset + 1);
        } else {
            let again = rec.offset < p.processed_high;
            if again {
                grp.reprocessed += 1;
            } else {
                p.processed_high = rec.offset + 1;
            }
            grp.processed += 1;
            // A record processed again (after a crash, a seek) is a
            // duplicate, counted above, not a record overtaken by a later one.
            if rec.key != crate::engine::message::NO_SYM && !again {
                // Interned keys are dense indices: a vector, not a map, per record.
                let k = rec.key as usize;
                if k >= grp.last_by_key.len() {
                    grp.last_by_key.resize(k + 1, 0);
                }
                let last = &mut grp.last_by_key[k];
                if rec.msg < *last {
                    // A copy a producer's retry appended again is a
                    // duplicate of a record processed before it (lower
                    // offset, same partition), not a reordering.
                    let p = &grp.parts[rec.gp as usize];
                    let log = &self.streams.topics[p.topic as usize].parts[p.partition as usize];
                    let dup = log
                        .records
                        .get(log.index_from(rec.offset))
                        .is_some_and(|r| r.offset == rec.offset && r.is_duplicate());
                    if !dup {
                        grp.out_of_order += 1;
                    }
                } else {
                    *last = rec.msg;
                }
            }
            if stage > 0 {
                grp.failures.recovered += 1;
            }
            let e2e = self.now.0.saturating_sub(rec.published_us);
            grp.latency.record(e2e);
            self.totals.processed += 1;
            self.end_to_end.record(e2e);
            self.interval.record(e2e);
            self.trace.record(
                self.now,
                TraceKind::Processed {
                    instance: m,
                    service_us,
                },
                Some(rec.msg),
                node,
            );
            if self.cfg.consumer_groups[gi].output.is_some() {
                self.produce_output(g, m, rec);
            }
        }
        match commit {
            _ if left => {}
            CommitPolicy::AfterProcessing {
                per: CommitPer::Record,
            } => self.commit(g, rec.gp, rec.offset + 1),
            CommitPolicy::AfterProcessing {
                per: CommitPer::Batch,
            } if last_of_batch && self.txn_spans_polls(g) => {
                // The offsets wait for the transaction's end (`txn_fence.rs`).
                self.txn_batch_done(g, m);
            }
            CommitPolicy::AfterProcessing {
                per: CommitPer::Batch,
            } if last_of_batch => {
                // In partition order, as a map would give them; the vector goes
                // back afterwards so its allocation is reused.
                let mut done =
                    std::mem::take(&mut self.streams.groups[gi].members[m as usize].batch_done);
                done.sort_unstable_by_key(|&(gp, _)| gp);
                for &(gp, next) in &done {
                    // The consumer commits its position, which the fetch
                    // moved past transaction markers and aborted records
                    // after the batch's last record (`FetchCollector`), so a
                    // drained partition ends with lag 0. Only while it still
                    // owns the partition: a new owner's position is not its.
                    let p = &self.streams.groups[gi].parts[gp as usize];
                    let next = if p.owner == Some(m) {
                        next.max(p.position)
                    } else {
                        next
                    };
                    self.commit(g, gp, next);
                }
                done.clear();
                let mem = &mut self.streams.groups[gi].members[m as usize];
                if mem.batch_done.is_empty() {
                    mem.batch_done = done;
                }
                self.commit_other_positions(g, m);
                // The batch's outputs commit with its offsets (`transactions.rs`).
                self.commit_txn(g, m);
            }
            _ => {}
        }
        if last_of_batch {
            self.batch_finished(g, m);
        } else {
            self.start_record(g, m);
        }
    }

    /// A member's batch is done: revoke if a rebalance waits for it, then poll.
    pub(crate) fn batch_finished(&mut self, g: u32, m: u32) {
        if self.streams.groups[g as usize].members[m as usize]
            .poll_timer
            .left
        {
            // Its commit fails; its next poll rejoins the group.
            self.poll_timeout_rejoin(g, m);
            self.poll(g, m);
            return;
        }
        if self.streams.groups[g as usize].members[m as usize].commit_on_rejoin {
            self.commit_before_rejoin(g, m);
        }
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        if std::mem::take(&mut mem.auto_commit_due)
            && matches!(
                self.cfg.consumer_groups[g as usize].commit,
                CommitPolicy::Auto { .. }
            )
        {
            self.auto_commit_now(g, m);
        }
        self.rebalance_at_poll_boundary(g, m);
        self.poll(g, m);
    }

    /// Member `m` is at its poll boundary (its batch finished, or a seek
    /// dropped what was left of it): a rebalance waiting for it gets its
    /// revocation (a leaving member leaves) and, in a cooperative join
    /// phase, its rejoin.
    pub(crate) fn rebalance_at_poll_boundary(&mut self, g: u32, m: u32) {
        let pending = self.streams.groups[g as usize]
            .rebalance
            .as_ref()
            .is_some_and(|rb| rb.pending.contains(&m));
        if pending {
            self.finish_revoke(g, m);
        }
        self.rejoined(g, m);
    }

    /// Commit `offset` for group partition `gp` (never backwards; seek resets directly).
    pub(crate) fn commit(&mut self, g: u32, gp: u32, offset: u64) {
        let grp = &mut self.streams.groups[g as usize];
        let p = &mut grp.parts[gp as usize];
        if p.committed.is_some_and(|c| c >= offset) {
            return;
        }
        p.committed = Some(offset);
        grp.commits += 1;
        let (topic, partition) = (p.topic, p.partition);
        let node = grp.node;
        let tnode = self.streams.topics[topic as usize].node;
        self.refresh_part_lag(g, gp);
        self.trace.record(
            self.now,
            TraceKind::Committed {
                topic: tnode,
                partition,
                offset,
            },
            None,
            node,
        );
    }

    pub(crate) fn on_auto_commit(&mut self, g: u32, m: u32, epoch: u32) {
        let auto = matches!(self.gcfg(g).commit, CommitPolicy::Auto { .. });
        let now_us = self.now.0;
        let mem = &mut self.streams.groups[g as usize].members[m as usize];
        // A tick of an old chain (the member's epoch moved on, or the chain
        // was restarted at another deadline) is stale.
        if mem.epoch != epoch || !mem.alive || mem.auto_commit_at_us != now_us {
            return;
        }
        mem.auto_commit_at_us = u64::MAX;
        // Switched to another commit policy by a command: the chain stops.
        if !auto {
            return;
        }
        // Kafka auto-commits inside `poll()` only (ConsumerCoordinator.poll →
        // maybeAutoCommitOffsetsAsync): a member busy with its batch commits
        // at its next poll, when every record it was given is processed. An
        // idle member is blocked in poll, whose loop commits on time.
        if mem.busy || !mem.batch.is_empty() {
            mem.auto_commit_due = true;
            return;
        }
        self.auto_commit_now(g, m);
    }

    /// Commit every owned partition's position and restart the interval.
    fn auto_commit_now(&mut self, g: u32, m: u32) {
        let owned: Vec<(u32, u64)> = self.streams.groups[g as usize]
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.owner == Some(m))
            .map(|(gp, p)| (gp as u32, p.position))
            .collect();
        for (gp, pos) in owned {
            self.commit(g, gp, pos);
        }
        self.schedule_auto_commit(g, m);
    }

    /// New records in a partition: wake its owner in every reading group, update lag.
    pub(crate) fn records_appended(&mut self, t: u32, part: u32) {
        // By index: polling never changes who reads a topic.
        for i in 0..self.streams.topics[t as usize].readers.len() {
            let g = self.streams.topics[t as usize].readers[i];
            // The high watermark moved: re-account the partition's lag in the
            // group's running sum (`refresh_part_lag`, written out over split
            // borrows: this runs per append), and find its owner.
            let Some(gp) = self.gp_of(g, t, part) else {
                continue;
            };
            let Streams { topics, groups, .. } = &mut self.streams;
            let log = &topics[t as usize].parts[part as usize];
            let GroupState { parts, lag, .. } = &mut groups[g as usize];
            let p = &mut parts[gp as usize];
            let now_lag = log.hw.saturating_sub(p.committed.unwrap_or(log.start));
            *lag = *lag - p.lag + now_lag;
            p.lag = now_lag;
            if let Some(m) = p.owner {
                self.mark_fetchable(g, gp);
                self.poll(g, m);
            }
            let grp = &mut self.streams.groups[g as usize];
            grp.lag_max = grp.lag_max.max(grp.lag);
        }
    }
}
