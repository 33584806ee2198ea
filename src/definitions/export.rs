//! `definitions export`: a scenario's exchanges, queues and bindings as
//! RabbitMQ definitions for vhost `/`, with notes on what definitions cannot
//! hold (clients, retries, Kafka topics, header presence tests, …).

use super::*;

/// Export a scenario's topology as definitions for vhost `/`, with notes on
/// what definitions cannot say (clients, retries, topics, sub-ms TTLs).
pub fn export(s: &Scenario) -> (Value, Vec<String>) {
    let mut notes = Vec::new();
    if let Some(t) = s.channel_tick_interval {
        notes.push(format!(
            "channel_tick_interval {t} is a node setting, not a definition: set {{rabbit, [{{channel_tick_interval, {}}}]}} in advanced.config",
            t.us().div_ceil(1000)
        ));
    }
    // `amq.default` stands for the default exchange (`scenario`'s
    // `dead_letter_exchange: ""`): RabbitMQ has it built in and refuses to
    // declare an `amq.` exchange, so it is written back as "" and neither it
    // nor its bindings are declared.
    let default_x = |id: &str| id == scenario::DEFAULT_EXCHANGE_ID;
    let exchanges: Vec<Value> = s
        .exchanges
        .iter()
        .filter(|x| !default_x(&x.id))
        .map(|x| {
            let mut args = Map::new();
            if let Some(ae) = &x.alternate_exchange {
                args.insert("alternate-exchange".into(), json!(ae));
            }
            json!({
                "name": x.id, "vhost": "/",
                "type": match x.kind { ExchangeKind::Direct => "direct", ExchangeKind::Fanout => "fanout", ExchangeKind::Topic => "topic", ExchangeKind::Headers => "headers" },
                "durable": true, "auto_delete": false, "internal": false, "arguments": args,
            })
        })
        .collect();
    let mut bindings = Vec::new();
    for x in s.exchanges.iter().filter(|x| !default_x(&x.id)) {
        for b in &x.bindings {
            let (dst, dtype) = match (&b.queue, &b.exchange) {
                (Some(q), _) => (q.clone(), "queue"),
                (None, Some(e)) => (e.clone(), "exchange"),
                (None, None) => continue,
            };
            let mut args = Map::new();
            if x.kind == ExchangeKind::Headers {
                args.insert("x-match".into(), json!(b.x_match_mode().name()));
                for (k, v) in &b.headers {
                    match v {
                        Some(v) => {
                            args.insert(k.clone(), json!(v));
                        }
                        // RabbitMQ's import refuses null arguments
                        // (`null_not_allowed`): a presence-only match has
                        // no spelling in definitions.
                        None => notes.push(format!("exchange {:?}: binding to {dst:?} matches header {k:?} by presence only, which definitions cannot express; left out", x.id)),
                    }
                }
            }
            bindings.push(json!({
                "source": x.id, "vhost": "/", "destination": dst, "destination_type": dtype,
                "routing_key": b.key, "arguments": args,
            }));
        }
    }
    for q in s.queues.iter().filter(|q| q.sqs.is_some()) {
        notes.push(format!(
            "queue {:?} is an Amazon SQS queue, not a RabbitMQ one: not exported",
            q.id
        ));
    }
    let queues: Vec<Value> = s
        .queues
        .iter()
        .filter(|q| q.sqs.is_none())
        .map(|q| {
            let mut args = Map::new();
            let quorum = q.delivery_limit.is_some();
            args.insert("x-queue-type".into(), json!(if quorum { "quorum" } else { "classic" }));
            if let Some(n) = q.max_length {
                args.insert("x-max-length".into(), json!(n));
            }
            if q.max_length.is_some() || q.overflow != Overflow::DropHead {
                let o = match q.overflow {
                    Overflow::DropHead => "drop-head",
                    Overflow::RejectPublish => "reject-publish",
                    Overflow::RejectPublishDlx => "reject-publish-dlx",
                };
                if quorum && q.overflow == Overflow::RejectPublishDlx {
                    notes.push(format!("queue {:?}: quorum queues (needed for x-delivery-limit) do not support reject-publish-dlx; exported as reject-publish", q.id));
                    args.insert("x-overflow".into(), json!("reject-publish"));
                } else {
                    args.insert("x-overflow".into(), json!(o));
                }
            }
            if let Some(t) = q.ttl {
                let ms = t.us().div_ceil(1000);
                if t.us() % 1000 != 0 {
                    notes.push(format!("queue {:?}: TTL {t} rounded up to {ms} ms (x-message-ttl is in milliseconds)", q.id));
                }
                args.insert("x-message-ttl".into(), json!(ms));
            }
            if let Some(d) = &q.dead_letter_exchange {
                let d = if default_x(d) { "" } else { d.as_str() };
                args.insert("x-dead-letter-exchange".into(), json!(d));
            }
            if let Some(k) = &q.dead_letter_routing_key {
                args.insert("x-dead-letter-routing-key".into(), json!(k));
            }
            if let Some(n) = q.delivery_limit {
                args.insert("x-delivery-limit".into(), json!(n));
            }
            if q.single_active_consumer {
                args.insert("x-single-active-consumer".into(), json!(true));
            }
            if let Some(t) = q.consumer_timeout {
                let ms = t.us().div_ceil(1000);
                if t.us() % 1000 != 0 {
                    notes.push(format!("queue {:?}: consumer timeout {t} rounded up to {ms} ms (x-consumer-timeout is in milliseconds)", q.id));
                }
                args.insert("x-consumer-timeout".into(), json!(ms));
            }
            if let Some(p) = q.max_priority {
                if quorum {
                    notes.push(format!("queue {:?}: a priority queue with a delivery limit has no RabbitMQ equivalent (x-delivery-limit needs a quorum queue, x-max-priority a classic one); x-max-priority left out", q.id));
                } else {
                    args.insert("x-max-priority".into(), json!(p));
                }
            }
            // RabbitMQ refuses a non-durable quorum queue ("invalid property
            // 'non-durable'").
            let durable = q.durable || quorum;
            if !q.durable && quorum {
                notes.push(format!("queue {:?}: transient here, but a quorum queue (needed for x-delivery-limit) is always durable; exported as durable", q.id));
            }
            json!({ "name": q.id, "vhost": "/", "durable": durable, "auto_delete": false, "arguments": args })
        })
        .collect();
    if !s.producers.is_empty() || !s.consumers.is_empty() {
        notes.push(format!(
            "{} producer(s) and {} consumer(s) are clients, not broker definitions: not exported",
            s.producers.len(),
            s.consumers.len()
        ));
    }
    if s.consumers.iter().any(|c| c.retry.is_some()) {
        notes.push("consumer retry policies live in the clients: not exported".into());
    }
    if !s.topics.is_empty() || !s.consumer_groups.is_empty() {
        notes.push(
            "Kafka topics and consumer groups have no RabbitMQ definition: not exported".into(),
        );
    }
    let doc = json!({
        "vhosts": [{ "name": "/" }],
        "users": [], "permissions": [], "topic_permissions": [],
        "parameters": [], "global_parameters": [], "policies": [],
        "queues": queues, "exchanges": exchanges, "bindings": bindings,
    });
    (doc, notes)
}
