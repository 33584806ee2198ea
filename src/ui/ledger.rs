//! The delivery ledger as the app shows it: a plain copy of the engine's
//! ledger report (what was done exactly once, twice, never, out of order)
//! and pure `Html` pieces for its counters, explanation and examples.
//!
//!   Engine::ledger_report ──LedgerView::of──► counters strip, lane columns, "why?" list
//!
//! A projection only: it holds no state of its own and is rebuilt from the
//! engine at the DOM rate (ten times a second while playing).

use crate::engine::Engine;
use crate::scenario::{Guarantee, Scenario};
use yew::prelude::*;

/// Examples listed per outcome in the "why?" list.
pub const EXAMPLES_SHOWN: usize = 3;

/// One business message with a notable outcome, as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub business_id: u64,
    /// `duplicated`, `lost` or `out_of_order`.
    pub outcome: &'static str,
    pub effects: u32,
    pub reason: Option<&'static str>,
    /// Its first message ids (each opens that message's journey).
    pub messages: Vec<u64>,
}

/// The ledger's numbers at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LedgerView {
    /// `at_most_once`, `at_least_once`, `exactly_once` or `custom`.
    pub guarantee: &'static str,
    pub expected: u64,
    pub exactly_once: u64,
    pub duplicated: u64,
    pub extra_effects: u64,
    pub lost: u64,
    pub out_of_order: u64,
    pub pending: u64,
    pub deduplicated: u64,
    pub broker_deduplicated: u64,
    pub resent: u64,
    /// Lost business messages by reason, largest first.
    pub lost_by_reason: Vec<(&'static str, u64)>,
    pub examples: Vec<Example>,
}

impl LedgerView {
    pub fn of(engine: &Engine) -> LedgerView {
        let r = engine.ledger_report();
        let mut lost_by_reason: Vec<(&'static str, u64)> =
            r.lost_by_reason.iter().map(|(k, v)| (*k, *v)).collect();
        crate::small_sort::sort_by(&mut lost_by_reason, |a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        // The first few of each outcome, duplicated first: the question a
        // room asks is "why was this one charged twice?".
        let mut examples = Vec::new();
        for outcome in ["duplicated", "lost", "out_of_order"] {
            examples.extend(
                r.examples
                    .iter()
                    .filter(|e| e.outcome == outcome)
                    .take(EXAMPLES_SHOWN)
                    .map(|e| Example {
                        business_id: e.business_id,
                        outcome: e.outcome,
                        effects: e.effects,
                        reason: e.reason,
                        messages: e.messages.clone(),
                    }),
            );
        }
        LedgerView {
            guarantee: r.guarantee,
            expected: r.expected,
            exactly_once: r.exactly_once,
            duplicated: r.duplicated,
            extra_effects: r.extra_effects,
            lost: r.lost,
            out_of_order: r.out_of_order,
            pending: r.pending,
            deduplicated: r.deduplicated,
            broker_deduplicated: r.broker_deduplicated,
            resent: r.resent,
            lost_by_reason,
            examples,
        }
    }
}

/// The scenario is about delivery guarantees: it sets the dial, or a
/// producer has confirms or link faults, or a consumer a dedup store or
/// protocol faults. Then the ledger is shown without being asked for.
pub fn prominent(sc: &Scenario) -> bool {
    sc.guarantee.is_some()
        || sc
            .producers
            .iter()
            .any(|p| p.confirms.is_some() || p.faults.is_some())
        || sc
            .consumers
            .iter()
            .any(|c| c.dedup.is_some() || c.faults.is_some())
}

/// The ledger counts the effects of queue consumers, of Redis subscribers
/// and stream groups, and of Pulsar subscriptions (each a virtual queue of
/// the ledger, `model/pulsar.rs`); a scenario without any (Kafka topics and
/// groups only) has nothing to show in its counters.
pub fn counts_effects(sc: &Scenario) -> bool {
    !sc.consumers.is_empty()
        || !sc.redis_subscribers.is_empty()
        || !sc.redis_groups.is_empty()
        || !sc.pulsar_subscriptions.is_empty()
}

/// The dial's label in words.
pub fn guarantee_words(label: &str) -> &'static str {
    match label {
        "at_most_once" => "at-most-once",
        "at_least_once" => "at-least-once",
        "exactly_once" => "exactly-once",
        _ => "custom",
    }
}

/// The dial's choices, as (value, words).
pub fn dial_choices() -> impl Iterator<Item = (&'static str, &'static str)> {
    Guarantee::ALL
        .into_iter()
        .map(|g| (g.name(), guarantee_words(g.name())))
}

pub fn parse_guarantee(v: &str) -> Option<Guarantee> {
    Guarantee::ALL.into_iter().find(|g| g.name() == v)
}

/// The four large counters and the three small ones. `prefix` makes the
/// element ids unique (`ledger` for the main strip, `lane0` … for lanes).
pub fn counters(l: &LedgerView, prefix: &str) -> Html {
    let big = |key: &str, cls: &'static str, v: u64, label: String, title: &'static str| {
        html! {
            <div class={classes!("lc", cls, (v == 0).then_some("zero"))} id={format!("{prefix}-{key}")} title={title}>
                <span class="v">{ v }</span><span class="l">{ label }</span>
            </div>
        }
    };
    let dup_label = if l.extra_effects > 0 {
        format!("duplicated, +{} extra", l.extra_effects)
    } else {
        "duplicated".to_string()
    };
    // One line for both kinds of deduplication (a wider column would push
    // the buttons to a second row at 1024 px); the title splits it.
    let dedup_title = if l.broker_deduplicated > 0 {
        format!(
            "Duplicates kept from repeating an effect: {} sends the queue acknowledged but did not store (it had seen their deduplication id: SQS FIFO, 5 minutes), {} redeliveries a consumer's dedup store acked without doing the effect again",
            l.broker_deduplicated, l.deduplicated
        )
    } else {
        "Redeliveries a dedup store acked without doing the effect again".to_string()
    };
    html! {
        <>
            { big("exactly", "ok", l.exactly_once, "exactly once".into(), "Business messages whose effect happened exactly once at every consumer queue they reached") }
            { big("duplicated", "dup", l.duplicated, dup_label, "Business messages whose effect happened more than once (think: a card charged twice); extra = the surplus effects") }
            { big("lost", "lost", l.lost, "lost".into(), "Business messages published whose effect never happened (dropped on the way, or lost in a crash after an auto-ack)") }
            { big("out-of-order", "ooo", l.out_of_order, "out of order".into(), "Effects done for a key after a later message's effect for the same key") }
            <div class="lc-small" id={format!("{prefix}-small")}>
                <span id={format!("{prefix}-pending")} title="Business messages still on their way (not final yet)">{ format!("pending {}", l.pending) }</span>
                <span id={format!("{prefix}-deduplicated")} title={dedup_title}>{ format!("deduplicated {}", l.deduplicated + l.broker_deduplicated) }</span>
                <span id={format!("{prefix}-resent")} title="Publishes sent again after a missing or negative confirm">{ format!("resent {}", l.resent) }</span>
            </div>
        </>
    }
}

/// One example in words: what happened to this business message.
pub fn example_text(e: &Example) -> String {
    match e.outcome {
        "duplicated" => format!("done {} times", e.effects),
        "lost" => format!(
            "lost: {}",
            e.reason.unwrap_or("never processed").replace('_', " ")
        ),
        _ => "done out of order".to_string(),
    }
}
