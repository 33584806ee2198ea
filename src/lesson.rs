//! Guided lessons: the JSON format, its validation, and the run of one lesson.
//!
//!   lessons/*.json ──parse──► Lesson ──play──► for each step: scenario (+ `set`) ─► Engine
//!                                                   ─► commands ─► run_for ─► report ─► predict outcome
//!
//! A lesson is a list of steps. A step narrates (Markdown, rendered as text by
//! the app — never as raw HTML), may start from a preset (optionally changed
//! by `set`, e.g. `{"consumers[0].instances": 3}`) or else continues the
//! previous step's run, applies engine commands, runs for `run_for`, highlights
//! nodes, and may ask a *predict* question. The answer is never written in the
//! lesson: a multiple-choice question names, per choice, a condition on the
//! report (the `expect` syntax) and the right choice is the one whose
//! condition holds in the run; a number question names a report field, read
//! after the step has run.
//!
//! Guarantees: playing a lesson is deterministic (presets, seeds and commands
//! only); `check` fails — naming the lesson, step and field — if a step's
//! scenario is invalid, a highlighted node does not exist, a command is refused,
//! or a question cannot be answered from the run (no choice or two choices
//! hold, the field is missing or not a number). Engine-free parts (format,
//! `apply_set`) are used by the app too.

use crate::engine::{Engine, SimTime};
use crate::scenario::expect::{self, Outcome};
use crate::scenario::{self, Command, Duration, Scenario};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One lesson file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// Short title shown in the lesson picker.
    pub title: String,
    /// One sentence: what the learner will see.
    pub summary: String,
    pub steps: Vec<LessonStep>,
}

/// One step of a lesson.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonStep {
    pub title: String,
    /// Markdown (paragraphs, `**bold**`, `*italic*`, `` `code` ``, lists);
    /// shown as text, never as HTML.
    pub narration: String,
    /// Start this step from a preset (the first step must). Without it the
    /// step continues the previous step's run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Changes to the preset before it starts: JSON path → value
    /// (`"producers[0].rate": "12/s"`). Only with `scenario`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, Value>,
    /// Seed (default: the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Engine commands applied when the step starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
    /// Simulated time this step runs.
    pub run_for: Duration,
    /// Node ids to highlight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlight: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict: Option<Predict>,
}

/// A question asked before the step runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    pub question: String,
    /// Multiple choice: exactly one choice's condition must hold in the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// A number read from the report after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<NumberAnswer>,
    /// One sentence on why, shown beside the real outcome.
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub text: String,
    /// A condition on the report, in the `expect` syntax.
    pub when: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberAnswer {
    /// The report field, e.g. `latency_us.end_to_end.mean`.
    pub field: String,
    /// Unit the learner answers in: `us`, `ms` or `s` for a `…_us` field;
    /// absent for a count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A guess within this many percent of the outcome counts as right.
    pub tolerance_pct: f64,
}

impl NumberAnswer {
    /// Report value → the learner's unit.
    pub fn scale(&self) -> f64 {
        match self.unit.as_deref() {
            Some("ms") => 1e-3,
            Some("s") => 1e-6,
            _ => 1.0,
        }
    }
}

/// Lessons shipped with QueueLab, embedded from `lessons/*.json`.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinLesson {
    pub name: &'static str,
    pub json: &'static str,
}

macro_rules! lessons {
    ($($name:literal),* $(,)?) => {
        &[$(BuiltinLesson { name: $name, json: include_str!(concat!("../lessons/", $name, ".json")) }),*]
    };
}

static LESSONS: &[BuiltinLesson] = lessons![
    "choosing-a-pattern",
    "point-to-point-vs-pubsub",
    "request-reply-scatter-gather",
    "why-queues-grow",
    "sizing-overflow-ttl",
    "priorities",
    "dead-letters-and-retries",
    "fan-out-fan-in",
    "content-and-header-routing",
    "batching",
    "partitions-keys-ordering",
    "consumer-groups-and-lag",
    "delivery-guarantees",
    "monitoring",
    "event-sourcing-cqrs-sagas",
];

pub fn lessons() -> &'static [BuiltinLesson] {
    LESSONS
}

pub fn lesson(name: &str) -> Option<&'static BuiltinLesson> {
    LESSONS.iter().find(|l| l.name == name)
}

/// Parse and check the format (not the runs): paths name the step and field.
pub fn parse(text: &str) -> Result<Lesson, String> {
    // from_slice, as scenarios are read: one deserializer per type in the wasm.
    let l: Lesson = serde_json::from_slice(text.as_bytes()).map_err(|e| e.to_string())?;
    let mut errs = Vec::new();
    if l.title.trim().is_empty() {
        errs.push("title: must not be empty".to_string());
    }
    if l.steps.is_empty() {
        errs.push("steps: a lesson has at least one step".to_string());
    }
    for (i, s) in l.steps.iter().enumerate() {
        let at = format!("steps[{i}]");
        if i == 0 && s.scenario.is_none() {
            errs.push(format!("{at}.scenario: the first step must name a preset"));
        }
        if let Some(name) = &s.scenario {
            if scenario::preset(name).is_none() {
                errs.push(format!("{at}.scenario: no preset named {name:?}"));
            }
        } else if !s.set.is_empty() {
            errs.push(format!(
                "{at}.set: only a step that starts a scenario can change it"
            ));
        }
        if s.run_for.us() == 0 {
            errs.push(format!("{at}.run_for: must be positive"));
        }
        if s.narration.trim().is_empty() {
            errs.push(format!("{at}.narration: must not be empty"));
        }
        if let Some(p) = &s.predict {
            match (p.choices.is_empty(), &p.number) {
                (true, None) => errs.push(format!(
                    "{at}.predict: give `choices` or a `number` to read from the run"
                )),
                (false, Some(_)) => {
                    errs.push(format!("{at}.predict: `choices` or `number`, not both"))
                }
                _ => {}
            }
            if !p.choices.is_empty() && p.choices.len() < 2 {
                errs.push(format!("{at}.predict.choices: at least two"));
            }
            for (k, c) in p.choices.iter().enumerate() {
                if let Err(why) = expect::parse(&c.when) {
                    errs.push(format!("{at}.predict.choices[{k}].when: {why}"));
                }
            }
            if let Some(n) = &p.number {
                if let Err(why) = expect::parse(&format!("{} > 0", n.field)) {
                    errs.push(format!("{at}.predict.number.field: {why}"));
                }
                if !matches!(n.unit.as_deref(), None | Some("us" | "ms" | "s")) {
                    errs.push(format!("{at}.predict.number.unit: us, ms or s"));
                }
                if !(n.tolerance_pct > 0.0 && n.tolerance_pct <= 100.0) {
                    errs.push(format!(
                        "{at}.predict.number.tolerance_pct: between 0 and 100"
                    ));
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(l)
    } else {
        Err(errs.join("\n"))
    }
}

/// Apply `set` (JSON path → value) to a scenario and validate the result
/// (see `scenario::patch`).
pub fn apply_set(base: &Scenario, set: &BTreeMap<String, Value>) -> Result<Scenario, String> {
    scenario::patch::apply(base, set)
}

/// What one step produced, for the player and for `check`.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// The report after the step (JSON of `queuelab run --json`).
    pub report: Value,
    /// For a choice question: the index of the choice that holds.
    pub right_choice: Option<usize>,
    /// For a number question: the outcome in the learner's unit.
    pub number: Option<f64>,
}

/// Start or continue the engine for one step (apply the scenario, `set`,
/// seed and commands). The caller runs it for `run_for`.
pub fn begin_step(step: &LessonStep, engine: Option<Engine>) -> Result<Engine, String> {
    let mut engine = match (&step.scenario, engine) {
        (Some(name), _) => {
            let p = scenario::preset(name).ok_or_else(|| format!("no preset named {name:?}"))?;
            let s = apply_set(&p.scenario(), &step.set)?;
            let seed = step.seed.unwrap_or(s.seed);
            Engine::new(s, seed).map_err(|e| e.to_string())?
        }
        (None, Some(e)) => e,
        (None, None) => return Err("the step continues a run, but none has started".into()),
    };
    for (k, c) in step.commands.iter().enumerate() {
        engine
            .submit(c.clone())
            .map_err(|e| format!("commands[{k}]: {e}"))?;
    }
    Ok(engine)
}

/// Read the step's outcome from the engine after it has run.
pub fn finish_step(step: &LessonStep, engine: &Engine, name: &str) -> Result<StepResult, String> {
    let report = serde_json::to_value(engine.report(name)).map_err(|e| e.to_string())?;
    if let Some(nodes) = report.get("nodes").and_then(Value::as_object) {
        for (k, id) in step.highlight.iter().enumerate() {
            if !nodes.contains_key(id) {
                return Err(format!("highlight[{k}]: no node {id:?} in this scenario"));
            }
        }
    }
    let mut out = StepResult {
        report,
        right_choice: None,
        number: None,
    };
    let Some(p) = &step.predict else {
        return Ok(out);
    };
    if !p.choices.is_empty() {
        let mut holding = Vec::new();
        for (k, c) in p.choices.iter().enumerate() {
            let e = expect::parse(&c.when).map_err(|w| format!("predict.choices[{k}]: {w}"))?;
            match expect::evaluate(&e, &out.report) {
                Outcome::Pass => holding.push(k),
                Outcome::Fail { .. } => {}
                Outcome::Error(why) => return Err(format!("predict.choices[{k}].when: {why}")),
            }
        }
        match holding.as_slice() {
            [one] => out.right_choice = Some(*one),
            [] => {
                return Err("predict: no choice holds in the run, so it cannot be answered".into())
            }
            many => {
                return Err(format!(
                    "predict: choices {many:?} all hold in the run; exactly one must"
                ))
            }
        }
    }
    if let Some(n) = &p.number {
        let e = expect::parse(&format!("{} > 0", n.field))
            .map_err(|w| format!("predict.number.field: {w}"))?;
        let v = expect::lookup(&out.report, &e.path)
            .map_err(|w| format!("predict.number.field: {w}"))?;
        let x = v
            .as_f64()
            .ok_or_else(|| format!("predict.number.field: `{}` is not a number", n.field))?;
        out.number = Some(x * n.scale());
    }
    Ok(out)
}

/// Play a whole lesson natively, step by step; the error names the step.
pub fn play(name: &str, lesson: &Lesson) -> Result<Vec<StepResult>, String> {
    let mut engine: Option<Engine> = None;
    let mut results = Vec::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        let at = |why: String| format!("steps[{i}] ({:?}): {why}", step.title);
        let mut e = begin_step(step, engine.take()).map_err(at)?;
        e.set_series(false);
        let until = SimTime(e.now().0.saturating_add(step.run_for.us()));
        // Bounded: a lesson step may cost at most 50 M engine events.
        let o = e.run_until(until, 50_000_000);
        if !o.reached {
            return Err(at(format!(
                "did not reach {until} within 50,000,000 events"
            )));
        }
        results.push(finish_step(step, &e, name).map_err(at)?);
        engine = Some(e);
    }
    Ok(results)
}

/// Whether a number guess is right: within `tolerance_pct` of the outcome.
pub fn number_is_right(n: &NumberAnswer, guess: f64, outcome: f64) -> bool {
    (guess - outcome).abs() <= n.tolerance_pct / 100.0 * outcome.abs().max(f64::MIN_POSITIVE)
}

/// The JSON Schema of the lesson format.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Lesson)).expect("a schema is plain JSON")
}
