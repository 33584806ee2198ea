//! Changing a scenario by path: `{"consumers[0].instances": 3}`.
//!
//! Used by lesson steps (`set`), by scenario `variants` and by sweeps. A path
//! uses the report paths' syntax (`scenario::expect`): field names joined by
//! `.`, `[n]` for a list item, `["a.b"]` for a name with a dot. The last step
//! may name a field the scenario leaves out (it is added); every other step
//! must exist. The result is validated as a whole, so a changed scenario is
//! exactly as trustworthy as a file: errors name the path that was set, or
//! the field of the result that became invalid. A path of one field replaces
//! that whole section (`{"queues": [], "topics": [...]}`): that is how a
//! comparison lane swaps one broker for another (`broker-comparison`).

use super::expect::{self, Step};
use super::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;

/// Set one path in a JSON value. The error says which step does not fit.
pub fn set_path(doc: &mut Value, path_text: &str, value: Value) -> Result<(), String> {
    let e = expect::parse(&format!("{path_text} == 0"))?;
    let steps = &e.path.0;
    let mut at = doc;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        at = match (step, at) {
            (Step::Field(name), Value::Object(map)) => {
                if last {
                    map.insert(name.clone(), value);
                    return Ok(());
                }
                map.get_mut(name)
                    .ok_or_else(|| format!("no field {name:?} here"))?
            }
            (Step::Index(n), Value::Array(items)) => {
                let len = items.len();
                let item = items
                    .get_mut(*n)
                    .ok_or_else(|| format!("the list has {len} item(s)"))?;
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
            _ => return Err("the path does not match the scenario".into()),
        };
    }
    Err("empty path".into())
}

/// Apply every `path → value` of `set` to `base`, then validate the result.
/// Errors: `set."producers[3].rate": the list has 1 item(s)`, or
/// `the changed scenario is invalid: consumers[0].prefetch: …`.
pub fn apply(base: &Scenario, set: &BTreeMap<String, Value>) -> Result<Scenario, String> {
    if set.is_empty() {
        return Ok(base.clone());
    }
    let mut v = serde_json::to_value(base).map_err(|e| e.to_string())?;
    for (path_text, value) in set {
        set_path(&mut v, path_text, value.clone())
            .map_err(|why| format!("set.{path_text:?}: {why}"))?;
    }
    super::load(&v.to_string()).map_err(|mut e| {
        // The text is generated here, one line long: a position in it means
        // nothing to whoever wrote the `set`, the field path says it all.
        for issue in &mut e.issues {
            issue.message = without_position(&issue.message).to_string();
        }
        format!("the changed scenario is invalid: {e}")
    })
}

/// `msg` without serde_json's trailing ` at line L column C`.
fn without_position(msg: &str) -> &str {
    let Some(at) = msg.rfind(" at line ") else {
        return msg;
    };
    let tail = &msg[at + " at line ".len()..];
    let position = tail.split_once(" column ").is_some_and(|(l, c)| {
        !l.is_empty()
            && !c.is_empty()
            && l.bytes().all(|b| b.is_ascii_digit())
            && c.bytes().all(|b| b.is_ascii_digit())
    });
    if position {
        &msg[..at]
    } else {
        msg
    }
}

/// The alert rule the variants are about, when they change nothing but
/// alert rules and all change the same one (`alerts[0].window`, …): its
/// index. Alerts only watch, so such lanes run the same messages and differ
/// only in when that rule fires; the app's lanes then lead with it.
pub fn variants_only_change_alert(variants: &[super::Variant]) -> Option<usize> {
    let index = |k: &str| -> Option<usize> {
        let rest = k.strip_prefix("alerts[")?;
        let (n, tail) = rest.split_once(']')?;
        tail.starts_with('.').then(|| n.parse().ok())?
    };
    let mut keys = variants.iter().flat_map(|v| v.set.keys()).peekable();
    keys.peek()?;
    let mut found = None;
    for k in keys {
        let i = index(k)?;
        if *found.get_or_insert(i) != i {
            return None;
        }
    }
    found
}

/// Whether some variant replaces a whole section (`"queues"`, `"topics"`) or
/// points a node elsewhere (`producers[0].to`, a consumer's `queue`): the
/// lanes then draw different pictures.
pub fn variants_change_topology(variants: &[super::Variant]) -> bool {
    const SECTIONS: [&str; 12] = [
        "producers",
        "exchanges",
        "queues",
        "consumers",
        "topics",
        "consumer_groups",
        "redis_pubsub",
        "redis_subscribers",
        "redis_streams",
        "redis_groups",
        "pulsar_topics",
        "pulsar_subscriptions",
    ];
    variants.iter().flat_map(|v| v.set.keys()).any(|k| {
        SECTIONS.contains(&k.as_str())
            || [".to", ".queue", ".topic", ".topics", ".stream", ".server"]
                .iter()
                .any(|end| k.ends_with(end))
    })
}
