//! Pure view pieces: plain data in, `Html` out, callbacks up. No state here.
//!
//!   App ──props / plain data──► TotalsBar, legend, journey, tables ──Callback──► App

use super::render::fmt_us;
use super::render::streams::{group_color, KEY_COLORS};
use super::sim::Sim;
use super::tokens::{COMMAND, DROPPED, FAILED_POP, FATE_COLORS, FATE_NAMES};
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
    /// Presenter mode: counters still at zero are left out (fewer, larger
    /// words), except published, processed and in flight.
    #[prop_or_default]
    pub brief: bool,
    /// Records behind over every consumer group (`None`: no groups), shown as
    /// the log-based half's "in flight": a record in a log is not in flight
    /// until a member polls it, but it is what the group still owes.
    #[prop_or_default]
    pub lag: Option<u64>,
    /// The scenario has only topics (no queue, Pulsar or Redis node): the
    /// message ledger's "in flight" is always 0 there and is left out.
    #[prop_or_default]
    pub logs_only: bool,
    /// The scenario's alert rules (empty: none), shown at the strip's end.
    #[prop_or_default]
    pub alerts: Vec<crate::engine::AlertView>,
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
            "t-published" => "New messages published by producers and handlers (copies not included)",
            "t-copies" => "Extra copies of a message: one publish routed to several queues or subscribers (fan-out), a send the network duplicated, a message stored once for several Pulsar subscriptions or Redis stream groups (one per extra reader)",
            "t-parked" => "Messages waiting in dead-letter queues that no consumer reads",
            "t-ack-timeouts" => "Channels closed by the queue's consumer_timeout: a delivery stayed unacked too long, so everything unacked on the channel went back to the queue while the handler kept working on it",
            "t-inflight" => "Messages really on their way: in transit, queued, being processed or waiting for a retry (parked dead letters not included); a Pulsar or Redis stream message once for each subscription or group that has not acknowledged it yet",
            "t-lag" => "Consumer-group lag: records appended to the topics and not yet committed, summed over every group and partition (a record two groups owe counts twice)",
            _ => "",
        };
        if p.brief
            && v == 0
            && !matches!(id, "t-published" | "t-processed" | "t-inflight" | "t-lag")
        {
            return html! {};
        }
        html! {
            <div class={classes!("total", cls)} id={id} title={title}>
                <span class="v">{ v }</span><span class="l">{ label }</span>
            </div>
        }
    };
    html! {
        <div class="totals" id="totals">
            { item("t-published", "published", t.published, "c-new") }
            { item("t-copies", "copies", t.copies, "c-new") }
            { item("t-processed", "processed", t.processed, "c-done") }
            { item("t-retried", "retried", t.retried, "c-retry") }
            if t.redelivered > 0 {
                { item("t-redelivered", "redelivered", t.redelivered, "c-retry") }
            }
            if t.ack_timeouts > 0 {
                { item("t-ack-timeouts", "ack timeouts", t.ack_timeouts, "c-drop") }
            }
            { item("t-dead", "dead-lettered", t.dead_lettered, "c-dead") }
            { item("t-expired", "expired", t.expired, "c-exp") }
            { item("t-dropped", "dropped", t.dropped, "c-drop") }
            if p.parked.is_some() {
                { item("t-parked", "parked in DLQ", parked, "c-dead") }
            }
            if !p.logs_only {
                { item("t-inflight", "in flight", t.in_flight.saturating_sub(parked), "c-flight") }
            }
            if let Some(lag) = p.lag {
                { item("t-lag", "group lag", lag, "c-flight") }
            }
            if !p.alerts.is_empty() {
                <div class="alerts" id="alerts">
                    { for p.alerts.iter().map(alert_pill) }
                </div>
            }
        </div>
    }
}

/// How often an alert rule fired, in words (the strip's tooltip, the inspector).
pub fn times_fired(n: u32) -> String {
    match n {
        0 => "never fired".to_string(),
        1 => "fired once".to_string(),
        n => format!("fired {n} times"),
    }
}

/// A firing rule kept by `keep_firing_for`, in words (empty otherwise).
pub fn kept_words(a: &crate::engine::AlertView) -> String {
    a.kept_since_s.map_or(String::new(), |t| {
        format!(" (its condition is false since {t:.1} s; keep_firing_for holds it)")
    })
}

/// One alert rule in the totals strip: red and named with its value when
/// firing, amber when pending, quiet otherwise; the rule itself on hover.
fn alert_pill(a: &crate::engine::AlertView) -> Html {
    let (cls, state) = match a.state {
        "firing" => ("alert firing", "FIRING"),
        "pending" => ("alert pending", "pending"),
        _ => ("alert ok", "ok"),
    };
    let value = if a.value_text.is_empty() {
        String::new()
    } else {
        format!(" · {}", a.value_text)
    };
    // Firing with its condition cleared: `keep_firing_for` holds it.
    let value = match a.kept_since_s {
        Some(_) => format!("{value} · kept"),
        None => value,
    };
    let fired = times_fired(a.fired);
    let kept = kept_words(a);
    let title = format!(
        "Alert {} on {}: {} — {state}{kept}, {fired}",
        a.id, a.node, a.rule
    );
    html! {
        <div class={classes!("total", cls)} id={format!("alert-{}", a.id)} title={title}
             data-state={a.state}>
            <span class="l">{ &a.id }</span>
            <span class="v">{ state }</span>
            if a.state != "inactive" {
                <span class="l">{ value }</span>
            }
        </div>
    }
}

/// What a topology can show, so the legend explains exactly its marks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LegendFacts {
    pub dead_path: bool,
    pub retry_loop: bool,
    pub alternate: bool,
    pub queues: bool,
    pub max_length: bool,
    pub consumers: bool,
    /// A consumer has a circuit breaker.
    pub breakers: bool,
    /// The scenario has alert rules.
    pub alerts: bool,
    /// A group writes to an event store with the expected-version check
    /// (its badge counts conflicts), or without it (stale writes).
    pub store_checked: bool,
    pub store_unchecked: bool,
    /// A queue has `max_priority` (its prioritised messages are outlined).
    pub priorities: bool,
    /// Topics and consumer groups (partition strips, cursors, lag, owners).
    pub streams: bool,
    /// Presenter mode: one line — the stream marks on a picture with topics,
    /// else the message colours and the paths; the node marks are left out.
    pub brief: bool,
}

/// One legend entry: a small picture of the mark, a short name, and the
/// full meaning as its tooltip.
fn legend_item(id: &'static str, mark: Html, text: &'static str, long: &'static str) -> Html {
    html! { <span class="item" data-mark={id} title={long}>{ mark }{ text }</span> }
}

fn svg(inner: Html) -> Html {
    html! { <svg class="mark" width="18" height="14" viewBox="0 0 18 14" aria-hidden="true">{ inner }</svg> }
}

/// The legend: every colour and mark the canvas uses, one meaning each.
/// Messages (token and queue-square colours), paths (edge styles) and node
/// marks (instance dots, crash, failure flash, command halo, fill bar, badges).
pub fn legend(f: &LegendFacts) -> Html {
    let fate = |k: usize| {
        let c = FATE_COLORS[k];
        svg(html! { <rect x="5" y="3" width="8" height="8" rx="1.5" fill={c} /> })
    };
    let line = |color: &'static str, dash: &'static str| {
        svg(
            html! { <line x1="1" y1="7" x2="17" y2="7" stroke={color} stroke-width="2.5" stroke-dasharray={dash} /> },
        )
    };
    html! {
        <div class="legend" id="legend">
            if !(f.brief && f.streams) {
            <span class="group">{"Messages"}</span>
            { for FATE_NAMES.iter().enumerate().map(|(k, n)| html! {
                <span class="item" data-mark={format!("fate-{k}")}>{ fate(k) }{ *n }</span>
            }) }
            <span class="group">{"Paths"}</span>
            { legend_item("flow", line("var(--edge)", ""), "flow", "publish, binding or delivery") }
            if f.dead_path { { legend_item("dead-path", line("var(--dead)", "5 3"), "dead-letter", "to a dead-letter exchange and its queue") } }
            if f.retry_loop { { legend_item("retry-loop", line("var(--retry)", "5 3"), "retry loop", "back to the queue: delayed retry (dashed) or requeue (dotted)") } }
            if f.alternate { { legend_item("alternate", line("var(--muted)", "2 3"), "alternate", "unroutable messages to the alternate exchange") } }
            }
            if !f.brief {
            <span class="group">{"Marks"}</span>
            if f.consumers {
                { legend_item("busy", svg(html! { <circle cx="9" cy="7" r="5" fill={FATE_COLORS[0]} /> }), "busy", "a consumer instance processing a message, in that message's colour") }
                { legend_item("idle", svg(html! { <circle cx="9" cy="7" r="4.5" fill="none" stroke="var(--muted)" stroke-width="1.5" /> }), "idle", "a consumer instance with nothing to do") }
                { legend_item("crashed", svg(html! { <g stroke="var(--text)" stroke-width="1.5" fill="none"><circle cx="9" cy="7" r="5" stroke-dasharray="2 2" /><path d="M6 4 L12 10 M12 4 L6 10" /></g> }), "crashed", "a crashed instance; when all are down the consumer gets a dashed outline") }
                if f.breakers { { legend_item("breaker", html! { <b class="mark-text mark-badge breaker">{"BREAKER OPEN"}</b> }, "", "the consumer's circuit breaker is open: it takes no deliveries, messages wait in its queue (outlined HALF-OPEN: probes are let through)") } }
                { legend_item("failed-flash", svg(html! { <rect x="2" y="2" width="14" height="10" rx="2.5" fill="none" stroke={FATE_COLORS[FAILED_POP as usize]} stroke-width="2.5" /> }), "failed", "a pink flash on a consumer: one processing run failed") }
            }
            if f.alerts { { legend_item("alert", html! { <b class="mark-text mark-badge alert">{"ALERT"}</b> }, "", "an alert rule on this node is firing (red outline); the strip above the picture lists every rule: ok, pending (the condition holds, not yet for its `for`) or FIRING with its value") } }
            { legend_item("command-halo", svg(html! { <rect x="1.5" y="1.5" width="15" height="11" rx="3" fill="none" stroke={FATE_COLORS[COMMAND as usize]} stroke-width="2" /> }), "command", "a sky-blue halo: a command (knob, crash, restart) was applied here") }
            { legend_item("gone-ring", svg(html! { <circle cx="9" cy="7" r="5" fill="none" stroke={FATE_COLORS[DROPPED as usize]} stroke-width="2" /> }), "lost", "a ring under a node: a message was dropped or expired here") }
            if f.queues {
                { legend_item("fill", svg(html! { <g><rect x="1" y="4" width="16" height="6" rx="3" fill="var(--bar-bg)" /><rect x="1" y="4" width="10" height="6" rx="3" fill="var(--fill)" /></g> }), "fill", "how full the queue is (of its max length, else of the deepest any queue has been, so queues compare)") }
                if f.max_length { { legend_item("max-tick", svg(html! { <g><rect x="1" y="4" width="16" height="6" rx="3" fill="var(--bar-bg)" /><rect x="14" y="1" width="2.5" height="12" fill="var(--text)" /></g> }), "max", "the queue's max length") } }
                { legend_item("more", html! { <b class="mark-text">{"+N"}</b> }, "more", "more messages wait than squares fit") }
                if f.priorities { { legend_item("priority", svg(html! { <rect x="5" y="3" width="8" height="8" rx="1" fill={FATE_COLORS[0]} stroke="var(--text)" stroke-width="1.8" /> }), "priority", "a message with a priority in a priority queue: delivered before those without, so it waits at the head (right)") } }
            }
            }
            if f.streams {
                <span class="group">{"Streams"}</span>
                { legend_item("key-cell", svg(html! { <g><rect x="1" y="3" width="4" height="8" fill={KEY_COLORS[0]} /><rect x="7" y="3" width="4" height="8" fill={KEY_COLORS[1]} /><rect x="13" y="3" width="4" height="8" fill={KEY_COLORS[0]} /></g> }), "record (colour = key)", "a record in a partition strip, coloured by its key: a key always lands in the same strip") }
                { legend_item("cursor", svg(html! { <g><rect x="1" y="2" width="16" height="6" fill="var(--bar-bg)" /><rect x="8" y="1" width="2" height="12" fill={group_color(0)} /></g> }), "committed", "a group's committed offset on a strip, in the group's colour; ◀ at the left: further back than drawn") }
                { legend_item("lag", svg(html! { <g><rect x="1" y="9" width="16" height="3" fill="var(--bar-bg)" /><rect x="8" y="9" width="9" height="3" fill={group_color(0)} opacity="0.55" /></g> }), "lag", "a group's lane under the strip: shaded from its committed offset to the log end") }
                { legend_item("owner", line(group_color(0), ""), "owner", "which member of a group owns the partition (dashed: the owner crashed, not noticed yet)") }
                { legend_item("rebalancing", html! { <b class="mark-text mark-badge">{"REBALANCING"}</b> }, "", "the group is rebalancing: revoked partitions have no owner line") }
                if f.store_checked { { legend_item("conflicts", html! { <b class="mark-text mark-badge">{"N CONFLICTS"}</b> }, "", "appends the event store refused: another writer had moved the aggregate on since the member loaded it, so the member processed the record again") } }
                if f.store_unchecked { { legend_item("stale-writes", html! { <b class="mark-text mark-badge alert">{"N STALE WRITES"}</b> }, "", "appends made without the expected-version check on an aggregate another writer had moved on: lost updates") } }
                { legend_item("idle-member", svg(html! { <circle cx="9" cy="7" r="4.5" fill="none" stroke="var(--muted)" stroke-width="1.5" stroke-dasharray="2 2" /> }), "idle: no partition", "a member with no partition (more members than partitions)") }
            }
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

fn msg_row(m: &MessageView, on: &Callback<u64>, prio: bool) -> Html {
    let id = m.id;
    let on = on.clone();
    html! {
        <tr class="clickable" onclick={Callback::from(move |_| on.emit(id))}>
            <td>{ format!("m{}", m.id) }</td>
            <td>{ m.key.clone().unwrap_or_else(|| m.routing_key.clone()) }</td>
            if prio {
                <td class="num">{ m.priority.map(|p| p.to_string()).unwrap_or_else(|| "–".into()) }</td>
            }
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
    // A priority column when any message has a priority (head first is
    // delivery order, so a priority queue shows its highest level first).
    let prio = head.iter().any(|m| m.priority.is_some());
    html! {
        <table class="msgs" id="queue-contents">
            <thead><tr><th>{"id"}</th><th>{"key"}</th>
                if prio { <th>{"priority"}</th> }
                <th>{"deliveries"}</th><th>{"deaths"}</th><th>{"age"}</th></tr></thead>
            <tbody>{ for head.iter().map(|m| msg_row(m, &on, prio)) }</tbody>
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
                    let finishing = i.finishing.map(|m| format!("finishing m{m}, channel closed"));
                    let state = if !i.up { "crashed" } else if let Some(f) = &finishing { f.as_str() } else if i.busy { "busy" } else if i.standby { "standby" } else { "idle" };
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
