//! One row of the broker comparison: what a run measured, in the same
//! terms whatever the broker (`queuelab compare`, the app's Compare lanes).
//! The static half, what each broker promises, is `scenario::BrokerKind`.
//!
//!   totals.processed − dedup-skipped runs ────────► delivered (effects, repeats included)
//!   queue ledger + log ledger (groups, topics) ───► lost, duplicated, out of order
//!   end-to-end latency ───────────────────────────► p50, p99
//!   in flight (per reader) + group lag (Kafka) ───► backlog
//!   SQS requests ─────────────────────────────────► requests (SQS lanes only)
//!
//! The queue ledger (`model::effects`) counts business messages for AMQP
//! queues, SQS queues and Redis; Kafka records are outside it, so their
//! outcomes come from the log's ledger: lost = records acknowledged then
//! truncated, never written, or skipped by a group; duplicated = records
//! processed again plus records written twice; out of order = the group's
//! per-key count (same definition as the queue ledger's). Read-only.
//!
//! `in_flight_now` is the backlog's broker-neutral part and the totals'
//! "in flight" (`totals_now`, the time series): live messages, with a
//! stored Pulsar message or Redis stream entry counted once per reader that
//! owes it and its deliveries not again.

use super::core::Engine;
use serde::Serialize;

/// What one lane measured (counts since t = 0, levels now).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// Handler successes: effects done, repeats included.
    pub delivered: u64,
    /// Business messages (or records) whose effect never happened.
    pub lost: u64,
    /// Business messages (or records) whose effect happened more than once.
    pub duplicated: u64,
    /// Effects done for a key after a later message's effect for that key.
    pub out_of_order: u64,
    /// End-to-end latency percentiles [µs] (`None` before the first effect).
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// Messages waiting now: alive and not done (queued, in transit, held
    /// by consumers, in output buffers), every Kafka group's lag in records,
    /// and every Redis stream group's unread plus pending entries (a stream
    /// keeps entries after they are acknowledged: those are not counted).
    pub backlog: u64,
    /// Amazon SQS API requests (`None` without SQS queues).
    pub requests: Option<u64>,
}

impl Engine {
    /// The comparison row of this run, now.
    pub fn measured(&self) -> Measured {
        let l = self.ledger_report();
        let mut m = Measured {
            // Handler successes that did their effect: a run whose dedup
            // store had seen the message succeeded (`processed`) but did
            // nothing (README: Broker comparison).
            delivered: self.totals().processed - self.effects.dedup_skipped_runs,
            lost: l.lost,
            duplicated: l.duplicated,
            out_of_order: l.out_of_order,
            backlog: self.in_flight_now(),
            requests: self.sqs_report().map(|r| r.requests),
            ..Measured::default()
        };
        if let Some(st) = &l.streams {
            for t in st.topics.values() {
                m.lost += t.acked_lost + t.unacked_lost;
                m.duplicated += t.duplicates_appended;
            }
            for g in st.groups.values() {
                m.lost += g.skipped;
                m.duplicated += g.reprocessed;
                m.out_of_order += g.out_of_order;
            }
        }
        for g in 0..self.streams.groups.len() as u32 {
            m.backlog += self.group_lag(g);
        }
        let lat = self.latency_end_to_end();
        if lat.count > 0 {
            m.p50_us = Some(lat.p50);
            m.p99_us = Some(lat.p99);
        }
        m
    }

    /// Messages on their way now, counted once per reader that still owes
    /// them: the live messages of the conservation ledger (in transit,
    /// queued, unacked, waiting for a retry), except that a stored Redis
    /// stream entry or Pulsar message counts once for each group or
    /// subscription that has not acknowledged it (read or not), and its
    /// deliveries in consumers' hands do not count again. With a stored
    /// message read by n readers counted as n - 1 copies (as a fanout
    /// exchange's), published + copies = completed + dropped + in flight
    /// holds for logs as for queues (README, "run"; a Pulsar subscription
    /// that lets a message go unhandled — evicted, skipped by a cumulative
    /// ack, dead-lettered where nothing reads — counts it as dropped,
    /// `p_drop_share`, and a delivery in a consumer's hands whose position
    /// was acknowledged for it stays in flight until handled). Kafka records are
    /// outside it (group lag). The totals' `in_flight`, its time series and
    /// the comparison backlog.
    pub fn in_flight_now(&self) -> u64 {
        let mut live = self.ledger().live();
        // A Redis stream keeps its entries after they are acknowledged: count
        // per group what it has not read yet plus its pending entries (the
        // ones in a consumer's hands among them) instead of the stream's
        // live entries (settled ones are no live messages any more).
        let r = &self.redis;
        // A stream no group reads keeps its entries as a queue without a
        // consumer keeps messages: those stay counted once.
        let kept: u64 = r
            .streams
            .iter()
            .filter(|s| !s.groups.is_empty())
            .map(|s| s.entries.len() as u64 - s.settled)
            .sum();
        let mut waiting = 0u64;
        for g in &r.groups {
            let s = &r.streams[g.stream as usize];
            let unread = s.entries.len() - s.entries.partition_point(|e| e.0 <= g.last_delivered);
            let in_hand = g.consumers.iter().filter(|c| c.busy.is_some()).count();
            waiting += (unread + g.pel.len()) as u64;
            live = live.saturating_sub(in_hand as u64);
        }
        live = live.saturating_sub(kept) + waiting;
        // Pulsar stores a message once for all subscriptions: count each
        // subscription's unacknowledged messages instead of the stored ones
        // and the copies in consumers' hands.
        let p = &self.pulsar;
        // A topic no subscription reads (a dead-letter topic nobody
        // consumes, with retention) keeps its messages counted once.
        let stored: u64 = p
            .topics
            .iter()
            .filter(|t| !t.subs.is_empty())
            .flat_map(|t| &t.logs)
            .chain(p.subs.iter().map(|s| &s.retry_log))
            .map(|l| l.entries.len() as u64 - l.settled)
            .sum();
        let in_hand: u64 = p
            .subs
            .iter()
            .flat_map(|s| &s.consumers)
            .map(|c| c.queue.len() as u64 + c.busy.is_some() as u64)
            .sum();
        // A delivery whose position its subscription acknowledged for it
        // (evicted or covered by a cumulative ack while in a consumer's
        // hands, or acknowledged on receipt) is still handled: it carries
        // the subscription's share, in flight until then (`carried`).
        let carried: u64 = p.subs.iter().map(|s| s.carried.len() as u64).sum();
        // A subscription's backlog counts its topic's partitions; what it
        // still owes in its retry-letter log (`reconsumeLater`) is added.
        let backlog: u64 = p
            .subs
            .iter()
            .map(|s| {
                let retry = s
                    .cursors
                    .last()
                    .map_or(0, |cur| cur.unacked_below(s.retry_log.end()));
                s.backlog + retry
            })
            .sum();
        live.saturating_sub(stored + in_hand) + backlog + carried
    }
}
