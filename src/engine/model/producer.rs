//! Producers: when each one publishes, and what it publishes.
//!
//!   ProducerTick ──► on_producer_tick ──burst × producer_publish──► exchange::route
//!        ▲                  │                                        (or Arrive after latency)
//!        └── schedule_tick ─┘
//!
//! Reacts to: `Event::ProducerTick`; commands `SetRate`, `SetArrival`,
//! `PauseProducer`, `ResumeProducer`, `PublishOne`. Every rate, arrival or
//! pause change bumps the producer's epoch, so a tick scheduled before the
//! change is ignored when it fires. Gaps and key choices come only from the
//! producer's own random stream; `PublishOne` draws nothing from it.
//! Limit: a publish past `LIVE_MESSAGES_MAX` live messages is dropped with
//! `queue_full` at the producer.

use crate::engine::core::{Engine, Event, Target, DELAY_US_MAX, LIVE_MESSAGES_MAX};
use crate::engine::message::{HdrId, Sym, NO_SYM};
use crate::engine::prng::Stream;
use crate::engine::time::{delay_us_from_f64, SimTime};
use crate::engine::trace::{NodeId, Reason, TraceKind};
use crate::scenario::{self, Arrival, KeyChoice};

#[derive(Clone, Debug)]
pub(crate) struct ProducerState {
    pub(crate) node: NodeId,
    pub(crate) target: Target,
    pub(crate) stream: Stream,
    /// The link to the broker's own stream (`link:<id>`): drops, duplicates, jitter.
    pub(crate) link: Stream,
    /// Bumped by every producer crash: what it was waiting for is forgotten.
    pub(crate) incarnation: u32,
    /// Crashed and not restarted: publishes nothing.
    pub(crate) crashed: bool,
    pub(crate) epoch: u32,
    pub(crate) paused: bool,
    pub(crate) sent: u64,
    pub(crate) rk_rr: usize,
    pub(crate) key_rr: usize,
    pub(crate) hdr_rr: usize,
    pub(crate) routing_keys: Vec<Sym>,
    pub(crate) rk_weights: Vec<u32>,
    pub(crate) keys: Vec<Sym>,
    pub(crate) key_weights: Vec<u32>,
    pub(crate) header_sets: Vec<HdrId>,
    /// Mean gap between ticks [µs] (`1e6 / rate`; `None` when the rate is
    /// 0) and the arrival pattern, from the configuration; refreshed by
    /// `producer_changed` (`SetRate`, `SetArrival`) so a tick reads no
    /// configuration and divides nothing.
    pub(crate) mean_gap_us: Option<f64>,
    pub(crate) arrival: Arrival,
    /// Its messages (routing copies and handler publishes included) that
    /// completed, and the sum of their times from publish to ack [µs]: the
    /// producer's own mean end-to-end latency (a priority queue's urgent
    /// producer against its bulk one).
    pub(crate) completed: u64,
    pub(crate) end_to_end_sum_us: u64,
}

/// `mean_gap_us` of a producer configuration.
fn mean_gap_us(cfg: &scenario::Producer) -> Option<f64> {
    let rate = cfg.rate.per_s();
    (rate > 0.0).then(|| 1e6 / rate)
}

/// The round-robin index `*rr` (in `0..len`), advancing it with a wrap; the
/// same sequence as `counter % len` without a division per publish.
#[inline]
fn next_cyclic(rr: &mut usize, len: usize) -> usize {
    let k = *rr;
    *rr = if k + 1 >= len { 0 } else { k + 1 };
    k
}

pub(crate) fn pick_weighted(stream: &mut Stream, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|&w| w as u64).sum();
    let mut r = stream.below(total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if r < w as u64 {
            return i;
        }
        r -= w as u64;
    }
    weights.len() - 1
}

impl Engine {
    /// Create the state of producer `p`: its target, its interned key and header choices and its random stream (called once per producer by `Engine::new`).
    pub(crate) fn add_producer(&mut self, p: &scenario::Producer) {
        // A topic producer never routes: its records go to `batch.rs`; the
        // target is a placeholder no path reads (see `producer_publish`).
        let to_topic = self
            .node_of(&p.to)
            .is_some_and(|n| n.kind == crate::engine::core::NodeKind::Topic);
        let target = match self.target_of_producer(&p.to, to_topic) {
            // A Pulsar producer's messages carry its index (for `deliver_after`).
            Target::Pulsar { t, .. } => Target::Pulsar {
                t,
                p: self.producers.len() as u16,
            },
            other => other,
        };
        let mut key_weights = Vec::new();
        let choice =
            |c: &Option<KeyChoice>, this: &mut Self, weights: Option<&mut Vec<u32>>| -> Vec<Sym> {
                match c {
                    None => vec![],
                    Some(KeyChoice::Fixed(s)) => vec![this.intern(s)],
                    Some(KeyChoice::RoundRobin(v)) | Some(KeyChoice::Random(v)) => {
                        v.iter().map(|s| this.intern(s)).collect()
                    }
                    Some(KeyChoice::RandomOfN(n)) => {
                        (0..*n).map(|i| this.intern(&format!("key-{i}"))).collect()
                    }
                    Some(KeyChoice::Weighted(v)) => {
                        if let Some(w) = weights {
                            *w = v.iter().map(|k| k.weight).collect();
                        }
                        v.iter().map(|k| this.intern(&k.key)).collect()
                    }
                }
            };
        let mut rk_weights = Vec::new();
        let mut routing_keys = choice(&p.routing_keys, self, Some(&mut rk_weights));
        if routing_keys.is_empty() {
            routing_keys = vec![self.intern(&p.routing_key)];
        }
        let keys = choice(&p.keys, self, Some(&mut key_weights));
        let header_sets: Vec<HdrId> = if p.header_sets.is_empty() {
            vec![self.intern_headers(p.headers.clone())]
        } else {
            p.header_sets
                .iter()
                .map(|hs| {
                    let mut h = p.headers.clone();
                    h.extend(hs.iter().map(|(k, v)| (k.clone(), v.clone())));
                    self.intern_headers(h)
                })
                .collect()
        };
        self.producers.push(ProducerState {
            node: self.node_id(&p.id),
            target,
            stream: Stream::new(self.seed, &format!("producer:{}", p.id)),
            link: Stream::new(self.seed, &format!("link:{}", p.id)),
            incarnation: 0,
            crashed: false,
            epoch: 0,
            paused: false,
            sent: 0,
            rk_rr: 0,
            key_rr: 0,
            hdr_rr: 0,
            routing_keys,
            rk_weights,
            keys,
            key_weights,
            header_sets,
            mean_gap_us: mean_gap_us(p),
            arrival: p.arrival.clone(),
            completed: 0,
            end_to_end_sum_us: 0,
        });
    }

    /// The gap to the next tick [µs]; `None` when the rate is 0 (no tick).
    #[inline]
    pub(crate) fn producer_gap_us(&mut self, p: u32) -> Option<u64> {
        let ps = &mut self.producers[p as usize];
        let mean_us = ps.mean_gap_us?;
        let gap = match ps.arrival {
            Arrival::Constant => mean_us,
            Arrival::Poisson => ps.stream.exponential(mean_us),
            Arrival::Bursts { size } => mean_us * size.max(1) as f64,
        };
        Some(delay_us_from_f64(gap, DELAY_US_MAX).max(1))
    }

    pub(crate) fn schedule_tick(&mut self, p: u32, from: SimTime) {
        let Some(gap) = self.producer_gap_us(p) else {
            return;
        };
        let epoch = self.producers[p as usize].epoch;
        self.agenda
            .schedule(from.after(gap), Event::ProducerTick { p, epoch });
    }

    pub(crate) fn on_producer_tick(&mut self, p: u32, epoch: u32) {
        let ps = &self.producers[p as usize];
        if ps.epoch != epoch || ps.paused {
            return;
        }
        let cfg = &self.cfg.producers[p as usize];
        if cfg.stop.is_some_and(|s| self.now.0 >= s.us()) {
            return;
        }
        let burst = match cfg.arrival {
            Arrival::Bursts { size } => size.max(1),
            _ => 1,
        };
        for _ in 0..burst {
            if self.cfg.producers[p as usize]
                .count
                .is_some_and(|n| self.producers[p as usize].sent >= n)
            {
                return;
            }
            self.producer_publish(p);
        }
        self.schedule_tick(p, self.now);
    }

    pub(crate) fn producer_publish(&mut self, p: u32) {
        let pi = p as usize;
        let ps = &mut self.producers[pi];
        ps.sent += 1;
        let cfg = &self.cfg.producers[pi];
        let routing_key = match &cfg.routing_keys {
            Some(KeyChoice::Random(_)) | Some(KeyChoice::RandomOfN(_)) => {
                ps.routing_keys[ps.stream.below(ps.routing_keys.len() as u64) as usize]
            }
            Some(KeyChoice::Weighted(_)) => {
                ps.routing_keys[pick_weighted(&mut ps.stream, &ps.rk_weights)]
            }
            _ => ps.routing_keys[next_cyclic(&mut ps.rk_rr, ps.routing_keys.len())],
        };
        let key = if ps.keys.is_empty() {
            NO_SYM
        } else {
            match &cfg.keys {
                Some(KeyChoice::Random(_)) | Some(KeyChoice::RandomOfN(_)) => {
                    ps.keys[ps.stream.below(ps.keys.len() as u64) as usize]
                }
                Some(KeyChoice::Weighted(_)) => {
                    ps.keys[pick_weighted(&mut ps.stream, &ps.key_weights)]
                }
                _ => ps.keys[next_cyclic(&mut ps.key_rr, ps.keys.len())],
            }
        };
        if self.streams.producers.get(pi).is_some_and(|t| t.is_some()) {
            self.produce_record(p, key);
            return;
        }
        let ps = &mut self.producers[pi];
        let headers = ps.header_sets[next_cyclic(&mut ps.hdr_rr, ps.header_sets.len())];
        self.send_message(p, routing_key, key, headers);
    }

    /// `PublishOne`: one message from producer `p` now, with the given routing
    /// key (default: the producer's `routing_key`), key (default: none) and
    /// headers merged over the producer's `headers`. Leaves the producer's
    /// schedule, round-robin positions, `sent` count and random stream alone.
    pub(crate) fn publish_one(
        &mut self,
        p: u32,
        routing_key: Option<&str>,
        key: Option<&str>,
        headers: &std::collections::BTreeMap<String, String>,
    ) {
        let cfg = &self.cfg.producers[p as usize];
        let rk = routing_key.unwrap_or(&cfg.routing_key).to_string();
        let mut h = cfg.headers.clone();
        h.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let routing_key = self.intern(&rk);
        let key = key.map_or(NO_SYM, |k| self.intern(k));
        if self
            .streams
            .producers
            .get(p as usize)
            .is_some_and(|t| t.is_some())
        {
            // A topic producer: one record, partitioned by its key.
            self.produce_record(p, key);
            return;
        }
        let headers = self.intern_headers(h);
        self.send_message(p, routing_key, key, headers);
    }

    /// Create a message from producer `p` and send it on its way (after the
    /// producer's latency, if any).
    fn send_message(&mut self, p: u32, routing_key: Sym, key: Sym, headers: HdrId) {
        let pi = p as usize;
        let ps = &self.producers[pi];
        let cfg = &self.cfg.producers[pi];
        let target = ps.target;
        let node = ps.node;
        let msg_ttl_us = cfg.ttl.map(|d| d.us());
        let slot = self.new_message(routing_key, key, headers, p as u16, msg_ttl_us);
        self.published(slot, node, target, None);
        self.fx_begin(slot, p);
        if self.ledger.live() as usize > LIVE_MESSAGES_MAX {
            // The bound `LIVE_MESSAGES_MAX` promises: a runaway scenario (fast
            // producer, no consumer, no max-length) is refused at the producer
            // instead of eating the machine's memory.
            self.drop_message(slot, Reason::QueueFull, node);
            return;
        }
        self.transmit(p, slot, target);
    }

    #[inline]
    pub(crate) fn published(
        &mut self,
        slot: u32,
        node: NodeId,
        target: Target,
        parent: Option<u64>,
    ) {
        let to = self.target_node(target);
        self.totals.published += 1;
        self.totals.bytes_published += self.payload_bytes(slot) as u64;
        let m = &self.msgs[slot as usize];
        self.trace.record(
            self.now,
            TraceKind::Published { to, parent },
            Some(m.id),
            node,
        );
    }

    /// Rate or arrival pattern changed (`SetRate`, `SetArrival`): drop the
    /// pending tick (new epoch) and, unless paused, schedule from now.
    pub(crate) fn producer_changed(&mut self, p: u32) {
        let cfg = &self.cfg.producers[p as usize];
        let (gap, arrival) = (mean_gap_us(cfg), cfg.arrival.clone());
        let ps = &mut self.producers[p as usize];
        ps.mean_gap_us = gap;
        ps.arrival = arrival;
        ps.epoch = ps.epoch.wrapping_add(1);
        if !ps.paused {
            self.schedule_tick(p, self.now);
        }
    }

    /// `PauseProducer`: no publishing until resumed (the pending tick goes stale).
    pub(crate) fn pause_producer(&mut self, p: u32) {
        let ps = &mut self.producers[p as usize];
        ps.paused = true;
        ps.epoch = ps.epoch.wrapping_add(1);
    }

    /// `ResumeProducer`: publish again, the next gap drawn from now.
    pub(crate) fn resume_producer(&mut self, p: u32) {
        let ps = &mut self.producers[p as usize];
        if ps.paused && !ps.crashed {
            ps.paused = false;
            ps.epoch = ps.epoch.wrapping_add(1);
            self.schedule_tick(p, self.now);
        }
    }
}
