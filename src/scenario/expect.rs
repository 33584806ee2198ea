//! Scenario assertions: the `expect` block, checked by `queuelab check`.
//!
//! An expectation is one line of text that compares a field of the run's
//! JSON report (the output of `queuelab run --json`) with a value:
//!
//! ```text
//!   totals.dead_lettered >= 1
//!   latency_us.end_to_end.p99 < "2s"          (a duration, in the field's unit)
//!   alerts.slow.first_fired_s < "30s"          (_us, _ms, _s: µs, ms, seconds)
//!   nodes.billing.lag == 0
//!   nodes["orders.eu"].depth_max <= 100        (ids with dots go in quotes)
//!   nodes.fast.processed > nodes.slow.processed * 2
//!   nodes.server.instances[0].up == true
//! ```
//!
//! Grammar: `PATH OP VALUE`, where PATH is dotted field names and `[n]` array
//! indexes, OP one of `< <= > >= == !=`, and VALUE a number, `true`/`false`,
//! a quoted duration (`"250ms"`) or string, or another PATH optionally
//! multiplied by a number (`PATH * 0.9`). A duration compares only with a
//! time field (see [`time_unit`]), converted to its unit; a quoted string
//! that is not a duration only with `==`/`!=`. Both are decided by the text
//! alone, so breaking them is a parse error (an invalid scenario).
//!
//! Guarantees: parsing is total (bad text is an error naming what is wrong,
//! never a panic); evaluation reads the report only, so an expectation can
//! never change a run; a path the report does not have is a failed
//! expectation that names the missing field, not a silent pass.

use serde_json::Value;

/// The longest expectation text accepted (a bound on parsing work).
pub const EXPECT_LEN_MAX: usize = 500;
/// Most expectations in one scenario.
pub const EXPECT_MAX: usize = 200;

/// One step of a report path.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// A path into the report, e.g. `nodes.q.depth`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path(pub Vec<Step>);

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Step::Field(name) if is_plain(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Step::Field(name) => write!(f, "[{name:?}]")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain(name: &str) -> bool {
    !name.is_empty() && name.chars().all(plain_char)
}

fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':'
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// The right-hand side of an expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Number(f64),
    Bool(bool),
    /// A quoted text: a duration (compared in the unit of the field's name:
    /// `_us`, `_ms`, `_s`) when the field is a time, else a string compared
    /// with `==`/`!=` only.
    Text(String),
    /// Another report field, times a factor (1 when not written).
    Field(Path, f64),
}

/// A parsed expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub path: Path,
    pub op: Op,
    pub value: Operand,
}

/// What checking one expectation against a report found.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Pass,
    /// The comparison is false; `measured` is the field's value, `against`
    /// the value it was compared with (both as text).
    Fail {
        measured: String,
        against: String,
    },
    /// The comparison cannot be made (missing field, wrong type).
    Error(String),
}

struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }
    fn skip_ws(&mut self) {
        let r = self.rest();
        self.at += r.len() - r.trim_start().len();
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.at += t.len();
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    /// A double-quoted string with `\"` and `\\` escapes.
    fn quoted(&mut self) -> Result<String, String> {
        let start = self.at;
        if !self.eat("\"") {
            return Err("expected '\"'".into());
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    _ => {
                        return Err(format!(
                            "bad escape in the text at column {}",
                            start + i + 2
                        ))
                    }
                },
                c => out.push(c),
            }
        }
        Err(format!(
            "the text opened at column {} is not closed",
            start + 1
        ))
    }
    fn path(&mut self) -> Result<Path, String> {
        let mut steps = Vec::new();
        loop {
            let first = steps.is_empty();
            if self.eat("[") {
                self.skip_ws();
                if self.peek() == Some('"') {
                    steps.push(Step::Field(self.quoted()?));
                } else {
                    let digits: String = self
                        .rest()
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    let n = digits.parse::<usize>().map_err(|_| {
                        format!(
                            "expected an index or a quoted name after '[' at column {}",
                            self.at
                        )
                    })?;
                    self.at += digits.len();
                    steps.push(Step::Index(n));
                }
                self.skip_ws();
                if !self.eat("]") {
                    return Err(format!("expected ']' at column {}", self.at + 1));
                }
                continue;
            }
            if !first && !self.eat(".") {
                break;
            }
            let name: String = self.rest().chars().take_while(|&c| plain_char(c)).collect();
            if name.is_empty() {
                return Err(format!(
                    "expected a field name at column {} (names use letters, digits, _ - :; quote others as [\"a.b\"])",
                    self.at + 1
                ));
            }
            self.at += name.len();
            steps.push(Step::Field(name));
        }
        Ok(Path(steps))
    }
    fn number(&mut self) -> Option<f64> {
        let r = self.rest();
        let len = r
            .char_indices()
            .take_while(|&(i, c)| {
                c.is_ascii_digit()
                    || c == '.'
                    || c == 'e'
                    || c == 'E'
                    || ((c == '-' || c == '+')
                        && (i == 0 || matches!(r.as_bytes()[i - 1], b'e' | b'E')))
            })
            .count();
        let v: f64 = r[..len].parse().ok()?;
        if !v.is_finite() {
            return None;
        }
        self.at += len;
        Some(v)
    }
}

/// The time unit of a report field, from its name's suffix: `_us`, `_ms`,
/// `_s` (a rate `_per_s` is not a time). A latency summary's time fields
/// (`latency_us.wait.p99`, `nodes.q.latency_us.mean_ci95.half_width`) take the
/// `latency_us` group's unit; its counts (`count`, `batches`, ...) have none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Us,
    Ms,
    S,
}

impl TimeUnit {
    /// Microseconds in one of this unit.
    fn us(self) -> f64 {
        match self {
            TimeUnit::Us => 1.0,
            TimeUnit::Ms => 1_000.0,
            TimeUnit::S => 1_000_000.0,
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            TimeUnit::Us => "µs",
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
        }
    }
    fn of_name(name: &str) -> Option<TimeUnit> {
        if name.ends_with("_us") {
            Some(TimeUnit::Us)
        } else if name.ends_with("_ms") {
            Some(TimeUnit::Ms)
        } else if name.ends_with("_s") && !name.ends_with("_per_s") {
            Some(TimeUnit::S)
        } else {
            None
        }
    }
}

/// The time unit of the field a path names, or None when it is not a time.
/// Decided by the path alone: the last field name's suffix (`[n]` after it
/// is an item of that list: `alerts.a.fired_at_s[0]`), or a time field of a
/// `latency_us` summary (the report's or a node's).
pub fn time_unit(path: &Path) -> Option<TimeUnit> {
    let names: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Step::Field(n) => Some(n.as_str()),
            Step::Index(_) => None,
        })
        .collect();
    let last = *names.last()?;
    if let Some(u) = TimeUnit::of_name(last) {
        return Some(u);
    }
    let in_latency = names.first() == Some(&"latency_us")
        || (names.first() == Some(&"nodes") && names.get(2) == Some(&"latency_us"));
    let timed = ["p50", "p95", "p99", "max", "mean", "half_width"];
    (in_latency && timed.contains(&last)).then_some(TimeUnit::Us)
}

/// Parse one expectation. The error says what is wrong and where (1-based column).
pub fn parse(text: &str) -> Result<Expectation, String> {
    if text.len() > EXPECT_LEN_MAX {
        return Err(format!(
            "at most {EXPECT_LEN_MAX} bytes, not {}",
            text.len()
        ));
    }
    let mut c = Cursor { s: text, at: 0 };
    c.skip_ws();
    if c.rest().is_empty() {
        return Err("empty; write e.g. \"totals.dropped == 0\"".into());
    }
    let path = c.path()?;
    c.skip_ws();
    let op = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .into_iter()
    .find(|(t, _)| c.eat(t))
    .map(|(_, op)| op)
    .ok_or_else(|| {
        format!(
            "expected a comparison (< <= > >= == !=) after `{path}` at column {}",
            c.at + 1
        )
    })?;
    c.skip_ws();
    let value = match c.peek() {
        None => return Err(format!("nothing to compare `{path}` with")),
        Some('"') => Operand::Text(c.quoted()?),
        Some(ch) if ch.is_ascii_digit() || ch == '-' || ch == '+' || ch == '.' => {
            let n = c
                .number()
                .ok_or_else(|| format!("bad number at column {}", c.at + 1))?;
            c.skip_ws();
            if c.eat("*") {
                c.skip_ws();
                Operand::Field(c.path()?, n)
            } else {
                Operand::Number(n)
            }
        }
        Some(_) if c.rest().starts_with("true") && !c.rest()[4..].starts_with(plain_char) => {
            c.at += 4;
            Operand::Bool(true)
        }
        Some(_) if c.rest().starts_with("false") && !c.rest()[5..].starts_with(plain_char) => {
            c.at += 5;
            Operand::Bool(false)
        }
        Some(_) => {
            let other = c.path()?;
            c.skip_ws();
            let factor = if c.eat("*") {
                c.skip_ws();
                c.number()
                    .ok_or_else(|| format!("expected a number after '*' at column {}", c.at + 1))?
            } else {
                1.0
            };
            Operand::Field(other, factor)
        }
    };
    c.skip_ws();
    if !c.rest().is_empty() {
        return Err(format!(
            "unexpected {:?} at column {}",
            c.rest().chars().take(12).collect::<String>(),
            c.at + 1
        ));
    }
    if let Operand::Text(t) = &value {
        let ordered = !matches!(op, Op::Eq | Op::Ne);
        match super::parse_duration(t) {
            // A duration compares with a time field, in that field's unit.
            Ok(_) if time_unit(&path).is_none() => {
                return Err(format!(
                    "`{path}` is not a time (its name has no _us, _ms or _s suffix); \
                     a quoted duration like {t:?} compares only with a time field such as \
                     latency_us.end_to_end.p99"
                ))
            }
            Ok(_) => {}
            Err(why) if ordered => {
                return Err(format!(
                    "{} needs a number, a duration or a field; {t:?} is not a duration ({why}), \
                     and a quoted string compares only with == or !=",
                    op.text()
                ))
            }
            Err(_) => {}
        }
    }
    Ok(Expectation { path, op, value })
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ", self.path, self.op.text())?;
        match &self.value {
            Operand::Number(n) => write!(f, "{n}"),
            Operand::Bool(b) => write!(f, "{b}"),
            Operand::Text(t) => write!(f, "{t:?}"),
            Operand::Field(p, k) if *k == 1.0 => write!(f, "{p}"),
            Operand::Field(p, k) => write!(f, "{p} * {k}"),
        }
    }
}

/// Look a path up in a JSON value; the error names the first missing step
/// and what is there instead.
pub fn lookup<'v>(report: &'v Value, path: &Path) -> Result<&'v Value, String> {
    let mut v = report;
    for (i, step) in path.0.iter().enumerate() {
        let here = Path(path.0[..i].to_vec());
        let next = match (step, v) {
            (Step::Field(name), Value::Object(map)) => map.get(name),
            (Step::Index(n), Value::Array(items)) => items.get(*n),
            _ => None,
        };
        v = next.ok_or_else(|| {
            let within = if i == 0 {
                "the report".to_string()
            } else {
                format!("`{here}`")
            };
            let known = match v {
                Value::Object(map) => {
                    let names: Vec<&str> = map.keys().map(String::as_str).take(24).collect();
                    format!("; it has: {}", names.join(", "))
                }
                Value::Array(items) => format!("; it is a list of {}", items.len()),
                other => format!("; it is {}", kind(other)),
            };
            format!(
                "`{}` is not in {within}{known}",
                Path(path.0[..=i].to_vec())
            )
        })?;
    }
    Ok(v)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn compare<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Eq => a == b,
        Op::Ne => a != b,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Check one expectation against a report (the JSON of `queuelab run --json`).
pub fn evaluate(e: &Expectation, report: &Value) -> Outcome {
    let measured = match lookup(report, &e.path) {
        Ok(v) => v,
        Err(why) => return Outcome::Error(why),
    };
    let verdict = |ok: bool, against: String| {
        if ok {
            Outcome::Pass
        } else {
            Outcome::Fail {
                measured: show(measured),
                against,
            }
        }
    };
    let ordered = !matches!(e.op, Op::Eq | Op::Ne);
    match (&e.value, measured) {
        (Operand::Number(n), Value::Number(m)) => verdict(
            compare(e.op, m.as_f64().unwrap_or(f64::NAN), *n),
            n.to_string(),
        ),
        (Operand::Text(t), Value::Number(m)) => match (super::parse_duration(t), time_unit(&e.path)) {
            (Ok(d), Some(unit)) => {
                let against = d.us() as f64 / unit.us();
                verdict(
                    compare(e.op, m.as_f64().unwrap_or(f64::NAN), against),
                    format!("{t:?} ({against} {})", unit.suffix()),
                )
            }
            (Ok(_), None) => Outcome::Error(format!(
                "`{}` is not a time (its name has no _us, _ms or _s suffix); {t:?} cannot be compared with it",
                e.path
            )),
            (Err(why), _) => Outcome::Error(format!(
                "`{}` is a number; {t:?} is not a duration to compare it with: {why}",
                e.path
            )),
        },
        (Operand::Text(t), Value::String(m)) if !ordered => {
            verdict(compare(e.op, m.as_str(), t.as_str()), format!("{t:?}"))
        }
        (Operand::Bool(b), Value::Bool(m)) if !ordered => {
            verdict(compare(e.op, m, b), b.to_string())
        }
        (Operand::Field(p, k), Value::Number(m)) => match lookup(report, p) {
            Ok(Value::Number(o)) => {
                let against = o.as_f64().unwrap_or(f64::NAN) * k;
                let text = if *k == 1.0 {
                    format!("{p} = {}", o)
                } else {
                    format!("{p} * {k} = {against}")
                };
                verdict(compare(e.op, m.as_f64().unwrap_or(f64::NAN), against), text)
            }
            Ok(other) => Outcome::Error(format!("`{p}` is {}, not a number", kind(other))),
            Err(why) => Outcome::Error(why),
        },
        (value, measured) => Outcome::Error(format!(
            "`{}` is {} ({}); it cannot be compared with {} using {}",
            e.path,
            kind(measured),
            show(measured),
            match value {
                Operand::Number(_) => "a number",
                Operand::Bool(_) => "a boolean",
                Operand::Text(_) => "a text",
                Operand::Field(..) => "a field",
            },
            e.op.text()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "totals": {"processed": 100, "dropped": 0},
            "latency_us": {"end_to_end": {"p99": 1_500_000, "mean": 400_000.5}},
            "nodes": {
                "orders.eu": {"kind": "queue", "depth_max": 7},
                "fast": {"processed": 70, "instances": [{"up": true}]},
                "slow": {"processed": 30},
                "g": {"assignment": "Range"}
            }
        })
    }

    fn check(text: &str) -> Outcome {
        evaluate(
            &parse(text).unwrap_or_else(|e| panic!("{text}: {e}")),
            &report(),
        )
    }

    #[test]
    fn true_and_false_comparisons() {
        assert_eq!(check("totals.processed >= 100"), Outcome::Pass);
        assert_eq!(
            check("totals.processed > 100"),
            Outcome::Fail {
                measured: "100".into(),
                against: "100".into()
            }
        );
        assert_eq!(check("latency_us.end_to_end.p99 < \"2s\""), Outcome::Pass);
        assert!(matches!(
            check("latency_us.end_to_end.p99 < \"1s\""),
            Outcome::Fail { .. }
        ));
        assert_eq!(check("latency_us.end_to_end.mean<400000.6"), Outcome::Pass);
        assert_eq!(check("nodes[\"orders.eu\"].depth_max <= 7"), Outcome::Pass);
        assert_eq!(
            check("nodes.fast.processed > nodes.slow.processed * 2"),
            Outcome::Pass
        );
        assert!(matches!(
            check("nodes.fast.processed > nodes.slow.processed * 3"),
            Outcome::Fail { .. }
        ));
        assert_eq!(check("nodes.fast.processed == 7e1"), Outcome::Pass);
        assert_eq!(check("nodes.fast.instances[0].up == true"), Outcome::Pass);
        assert_eq!(check("nodes.g.assignment == \"Range\""), Outcome::Pass);
        assert_eq!(check("nodes.g.assignment != \"Range\"").is_pass(), false);
        assert_eq!(check("totals.dropped == -0"), Outcome::Pass);
    }

    #[test]
    fn missing_fields_and_wrong_types_are_errors_that_say_why() {
        let Outcome::Error(why) = check("nodes.nope.depth == 0") else {
            panic!()
        };
        assert!(
            why.contains("`nodes.nope` is not in `nodes`") && why.contains("fast"),
            "{why}"
        );
        let Outcome::Error(why) = check("nodes.fast.instances[3].up == true") else {
            panic!()
        };
        assert!(why.contains("list of 1"), "{why}");
        let Outcome::Error(why) = check("nodes.g.assignment == 3") else {
            panic!()
        };
        assert!(why.contains("cannot be compared"), "{why}");
        let Outcome::Error(why) = check("totals.processed > totals.nope") else {
            panic!()
        };
        assert!(why.contains("totals.nope"), "{why}");
    }

    #[test]
    fn a_duration_is_compared_in_the_unit_of_the_field() {
        let r = json!({
            "alerts": {"a": {"first_fired_s": 13, "firing_ms": 4000, "fired_at_s": [13]}},
            "nodes": {"q_s": {"latency_us": {"p99": 1500, "count": 9}, "lag_time_us": 2000}}
        });
        let at = |t: &str| evaluate(&parse(t).unwrap_or_else(|e| panic!("{t}: {e}")), &r);
        assert_eq!(at("alerts.a.first_fired_s > \"2s\""), Outcome::Pass);
        assert_eq!(at("alerts.a.first_fired_s < \"14s\""), Outcome::Pass);
        assert_eq!(
            at("alerts.a.first_fired_s < \"2s\""),
            Outcome::Fail {
                measured: "13".into(),
                against: "\"2s\" (2 s)".into()
            }
        );
        assert_eq!(at("alerts.a.firing_ms == \"4s\""), Outcome::Pass);
        assert!(!at("alerts.a.firing_ms < \"1s\"").is_pass());
        assert_eq!(at("alerts.a.fired_at_s[0] == \"13s\""), Outcome::Pass);
        assert_eq!(at("nodes.q_s.latency_us.p99 == \"1500us\""), Outcome::Pass);
        assert_eq!(at("nodes.q_s.lag_time_us < \"3ms\""), Outcome::Pass);
        // A node id ending in _s does not make its counts times.
        assert!(parse("nodes.q_s.latency_us.count > \"1ms\"").is_err());
    }

    #[test]
    fn bad_text_is_a_clear_error() {
        for (text, says) in [
            ("", "empty"),
            ("totals.processed", "expected a comparison"),
            ("totals.processed =< 3", "expected a comparison"),
            ("totals.processed <", "nothing to compare"),
            ("totals..processed < 3", "expected a field name"),
            ("totals.processed < 3 apples", "unexpected"),
            ("nodes[\"a < 3", "not closed"),
            ("nodes[x] < 3", "index or a quoted name"),
            ("a < 1e999", "bad number"),
            ("a < 3 * ", "expected a field name"),
            ("totals.processed < \"soon\"", "is not a duration"),
            (
                "nodes.g.assignment < \"Range\"",
                "compares only with == or !=",
            ),
            (
                "totals.processed < \"1s\"",
                "`totals.processed` is not a time",
            ),
            (
                "totals.processed == \"1s\"",
                "`totals.processed` is not a time",
            ),
            ("latency_us.wait.count > \"1ms\"", "not a time"),
            ("nodes.q.rate_per_s > \"1s\"", "not a time"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(says), "{text:?}: {err}");
        }
        assert!(parse(&"a".repeat(600)).unwrap_err().contains("at most"));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "totals.processed >= 100",
            "nodes[\"orders.eu\"].depth_max <= 7",
            "nodes.fast.processed > nodes.slow.processed * 2",
            "latency_us.end_to_end.p99 < \"2s\"",
            "nodes.fast.instances[0].up == true",
        ] {
            let e = parse(text).unwrap();
            assert_eq!(parse(&e.to_string()).unwrap(), e, "{text}");
        }
    }
}

impl Outcome {
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
}
