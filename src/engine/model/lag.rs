//! Consumer-group lag kept as a running sum, so the per-append `lag_max`
//! update is O(1) instead of a walk over every partition of the group.
//!
//!   hw moves (append, replication, truncation) ─┐
//!   log start moves (retention)                 ├─► refresh_*_lag ──► GroupPart::lag, GroupState::lag
//!   committed moves (commit, seek, truncation)  ┘
//!
//! A group partition's lag is `hw − (committed, else log start)`, floored at
//! 0 (`part_lag`). Each `GroupPart` keeps the value last accounted and the
//! group keeps their sum; every place that moves one of the three offsets
//! re-accounts the partitions it touched. `check_lag` (run with the group
//! invariants) compares both with a fresh computation, so a missed place
//! fails the invariant checks instead of skewing `lag_max` silently.

use crate::engine::core::Engine;

impl Engine {
    /// Re-account group partition `gp` of group `g` into the group's sum.
    #[inline]
    pub(crate) fn refresh_part_lag(&mut self, g: u32, gp: u32) {
        let streams = &mut self.streams;
        let grp = &mut streams.groups[g as usize];
        let p = &mut grp.parts[gp as usize];
        let log = &streams.topics[p.topic as usize].parts[p.partition as usize];
        let lag = log.hw.saturating_sub(p.committed.unwrap_or(log.start));
        grp.lag = grp.lag - p.lag + lag;
        p.lag = lag;
        // A seek back raises the lag without an append.
        grp.lag_max = grp.lag_max.max(grp.lag);
    }

    /// Re-account partition `part` of topic `t` in every group reading it.
    pub(crate) fn refresh_log_lag(&mut self, t: u32, part: u32) {
        for i in 0..self.streams.topics[t as usize].readers.len() {
            let g = self.streams.topics[t as usize].readers[i];
            if let Some(gp) = self.gp_of(g, t, part) {
                self.refresh_part_lag(g, gp);
                // The log start or the high watermark moved (`fetchable.rs`).
                self.mark_fetchable(g, gp);
            }
        }
    }

    /// Re-account every partition of group `g` (its partitions changed).
    /// Rebuild group `g`'s `gp_of` from its partitions (after they changed).
    /// A group reads a topic at most once (validation), so each (topic,
    /// partition) has at most one group partition.
    pub(crate) fn index_parts(&mut self, g: u32) {
        let topics = self.streams.topics.len();
        let grp = &mut self.streams.groups[g as usize];
        let mut gp_of: Vec<Vec<u32>> = vec![Vec::new(); topics];
        for (gp, p) in grp.parts.iter().enumerate() {
            let row = &mut gp_of[p.topic as usize];
            if row.len() <= p.partition as usize {
                row.resize(p.partition as usize + 1, u32::MAX);
            }
            debug_assert_eq!(
                row[p.partition as usize],
                u32::MAX,
                "a partition read twice"
            );
            row[p.partition as usize] = gp as u32;
        }
        grp.gp_of = gp_of;
    }

    /// Group `g`'s partition for partition `part` of topic `t`, if it reads it.
    #[inline]
    pub(crate) fn gp_of(&self, g: u32, t: u32, part: u32) -> Option<u32> {
        let gp = *self.streams.groups[g as usize]
            .gp_of
            .get(t as usize)?
            .get(part as usize)?;
        (gp != u32::MAX).then_some(gp)
    }

    pub(crate) fn refresh_group_lag(&mut self, g: u32) {
        for gp in 0..self.streams.groups[g as usize].parts.len() as u32 {
            self.refresh_part_lag(g, gp);
        }
    }

    /// The running sums agree with a fresh computation.
    pub(crate) fn check_lag(&self, g: u32) -> Result<(), String> {
        let grp = &self.streams.groups[g as usize];
        for (gp, p) in grp.parts.iter().enumerate() {
            if self.gp_of(g, p.topic, p.partition) != Some(gp as u32) {
                return Err(format!(
                    "group {}: partition {} of topic {} indexed as {:?}, is {gp}",
                    self.cfg.consumer_groups[g as usize].id,
                    p.partition,
                    p.topic,
                    self.gp_of(g, p.topic, p.partition)
                ));
            }
            let fresh = self.part_lag(g, gp as u32);
            if p.lag != fresh {
                return Err(format!(
                    "group {}: partition {} lag kept {} != computed {fresh}",
                    self.cfg.consumer_groups[g as usize].id, p.partition, p.lag
                ));
            }
        }
        let fresh = self.group_lag(g);
        if grp.lag != fresh {
            return Err(format!(
                "group {}: lag kept {} != computed {fresh}",
                self.cfg.consumer_groups[g as usize].id, grp.lag
            ));
        }
        Ok(())
    }
}
