//! Redis: the state both Redis rooms share, their events, their commands and
//! their invariants. Pub/Sub lives in `pubsub.rs`, Streams in `xstream.rs`,
//! glob matching in `glob.rs`.
//!
//!   producer ──Arrive──► redis_pubsub ──PUBLISH──► subscribers' output buffers ──► handled
//!   producer ──Arrive──► redis stream ──XADD (MAXLEN)──► groups: XREADGROUP ► PEL ► XACK
//!                                                        └── XAUTOCLAIM (min-idle-time)
//!
//! What is shared with the AMQP models, and what is not: Redis messages are
//! arena messages (so the conservation ledger, latencies and the guarantee
//! ledger count them) and publishers are ordinary producers (the routing key
//! is the channel name), but Redis nodes have their own kinds and their own
//! state here: a subscriber is not a queue (it has no acks, its output buffer
//! is limited in bytes, and while it is away nothing is kept for it) and a
//! stream is not a Kafka topic (entries are read through a group's
//! last-delivered id and pending entries list, not committed offsets).
//!
//! Ledger: a subscriber and a stream group are "virtual queues" in the
//! guarantee ledger (`VQ_SUB_BASE + s`, `VQ_GROUP_BASE + g`): a message that
//! matches a subscription is expected to have one effect there, even when
//! the subscriber is away (then it is lost, reason `subscriber_disconnected`).
//!
//! Reacts to: `Event::Redis(RedisEvent)`; commands `DisconnectSubscriber`,
//! `ReconnectSubscriber`, `Subscribe`, `Unsubscribe`, `SetOutputBufferLimit`,
//! `SetMaxlen`, `SetMinIdleTime`, `CrashStreamConsumer`.

use super::pubsub::{ServerState, SubscriberState};
use super::xstream::{StreamState, XGroupState};
use crate::engine::command::CommandError;
use crate::engine::core::{Engine, NodeKind, DELAY_US_MAX};
use crate::engine::message::MsgState;
use crate::engine::prng::Stream;
use crate::engine::time::delay_us_from_f64;
use crate::engine::trace::Reason;
use crate::scenario::{self, Command, Service};

/// Ledger key of subscriber `s` (a virtual queue index, above every real one).
pub(crate) const VQ_SUB_BASE: u16 = 0xA000;
/// Ledger key of stream group `g`.
pub(crate) const VQ_GROUP_BASE: u16 = 0xB000;
const _: () = assert!(scenario::NODES_MAX < (VQ_GROUP_BASE - VQ_SUB_BASE) as usize);
const _: () = assert!((VQ_SUB_BASE as usize) > scenario::NODES_MAX);

/// All Redis state on the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Redis {
    pub(crate) servers: Vec<ServerState>,
    pub(crate) subs: Vec<SubscriberState>,
    pub(crate) streams: Vec<StreamState>,
    pub(crate) groups: Vec<XGroupState>,
    /// Scratch list of (subscriber, pattern index or `u16::MAX`) for one
    /// PUBLISH, kept to avoid an allocation per message.
    pub(crate) scratch: Vec<(u32, u16)>,
    /// As `Pulsar::reader_copies` and `copy_entities`: copies of stream
    /// entries per extra group at XADD, and the delivery entities made.
    pub(crate) reader_copies: u64,
    pub(crate) copy_entities: u64,
}

/// Scheduled Redis work.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RedisEvent {
    /// Subscriber `s` finished handling a message.
    SubDone { s: u32, epoch: u32 },
    /// Subscriber `s` reconnects (stale unless `conn` is still current).
    Reconnect { s: u32, conn: u32 },
    /// Redis's `clientsCron` checks subscriber `s`'s output buffer limits
    /// without an append (stale unless `conn` is still current and the
    /// soft-limit clock still started at `since_us`).
    OutputCheck { s: u32, conn: u32, since_us: u64 },
    /// Consumer `c` of group `g` finished handling an entry.
    XDone { g: u32, c: u32, epoch: u32 },
    /// Consumer `c` of group `g` runs XAUTOCLAIM.
    ClaimTick { g: u32, c: u32, epoch: u32 },
    /// A crashed consumer comes back.
    XRestart { g: u32, c: u32, epoch: u32 },
}

/// One service time from `service`, at least 1 µs (the clock must move).
pub(crate) fn draw_service_us(service: &Service, stream: &mut Stream) -> u64 {
    let us = match service {
        Service::Constant(d) => d.us() as f64,
        Service::Uniform([a, b]) => {
            let (lo, hi) = (a.us().min(b.us()) as f64, a.us().max(b.us()) as f64);
            lo + (hi - lo) * stream.unit()
        }
        Service::Exponential(mean) => stream.exponential(mean.us() as f64),
        Service::LogNormal { median, sigma } => stream.log_normal(median.us() as f64, *sigma),
    };
    delay_us_from_f64(us, DELAY_US_MAX).max(1)
}

impl Engine {
    /// Every Redis node's state, in scenario order (called once by `build`).
    pub(crate) fn build_redis(&mut self) {
        let cfg = self.cfg.clone();
        for x in &cfg.redis_pubsub {
            self.redis
                .servers
                .push(ServerState::new(self.node_id(&x.id), x));
        }
        for s in &cfg.redis_subscribers {
            let server = self.node_of(&s.server).expect("validated").index;
            let st = SubscriberState::new(self.node_id(&s.id), server, s, self.seed);
            self.redis.subs.push(st);
        }
        for st in &cfg.redis_streams {
            self.redis
                .streams
                .push(StreamState::new(self.node_id(&st.id), st));
        }
        for (g, gc) in cfg.redis_groups.iter().enumerate() {
            let stream = self.node_of(&gc.stream).expect("validated").index;
            self.redis.streams[stream as usize].groups.push(g as u32);
            let gs = XGroupState::new(self.node_id(&gc.id), stream, gc, self.seed);
            self.redis.groups.push(gs);
            for c in 0..gc.consumers {
                self.schedule_claim(g as u32, c);
            }
        }
    }

    pub(crate) fn on_redis_event(&mut self, ev: RedisEvent) {
        match ev {
            RedisEvent::SubDone { s, epoch } => self.on_sub_done(s, epoch),
            RedisEvent::Reconnect { s, conn } => {
                if self.redis.subs[s as usize].conn == conn {
                    self.connect_subscriber(s);
                }
            }
            RedisEvent::OutputCheck { s, conn, since_us } => {
                self.on_output_check(s, conn, since_us)
            }
            RedisEvent::XDone { g, c, epoch } => self.on_x_done(g, c, epoch),
            RedisEvent::ClaimTick { g, c, epoch } => self.on_claim_tick(g, c, epoch),
            RedisEvent::XRestart { g, c, epoch } => self.on_x_restart(g, c, epoch),
        }
    }

    /// Message `slot` is expected to have one effect at virtual queue `vq`
    /// (the guarantee ledger; see the module doc).
    pub(crate) fn fx_expect(&mut self, slot: u32, vq: u16) {
        self.fx_expect_at(slot, vq);
    }

    /// The guarantee ledger's reason for `slot`'s business message, should
    /// it end up lost, without discarding anything.
    pub(crate) fn fx_note_reason(&mut self, slot: u32, reason: Reason) {
        self.fx_discarded(slot, reason);
    }

    /// A message done with for good without being handled or dropped: a
    /// trimmed stream entry every group had read (its deliveries carry the
    /// business message on). Counted as completed in the conservation
    /// ledger, not in `totals.completed` (nothing was processed).
    pub(crate) fn retire(&mut self, slot: u32) {
        self.ledger.completed += 1;
        self.release(slot);
    }

    /// Checks on a Redis command; `Ok(false)` when it is not one.
    pub(crate) fn check_redis_command(&self, cmd: &Command) -> Result<bool, CommandError> {
        let err = |s: String| Err(CommandError(s));
        match cmd {
            Command::SetConfirms { producer, .. } | Command::SetLinkFaults { producer, .. } => {
                let p = self.find(producer, NodeKind::Producer)?;
                if self.cfg.is_redis_target(&self.cfg.producers[p as usize].to) {
                    return err(format!(
                        "{producer} publishes to Redis: confirms and link faults are for queue producers"
                    ));
                }
                return Ok(false);
            }
            Command::DisconnectSubscriber {
                subscriber,
                reconnect_after,
            } => {
                self.find(subscriber, NodeKind::RedisSubscriber)?;
                if let Some(Err(e)) = reconnect_after.map(|d| scenario::check_redis_delay(d, false))
                {
                    return err(format!("reconnect_after: {e}"));
                }
            }
            Command::ReconnectSubscriber { subscriber } => {
                self.find(subscriber, NodeKind::RedisSubscriber)?;
            }
            Command::Subscribe {
                subscriber,
                channel,
                pattern,
            }
            | Command::Unsubscribe {
                subscriber,
                channel,
                pattern,
            } => {
                let s = self.find(subscriber, NodeKind::RedisSubscriber)?;
                scenario::check_subscription(channel.as_deref(), pattern.as_deref())
                    .map_err(|(f, e)| CommandError(format!("{f}: {e}")))?;
                let cfg = &self.cfg.redis_subscribers[s as usize];
                let (list, name, what) = match (channel, pattern) {
                    (Some(c), _) => (&cfg.channels, c, "channel"),
                    (_, Some(p)) => (&cfg.patterns, p, "pattern"),
                    _ => unreachable!("checked: exactly one"),
                };
                let has = list.contains(name);
                if matches!(cmd, Command::Subscribe { .. }) {
                    if has {
                        return err(format!(
                            "{subscriber} is already subscribed to {what} {name:?}"
                        ));
                    }
                    if cfg.channels.len() + cfg.patterns.len() >= scenario::SUBSCRIPTIONS_MAX {
                        return err(format!(
                            "{subscriber} has {} subscriptions already (at most)",
                            scenario::SUBSCRIPTIONS_MAX
                        ));
                    }
                } else if !has {
                    return err(format!("{subscriber} is not subscribed to {what} {name:?}"));
                }
            }
            Command::SetOutputBufferLimit { server, limit } => {
                self.find(server, NodeKind::RedisPubSub)?;
                scenario::check_output_buffer(limit)
                    .map_err(|(f, e)| CommandError(format!("limit.{f}: {e}")))?;
            }
            Command::SetMaxlen { stream, maxlen } => {
                self.find(stream, NodeKind::RedisStream)?;
                if let Some(Err(e)) = maxlen.map(scenario::check_maxlen) {
                    return err(format!("maxlen: {e}"));
                }
            }
            Command::SetMinIdleTime {
                group,
                min_idle_time,
            } => {
                self.find(group, NodeKind::RedisGroup)?;
                if let Some(Err(e)) = min_idle_time.map(|d| scenario::check_redis_delay(d, true)) {
                    return err(format!("min_idle_time: {e}"));
                }
            }
            Command::CrashStreamConsumer {
                group,
                consumer,
                restart_after,
                ..
            } => {
                let g = self.find(group, NodeKind::RedisGroup)?;
                let n = self.redis.groups[g as usize].consumers.len() as u32;
                if *consumer >= n {
                    return err(format!(
                        "consumer: {group} has consumers 0 to {} (c0…c{}), not {consumer}",
                        n - 1,
                        n - 1
                    ));
                }
                if let Some(Err(e)) = restart_after.map(|d| scenario::check_redis_delay(d, false)) {
                    return err(format!("restart_after: {e}"));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Apply a checked Redis command; false when it is not one.
    pub(crate) fn apply_redis_command(&mut self, cmd: &Command) -> bool {
        match cmd {
            Command::DisconnectSubscriber {
                subscriber,
                reconnect_after,
            } => {
                let s = self.node_of(subscriber).expect("checked").index;
                self.disconnect_by_command(s, reconnect_after.map(|d| d.us()));
            }
            Command::ReconnectSubscriber { subscriber } => {
                let s = self.node_of(subscriber).expect("checked").index;
                self.connect_subscriber(s);
            }
            Command::Subscribe {
                subscriber,
                channel,
                pattern,
            }
            | Command::Unsubscribe {
                subscriber,
                channel,
                pattern,
            } => {
                let s = self.node_of(subscriber).expect("checked").index;
                let on = matches!(cmd, Command::Subscribe { .. });
                self.set_subscription(s, channel.as_deref(), pattern.as_deref(), on);
            }
            Command::SetOutputBufferLimit { server, limit } => {
                let x = self.node_of(server).expect("checked").index as usize;
                self.cfg.redis_pubsub[x].output_buffer = *limit;
                self.redis.servers[x].limit = *limit;
                self.recheck_output_limits(x as u32);
            }
            Command::SetMaxlen { stream, maxlen } => {
                let st = self.node_of(stream).expect("checked").index as usize;
                self.cfg.redis_streams[st].maxlen = *maxlen;
                self.redis.streams[st].maxlen = *maxlen;
            }
            Command::SetMinIdleTime {
                group,
                min_idle_time,
            } => {
                let g = self.node_of(group).expect("checked").index as usize;
                self.cfg.redis_groups[g].min_idle_time = *min_idle_time;
            }
            Command::CrashStreamConsumer {
                group,
                consumer,
                after_effect,
                restart_after,
            } => {
                let g = self.node_of(group).expect("checked").index;
                self.arm_or_crash_x_consumer(
                    g,
                    *consumer,
                    *after_effect,
                    restart_after.map(|d| d.us()),
                );
            }
            _ => return false,
        }
        true
    }

    /// Redis's invariants; returns the messages it holds as (queued, unacked)
    /// for the conservation check.
    pub(crate) fn check_redis(&self) -> Result<(u64, u64), String> {
        let (q1, u1) = self.check_pubsub()?;
        let (q2, u2) = self.check_xstreams()?;
        Ok((q1 + q2, u1 + u2))
    }

    /// `slot` is live in state `want` (for the models' checks).
    pub(crate) fn expect_state(&self, slot: u32, want: MsgState, what: &str) -> Result<(), String> {
        match self.msgs.get(slot as usize) {
            Some(m) if m.state == want => Ok(()),
            Some(m) => Err(format!(
                "{what}: slot {slot} is {:?}, not {want:?}",
                m.state
            )),
            None => Err(format!("{what}: slot {slot} does not exist")),
        }
    }
}
