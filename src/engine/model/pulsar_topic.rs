//! Pulsar's topic side: a producer's send routed to a partition (key hash,
//! or round robin per 10 ms window), the backlog quota's three policies
//! (hold, exception, consumer backlog eviction) checked per partition,
//! storing at the log's end, and deletion once every subscription's
//! mark-delete position has passed a message and its retention ran out
//! (then held sends go on). The state it works on is in `pulsar.rs`.
//!
//!   send ──p_route──► partition ──quota?──► hold | refuse | evict ──► p_store_at ──► dispatch
//!   acks, sends (with retention) ──p_trim──► delete from each log's front ──► p_release_held
//!
//! Guarantees: a log only grows at its end and shrinks at its front; a held
//! send keeps its order among the sends to its partition.

use super::pulsar::{
    PEntry, PulsarEvent, PARTITION_SWITCH_US, SEND_TIMEOUT_US, SETTLED, VQ_PULSAR_BASE,
};
use crate::engine::core::{Engine, Event};
use crate::engine::message::{MsgState, NO_SYM};
use crate::engine::trace::{Reason, TraceKind};
use crate::scenario::BacklogPolicy;

impl Engine {
    /// A producer's message arrives at topic `t`: routed to a partition,
    /// whose backlog quota decides, then it is stored. Each partition of a
    /// partitioned topic is a topic of its own to the broker, with its own
    /// ledger and quota check (`BrokerService.monitorBacklogQuota` runs per
    /// topic, `BacklogQuotaManager` evicts per ledger), so the limit holds
    /// per partition and only sends to a full one wait or fail.
    pub(crate) fn pulsar_send(&mut self, slot: u32, t: u32, p: u16) {
        self.p_trim_expired(t);
        let node = self.pulsar.topics[t as usize].node;
        let part = self.p_route(slot, t, p);
        if let Some(q) = self.cfg.pulsar_topics[t as usize].backlog_quota {
            let worst = self.p_worst_backlog(t, part);
            if worst >= q.limit_messages {
                match q.policy {
                    BacklogPolicy::ProducerException => {
                        self.pulsar.topics[t as usize].refused += 1;
                        self.drop_message(slot, Reason::BacklogQuota, node);
                        return;
                    }
                    BacklogPolicy::ProducerRequestHold => {
                        let gen = self.msgs[slot as usize].gen;
                        let mid = self.msgs[slot as usize].id;
                        self.pulsar.topics[t as usize]
                            .held
                            .push_back((slot, gen, p, part));
                        self.trace.record(
                            self.now,
                            TraceKind::PulsarHeld { backlog: worst },
                            Some(mid),
                            node,
                        );
                        self.agenda.schedule(
                            self.now.after(SEND_TIMEOUT_US),
                            Event::Pulsar(PulsarEvent::HoldTimeout { t, slot, gen }),
                        );
                        return;
                    }
                    BacklogPolicy::ConsumerBacklogEviction => {
                        self.p_evict(t, part, q.limit_messages)
                    }
                }
            }
        }
        self.p_store_at(slot, t, p, part);
    }

    /// Subscription `s`'s backlog on partition `part` of its topic `t`:
    /// stored and not acknowledged.
    fn p_part_backlog(&self, s: u32, t: u32, part: u32) -> u64 {
        let cur = &self.pulsar.subs[s as usize].cursors[part as usize];
        cur.unacked_below(self.pulsar.topics[t as usize].logs[part as usize].end())
    }

    /// The largest backlog on partition `part` among `t`'s subscriptions.
    fn p_worst_backlog(&self, t: u32, part: u32) -> u64 {
        let tp = &self.pulsar.topics[t as usize];
        tp.subs
            .iter()
            .map(|&s| self.p_part_backlog(s, t, part))
            .max()
            .unwrap_or(0)
    }

    /// Route and store (a dead letter: no quota check).
    pub(crate) fn p_store(&mut self, slot: u32, t: u32, p: u16) {
        self.p_trim_expired(t);
        let part = self.p_route(slot, t, p);
        self.p_store_at(slot, t, p, part);
    }

    /// The partition of topic `t` a message of producer `p` goes to (`p`
    /// is `u16::MAX` for a dead letter).
    fn p_route(&mut self, slot: u32, t: u32, p: u16) -> u32 {
        let key = self.msgs[slot as usize].key;
        let key_str = (key != NO_SYM).then(|| self.syms[key as usize].as_str());
        let tp = &mut self.pulsar.topics[t as usize];
        let n = tp.logs.len() as u32;
        // The Java client's default router (`RoundRobinPartitionMessageRouter`):
        // a key's hash; else, with batching on (a producer's default), one
        // partition per `partitionSwitchMs` window, `now_ms / 10 + start`, so
        // a batch stays whole; a dead letter (batching off) one at a time.
        match key_str {
            Some(k) if n > 1 => super::pulsar_hash::partition_for_key(k, n),
            _ if n > 1 => match self.pulsar.router_start.get(p as usize) {
                Some(&start) => {
                    let window = self.now.0 / PARTITION_SWITCH_US;
                    ((window + start as u64) % n as u64) as u32
                }
                None => {
                    let r = tp.rr;
                    tp.rr = (tp.rr + 1) % n;
                    r
                }
            },
            _ => 0,
        }
    }

    /// Append to partition `part`, then let every subscription dispatch;
    /// `p` is the sending producer (`u16::MAX`: a dead letter, no
    /// `deliver_after`).
    fn p_store_at(&mut self, slot: u32, t: u32, p: u16, part: u32) {
        let key = self.msgs[slot as usize].key;
        let key_str = (key != NO_SYM).then(|| self.syms[key as usize].as_str());
        let hash = super::pulsar_hash::sticky_slot(key_str);
        let deliver_after = self
            .cfg
            .producers
            .get(p as usize)
            .and_then(|x| x.deliver_after)
            .map_or(0, |d| d.us());
        let deliver_at_us = if deliver_after > 0 {
            self.now.0 + deliver_after
        } else {
            0
        };
        let tp = &mut self.pulsar.topics[t as usize];
        let off = tp.logs[part as usize].end();
        tp.logs[part as usize].entries.push_back(PEntry {
            slot,
            hash,
            deliver_at_us,
            stored_us: self.now.0,
            reconsume: 0,
        });
        tp.stored += 1;
        let node = tp.node;
        let n_subs = tp.subs.len();
        self.set_state(slot, MsgState::Queued);
        let mid = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::PulsarStored {
                partition: part,
                offset: off,
            },
            Some(mid),
            node,
        );
        if n_subs == 0 && self.cfg.pulsar_topics[t as usize].retention.is_none() {
            // No subscription and no retention: nothing keeps it.
            let tp = &mut self.pulsar.topics[t as usize];
            tp.logs[part as usize].entries.pop_back();
            tp.logs[part as usize].base += 1;
            tp.deleted += 1;
            self.drop_message(slot, Reason::NoSubscribers, node);
            return;
        }
        // Stored once, read by every subscription: one copy per extra
        // reader in the totals, as a fanout exchange's copies.
        let extra = n_subs.saturating_sub(1) as u64;
        self.totals.copies += extra;
        self.pulsar.reader_copies += extra;
        for k in 0..n_subs {
            let s = self.pulsar.topics[t as usize].subs[k];
            self.pulsar.subs[s as usize].backlog += 1;
            self.fx_expect(slot, VQ_PULSAR_BASE + s as u16);
        }
        for k in 0..n_subs {
            let s = self.pulsar.topics[t as usize].subs[k];
            self.p_dispatch(s);
        }
    }

    /// `consumer_backlog_eviction`: skip the oldest unacknowledged messages
    /// of partition `part` for every subscription over the limit there,
    /// until its backlog on it is 90% of the limit.
    fn p_evict(&mut self, t: u32, part: u32, limit: u64) {
        let target = limit * 9 / 10;
        let subs = self.pulsar.topics[t as usize].subs.clone();
        for s in subs {
            let mut count = 0u32;
            while self.p_part_backlog(s, t, part) > target {
                let cur = &self.pulsar.subs[s as usize].cursors[part as usize];
                let log = &self.pulsar.topics[t as usize].logs[part as usize];
                let mut off = cur.md;
                while off < log.end() && cur.acked.contains(&off) {
                    off += 1;
                }
                let Some(e) = log.get(off) else { break };
                let (slot, pos) = (e.slot, (part, off));
                self.p_drop_share(s, pos, slot, Reason::BacklogEvicted);
                self.p_ack_one(s, pos);
                count += 1;
            }
            if count > 0 {
                self.pulsar.subs[s as usize].evicted += count as u64;
                let node = self.pulsar.subs[s as usize].node;
                self.trace
                    .record(self.now, TraceKind::PulsarEvicted { count }, None, node);
            }
        }
        self.p_trim(t);
    }

    /// A send to topic `t` with retention: first delete what every
    /// subscription acknowledged and whose retention ran out since the last
    /// ack. Pulsar deletes by whole ledgers, when a ledger rolls over (on a
    /// write) or the retention check runs (`ManagedLedgerImpl.trimConsumedLedgersInBackground`,
    /// run after a ledger is closed and periodically); here each message
    /// is checked at the next ack or send. Without retention an
    /// acknowledged message is deleted at its ack: nothing to do.
    fn p_trim_expired(&mut self, t: u32) {
        if self.cfg.pulsar_topics[t as usize].retention.is_some() {
            self.p_trim(t);
        }
    }

    /// Delete stored messages every subscription acknowledged (and whose
    /// retention ran out), oldest first, then release held sends.
    pub(crate) fn p_trim(&mut self, t: u32) {
        let retention_us = self.cfg.pulsar_topics[t as usize].retention.map(|d| d.us());
        let now = self.now.0;
        let n = self.pulsar.topics[t as usize].logs.len();
        for part in 0..n {
            loop {
                let tp = &self.pulsar.topics[t as usize];
                let log = &tp.logs[part];
                let Some(front) = log.entries.front() else {
                    break;
                };
                let off = log.base;
                let all_acked = tp
                    .subs
                    .iter()
                    .all(|&s| self.pulsar.subs[s as usize].cursors[part].is_acked(off));
                let kept = retention_us.is_some_and(|r| front.stored_us + r > now);
                if !all_acked || kept {
                    break;
                }
                let slot = front.slot;
                let tp = &mut self.pulsar.topics[t as usize];
                tp.logs[part].entries.pop_front();
                tp.logs[part].base += 1;
                tp.deleted += 1;
                if slot == SETTLED {
                    tp.logs[part].settled -= 1;
                } else {
                    self.retire(slot);
                }
            }
        }
        self.p_release_held(t);
    }

    /// `producer_request_hold`: held sends to a partition go on, oldest
    /// first, once every backlog on that partition is under the limit.
    fn p_release_held(&mut self, t: u32) {
        let Some(q) = self.cfg.pulsar_topics[t as usize].backlog_quota else {
            return;
        };
        // Called after every trim, so after most acknowledgements: nothing to do
        // (and no allocation) unless a send waits.
        if self.pulsar.topics[t as usize].held.is_empty() {
            return;
        }
        // Storing only adds to a backlog: once a partition's oldest held
        // send must wait, the later ones to it wait too.
        let mut blocked = vec![false; self.pulsar.topics[t as usize].logs.len()];
        let mut i = 0;
        while let Some(&(slot, _, p, part)) = self.pulsar.topics[t as usize].held.get(i) {
            if blocked[part as usize] {
                i += 1;
            } else if self.p_worst_backlog(t, part) < q.limit_messages {
                self.pulsar.topics[t as usize].held.remove(i);
                self.p_store_at(slot, t, p, part);
            } else {
                blocked[part as usize] = true;
                i += 1;
            }
        }
    }
}
