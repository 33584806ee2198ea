//! Pure view pieces: plain data in, `Html` out, callbacks up. No state here.
//!
//!   App ──props / plain data──► TotalsBar, legend, journey, tables ──Callback──► App

use super::render::fmt_us;
use super::sim::Sim;
use super::tokens::{FATE_COLORS, FATE_NAMES};
use crate::engine::{InstanceView, MessageView, NodeView, Totals, TraceKind};
use crate::scenario::{Preset, Scenario};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TotalsProps {
    pub totals: Totals,
    /// Messages parked in dead-letter queues, when the scenario has any.
    #[prop_or_default]
    pub parked: Option<u64>,
}

/// Messages parked in dead-letter queues: the ready messages of queues that a
/// dead-letter exchange feeds, that no consumer reads and that have no TTL (a
/// TTL queue behind a DLX is a retry delay, not a parking place). `None` when
/// the scenario has no such queue.
pub fn parked_in_dead_letter_queues(cfg: &Scenario, nodes: &[NodeView]) -> Option<u64> {
    let dlx: BTreeSet<&str> = cfg
        .queues
        .iter()
        .filter_map(|q| q.dead_letter_exchange.as_deref())
        .collect();
    let consumed: BTreeSet<&str> = cfg.consumers.iter().map(|c| c.queue.as_str()).collect();
    let parking: BTreeSet<&str> = cfg
        .exchanges
        .iter()
        .filter(|x| dlx.contains(x.id.as_str()))
        .flat_map(|x| x.bindings.iter().filter_map(|b| b.queue.as_deref()))
        .filter(|q| !consumed.contains(q))
        .filter(|q| cfg.queues.iter().any(|c| c.id == *q && c.ttl.is_none()))
        .collect();
    if parking.is_empty() {
        return None;
    }
    Some(
        nodes
            .iter()
            .map(|n| match n {
                NodeView::Queue { id, depth, .. } if parking.contains(id.as_str()) => *depth as u64,
                _ => 0,
            })
            .sum(),
    )
}

/// The always-visible counters above the canvas.
#[function_component(TotalsBar)]
pub fn totals_bar(p: &TotalsProps) -> Html {
    let t = &p.totals;
    let parked = p.parked.unwrap_or(0);
    let item = |id: &'static str, label: &'static str, v: u64, cls: &'static str| {
        let title = match id {
            "t-published" => "New messages published by producers and handlers (fan-out copies not included)",
            "t-copies" => "Extra copies made when one publish was routed to several queues (fan-out)",
            "t-parked" => "Messages waiting in dead-letter queues that no consumer reads",
            "t-inflight" => "Messages really on their way: in transit, queued, being processed or waiting for a retry (parked dead letters not included)",
            _ => "",
        };
        html! {
            <div class={classes!("total", cls)} id={id} title={title}>
                <span class="v">{ v }</span><span class="l">{ label }</span>
            </div>
        }
    };
    html! {
        <div class="totals" id="totals">
            { item("t-published", "published", t.published, "c-new") }
            { item("t-copies", "fan-out copies", t.copies, "c-new") }
            { item("t-processed", "processed", t.processed, "c-done") }
            { item("t-retried", "retried", t.retried, "c-retry") }
            if t.redelivered > 0 {
                { item("t-redelivered", "redelivered", t.redelivered, "c-retry") }
            }
            { item("t-dead", "dead-lettered", t.dead_lettered, "c-dead") }
            { item("t-expired", "expired", t.expired, "c-exp") }
            { item("t-dropped", "dropped", t.dropped, "c-drop") }
            if p.parked.is_some() {
                { item("t-parked", "parked in DLQ", parked, "c-dead") }
            }
            { item("t-inflight", "in flight", t.in_flight.saturating_sub(parked), "c-flight") }
        </div>
    }
}

/// Colour legend of the tokens.
pub fn legend(dead_path: bool, retry_loop: bool) -> Html {
    html! {
        <div class="legend" id="legend">
            { for FATE_NAMES.iter().zip(FATE_COLORS.iter()).map(|(n, c)| html! {
                <span class="item"><i style={format!("background:{c}")}></i>{ *n }</span>
            }) }
            if dead_path { <span class="item"><i class="line dl"></i>{"dead-letter path"}</span> }
            if retry_loop { <span class="item"><i class="line rt"></i>{"retry loop"}</span> }
        </div>
    }
}

/// Slowest speed: slow motion that keeps tokens on one edge apart.
pub const SPEED_MIN: f64 = 0.05;
/// Fastest speed.
pub const SPEED_MAX: f64 = 1000.0;

/// The speed label: the chosen speed, and when the frame budget holds the
/// simulation back, the speed it really reaches ("1000× → 19×").
pub fn fmt_speed_effective(chosen: f64, effective: Option<f64>) -> String {
    match effective {
        Some(e) if e < chosen * 0.95 => format!("{} → {}", fmt_speed(chosen), fmt_speed(e)),
        _ => fmt_speed(chosen),
    }
}

pub fn fmt_speed(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.0}×")
    } else if s >= 1.0 {
        format!("{s:.1}×").replace(".0×", "×")
    } else {
        format!("{s:.2}×").replace("0×", "×")
    }
}

thread_local! {
    static TITLES: RefCell<BTreeMap<&'static str, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// The preset's title (parsed once).
pub fn preset_title(p: &Preset) -> String {
    TITLES.with(|t| {
        t.borrow_mut()
            .entry(p.name)
            .or_insert_with(|| {
                crate::scenario::parse(p.json)
                    .map(|s| s.title)
                    .unwrap_or_else(|_| p.name.to_string())
            })
            .clone()
    })
}

/// This page's address without `embed=1`, for the embed's "open" link.
pub fn full_app_href() -> String {
    let Some(loc) = web_sys::window().map(|w| w.location()) else {
        return "./".into();
    };
    let search = loc.search().unwrap_or_default();
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("embed="))
        .collect();
    let path = loc.pathname().unwrap_or_else(|_| "./".into());
    if kept.is_empty() {
        path
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// A message's whole journey from the event log.
pub fn journey(m: u64, sim: &Sim, on_close: Callback<MouseEvent>) -> Html {
    let upto = sim.visible_log_len();
    let mut rows = Vec::new();
    let mut attempts = 0;
    let mut fate = "in flight";
    let mut origin: Option<u64> = None;
    for e in sim.log.iter().take(upto) {
        let mine = e.msg == Some(m);
        let copy_of = matches!(e.kind, TraceKind::Copied { copy } if copy == m);
        if !mine && !copy_of {
            continue;
        }
        if copy_of {
            origin = e.msg;
        }
        if mine {
            match e.kind {
                TraceKind::Delivered { attempt, .. } => attempts = attempts.max(attempt),
                TraceKind::Processed { .. } => fate = "processed",
                TraceKind::Acked { .. } if fate != "processed" => fate = "acked",
                TraceKind::DeadLettered { .. } => fate = "dead-lettered (travelling on)",
                TraceKind::Expired => fate = "expired",
                TraceKind::Dropped { reason } => {
                    fate = match reason {
                        crate::engine::Reason::Expired => "expired and dropped",
                        _ => "dropped",
                    }
                }
                TraceKind::Enqueued { .. }
                | TraceKind::Requeued { .. }
                | TraceKind::Retried { .. } => fate = "waiting in a queue",
                TraceKind::RetryScheduled { .. } => fate = "waiting for a retry",
                TraceKind::Failed { .. } => fate = "failed",
                _ => {}
            }
        }
        if rows.len() < 300 {
            rows.push(*e);
        }
    }
    html! {
        <div class="journey" id="journey">
            <div class="insp-head">
                <span class="kind">{"MESSAGE"}</span>
                <h2 id="journey-title">{ format!("m{m}") }</h2>
                <button class="btn icon close" title="Close" onclick={on_close}>{"✕"}</button>
            </div>
            <dl class="stats">
                <dt>{"status"}</dt><dd id="journey-fate">{ fate }</dd>
                <dt>{"deliveries"}</dt><dd>{ attempts }</dd>
                if let Some(o) = origin { <dt>{"copy of"}</dt><dd>{ format!("m{o}") }</dd> }
            </dl>
            if rows.is_empty() {
                <p class="hint">{"No events for this message in the log (it may be older than the log keeps)."}</p>
            }
            <ol class="steps">
                { for rows.iter().map(|e| {
                    let text = sim.engine.trace_text(e);
                    let (time, rest) = text.split_once(' ').unwrap_or(("", &text));
                    html! { <li><span class="t">{ time.to_string() }</span>{ rest.to_string() }</li> }
                }) }
            </ol>
        </div>
    }
}

/// The commands applied so far on this timeline.
pub fn command_list(sim: &Sim) -> Html {
    let log = sim.engine.command_log();
    if log.is_empty() {
        return html! {};
    }
    html! {
        <>
            <h3>{"Your commands"}</h3>
            <ul class="commands" id="commands">
                { for log.iter().map(|c| html! { <li><span class="t">{ format!("{:.3} s", c.at_us as f64 / 1e6) }</span>{ c.command.describe() }</li> }) }
            </ul>
        </>
    }
}

fn msg_row(m: &MessageView, on: &Callback<u64>) -> Html {
    let id = m.id;
    let on = on.clone();
    html! {
        <tr class="clickable" onclick={Callback::from(move |_| on.emit(id))}>
            <td>{ format!("m{}", m.id) }</td>
            <td>{ m.key.clone().unwrap_or_else(|| m.routing_key.clone()) }</td>
            <td class="num">{ m.deliveries }</td>
            <td class="num">{ m.deaths }</td>
            <td class="num">{ fmt_us(m.age_us) }</td>
        </tr>
    }
}

/// A queue's head messages.
pub fn message_table(head: &[MessageView], on: Callback<u64>) -> Html {
    if head.is_empty() {
        return html! { <p class="hint">{"Empty."}</p> };
    }
    html! {
        <table class="msgs" id="queue-contents">
            <thead><tr><th>{"id"}</th><th>{"key"}</th><th>{"deliveries"}</th><th>{"deaths"}</th><th>{"age"}</th></tr></thead>
            <tbody>{ for head.iter().map(|m| msg_row(m, &on)) }</tbody>
        </table>
    }
}

/// A consumer's instances and what each holds.
pub fn instances_table(instances: &[InstanceView], on: Callback<u64>) -> Html {
    html! {
        <table class="msgs" id="deliveries">
            <thead><tr><th>{"#"}</th><th>{"state"}</th><th>{"holding"}</th><th>{"busy"}</th></tr></thead>
            <tbody>
                { for instances.iter().enumerate().take(50).map(|(k, i)| {
                    let state = if !i.up { "crashed" } else if i.busy { "busy" } else { "idle" };
                    let held: Vec<Html> = i.held.iter().take(8).map(|m| {
                        let id = m.id;
                        let on = on.clone();
                        html! { <a class="msg-link" onclick={Callback::from(move |_| on.emit(id))}>{ format!("m{} ", m.id) }</a> }
                    }).collect();
                    html! {
                        <tr>
                            <td>{ k }</td>
                            <td class={format!("st-{state}")}>{ state }</td>
                            <td>{ for held }</td>
                            <td class="num">{ format!("{:.0}%", i.utilization * 100.0) }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}
