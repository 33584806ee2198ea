//! Exchanges route each published message to zero or more queues.
//!
//!   producer ──publish──► exchange ──route──► queue::enqueue (one copy per queue)
//!                            │
//!                            └── no match ──► alternate exchange, or dropped `unroutable`
//!
//! Reacts to: `Event::Arrive` (a publish after its latency). Matching itself is
//! pure (`routing.rs`); this file resolves bindings, exchange-to-exchange
//! bindings and alternate exchanges as RabbitMQ does, caches every result per
//! (exchange, routing key, headers), makes the copies and hands each to its
//! queue. Where an exchange drops a message: `route` (unroutable, live-message
//! limit for copies); dead-letter cycles are cut in `dead_letter.rs`.

use crate::engine::core::{Engine, Target, LIVE_MESSAGES_MAX};
use crate::engine::message::{HdrId, MsgState, Sym};
use crate::engine::routing::{headers_match, topic_matches};
use crate::engine::trace::{NodeId, Reason, TraceKind};
use crate::scenario::{self, ExchangeKind};
use std::rc::Rc;

/// Most cached routing results; the cache is cleared when full (deterministic:
/// it is a `BTreeMap` filled in event order), so memory stays bounded however
/// many distinct keys a scenario publishes.
pub(crate) const ROUTE_CACHE_MAX: usize = 65_536;

/// What `resolve` found for one (exchange, routing key, headers): the queues
/// (each once, in binding order) and the fallbacks on the way.
#[derive(Clone, Debug)]
pub(crate) struct CachedRoute {
    pub(crate) queues: Rc<[u32]>,
    /// Each exchange visited whose own bindings matched nothing, with the
    /// alternate it handed the message to, in visiting order (the entry
    /// exchange's first when it fell back); `None` when none did, so the
    /// common route carries no second allocation.
    pub(crate) fallbacks: Option<Rc<[(u32, u32)]>>,
}

#[derive(Clone, Debug)]
pub(crate) struct ExchangeState {
    pub(crate) node: NodeId,
    pub(crate) alternate: Option<u32>,
    pub(crate) routed: u64,
    /// Publishes that reached no queue, alternates included (RabbitMQ's
    /// `messages_unroutable_*`: only an empty final route counts).
    pub(crate) unroutable: u64,
    /// Publishes through this exchange (as the entry or on the way, by an
    /// exchange-to-exchange binding or as an alternate) that its own
    /// bindings could not route and that it handed to its alternate
    /// exchange, counted when the publish reached a queue (RabbitMQ counts
    /// these as routed).
    pub(crate) to_alternate: u64,
}

impl Engine {
    /// Create the state of exchange `x` (scenario order; called once per exchange by `Engine::new`).
    pub(crate) fn add_exchange(&mut self, x: &scenario::Exchange) {
        let alternate = x
            .alternate_exchange
            .as_ref()
            .map(|a| match self.target_of(a) {
                Target::Exchange(i) => i,
                _ => unreachable!("validated: alternate is an exchange"),
            });
        self.exchanges.push(ExchangeState {
            node: self.node_id(&x.id),
            alternate,
            routed: 0,
            unroutable: 0,
            to_alternate: 0,
        });
    }

    /// A publish with latency reaches its exchange (or queue) now, unless the
    /// message was discarded meanwhile (stale generation).
    pub(crate) fn on_arrive(&mut self, slot: u32, gen: u32, target: Target) {
        if self.msgs[slot as usize].gen == gen
            && self.msgs[slot as usize].state == MsgState::Transit
        {
            if self.broker_down && matches!(target, Target::Exchange(_) | Target::Queue(_)) {
                let at = self.target_node(target);
                self.refuse_while_down(slot, at);
                return;
            }
            self.broker_accept(slot, target);
        }
    }

    /// Route a message (in transit) to its target; `from` is the queue it was
    /// dead-lettered from, for trace placement of drops.
    pub(crate) fn route(&mut self, slot: u32, target: Target, from: Option<u32>) {
        let x = match target {
            Target::Queue(q) => {
                // RabbitMQ's default exchange: publishing to a queue means
                // publishing with the queue's name as the routing key (which a
                // later dead-lettering without `dead_letter_routing_key` reuses).
                let name = self.queues[q as usize].name_sym;
                self.msgs[slot as usize].routing_key = name;
                self.enqueue(slot, q);
                return;
            }
            Target::Exchange(x) => x,
            // Redis is another server: the AMQP broker's state never applies.
            Target::PubSub(x) => {
                self.pubsub_publish(slot, x);
                return;
            }
            Target::Stream(x) => {
                self.xadd(slot, x);
                return;
            }
            Target::Pulsar { t, p } => {
                self.pulsar_send(slot, t as u32, p);
                return;
            }
        };
        let (rk, hdr, id) = {
            let m = &self.msgs[slot as usize];
            (m.routing_key, m.headers, m.id)
        };
        let key = (x, rk, hdr);
        let (queues, fallbacks) = match self.route_cache.get(&key) {
            Some(hit) => (hit.queues.clone(), hit.fallbacks.clone()),
            None => {
                let (qs, fb) = self.resolve(x, rk, hdr);
                let queues: Rc<[u32]> = qs.into();
                let fallbacks: Option<Rc<[(u32, u32)]>> = (!fb.is_empty()).then(|| fb.into());
                // Every outcome is cached, unroutable ones too: bindings never
                // change while running, so resolving is a pure function of
                // the key, and a stream of unroutable publishes must not pay
                // for matching every binding again each time.
                if self.route_cache.len() >= ROUTE_CACHE_MAX {
                    self.route_cache.clear();
                }
                self.route_cache.insert(
                    key,
                    CachedRoute {
                        queues: queues.clone(),
                        fallbacks: fallbacks.clone(),
                    },
                );
                (queues, fallbacks)
            }
        };
        let xnode = self.exchanges[x as usize].node;
        // Every exchange on the way that fell back to its alternate
        // (`rabbit_exchange:route1`) records it where it happened, and counts
        // it once the publish reached a queue.
        let mut via = x;
        if let Some(fb) = &fallbacks {
            for &(e, ae) in fb.iter() {
                if e == x {
                    via = ae;
                }
                if !queues.is_empty() {
                    self.exchanges[e as usize].to_alternate += 1;
                }
                let alt_node = self.exchanges[ae as usize].node;
                let enode = self.exchanges[e as usize].node;
                self.trace.record(
                    self.now,
                    TraceKind::Unroutable {
                        alternate: Some(alt_node),
                    },
                    Some(id),
                    enode,
                );
            }
        }
        if queues.is_empty() {
            self.totals.unroutable += 1;
            self.exchanges[x as usize].unroutable += 1;
            if fallbacks.is_none() {
                self.trace.record(
                    self.now,
                    TraceKind::Unroutable { alternate: None },
                    Some(id),
                    xnode,
                );
            }
            self.drop_message(slot, Reason::Unroutable, xnode);
            return;
        }
        let vnode = self.exchanges[via as usize].node;
        let queues = match from {
            Some(_) => match self.without_cycles(slot, &queues) {
                Some(kept) => kept,
                None => {
                    // Every target would close a dead-letter cycle: RabbitMQ
                    // drops the message (the drop keeps the death's reason).
                    let reason = self.ext(slot).expect("dead-lettered").death_log[0].reason;
                    self.drop_message(slot, reason, vnode);
                    return;
                }
            },
            None => queues,
        };
        self.totals.routed += 1;
        self.exchanges[via as usize].routed += 1;
        self.trace.record(
            self.now,
            TraceKind::Routed {
                queues: queues.len() as u32,
            },
            Some(id),
            vnode,
        );
        // Copies first (each its own entity), so the original goes last and keeps its slot.
        let mut slots = Vec::with_capacity(queues.len());
        slots.push(slot);
        for _ in 1..queues.len() {
            let c = self.copy_message(slot);
            self.totals.copies += 1;
            let cid = self.msgs[c as usize].id;
            self.trace
                .record(self.now, TraceKind::Copied { copy: cid }, Some(id), vnode);
            slots.push(c);
        }
        for (s, &q) in slots.into_iter().zip(queues.iter()) {
            if s != slot && self.ledger.live() as usize > LIVE_MESSAGES_MAX {
                // The live-message bound holds for routing copies too.
                self.queue_drop(s, q, Reason::QueueFull);
                continue;
            }
            self.enqueue(s, q);
        }
    }

    /// Queues an exchange routes (routing key, headers) to, following
    /// exchange-to-exchange bindings and alternate exchanges. Returns the queue
    /// list (each queue once, in binding order) and the fallbacks: each
    /// exchange visited that handed the message to its alternate, with that
    /// alternate, in visiting order.
    pub(crate) fn resolve(&self, x: u32, rk: Sym, hdr: HdrId) -> (Vec<u32>, Vec<(u32, u32)>) {
        let mut out = Vec::new();
        let mut visited = Vec::new();
        let mut fallbacks = Vec::new();
        self.resolve_into(x, rk, hdr, &mut out, &mut visited, &mut fallbacks);
        (out, fallbacks)
    }

    /// Collect the queues exchange `x` routes to. As in RabbitMQ
    /// (`rabbit_exchange:route1`), every exchange visited whose own bindings
    /// match nothing hands the message to its alternate exchange; a matching
    /// exchange-to-exchange binding counts as a match; each fallback is
    /// noted in `fallbacks` as (exchange, its alternate). Each exchange is
    /// visited once per publish.
    pub(crate) fn resolve_into(
        &self,
        x: u32,
        rk: Sym,
        hdr: HdrId,
        out: &mut Vec<u32>,
        visited: &mut Vec<u32>,
        fallbacks: &mut Vec<(u32, u32)>,
    ) {
        if visited.contains(&x) {
            return;
        }
        visited.push(x);
        let cfg = &self.cfg.exchanges[x as usize];
        let key = &self.syms[rk as usize];
        let mut matched_any = false;
        for b in &cfg.bindings {
            let matched = match cfg.kind {
                ExchangeKind::Direct => b.key == *key,
                ExchangeKind::Fanout => true,
                ExchangeKind::Topic => topic_matches(&b.key, key),
                ExchangeKind::Headers => {
                    headers_match(b.x_match_mode(), &b.headers, &self.hdrs[hdr as usize])
                }
            };
            if !matched {
                continue;
            }
            matched_any = true;
            if let Some(q) = &b.queue {
                let qi = self.node_of(q).expect("validated").index;
                if !out.contains(&qi) {
                    out.push(qi);
                }
            } else if let Some(x2) = &b.exchange {
                let xi = self.node_of(x2).expect("validated").index;
                self.resolve_into(xi, rk, hdr, out, visited, fallbacks);
            }
        }
        if !matched_any {
            if let Some(ae) = self.exchanges[x as usize].alternate {
                fallbacks.push((x, ae));
                self.resolve_into(ae, rk, hdr, out, visited, fallbacks);
            }
        }
    }
}
