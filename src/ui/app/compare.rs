//! Variants side by side in the app: the stage shows one column per lane
//! (its name, its ledger counters, a small drawing of its topology) under
//! the one timeline; the main simulation keeps the clock and the commands.
//!
//!   Msg::Frame ──main Sim advances (its share of the budget)──► each lane runs to the same time (its share)
//!   Msg::Seek ──► main Sim seeks; every lane is rebuilt and run to the time
//!   DOM at 10 Hz ──► lane columns: name · four large numbers · one line · picture
//!                    numbers: the ledger's (exactly once · duplicated · lost · out of order) where the
//!                    scenario is about guarantees or a lane lost, doubled or reordered something; else
//!                    processed · latency mean · p99 · one more (`Fourth`); Kafka lanes: the log ledger;
//!                    lanes on different brokers: the broker row and its documented promise
//!
//! Lockstep: while a lane is behind the main clock, the clock waits for it
//! (the frame's budget goes to the lanes), so the columns always show one instant.

use super::frame::{context_2d, fit_canvas, now_ms};
use super::{App, Msg};
use crate::engine::StreamLedger;
use crate::scenario::BrokerKind;
use crate::ui::lanes::Lanes;
use crate::ui::layout::{Layout, PRESENTER};
use crate::ui::ledger::{self, LedgerView};
use crate::ui::render::{self, View, DARK, LIGHT};
use crate::ui::sim::FRAME_EVENTS_MAX;
use crate::ui::tokens::Tokens;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// Largest zoom of a lane's drawing (small graphs stay small).
const LANE_FIT_MAX: f64 = 1.0;

impl App {
    pub(super) fn comparing(&self) -> bool {
        self.lanes.is_some()
    }

    /// A strip above the picture of a scenario whose variants differ in
    /// topology (other nodes or edges: the picture of one lane would show
    /// nodes that idle or hide the others): the picture is one lane (the one
    /// whose `set` is empty, if any), and **Compare** shows them all. Where
    /// variants only turn knobs the Compare button says enough. Not while
    /// comparing, in embeds or lessons.
    pub(super) fn view_variants_hint(&self, ctx: &Context<Self>) -> Html {
        let variants = &self.sim.scenario.variants;
        if variants.len() < 2
            || !crate::scenario::patch::variants_change_topology(variants)
            || self.comparing()
            || self.embed
            || self.lesson.is_some()
            || self.share.variants_hint_closed
        {
            return html! {};
        }
        let link = ctx.link();
        let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
        let shown = variants
            .iter()
            .find(|v| v.set.is_empty())
            .map_or("the scenario as written".to_string(), |v| {
                format!("the {} lane", v.name)
            });
        html! {
            <div class="variants-hint" id="variants-hint" role="note">
                <span>{ format!("This scenario compares {} variants ({}); the picture shows {shown}.", names.len(), names.join(", ")) }</span>
                <button class="btn small primary" id="variants-hint-compare"
                    onclick={link.callback(|_| Msg::ToggleCompare)}>{"Compare side by side"}</button>
                <button class="x" title="Hide this note" onclick={link.callback(|_| Msg::CloseVariantsHint)}>{"×"}</button>
            </div>
        }
    }

    /// Compare on (build the lanes at the current time) or off.
    pub(super) fn toggle_compare(&mut self) -> bool {
        if self.lanes.take().is_some() {
            self.lane_layouts.clear();
            self.charts_dirty = true;
            return true;
        }
        match Lanes::new(&self.sim.scenario, self.sim.seed) {
            Ok(mut lanes) => {
                lanes.seek(self.sim.now_us(), self.sim.script());
                self.lane_layouts = lanes
                    .lanes
                    .iter()
                    .map(|l| {
                        Layout::compute_styled(
                            &l.engine,
                            &l.scenario.layout,
                            usize::MAX / 4,
                            // A lane is a third of the stage: the presenter's
                            // type (large names, first details only) keeps
                            // the names readable at the lane's zoom.
                            &PRESENTER,
                        )
                    })
                    .collect();
                self.lanes = Some(lanes);
                self.last_lane_paint = 0.0;
            }
            Err(e) => self.command_error = Some(e),
        }
        true
    }

    /// The main clock moved without the frame loop (seek, restart): rebuild
    /// the lanes at the new time, or drop them when the scenario has no variants.
    pub(super) fn lanes_follow_seek(&mut self) {
        let Some(lanes) = self.lanes.as_mut() else {
            return;
        };
        lanes.seek(self.sim.now_us(), self.sim.script());
        self.last_lane_paint = 0.0;
    }

    /// A new scenario or seed: rebuild the lanes from it (or stop comparing).
    pub(super) fn lanes_follow_restart(&mut self) {
        if self.lanes.is_some() {
            self.lanes = None;
            self.lane_layouts.clear();
            if !self.sim.scenario.variants.is_empty() {
                self.toggle_compare();
            }
        }
    }

    /// The frame's engine work while comparing: the main simulation advances
    /// only when no lane is behind it; then each lane runs to the main time
    /// with an equal share of the frame's budget. Returns the main's new events.
    pub(super) fn advance_compare(&mut self, dt_us: u64) -> Vec<crate::engine::TraceEvent> {
        let Some(n) = self.lanes.as_ref().map(|l| l.lanes.len().max(1)) else {
            return Vec::new();
        };
        // The frame's engine time (`frame_budget.rs`), split evenly.
        let share_ms = self.budget.engine_ms() / (n as f64 + 1.0);
        let mut evs = Vec::new();
        let behind = self
            .lanes
            .as_ref()
            .is_some_and(|l| l.behind(self.sim.now_us()));
        if self.playing && !behind {
            let started = now_ms();
            evs = self.sim.advance(dt_us, &|| now_ms() - started > share_ms);
        }
        self.sync_lanes(share_ms, FRAME_EVENTS_MAX / (n as u64 + 1));
        evs
    }

    /// Run every lane to the main clock, `share_ms` and `budget` events each.
    pub(super) fn sync_lanes(&mut self, share_ms: f64, budget: u64) {
        let t = self.sim.now_us();
        let Some(lanes) = self.lanes.as_mut() else {
            return;
        };
        for k in 0..lanes.lanes.len() {
            let started = now_ms();
            lanes.advance_lane(k, t, self.sim.script(), budget, &|| {
                now_ms() - started > share_ms
            });
        }
        self.lanes_behind = lanes.behind(t);
    }

    /// Paint every lane's small topology drawing (no moving tokens: the
    /// queue depths and instance marks come from the lane's snapshot).
    pub(super) fn paint_lanes(&mut self) {
        let Some(lanes) = self.lanes.as_ref() else {
            return;
        };
        let th = if self.dark { &DARK } else { &LIGHT };
        let tokens = Tokens::default();
        for (k, lane) in lanes.lanes.iter().enumerate() {
            let Some(canvas) = self
                .lane_canvases
                .get(k)
                .and_then(|r| r.cast::<HtmlCanvasElement>())
            else {
                continue;
            };
            let Some(fit) = fit_canvas(&canvas) else {
                continue;
            };
            let Some(ctx) = context_2d(&canvas) else {
                continue;
            };
            let Some(layout) = self.lane_layouts.get(k) else {
                continue;
            };
            let _ = ctx.set_transform(fit.dpr, 0.0, 0.0, fit.dpr, 0.0, 0.0);
            let snap = lane.engine.snapshot();
            let frame = render::Frame {
                ctx: &ctx,
                w: fit.w,
                h: fit.h,
                view: View::fit(layout, fit.w, fit.h, LANE_FIT_MAX),
                layout,
                snap: &snap,
                tokens: &tokens,
                theme: th,
                selected_node: None,
                selected_msg: None,
                now_ms: now_ms(),
                retry_wait: lane.engine.ledger().retry_wait,
            };
            render::draw(&frame);
        }
    }

    /// The lane columns, in place of the main picture.
    pub(super) fn view_lanes(&self) -> Html {
        let Some(lanes) = self.lanes.as_ref() else {
            return html! {};
        };
        let n = lanes.lanes.len();
        // A broker comparison (lanes on different brokers): each lane also
        // shows the comparison row and its broker's documented promise.
        let brokers: Vec<String> = lanes
            .lanes
            .iter()
            .map(|l| BrokerKind::label_of(&l.scenario))
            .collect();
        let across_brokers = brokers.iter().any(|b| *b != brokers[0]);
        // The large numbers are what a room compares, so they are the ones
        // the variants are about: the ledger's where the scenario is about
        // guarantees or a lane lost, doubled or reordered something; else
        // throughput and latency (a utilisation, a backoff, a polling mode).
        let views: Vec<LedgerView> = lanes
            .lanes
            .iter()
            .map(|l| LedgerView::of(&l.engine))
            .collect();
        let about_ledger = lanes.lanes.iter().zip(&views).any(|(lane, v)| {
            ledger::prominent(&lane.scenario) || v.lost + v.duplicated + v.out_of_order > 0
        });
        let fourth = Fourth::of(lanes.lanes.iter().map(|l| &l.engine));
        // Variants that differ only in one alert rule run the same messages:
        // the lanes lead with that rule (its state, pages, time firing).
        let alert_focus =
            crate::scenario::patch::variants_only_change_alert(&self.sim.scenario.variants)
                .filter(|_| !across_brokers && !about_ledger);
        html! {
            <div class={classes!("lanes", format!("n{n}"))} id="lanes" data-lanes={n.to_string()} data-behind={self.lanes_behind.to_string()}>
                { for lanes.lanes.iter().enumerate().map(|(k, lane)| {
                    let l = &views[k];
                    let t = lane.engine.now().0;
                    let words = ledger::guarantee_words(l.guarantee);
                    // Lanes on different brokers show one uniform block (the
                    // comparison row) instead of each family's own counters.
                    let counts = ledger::counts_effects(&lane.scenario) && !across_brokers;
                    // Lanes without Kafka topics that are not about the
                    // ledger lead with performance; Kafka lanes with the log's
                    // ledger, unless loading aggregates from an event store
                    // costs time (snapshots): then their latency is the story.
                    let replay = lane.scenario.consumer_groups.iter().any(|g| {
                        g.output.as_ref().is_some_and(|o| o.replay_per_event.is_some())
                    });
                    let alert = alert_focus.and_then(|a| lane.engine.alerts().into_iter().nth(a));
                    let perf = alert.is_none() && !across_brokers && (lane.scenario.topics.is_empty() || replay) && !(counts && about_ledger);
                    let counts = counts && !perf && alert.is_none();
                    let kafka = !counts && !across_brokers && !perf && alert.is_none();
                    // The log's ledger, once for the cards and the lines.
                    let streams = if kafka { lane.engine.stream_ledger() } else { None };
                    html! {
                        <section class="lane" id={format!("lane-{k}")} data-name={lane.name.clone()} data-guarantee={l.guarantee}
                            data-lost={l.lost.to_string()} data-duplicated={l.duplicated.to_string()} data-exactly={l.exactly_once.to_string()}
                            data-t-us={t.to_string()} data-commands={lane.applied().to_string()}>
                            <header class="lane-head">
                                <span class="lane-name">{ lane.name.clone() }</span>
                                if words != lane.name && counts {
                                    <span class="lane-g" title="The guarantee dial's position for this lane's knobs">{ words }</span>
                                }
                            </header>
                            if counts {
                                <div class="lane-counters">{ ledger::counters(&l, &format!("lane{k}")) }</div>
                            }
                            if kafka {
                                <div class="lane-counters" id={format!("lane{k}-log")}>{ streams.as_ref().map(|st| log_cards(&format!("lane{k}"), st, &lane.scenario)).unwrap_or_default() }</div>
                            }
                            if let Some(a) = &alert {
                                <div class="lane-counters" id={format!("lane{k}-alert")}>{ alert_cards(k, a) }</div>
                                <div class="lane-stats" id={format!("lane{k}-stats")} title={a.rule.clone()}>{ alert_line(a) }</div>
                            } else if perf {
                                <div class="lane-counters" id={format!("lane{k}-perf")}>{ perf_cards(k, &lane.engine, fourth) }</div>
                                <div class="lane-stats" id={format!("lane{k}-stats")}>{ perf_line(&lane.engine, ledger::counts_effects(&lane.scenario)) }</div>
                            } else if across_brokers {
                                { broker_block(k, &brokers[k], &lane.scenario, &lane.engine) }
                            } else {
                                <div class="lane-stats" id={format!("lane{k}-stats")}>{ lane_stats(&lane.engine) }</div>
                            }
                            // The log's ledger (Kafka lanes): what the produce path and each group lost or doubled.
                            if kafka {
                                <ul class="lane-streams" id={format!("lane{k}-streams")}>
                                    { for streams.iter().flat_map(stream_lines).map(|s| html! { <li>{ s }</li> }) }
                                </ul>
                            }
                            // The mechanisms behind the numbers, where the lane is about guarantees.
                            if ledger::prominent(&lane.scenario) && !across_brokers {
                                <ul class="lane-why" id={format!("lane{k}-why")}>
                                    { for lane.engine.guarantee_explanation().into_iter().map(|s| html! { <li>{ s }</li> }) }
                                </ul>
                            }
                            <canvas class="lane-canvas" ref={self.lane_canvases[k].clone()} aria-label={format!("{}: topology", lane.name)}
                                style={self.lane_layouts.get(k).map(lane_aspect)}></canvas>
                        </section>
                    }
                }) }
            </div>
        }
    }
}

/// The ledger's log-based half: one line per group, then the topics, naming
/// only the counts that are not zero. The groups come first: they carry the
/// numbers the cards add up, and a strip that shows three lines shows them.
/// Topics with the same verdict share a line ("payments, payments-dlt:
/// nothing lost or doubled"), as the explanation's sentences do.
pub(super) fn stream_lines(st: &StreamLedger) -> Vec<String> {
    let part = |pairs: &[(&str, u64)]| -> Vec<String> {
        pairs
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(w, n)| format!("{w} {n}"))
            .collect()
    };
    let mut out = Vec::new();
    for (id, g) in &st.groups {
        let bits = part(&[
            ("processed", g.processed),
            ("processed twice", g.reprocessed),
            ("skipped", g.skipped),
            ("outputs doubled", g.duplicate_outputs),
            ("doubled for read_committed", g.duplicate_committed_outputs),
            ("transactions aborted", g.transactions_aborted),
            ("version conflicts", g.version_conflicts),
            ("stale writes", g.stale_writes),
        ]);
        out.push(format!("{id}: {}", bits.join(" · ")));
    }
    let topics = st.topics.iter().map(|(id, t)| {
        let bits = part(&[
            ("acknowledged, then lost", t.acked_lost),
            ("never written", t.unacked_lost),
            ("written twice", t.duplicates_appended),
            ("retries dropped as duplicates", t.duplicates_rejected),
            ("resent", t.resent),
        ]);
        if bits.is_empty() {
            format!("{id}: nothing lost or doubled")
        } else {
            format!("{id}: {}", bits.join(" · "))
        }
    });
    out.extend(crate::scenario::merge_same_sentences(topics.collect()));
    out
}

/// A Kafka lane's four large numbers, from the log's ledger: records
/// processed; lost (acknowledged or never written, or skipped by a group);
/// doubled (written twice, or processed twice by a group, or for a group
/// that writes an output, outputs a `read_committed` reader sees twice:
/// reprocessing inside an aborted transaction doubles nothing); out of order.
/// Where a group writes to an event store (`expected_version`), what the
/// lanes differ in is the race for an aggregate: the middle two cards are its
/// version conflicts and stale writes instead (doubled and lost stay in the
/// lane's lines).
pub(super) fn log_cards(prefix: &str, st: &StreamLedger, sc: &crate::scenario::Scenario) -> Html {
    let (mut processed, mut lost, mut doubled, mut ooo) = (0, 0, 0, 0);
    let (mut conflicts, mut stale) = (0, 0);
    for t in st.topics.values() {
        lost += t.acked_lost + t.unacked_lost;
        doubled += t.duplicates_appended;
    }
    for (id, g) in &st.groups {
        let writes = sc
            .consumer_groups
            .iter()
            .any(|c| c.id == *id && c.output.is_some());
        processed += g.processed;
        lost += g.skipped;
        doubled += if writes {
            g.duplicate_committed_outputs
        } else {
            g.reprocessed
        };
        ooo += g.out_of_order;
        conflicts += g.version_conflicts;
        stale += g.stale_writes;
    }
    let store = sc.consumer_groups.iter().any(|c| {
        c.output
            .as_ref()
            .is_some_and(|o| o.expected_version.is_some())
    });
    if store {
        return html! {
            <>
                { card(prefix, "processed", "ok", processed.to_string(), "processed", "Records processed by the groups (each group counts its own)") }
                { card(prefix, "conflicts", "dup", conflicts.to_string(), "conflicts", "Appends the event store refused for a stale expected version; each record was processed again") }
                { card(prefix, "stale-writes", "lost", stale.to_string(), "stale writes", "Appends made without the expected-version check on an aggregate another writer had moved on: lost updates") }
                { card(prefix, "out-of-order", "ooo", ooo.to_string(), "out of order", "Records a group processed after a later record of the same key") }
            </>
        };
    }
    html! {
        <>
            { card(prefix, "processed", "ok", processed.to_string(), "processed", "Records processed by the groups (each group counts its own)") }
            { card(prefix, "doubled", "dup", doubled.to_string(), "doubled", "Records written twice, processed twice, or whose output a read_committed reader sees twice") }
            { card(prefix, "lost", "lost", lost.to_string(), "lost", "Records acknowledged and then lost, never written, or skipped by a group") }
            { card(prefix, "out-of-order", "ooo", ooo.to_string(), "out of order", "Records a group processed after a later record of the same key") }
        </>
    }
}

/// A broker-comparison lane's row (the table `queuelab compare` prints)
/// and its broker's documented promise beside it.
fn broker_block(
    k: usize,
    label: &str,
    sc: &crate::scenario::Scenario,
    e: &crate::engine::Engine,
) -> Html {
    let m = e.measured();
    let ms = |us: Option<u64>| {
        us.map_or("–".to_string(), |u| {
            format!("{:.0} ms", u as f64 / 1000.0)
        })
    };
    let mut cells = vec![
        ("delivered", m.delivered.to_string()),
        ("lost", m.lost.to_string()),
        ("duplicated", m.duplicated.to_string()),
        ("out of order", m.out_of_order.to_string()),
        ("p50", ms(m.p50_us)),
        ("p99", ms(m.p99_us)),
        ("backlog", m.backlog.to_string()),
    ];
    if let Some(r) = m.requests {
        cells.push(("requests", r.to_string()));
    }
    // The promise also rides in the block's tooltip: the list is hidden on
    // short screens (a projector), where the numbers matter most.
    let promise: Vec<String> = BrokerKind::of(sc)
        .into_iter()
        .map(|b| {
            let (order, durability) = b.promise();
            format!("order: {order}; durability: {durability}")
        })
        .collect();
    html! {
        <div class="lane-broker" id={format!("lane{k}-broker")} data-broker={label.to_string()}
            data-lost={m.lost.to_string()} data-duplicated={m.duplicated.to_string()} data-ooo={m.out_of_order.to_string()}
            title={promise.join("\n")}>
            <div class="lane-broker-name">{ label.to_string() }</div>
            <div class="lane-measured">
                { for cells.iter().map(|(l, v)| html! {
                    <span class="stat"><span class="k">{ *l }</span>{" "}<b>{ v.clone() }</b></span>
                }) }
            </div>
            <ul class="lane-promise" title="What the broker's documentation promises">
                { for BrokerKind::of(sc).into_iter().map(|b| {
                    let (order, durability) = b.promise();
                    html! { <>
                        <li>{ format!("order: {order}") }</li>
                        <li>{ format!("durability: {durability}") }</li>
                    </> }
                }) }
            </ul>
        </div>
    }
}

/// A lane's throughput and latency in one line (what a non-guarantee
/// variant, such as a utilisation or a prefetch, changes).
fn lane_stats(e: &crate::engine::Engine) -> String {
    let t = e.totals_now();
    let lat = e.latency_end_to_end();
    let ms = |us: f64| format!("{:.0} ms", us / 1000.0);
    let latency = if lat.count > 0 {
        format!("latency mean {}, p99 {}", ms(lat.mean), ms(lat.p99 as f64))
    } else {
        "no latency yet".to_string()
    };
    format!(
        "processed {} · dropped {} · {latency}",
        t.processed, t.dropped
    )
}

/// The fourth large number of a lane about performance, the same in every
/// lane: SQS requests (what long polling saves), else what was dropped or
/// dead-lettered once any lane has some, else the messages waiting now.
#[derive(Clone, Copy)]
enum Fourth {
    Requests,
    Dropped,
    DeadLettered,
    Waiting,
}

impl Fourth {
    fn of<'a>(engines: impl Iterator<Item = &'a crate::engine::Engine> + Clone) -> Fourth {
        if engines.clone().any(|e| e.sqs_report().is_some()) {
            Fourth::Requests
        } else if engines.clone().any(|e| e.totals().dropped > 0) {
            Fourth::Dropped
        } else if engines.clone().any(|e| e.totals().dead_lettered > 0) {
            Fourth::DeadLettered
        } else {
            Fourth::Waiting
        }
    }
}

/// A lane's four large numbers when it is about performance: processed,
/// mean and p99 latency, and the `Fourth`.
fn perf_cards(k: usize, e: &crate::engine::Engine, fourth: Fourth) -> Html {
    let t = e.totals_now();
    let lat = e.latency_end_to_end();
    // Short enough for a third of a projector: "4.2 ms", "345 ms", "1.25 s".
    let ms = |us: f64| match us {
        _ if lat.count == 0 => "–".to_string(),
        us if us < 10_000.0 => format!("{:.1} ms", us / 1e3),
        us if us < 1e6 => format!("{:.0} ms", us / 1e3),
        us if us < 1e7 => format!("{:.2} s", us / 1e6),
        us if us < 1e8 => format!("{:.1} s", us / 1e6),
        us => format!("{:.0} s", us / 1e6),
    };
    let (key, cls, value, label, title) = match fourth {
        Fourth::Requests => (
            "requests",
            "perf",
            e.sqs_report().map_or(0, |r| r.requests).to_string(),
            "SQS requests",
            "Amazon SQS API requests (receives, sends, deletes): what is billed",
        ),
        Fourth::Dropped => (
            "dropped",
            "lost",
            t.dropped.to_string(),
            "dropped",
            "Messages dropped (overflow, refused publishes, a full buffer)",
        ),
        Fourth::DeadLettered => (
            "dead-lettered",
            "ooo",
            t.dead_lettered.to_string(),
            "dead-lettered",
            "Messages republished to a dead-letter exchange or queue",
        ),
        Fourth::Waiting => (
            "waiting",
            "perf",
            t.in_flight.to_string(),
            "waiting now",
            "Messages published and not yet done: queued, in transit or being processed",
        ),
    };
    let k = &format!("lane{k}");
    html! {
        <>
            { card(k, "processed", "ok", t.processed.to_string(), "processed", "Processing runs that succeeded") }
            { card(k, "mean", "perf", ms(lat.mean), "latency mean", "End-to-end latency, publish to processed: mean") }
            { card(k, "p99", "perf", ms(lat.p99 as f64), "latency p99", "End-to-end latency, publish to processed: 99th percentile") }
            { card(k, key, cls, value, label, title) }
        </>
    }
}

/// A lane's four large numbers when the variants differ only in one alert
/// rule: the rule's state now, how often it fired (each a page), its time
/// firing so far and when it first fired.
fn alert_cards(k: usize, a: &crate::engine::AlertView) -> Html {
    let (state, cls) = match a.state {
        "firing" => ("FIRING", "lost"),
        "pending" => ("pending", "dup"),
        // Not `ok`: that class is also the page's green notice box (margin, outline).
        _ => ("ok", "perf"),
    };
    let secs = |s: f64| {
        if s < 10.0 {
            format!("{s:.1} s")
        } else {
            format!("{s:.0} s")
        }
    };
    let k = &format!("lane{k}");
    html! {
        <>
            <div class={classes!("lc", "state", cls)} id={format!("{k}-alert-state")} data-state={a.state}
                title="The alert rule's state now: ok (inactive), pending (the condition holds, not yet for its `for`) or FIRING">
                <span class="v">{ state }</span><span class="l">{"now"}</span>
            </div>
            { card(k, "alert-fired", "dup", a.fired.to_string(), "times fired", "How often the rule fired: each firing is a page") }
            { card(k, "alert-firing", "perf", secs(a.firing_ms / 1e3), "firing in all", "Time the rule spent firing so far") }
            { card(k, "alert-first", "perf", a.first_fired_s.map_or("–".to_string(), secs), "first fired", "When the rule first fired") }
        </>
    }
}

/// The line under an alert lane's numbers: the rule in words, and whether
/// `keep_firing_for` is holding it now.
fn alert_line(a: &crate::engine::AlertView) -> String {
    let kept = a
        .kept_since_s
        .map_or(String::new(), |t| format!(" · kept: false since {t:.1} s"));
    format!("{}: {}{kept}", a.id, a.rule)
}

/// The line under a performance lane's numbers: what else happened (the
/// counts that are not zero) and, where the ledger counts effects, that
/// nothing was lost or doubled (a performance lane is one where no lane was).
fn perf_line(e: &crate::engine::Engine, counts: bool) -> String {
    let t = e.totals_now();
    let mut bits = vec![format!("published {}", t.published)];
    for (word, n) in [
        ("retried", t.retried),
        ("dropped", t.dropped),
        ("dead-lettered", t.dead_lettered),
        ("expired", t.expired),
    ] {
        if n > 0 {
            bits.push(format!("{word} {n}"));
        }
    }
    if counts {
        bits.push("nothing lost or doubled".to_string());
    }
    bits.join(" · ")
}

/// The drawing's shape as the canvas's CSS aspect ratio: the canvas is as
/// tall as the drawing needs at the lane's width (a wide Kafka topic gets a
/// low strip, not a tall empty panel), and shrinks when the lane is short.
/// The fit's margin is in pixels, not layout units, so the ratio is exact
/// for a lane `LANE_NOMINAL_W` wide (five lanes on a projector); wider
/// lanes get a little more height than they need, never less.
fn lane_aspect(layout: &Layout) -> String {
    const LANE_NOMINAL_W: f64 = 200.0;
    let b = layout.bounds();
    let pad = 2.0 * render::FIT_PAD;
    let h = (LANE_NOMINAL_W - pad) * b.h().max(1.0) / b.w().max(1.0) + pad;
    format!("aspect-ratio: {LANE_NOMINAL_W:.0} / {h:.1}")
}

/// One large number of a lane (`#lane{k}-{key}`), styled as the ledger's.
fn card(
    prefix: &str,
    key: &str,
    cls: &'static str,
    v: String,
    label: &'static str,
    title: &'static str,
) -> Html {
    html! {
        <div class={classes!("lc", cls, (v == "0").then_some("zero"))} id={format!("{prefix}-{key}")} title={title}>
            <span class="v">{ v }</span><span class="l">{ label }</span>
        </div>
    }
}
