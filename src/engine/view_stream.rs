//! Read-only views of topics and consumer groups, for the UI and the report.
//!
//!   Engine ──topic_view / group_view──► TopicView { partitions } / GroupView { members, partitions }
//!
//! Like `view.rs`: plain data, bounded by the topology (partitions ≤ 1024 per topic)
//! and, for the records a partition lists, by `PARTITION_RECENT_MAX`.

use super::core::Engine;
use super::message::NO_SYM;
use super::metrics::LatencySummary;
use serde::Serialize;

/// Newest records a partition view lists (the app draws them as cells).
pub const PARTITION_RECENT_MAX: usize = 48;
/// Partitions of a topic whose views list records (the first ones; the app
/// draws at most 16 strips), so a snapshot stays small for 1024 partitions.
pub const PARTITIONS_WITH_RECENT_MAX: usize = 64;

/// A kept record, as the app draws it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordCell {
    pub offset: u64,
    /// Trace id of the record.
    pub msg: u64,
    /// The record's key (`None`: a null key).
    pub key: Option<String>,
}

/// One partition of a topic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionView {
    pub partition: u32,
    /// Records ever appended (equals `log_end`: offsets start at 0).
    pub appended: u64,
    pub log_start: u64,
    pub log_end: u64,
    /// The high watermark: readable up to here, and lag counts from here
    /// (`log_end` without replication; behind it while followers catch up).
    pub high_watermark: u64,
    /// Records kept now (fewer than end − start after compaction).
    pub records: u64,
    pub retention_deleted: u64,
    pub compacted: u64,
    /// Tombstones compaction removed past `delete_retention` (keys deleted).
    pub tombstones_removed: u64,
    /// Tombstones kept now.
    pub tombstones: u64,
    /// Replicated topics: in-sync replicas now (the leader included) and
    /// the replication factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isr: Option<(u32, u32)>,
    /// The newest kept records, oldest first (at most `PARTITION_RECENT_MAX`;
    /// none past the first `PARTITIONS_WITH_RECENT_MAX` partitions); not part
    /// of the report.
    #[serde(skip)]
    pub recent: Vec<RecordCell>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicView {
    pub id: String,
    /// Records appended so far (sum of log end offsets).
    pub appended: u64,
    pub partitions: Vec<PartitionView>,
    /// Acknowledged records a leader change removed (`acks=1`, or unclean
    /// election), over all partitions: drawn on the topic; in the report
    /// as the ledger's `acked_lost`, so not serialized here.
    #[serde(skip)]
    pub acked_lost: u64,
}

/// A group member.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupMemberView {
    pub member: u32,
    pub up: bool,
    /// Counted by the coordinator (false after leaving or a detected crash).
    pub in_group: bool,
    pub busy: bool,
    /// Owned partitions as `[topic id, partition]`; empty: idle.
    pub partitions: Vec<(String, u32)>,
    /// Polled records not yet processed.
    pub batch: u32,
    pub processed: u64,
    /// Stopped by `pause_member` (a GC pause); with `in_group` false, a zombie.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Left the group at a poll timeout, finishing its batch (its commits will fail).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub poll_timed_out: bool,
}

/// A partition as a group sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupPartitionView {
    pub topic: String,
    pub partition: u32,
    pub owner: Option<u32>,
    pub position: u64,
    pub committed: Option<u64>,
    /// High watermark − committed (from the log start without a commit):
    /// what a consumer can still read, Kafka's `LOG-END-OFFSET` − `CURRENT-OFFSET`.
    pub lag: u64,
    /// Lag in time: how long the oldest uncommitted kept record has been in
    /// the log [µs] (0 without lag).
    pub lag_time_us: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub topics: Vec<String>,
    pub assignment: String,
    pub rebalancing: bool,
    pub generation: u32,
    pub rebalances: u64,
    /// Members that left the group at a poll timeout (`max_poll_interval`).
    pub poll_timeouts: u64,
    pub processed: u64,
    /// Records covered by committed offsets (sum over partitions).
    pub committed: u64,
    pub commits: u64,
    pub reprocessed: u64,
    pub skipped: u64,
    /// Failed processing attempts.
    pub failed: u64,
    /// Failed records tried again in place (`on_failure`: blocking, dead_letter).
    pub retried: u64,
    /// Failed records appended to a retry topic (`retry_topics`).
    pub sent_to_retry_topics: u64,
    /// Failed records appended to the dead-letter topic.
    pub dead_lettered: u64,
    /// Failed records given up on with nowhere to go (skipped past).
    pub failed_skipped: u64,
    /// Records processed successfully from a retry topic.
    pub recovered: u64,
    pub lag: u64,
    pub lag_max: u64,
    /// The largest `lag_time_us` over the group's partitions, now [µs].
    pub lag_time_us: u64,
    /// Time in system (publish → processed by this group), µs.
    pub latency_us: LatencySummary,
    pub members: Vec<GroupMemberView>,
    pub partitions: Vec<GroupPartitionView>,
    /// A versioned output (`output.expected_version` set): its counts, at
    /// the group's top level in the JSON.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub event_store: Option<EventStoreCounts>,
}

/// A group's event-store appends (`model::event_store`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EventStoreCounts {
    /// The check is on (`true`) or only observed (`false`).
    pub expected_version: bool,
    /// Appends refused for a stale expected version (processed again).
    pub version_conflicts: u64,
    /// Appends made on a stale version without the check (lost updates).
    pub stale_writes: u64,
    /// Attempts failed after more conflicts than `conflict_retries` allows
    /// (always in the JSON, 0 included, so `expect` can assert it is 0).
    pub conflict_give_ups: u64,
    /// Aggregate loads (with `replay_per_event`) and the events they replayed.
    pub loads: u64,
    pub events_replayed: u64,
    /// Snapshots the group's appends saved (`snapshot_every`).
    pub snapshots: u64,
}

impl Engine {
    /// Age of the oldest kept record at or after the committed offset and
    /// below the high watermark [µs]: 0 without lag (a record not yet
    /// replicated is no lag, as `lag` counts up to the high watermark).
    fn part_lag_time_us(&self, g: u32, gp: u32) -> u64 {
        let p = &self.streams.groups[g as usize].parts[gp as usize];
        let log = &self.streams.topics[p.topic as usize].parts[p.partition as usize];
        let from = p.committed.unwrap_or(log.start);
        log.records
            .get(log.index_from(from))
            .filter(|r| r.offset < log.hw)
            .map_or(0, |r| self.now.0.saturating_sub(log.appended_us(r)))
    }

    pub(crate) fn topic_view(&self, i: usize) -> TopicView {
        let t = &self.streams.topics[i];
        TopicView {
            id: self.cfg.topics[i].id.clone(),
            appended: t.parts.iter().map(|p| p.end).sum(),
            acked_lost: t.repl.iter().map(|r| r.acked_lost).sum(),
            partitions: t
                .parts
                .iter()
                .enumerate()
                .map(|(k, p)| PartitionView {
                    partition: k as u32,
                    appended: p.end,
                    log_start: p.start,
                    log_end: p.end,
                    high_watermark: p.hw,
                    records: p.records.len() as u64,
                    retention_deleted: p.retention_deleted,
                    compacted: p.compacted,
                    tombstones_removed: p.tombstones_removed,
                    tombstones: p.tombstones,
                    isr: self.cfg.topics[i]
                        .replication
                        .map(|r| (t.repl.get(k).map_or(0, |x| x.isr), r.factor)),
                    recent: p
                        .records
                        .iter()
                        .skip(p.records.len().saturating_sub(PARTITION_RECENT_MAX))
                        .take(if k < PARTITIONS_WITH_RECENT_MAX {
                            PARTITION_RECENT_MAX
                        } else {
                            0
                        })
                        .map(|r| RecordCell {
                            offset: r.offset,
                            msg: r.msg,
                            key: (r.key != NO_SYM).then(|| self.syms[r.key as usize].clone()),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    pub(crate) fn group_view(&self, i: usize) -> GroupView {
        let g = &self.streams.groups[i];
        let cfg = &self.cfg.consumer_groups[i];
        let tname = |t: u32| self.cfg.topics[t as usize].id.clone();
        GroupView {
            id: cfg.id.clone(),
            topics: cfg.topics.clone(),
            assignment: format!("{:?}", cfg.assignment),
            rebalancing: g.rebalance.is_some(),
            generation: g.generation,
            rebalances: g.rebalances,
            poll_timeouts: g.poll_timeouts,
            processed: g.processed,
            committed: g.parts.iter().filter_map(|p| p.committed).sum(),
            commits: g.commits,
            reprocessed: g.reprocessed,
            skipped: g.skipped,
            failed: g.failed,
            retried: g.failures.retried,
            sent_to_retry_topics: g.failures.sent_to_retry,
            dead_lettered: g.failures.dead_lettered,
            failed_skipped: g.failures.dropped,
            recovered: g.failures.recovered,
            lag: self.group_lag(i as u32),
            lag_max: g.lag_max,
            lag_time_us: (0..g.parts.len() as u32)
                .map(|gp| self.part_lag_time_us(i as u32, gp))
                .max()
                .unwrap_or(0),
            latency_us: g.latency.summary(),
            members: g
                .members
                .iter()
                .enumerate()
                .map(|(k, m)| GroupMemberView {
                    member: k as u32,
                    up: m.alive,
                    in_group: m.in_group,
                    busy: m.busy,
                    partitions: g
                        .parts
                        .iter()
                        .filter(|p| p.owner == Some(k as u32))
                        .map(|p| (tname(p.topic), p.partition))
                        .collect(),
                    batch: m.batch.len() as u32,
                    processed: m.processed,
                    paused: m.txn.paused,
                    poll_timed_out: m.poll_timer.left,
                })
                .collect(),
            partitions: g
                .parts
                .iter()
                .enumerate()
                .map(|(gp, p)| GroupPartitionView {
                    topic: tname(p.topic),
                    partition: p.partition,
                    owner: p.owner,
                    position: p.position,
                    committed: p.committed,
                    lag: self.part_lag(i as u32, gp as u32),
                    lag_time_us: self.part_lag_time_us(i as u32, gp as u32),
                })
                .collect(),
            event_store: cfg
                .output
                .as_ref()
                .and_then(|o| o.expected_version)
                .map(|check| EventStoreCounts {
                    expected_version: check,
                    version_conflicts: g.version_conflicts,
                    stale_writes: g.stale_writes,
                    conflict_give_ups: g.conflict_give_ups,
                    loads: g.loads,
                    events_replayed: g.events_replayed,
                    snapshots: g.snapshots,
                }),
        }
    }
}
