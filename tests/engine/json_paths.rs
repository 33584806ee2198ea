//! The JSON paths of parse errors: `scenario::error_path` (a scan of the text
//! up to where serde_json stopped) against serde_path_to_error (a
//! path-tracking deserializer, which the parser used before and the app no
//! longer carries). Thousands of broken scenarios and links, made by cutting,
//! inserting and swapping bytes and tokens of every preset; for each, both
//! must name the same path, and the message must be serde_json's own.

use queuelab::link::Link;
use queuelab::scenario::{self, error_path, presets, Scenario, VARIANT_FIELDS};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Both paths (reference first) and the message, or None when `bytes` parse.
fn both<T: DeserializeOwned>(bytes: &[u8]) -> Option<(String, String, String)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let ours = match T::deserialize(&mut de) {
        Ok(_) => None,
        Err(e) => Some((error_path(bytes, &e), e.to_string())),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let reference = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => None,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            Some((path, e.into_inner().to_string()))
        }
    };
    match (reference, ours) {
        (None, None) => None,
        (Some((rp, rm)), Some((op, om))) => {
            assert_eq!(rm, om, "the same error either way");
            Some((rp, op, rm))
        }
        (r, o) => panic!(
            "one way parses, the other not: {r:?} {o:?} for {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// xorshift64*: a fixed, dependency-free stream of mutation choices.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

const SNIPPETS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\"x\"",
    "1",
    "-",
    "1.5",
    "1e999",
    "true",
    "nul",
    "null",
    "{}",
    "[]",
    "[1]",
    "[1,2,3]",
    "\"zz\": 1,",
    "\"id\": \"a\",",
    "\"5/s\"",
    "\"2s\"",
    "\\",
    " ",
    "\"do\": \"nope\",",
    "\"bursts\"",
    "{\"bursts\": {}}",
    "{\"x\": 1}",
    "\"constant\"",
    "-1",
    "99999999999999999999",
    "\"\\q\"",
    "\"a\\u00\"",
    ",,",
    "\"title\": \"t\",",
];

/// One mutation of `text` at char boundaries (the result stays UTF-8).
fn mutate(text: &str, rng: &mut Rng) -> String {
    let bounds: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let at = bounds[rng.below(bounds.len())];
    let to = bounds
        [(bounds.iter().position(|&b| b == at).unwrap() + 1 + rng.below(12)).min(bounds.len() - 1)];
    let snippet = SNIPPETS[rng.below(SNIPPETS.len())];
    match rng.below(6) {
        0 => format!("{}{}", &text[..at], &text[to..]),
        1 | 2 => format!("{}{snippet}{}", &text[..at], &text[at..]),
        3 => format!("{}{snippet}{}", &text[..at], &text[to..]),
        4 => text[..at].to_string(),
        _ => {
            // Swap a whole value token for another kind of value.
            let token_end = text[at..]
                .find([',', '}', ']', '\n'])
                .map_or(text.len(), |i| at + i);
            format!("{}{snippet}{}", &text[..at], &text[token_end..])
        }
    }
}

fn check<T: DeserializeOwned>(base: &str, seed: u64, cases: usize) -> usize {
    let mut rng = Rng(seed | 1);
    let mut errors = 0;
    let mut mismatches = Vec::new();
    for _ in 0..cases {
        let mut text = mutate(base, &mut rng);
        if rng.below(3) == 0 {
            text = mutate(&text, &mut rng);
        }
        if let Some((reference, ours, message)) = both::<T>(text.as_bytes()) {
            errors += 1;
            if reference != ours {
                mismatches.push(format!(
                    "reference {reference:?}, ours {ours:?}: {message}\n{text}"
                ));
            }
        }
    }
    for m in &mismatches {
        let first = m.lines().next().unwrap_or("");
        let (line, col) = first
            .rsplit_once(" at line ")
            .and_then(|(_, lc)| lc.split_once(" column "))
            .map(|(l, c)| {
                (
                    l.parse::<usize>().unwrap_or(1),
                    c.parse::<usize>().unwrap_or(0),
                )
            })
            .unwrap_or((1, 0));
        let body: Vec<&str> = m.lines().skip(1).collect();
        let text = body.get(line - 1).copied().unwrap_or("");
        let lo = col.saturating_sub(60);
        eprintln!(
            "MISMATCH {first}\n   LINE {:?}",
            text.get(lo..(col + 5).min(text.len())).unwrap_or(text)
        );
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first:\n{}",
        mismatches.len(),
        mismatches[0]
    );
    errors
}

#[test]
fn error_paths_match_serde_path_to_error_on_broken_presets() {
    let mut errors = 0;
    for (i, p) in presets().iter().enumerate() {
        errors += check::<Scenario>(p.json, 0x9e37_79b9 + i as u64, 1500);
    }
    // Most mutations break the file: the comparison is not vacuous.
    assert!(errors > presets().len() * 1000, "only {errors} errors");
}

#[test]
fn error_paths_match_serde_path_to_error_on_broken_links() {
    let mut errors = 0;
    for (i, p) in presets().iter().enumerate() {
        let s = p.scenario();
        let mut link = Link::new(s.clone(), 7);
        link.commands = s
            .schedule
            .iter()
            .map(|c| scenario::LoggedCommand {
                at_us: c.at.us(),
                after_events: 3,
                command: c.command.clone(),
            })
            .collect();
        let text = serde_json::to_string_pretty(&link).unwrap();
        errors += check::<Link>(&text, 0x5151 + i as u64, 600);
    }
    assert!(errors > presets().len() * 400, "only {errors} errors");
}

#[test]
fn error_paths_name_the_field_hand_written() {
    let cases = [
        (
            r#"{"title": "t", "consumers": [{"id": "c", "queue": "q", "prefetch": "x"}]}"#,
            "consumers[0].prefetch",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q", "colour": 1}]}"#,
            "queues[0].colour",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q"}, {}]}"#,
            "queues[1]",
        ),
        (r#"{"title": "t", "layout": {"q": [1]}}"#, "layout.q"),
        (
            r#"{"title": "t", "layout": {"q": [1, "x"]}}"#,
            "layout.q[1]",
        ),
        (r#"{"title": "t", "queues": [{"id": "q",}]}"#, "queues[0].?"),
        (r#"{"title": 5}"#, "title"),
        (
            r#"{"title": "t", "consumers": [{"id": "c", "from": "q"}]}"#,
            "consumers[0].from",
        ),
        (
            r#"{"title": "t", "producers": [{"id": "p", "to": "q", "rate": "1/s", "keys": {"random_of_n": 2, "x": 1}}]}"#,
            "producers[0].keys",
        ),
        (
            r#"{"title": "t", "exchanges": [{"id": "x", "kind": {"oops": 1}}]}"#,
            "exchanges[0].kind",
        ),
        (r#"{"title": "t""#, "?"),
        (
            r#"{"title": "t", "schedule": [{"at": "1s", "command": {"do": "set_rate", "producer": "p", "rate": "x"}}]}"#,
            "schedule[0].command",
        ),
        (
            r#"{"title": "t", "schedule": [{"command": {"do": "set_rate", "producer": "p", "rate": "1/s"}}]}"#,
            "schedule[0]",
        ),
    ];
    for (text, path) in cases {
        let (reference, ours, _) = both::<Scenario>(text.as_bytes()).expect("an error");
        assert_eq!(reference, path, "{text}");
        assert_eq!(ours, path, "{text}");
    }
}

/// `VARIANT_FIELDS` is every field whose type is an enum: the JSON Schema's
/// `oneOf`/`enum` properties (`to` and `command` are enums only inside a
/// command, which serde reads as a plain map first).
#[test]
fn variant_fields_are_the_enum_typed_fields_of_the_schema() {
    let schema = scenario::json_schema();
    let defs = schema["$defs"].as_object().expect("$defs").clone();
    let resolve = |v: &Value| {
        let mut v = v.clone();
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            v = defs[r.rsplit('/').next().unwrap()].clone();
        }
        v
    };
    let is_enum = |v: &Value| {
        let v = resolve(v);
        let alternatives: Vec<Value> = match v.get("anyOf").and_then(Value::as_array) {
            Some(a) => a.iter().map(&resolve).collect(),
            None => vec![v],
        };
        alternatives
            .iter()
            .any(|a| a.get("oneOf").is_some() || a.get("enum").is_some())
    };
    // Every object in the schema, nested variants' fields included.
    let mut enum_fields = std::collections::BTreeSet::new();
    let mut todo = vec![schema.clone()];
    while let Some(node) = todo.pop() {
        match node {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    for (k, v) in props {
                        if is_enum(v) && k != "to" && k != "command" {
                            enum_fields.insert(k.clone());
                        }
                    }
                }
                todo.extend(m.into_iter().map(|(_, v)| v));
            }
            Value::Array(a) => todo.extend(a),
            _ => {}
        }
    }
    let listed: std::collections::BTreeSet<String> =
        VARIANT_FIELDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, enum_fields);
}

/// An editor validating a scenario against `queuelab schema` and the
/// simulator agree on which texts are durations: the schema's pattern for
/// `Duration` accepts exactly what `parse_duration` reads (it once refused
/// "1.s", "1  s", " 1s" and "1s " that the simulator runs).
#[test]
fn the_schema_duration_pattern_is_what_the_parser_reads() {
    let schema = scenario::json_schema();
    let pattern = schema["$defs"]["Duration"]["pattern"].as_str().unwrap();
    let re = fancy_regex::Regex::new(pattern).unwrap();
    let mut forms = vec![
        "1.s", "1  s", " 1s", "1s ", "1 s", "\t2ms", ".5s", "2.", "2.s", "1.5m", "40µs", "40us",
        "3min", "1h", "250", "s", ".s", ".", "1..5s", "1. 5s", "1 2s", "-1s", "+1s", "1e3ms",
        "1sec", "1 ms ", "1\u{a0}s", "", " ", "0s", "00.00s", "1.5.s", "1ss",
    ];
    let units = ["us", "µs", "ms", "s", "m", "min", "h", "x", ""];
    let numbers = ["0", "7", "12.", ".25", "3.5", "", ".", "1 .5"];
    let pads = ["", " ", "  ", "\t"];
    let mut made = Vec::new();
    for n in numbers {
        for u in units {
            for p in pads {
                for q in pads {
                    made.push(format!("{p}{n}{q}{u}{p}"));
                }
            }
        }
    }
    forms.extend(made.iter().map(String::as_str));
    for text in forms {
        // Semantic limits (finer than 1 µs, over 10 years) are not syntax.
        let parsed = match scenario::parse_duration(text) {
            Ok(_) => true,
            Err(e) => e.contains("finer than") || e.contains("too large") || e.contains("limit"),
        };
        let matched = re.is_match(text).unwrap();
        assert_eq!(
            parsed, matched,
            "{text:?}: parser {parsed}, schema {matched}"
        );
    }
}
