//! The event log: a virtualised list (only ~40 rows in the DOM) of the
//! trace up to the current time, filterable by node, kind and message;
//! it follows new events while scrolled to the bottom.

use super::{App, Msg};
use crate::engine::TraceKind;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew::TargetCast;

/// Height of one log row in CSS pixels (matches `.log-row` in app.css).
pub(super) const LOG_ROW_PX: f64 = 22.0;

impl App {
    pub(super) fn view_log(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let visible = self.sim.visible_log_len();
        let msg_filter: Option<u64> = self.filter_msg.trim().trim_start_matches('m').parse().ok();
        let node_filter = self.filter_node;
        let kind_filter = self.filter_kind.clone();
        let filtered = node_filter.is_some() || !kind_filter.is_empty() || msg_filter.is_some();
        let idx: Vec<usize> = if filtered {
            (0..visible)
                .filter(|&k| {
                    let e = &self.sim.log[k];
                    node_filter.is_none_or(|n| e.node.0 as usize == n || matches!(e.kind, TraceKind::Delivered { consumer, .. } if consumer.0 as usize == n))
                        && (kind_filter.is_empty() || e.kind.name() == kind_filter)
                        && msg_filter.is_none_or(|m| e.msg == Some(m))
                })
                .collect()
        } else {
            Vec::new()
        };
        let total = if filtered { idx.len() } else { visible };
        let first = ((self.log_scroll / LOG_ROW_PX).floor() as usize).min(total);
        let first = if self.log_follow {
            total.saturating_sub(40)
        } else {
            first
        };
        let last = (first + 40).min(total);
        let rows = (first..last).map(|r| {
            let k = if filtered { idx[r] } else { r };
            let e = self.sim.log[k];
            let text = self.sim.engine.trace_text(&e);
            let cls = match e.kind {
                TraceKind::DeadLettered { .. } => "k-dead",
                TraceKind::Dropped { .. } | TraceKind::Failed { .. } | TraceKind::Crashed { .. } => "k-drop",
                TraceKind::Expired => "k-exp",
                TraceKind::RetryScheduled { .. } | TraceKind::Retried { .. } | TraceKind::Requeued { .. } | TraceKind::Nacked { .. } => "k-retry",
                TraceKind::CommandApplied { .. } => "k-cmd",
                TraceKind::Processed { .. } | TraceKind::Acked { .. } => "k-done",
                _ => "",
            };
            let sel = e.msg.is_some() && e.msg == self.sel_msg;
            let m = e.msg;
            html! {
                <div class={classes!("log-row", cls, sel.then_some("sel"))} style={format!("top:{}px", r as f64 * LOG_ROW_PX)}
                    onclick={link.callback(move |_| Msg::SelectMessage(m))} title={text.clone()}>
                    { text }
                </div>
            }
        });
        let names: Vec<String> = self.layout.nodes.iter().map(|n| n.id.clone()).collect();
        html! {
            <div class="log">
                <div class="log-filters">
                    <b>{"Event log"}</b>
                    <select id="log-node" aria-label="Filter by node" onchange={link.callback(|e: Event| Msg::FilterNode(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                        <option value="" selected={self.filter_node.is_none()}>{"all nodes"}</option>
                        { for names.iter().enumerate().map(|(i, n)| html! { <option value={i.to_string()} selected={self.filter_node == Some(i)}>{ n }</option> }) }
                    </select>
                    <select id="log-kind" aria-label="Filter by kind" onchange={link.callback(|e: Event| Msg::FilterKind(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                        <option value="" selected={self.filter_kind.is_empty()}>{"all kinds"}</option>
                        { for TraceKind::NAMES.iter().map(|k| html! { <option value={*k} selected={self.filter_kind == *k}>{ k.replace('_', " ") }</option> }) }
                    </select>
                    <input id="log-msg" type="text" placeholder="message id" value={self.filter_msg.clone()} size="9"
                        oninput={link.callback(|e: InputEvent| Msg::FilterMessage(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                    <span class="count" id="log-count">{ format!("{total} entries") }</span>
                </div>
                <div class="log-view" id="log-view" ref={self.log_ref.clone()}
                    onscroll={link.callback(|e: Event| {
                        let el: HtmlElement = e.target_unchecked_into();
                        let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 4;
                        Msg::LogScroll(el.scroll_top() as f64, at_bottom)
                    })}>
                    if total == 0 {
                        <div class="log-empty">{ if filtered { "No events match these filters yet." } else { "No events yet: press ▶ Play (or space), or Step." } }</div>
                    }
                    <div class="log-inner" style={format!("height:{}px", total as f64 * LOG_ROW_PX)}>
                        { for rows }
                    </div>
                </div>
            </div>
        }
    }
}
