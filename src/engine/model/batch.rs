//! The Kafka producer's side: partition choice and batching (`linger`, `batch_size`).
//!
//!   producer_publish ──(topic producer)──► produce_record ──partition──► open batch of that partition
//!        full (batch_size) or linger 0 ──► send_batch ──latency──► BatchArrive ──► topic::append_batch
//!        LingerDue (linger after the batch opened) ──► send_batch
//!
//! Reacts to: `StreamEvent::{LingerDue, BatchArrive}`.
//! A batch is appended as a unit, all its records at one instant, in the order
//! they were produced. Without `linger` every record is its own batch (Kafka's
//! `linger.ms = 0` sends as soon as the sender thread is free). `batch_size`
//! counts records here; Kafka counts bytes.

use super::partitioner::{murmur2, to_positive, PartitionerState};
use super::topic::{Record, StreamEvent};
use crate::engine::core::Engine;
use crate::engine::message::{Sym, NO_SYM};
use crate::engine::trace::TraceKind;
use crate::scenario::Partitioner;

/// Records per batch when `batch_size` is not given (Kafka: 16 KiB of bytes).
pub const BATCH_SIZE_DEFAULT: u32 = 16;

/// `Streams::key_hash` of a key not hashed yet (a positive murmur2 has the top bit clear).
const KEY_HASH_UNKNOWN: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(crate) struct OpenBatch {
    pub(crate) id: u32,
    pub(crate) records: Vec<Record>,
}

/// A producer that publishes to a topic.
#[derive(Clone, Debug)]
pub(crate) struct TopicProducer {
    pub(crate) topic: u32,
    pub(crate) partitioner: PartitionerState,
    /// The open batch per partition (grows with the topic).
    pub(crate) open: Vec<Option<OpenBatch>>,
    pub(crate) sent_batches: u64,
    /// The last batch sequence number per partition (the idempotent producer's).
    pub(crate) next_seq: Vec<u64>,
    /// The window of in-flight batches (`inflight.rs`).
    pub(crate) window: super::inflight::Window,
}

impl TopicProducer {
    pub(crate) fn new(topic: u32) -> Self {
        TopicProducer {
            topic,
            partitioner: PartitionerState::default(),
            open: Vec::new(),
            sent_batches: 0,
            next_seq: Vec::new(),
            window: Default::default(),
        }
    }
}

impl Engine {
    /// Choose the partition of a record of producer `p` with key `key`.
    fn choose_partition(&mut self, p: u32, key: Sym) -> u32 {
        let pi = p as usize;
        let cfg = &self.cfg.producers[pi];
        let tp = self.streams.producers[pi]
            .as_mut()
            .expect("a topic producer");
        let t = tp.topic;
        let partitions = self.streams.topics[t as usize].parts.len() as u32;
        if let Some(n) = cfg.partition {
            return n.min(partitions - 1);
        }
        if key != NO_SYM && cfg.partitioner.unwrap_or_default() == Partitioner::Default {
            // A keyed record goes to its key's partition, leader or not
            // (`partitioner::partition_for_key`, with the hash kept per key).
            let k = key as usize;
            let cache = &mut self.streams.key_hash;
            if k >= cache.len() {
                cache.resize(k + 1, KEY_HASH_UNKNOWN);
            }
            if cache[k] == KEY_HASH_UNKNOWN {
                cache[k] = to_positive(murmur2(self.syms[k].as_bytes()));
            }
            return cache[k] % partitions.max(1);
        }
        // The key-less partitioners choose among the partitions with a
        // leader (Kafka's `availablePartitionsForTopic`), all of them when
        // none has one. Only a topic with a crashed leader pays for the list.
        let available: Option<Vec<u32>> = (self.streams.topics[t as usize].degraded > 0)
            .then(|| {
                (0..partitions)
                    .filter(|&part| !self.partition_offline(t, part))
                    .collect::<Vec<u32>>()
            })
            .filter(|list| !list.is_empty() && list.len() < partitions as usize);
        let tp = self.streams.producers[pi]
            .as_mut()
            .expect("a topic producer");
        match cfg.partitioner.unwrap_or_default() {
            Partitioner::RoundRobin => tp.partitioner.round_robin(partitions, available.as_deref()),
            Partitioner::Default => {
                let batch = cfg.batch_size.unwrap_or(BATCH_SIZE_DEFAULT);
                let stream = &mut self.producers[pi].stream;
                let open = &tp.open;
                let open_unfull = |part: u32| open.get(part as usize).is_some_and(|b| b.is_some());
                tp.partitioner
                    .sticky(partitions, batch, stream, available.as_deref(), open_unfull)
            }
        }
    }

    /// A topic producer publishes one record with `key` (`NO_SYM`: null key).
    pub(crate) fn produce_record(&mut self, p: u32, key: Sym) {
        let pi = p as usize;
        let part = self.choose_partition(p, key);
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        let t = self.streams.producers[pi]
            .as_ref()
            .expect("a topic producer")
            .topic;
        let to = self.streams.topics[t as usize].node;
        let node = self.producers[pi].node;
        self.streams.records_published += 1;
        self.totals.published += 1;
        self.totals.bytes_published += self.cfg.producers[pi].payload_bytes as u64;
        self.trace.record(
            self.now,
            TraceKind::Published { to, parent: None },
            Some(id),
            node,
        );
        // Drawn only when asked for, so producers without tombstones keep their streams.
        let tombstone = match self.cfg.producers[pi].tombstone_ratio {
            Some(r) if r > 0.0 && key != NO_SYM => self.producers[pi].stream.chance(r),
            _ => false,
        };
        let record = Record::new(key, id, self.now.0, tombstone);
        let cfg = &self.cfg.producers[pi];
        let linger_us = cfg.linger.map_or(0, |d| d.us());
        let latency_us = cfg.latency.us();
        let batch_size = cfg.batch_size.unwrap_or(BATCH_SIZE_DEFAULT) as usize;
        let next_id = self.streams.next_batch;
        let tracking = self.produce_needs_tracking(p, t);
        let costs = self.cfg.broker_costs.is_some();
        let tp = self.streams.producers[pi]
            .as_mut()
            .expect("a topic producer");
        if linger_us == 0
            && latency_us == 0
            && tp.open.get(part as usize).is_none_or(|b| b.is_none())
            && !tracking
            && !costs
        {
            // The batch of one is sent and appended at once: the same batch id,
            // count and append as the general path below, without the vector.
            self.streams.next_batch = self.streams.next_batch.wrapping_add(1);
            tp.sent_batches += 1;
            self.append_one(t, part, record);
            self.sticky_appended(p, key, part);
            return;
        }
        if tp.open.len() <= part as usize {
            tp.open.resize(part as usize + 1, None);
        }
        let opened = tp.open[part as usize].is_none();
        let batch = tp.open[part as usize].get_or_insert_with(|| OpenBatch {
            id: next_id,
            records: Vec::new(),
        });
        batch.records.push(record);
        let full = batch.records.len() >= batch_size;
        let batch_id = batch.id;
        if opened {
            self.streams.next_batch = self.streams.next_batch.wrapping_add(1);
        }
        if linger_us == 0 || full {
            self.send_batch(p, part);
        } else if opened {
            self.schedule_stream(
                self.now.after(linger_us),
                StreamEvent::LingerDue {
                    p,
                    part,
                    batch: batch_id,
                },
            );
        }
        self.sticky_appended(p, key, part);
    }

    /// After a record of producer `p` went into its batch for `part`: if the
    /// sticky partitioner chose it, may the partition switch
    /// (`PartitionerState::after_append`)?
    fn sticky_appended(&mut self, p: u32, key: Sym, part: u32) {
        let cfg = &self.cfg.producers[p as usize];
        if key != NO_SYM
            || cfg.partition.is_some()
            || cfg.partitioner.unwrap_or_default() != Partitioner::Default
        {
            return;
        }
        let batch = cfg.batch_size.unwrap_or(BATCH_SIZE_DEFAULT);
        let Some(tp) = self.streams.producers[p as usize].as_mut() else {
            return;
        };
        let open_unfull = tp.open.get(part as usize).is_some_and(|b| b.is_some());
        tp.partitioner.after_append(batch, open_unfull);
    }

    pub(crate) fn on_linger_due(&mut self, p: u32, part: u32, batch: u32) {
        let open = self.streams.producers[p as usize]
            .as_ref()
            .and_then(|tp| tp.open.get(part as usize))
            .and_then(|b| b.as_ref())
            .map(|b| b.id);
        if open == Some(batch) {
            self.send_batch(p, part);
        }
    }

    /// Send producer `p`'s open batch for `part` once the window of
    /// in-flight batches has room (`inflight.rs`).
    fn send_batch(&mut self, p: u32, part: u32) {
        let tp = self.streams.producers[p as usize]
            .as_mut()
            .expect("a topic producer");
        let Some(batch) = tp.open[part as usize].take() else {
            return;
        };
        if let Some(batch) = self.window_admit(p, part, batch) {
            self.transmit_batch(p, part, batch);
        }
    }

    /// Transmit a batch: appended after the producer's latency.
    pub(crate) fn transmit_batch(&mut self, p: u32, part: u32, batch: OpenBatch) {
        let pi = p as usize;
        let latency_us = self.cfg.producers[pi].latency.us();
        let tp = self.streams.producers[pi]
            .as_mut()
            .expect("a topic producer");
        tp.sent_batches += 1;
        let t = tp.topic;
        if latency_us == 0 {
            self.arrive_batch(p, t, part, batch.records);
        } else {
            self.streams
                .in_flight
                .insert(batch.id, (p, t, part, batch.records));
            self.schedule_stream(
                self.now.after(latency_us),
                StreamEvent::BatchArrive { batch: batch.id },
            );
        }
    }

    pub(crate) fn on_batch_arrive(&mut self, batch: u32) {
        if let Some((p, t, part, records)) = self.streams.in_flight.remove(&batch) {
            self.arrive_batch(p, t, part, records);
        }
    }

    /// A batch reaches the broker: first through the broker's own time
    /// (`broker_costs`, one produce request), then `stored_batch`.
    fn arrive_batch(&mut self, p: u32, t: u32, part: u32, records: Vec<Record>) {
        if let Some(at) = self.broker_ready_us(records.len() as u64, true) {
            if at > self.now.0 {
                let id = self.streams.next_batch;
                self.streams.next_batch = self.streams.next_batch.wrapping_add(1);
                self.streams.in_flight.insert(id, (p, t, part, records));
                self.schedule_stream(
                    crate::engine::time::SimTime(at),
                    StreamEvent::BatchStored { batch: id },
                );
                return;
            }
        }
        self.stored_batch(p, t, part, records);
    }

    pub(crate) fn on_batch_stored(&mut self, batch: u32) {
        if let Some((p, t, part, records)) = self.streams.in_flight.remove(&batch) {
            self.stored_batch(p, t, part, records);
        }
    }

    /// A stored batch: straight into the log, or through the produce path
    /// with acks, faults and replication (`replication.rs`).
    fn stored_batch(&mut self, p: u32, t: u32, part: u32, records: Vec<Record>) {
        if self.produce_needs_tracking(p, t) {
            self.deliver_batch(p, t, part, records);
        } else {
            self.append_batch(t, part, records);
            // Its outcome is known: the slot in the window is free.
            self.window_release(p, part);
        }
    }
}
