//! The JSON path of a parse error (`consumers[1].prefetch`), found from where
//! serde_json stopped in the text.
//!
//!   text ──serde_json (plain, typed)──► Ok(value)
//!                                   └─► Err(e at line L column C) ──scan text up to there──► path
//!
//! Why not a path-tracking deserializer (serde_path_to_error, which this
//! replaced): it wraps every visitor and seed, so the whole scenario type tree
//! is compiled around its wrappers, far bigger than plain (it was a fifth of
//! the browser app's code). Here the typed deserialization is compiled once,
//! plain, and the path comes from a small scanner over the bytes serde_json
//! had read when it failed. It relies on serde_json's error texts and
//! positions; the comparison test below fails if a new serde_json moves them. The paths are the ones serde_path_to_error gives, quirks included
//! (`a.?` when an object's next key cannot be read; the container itself for
//! "missing field" and "invalid length"): `tests/engine/json_paths.rs` checks
//! both against each other on thousands of broken scenarios and links.
//! Only for positioned serde_json errors; everything else gets the empty path.
//!
//!   let mut de = serde_json::Deserializer::from_slice(bytes);
//!   T::deserialize(&mut de).map_err(|e| (error_path(bytes, &e), e))

use serde_json::error::Category;

/// Where a container is in its text: just opened, after a comma, after a key
/// (before `:`), after the colon, inside a value, or after a value.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Open,
    Comma,
    Key,
    Colon,
    Value,
    After,
}

struct Frame {
    object: bool,
    /// An externally tagged enum written as `{"variant": value}`: its key is
    /// the variant, and errors about it belong to the enum itself.
    variant: bool,
    /// The current key (objects) ...
    key: String,
    /// ... or the current element's index (arrays).
    index: usize,
    phase: Phase,
}

impl Frame {
    fn child(&self, out: &mut String) {
        if self.object {
            out.push('.');
            out.push_str(&self.key);
        } else {
            out.push('[');
            out.push_str(&self.index.to_string());
            out.push(']');
        }
    }
}

/// Fields whose type is an (externally tagged) enum: written as an object,
/// `{"variant": ...}`, its one key is the variant. Inside a schedule's
/// `command` they are plain maps to serde (the command is read whole before
/// its variant is known), so `to` (a `SeekTo` only there) is not listed.
/// Inside a variant's (or a lesson step's) `set` the values are free JSON
/// (`serde_json::Value`), so nothing there is an enum either.
/// `tests/engine/json_paths.rs` checks this list against the JSON Schema.
pub const VARIANT_FIELDS: &[&str] = &[
    "ack",
    "ack_mode",
    "acks",
    "arrival",
    "assignment",
    "auto_offset_reset",
    "backoff",
    "cleanup",
    "commit",
    "deduplication",
    "guarantee",
    "isolation_level",
    "key_shared",
    "keys",
    "kind",
    "metric",
    "mode",
    "on_failure",
    "overflow",
    "partitioner",
    "per",
    "point",
    "poison",
    "policy",
    "routing_keys",
    "service",
    "type",
    "x_match",
];

/// The path serde_path_to_error would report for `error`, raised while
/// serde_json deserialized `bytes`.
pub fn error_path(bytes: &[u8], error: &serde_json::Error) -> String {
    if error.line() == 0 {
        return String::new();
    }
    // serde_json's position is the count of bytes read: the byte index of the
    // line's start plus the column.
    let mut line_start = 0;
    for _ in 1..error.line() {
        match bytes[line_start..].iter().position(|&b| b == b'\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let read = (line_start + error.column()).min(bytes.len());
    let message = error.to_string();
    let starts = |p: &str| message.starts_with(p);
    let syntax = matches!(error.classify(), Category::Syntax);
    if starts("expected value") {
        // An enum's `{"variant": value` followed by anything but `}`.
        let (stack, _, _) = scan(&bytes[..read]);
        if let Some(top) = stack.last() {
            if top.variant && top.phase == Phase::After {
                return relative(join(&stack[..stack.len() - 1], None));
            }
        }
    }
    // A syntax error's last byte read is the offending one (read or peeked):
    // it is not part of the structure the error belongs to.
    let read = if syntax { read.saturating_sub(1) } else { read };
    let (stack, last_string, closed_key) = scan(&bytes[..read]);
    let Some((top, outer)) = stack.split_last() else {
        return String::new();
    };
    let base = || join(outer, None);
    let child = || join(outer, Some(top));
    let unknown_key = || {
        if top.variant {
            base()
        } else {
            join(outer, None) + ".?"
        }
    };
    let path = if matches!(error.classify(), Category::Eof | Category::Syntax) {
        if starts("expected `,` or `]`")
            || starts("EOF while parsing a list")
            || starts("trailing characters")
            || starts("expected `:`")
        {
            base()
        } else if starts("EOF while parsing a value") && !top.object && top.phase == Phase::Comma {
            // `[1,` and the end: the array's next element never began.
            base()
        } else if starts("trailing comma") {
            if top.object {
                unknown_key()
            } else {
                base()
            }
        } else if starts("expected `,` or `}`") || starts("key must be a string") {
            unknown_key()
        } else if starts("EOF while parsing an object") {
            if top.phase == Phase::Key {
                base()
            } else {
                unknown_key()
            }
        } else if starts("expected value") && top.object && top.phase == Phase::Open {
            // `{}` where an externally tagged enum was expected (a struct
            // written as an array reaches one this way): serde reads the
            // variant's name and finds `}`; the path is the enum's own.
            base()
        } else if top.object {
            match top.phase {
                Phase::Open | Phase::Comma => unknown_key(),
                Phase::Key => base(),
                Phase::Colon | Phase::Value | Phase::After => child(),
            }
        } else {
            child()
        }
    } else if top.phase == Phase::After && closed_key == "command" {
        // A schedule's command is read whole, then its variant: an error in it
        // comes after the command, and when `command` is the last field,
        // after the closing `}` of the object holding it too.
        let own = ["`at`", "`at_us`", "`after_events`", "`command`"];
        if starts("missing field")
            && own
                .iter()
                .any(|f| message.get(14..).is_some_and(|m| m.starts_with(f)))
        {
            child()
        } else {
            child() + ".command"
        }
    } else if starts("missing field") || starts("invalid length") {
        // serde_json reads the closing bracket before it reports these.
        match top.phase {
            Phase::After => child(),
            _ => base(),
        }
    } else if starts("duplicate field") {
        base()
    } else if starts("invalid type: unit variant") {
        // `"service": "constant"` where the variant needs data: serde
        // entered the variant named by the string. The error comes after the
        // object holding the field, past its `}` when the field is last.
        if closed_key.is_empty() {
            child() + "." + &last_string
        } else {
            child() + "." + &closed_key + "." + &last_string
        }
    } else if top.object {
        match top.phase {
            Phase::Open | Phase::Comma => base(),
            Phase::Key if starts("unknown field") => child(),
            Phase::Key => base(),
            Phase::Colon | Phase::Value | Phase::After => child(),
        }
    } else {
        child()
    };
    relative(path)
}

/// Relative to the document: `consumers[1]`, not `.consumers[1]`.
fn relative(path: String) -> String {
    match path.strip_prefix('.') {
        Some(rest) => rest.to_string(),
        None => path,
    }
}

/// The path through `frames`, each into its current child, then into `last`'s.
fn join(frames: &[Frame], last: Option<&Frame>) -> String {
    let mut path = String::new();
    for frame in frames.iter().chain(last) {
        frame.child(&mut path);
    }
    path
}

/// The open containers after reading `text` (a prefix of a JSON document as
/// far as serde_json read it), innermost last. Stops where the text stops
/// being JSON (a bracket closing a container that still waits for a value).
/// Also the last complete string value, and the last key of the object the
/// text ends by closing ("" if it does not end so).
fn scan(text: &[u8]) -> (Vec<Frame>, String, String) {
    let mut stack: Vec<Frame> = Vec::new();
    let mut last_string = String::new();
    let mut closed_key = String::new();
    let begin_value = |stack: &mut Vec<Frame>| {
        if let Some(top) = stack.last_mut() {
            top.phase = Phase::Value;
        }
    };
    let end_value = |stack: &mut Vec<Frame>| {
        if let Some(top) = stack.last_mut() {
            top.phase = Phase::After;
        }
    };
    let mut i = 0;
    while i < text.len() {
        if !b" \t\n\r".contains(&text[i]) {
            closed_key.clear();
        }
        match text[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            open @ (b'{' | b'[') => {
                let variant = open == b'{'
                    && matches!(stack.last(), Some(f) if f.object && f.phase == Phase::Colon
                        && VARIANT_FIELDS.contains(&f.key.as_str()))
                    && !stack
                        .iter()
                        .any(|f| f.object && (f.key == "command" || f.key == "set"));
                begin_value(&mut stack);
                stack.push(Frame {
                    object: open == b'{',
                    variant,
                    key: String::new(),
                    index: 0,
                    phase: Phase::Open,
                });
                i += 1;
            }
            close @ (b'}' | b']') => {
                match stack.last() {
                    Some(top)
                        if top.object == (close == b'}')
                            && matches!(top.phase, Phase::Open | Phase::After) => {}
                    _ => break,
                }
                if let Some(closed) = stack.pop() {
                    closed_key = closed.key;
                }
                end_value(&mut stack);
                i += 1;
            }
            b':' => {
                if let Some(top) = stack.last_mut() {
                    top.phase = Phase::Colon;
                }
                i += 1;
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    if !top.object {
                        top.index += 1;
                    }
                    top.phase = Phase::Comma;
                }
                i += 1;
            }
            b'"' => {
                let is_key = matches!(stack.last(),
                    Some(f) if f.object && matches!(f.phase, Phase::Open | Phase::Comma));
                let Some(end) = string_end(text, i) else {
                    // Unterminated: a key or value still being read.
                    if !is_key {
                        begin_value(&mut stack);
                    }
                    break;
                };
                // As serde sees it: escapes resolved.
                let string = serde_json::from_slice::<String>(&text[i..end]).unwrap_or_default();
                if let (true, Some(top)) = (is_key, stack.last_mut()) {
                    top.key = string;
                    top.phase = Phase::Key;
                } else {
                    last_string = string;
                    begin_value(&mut stack);
                    end_value(&mut stack);
                }
                i = end;
            }
            _ => {
                // A number or literal: complete once a delimiter follows it,
                // or when it could not go on (serde_json stopped after it).
                let start = i;
                while i < text.len() && !b" \t\n\r,:]}[{\"".contains(&text[i]) {
                    i += 1;
                }
                begin_value(&mut stack);
                let token = &text[start..i];
                let whole = matches!(token, b"true" | b"false" | b"null")
                    || token.last().is_some_and(u8::is_ascii_digit);
                if i < text.len() || whole {
                    end_value(&mut stack);
                }
            }
        }
    }
    (stack, last_string, closed_key)
}

/// The index just past the closing quote of the string opening at `start`
/// (`\uXXXX` takes four bytes whatever they are, as serde_json reads it).
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < text.len() {
        match text[i] {
            b'\\' if text.get(i + 1) == Some(&b'u') => i += 6,
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// One step of a path as `error_path` writes it.
enum Seg {
    Key(String),
    Index(usize),
}

/// `consumers[0].service` into its steps (a key holding `.`, `[` or `]` is
/// not split back correctly: the caller then finds nothing there).
fn segments(path: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(Seg::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

fn at_mut<'v>(root: &'v mut serde_json::Value, path: &[Seg]) -> Option<&'v mut serde_json::Value> {
    path.iter().try_fold(root, |v, s| match s {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

/// A clear message for a value that is not one of an externally tagged
/// enum's forms, which serde words from inside the enum ("invalid type:
/// unit variant, expected newtype variant", "expected unit", "expected
/// value", "trailing characters"). Returns the enum field's path and a
/// message naming what is wrong and every form it takes, e.g.
/// `consumers[0].service`, `5 is not a service form; write one of
/// {"constant": …}, {"uniform": […]}, {"exponential": …}, {"log_normal": {…}}`.
///
/// The forms are not listed by hand: `reject` deserializes the document with
/// a value put in the enum's place, and serde's own errors say which
/// variants exist (a name that is none: "unknown variant, expected one of")
/// and which take data (a bare name: "expected newtype variant"). Only on
/// this error path, so a valid scenario costs nothing; None when the error is
/// not about an enum or the probes do not say (then serde's text stands).
pub fn enum_issue(
    text: &str,
    path: &str,
    message: &str,
    reject: &dyn Fn(&[u8]) -> Option<serde_json::Error>,
) -> Option<(String, String)> {
    use serde_json::Value;
    let (what, at) = match message.rfind(" at line ") {
        Some(k) => message.split_at(k),
        None => (message, ""),
    };
    let root: Value = serde_json::from_str(text).ok()?;
    let mut steps = segments(path)?;
    let last_key = match steps.last() {
        Some(Seg::Key(k)) => Some(k.clone()),
        _ => None,
    };
    // Which case, and where the enum is: the error's own path, or its
    // parent when serde failed inside the variant it entered.
    enum Case {
        NeedsValue(String),
        NoValue(String),
        TooMany(String),
        Shape,
    }
    let case = if what.starts_with("invalid type: unit variant, expected ") {
        Case::NeedsValue(last_key?)
    } else if what.ends_with(", expected unit") {
        Case::NoValue(last_key?)
    } else if what == "trailing characters" {
        Case::TooMany(last_key?)
    } else if what == "expected value" || what.starts_with("invalid type: ") {
        Case::Shape
    } else {
        return None;
    };
    if !matches!(case, Case::Shape) {
        steps.pop();
    }
    let enum_path = {
        let mut p = String::new();
        for s in &steps {
            match s {
                Seg::Key(k) => {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(k);
                }
                Seg::Index(i) => p.push_str(&format!("[{i}]")),
            }
        }
        p
    };
    let probe = |v: Value| -> Option<(String, String)> {
        let mut doc = root.clone();
        *at_mut(&mut doc, &steps)? = v;
        let bytes = serde_json::to_vec(&doc).ok()?;
        let e = reject(&bytes)?;
        Some((error_path(&bytes, &e), e.to_string()))
    };
    // A name no variant has: serde lists the ones there are.
    const NONE: &str = "\u{1}";
    let (p, m) = probe(Value::String(NONE.into()))?;
    if p != enum_path {
        return None;
    }
    let listed = m
        .strip_prefix(&format!("unknown variant `{NONE}`, expected "))?
        .split(" at line ")
        .next()?
        .to_string();
    let names: Vec<&str> = listed
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return None;
    }
    let forms: Vec<String> = names
        .iter()
        .map(|n| {
            let needs = probe(Value::String(n.to_string()))
                .filter(|(p, _)| p.starts_with(&enum_path))
                .map(|(_, m)| m)
                .unwrap_or_default();
            if needs.contains("expected newtype variant") {
                format!("{{\"{n}\": …}}")
            } else if needs.contains("expected struct variant") {
                format!("{{\"{n}\": {{…}}}}")
            } else if needs.contains("expected tuple variant") {
                format!("{{\"{n}\": […]}}")
            } else {
                format!("\"{n}\"")
            }
        })
        .collect();
    let form_of = |n: &str| {
        forms
            .iter()
            .zip(&names)
            .find(|(_, m)| **m == n)
            .map(|(f, _)| f.clone())
            .unwrap_or_default()
    };
    let one_of = format!("the forms are {}", forms.join(", "));
    let problem = match case {
        Case::NeedsValue(n) => format!("\"{n}\" needs a value: write {}", form_of(&n)),
        Case::NoValue(n) => format!("\"{n}\" takes no value: write \"{n}\""),
        Case::TooMany(n) => format!("\"{n}\" has too many items: write {}", form_of(&n)),
        Case::Shape => {
            let mut doc = root.clone();
            let here = at_mut(&mut doc, &steps)?;
            let shown = crate::scenario::clip(&here.to_string(), 40);
            match here {
                Value::Object(m) if m.is_empty() => "{} names no form".to_string(),
                Value::Object(m) if m.len() > 1 => {
                    format!("{shown} has {} keys; a form has one", m.len())
                }
                _ => format!("{shown} is not a form"),
            }
        }
    };
    Some((enum_path, format!("{problem}; {one_of}{at}")))
}

/// The first place where the text wrote a list and the scenario read it as
/// an object: serde fills a struct from a JSON array by position
/// (`"queues": [["orders"]]`), which skips the unknown-field check and hides
/// which value is which. `read` is the parsed scenario serialized again;
/// where it has an object and `written` (the text's JSON) a list, the
/// schema said object. Returns that path.
pub fn list_for_object(written: &serde_json::Value, read: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    fn walk(w: &Value, r: &Value, path: &mut String) -> bool {
        match (w, r) {
            (Value::Array(_), Value::Object(_)) => true,
            (Value::Object(wm), Value::Object(rm)) => wm.iter().any(|(k, wv)| {
                rm.get(k).is_some_and(|rv| {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    let found = walk(wv, rv, path);
                    if !found {
                        path.truncate(len);
                    }
                    found
                })
            }),
            (Value::Array(wa), Value::Array(ra)) if wa.len() == ra.len() => {
                wa.iter().zip(ra).enumerate().any(|(i, (wv, rv))| {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let found = walk(wv, rv, path);
                    if !found {
                        path.truncate(len);
                    }
                    found
                })
            }
            _ => false,
        }
    }
    let mut path = String::new();
    walk(written, read, &mut path).then_some(path)
}
