//! RabbitMQ definitions in and out: `definitions.json` (the management
//! plugin's export, `rabbitmqctl export_definitions`) to a scenario, and a
//! scenario's topology back to definitions RabbitMQ can import.
//!
//!   definitions.json ──import──► exchanges, queues, bindings (+ policies, queue arguments)
//!                                   + a producer per entry exchange, a consumer per directly fed queue
//!                                   ──► Scenario (validated) + notes on everything not understood
//!   Scenario ──export──► definitions.json (vhost "/"; producers, consumers, retries, topics noted)
//!
//! What maps (RabbitMQ docs: "Queues", "Dead Letter Exchanges", "Time-To-Live",
//! "Queue Length Limit", "Policies"): exchange types direct/fanout/topic/headers
//! and `alternate-exchange`; queue arguments `x-dead-letter-exchange`,
//! `x-dead-letter-routing-key`, `x-message-ttl` (ms), `x-max-length`,
//! `x-overflow`, `x-delivery-limit`, `x-consumer-timeout` (ms); the same keys in policies (without `x-`),
//! matched by regular expression on the name, the highest priority policy
//! applying; when a queue has both, the argument wins for the dead-letter
//! keys and overflow, and the lower value wins for max-length, message TTL,
//! delivery limit and consumer timeout, as RabbitMQ resolves them. A queue's `durable` flag maps
//! both ways. Bindings queue and exchange
//! destinations, with `x-match` and header arguments. Everything else is
//! listed in the notes — nothing is dropped silently. Names outside the
//! scenario id alphabet are renamed (and noted); an exchange that shares a
//! queue's name gets a `-x` suffix, since scenario ids share one namespace.

use crate::scenario::{self, ExchangeKind, Overflow, Scenario, XMatch};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

mod export;
mod policy;

pub use export::export;
use policy::{
    limit_rule, limit_valid, merge_operator_policy, parse_policy, policy_for, refuses_policy_key,
    OPERATOR_POLICY_KEYS,
};

/// The result of an import: the scenario, its JSON as written (concise, no
/// defaults spelled out), and what was not understood.
#[derive(Debug)]
pub struct Imported {
    pub scenario: Scenario,
    pub json: Value,
    pub notes: Vec<String>,
}

fn clean_id(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        s = "unnamed".into();
    }
    s.chars().take(scenario::ID_LEN_MAX).collect()
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Import definitions text. `vhost` picks one virtual host (default `/`, or
/// the only one there is).
pub fn import(text: &str, vhost: Option<&str>) -> Result<Imported, String> {
    let doc: Value = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| format!("not JSON: {e}"))?;
    let obj = doc.as_object().ok_or("definitions must be a JSON object")?;
    let mut notes = Vec::new();
    let list = |key: &str| -> Vec<&Value> {
        obj.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "queues"
                | "exchanges"
                | "bindings"
                | "policies"
                | "vhosts"
                | "users"
                | "permissions"
                | "topic_permissions"
                | "parameters"
                | "global_parameters"
                | "rabbit_version"
                | "rabbitmq_version"
                | "product_name"
                | "product_version"
                | "explanation"
        ) {
            notes.push(format!("`{key}`: not understood, ignored"));
        }
    }
    let is_operator_policy =
        |p: &&Value| p.get("component").and_then(Value::as_str) == Some("operator_policy");
    for key in ["users", "permissions", "topic_permissions", "parameters"] {
        let n = list(key)
            .iter()
            .filter(|p| key != "parameters" || !is_operator_policy(p))
            .count();
        if n > 0 {
            notes.push(format!("`{key}`: {n} entries ignored (QueueLab models no users, permissions or runtime parameters such as shovels and federation)"));
        }
    }
    // Which vhost.
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    for key in ["queues", "exchanges", "bindings", "policies"] {
        for item in list(key) {
            hosts.insert(
                item.get("vhost")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_string(),
            );
        }
    }
    let vhost = match vhost {
        Some(v) => v.to_string(),
        None if hosts.contains("/") || hosts.is_empty() => "/".to_string(),
        None if hosts.len() == 1 => hosts.iter().next().cloned().unwrap_or_default(),
        None => {
            return Err(format!(
                "several virtual hosts ({}); choose one with --vhost",
                hosts.into_iter().collect::<Vec<_>>().join(", ")
            ))
        }
    };
    for h in hosts.iter().filter(|h| **h != vhost) {
        notes.push(format!("vhost {h:?}: skipped (importing {vhost:?})"));
    }
    let in_vhost = |v: &&Value| v.get("vhost").and_then(Value::as_str).unwrap_or("/") == vhost;

    // Policies.
    let mut policies = Vec::new();
    for (i, p) in list("policies").into_iter().filter(in_vhost).enumerate() {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
        let Some((re, apply, prio, def)) =
            parse_policy(p, &format!("policies[{i}] {name:?}"), "all", &mut notes)
        else {
            continue;
        };
        for k in def.keys() {
            if !matches!(
                k.as_str(),
                "dead-letter-exchange"
                    | "dead-letter-routing-key"
                    | "message-ttl"
                    | "max-length"
                    | "overflow"
                    | "delivery-limit"
                    | "consumer-timeout"
                    | "alternate-exchange"
            ) {
                notes.push(format!("policy {name:?}: `{k}` not modelled, ignored"));
            }
        }
        policies.push((re, apply, prio, def, name.to_string()));
    }

    // Operator policies (`parameters` of component `operator_policy`): they
    // apply to queues, beside the regular policy, and may set only the keys
    // of `rabbit_policies`' `operator_policy_validator`s.
    let mut operator_policies = Vec::new();
    let op_params: Vec<&Value> = list("parameters")
        .into_iter()
        .filter(in_vhost)
        .filter(is_operator_policy)
        .collect();
    for p in op_params {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
        let label = format!("operator policy {name:?}");
        let Some(value) = p.get("value") else {
            notes.push(format!("{label}: no value; ignored"));
            continue;
        };
        let Some((re, apply, prio, def)) = parse_policy(value, &label, "queues", &mut notes) else {
            continue;
        };
        let refused: Vec<&String> = def
            .keys()
            .filter(|k| !OPERATOR_POLICY_KEYS.contains(&k.as_str()))
            .collect();
        for k in &refused {
            notes.push(format!("{label}: `{k}` is not a key an operator policy may set; RabbitMQ refuses the policy; ignored"));
        }
        if !refused.is_empty() {
            continue;
        }
        for k in def.keys().filter(|k| {
            !matches!(
                k.as_str(),
                "message-ttl" | "max-length" | "overflow" | "delivery-limit"
            )
        }) {
            notes.push(format!("{label}: `{k}` not modelled, ignored"));
        }
        operator_policies.push((re, apply, prio, def, name.to_string()));
    }

    // Names: queues keep theirs (cleaned); exchanges too unless a queue has it.
    let mut queue_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let fresh = |want: String, used: &mut BTreeSet<String>| {
        let mut id = want.clone();
        let mut k = 2;
        while used.contains(&id) {
            id = format!("{want}-{k}");
            k += 1;
        }
        used.insert(id.clone());
        id
    };
    // RabbitMQ does not import a queue whose name begins with `amq.` (the
    // prefix is reserved; `rabbit_definitions:add_queue_int` logs "Skipping
    // import of a queue whose name begins with 'amq.'"); its bindings then
    // name a queue that is not defined.
    let queues_in: Vec<&Value> = list("queues")
        .into_iter()
        .filter(in_vhost)
        .filter(|q| {
            let name = q.get("name").and_then(Value::as_str).unwrap_or("");
            let reserved = name.starts_with("amq.");
            if reserved {
                notes.push(format!("queue {name:?}: skipped, as RabbitMQ skips importing a queue whose name begins with `amq.` (a reserved prefix)"));
            }
            !reserved
        })
        .collect();
    // The broker declares the `amq.*` exchanges itself, so an export leaves
    // them out but keeps their bindings (`rabbit_definitions`): the ones a
    // binding uses are declared here, with their built-in types.
    let builtins: Vec<Value> = {
        let mut used_builtins: BTreeSet<&str> = BTreeSet::new();
        for b in list("bindings").into_iter().filter(in_vhost) {
            for end in ["source", "destination"] {
                if let Some(n) = b.get(end).and_then(Value::as_str) {
                    used_builtins.insert(n);
                }
            }
        }
        for q in &queues_in {
            let dlx = q
                .pointer("/arguments/x-dead-letter-exchange")
                .and_then(Value::as_str);
            used_builtins.extend(dlx);
        }
        [
            ("amq.direct", "direct"),
            ("amq.fanout", "fanout"),
            ("amq.topic", "topic"),
            ("amq.headers", "headers"),
            ("amq.match", "headers"),
        ]
        .into_iter()
        .filter(|(n, _)| used_builtins.contains(n))
        .map(|(n, t)| json!({ "name": n, "type": t }))
        .collect()
    };
    let exchanges_in: Vec<&Value> = list("exchanges")
        .into_iter()
        .filter(in_vhost)
        .filter(|x| {
            !x.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("amq."))
        })
        .chain(builtins.iter())
        .collect();
    for q in &queues_in {
        let name = q
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let id = fresh(clean_id(&name), &mut used);
        if id != name {
            notes.push(format!("queue {name:?} is named {id:?} here (scenario ids use letters, digits and - _ . :)"));
        }
        queue_ids.insert(name, id);
    }
    let mut exchange_ids: BTreeMap<String, String> = BTreeMap::new();
    for x in &exchanges_in {
        let name = x
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            continue; // the default exchange
        }
        let mut want = clean_id(&name);
        if used.contains(&want) {
            want = format!("{want}-x");
        }
        let id = fresh(want, &mut used);
        if id != name {
            notes.push(format!("exchange {name:?} is named {id:?} here (a queue has its name, or it uses other characters)"));
        }
        exchange_ids.insert(name, id);
    }

    // Exchanges.
    let mut exchanges: Vec<Map<String, Value>> = Vec::new();
    let mut ex_index: BTreeMap<String, usize> = BTreeMap::new();
    for x in &exchanges_in {
        let name = x.get("name").and_then(Value::as_str).unwrap_or("");
        let Some(id) = exchange_ids.get(name) else {
            continue;
        };
        let kind = match x.get("type").and_then(Value::as_str).unwrap_or("direct") {
            k @ ("direct" | "fanout" | "topic" | "headers") => k.to_string(),
            other => {
                notes.push(format!("exchange {name:?}: type {other:?} (a plugin) is not modelled; imported as direct"));
                "direct".into()
            }
        };
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        m.insert("kind".into(), json!(kind));
        m.insert("bindings".into(), json!([]));
        let args = x.get("arguments").and_then(Value::as_object);
        let ae = args
            .and_then(|a| a.get("alternate-exchange"))
            .or_else(|| {
                policy_for(&policies, name, "exchanges", None)
                    .and_then(|(d, _)| d.get("alternate-exchange"))
            })
            .and_then(Value::as_str);
        if let Some(ae) = ae {
            match exchange_ids.get(ae) {
                Some(aid) => {
                    m.insert("alternate_exchange".into(), json!(aid));
                }
                None => notes.push(format!(
                    "exchange {name:?}: alternate exchange {ae:?} is not defined; ignored"
                )),
            }
        }
        for k in args
            .map(|a| a.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if k != "alternate-exchange" {
                notes.push(format!(
                    "exchange {name:?}: argument `{k}` not modelled, ignored"
                ));
            }
        }
        if x.get("auto_delete").and_then(Value::as_bool) == Some(true) {
            notes.push(format!(
                "exchange {name:?}: `auto_delete` is not modelled (the exchange lives for the whole run)"
            ));
        }
        if x.get("internal").and_then(Value::as_bool) == Some(true) {
            notes.push(format!(
                "exchange {name:?}: `internal` is not modelled (producers may publish to it here)"
            ));
        }
        ex_index.insert(name.to_string(), exchanges.len());
        exchanges.push(m);
    }

    // RabbitMQ 4 gives quorum queues a delivery limit of 20 when none is
    // set; 3.x had none. Definitions without a version are taken as 4.
    let version_major = ["rabbit_version", "rabbitmq_version"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .and_then(|v| v.split('.').next()?.trim().parse::<u32>().ok());
    let quorum_default_limit = version_major.is_none_or(|v| v >= 4);
    // The default exchange, made a direct exchange that binds every queue by
    // its name, once a queue dead-letters through it.
    let mut default_exchange: Option<String> = None;

    // The vhost's default queue type (`metadata.default_queue_type`, as
    // `rabbit_definitions:add_vhost` reads it).
    let default_queue_type = list("vhosts")
        .into_iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(vhost.as_str()))
        .and_then(|v| v.pointer("/metadata/default_queue_type"))
        .and_then(Value::as_str)
        .filter(|t| matches!(*t, "quorum" | "stream" | "classic"));

    // Queues.
    let mut queues: Vec<Map<String, Value>> = Vec::new();
    for q in &queues_in {
        let name = q.get("name").and_then(Value::as_str).unwrap_or("");
        let id = &queue_ids[name];
        let mut args = q
            .get("arguments")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // A queue declared without `x-queue-type` gets the vhost's default
        // type when it is durable, not exclusive and not auto-delete (what
        // a quorum queue or a stream can be), else classic
        // (`rabbit_amqqueue:augment_declare_args`).
        if let (Some(t), None) = (default_queue_type, args.get("x-queue-type")) {
            let flag = |k: &str, dflt: bool| q.get(k).and_then(Value::as_bool).unwrap_or(dflt);
            let fits = t == "classic"
                || (flag("durable", true)
                    && !flag("exclusive", false)
                    && !flag("auto_delete", false));
            if fits && t != "classic" {
                notes.push(format!("queue {name:?}: no `x-queue-type`; the vhost's default_queue_type {t:?} applies"));
                args.insert("x-queue-type".into(), json!(t));
            }
        }
        let queue_type = match args.get("x-queue-type").and_then(Value::as_str) {
            Some("quorum") => "quorum",
            Some("stream") => "stream",
            _ => "classic",
        };
        let merged = merge_operator_policy(
            policy_for(&policies, name, "queues", Some(queue_type)),
            policy_for(&operator_policies, name, "queues", Some(queue_type)),
        );
        let pol = merged.as_ref().map(|(d, n)| (d, n.as_str()));
        if let Some((_, pname)) = pol {
            notes.push(format!("queue {name:?}: {pname} applied"));
        }
        // An argument the queue type refuses fails the declaration in
        // RabbitMQ (`rabbit_amqqueue:check_arguments_key`: "invalid arg …
        // for queue type classic", e.g. `x-delivery-limit` on a classic
        // queue); here it is left out with a note.
        let refused: Vec<&String> = args
            .keys()
            .filter(|k| {
                k.strip_prefix("x-")
                    .is_some_and(|key| refuses_policy_key(queue_type, key))
            })
            .collect();
        for k in &refused {
            notes.push(format!("queue {name:?}: RabbitMQ refuses argument `{k}` on a {queue_type} queue (precondition_failed); ignored"));
        }
        // A limit that is not an integer (a string, a fraction, a negative
        // length or TTL) makes RabbitMQ refuse the declaration or the
        // policy (`rabbit_amqqueue:check_non_neg_int_arg`,
        // `check_message_ttl_arg`; a negative delivery limit is valid: no
        // limit); here it is left out with a note.
        for k in [
            "max-length",
            "message-ttl",
            "delivery-limit",
            "consumer-timeout",
        ] {
            if let Some(v) = args.get(&format!("x-{k}")).filter(|v| !limit_valid(k, v)) {
                notes.push(format!("queue {name:?}: argument `x-{k}` = {v} is not {}; RabbitMQ refuses the declaration (precondition_failed); ignored", limit_rule(k)));
            }
            if let Some((d, pname)) = pol {
                if let Some(v) = d.get(k).filter(|v| !limit_valid(k, v)) {
                    notes.push(format!("queue {name:?}: {pname} sets `{k}` = {v}, not {}; RabbitMQ refuses the policy; ignored", limit_rule(k)));
                }
            }
        }
        let from_arg = |k: &str| {
            args.get(&format!("x-{k}"))
                .filter(|_| !refuses_policy_key(queue_type, k))
                .filter(|v| limit_valid(k, v))
        };
        let from_pol = |k: &str| {
            pol.and_then(|(d, _)| d.get(k))
                .filter(|v| limit_valid(k, v))
        };
        // Argument wins (dead-lettering, overflow).
        let pick = |k: &str| from_arg(k).or_else(|| from_pol(k));
        // The lower value wins (limits).
        let lower = |k: &str| match (from_arg(k).and_then(as_u64), from_pol(k).and_then(as_u64)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        if q.get("durable").and_then(Value::as_bool) == Some(false) {
            m.insert("durable".into(), json!(false));
        }
        for flag in ["auto_delete", "exclusive"] {
            if q.get(flag).and_then(Value::as_bool) == Some(true) {
                notes.push(format!(
                    "queue {name:?}: `{flag}` is not modelled (the queue lives for the whole run; RabbitMQ deletes it, messages and all, {})",
                    if flag == "exclusive" { "when its connection closes" } else { "when its last consumer goes" }
                ));
            }
        }
        if let Some(n) = lower("max-length") {
            m.insert(
                "max_length".into(),
                json!(n.min(scenario::MAX_LENGTH_MAX as u64)),
            );
        }
        // Quorum queues let the policy win on overflow
        // (`rabbit_quorum_queue`, `policy_has_precedence`) and do not know
        // reject-publish-dlx (they fall back to drop-head with a warning).
        let overflow = if queue_type == "quorum" {
            from_pol("overflow").or_else(|| from_arg("overflow"))
        } else {
            pick("overflow")
        };
        if let Some(o) = overflow.and_then(Value::as_str) {
            if queue_type == "quorum" && o == "reject-publish-dlx" {
                notes.push(format!(
                    "queue {name:?}: quorum queues do not support reject-publish-dlx; drop-head, as RabbitMQ falls back"
                ));
            } else if matches!(o, "drop-head" | "reject-publish" | "reject-publish-dlx") {
                m.insert("overflow".into(), json!(o));
            } else {
                notes.push(format!(
                    "queue {name:?}: overflow {o:?} not understood; drop-head"
                ));
            }
        }
        if let Some(ms) = lower("message-ttl") {
            m.insert("ttl".into(), json!(format!("{ms}ms")));
        }
        if let Some(dlx) = pick("dead-letter-exchange").and_then(Value::as_str) {
            match exchange_ids.get(dlx) {
                Some(x) => {
                    m.insert("dead_letter_exchange".into(), json!(x));
                }
                None if dlx.is_empty() => {
                    let x = default_exchange.get_or_insert_with(|| {
                        let x = fresh("default-exchange".into(), &mut used);
                        let bindings: Vec<Value> = queue_ids
                            .iter()
                            .map(|(qname, qid)| json!({ "queue": qid, "key": qname }))
                            .collect();
                        let mut d = Map::new();
                        d.insert("id".into(), json!(x));
                        d.insert("kind".into(), json!("direct"));
                        d.insert("bindings".into(), Value::Array(bindings));
                        exchanges.push(d);
                        notes.push(format!("the default exchange (a dead-letter target) is exchange {x:?} here: a direct exchange binding every queue by its name"));
                        x
                    });
                    m.insert("dead_letter_exchange".into(), json!(x));
                }
                None => notes.push(format!(
                    "queue {name:?}: dead-letter exchange {dlx:?} is not defined; ignored"
                )),
            }
        }
        if let Some(rk) = pick("dead-letter-routing-key").and_then(Value::as_str) {
            if m.contains_key("dead_letter_exchange") {
                m.insert("dead_letter_routing_key".into(), json!(rk));
            } else {
                notes.push(format!("queue {name:?}: dead-letter routing key {rk:?} ignored (no dead-letter exchange imported)"));
            }
        }
        if let Some(n) = lower("delivery-limit") {
            m.insert(
                "delivery_limit".into(),
                json!(n.min(scenario::ATTEMPTS_MAX as u64)),
            );
        } else if queue_type == "quorum"
            && (from_arg("delivery-limit").is_some() || from_pol("delivery-limit").is_some())
        {
            // Only negative limits were given: RabbitMQ 4 reads a negative
            // delivery limit as none. The queue stays a quorum queue (in a
            // scenario, one with a `delivery_limit`), with one never reached.
            m.insert("delivery_limit".into(), json!(u32::MAX));
            notes.push(format!("queue {name:?}: a negative delivery limit means none; imported as delivery_limit {} (never reached), which keeps it a quorum queue", u32::MAX));
        } else if queue_type == "quorum" && !quorum_default_limit {
            // 3.x: a quorum queue has no delivery limit by default.
            m.insert("delivery_limit".into(), json!(u32::MAX));
            notes.push(format!("queue {name:?}: a RabbitMQ 3.x quorum queue has no delivery limit; imported as delivery_limit {} (never reached), which keeps it a quorum queue", u32::MAX));
        } else if queue_type == "quorum" {
            m.insert("delivery_limit".into(), json!(20));
            notes.push(format!("queue {name:?}: a quorum queue without a delivery limit gets RabbitMQ 4's default of 20"));
        }
        // `x-consumer-timeout` / policy `consumer-timeout` (ms; the lower
        // wins, `rabbit_channel:get_queue_consumer_timeout`).
        if let Some(ms) = lower("consumer-timeout") {
            if ms == 0 {
                notes.push(format!("queue {name:?}: consumer timeout 0 ms imported as 1ms (the shortest a scenario takes)"));
            }
            m.insert("consumer_timeout".into(), json!(format!("{}ms", ms.max(1))));
        }
        // `x-max-priority` (an argument only: RabbitMQ takes no priority
        // from a policy): an integer up to 255 (`check_max_priority_arg`),
        // 0 counting as 1 (`rabbit_priority_queue:priorities/1`).
        if let Some(v) = args
            .get("x-max-priority")
            .filter(|_| !refuses_policy_key(queue_type, "max-priority"))
        {
            match v.as_u64().filter(|&n| n <= 255) {
                Some(n) => {
                    if n == 0 {
                        notes.push(format!("queue {name:?}: `x-max-priority` 0 counts as 1 in RabbitMQ; imported as 1"));
                    }
                    m.insert("max_priority".into(), json!(n.max(1)));
                }
                None => notes.push(format!("queue {name:?}: argument `x-max-priority` = {v} is not an integer from 0 to 255; RabbitMQ refuses the declaration (precondition_failed); ignored")),
            }
        }
        // `x-single-active-consumer` (an argument only: no policy sets it).
        match args.get("x-single-active-consumer") {
            Some(Value::Bool(true)) => {
                m.insert("single_active_consumer".into(), json!(true));
            }
            Some(Value::Bool(false)) | None => {}
            Some(v) => notes.push(format!("queue {name:?}: argument `x-single-active-consumer` = {v} is not a boolean; RabbitMQ refuses the declaration (precondition_failed); ignored")),
        }
        for k in args.keys() {
            let known = matches!(
                k.as_str(),
                "x-max-priority"
                    | "x-single-active-consumer"
                    | "x-max-length"
                    | "x-overflow"
                    | "x-message-ttl"
                    | "x-dead-letter-exchange"
                    | "x-dead-letter-routing-key"
                    | "x-delivery-limit"
                    | "x-consumer-timeout"
                    | "x-queue-type"
            );
            if !known && !refused.contains(&k) {
                notes.push(format!(
                    "queue {name:?}: argument `{k}` not modelled, ignored"
                ));
            }
        }
        match args.get("x-queue-type").and_then(Value::as_str) {
            None | Some("classic" | "quorum") => {}
            Some(t) => notes.push(format!(
                "queue {name:?}: queue type {t:?} is not modelled; imported as a queue"
            )),
        }
        queues.push(m);
    }

    // Bindings.
    let mut bound_from: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for (i, b) in list("bindings").into_iter().filter(in_vhost).enumerate() {
        let src = b.get("source").and_then(Value::as_str).unwrap_or("");
        let dst = b.get("destination").and_then(Value::as_str).unwrap_or("");
        let dtype = b
            .get("destination_type")
            .and_then(Value::as_str)
            .unwrap_or("queue");
        let Some(&xi) = ex_index.get(src) else {
            notes.push(format!("bindings[{i}]: source {src:?} is not an imported exchange (the default exchange binds every queue by name already); ignored"));
            continue;
        };
        let mut bm = Map::new();
        match dtype {
            "queue" => match queue_ids.get(dst) {
                Some(q) => {
                    bm.insert("queue".into(), json!(q));
                }
                None => {
                    notes.push(format!(
                        "bindings[{i}]: queue {dst:?} is not defined; ignored"
                    ));
                    continue;
                }
            },
            "exchange" => match exchange_ids.get(dst) {
                Some(x) => {
                    bm.insert("exchange".into(), json!(x));
                }
                None => {
                    notes.push(format!(
                        "bindings[{i}]: exchange {dst:?} is not defined; ignored"
                    ));
                    continue;
                }
            },
            other => {
                notes.push(format!(
                    "bindings[{i}]: destination type {other:?} not understood; ignored"
                ));
                continue;
            }
        }
        let key = b.get("routing_key").and_then(Value::as_str).unwrap_or("");
        let kind = exchanges[xi]["kind"]
            .as_str()
            .unwrap_or("direct")
            .to_string();
        if kind != "fanout" && kind != "headers" {
            bm.insert("key".into(), json!(key));
        }
        if kind == "headers" {
            let args = b
                .get("arguments")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut headers = Map::new();
            for (k, v) in &args {
                if k == "x-match" {
                    let m = v.as_str().unwrap_or("all");
                    if XMatch::parse(m).is_some() {
                        bm.insert("x_match".into(), json!(m));
                    } else {
                        notes.push(format!("bindings[{i}]: x-match {m:?} not understood; all"));
                    }
                } else {
                    // `x-` arguments are kept: `all` and `any` skip them, and
                    // `all-with-x` / `any-with-x` compare them.
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => {
                            headers.insert(k.clone(), Value::Null);
                            continue;
                        }
                        other => {
                            notes.push(format!("bindings[{i}]: argument {k:?} = {other} is compared as the text {:?} (header values are text here; RabbitMQ compares types too)", other.to_string()));
                            other.to_string()
                        }
                    };
                    headers.insert(k.clone(), json!(text));
                }
            }
            bm.insert("headers".into(), Value::Object(headers));
        }
        bound_from
            .entry(src.to_string())
            .or_default()
            .push((dtype.to_string(), json!(dst)));
        if let Some(Value::Array(list)) = exchanges[xi].get_mut("bindings") {
            list.push(Value::Object(bm));
        }
    }

    // Traffic so the picture moves: definitions carry none.
    let dlx_targets: BTreeSet<String> = queues
        .iter()
        .filter_map(|q| {
            q.get("dead_letter_exchange")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .chain(exchanges.iter().filter_map(|x| {
            x.get("alternate_exchange")
                .and_then(Value::as_str)
                .map(str::to_string)
        }))
        .chain(exchanges.iter().flat_map(|x| {
            x["bindings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    b.get("exchange")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
        }))
        .collect();
    let mut producers = Vec::new();
    let mut fed: BTreeSet<String> = BTreeSet::new();
    for x in &exchanges {
        let id = x["id"].as_str().unwrap_or_default().to_string();
        let binds = x["bindings"].as_array().cloned().unwrap_or_default();
        if dlx_targets.contains(&id) || binds.is_empty() {
            continue;
        }
        let mut p = Map::new();
        p.insert(
            "id".into(),
            json!(fresh(format!("{id}-publisher"), &mut used)),
        );
        p.insert("to".into(), json!(id));
        p.insert("rate".into(), json!("10/s"));
        p.insert("arrival".into(), json!("poisson"));
        // Route to every binding in turn: keys with topic wildcards made concrete.
        let keys: Vec<String> = binds
            .iter()
            .filter_map(|b| b.get("key").and_then(Value::as_str))
            .map(|k| {
                k.split('.')
                    .map(|w| if w == "*" || w == "#" { "any" } else { w })
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !keys.is_empty() {
            p.insert("routing_keys".into(), json!({ "round_robin": keys }));
        }
        let header_sets: Vec<Value> = binds
            .iter()
            .filter_map(|b| b.get("headers").and_then(Value::as_object))
            .map(|h| {
                Value::Object(
                    h.iter()
                        .map(|(k, v)| (k.clone(), json!(v.as_str().unwrap_or("yes"))))
                        .collect(),
                )
            })
            .collect();
        if !header_sets.is_empty() {
            p.insert("header_sets".into(), Value::Array(header_sets));
        }
        // Every queue this exchange reaches, through exchange-to-exchange bindings too.
        let mut todo = vec![id.clone()];
        let mut seen = BTreeSet::new();
        while let Some(xid) = todo.pop() {
            if !seen.insert(xid.clone()) {
                continue;
            }
            let Some(x) = exchanges.iter().find(|x| x["id"] == json!(xid)) else {
                continue;
            };
            for b in x["bindings"].as_array().into_iter().flatten() {
                if let Some(q) = b.get("queue").and_then(Value::as_str) {
                    fed.insert(q.to_string());
                }
                if let Some(e) = b.get("exchange").and_then(Value::as_str) {
                    todo.push(e.to_string());
                }
            }
        }
        producers.push(Value::Object(p));
    }
    let mut consumers = Vec::new();
    for q in &queues {
        let id = q["id"].as_str().unwrap_or_default();
        if fed.contains(id) {
            consumers.push(json!({
                "id": fresh(format!("{id}-consumer"), &mut used),
                "queue": id,
                "service": { "exponential": "20ms" },
            }));
        }
    }
    if !producers.is_empty() || !consumers.is_empty() {
        notes.push(format!(
            "added {} producer(s) at 10/s on the entry exchanges and {} consumer(s) on the queues they feed, so the scenario runs (definitions carry no clients); dead-letter and wait queues have none",
            producers.len(),
            consumers.len()
        ));
    }
    let out = json!({
        "title": "Imported RabbitMQ definitions",
        "description": format!(
            "Imported from definitions.json (vhost {vhost:?}): {} exchanges, {} queues. {}",
            exchanges.len(),
            queues.len(),
            if producers.is_empty() && consumers.is_empty() {
                "No exchange feeds a queue, so no producers or consumers were added; see the import notes."
            } else {
                "Producers and consumers were added so it runs; see the import notes."
            }
        ),
        "producers": producers,
        "exchanges": exchanges,
        "queues": queues,
        "consumers": consumers,
    });
    let scenario = scenario::load(&out.to_string())
        .map_err(|e| format!("the imported scenario is invalid:\n{e}"))?;
    Ok(Imported {
        scenario,
        json: out,
        notes,
    })
}
