//! Scenarios: the JSON format people write by hand, its validation, and the presets.
//!
//!   JSON text ──parse (serde, unknown fields rejected)──► Scenario ──validate──► Engine::new
//!
//! Every error names the JSON path of the offending field
//! (`consumers[1].prefetch: must be at least 1`). Parsing never panics,
//! whatever the bytes.

pub mod alert;
pub mod broker;
mod command;
mod command_text;
pub mod edit;
pub mod expect;
mod guarantee;
mod json_path;
pub mod patch;
mod presets;
mod pulsar;
mod redis;
mod sqs;
mod stream;
mod types;
mod units;
mod validate;

pub use alert::{AlertMetric, AlertRule};
pub use broker::{check_broker_costs, BrokerCosts, BrokerKind, BROKER_COST_MAX};
pub use command::{Command, LoggedCommand};
pub use guarantee::*;
pub use json_path::{error_path, VARIANT_FIELDS};
pub use presets::{preset, presets, Preset};
pub use pulsar::*;
pub use redis::*;
pub use sqs::*;
pub use stream::*;
pub use types::*;
pub use units::clip;
pub use units::{parse_duration, parse_f64, parse_rate, Duration, Rate};
pub use validate::{
    check_arrival, check_confirms, check_consumer_faults, check_dedup, check_link_faults,
    check_publish_one, check_retry, check_service, check_subscription, validate, FieldError,
    VARIANTS_MAX,
};

/// Limits on what a scenario may ask for (everything has a bound).
pub const NODES_MAX: usize = 256;
pub const INSTANCES_MAX: u32 = 1000;
pub const PREFETCH_MAX: u32 = 10_000;
pub const MAX_LENGTH_MAX: u32 = 10_000_000;
pub const ATTEMPTS_MAX: u32 = 1000;
pub const COPIES_MAX: u32 = 100;
pub const KEYS_MAX: u32 = 100_000;
pub const BURST_MAX: u32 = 100_000;
pub const SCHEDULE_MAX: usize = 10_000;
pub const ID_LEN_MAX: usize = 64;
/// Longest routing key, message key, binding key or header name, in bytes:
/// AMQP's short string. Bounds the work of matching one key.
pub const KEY_LEN_MAX: usize = 255;
/// Longest header value, in bytes. AMQP's field-table values are long
/// strings (RabbitMQ takes values longer than 255 bytes); this cap, far
/// above any routing use, bounds the memory and the comparison of one.
pub const HEADER_VALUE_LEN_MAX: usize = 65_535;
/// Most headers in one header map (a producer's headers, one header set, a
/// binding's headers).
pub const HEADERS_MAX: usize = 64;
/// Largest scenario text read from a file or stdin (4 MiB; the biggest preset is ~10 KiB).
pub const SCENARIO_BYTES_MAX: usize = 4 * 1024 * 1024;

/// One problem in a scenario: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioIssue {
    /// JSON path such as `consumers[1].prefetch` (empty for the whole document).
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ScenarioIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All problems found in a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub issues: Vec<ScenarioIssue>,
}

impl ScenarioError {
    pub fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            issues: vec![ScenarioIssue {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}
impl std::error::Error for ScenarioError {}

/// Parse scenario JSON, reporting the path of the first structural error.
/// Does not run semantic validation (see `load`).
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    use serde::Deserialize;
    // Editors on some systems start UTF-8 files with a byte-order mark; it is
    // not JSON, but it is not a mistake of the author either.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // serde accepts a struct written as a JSON array; a scenario is an object.
    if !text.trim_start().starts_with('{') {
        return Err(ScenarioError::one(
            "",
            "a scenario must be a JSON object ({ ... })",
        ));
    }
    // From bytes, as `link::Link::decode` reads its payload: one deserializer
    // type for both keeps a single copy of the scenario's deserialization code
    // in the wasm. Valid UTF-8 gives the same values, errors and positions.
    let mut de = serde_json::Deserializer::from_slice(text.as_bytes());
    match Scenario::deserialize(&mut de) {
        Ok(mut s) => {
            de.end().map_err(|e| {
                ScenarioError::one("", format!("trailing data after the scenario: {e}"))
            })?;
            // serde also fills an object from a list, by position; refuse it.
            let written: serde_json::Value =
                serde_json::from_slice(text.as_bytes()).unwrap_or_default();
            let read = serde_json::to_value(&s).unwrap_or_default();
            if let Some(path) = json_path::list_for_object(&written, &read) {
                return Err(ScenarioError::one(
                    path,
                    "must be an object ({\"field\": value, ...}), not a list: \
                     a list fills the fields by position, hiding which value is which",
                ));
            }
            name_default_exchange(&mut s);
            Ok(s)
        }
        Err(err) => {
            let path = error_path(text.as_bytes(), &err);
            if let Some(issue) = command_issue(text, &path) {
                return Err(ScenarioError {
                    issues: vec![issue],
                });
            }
            let msg = err.to_string();
            // An enum field given none of its forms: name them all.
            let reject = |bytes: &[u8]| {
                Scenario::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).err()
            };
            if let Some((path, msg)) = json_path::enum_issue(text, &path, &msg, &reject) {
                return Err(ScenarioError::one(path, msg));
            }
            // serde_json appends " at line L column C"; keep it, it helps hand
            // editing. Its text may echo a whole value: a megabyte is cut.
            let msg = match msg.rfind(" at line ") {
                Some(k) if k > 300 => format!("{}{}", clip(&msg[..k], 200), &msg[k..]),
                _ => msg,
            };
            Err(ScenarioError::one(path, msg))
        }
    }
}

/// The id the default exchange gets when a queue dead-letters through it
/// (the name RabbitMQ's HTTP API gives the nameless default exchange).
pub const DEFAULT_EXCHANGE_ID: &str = "amq.default";

/// `"dead_letter_exchange": ""` is RabbitMQ's default exchange, which routes
/// a message to the queue named by its routing key (the queue's
/// `dead_letter_routing_key`, else the key it was published with). The
/// engine has no nameless exchange, so the scenario gets what the default
/// exchange is: a direct exchange `amq.default` binding every (AMQP) queue by
/// its id, drawn like any other, and the queues point at it. Left alone when
/// an exchange or queue already has that id (validation then names the
/// clash).
fn name_default_exchange(s: &mut Scenario) {
    let uses_default = s
        .queues
        .iter()
        .any(|q| q.dead_letter_exchange.as_deref() == Some(""));
    if !uses_default
        || s.exchanges.iter().any(|x| x.id == DEFAULT_EXCHANGE_ID)
        || s.queues.iter().any(|q| q.id == DEFAULT_EXCHANGE_ID)
    {
        return;
    }
    let bindings = s
        .queues
        .iter()
        .filter(|q| q.sqs.is_none())
        .map(|q| Binding {
            queue: Some(q.id.clone()),
            exchange: None,
            key: q.id.clone(),
            x_match: None,
            headers: Default::default(),
        })
        .collect();
    s.exchanges.push(Exchange {
        id: DEFAULT_EXCHANGE_ID.to_string(),
        kind: ExchangeKind::Direct,
        bindings,
        alternate_exchange: None,
    });
    for q in &mut s.queues {
        if q.dead_letter_exchange.as_deref() == Some("") {
            q.dead_letter_exchange = Some(DEFAULT_EXCHANGE_ID.to_string());
        }
    }
}

/// A schedule command is an internally tagged enum (`"do": "set_rate"`): serde
/// reads it whole before choosing the variant, so an error inside it carries the
/// path `schedule[i].command` and the line where the command ends. Find the
/// offending field ourselves: feed the command's fields to `Command` one more at
/// a time; the first prefix that fails with anything but "missing field" ends
/// at the culprit. Its line comes from the field's place in the text.
fn command_issue(text: &str, path: &str) -> Option<ScenarioIssue> {
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use std::collections::BTreeMap;

    let index: usize = path
        .strip_prefix("schedule[")?
        .strip_suffix("].command")?
        .parse()
        .ok()?;
    #[derive(Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        schedule: Vec<BTreeMap<String, &'a RawValue>>,
    }
    let doc: Doc = serde_json::from_str(text).ok()?;
    let raw_command: &RawValue = doc.schedule.get(index)?.get("command")?;
    let fields: BTreeMap<String, &RawValue> = serde_json::from_str(raw_command.get()).ok()?;
    // Borrowed RawValues are slices of `text`: their place is their offset.
    let offset =
        |raw: &RawValue| (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let mut ordered: Vec<(&String, &&RawValue)> = fields.iter().collect();
    crate::small_sort::sort_by_key(&mut ordered, |(_, raw)| offset(raw));

    let mut partial = serde_json::Map::new();
    if let Some(tag) = fields.get("do") {
        partial.insert("do".into(), serde_json::from_str(tag.get()).ok()?);
        let value = serde_json::Value::Object(partial.clone());
        if let Err(e) = command::Command::deserialize(value) {
            if !e.to_string().starts_with("missing field") {
                ordered.retain(|(key, _)| key.as_str() == "do");
            }
        }
    }
    for (key, raw) in ordered {
        if key != "do" {
            partial.insert(key.clone(), serde_json::from_str(raw.get()).ok()?);
        }
        let value = serde_json::Value::Object(partial.clone());
        let Err(e) = command::Command::deserialize(value) else {
            continue;
        };
        let message = e.to_string();
        if message.starts_with("missing field") {
            continue;
        }
        let before = text.get(..offset(raw)).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        return Some(ScenarioIssue {
            path: format!("{path}.{key}"),
            message: format!("{message} at line {line} column {column}"),
        });
    }
    None
}

/// Parse bytes (which may not be UTF-8), then validate.
pub fn load_bytes(bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ScenarioError::one(
            "",
            format!("the file is not UTF-8 text (byte {})", e.valid_up_to()),
        )
    })?;
    load(text)
}

/// Parse and validate.
pub fn load(text: &str) -> Result<Scenario, ScenarioError> {
    let s = parse(text)?;
    validate(&s)?;
    Ok(s)
}

/// The scenario as pretty-printed JSON (the app's editor text), the same text
/// as `serde_json::to_string_pretty(scenario)`. It goes through a
/// `serde_json::Value`, which the app builds anyway, so the wasm carries one
/// serializer for the scenario types instead of one per output format.
pub fn to_pretty_json(scenario: &Scenario) -> String {
    serde_json::to_value(scenario)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default()
}

/// The JSON Schema of the scenario format, generated from the types.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_value(schema).expect("a schema is plain JSON")
}
