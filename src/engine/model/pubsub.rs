//! Redis Pub/Sub: PUBLISH delivers a message to the subscribers connected at
//! that moment, fire-and-forget; nothing is kept for anyone.
//!
//!   Arrive ──pubsub_publish──► every matching subscription of every subscriber:
//!             connected ──► output buffer (bytes) ──one at a time──► handled
//!             away      ──► missed (traced, lost in the ledger)
//!   output buffer past the hard limit, or past the soft limit for longer
//!   than soft-seconds ──► disconnected: the buffer is lost
//!
//! Semantics, as Redis documents them ("Redis Pub/Sub", PUBLISH, PSUBSCRIBE,
//! `client-output-buffer-limit` in redis.conf) and implements them
//! (`pubsubPublishMessage`, `checkClientOutputBufferLimits`):
//! - PUBLISH goes to the channel's subscribers, then to every matching
//!   pattern's subscribers: a client subscribed to the channel and to a
//!   matching pattern (or to two matching patterns) gets the message once
//!   per matching subscription; PUBLISH returns that count (`receivers`).
//! - A message is buffered as the RESP2 push Redis writes: `*3 message
//!   <channel> <payload>` or `*4 pmessage <pattern> <channel> <payload>`;
//!   its byte length is what counts against the limits.
//! - Limits are checked when a message is appended (as Redis does when it
//!   adds a reply): `used >= hard` disconnects; `used >= soft` starts the
//!   soft clock, and a later append still at or over soft more than
//!   `soft_seconds` after it started disconnects; an append below soft
//!   stops the clock. Redis's `clientsCron` runs the same check on every
//!   client without an append; here it looks at a subscriber on the ticks of
//!   the default `hz 10` (multiples of 100 ms of simulated time) when reading
//!   has taken its buffer below the soft limit with the clock running, and
//!   at the first tick after the clock runs out. Reading alone stops nothing: a buffer
//!   drained below soft between two appends that fill it again, with no tick
//!   in between, keeps its clock. A limit of 0 is off.
//! - A subscriber handles one message at a time (`service`); the one it is
//!   handling has left the output buffer. Disconnected by the server, it
//!   finishes that one (it has it) and loses the buffer; disconnected by a
//!   command (its process or network failed) it loses both.
//!
//! Exports: `pubsub_publish` (routing). Reacts to `RedisEvent::{SubDone,
//! Reconnect}`. Guarantees (`check_pubsub`): a disconnected subscriber holds
//! nothing buffered; a connected one is below the hard limit in force at its
//! last append (a lowered limit applies from the next one) and is busy
//! whenever its buffer is not empty; `buffer_bytes` is the buffer's sum.

use super::glob::glob_match;
use super::redis::{draw_service_us, RedisEvent, VQ_SUB_BASE};
use crate::engine::core::{Engine, Event};
use crate::engine::message::MsgState;
use crate::engine::prng::Stream;
use crate::engine::time::SimTime;
use crate::engine::trace::{DisconnectCause, NodeId, Reason, TraceKind};
use crate::scenario::{OutputBufferLimit, RedisPubSub, RedisSubscriber};
use std::collections::VecDeque;

/// Redis's `serverCron` period at the default `hz 10`: `clientsCron` looks
/// at every client (a few per call, each about every 100 ms with a handful
/// of clients) [µs].
const CRON_TICK_US: u64 = 100_000;

/// The first cron tick strictly after `t_us`.
fn tick_after(t_us: u64) -> u64 {
    (t_us / CRON_TICK_US)
        .saturating_add(1)
        .saturating_mul(CRON_TICK_US)
}

/// "No pattern": a delivery for a channel subscription.
const CHANNEL_SUB: u16 = u16::MAX;

/// One Redis server's Pub/Sub.
#[derive(Clone, Debug)]
pub(crate) struct ServerState {
    pub(crate) node: NodeId,
    pub(crate) limit: OutputBufferLimit,
    /// PUBLISH calls.
    pub(crate) published: u64,
    /// Sum of PUBLISH's return values (deliveries to connected subscriptions).
    pub(crate) receivers: u64,
    /// PUBLISH calls that reached no one.
    pub(crate) no_receivers: u64,
}

impl ServerState {
    pub(crate) fn new(node: NodeId, cfg: &RedisPubSub) -> Self {
        ServerState {
            node,
            limit: cfg.output_buffer,
            published: 0,
            receivers: 0,
            no_receivers: 0,
        }
    }
}

/// One subscriber client.
#[derive(Clone, Debug)]
pub(crate) struct SubscriberState {
    pub(crate) node: NodeId,
    pub(crate) server: u32,
    pub(crate) connected: bool,
    /// Bumped at every connect and disconnect: stale reconnects are ignored.
    pub(crate) conn: u32,
    /// Bumped when the message being handled is lost: stale `SubDone`s are ignored.
    pub(crate) epoch: u32,
    /// The output buffer: (slot, bytes), oldest first.
    pub(crate) buffer: VecDeque<(u32, u32)>,
    pub(crate) buffer_bytes: u64,
    pub(crate) buffer_bytes_max: u64,
    /// The message being handled, and its service time.
    pub(crate) busy: Option<(u32, u64)>,
    /// When the buffer was first seen at or over the soft limit [µs].
    pub(crate) soft_since_us: Option<u64>,
    /// The cron tick already scheduled to look at this subscriber [µs], 0
    /// for none, and the soft-limit clock that look is for (see
    /// `sub_next`): a clock started again within the tick needs its own look.
    pub(crate) cron_look: (u64, u64),
    /// The hard limit at the last check (a new limit applies from the next
    /// append, as in Redis: `CONFIG SET` disconnects nobody by itself).
    pub(crate) hard_at_check: u64,
    pub(crate) stream: Stream,
    /// Messages handled.
    pub(crate) delivered: u64,
    /// Matching publishes while it was away.
    pub(crate) missed: u64,
    /// Messages lost at a disconnection (buffered, or being handled).
    pub(crate) lost: u64,
    pub(crate) disconnects: u64,
    /// Disconnections by the output-buffer limits.
    pub(crate) limit_disconnects: u64,
}

impl SubscriberState {
    pub(crate) fn new(node: NodeId, server: u32, cfg: &RedisSubscriber, seed: u64) -> Self {
        SubscriberState {
            node,
            server,
            connected: cfg.connected,
            conn: 0,
            epoch: 0,
            buffer: VecDeque::new(),
            buffer_bytes: 0,
            buffer_bytes_max: 0,
            busy: None,
            soft_since_us: None,
            cron_look: (0, 0),
            hard_at_check: 0,
            stream: Stream::new(seed, &format!("redis-subscriber:{}", cfg.id)),
            delivered: 0,
            missed: 0,
            lost: 0,
            disconnects: 0,
            limit_disconnects: 0,
        }
    }
}

/// Bytes of a RESP2 bulk string of `n` bytes: `$<n>\r\n<bytes>\r\n`.
fn bulk_len(n: usize) -> u64 {
    let digits = if n == 0 { 1 } else { n.ilog10() as u64 + 1 };
    1 + digits + 2 + n as u64 + 2
}

/// Bytes Redis buffers for one Pub/Sub push (RESP2): `message` or, for a
/// pattern subscription, `pmessage` with the pattern.
pub fn push_bytes(channel_len: usize, pattern_len: Option<usize>, payload_bytes: u32) -> u64 {
    let payload = bulk_len(payload_bytes as usize) + bulk_len(channel_len);
    match pattern_len {
        None => 4 + bulk_len(7) + payload,
        Some(p) => 4 + bulk_len(8) + bulk_len(p) + payload,
    }
}

impl Engine {
    /// PUBLISH: the message in `slot` (in transit) to the channel named by
    /// its routing key on server `x`.
    pub(crate) fn pubsub_publish(&mut self, slot: u32, x: u32) {
        let (rk, id, payload) = {
            let m = &self.msgs[slot as usize];
            (m.routing_key, m.id, self.payload_bytes(slot))
        };
        // Matching subscriptions, channel ones first, as Redis delivers them.
        let mut hits = std::mem::take(&mut self.redis.scratch);
        hits.clear();
        {
            let channel = self.syms[rk as usize].as_bytes();
            let cfg = &self.cfg.redis_subscribers;
            for (s, sub) in self.redis.subs.iter().enumerate() {
                if sub.server == x && cfg[s].channels.iter().any(|c| c.as_bytes() == channel) {
                    hits.push((s as u32, CHANNEL_SUB));
                }
            }
            for (s, sub) in self.redis.subs.iter().enumerate() {
                if sub.server != x {
                    continue;
                }
                for (k, p) in cfg[s].patterns.iter().enumerate() {
                    if glob_match(p.as_bytes(), channel) {
                        hits.push((s as u32, k as u16));
                    }
                }
            }
        }
        let live: Vec<(u32, u16)> = hits
            .iter()
            .copied()
            .filter(|h| self.redis.subs[h.0 as usize].connected)
            .collect();
        let receivers = live.len() as u32;
        let missed = hits.len() as u32 - receivers;
        let xs = &mut self.redis.servers[x as usize];
        xs.published += 1;
        xs.receivers += receivers as u64;
        if receivers == 0 {
            xs.no_receivers += 1;
        }
        let xnode = xs.node;
        self.trace.record(
            self.now,
            TraceKind::PubsubPublished { receivers, missed },
            Some(id),
            xnode,
        );
        // Missed: expected in the ledger, lost there (reason: away).
        for &(s, _) in hits.iter() {
            if self.redis.subs[s as usize].connected {
                continue;
            }
            self.redis.subs[s as usize].missed += 1;
            self.fx_expect(slot, VQ_SUB_BASE + s as u16);
            let node = self.redis.subs[s as usize].node;
            self.trace
                .record(self.now, TraceKind::PubsubMissed, Some(id), node);
        }
        if missed > 0 {
            self.fx_note_reason(slot, Reason::SubscriberDisconnected);
        }
        if receivers == 0 {
            let reason = if missed > 0 {
                Reason::SubscriberDisconnected
            } else {
                Reason::NoSubscribers
            };
            self.drop_message(slot, reason, xnode);
            self.redis.scratch = hits;
            return;
        }
        // Copies first, so no delivery (which may disconnect and drop) runs
        // before every copy exists.
        let mut slots = Vec::with_capacity(receivers as usize);
        slots.push(slot);
        for _ in 1..receivers {
            let c = self.copy_message(slot);
            self.totals.copies += 1;
            let cid = self.msgs[c as usize].id;
            self.trace
                .record(self.now, TraceKind::Copied { copy: cid }, Some(id), xnode);
            slots.push(c);
        }
        let channel_len = self.syms[rk as usize].len();
        for (k, &(s, pat)) in live.iter().enumerate() {
            if !self.redis.subs[s as usize].connected {
                // Disconnected by an earlier delivery of this same publish
                // (Redis still counts it as a receiver): its copy is lost
                // with the rest of its buffer.
                self.fx_expect(slots[k], VQ_SUB_BASE + s as u16);
                let node = self.redis.subs[s as usize].node;
                self.redis.subs[s as usize].lost += 1;
                self.drop_message(slots[k], Reason::OutputBufferLimit, node);
                continue;
            }
            let pattern_len = (pat != CHANNEL_SUB)
                .then(|| self.cfg.redis_subscribers[s as usize].patterns[pat as usize].len());
            let bytes = push_bytes(channel_len, pattern_len, payload);
            self.buffer_push(s, slots[k], bytes, pat != CHANNEL_SUB);
        }
        self.redis.scratch = hits;
    }

    /// Append to subscriber `s`'s output buffer, then check its limits.
    fn buffer_push(&mut self, s: u32, slot: u32, bytes: u64, pattern: bool) {
        self.fx_expect(slot, VQ_SUB_BASE + s as u16);
        self.set_state(slot, MsgState::Queued);
        let sub = &mut self.redis.subs[s as usize];
        sub.buffer.push_back((slot, bytes as u32));
        sub.buffer_bytes += bytes;
        sub.buffer_bytes_max = sub.buffer_bytes_max.max(sub.buffer_bytes);
        let (node, used) = (sub.node, sub.buffer_bytes);
        let id = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::PubsubBuffered {
                pattern,
                bytes: bytes as u32,
                buffer_bytes: used,
            },
            Some(id),
            node,
        );
        if let Some(cause) = self.output_limit_reached(s) {
            self.disconnect_subscriber(s, cause);
            return;
        }
        self.sub_next(s);
    }

    /// Redis's `checkClientOutputBufferLimits` for the pubsub class, as
    /// `closeClientOnOutputBufferLimitReached` calls it: never for an empty
    /// buffer, so emptying the buffer does not stop the soft-limit clock
    /// (only a check that finds it non-empty and under the soft limit does;
    /// redis/redis#3893).
    fn output_limit_reached(&mut self, s: u32) -> Option<DisconnectCause> {
        let now = self.now.0;
        let cfg = &self.cfg.redis_subscribers[s as usize];
        // Unsubscribed from everything, the client is no longer of the
        // pubsub class (`unmarkClientAsPubSub`): the normal class's default
        // limits, none, apply (`getClientType`).
        let pubsub_class = !cfg.channels.is_empty() || !cfg.patterns.is_empty();
        let sub = &mut self.redis.subs[s as usize];
        if !pubsub_class {
            sub.soft_since_us = None;
            sub.hard_at_check = 0;
            return None;
        }
        let limit = self.redis.servers[sub.server as usize].limit;
        let used = sub.buffer_bytes;
        sub.hard_at_check = limit.hard_bytes;
        if used == 0 {
            return None;
        }
        if limit.hard_bytes != 0 && used >= limit.hard_bytes {
            return Some(DisconnectCause::HardLimit);
        }
        if limit.soft_bytes != 0 && used >= limit.soft_bytes {
            match sub.soft_since_us {
                None => {
                    sub.soft_since_us = Some(now);
                    // Redis's `clientsCron` runs the same check on every
                    // client without an append (`closeClientOnOutputBufferLimitReached`),
                    // so a subscriber that stays over the soft limit is closed
                    // even if nothing more is published.
                    self.schedule_output_check(s, now);
                }
                Some(t) if now - t > limit.soft_seconds.us() => {
                    return Some(DisconnectCause::SoftLimit)
                }
                Some(_) => {}
            }
        } else {
            sub.soft_since_us = None;
        }
        None
    }

    /// `CONFIG SET client-output-buffer-limit` on server `x`: Redis's
    /// `clientsCron` checks every client against the new limits within a
    /// tick (100 ms), traffic or not (`closeClientOnOutputBufferLimitReached`
    /// with the check of #8833), so a subscriber already over a lowered hard
    /// limit is closed and one over a lowered soft limit starts its clock;
    /// here at the command's instant. A clock already running is looked at
    /// again when the new `soft_seconds` runs out (a lowered one: sooner
    /// than the check already scheduled, which then finds it closed).
    pub(crate) fn recheck_output_limits(&mut self, x: u32) {
        for s in 0..self.redis.subs.len() as u32 {
            let sub = &self.redis.subs[s as usize];
            if sub.server != x || !sub.connected {
                continue;
            }
            let running = sub.soft_since_us;
            if let Some(cause) = self.output_limit_reached(s) {
                self.disconnect_subscriber(s, cause);
                continue;
            }
            if let Some(since_us) = running {
                if self.redis.subs[s as usize].soft_since_us == Some(since_us) {
                    self.schedule_output_check(s, since_us);
                }
            }
        }
    }

    /// The cron's next look at subscriber `s`, over the soft limit since
    /// `since_us`: the first tick past `soft_seconds` (never now).
    fn schedule_output_check(&mut self, s: u32, since_us: u64) {
        let sub = &self.redis.subs[s as usize];
        let soft_us = self.redis.servers[sub.server as usize]
            .limit
            .soft_seconds
            .us();
        let at = tick_after(since_us.saturating_add(soft_us).max(self.now.0));
        let conn = sub.conn;
        self.agenda.schedule(
            SimTime(at),
            Event::Redis(RedisEvent::OutputCheck { s, conn, since_us }),
        );
    }

    /// `RedisEvent::OutputCheck`: the cron's look at a connected subscriber
    /// whose buffer has been over the soft limit since `since_us`.
    pub(crate) fn on_output_check(&mut self, s: u32, conn: u32, since_us: u64) {
        let sub = &self.redis.subs[s as usize];
        if sub.conn != conn || !sub.connected || sub.soft_since_us != Some(since_us) {
            // Closed, or the buffer went below the soft limit since (a later
            // period over it has its own check).
            return;
        }
        if self.redis.subs[s as usize].buffer_bytes == 0 {
            // Emptied: the cron skips it, the clock runs on; the next
            // append checks it.
            return;
        }
        if let Some(cause) = self.output_limit_reached(s) {
            self.disconnect_subscriber(s, cause);
            return;
        }
        // Still over, but not for long enough. At a cron tick before the
        // clock runs out the look at its end is already scheduled; at that
        // look, `soft_seconds` was raised by a command since: look again
        // when it will have run out.
        let sub = &self.redis.subs[s as usize];
        let soft_us = self.redis.servers[sub.server as usize]
            .limit
            .soft_seconds
            .us();
        if sub.soft_since_us == Some(since_us) && self.now.0 > since_us.saturating_add(soft_us) {
            self.schedule_output_check(s, since_us);
        }
    }

    /// Start handling the next buffered message, if idle and connected.
    fn sub_next(&mut self, s: u32) {
        let sub = &mut self.redis.subs[s as usize];
        if !sub.connected || sub.busy.is_some() {
            return;
        }
        let Some((slot, bytes)) = sub.buffer.pop_front() else {
            return;
        };
        sub.buffer_bytes -= bytes as u64;
        // Below the soft limit again but not empty, with the clock running:
        // the next cron tick looks (and stops the clock if it is still so
        // then). Emptied, no check looks at it, so the clock runs on.
        let soft = self.redis.servers[sub.server as usize].limit.soft_bytes;
        if let Some(since_us) = sub.soft_since_us {
            if sub.buffer_bytes > 0 && sub.buffer_bytes < soft {
                let tick_us = tick_after(self.now.0);
                // One look per tick and clock: a look scheduled for an
                // earlier clock in this tick is stale when it comes (its
                // clock stopped), and Redis's cron looks at every client
                // every tick, so this clock gets a look of its own.
                if sub.cron_look != (tick_us, since_us) {
                    sub.cron_look = (tick_us, since_us);
                    let conn = sub.conn;
                    self.agenda.schedule(
                        SimTime(tick_us),
                        Event::Redis(RedisEvent::OutputCheck { s, conn, since_us }),
                    );
                }
            }
        }
        let service_us = draw_service_us(
            &self.cfg.redis_subscribers[s as usize].service,
            &mut sub.stream,
        );
        sub.busy = Some((slot, service_us));
        let epoch = sub.epoch;
        self.set_state(slot, MsgState::Unacked);
        self.agenda.schedule(
            self.now.after(service_us),
            Event::Redis(RedisEvent::SubDone { s, epoch }),
        );
    }

    pub(crate) fn on_sub_done(&mut self, s: u32, epoch: u32) {
        let sub = &mut self.redis.subs[s as usize];
        if sub.epoch != epoch {
            return;
        }
        let Some((slot, service_us)) = sub.busy.take() else {
            return;
        };
        sub.delivered += 1;
        let node = sub.node;
        self.fx_effect(slot, (VQ_SUB_BASE + s as u16) as u32);
        let id = self.msgs[slot as usize].id;
        self.trace.record(
            self.now,
            TraceKind::Processed {
                instance: 0,
                service_us,
            },
            Some(id),
            node,
        );
        self.totals.processed += 1;
        self.complete(slot);
        self.sub_next(s);
    }

    /// The server closes subscriber `s`'s connection (output-buffer limit):
    /// the buffer is lost; the message being handled is finished.
    fn disconnect_subscriber(&mut self, s: u32, cause: DisconnectCause) {
        let reason = match cause {
            DisconnectCause::Command => Reason::SubscriberDisconnected,
            _ => Reason::OutputBufferLimit,
        };
        let sub = &mut self.redis.subs[s as usize];
        if !sub.connected {
            // Already closed by the server, still finishing the message in
            // hand: a crash now loses that one too.
            if cause == DisconnectCause::Command {
                if let Some((slot, _)) = sub.busy.take() {
                    sub.epoch = sub.epoch.wrapping_add(1);
                    sub.lost += 1;
                    let node = sub.node;
                    self.drop_message(slot, reason, node);
                }
            }
            return;
        }
        sub.connected = false;
        sub.conn = sub.conn.wrapping_add(1);
        sub.disconnects += 1;
        if cause != DisconnectCause::Command {
            sub.limit_disconnects += 1;
        }
        sub.soft_since_us = None;
        let used = sub.buffer_bytes;
        sub.buffer_bytes = 0;
        let buffered = std::mem::take(&mut sub.buffer);
        let busy = if cause == DisconnectCause::Command {
            sub.epoch = sub.epoch.wrapping_add(1);
            sub.busy.take()
        } else {
            None
        };
        let lost = buffered.len() as u32 + busy.is_some() as u32;
        sub.lost += lost as u64;
        let (node, conn) = (sub.node, sub.conn);
        self.trace.record(
            self.now,
            TraceKind::SubscriberDisconnected {
                cause,
                lost,
                buffer_bytes: used,
            },
            None,
            node,
        );
        for (slot, _) in busy.into_iter().map(|(s, _)| (s, 0)).chain(buffered) {
            self.drop_message(slot, reason, node);
        }
        if cause != DisconnectCause::Command {
            if let Some(d) = self.cfg.redis_subscribers[s as usize].reconnect_after {
                self.agenda.schedule(
                    self.now.after(d.us()),
                    Event::Redis(RedisEvent::Reconnect { s, conn }),
                );
            }
        }
    }

    /// `DisconnectSubscriber`.
    pub(crate) fn disconnect_by_command(&mut self, s: u32, reconnect_after_us: Option<u64>) {
        self.disconnect_subscriber(s, DisconnectCause::Command);
        if let Some(d) = reconnect_after_us {
            let conn = self.redis.subs[s as usize].conn;
            self.agenda.schedule(
                self.now.after(d),
                Event::Redis(RedisEvent::Reconnect { s, conn }),
            );
        }
    }

    /// The subscriber connects and subscribes to its channels and patterns again.
    pub(crate) fn connect_subscriber(&mut self, s: u32) {
        let sub = &mut self.redis.subs[s as usize];
        if sub.connected {
            return;
        }
        sub.connected = true;
        sub.conn = sub.conn.wrapping_add(1);
        let node = sub.node;
        self.trace
            .record(self.now, TraceKind::SubscriberReconnected, None, node);
    }

    /// `Subscribe` / `Unsubscribe` (checked: the change is possible).
    pub(crate) fn set_subscription(
        &mut self,
        s: u32,
        channel: Option<&str>,
        pattern: Option<&str>,
        on: bool,
    ) {
        let cfg = &mut self.cfg.redis_subscribers[s as usize];
        let (list, name) = match (channel, pattern) {
            (Some(c), _) => (&mut cfg.channels, c),
            (_, Some(p)) => (&mut cfg.patterns, p),
            _ => return,
        };
        if on {
            list.push(name.to_string());
        } else {
            list.retain(|x| x != name);
            if cfg.channels.is_empty() && cfg.patterns.is_empty() {
                // A normal client now: Redis's next `clientsCron` look
                // (within a tick, 100 ms) finds no limits and clears the
                // soft clock (`checkClientOutputBufferLimits`); here at once.
                let sub = &mut self.redis.subs[s as usize];
                sub.soft_since_us = None;
                sub.hard_at_check = 0;
            }
        }
    }

    pub(crate) fn check_pubsub(&self) -> Result<(u64, u64), String> {
        let (mut queued, mut unacked) = (0, 0);
        for (s, sub) in self.redis.subs.iter().enumerate() {
            let id = &self.cfg.redis_subscribers[s].id;
            let sum: u64 = sub.buffer.iter().map(|&(_, b)| b as u64).sum();
            if sum != sub.buffer_bytes {
                return Err(format!(
                    "subscriber {id}: buffer_bytes {} but its messages add up to {sum}",
                    sub.buffer_bytes
                ));
            }
            if !sub.connected && !sub.buffer.is_empty() {
                return Err(format!("subscriber {id} is away with a buffer"));
            }
            let hard = sub.hard_at_check;
            if sub.connected && hard != 0 && sub.buffer_bytes >= hard {
                return Err(format!("subscriber {id} is connected past its hard limit"));
            }
            if sub.connected && sub.busy.is_none() && !sub.buffer.is_empty() {
                return Err(format!("subscriber {id} is idle with a buffer"));
            }
            for &(slot, _) in &sub.buffer {
                self.expect_state(slot, MsgState::Queued, id)?;
            }
            if let Some((slot, _)) = sub.busy {
                self.expect_state(slot, MsgState::Unacked, id)?;
                unacked += 1;
            }
            queued += sub.buffer.len() as u64;
        }
        Ok((queued, unacked))
    }
}
