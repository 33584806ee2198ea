//! Kafka's produce path under faults: `acks`, retries, the idempotent
//! producer, replication with a high watermark, and a partition leader crash.
//!
//!   send_batch ──► deliver_batch ──link drops it?──► retry after `timeout` (acks 1/all) or lost (acks 0)
//!                       │ idempotent and seq ≤ last appended? ──► rejected as a duplicate, acked
//!                       ▼
//!                 append (offsets) ──acks 1: answer now──────────────┐
//!                       │ replicated topic: Replicated after replica_lag ──► hw = end ──► acks all: answer
//!                       ▼                                                     readers woken
//!   answer lost on the way back (`confirm_drop`)? ──► retry after `timeout`: appended again (a duplicate)
//!                                                       unless the producer is idempotent
//!   CrashLeader (leader.rs) ──► the new leader (an in-sync follower) has only [start, hw): the rest is truncated —
//!                   acks=1 records were acknowledged and are lost; acks=all batches were not, and are sent again
//!
//! Kafka documentation ("Replication", producer configs `acks`,
//! `enable.idempotence`, `retries`, `request.timeout.ms`, `min.insync.replicas`):
//! consumers read only below the high watermark, the offset every in-sync
//! replica has; `acks=all` is answered once the high watermark passes the
//! batch, `acks=1` once the leader appended it; the idempotent producer
//! numbers its batches per partition and the broker drops a retried batch
//! whose sequence it already appended (`DuplicateSequence`, answered as a
//! success). Simplifications (README): in-sync followers lag by exactly
//! `replica_lag`, and leave and re-join the ISR only through a stalled
//! follower (`isr.rs`, `replica_lag_max`); a crashed leader's replica is out of the ISR until
//! its `restart_after`, so `min_insync` can refuse `acks=all` writes
//! meanwhile (`NotEnoughReplicas`, retried). A partition left without an
//! in-sync replica is offline until the last in-sync one restarts (replicas
//! that crashed before it wait for it), unless the topic sets
//! `unclean_election`: then a live out-of-sync replica leads, and what it
//! lacks is lost (`crash_leader` in `leader.rs`).
//! An error answer backs off exponentially with jitter (KIP-580); an
//! `acks=all` batch still waiting for the high watermark after the request
//! timeout is answered REQUEST_TIMED_OUT (an error answer); a batch is given
//! up at `retries` or `delivery.timeout.ms` (120 s) after its creation (its
//! first record), wherever it is then.
//! Every draw comes from the producer's link stream.

use super::topic::{Record, StreamEvent};
use crate::engine::core::Engine;
use crate::scenario::Acks;

/// `retry.backoff.ms`: the first back-off after an error answer (Kafka's
/// default 100 ms); it doubles per attempt up to `retry.backoff.max.ms`.
pub const RETRY_BACKOFF_US: u64 = 100_000;
/// `retry.backoff.max.ms` (Kafka's default 1 s, KIP-580).
pub const RETRY_BACKOFF_MAX_US: u64 = 1_000_000;
/// `delivery.timeout.ms` (Kafka's default 120 s): a batch not acknowledged
/// this long after it was created is given up, whatever `retries` allows.
pub const DELIVERY_TIMEOUT_US: u64 = 120_000_000;
/// Retries of a topic producer without `confirms` (Kafka: `retries` is
/// effectively unbounded, limited by `delivery.timeout.ms`; this bound keeps
/// a run finite).
pub const TOPIC_RETRIES_DEFAULT: u32 = 1000;

/// A batch the producer waits to hear about.
#[derive(Clone, Debug)]
pub(crate) struct Tracked {
    pub(crate) p: u32,
    pub(crate) t: u32,
    pub(crate) part: u32,
    /// Producer sequence number (per producer; the broker compares per partition).
    pub(crate) seq: u64,
    pub(crate) records: Vec<Record>,
    pub(crate) sends: u32,
    /// The broker appended it at least once (a resend then duplicates).
    pub(crate) appended: bool,
    /// The log end offset after its first append: a leader crash that cuts
    /// the log below it removed every copy.
    pub(crate) appended_end: u64,
    /// A retry is scheduled.
    pub(crate) retry_pending: bool,
    /// When the batch was created: its first record was produced
    /// (`delivery.timeout.ms` counts from it, linger and the wait for an
    /// in-flight slot included).
    pub(crate) created_us: u64,
    /// Times it started waiting for the high watermark (stale request
    /// timeouts of earlier waits are ignored).
    pub(crate) waits: u32,
}

/// Per-partition replication and produce bookkeeping.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartRepl {
    /// Bumped by every leader change: stale `Replicated` events are ignored.
    pub(crate) leader_epoch: u32,
    /// Replicas down (crashed leaders not yet back).
    pub(crate) down: u32,
    /// Offline without unclean election: the leader epoch of the crash that
    /// took the last in-sync replica. Only that replica may lead again
    /// (Kafka: "the partition will remain unavailable until the most recent
    /// leader becomes available again"); the others that come back first
    /// wait in `back_while_offline` and follow it.
    pub(crate) offline_crash: Option<u32>,
    pub(crate) back_while_offline: u32,
    /// (leader epoch of its crash, the log end it had then) of each replica
    /// down: under unclean election the first one back leads an offline
    /// partition with that log, and what was written after it crashed is
    /// lost (`on_leader_back`). One entry per crash not yet back.
    pub(crate) down_ends: Vec<(u32, u64)>,
    /// In-sync replicas, the leader included (0: offline, no leader).
    pub(crate) isr: u32,
    /// End offsets of appended batches the followers do not have yet, oldest
    /// first (one `Replicated` event each).
    pub(crate) replicating: std::collections::VecDeque<u64>,
    /// (end offset, batch id) of `acks=all` batches waiting for the high watermark.
    pub(crate) waiting: std::collections::VecDeque<(u64, u32)>,
    /// Idempotence: the last sequence appended per producer.
    pub(crate) last_seq: std::collections::BTreeMap<u32, u64>,
    pub(crate) acked_lost: u64,
    pub(crate) unacked_lost: u64,
    pub(crate) duplicates_appended: u64,
    pub(crate) duplicates_rejected: u64,
    pub(crate) resent: u64,
}

impl Engine {
    /// `acks` of topic producer `p` (unset: all).
    fn acks_of(&self, p: u32) -> Acks {
        self.cfg.producers[p as usize].acks.unwrap_or(Acks::All)
    }

    /// Does producer `p`'s batch to topic `t` need the full produce path
    /// (faults, or acks on a replicated topic)?
    pub(crate) fn produce_needs_tracking(&self, p: u32, t: u32) -> bool {
        self.cfg.producers[p as usize].faults.is_some()
            || self.cfg.topics[t as usize].replication.is_some()
            || self.streams.topics[t as usize].degraded > 0
            || self.cfg.producers[p as usize].confirms.is_some()
    }

    /// A batch of producer `p` reaches the broker (or not).
    pub(crate) fn deliver_batch(&mut self, p: u32, t: u32, part: u32, records: Vec<Record>) {
        let acks = self.acks_of(p);
        let seq = {
            let tp = self.streams.producers[p as usize]
                .as_mut()
                .expect("a topic producer");
            if tp.next_seq.len() <= part as usize {
                tp.next_seq.resize(part as usize + 1, 0);
            }
            tp.next_seq[part as usize] += 1;
            tp.next_seq[part as usize]
        };
        let id = self.streams.next_batch;
        self.streams.next_batch = self.streams.next_batch.wrapping_add(1);
        if acks == Acks::Zero {
            // Nobody will ever ask about it: no copy kept.
            if !self.link_drops(p) && !self.partition_offline(t, part) {
                self.append_tracked_or_plain(t, part, records, None);
            } else {
                self.streams.topics[t as usize].repl[part as usize].unacked_lost +=
                    records.len() as u64;
            }
            return;
        }
        let records_created_us = records.first().map_or(self.now.0, |r| r.published_us);
        self.streams.tracked.insert(
            id,
            Tracked {
                p,
                t,
                part,
                seq,
                records,
                sends: 0,
                appended: false,
                appended_end: 0,
                retry_pending: false,
                created_us: records_created_us,
                waits: 0,
            },
        );
        self.send_tracked(id);
    }

    /// One send of tracked batch `id`.
    pub(super) fn send_tracked(&mut self, id: u32) {
        let Some(b) = self.streams.tracked.get_mut(&id) else {
            return;
        };
        b.sends += 1;
        let (p, t, part) = (b.p, b.t, b.part);
        if self.link_drops(p) {
            self.retry_later(id, self.request_timeout_us(p));
            return;
        }
        let isr = self.streams.topics[t as usize].repl[part as usize].isr;
        let min_insync = self.cfg.topics[t as usize]
            .replication
            .map_or(1, |r| r.min_insync);
        if isr == 0 || (self.acks_of(p) == Acks::All && isr < min_insync) {
            // Offline (no leader) or NotEnoughReplicas: an error answer, retried.
            self.retry_after_error(id);
            return;
        }
        let b = &self.streams.tracked[&id];
        let idempotent = self.cfg.producers[p as usize].kafka_idempotent();
        let seq = b.seq;
        if idempotent {
            let last = self.streams.topics[t as usize].repl[part as usize]
                .last_seq
                .get(&p)
                .copied();
            if last.is_some_and(|l| seq <= l) {
                // DuplicateSequence: already appended; answered as a success
                // with the first append's offsets — for acks=all once the
                // high watermark passes them (the broker's `DelayedProduce`
                // waits for the duplicate's end offset as for any append).
                let n = b.records.len() as u64;
                let (appended, end) = (b.appended, b.appended_end);
                self.streams.topics[t as usize].repl[part as usize].duplicates_rejected += n;
                let hw = self.streams.topics[t as usize].parts[part as usize].hw;
                if appended
                    && end > hw
                    && self.acks_of(p) == Acks::All
                    && self.streams.topics[t as usize].replicated
                    && !self.isr_leader_alone(t, part)
                {
                    self.wait_for_hw(t, part, end, id);
                } else {
                    self.answer(id);
                }
                return;
            }
            if seq > last.unwrap_or(0) + 1 {
                // OutOfOrderSequence: an earlier batch of this partition is
                // still to come (it is being retried); this one waits its turn.
                // Kafka holds it until the earlier one is through; a fixed
                // short retry stands for that (an exponential back-off here
                // would drain a partition's backlog one batch a second). A
                // held batch was not sent: it uses none of its `retries`
                // (the delivery timeout still bounds it).
                if let Some(b) = self.streams.tracked.get_mut(&id) {
                    b.sends -= 1;
                }
                self.retry_later(id, RETRY_BACKOFF_US);
                return;
            }
        }
        let mut records = b.records.clone();
        let appended_before = b.appended;
        if appended_before {
            self.streams.topics[t as usize].repl[part as usize].duplicates_appended +=
                records.len() as u64;
            for r in &mut records {
                r.set_duplicate();
            }
        }
        let end_after =
            self.streams.topics[t as usize].parts[part as usize].end + records.len() as u64;
        let b = self.streams.tracked.get_mut(&id).expect("tracked");
        if !appended_before {
            b.appended_end = end_after;
        }
        b.appended = true;
        if idempotent {
            self.streams.topics[t as usize].repl[part as usize]
                .last_seq
                .insert(p, seq);
        }
        self.append_tracked_or_plain(t, part, records, Some(id));
    }

    /// Append and, for a tracked batch, arrange its answer.
    fn append_tracked_or_plain(
        &mut self,
        t: u32,
        part: u32,
        records: Vec<Record>,
        id: Option<u32>,
    ) {
        // Acknowledged at the leader's append: acks=1, or acks=all while the
        // ISR is the leader alone (only an unclean election can lose these).
        let acks_one = id.is_some_and(|id| {
            let acks = self.acks_of(self.streams.tracked[&id].p);
            acks == Acks::One
                || (acks == Acks::All
                    && (!self.streams.topics[t as usize].replicated
                        || self.isr_leader_alone(t, part)))
        });
        // No id: an `acks=0` send, which nothing tracks.
        let acks_zero = id.is_none();
        let records = records
            .into_iter()
            .map(|mut r| {
                r.set_acks_one(acks_one);
                r.set_acks_zero(acks_zero);
                r
            })
            .collect();
        self.append_batch(t, part, records);
        let Some(id) = id else {
            return;
        };
        let p = self.streams.tracked[&id].p;
        if self.acks_of(p) == Acks::All
            && self.streams.topics[t as usize].replicated
            && !self.isr_leader_alone(t, part)
        {
            let end = self.streams.topics[t as usize].parts[part as usize].end;
            self.wait_for_hw(t, part, end, id);
        } else {
            self.answer(id);
        }
    }

    /// The broker answers batch `id` (its answer may be lost on the way).
    pub(super) fn answer(&mut self, id: u32) {
        let Some(b) = self.streams.tracked.get(&id) else {
            return;
        };
        let p = b.p;
        let lost = self.cfg.producers[p as usize].faults.is_some_and(|f| {
            f.confirm_drop > 0.0 && self.producers[p as usize].link.chance(f.confirm_drop)
        });
        if lost {
            self.retry_later(id, self.request_timeout_us(p));
        } else if let Some(b) = self.streams.tracked.remove(&id) {
            self.window_release(p, b.part);
        }
    }

    /// No leader: the partition takes no writes and serves no reads.
    pub(crate) fn partition_offline(&self, t: u32, part: u32) -> bool {
        self.streams.topics[t as usize].repl[part as usize].isr == 0
    }

    pub(super) fn request_timeout_us(&self, p: u32) -> u64 {
        self.cfg.producers[p as usize]
            .confirms
            .map_or(1_000_000, |c| c.timeout.us())
    }

    /// Does producer `p`'s link lose this request?
    fn link_drops(&mut self, p: u32) -> bool {
        match self.cfg.producers[p as usize].faults {
            Some(f) if f.drop > 0.0 => self.producers[p as usize].link.chance(f.drop),
            _ => false,
        }
    }

    /// After an append to a replicated partition: the followers have it
    /// `replica_lag` later.
    pub(crate) fn schedule_replication(&mut self, t: u32, part: u32) {
        let Some(r) = self.cfg.topics[t as usize].replication else {
            return;
        };
        let end = self.streams.topics[t as usize].parts[part as usize].end;
        let repl = &mut self.streams.topics[t as usize].repl[part as usize];
        repl.replicating.push_back(end);
        let epoch = repl.leader_epoch;
        self.schedule_stream(
            self.now.after(r.replica_lag.us()),
            StreamEvent::Replicated { t, part, epoch },
        );
    }

    /// The ISR is the leader alone: the high watermark moves to the log end
    /// at once, answering the `acks=all` batches below it and waking readers.
    pub(crate) fn hw_to_log_end(&mut self, t: u32, part: u32) {
        let end = self.streams.topics[t as usize].parts[part as usize].end;
        self.raise_hw(t, part, end);
    }

    /// The in-sync followers caught up to `end`: the high watermark moves,
    /// `acks=all` batches below it are answered, readers see the new records.
    pub(crate) fn on_replicated(&mut self, t: u32, part: u32, epoch: u32) {
        let repl = &mut self.streams.topics[t as usize].repl[part as usize];
        if repl.leader_epoch != epoch {
            return;
        }
        let Some(end) = repl.replicating.pop_front() else {
            return;
        };
        if self.isr_holds_hw(t, part, end) {
            return; // a stalled follower in the ISR lacks it (`isr.rs`)
        }
        self.raise_hw(t, part, end);
    }

    /// The high watermark moves up to `to` (at most the log end; never
    /// down): the `acks=all` batches below it are answered, readers woken.
    fn raise_hw(&mut self, t: u32, part: u32, to: u64) {
        let ti = t as usize;
        let log = &mut self.streams.topics[ti].parts[part as usize];
        if to <= log.hw {
            return;
        }
        log.hw = to.min(log.end);
        let hw = log.hw;
        while let Some(&(e, id)) = self.streams.topics[ti].repl[part as usize].waiting.front() {
            if e > hw {
                break;
            }
            self.streams.topics[ti].repl[part as usize]
                .waiting
                .pop_front();
            self.answer(id);
        }
        if !self.streams.topics[ti].parts[part as usize]
            .unsettled_txns
            .is_empty()
        {
            self.settle_txns(t, part);
        }
        self.records_appended(t, part);
    }

    /// A crashed topic producer forgets its open and unanswered batches;
    /// returns how many records were never appended.
    pub(crate) fn forget_topic_batches(&mut self, p: u32) -> u32 {
        let Some(tp) = self
            .streams
            .producers
            .get_mut(p as usize)
            .and_then(|t| t.as_mut())
        else {
            return 0;
        };
        let t = tp.topic;
        let mut lost = 0u64;
        let open: Vec<(u32, usize)> = tp
            .open
            .iter_mut()
            .enumerate()
            .filter_map(|(part, b)| b.take().map(|b| (part as u32, b.records.len())))
            .collect();
        for (part, n) in open {
            self.streams.topics[t as usize].repl[part as usize].unacked_lost += n as u64;
            lost += n as u64;
        }
        let ids: Vec<u32> = self
            .streams
            .tracked
            .iter()
            .filter(|(_, b)| b.p == p)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            let b = self.streams.tracked.remove(&id).expect("listed");
            if !b.appended {
                self.streams.topics[b.t as usize].repl[b.part as usize].unacked_lost +=
                    b.records.len() as u64;
                lost += b.records.len() as u64;
            }
        }
        lost += self.window_forget(p);
        // The restarted producer gets a new producer id: its sequences start
        // over and the brokers hold no state for it.
        if let Some(tp) = self.streams.producers[p as usize].as_mut() {
            tp.next_seq.clear();
        }
        for r in self.streams.topics[t as usize].repl.iter_mut() {
            r.last_seq.remove(&p);
        }
        lost as u32
    }

    /// The log-based half of the ledger (None without topics).
    pub(crate) fn stream_ledger(&self) -> Option<super::effects::StreamLedger> {
        if self.streams.topics.is_empty() {
            return None;
        }
        let mut out = super::effects::StreamLedger::default();
        for (ti, t) in self.streams.topics.iter().enumerate() {
            let mut tl = super::effects::TopicLedger::default();
            for (log, r) in t.parts.iter().zip(&t.repl) {
                tl.appended += log.end;
                tl.duplicates_appended += r.duplicates_appended;
                tl.duplicates_rejected += r.duplicates_rejected;
                tl.acked_lost += r.acked_lost;
                tl.unacked_lost += r.unacked_lost;
                tl.resent += r.resent;
            }
            tl.batches_waited = self.window_waited(ti as u32);
            out.topics.insert(self.cfg.topics[ti].id.clone(), tl);
        }
        for (gi, g) in self.streams.groups.iter().enumerate() {
            out.groups.insert(
                self.cfg.consumer_groups[gi].id.clone(),
                super::effects::GroupLedger {
                    processed: g.processed,
                    reprocessed: g.reprocessed,
                    out_of_order: g.out_of_order,
                    skipped: g.skipped,
                    outputs: g.outputs,
                    duplicate_outputs: g.duplicate_outputs,
                    duplicate_committed_outputs: g.duplicate_committed_outputs,
                    transactions_committed: g.txn_committed,
                    transactions_aborted: g.txn_aborted,
                    version_conflicts: g.version_conflicts,
                    stale_writes: g.stale_writes,
                },
            );
        }
        Some(out)
    }
}
