//! Pulsar's Key_Shared dispatch (split from `pulsar_dispatch.rs`): which
//! consumer owns a key's slot, the messages held back to keep each key in
//! order, and the "recently joined consumers" rule.
//!
//!   read ──slot owner has permits, nothing older of the slot waits──► deliver
//!        └─ otherwise ──► replay (held back), sent first, oldest of a slot only
//!
//! Guarantees: a message never overtakes an older one of its slot on its
//! log (the replay set counts held-back messages per log and slot: each
//! partition has its own dispatcher, so a message waiting on one partition
//! holds back nothing on another, as `getRestrictedMaxEntriesForConsumer`
//! asks only its own dispatcher's `redeliveryMessages`); a recently joined
//! consumer gets only positions below its join position until everything
//! before it is acknowledged; at most `LOOKAHEAD_*` messages are held back.

use super::pulsar::{Pos, RETRY_PART};
use crate::engine::core::Engine;
use crate::scenario::{KeySharedMode, SubscriptionType};

/// Key_Shared look-ahead: messages held back per consumer, and per subscription.
const LOOKAHEAD_PER_CONSUMER: usize = 2000;
const LOOKAHEAD_MAX: usize = 20_000;

/// A (log, slot) pair as one key: the log's index (`p_ci`, at most
/// `PULSAR_PARTITIONS_MAX` + 1) above the 16-bit slot. One `u32` rather than
/// a tuple keeps the maps' code shared with the engine's other `u32` maps
/// (the browser download).
fn log_slot(ci: usize, slot: u32) -> u32 {
    debug_assert!(slot < crate::scenario::PULSAR_HASH_RANGE);
    (ci as u32) << 16 | slot
}

impl Engine {
    /// Key_Shared: who owns `hash` now.
    pub(crate) fn p_owner(&self, s: u32, hash: u32) -> Option<u32> {
        let si = s as usize;
        match &self.cfg.pulsar_subscriptions[si].key_shared {
            Some(KeySharedMode::Sticky { ranges }) => {
                ranges.iter().enumerate().find_map(|(c, rs)| {
                    (self.pulsar.subs[si].consumers[c].up
                        && rs.iter().any(|r| r[0] <= hash && hash <= r[1]))
                    .then_some(c as u32)
                })
            }
            _ => self.pulsar.subs[si].selector.select(hash),
        }
    }

    /// Key_Shared: may `pos` go to `c` now (permits, and the recently-joined rule)?
    /// May consumer `c` take `pos` now? It needs a permit, and a recently
    /// joined one only positions below its join position on that log; for
    /// a replayed message (`replay`), below the earliest recently joined
    /// consumer's too (`getRestrictedMaxEntriesForConsumer` with
    /// `ReadType.Replay`: a message another consumer held back must not
    /// reach a newer joiner ahead of that consumer's older ones of its key).
    pub(crate) fn p_ks_ok(&self, s: u32, c: u32, pos: Pos, replay: bool) -> bool {
        if self.p_permits(s, c, pos.0) == 0 {
            return false;
        }
        let st = &self.pulsar.subs[s as usize];
        let ci = Self::p_ci(st, pos.0);
        match &st.consumers[c as usize].join_limit {
            Some(limits) if limits[ci] != u64::MAX => {
                let mut limit = limits[ci];
                if replay {
                    for x in &st.consumers {
                        if let Some(l) = &x.join_limit {
                            limit = limit.min(l[ci]);
                        }
                    }
                }
                pos.1 < limit
            }
            _ => true,
        }
    }

    pub(crate) fn p_replay_add(&mut self, s: u32, pos: Pos) {
        let hash = self.p_log(s, pos.0).get(pos.1).map_or(0, |e| e.hash);
        let st = &mut self.pulsar.subs[s as usize];
        if st.replay.insert(pos) && st.kind == SubscriptionType::KeyShared {
            let key = log_slot(Self::p_ci(st, pos.0), hash);
            *st.replay_hashes.entry(key).or_insert(0) += 1;
        }
    }

    pub(crate) fn p_replay_remove(&mut self, s: u32, pos: Pos) {
        let hash = self.p_log(s, pos.0).get(pos.1).map_or(0, |e| e.hash);
        let st = &mut self.pulsar.subs[s as usize];
        if st.replay.remove(&pos) && st.kind == SubscriptionType::KeyShared {
            let key = log_slot(Self::p_ci(st, pos.0), hash);
            if let Some(n) = st.replay_hashes.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    st.replay_hashes.remove(&key);
                }
            }
        }
    }

    pub(crate) fn p_dispatch_key_shared(&mut self, s: u32) {
        let si = s as usize;
        if self.p_open_parts(s).is_empty() {
            return;
        }
        self.p_release_due(s);
        // Replayed messages first, in position order; only the oldest
        // held-back message of a slot may go. The pass is skipped when no
        // held-back key's owner has a permit on any log: every entry would
        // stay where it is (the replay set holds only stored, unsettled
        // messages, `check_pulsar`). Under overload the set is thousands
        // of messages of a few keys, and every arrival dispatches; this
        // check costs a lookup per distinct key, not one per message.
        if !self.p_ks_replay_may_move(s) {
            return self.p_ks_read_ahead(s);
        }
        let replay: Vec<Pos> = self.pulsar.subs[si].replay.iter().copied().collect();
        // (log, slot) pairs whose oldest held-back message could not go.
        let mut blocked: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
        for pos in replay {
            // A delivery brought the subscription to its cap on this log
            // (`pulsar_unacked.rs`): that dispatcher stops, the others go on.
            if self.p_sub_blocked(s, pos.0) {
                continue;
            }
            if self.p_settled(s, pos) {
                self.p_replay_remove(s, pos);
                continue;
            }
            let Some(e) = self.p_log(s, pos.0).get(pos.1).copied() else {
                self.p_replay_remove(s, pos);
                continue;
            };
            let key = log_slot(Self::p_ci(&self.pulsar.subs[si], pos.0), e.hash);
            if blocked.contains(&key) {
                continue;
            }
            match self.p_owner(s, e.hash) {
                Some(c) if self.p_ks_ok(s, c, pos, true) => {
                    self.p_replay_remove(s, pos);
                    self.p_deliver(s, c, pos);
                }
                _ => {
                    blocked.insert(key);
                }
            }
        }
        self.p_ks_read_ahead(s);
    }

    /// Some key held back in the replay set has an owner with a permit on
    /// the key's log (it may then go out, or the pass must run to find out).
    fn p_ks_replay_may_move(&self, s: u32) -> bool {
        let st = &self.pulsar.subs[s as usize];
        let retry_ci = st.cursors.len() - 1;
        st.replay_hashes.keys().any(|&key| {
            let (ci, h) = ((key >> 16) as usize, key & 0xffff);
            let part = if ci == retry_ci {
                RETRY_PART
            } else {
                ci as u32
            };
            self.p_owner(s, h)
                .is_some_and(|c| self.p_permits(s, c, part) > 0)
        })
    }

    /// New messages in read order: to their key's owner when it may take
    /// them and nothing older of the key waits, else held back, until the
    /// look-ahead limit.
    fn p_ks_read_ahead(&mut self, s: u32) {
        let si = s as usize;
        let n = self.pulsar.subs[si].consumers.len();
        let lookahead = (LOOKAHEAD_PER_CONSUMER * n).min(LOOKAHEAD_MAX);
        while self.pulsar.subs[si].replay.len() < lookahead {
            // Without the logs blocked on their caps (`p_permits`).
            let open = self.p_open_parts(s);
            if open.is_empty() {
                return;
            }
            let Some(pos) = self.p_read_new(s, &open) else {
                return;
            };
            let hash = self.p_log(s, pos.0).get(pos.1).expect("stored").hash;
            let st = &self.pulsar.subs[si];
            let waiting = st
                .replay_hashes
                .contains_key(&log_slot(Self::p_ci(st, pos.0), hash));
            match self.p_owner(s, hash) {
                Some(c) if !waiting && self.p_ks_ok(s, c, pos, false) => self.p_deliver(s, c, pos),
                _ => self.p_replay_add(s, pos),
            }
        }
    }
}
