//! Redis Streams: XADD with exact MAXLEN trimming, consumer groups with a
//! last-delivered id and a pending entries list (PEL), XACK, and XAUTOCLAIM
//! of entries idle past a min-idle-time — Redis's at-least-once option.
//!
//!   Arrive ──xadd──► stream [entries by id] ──trim to MAXLEN
//!                       │
//!   consumer (idle) ──XREADGROUP `>`──► entry after last_delivered ──► PEL {owner, delivered_us, count}
//!      └── handled ──XACK──► removed from the PEL
//!   every `claim_every`: XAUTOCLAIM 0-0 min-idle-time ──► idle PEL entries change owner,
//!                        count + 1, idle reset; the claimer handles them first
//!
//! Semantics, as Redis documents them ("Redis Streams", XADD, XREADGROUP,
//! XACK, XAUTOCLAIM) and implements them (`t_stream.c`):
//! - Ids are `<ms>-<seq>`: the clock's milliseconds, or the last id's
//!   milliseconds with `seq + 1` when the clock has not moved past it.
//! - XADD appends, then trims to MAXLEN exactly (no `~`). Trimming does not
//!   touch the PELs: a trimmed entry still pending is later dropped from the
//!   PEL by XAUTOCLAIM (returned as deleted), as Redis 7 does.
//! - An XAUTOCLAIM claims pending entries idle for at least min-idle-time
//!   (`now - delivery time >= min_idle`), scanning the PEL from `0-0` in id
//!   order, at most COUNT entries answered and COUNT × 10 scanned (Redis's
//!   `attempts`); a pending entry no longer in the stream is removed from
//!   the PEL first, whatever its idle time, and counts against COUNT (Redis
//!   7.0.4+: "COUNT is a limit of the command response size", which lists
//!   the deleted ids too);
//!   each claim sets the owner and delivery time and adds one to the
//!   delivery count (`xautoclaimCommand`).
//! - XACK removes the entry from the group's PEL whoever owns it: the
//!   original consumer acking an entry claimed meanwhile acks it for the
//!   group (and the claimer handles it again: a duplicate).
//! - Consumers block on XREADGROUP when nothing is new; a new entry goes to
//!   the consumer blocked longest (Redis serves blocked clients in order).
//!
//! What is shared with the other models: entries and deliveries are arena
//! messages (an entry is `Queued` in its stream, each delivery an `Unacked`
//! copy), so latencies and both ledgers count them; unlike a Kafka topic
//! (`topic.rs`) nothing is committed: progress is the PEL. An entry every
//! group has read and acknowledged, that no PEL holds and no XAUTOCLAIM
//! reply still carries, can never be delivered again (groups are fixed for
//! the run): it is *settled* (`x_settle`). Its message is retired then, not
//! when MAXLEN trims it, so the business ledger finalises it (exactly once,
//! or duplicated) and "in flight" stops counting it; the stream keeps its
//! id (`SETTLED` in place of a slot) for its length, its lag and its trim.
//!
//! Exports: `xadd` (routing). Reacts to `RedisEvent::{XDone, ClaimTick,
//! XRestart}`. Guarantees (`check_xstreams`, in `xstream_check.rs`): ids strictly increase; PEL ids
//! are at most the group's last-delivered id; a busy consumer holds exactly
//! one `Unacked` delivery; a crashed consumer holds none.

use super::redis::{draw_service_us, RedisEvent, VQ_GROUP_BASE};
use crate::engine::core::{Engine, Event};
use crate::engine::message::MsgState;
use crate::engine::prng::Stream;
use crate::engine::trace::{NodeId, Reason, TraceKind};
use crate::scenario::{RedisGroup, RedisStream};
use std::collections::{BTreeMap, VecDeque};

/// XAUTOCLAIM's default interval per consumer when `claim_every` is unset.
const CLAIM_EVERY_US: u64 = 1_000_000;
/// XAUTOCLAIM's default COUNT (Redis's).
const CLAIM_COUNT: u32 = 100;
/// In place of an entry's arena slot: the entry is settled (its message
/// retired); Redis still stores it, so it keeps its place in the stream.
pub(crate) const SETTLED: u32 = u32::MAX;

/// A stream entry id, `<ms>-<seq>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct StreamState {
    pub(crate) node: NodeId,
    /// (id, arena slot or `SETTLED`), in id order.
    pub(crate) entries: VecDeque<(StreamId, u32)>,
    /// Entries of `entries` that are `SETTLED` (not live messages).
    pub(crate) settled: u64,
    pub(crate) last_id: StreamId,
    pub(crate) maxlen: Option<u64>,
    pub(crate) added: u64,
    pub(crate) trimmed: u64,
    /// Groups reading it (indexes into `Redis::groups`).
    pub(crate) groups: Vec<u32>,
}

impl StreamState {
    pub(crate) fn new(node: NodeId, cfg: &RedisStream) -> Self {
        StreamState {
            node,
            entries: VecDeque::new(),
            settled: 0,
            last_id: StreamId::default(),
            maxlen: cfg.maxlen,
            added: 0,
            trimmed: 0,
            groups: Vec::new(),
        }
    }

    /// The arena slot of entry `id`: `None` once trimmed or settled (a
    /// settled entry is never looked up: nothing can deliver it again).
    pub(crate) fn slot_of(&self, id: StreamId) -> Option<u32> {
        self.entries
            .binary_search_by_key(&id, |e| e.0)
            .ok()
            .map(|i| self.entries[i].1)
            .filter(|&slot| slot != SETTLED)
    }
}

/// One pending entry: who holds it, since when, how many deliveries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    pub(crate) consumer: u32,
    pub(crate) delivered_us: u64,
    pub(crate) count: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct XConsumer {
    pub(crate) up: bool,
    pub(crate) epoch: u32,
    /// The delivery being handled: (copy slot, entry id, service time).
    pub(crate) busy: Option<(u32, StreamId, u64)>,
    /// Entries XAUTOCLAIM gave it, with their delivery counts then, to
    /// handle before new ones (the reply carried them, so they are handled
    /// even if their old owner acks them meanwhile).
    pub(crate) claimed: VecDeque<(StreamId, u32)>,
    /// A claim tick came while busy: claim when next idle.
    pub(crate) claim_due: bool,
    pub(crate) processed: u64,
    /// A crash after the effect, commanded while it was idle, waiting for
    /// the entry it handles next: (`after_effect`, restart delay). It fires
    /// once that entry's effect is done, before its XACK.
    pub(crate) armed: Option<(bool, Option<u64>)>,
}

#[derive(Clone, Debug)]
pub(crate) struct XGroupState {
    pub(crate) node: NodeId,
    pub(crate) stream: u32,
    pub(crate) last_delivered: StreamId,
    pub(crate) pel: BTreeMap<StreamId, Pending>,
    pub(crate) consumers: Vec<XConsumer>,
    /// Consumers blocked on XREADGROUP, longest first.
    pub(crate) waiting: VecDeque<u32>,
    pub(crate) rng: Stream,
    pub(crate) delivered: u64,
    pub(crate) acked: u64,
    pub(crate) claimed: u64,
    pub(crate) claim_deleted: u64,
    /// How many of its consumers' `claimed` replies hold each entry id,
    /// kept in step with them so `x_open` asks one map per group instead
    /// of scanning every consumer's reply on each XACK.
    pub(crate) claim_refs: BTreeMap<StreamId, u32>,
}

impl XGroupState {
    /// A consumer's claimed reply now carries `id`.
    fn claim_ref_add(&mut self, id: StreamId) {
        *self.claim_refs.entry(id).or_insert(0) += 1;
    }

    /// A consumer's claimed reply no longer carries `id`.
    fn claim_ref_sub(&mut self, id: StreamId) {
        if let Some(n) = self.claim_refs.get_mut(&id) {
            *n -= 1;
            if *n == 0 {
                self.claim_refs.remove(&id);
            }
        }
    }
}

impl XGroupState {
    pub(crate) fn new(node: NodeId, stream: u32, cfg: &RedisGroup, seed: u64) -> Self {
        XGroupState {
            node,
            stream,
            last_delivered: StreamId::default(),
            pel: BTreeMap::new(),
            consumers: (0..cfg.consumers)
                .map(|_| XConsumer {
                    up: true,
                    epoch: 0,
                    busy: None,
                    claimed: VecDeque::new(),
                    claim_due: false,
                    processed: 0,
                    armed: None,
                })
                .collect(),
            waiting: (0..cfg.consumers).collect(),
            rng: Stream::new(seed, &format!("redis-group:{}", cfg.id)),
            delivered: 0,
            acked: 0,
            claimed: 0,
            claim_deleted: 0,
            claim_refs: BTreeMap::new(),
        }
    }
}

impl Engine {
    /// XADD: append the message in `slot` (in transit) to stream `st`, trim
    /// to MAXLEN, wake blocked consumers.
    pub(crate) fn xadd(&mut self, slot: u32, st: u32) {
        let ms = self.now.0 / 1000;
        let s = &mut self.redis.streams[st as usize];
        let id = if ms > s.last_id.ms {
            StreamId { ms, seq: 0 }
        } else {
            StreamId {
                ms: s.last_id.ms,
                seq: s.last_id.seq + 1,
            }
        };
        s.last_id = id;
        s.added += 1;
        s.entries.push_back((id, slot));
        let node = s.node;
        let length = s.entries.len() as u64;
        let n_groups = s.groups.len();
        // Stored once, read by every group: one copy per extra reader in
        // the totals, as a fanout exchange's copies.
        let extra = n_groups.saturating_sub(1) as u64;
        self.totals.copies += extra;
        self.redis.reader_copies += extra;
        self.set_state(slot, MsgState::Queued);
        let mid = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::XAdded {
                ms: id.ms,
                seq: id.seq,
                length,
            },
            Some(mid),
            node,
        );
        // By index: no per-entry allocation on the XADD path.
        for k in 0..n_groups {
            let g = self.redis.streams[st as usize].groups[k];
            self.fx_expect(slot, VQ_GROUP_BASE + g as u16);
        }
        self.trim(st);
        for k in 0..n_groups {
            let g = self.redis.streams[st as usize].groups[k];
            self.wake_group(g);
        }
    }

    /// Trim stream `st` to its MAXLEN, oldest first.
    fn trim(&mut self, st: u32) {
        let s = &self.redis.streams[st as usize];
        let Some(maxlen) = s.maxlen else {
            return;
        };
        let mut count = 0u32;
        while self.redis.streams[st as usize].entries.len() as u64 > maxlen {
            let s = &mut self.redis.streams[st as usize];
            let (id, slot) = s.entries.pop_front().expect("longer than maxlen");
            s.trimmed += 1;
            count += 1;
            if slot == SETTLED {
                s.settled -= 1;
                continue; // its message was retired when it settled
            }
            let node = s.node;
            let read_by_all = s
                .groups
                .iter()
                .all(|&g| self.redis.groups[g as usize].last_delivered >= id);
            if read_by_all {
                self.retire(slot);
            } else {
                self.drop_message(slot, Reason::StreamTrimmed, node);
            }
        }
        if count > 0 {
            let s = &self.redis.streams[st as usize];
            let length = s.entries.len() as u64;
            let node = s.node;
            self.trace
                .record(self.now, TraceKind::XTrimmed { count, length }, None, node);
        }
    }

    /// New entries in group `g`'s stream: the consumers blocked longest take them.
    fn wake_group(&mut self, g: u32) {
        while self.has_unread(g) {
            let Some(c) = self.redis.groups[g as usize].waiting.pop_front() else {
                return;
            };
            let cs = &self.redis.groups[g as usize].consumers[c as usize];
            if cs.up && cs.busy.is_none() {
                self.x_next(g, c);
            }
        }
    }

    fn has_unread(&self, g: u32) -> bool {
        let gs = &self.redis.groups[g as usize];
        let s = &self.redis.streams[gs.stream as usize];
        s.entries.back().is_some_and(|e| e.0 > gs.last_delivered)
    }

    /// The consumer's loop: XAUTOCLAIM if due, then claimed entries, then
    /// XREADGROUP `>`, else block.
    fn x_next(&mut self, g: u32, c: u32) {
        let cs = &self.redis.groups[g as usize].consumers[c as usize];
        if !cs.up || cs.busy.is_some() {
            return;
        }
        // A client calls XAUTOCLAIM again only after handling the batch the
        // last call returned: claiming first would take entries of that very
        // batch from itself and handle them twice.
        if cs.claim_due && cs.claimed.is_empty() {
            self.redis.groups[g as usize].consumers[c as usize].claim_due = false;
            self.xautoclaim(g, c);
        }
        let gi = g as usize;
        let st = self.redis.groups[gi].stream as usize;
        while let Some((id, count)) = self.redis.groups[gi].consumers[c as usize]
            .claimed
            .pop_front()
        {
            self.redis.groups[gi].claim_ref_sub(id);
            // The XAUTOCLAIM reply carried the entry: it is handled even if
            // its old owner acked it (or another consumer claimed it) since;
            // the XACK after it then reports nothing acked. An entry MAXLEN
            // trimmed meanwhile is skipped (README: differences from Redis).
            if let Some(slot) = self.redis.streams[st].slot_of(id) {
                self.x_deliver(g, c, id, slot, Some(count));
                return;
            }
        }
        let last = self.redis.groups[gi].last_delivered;
        let s = &self.redis.streams[st];
        let i = s.entries.partition_point(|e| e.0 <= last);
        if let Some(&(id, slot)) = s.entries.get(i) {
            let now = self.now.0;
            let gs = &mut self.redis.groups[gi];
            gs.last_delivered = id;
            gs.pel.insert(
                id,
                Pending {
                    consumer: c,
                    delivered_us: now,
                    count: 1,
                },
            );
            self.x_deliver(g, c, id, slot, None);
        } else if !self.redis.groups[gi].waiting.contains(&c) {
            self.redis.groups[gi].waiting.push_back(c);
        }
    }

    /// Hand entry `id` (stream slot `slot`) to consumer `c` as a new copy.
    fn x_deliver(&mut self, g: u32, c: u32, id: StreamId, slot: u32, claimed: Option<u32>) {
        // A delivery is not a copy in the totals: the entry counts once
        // per group (`xadd`, `in_flight_now`).
        let copy = self.copy_message(slot);
        self.redis.copy_entities += 1;
        self.set_state(copy, MsgState::Unacked);
        let gs = &mut self.redis.groups[g as usize];
        gs.delivered += 1;
        let deliveries = claimed.unwrap_or_else(|| gs.pel.get(&id).map_or(1, |p| p.count));
        let service_us = draw_service_us(&self.cfg.redis_groups[g as usize].service, &mut gs.rng);
        let cs = &mut gs.consumers[c as usize];
        cs.busy = Some((copy, id, service_us));
        let epoch = cs.epoch;
        let node = gs.node;
        let cid = self.msgs[copy as usize].id;
        self.set_deliveries(copy, deliveries);
        self.trace.record(
            self.now,
            TraceKind::XDelivered {
                consumer: c,
                ms: id.ms,
                seq: id.seq,
                deliveries,
            },
            Some(cid),
            node,
        );
        self.agenda.schedule(
            self.now.after(service_us),
            Event::Redis(RedisEvent::XDone { g, c, epoch }),
        );
    }

    pub(crate) fn on_x_done(&mut self, g: u32, c: u32, epoch: u32) {
        let gs = &mut self.redis.groups[g as usize];
        let cs = &mut gs.consumers[c as usize];
        if cs.epoch != epoch {
            return;
        }
        if let Some((after_effect, restart_after_us)) = cs.armed.take() {
            // The armed crash: the entry in hand stays pending, unacked.
            return self.crash_x_consumer(g, c, after_effect, restart_after_us);
        }
        let Some((copy, id, _)) = cs.busy.take() else {
            return;
        };
        cs.processed += 1;
        let acked = gs.pel.remove(&id).is_some();
        if acked {
            gs.acked += 1;
        }
        let node = gs.node;
        self.fx_effect(copy, (VQ_GROUP_BASE + g as u16) as u32);
        let cid = self.msgs[copy as usize].id;
        self.trace.record(
            self.now,
            TraceKind::XAcked {
                consumer: c,
                ms: id.ms,
                seq: id.seq,
                acked,
            },
            Some(cid),
            node,
        );
        self.totals.processed += 1;
        self.complete(copy);
        self.x_settle(g, id);
        self.x_next(g, c);
    }

    /// Retire entry `id` of group `g`'s stream if it is settled: read by
    /// every group of the stream, in no PEL, in no consumer's claimed
    /// reply. Called where the last of these can become true: an XACK (or
    /// the handling of a claimed entry another consumer acked), and a crash
    /// that drops a claimed reply.
    fn x_settle(&mut self, g: u32, id: StreamId) {
        let st = self.redis.groups[g as usize].stream as usize;
        let s = &self.redis.streams[st];
        let Ok(i) = s.entries.binary_search_by_key(&id, |e| e.0) else {
            return; // trimmed
        };
        let slot = s.entries[i].1;
        if slot != SETTLED && !self.x_open(st, id) {
            self.redis.streams[st].entries[i].1 = SETTLED;
            self.redis.streams[st].settled += 1;
            self.retire(slot);
        }
    }

    /// May entry `id` of stream `st` still be delivered: some group has not
    /// read it, holds it in its PEL, or has it in a claimed reply?
    pub(crate) fn x_open(&self, st: usize, id: StreamId) -> bool {
        self.redis.streams[st].groups.iter().any(|&k| {
            let gs = &self.redis.groups[k as usize];
            gs.last_delivered < id || gs.pel.contains_key(&id) || gs.claim_refs.contains_key(&id)
        })
    }

    /// The next claim tick of consumer `c` (no tick when claiming is off).
    pub(crate) fn schedule_claim(&mut self, g: u32, c: u32) {
        let cfg = &self.cfg.redis_groups[g as usize];
        let every = cfg.claim_every.map_or(CLAIM_EVERY_US, |d| d.us());
        let epoch = self.redis.groups[g as usize].consumers[c as usize].epoch;
        self.agenda.schedule(
            self.now.after(every),
            Event::Redis(RedisEvent::ClaimTick { g, c, epoch }),
        );
    }

    pub(crate) fn on_claim_tick(&mut self, g: u32, c: u32, epoch: u32) {
        let cs = &self.redis.groups[g as usize].consumers[c as usize];
        if cs.epoch != epoch || !cs.up {
            return;
        }
        self.schedule_claim(g, c);
        if self.cfg.redis_groups[g as usize].min_idle_time.is_none() {
            return;
        }
        if self.redis.groups[g as usize].consumers[c as usize]
            .busy
            .is_some()
        {
            self.redis.groups[g as usize].consumers[c as usize].claim_due = true;
            return;
        }
        // Its blocked XREADGROUP returned (the loop's timeout) to run
        // XAUTOCLAIM; blocking again puts it at the tail of the key's
        // blocked clients (`blockForKeys`), behind those that kept waiting.
        self.redis.groups[g as usize].waiting.retain(|&w| w != c);
        self.xautoclaim(g, c);
        self.x_next(g, c);
    }

    /// XAUTOCLAIM <group> c<c> <min-idle-time> 0-0 COUNT <n>.
    fn xautoclaim(&mut self, g: u32, c: u32) {
        let cfg = &self.cfg.redis_groups[g as usize];
        let Some(min_idle) = cfg.min_idle_time.map(|d| d.us()) else {
            return;
        };
        let count = cfg.claim_count.unwrap_or(CLAIM_COUNT);
        let now = self.now.0;
        let gi = g as usize;
        let st = self.redis.groups[gi].stream as usize;
        // Claims plus deleted ids reported: both count against COUNT.
        let mut answered = 0u32;
        let ids: Vec<StreamId> = self.redis.groups[gi]
            .pel
            .keys()
            .take(count as usize * 10)
            .copied()
            .collect();
        for id in ids {
            if answered >= count {
                break;
            }
            let p = self.redis.groups[gi].pel[&id];
            let idle_us = now - p.delivered_us;
            let node = self.redis.groups[gi].node;
            if self.redis.streams[st].slot_of(id).is_none() {
                // Trimmed: Redis 7 drops it from the PEL and reports it
                // deleted, whatever its idle time (checked first).
                self.redis.groups[gi].pel.remove(&id);
                self.redis.groups[gi].claim_deleted += 1;
                answered += 1;
                self.trace.record(
                    self.now,
                    TraceKind::XClaimDeleted {
                        consumer: c,
                        ms: id.ms,
                        seq: id.seq,
                    },
                    None,
                    node,
                );
                continue;
            }
            if idle_us < min_idle {
                continue;
            }
            answered += 1;
            let gs = &mut self.redis.groups[gi];
            gs.claimed += 1;
            let pe = gs.pel.get_mut(&id).expect("listed");
            let from = pe.consumer;
            pe.consumer = c;
            pe.delivered_us = now;
            pe.count += 1;
            let count = pe.count;
            gs.consumers[c as usize].claimed.push_back((id, count));
            gs.claim_ref_add(id);
            self.trace.record(
                self.now,
                TraceKind::XClaimed {
                    consumer: c,
                    from,
                    ms: id.ms,
                    seq: id.seq,
                    idle_us,
                },
                None,
                node,
            );
        }
    }

    /// `CrashStreamConsumer`: the delivery being handled is lost (its
    /// effect done first when `after_effect`); its PEL entries stay. A crash
    /// `after_effect` of an idle consumer is armed instead, as the AMQP
    /// consumer's protocol points are: it fires once the effect of the next
    /// entry it handles is done (`on_x_done`), so the command catches an
    /// entry in hand whatever the seed. A plain crash is immediate.
    pub(crate) fn arm_or_crash_x_consumer(
        &mut self,
        g: u32,
        c: u32,
        after_effect: bool,
        restart_after_us: Option<u64>,
    ) {
        let cs = &mut self.redis.groups[g as usize].consumers[c as usize];
        if after_effect && cs.up && cs.busy.is_none() {
            cs.armed = Some((after_effect, restart_after_us));
            return;
        }
        self.crash_x_consumer(g, c, after_effect, restart_after_us);
    }

    /// The crash itself (see `arm_or_crash_x_consumer`).
    pub(crate) fn crash_x_consumer(
        &mut self,
        g: u32,
        c: u32,
        after_effect: bool,
        restart_after_us: Option<u64>,
    ) {
        let gs = &mut self.redis.groups[g as usize];
        let cs = &mut gs.consumers[c as usize];
        if !cs.up {
            return;
        }
        cs.up = false;
        cs.epoch = cs.epoch.wrapping_add(1);
        cs.claim_due = false;
        let dropped_claims = std::mem::take(&mut cs.claimed);
        cs.armed = None;
        let busy = cs.busy.take();
        let epoch = cs.epoch;
        for &(id, _) in &dropped_claims {
            gs.claim_ref_sub(id);
        }
        gs.waiting.retain(|&w| w != c);
        let pending = gs.pel.values().filter(|p| p.consumer == c).count() as u32;
        let node = gs.node;
        self.trace.record(
            self.now,
            TraceKind::XConsumerCrashed {
                consumer: c,
                pending,
            },
            None,
            node,
        );
        if let Some((copy, _, _)) = busy {
            if after_effect {
                self.fx_effect(copy, (VQ_GROUP_BASE + g as u16) as u32);
            }
            self.drop_message(copy, Reason::ConsumerCrashed, node);
        }
        // A claimed reply the crash threw away may have been all that kept
        // an entry another consumer acked meanwhile.
        for (id, _) in dropped_claims {
            self.x_settle(g, id);
        }
        if let Some(d) = restart_after_us {
            self.agenda.schedule(
                self.now.after(d),
                Event::Redis(RedisEvent::XRestart { g, c, epoch }),
            );
        }
    }

    pub(crate) fn on_x_restart(&mut self, g: u32, c: u32, epoch: u32) {
        let cs = &mut self.redis.groups[g as usize].consumers[c as usize];
        if cs.epoch != epoch || cs.up {
            return;
        }
        cs.up = true;
        cs.epoch = cs.epoch.wrapping_add(1);
        let node = self.redis.groups[g as usize].node;
        self.trace.record(
            self.now,
            TraceKind::XConsumerRestarted { consumer: c },
            None,
            node,
        );
        self.schedule_claim(g, c);
        self.x_next(g, c);
    }
}
