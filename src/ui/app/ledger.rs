//! The delivery ledger in the app: a strip under the totals with the
//! guarantee dial and the ledger's counters, and in the inspector's overview
//! the sentences that explain them and a few examples to open.
//!
//!   Engine ──LedgerView::of (at the DOM rate)──► strip: dial · exactly once · duplicated · lost · out of order
//!   dial ──Command::SetGuarantee──► engine (logged, replayed by rewind and links)
//!   example ──Msg::SelectMessage──► that message's journey in the inspector
//!
//! No state here beyond whether the strip is shown (`App::ledger_open`).

use super::{App, Msg};
use crate::engine::Command;
use crate::ui::ledger::{self, LedgerView};
use web_sys::HtmlSelectElement;
use yew::prelude::*;
use yew::TargetCast;

impl App {
    /// The strip shows: the user's choice, else when the scenario is about
    /// delivery guarantees.
    pub(super) fn ledger_shown(&self) -> bool {
        self.ledger_open
            .unwrap_or_else(|| ledger::prominent(&self.sim.scenario))
    }

    /// The dial as a select; `custom` (not a choice) when the knobs match no bundle.
    pub(super) fn guarantee_dial(&self, ctx: &Context<Self>, label: &'static str) -> Html {
        let link = ctx.link();
        html! {
            <label class="dial" title="The guarantee dial sets every queue producer's confirms and every consumer's ack mode and dedup store at once">
                <span class="l">{"Guarantee"}</span>
                <select id="guarantee-dial" data-label={label} onchange={link.callback(|e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    match ledger::parse_guarantee(&v) {
                        Some(g) => Msg::Cmd(Some(Command::SetGuarantee { guarantee: g })),
                        None => Msg::Noop,
                    }
                })}>
                    { for ledger::dial_choices().map(|(v, words)| html! {
                        <option value={v} selected={v == label}>{ words }</option>
                    }) }
                    if label == "custom" {
                        <option value="custom" selected=true disabled=true>{"custom"}</option>
                    }
                </select>
            </label>
        }
    }

    /// The strip under the totals: dial, four large counters, three small ones.
    pub(super) fn view_ledger_strip(&self, ctx: &Context<Self>) -> Html {
        if !self.ledger_shown() || self.comparing() {
            return html! {};
        }
        let l = LedgerView::of(&self.sim.engine);
        let counts = ledger::counts_effects(self.sim.engine.config());
        let streams = if counts {
            None
        } else {
            self.sim.engine.stream_ledger().map(|st| {
                let lines = super::compare::stream_lines(&st);
                (st, lines)
            })
        };
        let link = ctx.link();
        html! {
            <div class="ledger" id="ledger" data-guarantee={l.guarantee}
                data-lost={l.lost.to_string()} data-duplicated={l.duplicated.to_string()} data-exactly={l.exactly_once.to_string()}>
                if counts {
                    { self.guarantee_dial(ctx, l.guarantee) }
                    { ledger::counters(&l, "ledger") }
                } else if let Some((st, lines)) = &streams {
                    // Topics and groups only: the log's ledger, as a Kafka lane shows it.
                    { super::compare::log_cards("ledger", st, &self.sim.scenario) }
                    // Three lines show; the title has them all (a fourth scrolls).
                    <ul class="ledger-streams" id="ledger-streams" title={lines.join("\n")}>
                        { for lines.iter().map(|s| html! { <li>{ s }</li> }) }
                    </ul>
                } else {
                    <span class="hint" id="ledger-none">{"This ledger counts the effects of queue, SQS, Redis and Pulsar consumers and the records of Kafka topics; this scenario has none."}</span>
                }
                <div class="ledger-actions">
                    if !self.embed && !self.presenter {
                        <button class="btn small" id="ledger-why" title="Why these numbers: the mechanisms at work and examples to open"
                            onclick={link.callback(|_| Msg::LedgerWhy)}>{"Why?"}</button>
                    }
                    { self.compare_button(ctx) }
                </div>
            </div>
        }
    }

    /// The "Compare variants" toggle, for scenarios with variants (outside embeds).
    pub(super) fn compare_button(&self, ctx: &Context<Self>) -> Html {
        if self.sim.scenario.variants.is_empty() || self.embed {
            return html! {};
        }
        let on = self.comparing();
        html! {
            <button class={classes!("btn", "small", on.then_some("on"))} id="compare-toggle"
                aria-pressed={on.to_string()}
                title="Run every variant of this scenario side by side: same seed, one clock"
                onclick={ctx.link().callback(|_| Msg::ToggleCompare)}>
                {"Compare"}<span class="txt">{" variants"}</span>{ format!(" ({})", self.sim.scenario.variants.len()) }
            </button>
        }
    }

    /// "Why?": the inspector's overview, scrolled to the ledger's details
    /// (the scroll is done once rendered, see `frame.rs`).
    pub(super) fn ledger_why(&mut self) -> bool {
        self.sel_node = None;
        self.sel_msg = None;
        self.tab = super::Tab::Inspect;
        self.show_side = true;
        self.side_hidden = false;
        self.ledger_scroll = true;
        true
    }

    /// The inspector's overview: the explanation sentences and examples.
    pub(super) fn view_ledger_details(&self, ctx: &Context<Self>) -> Html {
        if !self.ledger_shown() {
            return html! {};
        }
        let l = LedgerView::of(&self.sim.engine);
        let link = ctx.link();
        let lost_by = l
            .lost_by_reason
            .iter()
            .map(|(r, n)| format!("{n} {}", r.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ");
        html! {
            <div class="ledger-details" id="ledger-details">
                <h3>{ format!("Delivery ledger: {}", ledger::guarantee_words(l.guarantee)) }</h3>
                <ul class="explain" id="ledger-explain">
                    { for self.sim.engine.guarantee_explanation().into_iter().map(|s| html! { <li>{ s }</li> }) }
                </ul>
                if !lost_by.is_empty() {
                    <p class="hint" id="ledger-lost-by">{ format!("Lost by reason: {lost_by}.") }</p>
                }
                if !l.examples.is_empty() {
                    <h3>{"Why? Open one"}</h3>
                    <ul class="examples" id="ledger-examples">
                        { for l.examples.iter().enumerate().map(|(k, e)| {
                            let first = e.messages.first().copied();
                            html! {
                                <li class={classes!("ex", e.outcome)} data-outcome={e.outcome}>
                                    <span class="what">{ ledger::example_text(e) }</span>
                                    { for e.messages.iter().enumerate().map(|(j, m)| {
                                        let m = *m;
                                        let id = if j == 0 { format!("ledger-ex-{k}") } else { format!("ledger-ex-{k}-{j}") };
                                        html! { <a class="msg-link" id={id} title="Open this message's journey" onclick={link.callback(move |_| Msg::SelectMessage(Some(m)))}>{ format!("m{m}") }</a> }
                                    }) }
                                    if first.is_none() { <span class="hint">{ format!("business message {}", e.business_id) }</span> }
                                </li>
                            }
                        }) }
                    </ul>
                }
            </div>
        }
    }
}
