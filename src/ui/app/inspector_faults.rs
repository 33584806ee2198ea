//! Delivery-guarantee knobs in the inspector: faults placed at exact
//! protocol points and the mechanisms that survive them.
//!
//!   consumer: crash after receive · after effect (before ack) · after ack,
//!             fault probabilities, dedup window
//!   queue producer: publisher confirms on/off, link drop · duplicate · confirm lost
//!
//! Every control sends one engine `Command` (so rewind and share links
//! replay it); each has a stable id for tests.

use super::{App, Msg};
use crate::engine::Command;
use crate::scenario::{Confirms, Consumer, CrashPoint};
use crate::ui::knobs::{self, ConsumerFault, LinkFault};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::html::Scope;
use yew::prelude::*;
use yew::TargetCast;

/// A probability as the percentage a field shows.
fn pct_text(p: f64) -> String {
    let v = (p * 1000.0).round() / 10.0;
    format!("{v}")
}

impl App {
    /// Consumer: crashes armed at a protocol point, fault probabilities, dedup.
    pub(super) fn consumer_fault_knobs(&self, link: &Scope<Self>, c: &Consumer) -> Html {
        let f = c.faults.unwrap_or_default();
        // A crash restarts after the consumer's own restart delay (1 s by default).
        let restart = f.restart_after;
        let crash = |point: CrashPoint,
                     id: &'static str,
                     label: &'static str,
                     title: &'static str| {
            let consumer = c.id.clone();
            html! {
                <button class="btn danger" id={id} title={title}
                    onclick={link.callback(move |_| Msg::Cmd(Some(Command::CrashConsumer {
                        consumer: consumer.clone(), instance: None, restart_after: Some(restart), point,
                    })))}>{ label }</button>
            }
        };
        let prob = |which: ConsumerFault, id: &'static str, label: &'static str, v: f64| {
            let c = c.clone();
            html! {
                <div>
                    <label for={id}>{ label }</label>
                    <input id={id} type="number" min="0" max="100" step="any" value={pct_text(v)}
                        onchange={link.callback(move |e: Event| Msg::Cmd(knobs::consumer_fault(&c, which, &e.target_unchecked_into::<HtmlInputElement>().value())))} />
                </div>
            }
        };
        let cid = c.id.clone();
        html! {
            <div class="guarantee-knobs" id="consumer-faults">
                <h3>{"Faults at protocol points"}</h3>
                <p class="hint">{ format!("The next instance to reach the point crashes; it restarts after {restart}.") }</p>
                <div class="row crash-points">
                    { crash(CrashPoint::AfterReceive, "crash-after-receive", "crash after receive", "Crash when an instance next receives a message, before processing it") }
                    { crash(CrashPoint::AfterEffect, "crash-after-effect", "crash after effect (before ack)", "Crash when an instance next has done a message's effect but not yet acked it: the broker redelivers it") }
                    { crash(CrashPoint::AfterAck, "crash-after-ack", "crash after ack", "Crash when an instance next acks a message") }
                </div>
                <div class="knob three">
                    { prob(ConsumerFault::CrashAfterReceive, "fault-crash-receive", "crash after receive, %", f.crash_after_receive) }
                    { prob(ConsumerFault::CrashAfterEffect, "fault-crash-effect", "crash after effect, %", f.crash_after_effect) }
                    { prob(ConsumerFault::AckDrop, "fault-ack-drop", "ack lost, %", f.ack_drop) }
                </div>
                <div class="knob three">
                    { prob(ConsumerFault::DeliveryDrop, "fault-delivery-drop", "delivery lost, %", f.delivery_drop) }
                    { prob(ConsumerFault::DeliveryDuplicate, "fault-delivery-duplicate", "delivery doubled, %", f.delivery_duplicate) }
                    { prob(ConsumerFault::DeliveryReorder, "fault-delivery-reorder", "delivery held back, %", f.delivery_reorder) }
                </div>
                <div class="knob three">
                    { prob(ConsumerFault::AckDuplicate, "fault-ack-duplicate", "ack doubled (channel closes), %", f.ack_duplicate) }
                    <div>
                        <label for="fault-ack-delay">{"ack delay (mean), ms"}</label>
                        <input id="fault-ack-delay" type="number" min="0" step="any" value={format!("{}", f.ack_delay.0 as f64 / 1e3)}
                            onchange={{ let c = c.clone(); link.callback(move |e: Event| Msg::Cmd(knobs::ack_delay(&c, &e.target_unchecked_into::<HtmlInputElement>().value()))) }} />
                    </div>
                </div>
                <div class="knob">
                    <label for="knob-dedup-window">{"Dedup window, s (blank = no dedup store)"}</label>
                    <input id="knob-dedup-window" type="number" min="0" step="any" placeholder="none"
                        value={c.dedup.map(|d| format!("{}", d.window.0 as f64 / 1e6)).unwrap_or_default()}
                        onchange={link.callback(move |e: Event| Msg::Cmd(knobs::dedup_window(&cid, &e.target_unchecked_into::<HtmlInputElement>().value())))} />
                </div>
            </div>
        }
    }

    /// Queue producer: confirms on/off and link faults (topic producers have none).
    pub(super) fn producer_fault_knobs(&self, link: &Scope<Self>, id: &str) -> Html {
        let cfg = self.sim.engine.config();
        let Some(p) = cfg.producers.iter().find(|p| p.id == id) else {
            return html! {};
        };
        if cfg.topics.iter().any(|t| t.id == p.to) {
            return html! {};
        }
        let faults = p.faults;
        let f = faults.unwrap_or_default();
        let confirms = p.confirms;
        let shown = confirms.unwrap_or_default();
        let pid = p.id.clone();
        let prob = |which: LinkFault, fid: &'static str, label: &'static str, v: f64| {
            let pid = p.id.clone();
            html! {
                <div>
                    <label for={fid}>{ label }</label>
                    <input id={fid} type="number" min="0" max="100" step="any" value={pct_text(v)}
                        onchange={link.callback(move |e: Event| Msg::Cmd(knobs::link_fault(&pid, faults, which, &e.target_unchecked_into::<HtmlInputElement>().value())))} />
                </div>
            }
        };
        html! {
            <div class="guarantee-knobs" id="producer-faults">
                <h3>{"Delivery to the broker"}</h3>
                <div class="knob">
                    <label for="knob-confirms">{"Publisher confirms"}</label>
                    <select id="knob-confirms" onchange={link.callback(move |e: Event| {
                        let on = e.target_unchecked_into::<HtmlSelectElement>().value() == "on";
                        Msg::Cmd(Some(Command::SetConfirms { producer: pid.clone(), confirms: on.then(Confirms::default) }))
                    })}>
                        <option value="off" selected={confirms.is_none()}>{"off: fire-and-forget"}</option>
                        <option value="on" selected={confirms.is_some()}>{ format!("on: resend after {}, up to {}×", shown.timeout, shown.retries) }</option>
                    </select>
                </div>
                <div class="knob three">
                    { prob(LinkFault::Drop, "fault-drop", "publish lost, %", f.drop) }
                    { prob(LinkFault::Duplicate, "fault-duplicate", "duplicated, %", f.duplicate) }
                    { prob(LinkFault::ConfirmDrop, "fault-confirm-drop", "confirm lost, %", f.confirm_drop) }
                </div>
            </div>
        }
    }
}
