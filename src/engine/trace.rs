//! The trace: every state change as a typed, past-tense event, folded into a
//! running 64-bit hash and optionally kept in a bounded buffer.
//!
//!   world ──record(kind, msg, node)──► hash (always) ──► buffer (if capturing, bounded)
//!                                                              │ full, with a sink set
//!                                                              └──► sink (drained mid-event)
//!
//! The hash is over a canonical encoding: for each event the words
//! `[t_us, seq, kind code, msg id or u64::MAX, node index, field words…]`, each
//! mixed in with `mix`. It does not depend on whether events are stored, so
//! the CLI, the browser and the benchmark agree on it.

use super::time::SimTime;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Index of a node (producer, exchange, queue or consumer) in the world's node table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NodeId(pub u32);

/// Why a message left the normal path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Nacked or rejected without requeue (RabbitMQ `rejected`).
    Rejected,
    /// TTL ran out at the head of a queue (RabbitMQ `expired`).
    Expired,
    /// Pushed out by `x-max-length` (RabbitMQ `maxlen`).
    Maxlen,
    /// Returned more times than `x-delivery-limit` (RabbitMQ `delivery_limit`).
    DeliveryLimit,
    /// No binding matched and no alternate exchange took it.
    Unroutable,
    /// A full queue with `reject-publish` refused it.
    QueueFull,
    /// Auto-acked and then the consumer crashed or failed: the broker had already forgotten it.
    LostAfterAutoAck,
    /// Retries exhausted and the queue has no dead-letter exchange.
    RetriesExhausted,
    /// Removed by a purge command.
    Purged,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::Rejected,
        Reason::Expired,
        Reason::Maxlen,
        Reason::DeliveryLimit,
        Reason::Unroutable,
        Reason::QueueFull,
        Reason::LostAfterAutoAck,
        Reason::RetriesExhausted,
        Reason::Purged,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Reason::Rejected => "rejected",
            Reason::Expired => "expired",
            Reason::Maxlen => "maxlen",
            Reason::DeliveryLimit => "delivery_limit",
            Reason::Unroutable => "unroutable",
            Reason::QueueFull => "queue_full",
            Reason::LostAfterAutoAck => "lost_after_auto_ack",
            Reason::RetriesExhausted => "retries_exhausted",
            Reason::Purged => "purged",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
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
    /// A record was appended to a topic partition at `offset` (node: the topic).
    Appended { partition: u32, offset: u64 },
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
    /// Compaction removed `removed` records superseded by a later one with the same key.
    Compacted { partition: u32, removed: u32 },
    /// A group's offset for a partition was moved to `offset` by a seek.
    Seeked {
        topic: NodeId,
        partition: u32,
        offset: u64,
    },
}

impl TraceKind {
    pub fn name(&self) -> &'static str {
        match self {
            TraceKind::Published { .. } => "published",
            TraceKind::Routed { .. } => "routed",
            TraceKind::Unroutable { .. } => "unroutable",
            TraceKind::Copied { .. } => "copied",
            TraceKind::Enqueued { .. } => "enqueued",
            TraceKind::Requeued { .. } => "requeued",
            TraceKind::Delivered { .. } => "delivered",
            TraceKind::Acked { .. } => "acked",
            TraceKind::Processed { .. } => "processed",
            TraceKind::Failed { .. } => "failed",
            TraceKind::Nacked { .. } => "nacked",
            TraceKind::RetryScheduled { .. } => "retry_scheduled",
            TraceKind::Retried { .. } => "retried",
            TraceKind::Expired => "expired",
            TraceKind::DeadLettered { .. } => "dead_lettered",
            TraceKind::Dropped { .. } => "dropped",
            TraceKind::Crashed { .. } => "crashed",
            TraceKind::Restarted { .. } => "restarted",
            TraceKind::CommandApplied { .. } => "command_applied",
            TraceKind::Appended { .. } => "appended",
            TraceKind::Fetched { .. } => "fetched",
            TraceKind::Committed { .. } => "committed",
            TraceKind::RebalanceStarted { .. } => "rebalance_started",
            TraceKind::RebalanceCompleted { .. } => "rebalance_completed",
            TraceKind::Assigned { .. } => "assigned",
            TraceKind::Revoked { .. } => "revoked",
            TraceKind::RetentionDeleted { .. } => "retention_deleted",
            TraceKind::Compacted { .. } => "compacted",
            TraceKind::Seeked { .. } => "seeked",
        }
    }

    /// All kind names, for filters in the UI.
    pub const NAMES: [&'static str; 29] = [
        "published",
        "routed",
        "unroutable",
        "copied",
        "enqueued",
        "requeued",
        "delivered",
        "acked",
        "processed",
        "failed",
        "nacked",
        "retry_scheduled",
        "retried",
        "expired",
        "dead_lettered",
        "dropped",
        "crashed",
        "restarted",
        "command_applied",
        "appended",
        "fetched",
        "committed",
        "rebalance_started",
        "rebalance_completed",
        "assigned",
        "revoked",
        "retention_deleted",
        "compacted",
        "seeked",
    ];

    /// Canonical words of this kind: a code, then its fields.
    fn words(&self, out: &mut [u64; 5]) -> usize {
        let opt = |o: Option<u64>| o.unwrap_or(u64::MAX);
        let node = |n: NodeId| n.0 as u64;
        match *self {
            TraceKind::Published { to, parent } => {
                *out = [1, node(to), opt(parent), 0, 0];
                3
            }
            TraceKind::Routed { queues } => {
                *out = [2, queues as u64, 0, 0, 0];
                2
            }
            TraceKind::Unroutable { alternate } => {
                *out = [3, opt(alternate.map(node)), 0, 0, 0];
                2
            }
            TraceKind::Copied { copy } => {
                *out = [4, copy, 0, 0, 0];
                2
            }
            TraceKind::Enqueued { depth } => {
                *out = [5, depth as u64, 0, 0, 0];
                2
            }
            TraceKind::Requeued { depth } => {
                *out = [6, depth as u64, 0, 0, 0];
                2
            }
            TraceKind::Delivered {
                consumer,
                instance,
                attempt,
                redelivered,
            } => {
                *out = [
                    7,
                    node(consumer),
                    instance as u64,
                    attempt as u64,
                    redelivered as u64,
                ];
                5
            }
            TraceKind::Acked { instance } => {
                *out = [8, instance as u64, 0, 0, 0];
                2
            }
            TraceKind::Processed {
                instance,
                service_us,
            } => {
                *out = [9, instance as u64, service_us, 0, 0];
                3
            }
            TraceKind::Failed { instance, attempt } => {
                *out = [10, instance as u64, attempt as u64, 0, 0];
                3
            }
            TraceKind::Nacked { instance, requeue } => {
                *out = [11, instance as u64, requeue as u64, 0, 0];
                3
            }
            TraceKind::RetryScheduled { attempt, delay_us } => {
                *out = [12, attempt as u64, delay_us, 0, 0];
                3
            }
            TraceKind::Retried { attempt } => {
                *out = [13, attempt as u64, 0, 0, 0];
                2
            }
            TraceKind::Expired => {
                *out = [14, 0, 0, 0, 0];
                1
            }
            TraceKind::DeadLettered {
                reason,
                exchange,
                deaths,
            } => {
                *out = [15, reason as u64, node(exchange), deaths as u64, 0];
                4
            }
            TraceKind::Dropped { reason } => {
                *out = [16, reason as u64, 0, 0, 0];
                2
            }
            TraceKind::Crashed {
                instance,
                returned,
                lost,
            } => {
                *out = [17, instance as u64, returned as u64, lost as u64, 0];
                4
            }
            TraceKind::Restarted { instance } => {
                *out = [18, instance as u64, 0, 0, 0];
                2
            }
            TraceKind::CommandApplied { index, scheduled } => {
                *out = [19, index as u64, scheduled as u64, 0, 0];
                3
            }
            TraceKind::Appended { partition, offset } => {
                *out = [20, partition as u64, offset, 0, 0];
                3
            }
            TraceKind::Fetched {
                member,
                topic,
                partition,
                from,
                count,
            } => {
                // Five words at most: member and count share one.
                let mc = ((member as u64) << 32) | count as u64;
                *out = [21, mc, node(topic), partition as u64, from];
                5
            }
            TraceKind::Committed {
                topic,
                partition,
                offset,
            } => {
                *out = [22, node(topic), partition as u64, offset, 0];
                4
            }
            TraceKind::RebalanceStarted {
                generation,
                members,
            } => {
                *out = [23, generation as u64, members as u64, 0, 0];
                3
            }
            TraceKind::RebalanceCompleted { generation } => {
                *out = [24, generation as u64, 0, 0, 0];
                2
            }
            TraceKind::Assigned {
                member,
                topic,
                partition,
            } => {
                *out = [25, member as u64, node(topic), partition as u64, 0];
                4
            }
            TraceKind::Revoked {
                member,
                topic,
                partition,
            } => {
                *out = [26, member as u64, node(topic), partition as u64, 0];
                4
            }
            TraceKind::RetentionDeleted {
                partition,
                count,
                log_start,
            } => {
                *out = [27, partition as u64, count as u64, log_start, 0];
                4
            }
            TraceKind::Compacted { partition, removed } => {
                *out = [28, partition as u64, removed as u64, 0, 0];
                3
            }
            TraceKind::Seeked {
                topic,
                partition,
                offset,
            } => {
                *out = [29, node(topic), partition as u64, offset, 0];
                4
            }
        }
    }
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

/// One step of the trace hash: xor the word in, multiply by a large odd
/// constant, fold the high half down. Chosen for speed; it is pinned by golden
/// tests, so changing it is a deliberate act.
#[inline]
fn mix(h: u64, w: u64) -> u64 {
    let x = (h ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
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
        }
    }

    #[inline]
    pub fn record(&mut self, t: SimTime, kind: TraceKind, msg: Option<u64>, node: NodeId) {
        let seq = self.count;
        self.count += 1;
        let mut w = [0u64; 5];
        let n = kind.words(&mut w);
        let mut h = mix(self.hash, t.0);
        h = mix(h, seq);
        h = mix(h, msg.unwrap_or(u64::MAX));
        h = mix(h, node.0 as u64);
        for &x in &w[..n] {
            h = mix(h, x);
        }
        self.hash = h;
        if self.capture {
            if self.buffer.len() >= self.capacity {
                self.make_room();
            }
            self.buffer.push_back(TraceEvent {
                t,
                seq,
                kind,
                msg,
                node,
            });
        }
    }

    /// The buffer is full: hand it to the sink, or lose the oldest event.
    #[cold]
    fn make_room(&mut self) {
        if let Some(sink) = &self.sink.0 {
            (sink.borrow_mut())(&mut self.buffer);
        }
        if self.buffer.len() >= self.capacity {
            self.buffer.pop_front();
            self.overwritten += 1;
        }
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
        self.capture = on;
        self.capacity = capacity.clamp(1, TRACE_BUFFER_MAX);
        if !on {
            self.buffer.clear();
        }
    }
    /// Take every stored event, oldest first.
    pub fn take(&mut self) -> Vec<TraceEvent> {
        self.buffer.drain(..).collect()
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
mod tests {
    use super::*;

    #[test]
    fn hash_does_not_depend_on_capture() {
        let mut a = TraceLog::new();
        let mut b = TraceLog::new();
        b.set_capture(true, 2);
        for i in 0..5 {
            let k = TraceKind::Enqueued { depth: i };
            a.record(SimTime(i as u64), k, Some(i as u64), NodeId(1));
            b.record(SimTime(i as u64), k, Some(i as u64), NodeId(1));
        }
        assert_eq!(a.hash(), b.hash());
        assert_eq!(b.stored().len(), 2, "bounded buffer");
        assert_eq!(b.overwritten(), 3);
        // With a sink, a full buffer is drained instead: nothing is lost.
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s2 = seen.clone();
        let mut c = TraceLog::new();
        c.set_capture(true, 2);
        c.set_sink(Some(Rc::new(RefCell::new(
            move |buf: &mut VecDeque<TraceEvent>| s2.borrow_mut().extend(buf.drain(..)),
        ))));
        for i in 0..5 {
            let k = TraceKind::Enqueued { depth: i };
            c.record(SimTime(i as u64), k, Some(i as u64), NodeId(1));
        }
        assert_eq!(c.overwritten(), 0);
        let mut all: Vec<u64> = seen.borrow().iter().map(|e| e.seq).collect();
        all.extend(c.take().iter().map(|e| e.seq));
        assert_eq!(all, [0, 1, 2, 3, 4], "every event once, in order");
        assert_eq!(c.hash(), a.hash());
    }

    #[test]
    fn hash_sees_every_field() {
        let base = |kind, msg, node, t| {
            let mut l = TraceLog::new();
            l.record(SimTime(t), kind, msg, NodeId(node));
            l.hash()
        };
        let k = TraceKind::Acked { instance: 0 };
        let h0 = base(k, Some(1), 1, 1);
        assert_ne!(h0, base(TraceKind::Acked { instance: 1 }, Some(1), 1, 1));
        assert_ne!(h0, base(k, Some(2), 1, 1));
        assert_ne!(h0, base(k, None, 1, 1));
        assert_ne!(h0, base(k, Some(1), 2, 1));
        assert_ne!(h0, base(k, Some(1), 1, 2));
        assert_eq!(TraceKind::NAMES.len(), 29);
    }
}
