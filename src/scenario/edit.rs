//! Topology edits for the builder: add a node, connect two nodes, delete a
//! node, rename one, set one field. Pure functions on `Scenario` values, so
//! the app keeps an undo stack of whole scenarios and tests run natively.
//!
//!   palette drop ──add──►  Scenario ──connect / set_field / delete──► Scenario'
//!                                      │
//!                                      └─ validate (the same path-named errors as the JSON)
//!
//! Every edit leaves a scenario that `validate` accepts, or returns an error
//! and leaves its input untouched: a producer is added already publishing to
//! an existing exchange, queue or topic, a deleted node takes with it what can
//! no longer exist without it (the consumers of a deleted queue, the producers
//! that published to it), and a field edit goes through the same parser and
//! checks as the JSON editor, so its error names the same path.

use super::{parse, validate, Scenario, ScenarioError, ScenarioIssue};
use serde_json::{json, Value};

/// The kinds of node the palette offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Producer,
    Exchange,
    Queue,
    Consumer,
    Topic,
    Group,
}

impl Part {
    pub const ALL: [Part; 6] = [
        Part::Producer,
        Part::Exchange,
        Part::Queue,
        Part::Consumer,
        Part::Topic,
        Part::Group,
    ];

    /// Lower-case name, also the prefix of new ids (`queue-2`).
    pub fn name(self) -> &'static str {
        match self {
            Part::Producer => "producer",
            Part::Exchange => "exchange",
            Part::Queue => "queue",
            Part::Consumer => "consumer",
            Part::Topic => "topic",
            Part::Group => "group",
        }
    }

    pub fn from_name(s: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.name() == s)
    }

    /// The scenario array holding this kind, as named in JSON paths.
    pub fn array(self) -> &'static str {
        match self {
            Part::Producer => "producers",
            Part::Exchange => "exchanges",
            Part::Queue => "queues",
            Part::Consumer => "consumers",
            Part::Topic => "topics",
            Part::Group => "consumer_groups",
        }
    }
}

/// `v` as a JSON value. The app writes scenario JSON only through
/// `serde_json::Value` (`scenario::to_pretty_json`, links), so this adds no
/// second copy of the `Serialize` impls to the wasm.
pub fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A scenario with nothing in it: the "New" entry's starting point.
pub fn empty() -> Scenario {
    let doc = json!({
        "title": "Untitled scenario",
        "description": "Built by hand: drag parts from the palette onto the canvas, then drag from a node's + handle onto another node to connect them.",
    });
    parse(&doc.to_string()).expect("the empty scenario is valid")
}

/// What kind of node `id` is, and its index in that kind's array.
pub fn find(sc: &Scenario, id: &str) -> Option<(Part, usize)> {
    fn pos<'a>(mut ids: impl Iterator<Item = &'a String>, id: &str) -> Option<usize> {
        ids.position(|x| x == id)
    }
    let found = [
        (Part::Producer, pos(sc.producers.iter().map(|p| &p.id), id)),
        (Part::Exchange, pos(sc.exchanges.iter().map(|p| &p.id), id)),
        (Part::Queue, pos(sc.queues.iter().map(|p| &p.id), id)),
        (Part::Consumer, pos(sc.consumers.iter().map(|p| &p.id), id)),
        (Part::Topic, pos(sc.topics.iter().map(|p| &p.id), id)),
        (
            Part::Group,
            pos(sc.consumer_groups.iter().map(|p| &p.id), id),
        ),
    ];
    for (part, i) in found {
        if let Some(i) = i {
            return Some((part, i));
        }
    }
    None
}

/// The JSON path of node `id` (`consumers[1]`), as validation errors name it.
pub fn path_of(sc: &Scenario, id: &str) -> Option<String> {
    find(sc, id).map(|(p, i)| format!("{}[{i}]", p.array()))
}

fn fresh_id(sc: &Scenario, part: Part) -> String {
    (1..)
        .map(|n| format!("{}-{n}", part.name()))
        .find(|id| find(sc, id).is_none())
        .expect("ids are unbounded")
}

/// Add a node of kind `part`. Producers, consumers and consumer groups need
/// something to read from or publish to: the first fitting id in `near`
/// (the nodes closest to where it was dropped), else the first fitting node
/// of the scenario. Returns the new node's id.
pub fn add(sc: &mut Scenario, part: Part, near: &[String]) -> Result<String, String> {
    let fits = |id: &str, ok: &[Part]| find(sc, id).is_some_and(|(p, _)| ok.contains(&p));
    let pick = |ok: &[Part]| -> Option<String> {
        near.iter().find(|id| fits(id, ok)).cloned().or_else(|| {
            let all = sc
                .exchanges
                .iter()
                .map(|x| &x.id)
                .chain(sc.queues.iter().map(|q| &q.id))
                .chain(sc.topics.iter().map(|t| &t.id));
            all.into_iter().find(|id| fits(id, ok)).cloned()
        })
    };
    let id = fresh_id(sc, part);
    let node = match part {
        Part::Producer => {
            let to = pick(&[Part::Exchange, Part::Queue, Part::Topic]).ok_or(
                "a producer publishes to an exchange, a queue or a topic: add one of those first",
            )?;
            json!({ "id": id, "to": to, "rate": "10/s" })
        }
        Part::Exchange => json!({ "id": id, "kind": "direct" }),
        Part::Queue => json!({ "id": id }),
        Part::Consumer => {
            let queue =
                pick(&[Part::Queue]).ok_or("a consumer reads from a queue: add a queue first")?;
            json!({ "id": id, "queue": queue, "service": { "constant": "50ms" } })
        }
        Part::Topic => json!({ "id": id, "partitions": 3 }),
        Part::Group => {
            let topic =
                pick(&[Part::Topic]).ok_or("a consumer group reads topics: add a topic first")?;
            json!({ "id": id, "topics": [topic], "service": { "constant": "20ms" } })
        }
    };
    // Through the text and the JSON editor's parser, like every edit here.
    let mut doc = to_json(&*sc);
    let Some(list) = doc.as_object_mut().map(|o| {
        o.entry(part.array())
            .or_insert_with(|| Value::Array(Vec::new()))
    }) else {
        return Err("internal: the scenario is not an object".into());
    };
    if let Some(a) = list.as_array_mut() {
        a.push(node);
    }
    let next = parse(&doc.to_string()).map_err(|e| first_issue(&e).to_string())?;
    checked(sc, next)?;
    Ok(id)
}

/// Replace `sc` by `next` when `next` validates; else report its first issue.
fn checked(sc: &mut Scenario, next: Scenario) -> Result<(), String> {
    validate(&next).map_err(|e| e.issues.first().map(|i| i.to_string()).unwrap_or_default())?;
    *sc = next;
    Ok(())
}

/// Connect `from` to `to` by the one link their kinds allow; returns what
/// the link is, in words (`"binding work → jobs"`).
pub fn connect(sc: &mut Scenario, from: &str, to: &str) -> Result<String, String> {
    let (a, ai) = find(sc, from).ok_or(format!("no node named {from:?}"))?;
    let (b, bi) = find(sc, to).ok_or(format!("no node named {to:?}"))?;
    if from == to {
        return Err("drag to another node to connect".into());
    }
    let mut next = sc.clone();
    let what = match (a, b) {
        (Part::Producer, Part::Exchange | Part::Queue | Part::Topic) => {
            next.producers[ai].to = to.to_string();
            format!("{from} publishes to {to}")
        }
        (Part::Exchange, Part::Queue | Part::Exchange) => {
            let x = &mut next.exchanges[ai];
            let dup = x.bindings.iter().any(|bd| {
                bd.key.is_empty()
                    && bd.headers.is_empty()
                    && (bd.queue.as_deref() == Some(to) || bd.exchange.as_deref() == Some(to))
            });
            if dup {
                return Err(format!(
                    "{from} is already bound to {to} with an empty key: edit that binding's key in the inspector"
                ));
            }
            let (q, e) = if b == Part::Queue {
                (Some(to.to_string()), None)
            } else {
                (None, Some(to.to_string()))
            };
            x.bindings.push(super::Binding {
                queue: q,
                exchange: e,
                key: String::new(),
                x_match: None,
                headers: Default::default(),
            });
            format!("binding {from} → {to}: set its key in {from}'s inspector")
        }
        (Part::Queue, Part::Consumer) => {
            next.consumers[bi].queue = from.to_string();
            format!("{to} consumes from {from}")
        }
        (Part::Consumer, Part::Queue) => {
            next.consumers[ai].queue = to.to_string();
            format!("{from} consumes from {to}")
        }
        (Part::Queue, Part::Exchange) => {
            next.queues[ai].dead_letter_exchange = Some(to.to_string());
            format!("{from} dead-letters to {to}")
        }
        (Part::Consumer, Part::Exchange) => {
            next.consumers[ai].on_success.push(super::Publish {
                to: to.to_string(),
                routing_key: None,
                copies: 1,
                headers: Default::default(),
            });
            format!("{from} publishes to {to} after each success")
        }
        (Part::Topic, Part::Group) | (Part::Group, Part::Topic) => {
            let (t, gi) = if a == Part::Topic { (from, bi) } else { (to, ai) };
            let g = &mut next.consumer_groups[gi];
            if g.topics.iter().any(|x| x == t) {
                return Err(format!("{} already reads {t}", g.id));
            }
            g.topics.push(t.to_string());
            format!("{} reads {t}", g.id)
        }
        _ => {
            return Err(format!(
                "a {} cannot link to a {}: drag producer → exchange, queue or topic; exchange → queue (binding); queue → consumer; queue → exchange (dead letters); topic → group",
                a.name(),
                b.name()
            ))
        }
    };
    checked(sc, next)?;
    Ok(what)
}

/// Every node id a scheduled command names: its string values that are ids.
fn command_names(sc: &Scenario, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if find(sc, s).is_some() => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| command_names(sc, x, out)),
        Value::Object(m) => m.values().for_each(|x| command_names(sc, x, out)),
        _ => {}
    }
}

/// Delete node `id` and what cannot exist without it. Returns every id
/// removed, `id` first.
pub fn delete(sc: &mut Scenario, id: &str) -> Result<Vec<String>, String> {
    find(sc, id).ok_or(format!("no node named {id:?}"))?;
    let mut next = sc.clone();
    let mut gone = vec![id.to_string()];
    let mut i = 0;
    while i < gone.len() {
        let g = gone[i].clone();
        i += 1;
        let mut also: Vec<String> = Vec::new();
        next.producers.retain(|p| p.id != g);
        also.extend(
            next.producers
                .iter()
                .filter(|p| p.to == g)
                .map(|p| p.id.clone()),
        );
        next.exchanges.retain(|x| x.id != g);
        for x in &mut next.exchanges {
            x.bindings.retain(|b| {
                b.queue.as_deref() != Some(g.as_str()) && b.exchange.as_deref() != Some(g.as_str())
            });
            if x.alternate_exchange.as_deref() == Some(g.as_str()) {
                x.alternate_exchange = None;
            }
        }
        next.queues.retain(|q| q.id != g);
        for q in &mut next.queues {
            // An SQS redrive policy needs its dead-letter queue: drop the policy.
            if let Some(s) = &mut q.sqs {
                if s.dead_letter_queue.as_deref() == Some(g.as_str()) {
                    s.dead_letter_queue = None;
                    s.max_receive_count = None;
                }
            }
            if q.dead_letter_exchange.as_deref() == Some(g.as_str()) {
                q.dead_letter_exchange = None;
                q.dead_letter_routing_key = None;
                if q.overflow == super::Overflow::RejectPublishDlx {
                    q.overflow = super::Overflow::RejectPublish;
                }
            }
        }
        next.consumers.retain(|c| c.id != g);
        also.extend(
            next.consumers
                .iter()
                .filter(|c| c.queue == g)
                .map(|c| c.id.clone()),
        );
        for c in &mut next.consumers {
            c.on_success.retain(|p| p.to != g);
            if let Some(r) = &mut c.retry {
                if r.exhausted_to.as_deref() == Some(g.as_str()) {
                    r.exhausted_to = None;
                }
            }
        }
        next.topics.retain(|t| t.id != g);
        next.consumer_groups.retain(|c| c.id != g);
        for c in &mut next.consumer_groups {
            c.topics.retain(|t| *t != g);
        }
        also.extend(
            next.consumer_groups
                .iter()
                .filter(|c| c.topics.is_empty())
                .map(|c| c.id.clone()),
        );
        next.layout.remove(&g);
        for a in also {
            if !gone.contains(&a) {
                gone.push(a);
            }
        }
    }
    // Alert rules watching a deleted node go with it.
    next.alerts.retain(|a| !gone.contains(&a.node));
    // Scheduled commands that name a deleted node go with it.
    let before = sc.clone();
    next.schedule.retain(|s| {
        let mut names = Vec::new();
        command_names(&before, &to_json(&s.command), &mut names);
        !names.iter().any(|n| gone.contains(n))
    });
    checked(sc, next)?;
    Ok(gone)
}

/// Rename node `old` to `new` everywhere it is named.
pub fn rename(sc: &mut Scenario, old: &str, new: &str) -> Result<(), ScenarioError> {
    let Some((part, i)) = find(sc, old) else {
        return Err(ScenarioError::one("", format!("no node named {old:?}")));
    };
    if old == new {
        return Ok(());
    }
    let mut next = sc.clone();
    let re = |s: &mut String| {
        if s == old {
            *s = new.to_string();
        }
    };
    let re_opt = |s: &mut Option<String>| {
        if s.as_deref() == Some(old) {
            *s = Some(new.to_string());
        }
    };
    match part {
        Part::Producer => next.producers[i].id = new.into(),
        Part::Exchange => next.exchanges[i].id = new.into(),
        Part::Queue => next.queues[i].id = new.into(),
        Part::Consumer => next.consumers[i].id = new.into(),
        Part::Topic => next.topics[i].id = new.into(),
        Part::Group => next.consumer_groups[i].id = new.into(),
    }
    next.producers.iter_mut().for_each(|p| re(&mut p.to));
    for x in &mut next.exchanges {
        re_opt(&mut x.alternate_exchange);
        for b in &mut x.bindings {
            re_opt(&mut b.queue);
            re_opt(&mut b.exchange);
        }
    }
    for q in &mut next.queues {
        re_opt(&mut q.dead_letter_exchange);
        if let Some(s) = &mut q.sqs {
            re_opt(&mut s.dead_letter_queue);
        }
    }
    for c in &mut next.consumers {
        re(&mut c.queue);
        c.on_success.iter_mut().for_each(|p| re(&mut p.to));
        if let Some(r) = &mut c.retry {
            re_opt(&mut r.exhausted_to);
        }
    }
    next.consumer_groups
        .iter_mut()
        .for_each(|g| g.topics.iter_mut().for_each(re));
    next.alerts.iter_mut().for_each(|a| re(&mut a.node));
    if let Some(xy) = next.layout.remove(old) {
        next.layout.insert(new.to_string(), xy);
    }
    // Scheduled commands name nodes by id in their string fields.
    for s in &mut next.schedule {
        let mut v = to_json(&s.command);
        rename_strings(&mut v, old, new);
        if let Ok(c) = serde_json::from_value(v) {
            s.command = c;
        }
    }
    validate(&next)?;
    *sc = next;
    Ok(())
}

fn rename_strings(v: &mut Value, old: &str, new: &str) {
    match v {
        Value::String(s) if s == old => *s = new.to_string(),
        Value::Array(a) => a.iter_mut().for_each(|x| rename_strings(x, old, new)),
        Value::Object(m) => m.values_mut().for_each(|x| rename_strings(x, old, new)),
        _ => {}
    }
}

/// Set the field at JSON `path` (`consumers[0].prefetch`,
/// `exchanges[1].bindings[0].key`) to `value`; `Value::Null` removes the
/// field so its default applies. The result goes through the JSON editor's
/// parser and validation: an error names the field's path exactly as there.
/// A node's `id` goes through `rename` so references follow it.
pub fn set_field(sc: &mut Scenario, path: &str, value: Value) -> Result<(), ScenarioError> {
    let segs = segments(path)
        .ok_or_else(|| ScenarioError::one(path, "internal: not a field path the builder edits"))?;
    if let [(arr, _), (i, _), (field, _)] = segs.as_slice() {
        if field == "id" {
            let index: usize = i.parse().unwrap_or(usize::MAX);
            let old = Part::ALL
                .into_iter()
                .find(|p| p.array() == arr)
                .and_then(|p| id_at(sc, p, index));
            if let (Some(old), Value::String(new)) = (old, &value) {
                return rename(sc, &old, new.trim());
            }
        }
    }
    let mut doc = to_json(&*sc);
    let (last, parent) = segs.split_last().expect("segments are never empty");
    let mut at = &mut doc;
    for (seg, is_index) in parent {
        at = if *is_index {
            at.get_mut(seg.parse::<usize>().unwrap_or(usize::MAX))
        } else {
            at.get_mut(seg.as_str())
        }
        .ok_or_else(|| ScenarioError::one(path, "internal: no such field to edit"))?;
    }
    if last.1 {
        // An element of a list (`service.uniform[1]`): replaced in place.
        let slot = at
            .as_array_mut()
            .and_then(|a| a.get_mut(last.0.parse::<usize>().unwrap_or(usize::MAX)))
            .ok_or_else(|| ScenarioError::one(path, "internal: no such element to edit"))?;
        *slot = value;
    } else {
        let Some(obj) = at.as_object_mut() else {
            return Err(ScenarioError::one(path, "internal: not an object"));
        };
        if value.is_null() {
            obj.remove(&last.0);
        } else {
            obj.insert(last.0.clone(), value);
        }
    }
    let text = doc.to_string();
    let next = parse(&text).map_err(one_line)?;
    validate(&next)?;
    *sc = next;
    Ok(())
}

fn id_at(sc: &Scenario, p: Part, i: usize) -> Option<String> {
    match p {
        Part::Producer => sc.producers.get(i).map(|x| x.id.clone()),
        Part::Exchange => sc.exchanges.get(i).map(|x| x.id.clone()),
        Part::Queue => sc.queues.get(i).map(|x| x.id.clone()),
        Part::Consumer => sc.consumers.get(i).map(|x| x.id.clone()),
        Part::Topic => sc.topics.get(i).map(|x| x.id.clone()),
        Part::Group => sc.consumer_groups.get(i).map(|x| x.id.clone()),
    }
}

/// The parser's errors end in " at line L column C", which names a place in
/// the one-line text built here, not in anything the user sees: drop it.
fn one_line(mut e: ScenarioError) -> ScenarioError {
    for i in &mut e.issues {
        if let Some(k) = i.message.rfind(" at line ") {
            i.message.truncate(k);
        }
    }
    e
}

/// `a[1].b` → [("a", false), ("1", true), ("b", false)].
fn segments(path: &str) -> Option<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, rest) = match part.find('[') {
            Some(k) => part.split_at(k),
            None => (part, ""),
        };
        if name.is_empty() {
            return None;
        }
        out.push((name.to_string(), false));
        let mut rest = rest;
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let idx = &r[..end];
            idx.parse::<usize>().ok()?;
            out.push((idx.to_string(), true));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The first issue of an error, for one-line messages.
pub fn first_issue(e: &ScenarioError) -> ScenarioIssue {
    e.issues.first().cloned().unwrap_or(ScenarioIssue {
        path: String::new(),
        message: "invalid".into(),
    })
}

/// The byte offset in `text` of the value at JSON `path`, or of the deepest
/// part of the path that exists (a missing field points at its object).
/// Used by the editor to put the caret on an error's line.
pub fn offset_of_path(text: &str, path: &str) -> Option<usize> {
    use serde_json::value::RawValue;
    use std::collections::BTreeMap;
    let segs = if path.is_empty() {
        Vec::new()
    } else {
        segments(path).unwrap_or_default()
    };
    let root: &RawValue = serde_json::from_str(text).ok()?;
    let offset =
        |raw: &RawValue| (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let mut at = root;
    for (seg, is_index) in segs {
        let next: Option<&RawValue> = if is_index {
            serde_json::from_str::<Vec<&RawValue>>(at.get())
                .ok()
                .and_then(|v| v.get(seg.parse::<usize>().ok()?).copied())
        } else {
            serde_json::from_str::<BTreeMap<String, &RawValue>>(at.get())
                .ok()
                .and_then(|m| m.get(seg.as_str()).copied())
        };
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    Some(offset(at))
}
