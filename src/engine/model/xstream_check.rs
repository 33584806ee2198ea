//! Redis Streams' invariants and read-outs for tests and tools, split from
//! `xstream.rs`, which owns the state and the commands. Checked after every
//! event in tests (`check_xstreams`): ids strictly increase; a settled entry
//! is open to no group (`x_open`); the settled count matches; PEL ids are at
//! most the group's last-delivered id; a busy consumer holds exactly one
//! `Unacked` delivery; a crashed consumer holds none; an idle one has no
//! claimed entry left to handle; `claim_refs` counts the claimed replies.

use super::xstream::{StreamId, SETTLED};
use crate::engine::core::Engine;
use crate::engine::message::MsgState;

impl Engine {
    /// Group `group`'s pending entries list now, in id order: (id as
    /// `ms-seq`, owning consumer, idle [µs], delivery count). Empty for a
    /// node that is not a Redis group. For tests and tools.
    pub fn redis_pending(&self, group: &str) -> Vec<(String, u32, u64, u32)> {
        let Some(n) = self.node_of(group) else {
            return Vec::new();
        };
        if n.kind != crate::engine::core::NodeKind::RedisGroup {
            return Vec::new();
        }
        let now = self.now.0;
        self.redis.groups[n.index as usize]
            .pel
            .iter()
            .map(|(id, p)| (id.to_string(), p.consumer, now - p.delivered_us, p.count))
            .collect()
    }

    pub(crate) fn check_xstreams(&self) -> Result<(u64, u64), String> {
        let (mut queued, mut unacked) = (0, 0);
        for (i, s) in self.redis.streams.iter().enumerate() {
            let id = &self.cfg.redis_streams[i].id;
            let mut prev: Option<StreamId> = None;
            let mut settled = 0u64;
            for &(eid, slot) in &s.entries {
                if prev.is_some_and(|p| p >= eid) {
                    return Err(format!("stream {id}: ids not increasing at {eid}"));
                }
                prev = Some(eid);
                if slot == SETTLED {
                    // Settled: nothing may deliver it again.
                    if self.x_open(i, eid) {
                        return Err(format!("stream {id}: {eid} settled but still open"));
                    }
                    settled += 1;
                    continue;
                }
                self.expect_state(slot, MsgState::Queued, id)?;
                queued += 1;
            }
            if prev.is_some_and(|p| p > s.last_id) {
                return Err(format!("stream {id}: an entry is past the last id"));
            }
            if settled != s.settled {
                return Err(format!(
                    "stream {id}: {settled} settled entries, counted {}",
                    s.settled
                ));
            }
        }
        for (g, gs) in self.redis.groups.iter().enumerate() {
            let id = &self.cfg.redis_groups[g].id;
            if let Some((pid, _)) = gs.pel.iter().next_back() {
                if *pid > gs.last_delivered {
                    return Err(format!("group {id}: pending {pid} was never delivered"));
                }
            }
            for (pid, p) in &gs.pel {
                if p.consumer as usize >= gs.consumers.len() || p.count == 0 {
                    return Err(format!("group {id}: bad pending entry {pid}"));
                }
            }
            // `claim_refs` counts, per entry, the claimed replies holding it.
            let mut refs = std::collections::BTreeMap::new();
            for cs in &gs.consumers {
                for &(cid, _) in &cs.claimed {
                    *refs.entry(cid).or_insert(0u32) += 1;
                }
            }
            if refs != gs.claim_refs {
                return Err(format!(
                    "group {id}: claim_refs out of step with the replies"
                ));
            }
            for (c, cs) in gs.consumers.iter().enumerate() {
                match cs.busy {
                    Some((slot, _, _)) => {
                        if !cs.up {
                            return Err(format!("group {id}: crashed c{c} holds a delivery"));
                        }
                        self.expect_state(slot, MsgState::Unacked, id)?;
                        unacked += 1;
                    }
                    None if cs.up && !cs.claimed.is_empty() && !cs.claim_due => {
                        // Claimed entries are handled as soon as it is idle.
                        let st = &self.redis.streams[gs.stream as usize];
                        if cs.claimed.iter().any(|(cid, _)| st.slot_of(*cid).is_some()) {
                            return Err(format!("group {id}: c{c} idle with claimed entries"));
                        }
                    }
                    None => {}
                }
            }
        }
        Ok((queued, unacked))
    }
}
