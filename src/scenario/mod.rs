//! Scenarios: the JSON format people write by hand, its validation, and the presets.
//!
//!   JSON text ──parse (serde, unknown fields rejected)──► Scenario ──validate──► Engine::new
//!
//! Every error names the JSON path of the offending field
//! (`consumers[1].prefetch: must be at least 1`). Parsing never panics,
//! whatever the bytes.

mod command;
mod presets;
mod types;
mod units;
mod validate;

pub use command::{Command, LoggedCommand};
pub use presets::{preset, presets, Preset};
pub use types::*;
pub use units::{parse_duration, parse_rate, Duration, Rate};
pub use validate::{check_arrival, check_retry, check_service, validate};

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
/// Longest routing key, message key, binding key, header name or header
/// value, in bytes: AMQP's short string. Bounds the work of matching one key.
pub const KEY_LEN_MAX: usize = 255;
/// Most headers in one header map (a producer's headers, one header set, a
/// binding's headers).
pub const HEADERS_MAX: usize = 64;

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
    // serde accepts a struct written as a JSON array; a scenario is an object.
    if !text.trim_start().starts_with('{') {
        return Err(ScenarioError::one(
            "",
            "a scenario must be a JSON object ({ ... })",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed: Result<Scenario, _> = serde_path_to_error::deserialize(&mut de);
    match parsed {
        Ok(s) => {
            de.end().map_err(|e| {
                ScenarioError::one("", format!("trailing data after the scenario: {e}"))
            })?;
            Ok(s)
        }
        Err(err) => {
            let path = err.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = err.into_inner();
            let msg = inner.to_string();
            // serde_json appends " at line L column C"; keep it, it helps hand editing.
            Err(ScenarioError::one(path, msg))
        }
    }
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

/// The JSON Schema of the scenario format, generated from the types.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_value(schema).expect("a schema is plain JSON")
}
