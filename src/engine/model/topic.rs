//! Topics: partitioned, append-only logs with offsets, retention and compaction.
//!
//!   batch ──append_batch──► partition log [start … end) ──► groups read by offset
//!                                 │
//!   StreamEvent::Cleanup ─────────┤ retention: drop the head (time / records), move `start`
//!   StreamEvent::Compact ─────────┘ compaction: keep the latest record per key; a
//!                                   latest tombstone goes `delete_retention` after its append
//!
//! Reacts to: `StreamEvent::{Cleanup, Compact}`; command `IncreasePartitions`.
//! Exports: `append_batch` / `append_one` (producers, and groups moving failed
//! records to retry and dead-letter topics), `PartitionLog::index_from` (groups).
//!
//! Guarantees (checked by `check_topics`): offsets in a partition only grow; without
//! compaction the kept records are exactly `[start, end)`, contiguous; with it they
//! are increasing and inside `[start, end)`. A record is a plain value here, not a
//! message of the AMQP arena: consuming it does not remove it, only retention and
//! compaction do, so it is outside the message ledger (its id comes from the same
//! counter, so trace ids stay unique).
//! Limit: at most `RECORDS_RETAINED_MAX` records are kept over all topics; past it,
//! an append deletes the head of its partition first (traced as retention).

use crate::engine::core::Engine;
use crate::engine::message::{Sym, NO_SYM};
use crate::engine::time::SimTime;
use crate::engine::trace::{NodeId, TraceKind};
use std::collections::{BTreeMap, VecDeque};

use super::batch::TopicProducer;
use super::group::GroupState;

/// Records kept at once over all topics (memory bound).
pub const RECORDS_RETAINED_MAX: u64 = 2_000_000;
/// Default interval of the time-retention check.
const RETENTION_CHECK_US: u64 = 1_000_000;
/// Default compaction interval.
const COMPACTION_US: u64 = 10_000_000;
/// Default `delete.retention.ms` (Kafka's: one day).
const DELETE_RETENTION_US: u64 = 86_400_000_000;

use super::record::LateAppends;
pub(crate) use super::record::Record;
use super::transactions::{TXN_ABORTED, TXN_OPEN};

/// One partition: records in offset order, log start and end offsets.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartitionLog {
    pub(crate) records: VecDeque<Record>,
    /// Log start offset: the first offset that may still be read.
    pub(crate) start: u64,
    /// Log end offset: the offset the next record gets.
    pub(crate) end: u64,
    /// High watermark: every in-sync replica has `[start, hw)`; consumers
    /// read only below it (equal to `end` without replication).
    pub(crate) hw: u64,
    pub(crate) retention_deleted: u64,
    pub(crate) compacted: u64,
    /// Tombstones removed by compaction (each deleted its key for good).
    pub(crate) tombstones_removed: u64,
    /// Tombstones kept now.
    pub(crate) tombstones: u64,
    /// Append times that did not pack into their record (`record.rs`).
    pub(crate) late_appends: LateAppends,
    /// Compacted topics only: each kept transaction marker's offset and the
    /// offsets of its transaction's records in this partition, in offset
    /// order. Kafka's cleaner keeps a marker while any record of its
    /// transaction is left (`CleanedTransactionMetadata.onControlBatchRead`),
    /// then treats it as a tombstone; a record carries no transaction id, so
    /// the marker remembers its records here. (A sorted `Vec`, not a map:
    /// markers arrive in offset order, and a map of vectors would add its
    /// own copy of the B-tree code to the wasm.)
    pub(crate) txn_markers: Vec<(u64, Vec<u64>)>,
    /// Replicated topics only: transactions whose marker is not yet below
    /// the high watermark, oldest first. Their records stay open (a
    /// `read_committed` reader stops at them) until it is: Kafka's last
    /// stable offset counts a transaction as unstable until its marker is
    /// replicated (`ProducerStateManager.unreplicatedTxns`, completed in
    /// `onHighWatermarkUpdated`).
    pub(crate) unsettled_txns: Vec<super::transactions::UnsettledTxn>,
}

impl PartitionLog {
    /// The kept record with the smallest offset ≥ `offset`, as an index into `records`.
    ///
    /// O(1) where the kept records are contiguous (every log without compaction):
    /// offsets strictly increase, so if the record `offset − first` places after
    /// the first has offset `offset`, no offset is missing before it. Elsewhere
    /// (compacted logs) a binary search, which on a long log costs a cache miss
    /// per step: this was most of a Kafka run's time.
    #[inline]
    pub(crate) fn index_from(&self, offset: u64) -> usize {
        // First guess from the log start offset, which is kept here: where
        // the first kept record sits at it (every log that compaction has not
        // thinned at its head), this answers without reading that record, a
        // cache line a long log has long evicted. A record found at its guess
        // is the answer whatever came before it: offsets strictly increase.
        if let Some(r) = offset
            .checked_sub(self.start)
            .and_then(|d| self.records.get(d as usize))
        {
            if r.offset == offset {
                return (offset - self.start) as usize;
            }
        }
        let Some(first) = self.records.front() else {
            return 0;
        };
        if offset <= first.offset {
            return 0;
        }
        let guess = (offset - first.offset) as usize;
        match self.records.get(guess) {
            Some(r) if r.offset == offset => guess,
            None if self.records.back().is_some_and(|r| r.offset < offset) => self.records.len(),
            _ => self.records.partition_point(|r| r.offset < offset),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TopicState {
    pub(crate) node: NodeId,
    pub(crate) parts: Vec<PartitionLog>,
    /// Groups reading this topic (indices into `Streams::groups`).
    pub(crate) readers: Vec<u32>,
    /// Replication and produce bookkeeping per partition (`replication.rs`).
    pub(crate) repl: Vec<super::replication::PartRepl>,
    /// The topic has followers (`replication`): the high watermark lags.
    pub(crate) replicated: bool,
    /// Partitions with a replica down (a crashed leader not yet back).
    pub(crate) degraded: u32,
    /// A group's retry or dead-letter topic: its records are produced anew
    /// when moved, so their timestamp is their append time (retention).
    pub(crate) recovery_target: bool,
    /// Appends per key ever (`event_store.rs`), for a topic some group
    /// writes with `expected_version`; None elsewhere.
    pub(crate) versions: Option<Vec<u32>>,
}

/// All log-based state: topics, groups, topic producers, batches in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Streams {
    pub(crate) topics: Vec<TopicState>,
    pub(crate) groups: Vec<GroupState>,
    /// Per producer index; `Some` for producers that publish to a topic.
    pub(crate) producers: Vec<Option<TopicProducer>>,
    /// Batches sent with latency, by batch id, waiting to be appended.
    pub(crate) in_flight: BTreeMap<u32, (u32, u32, u32, Vec<Record>)>,
    /// Batches a producer waits to hear about (`replication.rs`), by id.
    pub(crate) tracked: BTreeMap<u32, super::replication::Tracked>,
    pub(crate) next_batch: u32,
    pub(crate) retained: u64,
    /// Records published by topic producers (also in `Totals::published`, but
    /// outside the message ledger: see the module header).
    pub(crate) records_published: u64,
    /// Scratch space of `poll` (group partitions; fetched runs), kept to reuse
    /// its allocation; `poll` clears it first, its contents mean nothing.
    pub(crate) scratch_parts: Vec<u32>,
    pub(crate) scratch_fetched: Vec<(u32, u64, u32)>,
    /// Stalled followers and held high watermarks per (topic, partition) (`isr.rs`).
    pub(crate) isr: BTreeMap<(u32, u32), super::isr::IsrPart>,
    /// Kafka's positive murmur2 of each interned key, by `Sym` (`KEY_HASH_UNKNOWN`:
    /// not computed yet): a keyed producer hashes the same few keys for
    /// every record, so each key is hashed once (`batch::choose_partition`).
    pub(crate) key_hash: Vec<u32>,
}

/// Scheduled work of the log-based models (one `Event::Stream` variant in the core).
#[derive(Clone, Copy, Debug)]
pub(crate) enum StreamEvent {
    /// A producer's open batch for a partition lingered long enough.
    LingerDue { p: u32, part: u32, batch: u32 },
    /// A batch sent with latency reaches the broker.
    BatchArrive { batch: u32 },
    /// A batch the broker finished storing (`broker_costs`).
    BatchStored { batch: u32 },
    /// Time retention check of a topic.
    Cleanup { t: u32 },
    /// Compaction run of a topic.
    Compact { t: u32 },
    /// A group member finished processing its current record.
    ServiceDone { g: u32, m: u32, epoch: u32 },
    /// Auto-commit timer of a member.
    AutoCommit { g: u32, m: u32, epoch: u32 },
    /// The coordinator notices a crashed member (session timeout).
    SessionExpired { g: u32, m: u32, epoch: u32 },
    /// A rebalance's pause is over.
    RebalanceDone { g: u32, generation: u32 },
    /// A member's back-off before retrying its head record in place is over.
    BackoffDone { g: u32, m: u32, epoch: u32 },
    /// The head record of a retry-topic partition is due.
    RetryDue { g: u32, gp: u32 },
    /// A producer's batch is due to be sent again (no answer, or an error).
    ProduceRetry { batch: u32 },
    /// The request timeout of an `acks=all` batch waiting for the high watermark.
    HwWaitTimeout { batch: u32, wait: u32 },
    /// The in-sync followers have the partition's oldest unreplicated batch.
    Replicated { t: u32, part: u32, epoch: u32 },
    /// A crashed partition leader's replica is back.
    LeaderBack { t: u32, part: u32, epoch: u32 },
    /// A paused member's pause is over (`txn_fence.rs`).
    PauseEnded { g: u32, m: u32, epoch: u32 },
    /// A paused member's session timed out: the group evicts it.
    PauseEvicted { g: u32, m: u32, epoch: u32 },
    /// `transaction_timeout` after a crashed member's transaction began (`txn_fence.rs`).
    TxnTimeout { g: u32, m: u32, txn: u32 },
    /// `max_poll_interval` after a member's poll (`poll_timeout.rs`).
    PollTimeout { g: u32, m: u32, poll: u32 },
    /// `replica_lag_max` after a follower stalled (`isr.rs`).
    IsrLagCheck { t: u32, part: u32, stall: u32 },
    /// A stalled follower fetches again (`isr.rs`).
    StallEnds { t: u32, part: u32, stall: u32 },
    /// A stalled follower has caught up to the leader's log end (`isr.rs`).
    FollowerCaughtUp { t: u32, part: u32, stall: u32 },
}

impl Engine {
    /// Build the topics, the topic producers and the groups (called by `Engine::new`).
    pub(crate) fn build_streams(&mut self) {
        let cfg = self.cfg.clone();
        for (i, t) in cfg.topics.iter().enumerate() {
            self.streams.topics.push(TopicState {
                node: self.node_id(&t.id),
                parts: vec![PartitionLog::default(); t.partitions as usize],
                readers: Vec::new(),
                repl: vec![
                    super::replication::PartRepl {
                        isr: 1 + t.replication.map_or(0, |r| r.in_sync_followers()),
                        ..Default::default()
                    };
                    t.partitions as usize
                ],
                replicated: t.replication.is_some_and(|r| r.in_sync_followers() > 0),
                degraded: 0,
                recovery_target: cfg.consumer_groups.iter().any(|g| {
                    g.on_failure
                        .as_ref()
                        .is_some_and(|f| f.target_topics().contains(&t.id.as_str()))
                }),
                versions: self.versions_for(&t.id),
            });
            if t.active_retention().is_some_and(|r| r.time.is_some()) {
                let every = self.retention_check_us(i as u32);
                self.schedule_stream(SimTime(every), StreamEvent::Cleanup { t: i as u32 });
            }
            if t.cleanup.compacts() {
                let every = t.compaction_interval.map_or(COMPACTION_US, |d| d.us());
                self.schedule_stream(SimTime(every), StreamEvent::Compact { t: i as u32 });
            }
        }
        self.streams.producers = vec![None; cfg.producers.len()];
        for (i, p) in cfg.producers.iter().enumerate() {
            if let Some(t) = self.topic_index(&p.to) {
                self.streams.producers[i] = Some(TopicProducer::new(t));
            }
        }
        for g in &cfg.consumer_groups {
            self.add_group(g);
        }
    }

    pub(crate) fn topic_index(&self, id: &str) -> Option<u32> {
        self.cfg
            .topics
            .iter()
            .position(|t| t.id == id)
            .map(|i| i as u32)
    }

    pub(crate) fn schedule_stream(&mut self, at: SimTime, ev: StreamEvent) {
        self.agenda
            .schedule(at, crate::engine::core::Event::Stream(ev));
    }

    /// Hand a stream event to its owner.
    pub(crate) fn on_stream_event(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::LingerDue { p, part, batch } => self.on_linger_due(p, part, batch),
            StreamEvent::BatchArrive { batch } => self.on_batch_arrive(batch),
            StreamEvent::BatchStored { batch } => self.on_batch_stored(batch),
            StreamEvent::Cleanup { t } => self.on_retention_check(t),
            StreamEvent::Compact { t } => self.on_compact(t),
            StreamEvent::ServiceDone { g, m, epoch } => self.on_member_service_done(g, m, epoch),
            StreamEvent::AutoCommit { g, m, epoch } => self.on_auto_commit(g, m, epoch),
            StreamEvent::SessionExpired { g, m, epoch } => self.on_session_expired(g, m, epoch),
            StreamEvent::RebalanceDone { g, generation } => self.on_rebalance_done(g, generation),
            StreamEvent::BackoffDone { g, m, epoch } => self.on_backoff_done(g, m, epoch),
            StreamEvent::RetryDue { g, gp } => self.on_retry_topic_due(g, gp),
            StreamEvent::ProduceRetry { batch } => self.on_produce_retry(batch),
            StreamEvent::HwWaitTimeout { batch, wait } => self.on_hw_wait_timeout(batch, wait),
            StreamEvent::Replicated { t, part, epoch } => self.on_replicated(t, part, epoch),
            StreamEvent::LeaderBack { t, part, epoch } => self.on_leader_back(t, part, epoch),
            StreamEvent::PauseEnded { g, m, epoch } => self.on_pause_ended(g, m, epoch),
            StreamEvent::PauseEvicted { g, m, epoch } => self.on_pause_evicted(g, m, epoch),
            StreamEvent::TxnTimeout { g, m, txn } => self.on_txn_timeout(g, m, txn),
            StreamEvent::PollTimeout { g, m, poll } => self.on_poll_timeout(g, m, poll),
            StreamEvent::IsrLagCheck { t, part, stall } => self.on_isr_lag_check(t, part, stall),
            StreamEvent::StallEnds { t, part, stall } => self.on_stall_ends(t, part, stall),
            StreamEvent::FollowerCaughtUp { t, part, stall } => {
                self.on_follower_caught_up(t, part, stall)
            }
        }
    }

    fn retention_check_us(&self, t: u32) -> u64 {
        self.cfg.topics[t as usize]
            .active_retention()
            .and_then(|r| r.check_interval)
            .map_or(RETENTION_CHECK_US, |d| d.us())
            .max(1000)
    }

    /// Append a batch to partition `part` of topic `t`, as a unit, at `now`.
    pub(crate) fn append_batch(&mut self, t: u32, part: u32, records: Vec<Record>) {
        // A topic may have grown or (never) shrunk since the batch was built.
        let part = part.min(self.streams.topics[t as usize].parts.len() as u32 - 1);
        for r in records {
            self.append_record(t, part, r);
        }
        self.appended_now(t, part);
    }

    /// After a batch's append: readers see it now, or once replicated.
    #[inline]
    fn appended_now(&mut self, t: u32, part: u32) {
        if self.streams.topics[t as usize].replicated {
            if self.isr_leader_alone(t, part) {
                // No follower in the ISR: the high watermark is the leader's
                // log end (Kafka's `maybeIncrementLeaderHW` over an ISR of one).
                self.hw_to_log_end(t, part);
            } else {
                self.schedule_replication(t, part);
            }
        } else {
            self.records_appended(t, part);
        }
    }

    /// Append a batch of one record (the producer's path without linger or
    /// latency: no batch vector is built).
    pub(crate) fn append_one(&mut self, t: u32, part: u32, r: Record) {
        let part = part.min(self.streams.topics[t as usize].parts.len() as u32 - 1);
        self.append_record(t, part, r);
        self.appended_now(t, part);
    }

    /// A transaction marker into partition `part` of topic `t` (a control
    /// record: an offset, no trace event of its own, never read);
    /// `txn_offsets` are its transaction's records in that partition.
    pub(crate) fn append_marker(&mut self, t: u32, part: u32, txn_offsets: Vec<u64>) {
        let replicated = self.streams.topics[t as usize].replicated;
        let compacts = self.cfg.topics[t as usize].cleanup.compacts();
        let log = &mut self.streams.topics[t as usize].parts[part as usize];
        let mut r = Record::marker(0, self.now.0);
        r.offset = log.end;
        if compacts {
            log.txn_markers.push((r.offset, txn_offsets));
        }
        log.late_appends.set(&mut r, self.now.0);
        log.end += 1;
        if !replicated {
            log.hw = log.end;
        }
        log.records.push_back(r);
        self.streams.retained += 1;
        self.appended_now(t, part);
    }

    /// One record of a batch into the log (the readers are told once per batch).
    fn append_record(&mut self, t: u32, part: u32, mut r: Record) {
        let ti = t as usize;
        let node = self.streams.topics[ti].node;
        let keep = self.cfg.topics[ti]
            .active_retention()
            .and_then(|r| r.records);
        if self.streams.retained >= RECORDS_RETAINED_MAX {
            self.delete_head(t, part, 1);
        }
        let replicated = self.streams.topics[ti].replicated;
        let log = &mut self.streams.topics[ti].parts[part as usize];
        r.offset = log.end;
        log.late_appends.set(&mut r, self.now.0);
        log.end += 1;
        if !replicated {
            log.hw = log.end;
        }
        log.tombstones += r.tombstone() as u64;
        log.records.push_back(r);
        if let Some(v) = self.streams.topics[ti].versions.as_mut() {
            super::event_store::bump_version(v, r.key);
        }
        self.streams.retained += 1;
        self.trace.record(
            self.now,
            TraceKind::Appended {
                partition: part,
                offset: r.offset,
                tombstone: r.tombstone(),
            },
            Some(r.msg),
            node,
        );
        if let Some(max) = keep {
            let len = self.streams.topics[ti].parts[part as usize].records.len() as u64;
            if len > max as u64 {
                let n = (len - max as u64).min(self.below_hw(t, part));
                self.delete_head(t, part, n);
            }
        }
    }

    /// Kept records of a partition below its high watermark: all retention
    /// may delete (Kafka's `deletableSegments` needs the high watermark past
    /// a segment, so the log start never passes it). Only the global record
    /// cap, a memory bound, may delete above it.
    fn below_hw(&self, t: u32, part: u32) -> u64 {
        let log = &self.streams.topics[t as usize].parts[part as usize];
        log.records.partition_point(|r| r.offset < log.hw) as u64
    }

    /// Delete the `n` oldest kept records of a partition; the log start moves past them.
    fn delete_head(&mut self, t: u32, part: u32, n: u64) {
        let node = self.streams.topics[t as usize].node;
        let log = &mut self.streams.topics[t as usize].parts[part as usize];
        let n = n.min(log.records.len() as u64);
        if n == 0 {
            return;
        }
        for _ in 0..n {
            if log.records.pop_front().is_some_and(|r| r.tombstone()) {
                log.tombstones -= 1;
            }
        }
        log.start = log.records.front().map_or(log.end, |r| r.offset);
        log.late_appends.drop_below(log.start);
        if !log.txn_markers.is_empty() {
            let gone = log.txn_markers.partition_point(|m| m.0 < log.start);
            log.txn_markers.drain(..gone);
        }
        log.retention_deleted += n;
        self.streams.retained -= n;
        let start = log.start;
        // The log start moved: the lag of readers without a commit (`lag.rs`).
        self.refresh_log_lag(t, part);
        self.trace.record(
            self.now,
            TraceKind::RetentionDeleted {
                partition: part,
                count: n as u32,
                log_start: start,
            },
            None,
            node,
        );
    }

    fn on_retention_check(&mut self, t: u32) {
        let ti = t as usize;
        if let Some(time) = self.cfg.topics[ti].active_retention().and_then(|r| r.time) {
            let horizon = self.now.0.saturating_sub(time.us());
            let recovery_target = self.streams.topics[ti].recovery_target;
            for part in 0..self.streams.topics[ti].parts.len() as u32 {
                // By the record's timestamp (the producer's create time), as
                // Kafka's `deleteRetentionMsBreachedSegments` compares a
                // segment's largest timestamp; timestamps need not grow with
                // offsets, so the deletion stops at the first record that
                // has not expired (`timestamp_us`: a retry or dead-letter
                // topic's records are timed by their append).
                let log = &self.streams.topics[ti].parts[part as usize];
                let old = log
                    .records
                    .iter()
                    .take_while(|r| log.timestamp_us(r, recovery_target) < horizon)
                    .count() as u64;
                let n = old.min(self.below_hw(t, part));
                self.delete_head(t, part, n);
            }
        }
        let every = self.retention_check_us(t);
        self.schedule_stream(self.now.after(every), StreamEvent::Cleanup { t });
    }

    /// Keep only the latest record per key in every partition (Kafka compacts only
    /// closed segments; here the whole log is compacted, see the README). A
    /// latest record that is a tombstone stays `delete_retention` after it was
    /// appended, so consumers can see the delete; the first compaction after
    /// that removes it, and the key is gone from the log.
    fn on_compact(&mut self, t: u32) {
        let ti = t as usize;
        let node = self.streams.topics[ti].node;
        let keep_tombstone_us = self.cfg.topics[ti]
            .delete_retention
            .map_or(DELETE_RETENTION_US, |d| d.us());
        let horizon = self.now.0.saturating_sub(keep_tombstone_us);
        let any_retention = self.now.0 >= keep_tombstone_us;
        for part in 0..self.streams.topics[ti].parts.len() {
            let log = &mut self.streams.topics[ti].parts[part];
            // Kafka's cleaner stops at the first uncleanable offset: never
            // past the high watermark (a record not yet replicated may be
            // truncated by a failover, and the older value it would replace
            // must survive that) nor past the last stable offset (the first
            // record of a transaction still open) — `LogCleanerManager.
            // cleanableOffsets`. Below it, records of aborted transactions
            // are removed whatever their key and never stand as a key's
            // latest value (`LogCleaner`, "Cleaner.buildOffsetMapForSegment").
            let bound = log
                .records
                .iter()
                .take_while(|r| r.offset < log.hw)
                .find(|r| r.txn() == TXN_OPEN)
                .map_or(log.hw, |r| r.offset);
            let mut latest: BTreeMap<Sym, u64> = BTreeMap::new();
            for r in log.records.iter().take_while(|r| r.offset < bound) {
                if r.key != NO_SYM && r.txn() != TXN_ABORTED {
                    latest.insert(r.key, r.offset);
                }
            }
            // A marker goes once no record of its transaction is left (an
            // abort marker outlives its aborted records by one compaction, as
            // in Kafka), then after `delete_retention` as a tombstone does.
            let mut markers_gone: Vec<u64> = Vec::new();
            for (at, txn_offsets) in log.txn_markers.iter().take_while(|m| m.0 < bound) {
                let at = *at;
                let present = |o: u64| log.records.get(log.index_from(o)).filter(|r| r.offset == o);
                let txn_left = txn_offsets.iter().any(|&o| present(o).is_some());
                if !txn_left
                    && any_retention
                    && present(at).is_some_and(|m| log.late_appends.appended_us(m) <= horizon)
                {
                    markers_gone.push(at);
                }
            }
            let before = log.records.len();
            let mut tombstones = 0u64;
            let mut tombstones_gone = 0u64;
            let late = &mut log.late_appends;
            log.records.retain(|r| {
                if r.offset >= bound {
                    return true;
                }
                if r.is_marker() {
                    return markers_gone.binary_search(&r.offset).is_err();
                }
                if r.txn() == TXN_ABORTED {
                    return false;
                }
                let latest = r.key == NO_SYM || latest.get(&r.key) == Some(&r.offset);
                let expired_tombstone =
                    r.tombstone() && any_retention && late.appended_us(r) <= horizon;
                if latest && expired_tombstone {
                    tombstones += 1;
                }
                let keep = latest && !expired_tombstone;
                if r.tombstone() && !keep {
                    tombstones_gone += 1;
                }
                keep
            });
            if !markers_gone.is_empty() {
                log.txn_markers
                    .retain(|m| markers_gone.binary_search(&m.0).is_err());
            }
            if !late.is_empty() {
                let records = &log.records;
                late.retain(|o| records.binary_search_by_key(&o, |r| r.offset).is_ok());
            }
            let removed = (before - log.records.len()) as u64;
            if removed > 0 {
                log.compacted += removed;
                log.tombstones_removed += tombstones;
                log.tombstones -= tombstones_gone;
                self.streams.retained -= removed;
                self.trace.record(
                    self.now,
                    TraceKind::Compacted {
                        partition: part as u32,
                        removed: removed as u32,
                        tombstones: tombstones as u32,
                    },
                    None,
                    node,
                );
            }
        }
        let every = self.cfg.topics[ti]
            .compaction_interval
            .map_or(COMPACTION_US, |d| d.us());
        self.schedule_stream(self.now.after(every), StreamEvent::Compact { t });
    }

    /// Offsets only grow and kept records are contiguous (without compaction) or
    /// increasing (with it), inside `[start, end)`.
    pub(crate) fn check_topics(&self) -> Result<(), String> {
        let mut retained = 0u64;
        for (ti, t) in self.streams.topics.iter().enumerate() {
            let compacted = self.cfg.topics[ti].cleanup.compacts();
            for (pi, log) in t.parts.iter().enumerate() {
                let at = || format!("topic {} partition {pi}", self.cfg.topics[ti].id);
                retained += log.records.len() as u64;
                if log.hw > log.end || (!t.replicated && log.hw != log.end) {
                    return Err(format!(
                        "{}: high watermark {} with log end {} (replicated: {})",
                        at(),
                        log.hw,
                        log.end,
                        t.replicated
                    ));
                }
                // A transaction settles the moment its marker is below the
                // high watermark, and its marker is in the log.
                if let Some(u) = log
                    .unsettled_txns
                    .iter()
                    .find(|u| u.marker < log.hw || u.marker >= log.end)
                {
                    return Err(format!(
                        "{}: unsettled transaction marker {} with high watermark {} and log end {}",
                        at(),
                        u.marker,
                        log.hw,
                        log.end
                    ));
                }
                if log.start > log.end {
                    return Err(format!(
                        "{}: log start {} > end {}",
                        at(),
                        log.start,
                        log.end
                    ));
                }
                if !compacted {
                    // Contiguous [start, end): first, last and count agree (appends
                    // push `end`, deletions pop the front, so this is O(1) per event).
                    let first = log.records.front().map(|r| r.offset);
                    let last = log.records.back().map(|r| r.offset);
                    let ok = match (first, last) {
                        (Some(f), Some(l)) => f == log.start && l + 1 == log.end,
                        _ => log.start == log.end,
                    };
                    if !ok {
                        return Err(format!(
                            "{}: kept offsets {first:?}..={last:?} are not [{}, {})",
                            at(),
                            log.start,
                            log.end
                        ));
                    }
                } else {
                    let mut prev: Option<u64> = None;
                    for r in &log.records {
                        if r.offset < log.start || r.offset >= log.end {
                            return Err(format!("{}: offset {} outside the log", at(), r.offset));
                        }
                        if prev.is_some_and(|p| r.offset <= p) {
                            return Err(format!(
                                "{}: offsets not increasing at {}",
                                at(),
                                r.offset
                            ));
                        }
                        prev = Some(r.offset);
                    }
                }
                if !compacted && log.records.len() as u64 != log.end - log.start {
                    return Err(format!("{}: kept records do not fill [start, end)", at()));
                }
            }
        }
        if retained != self.streams.retained {
            return Err(format!(
                "retained records {retained} != counted {}",
                self.streams.retained
            ));
        }
        Ok(())
    }
}
