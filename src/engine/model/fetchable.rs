//! Which owned partitions a member's poll must look at: a superset of those
//! with records to fetch, so a poll costs the partitions that may have
//! records, not every partition the member owns.
//!
//!   hw moves up (append, replication)  ─┐
//!   log start moves (retention, cut)    ├─► mark_fetchable(g, gp) ──► owner's `fetchable` ∋ gp
//!   position moves (seek), assignment  ─┘
//!   a poll finds nothing past the position,
//!   or drains it to the high watermark    ──► unmark_fetchable ──► gp leaves the set
//!   revoke ──► gp leaves the old owner's set
//!
//! A group partition has records to fetch when its position is below the
//! high watermark or below the log start (`OffsetOutOfRange`, then reset).
//! Guarantee (checked by `check_fetchable` with the group invariants, after
//! every event in the property tests): every owned partition with records to
//! fetch is in its owner's `fetchable`, which is sorted and holds only owned
//! partitions. Marking too much is harmless (the poll passes over it and
//! drops it); a poll skips exactly the partitions the full scan would have
//! passed over without a side effect, so the trace is the same as scanning
//! every owned partition (`fetch.rs`).

use crate::engine::core::Engine;

impl Engine {
    /// Group partition `gp` of group `g` may have records to fetch now.
    #[inline]
    pub(crate) fn mark_fetchable(&mut self, g: u32, gp: u32) {
        let grp = &mut self.streams.groups[g as usize];
        if let Some(m) = grp.parts[gp as usize].owner {
            let set = &mut grp.members[m as usize].fetchable;
            if let Err(at) = set.binary_search(&gp) {
                set.insert(at, gp);
            }
        }
    }

    /// Member `m`'s poll found nothing past the position of `gp` (or `m`
    /// gave it up).
    #[inline]
    pub(crate) fn unmark_fetchable(&mut self, g: u32, m: u32, gp: u32) {
        let set = &mut self.streams.groups[g as usize].members[m as usize].fetchable;
        if let Ok(at) = set.binary_search(&gp) {
            set.remove(at);
        }
    }

    /// The guarantee in the module header, for group `g`.
    pub(crate) fn check_fetchable(&self, g: u32) -> Result<(), String> {
        let grp = &self.streams.groups[g as usize];
        let id = &self.cfg.consumer_groups[g as usize].id;
        for (mi, m) in grp.members.iter().enumerate() {
            let sorted = m.fetchable.windows(2).all(|w| w[0] < w[1]);
            if !sorted
                || m.fetchable
                    .iter()
                    .any(|gp| m.owned.binary_search(gp).is_err())
            {
                return Err(format!(
                    "group {id}: member {mi}'s fetchable {:?} is not a sorted subset of its owned {:?}",
                    m.fetchable, m.owned
                ));
            }
            for &gp in &m.owned {
                let p = &grp.parts[gp as usize];
                let log = &self.streams.topics[p.topic as usize].parts[p.partition as usize];
                let has_records = p.position < log.hw || p.position < log.start;
                if has_records && m.fetchable.binary_search(&gp).is_err() {
                    return Err(format!(
                        "group {id}: member {mi} owns partition {} with records past position {} but it is not fetchable",
                        p.partition, p.position
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::core::Engine;
    use crate::engine::time::SimTime;

    /// One key, so one partition of 64 gets records; two slow members own 32 each.
    fn one_hot_partition() -> Engine {
        let json = r#"{
  "title": "one hot partition",
  "producers": [{ "id": "p", "to": "t", "rate": "50/s", "keys": { "random": ["only"] } }],
  "topics": [{ "id": "t", "partitions": 64 }],
  "consumer_groups": [{ "id": "g", "topics": ["t"], "members": 2, "max_poll_records": 5,
                        "service": { "constant": "100ms" } }]
}"#;
        let s = crate::scenario::load(json).unwrap();
        Engine::new(s, 1).unwrap()
    }

    #[test]
    fn a_poll_looks_only_at_the_partition_with_records() {
        let mut e = one_hot_partition();
        e.run_until(SimTime(5_000_000), u64::MAX);
        e.check_fetchable(0).unwrap();
        let grp = &e.streams.groups[0];
        let owned: Vec<usize> = grp.members.iter().map(|m| m.owned.len()).collect();
        assert_eq!(owned, [32, 32]);
        // The member behind (50/s against 10/s) has the hot partition, and
        // only it, to look at; the other has nothing.
        let sets: Vec<usize> = grp.members.iter().map(|m| m.fetchable.len()).collect();
        assert_eq!(sets.iter().sum::<usize>(), 1, "fetchable sets {sets:?}");
    }

    #[test]
    fn the_check_catches_a_partition_left_out() {
        let mut e = one_hot_partition();
        e.run_until(SimTime(5_000_000), u64::MAX);
        let m = e.streams.groups[0]
            .members
            .iter()
            .position(|m| !m.fetchable.is_empty())
            .expect("the hot partition's owner is behind");
        e.streams.groups[0].members[m].fetchable.clear();
        let err = e.check_fetchable(0).unwrap_err();
        assert!(err.contains("not fetchable"), "{err}");
    }
}
