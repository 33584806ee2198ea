//! Inspector panels of the log-based half: a topic (every partition's offsets,
//! owner, committed offset and lag per group) and a consumer group (members,
//! assignment, lag per partition) with their knobs, and the `linger` knob of
//! a topic producer. Every knob sends an engine `Command` through `Msg::Cmd`,
//! so it is logged and replayed by rewind like any other.
//!
//! A record (a cell of a strip) shows its key, partition and offset and, per
//! group, how many times the group processed it — counted from the app's event
//! log (bounded: `sim::LOG_MAX` events), since the engine keeps no per-record
//! count; a record older than the log shows no count.

use super::{App, Msg};
use crate::engine::view_stream::{GroupView, TopicView};
use crate::engine::{Command, NodeView};
use crate::scenario::Assignment;
use crate::ui::knobs;
use crate::ui::knobs_stream::{commit_of, commit_value, seek_of, COMMIT_CHOICES};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::html::Scope;
use yew::prelude::*;
use yew::TargetCast;

/// The groups reading topic `id`, in scenario order.
fn readers<'a>(nodes: &'a [NodeView], id: &str) -> Vec<&'a GroupView> {
    nodes
        .iter()
        .filter_map(|n| match n {
            NodeView::Group(g) if g.topics.iter().any(|t| t == id) => Some(g),
            _ => None,
        })
        .collect()
}

pub(super) fn input_value(id: &str) -> String {
    use wasm_bindgen::JsCast;
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|el| {
            el.clone()
                .dyn_into::<HtmlInputElement>()
                .map(|i| i.value())
                .ok()
                .or_else(|| el.dyn_into::<HtmlSelectElement>().map(|s| s.value()).ok())
        })
        .unwrap_or_default()
}

impl App {
    /// A record selected in a strip: `None` when `m` is not a drawn record.
    pub(super) fn record_panel(&self, link: &Scope<Self>, m: u64) -> Option<Html> {
        let (topic, part, rec) = self.snap.nodes.iter().find_map(|n| match n {
            NodeView::Topic(t) => t.partitions.iter().find_map(|p| {
                p.recent
                    .iter()
                    .find(|r| r.msg == m)
                    .map(|r| (t, p, r.clone()))
            }),
            _ => None,
        })?;
        let groups = readers(&self.snap.nodes, &topic.id);
        let upto = self.sim.visible_log_len();
        let infos = self.sim.engine.nodes();
        let mut steps = Vec::new();
        let mut processed: std::collections::BTreeMap<String, u32> = Default::default();
        for e in self.sim.log.iter().take(upto).filter(|e| e.msg == Some(m)) {
            if matches!(e.kind, crate::engine::TraceKind::Processed { .. }) {
                if let Some(n) = infos.get(e.node.0 as usize) {
                    *processed.entry(n.id.clone()).or_default() += 1;
                }
            }
            if steps.len() < 200 {
                steps.push(*e);
            }
        }
        let in_log = !steps.is_empty();
        Some(html! {
            <div class="journey" id="record">
                <div class="insp-head">
                    <span class="kind">{"RECORD"}</span>
                    <h2 id="record-title">{ format!("m{m}") }</h2>
                    <button class="btn icon close" title="Close" onclick={link.callback(|_| Msg::SelectMessage(None))}>{"✕"}</button>
                </div>
                <dl class="stats">
                    <dt>{"key"}</dt><dd id="record-key">{ rec.key.clone().unwrap_or_else(|| "(none)".into()) }</dd>
                    <dt>{"topic"}</dt><dd>{ topic.id.clone() }</dd>
                    <dt>{"partition"}</dt><dd id="record-partition">{ part.partition }</dd>
                    <dt>{"offset"}</dt><dd id="record-offset">{ rec.offset }</dd>
                </dl>
                <h3>{"Processed by"}</h3>
                <table class="msgs" id="record-groups">
                    <thead><tr><th>{"group"}</th><th>{"times"}</th><th>{"committed past it"}</th></tr></thead>
                    <tbody>
                    { for groups.iter().map(|g| {
                        let gp = g.partitions.iter().find(|q| q.topic == topic.id && q.partition == part.partition);
                        let committed = gp.and_then(|q| q.committed).is_some_and(|c| c > rec.offset);
                        let times = if in_log { processed.get(&g.id).copied().unwrap_or(0).to_string() } else { "?".into() };
                        html! { <tr data-group={g.id.clone()}><td>{ g.id.clone() }</td><td>{ times }</td><td>{ if committed { "yes" } else { "no" } }</td></tr> }
                    }) }
                    </tbody>
                </table>
                if !in_log {
                    <p class="hint">{"This record is older than the event log keeps, so how often each group processed it is not known."}</p>
                }
                <ol class="steps">
                    { for steps.iter().map(|e| {
                        let text = self.sim.engine.trace_text(e);
                        let (time, rest) = text.split_once(' ').unwrap_or(("", &text));
                        html! { <li><span class="t">{ time.to_string() }</span>{ rest.to_string() }</li> }
                    }) }
                </ol>
            </div>
        })
    }

    /// Topic: offsets per partition, and per reading group its owner, committed offset and lag.
    pub(super) fn topic_panel(&self, link: &Scope<Self>, t: &TopicView) -> Html {
        let groups = readers(&self.snap.nodes, &t.id);
        let n = t.partitions.len();
        let tid = t.id.clone();
        let deleted: u64 = t.partitions.iter().map(|p| p.retention_deleted).sum();
        let compacted: u64 = t.partitions.iter().map(|p| p.compacted).sum();
        html! {
            <>
            <dl class="stats">
                <dt>{"partitions"}</dt><dd id="topic-partitions">{ n }</dd>
                <dt>{"appended"}</dt><dd>{ t.appended }</dd>
                <dt>{"deleted by retention"}</dt><dd>{ deleted }</dd>
                <dt>{"removed by compaction"}</dt><dd>{ compacted }</dd>
                <dt>{"read by"}</dt><dd>{ groups.iter().map(|g| g.id.clone()).collect::<Vec<_>>().join(", ") }</dd>
            </dl>
            <h3>{"Knobs"}</h3>
            <div class="knob">
                <label for="knob-partitions">{"Partitions (increase only; keys may move to new partitions)"}</label>
                <input id="knob-partitions" type="number" min={(n + 1).to_string()} value={n.to_string()}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::set_u32(&e.target_unchecked_into::<HtmlInputElement>().value()).map(|p| Command::IncreasePartitions { topic: tid.clone(), partitions: p })))} />
            </div>
            <h3>{"Partitions"}</h3>
            <p class="hint">{"Offsets: log start – log end. Per group: owner member, committed offset, lag (log end − committed)."}</p>
            <table class="msgs" id="topic-partitions-table">
                <thead><tr>
                    <th>{"P"}</th><th>{"offsets"}</th>
                    { for groups.iter().map(|g| html! { <th>{ g.id.clone() }</th> }) }
                </tr></thead>
                <tbody>
                { for t.partitions.iter().map(|p| html! {
                    <tr data-partition={p.partition.to_string()}>
                        <td>{ format!("P{}", p.partition) }</td>
                        <td>{ format!("{}–{}", p.log_start, p.log_end) }</td>
                        { for groups.iter().map(|g| {
                            let gp = g.partitions.iter().find(|q| q.topic == t.id && q.partition == p.partition);
                            let cell = match gp {
                                Some(gp) => format!(
                                    "{} · {} · lag {}",
                                    gp.owner.map(|m| format!("#{m}")).unwrap_or_else(|| "—".into()),
                                    gp.committed.map(|c| c.to_string()).unwrap_or_else(|| "none".into()),
                                    gp.lag
                                ),
                                None => "—".into(),
                            };
                            html! { <td>{ cell }</td> }
                        }) }
                    </tr>
                }) }
                </tbody>
            </table>
            </>
        }
    }

    /// Group: counters, members, assignment and lag per partition, and its knobs.
    pub(super) fn group_panel(&self, link: &Scope<Self>, g: &GroupView) -> Html {
        let cfg = self.sim.engine.config();
        let gc = cfg.consumer_groups.iter().find(|c| c.id == g.id);
        let commit_now = gc.map(|c| commit_value(&c.commit)).unwrap_or_default();
        let mut commit_options: Vec<(String, String)> = COMMIT_CHOICES
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        if !commit_options.iter().any(|(v, _)| *v == commit_now) {
            commit_options.push((
                commit_now.clone(),
                commit_now.replace("auto:", "auto-commit every ") + " ms",
            ));
        }
        let assignment_now = gc.map(|c| c.assignment).unwrap_or_default();
        let max_poll = gc.map(|c| c.max_poll_records).unwrap_or(500);
        // A GC pause 2 s past the session timeout: evicted, it wakes as a zombie.
        let pause_ms = gc
            .map_or(47_000, |c| c.session_timeout.us() / 1000 + 2_000)
            .min(3_600_000);
        let g8 = g.id.clone();
        let g9 = g.id.clone();
        let (g1, g2, g3, g4, g5, g6, g7) = (
            g.id.clone(),
            g.id.clone(),
            g.id.clone(),
            g.id.clone(),
            g.id.clone(),
            g.id.clone(),
            g.id.clone(),
        );
        let live: Vec<u32> = g
            .members
            .iter()
            .filter(|m| m.up && m.in_group)
            .map(|m| m.member)
            .collect();
        let state = |m: &crate::engine::view_stream::GroupMemberView| {
            if !m.up {
                "crashed".to_string()
            } else if m.paused && !m.in_group {
                "paused, evicted: wakes as a zombie".to_string()
            } else if m.paused {
                "paused (GC)".to_string()
            } else if m.poll_timed_out {
                "left: poll timeout, finishing its batch (its commits will fail)".to_string()
            } else if !m.in_group {
                "left".to_string()
            } else if m.partitions.is_empty() {
                if g.rebalancing {
                    "waiting (rebalance)".to_string()
                } else {
                    "idle: no partition".to_string()
                }
            } else if m.busy {
                "processing".to_string()
            } else {
                "polling".to_string()
            }
        };
        html! {
            <>
            <dl class="stats">
                <dt>{"reads"}</dt><dd>{ g.topics.join(", ") }</dd>
                <dt>{"assignment"}</dt><dd>{ g.assignment.clone() }</dd>
                <dt>{"state"}</dt><dd id="group-state">{ if g.rebalancing { format!("rebalancing (generation {})", g.generation) } else { format!("stable (generation {})", g.generation) } }</dd>
                <dt>{"rebalances"}</dt><dd>{ g.rebalances }</dd>
                <dt>{"lag"}</dt><dd id="group-lag">{ format!("{} (max {})", g.lag, g.lag_max) }</dd>
                <dt>{"lag in time"}</dt><dd>{ crate::ui::render::fmt_us(g.lag_time_us) }</dd>
                <dt>{"processed"}</dt><dd>{ g.processed }</dd>
                <dt>{"reprocessed"}</dt><dd>{ g.reprocessed }</dd>
                <dt>{"skipped"}</dt><dd>{ g.skipped }</dd>
                <dt>{"commits"}</dt><dd>{ g.commits }</dd>
                { for g.event_store.filter(|e| e.loads > 0).map(|e| html! { <>
                    <dt>{"events replayed"}</dt><dd id="group-replayed" title="Events replayed to load the aggregates before deciding (since each aggregate's latest snapshot), per load on average">{ format!("{} ({:.1} a load)", e.events_replayed, e.events_replayed as f64 / e.loads as f64) }</dd>
                    <dt>{"snapshots"}</dt><dd id="group-snapshots">{ e.snapshots }</dd>
                </> }) }
                // Both counts once the check has been switched and each has
                // something to say; otherwise the current mode's.
                { for g.event_store.map(|e| html! { <>
                    <dt>{"appends"}</dt><dd>{ if e.expected_version { "with the expected version" } else { "unchecked (no expected version)" } }</dd>
                    if e.expected_version || e.version_conflicts > 0 {
                        <dt>{"version conflicts"}</dt><dd id="group-conflicts" title="Appends the event store refused: another writer had appended to the aggregate since the member loaded it; the member processed the record again">{ e.version_conflicts }</dd>
                    }
                    if e.conflict_give_ups > 0 {
                        <dt>{"gave up"}</dt><dd id="group-conflict-give-ups" title="Attempts failed after more version conflicts than output.conflict_retries allows: the group's failure handling took the record">{ e.conflict_give_ups }</dd>
                    }
                    if !e.expected_version || e.stale_writes > 0 {
                        <dt>{"stale writes"}</dt><dd id="group-stale" title="Appends decided on a version of the aggregate that another writer had already moved on: the check would have refused them">{ e.stale_writes }</dd>
                    }
                </> }) }
            </dl>
            <h3>{"Knobs"}</h3>
            <div class="knob">
                <div class="row">
                    <button class="btn" id="add-member" onclick={link.callback(move |_| Msg::Cmd(Some(Command::AddMember { group: g1.clone() })))}>{"Add member"}</button>
                    <button class="btn" id="remove-member" onclick={link.callback(move |_| Msg::Cmd(Some(Command::RemoveMember { group: g2.clone(), member: None })))}>{"Remove member"}</button>
                </div>
            </div>
            <div class="knob">
                <label for="knob-crash-member">{"Crash or pause a member"}</label>
                <div class="row">
                    <select id="knob-crash-member">
                        { for live.iter().map(|m| html! { <option value={m.to_string()}>{ format!("#{m}") }</option> }) }
                    </select>
                    <button class="btn danger" id="crash-member" onclick={link.callback(move |_| {
                        Msg::Cmd(input_value("knob-crash-member").parse().ok().map(|m| Command::CrashMember { group: g3.clone(), member: m }))
                    })}>{"Crash"}</button>
                    <button class="btn" id="pause-member" title={format!("Stop it for {} s (a long GC pause): past the session timeout it is evicted and wakes as a zombie", pause_ms / 1000)} onclick={link.callback(move |_| {
                        Msg::Cmd(input_value("knob-crash-member").parse().ok().map(|m| Command::PauseMember { group: g8.clone(), member: m, duration: crate::scenario::Duration::from_ms(pause_ms) }))
                    })}>{"GC pause"}</button>
                </div>
            </div>
            <div class="knob">
                <label for="knob-assignment">{"Assignment strategy (starts a rebalance)"}</label>
                <select id="knob-assignment" onchange={link.callback(move |e: Event| {
                    let a = match e.target_unchecked_into::<HtmlSelectElement>().value().as_str() {
                        "round_robin" => Assignment::RoundRobin,
                        "cooperative_sticky" => Assignment::CooperativeSticky,
                        _ => Assignment::Range,
                    };
                    Msg::Cmd(Some(Command::SetAssignment { group: g4.clone(), assignment: a }))
                })}>
                    <option value="range" selected={assignment_now == Assignment::Range}>{"range (eager)"}</option>
                    <option value="round_robin" selected={assignment_now == Assignment::RoundRobin}>{"round robin (eager)"}</option>
                    <option value="cooperative_sticky" selected={assignment_now == Assignment::CooperativeSticky}>{"cooperative sticky"}</option>
                </select>
            </div>
            <div class="knob">
                <label for="knob-commit">{"Commit policy"}</label>
                <select id="knob-commit" onchange={link.callback(move |e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    Msg::Cmd(commit_of(&v).map(|c| Command::SetCommitPolicy { group: g5.clone(), commit: c }))
                })}>
                    { for commit_options.iter().map(|(value, label)| html! {
                        <option value={value.clone()} selected={*value == commit_now}>{ label.clone() }</option>
                    }) }
                </select>
            </div>
            if let Some(e) = g.event_store {
                <div class="knob">
                    <label for="knob-expected-version">{"Event-store appends"}</label>
                    <select id="knob-expected-version" onchange={link.callback(move |ev: Event| {
                        let on = ev.target_unchecked_into::<HtmlSelectElement>().value() == "check";
                        Msg::Cmd(Some(Command::SetExpectedVersion { group: g9.clone(), expected_version: on }))
                    })}>
                        <option value="check" selected={e.expected_version}>{"check the expected version"}</option>
                        <option value="unchecked" selected={!e.expected_version}>{"unchecked (last writer wins)"}</option>
                    </select>
                </div>
            }
            <div class="knob">
                <label for="knob-max-poll">{"Max poll records"}</label>
                <input id="knob-max-poll" type="number" min="1" value={max_poll.to_string()}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::set_u32(&e.target_unchecked_into::<HtmlInputElement>().value()).map(|m| Command::SetMaxPollRecords { group: g6.clone(), max_poll_records: m })))} />
            </div>
            <div class="knob">
                <label for="knob-seek">{"Seek / replay (every partition)"}</label>
                <div class="row">
                    <select id="knob-seek">
                        <option value="beginning">{"to the beginning (replay)"}</option>
                        <option value="end">{"to the end (skip)"}</option>
                        <option value="offset">{"to offset …"}</option>
                        <option value="time">{"to time, ms …"}</option>
                    </select>
                    <input id="knob-seek-value" type="number" min="0" placeholder="offset / ms" />
                    <button class="btn" id="seek" onclick={link.callback(move |_| {
                        Msg::Cmd(seek_of(&g7, &input_value("knob-seek"), &input_value("knob-seek-value")))
                    })}>{"Seek"}</button>
                </div>
            </div>
            <h3>{"Members"}</h3>
            <table class="msgs" id="group-members">
                <thead><tr><th>{"member"}</th><th>{"state"}</th><th>{"partitions"}</th><th>{"done"}</th></tr></thead>
                <tbody>
                { for g.members.iter().map(|m| html! {
                    <tr>
                        <td>{ format!("#{}", m.member) }</td>
                        <td>{ state(m) }</td>
                        <td>{ m.partitions.iter().map(|(t, p)| if g.topics.len() > 1 { format!("{t}/{p}") } else { format!("P{p}") }).collect::<Vec<_>>().join(" ") }</td>
                        <td>{ m.processed }</td>
                    </tr>
                }) }
                </tbody>
            </table>
            <h3>{"Lag per partition"}</h3>
            <table class="msgs" id="group-partitions">
                <thead><tr><th>{"P"}</th><th>{"owner"}</th><th>{"position"}</th><th>{"committed"}</th><th>{"lag"}</th></tr></thead>
                <tbody>
                { for g.partitions.iter().map(|p| html! {
                    <tr>
                        <td>{ if g.topics.len() > 1 { format!("{}/{}", p.topic, p.partition) } else { format!("P{}", p.partition) } }</td>
                        <td>{ p.owner.map(|m| format!("#{m}")).unwrap_or_else(|| "—".into()) }</td>
                        <td>{ p.position }</td>
                        <td>{ p.committed.map(|c| c.to_string()).unwrap_or_else(|| "none".into()) }</td>
                        <td>{ p.lag }</td>
                    </tr>
                }) }
                </tbody>
            </table>
            </>
        }
    }

    /// A topic producer's `linger` knob (nothing for a producer to an exchange).
    pub(super) fn linger_knob(&self, link: &Scope<Self>, producer: &str) -> Html {
        let cfg = self.sim.engine.config();
        let Some(p) = cfg.producers.iter().find(|p| p.id == producer) else {
            return html! {};
        };
        if !cfg.topics.iter().any(|t| t.id == p.to) {
            return html! {};
        }
        let now = p
            .linger
            .map(|d| format!("{}", d.us() as f64 / 1e3))
            .unwrap_or_default();
        let pid = producer.to_string();
        html! {
            <div class="knob">
                <label for="knob-linger">{"Linger, ms (blank = send each record at once)"}</label>
                <input id="knob-linger" type="number" min="0" value={now}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::opt_ms(&e.target_unchecked_into::<HtmlInputElement>().value()).map(|l| Command::SetLinger { producer: pid.clone(), linger: l })))} />
            </div>
        }
    }
}
