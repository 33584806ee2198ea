//! Semantic validation: references, limits and combinations that the types
//! alone cannot express. Collects every issue, each with its JSON path.

use super::*;
use std::collections::BTreeMap;

mod alerts;
mod priority;
mod pulsar;
mod redis;
pub use redis::check_subscription;
mod guarantees;
mod schedule;
mod sqs;
mod streams;
mod values;
pub use guarantees::{check_confirms, check_consumer_faults, check_dedup, check_link_faults};
use schedule::check_scheduled_values;
use streams::{check_streams, check_topic_producer};
pub use values::{check_arrival, check_retry, check_service, FieldError};

struct V {
    issues: Vec<ScenarioIssue>,
}

impl V {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(ScenarioIssue {
            path: path.into(),
            message: message.into(),
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Producer,
    Exchange,
    Queue,
    Consumer,
    Topic,
    Group,
    PubSub,
    Subscriber,
    Stream,
    RedisGroup,
    PulsarTopic,
    PulsarSub,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Producer => "producer",
            Kind::Exchange => "exchange",
            Kind::Queue => "queue",
            Kind::Consumer => "consumer",
            Kind::Topic => "topic",
            Kind::Group => "consumer group",
            Kind::PubSub => "redis pubsub server",
            Kind::Subscriber => "redis subscriber",
            Kind::Stream => "redis stream",
            Kind::RedisGroup => "redis group",
            Kind::PulsarTopic => "pulsar topic",
            Kind::PulsarSub => "pulsar subscription",
        }
    }
}

/// Most lanes in one comparison (room for every broker QueueLab models:
/// the broker comparison runs one lane per broker).
pub const VARIANTS_MAX: usize = 6;

/// `variants`: two to `VARIANTS_MAX`, unique names, and each one's changes give a
/// valid scenario (checked on the scenario without its `variants`).
fn check_variants(v: &mut V, s: &Scenario) {
    if s.variants.is_empty() {
        return;
    }
    if !(2..=VARIANTS_MAX).contains(&s.variants.len()) {
        v.err(
            "variants",
            format!("two to {VARIANTS_MAX} variants, not {}", s.variants.len()),
        );
        return;
    }
    let mut base = s.clone();
    base.variants.clear();
    // A variant is the base changed: when the base itself is invalid, every
    // variant would repeat its errors (already reported at their own paths).
    let base_valid = validate(&base).is_ok();
    let mut names = std::collections::BTreeSet::new();
    for (i, var) in s.variants.iter().enumerate() {
        let at = format!("variants[{i}]");
        check_id(v, &format!("{at}.name"), &var.name);
        if !names.insert(var.name.as_str()) {
            v.err(
                format!("{at}.name"),
                format!("{:?} is used twice", var.name),
            );
        }
        if let Some(p) = var.set.keys().find(|p| p.starts_with("variants")) {
            v.err(
                format!("{at}.set"),
                format!("{p:?}: a variant cannot change the variants"),
            );
            continue;
        }
        if !base_valid {
            continue;
        }
        if let Err(why) = super::patch::apply(&base, &var.set) {
            v.err(at.clone(), why);
        }
    }
}

fn check_id(v: &mut V, path: &str, id: &str) {
    if id.is_empty() || id.len() > ID_LEN_MAX {
        v.err(path, format!("must be 1 to {ID_LEN_MAX} characters"));
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        v.err(path, "may use only letters, digits and - _ . :");
    }
}

/// An exchange id with RabbitMQ's reserved prefix `amq.`: declaring a new
/// one is refused (ACCESS_REFUSED, "exchange name 'amq.x' contains reserved
/// prefix 'amq.*'", `rabbit_channel:check_name`), but the broker's own
/// exchanges exist, and declaring one with its type is an equivalent
/// redeclaration (what a definitions import writes for bindings that use
/// them). `amq.default` is the default exchange as QueueLab models it (a
/// direct exchange a scenario gets for `"dead_letter_exchange": ""`, and
/// keeps when saved).
fn check_amq_exchange(x: &Exchange) -> Result<(), String> {
    if !x.id.starts_with("amq.") {
        return Ok(());
    }
    let builtin = match x.id.as_str() {
        "amq.direct" | DEFAULT_EXCHANGE_ID => ExchangeKind::Direct,
        "amq.fanout" => ExchangeKind::Fanout,
        "amq.topic" => ExchangeKind::Topic,
        "amq.headers" | "amq.match" => ExchangeKind::Headers,
        _ => {
            return Err(format!(
                "{:?} begins with the reserved prefix \"amq.\": RabbitMQ refuses declaring \
                 such an exchange (ACCESS_REFUSED) unless it is one of its own (amq.direct, \
                 amq.fanout, amq.topic, amq.headers, amq.match); choose another name",
                x.id
            ))
        }
    };
    if x.kind != builtin {
        let kind = |k: ExchangeKind| format!("{k:?}").to_ascii_lowercase();
        return Err(format!(
            "{:?} is RabbitMQ's built-in {} exchange: declaring it as {} fails \
             (PRECONDITION_FAILED, inequivalent type); choose another name",
            x.id,
            kind(builtin),
            kind(x.kind)
        ));
    }
    Ok(())
}

const SHORT_STRING: &str = "at most 255 bytes (AMQP short string)";

/// One routing key, key or header value: at most `KEY_LEN_MAX` bytes.
fn check_key(v: &mut V, path: impl Into<String>, key: &str) {
    if key.len() > KEY_LEN_MAX {
        v.err(path, format!("{SHORT_STRING}, not {}", key.len()));
    }
}

/// A header map: at most `HEADERS_MAX` entries, names short strings, values
/// at most `HEADER_VALUE_LEN_MAX` bytes. Reports the first offending entry
/// only (a map may be large).
fn check_headers<'a>(
    v: &mut V,
    path: &str,
    len: usize,
    mut entries: impl Iterator<Item = (&'a String, Option<&'a String>)>,
) {
    if len > HEADERS_MAX {
        v.err(path, format!("at most {HEADERS_MAX} headers"));
        return;
    }
    let bad = entries.find(|(k, val)| {
        k.len() > KEY_LEN_MAX || val.is_some_and(|x| x.len() > HEADER_VALUE_LEN_MAX)
    });
    match bad {
        Some((k, _)) if k.len() > KEY_LEN_MAX => v.err(
            path,
            format!("header names: {SHORT_STRING}, not {}", k.len()),
        ),
        Some((k, val)) => v.err(
            format!("{path}.{k}"),
            format!(
                "a header value is at most {HEADER_VALUE_LEN_MAX} bytes, not {}",
                val.map_or(0, |x| x.len())
            ),
        ),
        None => {}
    }
}

/// Checks for a `publish_one` command's message fields: the same caps as a
/// producer's (`KEY_LEN_MAX` bytes per key, header name and value;
/// `HEADERS_MAX` headers). The error names the field (`routing_key`, `key`,
/// `headers`, `headers.NAME`) and the problem. A record without a key for a
/// compacted topic (producer `producer` of `s` writes to one) is refused, as
/// Kafka refuses it (`INVALID_RECORD`: "Compacted topic cannot accept message
/// without key", `LogValidator.validateKey`); kept, it could never be
/// compacted away.
pub fn check_publish_one(
    s: &Scenario,
    producer: &str,
    routing_key: Option<&str>,
    key: Option<&str>,
    headers: &BTreeMap<String, String>,
) -> Result<(), (String, String)> {
    let mut v = V { issues: Vec::new() };
    if let Some(rk) = routing_key {
        check_key(&mut v, "routing_key", rk);
    }
    if let Some(k) = key {
        check_key(&mut v, "key", k);
        if let Err(e) = sqs::check_publish_one_key(s, producer, k) {
            v.err("key", e);
        }
    } else if let Some(t) = s
        .producers
        .iter()
        .find(|p| p.id == producer)
        .and_then(|p| s.topics.iter().find(|t| t.id == p.to))
        .filter(|t| t.cleanup.compacts())
    {
        v.err(
            "key",
            format!(
                "topic {:?} is compacted, and compaction needs keyed records: give this record a key (Kafka refuses a record without one)",
                t.id
            ),
        );
    }
    check_headers(
        &mut v,
        "headers",
        headers.len(),
        headers.iter().map(|(k, x)| (k, Some(x))),
    );
    if let Err(e) = sqs::check_publish_one_delay(s, producer, headers) {
        v.err("headers.DelaySeconds", e);
    }
    match v.issues.into_iter().next() {
        None => Ok(()),
        Some(i) => Err((i.path, i.message)),
    }
}

fn check_keys(v: &mut V, path: &str, k: &KeyChoice) {
    // Only the first over-long key is reported: a list may hold 100,000.
    fn first_long<'a>(keys: impl Iterator<Item = &'a String>) -> Option<(usize, &'a String)> {
        keys.enumerate().find(|(_, k)| k.len() > KEY_LEN_MAX)
    }
    match k {
        KeyChoice::RoundRobin(list) => {
            if let Some((j, key)) = first_long(list.iter()) {
                check_key(v, format!("{path}.round_robin[{j}]"), key);
            }
        }
        KeyChoice::Random(list) => {
            if let Some((j, key)) = first_long(list.iter()) {
                check_key(v, format!("{path}.random[{j}]"), key);
            }
        }
        KeyChoice::Weighted(list) => {
            if let Some((j, key)) = first_long(list.iter().map(|w| &w.key)) {
                check_key(v, format!("{path}.weighted[{j}].key"), key);
            }
        }
        KeyChoice::Fixed(key) => check_key(v, format!("{path}.fixed"), key),
        KeyChoice::RandomOfN(_) => {}
    }
    match k {
        KeyChoice::Fixed(_) => {}
        KeyChoice::RoundRobin(list) | KeyChoice::Random(list) => {
            if list.is_empty() {
                v.err(path, "needs at least one value");
            } else if list.len() > KEYS_MAX as usize {
                v.err(path, format!("at most {KEYS_MAX} values"));
            }
        }
        KeyChoice::RandomOfN(n) => {
            if *n == 0 || *n > KEYS_MAX {
                v.err(
                    path,
                    format!("random_of_n must be between 1 and {KEYS_MAX}"),
                );
            }
        }
        KeyChoice::Weighted(list) => {
            if list.is_empty() || list.iter().all(|w| w.weight == 0) {
                v.err(path, "needs at least one key with a positive weight");
            } else if list.len() > KEYS_MAX as usize {
                v.err(path, format!("at most {KEYS_MAX} values"));
            }
        }
    }
}

/// Check everything the types cannot; returns every issue found.
pub fn validate(s: &Scenario) -> Result<(), ScenarioError> {
    let mut v = V { issues: Vec::new() };
    let mut ids: BTreeMap<&str, (Kind, String)> = BTreeMap::new();
    let total = s.producers.len()
        + s.exchanges.len()
        + s.queues.len()
        + s.consumers.len()
        + s.topics.len()
        + s.consumer_groups.len()
        + s.redis_pubsub.len()
        + s.redis_subscribers.len()
        + s.redis_streams.len()
        + s.redis_groups.len()
        + s.pulsar_topics.len()
        + s.pulsar_subscriptions.len();
    if total > NODES_MAX {
        v.err("", format!("{total} nodes; at most {NODES_MAX}"));
    }
    if s.title.trim().is_empty() {
        v.err("title", "must not be empty");
    }
    if s.sample_interval.us() < 1000 {
        v.err("sample_interval", "must be at least 1ms");
    }
    if s.duration.us() == 0 {
        v.err("duration", "must be positive");
    }
    if s.expect.len() > super::expect::EXPECT_MAX {
        v.err(
            "expect",
            format!(
                "at most {} expectations, not {}",
                super::expect::EXPECT_MAX,
                s.expect.len()
            ),
        );
    }
    check_variants(&mut v, s);
    if let Some(t) = &s.theory {
        if t.mean_latency.us() == 0 {
            v.err("theory.mean_latency", "must be positive");
        }
        if t.formula.len() > 200 {
            v.err(
                "theory.formula",
                format!("at most 200 bytes, not {}", t.formula.len()),
            );
        }
    }
    for (i, text) in s.expect.iter().enumerate().take(super::expect::EXPECT_MAX) {
        if let Err(why) = super::expect::parse(text) {
            v.err(format!("expect[{i}]"), why);
        }
    }
    let mut all: Vec<(&str, Kind, String)> = Vec::new();
    all.extend(
        s.producers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), Kind::Producer, format!("producers[{i}]"))),
    );
    all.extend(
        s.exchanges
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), Kind::Exchange, format!("exchanges[{i}]"))),
    );
    all.extend(
        s.queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.as_str(), Kind::Queue, format!("queues[{i}]"))),
    );
    all.extend(
        s.consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), Kind::Consumer, format!("consumers[{i}]"))),
    );
    all.extend(
        s.topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), Kind::Topic, format!("topics[{i}]"))),
    );
    all.extend(
        s.consumer_groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), Kind::Group, format!("consumer_groups[{i}]"))),
    );
    all.extend(redis::ids(s));
    all.extend(pulsar::ids(s));
    for (name, kind, path) in all {
        check_id(&mut v, &format!("{path}.id"), name);
        if let Some((first_kind, first)) = ids.get(name) {
            // Two Pulsar subscriptions of one name: `pulsar::check_pulsar`
            // says why, once.
            if !(kind == Kind::PulsarSub && *first_kind == Kind::PulsarSub) {
                v.err(
                    format!("{path}.id"),
                    format!("{name:?} is already the id of {first}"),
                );
            }
        } else {
            ids.insert(name, (kind, path));
        }
    }
    let kind_of = |name: &str| ids.get(name).map(|(k, _)| *k);
    let need = |v: &mut V, path: String, name: &str, allowed: &[Kind], what: &str| {
        match kind_of(name) {
            // Not echoed: the message would be as long as the bad reference.
            None if name.len() > ID_LEN_MAX => v.err(
                path,
                format!(
                    "ids have at most {ID_LEN_MAX} characters, not {}",
                    name.len()
                ),
            ),
            None if name.is_empty() && what.contains("exchange") => v.err(
                path,
                format!("no {what} named \"\": the default exchange is modelled only as a dead_letter_exchange; name an exchange"),
            ),
            None => v.err(path, format!("no {what} named {name:?}")),
            Some(k) if !allowed.contains(&k) => v.err(
                path,
                format!("{name:?} is a {}, expected {what}", k.noun()),
            ),
            _ => {}
        }
    };

    for (i, p) in s.producers.iter().enumerate() {
        let at = format!("producers[{i}]");
        need(
            &mut v,
            format!("{at}.to"),
            &p.to,
            &[
                Kind::Exchange,
                Kind::Queue,
                Kind::Topic,
                Kind::PubSub,
                Kind::Stream,
                Kind::PulsarTopic,
            ],
            "exchange, queue, topic, redis_pubsub, redis stream or pulsar topic",
        );
        check_topic_producer(&mut v, &at, p, s, kind_of(&p.to) == Some(Kind::Topic));
        let to_topic = kind_of(&p.to) == Some(Kind::Topic);
        let to_redis = matches!(kind_of(&p.to), Some(Kind::PubSub | Kind::Stream));
        redis::check_redis_producer(&mut v, &at, p, to_redis);
        let to_pulsar = kind_of(&p.to) == Some(Kind::PulsarTopic);
        pulsar::check_pulsar_producer(&mut v, &at, p, to_pulsar);
        if let Some(c) = &p.confirms {
            // For a topic producer: `request.timeout.ms` and `retries`.
            if let Err((f, e)) = check_confirms(c) {
                v.err(format!("{at}.confirms.{f}"), e);
            }
        }
        if let Some(f) = &p.faults {
            if let Err((name, e)) = check_link_faults(f, to_topic) {
                v.err(format!("{at}.faults.{name}"), e);
            }
        }
        if to_topic && p.idempotent == Some(true) && p.acks.is_some_and(|a| a != Acks::All) {
            v.err(
                format!("{at}.idempotent"),
                "the idempotent producer needs acks \"all\" (Kafka refuses enable.idempotence with acks 0 or 1)",
            );
        }
        if to_topic && p.idempotent == Some(true) && p.confirms.is_some_and(|c| c.retries == 0) {
            v.err(
                format!("{at}.confirms.retries"),
                "the idempotent producer needs retries (Kafka: \"Must set retries to non-zero when using the idempotent producer\")",
            );
        }
        let burst = match p.arrival {
            Arrival::Bursts { size } => size.max(1) as f64,
            _ => 1.0,
        };
        if p.rate.per_s().is_nan() || p.rate.per_s() <= 0.0 {
            v.err(format!("{at}.rate"), "must be greater than 0/s");
        } else if burst / p.rate.per_s() > 86_400.0 {
            // Gaps are capped at one day, so a slower rate would be silently wrong.
            v.err(
                format!("{at}.rate"),
                "publishes (or bursts) must come at least once a day",
            );
        }
        if let Arrival::Bursts { size } = p.arrival {
            if size == 0 || size > BURST_MAX {
                v.err(
                    format!("{at}.arrival.bursts.size"),
                    format!("must be between 1 and {BURST_MAX}"),
                );
            }
        }
        if let Some(stop) = p.stop {
            if stop <= p.start {
                v.err(format!("{at}.stop"), "must be after start");
            }
        }
        if let Some(k) = &p.routing_keys {
            check_keys(&mut v, &format!("{at}.routing_keys"), k);
        }
        if let Some(k) = &p.keys {
            check_keys(&mut v, &format!("{at}.keys"), k);
        }
        check_key(&mut v, format!("{at}.routing_key"), &p.routing_key);
        check_headers(
            &mut v,
            &format!("{at}.headers"),
            p.headers.len(),
            p.headers.iter().map(|(k, x)| (k, Some(x))),
        );
        if p.header_sets.len() > 1000 {
            v.err(format!("{at}.header_sets"), "at most 1000 header sets");
        } else {
            for (j, h) in p.header_sets.iter().enumerate() {
                check_headers(
                    &mut v,
                    &format!("{at}.header_sets[{j}]"),
                    h.len(),
                    h.iter().map(|(k, x)| (k, Some(x))),
                );
            }
        }
    }
    for (i, x) in s.exchanges.iter().enumerate() {
        let at = format!("exchanges[{i}]");
        if let Err(e) = check_amq_exchange(x) {
            v.err(format!("{at}.id"), e);
        }
        if let Some(ae) = &x.alternate_exchange {
            need(
                &mut v,
                format!("{at}.alternate_exchange"),
                ae,
                &[Kind::Exchange],
                "exchange",
            );
        }
        for (j, b) in x.bindings.iter().enumerate() {
            let bt = format!("{at}.bindings[{j}]");
            match (&b.queue, &b.exchange) {
                (Some(q), None) => need(&mut v, format!("{bt}.queue"), q, &[Kind::Queue], "queue"),
                (None, Some(e)) => need(
                    &mut v,
                    format!("{bt}.exchange"),
                    e,
                    &[Kind::Exchange],
                    "exchange",
                ),
                _ => v.err(
                    bt.clone(),
                    "needs exactly one of \"queue\" and \"exchange\"",
                ),
            }
            if x.kind != ExchangeKind::Headers && (b.x_match.is_some() || !b.headers.is_empty()) {
                v.err(
                    bt.clone(),
                    format!(
                        "x_match and headers apply only to headers exchanges, not {:?}",
                        x.kind
                    )
                    .to_ascii_lowercase(),
                );
            }
            if let Some(m) = b.headers.get("x-match") {
                // RabbitMQ's binding arguments carry the mode as `x-match`;
                // accepted here too when it agrees with `x_match`.
                let hp = format!("{bt}.headers.x-match");
                match m.as_deref().and_then(XMatch::parse) {
                    None => v.err(
                        hp,
                        "must be \"all\", \"any\", \"all-with-x\" or \"any-with-x\"",
                    ),
                    Some(mode) if b.x_match.is_some_and(|x| x != mode) => v.err(
                        hp,
                        format!(
                            "\"{}\" contradicts x_match \"{}\"",
                            mode.name(),
                            b.x_match.unwrap_or_default().name()
                        ),
                    ),
                    Some(_) => {}
                }
            }
            // A key on a fanout binding is accepted and ignored, as RabbitMQ's
            // fanout exchange does (`validate_binding` accepts any binding;
            // routing matches every binding whatever its key).
            if b.key.len() > KEY_LEN_MAX {
                v.err(format!("{bt}.key"), SHORT_STRING);
            }
            check_headers(
                &mut v,
                &format!("{bt}.headers"),
                b.headers.len(),
                b.headers.iter().map(|(k, x)| (k, x.as_ref())),
            );
        }
    }
    for (i, q) in s.queues.iter().enumerate() {
        let at = format!("queues[{i}]");
        // RabbitMQ refuses `queue.declare` of a name that begins with `amq.`
        // (ACCESS_REFUSED, `rabbit_channel:check_name`): such names are the
        // broker's own (server-named `amq.gen-…` queues). Not an SQS rule.
        if q.sqs.is_none() && q.id.starts_with("amq.") {
            v.err(
                format!("{at}.id"),
                format!(
                    "{:?} begins with the reserved prefix \"amq.\": RabbitMQ refuses declaring \
                     such a queue (ACCESS_REFUSED); choose another name",
                    q.id
                ),
            );
        }
        if let Some(l) = q.max_length {
            if l > MAX_LENGTH_MAX {
                v.err(
                    format!("{at}.max_length"),
                    format!("must be at most {MAX_LENGTH_MAX}"),
                );
            }
        }
        if let Some(x) = &q.dead_letter_exchange {
            // `""` became `amq.default` on loading unless that id was taken
            // (`name_default_exchange`): say so rather than that `""` is no
            // exchange.
            if let Some((_, owner)) = ids.get(DEFAULT_EXCHANGE_ID).filter(|_| x.is_empty()) {
                v.err(
                    format!("{at}.dead_letter_exchange"),
                    format!(
                        "\"\" is RabbitMQ's default exchange, which QueueLab models as a direct \
                         exchange {DEFAULT_EXCHANGE_ID:?} binding every queue by its id, but \
                         {owner} already has the id {DEFAULT_EXCHANGE_ID:?}: rename it"
                    ),
                );
            } else {
                need(
                    &mut v,
                    format!("{at}.dead_letter_exchange"),
                    x,
                    &[Kind::Exchange],
                    "exchange",
                );
            }
            if let Some(k) = &q.dead_letter_routing_key {
                check_key(&mut v, format!("{at}.dead_letter_routing_key"), k);
            }
        } else if q.dead_letter_routing_key.is_some() {
            v.err(
                format!("{at}.dead_letter_routing_key"),
                "needs a dead_letter_exchange",
            );
        }
        // reject-publish-dlx without a dead-letter exchange is accepted, as
        // RabbitMQ accepts it: the refused message is nacked and dropped.
        if q.delivery_limit == Some(0) {
            // RabbitMQ treats 0 as "dead-letter on first return"; allowed.
        }
        if q.consumer_timeout.is_some_and(|d| d.us() < 1_000) {
            // RabbitMQ counts it in whole milliseconds.
            v.err(
                format!("{at}.consumer_timeout"),
                "must be at least 1ms (RabbitMQ counts it in milliseconds)",
            );
        }
    }
    if let Some(d) = s.channel_tick_interval {
        if d.us() < 1_000 || d.us() > 3_600_000_000 {
            v.err(
                "channel_tick_interval",
                "must be between 1ms and 1h (RabbitMQ's default is 60s)",
            );
        }
    }
    for (i, c) in s.consumers.iter().enumerate() {
        let at = format!("consumers[{i}]");
        if let Some(d) = &c.dedup {
            if let Err((f, e)) = check_dedup(d) {
                v.err(format!("{at}.dedup.{f}"), e);
            }
        }
        if let Some(f) = &c.faults {
            if let Err((name, e)) = check_consumer_faults(f) {
                v.err(format!("{at}.faults.{name}"), e);
            }
        }
        if let Some(b) = &c.circuit_breaker {
            if let Err((name, e)) = crate::scenario::check_circuit_breaker(b) {
                v.err(format!("{at}.circuit_breaker.{name}"), e);
            }
        }
        need(
            &mut v,
            format!("{at}.queue"),
            &c.queue,
            &[Kind::Queue],
            "queue",
        );
        if c.instances > INSTANCES_MAX {
            v.err(
                format!("{at}.instances"),
                format!("must be at most {INSTANCES_MAX}"),
            );
        }
        if c.prefetch == 0 {
            v.err(
                format!("{at}.prefetch"),
                format!("must be at least 1 (RabbitMQ's 0, unlimited, is not modelled: give a number up to {PREFETCH_MAX})"),
            );
        } else if c.prefetch > PREFETCH_MAX {
            v.err(
                format!("{at}.prefetch"),
                format!("must be at most {PREFETCH_MAX}"),
            );
        }
        if let Err(e) = check_service(&c.service) {
            v.err(format!("{at}.service.{}", e.field), e.msg);
        }
        match &c.poison {
            Some(Poison::Key(k)) => check_key(&mut v, format!("{at}.poison.key"), k),
            Some(Poison::Header { name, value }) => {
                check_key(&mut v, format!("{at}.poison.header.name"), name);
                if value.len() > HEADER_VALUE_LEN_MAX {
                    v.err(
                        format!("{at}.poison.header.value"),
                        format!(
                            "a header value is at most {HEADER_VALUE_LEN_MAX} bytes, not {}",
                            value.len()
                        ),
                    );
                }
            }
            None => {}
        }
        if !(c.failure_rate.is_finite() && (0.0..=1.0).contains(&c.failure_rate)) {
            v.err(format!("{at}.failure_rate"), "must be between 0 and 1");
        }
        match (&c.on_failure, &c.retry) {
            (OnFailure::Retry, None) => v.err(
                format!("{at}.retry"),
                "on_failure is \"retry\" but no retry policy is given",
            ),
            (_, Some(r)) => {
                if let Err(e) = check_retry(r) {
                    v.err(format!("{at}.retry.{}", e.field), e.msg);
                }
                if let Some(x) = &r.exhausted_to {
                    need(
                        &mut v,
                        format!("{at}.retry.exhausted_to"),
                        x,
                        &[Kind::Exchange],
                        "exchange",
                    );
                }
                if r.mode == RetryMode::RetryQueue {
                    let dlx = s
                        .queues
                        .iter()
                        .find(|q| q.id == c.queue)
                        .and_then(|q| q.dead_letter_exchange.as_ref());
                    if dlx.is_none() {
                        v.err(format!("{at}.retry.mode"), format!("retry_queue needs queue {:?} to have a dead_letter_exchange leading to a retry queue", c.queue));
                    }
                }
            }
            _ => {}
        }
        for (j, p) in c.on_success.iter().enumerate() {
            need(
                &mut v,
                format!("{at}.on_success[{j}].to"),
                &p.to,
                &[Kind::Exchange, Kind::Queue],
                "exchange or queue",
            );
            if let Some(k) = &p.routing_key {
                check_key(&mut v, format!("{at}.on_success[{j}].routing_key"), k);
            }
            if p.copies == 0 || p.copies > COPIES_MAX {
                v.err(
                    format!("{at}.on_success[{j}].copies"),
                    format!("must be between 1 and {COPIES_MAX}"),
                );
            }
            check_headers(
                &mut v,
                &format!("{at}.on_success[{j}].headers"),
                p.headers.len(),
                p.headers.iter().map(|(k, x)| (k, Some(x))),
            );
        }
    }
    check_streams(&mut v, s, &|name: &str| kind_of(name) == Some(Kind::Topic));
    redis::check_redis(&mut v, s, &|name: &str| kind_of(name));
    sqs::check_sqs(&mut v, s);
    priority::check_priorities(&mut v, s, &|name: &str| kind_of(name));
    pulsar::check_pulsar(&mut v, s, &|name: &str| kind_of(name));
    alerts::check_alerts(&mut v, s, &|name: &str| kind_of(name));
    if let Some(c) = &s.broker_costs {
        if let Err((f, e)) = super::check_broker_costs(c) {
            v.err(format!("broker_costs.{f}"), e);
        }
    }
    if s.schedule.len() > SCHEDULE_MAX {
        v.err("schedule", format!("at most {SCHEDULE_MAX} entries"));
    }
    for (i, sc) in s.schedule.iter().enumerate() {
        let at = format!("schedule[{i}].command");
        if matches!(
            sc.command,
            Command::SetGuarantee { .. } | Command::CrashBroker { .. } | Command::RestartBroker
        ) {
            continue; // about the whole scenario, with nothing to check
        }
        if pulsar::check_pulsar_scheduled(&mut v, &at, &sc.command, s) {
            continue;
        }
        if redis::check_redis_scheduled(
            &mut v,
            &at,
            &sc.command,
            &|name: &str| kind_of(name),
            &s.redis_groups,
        ) {
            continue;
        }
        let target = sc.command.target();
        let want = match &sc.command {
            Command::SetRate { .. }
            | Command::SetArrival { .. }
            | Command::PauseProducer { .. }
            | Command::ResumeProducer { .. }
            | Command::PublishOne { .. }
            | Command::SetLinger { .. }
            | Command::SetConfirms { .. }
            | Command::SetLinkFaults { .. }
            | Command::CrashProducer { .. }
            | Command::RestartProducer { .. } => Kind::Producer,
            Command::SetMaxLength { .. }
            | Command::SetOverflow { .. }
            | Command::SetQueueTtl { .. }
            | Command::PurgeQueue { .. }
            | Command::ChangeMessageVisibility { .. }
            | Command::RedriveDeadLetters { .. }
            | Command::SetVisibilityTimeout { .. } => Kind::Queue,
            Command::AddMember { .. }
            | Command::RemoveMember { .. }
            | Command::CrashMember { .. }
            | Command::PauseMember { .. }
            | Command::SeekGroup { .. }
            | Command::SetAssignment { .. }
            | Command::SetCommitPolicy { .. }
            | Command::SetMaxPollRecords { .. }
            | Command::SetExpectedVersion { .. } => Kind::Group,
            Command::IncreasePartitions { .. }
            | Command::CrashLeader { .. }
            | Command::StallFollower { .. } => Kind::Topic,
            _ => Kind::Consumer,
        };
        // The path names the command's own field (`schedule[0].command.consumer`).
        let field = format!("{want:?}").to_ascii_lowercase();
        let what = if want == Kind::Group {
            "consumer group".to_string()
        } else {
            field.clone()
        };
        need(&mut v, format!("{at}.{field}"), target, &[want], &what);
        sqs::check_sqs_scheduled(&mut v, &at, &sc.command, s);
        check_scheduled_values(&mut v, &at, i, &sc.command, s);
    }
    for node in s.layout.keys() {
        if kind_of(node).is_none() {
            v.err(format!("layout.{node}"), format!("no node named {node:?}"));
        }
    }
    if v.issues.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError { issues: v.issues })
    }
}
