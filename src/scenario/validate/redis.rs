//! Validation of the Redis half: Pub/Sub servers and subscribers, streams and
//! their groups, producers publishing to them, and the Redis commands in a
//! schedule (split from `validate.rs`; the same `V` collector and path-named
//! errors).

use super::*;

/// The Redis node ids with their kinds and paths, for the shared id table.
pub(super) fn ids(s: &Scenario) -> Vec<(&str, Kind, String)> {
    let mut all = Vec::new();
    all.extend(
        s.redis_pubsub
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), Kind::PubSub, format!("redis_pubsub[{i}]"))),
    );
    all.extend(s.redis_subscribers.iter().enumerate().map(|(i, x)| {
        (
            x.id.as_str(),
            Kind::Subscriber,
            format!("redis_subscribers[{i}]"),
        )
    }));
    all.extend(
        s.redis_streams
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), Kind::Stream, format!("redis_streams[{i}]"))),
    );
    all.extend(s.redis_groups.iter().enumerate().map(|(i, x)| {
        (
            x.id.as_str(),
            Kind::RedisGroup,
            format!("redis_groups[{i}]"),
        )
    }));
    all
}

/// Producer fields a Redis publisher cannot use.
pub(super) fn check_redis_producer(v: &mut V, at: &str, p: &Producer, to_redis: bool) {
    if !to_redis {
        return;
    }
    let unsupported = [
        ("confirms", p.confirms.is_some()),
        ("faults", p.faults.is_some()),
        ("ttl", p.ttl.is_some()),
    ];
    for (field, set) in unsupported {
        if set {
            v.err(
                format!("{at}.{field}"),
                "does not apply to a producer that publishes to Redis",
            );
        }
    }
}

/// Servers, subscribers, streams and groups: references and limits.
pub(super) fn check_redis(v: &mut V, s: &Scenario, kind_of: &dyn Fn(&str) -> Option<Kind>) {
    for (i, x) in s.redis_pubsub.iter().enumerate() {
        if let Err((f, e)) = check_output_buffer(&x.output_buffer) {
            v.err(format!("redis_pubsub[{i}].output_buffer.{f}"), e);
        }
    }
    for (i, sub) in s.redis_subscribers.iter().enumerate() {
        let at = format!("redis_subscribers[{i}]");
        if kind_of(&sub.server) != Some(Kind::PubSub) {
            v.err(
                format!("{at}.server"),
                format!("no redis_pubsub server named {:?}", short(&sub.server)),
            );
        }
        if sub.channels.len() + sub.patterns.len() > SUBSCRIPTIONS_MAX {
            v.err(
                at.clone(),
                format!("at most {SUBSCRIPTIONS_MAX} channels and patterns in all"),
            );
        }
        for (field, list) in [("channels", &sub.channels), ("patterns", &sub.patterns)] {
            for (j, c) in list.iter().enumerate().take(SUBSCRIPTIONS_MAX) {
                if let Err(e) = check_channel(c) {
                    v.err(format!("{at}.{field}[{j}]"), e);
                } else if list[..j].contains(c) {
                    v.err(
                        format!("{at}.{field}[{j}]"),
                        format!("{c:?} is listed twice"),
                    );
                }
            }
        }
        if let Err(e) = check_service(&sub.service) {
            v.err(format!("{at}.service.{}", e.field), e.msg);
        }
        if let Some(d) = sub.reconnect_after {
            if let Err(e) = check_redis_delay(d, false) {
                v.err(format!("{at}.reconnect_after"), e);
            }
        }
    }
    for (i, st) in s.redis_streams.iter().enumerate() {
        if let Some(n) = st.maxlen {
            if let Err(e) = check_maxlen(n) {
                v.err(format!("redis_streams[{i}].maxlen"), e);
            }
        }
    }
    for (i, g) in s.redis_groups.iter().enumerate() {
        let at = format!("redis_groups[{i}]");
        if kind_of(&g.stream) != Some(Kind::Stream) {
            v.err(
                format!("{at}.stream"),
                format!("no redis stream named {:?}", short(&g.stream)),
            );
        }
        if g.consumers == 0 || g.consumers > REDIS_CONSUMERS_MAX {
            v.err(
                format!("{at}.consumers"),
                format!("must be between 1 and {REDIS_CONSUMERS_MAX}"),
            );
        }
        if let Err(e) = check_service(&g.service) {
            v.err(format!("{at}.service.{}", e.field), e.msg);
        }
        if let Some(d) = g.min_idle_time {
            if let Err(e) = check_redis_delay(d, true) {
                v.err(format!("{at}.min_idle_time"), e);
            }
        }
        if let Some(d) = g.claim_every {
            if let Err(e) = check_redis_delay(d, false) {
                v.err(format!("{at}.claim_every"), e);
            } else if d.us() < 1000 {
                v.err(format!("{at}.claim_every"), "must be at least 1ms");
            }
        }
        if let Some(n) = g.claim_count {
            if n == 0 || n > 10_000 {
                v.err(format!("{at}.claim_count"), "must be between 1 and 10000");
            }
        }
    }
}

/// A bad reference is not echoed in full.
pub(super) fn short(s: &str) -> &str {
    if s.len() > ID_LEN_MAX {
        "…"
    } else {
        s
    }
}

/// A Redis command in a schedule: its node and values. Returns false for a
/// command that is not Redis's (checked by the caller).
pub(super) fn check_redis_scheduled(
    v: &mut V,
    at: &str,
    cmd: &Command,
    kind_of: &dyn Fn(&str) -> Option<Kind>,
    groups: &[RedisGroup],
) -> bool {
    let mut need = |field: &str, id: &str, want: Kind, what: &str| {
        if kind_of(id) != Some(want) {
            v.err(
                format!("{at}.{field}"),
                format!("no {what} named {:?}", short(id)),
            );
        }
    };
    match cmd {
        Command::DisconnectSubscriber {
            subscriber,
            reconnect_after,
        } => {
            need(
                "subscriber",
                subscriber,
                Kind::Subscriber,
                "redis subscriber",
            );
            if let Some(Err(e)) = reconnect_after.map(|d| check_redis_delay(d, false)) {
                v.err(format!("{at}.reconnect_after"), e);
            }
        }
        Command::ReconnectSubscriber { subscriber } => need(
            "subscriber",
            subscriber,
            Kind::Subscriber,
            "redis subscriber",
        ),
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
            need(
                "subscriber",
                subscriber,
                Kind::Subscriber,
                "redis subscriber",
            );
            if let Err((f, e)) = check_subscription(channel.as_deref(), pattern.as_deref()) {
                v.err(format!("{at}.{f}"), e);
            }
        }
        Command::SetOutputBufferLimit { server, limit } => {
            need("server", server, Kind::PubSub, "redis_pubsub server");
            if let Err((f, e)) = check_output_buffer(limit) {
                v.err(format!("{at}.limit.{f}"), e);
            }
        }
        Command::SetMaxlen { stream, maxlen } => {
            need("stream", stream, Kind::Stream, "redis stream");
            if let Some(Err(e)) = maxlen.map(check_maxlen) {
                v.err(format!("{at}.maxlen"), e);
            }
        }
        Command::SetMinIdleTime {
            group,
            min_idle_time,
        } => {
            need("group", group, Kind::RedisGroup, "redis group");
            if let Some(Err(e)) = min_idle_time.map(|d| check_redis_delay(d, true)) {
                v.err(format!("{at}.min_idle_time"), e);
            }
        }
        Command::CrashStreamConsumer {
            group,
            consumer,
            restart_after,
            ..
        } => {
            need("group", group, Kind::RedisGroup, "redis group");
            // As the app's knob refuses it: a consumer the group does not have.
            if let Some(g) = groups.iter().find(|g| g.id == *group) {
                if *consumer >= g.consumers {
                    let last = g.consumers.saturating_sub(1);
                    v.err(
                        format!("{at}.consumer"),
                        format!(
                            "{} has consumers 0 to {last} (c0…c{last}), not {consumer}",
                            short(group)
                        ),
                    );
                }
            }
            if let Some(Err(e)) = restart_after.map(|d| check_redis_delay(d, false)) {
                v.err(format!("{at}.restart_after"), e);
            }
        }
        _ => return false,
    }
    true
}

/// Exactly one of `channel` and `pattern`, each a valid name.
pub fn check_subscription(
    channel: Option<&str>,
    pattern: Option<&str>,
) -> Result<(), (&'static str, String)> {
    match (channel, pattern) {
        (Some(c), None) => check_channel(c).map_err(|e| ("channel", e)),
        (None, Some(p)) => check_channel(p).map_err(|e| ("pattern", e)),
        _ => Err((
            "channel",
            "give exactly one of channel and pattern".to_string(),
        )),
    }
}
