//! The inspector panel: the scenario's description when nothing is selected,
//! a message's journey when one is followed, else the selected node's stats
//! and its live knobs (each knob sends a `Command` through `Msg::Cmd`).

use super::{App, Msg};
use crate::engine::{Command, NodeKind, NodeView};
use crate::scenario::{AckMode, OnFailure, Overflow};
use crate::ui::{knobs, views};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::html::Scope;
use yew::prelude::*;
use yew::TargetCast;

impl App {
    pub(super) fn view_inspector(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let err = self
            .command_error
            .as_ref()
            .map(|e| html! { <div class="error" id="command-error">{ e }</div> });
        if let Some(m) = self.sel_msg {
            if let Some(panel) = self.record_panel(link, m) {
                return html! { <>{ err }{ panel }</> };
            }
            return html! { <>{ err }{ views::journey(m, &self.sim, link.callback(|_| Msg::SelectMessage(None))) }</> };
        }
        let Some(i) = self.sel_node else {
            let desc = self.sim.scenario.description.clone();
            return html! {
                <div class="inspect-empty">
                    { err }
                    <h2>{ self.sim.scenario.title.clone() }</h2>
                    <p class="desc">{ desc }</p>
                    { self.view_theory() }
                    { self.view_ledger_details(ctx) }
                    <p class="hint">{"Click a node on the canvas to inspect it and change its knobs while it runs. Click a message square or a log line to follow its journey."}</p>
                    { views::command_list(&self.sim) }
                </div>
            };
        };
        let Some(nv) = self.snap.nodes.get(i) else {
            return html! {};
        };
        let body = match nv {
            NodeView::Producer { .. } => self.producer_panel(link, nv),
            NodeView::Exchange { .. } => self.exchange_panel(nv),
            NodeView::Queue { .. } => self.queue_panel(link, nv),
            NodeView::Consumer { .. } => self.consumer_panel(link, nv),
            NodeView::Topic(t) => self.topic_panel(link, t),
            NodeView::Group(g) => self.group_panel(link, g),
            // Redis and Pulsar nodes: inspector_brokers.rs.
            other => self.broker_panel(link, other).unwrap_or_default(),
        };
        let kind = self
            .layout
            .nodes
            .get(i)
            .map(|n| n.kind)
            .unwrap_or(NodeKind::Queue);
        // The kind as the canvas tags it ("SQS FIFO", "SUBSCRIPTION · KEY_SHARED").
        let tag = self
            .layout
            .nodes
            .get(i)
            .and_then(|n| n.tag.clone())
            .unwrap_or_else(|| crate::ui::svg::kind_word(kind).to_string());
        html! {
            <div class="inspector" id="inspector">
                { err }
                <div class="insp-head">
                    <span class="kind">{ tag }</span>
                    <h2 id="inspector-title">{ nv.id().to_string() }</h2>
                    <button class="btn icon close" title="Close" onclick={link.callback(|_| Msg::SelectNode(None))}>{"✕"}</button>
                </div>
                { self.builder_properties(ctx, nv.id()) }
                { self.node_alerts(nv.id()) }
                { body }
            </div>
        }
    }

    /// The alert rules watching node `id`: each rule in words, its state
    /// with the value, and how often it fired (nothing without rules).
    fn node_alerts(&self, id: &str) -> Html {
        let mine: Vec<&crate::engine::AlertView> =
            self.snap.alerts.iter().filter(|a| a.node == id).collect();
        if mine.is_empty() {
            return html! {};
        }
        html! {
            <ul class="insp-alerts" id="inspector-alerts">
                { for mine.into_iter().map(|a| {
                    let value = if a.value_text.is_empty() { String::new() } else { format!(" ({})", a.value_text) };
                    let fired = views::times_fired(a.fired);
                    html! {
                        <li class={classes!("alert-line", a.state)} data-state={a.state}>
                            <b>{ format!("alert {}", a.id) }</b>{ format!(": {} — ", a.rule) }
                            <b>{ a.state }</b>{ format!("{}{value}; {fired}", views::kept_words(a)) }
                        </li>
                    }
                }) }
            </ul>
        }
    }

    /// Producer: what it publishes, its rate and arrival knobs, pause/resume.
    fn producer_panel(&self, link: &Scope<Self>, nv: &NodeView) -> Html {
        let NodeView::Producer {
            id,
            to,
            rate_per_s,
            paused,
            published,
            completed,
            end_to_end_mean_us,
            batches_sent,
        } = nv
        else {
            return html! {};
        };
        let cfg = self.sim.engine.config();
        let rate_per_s = *rate_per_s;
        let priority = cfg
            .producers
            .iter()
            .find(|p| &p.id == id)
            .and_then(|p| p.priority);
        let pid = id.clone();
        let p1 = id.clone();
        let p2 = id.clone();
        let p3 = id.clone();
        let pc = cfg.producers.iter().find(|p| &p.id == id);
        let p4 = id.clone();
        let p5 = id.clone();
        let rk_default = pc.map(|p| p.routing_key.clone()).unwrap_or_default();
        let arrival_now = pc
            .map(|p| knobs::arrival_value(&p.arrival))
            .unwrap_or_default();
        let mut arrival_options: Vec<(String, String)> = knobs::ARRIVAL_CHOICES
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        if !arrival_options.iter().any(|(v, _)| *v == arrival_now) {
            let size = arrival_now.trim_start_matches("bursts:").to_string();
            arrival_options.push((arrival_now.clone(), format!("bursts of {size}")));
        }
        let arrival = pc
            .map(|p| format!("{:?}", p.arrival).to_ascii_lowercase())
            .unwrap_or_default();
        html! {
            <>
            <dl class="stats">
                <dt>{"publishes to"}</dt><dd>{ to }</dd>
                <dt>{"published"}</dt><dd>{ published }</dd>
                if *batches_sent > 0 {
                    <dt title="Batches sent to the topic (resends count again): fewer, larger batches with linger">{"batches sent"}</dt>
                    <dd id="producer-batches">{ format!("{batches_sent} ({:.1} records each)", *published as f64 / *batches_sent as f64) }</dd>
                }
                <dt>{"arrivals"}</dt><dd>{ arrival }</dd>
                if let Some(p) = priority {
                    <dt>{"message priority"}</dt><dd>{ p }</dd>
                }
                if let Some(mean) = end_to_end_mean_us {
                    <dt>{"completed"}</dt><dd>{ completed }</dd>
                    <dt>{"mean end-to-end"}</dt><dd id="producer-e2e">{ crate::ui::render::fmt_us(*mean as u64) }</dd>
                }
            </dl>
            <h3>{"Knobs"}</h3>
            <div class="knob">
                <label for="knob-rate">{"Rate (messages/s)"}</label>
                <div class="row">
                    <button class="btn" onclick={link.callback(move |_| Msg::Cmd(knobs::set_rate(&p1, &format!("{}", rate_per_s_half(rate_per_s)))))}>{"÷2"}</button>
                    <input id="knob-rate" type="number" min="0" step="any" value={format!("{}", rate_per_s)}
                        onchange={link.callback(move |e: Event| Msg::Cmd(knobs::set_rate(&pid, &e.target_unchecked_into::<HtmlInputElement>().value())))} />
                    <button class="btn" id="rate-double" onclick={link.callback(move |_| Msg::Cmd(knobs::set_rate(&p2, &format!("{}", rate_per_s * 2.0))))}>{"×2"}</button>
                </div>
            </div>
            { self.linger_knob(link, id) }
            <div class="knob">
                <label for="knob-arrival">{"Arrivals"}</label>
                <select id="knob-arrival"
                    onchange={link.callback(move |e: Event| {
                        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                        Msg::Cmd(knobs::set_arrival(&p4, &v))
                    })}>
                    { for arrival_options.iter().map(|(value, label)| html! {
                        <option value={value.clone()} selected={*value == arrival_now}>{ label.clone() }</option>
                    }) }
                </select>
            </div>
            <div class="knob">
                if *paused {
                    <button class="btn primary" onclick={link.callback(move |_| Msg::Cmd(Some(Command::ResumeProducer { producer: p3.clone() })))}>{"Resume publishing"}</button>
                } else {
                    <button class="btn" id="pause-producer" onclick={link.callback(move |_| Msg::Cmd(Some(Command::PauseProducer { producer: p3.clone() })))}>{"Pause publishing"}</button>
                }
            </div>
            { self.producer_fault_knobs(link, id) }
            <h3>{"Publish one"}</h3>
            <div class="knob">
                <label for="one-routing-key">{"Routing key"}</label>
                <input id="one-routing-key" type="text" maxlength="255" placeholder={rk_default} />
            </div>
            <div class="knob">
                <label for="one-key">{"Key (optional)"}</label>
                <input id="one-key" type="text" maxlength="255" />
            </div>
            <div class="knob">
                <label for="one-headers">{"Headers (name=value, …)"}</label>
                <input id="one-headers" type="text" />
            </div>
            <div class="knob">
                <button class="btn primary" id="publish-one" onclick={link.callback(move |_| {
                    let value = |id: &str| {
                        web_sys::window()
                            .and_then(|w| w.document())
                            .and_then(|d| d.get_element_by_id(id))
                            .map(|el| el.unchecked_into::<HtmlInputElement>().value())
                            .unwrap_or_default()
                    };
                    Msg::Cmd(knobs::publish_one(&p5, &value("one-routing-key"), &value("one-key"), &value("one-headers")))
                })}>{"Publish one"}</button>
            </div>
            </>
        }
    }

    /// Exchange: type, routed/unroutable counts and its bindings (no live knobs).
    fn exchange_panel(&self, nv: &NodeView) -> Html {
        let NodeView::Exchange {
            exchange_kind,
            routed,
            unroutable,
            to_alternate,
            id,
        } = nv
        else {
            return html! {};
        };
        let cfg = self.sim.engine.config();
        let ex = cfg.exchanges.iter().find(|x| &x.id == id);
        html! {
            <>
            <dl class="stats">
                <dt>{"type"}</dt><dd>{ exchange_kind }</dd>
                <dt>{"routed"}</dt><dd>{ routed }</dd>
                <dt>{"unroutable"}</dt><dd>{ unroutable }</dd>
                if ex.is_some_and(|x| x.alternate_exchange.is_some()) {
                    <dt>{"to alternate"}</dt><dd>{ to_alternate }</dd>
                }
            </dl>
            <h3>{"Bindings"}</h3>
            <ul class="bindings">
                { for ex.into_iter().flat_map(|x| x.bindings.iter()).map(|b| {
                    let dest = b.queue.clone().or(b.exchange.clone()).unwrap_or_default();
                    let key = if b.headers.is_empty() { format!("key \"{}\"", b.key) } else { format!("headers {:?}", b.headers) };
                    html! { <li>{ format!("→ {dest}  ({key})") }</li> }
                }) }
            </ul>
            <p class="hint">{"Exchanges have no live knobs: change bindings in the scenario JSON."}</p>
            </>
        }
    }

    /// Queue: depth and counters, length/overflow/TTL knobs, purge, its contents.
    fn queue_panel(&self, link: &Scope<Self>, nv: &NodeView) -> Html {
        let NodeView::Queue {
            id,
            depth,
            depth_max,
            unacked,
            max_length,
            ttl_us,
            enqueued,
            delivered,
            acked,
            expired,
            dead_lettered,
            dropped,
            head,
            priority_levels,
        } = nv
        else {
            return html! {};
        };
        let cfg = self.sim.engine.config();
        let q = cfg.queues.iter().find(|q| &q.id == id);
        // A single-active-consumer queue: which instance is active now.
        let sac_active = q.filter(|q| q.single_active_consumer).map(|_| {
            self.snap
                .nodes
                .iter()
                .find_map(|n| match n {
                    NodeView::Consumer {
                        id: cid,
                        queue: cq,
                        instances,
                        ..
                    } if cq == id => instances
                        .iter()
                        .position(|i| i.up && !i.standby)
                        .map(|k| format!("{cid}#{k}")),
                    _ => None,
                })
                .unwrap_or_else(|| "none up".into())
        });
        // A priority queue: ready per priority, highest first ("p3 4 · p0 12").
        let top = priority_levels.len().saturating_sub(1);
        let by_priority = priority_levels
            .iter()
            .enumerate()
            .filter(|&(k, &n)| n > 0 || k == 0 || k == top)
            .map(|(k, n)| format!("p{} {n}", top - k))
            .collect::<Vec<_>>()
            .join(" · ");
        let overflow = q.map(|q| q.overflow).unwrap_or_default();
        let (q1, q2, q3, q4) = (id.clone(), id.clone(), id.clone(), id.clone());
        let dlx = q
            .and_then(|q| q.dead_letter_exchange.clone())
            .unwrap_or_else(|| "none".into());
        // An SQS queue shows SQS's knobs (RabbitMQ's are refused for it).
        let sqs_node = q
            .filter(|q| q.sqs.is_some())
            .and_then(|_| self.snap.nodes.iter().position(|n| n.id() == id));
        html! {
            <>
            <dl class="stats">
                <dt>{"ready"}</dt><dd id="queue-depth">{ depth }</dd>
                if !priority_levels.is_empty() {
                    <dt>{"ready by priority"}</dt><dd id="queue-priorities">{ by_priority }</dd>
                }
                if let Some(a) = sac_active {
                    <dt>{"single active consumer"}</dt><dd id="queue-sac-active">{ a }</dd>
                }
                <dt>{"unacked"}</dt><dd>{ unacked }</dd>
                <dt>{"peak depth"}</dt><dd>{ depth_max }</dd>
                <dt>{"enqueued"}</dt><dd>{ enqueued }</dd>
                <dt>{"delivered"}</dt><dd>{ delivered }</dd>
                <dt>{"acked"}</dt><dd>{ acked }</dd>
                <dt>{"expired"}</dt><dd>{ expired }</dd>
                <dt>{"dead-lettered"}</dt><dd>{ dead_lettered }</dd>
                <dt>{"dropped"}</dt><dd>{ dropped }</dd>
                <dt>{"dead-letter exchange"}</dt><dd>{ dlx }</dd>
            </dl>
            if let Some(node) = sqs_node {
                { self.sqs_queue_knobs(link, id, node) }
            } else {
            <h3>{"Knobs"}</h3>
            <div class="knob">
                <label for="knob-maxlen">{"Max length (blank = unlimited)"}</label>
                <input id="knob-maxlen" type="number" min="0" value={max_length.map(|m| m.to_string()).unwrap_or_default()}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::opt_u32(&e.target_unchecked_into::<HtmlInputElement>().value()).map(|m| Command::SetMaxLength { queue: q1.clone(), max_length: m })))} />
            </div>
            <div class="knob">
                <label for="knob-overflow">{"When full"}</label>
                <select id="knob-overflow" onchange={link.callback(move |e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    let o = match v.as_str() { "reject-publish" => Overflow::RejectPublish, "reject-publish-dlx" => Overflow::RejectPublishDlx, _ => Overflow::DropHead };
                    Msg::Cmd(Some(Command::SetOverflow { queue: q2.clone(), overflow: o }))
                })}>
                    <option value="drop-head" selected={overflow == Overflow::DropHead}>{"drop head (oldest)"}</option>
                    <option value="reject-publish" selected={overflow == Overflow::RejectPublish}>{"reject publish"}</option>
                    <option value="reject-publish-dlx" selected={overflow == Overflow::RejectPublishDlx}>{"reject publish, dead-letter"}</option>
                </select>
            </div>
            <div class="knob">
                <label for="knob-ttl">{"Message TTL, ms (blank = none)"}</label>
                <input id="knob-ttl" type="number" min="0" value={ttl_us.map(|t| format!("{}", t as f64 / 1e3)).unwrap_or_default()}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::opt_ms(&e.target_unchecked_into::<HtmlInputElement>().value()).map(|t| Command::SetQueueTtl { queue: q3.clone(), ttl: t })))} />
            </div>
            <div class="knob">
                <button class="btn danger" id="purge" onclick={link.callback(move |_| Msg::Cmd(Some(Command::PurgeQueue { queue: q4.clone() })))}>{"Purge ready messages"}</button>
            </div>
            }
            if sqs_node.is_none() {
                <h3>{ format!("Contents, head first ({depth})") }</h3>
                { views::message_table(head, link.callback(|m: u64| Msg::SelectMessage(Some(m)))) }
            }
            </>
        }
    }

    /// Consumer: counters, instances, service time, failures, ack and retry knobs, crash.
    fn consumer_panel(&self, link: &Scope<Self>, nv: &NodeView) -> Html {
        let NodeView::Consumer {
            id,
            queue,
            prefetch,
            processed,
            failed,
            acked,
            nacked,
            service_mean_us,
            instances,
            breaker,
        } = nv
        else {
            return html! {};
        };
        let cfg = self.sim.engine.config();
        let Some(c) = cfg.consumers.iter().find(|c| &c.id == id).cloned() else {
            return html! {};
        };
        let n = instances.len() as u32;
        let (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11) = (
            c.clone(),
            c.id.clone(),
            c.id.clone(),
            c.clone(),
            c.id.clone(),
            c.id.clone(),
            c.id.clone(),
            c.id.clone(),
            c.clone(),
            c.clone(),
            c.id.clone(),
        );
        let crash_one = instances.iter().position(|i| i.up).map(|k| k as u32);
        let c12 = c.id.clone();
        let retry = c.retry.clone();
        // An SQS consumer: receive settings instead of AMQP's (refused for it).
        let sqs = c.sqs.is_some();
        html! {
            <>
            <dl class="stats">
                <dt>{"reads from"}</dt><dd>{ queue }</dd>
                if let Some(p) = c.priority {
                    <dt>{"priority (x-priority)"}</dt><dd id="consumer-priority">{ p }</dd>
                }
                <dt>{"processed"}</dt><dd id="consumer-processed">{ processed }</dd>
                <dt>{"failed"}</dt><dd>{ failed }</dd>
                <dt>{"acked / nacked"}</dt><dd>{ format!("{acked} / {nacked}") }</dd>
                <dt>{"service time"}</dt><dd>{ format!("{:.1} ms, {}", knobs::service_ms(&c.service), knobs::service_kind(&c.service)) }</dd>
                if let Some(us) = service_mean_us {
                    <dt>{"mean so far"}</dt><dd id="consumer-service-mean">{ format!("{:.1} ms", us / 1000.0) }</dd>
                }
                if let Some(r) = &retry {
                    <dt>{"retry"}</dt><dd>{ format!("{} attempts, {}, {:?}", r.max_attempts, knobs::backoff_text(&r.backoff), r.mode).to_ascii_lowercase() }</dd>
                }
                if let Some(b) = breaker {
                    <dt>{"circuit breaker"}</dt><dd id="breaker-state">{ b.describe() }</dd>
                    <dt>{"breaker opened"}</dt><dd id="breaker-opens">{ format!("{} time(s), open {} in all", b.opens, crate::scenario::Duration(b.open_total_us)) }</dd>
                }
            </dl>
            <h3>{"Knobs"}</h3>
            <div class="knob">
                <label>{"Instances"}</label>
                <div class="row">
                    <button class="btn" id="instances-minus" disabled={n <= 1} onclick={link.callback(move |_| Msg::Cmd(Some(Command::SetInstances { consumer: c2.clone(), instances: n.saturating_sub(1).max(1) })))}>{"−"}</button>
                    <span class="big" id="instances-value">{ n }</span>
                    <button class="btn" id="instances-plus" onclick={link.callback(move |_| Msg::Cmd(Some(Command::SetInstances { consumer: c3.clone(), instances: n + 1 })))}>{"+"}</button>
                </div>
            </div>
            <div class="knob">
                <label for="knob-service">{ format!("Service time, ms ({})", knobs::service_kind(&c.service)) }</label>
                <input id="knob-service" type="number" min="0" step="any" value={format!("{}", knobs::service_ms(&c.service))}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::set_service(&c1, &e.target_unchecked_into::<HtmlInputElement>().value())))} />
            </div>
            <div class="knob">
                <label for="knob-failure">{ format!("Failure rate: {:.0}%", c.failure_rate * 100.0) }</label>
                <input id="knob-failure" type="range" min="0" max="100" step="5" value={format!("{}", (c.failure_rate * 100.0).round())}
                    onchange={link.callback(move |e: Event| {
                        let v: f64 = crate::scenario::parse_f64(&e.target_unchecked_into::<HtmlInputElement>().value()).unwrap_or(0.0);
                        Msg::Cmd(Some(Command::SetFailureRate { consumer: c5.clone(), failure_rate: (v / 100.0).clamp(0.0, 1.0) }))
                    })} />
            </div>
            if sqs {
                { self.sqs_consumer_knobs(link, &c) }
            } else {
            <div class="knob">
                <label for="knob-prefetch">{"Prefetch (unacked per instance)"}</label>
                <input id="knob-prefetch" type="number" min="1" value={prefetch.to_string()}
                    onchange={link.callback(move |e: Event| Msg::Cmd(knobs::set_u32(&e.target_unchecked_into::<HtmlInputElement>().value()).map(|p| Command::SetPrefetch { consumer: c6.clone(), prefetch: p })))} />
            </div>
            <div class="knob">
                <label for="knob-ack">{"Acknowledgement"}</label>
                <select id="knob-ack" onchange={link.callback(move |e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    Msg::Cmd(Some(Command::SetAckMode { consumer: c7.clone(), ack: if v == "auto" { AckMode::Auto } else { AckMode::AfterProcessing } }))
                })}>
                    <option value="after_processing" selected={c.ack_mode() == AckMode::AfterProcessing}>{"after processing (at-least-once)"}</option>
                    <option value="auto" selected={c.ack_mode() == AckMode::Auto}>{"auto-ack on delivery (at-most-once)"}</option>
                </select>
            </div>
            <div class="knob">
                <label for="knob-onfailure">{"On failure"}</label>
                <select id="knob-onfailure" onchange={link.callback(move |e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    let of = match v.as_str() { "requeue" => OnFailure::Requeue, "retry" => OnFailure::Retry, _ => OnFailure::DeadLetter };
                    Msg::Cmd(Some(Command::SetOnFailure { consumer: c8.clone(), on_failure: of }))
                })}>
                    <option value="dead_letter" selected={c.on_failure == OnFailure::DeadLetter}>{"reject → dead-letter (or drop)"}</option>
                    <option value="requeue" selected={c.on_failure == OnFailure::Requeue}>{"requeue at head"}</option>
                    <option value="retry" selected={c.on_failure == OnFailure::Retry}>{"retry with policy"}</option>
                </select>
            </div>
            <div class="knob two">
                <div>
                    <label for="knob-attempts">{"Retry: max attempts"}</label>
                    <input id="knob-attempts" type="number" min="1" value={retry.as_ref().map(|r| r.max_attempts.to_string()).unwrap_or_default()} placeholder="none"
                        onchange={link.callback(move |e: Event| {
                            let v = e.target_unchecked_into::<HtmlInputElement>().value();
                            if v.trim().is_empty() { return Msg::Cmd(Some(Command::SetRetry { consumer: c11.clone(), retry: None })); }
                            Msg::Cmd(knobs::set_u32(&v).map(|a| knobs::retry_with(&c9, Some(a), None)))
                        })} />
                </div>
                <div>
                    <label for="knob-backoff">{"backoff, ms"}</label>
                    <input id="knob-backoff" type="number" min="0" value={retry.as_ref().map(|r| format!("{}", knobs::backoff_ms(&r.backoff))).unwrap_or_default()} placeholder="none"
                        onchange={link.callback(move |e: Event| {
                            let v = e.target_unchecked_into::<HtmlInputElement>().value();
                            Msg::Cmd(crate::scenario::parse_f64(&v).map(|ms| knobs::retry_with(&c10, None, Some(ms))))
                        })} />
                </div>
            </div>
            }
            <div class="knob row">
                <button class="btn danger" id="crash-one" disabled={crash_one.is_none()} onclick={link.callback(move |_| Msg::Cmd(Some(Command::CrashConsumer { consumer: c4.id.clone(), instance: crash_one, restart_after: Some(crate::scenario::Duration::from_s(3)), point: Default::default() })))}>{"Crash 1 (restart in 3 s)"}</button>
                <button class="btn" id="restart-all" onclick={link.callback(move |_| Msg::Cmd(Some(Command::RestartConsumer { consumer: c12.clone(), instance: None })))}>{"Restart all"}</button>
            </div>
            if !sqs {
                { self.breaker_knobs(link, &c) }
                { self.consumer_fault_knobs(link, &c) }
            }
            <h3>{"Deliveries in progress"}</h3>
            { views::instances_table(instances, link.callback(|m: u64| Msg::SelectMessage(Some(m)))) }
            </>
        }
    }

    /// The circuit breaker's knobs: threshold (blank: none) and open time.
    fn breaker_knobs(&self, link: &Scope<Self>, c: &crate::scenario::Consumer) -> Html {
        let (c1, c2) = (c.clone(), c.clone());
        let b = c.circuit_breaker;
        html! {
            <div class="knob two">
                <div>
                    <label for="knob-breaker-failures">{"Circuit breaker: opens after failures in a row"}</label>
                    <input id="knob-breaker-failures" type="number" min="1" placeholder="none"
                        value={b.map(|b| b.failures.to_string()).unwrap_or_default()}
                        onchange={link.callback(move |e: Event| Msg::Cmd(knobs::breaker_with(&c1, Some(&e.target_unchecked_into::<HtmlInputElement>().value()), None)))} />
                </div>
                <div>
                    <label for="knob-breaker-open">{"open for, ms"}</label>
                    <input id="knob-breaker-open" type="number" min="1" placeholder="none"
                        value={b.map(|b| format!("{}", b.open_for.us() as f64 / 1000.0)).unwrap_or_default()}
                        onchange={link.callback(move |e: Event| Msg::Cmd(knobs::breaker_with(&c2, None, Some(&e.target_unchecked_into::<HtmlInputElement>().value()))))} />
                </div>
            </div>
        }
    }

    /// Theory presets: the closed form beside the measured mean and its 95%
    /// batch-means interval, live.
    fn view_theory(&self) -> Html {
        let Some(t) = &self.sim.scenario.theory else {
            return html! {};
        };
        let lat = self.sim.engine.latency_end_to_end();
        let ms = |us: f64| format!("{:.0} ms", us / 1000.0);
        let theory_us = t.mean_latency.us() as f64;
        let measured = match lat.mean_ci95 {
            Some(ci) => {
                let inside = (ci.mean - theory_us).abs() <= ci.half_width;
                html! {
                    <>
                        <b id="theory-measured">{ format!("{} ± {}", ms(ci.mean), ms(ci.half_width)) }</b>
                        { format!(" (95%, {} batches of {}) — ", ci.batches, ci.batch_size) }
                        <span class={if inside { "ok" } else { "warn" }} id="theory-verdict">
                            { if inside { "the theory is inside the interval" } else { "not yet inside: run longer" } }
                        </span>
                    </>
                }
            }
            None if lat.count > 0 => {
                html! { <><b id="theory-measured">{ ms(lat.mean) }</b>{ " (too few messages yet for an interval)" }</> }
            }
            None => html! { <span>{"no message completed yet"}</span> },
        };
        html! {
            <div class="theory" id="theory">
                <div><span class="lbl">{"Theory"}</span><b id="theory-value">{ ms(theory_us) }</b>{ format!("  {}", t.formula) }</div>
                <div><span class="lbl">{"Measured"}</span>{ measured }</div>
            </div>
        }
    }
}

fn rate_per_s_half(r: f64) -> f64 {
    (r / 2.0 * 1000.0).round() / 1000.0
}
