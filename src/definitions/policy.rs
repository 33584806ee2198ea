//! RabbitMQ policies for `definitions import`: which keys each queue type
//! refuses, which policy applies to a queue (`rabbit_policy:matches`, the
//! highest priority), how an operator policy merges with it
//! (`rabbit_policy:get/2`), and which limit values RabbitMQ accepts.
//! Patterns are PCRE, as Erlang's `re` matches them (`fancy-regex`).

use fancy_regex::Regex;
use serde_json::{json, Map, Value};

/// A parsed policy: pattern, apply-to, priority, definition, name.
pub(super) type Policy<'a> = (Regex, String, i64, &'a Map<String, Value>, String);

/// Policy keys that belong to one queue type; the other types refuse them
/// (grouped as the `unsupported_policies` of `rabbit_classic_queue`,
/// `rabbit_quorum_queue` and `rabbit_stream_queue` group them).
const CLASSIC_KEYS: &[&str] = &[
    "max-priority",
    "queue-mode",
    "ha-mode",
    "ha-params",
    "ha-sync-mode",
    "ha-promote-on-shutdown",
    "ha-promote-on-failure",
    "queue-master-locator",
];
const QUORUM_KEYS: &[&str] = &[
    "delivery-limit",
    "dead-letter-strategy",
    "max-in-memory-length",
    "max-in-memory-bytes",
    "target-group-size",
];
const STREAM_KEYS: &[&str] = &[
    "max-age",
    "stream-max-segment-size-bytes",
    "initial-cluster-size",
];
/// What a stream refuses besides the classic and quorum keys: it has no
/// TTL, length limit or dead-lettering.
const NOT_FOR_STREAMS: &[&str] = &[
    "expires",
    "message-ttl",
    "dead-letter-exchange",
    "dead-letter-routing-key",
    "max-length",
    "overflow",
];

/// Does a queue of `queue_type` refuse a policy holding `key`? Such a policy
/// does not apply to it at all (`rabbit_queue_type:is_policy_applicable`).
pub(super) fn refuses_policy_key(queue_type: &str, key: &str) -> bool {
    let groups: &[&[&str]] = match queue_type {
        "quorum" => &[CLASSIC_KEYS, STREAM_KEYS],
        "classic" => &[QUORUM_KEYS, STREAM_KEYS],
        "stream" => &[CLASSIC_KEYS, QUORUM_KEYS, NOT_FOR_STREAMS],
        _ => &[],
    };
    groups.iter().any(|g| g.contains(&key))
}

/// A policy's applicable definition for `name` of `kind` ("queues"/"exchanges").
/// A queue's policies are picked as `rabbit_policy:matches` does: `apply-to`
/// is `all`, `queues` or the queue type's own (`classic_queues`,
/// `quorum_queues`), and a policy with a key the type refuses is passed over
/// before the highest priority is taken.
pub(super) fn policy_for<'a>(
    policies: &'a [Policy<'a>],
    name: &str,
    kind: &str,
    queue_type: Option<&str>,
) -> Option<(&'a Map<String, Value>, &'a str)> {
    // `policy_apply_to_name` of each queue type.
    let type_apply = queue_type.map(|t| match t {
        "quorum" => "quorum_queues",
        "stream" => "streams",
        _ => "classic_queues",
    });
    policies
        .iter()
        .filter(|(re, apply, _, _, _)| {
            (apply == "all" || apply == kind || type_apply == Some(apply.as_str()))
                // A match that runs out of its backtracking budget counts as
                // none (the policy is not applied, as with a non-match).
                && re.is_match(name).unwrap_or(false)
        })
        .filter(|(_, _, _, def, _)| {
            let t = queue_type.unwrap_or("");
            !def.keys().any(|k| refuses_policy_key(t, k))
        })
        // Highest priority wins; among equals the first listed.
        .fold(None::<&Policy>, |best, p| match best {
            Some(b) if b.2 >= p.2 => Some(b),
            _ => Some(p),
        })
        .map(|p| (p.3, p.4.as_str()))
}

/// The keys an operator policy may set (`rabbit_policies`:
/// `operator_policy_validator`).
pub(super) const OPERATOR_POLICY_KEYS: &[&str] = &[
    "expires",
    "message-ttl",
    "max-length",
    "max-length-bytes",
    "max-in-memory-length",
    "max-in-memory-bytes",
    "delivery-limit",
    "queue-version",
    "overflow",
];

/// A queue's effective policy: its policy and its operator policy, merged
/// as `rabbit_policy:get/2` does. A key only one of them sets is taken from
/// it; for a key both set, `rabbit_policies:merge_policy_value` decides: the
/// lower limit (a negative delivery limit, no limit, yields to the other),
/// the operator's overflow. The name says which applied, for the notes.
pub(super) fn merge_operator_policy(
    pol: Option<(&Map<String, Value>, &str)>,
    op: Option<(&Map<String, Value>, &str)>,
) -> Option<(Map<String, Value>, String)> {
    let Some((op_def, op_name)) = op else {
        return pol.map(|(d, n)| (d.clone(), format!("policy {n:?}")));
    };
    let Some((def, pname)) = pol else {
        return Some((op_def.clone(), format!("operator policy {op_name:?}")));
    };
    let mut m = def.clone();
    for (k, op_v) in op_def {
        let v = match (m.get(k), k.as_str()) {
            (Some(v), "delivery-limit") => match (v.as_i64(), op_v.as_i64()) {
                (Some(a), Some(b)) if a < 0 || b < 0 => json!(a.max(b)),
                (Some(a), Some(b)) => json!(a.min(b)),
                _ => op_v.clone(),
            },
            (
                Some(v),
                "expires"
                | "message-ttl"
                | "max-length"
                | "max-length-bytes"
                | "max-in-memory-length"
                | "max-in-memory-bytes",
            ) => match (v.as_u64(), op_v.as_u64()) {
                (Some(a), Some(b)) => json!(a.min(b)),
                _ => op_v.clone(),
            },
            _ => op_v.clone(),
        };
        m.insert(k.clone(), v);
    }
    Some((
        m,
        format!("policy {pname:?} with operator policy {op_name:?}"),
    ))
}

/// Is `v` a value RabbitMQ accepts for the limit `key` (`max-length`,
/// `message-ttl`: non-negative integers; `delivery-limit`: any integer, a
/// negative one meaning none)? Other keys are not checked here.
pub(super) fn limit_valid(key: &str, v: &Value) -> bool {
    match key {
        "max-length" | "message-ttl" | "consumer-timeout" => v.as_u64().is_some(),
        "delivery-limit" => v.as_i64().is_some() || v.as_u64().is_some(),
        _ => true,
    }
}

/// What `limit_valid` wants for `key`, for a note.
pub(super) fn limit_rule(key: &str) -> &'static str {
    if key == "delivery-limit" {
        "an integer"
    } else {
        "a non-negative integer"
    }
}

/// A policy's body (a `policies` entry, or an operator policy's `value`):
/// pattern, apply-to (`default_apply` when absent), priority, definition.
/// `None`, with a note naming `label`, when RabbitMQ would refuse it.
pub(super) fn parse_policy<'a>(
    body: &'a Value,
    label: &str,
    default_apply: &str,
    notes: &mut Vec<String>,
) -> Option<(Regex, String, i64, &'a Map<String, Value>)> {
    let pattern = body.get("pattern").and_then(Value::as_str).unwrap_or("");
    let re = match Regex::new(pattern) {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!(
                "{label}: pattern {pattern:?} is not a regular expression ({e}); ignored"
            ));
            return None;
        }
    };
    let apply = body
        .get("apply-to")
        .and_then(Value::as_str)
        .unwrap_or(default_apply)
        .to_string();
    if !matches!(
        apply.as_str(),
        "all" | "queues" | "classic_queues" | "quorum_queues" | "streams" | "exchanges"
    ) {
        notes.push(format!("{label}: apply-to {apply:?} is not one of all, queues, classic_queues, quorum_queues, streams, exchanges; ignored"));
        return None;
    }
    let prio = body.get("priority").and_then(Value::as_i64).unwrap_or(0);
    let Some(def) = body.get("definition").and_then(Value::as_object) else {
        notes.push(format!("{label}: no definition; ignored"));
        return None;
    };
    Some((re, apply, prio, def))
}
