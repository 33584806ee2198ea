//! The builder's views: the palette beside the canvas, its tool bar (New,
//! Undo, Redo, Delete, what the last edit did) and the property form the
//! inspector shows for the selected node. Every field shows the scenario's
//! value at its JSON path and sends `BuildMsg::Field` on change; the error of
//! a refused edit names the same path the JSON editor would.

use super::builder::{BuildMsg, FieldType};
use super::{App, Msg};
use crate::scenario::edit::{self, Part};
use serde_json::Value;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew::TargetCast;

/// One editable field: JSON name, label, how its text is read, a hint.
struct Field {
    name: &'static str,
    label: &'static str,
    ty: FieldType,
    hint: &'static str,
    /// Choices for a select (value, label); empty: a text input.
    choices: &'static [(&'static str, &'static str)],
}

const fn f(name: &'static str, label: &'static str, ty: FieldType, hint: &'static str) -> Field {
    Field {
        name,
        label,
        ty,
        hint,
        choices: &[],
    }
}

const fn choice(
    name: &'static str,
    label: &'static str,
    choices: &'static [(&'static str, &'static str)],
) -> Field {
    Field {
        name,
        label,
        ty: FieldType::Choice,
        hint: "",
        choices,
    }
}

use FieldType::{Json, Num, OptNum, OptStr, Str};

const PRODUCER: &[Field] = &[
    f("id", "Id", Str, "letters, digits and - _ . :"),
    f(
        "to",
        "Publishes to",
        Str,
        "exchange, queue or topic id (or drag from its + handle)",
    ),
    f("rate", "Rate", Str, "e.g. 40/s, 2/min"),
    choice(
        "arrival",
        "Arrivals",
        &[
            ("poisson", "Poisson (random gaps)"),
            ("constant", "constant gaps"),
        ],
    ),
    f("routing_key", "Routing key", Str, "of every message"),
    f(
        "routing_keys",
        "Routing keys (JSON)",
        Json,
        r#"{"round_robin": ["a.info", "b.warn"]}"#,
    ),
    f(
        "keys",
        "Message keys (JSON)",
        Json,
        r#"{"random_of_n": 20}"#,
    ),
    f("headers", "Headers (JSON)", Json, r#"{"format": "pdf"}"#),
    f("count", "Stop after (messages)", OptNum, "empty: no limit"),
    f("ttl", "Message TTL", OptStr, "e.g. 5s; empty: none"),
    f("payload_bytes", "Payload (bytes)", Num, ""),
];

const EXCHANGE: &[Field] = &[
    f("id", "Id", Str, "letters, digits and - _ . :"),
    choice(
        "kind",
        "Type",
        &[
            ("direct", "direct"),
            ("fanout", "fanout"),
            ("topic", "topic"),
            ("headers", "headers"),
        ],
    ),
    f(
        "alternate_exchange",
        "Alternate exchange",
        OptStr,
        "exchange id for unroutable messages",
    ),
];

const QUEUE: &[Field] = &[
    f("id", "Id", Str, "letters, digits and - _ . :"),
    f("max_length", "Max length", OptNum, "empty: unbounded"),
    choice(
        "overflow",
        "Overflow",
        &[
            ("drop-head", "drop head"),
            ("reject-publish", "reject publish"),
            ("reject-publish-dlx", "reject publish + dead-letter"),
        ],
    ),
    f("ttl", "Message TTL", OptStr, "e.g. 10s; empty: none"),
    f(
        "dead_letter_exchange",
        "Dead-letter exchange",
        OptStr,
        "or drag this queue's + handle onto an exchange",
    ),
    f(
        "dead_letter_routing_key",
        "Dead-letter routing key",
        OptStr,
        "empty: keep the message's key",
    ),
    f(
        "delivery_limit",
        "Delivery limit",
        OptNum,
        "quorum queues; empty: none",
    ),
    f(
        "consumer_timeout",
        "Consumer timeout",
        OptStr,
        "e.g. 30m: unacked longer, the channel closes; empty: none",
    ),
];

const CONSUMER: &[Field] = &[
    f("id", "Id", Str, "letters, digits and - _ . :"),
    f("queue", "Consumes from", Str, "queue id"),
    f("instances", "Instances", Num, "competing consumers"),
    f(
        "prefetch",
        "Prefetch",
        Num,
        "unacked deliveries per instance",
    ),
    f("service", "Service time", Json, ""),
    choice(
        "ack",
        "Ack",
        &[
            ("after_processing", "after processing (at-least-once)"),
            ("auto", "auto (at-most-once)"),
        ],
    ),
    f("failure_rate", "Failure rate", Num, "0 to 1"),
    choice(
        "on_failure",
        "On failure",
        &[
            ("dead_letter", "dead-letter"),
            ("requeue", "requeue"),
            ("retry", "retry (needs a policy)"),
        ],
    ),
    f(
        "retry",
        "Retry policy (JSON)",
        Json,
        r#"{"max_attempts": 3, "backoff": {"fixed": "1s"}}"#,
    ),
    f(
        "on_success",
        "On success publish (JSON)",
        Json,
        r#"[{"to": "next-exchange"}]"#,
    ),
];

const TOPIC: &[Field] = &[
    f("id", "Id", Str, "letters, digits and - _ . :"),
    f("partitions", "Partitions", Num, ""),
    choice(
        "cleanup",
        "Cleanup",
        &[
            ("delete", "delete"),
            ("compact", "compact"),
            ("compact,delete", "compact,delete"),
        ],
    ),
    f("retention", "Retention (JSON)", Json, r#"{"time": "10m"}"#),
];

const GROUP: &[Field] = &[
    f("id", "Id", Str, "letters, digits and - _ . :"),
    f("topics", "Topics (JSON)", Json, r#"["orders"]"#),
    f("members", "Members", Num, ""),
    f("service", "Service time", Json, ""),
    f("failure_rate", "Failure rate", Num, "0 to 1"),
    f("max_poll_records", "max.poll.records", Num, ""),
];

fn fields(p: Part) -> &'static [Field] {
    match p {
        Part::Producer => PRODUCER,
        Part::Exchange => EXCHANGE,
        Part::Queue => QUEUE,
        Part::Consumer => CONSUMER,
        Part::Topic => TOPIC,
        Part::Group => GROUP,
    }
}

/// A value as a field shows it: strings bare, numbers as typed, nothing as "".
fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// What each palette item is for.
fn blurb(p: Part) -> &'static str {
    match p {
        Part::Producer => "publishes messages",
        Part::Exchange => "routes by key",
        Part::Queue => "holds messages",
        Part::Consumer => "processes, acks",
        Part::Topic => "partitioned log",
        Part::Group => "reads topics",
    }
}

impl App {
    /// The palette column beside the canvas (builder mode).
    pub(super) fn view_palette(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        html! {
            <div class="palette" id="palette" aria-label="Parts: drag onto the canvas, or click to add">
                <div class="palette-title">{"Parts"}</div>
                { for Part::ALL.iter().map(|&p| html! {
                    <button class={classes!("part", format!("part-{}", p.name()))} id={format!("palette-{}", p.name())}
                        title={format!("Drag onto the canvas to add a {} (or click)", p.name())}
                        onpointerdown={link.callback(move |e: PointerEvent| {
                            e.prevent_default();
                            // Touch captures the pointer to the button; let the
                            // canvas see the finger move and lift.
                            if let Some(el) = e.target_dyn_into::<web_sys::Element>() {
                                let _ = el.release_pointer_capture(e.pointer_id());
                            }
                            Msg::Build(BuildMsg::PaletteDown(p))
                        })}
                        onclick={link.callback(move |_| Msg::Build(BuildMsg::PaletteClick(p)))}>
                        <span class="glyph"></span>
                        <span class="part-name">{ p.name() }</span>
                        <span class="part-blurb">{ blurb(p) }</span>
                    </button>
                }) }
                <div class="palette-help">
                    <b>{"Connect"}</b>{": drag from a node's "}<span class="dot">{"+"}</span>{" handle onto another node."}
                </div>
            </div>
        }
    }

    /// The builder's tool bar above the canvas.
    pub(super) fn view_build_bar(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let b = &self.builder;
        html! {
            <div class="build-bar" id="build-bar">
                <button class="btn" id="build-new" title="Start from an empty canvas" onclick={link.callback(|_| Msg::Build(BuildMsg::New))}>{"+ New"}</button>
                <button class="btn" id="build-undo" title="Undo (Ctrl+Z)" disabled={!b.can_undo()} onclick={link.callback(|_| Msg::Build(BuildMsg::Undo))}>{"↶ Undo"}</button>
                <button class="btn" id="build-redo" title="Redo (Ctrl+Shift+Z)" disabled={!b.can_redo()} onclick={link.callback(|_| Msg::Build(BuildMsg::Redo))}>{"↷ Redo"}</button>
                <button class="btn danger" id="build-delete" title="Delete the selected node (Delete)" disabled={self.sel_node.is_none()} onclick={link.callback(|_| Msg::Build(BuildMsg::Delete))}>{"Delete"}</button>
                if let Some(e) = &b.error {
                    <span class="build-msg error" id="build-error" role="alert">
                        if !e.path.is_empty() { <code class="path">{ e.path.clone() }</code>{" "} }
                        { e.message.clone() }
                    </span>
                } else if let Some(n) = &b.note {
                    <span class="build-msg" id="build-note">{ n.clone() }</span>
                }
            </div>
        }
    }

    /// The property form for node `id` (builder mode), shown by the inspector.
    pub(super) fn builder_properties(&self, ctx: &Context<Self>, id: &str) -> Html {
        if !self.builder.on {
            return html! {};
        }
        let sc = &self.sim.scenario;
        let Some((part, i)) = edit::find(sc, id) else {
            return html! {};
        };
        let link = ctx.link();
        let doc = edit::to_json(sc);
        let node = doc.get(part.array()).and_then(|a| a.get(i));
        let base = format!("{}[{i}]", part.array());
        let err = self
            .builder
            .error
            .as_ref()
            .filter(|e| e.path.starts_with(&base));
        let row = |fd: &Field| {
            let path = format!("{base}.{}", fd.name);
            let value = show(node.and_then(|n| n.get(fd.name)));
            let input_id = format!("prop-{}", fd.name);
            let bad = err.is_some_and(|e| {
                e.path == path
                    || e.path.starts_with(&format!("{path}."))
                    || e.path.starts_with(&format!("{path}["))
            });
            let ty = fd.ty;
            let p2 = path.clone();
            let control = if fd.name == "service" {
                service_control(ctx, &path, node.and_then(|n| n.get("service")), bad)
            } else if fd.choices.is_empty() {
                html! {
                    <input id={input_id.clone()} type="text" data-path={path.clone()} value={value.clone()}
                        class={classes!(bad.then_some("bad"))} placeholder={fd.hint} spellcheck="false"
                        onchange={link.callback(move |e: Event| Msg::Build(BuildMsg::Field(p2.clone(), e.target_unchecked_into::<HtmlInputElement>().value(), ty)))} />
                }
            } else {
                let known = fd.choices.iter().any(|(v, _)| *v == value);
                html! {
                    <select id={input_id.clone()} data-path={path.clone()}
                        onchange={link.callback(move |e: Event| Msg::Build(BuildMsg::Field(p2.clone(), e.target_unchecked_into::<HtmlSelectElement>().value(), ty)))}>
                        if !known { <option value={value.clone()} selected=true>{ value.clone() }</option> }
                        { for fd.choices.iter().map(|(v, l)| html! { <option value={*v} selected={*v == value}>{ *l }</option> }) }
                    </select>
                }
            };
            html! {
                <div class="prop">
                    <label for={input_id}>{ fd.label }</label>
                    { control }
                </div>
            }
        };
        let bindings = if part == Part::Exchange {
            self.binding_rows(ctx, i, node)
        } else {
            html! {}
        };
        html! {
            <section class="props" id="props">
                <h3>{"Properties"}<span class="path-hint">{ base.clone() }</span></h3>
                if let Some(e) = err {
                    <div class="error" id="prop-error" role="alert"><code class="path">{ e.path.clone() }</code>{" "}{ e.message.clone() }</div>
                }
                { for fields(part).iter().map(row) }
                { bindings }
                <div class="row">
                    <button class="btn danger" id="prop-delete" onclick={link.callback(|_| Msg::Build(BuildMsg::Delete))}>{"Delete node"}</button>
                </div>
            </section>
        }
    }

    /// An exchange's bindings: destination, key (or headers), remove.
    fn binding_rows(&self, ctx: &Context<Self>, i: usize, node: Option<&Value>) -> Html {
        let link = ctx.link();
        let x = &self.sim.scenario.exchanges[i];
        let headers = x.kind == crate::scenario::ExchangeKind::Headers;
        let fanout = x.kind == crate::scenario::ExchangeKind::Fanout;
        let xid = x.id.clone();
        html! {
            <div class="binding-list" id="bindings-edit">
                <h3>{"Bindings"}</h3>
                if x.bindings.is_empty() {
                    <p class="hint">{"No bindings: drag this exchange's + handle onto a queue."}</p>
                }
                { for x.bindings.iter().enumerate().map(|(j, b)| {
                    let dest = b.queue.clone().or(b.exchange.clone()).unwrap_or_default();
                    let path = format!("exchanges[{i}].bindings[{j}]");
                    let bv = node.and_then(|n| n.get("bindings")).and_then(|b| b.get(j));
                    let (kp, hp, mp) = (format!("{path}.key"), format!("{path}.headers"), format!("{path}.x_match"));
                    let hv = show(bv.and_then(|b| b.get("headers")));
                    let mv = show(bv.and_then(|b| b.get("x_match")));
                    let mv = if mv.is_empty() { "all".to_string() } else { mv };
                    let xid = xid.clone();
                    html! {
                        <div class="binding" data-dest={dest.clone()}>
                            <span class="dest">{ format!("→ {dest}") }</span>
                            if headers {
                                <select class="binding-xmatch" data-path={mp.clone()} title="x-match: all headers must match, or any one"
                                    onchange={link.callback(move |e: Event| Msg::Build(BuildMsg::Field(mp.clone(), e.target_unchecked_into::<HtmlSelectElement>().value(), FieldType::Choice)))}>
                                    { for ["all", "any", "all-with-x", "any-with-x"].iter().map(|m| html! { <option value={*m} selected={*m == mv}>{ *m }</option> }) }
                                </select>
                                <input type="text" class="binding-headers" data-path={hp.clone()} value={hv} placeholder={r#"{"format": "pdf"}"#} spellcheck="false"
                                    onchange={link.callback(move |e: Event| Msg::Build(BuildMsg::Field(hp.clone(), e.target_unchecked_into::<HtmlInputElement>().value(), FieldType::Json)))} />
                            } else if !fanout {
                                <input type="text" class="binding-key" data-path={kp.clone()} value={b.key.clone()} placeholder="binding key" spellcheck="false"
                                    onchange={link.callback(move |e: Event| Msg::Build(BuildMsg::Field(kp.clone(), e.target_unchecked_into::<HtmlInputElement>().value(), FieldType::Str)))} />
                            }
                            <button class="btn icon" title="Remove this binding" onclick={link.callback(move |_| Msg::Build(BuildMsg::Unbind(xid.clone(), j)))}>{"✕"}</button>
                        </div>
                    }
                }) }
            </div>
        }
    }
}

/// The service-time distributions, as the scenario names them.
const SERVICE_KINDS: [(&str, &str); 4] = [
    ("constant", "constant"),
    ("exponential", "exponential (mean)"),
    ("uniform", "uniform (low–high)"),
    ("log_normal", "log-normal (median, σ)"),
];

/// Service time: the distribution's kind, then its one or two parameters,
/// each set at its own path (`consumers[0].service.log_normal.median`).
fn service_control(ctx: &Context<App>, path: &str, v: Option<&Value>, bad: bool) -> Html {
    let link = ctx.link();
    let (kind, inner) = match v.and_then(|v| v.as_object()).and_then(|o| o.iter().next()) {
        Some((k, x)) => (k.clone(), x.clone()),
        None => (String::new(), Value::Null),
    };
    // The first duration, carried over when the kind changes.
    let a = match (&kind[..], &inner) {
        ("uniform", Value::Array(x)) => show(x.first()),
        ("log_normal", x) => show(x.get("median")),
        (_, x) => show(Some(x)),
    };
    let params: Vec<(&str, String, String, FieldType)> = match &kind[..] {
        "constant" => vec![(
            "time",
            format!("{path}.constant"),
            a.clone(),
            FieldType::Str,
        )],
        "exponential" => vec![(
            "mean",
            format!("{path}.exponential"),
            a.clone(),
            FieldType::Str,
        )],
        "uniform" => vec![
            (
                "low",
                format!("{path}.uniform[0]"),
                a.clone(),
                FieldType::Str,
            ),
            (
                "high",
                format!("{path}.uniform[1]"),
                show(inner.get(1)),
                FieldType::Str,
            ),
        ],
        "log_normal" => vec![
            (
                "median",
                format!("{path}.log_normal.median"),
                a.clone(),
                FieldType::Str,
            ),
            (
                "σ",
                format!("{path}.log_normal.sigma"),
                show(inner.get("sigma")),
                FieldType::Num,
            ),
        ],
        _ => vec![],
    };
    let p = path.to_string();
    let start = if a.is_empty() {
        "50ms".to_string()
    } else {
        a.clone()
    };
    html! {
        <div class={classes!("service", bad.then_some("bad"))}>
            <select id="prop-service-kind" data-path={path.to_string()}
                onchange={link.callback(move |e: Event| {
                    let k = e.target_unchecked_into::<HtmlSelectElement>().value();
                    let v = match k.as_str() {
                        "uniform" => serde_json::json!({ "uniform": [start.clone(), start.clone()] }),
                        "log_normal" => serde_json::json!({ "log_normal": { "median": start.clone(), "sigma": 0.5 } }),
                        k => serde_json::json!({ k: start.clone() }),
                    };
                    Msg::Build(BuildMsg::Field(p.clone(), v.to_string(), FieldType::Json))
                })}>
                { for SERVICE_KINDS.iter().map(|(k, l)| html! { <option value={*k} selected={*k == kind}>{ *l }</option> }) }
            </select>
            { for params.into_iter().enumerate().map(|(j, (label, at, value, ty))| {
                let id = if j == 0 { "prop-service-a" } else { "prop-service-b" };
                let at2 = at.clone();
                html! {
                    <label class="service-param">
                        <span>{ label }</span>
                        <input id={id} type="text" data-path={at} value={value} spellcheck="false"
                            onchange={link.callback(move |e: Event| Msg::Build(BuildMsg::Field(at2.clone(), e.target_unchecked_into::<HtmlInputElement>().value(), ty)))} />
                    </label>
                }
            }) }
        </div>
    }
}
