//! Seeking a consumer group (`SeekGroup`): replay from the beginning, skip to
//! the end, or move to an offset or a timestamp, per partition or for all.
//!
//!   SeekGroup ──► drop polled-but-unprocessed records of the chosen partitions
//!             ──► committed = position = target offset ──► Seeked
//!                 (an offset outside the log: `auto_offset_reset`, as the consumer's next fetch)
//!             ──► members poll again from there
//!
//! Guarantees: a seek is the only way a committed offset moves back (the group
//! invariants and the property tests rely on it); a timestamp seeks to the first
//! record published at or after it, or to the log end when there is none.

use crate::engine::command::CommandError;
use crate::engine::core::Engine;
use crate::engine::core::NodeKind;
use crate::engine::trace::TraceKind;
use crate::scenario::{OffsetReset, SeekTo};

impl Engine {
    /// The topic a seek of group `g` is limited to, if any: the named one
    /// (which the group must read), or for a `partition` without a topic the
    /// group's only topic (Kafka seeks a `TopicPartition`: with several
    /// topics a bare partition number is ambiguous and refused). The
    /// partition must exist in that topic.
    pub(crate) fn seek_target(
        &self,
        g: u32,
        topic: Option<&str>,
        partition: Option<u32>,
    ) -> Result<Option<u32>, CommandError> {
        let cfg = self.gcfg(g);
        let t = match topic {
            Some(name) => {
                if !cfg.read_topics().contains(&name) {
                    return Err(CommandError(format!(
                        "{} does not read topic {name:?}",
                        cfg.id
                    )));
                }
                Some(self.find(name, NodeKind::Topic)?)
            }
            None if partition.is_some() => match cfg.topics.as_slice() {
                [only] => Some(self.find(only, NodeKind::Topic)?),
                many => {
                    return Err(CommandError(format!(
                        "{} reads {} topics: name the partition's `topic`",
                        cfg.id,
                        many.len()
                    )))
                }
            },
            None => None,
        };
        if let (Some(t), Some(p)) = (t, partition) {
            let n = self.streams.topics[t as usize].parts.len() as u32;
            if p >= n {
                let name = &self.nodes[self.streams.topics[t as usize].node.0 as usize].id;
                return Err(CommandError(format!(
                    "{name} has {n} partitions: no partition {p}"
                )));
            }
        }
        Ok(t)
    }

    /// `SeekGroup`: move committed offsets (and owners' positions) of the
    /// chosen partitions: every one of the group's, those of `topic`, or one
    /// partition of `topic`.
    pub(crate) fn seek_group(
        &mut self,
        g: u32,
        to: SeekTo,
        topic: Option<u32>,
        partition: Option<u32>,
    ) {
        let gi = g as usize;
        let chosen: Vec<u32> = self.streams.groups[gi]
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                topic.is_none_or(|t| p.topic == t) && partition.is_none_or(|n| p.partition == n)
            })
            .map(|(gp, _)| gp as u32)
            .collect();
        // Records of these partitions already polled are dropped unprocessed,
        // the one in service included (its member starts afresh).
        for m in 0..self.streams.groups[gi].members.len() {
            let mem = &mut self.streams.groups[gi].members[m];
            let head_hit = mem.busy && mem.batch.front().is_some_and(|f| chosen.contains(&f.gp));
            mem.batch.retain(|f| !chosen.contains(&f.gp));
            for gp in &chosen {
                mem.batch_done.retain(|&(x, _)| x != *gp);
            }
            // A paused member stays paused (its resume starts what is left
            // of its batch, or polls).
            if mem.txn.paused {
                continue;
            }
            if head_hit || (mem.busy && mem.batch.is_empty()) {
                mem.busy = false;
                mem.attempt = 0;
                mem.epoch = mem.epoch.wrapping_add(1);
                if mem.alive {
                    // A new epoch stops the auto-commit timer too: restart it.
                    self.schedule_auto_commit(g, m as u32);
                }
            }
        }
        for gp in chosen {
            let (start, end) = self.log_bounds(g, gp);
            let offset = match to {
                SeekTo::Beginning => start,
                // A read_committed group's end is the last stable offset, as
                // `seekToEnd` answers it (`Partition.fetchOffsetForTimestamp`
                // with READ_COMMITTED): never past an open transaction.
                SeekTo::End => self.latest_offset(g, gp),
                // An offset outside the log (below its start or past its
                // end) is what the consumer's next fetch gets
                // OFFSET_OUT_OF_RANGE for; it then applies
                // `auto.offset.reset` (Kafka's `FetchCollector`): here at
                // once, as the owners re-poll at once. Between the high
                // watermark and the log end (replication) it waits at the
                // high watermark.
                SeekTo::Offset(o) => {
                    let p = &self.streams.groups[gi].parts[gp as usize];
                    let log_end =
                        self.streams.topics[p.topic as usize].parts[p.partition as usize].end;
                    if o < start || o > log_end {
                        match self.gcfg(g).auto_offset_reset {
                            OffsetReset::Earliest => start,
                            OffsetReset::Latest => self.latest_offset(g, gp),
                        }
                    } else {
                        o.min(end)
                    }
                }
                SeekTo::Timestamp(t) => {
                    // The first offset with a timestamp at or after `t`; one
                    // at or past the high watermark (for a read_committed
                    // group the last stable offset) is not offered (Kafka's
                    // ListOffsets answers none), so the seek goes to the end.
                    let last = self.latest_offset(g, gp);
                    let p = &self.streams.groups[gi].parts[gp as usize];
                    let topic = &self.streams.topics[p.topic as usize];
                    let log = &topic.parts[p.partition as usize];
                    log.records
                        .iter()
                        .find(|r| log.timestamp_us(r, topic.recovery_target) >= t.us())
                        .map_or(last, |r| r.offset)
                        .min(last)
                }
            };
            let grp = &mut self.streams.groups[gi];
            let p = &mut grp.parts[gp as usize];
            p.committed = Some(offset);
            p.position = offset;
            self.mark_fetchable(g, gp);
            self.refresh_part_lag(g, gp);
            let grp = &mut self.streams.groups[gi];
            let p = &mut grp.parts[gp as usize];
            // A deliberate jump forward is not a loss.
            p.processed_high = p.processed_high.max(offset);
            let (topic, partition) = (p.topic, p.partition);
            let node = grp.node;
            let tnode = self.streams.topics[topic as usize].node;
            self.trace.record(
                self.now,
                TraceKind::Seeked {
                    topic: tnode,
                    partition,
                    offset,
                },
                None,
                node,
            );
        }
        for m in 0..self.streams.groups[gi].members.len() as u32 {
            let mem = &self.streams.groups[gi].members[m as usize];
            if mem.txn.paused || !mem.alive {
                continue;
            }
            if !mem.busy && !mem.batch.is_empty() {
                self.start_record(g, m);
            } else {
                if !mem.busy {
                    // Idle, perhaps because the seek dropped its batch: a
                    // rebalance waiting for its poll boundary has it now (a
                    // leaving member that was busy leaves here).
                    self.rebalance_at_poll_boundary(g, m);
                }
                self.poll(g, m);
            }
        }
    }
}
