//! What a consumer's handler does with a delivery: fail on it (poison, or
//! the failure rate's draw) or process it, counting and tracing either, and
//! after a success publish what `on_success` names. Split from `consumer.rs`,
//! which keeps delivery, service, ack and crash.
//!
//! Exports: `handler_fails`, `handler_succeeded`, `handler_failed`,
//! `is_poison`, `handler_publish`. Guarantees: every outcome is reported to
//! the consumer's circuit breaker (`model::breaker`) before it is counted;
//! an idempotent consumer's repeat is acked without its side effect.

use crate::engine::core::{Engine, LIVE_MESSAGES_MAX};
use crate::engine::message::NO_SYM;
use crate::engine::trace::TraceKind;
use crate::scenario::Poison;

impl Engine {
    /// Does the handler fail on `slot` (poison, or the failure rate's draw)?
    pub(crate) fn handler_fails(&mut self, c: u32, slot: u32) -> bool {
        let rate = self.cfg.consumers[c as usize].failure_rate;
        self.is_poison(c, slot) || (rate > 0.0 && self.consumers[c as usize].stream.chance(rate))
    }

    /// The handler processed `slot` (from queue `q`): counted and traced, and
    /// its side effect done unless an idempotent consumer's store has seen
    /// this business message (then it only acks). Shared by the AMQP and the
    /// SQS consumers; what happens to the message next is theirs.
    pub(crate) fn handler_succeeded(&mut self, c: u32, i: u32, slot: u32, q: u32, service_us: u64) {
        let ci = c as usize;
        self.breaker_success(c);
        self.totals.processed += 1;
        self.consumers[ci].processed += 1;
        self.consumers[ci].instances[i as usize].processed += 1;
        let (id, cnode) = (self.msgs[slot as usize].id, self.consumers[ci].node);
        self.trace.record(
            self.now,
            TraceKind::Processed {
                instance: i,
                service_us,
            },
            Some(id),
            cnode,
        );
        if !(self.consumers[ci].protocol && self.dedup_check(c, i, slot)) {
            self.handler_publish(c, slot);
            self.fx_effect(slot, q);
        } else {
            self.effects.dedup_skipped_runs += 1;
        }
    }

    /// The handler failed on `slot`: counted and traced with its failure count.
    pub(crate) fn handler_failed(&mut self, c: u32, i: u32, slot: u32) {
        let ci = c as usize;
        self.breaker_failure(c);
        self.totals.failed += 1;
        self.consumers[ci].failed += 1;
        let x = self.ext_mut(slot);
        x.failures += 1;
        let attempt = x.failures;
        let (id, cnode) = (self.msgs[slot as usize].id, self.consumers[ci].node);
        self.trace.record(
            self.now,
            TraceKind::Failed {
                instance: i,
                attempt,
            },
            Some(id),
            cnode,
        );
    }

    pub(crate) fn is_poison(&self, c: u32, slot: u32) -> bool {
        let m = &self.msgs[slot as usize];
        match &self.cfg.consumers[c as usize].poison {
            None => false,
            Some(Poison::Key(k)) => m.key != NO_SYM && self.syms[m.key as usize] == *k,
            Some(Poison::Header { name, value }) => {
                self.hdrs[m.headers as usize].get(name) == Some(value)
            }
        }
    }

    /// The handler's publishes after a success (`on_success`): each keeps the
    /// processed message's correlation id, records it as its parent, and
    /// carries its headers with the publish's `headers` set over them.
    pub(crate) fn handler_publish(&mut self, c: u32, slot: u32) {
        let ci = c as usize;
        if self.consumers[ci].on_success.is_empty() {
            return;
        }
        let cnode = self.consumers[ci].node;
        // Only the fields a reply inherits: cloning the whole message would
        // also copy its death log on every successful handler run.
        let correlation = self.correlation(slot);
        let m = &self.msgs[slot as usize];
        let (id, routing_key, key, headers, origin) =
            (m.id, m.routing_key, m.key, m.headers, m.origin);
        for k in 0..self.consumers[ci].on_success.len() {
            let (target, rk, copies, set) = self.consumers[ci].on_success[k];
            let headers = match set {
                None => headers,
                Some(set) => {
                    let mut h = self.hdrs[headers as usize].clone();
                    h.extend(
                        self.hdrs[set as usize]
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                    self.intern_headers(h)
                }
            };
            for _ in 0..copies {
                if self.ledger.live() as usize >= LIVE_MESSAGES_MAX {
                    return;
                }
                let n = self.new_message(rk.unwrap_or(routing_key), key, headers, origin, None);
                // One publish carries the business message on to its next
                // stage (the ledger expects one effect per queue it reaches);
                // `copies` > 1 makes that many new business messages (three
                // thumbnail sizes of one image), each expected to have its
                // own effect, not duplicates of the one that made them.
                if copies > 1 {
                    self.fx_begin(n, origin as u32);
                } else {
                    self.fx_share(slot, n);
                }
                self.set_correlation(n, correlation);
                self.published(n, cnode, target, Some(id));
                self.route(n, target, None);
            }
        }
    }
}
