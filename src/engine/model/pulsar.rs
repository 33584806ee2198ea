//! Apache Pulsar: topics (partitioned or not) storing messages once, and
//! named subscriptions reading them through their own cursors. This file
//! owns the state and the events; the topic side (routing to partitions,
//! storing, backlog quota, retention, deletion) is in `pulsar_topic.rs`;
//! dispatching to
//! consumers is in `pulsar_dispatch.rs`; acks, negative acks, ack timeouts,
//! dead and retry letters and crashes in `pulsar_acks.rs`; commands and the
//! invariants in `pulsar_check.rs`; the hashes and Key_Shared selectors in
//! `pulsar_hash.rs`; the caps on unacknowledged messages (blocked consumers
//! and subscriptions) in `pulsar_unacked.rs`.
//!
//!   producer ──Arrive──► topic ──partition (key hash / round robin per 10 ms)──► log [offsets]
//!                          │ backlog quota: hold | exception | evict
//!                          ▼
//!   subscription: cursor {mark-delete, ack holes, read} ──dispatch by type──► consumers' receiver queues
//!                 exclusive · failover (active per partition) · shared (round robin, 20 at a time)
//!                 · key_shared (murmur3 slot → hash range → consumer)
//!
//! Semantics follow the Pulsar documentation ("Messaging": subscriptions,
//! acknowledgement, negative ack, ack timeout, dead letter and retry letter
//! topics, delayed delivery; "Message retention and expiry") and the broker
//! and Java client sources they describe (`ManagedCursorImpl`,
//! `PersistentDispatcherMultipleConsumers`, `AbstractDispatcherSingleActiveConsumer`,
//! `NegativeAcksTracker`, `UnAckedMessageTracker`, `ConsumerImpl`,
//! `BacklogQuotaManager`). A message is stored once per topic; each
//! subscription's cursor keeps a mark-delete position (everything before it
//! acknowledged) and the individually acknowledged offsets after it (the ack
//! holes are what is left). A stored message is deleted once every
//! subscription acknowledged it and its retention (if any) ran out.
//!
//! What is shared with the other models: stored messages and deliveries are
//! arena messages (a stored one is `Queued`, each delivery an `Unacked`
//! copy), so the conservation ledger, latencies and the guarantee ledger
//! count them; a subscription is a virtual queue of the guarantee ledger
//! (`VQ_PULSAR_BASE + s`). Unlike a Kafka group (`group.rs`) progress is
//! per message (acks, not committed offsets), and unlike a RabbitMQ queue a
//! message is stored once however many subscriptions read it.
//!
//! Guarantees (`check_pulsar`): offsets increase by one in every log; a
//! cursor's mark-delete position never passes its read position's log end;
//! every pending delivery is a live `Unacked` copy held by exactly one up
//! consumer; the backlog counters equal a recount.

use super::pulsar_hash::AutoSplit;
use crate::engine::core::Engine;
use crate::engine::prng::Stream;
use crate::engine::trace::{NodeId, Reason};
use crate::scenario::{self, PulsarSubscription, SubscriptionType};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Ledger key of subscription `s` (a virtual queue index, above every real one).
pub(crate) const VQ_PULSAR_BASE: u16 = 0xC000;
const _: () = assert!((VQ_PULSAR_BASE as usize) > scenario::NODES_MAX + 0xB000);
/// The partition number of a subscription's retry-letter log.
pub(crate) const RETRY_PART: u32 = u32::MAX;
/// The producer's `sendTimeoutMs` default: a held send fails after it.
pub(crate) const SEND_TIMEOUT_US: u64 = 30_000_000;

/// A stored message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PEntry {
    /// Its message's arena slot, or `SETTLED` once every subscription
    /// acknowledged it (`p_settle`): still stored, never delivered again.
    pub(crate) slot: u32,
    /// Its Key_Shared slot (murmur3 of the key, mod 65536).
    pub(crate) hash: u32,
    /// `deliverAt` (0: at once).
    pub(crate) deliver_at_us: u64,
    pub(crate) stored_us: u64,
    /// Retry-letter entries: the `RECONSUMETIMES` property.
    pub(crate) reconsume: u32,
}

/// An append-only log: `entries[i]` has offset `base + i`.
#[derive(Clone, Debug, Default)]
pub(crate) struct PLog {
    pub(crate) base: u64,
    pub(crate) entries: VecDeque<PEntry>,
    /// Entries of `entries` that are `SETTLED` (not live messages).
    pub(crate) settled: u64,
}

impl PLog {
    pub(crate) fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
    }
    pub(crate) fn get(&self, off: u64) -> Option<&PEntry> {
        off.checked_sub(self.base)
            .and_then(|i| self.entries.get(i as usize))
    }
    pub(crate) fn get_mut(&mut self, off: u64) -> Option<&mut PEntry> {
        off.checked_sub(self.base)
            .and_then(|i| self.entries.get_mut(i as usize))
    }
}

/// In place of a stored entry's slot: every subscription acknowledged it, so
/// its message was retired (the business ledger finalised it, "in flight"
/// no longer counts it) while the log keeps it until the mark-delete
/// positions and retention let it go.
pub(crate) const SETTLED: u32 = u32::MAX;

/// A subscription's cursor on one log.
#[derive(Clone, Debug, Default)]
pub(crate) struct PCursor {
    /// Every offset below it is acknowledged (Pulsar's mark-delete position + 1).
    pub(crate) md: u64,
    /// Acknowledged offsets at or above `md` (the ack holes are the rest).
    pub(crate) acked: BTreeSet<u64>,
    /// The next offset never read.
    pub(crate) read: u64,
}

impl PCursor {
    pub(crate) fn is_acked(&self, off: u64) -> bool {
        off < self.md || self.acked.contains(&off)
    }

    /// Offsets below `end` (its log's end) not acknowledged yet: the
    /// subscription's backlog on that log.
    pub(crate) fn unacked_below(&self, end: u64) -> u64 {
        end.saturating_sub(self.md)
            .saturating_sub(self.acked.len() as u64)
    }
}

/// A position: (partition or `RETRY_PART`, offset).
pub(crate) type Pos = (u32, u64);

#[derive(Clone, Debug)]
pub(crate) struct PConsumer {
    pub(crate) up: bool,
    pub(crate) epoch: u32,
    /// The receiver queue: dispatched, not yet handed to the handler.
    pub(crate) queue: VecDeque<(Pos, u32)>,
    /// Per log (partitions, then the retry log): entries of `queue` from
    /// it. A consumer of a partitioned topic (or with a retry topic) is a
    /// multi-topics consumer with one internal consumer, and one receiver
    /// queue of flow permits, per partition (`p_permits`).
    pub(crate) queued: Vec<u32>,
    /// Being handled: (position, copy slot).
    pub(crate) busy: Option<(Pos, u32)>,
    /// The client's negative-ack trackers: (due, position), and the logs
    /// (partitions, `RETRY_PART`) whose tracker's timer runs. Each internal
    /// consumer of a multi-topics consumer has its own tracker and timer
    /// (`MultiTopicsConsumerImpl.negativeAcknowledge` hands a nack to the
    /// partition's `ConsumerImpl`), started by that log's first nack.
    pub(crate) nacks: Vec<(u64, Pos)>,
    pub(crate) nack_timers: BTreeSet<u32>,
    /// Key_Shared: recently joined, may only get offsets below these read
    /// positions until everything before them is acknowledged, per log
    /// (`u64::MAX`: no limit on that log).
    pub(crate) join_limit: Option<Vec<u64>>,
    /// Messages its handler processed successfully.
    pub(crate) processed: u64,
    /// When it subscribed (the start, or its last restart): its client's
    /// ack-timeout tracker ticks every `ACK_TICK_US` from then.
    pub(crate) subscribed_us: u64,
    /// Per log (partitions, then the retry log): pending deliveries it
    /// holds from it, and whether that blocked it there (each internal
    /// consumer is a broker `Consumer` of its own; `pulsar_unacked.rs`).
    pub(crate) unacked: Vec<u32>,
    pub(crate) blocked: Vec<bool>,
}

impl PConsumer {
    /// Pending deliveries it holds over all logs.
    pub(crate) fn unacked_total(&self) -> u32 {
        self.unacked.iter().sum()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct PTopicState {
    pub(crate) node: NodeId,
    pub(crate) logs: Vec<PLog>,
    /// Round-robin partition for keyless dead letters (the consumer's
    /// dead-letter producer sends without batching: one message each).
    pub(crate) rr: u32,
    pub(crate) subs: Vec<u32>,
    /// Sends held by `producer_request_hold`: (slot, generation, producer,
    /// partition), oldest first.
    pub(crate) held: VecDeque<(u32, u32, u16, u32)>,
    pub(crate) stored: u64,
    pub(crate) deleted: u64,
    pub(crate) refused: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct PSubState {
    pub(crate) node: NodeId,
    pub(crate) topic: u32,
    pub(crate) kind: SubscriptionType,
    /// One cursor per topic partition, then one on the retry-letter log.
    pub(crate) cursors: Vec<PCursor>,
    pub(crate) retry_log: PLog,
    /// Dispatched and not acknowledged: position → (consumer, copy slot).
    pub(crate) pending: BTreeMap<Pos, (u32, u32)>,
    /// Copy slot → its position (for timers that carry a copy).
    pub(crate) by_copy: BTreeMap<u32, Pos>,
    /// To dispatch again (redeliveries, and Key_Shared messages held back).
    pub(crate) replay: BTreeSet<Pos>,
    /// Key_Shared: how many replay entries of each log hash to each slot,
    /// keyed by `log_slot` (log, slot): every partition has its own
    /// dispatcher, whose waiting messages hold back only that partition's
    /// messages of the slot.
    pub(crate) replay_hashes: BTreeMap<u32, u32>,
    /// Delayed messages not yet deliverable: (deliver at, position).
    pub(crate) delayed: BTreeSet<(u64, Pos)>,
    /// When the tracker's timer is set to run (`None`: not set); an agenda
    /// entry at another time is a cancelled timer.
    pub(crate) delayed_timer: Option<u64>,
    /// When the tracker's timer last ran (`lastTickRun`).
    pub(crate) delayed_last_tick_us: Option<u64>,
    /// The broker's redelivery counts (Shared and Key_Shared).
    pub(crate) redeliveries: BTreeMap<Pos, u32>,
    /// Messages a crashed consumer held, out again without a count (the
    /// next delivery is still a redelivery for the statistics).
    pub(crate) replayed: BTreeSet<Pos>,
    pub(crate) consumers: Vec<PConsumer>,
    /// Consumer indexes in name order (`c0`, `c1`, `c10`, …, as Pulsar sorts names).
    pub(crate) by_name: Vec<u32>,
    /// Failover / exclusive: the active consumer of each partition.
    pub(crate) active: Vec<Option<u32>>,
    /// Failover, per partition: no dispatch until the delayed rewind
    /// (`activeConsumerFailoverDelayTimeMillis`) of a partition whose active
    /// consumer changed; each partition has its own dispatcher in Pulsar,
    /// so the others go on.
    pub(crate) paused: Vec<bool>,
    /// Per partition: which `Resume` is the current one.
    pub(crate) epoch: Vec<u32>,
    /// Shared, per log: the next consumer of that dispatcher's round robin
    /// (each partition has its own dispatcher in Pulsar).
    pub(crate) rr: Vec<u32>,
    /// Per log: the receiver queue size of each consumer's internal
    /// consumer on it (`p_receiver_queue`).
    pub(crate) rq: Vec<u32>,
    pub(crate) selector: AutoSplit,
    /// Unacknowledged messages in the topic's logs (not the retry log).
    pub(crate) backlog: u64,
    pub(crate) ack_timeout_us: Option<u64>,
    pub(crate) nack_delay_us: u64,
    pub(crate) rng: Stream,
    /// The idempotent handler's memory (`dedup`).
    pub(crate) dedup: super::protocol::DedupStore,
    pub(crate) delivered: u64,
    pub(crate) redelivered: u64,
    pub(crate) acked: u64,
    pub(crate) nacked: u64,
    pub(crate) ack_timeouts: u64,
    pub(crate) dead_lettered: u64,
    pub(crate) reconsumed: u64,
    pub(crate) evicted: u64,
    pub(crate) limits: super::pulsar_unacked::UnackedLimits,
    /// Deliveries in consumers' hands whose position the subscription
    /// acknowledged for them (evicted, covered by a cumulative ack,
    /// acknowledged on receipt): copy slot → why. Such a copy carries the
    /// subscription's share of its message — in flight until handled;
    /// completed if handled, dropped with that reason if not
    /// (`p_drop_share`, `p_copy_done`).
    pub(crate) carried: BTreeMap<u32, Reason>,
}

/// All Pulsar state on the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pulsar {
    pub(crate) topics: Vec<PTopicState>,
    pub(crate) subs: Vec<PSubState>,
    /// Per producer index: the start partition of its round-robin router
    /// for keyless messages (random per producer, as the Java client's
    /// `ThreadLocalRandom.nextInt(numPartitions)`; here from the seeded
    /// stream `pulsar-router:<id>`). Empty without Pulsar topics.
    pub(crate) router_start: Vec<u32>,
    /// The totals' copies of Pulsar messages are per extra subscription at
    /// storing, not the message entities made for deliveries, retry letters
    /// and dead letters: both kept apart so the conservation invariant can
    /// still count entities (`check_invariants`).
    pub(crate) reader_copies: u64,
    pub(crate) copy_entities: u64,
    /// Subscriptions' shares of stored messages dropped without an entity
    /// being discarded (`p_drop_share`): in `totals.dropped`, not in the
    /// conservation ledger's `discarded`.
    pub(crate) dropped_shares: u64,
}

/// The Java client's default `partitionSwitchMs` with batching on (the
/// default): `batchingPartitionSwitchFrequencyByPublishDelay` (10) ×
/// `batchingMaxPublishDelay` (1 ms).
pub(crate) const PARTITION_SWITCH_US: u64 = 10_000;

/// Scheduled Pulsar work.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PulsarEvent {
    /// Consumer `c` of subscription `s` finished handling a message.
    Done { s: u32, c: u32, epoch: u32 },
    /// The ack timeout of the delivery in copy `copy` (generation `gen`).
    AckTimeout { s: u32, c: u32, copy: u32, gen: u32 },
    /// Consumer `c`'s negative-ack tracker timer.
    NackTick {
        s: u32,
        c: u32,
        epoch: u32,
        log: u32,
    },
    /// Delayed messages of `s` become deliverable.
    DelayedDue { s: u32 },
    /// Failover: the delayed rewind after the active consumer changed.
    Resume { s: u32, part: u32, epoch: u32 },
    /// A crashed consumer subscribes again.
    Restart { s: u32, c: u32, epoch: u32 },
    /// A held send's timeout.
    HoldTimeout { t: u32, slot: u32, gen: u32 },
}

impl Engine {
    /// Every Pulsar node's state, in scenario order (called once by `build`).
    pub(crate) fn build_pulsar(&mut self) {
        let cfg = self.cfg.clone();
        for t in &cfg.pulsar_topics {
            let n = t.partitions.max(1) as usize;
            self.pulsar.topics.push(PTopicState {
                node: self.node_id(&t.id),
                logs: vec![PLog::default(); n],
                rr: 0,
                subs: Vec::new(),
                held: VecDeque::new(),
                stored: 0,
                deleted: 0,
                refused: 0,
            });
        }
        if !cfg.pulsar_topics.is_empty() {
            self.pulsar.router_start = cfg
                .producers
                .iter()
                .map(|p| {
                    let n = cfg
                        .pulsar_topics
                        .iter()
                        .find(|t| t.id == p.to)
                        .map_or(1, |t| t.partitions.max(1));
                    if n > 1 {
                        let label = format!("pulsar-router:{}", p.id);
                        Stream::new(self.seed, &label).below(n as u64) as u32
                    } else {
                        0
                    }
                })
                .collect();
        }
        for (s, sc) in cfg.pulsar_subscriptions.iter().enumerate() {
            let topic = self.node_of(&sc.topic).expect("validated").index;
            self.pulsar.topics[topic as usize].subs.push(s as u32);
            let n = self.pulsar.topics[topic as usize].logs.len();
            let partitioned = cfg
                .pulsar_topics
                .iter()
                .any(|t| t.id == sc.topic && t.partitions > 0);
            let mut st = new_sub(self.node_id(&sc.id), topic, n, sc, self.seed);
            st.rq = p_receiver_queue(sc.receiver_queue_size, n, partitioned);
            self.pulsar.subs.push(st);
            self.p_init(s as u32);
        }
    }

    pub(crate) fn on_pulsar_event(&mut self, ev: PulsarEvent) {
        match ev {
            PulsarEvent::Done { s, c, epoch } => self.p_done(s, c, epoch),
            PulsarEvent::AckTimeout { s, c, copy, gen } => self.p_ack_timeout(s, c, copy, gen),
            PulsarEvent::NackTick { s, c, epoch, log } => self.p_nack_tick(s, c, epoch, log),
            PulsarEvent::DelayedDue { s } => self.p_delayed_due(s),
            PulsarEvent::Resume { s, part, epoch } => {
                let st = &mut self.pulsar.subs[s as usize];
                if st.epoch[part as usize] == epoch {
                    st.paused[part as usize] = false;
                    self.p_rewind(s, None, Some(&[part]), None);
                }
            }
            PulsarEvent::Restart { s, c, epoch } => {
                if self.pulsar.subs[s as usize].consumers[c as usize].epoch == epoch {
                    self.p_restart(s, c);
                }
            }
            PulsarEvent::HoldTimeout { t, slot, gen } => {
                let tp = &mut self.pulsar.topics[t as usize];
                if let Some(i) = tp.held.iter().position(|h| h.0 == slot && h.1 == gen) {
                    tp.held.remove(i);
                    tp.refused += 1;
                    let node = tp.node;
                    self.drop_message(slot, Reason::SendTimeout, node);
                }
            }
        }
    }
}

/// The receiver queue size of a consumer's internal consumer on each log
/// (the topic's partitions, then the retry log). The Java client's
/// `MultiTopicsConsumerImpl` gives each partition of a partitioned topic
/// `min(receiverQueueSize, maxTotalReceiverQueueSizeAcrossPartitions / N)`
/// (that total is 50,000 by default) and a non-partitioned topic, such as
/// the retry-letter topic, the whole `receiverQueueSize`.
fn p_receiver_queue(rq: u32, parts: usize, partitioned: bool) -> Vec<u32> {
    const TOTAL_ACROSS_PARTITIONS: u32 = 50_000;
    let per_part = if partitioned {
        rq.min(TOTAL_ACROSS_PARTITIONS / parts as u32).max(1)
    } else {
        rq
    };
    let mut v = vec![per_part; parts];
    v.push(rq);
    v
}

fn new_sub(
    node: NodeId,
    topic: u32,
    parts: usize,
    cfg: &PulsarSubscription,
    seed: u64,
) -> PSubState {
    let mut by_name: Vec<u32> = (0..cfg.consumers).collect();
    crate::small_sort::sort_by_key(&mut by_name, |c| format!("c{c}"));
    PSubState {
        node,
        topic,
        kind: cfg.kind,
        cursors: vec![PCursor::default(); parts + 1],
        retry_log: PLog::default(),
        pending: BTreeMap::new(),
        by_copy: BTreeMap::new(),
        replay: BTreeSet::new(),
        replay_hashes: BTreeMap::new(),
        delayed: BTreeSet::new(),
        delayed_timer: None,
        delayed_last_tick_us: None,
        redeliveries: BTreeMap::new(),
        replayed: BTreeSet::new(),
        consumers: (0..cfg.consumers)
            .map(|_| PConsumer {
                up: false,
                epoch: 0,
                queue: VecDeque::new(),
                queued: vec![0; parts + 1],
                busy: None,
                nacks: Vec::new(),
                nack_timers: BTreeSet::new(),
                join_limit: None,
                processed: 0,
                subscribed_us: 0,
                unacked: vec![0; parts + 1],
                blocked: vec![false; parts + 1],
            })
            .collect(),
        by_name,
        active: vec![None; parts],
        paused: vec![false; parts],
        epoch: vec![0; parts],
        rr: vec![0; parts + 1],
        rq: Vec::new(),
        selector: AutoSplit::default(),
        backlog: 0,
        // Off unless set, dead-letter policy or not: the Java client's
        // implicit 30 s with a dead-letter policy (2.2) went in 3.0
        // (apache/pulsar#19486).
        ack_timeout_us: cfg.ack_timeout_on().map(|d| d.us()),
        nack_delay_us: cfg.negative_ack_delay.us(),
        rng: Stream::new(seed, &format!("pulsar-sub:{}", cfg.id)),
        dedup: Default::default(),
        delivered: 0,
        redelivered: 0,
        acked: 0,
        nacked: 0,
        ack_timeouts: 0,
        dead_lettered: 0,
        reconsumed: 0,
        evicted: 0,
        limits: super::pulsar_unacked::UnackedLimits::new(cfg, parts + 1),
        carried: BTreeMap::new(),
    }
}
