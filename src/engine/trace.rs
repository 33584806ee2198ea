//! The trace: every state change as a typed, past-tense event, folded into a
//! running 64-bit hash and optionally kept in a bounded buffer.
//!
//!   world ──record(kind, msg, node)──► hash (always) ──► buffer (if capturing, bounded)
//!                                                              │ full, with a sink set
//!                                                              └──► sink (drained mid-event)
//!
//! The hash is over a canonical encoding: for each event, in trace order,
//! five 64-bit words
//!
//!   [t_us, msg id or u64::MAX, kind code | node index << 8, field word a, field word b]
//!
//! (`TraceKind::fields` gives the code and the two field words of each kind;
//! a field that is absent is 0, an absent option u64::MAX). The five words
//! are folded into three independent products (wyhash-style 64×64→128-bit
//! multiply, xor of the halves) and those into the running hash with one
//! more, so each event costs one multiply on the hash's serial path, and the
//! result is the same on every platform (integer arithmetic only). The
//! position in the trace is implicit in the running hash. It does not depend
//! on whether events are stored, so the CLI, the browser and the benchmark
//! agree on it.

use super::time::SimTime;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Index of a node (producer, exchange, queue or consumer) in the world's node table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NodeId(pub u32);

pub use super::reason::Reason;

/// Why a Redis subscriber's connection closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectCause {
    /// A command: the client's process or network failed.
    Command,
    /// The output buffer reached the hard limit.
    HardLimit,
    /// The output buffer stayed at or over the soft limit longer than soft-seconds.
    SoftLimit,
}

/// What happened. Node fields name the other node involved; the event's own
/// `node` is where it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind {
    /// A producer (or a consumer's handler) published a new message to `to`.
    Published { to: NodeId, parent: Option<u64> },
    /// An exchange matched `queues` queues (after exchange-to-exchange hops).
    Routed { queues: u32 },
    /// An exchange matched nothing; `alternate` took it if set.
    Unroutable { alternate: Option<NodeId> },
    /// A copy was made for a second or later destination queue.
    Copied { copy: u64 },
    /// Appended to a queue (depth after).
    Enqueued { depth: u32 },
    /// Requeued at the head after a nack or a crash.
    Requeued { depth: u32 },
    /// Handed to a consumer instance.
    Delivered {
        consumer: NodeId,
        instance: u32,
        attempt: u32,
        redelivered: bool,
    },
    /// Acknowledged: the broker forgets it (manual ack after success, or auto-ack on delivery).
    Acked { instance: u32 },
    /// Processing finished successfully.
    Processed { instance: u32, service_us: u64 },
    /// Processing failed.
    Failed { instance: u32, attempt: u32 },
    /// Negatively acknowledged.
    Nacked { instance: u32, requeue: bool },
    /// A retry will redeliver it after `delay_us`.
    RetryScheduled { attempt: u32, delay_us: u64 },
    /// A scheduled retry came due and the message went back to its queue.
    Retried { attempt: u32 },
    /// Its TTL ran out at the head of a queue.
    Expired,
    /// Republished to a dead-letter exchange.
    DeadLettered {
        reason: Reason,
        exchange: NodeId,
        deaths: u32,
    },
    /// Discarded for good.
    Dropped { reason: Reason },
    /// A consumer instance crashed; `returned` unacked deliveries went back.
    Crashed {
        instance: u32,
        returned: u32,
        lost: u32,
    },
    /// A consumer instance came back.
    Restarted { instance: u32 },
    /// A command was applied: `index` into the command log, or into the
    /// scenario's `schedule` when `scheduled`.
    CommandApplied { index: u32, scheduled: bool },
    /// A record was appended to a topic partition at `offset` (node: the topic);
    /// a `tombstone` has a null value (compaction deletes its key).
    Appended {
        partition: u32,
        offset: u64,
        #[serde(skip_serializing_if = "is_false")]
        tombstone: bool,
    },
    /// A group member polled `count` records of a partition from offset `from`.
    Fetched {
        member: u32,
        topic: NodeId,
        partition: u32,
        from: u64,
        count: u32,
    },
    /// A group committed `offset` (the next record to read) for a partition.
    Committed {
        topic: NodeId,
        partition: u32,
        offset: u64,
    },
    /// A group began a rebalance of `members` live members.
    RebalanceStarted { generation: u32, members: u32 },
    /// A group finished a rebalance; consumption resumes.
    RebalanceCompleted { generation: u32 },
    /// A partition was given to a group member.
    Assigned {
        member: u32,
        topic: NodeId,
        partition: u32,
    },
    /// A partition was taken from a group member.
    Revoked {
        member: u32,
        topic: NodeId,
        partition: u32,
    },
    /// Retention deleted `count` records at the head; the log now starts at `log_start`.
    RetentionDeleted {
        partition: u32,
        count: u32,
        log_start: u64,
    },
    /// Compaction removed `removed` records superseded by a later one with the
    /// same key; `tombstones` of them were tombstones past `delete_retention`
    /// (their keys are gone from the log).
    Compacted {
        partition: u32,
        removed: u32,
        tombstones: u32,
    },
    /// A group's offset for a partition was moved to `offset` by a seek.
    Seeked {
        topic: NodeId,
        partition: u32,
        offset: u64,
    },
    /// A group gave up on a failed record (the event's message) for now and
    /// appended it to retry `topic` as record `copy`: `attempt` attempts so far.
    SentToRetryTopic {
        topic: NodeId,
        copy: u64,
        attempt: u32,
    },
    /// A group gave up on a failed record after `attempts` attempts and
    /// appended it to dead-letter `topic` as record `copy`.
    SentToDeadLetterTopic {
        topic: NodeId,
        copy: u64,
        attempts: u32,
    },
    /// The network delivered a publish twice: `copy` is the second one.
    NetworkDuplicated { copy: u64 },
    /// No confirm came within the timeout, or a negative one did (`nacked`):
    /// the producer will send business message `original` again.
    ConfirmMissing { original: u64, nacked: bool },
    /// The producer sent business message `original` again (send `attempt`).
    Resent { original: u64, attempt: u32 },
    /// The producer gave up on business message `original` after `sends` sends.
    GaveUp { original: u64, sends: u32 },
    /// A dedup store had seen business message `original`: acked without
    /// doing the side effect again.
    Deduplicated { instance: u32, original: u64 },
    /// A manual ack was lost on its way to the broker, which redelivers.
    AckLost { instance: u32 },
    /// The broker crashed: every connection dropped, `lost` messages that
    /// were not both persistent and in a durable queue are gone.
    BrokerCrashed { lost: u32 },
    /// The broker is back: durable queues with their persistent messages.
    BrokerRestarted,
    /// A partition's leader crashed; the new leader's log ends at the high
    /// watermark, `truncated` records past it are gone.
    LeaderCrashed { partition: u32, truncated: u32 },
    /// A group member committed a transaction: its batch's offsets and
    /// `records` output records (node: the group).
    TxnCommitted { member: u32, records: u32 },
    /// A crashed member's transaction was open `transaction_timeout`: the
    /// coordinator aborts it (a `txn_aborted` follows).
    TxnTimedOut { member: u32 },
    /// Alert rule `alert` (its index in `alerts`) fired; `value_milli` is the
    /// metric × 1000 (an error rate of 12.5% is 125, a depth of 40 is 40000).
    /// The node is the one the rule watches.
    AlertFired { alert: u32, value_milli: u64 },
    /// Alert rule `alert` stopped firing (its condition no longer holds).
    AlertResolved { alert: u32, value_milli: u64 },
    /// An event store refused a group member's append: it decided on version
    /// `expected` of the record's aggregate (its key), which another writer
    /// has moved on to `actual`; the member processes the record again
    /// (node: the group; message: the input record).
    VersionConflict {
        member: u32,
        expected: u32,
        actual: u32,
    },
    /// A group member appended without the version check, on version `read`
    /// of the aggregate that is now at `actual`: a lost update the check
    /// would have refused (node: the group; message: the input record).
    StaleWrite { member: u32, read: u32, actual: u32 },
    /// A group member's append took the record's aggregate to `version`, a
    /// multiple of `snapshot_every`: a snapshot of its state is saved there
    /// (node: the group; message: the input record).
    SnapshotSaved { member: u32, version: u32 },
    /// A member's transaction was aborted: `records` outputs aborted.
    TxnAborted { member: u32, records: u32 },
    /// The broker → consumer link delivered this message twice: the
    /// handler ran a second time.
    DeliveredTwice { instance: u32 },
    /// A group member stopped for `pause_us` (a long GC pause; node: the group).
    MemberPaused { member: u32, pause_us: u64 },
    /// A paused member runs again; `evicted`: its session expired meanwhile,
    /// it wakes as a zombie (`txn_fence.rs`).
    MemberResumed { member: u32, evicted: bool },
    /// The coordinator evicted a paused member (`session_timeout` without a
    /// heartbeat): its partitions go to others.
    MemberEvicted { member: u32 },
    /// A member was still on its batch `max_poll_interval` after polling it:
    /// it left the group (KIP-62), its partitions move (node: the group).
    PollTimeout { member: u32 },
    /// A member that left at a poll timeout tried to commit: refused
    /// (`CommitFailedException`); it rejoins the group.
    CommitFailed { member: u32 },
    /// A new owner's `initTransactions` bumped the producer epoch of the
    /// input partition `partition`'s transactional id to `epoch`, aborting
    /// the open transaction of `fenced` (a zombie).
    ProducerEpochBumped {
        partition: u32,
        epoch: u32,
        fenced: u32,
    },
    /// A zombie tried to write or commit with a stale producer epoch:
    /// `ProducerFenced`, its transaction aborted, it stops (`epoch`: the current one).
    ProducerFenced { member: u32, epoch: u32 },
    /// Redis PUBLISH (node: the server): `receivers` is its return value
    /// (matching subscriptions of connected subscribers), `missed` the
    /// matching subscriptions of subscribers that were away.
    PubsubPublished { receivers: u32, missed: u32 },
    /// Appended to a Redis subscriber's output buffer (node: the subscriber):
    /// `bytes` of RESP, `buffer_bytes` in the buffer after it.
    PubsubBuffered {
        pattern: bool,
        bytes: u32,
        buffer_bytes: u64,
    },
    /// A Redis subscriber that was away missed this message (node: the subscriber).
    PubsubMissed,
    /// A Redis subscriber's connection closed; `lost` messages went with it.
    SubscriberDisconnected {
        cause: DisconnectCause,
        lost: u32,
        buffer_bytes: u64,
    },
    /// A Redis subscriber connected and subscribed again.
    SubscriberReconnected,
    /// XADD appended entry `ms-seq` (node: the stream); `length` with it,
    /// before a MAXLEN trim (`XTrimmed`, which follows, gives the length after).
    /// The id's parts are `id_ms` and `id_seq` in JSON (`seq` is the trace position).
    XAdded {
        #[serde(rename = "id_ms")]
        ms: u64,
        #[serde(rename = "id_seq")]
        seq: u64,
        length: u64,
    },
    /// MAXLEN trimmed `count` entries from the head; `length` after.
    XTrimmed { count: u32, length: u64 },
    /// A group (node) delivered entry `ms-seq` to consumer `c<consumer>`,
    /// its `deliveries`-th delivery (XREADGROUP, or after a claim).
    XDelivered {
        consumer: u32,
        #[serde(rename = "id_ms")]
        ms: u64,
        #[serde(rename = "id_seq")]
        seq: u64,
        deliveries: u32,
    },
    /// Consumer `c<consumer>` handled entry `ms-seq` and sent XACK; `acked`
    /// is false when it was no longer pending (acked after a claim).
    XAcked {
        consumer: u32,
        #[serde(rename = "id_ms")]
        ms: u64,
        #[serde(rename = "id_seq")]
        seq: u64,
        acked: bool,
    },
    /// XAUTOCLAIM: consumer `c<consumer>` took entry `ms-seq` from
    /// `c<from>` after `idle_us` idle.
    XClaimed {
        consumer: u32,
        from: u32,
        #[serde(rename = "id_ms")]
        ms: u64,
        #[serde(rename = "id_seq")]
        seq: u64,
        idle_us: u64,
    },
    /// XAUTOCLAIM found pending entry `ms-seq` trimmed: dropped from the PEL.
    XClaimDeleted {
        consumer: u32,
        #[serde(rename = "id_ms")]
        ms: u64,
        #[serde(rename = "id_seq")]
        seq: u64,
    },
    /// Stream consumer `c<consumer>` crashed holding `pending` PEL entries.
    XConsumerCrashed { consumer: u32, pending: u32 },
    /// Stream consumer `c<consumer>` came back.
    XConsumerRestarted { consumer: u32 },
    /// SQS FIFO: a send whose deduplication id was seen in the last 5 minutes
    /// was accepted but not enqueued.
    SqsDeduplicated,
    /// SQS: a received message's visibility timeout ran out before it was
    /// deleted; it is visible again (received `receive_count` times so far).
    SqsVisibleAgain { receive_count: u32 },
    /// SQS: a `DeleteMessage` carried an out-of-date receipt handle (the
    /// message was received again since): it succeeded but deleted nothing.
    SqsDeleteStale { instance: u32 },
    /// SQS standard queue: a delete missed a stored copy, which will be
    /// received again (the documented occasional duplicate).
    SqsDeleteMissed { instance: u32 },
    /// SQS: received `receive_count` times already (the redrive policy's
    /// `maxReceiveCount`), moved to dead-letter queue `dlq` at a receive.
    SqsMovedToDlq { dlq: NodeId, receive_count: u32 },
    /// SQS: moved from a dead-letter queue back to queue `to` (redrive).
    SqsRedriven { to: NodeId },
    /// SQS: a `ReceiveMessage` returned nothing after waiting `waited_us`
    /// (0: short polling).
    SqsEmptyReceive {
        consumer: NodeId,
        instance: u32,
        waited_us: u64,
    },
    /// SQS: `ChangeMessageVisibility` made it visible `timeout_us` from now.
    SqsVisibilityChanged { timeout_us: u64 },
    /// SQS: `ChangeMessageVisibility` refused: `timeout_us` from now would
    /// end more than 12 hours after the receive (the timeout stays).
    SqsVisibilityRefused { timeout_us: u64 },
    /// A consumer's circuit breaker opened after `failures` handler failures
    /// in a row (or a failed probe): no deliveries for `open_us` (`model::breaker`).
    BreakerOpened { failures: u32, open_us: u64 },
    /// The breaker's open time ran out: `probes` deliveries may go through.
    BreakerHalfOpen { probes: u32 },
    /// Every probe succeeded: the breaker closed, deliveries flow again.
    BreakerClosed { probes: u32 },
    /// SQS FIFO: a `SendMessage` (`send`) or `ReceiveMessage` call was over
    /// the queue's per-second throughput limit; the client retries next second.
    SqsThrottled { send: bool },
    /// SQS FIFO: a `DeleteMessage` call by `instance` was over the queue's
    /// per-second throughput limit; the client retries next second and the
    /// message stays in flight meanwhile.
    SqsDeleteThrottled { instance: u32 },
    /// SQS: a delayed message (delay queue or message timer) became visible.
    SqsDelayEnded,
    /// Pulsar: the topic (node) stored the message at `partition` (the
    /// retry-letter log: `u32::MAX`), `offset`.
    PulsarStored { partition: u32, offset: u64 },
    /// A subscription (node) dispatched `partition:offset` to `c<consumer>`;
    /// `redeliveries` is the broker's redelivery count for it.
    PulsarDelivered {
        consumer: u32,
        partition: u32,
        offset: u64,
        redeliveries: u32,
    },
    /// `c<consumer>` handled the message and acknowledged it (cumulatively:
    /// everything up to it in its partition).
    PulsarAcked {
        consumer: u32,
        partition: u32,
        offset: u64,
        cumulative: bool,
    },
    /// `c<consumer>`'s handler failed: a negative ack, redelivery after `delay_us`.
    PulsarNacked {
        consumer: u32,
        partition: u32,
        offset: u64,
        delay_us: u64,
    },
    /// `c<consumer>` did not acknowledge in time: the ack timeout redelivers it.
    PulsarAckTimedOut {
        consumer: u32,
        partition: u32,
        offset: u64,
    },
    /// Sent to the dead-letter topic after `deliveries` deliveries (and acked here).
    PulsarDeadLettered {
        partition: u32,
        offset: u64,
        deliveries: u32,
    },
    /// `reconsumeLater`: the message at (`partition`, `offset`) is
    /// acknowledged there and sent to the retry-letter topic (reconsume
    /// number `reconsume`) as a new entry at `retry_offset` of that topic
    /// (partition 4294967295), back after `delay_us`.
    PulsarReconsumeLater {
        partition: u32,
        offset: u64,
        reconsume: u32,
        delay_us: u64,
        retry_offset: u64,
    },
    /// `c<consumer>` crashed holding `unacked` messages (redelivered).
    PulsarConsumerCrashed { consumer: u32, unacked: u32 },
    /// `c<consumer>` subscribed again.
    PulsarConsumerRestarted { consumer: u32 },
    /// Failover: `c<consumer>` is now the active consumer of `partition`.
    PulsarActiveConsumer { partition: u32, consumer: u32 },
    /// Exclusive / failover: the cursor rewound to its mark-delete position
    /// and `count` unacknowledged messages go out again.
    PulsarRewound { consumer: u32, count: u32 },
    /// The backlog quota holds the producer's send (backlog `backlog`).
    PulsarHeld { backlog: u64 },
    /// `consumer_backlog_eviction` skipped `count` messages of the subscription (node).
    PulsarEvicted { count: u32 },
    /// `c<consumer>` (4294967295: the whole subscription) reached its cap
    /// of unacknowledged messages on `partition` with `unacked` there:
    /// nothing more of that partition is dispatched to it. The caps hold
    /// per partition, as Pulsar's per-partition consumers and dispatchers
    /// keep them; `partition` is the partition index (0 on a
    /// non-partitioned topic), or 4294967295 (`u32::MAX`, as in
    /// `PulsarStored`) for the subscription's retry-letter topic.
    PulsarBlocked {
        consumer: u32,
        partition: u32,
        unacked: u32,
    },
    /// Acks brought `c<consumer>` (4294967295: the subscription) down to
    /// `unacked` on `partition` (encoded as in `PulsarBlocked`), half its
    /// cap or less: dispatching of that partition resumes.
    PulsarUnblocked {
        consumer: u32,
        partition: u32,
        unacked: u32,
    },
    /// The broker → consumer link held this delivery back for `held_us`:
    /// deliveries sent after it reach instance `instance` first.
    DeliveryHeldBack { instance: u32, held_us: u64 },
    /// The network delivered instance `instance`'s ack twice; the second
    /// names an unknown delivery tag (PRECONDITION_FAILED): the channel
    /// closed and `requeued` other unacked messages went back to the queue.
    ChannelClosed { instance: u32, requeued: u32 },
    /// Instance `instance` held the message (its oldest unacked delivery)
    /// for longer than its queue's `consumer_timeout` (`timeout_us`) at a
    /// channel tick: the channel closed (PRECONDITION_FAILED) and `requeued`
    /// unacked messages went back to the queue (`model::ack_timeout`).
    AckTimedOut {
        instance: u32,
        requeued: u32,
        timeout_us: u64,
    },
    /// Instance `instance`'s handler finished this message after a consumer
    /// timeout had closed its channel: the side effect happened (`effect`)
    /// unless it failed or was deduplicated; its ack had no channel.
    FinishedAfterClose { instance: u32, effect: bool },
    /// Instance `instance`'s manual ack travels `delay_us` to the broker;
    /// the message stays unacked until it arrives.
    AckDelayed { instance: u32, delay_us: u64 },
    /// A follower of `partition` stopped fetching from the leader for `stall_us`.
    FollowerStalled { partition: u32, stall_us: u64 },
    /// A follower of `partition` fell out of the ISR (not caught up for
    /// `replica_lag_max`); `isr` replicas remain in sync.
    IsrShrunk { partition: u32, isr: u32 },
    /// A follower of `partition` caught up and re-joined the ISR, now `isr`.
    IsrExpanded { partition: u32, isr: u32 },
    /// Unclean election: `partition` was offline and the first replica back
    /// leads with the log it had when it crashed; `truncated` records
    /// written after that are gone.
    UncleanLeaderBack { partition: u32, truncated: u32 },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One trace event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub t: SimTime,
    /// Position in the trace (0, 1, 2, …), unique and increasing.
    pub seq: u64,
    pub kind: TraceKind,
    /// The message's id, when the event is about one.
    pub msg: Option<u64>,
    /// Where it happened.
    pub node: NodeId,
}

/// The folded multiply of wyhash (Wang Yi's public-domain hash): the full
/// 128-bit product of `a` and `b`, its two halves xored. Pinned by golden
/// tests, so changing it (or the constants below) is a deliberate act.
#[inline(always)]
fn mum(a: u64, b: u64) -> u64 {
    let r = (a as u128) * (b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// wyhash's published secret constants (odd, with balanced bits); each word
/// is xored with its own before multiplying, so no word of a real trace
/// (times < 2^49, ids < 2^62, small codes) zeroes a product.
const K: [u64; 6] = [
    0xa076_1d64_78bd_642f,
    0xe703_7ed1_a0b4_28db,
    0x8ebc_6af0_9c88_c6e3,
    0x5899_65cc_7537_4cc3,
    0x1d8e_4e27_c47d_124f,
    0xeb44_acca_b455_d165,
];

/// One event into the running hash `h` (see the module docs).
#[inline(always)]
fn hash_event(h: u64, t_us: u64, msg: u64, head: u64, a: u64, b: u64) -> u64 {
    let x = mum(t_us ^ K[0], msg ^ K[1]);
    let y = mum(head ^ K[2], a ^ K[3]);
    let z = mum(b ^ K[4], x ^ K[5]);
    mum(h ^ x, y ^ z)
}

/// Upper bound on stored events (memory stays bounded however long the run).
pub const TRACE_BUFFER_MAX: usize = 1 << 20;

/// Takes captured events out of a full buffer (it should drain it), so a
/// consumer such as a trace file keeps up even when one engine event records
/// more events than the buffer holds. Shared: an engine clone drains into the
/// same sink.
pub type TraceSink = Rc<RefCell<dyn FnMut(&mut VecDeque<TraceEvent>)>>;

#[derive(Clone)]
struct SinkSlot(Option<TraceSink>);

impl std::fmt::Debug for SinkSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(sink)"
        } else {
            "None"
        })
    }
}

#[derive(Clone, Debug)]
pub struct TraceLog {
    hash: u64,
    count: u64,
    capture: bool,
    capacity: usize,
    buffer: VecDeque<TraceEvent>,
    /// Events that fell out of a full buffer before anyone took them.
    overwritten: u64,
    sink: SinkSlot,
    /// Events recorded while the engine was built (`begin_setup` to
    /// `end_setup`), kept in the buffer for a capture that starts before
    /// any later event.
    setup: u64,
}

impl TraceLog {
    pub fn new() -> Self {
        TraceLog {
            hash: 0xcbf2_9ce4_8422_2325,
            count: 0,
            capture: false,
            capacity: 65_536,
            buffer: VecDeque::new(),
            overwritten: 0,
            sink: SinkSlot(None),
            setup: 0,
        }
    }

    /// The engine is being built: keep what it records (see `end_setup`).
    pub fn begin_setup(&mut self) {
        self.capture = true;
    }

    /// The engine is built: stop keeping events, but hold the ones the
    /// build recorded (a Pulsar subscription's first active consumers, at
    /// time 0), so that a capture turned on before the first step has every
    /// event from seq 0, as the hash and the count have them.
    pub fn end_setup(&mut self) {
        self.capture = false;
        self.setup = self.count;
    }

    #[inline(always)]
    pub fn record(&mut self, t: SimTime, kind: TraceKind, msg: Option<u64>, node: NodeId) {
        let (code, a, b) = kind.fields();
        let head = code | (node.0 as u64) << 8;
        self.hash = hash_event(self.hash, t.0, msg.unwrap_or(u64::MAX), head, a, b);
        self.count += 1;
        if self.capture {
            self.store(t, kind, msg, node);
        }
    }

    /// Keep an event in the bounded buffer (only while capturing). A full
    /// buffer is handed to the sink, or else loses its oldest event.
    #[cold]
    #[inline(never)]
    fn store(&mut self, t: SimTime, kind: TraceKind, msg: Option<u64>, node: NodeId) {
        if self.buffer.len() >= self.capacity {
            if let Some(sink) = &self.sink.0 {
                (sink.borrow_mut())(&mut self.buffer);
            }
        }
        if self.buffer.len() >= self.capacity {
            self.buffer.pop_front();
            self.overwritten += 1;
        }
        self.buffer.push_back(TraceEvent {
            t,
            seq: self.count - 1,
            kind,
            msg,
            node,
        });
    }

    /// Drain the buffer into `sink` whenever it fills (None: stop).
    pub fn set_sink(&mut self, sink: Option<TraceSink>) {
        self.sink = SinkSlot(sink);
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }
    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn overwritten(&self) -> u64 {
        self.overwritten
    }
    /// Start or stop keeping events, with at most `capacity` waiting to be taken.
    pub fn set_capture(&mut self, on: bool, capacity: usize) {
        // The build's events stay only for a capture from the start: once
        // later events went unkept, they would sit before a gap.
        if !on || (!self.capture && self.count != self.setup) {
            self.buffer.clear();
        }
        self.capture = on;
        self.capacity = capacity.clamp(1, TRACE_BUFFER_MAX);
    }
    /// Take every stored event, oldest first.
    pub fn take(&mut self) -> Vec<TraceEvent> {
        // Two block copies instead of an element loop (`drain().collect()`
        // is one at the app's size-optimised build): at high speed a frame
        // takes a hundred thousand events or more.
        let (a, b) = self.buffer.as_slices();
        let mut out = Vec::with_capacity(a.len() + b.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        self.buffer.clear();
        out
    }
    pub fn stored(&self) -> &VecDeque<TraceEvent> {
        &self.buffer
    }
}

impl Default for TraceLog {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
